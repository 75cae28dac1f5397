//! Socket.IO v5 with socket.io-msgpack-parser — the rules of its wire
//! format, selected with `--parser msgpack`. The other sio5 cases run in
//! msgpack too; these are the ones only this parser has: one binary message
//! per packet with bytes inline, the types it refuses, `undefined`, and
//! text messages.
//!
//! The format is not documented beyond the parser's code
//! (socket.io-msgpack-parser 3.0.2 over notepack.io 2.2.0), so each
//! requirement quotes what that code decides.

use siospec_codec::session::socket::Parser;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::{msgpack, PacketType};

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::sio::Sio;

const S: Section = Section {
    id: "sio5.msgpack",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — the msgpack parser",
    spec: "socket.io-msgpack-parser 3.0.2 (index.js) over notepack.io 2.2.0",
};

const REQ_FRAME: &str = "socket.io-msgpack-parser: `Encoder.encode(packet)` returns `[msgpack.encode(packet)]` — one binary message holding the map {type, nsp, data?, id?}, bytes inline as msgpack binary; no attachments, no placeholders, no text.";
const REQ_DECODE: &str = "socket.io-msgpack-parser `Decoder.checkPacket`: `type` an integer from CONNECT (0) to CONNECT_ERROR (4), `nsp` a string, CONNECT data absent or an object, DISCONNECT no data, EVENT and ACK data an array, `id` absent or an integer; otherwise it throws, and the server closes the connection.";
const REQ_UNDEFINED: &str = "notepack.io: `undefined` is written as fixext 1 of type 0 (`d4 00 00`) and read back as `undefined`: it is a value of the format.";
const REQ_EXT: &str = "notepack.io (Node build): an ArrayBuffer or typed array is written as ext 8/16/32 of type 0 and read back as bytes — how the official client in Node sends them.";

/// A msgpack map from keys and already encoded values, for frames the
/// encoder would not write.
fn map(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![0x80 | entries.len() as u8];
    for (k, v) in entries {
        out.push(0xa0 | k.len() as u8);
        out.extend(k.as_bytes());
        out.extend(*v);
    }
    out
}

/// `["message", "x"]` as msgpack.
const MESSAGE_X: &[u8] = &[
    0x92, 0xa7, b'm', b'e', b's', b's', b'a', b'g', b'e', 0xa1, b'x',
];

