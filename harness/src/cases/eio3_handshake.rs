//! Engine.IO v3 — handshake.

use crate::case::{Case, Observed, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;
use crate::wire::ws::{Frame, Refused};

const S: Section = Section {
    id: "eio3.handshake",
    suite: Suite::Eio3,
    title: "Engine.IO v3 — Handshake",
    spec: "engine.io-protocol v3, \"Handshake\"",
};

const REQ_OPEN: &str = "To establish a connection, the client sends an HTTP GET request; the server responds with an open packet (in a length-prefixed payload) with sid, upgrades, pingInterval, pingTimeout.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "polling.open", "GET ?EIO=3&transport=polling opens a session: `<len>:0{...}`")
            .official("handshake / HTTP long-polling / successfully opens a session", None)
            .req(REQ_OPEN)
            .ok("200, `<length>:0{...}` with a correct length, sid, upgrades [\"websocket\"], pingInterval 300, pingTimeout 200, maxPayload absent or 1000000")
            .run(|cx| async move {
                let r = cx.get(&eio::polling_query(&cx, "")).await?;
                verify::status(&r, 200, "handshake")?;
                let text = r.text();
                let packets = eio::decode_body(&cx, &r)?;
                let [open] = packets.as_slice() else {
                    return verify::fail(format!("expected one packet `<length>:0{{...}}`, got {text:?}"));
                };
                // The codec writes the length in UTF-16 code units, as the protocol counts it.
                if eio::encode_body(&cx, &packets) != r.body {
                    return verify::fail(format!("the length prefix of {text:?} is not the length of the packet that follows"));
                }
                let h = eio::parse_open(&cx, &eio::encode_text(&cx, open))?;
                verify::handshake(&cx, &h, &["websocket"], true)?;
                Ok(Observed::ok(text))
            }),
        Case::new(S, "polling.invalid-transport", "A v3 handshake without transport, or with transport=abc, is refused with 400")
            .official("handshake / HTTP long-polling / fails with an invalid 'transport' query parameter", None)
            .req("transport: the name of the transport (mandatory).")
            .ok("400 for both requests")
            .run(verify::handshake::polling_invalid_transport),
        Case::new(S, "polling.invalid-method", "A v3 handshake by POST or PUT is refused with 400")
            .official("handshake / HTTP long-polling / fails with an invalid request method", None)
            .req("To establish a connection, the client sends an HTTP GET request.")
            .ok("400 for POST and for PUT")
            .run(verify::handshake::polling_invalid_method),
        Case::new(S, "websocket.open", "A v3 WebSocket without sid opens a session")
            .official("handshake / WebSocket / successfully opens a session", None)
            .req(REQ_OPEN)
            .ok("first frame `0{...}` with upgrades []")
            .run(verify::handshake::websocket_open),
        verify::handshake::refusal_outcomes(
            Case::new(S, "websocket.invalid-eio", "A WebSocket without EIO, or with EIO=abc, on a server that speaks v3")
                .official("handshake / WebSocket / fails with an invalid 'EIO' query parameter", Some("the official case never awaits anything; here the outcome is awaited and judged"))
                .req("EIO: the version of the protocol (mandatory)."),
        )
        .outcome("opened-as-v3", Verdict::NonStrict, "a session is opened: the server reads a missing or invalid EIO as protocol 3 (engine.io with allowEIO3 does)")
        .run(|cx| async move {
            let mut parts = Vec::new();
            let mut key = "refused";
            for q in ["transport=websocket", "EIO=abc&transport=websocket"] {
                match cx.ws(q).await {
                    Ok(mut ws) => match ws.recv(cx.ms(1500)).await {
                        Some(Frame::Text(t)) if t.starts_with('0') => {
                            key = "opened-as-v3";
                            parts.push(format!("{q}: session opened"));
                        }
                        Some(f) => {
                            if key == "refused" {
                                key = "closed-after-upgrade";
                            }
                            parts.push(format!("{q}: 101, then {}", f.describe()));
                        }
                        None => return Ok(Observed::not(format!("{q}: accepted and left open"))),
                    },
                    Err(r @ Refused::Connect(_)) => return Err(r.into()),
                    Err(r @ Refused::Status { status: 400, .. }) => parts.push(format!("{q}: {r}")),
                    Err(r @ Refused::Status { status: 401..=499, .. }) => {
                        if key == "refused" {
                            key = "refused-other";
                        }
                        parts.push(format!("{q}: {r}"));
                    }
                    Err(r) => return Ok(Observed::not(format!("{q}: {r}"))),
                }
            }
            Ok(Observed::is(key, parts.join("; ")))
        }),
        verify::handshake::refusal_outcomes(
            Case::new(S, "websocket.invalid-transport", "A v3 WebSocket without transport, or with transport=abc, gets no session")
                .official("handshake / WebSocket / fails with an invalid 'transport' query parameter", Some("the official case never awaits the close; here it is awaited and judged"))
                .req("transport: the name of the transport (mandatory)."),
        )
        .run(verify::handshake::websocket_invalid_transport),
        Case::new(S, "polling.jsonp", "JSONP polling (`j=0`) wraps the payload in `___eio[0](\"...\");`")
            .req("JSONP: when the `j` query parameter is present the response is JavaScript calling ___eio[j] with the payload (protocol 3).")
            .may()
            .ok("200 with `___eio[0](\"...\");` around the open packet")
            .outcome("absent", Verdict::Unsupported, "JSONP polling is not offered")
            .run(|cx| async move {
                let r = cx.get(&eio::polling_query(&cx, "&j=0")).await?;
                let t = r.text();
                if r.status == 200 && t.starts_with("___eio[0](\"") && t.trim_end().ends_with(");") {
                    Ok(Observed::ok(verify::short(&t)))
                } else {
                    Ok(Observed::is("absent", format!("{} {:?}", r.status, verify::short(&t))))
                }
            }),
    ]
}
