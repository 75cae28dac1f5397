//! Engine.IO v3 — closing and upgrading a session.

use crate::case::{Case, Section};
use crate::suite::Suite;
use crate::verify;

const S: Section = Section {
    id: "eio3.session",
    suite: Suite::Eio3,
    title: "Engine.IO v3 — Close and upgrade",
    spec: "engine.io-protocol v3, \"Packet types: close\" and \"Upgrade\"",
};

const REQ_UPGRADE: &str = "The client probes the WebSocket with `2probe`/`3probe`; the server ends the pending poll with a NOOP (`1:6`); after `5` only the WebSocket is used.";

pub fn cases() -> Vec<Case> {
    vec![
        verify::close::polling_close_case(
            Case::new(
                S,
                "close.polling",
                "POST `1:1` while a GET is pending: the GET gets `1:6`, then the session is gone",
            )
            .official(
                "close / HTTP long-polling / forcefully closes the session",
                None,
            )
            .req("close (1): the transport can be closed."),
            "1:6",
        )
        .run(|cx| verify::close::polling_close(cx, "1:1", "1:6")),
        verify::close::ws_close_case(
            Case::new(
                S,
                "close.websocket",
                "Sending `1` over a v3 WebSocket closes the session",
            )
            .official("close / WebSocket / forcefully closes the session", None)
            .req("close (1): the transport can be closed."),
        )
        .run(verify::close::ws_close),
        Case::new(
            S,
            "upgrade.probe",
            "Probe, `1:6` on the pending poll, `5`, echo over WebSocket",
        )
        .official(
            "upgrade / successfully upgrades from HTTP long-polling to WebSocket",
            None,
        )
        .req(REQ_UPGRADE)
        .ok("`3probe`; GET `1:6`; `4hello` echoed over WebSocket")
        .run(|cx| verify::upgrade::upgrade(cx, true, true)),
        Case::new(
            S,
            "upgrade.polling-after-upgrade",
            "After the upgrade, polling with the sid gets 400",
        )
        .official(
            "upgrade / ignores HTTP requests with same sid after upgrade",
            None,
        )
        .req(REQ_UPGRADE)
        .ok("`4hello` echoed over WebSocket after `5`; then a GET gets 400")
        .run(|cx| verify::upgrade::polling_after_upgrade(cx, true)),
        Case::new(
            S,
            "upgrade.second-websocket",
            "After the upgrade, a second WebSocket with the sid is closed",
        )
        .official(
            "upgrade / ignores WebSocket connection with same sid after upgrade",
            None,
        )
        .req(REQ_UPGRADE)
        .ok("second WebSocket refused or closed; the first still echoes")
        .run(|cx| verify::upgrade::second_websocket(cx, true)),
    ]
}
