//! Socket.IO v5 suite, part A: the Engine.IO layer under `/socket.io/`.

use crate::case::{Case, Section};
use crate::suite::Suite;
use crate::verify;

const S: Section = Section {
    id: "sio5.engine",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Engine.IO layer",
    spec: "socket.io-protocol v5 test suite, \"Engine.IO protocol\" (engine.io-protocol v4 at /socket.io/)",
};

const REQ_OPEN: &str = "To establish a connection, the client sends an HTTP GET request; the server responds with an open packet with sid, upgrades, pingInterval, pingTimeout, maxPayload.";
const REQ_HB: &str = "The server sends a PING every pingInterval; without a PONG within pingTimeout the connection is closed.";
const REQ_UPGRADE: &str =
    "The client probes the WebSocket (`2probe`/`3probe`) and completes the upgrade with `5`.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "handshake.polling.open", "Polling handshake at /socket.io/")
            .official("Engine.IO protocol / handshake / HTTP long-polling / should successfully open a session", None)
            .req(REQ_OPEN)
            .ok("200 `0{...}` with exactly the five keys and the contract's values")
            .run(verify::handshake::polling_open),
        Case::new(S, "handshake.polling.invalid-eio", "Missing or invalid EIO at /socket.io/ → 400")
            .official("Engine.IO protocol / handshake / HTTP long-polling / should fail with an invalid 'EIO' query parameter", None)
            .req("EIO: the version of the protocol (mandatory).")
            .ok("400 for both")
            .run(verify::handshake::polling_invalid_eio),
        Case::new(S, "handshake.polling.invalid-transport", "Missing or invalid transport at /socket.io/ → 400")
            .official("Engine.IO protocol / handshake / HTTP long-polling / should fail with an invalid 'transport' query parameter", None)
            .req("transport: the name of the transport (mandatory).")
            .ok("400 for both")
            .run(verify::handshake::polling_invalid_transport),
        Case::new(S, "handshake.polling.invalid-method", "POST/PUT handshake at /socket.io/ → 400")
            .official("Engine.IO protocol / handshake / HTTP long-polling / should fail with an invalid request method", None)
            .req("To establish a connection, the client sends an HTTP GET request.")
            .ok("400 for both")
            .run(verify::handshake::polling_invalid_method),
        Case::new(S, "handshake.websocket.open", "WebSocket handshake at /socket.io/")
            .official("Engine.IO protocol / handshake / WebSocket / should successfully open a session", None)
            .req(REQ_OPEN)
            .ok("open packet with upgrades []")
            .run(verify::handshake::websocket_open),
        verify::handshake::refusal_outcomes(
            Case::new(S, "handshake.websocket.invalid-eio", "WebSocket without EIO or with EIO=abc at /socket.io/ gets no session")
                .official("Engine.IO protocol / handshake / WebSocket / should fail with an invalid 'EIO' query parameter", Some("awaited here"))
                .req("EIO: the version of the protocol (mandatory)."),
        )
        .run(verify::handshake::websocket_invalid_eio),
        verify::handshake::refusal_outcomes(
            Case::new(S, "handshake.websocket.invalid-transport", "WebSocket without transport or with transport=abc at /socket.io/ gets no session")
                .official("Engine.IO protocol / handshake / WebSocket / should fail with an invalid 'transport' query parameter", Some("awaited here"))
                .req("transport: the name of the transport (mandatory)."),
        )
        .run(verify::handshake::websocket_invalid_transport),
        Case::new(S, "heartbeat.polling.ping-pong", "Three polling heartbeats at /socket.io/")
            .waits(|c| 3 * c.ping_interval)
            .unjoined()
            .official("Engine.IO protocol / heartbeat / HTTP long-polling / should send ping/pong packets", None)
            .req(REQ_HB)
            .ok("GET `2`, POST `3` three times")
            .run(verify::heartbeat::polling_ping_pong),
        verify::heartbeat::timing(Case::new(S, "heartbeat.polling.first-ping", "When the first ping comes over polling at /socket.io/"))
            .waits(|c| c.heartbeat())
            .run(|cx| verify::heartbeat::first_ping(cx, true)),
        verify::heartbeat::timing(Case::new(S, "heartbeat.websocket.first-ping", "When the first ping comes over WebSocket at /socket.io/"))
            .waits(|c| c.heartbeat())
            .run(|cx| verify::heartbeat::first_ping(cx, false)),
        Case::new(S, "heartbeat.polling.timeout", "Polling session without pong closed at /socket.io/")
            .waits(|c| c.heartbeat())
            .official("Engine.IO protocol / heartbeat / HTTP long-polling / should close the session upon ping timeout", None)
            .req(REQ_HB)
            .ok("GET at pingInterval + pingTimeout + 150 ms gets 400")
            .run(verify::heartbeat::polling_timeout),
        Case::new(S, "heartbeat.websocket.ping-pong", "Three WebSocket heartbeats at /socket.io/")
            .waits(|c| 3 * c.ping_interval)
            .unjoined()
            .official("Engine.IO protocol / heartbeat / WebSocket / should send ping/pong packets", None)
            .req(REQ_HB)
            .ok("`2` received, `3` sent, three times")
            .run(verify::heartbeat::ws_ping_pong),
        Case::new(S, "heartbeat.websocket.timeout", "WebSocket without pong closed at /socket.io/")
            .waits(|c| c.heartbeat())
            .official("Engine.IO protocol / heartbeat / WebSocket / should close the session upon ping timeout", None)
            .req(REQ_HB)
            .ok("closed within pingInterval + pingTimeout + 500 ms")
            .run(verify::heartbeat::ws_timeout),
        verify::close::polling_close_case(
            Case::new(S, "close.polling", "POST `1` with a pending GET at /socket.io/")
                .official("Engine.IO protocol / close / HTTP long-polling / should forcefully close the session", None)
                .req("close (1): the transport can be closed."),
            "6",
        )
        .run(|cx| verify::close::polling_close(cx, "1", "6")),
        verify::close::ws_close_case(
            Case::new(S, "close.websocket", "`1` over WebSocket at /socket.io/")
                .official("Engine.IO protocol / close / WebSocket / should forcefully close the session", None)
                .req("close (1): the transport can be closed."),
        )
        .run(verify::close::ws_close),
        Case::new(S, "upgrade.probe", "Upgrade polling → WebSocket at /socket.io/")
            .waits(|c| c.ping_interval)
            .official("Engine.IO protocol / upgrade / should successfully upgrade from HTTP long-polling to WebSocket", None)
            .req(REQ_UPGRADE)
            .ok("`3probe`, then after `5` the WebSocket carries the heartbeat")
            .run(|cx| verify::upgrade::upgrade(cx, false, false)),
        Case::new(S, "upgrade.polling-after-upgrade", "Polling with the sid after the upgrade → 400")
            .waits(|c| c.ping_interval)
            .official("Engine.IO protocol / upgrade / should ignore HTTP requests with same sid after upgrade", None)
            .req(REQ_UPGRADE)
            .ok("the server's PING over WebSocket after `5`; then a GET gets 400")
            .run(|cx| verify::upgrade::polling_after_upgrade(cx, false)),
        Case::new(S, "upgrade.second-websocket", "A second WebSocket with the sid after the upgrade is closed")
            .official("Engine.IO protocol / upgrade / should ignore WebSocket connection with same sid after upgrade", None)
            .req(REQ_UPGRADE)
            .ok("refused or closed")
            .run(|cx| verify::upgrade::second_websocket(cx, false)),
    ]
}
