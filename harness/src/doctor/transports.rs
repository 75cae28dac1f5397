//! The transports as a client meets them through whatever is in front:
//! polling opens, the WebSocket handshake passes (101, not 200, not a
//! hang), and a polling session moves to WebSocket.

use std::sync::Arc;
use std::time::Duration;

use siospec_codec::engine::{Packet, PacketType};

use super::client::{engine_text, packets, probe_ping, WAIT};
use super::{Ctx, Outcome};
use crate::trace::Trace;
use crate::wire::ws::{Frame, Refused};

/// What nginx needs to pass WebSocket upgrades.
pub(super) const NGINX_UPGRADE: &str = "nginx: in the location that proxies the Socket.IO path, \
    `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header \
    Connection \"upgrade\";` (other proxies: enable WebSocket / Upgrade passthrough; AWS \
    Classic ELB: a TCP listener, or an ALB)";

pub(super) async fn polling(cx: &Ctx, trace: Arc<Trace>) -> Outcome {
    if !cx.offer.polling {
        return Outcome::warning(
            "the server accepts WebSocket only: clients with the default transports \
             (polling first) cannot connect",
            "enable polling on the server (socket.io: `transports: [\"polling\", \"websocket\"]`), \
             or configure every client with `transports: [\"websocket\"]`",
        );
    }
    let client = cx.client(&trace);
    match client.open_polling(Vec::new()).await {
        Ok(s) => Outcome::ok(format!(
            "session {} opened over polling; upgrades offered: {}",
            s.sid,
            if s.handshake.upgrades.is_empty() {
                "none".to_owned()
            } else {
                s.handshake.upgrades.join(", ")
            }
        )),
        Err(e) => Outcome::problem(
            format!("{e}, although the probe opened one"),
            "an intermittent failure: run doctor again, and check the logs of the proxy and \
             the server",
        ),
    }
}

/// How the server says that WebSocket is on offer.
fn offers_websocket(cx: &Ctx) -> bool {
    cx.offer.websocket
}

pub(super) async fn websocket(cx: &Ctx, trace: Arc<Trace>) -> Outcome {
    if !offers_websocket(cx) {
        return Outcome::warning(
            "the server does not offer WebSocket (no `websocket` in the handshake's upgrades): \
             every client stays on long-polling, with more requests and more latency",
            "enable the websocket transport on the server (socket.io: the default \
             `transports: [\"polling\", \"websocket\"]`)",
        );
    }
    let client = cx.client(&trace);
    let interval = Duration::from_millis(cx.handshake.ping_interval);
    let mut ws = match client
        .websocket("EIO=4&transport=websocket", interval)
        .await
    {
        Ok(ws) => ws,
        Err(refused) => return refused_outcome(&refused),
    };
    match ws.recv(WAIT).await {
        Some(Frame::Text(t)) if packets(&t).first().map(|p| p.0) == Some(PacketType::Open) => {
            Outcome::ok("the WebSocket handshake was answered 101 and the session opened on it")
        }
        other => Outcome::problem(
            format!(
                "the WebSocket opened (101) but no open packet followed: {}",
                other.map_or("nothing within 5 s".to_owned(), |f| f.describe())
            ),
            "something between the client and the server holds or rewrites WebSocket frames; \
             check the proxy's WebSocket support",
        ),
    }
}

/// A refused WebSocket handshake, while the server offers WebSocket:
/// something in between does not pass the upgrade.
fn refused_outcome(refused: &Refused) -> Outcome {
    let found = match refused {
        Refused::Status { status, body } => format!(
            "the WebSocket handshake was answered HTTP {status} {:?} instead of 101 \
             Switching Protocols, while the server offers WebSocket: a proxy in front does \
             not pass the Upgrade and Connection headers, and clients stay on polling",
            crate::verify::short(body)
        ),
        Refused::Failed(e) => format!(
            "the WebSocket handshake did not complete ({e}), while the server offers \
             WebSocket: a proxy in front holds or drops upgrade requests"
        ),
        Refused::Connect(e) => format!("cannot connect for the WebSocket handshake: {e}"),
    };
    Outcome::problem(found, NGINX_UPGRADE)
}

pub(super) async fn upgrade(cx: &Ctx, sticky: bool, trace: Arc<Trace>) -> Outcome {
    let client = cx.client(&trace);
    let session = match client.open_polling(Vec::new()).await {
        Ok(s) => s,
        Err(e) => return Outcome::skipped(format!("no polling session to upgrade: {e}")),
    };
    let interval = Duration::from_millis(session.handshake.ping_interval);
    let query = format!("EIO=4&transport=websocket&sid={}", session.sid);
    let mut ws = match client.websocket(&query, interval).await {
        Ok(ws) => ws,
        Err(Refused::Status { status, body }) if !sticky && (status == 400 || status == 404) => {
            return Outcome::skipped(format!(
                "the upgrade's WebSocket request was answered HTTP {status} {:?}: it reached \
                 another node (see sticky)",
                crate::verify::short(&body)
            ))
        }
        Err(Refused::Status { status, body }) => {
            return Outcome::problem(
                format!(
                    "the WebSocket request of polling session {} was answered HTTP {status} \
                     {:?}, while a new WebSocket session opens: the server does not know the \
                     session there",
                    session.sid,
                    crate::verify::short(&body)
                ),
                "with several nodes, make the balancer sticky for WebSocket requests too (nginx: \
                 `ip_hash` or `hash $remote_addr consistent` in the upstream)",
            )
        }
        Err(other) => return refused_outcome(&other),
    };
    if let Err(e) = ws.send_raw(&probe_ping()).await {
        return Outcome::problem(
            format!("the probe could not be sent on the upgrade's WebSocket: {e}"),
            NGINX_UPGRADE,
        );
    }
    match ws.recv(WAIT).await {
        Some(Frame::Text(t)) if is_probe_pong(&t) => {}
        other => {
            return Outcome::problem(
                format!(
                    "`2probe` on the upgrade's WebSocket was answered {} instead of `3probe`",
                    other.map_or("with nothing within 5 s".to_owned(), |f| f.describe())
                ),
                "check that the proxy passes WebSocket frames both ways, and the server's logs",
            )
        }
    }
    if let Err(e) = ws
        .send_raw(&engine_text(&Packet::new(PacketType::Upgrade)))
        .await
    {
        return Outcome::problem(
            format!("the upgrade packet `5` could not be sent: {e}"),
            NGINX_UPGRADE,
        );
    }
    match ws.recv(Duration::from_millis(200)).await {
        Some(f @ Frame::Closed { .. }) => Outcome::problem(
            format!(
                "the upgraded WebSocket closed right after `5`: {}",
                f.describe()
            ),
            "check the server's logs: it dropped the session on upgrade",
        ),
        _ => Outcome::ok(format!(
            "polling session {} moved to WebSocket (`2probe`, `3probe`, `5`)",
            session.sid
        )),
    }
}

/// Whether a frame is the `3probe` that answers the upgrade's probe.
fn is_probe_pong(text: &str) -> bool {
    crate::wire::heartbeat::decode_text(4, text)
        .is_some_and(|p| p.kind == PacketType::Pong && p.is_probe())
}
