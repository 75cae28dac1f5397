//! Socket.IO v5 — events, acknowledgements and binary attachments.

use serde_json::{json, Value};
use siospec_codec::socket::PacketType;

use crate::case::{Case, Ctx, Observed, Outcome, Section, Stop, Verdict};
use crate::client::sio::{Got, Sio, SioPacket};
use crate::suite::Suite;

const S: Section = Section {
    id: "sio5.message",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Events, acknowledgements, binary",
    spec: "socket.io-protocol v5, \"Sending and receiving data\", \"Acknowledgement\", \"Packet encoding\"",
};

const REQ_EVENT: &str = "EVENT (2) carries a non-empty array, the event name first; an EVENT with an id asks for an ACK (3) carrying the same id.";
const REQ_BINARY: &str = "BINARY_EVENT (5) / BINARY_ACK (6): each binary value is replaced by {\"_placeholder\":true,\"num\":N} and sent as its own binary message after the packet, in order; the packet gives the attachment count before a dash.";

/// Replaces placeholders by `{"$bin": hex}` so packets compare by content.
pub(crate) fn resolve(v: &Value, att: &[Vec<u8>]) -> Value {
    match v {
        Value::Object(m) if m.get("_placeholder") == Some(&Value::Bool(true)) => {
            match m
                .get("num")
                .and_then(Value::as_u64)
                .and_then(|n| att.get(n as usize))
            {
                Some(b) => json!({ "$bin": crate::trace::hex(b) }),
                None => v.clone(),
            }
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, att)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, att)).collect()),
        other => other.clone(),
    }
}

fn content(p: &SioPacket) -> Value {
    p.data
        .as_ref()
        .map(|d| resolve(d, &p.attachments))
        .unwrap_or(Value::Null)
}

fn ph(n: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{n}}}"#)
}

/// Sends a binary packet and its attachments.
pub(crate) async fn send_binary(
    s: &mut Sio,
    header: &str,
    att: &[&[u8]],
) -> Result<(), crate::case::Stop> {
    s.send(header).await?;
    for a in att {
        s.send_attachment(a).await?;
    }
    Ok(())
}

/// Expect a packet of `kind` on `/` whose content (placeholders resolved) equals `want`.
pub(crate) async fn expect_content(
    cx: &Ctx,
    s: &mut Sio,
    kind: PacketType,
    id: Option<u64>,
    want: Value,
) -> Outcome {
    let p = s.expect(cx.ms(2000), "the answer").await?;
    if p.kind != kind || p.id != id || p.nsp != "/" || content(&p) != want {
        return Ok(Observed::not(format!(
            "expected {kind:?} id {id:?} with {want}, got {} (content {})",
            p.describe(),
            content(&p)
        )));
    }
    Ok(Observed::ok(p.describe()))
}

