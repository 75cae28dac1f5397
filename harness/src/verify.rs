//! Shared checks used by the case catalogue. Each returns `Err(Stop::Fail)`
//! with the expectation and what was seen instead.

use std::time::Duration;

use serde_json::Value;
use siospec_codec::engine::handshake::Handshake;

use crate::case::{Ctx, Stop};
use crate::client::eio;
use crate::client::http::{HttpError, Response};
use crate::client::ws::{Frame, Ws};

/// A failure with a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(msg.into()))
}

/// The status must be `want`.
pub fn status(resp: &Response, want: u16, what: &str) -> Result<(), Stop> {
    if resp.status == want {
        Ok(())
    } else {
        fail(format!(
            "{what}: expected HTTP {want}, got {} {:?}",
            resp.status,
            short(&resp.text())
        ))
    }
}

/// The body must be exactly `want`.
pub fn body(resp: &Response, want: &[u8], what: &str) -> Result<(), Stop> {
    if resp.body.as_ref() == want {
        Ok(())
    } else {
        fail(format!(
            "{what}: expected body {:?}, got {:?}",
            String::from_utf8_lossy(want),
            short(&resp.text())
        ))
    }
}

/// Status 200 and body exactly `want`.
pub fn ok_body(resp: &Response, want: &str, what: &str) -> Result<(), Stop> {
    status(resp, 200, what)?;
    body(resp, want.as_bytes(), what)
}

/// A POST's answer: status 200, whatever the body. The official client
/// ignores the body; `eio4.polling.post-body` judges that it is `ok`.
pub fn posted(resp: &Response, what: &str) -> Result<(), Stop> {
    status(resp, 200, what)
}

/// The error body `{"code":code,"message":message}` (the JSON keys checked, extra keys allowed).
pub fn error_json(resp: &Response, code: i64, message: &str) -> Result<(), Stop> {
    let v: Value = serde_json::from_slice(&resp.body).map_err(|_| {
        Stop::Fail(format!(
            "expected a JSON error body {{\"code\":{code},\"message\":{message:?}}}, got {:?}",
            short(&resp.text())
        ))
    })?;
    if v.get("code").and_then(Value::as_i64) != Some(code)
        || v.get("message").and_then(Value::as_str) != Some(message)
    {
        return fail(format!(
            "expected the error body {{\"code\":{code},\"message\":{message:?}}}, got {v}"
        ));
    }
    Ok(())
}

/// Shortens a text for messages.
pub fn short(s: &str) -> String {
    if s.len() <= 300 {
        s.to_owned()
    } else {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &s[..cut])
    }
}

/// The handshake must carry the contract's values and `upgrades`.
pub fn handshake(
    cx: &Ctx,
    h: &Handshake,
    upgrades: &[&str],
    max_payload_optional: bool,
) -> Result<(), Stop> {
    if h.sid.is_empty() {
        return fail("handshake: sid is empty");
    }
    if h.upgrades != upgrades {
        return fail(format!(
            "handshake: expected upgrades {upgrades:?}, got {:?}",
            h.upgrades
        ));
    }
    if h.ping_interval != cx.conf.ping_interval || h.ping_timeout != cx.conf.ping_timeout {
        return fail(format!(
            "handshake: expected pingInterval {} and pingTimeout {}, got {} and {}",
            cx.conf.ping_interval, cx.conf.ping_timeout, h.ping_interval, h.ping_timeout
        ));
    }
    match h.max_payload {
        Some(m) if m == cx.conf.max_payload => Ok(()),
        None if max_payload_optional => Ok(()),
        other => fail(format!(
            "handshake: expected maxPayload {}, got {other:?}",
            cx.conf.max_payload
        )),
    }
}

/// The next frame that is not a NOOP `6`, which the official client ignores
/// wherever it comes (eio4.upgrade.noop-over-websocket records it).
async fn next_not_noop(ws: &mut Ws, wait: Duration) -> Option<Frame> {
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

/// The next frame, skipping Engine.IO pings (answered with `3` when
/// `answer`) and NOOPs.
pub async fn next_skipping_pings(ws: &mut Ws, wait: Duration, answer: bool) -> Option<Frame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_not_noop(ws, left).await {
            Some(Frame::Text(t)) if t == "2" => {
                if answer {
                    let _ = ws.send_text("3").await;
                }
            }
            other => return other,
        }
    }
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

/// Whether `resp` says the session is unknown: HTTP 400, or the error body
/// `{"code":1,"message":"Session ID unknown"}` under another status. Which
/// status an error answer carries is the rule of the `eio4.errors` cases;
/// elsewhere the answer only tells that the session is gone, and the
/// official client ends a session on a 200 body that holds no packet too.
pub fn unknown_sid(resp: &Response) -> bool {
    resp.status == 400 || error_json(resp, 1, "Session ID unknown").is_ok()
}

/// Whether `resp` refuses a request with the error `code`: HTTP 400, or the
/// error body with `code` under another status (see [`unknown_sid`]).
pub fn refused(resp: &Response, code: i64, message: &str) -> bool {
    resp.status == 400 || error_json(resp, code, message).is_ok()
}

/// The polling session `query` must be gone: a GET answers 400 (or the
/// `Session ID unknown` error body, see [`unknown_sid`]).
pub async fn session_gone(cx: &Ctx, query: &str) -> Result<Response, Stop> {
    let resp = cx.get(query).await?;
    if unknown_sid(&resp) {
        Ok(resp)
    } else {
        fail(format!(
            "the session should be closed, but a GET answered {} {:?}",
            resp.status,
            short(&resp.text())
        ))
    }
}

/// The server must still accept a new polling handshake.
pub async fn server_alive(cx: &Ctx) -> Result<(), Stop> {
    eio::open_polling(cx)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            Stop::Fail(m) => Stop::Fail(format!("the server no longer accepts a new session: {m}")),
            h => h,
        })
}

/// A request result that may be an I/O failure: describes either.
pub fn describe(r: &Result<Response, HttpError>) -> String {
    match r {
        Ok(resp) => format!("HTTP {} {:?}", resp.status, short(&resp.text())),
        Err(e) => e.to_string(),
    }
}

/// How a WebSocket request that must fail went.
pub async fn ws_refusal(cx: &Ctx, query: &str) -> Result<(&'static str, String), Stop> {
    use crate::client::ws::Refused;
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
