//! CORS for a page at `--origin`: the polling handshake must allow that
//! origin (exactly, or `*` without credentials), and a preflight must be
//! answered, or the browser refuses to read what the server sends. The
//! WebSocket handshake is not subject to CORS.

use std::sync::Arc;

use super::client::{answered, WAIT};
use super::{Ctx, Outcome};
use crate::trace::Trace;

fn fix(origin: &str) -> String {
    format!(
        "allow the origin on the server (socket.io: `cors: {{ origin: \"{origin}\", \
         credentials: true }}`; python-socketio: `cors_allowed_origins=[\"{origin}\"]`), and \
         do not set CORS headers in the proxy as well (nginx: no `add_header \
         Access-Control-Allow-Origin` beside a server that sets it)"
    )
}

pub(super) async fn check(cx: &Ctx, trace: Arc<Trace>) -> Outcome {
    let Some(origin) = cx.options.origin.as_deref() else {
        return Outcome::skipped(
            "pass --origin https://your.app (the origin of the page that connects) to check \
             what a browser there is allowed",
        );
    };
    if !cx.offer.polling {
        return Outcome::skipped("the server accepts WebSocket only, which CORS does not govern");
    }
    let client = cx.client(&trace);
    let session = match client
        .open_polling(vec![("origin", origin.to_owned())])
        .await
    {
        Ok(s) => s,
        Err(e) => {
            return Outcome::problem(
                format!("the handshake with `Origin: {origin}` failed: {e}"),
                fix(origin),
            )
        }
    };
    let allowed = session.opened.header("access-control-allow-origin");
    let credentials = session
        .opened
        .header("access-control-allow-credentials")
        .is_some_and(|v| v.trim() == "true");
    let mut found =
        match allowed {
            None => {
                return Outcome::problem(
                    format!(
                    "the handshake with `Origin: {origin}` has no Access-Control-Allow-Origin: \
                     a page at {origin} cannot read it, and its client never connects"
                ),
                    fix(origin),
                )
            }
            Some(a) if a.contains(',') => {
                return Outcome::problem(
                    format!(
                        "Access-Control-Allow-Origin is {a:?}: several values (set by both the \
                     proxy and the server?), which browsers refuse"
                    ),
                    fix(origin),
                )
            }
            Some("*") if credentials => return Outcome::problem(
                "Access-Control-Allow-Origin `*` with Access-Control-Allow-Credentials `true`: \
                 browsers refuse credentialed requests with `*`"
                    .to_owned(),
                fix(origin),
            ),
            Some("*") => "the handshake allows any origin (`*`) without credentials".to_owned(),
            Some(a) if a.trim() == origin => format!(
                "the handshake allows {origin}{}",
                if credentials {
                    " with credentials"
                } else {
                    " without credentials"
                }
            ),
            Some(a) => {
                return Outcome::problem(
                    format!(
                        "the handshake with `Origin: {origin}` allows {a:?}, not {origin}: a page \
                     there cannot read it, and its client never connects"
                    ),
                    fix(origin),
                )
            }
        };
    // A preflight, as a browser sends before a POST with extra headers
    // (`extraHeaders` in the client's options).
    let preflight = client
        .request(
            "OPTIONS",
            "EIO=4&transport=polling",
            b"",
            vec![
                ("origin", origin.to_owned()),
                ("access-control-request-method", "POST".to_owned()),
                ("access-control-request-headers", "content-type".to_owned()),
            ],
            WAIT,
        )
        .await;
    match preflight {
        Ok(resp)
            if (200..300).contains(&resp.status)
                && resp
                    .header("access-control-allow-origin")
                    .is_some_and(|a| a == "*" || a.trim() == origin) =>
        {
            found.push_str("; the preflight is answered");
        }
        Ok(resp) => {
            return Outcome::warning(
                format!(
                    "{found}, but a preflight (OPTIONS, as before a POST with extra headers) \
                     was answered {} with Access-Control-Allow-Origin {:?}: clients that set \
                     extraHeaders cannot send",
                    answered(&resp),
                    resp.header("access-control-allow-origin")
                        .unwrap_or("(none)")
                ),
                fix(origin),
            )
        }
        Err(e) => {
            return Outcome::warning(
                format!("{found}, but the preflight (OPTIONS) failed: {e}"),
                fix(origin),
            )
        }
    }
    if !credentials {
        found.push_str(
            " (clients with `withCredentials: true`, which cookie-based sticky sessions need, \
             would be refused)",
        );
    }
    Outcome::ok(found)
}
