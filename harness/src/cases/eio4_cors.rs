//! Engine.IO v4 — CORS headers of the reference configuration (`cors: {origin: "*"}`).

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;
use crate::wire::http::Response;

const S: Section = Section {
    id: "eio4.cors",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — CORS (testee contract)",
    spec: "harness/CONTRACT.md reference configuration (cors origin \"*\"); Fetch standard, CORS protocol",
};

const REQ: &str = "The testee contract's configuration allows every origin (cors: {origin: \"*\"}), so browsers can reach the server: responses carry Access-Control-Allow-Origin.";
const ORIGIN: &str = "http://siospec.example";

fn allows(r: &Response) -> Result<String, String> {
    match r.header("access-control-allow-origin") {
        Some(v) if v == "*" || v == ORIGIN => Ok(format!(
            "{} with Access-Control-Allow-Origin: {v}",
            r.status
        )),
        other => Err(format!(
            "{} with Access-Control-Allow-Origin {other:?}",
            r.status
        )),
    }
}

/// Whether the server does CORS at all: a handshake with an Origin header
/// is answered with Access-Control-Allow-Origin.
async fn cors_enabled(cx: &Ctx) -> Result<bool, Stop> {
    let r = cx
        .request("GET", &eio::polling_query(cx, ""), origin(), Vec::new())
        .await?;
    Ok(r.header("access-control-allow-origin").is_some())
}

/// A request with a foreign Origin refused (4xx) by a server that opens a
/// session without one: CORS is off for that origin, which is the server's
/// configuration (python-socketio allows only its own origin by default).
async fn refused_origin(cx: &Ctx, r: &Response) -> Result<Option<Observed>, Stop> {
    if !(400..500).contains(&r.status) {
        return Ok(None);
    }
    let plain = cx.get(&eio::polling_query(cx, "")).await?;
    Ok((plain.status == 200).then(|| {
        Observed::is(
            "absent",
            format!(
                "refused with Origin: {} {:?}; accepted without one",
                r.status,
                verify::short(&r.text())
            ),
        )
    }))
}

/// The verdict on `r`'s Access-Control-Allow-Origin; a server without CORS
/// at all (an option engine.io leaves off) does not offer the feature.
async fn judged(cx: &Ctx, r: &Response) -> Outcome {
    Ok(match allows(r) {
        Ok(a) => Observed::ok(a),
        Err(a)
            if r.header("access-control-allow-origin").is_none() && !cors_enabled(cx).await? =>
        {
            Observed::is(
                "absent",
                format!("{a}; no handshake answer carries CORS headers either"),
            )
        }
        Err(a) => Observed::not(a),
    })
}

fn origin() -> Vec<(&'static str, String)> {
    vec![("origin", ORIGIN.to_owned())]
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            S,
            "handshake",
            "A handshake with an Origin header is answered with Access-Control-Allow-Origin",
        )
        .req(REQ)
        .should()
        .outcome(
            "absent",
            Verdict::Unsupported,
            "CORS is not enabled: no CORS headers on any answer (engine.io's default), or requests from another origin refused",
        )
        .ok("200 with Access-Control-Allow-Origin * (or the origin)")
        .run(|cx| async move {
            let r = cx
                .request("GET", &eio::polling_query(&cx, ""), origin(), Vec::new())
                .await?;
            if let Some(o) = refused_origin(&cx, &r).await? {
                return Ok(o);
            }
            verify::status(&r, 200, "handshake")?;
            judged(&cx, &r).await
        }),
        Case::new(
            S,
            "post",
            "A POST with an Origin header is answered with Access-Control-Allow-Origin",
        )
        .req(REQ)
        .should()
        .outcome(
            "absent",
            Verdict::Unsupported,
            "CORS is not enabled: no CORS headers on any answer (engine.io's default), or requests from another origin refused",
        )
        .ok("200 `ok` with Access-Control-Allow-Origin")
        .run(|cx| async move {
            let s = eio::open_polling(&cx).await?;
            let mut h = origin();
            h.push(("content-type", "text/plain;charset=UTF-8".to_owned()));
            let r = cx.request("POST", &s.query, h, b"4hi".to_vec()).await?;
            if let Some(o) = refused_origin(&cx, &r).await? {
                return Ok(o);
            }
            verify::posted(&r, "POST")?;
            judged(&cx, &r).await
        }),
        Case::new(
            S,
            "preflight",
            "A CORS preflight (OPTIONS) is answered 204/200 with the allow headers",
        )
        .req(REQ)
        .should()
        .outcome(
            "absent",
            Verdict::Unsupported,
            "CORS is not enabled: no CORS headers on any answer (engine.io's default), or requests from another origin refused",
        )
        .ok("2xx with Access-Control-Allow-Origin and Access-Control-Allow-Methods including POST")
        .run(|cx| async move {
            let mut h = origin();
            h.push(("access-control-request-method", "POST".to_owned()));
            h.push(("access-control-request-headers", "content-type".to_owned()));
            let r = cx
                .request("OPTIONS", &eio::polling_query(&cx, ""), h, Vec::new())
                .await?;
            let methods = r
                .header("access-control-allow-methods")
                .unwrap_or("")
                .to_ascii_uppercase();
            match allows(&r) {
                Ok(a) if (200..300).contains(&r.status) && methods.contains("POST") => {
                    Ok(Observed::ok(format!("{a}, methods {methods}")))
                }
                Err(_) if r.header("access-control-allow-origin").is_none() => judged(&cx, &r).await,
                Ok(a) | Err(a) => Ok(Observed::not(format!("{a}, methods {methods:?}"))),
            }
        }),
        Case::new(
            S,
            "error",
            "Error responses also carry Access-Control-Allow-Origin",
        )
        .req(REQ)
        .should()
        .outcome(
            "absent",
            Verdict::Unsupported,
            "CORS is not enabled: no CORS headers on any answer (engine.io's default), or requests from another origin refused",
        )
        .ok("400 with Access-Control-Allow-Origin")
        .run(|cx| async move {
            let r = cx
                .request("GET", "EIO=4&transport=abc", origin(), Vec::new())
                .await?;
            // The status of error answers is judged by eio4.errors; here an
            // error answer is recognised by its status or its error body.
            if !verify::refused(&r, 0, "Transport unknown") {
                verify::status(&r, 400, "bad transport")?;
            }
            judged(&cx, &r).await
        }),
    ]
}
