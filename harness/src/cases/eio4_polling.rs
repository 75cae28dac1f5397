//! Engine.IO v4 — HTTP long-polling: payloads, concurrency, limits.

use siospec_codec::engine::{Data, Packet, PacketType};
use tokio::io::AsyncReadExt;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::polling::{duplicate_get, echo, invalid_post, invalid_post_case};
use crate::wire::eio;

const S: Section = Section {
    id: "eio4.polling",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — HTTP long-polling",
    spec: "engine.io-protocol v4, \"HTTP long-polling\" and \"Packet encoding\"",
};

const REQ_PAYLOAD: &str = "With HTTP long-polling, packets are concatenated with the record separator \\x1e; binary packets are base64-encoded and prefixed with `b`. The client sends with POST, receives with GET.";
const REQ_CONCURRENT: &str = "The client must not have more than one active polling request of each kind; the server closes the session when it does.";

async fn concurrent_post(cx: Ctx) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    // A first POST whose body never completes: headers announce 10 bytes, 3 are sent.
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 10\r\n\r\n4he",
        cx.target(&s.query),
        cx.origin.authority
    );
    let mut pending = cx.http().raw_open(head.as_bytes()).await?;
    tokio::time::sleep(cx.ms(50)).await;
    let second = cx.post(&s.query, "4second").await?;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(cx.ms(500), pending.read_to_end(&mut rest)).await;
    let actual = format!(
        "second POST {} {:?}; first POST then got {:?}",
        second.status,
        second.text(),
        verify::short(&String::from_utf8_lossy(&rest))
    );
    let o = if second.status == 400 || second.status == 500 {
        Observed::ok(actual)
    } else {
        Observed::not(actual)
    };
    Ok(match verify::session_gone(&cx, &s.query).await {
        Ok(_) => o.close_is("closed", "next GET: 400"),
        Err(crate::case::Stop::Fail(m)) => o.close_not(m),
        Err(h) => return Err(h),
    })
}

async fn too_large(cx: Ctx) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let mut body = b"4".to_vec();
    body.resize(cx.conf.max_payload as usize + 1, b'x');
    let r = cx.post(&s.query, body).await;
    let o = match &r {
        Ok(resp) if resp.status == 413 => Observed::ok("413"),
        Ok(resp) if (400..500).contains(&resp.status) => {
            Observed::is("other-4xx", format!("{}", resp.status))
        }
        Err(e) => Observed::is("dropped", e.to_string()),
        Ok(resp) => Observed::not(format!(
            "POST of maxPayload+1 bytes answered {} {:?}",
            resp.status,
            verify::short(&resp.text())
        )),
    };
    let g = cx.get(&s.query).await?;
    Ok(if g.status == 200 {
        o.close_is(
            "kept",
            format!("next GET: 200 {:?}", verify::short(&g.text())),
        )
    } else {
        o.close_is("closed", format!("next GET: {}", g.status))
    })
}

