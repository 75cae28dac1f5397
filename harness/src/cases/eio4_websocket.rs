//! Engine.IO v4 — WebSocket transport: frames, binary, limits.

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::ws::{ws_echo_binary, ws_echo_text, ws_invalid, ws_invalid_case};
use crate::wire::eio;
use crate::wire::ws::Frame;

const S: Section = Section {
    id: "eio4.websocket",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — WebSocket",
    spec: "engine.io-protocol v4, \"WebSocket\" and \"Packet encoding\"",
};

const REQ_FRAME: &str = "With WebSocket, each packet is sent in its own frame: text packets in text frames (`<type><data>`), binary messages in binary frames holding the raw data.";

async fn too_large(cx: Ctx) -> Outcome {
    let (mut ws, _) = eio::open_ws(&cx).await?;
    let mut m = String::from("4");
    while m.len() <= cx.conf.max_payload as usize {
        m.push_str("0123456789abcdef");
    }
    let _ = ws.send_raw(&m).await;
    let deadline = std::time::Instant::now() + cx.ms(2000);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match ws.recv(left).await {
            // Answer the heartbeat so only the oversize frame can end the connection.
            Some(Frame::Text(t)) if t == "2" => {
                let _ = ws.send(&eio::pong()).await;
            }
            Some(Frame::Text(t)) if t.len() > cx.conf.max_payload as usize => {
                return Ok(Observed::not(format!(
                    "a {} byte message was accepted and echoed",
                    t.len()
                ))
                .close_not("no close"));
            }
            Some(
                f @ Frame::Closed {
                    code: Some(1009), ..
                },
            ) => return Ok(Observed::ok("closed").close_is("1009", f.describe())),
            Some(f @ Frame::Closed { .. }) => {
                return Ok(Observed::ok("closed").close_is("other", f.describe()))
            }
            Some(_) => {}
            None => {
                return Ok(Observed::not(format!(
                    "a {} byte frame is accepted and the connection stays open",
                    m.len()
                ))
                .close_not("no close"))
            }
        }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "message.text", "Send `4hello`, receive `4hello`")
            .echo()
            .official("message / WebSocket / sends and receives a plain text packet", None)
            .req(REQ_FRAME)
            .ok("a text frame `4hello`")
            .run(|cx| async move { ws_echo_text(&cx, "4hello").await }),
        Case::new(S, "message.binary", "Send binary 01 02 03 04, receive the same binary frame")
            .echo()
            .official("message / WebSocket / sends and receives a binary packet", None)
            .req(REQ_FRAME)
            .ok("a binary frame 01 02 03 04")
            .run(|cx| async move { ws_echo_binary(&cx, &[1, 2, 3, 4]).await }),
        ws_invalid_case(
            Case::new(S, "message.invalid-packet", "Sending `abc` makes the server close the connection")
                .official("message / WebSocket / closes the session upon invalid packet format", None)
                .req("A frame that cannot be decoded is a protocol error: the server closes the session."),
        )
        .run(|cx| ws_invalid(cx, "abc")),
        Case::new(S, "utf8", "Non-ASCII text is echoed exactly")
            .echo()
            .req(REQ_FRAME)
            .ok("the same text frame")
            .run(|cx| async move { ws_echo_text(&cx, "4héllo wörld € 😀").await }),
        Case::new(S, "empty-message", "`4` (a message with no data) is echoed as `4`")
            .echo()
            .req(REQ_FRAME)
            .ok("a text frame `4`")
            .run(|cx| async move { ws_echo_text(&cx, "4").await }),
        Case::new(S, "binary-empty", "An empty binary frame is echoed as an empty binary frame")
            .echo()
            .req(REQ_FRAME)
            .ok("an empty binary frame")
            .run(|cx| async move { ws_echo_binary(&cx, &[]).await }),
        Case::new(S, "binary-all-bytes", "A binary frame holding all 256 byte values is echoed exactly")
            .echo()
            .req(REQ_FRAME)
            .ok("the same 256 bytes")
            .run(|cx| async move {
                let data: Vec<u8> = (0..=255u8).collect();
                ws_echo_binary(&cx, &data).await
            }),
        Case::new(S, "order", "200 frames sent back to back are echoed in order")
            .echo()
            .req("Packets are delivered in order.")
            .ok("200 echoes in the order sent")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                for i in 0..200 {
                    ws.send(&eio::msg(&format!("m{i}"))).await?;
                }
                for i in 0..200 {
                    let want = eio::encode_text(&cx, &eio::msg(&format!("m{i}")));
                    match verify::next_keeping_heartbeat(&mut ws, cx.ms(3000)).await {
                        Some(Frame::Text(t)) if t == want => {}
                        Some(f) => return Ok(Observed::not(format!("echo {i}: expected {want:?}, got {}", f.describe()))),
                        None => return Ok(Observed::not(format!("echo {i} missing"))),
                    }
                }
                Ok(Observed::ok("200 echoes in order"))
            }),
        Case::new(S, "large-message", "A 500 kB message (under maxPayload) is echoed")
            .echo()
            .req("maxPayload: the maximum number of bytes per message.")
            .ok("the same 500 kB text frame")
            .run(|cx| async move {
                let mut m = String::from("4");
                while m.len() < 500_000 {
                    m.push_str("0123456789abcdef");
                }
                let o = ws_echo_text(&cx, &m).await?;
                Ok(match o.behaviour {
                    crate::case::Obs::Is { key, .. } => Observed::is(key, format!("{} bytes echoed", m.len())),
                    _ => o,
                })
            }),
        Case::new(S, "max-payload.over", "A frame above maxPayload closes the connection with 1009")
            .req("maxPayload is the largest message the server accepts; the reference server closes an oversize WebSocket message with 1009 (Message Too Big).")
            .ok("the server closes the connection")
            .close("1009", Verdict::Ok, "close code 1009")
            .close("other", Verdict::NonStrict, "closed otherwise")
            .limit(15_000)
            .run(too_large),
        Case::new(S, "client-upgrade-packet", "A `5` (upgrade) on a WebSocket-only session is ignored")
            .echo()
            .req("upgrade (5) completes a transport upgrade; a WebSocket-only session has nothing to upgrade.")
            .may()
            .ok("ignored: a later `4x` is still echoed")
            .outcome("closed", Verdict::Informational, "the session is closed")
            .outcome("noop", Verdict::Informational, "answered with a NOOP `6`; a later `4x` is still echoed")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                ws.send(&eio::upgrade()).await?;
                if ws.send(&eio::msg("x")).await.is_err() {
                    return Ok(Observed::is("closed", "send failed"));
                }
                // Read raw: a NOOP in answer is this case's observation
                // (elsewhere NOOPs are skipped).
                let first = loop {
                    match ws.recv(cx.ms(2000)).await {
                        Some(Frame::Text(t)) if t == "2" => ws.send(&eio::pong()).await?,
                        other => break other,
                    }
                };
                // Any message shows the session lives on (the echo's content
                // is the message cases' rule).
                if matches!(&first, Some(Frame::Text(t)) if t == "6") {
                    return Ok(match verify::next_keeping_heartbeat(&mut ws, cx.ms(2000)).await {
                        Some(Frame::Text(t)) if eio::is_message_frame(&cx, &t) => Observed::is("noop", "`6`, then `4x` echoed"),
                        Some(f) => Observed::not(format!("`6`, then {}", f.describe())),
                        None => Observed::not("`6`, then no echo"),
                    });
                }
                match first {
                    Some(Frame::Text(t)) if eio::is_message_frame(&cx, &t) => Ok(Observed::ok("`4x` echoed")),
                    Some(f @ Frame::Closed { .. }) => Ok(Observed::is("closed", f.describe())),
                    Some(f) => Ok(Observed::not(f.describe())),
                    None => Ok(Observed::not("no echo")),
                }
            }),
        Case::new(S, "close-frame", "A client close frame (1000) is answered with a close frame")
            .req("RFC 6455 §5.5.1: after receiving a Close frame, an endpoint sends a Close frame in response.")
            .ok("a close frame comes back")
            .outcome("dropped", Verdict::NonStrict, "the TCP connection is dropped without a close frame")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                ws.send_close(1000).await.map_err(Stop::Fail)?;
                match ws.wait_closed(cx.ms(2000)).await {
                    Some(f @ Frame::Closed { clean: true, .. }) => Ok(Observed::ok(f.describe())),
                    Some(f) => Ok(Observed::is("dropped", f.describe())),
                    None => Ok(Observed::not("no answer to the close frame")),
                }
            }),
    ]
}
