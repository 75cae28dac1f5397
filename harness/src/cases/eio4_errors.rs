//! Engine.IO v4 — how bad requests are refused: status and the error body
//! `{"code":N,"message":"..."}` of codes 0–5.

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;
use crate::wire::http::raw_status;

const S: Section = Section {
    id: "eio4.errors",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Errors",
    spec: "engine.io-protocol v4, \"Transports\" / \"HTTP long-polling\"; engine.io error codes",
};

/// What a request needs before it is sent.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Nothing,
    /// A live polling session; `{sid}` in the query is replaced.
    Session,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    local: &'static str,
    description: &'static str,
    requirement: &'static str,
    method: &'static str,
    query: &'static str,
    needs: Needs,
    code: i64,
    message: &'static str,
}

const UNKNOWN_TRANSPORT: &str = "transport: the name of the transport (mandatory); an unknown transport is refused with 400 {\"code\":0,\"message\":\"Transport unknown\"}.";
const UNKNOWN_SID: &str = "sid: the session ID (mandatory after the handshake); an unknown sid is refused with 400 {\"code\":1,\"message\":\"Session ID unknown\"}.";
const BAD_METHOD: &str = "The handshake is an HTTP GET; another method without sid is refused with 400 {\"code\":2,\"message\":\"Bad handshake method\"}.";
const BAD_REQUEST: &str = "A request the session cannot take (wrong transport, wrong EIO, invalid headers) is refused with 400 {\"code\":3,\"message\":\"Bad request\"}.";
const FORBIDDEN: &str = "A handshake the server's request check refuses (engine.io's allowRequest; harness/CONTRACT.md: a `forbidden` query parameter) is answered 403 {\"code\":4,\"message\":\"Forbidden\"}, or the check's own message; over WebSocket, a plain 400 before any upgrade.";
const FORBIDDEN_MESSAGE: &str = "Forbidden by the contract";
const UNSUPPORTED: &str = "EIO: the version of the protocol (mandatory); a version the server does not speak is refused with 400 {\"code\":5,\"message\":\"Unsupported protocol version\"}.";

const ROWS: &[Row] = &[
    Row {
        local: "transport-missing",
        description: "GET ?EIO=4 (no transport) → 400 code 0",
        requirement: UNKNOWN_TRANSPORT,
        method: "GET",
        query: "EIO=4",
        needs: Needs::Nothing,
        code: 0,
        message: "Transport unknown",
    },
    Row {
        local: "transport-unknown",
        description: "GET ?EIO=4&transport=abc → 400 code 0",
        requirement: UNKNOWN_TRANSPORT,
        method: "GET",
        query: "EIO=4&transport=abc",
        needs: Needs::Nothing,
        code: 0,
        message: "Transport unknown",
    },
    Row {
        local: "transport-proto",
        description: "transport=__proto__ is not a transport → 400 code 0",
        requirement: UNKNOWN_TRANSPORT,
        method: "GET",
        query: "EIO=4&transport=__proto__",
        needs: Needs::Nothing,
        code: 0,
        message: "Transport unknown",
    },
    Row {
        local: "transport-constructor",
        description: "transport=constructor is not a transport → 400 code 0",
        requirement: UNKNOWN_TRANSPORT,
        method: "GET",
        query: "EIO=4&transport=constructor",
        needs: Needs::Nothing,
        code: 0,
        message: "Transport unknown",
    },
    Row {
        local: "transport-webtransport-over-http",
        description: "transport=webtransport over plain HTTP → 400 code 0",
        requirement: UNKNOWN_TRANSPORT,
        method: "GET",
        query: "EIO=4&transport=webtransport",
        needs: Needs::Nothing,
        code: 0,
        message: "Transport unknown",
    },
    Row {
        local: "sid-unknown-get",
        description: "GET with an unknown sid → 400 code 1",
        requirement: UNKNOWN_SID,
        method: "GET",
        query: "EIO=4&transport=polling&sid=siospec-no-such-sid",
        needs: Needs::Nothing,
        code: 1,
        message: "Session ID unknown",
    },
    Row {
        local: "sid-unknown-post",
        description: "POST with an unknown sid → 400 code 1",
        requirement: UNKNOWN_SID,
        method: "POST",
        query: "EIO=4&transport=polling&sid=siospec-no-such-sid",
        needs: Needs::Nothing,
        code: 1,
        message: "Session ID unknown",
    },
    Row {
        local: "handshake-post",
        description: "POST without sid → 400 code 2",
        requirement: BAD_METHOD,
        method: "POST",
        query: "EIO=4&transport=polling",
        needs: Needs::Nothing,
        code: 2,
        message: "Bad handshake method",
    },
    Row {
        local: "handshake-put",
        description: "PUT without sid → 400 code 2",
        requirement: BAD_METHOD,
        method: "PUT",
        query: "EIO=4&transport=polling",
        needs: Needs::Nothing,
        code: 2,
        message: "Bad handshake method",
    },
    Row {
        local: "handshake-delete",
        description: "DELETE without sid → 400 code 2",
        requirement: BAD_METHOD,
        method: "DELETE",
        query: "EIO=4&transport=polling",
        needs: Needs::Nothing,
        code: 2,
        message: "Bad handshake method",
    },
    Row {
        local: "websocket-without-upgrade",
        description: "Plain GET with transport=websocket (no Upgrade header) → 400 code 3",
        requirement: BAD_REQUEST,
        method: "GET",
        query: "EIO=4&transport=websocket",
        needs: Needs::Nothing,
        code: 3,
        message: "Bad request",
    },
    Row {
        local: "transport-mismatch",
        description: "GET transport=websocket (no Upgrade) on a polling session → 400 code 3",
        requirement: BAD_REQUEST,
        method: "GET",
        query: "EIO=4&transport=websocket&sid={sid}",
        needs: Needs::Session,
        code: 3,
        message: "Bad request",
    },
    Row {
        local: "protocol-mismatch",
        description: "EIO=3 on a session opened with EIO=4 → 400 code 3",
        requirement: BAD_REQUEST,
        method: "GET",
        query: "EIO=3&transport=polling&sid={sid}",
        needs: Needs::Session,
        code: 3,
        message: "Bad request",
    },
    Row {
        local: "eio-unsupported",
        description: "EIO=5 → 400 code 5",
        requirement: UNSUPPORTED,
        method: "GET",
        query: "EIO=5&transport=polling",
        needs: Needs::Nothing,
        code: 5,
        message: "Unsupported protocol version",
    },
    Row {
        local: "eio-missing",
        description: "No EIO on a server without EIO=3 support → 400 code 5",
        requirement: UNSUPPORTED,
        method: "GET",
        query: "transport=polling",
        needs: Needs::Nothing,
        code: 5,
        message: "Unsupported protocol version",
    },
];

