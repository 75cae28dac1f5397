//! Engine.IO v4 — malformed input, generated from valid packets with the
//! codec's encoder and then broken one way each. Every case checks that the
//! server refuses the input (closes the session) and still accepts a new
//! handshake afterwards.

use siospec_codec::engine::{v4, Packet, PacketType};
use siospec_codec::{Limits, Profile};

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::suite::Suite;
use crate::verify;
use crate::wire::eio;

const S: Section = Section {
    id: "eio4.malformed",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Malformed input",
    spec: "engine.io-protocol v4, \"Packet encoding\" (decoding errors close the session)",
};

const REQ: &str = "A packet or payload that cannot be decoded is a protocol error: the server closes the session, and keeps serving other clients.";

/// A valid v4 payload from the codec: `4hello` RS `2` RS `4world`.
fn valid() -> Vec<u8> {
    let packets = [
        Packet::text(PacketType::Message, "hello"),
        Packet::new(PacketType::Ping),
        Packet::text(PacketType::Message, "world"),
    ];
    let mut out = Vec::new();
    v4::encode_payload(&packets, &mut out);
    out
}

/// A valid single-packet WebSocket frame from the codec: `4hello`.
fn valid_frame() -> Vec<u8> {
    let mut out = Vec::new();
    v4::encode(&Packet::text(PacketType::Message, "hello"), true, &mut out);
    out
}

/// Broken variants of `v`: (name, description, bytes); `payload` adds the
/// separator-based ones that only exist in polling payloads.
fn inputs(v: Vec<u8>, payload: bool) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let with_type = |d: u8| {
        let mut b = v.clone();
        b[0] = d;
        b
    };
    let type7 = with_type(b'7');
    let type9 = with_type(b'9');
    let letter = with_type(b'x');
    let mut trailing = v.clone();
    trailing.push(v4::SEPARATOR);
    let mut leading = vec![v4::SEPARATOR];
    leading.extend_from_slice(&v);
    let mut double = v.clone();
    let at = double.iter().position(|&b| b == v4::SEPARATOR).unwrap_or(0);
    double.insert(at, v4::SEPARATOR);
    let mut space = vec![b' '];
    space.extend_from_slice(&v);
    let mut rows = vec![
        ("empty", "an empty packet", Vec::new()),
        ("unknown-type-7", "a packet of type 7", type7),
        ("unknown-type-9", "a packet of type 9", type9),
        ("letter-type", "a packet typed `x`", letter),
        ("leading-space", "a space before the type digit", space),
    ];
    if payload {
        rows.extend([
            (
                "trailing-separator",
                "a trailing record separator (empty last packet)",
                trailing,
            ),
            (
                "leading-separator",
                "a leading record separator (empty first packet)",
                leading,
            ),
            (
                "double-separator",
                "two separators in a row (empty middle packet)",
                double,
            ),
        ]);
    }
    rows
}

async fn polling(cx: Ctx, body: Vec<u8>) -> Outcome {
    // The input must really be malformed for the codec.
    let text = String::from_utf8_lossy(&body).into_owned();
    if v4::decode_payload(&text, Profile::Compat, &Limits::default()).all(|p| p.is_ok()) {
        return Err(Stop::Harness(format!(
            "the codec decodes {text:?}: not a malformed input"
        )));
    }
    let s = eio::open_polling(&cx).await?;
    let r = cx.post(&s.query, body).await;
    let posted = verify::describe(&r);
    verify::server_alive(&cx).await?;
    let o = Observed::ok(format!("POST: {posted}; a new handshake still works"));
    Ok(match verify::session_gone(&cx, &s.query).await {
        Ok(_) => o.close_is("closed", "the session is closed (next GET 400)"),
        Err(Stop::Fail(m)) => o.close_not(m),
        Err(h) => return Err(h),
    })
}

async fn websocket(cx: Ctx, frame: Vec<u8>) -> Outcome {
    let text = String::from_utf8_lossy(&frame).into_owned();
    // Over WebSocket each frame is one packet.
    if v4::decode_text(&text, Profile::Compat).is_ok() {
        return Err(Stop::Harness(format!(
            "the codec decodes {text:?}: not a malformed input"
        )));
    }
    let (mut ws, _) = eio::open_ws(&cx).await?;
    eio::send_raw(&mut ws, &text).await?;
    let closed = ws.wait_closed(cx.ms(cx.conf.ping_interval / 2 + 100)).await;
    verify::server_alive(&cx).await?;
    let o = Observed::ok("a new handshake still works");
    Ok(match closed {
        Some(f) => o.close_is("closed", f.describe()),
        None => o.close_not(format!(
            "the WebSocket stays open {} ms after the frame",
            (cx.conf.ping_interval / 2 + 100)
        )),
    })
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, what, bytes) in inputs(valid(), true) {
        v.push(
            Case::new(
                S,
                &format!("polling.{name}"),
                format!("POST a malformed payload: {what}"),
            )
            .req(REQ)
            .ok(format!("the server survives {what}: a new handshake works"))
            .close("closed", crate::case::Verdict::Ok, "the session is closed")
            .run(move |cx| polling(cx, bytes.clone())),
        );
    }
    for (name, what, bytes) in inputs(valid_frame(), false) {
        v.push(
            Case::new(
                S,
                &format!("websocket.{name}"),
                format!("Send a malformed text frame: {what}"),
            )
            .req(REQ)
            .ok(format!("the server survives {what}: a new handshake works"))
            .close(
                "closed",
                crate::case::Verdict::Ok,
                "the server closes the WebSocket at once",
            )
            .run(move |cx| websocket(cx, bytes.clone())),
        );
    }
    v
}
