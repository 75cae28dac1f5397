//! Engine.IO v3 — heartbeat: the client pings, the server answers.

use std::time::Instant;

use crate::case::{Case, Observed, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;
use crate::wire::ws::Frame;

const S: Section = Section {
    id: "eio3.heartbeat",
    suite: Suite::Eio3,
    title: "Engine.IO v3 — Heartbeat",
    spec: "engine.io-protocol v3, \"Heartbeat\"",
};

const REQ: &str = "Protocol 3: the client sends a PING every pingInterval and the server answers PONG; the server closes the session when no PING arrives within pingInterval + pingTimeout.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "polling.ping-pong", "Three client pings over polling: POST `1:2`, GET `1:3`")
            .official("heartbeat / HTTP long-polling / sends ping/pong packets", None)
            .req(REQ)
            .ok("each POST `ok`, each GET exactly `1:3`")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                for i in 0..3 {
                    verify::posted(&s.post(&cx, "1:2").await?, "POST 1:2")?;
                    verify::ok_body(&s.get(&cx).await?, "1:3", &format!("GET #{}", i + 1))?;
                }
                Ok(Observed::ok("3 × (POST `1:2`, GET `1:3`)"))
            }),
        Case::new(S, "polling.timeout", "Without client pings the session is closed after pingInterval + pingTimeout")
            .waits(|c| c.heartbeat())
            .official("heartbeat / HTTP long-polling / closes the session upon ping timeout", Some("waits pingInterval + pingTimeout + 150 ms instead of a bare 500 ms"))
            .req(REQ)
            .ok("a POST `1:2` at pingInterval + pingTimeout + 150 ms gets 400")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                tokio::time::sleep(cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 150)).await;
                let r = s.post(&cx, "1:2").await?;
                Ok(if verify::unknown_sid(&r) { Observed::ok(format!("{} {:?}", r.status, r.text())) } else { Observed::not(format!("POST answered {} {:?}", r.status, r.text())) })
            }),
        Case::new(S, "websocket.ping-pong", "Three client pings over WebSocket: `2` → `3`")
            .official("heartbeat / WebSocket / sends ping/pong packets", None)
            .req(REQ)
            .ok("each `2` answered with `3`")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                for _ in 0..3 {
                    ws.send(&eio::ping()).await?;
                    verify::text(&mut ws, "3", cx.ms(1000)).await?;
                }
                Ok(Observed::ok("3 × (`2` → `3`)"))
            }),
        Case::new(S, "websocket.timeout", "Without client pings the server closes the WebSocket")
            .waits(|c| c.heartbeat())
            .official("heartbeat / WebSocket / closes the session upon ping timeout", None)
            .req(REQ)
            .ok("closed within pingInterval + pingTimeout + 500 ms")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                let t = Instant::now();
                let f = verify::closed(&mut ws, cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500)).await?;
                Ok(Observed::ok(format!("closed after {} ms: {}", t.elapsed().as_millis(), f.describe())))
            }),
        Case::new(S, "websocket.after-upgrade", "After an upgrade, a client that stops pinging is still timed out")
            .waits(|c| c.heartbeat())
            .req(REQ)
            .should()
            .ok("the upgraded WebSocket is closed within pingInterval + pingTimeout + 500 ms")
            .outcome("kept", Verdict::NonStrict, "the session is never timed out (engine.io clears the v3 ping timer on upgrade and re-arms it only at the next client ping)")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = eio::probe(&cx, &s).await?;
                ws.send(&eio::upgrade()).await?;
                let t = Instant::now();
                let limit = cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500);
                match ws.wait_closed(limit).await {
                    Some(f) => Ok(Observed::ok(format!("closed after {} ms: {}", t.elapsed().as_millis(), f.describe()))),
                    None => match ws.wait_closed(cx.ms(1500)).await {
                        Some(f) => Ok(Observed::is("kept", format!("closed only after {} ms: {}", t.elapsed().as_millis(), f.describe()))),
                        None => Ok(Observed::is("kept", format!("still open after {} ms without a ping", t.elapsed().as_millis()))),
                    },
                }
            }),
        Case::new(S, "websocket.probe-answer", "A `2probe` on a v3 WebSocket-only session is answered `3probe`")
            .req(REQ)
            .may()
            .ok("`3probe`")
            .outcome("other", Verdict::Informational, "answered otherwise")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                ws.send(&eio::probe_ping()).await?;
                Ok(match ws.recv(cx.ms(1000)).await {
                    Some(Frame::Text(t)) if t == "3probe" => Observed::ok("3probe"),
                    Some(f) => Observed::is("other", f.describe()),
                    None => Observed::is("other", "nothing"),
                })
            }),
    ]
}
