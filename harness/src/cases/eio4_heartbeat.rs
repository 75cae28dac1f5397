//! Engine.IO v4 — heartbeat: the server pings, the client answers.

use std::time::Instant;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::heartbeat::{
    first_ping, polling_ping_pong, polling_timeout, timing, ws_ping_pong, ws_timeout,
};
use crate::wire::eio;
use crate::wire::ws::Frame;

const S: Section = Section {
    id: "eio4.heartbeat",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Heartbeat",
    spec: "engine.io-protocol v4, \"Heartbeat\"",
};

const REQ_HB: &str = "At regular intervals (pingInterval) the server sends a PING packet and the client has a few seconds (pingTimeout) to send a PONG packet back. If the server does not receive a PONG packet back, it considers that the connection is closed.";

async fn late_pong(cx: Ctx, polling: bool) -> Outcome {
    let late = cx.ms(cx.conf.ping_timeout / 2);
    if polling {
        let s = eio::open_polling(&cx).await?;
        verify::ok_body(&s.get(&cx).await?, "2", "first GET")?;
        tokio::time::sleep(late).await;
        verify::posted(&s.post(&cx, "3").await?, "late POST 3")?;
        verify::ok_body(
            &s.get(&cx).await?,
            "2",
            "next GET (the session must be alive)",
        )?;
    } else {
        let (mut ws, _) = eio::open_ws(&cx).await?;
        verify::text(&mut ws, "2", cx.ms(cx.conf.ping_interval + 500)).await?;
        tokio::time::sleep(late).await;
        ws.send(&eio::pong()).await?;
        verify::text(&mut ws, "2", cx.ms(cx.conf.ping_interval + 500)).await?;
    }
    Ok(Observed::ok(format!(
        "a pong {} ms after the ping kept the session",
        late.as_millis()
    )))
}

async fn client_ping(cx: Ctx, polling: bool) -> Outcome {
    if polling {
        let s = eio::open_polling(&cx).await?;
        let r = s.post(&cx, "2").await?;
        let g = s.get(&cx).await?;
        let actual = format!("POST {} ; next GET {} {:?}", r.status, g.status, g.text());
        return Ok(match (g.status, g.text().as_str()) {
            _ if verify::unknown_sid(&g) => Observed::ok(actual),
            (200, "3") => Observed::is("pong", actual),
            // Only its own PING: the client's went unanswered.
            (200, "2") => Observed::is("ignored", format!("{actual}: the server's own PING")),
            (200, _) => Observed::is("ignored", actual),
            _ => Observed::not(actual),
        });
    }
    let (mut ws, _) = eio::open_ws(&cx).await?;
    ws.send(&eio::ping()).await?;
    // The server's own PINGs (its first may come at once) are answered and
    // skipped: what is judged is the answer to the client's.
    Ok(
        match verify::next_keeping_heartbeat(&mut ws, cx.ms(cx.conf.ping_interval / 2)).await {
            Some(f @ Frame::Closed { .. }) => Observed::ok(f.describe()),
            Some(Frame::Text(t)) if t == "3" => Observed::is("pong", "answered `3`"),
            Some(f) => Observed::is("ignored", f.describe()),
            None => Observed::is("ignored", "nothing happened"),
        },
    )
}

