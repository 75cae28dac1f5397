//! Engine.IO v4 — handshake over HTTP long-polling and WebSocket.

use std::collections::BTreeSet;

use siospec_codec::engine::{Data, Packet};

use crate::case::{Case, Ctx, Observed, Outcome, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;

const S: Section = Section {
    id: "eio4.handshake",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Handshake",
    spec: "engine.io-protocol v4, \"Handshake\" and \"Transports\"",
};

const REQ_OPEN: &str = "To establish a connection, the client sends an HTTP GET request; the server responds with an open packet with JSON-encoded handshake data: sid, upgrades, pingInterval, pingTimeout, maxPayload.";
const REQ_EIO: &str = "EIO: the version of the protocol (mandatory).";
const REQ_TRANSPORT: &str =
    "transport: the name of the transport (mandatory): \"polling\" or \"websocket\".";
const REQ_WS: &str = "A WebSocket connection opened without sid starts a session: the first frame is the open packet; the list of upgrades is empty.";

/// Polling handshake: exact keys and the contract's values (shared with sio5.engine).
pub(crate) async fn polling_open(cx: Ctx) -> Outcome {
    let resp = cx.get(&eio::polling_query(&cx, "")).await?;
    verify::status(&resp, 200, "handshake")?;
    let text = resp.text();
    let h = eio::parse_open(&cx, &text)?;
    let json = match eio::decode_text(&cx, &text) {
        Some(Packet {
            data: Data::Text(json),
            ..
        }) => json,
        _ => return verify::fail(format!("expected an open packet, got {text:?}")),
    };
    let keys: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&json).map_err(|e| Stop::Fail(e.to_string()))?;
    let names: BTreeSet<&str> = keys.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = [
        "maxPayload",
        "pingInterval",
        "pingTimeout",
        "sid",
        "upgrades",
    ]
    .into();
    if names != want {
        return verify::fail(format!(
            "handshake keys must be exactly sid, upgrades, pingInterval, pingTimeout, maxPayload; got {names:?}"
        ));
    }
    if !keys["sid"].is_string() {
        return verify::fail("sid must be a string");
    }
    verify::handshake(&cx, &h, &["websocket"], false)?;
    Ok(Observed::ok(text))
}

pub(crate) async fn polling_invalid_eio(cx: Ctx) -> Outcome {
    let mut seen = Vec::new();
    for q in ["transport=polling", "EIO=abc&transport=polling"] {
        let r = cx.get(q).await?;
        seen.push(format!("{q}: {}", r.status));
        if r.status == 200 && cx.suite.eio() == 4 {
            if let Ok(Some(h)) = eio::decode_body(&cx, &r).map(|p| p.first().cloned()) {
                return Err(Stop::Fail(format!(
                    "{q}: the server opened a session ({h:?})"
                )));
            }
        }
        verify::status(&r, 400, q)?;
    }
    Ok(Observed::ok(seen.join(", ")))
}

pub(crate) async fn polling_invalid_transport(cx: Ctx) -> Outcome {
    let eio_v = cx.suite.eio();
    let mut seen = Vec::new();
    for q in [format!("EIO={eio_v}"), format!("EIO={eio_v}&transport=abc")] {
        let r = cx.get(&q).await?;
        verify::status(&r, 400, &q)?;
        seen.push(format!("{q}: 400"));
    }
    Ok(Observed::ok(seen.join(", ")))
}

pub(crate) async fn polling_invalid_method(cx: Ctx) -> Outcome {
    let q = eio::polling_query(&cx, "");
    let mut seen = Vec::new();
    for m in ["POST", "PUT"] {
        let r = cx.request(m, &q, Vec::new(), b"".to_vec()).await?;
        verify::status(&r, 400, m)?;
        seen.push(format!("{m}: 400"));
    }
    Ok(Observed::ok(seen.join(", ")))
}

pub(crate) async fn websocket_open(cx: Ctx) -> Outcome {
    let (_ws, h) = eio::open_ws(&cx).await?;
    verify::handshake(&cx, &h, &[], cx.suite.eio() == 3)?;
    Ok(Observed::ok(format!(
        "open packet, sid {:?}, upgrades []",
        h.sid
    )))
}

