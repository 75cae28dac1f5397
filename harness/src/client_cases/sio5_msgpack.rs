//! Client — Socket.IO v5 with socket.io-msgpack-parser: the rules of its
//! wire format, selected with `--parser msgpack` (the other client cases
//! run in msgpack too). The format is the parser's code
//! (socket.io-msgpack-parser 3.0.2 over notepack.io 2.2.0).

use siospec_codec::session::socket::Parser;
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::{msgpack, PacketType};
use siospec_codec::{Limits, Profile};

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.sio5.msgpack",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 with the msgpack parser",
    spec: "socket.io-msgpack-parser 3.0.2 (index.js) over notepack.io 2.2.0",
};

const REQ_FRAME: &str = "socket.io-msgpack-parser: `Encoder.encode(packet)` returns `[msgpack.encode(packet)]` — one binary message holding the map {type, nsp, data?, id?}, bytes inline as msgpack binary; no attachments, no placeholders, no text.";
const REQ_DECODE: &str = "socket.io-msgpack-parser `Decoder.checkPacket`: `type` an integer from CONNECT (0) to CONNECT_ERROR (4); a string is no msgpack (notepack's decode throws). A packet that does not decode is never delivered to the application; the official client closes the connection (`parse error`).";
const REQ_UNDEFINED: &str = "notepack.io: `undefined` is written as fixext 1 of type 0 (`d4 00 00`) and read back as `undefined`: it is a value of the format.";

/// The client's binary frames, decoded as msgpack packets; `Err` names a
/// frame that is not one (an attachment, or garbage).
fn client_packets(cx: &Ctx) -> Result<Vec<msgpack::Packet>, String> {
    cx.seen()
        .iter()
        .filter_map(|o| match &o.seen {
            Seen::Frame(Frame::Binary(b)) => Some(b),
            _ => None,
        })
        .map(|b| {
            msgpack::decode(b, Profile::Compat, &Limits::default()).map_err(|e| {
                format!(
                    "the client sent a binary message that is no msgpack packet ({e}): {}",
                    crate::trace::hex(&b[..b.len().min(32)])
                )
            })
        })
        .collect()
}

/// The client's first packet that is the event `name`.
fn event_packet(cx: &Ctx, name: &str) -> Result<Option<msgpack::Packet>, String> {
    Ok(client_packets(cx)?.into_iter().find(|p| {
        p.kind == PacketType::Event
            && matches!(&p.data, Some(Value::Array(items)) if items.first() == Some(&Value::String(name.into())))
    }))
}

async fn binary_inline(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let args = vec![
        Value::Binary(vec![1, 2, 3]),
        Value::Object(vec![("k".into(), Value::Binary(vec![7; 300]))]),
    ];
    check::emit(&cx, "upload", &args, None)?;
    cx.saw("the client's `upload`", REPLY_WAIT_MS, |o| {
        check::event_args(o, "/", "upload")
    })
    .await?;
    // A round trip after it: any attachment message would have come before.
    check::echo(&cx, vec![Value::String("after".into())]).await?;
    let p = event_packet(&cx, "upload")
        .map_err(Stop::Fail)?
        .ok_or_else(|| Stop::Fail("no msgpack `upload` packet among the client's frames".into()))?;
    let mut at = Vec::new();
    crate::verify::sio::bytes_at(
        p.data.as_ref().unwrap_or(&Value::Null),
        "data".into(),
        &mut at,
    )
    .map_err(Stop::Fail)?;
    if at != ["data[1]", "data[2].k"] {
        return Err(Stop::Fail(format!("the bytes of `upload` sit at {at:?}")));
    }
    Ok(Observed::ok(format!("one binary message, bytes at {at:?}")))
}

async fn undefined(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    // ["echo", undefined, "x"], written by the codec (`d4 00 00`): through
    // the scripted server's machine, whose data model is JSON, it would be null.
    let data = Value::Array(vec![
        Value::String("echo".into()),
        Value::Undefined,
        Value::String("x".into()),
    ]);
    let mut frame = Vec::new();
    msgpack::encode(PacketType::Event, "/", None, Some(&data), &mut frame);
    cx.control(Control::Raw(Frame::Binary(frame)))?;
    cx.saw("`echo-back`", REPLY_WAIT_MS, |o| {
        check::event_args(o, "/", "echo-back")
    })
    .await?;
    let p = event_packet(&cx, "echo-back")
        .map_err(Stop::Fail)?
        .ok_or_else(|| {
            Stop::Fail("no msgpack `echo-back` packet among the client's frames".into())
        })?;
    let Some(Value::Array(items)) = &p.data else {
        return Err(Stop::Fail(format!("`echo-back` without an array: {p:?}")));
    };
    Ok(match items.get(1..) {
        Some([Value::Undefined, Value::String(x)]) if x == "x" => {
            Observed::ok("echo-back carries undefined")
        }
        Some([Value::Null, Value::String(x)]) if x == "x" => {
            Observed::is("as-null", "echo-back carries nil")
        }
        _ => Observed::not(format!("echo-back carries {:?}", &items[1..])),
    })
}

/// Sends `frame`, which the client must not deliver: it goes on or closes,
/// and never answers the `echo` inside it.
async fn refused(mut cx: Ctx, frame: Frame) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    cx.control(Control::Raw(frame))?;
    let outcome = check::after_malformed(&mut cx).await?;
    if cx.seen().iter().any(|o| {
        check::event_args(o, "/", "echo-back")
            .is_some_and(|a| a == [Value::String("refused".into())])
    }) {
        return Ok(Observed::not(
            "the client delivered the packet: its `echo` came back".to_owned(),
        ));
    }
    Ok(outcome)
}

async fn binary_event_type(cx: Ctx) -> Outcome {
    let mut frame = Vec::new();
    let data = Value::Array(vec![
        Value::String("echo".into()),
        Value::String("refused".into()),
    ]);
    msgpack::encode(PacketType::BinaryEvent, "/", None, Some(&data), &mut frame);
    refused(cx, Frame::Binary(frame)).await
}

async fn text_frame(cx: Ctx) -> Outcome {
    refused(cx, check::message(br#"2["echo","refused"]"#)).await
}

pub(super) fn cases() -> Vec<Case> {
    let refusal = |c: Case| {
        c.req(REQ_DECODE)
            .outcome("closed", Verdict::Ok, "the client closes the connection")
            .outcome(
                "ignored",
                Verdict::Ok,
                "the client drops the packet and goes on",
            )
    };
    vec![
        Case::new(
            S,
            "binary-inline",
            "The client's bytes go inline in one binary message",
        )
        .req(REQ_FRAME)
        .ok("one binary message; the bytes at data[1] and data[2].k; no attachment message")
        .run_client(binary_inline),
        Case::new(
            S,
            "undefined",
            "`undefined` (`d4 00 00`) in an event is accepted",
        )
        .req(REQ_UNDEFINED)
        .ok("the `echo-back` carries undefined in its place")
        .outcome(
            "as-null",
            Verdict::Ok,
            "the `echo-back` carries nil in its place (a client whose data model is JSON)",
        )
        .run_client(undefined),
        refusal(Case::new(
            S,
            "binary-event-type",
            "A BINARY_EVENT (5) map is not delivered",
        ))
        .run_client(binary_event_type),
        refusal(Case::new(
            S,
            "text-frame",
            "A text message on a msgpack connection is not delivered",
        ))
        .run_client(text_frame),
    ]
    .into_iter()
    .map(|c| c.only_with(Parser::Msgpack))
    .collect()
}
