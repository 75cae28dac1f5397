//! Client — Socket.IO v5 malformed server input: the client closes or
//! ignores, and neither crashes nor hangs.
//!
//! Each case sends the well-formed parts of its input through the codec and
//! writes only the broken bytes by hand, saying what is broken.

use std::sync::Arc;

use siospec_codec::engine::{v4, Data, PacketType as EioType};
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::{self, Value};
use siospec_codec::socket::{self, Json, Packet, PacketType, Version};
use siospec_codec::{Limits, Profile};

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::server::script::{Plan, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, WEBSOCKET_ONLY};

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

/// The event the binary cases carry: `echo` with one binary argument.
fn binary_echo() -> Value {
    Value::Array(vec![
        Value::String("echo".into()),
        Value::Binary(vec![1, 2, 3]),
    ])
}

/// A BINARY_EVENT whose attachment count (the digits between the type and
/// the `-`) is replaced by `count`, followed by its one attachment.
fn with_count(count: &str) -> Vec<Frame> {
    let mut header = Vec::new();
    let data = binary_echo();
    let attachments = binary::encode(PacketType::BinaryEvent, "/", None, &data, &mut header);
    let dash = header.iter().position(|&b| b == b'-').unwrap_or(1);
    // Broken: the count.
    let mut broken = header[..1].to_vec();
    broken.extend_from_slice(count.as_bytes());
    broken.extend_from_slice(&header[dash..]);
    let mut frames = vec![check::message(&broken)];
    frames.extend(attachments.into_iter().map(|a| Frame::Binary(a.to_vec())));
    frames
}

async fn attachments_missing(mut cx: Ctx) -> Outcome {
    let mut frames = check::frames(PacketType::Event, "/", None, &binary_echo());
    // Broken: the attachment announced never comes; the next packet (the
    // probe) is text.
    frames.truncate(1);
    check::survives_all(&mut cx, frames).await
}

async fn attachments_huge(mut cx: Ctx) -> Outcome {
    check::survives_all(&mut cx, with_count("5999999999")).await
}

async fn attachments_not_a_number(mut cx: Ctx) -> Outcome {
    check::survives_all(&mut cx, with_count("x")).await
}

async fn binary_without_header(mut cx: Ctx) -> Outcome {
    // Broken: an attachment with no BINARY_EVENT announcing it.
    cx.text_format_only("sends an attachment without a binary packet's header")?;
    check::survives(&mut cx, Frame::Binary(vec![1, 2, 3])).await
}

/// `51-["echo",PLACEHOLDER]` and one attachment, the placeholder written
/// by `placeholder`.
fn with_placeholder(placeholder: impl FnOnce(&mut Vec<u8>)) -> Vec<Frame> {
    let mut header = Vec::new();
    let data = binary_echo();
    let attachments = binary::encode(PacketType::BinaryEvent, "/", None, &data, &mut header);
    // The header up to the placeholder, which is last in the array.
    let start = header
        .iter()
        .rposition(|&b| b == b'{')
        .unwrap_or(header.len());
    header.truncate(start);
    placeholder(&mut header);
    header.push(b']');
    let mut frames = vec![check::message(&header)];
    frames.extend(attachments.into_iter().map(|a| Frame::Binary(a.to_vec())));
    frames
}

async fn placeholder_out_of_range(mut cx: Ctx) -> Outcome {
    // Broken: placeholder 1 of a packet with one attachment (0).
    let frames = with_placeholder(|out| binary::write_placeholder(1, out));
    check::survives_all(&mut cx, frames).await
}

