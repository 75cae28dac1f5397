//! Checks on HTTP answers: status, body, the error JSON, a session gone.

use serde_json::Value;

use super::{fail, short};
use crate::case::server::Ctx;
use crate::case::Stop;
use crate::wire::eio;
use crate::wire::http::{HttpError, Response};

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