pub(crate) async fn websocket_invalid_eio(cx: Ctx) -> Outcome {
    let mut keys = Vec::new();
    for q in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let (key, actual) = verify::ws_refusal(&cx, q).await?;
        keys.push((key, format!("{q}: {actual}")));
    }
    worst_refusal(keys)
}

pub(crate) async fn websocket_invalid_transport(cx: Ctx) -> Outcome {
    let eio_v = cx.suite.eio();
    let mut keys = Vec::new();
    for q in [format!("EIO={eio_v}"), format!("EIO={eio_v}&transport=abc")] {
        let (key, actual) = verify::ws_refusal(&cx, &q).await?;
        keys.push((key, format!("{q}: {actual}")));
    }
    worst_refusal(keys)
}

/// Several refusals: the least clean one decides.
pub(crate) fn worst_refusal(keys: Vec<(&'static str, String)>) -> Outcome {
    let rank = |k: &str| match k {
        "refused" => 0,
        "refused-other" => 1,
        _ => 2,
    };
    let worst = keys
        .iter()
        .map(|(k, _)| *k)
        .max_by_key(|k| rank(k))
        .unwrap_or("refused");
    let actual = keys
        .into_iter()
        .map(|(_, a)| a)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Observed::is(worst, actual))
}

/// The outcomes of a WebSocket request that must be refused.
pub(crate) fn refusal_outcomes(case: Case) -> Case {
    case.outcome("refused", Verdict::Ok, "the opening handshake is refused with HTTP 400")
        .outcome("refused-other", Verdict::NonStrict, "refused with another 4xx status")
        .outcome(
            "closed-after-upgrade",
            Verdict::NonStrict,
            "101 Switching Protocols, then the connection is closed without a session (engine.io checks EIO only after the WebSocket handshake and writes its HTTP 400 into the upgraded stream)",
        )
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "polling.open", "GET ?EIO=4&transport=polling opens a session with the contract's handshake")
            .official("handshake / HTTP long-polling / successfully opens a session", None)
            .req(REQ_OPEN)
            .ok("200, body `0{...}` with exactly sid (string), upgrades [\"websocket\"], and the pingInterval, pingTimeout and maxPayload the probe's handshake advertised")
            .run(polling_open),
        Case::new(S, "reference-config", "The advertised timings and maxPayload are the contract's reference configuration")
            .req("The testee contract's reference configuration (CONTRACT.md): pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000. Any other configuration is legitimate: every case judges against the advertised values, and this case only records the difference.")
            .may()
            .ok("pingInterval 300, pingTimeout 200, maxPayload 1000000")
            .run(|cx| async move {
                let h = eio::open_polling(&cx).await?.handshake;
                let r = crate::suite::Expected::REFERENCE;
                let actual = format!(
                    "pingInterval {}, pingTimeout {}, maxPayload {}",
                    h.ping_interval,
                    h.ping_timeout,
                    h.max_payload.map_or("absent".to_owned(), |m| m.to_string())
                );
                Ok(
                    if (h.ping_interval, h.ping_timeout, h.max_payload) == (r.ping_interval, r.ping_timeout, Some(r.max_payload)) {
                        Observed::ok(actual)
                    } else {
                        Observed::not(actual)
                    },
                )
            }),
        Case::new(S, "polling.invalid-eio", "A polling handshake without EIO, or with EIO=abc, is refused with 400")
            .official("handshake / HTTP long-polling / fails with an invalid 'EIO' query parameter", None)
            .req(REQ_EIO)
            .ok("400 for both requests")
            .run(polling_invalid_eio),
        Case::new(S, "polling.invalid-transport", "A polling handshake without transport, or with transport=abc, is refused with 400")
            .official("handshake / HTTP long-polling / fails with an invalid 'transport' query parameter", None)
            .req(REQ_TRANSPORT)
            .ok("400 for both requests")
            .run(polling_invalid_transport),
        Case::new(S, "polling.invalid-method", "A handshake by POST or PUT (no sid) is refused with 400")
            .official("handshake / HTTP long-polling / fails with an invalid request method", None)
            .req("To establish a connection, the client sends an HTTP GET request.")
            .ok("400 for POST and for PUT")
            .run(polling_invalid_method),
        Case::new(S, "websocket.open", "A WebSocket without sid opens a session; upgrades is empty")
            .official("handshake / WebSocket / successfully opens a session", None)
            .req(REQ_WS)
            .ok("first frame `0{...}` with sid, upgrades [], pingInterval 300, pingTimeout 200, maxPayload 1000000")
            .run(websocket_open),
        refusal_outcomes(
            Case::new(S, "websocket.invalid-eio", "A WebSocket without EIO, or with EIO=abc, gets no session")
                .official(
                    "handshake / WebSocket / fails with an invalid 'EIO' query parameter",
                    Some("the official case never awaits the close; here the refusal is awaited and judged"),
                )
                .req(REQ_EIO),
        )
        .run(websocket_invalid_eio),
        refusal_outcomes(
            Case::new(S, "websocket.invalid-transport", "A WebSocket without transport, or with transport=abc, gets no session")
                .official(
                    "handshake / WebSocket / fails with an invalid 'transport' query parameter",
                    Some("the official case never awaits the close; here the refusal is awaited and judged"),
                )
                .req(REQ_TRANSPORT),
        )
        .run(websocket_invalid_transport),
        Case::new(S, "polling.unique-sid", "Three handshakes get three different session ids")
            .req("sid: the session ID. It must be unique per session.")
            .ok("three distinct sids")
            .run(|cx| async move {
                let mut sids = BTreeSet::new();
                for _ in 0..3 {
                    sids.insert(eio::open_polling(&cx).await?.sid);
                }
                if sids.len() != 3 {
                    return verify::fail(format!("session ids repeat: {sids:?}"));
                }
                Ok(Observed::ok(format!("{sids:?}")))
            }),
        Case::new(S, "polling.extra-query", "Unknown query parameters (t, custom) do not prevent the handshake")
            .req("Any other query parameter (such as the cache-busting `t`) is not part of the protocol and is left to the application.")
            .should()
            .ok("200 and an open packet")
            .run(|cx| async move {
                let s = eio::open_polling_with(&cx, "&t=Nq3x8bZ&foo=bar").await?;
                Ok(Observed::ok(format!("sid {:?}", s.sid)))
            }),
        Case::new(S, "polling.content-type", "Polling responses are text/plain; charset=UTF-8 and not cached")
            .req("HTTP long-polling payloads are text; the reference server answers GETs with Content-Type text/plain; charset=UTF-8 and Cache-Control no-store.")
            .should()
            .ok("Content-Type text/plain; charset=UTF-8 (case-insensitive) and Cache-Control no-store")
            .run(|cx| async move {
                let r = cx.get(&eio::polling_query(&cx, "")).await?;
                verify::status(&r, 200, "handshake")?;
                let ct = r.header("content-type").unwrap_or("").to_ascii_lowercase().replace(' ', "");
                let cc = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
                if ct != "text/plain;charset=utf-8" || !cc.contains("no-store") {
                    return verify::fail(format!("Content-Type {ct:?}, Cache-Control {cc:?}"));
                }
                Ok(Observed::ok(format!("Content-Type {ct}, Cache-Control {cc}")))
            }),
        Case::new(S, "websocket.unique-sid", "WebSocket-only sessions get ids distinct from each other and from polling sessions")
            .req("sid: the session ID. It must be unique per session.")
            .ok("distinct sids")
            .run(|cx| async move {
                let (_a, ha) = eio::open_ws(&cx).await?;
                let (_b, hb) = eio::open_ws(&cx).await?;
                let p = eio::open_polling(&cx).await?;
                let set: BTreeSet<_> = [ha.sid.clone(), hb.sid.clone(), p.sid.clone()].into();
                if set.len() != 3 {
                    return verify::fail(format!("session ids repeat: {set:?}"));
                }
                Ok(Observed::ok(format!("{set:?}")))
            }),
    ]
}
