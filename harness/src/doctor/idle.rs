//! Idle survival: a connection that carries nothing but the heartbeat must
//! outlive pingInterval + pingTimeout (and, with `--long`, the 60 s read
//! timeouts of common proxies). A proxy read timeout shorter than
//! pingInterval cuts it ("transport close" every pingInterval:
//! socketio/socket.io #4333): a WebSocket closes, a long-poll GET is
//! answered 504.

use std::sync::Arc;
use std::time::{Duration, Instant};

use siospec_codec::engine::{Packet as EnginePacket, PacketType};

use super::client::{answered, engine_text, packets, Client, WAIT};
use super::{Ctx, Outcome, LONG_IDLE};
use crate::trace::Trace;
use crate::wire::ws::Frame;

/// How long past pingInterval + pingTimeout the connections are kept.
const MARGIN: Duration = Duration::from_secs(2);

/// How long the connections are kept idle.
pub(super) fn hold(cx: &Ctx) -> Duration {
    let h = &cx.handshake;
    let heartbeat = Duration::from_millis(h.ping_interval + h.ping_timeout) + MARGIN;
    if cx.options.long {
        heartbeat.max(LONG_IDLE)
    } else {
        heartbeat
    }
}

fn fix(cx: &Ctx) -> String {
    let h = &cx.handshake;
    let needed = (h.ping_interval + h.ping_timeout).div_ceil(1000) + 5;
    format!(
        "raise the proxy's read timeout above pingInterval + pingTimeout: nginx \
         `proxy_read_timeout {needed}s; proxy_send_timeout {needed}s;` in the location; AWS ALB: \
         an idle timeout of {needed} s or more; or lower the server's pingInterval below the \
         proxy's timeout"
    )
}

pub(super) async fn check(
    cx: &Ctx,
    hold: Duration,
    websocket: bool,
    sticky: bool,
    trace: Arc<Trace>,
) -> Outcome {
    let ws_client = cx.client(&trace);
    let poll_client = cx.client(&trace);
    let (over_ws, over_polling) = tokio::join!(
        async {
            if websocket {
                Some(idle_websocket(cx, &ws_client, hold).await)
            } else {
                None
            }
        },
        async {
            if cx.offer.polling && sticky {
                Some(idle_polling(&poll_client, hold).await)
            } else {
                None
            }
        }
    );
    let mut cut = Vec::new();
    let mut kept = Vec::new();
    for (transport, result) in [("WebSocket", over_ws), ("polling", over_polling)] {
        match result {
            Some(Ok(())) => kept.push(transport),
            Some(Err(e)) => cut.push(format!("{transport}: {e}")),
            None => {}
        }
    }
    let h = &cx.handshake;
    let timings = format!(
        "pingInterval {} ms, pingTimeout {} ms",
        h.ping_interval, h.ping_timeout
    );
    if !cut.is_empty() {
        return Outcome::problem(
            format!(
                "an idle connection was cut before {:.1} s ({timings}): {}",
                hold.as_secs_f64(),
                cut.join("; ")
            ),
            fix(cx),
        );
    }
    if kept.is_empty() {
        return Outcome::skipped(
            "neither transport could be held (see transport.websocket and sticky)",
        );
    }
    Outcome::ok(format!(
        "{} stayed open {:.1} s with only the heartbeat ({timings})",
        kept.join(" and "),
        hold.as_secs_f64()
    ))
}

/// A WebSocket session (in the main namespace, for Socket.IO) kept open
/// with the heartbeat answered; `Err` says when and how it ended.
async fn idle_websocket(cx: &Ctx, client: &Client, hold: Duration) -> Result<(), String> {
    let interval = Duration::from_millis(cx.handshake.ping_interval);
    let mut ws = client
        .websocket("EIO=4&transport=websocket", interval)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    if let Some(join) = client.join() {
        ws.send_raw(&join).await?;
    }
    let deadline = started + hold;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match ws.recv(left).await {
            None => return Ok(()),
            Some(f @ Frame::Closed { .. }) => {
                return Err(format!(
                    "closed after {:.1} s idle ({})",
                    started.elapsed().as_secs_f64(),
                    f.describe()
                ))
            }
            Some(_) => {}
        }
    }
}

/// A polling session kept open as the official client keeps it: a GET
/// always pending, each PING answered by a POST `3`.
async fn idle_polling(client: &Client, hold: Duration) -> Result<(), String> {
    let session = client.open_polling(Vec::new()).await?;
    let sid = session.sid.as_str();
    let started = Instant::now();
    if let Some(join) = client.join() {
        client
            .post(sid, &join)
            .await
            .map_err(|e| format!("POST `{join}`: {e}"))?;
    }
    let h = &session.handshake;
    let interval = Duration::from_millis(h.ping_interval);
    let longest = Duration::from_millis(h.ping_interval + h.ping_timeout) + WAIT;
    let deadline = started + hold;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let asked = Instant::now();
        // A GET still held when the time is up: the session survived.
        let Ok(result) = tokio::time::timeout(left, client.get(sid, longest)).await else {
            return Ok(());
        };
        let resp = result.map_err(|e| {
            format!(
                "the long-poll GET failed after {:.1} s: {e}",
                asked.elapsed().as_secs_f64()
            )
        })?;
        if resp.status != 200 {
            let waited = asked.elapsed();
            let early = if waited < interval {
                " — before the server's next ping was due, so a proxy timed the request out \
                 (nginx then retries it on the next node of the upstream, which does not know \
                 the session)"
            } else {
                ""
            };
            return Err(format!(
                "the long-poll GET was answered {} after {:.1} s{early}",
                answered(&resp),
                waited.as_secs_f64()
            ));
        }
        let kinds: Vec<PacketType> = packets(&resp.text()).into_iter().map(|p| p.0).collect();
        if kinds.contains(&PacketType::Close) {
            return Err(format!(
                "the server closed the session after {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
        if kinds.contains(&PacketType::Ping) {
            let pong = engine_text(&EnginePacket::new(PacketType::Pong));
            let pong = client
                .post(sid, &pong)
                .await
                .map_err(|e| format!("the pong POST: {e}"))?;
            if pong.status != 200 {
                return Err(format!("the pong POST was answered {}", answered(&pong)));
            }
        }
    }
}