async fn placeholder_negative(mut cx: Ctx) -> Outcome {
    // Broken: a negative placeholder number.
    let frames =
        with_placeholder(|out| out.extend_from_slice(br#"{"_placeholder":true,"num":-1}"#));
    check::survives_all(&mut cx, frames).await
}

async fn placeholder_not_a_number(mut cx: Ctx) -> Outcome {
    // Broken: the placeholder number is a string.
    let frames =
        with_placeholder(|out| out.extend_from_slice(br#"{"_placeholder":true,"num":"0"}"#));
    check::survives_all(&mut cx, frames).await
}

/// Survives the Socket.IO packet text `sio` (in an Engine.IO message).
async fn packet(mut cx: Ctx, sio: &str) -> Outcome {
    check::survives(&mut cx, check::message(sio.as_bytes())).await
}

async fn unknown_type(cx: Ctx) -> Outcome {
    // Broken: Socket.IO packet types are 0 to 6.
    packet(cx, r#"7["echo","x"]"#).await
}

async fn event_not_array(cx: Ctx) -> Outcome {
    // Broken: an EVENT payload that is an object.
    packet(cx, r#"2{"echo":"x"}"#).await
}

async fn event_empty(cx: Ctx) -> Outcome {
    // Broken: an EVENT payload that is an empty array.
    packet(cx, "2[]").await
}

async fn event_name_not_string(cx: Ctx) -> Outcome {
    // Broken: the event name is an object.
    packet(cx, r#"2[{"echo":true},"x"]"#).await
}

async fn event_reserved_name(cx: Ctx) -> Outcome {
    // Broken: `disconnect` is a name the parser reserves.
    packet(cx, r#"2["disconnect","x"]"#).await
}

async fn ack_without_id(mut cx: Ctx) -> Outcome {
    // Broken: an ACK without an id (well-formed otherwise).
    let frames = check::frames(
        PacketType::Ack,
        "/",
        None,
        &Value::Array(vec![Value::String("x".into())]),
    );
    check::survives_all(&mut cx, frames).await
}

async fn ack_not_array(cx: Ctx) -> Outcome {
    // Broken: an ACK (id 1) whose payload is an object.
    packet(cx, r#"31{"x":1}"#).await
}

async fn disconnect_payload(cx: Ctx) -> Outcome {
    // Broken: DISCONNECT carries no payload.
    packet(cx, r#"1["x"]"#).await
}

async fn unjoined_namespace(mut cx: Ctx) -> Outcome {
    // Broken: an EVENT for `/never`, a namespace the client never joined.
    let frames = check::frames(
        PacketType::Event,
        "/never",
        None,
        &Value::Array(vec![
            Value::String("echo".into()),
            Value::String("x".into()),
        ]),
    );
    check::survives_all(&mut cx, frames).await
}

/// The CONNECT reply text `40{"sid":…}` without its sid: `40{}`.
fn without_sid(text: &str) -> Option<String> {
    let eio = v4::decode_text(text, Profile::Compat).ok()?;
    let (EioType::Message, Data::Text(sio)) = (eio.kind, &eio.data) else {
        return None;
    };
    let p = socket::decode(sio, Version::V5, Profile::Compat, &Limits::default()).ok()?;
    if p.kind != PacketType::Connect {
        return None;
    }
    // Broken: the payload has no sid.
    let reply = Packet::new(PacketType::Connect, p.namespace, Json::parse("{}").ok());
    let mut out = Vec::new();
    socket::encode(&reply, &mut out);
    match check::message(&out) {
        Frame::Text(t) => Some(t),
        Frame::Binary(_) => None,
    }
}

async fn connect_without_sid(mut cx: Ctx) -> Outcome {
    let setup = Setup {
        plan: Plan {
            rewrite: Some(Arc::new(without_sid)),
            ..Plan::default()
        },
        ..Setup::default()
    };
    cx.serve(setup).await?;
    cx.start(&WEBSOCKET_ONLY)?;
    let wait = cx.ms(CONNECT_WAIT_MS);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let lines = cx.lines();
        let find = |event: &str| {
            lines
                .iter()
                .find(|l| l["event"] == event && l["namespace"] == "/")
        };
        if let Some(l) = find("connect_error") {
            return Ok(Observed::is(
                "refused",
                format!("the client reported the join failed: {l}"),
            ));
        }
        if let Some(l) = find("connect") {
            return Ok(Observed::is(
                "accepted",
                format!("the client took the reply for a join: {l}"),
            ));
        }
        let closed = cx.seen().iter().find_map(|o| match &o.seen {
            Seen::Closed(reason) => Some(reason.clone()),
            _ => None,
        });
        if let (Some(reason), Some(l)) = (closed, find("disconnect")) {
            return Ok(Observed::is(
                "closed",
                format!("the client closed the connection (server: {reason}; client reported {l})"),
            ));
        }
        if let Some(how) = cx.exited() {
            return Err(Stop::Fail(format!(
                "the client exited ({how}) without reporting the failed join or closing cleanly"
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Stop::Fail(format!(
                "within {} ms of a CONNECT reply without sid the client neither reported \
                 connect_error nor closed the connection",
                wait.as_millis()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A case of the section: `closed` and `ignored` are both OK.
fn survive(local: &str, title: &str, req: &'static str) -> Case {
    Case::new(S, local, title)
        .req(req)
        .outcome("closed", Verdict::Ok, "the client closes the connection")
        .outcome(
            "ignored",
            Verdict::Ok,
            "the client ignores the packet and goes on",
        )
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        survive("invalid-json", "An EVENT whose payload is not JSON is survived",
            "The payload of an EVENT is a JSON array; a packet that does not decode is a parse error: the client closes the connection or ignores the packet, and goes on working or ends cleanly.")
            .run_client(invalid_json),
        survive("attachments-missing", "A BINARY_EVENT whose attachments never come is survived",
            "`<packet type>[<# of binary attachments>-]…` `+ binary attachments extracted` [a text packet where an announced attachment should be is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(attachments_missing),
        survive("attachments-huge", "A BINARY_EVENT announcing 5999999999 attachments is survived",
            "`<packet type>[<# of binary attachments>-]…` [a count past what the receiver takes (socket.io-parser: 10) is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(attachments_huge),
        survive("attachments-not-a-number", "A BINARY_EVENT whose attachment count is not a number is survived",
            "`<packet type>[<# of binary attachments>-]…` [a count that is not a number is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(attachments_not_a_number),
        survive("binary-without-header", "An attachment with no BINARY_EVENT before it is survived",
            "`+ binary attachments extracted` [a binary message that no BINARY_EVENT or BINARY_ACK announced is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(binary_without_header),
        survive("placeholder-out-of-range", "A placeholder past the attachment count is survived",
            "`51-[\"baz\",{\"_placeholder\":true,\"num\":0}]` + `<Buffer <01 02 03 04>>` [a placeholder whose num is not one of the attachments is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(placeholder_out_of_range),
        survive("placeholder-negative", "A negative placeholder number is survived",
            "`51-[\"baz\",{\"_placeholder\":true,\"num\":0}]` + `<Buffer <01 02 03 04>>` [a negative num is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(placeholder_negative),
        survive("placeholder-not-a-number", "A placeholder number that is not a number is survived",
            "`51-[\"baz\",{\"_placeholder\":true,\"num\":0}]` + `<Buffer <01 02 03 04>>` [a num that is not a number is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(placeholder_not_a_number),
        survive("unknown-type", "A Socket.IO packet of an unknown type is survived",
            "Here is the list of available packet types: CONNECT 0 … BINARY_ACK 6 [any other type is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(unknown_type),
        Case::new(S, "event-not-array", "An EVENT whose payload is not an array closes the connection")
            .req("The payload is mandatory and MUST be a non-empty array. If that's not the case, then the receiver MUST close the connection.")
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome("ignored", Verdict::Failed, "the client ignores the packet and goes on")
            .run_client(event_not_array),
        Case::new(S, "event-empty", "An EVENT whose payload is an empty array closes the connection")
            .req("The payload is mandatory and MUST be a non-empty array. If that's not the case, then the receiver MUST close the connection.")
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome("ignored", Verdict::Failed, "the client ignores the packet and goes on")
            .run_client(event_empty),
        survive("event-name-not-string", "An EVENT whose name is not a string is survived",
            "`{ type: EVENT, namespace: \"/\", data: [\"foo\"] }` | `2[\"foo\"]` [the event name, first in the array, is a string (or a number); any other is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(event_name_not_string),
        survive("event-reserved-name", "An EVENT named `disconnect` is survived",
            "`{ type: EVENT, namespace: \"/\", data: [\"foo\"] }` | `2[\"foo\"]` [the names socket.io-parser reserves (connect, connect_error, disconnect, disconnecting, newListener, removeListener) are a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(event_reserved_name),
        survive("ack-without-id", "An ACK without an id is survived",
            "The receiver MUST respond with an `ACK` packet with the same event ID. [an ACK with no ID answers nothing:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(ack_without_id),
        survive("ack-not-array", "An ACK whose payload is not an array is survived",
            "The payload is mandatory and MUST be an array (possibly empty). [any other payload is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(ack_not_array),
        survive("disconnect-payload", "A DISCONNECT with a payload is survived",
            "`{ type: DISCONNECT, namespace: \"/\" }` | `1` [a DISCONNECT carries no payload; one with a payload is a parse error:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(disconnect_payload),
        survive("unjoined-namespace", "An EVENT for a namespace the client never joined is survived",
            "Once the connection to a namespace is established, the client and the server can begin exchanging data [an EVENT for a namespace the client never joined belongs to no connection:] the client closes the connection or ignores the packet, and goes on working or ends cleanly; it neither crashes nor hangs.")
            .run_client(unjoined_namespace),
        Case::new(S, "connect-without-sid", "A CONNECT reply without sid is survived")
            .req("The server MUST respond with either: a `CONNECT` packet if the connection is successful, with the session ID in the payload … [a CONNECT reply without it is no v5 reply:] the client reports the failed join or closes the connection; it neither crashes nor hangs.")
            .outcome("refused", Verdict::Ok, "the client reports connect_error (socket.io-client: \"trying to reach a Socket.IO server in v2.x\")")
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome("accepted", Verdict::NonStrict, "the client takes the reply for a successful join")
            .run_client(connect_without_sid),
    ]
}