async fn run_row(cx: Ctx, row: Row) -> Outcome {
    let query = match row.needs {
        Needs::Nothing => row.query.to_owned(),
        Needs::Session => {
            let s = eio::open_polling(&cx).await?;
            row.query.replace("{sid}", &s.sid)
        }
    };
    let body = if row.method == "POST" {
        b"4hello".to_vec()
    } else {
        Vec::new()
    };
    let r = cx.request(row.method, &query, Vec::new(), body).await?;
    let actual = format!("HTTP {} {:?}", r.status, verify::short(&r.text()));
    if r.status == 400 {
        return Ok(match verify::error_json(&r, row.code, row.message) {
            Ok(()) => Observed::ok(actual),
            Err(_) => Observed::is("other-body", actual),
        });
    }
    if (400..500).contains(&r.status) {
        return Ok(Observed::is("other-4xx", actual));
    }
    Ok(Observed::not(actual))
}

fn row_case(row: Row) -> Case {
    Case::new(S, row.local, row.description)
        .req(row.requirement)
        .ok(format!(
            "400 with body {{\"code\":{},\"message\":\"{}\"}}",
            row.code, row.message
        ))
        .outcome(
            "other-body",
            Verdict::NonStrict,
            "400 with another body than the reference server's",
        )
        .outcome(
            "other-4xx",
            Verdict::NonStrict,
            "refused with another 4xx status",
        )
        .run(move |cx| run_row(cx, row))
}

