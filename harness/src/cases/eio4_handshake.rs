//! Engine.IO v4 — handshake over HTTP long-polling and WebSocket.

use std::collections::BTreeSet;

use crate::case::{Case, Observed, Section};
use crate::suite::Suite;
use crate::verify;
use crate::verify::handshake::{
    polling_invalid_eio, polling_invalid_method, polling_invalid_transport, polling_open,
    refusal_outcomes, websocket_invalid_eio, websocket_invalid_transport, websocket_open,
};
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
                let r = crate::suite::Expected::reference();
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
