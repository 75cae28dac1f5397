//! The upgrade from polling to WebSocket, shared by the eio4, eio3 and
//! sio5.engine sections.

use crate::case::server::Ctx;
use crate::case::{Observed, Outcome, Stop};
use crate::verify;
use crate::wire::eio;
use crate::wire::ws::{Frame, Ws};

/// `1:6` for v3 bodies, `6` for v4.
fn noop(cx: &Ctx) -> &'static str {
    if cx.suite.eio() == 3 {
        "1:6"
    } else {
        "6"
    }
}

/// Probe, noop on the poll, `5`, echo over WebSocket (shared; `echo` off for sio5).
pub async fn upgrade(cx: Ctx, check_noop: bool, echo: bool) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let mut ws = eio::probe(&cx, &s).await?;
    if check_noop {
        verify::ok_body(
            &s.get_keeping_heartbeat(&cx).await?,
            noop(&cx),
            "GET during the upgrade",
        )?;
    }
    ws.send(&eio::upgrade()).await?;
    carried_over_websocket(&cx, &mut ws, echo, "over WebSocket").await?;
    Ok(Observed::ok("upgraded"))
}

/// The session is on the WebSocket after `5`: with `echo`, `4hello` comes
/// back over it; without an application echo (Socket.IO mode), the
/// server's next PING comes over it (and is answered).
async fn carried_over_websocket(
    cx: &Ctx,
    ws: &mut Ws,
    echo: bool,
    place: &str,
) -> Result<(), Stop> {
    if echo {
        echoed_over_websocket(cx, ws, place).await
    } else {
        verify::text(ws, "2", cx.ms(cx.conf.ping_interval + 500)).await?;
        ws.send(&eio::pong()).await?;
        Ok(())
    }
}

/// `4hello` sent over the upgraded WebSocket comes back (pings skipped). The
/// echo only shows that the WebSocket carries the session: any message
/// counts (its content is the message cases' rule, see [`eio::is_message_frame`]).
async fn echoed_over_websocket(cx: &Ctx, ws: &mut Ws, place: &str) -> Result<(), Stop> {
    ws.send(&eio::msg("hello")).await?;
    match verify::next_keeping_heartbeat(ws, cx.ms(2000)).await {
        Some(Frame::Text(t)) if eio::is_message_frame(cx, &t) => Ok(()),
        Some(f) => verify::fail(format!("expected `4hello` {place}, got {}", f.describe())),
        None => verify::fail(format!("no `4hello` {place}")),
    }
}

/// After the upgrade, a polling request of the session is refused.
///
/// `5` and a GET would travel on two connections, so a GET sent right after
/// `5` may reach the server while the upgrade is still pending (it then
/// drains a NOOP, or is ended with the polling transport's close packet:
/// the upgrade's own doing; socketioxide, on several threads, answered three
/// such GETs with NOOPs in CI). The case first sees the server handle a frame
/// sent after `5` on the WebSocket (frames of one connection are handled in
/// order): with `echo`, `4hello` comes back; without (Socket.IO mode, where
/// a packet would depend on the parser), the server's next PING comes over
/// the WebSocket. The upgrade is then done, and the GET must fail.
pub async fn polling_after_upgrade(cx: Ctx, echo: bool) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let mut ws = eio::probe(&cx, &s).await?;
    ws.send(&eio::upgrade()).await?;
    carried_over_websocket(&cx, &mut ws, echo, "over WebSocket after `5`").await?;
    let r = s.get(&cx).await?;
    verify::status(&r, 400, "GET after the upgrade")?;
    Ok(Observed::ok("GET after the upgrade: 400"))
}

/// A second WebSocket with the sid of an upgraded session is refused; with `echo`, the first still echoes.
pub async fn second_websocket(cx: Ctx, echo: bool) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let mut ws = eio::probe(&cx, &s).await?;
    ws.send(&eio::upgrade()).await?;
    let second = match cx.ws(&s.ws_query(&cx)).await {
        Err(r @ crate::wire::ws::Refused::Connect(_)) => return Err(r.into()),
        Err(r) => format!("second WebSocket refused: {r}"),
        Ok(mut w2) => match w2.wait_closed(cx.ms(1500)).await {
            Some(f) => format!("second WebSocket closed: {}", f.describe()),
            None => return verify::fail("the second WebSocket with the same sid stays open"),
        },
    };
    if echo {
        echoed_over_websocket(&cx, &mut ws, "on the first WebSocket").await?;
    }
    Ok(Observed::ok(second))
}