/// The rejection cases: joined to `/`, send one frame (or a text message),
/// then the connection must close and a new one still work.
async fn refused(cx: Ctx, frame: Option<Vec<u8>>) -> Outcome {
    let mut s = Sio::connected(&cx).await?;
    match &frame {
        Some(f) => s.send_msgpack(f).await?,
        None => s.send_text_frame(r#"2["message","x"]"#).await?,
    }
    Ok(
        match verify::sio::closed_and_still_serving(&cx, &mut s).await? {
            Ok(d) => Observed::ok(d),
            Err(m) => Observed::not(m),
        },
    )
}

/// Where bytes sit in the data of a msgpack frame: the paths of its
/// msgpack binary (bin or ext type 0) values; an error when it does not
/// decode, or holds a placeholder object.
fn inline_bytes(frame: &[u8]) -> Result<Vec<String>, String> {
    let p = msgpack::decode(frame, siospec_codec::Profile::Compat, &Default::default())
        .map_err(|e| format!("the frame does not decode: {e}"))?;
    let mut out = Vec::new();
    verify::sio::bytes_at(
        p.data.as_ref().unwrap_or(&Value::Null),
        "data".into(),
        &mut out,
    )?;
    Ok(out)
}

pub fn cases() -> Vec<Case> {
    let bytes = |n: usize| Value::Binary((0..n).map(|i| i as u8).collect());
    let mut cases = vec![
        Case::new(S, "binary-inline", "An echo with bytes is one binary message, the bytes inline where they were")
            .req(REQ_FRAME)
            .ok("one binary message; bin (or ext 0) values at data[1].a[0] and data[2]; nothing after it")
            .run(move |cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let data = Value::Array(vec![
                    Value::String("message".into()),
                    Value::Object(vec![("a".into(), Value::Array(vec![bytes(3)]))]),
                    bytes(300),
                ]);
                s.send_data(PacketType::Event, "/", None, &data).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let Some(frame) = &p.frame else {
                    return Ok(Observed::not(format!("not a msgpack frame: {}", p.describe())));
                };
                let at = match inline_bytes(frame) {
                    Ok(at) => at,
                    Err(e) => return Ok(Observed::not(e)),
                };
                let mut want = crate::wire::sio::shown(&data);
                want[0] = "message-back".into();
                if at != ["data[1].a[0]", "data[2]"] || p.content() != want {
                    return Ok(Observed::not(format!(
                        "bytes at {at:?}, content {}",
                        p.content()
                    )));
                }
                // The round trip proves nothing else was written meanwhile.
                s.still_alive(&cx).await?;
                Ok(Observed::ok(format!("{} bytes, bytes at {at:?}", frame.len())))
            }),
        Case::new(S, "ext-arraybuffer", "Bytes sent as ext type 0 (an ArrayBuffer from the Node client) are read as bytes")
            .req(REQ_EXT)
            .ok("`message-back` carries the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // ["message", ext 8 (length 3, type 0): 01 02 03]
                let data: Vec<u8> = [&[0x92, 0xa7][..], b"message", &[0xc7, 3, 0, 1, 2, 3]].concat();
                s.send_msgpack(&map(&[("type", &[2]), ("nsp", &[0xa1, b'/']), ("data", &data)])).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let want = serde_json::json!(["message-back", {"$bin": "01 02 03"}]);
                if p.content() != want {
                    return Ok(Observed::not(format!("expected {want}, got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "undefined", "`undefined` (`d4 00 00`) in event data is accepted")
            .req(REQ_UNDEFINED)
            .ok("`message-back` with `undefined` in its place")
            .outcome("as-null", Verdict::Ok, "`message-back` with nil in its place (a server whose data model is JSON; the official client reads null)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // ["message", undefined, "x"], written by the codec (`d4 00 00`).
                let data = Value::Array(vec![Value::String("message".into()), Value::Undefined, Value::String("x".into())]);
                let mut frame = Vec::new();
                msgpack::encode(PacketType::Event, "/", None, Some(&data), &mut frame);
                s.send_msgpack(&frame).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let second = match &p.value {
                    Some(Value::Array(items)) if items.len() == 3 && items[0] == Value::String("message-back".into()) && items[2] == Value::String("x".into()) => items[1].clone(),
                    _ => return Ok(Observed::not(p.describe())),
                };
                Ok(match second {
                    Value::Undefined => Observed::ok(p.describe()),
                    Value::Null => Observed::is("as-null", p.describe()),
                    other => Observed::not(format!("{other:?} in place of undefined: {}", p.describe())),
                })
            }),
        Case::new(S, "text-frame", "A text message on a msgpack connection closes it")
            .req("socket.io-msgpack-parser reads binary messages only: `Decoder.add` hands a string to notepack's decode, which throws, and the server closes the connection.")
            .ok("the connection is closed; a new one works")
            .run(|cx| refused(cx, None)),
    ];
    let rejected: [(&str, &str, Vec<u8>); 7] = [
        (
            "binary-event-type",
            "BINARY_EVENT (5), which the msgpack parser never uses",
            map(&[("type", &[5]), ("nsp", &[0xa1, b'/']), ("data", MESSAGE_X)]),
        ),
        (
            "binary-ack-type",
            "BINARY_ACK (6), which the msgpack parser never uses",
            map(&[
                ("type", &[6]),
                ("nsp", &[0xa1, b'/']),
                ("data", &[0x90]),
                ("id", &[1]),
            ]),
        ),
        (
            "unknown-type",
            "type 7",
            map(&[("type", &[7]), ("nsp", &[0xa1, b'/']), ("data", MESSAGE_X)]),
        ),
        (
            "event-not-array",
            "EVENT whose data is a string",
            map(&[
                ("type", &[2]),
                ("nsp", &[0xa1, b'/']),
                ("data", &[0xa1, b'x']),
            ]),
        ),
        (
            "connect-not-object",
            "CONNECT to /custom whose data is an array",
            map(&[
                ("type", &[0]),
                ("nsp", &[0xa7, b'/', b'c', b'u', b's', b't', b'o', b'm']),
                ("data", &[0x90]),
            ]),
        ),
        (
            "fractional-id",
            "EVENT with id 1.5",
            map(&[
                ("type", &[2]),
                ("nsp", &[0xa1, b'/']),
                ("data", MESSAGE_X),
                ("id", &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            ]),
        ),
        (
            "not-a-map",
            "a msgpack array instead of the packet map",
            [&[0x93, 2, 0xa1, b'/'][..], MESSAGE_X].concat(),
        ),
    ];
    for (name, what, frame) in rejected {
        cases.push(
            Case::new(S, name, format!("Send {what}"))
                .req(REQ_DECODE)
                .ok("the connection is closed; a new one works")
                .run(move |cx| refused(cx, Some(frame.clone()))),
        );
    }
    cases
        .into_iter()
        .map(|c| c.only_with(Parser::Msgpack))
        .collect()
}