async fn binary_order(cx: Ctx, n: usize) -> Outcome {
    let mut s = Sio::connected(&cx).await?;
    let blobs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i + 1]).collect();
    // Placeholders referenced out of order, nested.
    let mut order: Vec<usize> = (0..n).rev().collect();
    order.rotate_left(n / 2);
    let nested: Vec<String> = order
        .iter()
        .map(|&i| format!(r#"{{"k{i}":[{}]}}"#, ph(i)))
        .collect();
    let header = format!(r#"5{n}-["message",{}]"#, nested.join(","));
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    send_binary(&mut s, &header, &refs).await?;
    let want_args: Vec<Value> = order
        .iter()
        .map(|&i| json!({ format!("k{i}"): [ {"$bin": crate::trace::hex(&blobs[i])} ] }))
        .collect();
    let mut want = vec![json!("message-back")];
    want.extend(want_args);
    expect_content(
        &cx,
        &mut s,
        PacketType::BinaryEvent,
        None,
        Value::Array(want),
    )
    .await
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "event", "`message` with mixed arguments comes back as `message-back`")
            .official("Socket.IO protocol / message / should send a plain-text packet", None)
            .req(REQ_EVENT)
            .ok("exactly `42[\"message-back\",1,\"2\",{\"3\":[true]}]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["message",1,"2",{"3":[true]}]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back",1,"2",{"3":[true]}]"#).await?;
                Ok(Observed::ok(r#"42["message-back",1,"2",{"3":[true]}]"#))
            }),
        Case::new(S, "binary-event", "A binary event with two attachments is echoed with them, in order")
            .official("Socket.IO protocol / message / should send a packet with binary attachments", None)
            .req(REQ_BINARY)
            .ok("`452-[\"message-back\",<0>,<1>]` then binary 01 02 03 and 04 05 06")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                send_binary(&mut s, &format!(r#"52-["message",{},{}]"#, ph(0), ph(1)), &[&[1, 2, 3], &[4, 5, 6]]).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let want = format!(r#"52-["message-back",{},{}]"#, ph(0), ph(1));
                if p.raw != want || p.attachments != [vec![1, 2, 3], vec![4, 5, 6]] {
                    return Ok(Observed::not(format!("expected {want:?} + 010203, 040506; got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "ack", "An event with id 456 is acknowledged with `43456[...]`")
            .official("Socket.IO protocol / message / should send a plain-text packet with an ack", None)
            .req(REQ_EVENT)
            .ok("exactly `43456[1,\"2\",{\"3\":[false]}]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(456), r#"["message-with-ack",1,"2",{"3":[false]}]"#).await?;
                s.expect_raw(cx.ms(2000), r#"3456[1,"2",{"3":[false]}]"#).await?;
                Ok(Observed::ok(r#"43456[1,"2",{"3":[false]}]"#))
            }),
        Case::new(S, "binary-ack", "A binary event with id 789 gets a binary ack with the same attachments")
            .official("Socket.IO protocol / message / should send a packet with binary attachments and an ack", None)
            .req(REQ_BINARY)
            .ok("`462-789[<0>,<1>]` then 01 02 03 and 04 05 06")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                send_binary(&mut s, &format!(r#"52-789["message-with-ack",{},{}]"#, ph(0), ph(1)), &[&[1, 2, 3], &[4, 5, 6]]).await?;
                let p = s.expect(cx.ms(2000), "the binary ack").await?;
                let want = format!(r#"62-789[{},{}]"#, ph(0), ph(1));
                if p.raw != want || p.attachments != [vec![1, 2, 3], vec![4, 5, 6]] {
                    return Ok(Observed::not(format!("expected {want:?} + attachments; got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "server-ack", "A server event with an ack id is answered; the server gets the ack's arguments")
            .req(REQ_EVENT)
            .ok("`42<id>[\"emit-with-ack\",1,\"x\"]`; after `43<id>[\"r\",2]` the server emits `emit-with-ack-result` with \"r\",2")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["emit-with-ack",1,"x"]"#).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack` with an ack id").await?;
                let Some(id) = p.id else {
                    return Ok(Observed::not(format!("no ack id: {}", p.describe())));
                };
                if p.event() != Some("emit-with-ack") || p.args() != [json!(1), json!("x")] {
                    return Ok(Observed::not(p.describe()));
                }
                s.send(&format!(r#"3{id}["r",2]"#)).await?;
                s.expect_raw(cx.ms(2000), r#"2["emit-with-ack-result","r",2]"#).await?;
                Ok(Observed::ok(format!("ack id {id} round trip")))
            }),
        Case::new(S, "server-binary-ack", "The client acks a server event with a binary ack")
            .req(REQ_BINARY)
            .ok("after `461-<id>[<0>]` + binary, the server emits `emit-with-ack-result` with the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["emit-with-ack"]"#).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack`").await?;
                let Some(id) = p.id else {
                    return Ok(Observed::not(format!("no ack id: {}", p.describe())));
                };
                send_binary(&mut s, &format!("61-{id}[{}]", ph(0)), &[&[9, 8, 7]]).await?;
                expect_content(&cx, &mut s, PacketType::BinaryEvent, None, json!(["emit-with-ack-result", {"$bin": "09 08 07"}])).await
            }),
        Case::new(S, "server-binary-event-ack", "A server event carrying binary, with an ack id")
            .req(REQ_BINARY)
            .ok("`451-<id>[\"emit-with-ack\",<0>]` + the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                send_binary(&mut s, &format!(r#"51-["emit-with-ack",{}]"#, ph(0)), &[&[0xca, 0xfe]]).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack`").await?;
                if p.kind != PacketType::BinaryEvent || p.id.is_none() || content(&p) != json!(["emit-with-ack", {"$bin": "ca fe"}]) {
                    return Ok(Observed::not(p.describe()));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "attachments-order", "Five attachments referenced out of order and nested keep their identity")
            .req(REQ_BINARY)
            .ok("every placeholder of the echo resolves to the bytes that were at that place")
            .run(|cx| binary_order(cx, 5)),
        Case::new(S, "attachments-ten", "Ten attachments (the reference limit) are accepted")
            .req(REQ_BINARY)
            .ok("echoed with all ten attachments in place")
            .run(|cx| binary_order(cx, 10)),
        Case::new(S, "attachments-over-limit", "Eleven attachments exceed the reference limit of ten")
            .req("The server bounds the attachments per packet (reference server: maxAttachments 10).")
            .should()
            .ok("the connection is closed")
            .outcome("accepted", Verdict::NonStrict, "accepted (no limit, or a higher one)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let phs: Vec<String> = (0..11).map(ph).collect();
                let blobs: Vec<Vec<u8>> = (0..11u8).map(|i| vec![i]).collect();
                let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
                let _ = send_binary(&mut s, &format!(r#"511-["message",{}]"#, phs.join(",")), &refs).await;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Packet(p) => Observed::is("accepted", p.describe()),
                    other => Observed::not(other.describe()),
                })
            }),
        Case::new(S, "empty-attachment", "An empty binary attachment is echoed as an empty attachment")
            .req(REQ_BINARY)
            .ok("`451-[\"message-back\",<0>]` + an empty binary message")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                send_binary(&mut s, &format!(r#"51-["message",{}]"#, ph(0)), &[&[]]).await?;
                expect_content(&cx, &mut s, PacketType::BinaryEvent, None, json!(["message-back", {"$bin": ""}])).await
            }),
        Case::new(S, "ack-empty", "An ack with no arguments is `43<id>[]`")
            .req(REQ_EVENT)
            .ok("exactly `437[]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(7), r#"["message-with-ack"]"#).await?;
                s.expect_raw(cx.ms(2000), "37[]").await?;
                Ok(Observed::ok("437[]"))
            }),
        Case::new(S, "ack-large-id", "Ack id 2^53 − 1 comes back unchanged")
            .req(REQ_EVENT)
            .ok("`439007199254740991[\"x\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(9_007_199_254_740_991), r#"["message-with-ack","x"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"39007199254740991["x"]"#).await?;
                Ok(Observed::ok(r#"439007199254740991["x"]"#))
            }),
        Case::new(S, "ack-unknown-id", "An ACK for an id the server never used is ignored")
            .req("Acknowledgements answer the server's own ids; the protocol does not define other ones.")
            .should()
            .ok("ignored: the connection keeps working")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send(r#"3999["unexpected"]"#).await?;
                s.still_alive(&cx).await?;
                Ok(Observed::ok("ignored"))
            }),
        Case::new(S, "custom-namespace", "Events on /custom are answered on /custom")
            .req(REQ_EVENT)
            .ok("`42/custom,[\"message-back\",\"x\"]` and `43/custom,5[\"y\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                s.emit("/custom", None, r#"["message","x"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2/custom,["message-back","x"]"#).await?;
                s.emit("/custom", Some(5), r#"["message-with-ack","y"]"#).await?;
                // The ack must come on /custom with id 5 and `y` first; further
                // arguments are the ack cases' rule (the official client passes
                // them to the callback).
                let p = s.expect(cx.ms(2000), "the ack on /custom").await?;
                let first = p.data.as_ref().and_then(|d| d.as_array()?.first().cloned());
                if p.kind != PacketType::Ack
                    || p.nsp != "/custom"
                    || p.id != Some(5)
                    || first != Some(json!("y"))
                {
                    return Err(Stop::Fail(format!(
                        r#"expected "3/custom,5["y"]" (further arguments tolerated), got {}"#,
                        p.describe()
                    )));
                }
                Ok(Observed::ok("answered on /custom"))
            }),
        Case::new(S, "no-arguments", "`42[\"message\"]` → `42[\"message-back\"]`")
            .req(REQ_EVENT)
            .ok("exactly `42[\"message-back\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["message"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back"]"#).await?;
                Ok(Observed::ok(r#"42["message-back"]"#))
            }),
        Case::new(S, "unicode", "Non-ASCII and escaped JSON strings survive the round trip")
            .req(REQ_EVENT)
            .ok("the same values come back (compared as JSON)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let args = json!(["message", "héllo €😀", "quote \" backslash \\ newline \n", {"ключ": [null, 1.5, 1e300]}]);
                s.emit("/", None, &args.to_string()).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let mut want = args.clone();
                want[0] = json!("message-back");
                if p.data.as_ref() != Some(&want) {
                    return Ok(Observed::not(format!("sent {args}, got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "large-event", "A 400 kB event is echoed")
            .req(REQ_EVENT)
            .ok("`message-back` with the same 400 kB string")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let big: String = "0123456789".repeat(40_000);
                s.emit("/", None, &json!(["message", big]).to_string()).await?;
                let p = s.expect(cx.ms(3000), "`message-back`").await?;
                if p.args() != [json!(big)] {
                    return Ok(Observed::not(format!("{} bytes back", p.raw.len())));
                }
                Ok(Observed::ok(format!("{} bytes back", p.raw.len())))
            }),
        Case::new(S, "numeric-event-name", "An event whose name is a number (`42[1,2]`) is accepted")
            .req("EVENT: the first element is the event name; socket.io-parser accepts a number there.")
            .may()
            .ok("accepted: the connection keeps working")
            .outcome("closed", Verdict::Informational, "the connection is closed")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send("2[1,2]").await?;
                Ok(match s.still_alive(&cx).await {
                    Ok(()) => Observed::ok("accepted"),
                    Err(e) => Observed::is("closed", format!("{e:?}")),
                })
            }),
    ]
}