fn client_ping_case(case: Case) -> Case {
    case.req("In protocol 4 the heartbeat goes one way: the server sends PING, the client answers PONG (\"invalid heartbeat direction\" in the reference server).")
        .may()
        .ok("the session is closed")
        .outcome("pong", Verdict::NonStrict, "answered with a pong (protocol 3 behaviour)")
        .outcome("ignored", Verdict::Informational, "ignored")
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "polling.ping-pong", "Three heartbeats over polling: GET returns `2`, POST `3`")
            .waits(|c| 3 * c.ping_interval)
            .unjoined()
            .official("heartbeat / HTTP long-polling / sends ping/pong packets", None)
            .req(REQ_HB)
            .ok("each GET returns exactly `2`; each POST `3` is answered `ok`")
            .run(polling_ping_pong),
        Case::new(S, "polling.timeout", "Without a pong the polling session is closed after pingInterval + pingTimeout")
            .waits(|c| c.heartbeat())
            .official("heartbeat / HTTP long-polling / closes the session upon ping timeout", Some("waits pingInterval + pingTimeout + 150 ms instead of the official bare 500 ms"))
            .req(REQ_HB)
            .ok("a GET at pingInterval + pingTimeout + 150 ms gets 400")
            .run(polling_timeout),
        Case::new(S, "websocket.ping-pong", "Three heartbeats over WebSocket")
            .waits(|c| 3 * c.ping_interval)
            .unjoined()
            .official("heartbeat / WebSocket / sends ping/pong packets", None)
            .req(REQ_HB)
            .ok("three `2` frames, each answered with `3`")
            .run(ws_ping_pong),
        Case::new(S, "websocket.timeout", "Without a pong the server closes the WebSocket")
            .waits(|c| c.heartbeat())
            .official("heartbeat / WebSocket / closes the session upon ping timeout", None)
            .req(REQ_HB)
            .ok("the connection is closed within pingInterval + pingTimeout + 500 ms, not before pingInterval/2")
            .run(ws_timeout),
        timing(Case::new(S, "polling.first-ping", "When the first ping comes over polling"))
            .waits(|c| c.heartbeat())
            .run(|cx| first_ping(cx, true)),
        timing(Case::new(S, "websocket.first-ping", "When the first ping comes over WebSocket"))
            .waits(|c| c.heartbeat())
            .run(|cx| first_ping(cx, false)),
        Case::new(S, "polling.late-pong", "A pong sent pingTimeout/2 after the ping keeps the polling session")
            .waits(|c| 2 * c.ping_interval + c.ping_timeout / 2)
            .unjoined()
            .req(REQ_HB)
            .ok("the next GET returns the next ping")
            .run(|cx| late_pong(cx, true)),
        Case::new(S, "websocket.late-pong", "A pong sent pingTimeout/2 after the ping keeps the WebSocket session")
            .waits(|c| 2 * c.ping_interval + c.ping_timeout / 2)
            .unjoined()
            .req(REQ_HB)
            .ok("the next ping arrives")
            .run(|cx| late_pong(cx, false)),
        Case::new(S, "websocket.interval", "Consecutive pings are pingInterval apart when answered at once")
            .waits(|c| 4 * c.ping_interval + c.ping_timeout)
            .unjoined()
            .echo()
            .req("At regular intervals (pingInterval) the server sends a PING packet.")
            .should()
            .ok("three gaps between pings each within pingInterval −60 / +100 ms")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                let wait = cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500);
                verify::text(&mut ws, "2", wait).await?;
                ws.send(&eio::pong()).await?;
                let mut gaps = Vec::new();
                for _ in 0..3 {
                    let t = Instant::now();
                    verify::text(&mut ws, "2", wait).await?;
                    ws.send(&eio::pong()).await?;
                    gaps.push(t.elapsed().as_millis() as u64);
                }
                let lo = ((cx.conf.ping_interval - 60) as f64 * cx.scale) as u64;
                let hi = ((cx.conf.ping_interval + 100) as f64 * cx.scale) as u64;
                if gaps.iter().all(|g| (lo..=hi).contains(g)) {
                    Ok(Observed::ok(format!("gaps {gaps:?} ms")))
                } else {
                    Ok(Observed::not(format!("gaps {gaps:?} ms")))
                }
            }),
        client_ping_case(Case::new(S, "polling.client-ping", "A client `2` (ping) over polling on a v4 session")).run(|cx| client_ping(cx, true)),
        client_ping_case(Case::new(S, "websocket.client-ping", "A client `2` (ping) over WebSocket on a v4 session")).run(|cx| client_ping(cx, false)),
        Case::new(S, "websocket.unsolicited-pong", "A pong with no ping pending is harmless")
            .echo()
            .req(REQ_HB)
            .may()
            .ok("ignored: the session keeps echoing")
            .outcome("closed", Verdict::Informational, "the session is closed")
            .run(|cx| async move {
                let (mut ws, _) = eio::open_ws(&cx).await?;
                ws.send(&eio::pong()).await?;
                let _ = ws.send(&eio::msg("still")).await;
                Ok(match verify::next_keeping_heartbeat(&mut ws, cx.ms(1500)).await {
                    // Any message shows the session lives on (the echo's content is the message cases' rule).
                    Some(Frame::Text(t)) if eio::is_message_frame(&cx, &t) => Observed::ok("echo after the pong"),
                    Some(f @ Frame::Closed { .. }) => Observed::is("closed", f.describe()),
                    Some(f) => Observed::not(f.describe()),
                    None => Observed::not("no echo"),
                })
            }),
    ]
}