fn big_message(n: usize) -> String {
    let mut s = String::with_capacity(n);
    s.push('4');
    while s.len() < n {
        s.push_str("abcdefghijklmnopqrstuvwxyz0123456789");
    }
    s.truncate(n);
    s
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "post-body", "A POST of packets is answered 200 with the body `ok`")
            .req("Sending data (HTTP long-polling): the server answers the client's POST with `HTTP/1.1 200 OK`, `Content-Type: text/plain`, body `ok`.")
            .should()
            .ok("200 `ok`")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                // `40`: a message for an echo server, a CONNECT to `/` for a
                // Socket.IO server; either way a packet the server takes.
                let r = s.post_packets(&cx, &[eio::msg("0")]).await?;
                verify::posted(&r, "POST")?;
                Ok(if r.body.as_ref() == b"ok" {
                    Observed::ok("200 `ok`")
                } else {
                    Observed::not(format!(
                        "200 {:?} (the official client ignores the body; the other cases accept any 200)",
                        verify::short(&r.text())
                    ))
                })
            }),
        Case::new(S, "message.text", "POST `4hello`, then GET returns `4hello`")
            .echo()
            .official("message / HTTP long-polling / sends and receives a payload containing one plain text packet", None)
            .req(REQ_PAYLOAD)
            .ok("POST 200 `ok`; GET 200 `4hello`")
            .run(|cx| async move { echo(&cx, b"4hello", b"4hello").await }),
        Case::new(S, "message.batch", "Three packets in one POST come back in one GET, in order")
            .echo()
            .official("message / HTTP long-polling / sends and receives a payload containing several plain text packets", None)
            .req(REQ_PAYLOAD)
            .ok("GET 200 `4test1\\x1e4test2\\x1e4test3`")
            .run(|cx| async move { echo(&cx, b"4test1\x1e4test2\x1e4test3", b"4test1\x1e4test2\x1e4test3").await }),
        Case::new(S, "message.binary", "Text and base64 binary in one POST come back identically")
            .echo()
            .official("message / HTTP long-polling / sends and receives a payload containing plain text and binary packets", None)
            .req(REQ_PAYLOAD)
            .ok("GET 200 `4hello\\x1ebAQIDBA==`")
            .run(|cx| async move { echo(&cx, b"4hello\x1ebAQIDBA==", b"4hello\x1ebAQIDBA==").await }),
        invalid_post_case(
            Case::new(S, "message.invalid-packet", "POST `abc` is refused and closes the session")
                .official(
                    "message / HTTP long-polling / closes the session upon invalid packet format",
                    Some("the official case swallows the status assertion in a try/catch; here the status is judged (behaviour) apart from the close"),
                )
                .req("A payload that cannot be decoded is a protocol error: the server closes the session."),
        )
        .run(|cx| invalid_post(cx, b"abc")),
        Case::new(S, "concurrent-get", "A second GET while one is pending closes the session")
            .official("message / HTTP long-polling / closes the session upon duplicate poll requests", None)
            .req(REQ_CONCURRENT)
            .ok("the first GET gets 200 `1` (close), the second 400 (or 500)")
            .outcome("second-refused", Verdict::NonStrict, "the second GET is refused, the first is answered otherwise")
            .close("closed", Verdict::Ok, "a further GET gets 400")
            .run(|cx| duplicate_get(cx, "1")),
        Case::new(S, "concurrent-post", "A second POST while one is pending is refused and closes the session")
            .req(REQ_CONCURRENT)
            .ok("the second POST gets 400 (or 500)")
            .close("closed", Verdict::Ok, "the next GET gets 400")
            .run(concurrent_post),
        Case::new(S, "max-payload.over", "A POST of maxPayload+1 bytes is refused with 413")
            .waits(|c| c.ping_interval)
            .echo()
            .req("maxPayload: the maximum number of bytes per chunk; the server refuses larger POST bodies (reference server: 413 Payload Too Large).")
            .should()
            .ok("413")
            .outcome("other-4xx", Verdict::NonStrict, "refused with another 4xx status")
            .outcome("dropped", Verdict::NonStrict, "the connection is dropped")
            .close("kept", Verdict::Informational, "the session stays open (the reference server's behaviour)")
            .close("closed", Verdict::Informational, "the session is closed")
            .run(too_large),
        Case::new(S, "max-payload.at-limit", "A POST of exactly maxPayload bytes is accepted and echoed")
            .echo()
            .req("maxPayload: the maximum number of bytes per chunk.")
            .ok("POST 200 `ok`; GET returns the message")
            .limit(20_000)
            .run(|cx| async move {
                let m = big_message(cx.conf.max_payload as usize);
                let o = echo(&cx, m.as_bytes(), m.as_bytes()).await?;
                Ok(Observed { behaviour: match o.behaviour {
                    crate::case::Obs::Is { key, .. } => crate::case::Obs::Is { key, actual: format!("{} bytes echoed", m.len()) },
                    other => other,
                }, close: None })
            }),
        Case::new(S, "utf8", "Non-ASCII text (2-, 3- and 4-byte UTF-8) is echoed byte for byte")
            .echo()
            .req("Text packets are UTF-8.")
            .ok("GET returns exactly what was posted")
            .run(|cx| async move { echo(&cx, "4héllo wörld € 😀".as_bytes(), "4héllo wörld € 😀".as_bytes()).await }),
        Case::new(S, "empty-message", "A message with no data (`4`) is echoed as `4`")
            .echo()
            .req("A packet is a type and optional data.")
            .ok("GET 200 `4`")
            .run(|cx| async move { echo(&cx, b"4", b"4").await }),
        Case::new(S, "binary-empty", "An empty binary message (`b`) is echoed as `b`")
            .echo()
            .req(REQ_PAYLOAD)
            .ok("GET 200 `b`")
            .run(|cx| async move { echo(&cx, b"b", b"b").await }),
        Case::new(S, "many-packets-order", "100 packets in one POST come back in order")
            .echo()
            .req(REQ_PAYLOAD)
            .ok("the GET (or GETs) return the 100 messages in order")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let texts: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
                let packets: Vec<Packet<'_>> = texts.iter().map(|t| eio::msg(t)).collect();
                s.send(&cx, &packets).await?;
                let mut got = Vec::new();
                while got.len() < texts.len() {
                    let batch = s.poll(&cx).await?;
                    if batch.is_empty() {
                        return verify::fail("empty poll");
                    }
                    for p in batch {
                        match (p.kind, p.data) {
                            (PacketType::Message, Data::Text(t)) => got.push(t.into_owned()),
                            (PacketType::Ping, _) => {}
                            (k, d) => return verify::fail(format!("unexpected packet {k:?} {d:?}")),
                        }
                    }
                }
                if got != texts {
                    return verify::fail(format!("order differs: {:?}…", &got[..got.len().min(10)]));
                }
                Ok(Observed::ok("100 messages in order"))
            }),
        Case::new(S, "buffered-until-get", "Messages from several POSTs wait for the next GET, in order")
            .echo()
            .req("The server buffers packets until the client's next GET.")
            .ok("one GET returns `4a\\x1e4b\\x1e4c`")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                for m in ["4a", "4b", "4c"] {
                    verify::posted(&s.post(&cx, m).await?, "POST")?;
                }
                let g = s.get_keeping_heartbeat(&cx).await?;
                verify::ok_body(&g, "4a\x1e4b\x1e4c", "GET")?;
                Ok(Observed::ok("4a␞4b␞4c"))
            }),
        Case::new(S, "sessions-independent", "A message posted to one session never reaches another")
            .echo()
            .req("sid identifies the session every request belongs to.")
            .ok("each session's GET returns only its own message")
            .run(|cx| async move {
                let a = eio::open_polling(&cx).await?;
                let b = eio::open_polling(&cx).await?;
                verify::posted(&a.post(&cx, "4for-a").await?, "POST A")?;
                verify::posted(&b.post(&cx, "4for-b").await?, "POST B")?;
                verify::ok_body(&b.get_keeping_heartbeat(&cx).await?, "4for-b", "GET B")?;
                verify::ok_body(&a.get_keeping_heartbeat(&cx).await?, "4for-a", "GET A")?;
                Ok(Observed::ok("A got 4for-a, B got 4for-b"))
            }),
        Case::new(S, "long-poll-held", "A GET with nothing to send is held open, then answered with the next ping")
            .waits(|c| c.ping_interval)
            .req("The server holds the GET until it has packets to send (here: the next ping).")
            .ok("the GET is answered 200 `2` after about pingInterval, not at once")
            .outcome("early", Verdict::NonStrict, "answered before pingInterval/2 with something else")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut t = std::time::Instant::now();
                let mut g = s.get(&cx).await?;
                // A PING the server queued before this GET (its first one,
                // sent at once) is the first-ping case's rule: answer it, as
                // the official client does, and judge the next GET.
                if g.status == 200 && g.text() == "2" && t.elapsed() < cx.ms(cx.conf.ping_interval / 2) {
                    cx.note("the first GET was answered with a PING at once: PONG, and the next GET is judged");
                    verify::posted(&s.post(&cx, eio::encode_body(&cx, &[eio::pong()])).await?, "POST 3")?;
                    t = std::time::Instant::now();
                    g = s.get(&cx).await?;
                }
                let ms = t.elapsed().as_millis();
                let actual = format!("after {ms} ms: {} {:?}", g.status, g.text());
                if g.status == 200 && g.text() == "2" && t.elapsed() >= cx.ms(cx.conf.ping_interval / 2) {
                    Ok(Observed::ok(actual))
                } else if g.status == 200 && t.elapsed() < cx.ms(cx.conf.ping_interval / 2) {
                    Ok(Observed::is("early", actual))
                } else {
                    Ok(Observed::not(actual))
                }
            }),
        Case::new(S, "binary-content-type", "A POST with Content-Type application/octet-stream on a v4 session")
            .req("Engine.IO v4 polling payloads are text; binary data travels base64-encoded.")
            .may()
            .ok("refused (400) and the session closed, as the reference server does")
            .outcome("accepted", Verdict::Informational, "accepted as a text payload")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let r = cx
                    .request("POST", &s.query, vec![("content-type", "application/octet-stream".to_owned())], b"4hello".to_vec())
                    .await?;
                let actual = format!("POST {} {:?}", r.status, r.text());
                Ok(if r.status == 400 { Observed::ok(actual) } else if r.status == 200 { Observed::is("accepted", actual) } else { Observed::not(actual) })
            }),
        Case::new(S, "client-noop", "A client `6` (noop) on a polling session is ignored")
            .echo()
            .req("noop (6) is used by the server to end a pending poll; it carries nothing.")
            .may()
            .ok("POST `ok` and the session keeps working")
            .outcome("closed", Verdict::Informational, "the session is closed")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                verify::posted(&s.post(&cx, "6").await?, "POST 6")?;
                let r = s.post(&cx, "4after").await?;
                if r.status != 200 {
                    return Ok(Observed::is("closed", format!("next POST {}", r.status)));
                }
                let g = s.get(&cx).await?;
                // Any message shows the session lives on (the echo's content is the message cases' rule).
                Ok(if eio::has_message(&cx, &g) { Observed::ok("ignored") } else { Observed::is("closed", verify::describe(&Ok(g))) })
            }),
    ]
}
