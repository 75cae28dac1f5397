//! Client — Engine.IO v4 malformed server input: the client closes or
//! ignores, and neither crashes nor hangs.

use serde_json::json;
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

/// The maxPayload the open packet advertises in `oversized-payload` (the
/// machine keeps its own): a payload over the default 1,000,000 bytes takes
/// the official client long enough to parse that its session's heartbeat
/// would be what the case sees.
const ADVERTISED_MAX: usize = 10_000;

async fn unknown_type(mut cx: Ctx) -> Outcome {
    // Engine.IO packet types are 0 to 6: `9` is none of them.
    check::survives(&mut cx, Frame::Text("9".into())).await
}

async fn invalid_base64(mut cx: Ctx) -> Outcome {
    // `@` and `*` are no base64 characters, and the length is no multiple
    // of four.
    check::survives_polling(&mut cx, check::relaxed(), "b@@*not base64*").await
}

async fn non_numeric_type(mut cx: Ctx) -> Outcome {
    check::survives_polling(&mut cx, check::relaxed(), "x4hello").await
}

async fn close_websocket(mut cx: Ctx) -> Outcome {
    // A close packet with no Socket.IO DISCONNECT before it, and the
    // WebSocket left open.
    check::survives(&mut cx, Frame::Text("1".into())).await
}

async fn empty_frame(mut cx: Ctx) -> Outcome {
    check::survives(&mut cx, Frame::Text(String::new())).await
}

async fn second_open(mut cx: Ctx) -> Outcome {
    let open = r#"0{"sid":"siospec-second-open","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
    check::survives(&mut cx, Frame::Text(open.into())).await
}

async fn oversized_payload(mut cx: Ctx) -> Outcome {
    // One packet longer than maxPayload: an ACK for an id the client never
    // used, so that a client that reads it has nothing to report.
    let ack = format!(r#"43999["{}"]"#, "x".repeat(2 * ADVERTISED_MAX));
    let mut setup = check::relaxed();
    setup.plan.rewrite_polling = Some(check::advertising(json!({ "maxPayload": ADVERTISED_MAX })));
    check::survives_polling(&mut cx, setup, &ack).await
}

/// A case of the malformed-input rule.
fn survived(local: &str, description: &str, requirement: &'static str) -> Case {
    Case::new(S, local, description)
        .req(requirement)
        .outcome("closed", Verdict::Ok, "the client closes the connection")
        .outcome(
            "ignored",
            Verdict::Ok,
            "the client ignores the packet and goes on",
        )
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        survived("unknown-type", "A packet of an unknown type is survived",
            "Packet types are 0 (open) to 6 (noop); a packet of any other type is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(unknown_type),
        survived("invalid-base64", "A `b` packet that is no base64, in a polling payload, is survived",
            "Binary payloads MUST be base64-encoded and prefixed with a `b` character. A `b` packet whose data is not base64 is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(invalid_base64),
        survived("non-numeric-type", "A packet whose type is no digit, in a polling payload, is survived",
            "<packet type>[<data>]<separator><packet type>[<data>]: the packet type is a digit, 0 (open) to 6 (noop). A packet that starts with anything else is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(non_numeric_type),
        survived("close-websocket", "A bare close packet on an open WebSocket is survived",
            "close | 1 | Used to indicate that a transport can be closed. A close packet on a WebSocket the server keeps open, without a Socket.IO DISCONNECT before it: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(close_websocket),
        survived("empty-frame", "An empty WebSocket frame is survived",
            "Each Engine.IO packet is sent in its own WebSocket frame. Format: <packet type>[<data>]. An empty frame has no packet type, a parse error: the client closes the connection or ignores it, and goes on working or ends cleanly.")
            .run_client(empty_frame),
        survived("second-open", "A second open packet mid-session is survived",
            "open | 0 | Used during the handshake. An open packet after the handshake, in the middle of a session: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(second_open),
        survived("oversized-payload", "A polling payload longer than maxPayload is survived",
            "maxPayload | number | The maximum number of bytes per chunk. A polling response longer than that: the client closes the connection or handles the payload, and goes on working or ends cleanly.")
            .run_client(oversized_payload),
    ]
}