pub fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = ROWS.iter().copied().map(row_case).collect();
    v.push(
        Case::new(
            S,
            "sid-unknown-websocket",
            "A WebSocket upgrade with an unknown sid is refused with 400",
        )
        .req(UNKNOWN_SID)
        .ok("the opening handshake is refused with HTTP 400")
        .outcome(
            "refused-other",
            Verdict::NonStrict,
            "refused with another 4xx status",
        )
        .outcome(
            "closed-after-upgrade",
            Verdict::NonStrict,
            "101, then closed without a session",
        )
        .run(|cx| async move {
            let (k, a) =
                verify::ws_refusal(&cx, &eio::ws_query(&cx, "&sid=siospec-no-such-sid")).await?;
            Ok(Observed::is(if k == "refused" { "ok" } else { k }, a))
        }),
    );
    v.push(
        Case::new(S, "invalid-origin", "An Origin header with control characters is refused with 400")
            .req(BAD_REQUEST)
            .should()
            .ok("400 with body {\"code\":3,\"message\":\"Bad request\"}")
            .outcome("http-400", Verdict::Ok, "400 from the HTTP layer, which rejects the header before the engine sees it (Node's HTTP parser does)")
            .run(|cx| async move {
                let req = format!(
                    "GET {} HTTP/1.1\r\nHost: {}\r\nOrigin: http://a\x01b.example\r\nConnection: close\r\n\r\n",
                    cx.target("EIO=4&transport=polling"),
                    cx.origin.authority
                );
                let raw = cx.http().raw(req.as_bytes(), cx.ms(2000)).await?;
                let text = String::from_utf8_lossy(&raw).into_owned();
                match raw_status(&raw) {
                    Some(400) if text.contains("\"code\":3") => Ok(Observed::ok(verify::short(&text))),
                    Some(400) => Ok(Observed::is("http-400", verify::short(&text))),
                    _ => Ok(Observed::not(verify::short(&text))),
                }
            }),
    );
    v.push(
        Case::new(S, "content-type", "Error responses are JSON (Content-Type application/json)")
            .req("Errors are answered with a JSON body {\"code\":N,\"message\":\"...\"} (reference server: Content-Type application/json).")
            .should()
            .ok("Content-Type application/json")
            .run(|cx| async move {
                let r = cx.get("EIO=4&transport=abc").await?;
                let ct = r.header("content-type").unwrap_or("").to_owned();
                if ct.to_ascii_lowercase().starts_with("application/json") {
                    Ok(Observed::ok(ct))
                } else {
                    Ok(Observed::not(format!("Content-Type {ct:?}")))
                }
            }),
    );
    v.push(
        Case::new(
            S,
            "eio3-refused",
            "EIO=3 on a server without protocol 3 support → 400 code 5 (or a v3 session)",
        )
        .req(UNSUPPORTED)
        .ok("400 with body {\"code\":5,\"message\":\"Unsupported protocol version\"}")
        .outcome(
            "v3-session",
            Verdict::Informational,
            "the server also speaks protocol 3 and opens a v3 session",
        )
        .outcome(
            "other-body",
            Verdict::NonStrict,
            "400 with another body: refused, but without the error object (the eio4.errors body cases judge its shape)",
        )
        .run(|cx| async move {
            let r = cx.get("EIO=3&transport=polling").await?;
            let actual = format!("HTTP {} {:?}", r.status, verify::short(&r.text()));
            if r.status == 400 && verify::error_json(&r, 5, "Unsupported protocol version").is_ok()
            {
                return Ok(Observed::ok(actual));
            }
            if r.status == 400 {
                return Ok(Observed::is("other-body", actual));
            }
            if r.status == 200 && r.text().contains(":0{") {
                return Ok(Observed::is("v3-session", actual));
            }
            Ok(Observed::not(actual))
        }),
    );
    v.push(
        Case::new(
            S,
            "method-on-session",
            "PUT on an open session is refused and leaves the session open",
        )
        .req("Only GET (receive) and POST (send) are defined on a session.")
        .may()
        .ok("refused (4xx/5xx); the session still answers a poll")
        .run(|cx| async move {
            let s = eio::open_polling(&cx).await?;
            let r = cx
                .request("PUT", &s.query, Vec::new(), b"4x".to_vec())
                .await?;
            if r.status < 400 {
                return Ok(Observed::not(format!("PUT answered {}", r.status)));
            }
            s.send(&cx, &[eio::msg("after-put")]).await?;
            let got = s.poll(&cx).await?;
            Ok(Observed::ok(format!(
                "PUT answered {}; then poll gave {} packet(s)",
                r.status,
                got.len()
            )))
        }),
    );
    v.push(
        Case::new(
            S,
            "forbidden-polling",
            "A handshake the request check refuses → 403 code 4 with the check's message",
        )
        .req(FORBIDDEN)
        .ok(format!(
            "403 with body {{\"code\":4,\"message\":\"{FORBIDDEN_MESSAGE}\"}}"
        ))
        .outcome("other-body", Verdict::NonStrict, "403 with another body")
        .outcome(
            "other-4xx",
            Verdict::NonStrict,
            "refused with another 4xx status",
        )
        .outcome(
            "no-check",
            Verdict::Unsupported,
            "a session opened: the server has no request check for the contract's `forbidden`",
        )
        .run(|cx| async move {
            let r = cx.get("EIO=4&transport=polling&forbidden=1").await?;
            let actual = format!("HTTP {} {:?}", r.status, verify::short(&r.text()));
            Ok(match r.status {
                403 if verify::error_json(&r, 4, FORBIDDEN_MESSAGE).is_ok() => Observed::ok(actual),
                403 => Observed::is("other-body", actual),
                200 if r.text().starts_with('0') => Observed::is("no-check", actual),
                400..=499 => Observed::is("other-4xx", actual),
                _ => Observed::not(actual),
            })
        }),
    );
    v.push(
        Case::new(S, "forbidden-websocket", "A WebSocket handshake the request check refuses → 400 before the upgrade")
            .req(FORBIDDEN)
            .ok("the opening handshake is refused with HTTP 400")
            .outcome("refused-other", Verdict::NonStrict, "refused with another 4xx status")
            .outcome("closed-after-upgrade", Verdict::NonStrict, "101, then closed without a session")
            .outcome("no-check", Verdict::Unsupported, "a polling session opened: the server has no request check for the contract's `forbidden`")
            .run(|cx| async move {
                let r = cx.get("EIO=4&transport=polling&forbidden=1").await?;
                if r.status == 200 {
                    return Ok(Observed::is("no-check", format!("polling: HTTP 200 {:?}", verify::short(&r.text()))));
                }
                let (k, a) = verify::ws_refusal(&cx, &eio::ws_query(&cx, "&forbidden=1")).await?;
                Ok(Observed::is(if k == "refused" { "ok" } else { k }, a))
            }),
    );
    v
}
