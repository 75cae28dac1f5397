//! Engine.IO v4 — CORS headers of the reference configuration (`cors: {origin: "*"}`).

use crate::case::{Case, Observed, Section};
use crate::client::eio;
use crate::client::http::Response;
use crate::suite::Suite;
use crate::verify;

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

fn judged(r: &Response) -> Observed {
    match allows(r) {
        Ok(a) => Observed::ok(a),
        Err(a) => Observed::not(a),
    }
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
        .ok("200 with Access-Control-Allow-Origin * (or the origin)")
        .run(|cx| async move {
            let r = cx
                .request("GET", &eio::polling_query(&cx, ""), origin(), Vec::new())
                .await?;
            verify::status(&r, 200, "handshake")?;
            Ok(judged(&r))
        }),
        Case::new(
            S,
            "post",
            "A POST with an Origin header is answered with Access-Control-Allow-Origin",
        )
        .req(REQ)
        .should()
        .ok("200 `ok` with Access-Control-Allow-Origin")
        .run(|cx| async move {
            let s = eio::open_polling(&cx).await?;
            let mut h = origin();
            h.push(("content-type", "text/plain;charset=UTF-8".to_owned()));
            let r = cx.request("POST", &s.query, h, b"4hi".to_vec()).await?;
            verify::ok_body(&r, "ok", "POST")?;
            Ok(judged(&r))
        }),
        Case::new(
            S,
            "preflight",
            "A CORS preflight (OPTIONS) is answered 204/200 with the allow headers",
        )
        .req(REQ)
        .should()
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
        .ok("400 with Access-Control-Allow-Origin")
        .run(|cx| async move {
            let r = cx
                .request("GET", "EIO=4&transport=abc", origin(), Vec::new())
                .await?;
            verify::status(&r, 400, "bad transport")?;
            Ok(judged(&r))
        }),
    ]
}
