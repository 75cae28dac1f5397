//! Client — Engine.IO v4 malformed server input: the client closes or
//! ignores, and neither crashes nor hangs.

use siospec_codec::session::Frame;

use crate::case::client::Ctx;
use crate::case::{Case, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify::client as check;

const S: Section = Section {
    id: "client.eio4.malformed",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 malformed server input",
    spec: "engine.io-protocol v4, \"Packet encoding\"",
};

async fn unknown_type(mut cx: Ctx) -> Outcome {
    // Engine.IO packet types are 0 to 6: `9` is none of them.
    check::survives(&mut cx, Frame::Text("9".into())).await
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "unknown-type", "A packet of an unknown type is survived")
            .req("Packet types are 0 (open) to 6 (noop); a packet of any other type is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome("ignored", Verdict::Ok, "the client ignores the packet and goes on")
            .run_client(unknown_type),
    ]
}
