//! Client — Socket.IO v5 malformed server input: the client closes or
//! ignores, and neither crashes nor hangs.

use siospec_codec::session::Frame;

use crate::case::client::Ctx;
use crate::case::{Case, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify::client as check;

const S: Section = Section {
    id: "client.sio5.malformed",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 malformed server input",
    spec: "socket.io-protocol v5, \"Packet encoding\"",
};

async fn invalid_json(mut cx: Ctx) -> Outcome {
    // An EVENT whose payload is cut short: not JSON.
    check::survives(&mut cx, Frame::Text(r#"42["echo","#.into())).await
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "invalid-json", "An EVENT whose payload is not JSON is survived")
            .req("The payload of an EVENT is a JSON array; a packet that does not decode is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome("ignored", Verdict::Ok, "the client ignores the packet and goes on")
            .run_client(invalid_json),
    ]
}
