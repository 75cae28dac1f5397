//! Checks on WebSocket frames and on how a WebSocket ends, and the frame
//! rules shared by the eio4 and eio3 sections.

use std::time::Duration;

use super::{fail, short};
use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Stop, Verdict};
use crate::verify;
use crate::wire::eio;
use crate::wire::heartbeat::Heartbeat;
use crate::wire::ws::{Frame, Refused, Ws};

/// The next frame that is not a NOOP `6`, which the official client ignores
/// wherever it comes (eio4.upgrade.noop-over-websocket records it).
pub async fn next_not_noop(ws: &mut Ws, wait: Duration) -> Option<Frame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.recv(left).await {
            Some(Frame::Text(t)) if t == "6" => continue,
            other => return other,
        }
    }
}

/// The next frame must be the text `want` (NOOPs skipped unless `want` is one).
pub async fn text(ws: &mut Ws, want: &str, wait: Duration) -> Result<(), Stop> {
    let next = if want == "6" {
        ws.recv(wait).await
    } else {
        next_not_noop(ws, wait).await
    };
    match next {
        Some(Frame::Text(t)) if t == want => Ok(()),
        Some(other) => fail(format!(
            "expected text frame {want:?}, got {}",
            other.describe()
        )),
        None => fail(format!(
            "expected text frame {want:?}, got nothing within {} ms",
            wait.as_millis()
        )),
    }
}

/// The next frame, NOOPs skipped, with the heartbeat kept from now on
/// ([`Heartbeat::AutoPong`]): for a case whose rule is not the heartbeat.
pub async fn next_keeping_heartbeat(ws: &mut Ws, wait: Duration) -> Option<Frame> {
    ws.set_heartbeat(Heartbeat::AutoPong);
    next_not_noop(ws, wait).await
}

/// The connection must end within `wait` (frames before the end are ignored).
pub async fn closed(ws: &mut Ws, wait: Duration) -> Result<Frame, Stop> {
    match ws.wait_closed(wait).await {
        Some(f) => Ok(f),
        None => fail(format!(
            "connection still open after {} ms",
            wait.as_millis()
        )),
    }
}

/// How a WebSocket request that must fail went.
pub async fn ws_refusal(cx: &Ctx, query: &str) -> Result<(&'static str, String), Stop> {
    match cx.ws(query).await {
        Err(Refused::Status { status: 400, body }) => {
            Ok(("refused", format!("HTTP 400 {:?}", short(&body))))
        }
        Err(Refused::Status { status, body }) if (400..500).contains(&status) => {
            Ok(("refused-other", format!("HTTP {status} {:?}", short(&body))))
        }
        Err(r @ Refused::Connect(_)) => Err(Stop::from(r)),
        Err(r) => Err(Stop::Fail(format!("{query}: {r}"))),
        Ok(mut ws) => match ws.recv(cx.ms(1500)).await {
            Some(Frame::Text(t)) if t.starts_with('0') => Err(Stop::Fail(format!(
                "{query}: the server opened a session: {}",
                short(&t)
            ))),
            Some(f @ Frame::Closed { .. }) => Ok((
                "closed-after-upgrade",
                format!("101, then {}", f.describe()),
            )),
            Some(other) => match ws.wait_closed(cx.ms(1500)).await {
                Some(f) => Ok((
                    "closed-after-upgrade",
                    format!("101, then {}, then {}", other.describe(), f.describe()),
                )),
                None => Err(Stop::Fail(format!(
                    "{query}: WebSocket accepted and left open after {}",
                    other.describe()
                ))),
            },
            None => Err(Stop::Fail(format!(
                "{query}: WebSocket accepted and left open"
            ))),
        },
    }
}

/// Opens a WebSocket session, sends `text`, expects the same text back (skipping pings).
pub async fn ws_echo_text(cx: &Ctx, text: &str) -> Outcome {
    let (mut ws, _) = eio::open_ws(cx).await?;
    eio::send_raw(&mut ws, text).await?;
    match verify::next_keeping_heartbeat(&mut ws, cx.ms(3000)).await {
        Some(Frame::Text(t)) if t == text => {
            Ok(Observed::ok(format!("echoed {}", verify::short(&t))))
        }
        Some(f) => Ok(Observed::not(format!(
            "expected {:?}, got {}",
            verify::short(text),
            f.describe()
        ))),
        None => Ok(Observed::not("no echo within 3000 ms")),
    }
}

/// Opens a WebSocket session, sends `data` as it is in a binary frame, expects the same frame back.
pub async fn ws_echo_binary(cx: &Ctx, data: &[u8]) -> Outcome {
    let (mut ws, _) = eio::open_ws(cx).await?;
    eio::send_raw_binary(&mut ws, data).await?;
    match verify::next_keeping_heartbeat(&mut ws, cx.ms(3000)).await {
        Some(Frame::Binary(b)) if b == data => {
            Ok(Observed::ok(format!("echoed {} bytes", b.len())))
        }
        Some(f) => Ok(Observed::not(format!(
            "expected the same binary frame, got {}",
            f.describe()
        ))),
        None => Ok(Observed::not("no echo within 3000 ms")),
    }
}

/// Sends an invalid frame; the session must end (shared with eio3, malformed).
pub async fn ws_invalid(cx: Ctx, text: &'static str) -> Outcome {
    let (mut ws, _) = eio::open_ws(&cx).await?;
    eio::send_raw(&mut ws, text).await?;
    // Well before the heartbeat would end it: half a ping interval plus a margin.
    let wait = cx.ms(cx.conf.ping_interval / 2 + 100);
    match ws.wait_closed(wait).await {
        Some(f) => Ok(Observed::ok(f.describe())),
        None => match ws
            .wait_closed(cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500))
            .await
        {
            Some(f) => Ok(Observed::is(
                "heartbeat-close",
                format!("closed only later: {}", f.describe()),
            )),
            None => Ok(Observed::not("the connection stays open")),
        },
    }
}

/// The outcomes of [`ws_invalid`].
pub fn ws_invalid_case(case: Case) -> Case {
    case.ok("the server closes the connection at once").outcome(
        "heartbeat-close",
        Verdict::Failed,
        "the frame is ignored; the connection ends only when the unanswered heartbeat times out",
    )
}
