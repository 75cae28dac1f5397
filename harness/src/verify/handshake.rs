//! The Engine.IO handshake: the check of its values, and the handshake
//! rules shared by the eio4, eio3 and sio5.engine sections.

use std::collections::BTreeSet;

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{Data, Packet};

use super::fail;
use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Stop, Verdict};
use crate::verify;
use crate::wire::eio;

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

/// Polling handshake: exact keys and the contract's values (shared with sio5.engine).
pub async fn polling_open(cx: Ctx) -> Outcome {
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

/// A polling handshake without EIO, or with an invalid one, is refused.
pub async fn polling_invalid_eio(cx: Ctx) -> Outcome {
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

/// A polling handshake without transport, or with an unknown one, is refused with 400.
pub async fn polling_invalid_transport(cx: Ctx) -> Outcome {
    let eio_v = cx.suite.eio();
    let mut seen = Vec::new();
    for q in [format!("EIO={eio_v}"), format!("EIO={eio_v}&transport=abc")] {
        let r = cx.get(&q).await?;
        verify::status(&r, 400, &q)?;
        seen.push(format!("{q}: 400"));
    }
    Ok(Observed::ok(seen.join(", ")))
}

/// A handshake by POST or PUT is refused with 400.
pub async fn polling_invalid_method(cx: Ctx) -> Outcome {
    let q = eio::polling_query(&cx, "");
    let mut seen = Vec::new();
    for m in ["POST", "PUT"] {
        let r = cx.request(m, &q, Vec::new(), b"".to_vec()).await?;
        verify::status(&r, 400, m)?;
        seen.push(format!("{m}: 400"));
    }
    Ok(Observed::ok(seen.join(", ")))
}

/// A WebSocket opened without sid starts a session; its open packet offers no upgrades.
pub async fn websocket_open(cx: Ctx) -> Outcome {
    let (_ws, h) = eio::open_ws(&cx).await?;
    verify::handshake(&cx, &h, &[], cx.suite.eio() == 3)?;
    Ok(Observed::ok(format!(
        "open packet, sid {:?}, upgrades []",
        h.sid
    )))
}

/// A WebSocket without EIO, or with an invalid one, is refused (see [`refusal_outcomes`]).
pub async fn websocket_invalid_eio(cx: Ctx) -> Outcome {
    let mut keys = Vec::new();
    for q in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let (key, actual) = verify::ws_refusal(&cx, q).await?;
        keys.push((key, format!("{q}: {actual}")));
    }
    worst_refusal(keys)
}

/// A WebSocket whose transport is not `websocket` is refused (see [`refusal_outcomes`]).
pub async fn websocket_invalid_transport(cx: Ctx) -> Outcome {
    let eio_v = cx.suite.eio();
    let mut keys = Vec::new();
    for q in [format!("EIO={eio_v}"), format!("EIO={eio_v}&transport=abc")] {
        let (key, actual) = verify::ws_refusal(&cx, &q).await?;
        keys.push((key, format!("{q}: {actual}")));
    }
    worst_refusal(keys)
}

/// Several refusals: the least clean one decides.
pub fn worst_refusal(keys: Vec<(&'static str, String)>) -> Outcome {
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
pub fn refusal_outcomes(case: Case) -> Case {
    case.outcome("refused", Verdict::Ok, "the opening handshake is refused with HTTP 400")
        .outcome("refused-other", Verdict::NonStrict, "refused with another 4xx status")
        .outcome(
            "closed-after-upgrade",
            Verdict::NonStrict,
            "101 Switching Protocols, then the connection is closed without a session (engine.io checks EIO only after the WebSocket handshake and writes its HTTP 400 into the upgraded stream)",
        )
}
