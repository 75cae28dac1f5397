//! The heartbeat rules, run over polling and WebSocket by the eio4 and
//! sio5.engine sections against their own revision.

use std::time::Instant;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Verdict};
use crate::verify;
use crate::wire::eio;
use crate::wire::ws::Frame;

/// Three rounds of GET `2` / POST `3` (shared with sio5.engine).
pub async fn polling_ping_pong(cx: Ctx) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    for i in 0..3 {
        let g = s.get(&cx).await?;
        verify::ok_body(&g, "2", &format!("GET #{}", i + 1))?;
        verify::posted(&s.post(&cx, "3").await?, "POST 3")?;
    }
    Ok(Observed::ok("3 × (GET `2`, POST `3` → ok)"))
}

/// No pong: the session must be gone at pingInterval + pingTimeout + margin.
pub async fn polling_timeout(cx: Ctx) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let start = Instant::now();
    tokio::time::sleep(cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 150)).await;
    let r = cx.get(&s.query).await?;
    let actual = format!(
        "GET after {} ms: {} {:?}",
        start.elapsed().as_millis(),
        r.status,
        verify::short(&r.text())
    );
    Ok(if verify::unknown_sid(&r) {
        Observed::ok(actual)
    } else {
        Observed::not(actual)
    })
}

/// Heartbeats over WebSocket: each ping answered with a pong keeps the session.
pub async fn ws_ping_pong(cx: Ctx) -> Outcome {
    let (mut ws, _) = eio::open_ws(&cx).await?;
    for _ in 0..3 {
        verify::text(
            &mut ws,
            "2",
            cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500),
        )
        .await?;
        ws.send(&eio::pong()).await?;
    }
    Ok(Observed::ok("3 × (`2` received, `3` sent)"))
}

/// Without a pong the WebSocket session is closed after pingInterval + pingTimeout.
pub async fn ws_timeout(cx: Ctx) -> Outcome {
    let (mut ws, _) = eio::open_ws(&cx).await?;
    let start = Instant::now();
    let f = verify::closed(
        &mut ws,
        cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500),
    )
    .await?;
    let ms = start.elapsed().as_millis();
    if start.elapsed() < cx.ms(cx.conf.ping_interval / 2) {
        return Ok(Observed::not(format!(
            "closed after only {ms} ms: {}",
            f.describe()
        )));
    }
    Ok(Observed::ok(format!(
        "closed after {ms} ms: {}",
        f.describe()
    )))
}

/// Time from the open packet to the first ping (shared with sio5.engine).
pub async fn first_ping(cx: Ctx, polling: bool) -> Outcome {
    let interval = cx.conf.ping_interval;
    let limit = cx.ms(interval + cx.conf.ping_timeout + 300);
    let (start, got) = if polling {
        let s = eio::open_polling(&cx).await?;
        let start = Instant::now();
        let g = s.get(&cx).await?;
        (
            start,
            if g.status == 200 && g.text() == "2" {
                Some(())
            } else {
                None
            },
        )
    } else {
        let (mut ws, _) = eio::open_ws(&cx).await?;
        let start = Instant::now();
        (
            start,
            match ws.recv(limit).await {
                Some(Frame::Text(t)) if t == "2" => Some(()),
                _ => None,
            },
        )
    };
    let ms = start.elapsed().as_millis() as u64;
    let scaled = |x: u64| (x as f64 * cx.scale) as u64;
    Ok(match got {
        None => Observed::not(format!("no ping within {} ms", limit.as_millis())),
        Some(()) if ms + scaled(60) >= scaled(interval) && ms <= scaled(interval + 100) => {
            Observed::ok(format!("first ping after {ms} ms"))
        }
        Some(()) if ms <= scaled(interval + cx.conf.ping_timeout) => {
            Observed::is("other", format!("first ping after {ms} ms"))
        }
        Some(()) => Observed::not(format!("first ping only after {ms} ms")),
    })
}

/// A first-ping timing case (shared with sio5.engine).
pub fn timing(case: Case) -> Case {
    case.req("pingInterval: the server sends a PING every pingInterval ms. The reference server sends the first one pingInterval after the handshake; the protocol does not say when the first ping comes.")
        .should()
        .ok("the first ping comes pingInterval (−60 / +100 ms) after the handshake")
        .outcome("other", Verdict::NonStrict, "a ping comes, at another time within pingInterval + pingTimeout")
}
