//! Inputs and runners of the codec micro-benchmarks.
//!
//! Every case exists once, here: the criterion bench (`benches/codec.rs`)
//! times the runners below, `codec-inputs` writes the same inputs as JSON for
//! the JavaScript bench (`js/bench.mjs`), and `codec-report` reads the case
//! list to lay out `reports/bench/codec.md`. [`check`] proves, before
//! anything is timed, that every implementation accepts every input and does
//! the work it is credited with (same packets, same output bytes).
//!
//! The inputs mirror the official parsers' own benchmarks
//! (engine.io-parser `benchmarks/index.js`, socket.io-parser `bench/index.js`)
//! and socketioxide's bench cases (`parser-common/benches/packet_decode.rs`,
//! `value_decode.rs`, `engineioxide/benches/packet_*.rs`); see the report for
//! the few places they had to be changed (both JavaScript benches feed inputs
//! their own decoders reject).

use std::collections::VecDeque;
use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use serde::de::IgnoredAny;
use serde::Serialize;
use serde_json::value::RawValue;
use siospec_codec::engine::{self, handshake::Handshake, v3, v4};
use siospec_codec::socket::{self, binary, Json, PacketType, Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};
use socketioxide_core::packet::{Packet as SxPacket, PacketData};
use socketioxide_core::parser::{Parse, ParseConfig, ParseError, ParserState};
use socketioxide_core::{Str, Value as SxValue};
use socketioxide_parser_common::CommonParser;

/// The profile every siospec row runs with: the one that accepts what the
/// official parsers accept, as a server facing real clients would.
pub const PROFILE: Profile = Profile::Compat;

/// A session id as engine.io writes them (20 characters).
pub const SID: &str = "lv_VI97HAXpY6yYWAAAC";

/// socket.io-parser `bench/index.js`: `dataObject` (keys already in the
/// order every encoder here writes them).
pub const DATA_OBJECT: &str = r#"{"a":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"b":"xxxyyyzzzalsdfalskdjfalksdjfalksdjfalksdjfjjfjfjfjjfjfjfj","data":{"is":"cool","or":{"is":{"it":true}}}}"#;

/// socketioxide `packet_decode.rs`: `Data { foo: "bar", arr: [1, 2, 3] }`
/// (keys sorted, see [`check`]).
pub const SX_DATA: &str = r#"{"arr":[1,2,3],"foo":"bar"}"#;

/// The largest Socket.IO text that still fits a default Node server's
/// `maxHttpBufferSize` (1e6 bytes) once Engine.IO prefixes its `4`.
pub const ONE_MB: usize = 999_999;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_bytes(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

fn handshake_json() -> String {
    format!(
        r#"{{"sid":"{SID}","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    )
}

// ---------------------------------------------------------------- Engine.IO

/// What an Engine.IO case puts on the wire.
#[derive(Debug, Clone)]
pub enum Wire {
    /// A WebSocket text frame (or one packet of a polling body).
    Text(&'static str),
    /// A WebSocket binary frame.
    Binary(&'static [u8]),
}

impl Wire {
    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        match self {
            Wire::Text(t) => t.len(),
            Wire::Binary(b) => b.len(),
        }
    }

    /// `true` for an empty frame (no case has one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One Engine.IO packet, decoded from and encoded to one frame.
#[derive(Debug, Clone)]
pub struct EioCase {
    /// Benchmark id.
    pub name: &'static str,
    /// What it is, for the report.
    pub about: &'static str,
    /// Protocol 3 (the `b4…` base64 form, the type byte of binary frames).
    pub v3: bool,
    /// The frame.
    pub wire: Wire,
    /// The encoder writes binary frames (else base64 text).
    pub supports_binary: bool,
}

/// Every Engine.IO packet type, plus the probes, base64 and binary frames.
pub fn eio_cases() -> Vec<EioCase> {
    let t = |name, about, text: String| EioCase {
        name,
        about,
        v3: false,
        wire: Wire::Text(leak(text)),
        supports_binary: false,
    };
    vec![
        t(
            "open",
            "`0` + the handshake JSON (packet level; JSON not parsed)",
            format!("0{}", handshake_json()),
        ),
        t("close", "`1`", "1".into()),
        t("ping", "`2`", "2".into()),
        t("ping_probe", "`2probe`", "2probe".into()),
        t("pong", "`3`", "3".into()),
        t("pong_probe", "`3probe`", "3probe".into()),
        t(
            "message",
            "`4test` (engine.io-parser bench: decode packet from string)",
            "4test".into(),
        ),
        t("upgrade", "`5`", "5".into()),
        t("noop", "`6`", "6".into()),
        t(
            "binary_b64",
            "`bAQIDBA==`: bytes 1,2,3,4 as base64 text (polling)",
            "bAQIDBA==".into(),
        ),
        EioCase {
            name: "binary_frame",
            about: "binary frame `[4,1,2,3,4]` (engine.io-parser bench: decode packet from binary)",
            v3: false,
            wire: Wire::Binary(leak_bytes(vec![4, 1, 2, 3, 4])),
            supports_binary: true,
        },
        EioCase {
            name: "v3_binary_b64",
            about: "v3 `b4AQIDBA==`",
            v3: true,
            wire: Wire::Text("b4AQIDBA=="),
            supports_binary: false,
        },
        EioCase {
            name: "v3_binary_frame",
            about: "v3 binary frame: type byte 4 + bytes 1,2,3,4",
            v3: true,
            wire: Wire::Binary(leak_bytes(vec![4, 1, 2, 3, 4])),
            supports_binary: true,
        },
    ]
}

/// siospec: decode one frame.
pub fn eio_decode(
    case: &EioCase,
    wire: &Wire,
) -> Result<engine::Packet<'static>, engine::DecodeError> {
    match (case.v3, wire) {
        (false, Wire::Text(t)) => v4::decode_text(t, PROFILE),
        (false, Wire::Binary(b)) => Ok(v4::decode_binary(b)),
        (true, Wire::Text(t)) => v3::decode_text(t, PROFILE).map(known),
        (true, Wire::Binary(b)) => v3::decode_binary(b, PROFILE).map(known),
    }
}

/// The packet of a benchmark input, all of which have a known type.
fn known(decoded: v3::Decoded<'_>) -> engine::Packet<'_> {
    decoded
        .into_packet()
        .expect("benchmark inputs have a known packet type")
}

/// siospec: encode one packet into `out`.
pub fn eio_encode(case: &EioCase, packet: &engine::Packet<'_>, out: &mut Vec<u8>) {
    if case.v3 {
        v3::encode(packet, case.supports_binary, out);
    } else {
        v4::encode(packet, case.supports_binary, out);
    }
}

/// engineioxide-core (socketioxide's Engine.IO crate): the text frames its
/// `Packet::parse` reads. Binary frames never go through it, and a server
/// never decodes `open`.
pub fn sx_eio_input(case: &EioCase) -> Option<(engineioxide_core::ProtocolVersion, Str)> {
    use engineioxide_core::ProtocolVersion;
    match case.wire {
        Wire::Text(t) if case.name != "open" => Some((
            if case.v3 {
                ProtocolVersion::V3
            } else {
                ProtocolVersion::V4
            },
            Str::from(t),
        )),
        _ => None,
    }
}

/// engineioxide-core: decode.
pub fn sx_eio_decode(
    version: engineioxide_core::ProtocolVersion,
    text: Str,
) -> Result<engineioxide_core::Packet, engineioxide_core::PacketParseError> {
    engineioxide_core::Packet::parse(version, text)
}

/// engineioxide-core: encode (its encoder always returns a new `String`).
pub fn sx_eio_encode(packet: engineioxide_core::Packet) -> String {
    String::from(packet)
}

/// siospec: the handshake JSON, parsed into [`Handshake`].
pub fn handshake_input() -> &'static str {
    leak(handshake_json())
}

/// siospec: decode the handshake.
pub fn handshake_decode(json: &str) -> Handshake {
    Handshake::decode(json, PROFILE).expect("valid handshake")
}

/// A polling payload case.
#[derive(Debug, Clone)]
pub struct PayloadCase {
    /// Benchmark id.
    pub name: String,
    /// Engine.IO protocol 3 framing (`<len>:<packet>`), else 4 (`\x1e`).
    pub v3: bool,
    /// Packets in the body.
    pub packets: usize,
    /// The body.
    pub body: &'static str,
}

fn payload_packets(n: usize, mixed: bool) -> Vec<engine::Packet<'static>> {
    (0..n)
        .map(|i| {
            if mixed && i % 2 == 1 {
                engine::Packet::binary(vec![1u8, 2, 3, 4])
            } else {
                engine::Packet::text(
                    engine::PacketType::Message,
                    if i % 2 == 0 { "test1" } else { "test2" },
                )
            }
        })
        .collect()
}

/// v4 and v3 polling bodies of 1, 16 and 256 messages (`test1`, `test2`, …
/// as in the engine.io-parser bench), and its text + base64 binary body.
pub fn payload_cases() -> Vec<PayloadCase> {
    let mut cases = Vec::new();
    for v3 in [false, true] {
        for n in [1usize, 16, 256] {
            let mut body = Vec::new();
            let packets = payload_packets(n, false);
            if v3 {
                v3::encode_payload(&packets, &mut body);
            } else {
                v4::encode_payload(&packets, &mut body);
            }
            cases.push(PayloadCase {
                name: format!("{}_{n}", if v3 { "v3" } else { "v4" }),
                v3,
                packets: n,
                body: leak(String::from_utf8(body).expect("text payload")),
            });
        }
    }
    let mut body = Vec::new();
    v4::encode_payload(&payload_packets(2, true), &mut body);
    cases.push(PayloadCase {
        name: "v4_mixed_2".into(),
        v3: false,
        packets: 2,
        body: leak(String::from_utf8(body).expect("text payload")),
    });
    cases
}

/// siospec: decode a whole polling body, touching every packet.
pub fn payload_decode(case: &PayloadCase, body: &str) -> usize {
    let limits = Limits::default();
    let mut n = 0;
    if case.v3 {
        for p in v3::decode_payload(body, PROFILE, &limits) {
            black_box(p.expect("valid payload"));
            n += 1;
        }
    } else {
        for p in v4::decode_payload(body, PROFILE, &limits) {
            black_box(p.expect("valid payload"));
            n += 1;
        }
    }
    n
}

/// The decoded packets of a body (the encode benchmarks' input).
pub fn payload_decoded(case: &PayloadCase) -> Vec<engine::Packet<'static>> {
    let limits = Limits::default();
    if case.v3 {
        v3::decode_payload(case.body, PROFILE, &limits)
            .map(|p| p.map(known))
            .collect::<Result<_, _>>()
            .expect("valid payload")
    } else {
        v4::decode_payload(case.body, PROFILE, &limits)
            .collect::<Result<_, _>>()
            .expect("valid payload")
    }
}

/// siospec: encode a body.
pub fn payload_encode(case: &PayloadCase, packets: &[engine::Packet<'_>], out: &mut Vec<u8>) {
    if case.v3 {
        v3::encode_payload(packets, out);
    } else {
        v4::encode_payload(packets, out);
    }
}

// ---------------------------------------------------------------- Socket.IO

/// One Socket.IO packet: its text and the attachments that follow it.
#[derive(Debug, Clone)]
pub struct SioCase {
    /// Benchmark id.
    pub name: &'static str,
    /// What it is and where it comes from, for the report.
    pub about: &'static str,
    /// The packet text.
    pub text: &'static str,
    /// Where its JSON starts in `text`.
    pub json_at: usize,
    /// Binary attachments, in order.
    pub attachments: Vec<&'static [u8]>,
    /// An event (its JSON starts with the event name).
    pub event: bool,
}

impl SioCase {
    /// The JSON part of the text.
    pub fn json(&self) -> &'static str {
        &self.text[self.json_at..]
    }

    /// Bytes on the wire: text plus attachments.
    pub fn wire_len(&self) -> usize {
        self.text.len() + self.attachments.iter().map(|a| a.len()).sum::<usize>()
    }

    /// `true` for binary packets.
    pub fn is_binary(&self) -> bool {
        !self.attachments.is_empty()
    }
}

fn placeholder(n: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{n}}}"#)
}

fn objects(n: usize) -> String {
    vec![DATA_OBJECT; n].join(",")
}

/// The Socket.IO cases.
pub fn sio_cases() -> Vec<SioCase> {
    let case =
        |name, about, prefix: &str, json: String, attachments: Vec<Vec<u8>>, event| SioCase {
            name,
            about,
            text: leak(format!("{prefix}{json}")),
            json_at: prefix.len(),
            attachments: attachments.into_iter().map(leak_bytes).collect(),
            event,
        };
    // The largest count of `dataObject`s that keeps the text within ONE_MB.
    let frame =
        |n: usize| 2 + "/bench,".len() + r#"["bench",[]]"#.len() + n * (DATA_OBJECT.len() + 1) - 1;
    let mut big = 1;
    while frame(big + 1) <= ONE_MB {
        big += 1;
    }
    let pattern = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    vec![
        case(
            "connect_root",
            "CONNECT to `/` with the server's `{sid}` (socketioxide: connect on /)",
            "0",
            format!(r#"{{"sid":"{SID}"}}"#),
            vec![],
            false,
        ),
        case(
            "connect_custom",
            "CONNECT to `/custom_nsp` (socketioxide: connect on /custom_nsp)",
            "0/custom_nsp,",
            format!(r#"{{"sid":"{SID}"}}"#),
            vec![],
            false,
        ),
        case(
            "event",
            "EVENT `[\"event\",{arr,foo}]` (socketioxide: event on /)",
            "2",
            format!(r#"["event",{SX_DATA}]"#),
            vec![],
            true,
        ),
        case(
            "event_ack",
            "EVENT with ack id 12 on `/custom_nsp` (socketioxide: event with ack)",
            "2/custom_nsp,12",
            format!(r#"["event",{SX_DATA}]"#),
            vec![],
            true,
        ),
        case(
            "ack",
            "ACK id 12 `[{arr,foo}]` (socketioxide: ack on /)",
            "312",
            format!("[{SX_DATA}]"),
            vec![],
            false,
        ),
        case(
            "small_json",
            "EVENT on `/bench` with `dataObject` (socket.io-parser bench: small json) — the \"small event\"",
            "2/bench,",
            format!(r#"["bench",{DATA_OBJECT}]"#),
            vec![],
            true,
        ),
        case(
            "big_json",
            "EVENT on `/bench` with 250 × `dataObject` (socket.io-parser bench: big json)",
            "2/bench,",
            format!(r#"["bench",[{}]]"#, objects(250)),
            vec![],
            true,
        ),
        case(
            "event_1mb",
            "EVENT on `/bench` with `dataObject`s up to 999,999 bytes (1 MB with the Engine.IO `4`)",
            "2/bench,",
            format!(r#"["bench",[{}]]"#, objects(big)),
            vec![],
            true,
        ),
        case(
            "binary_1",
            "BINARY_EVENT, 1 attachment of 1,000 bytes (socket.io-parser bench: json with small binary)",
            "51-/bench,",
            format!(r#"["bench",{{"a":[1,2,3],"b":"xxxyyyzzz","data":{}}}]"#, placeholder(0)),
            vec![pattern(1000)],
            true,
        ),
        case(
            "binary_10",
            "BINARY_EVENT, 10 attachments of 11 bytes (socketioxide value_decode: NestedDataWithBinaries)",
            "510-",
            format!(
                r#"["event",{{"foo":"bar","inner":{{"arr":[{}],"data":100,"inner":[{}],"str":"test"}}}}]"#,
                vec!["10"; 50].join(","),
                (0..10).map(placeholder).collect::<Vec<_>>().join(",")
            ),
            vec![vec![20, 120, 24, 2, 14, 3, 13, 31, 13, 45, 67]; 10],
            true,
        ),
        case(
            "binary_big",
            "BINARY_EVENT, 250 × `dataObject` + 3 attachments of 10 kB (socket.io-parser bench: json with big binary)",
            "53-/bench,",
            format!(
                r#"["bench",{{"arr":[{}],"bin1":{},"bin2":{},"bin3":{}}}]"#,
                objects(250),
                placeholder(0),
                placeholder(1),
                placeholder(2)
            ),
            vec![pattern(10_000); 3],
            true,
        ),
    ]
}

/// What a siospec decode of a case yields.
pub enum Decoded<'a> {
    /// A text packet.
    Packet(socket::Packet<'a>),
    /// A binary packet with its attachments.
    Assembled(socket::Assembled),
}

/// siospec: decode a case the way a connection does, through the
/// [`Reassembler`] (which calls `socket::decode` for the text and checks
/// every placeholder once the attachments are in). The JSON is always
/// validated: there is no header-only path.
pub fn sio_decode<'a>(r: &mut Reassembler, case: &SioCase, text: &'a str) -> Decoded<'a> {
    match r.push_text(text).expect("valid packet") {
        Step::Packet(p) => Decoded::Packet(p),
        Step::NeedsAttachments(_) => {
            let mut done = None;
            for a in &case.attachments {
                // push_binary takes the attachment by value, as the frame's buffer would be moved in.
                done = r.push_binary(a.to_vec()).expect("valid attachment");
            }
            Decoded::Assembled(done.expect("all attachments"))
        }
    }
}

/// siospec: decode, then build the data (`serde_json::Value`, or the
/// attachments-resolved [`binary::Value`] for binary packets).
pub fn sio_decode_value(r: &mut Reassembler, case: &SioCase, text: &str) -> usize {
    match sio_decode(r, case, text) {
        Decoded::Packet(p) => {
            let v = p.payload.expect("payload").to_value().expect("value");
            black_box(&v);
            1
        }
        Decoded::Assembled(a) => {
            let v = a.into_value().expect("value");
            black_box(&v);
            2
        }
    }
}

/// A new reassembler with the default limits.
pub fn reassembler() -> Reassembler {
    Reassembler::new(Version::V5, PROFILE, Limits::default())
}

/// socketioxide's inputs: the text as a `Str` over static bytes (cloning it
/// is free, so only the parser is timed) and the attachments as `Bytes`.
pub struct SxInput {
    /// The packet text.
    pub text: Str,
    /// The attachments.
    pub attachments: Vec<Bytes>,
}

impl SxInput {
    /// For a case.
    pub fn new(case: &SioCase) -> Self {
        SxInput {
            text: Str::from(case.text),
            attachments: case
                .attachments
                .iter()
                .map(|a| Bytes::from_static(a))
                .collect(),
        }
    }
}

/// socketioxide-parser-common: `decode_str` (+ `decode_bin` per attachment),
/// which reads the header and keeps the JSON as an unparsed `Str`.
pub fn sx_decode(state: &ParserState, config: &ParseConfig, input: &SxInput) -> SxPacket {
    match CommonParser.decode_str(config, state, input.text.clone()) {
        Ok(p) => p,
        Err(ParseError::NeedsMoreBinaryData) => {
            let mut last = Err(ParseError::NeedsMoreBinaryData);
            for a in &input.attachments {
                last = CommonParser.decode_bin(config, state, a.clone());
            }
            last.expect("complete binary packet")
        }
        Err(e) => panic!("socketioxide rejected a bench input: {e}"),
    }
}

fn sx_payload(packet: &mut SxPacket) -> (&mut SxValue, bool) {
    match &mut packet.inner {
        PacketData::Connect(Some(v)) => (v, false),
        PacketData::Event(v, _) | PacketData::BinaryEvent(v, _) => (v, true),
        PacketData::EventAck(v, _) | PacketData::BinaryAck(v, _) => (v, false),
        other => panic!("no payload in {other:?}"),
    }
}

/// socketioxide-parser-common, header and JSON: `decode_str` then the
/// parser's own `decode_value` (its lazy serde wrapper, which resolves
/// placeholders) into `IgnoredAny` — the whole JSON is read and validated,
/// nothing is built. CONNECT payloads go through `decode_default`, as the
/// server does.
pub fn sx_decode_validate(state: &ParserState, config: &ParseConfig, input: &SxInput) -> bool {
    let mut packet = sx_decode(state, config, input);
    let connect = matches!(packet.inner, PacketData::Connect(_));
    let (value, with_event) = sx_payload(&mut packet);
    if connect {
        CommonParser
            .decode_default::<IgnoredAny>(Some(value))
            .is_ok()
    } else {
        CommonParser
            .decode_value::<IgnoredAny>(value, with_event)
            .is_ok()
    }
}

/// socketioxide-parser-common, header and data: `decode_value` into a
/// `serde_json::Value` (the first argument after the event name, which is
/// every argument these cases have). `None` when the parser cannot build one
/// (binary data).
pub fn sx_decode_value(
    state: &ParserState,
    config: &ParseConfig,
    input: &SxInput,
) -> Option<serde_json::Value> {
    let mut packet = sx_decode(state, config, input);
    let connect = matches!(packet.inner, PacketData::Connect(_));
    let (value, with_event) = sx_payload(&mut packet);
    if connect {
        CommonParser.decode_default(Some(value)).ok()
    } else {
        CommonParser.decode_value(value, with_event).ok()
    }
}

/// The socket.io packet type of a case and its ack id.
fn header(case: &SioCase) -> (PacketType, &'static str, Option<socket::AckId>) {
    let p = socket::decode(case.text, Version::V5, PROFILE, &Limits::default()).expect("valid");
    (p.kind, p.namespace, p.ack_id)
}

/// siospec encode input: the decoded data as a [`binary::Value`] (attachments
/// in place), and the packet type, namespace and ack id.
pub struct SioEncodeInput {
    /// Type (events and acks: the plain type; `binary::encode` picks the binary one).
    pub kind: PacketType,
    /// Namespace.
    pub namespace: &'static str,
    /// Ack id.
    pub ack_id: Option<socket::AckId>,
    /// The data.
    pub data: binary::Value,
    /// The same data as a `serde_json::Value` (text packets only).
    pub json: Option<serde_json::Value>,
}

/// The encode input of a case, built with siospec's own decoder.
pub fn sio_encode_input(case: &SioCase) -> SioEncodeInput {
    let (kind, namespace, ack_id) = header(case);
    let mut r = reassembler();
    let (data, json) = match sio_decode(&mut r, case, case.text) {
        Decoded::Packet(p) => {
            let json = p.payload.expect("payload").to_value().expect("value");
            (binary::Value::from(json.clone()), Some(json))
        }
        Decoded::Assembled(a) => (a.into_value().expect("value"), None),
    };
    let kind = match kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        k => k,
    };
    SioEncodeInput {
        kind,
        namespace,
        ack_id,
        data,
        json,
    }
}

/// siospec: encode the data as a packet (`binary::encode`: the JSON is
/// written from the value, bytes become placeholders and are returned).
pub fn sio_encode<'v>(input: &'v SioEncodeInput, out: &mut Vec<u8>) -> Vec<&'v [u8]> {
    binary::encode(input.kind, input.namespace, input.ack_id, &input.data, out)
}

/// siospec: the packet of a case with its already-serialised JSON, for
/// timing `socket::encode` alone (framing).
pub fn sio_raw_packet(case: &SioCase) -> socket::Packet<'static> {
    let mut p = socket::decode(case.text, Version::V5, PROFILE, &Limits::default()).expect("valid");
    p.payload = Some(Json::parse(case.json()).expect("json"));
    p
}

// socketioxide's encode side takes serde types; these are the binary cases' data.

/// socket.io-parser bench `json with small binary` data.
#[derive(Serialize)]
pub struct SmallBinary {
    a: [u8; 3],
    b: &'static str,
    data: Bytes,
}

/// socketioxide `Data<Vec<Bytes>>`.
#[derive(Serialize)]
pub struct NestedInner {
    arr: Vec<u8>,
    data: usize,
    inner: Vec<Bytes>,
    str: &'static str,
}

/// socketioxide `NestedDataWithBinaries`.
#[derive(Serialize)]
pub struct NestedDataWithBinaries {
    foo: &'static str,
    inner: NestedInner,
}

/// socket.io-parser bench `json with big binary` data.
#[derive(Serialize)]
pub struct BigBinary {
    arr: serde_json::Value,
    bin1: Bytes,
    bin2: Bytes,
    bin3: Bytes,
}

/// socketioxide encode input: how its API gets data.
pub enum SxEncodeInput {
    /// A `serde_json::Value` (text packets).
    Json(serde_json::Value),
    /// A serde struct with `Bytes` fields.
    Small(SmallBinary),
    /// A serde struct with `Vec<Bytes>`.
    Nested(NestedDataWithBinaries),
    /// A serde struct with three `Bytes` and a big array.
    Big(BigBinary),
}

/// socketioxide's encode input for a case: the argument after the event
/// name (events), the array's only element (acks) or the object (connect).
pub fn sx_encode_input(case: &SioCase) -> SxEncodeInput {
    let b = |i: usize| Bytes::from_static(case.attachments[i]);
    match case.name {
        "binary_1" => SxEncodeInput::Small(SmallBinary {
            a: [1, 2, 3],
            b: "xxxyyyzzz",
            data: b(0),
        }),
        "binary_10" => SxEncodeInput::Nested(NestedDataWithBinaries {
            foo: "bar",
            inner: NestedInner {
                arr: vec![10; 50],
                data: 100,
                inner: (0..10).map(b).collect(),
                str: "test",
            },
        }),
        "binary_big" => SxEncodeInput::Big(BigBinary {
            arr: serde_json::from_str(&format!("[{}]", objects(250))).expect("json"),
            bin1: b(0),
            bin2: b(1),
            bin3: b(2),
        }),
        _ => {
            let v: serde_json::Value = serde_json::from_str(case.json()).expect("json");
            match (header(case).0, v) {
                (PacketType::Connect, v) => SxEncodeInput::Json(v),
                (_, serde_json::Value::Array(mut items)) => {
                    SxEncodeInput::Json(items.swap_remove(usize::from(case.event)))
                }
                (_, v) => SxEncodeInput::Json(v),
            }
        }
    }
}

/// The event name of an event case.
pub fn event_name(case: &SioCase) -> &'static str {
    let p = socket::decode(case.text, Version::V5, PROFILE, &Limits::default()).expect("valid");
    match p.event_name().expect("name") {
        Some(std::borrow::Cow::Borrowed(name)) => name,
        Some(std::borrow::Cow::Owned(name)) => leak(name),
        None => "",
    }
}

/// socketioxide-parser-common encode: `encode_value` (serde → JSON with
/// placeholders, attachments split off) then `encode` (the packet text);
/// CONNECT data goes through `encode_default`, as the server does. The
/// header is worked out once, outside the timing.
pub struct SxEncodePlan {
    /// Packet type.
    pub kind: PacketType,
    /// Namespace (static, as a server's namespaces are).
    pub ns: &'static str,
    /// Ack id.
    pub ack: Option<i64>,
    /// Event name, for events.
    pub event: Option<&'static str>,
    /// An ack rather than an event.
    pub is_ack: bool,
}

impl SxEncodePlan {
    /// For a case.
    pub fn new(case: &SioCase) -> Self {
        let (kind, ns, ack) = header(case);
        SxEncodePlan {
            kind,
            ns,
            ack: ack.and_then(socket::AckId::exact).map(|a| a as i64),
            event: case.event.then(|| event_name(case)),
            is_ack: !case.event && kind != PacketType::Connect,
        }
    }

    /// Encode `input`.
    pub fn encode(&self, input: &SxEncodeInput) -> SxValue {
        let value = match input {
            SxEncodeInput::Json(v) if self.kind == PacketType::Connect => {
                CommonParser.encode_default(v).expect("encode")
            }
            SxEncodeInput::Json(v) => CommonParser.encode_value(v, self.event).expect("encode"),
            SxEncodeInput::Small(v) => CommonParser.encode_value(v, self.event).expect("encode"),
            SxEncodeInput::Nested(v) => CommonParser.encode_value(v, self.event).expect("encode"),
            SxEncodeInput::Big(v) => CommonParser.encode_value(v, self.event).expect("encode"),
        };
        let packet = if self.kind == PacketType::Connect {
            SxPacket::connect(self.ns, Some(value))
        } else if self.is_ack {
            SxPacket::ack(self.ns, value, self.ack.unwrap_or(0))
        } else {
            let mut p = SxPacket::event(self.ns, value);
            if let Some(ack) = self.ack {
                p.inner.set_ack_id(ack);
            }
            p
        };
        CommonParser.encode(packet)
    }
}

/// socketioxide-parser-common: frame an already-serialised payload
/// (`encode` of a packet holding a `Value::Str`), text packets only.
pub fn sx_encode_raw_input(case: &SioCase) -> Option<SxPacket> {
    if case.is_binary() {
        return None;
    }
    let (kind, ns, ack) = header(case);
    let value = SxValue::Str(Str::from(case.json()), None);
    let ack = ack.and_then(socket::AckId::exact).map(|a| a as i64);
    Some(match kind {
        PacketType::Connect => SxPacket::connect(ns, Some(value)),
        PacketType::Ack => SxPacket::ack(ns, value, ack.unwrap_or(0)),
        _ => {
            let mut p = SxPacket::event(ns, value);
            if let Some(ack) = ack {
                p.inner.set_ack_id(ack);
            }
            p
        }
    })
}

/// serde_json floor: validate without building anything.
pub fn serde_ignored(json: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(json).is_ok()
}

/// serde_json floor: validate into a borrowed `&RawValue` (what siospec's
/// decoder does for the payload).
pub fn serde_raw(json: &str) -> usize {
    serde_json::from_str::<&RawValue>(json)
        .map(|r| r.get().len())
        .unwrap_or(0)
}

/// serde_json: build a `serde_json::Value`.
pub fn serde_value(json: &str) -> serde_json::Value {
    serde_json::from_str(json).expect("json")
}

// ---------------------------------------------------------------- checks

fn sx_text(v: &SxValue) -> (&str, usize) {
    match v {
        SxValue::Str(s, bins) => (s.as_str(), bins.as_ref().map_or(0, VecDeque::len)),
        SxValue::Bytes(_) => panic!("common parser writes text"),
    }
}

/// Proves every runner accepts every input and does the work it is
/// credited with; panics with the case name otherwise. Run before any
/// timing, so the numbers are never of an error path.
pub fn check() {
    let limits = Limits::default();
    for case in eio_cases() {
        let p = eio_decode(&case, &case.wire).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut out = Vec::new();
        eio_encode(&case, &p, &mut out);
        let wire: &[u8] = match case.wire {
            Wire::Text(t) => t.as_bytes(),
            Wire::Binary(b) => b,
        };
        assert_eq!(out, wire, "{}: encode(decode(x)) == x", case.name);
        if let Some((version, text)) = sx_eio_input(&case) {
            let sx = sx_eio_decode(version, text.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(
                sx_eio_encode(sx).as_bytes(),
                wire,
                "{}: engineioxide round trip",
                case.name
            );
        }
    }
    let h = handshake_input();
    let mut out = Vec::new();
    handshake_decode(h).encode(&mut out);
    assert_eq!(out, h.as_bytes(), "handshake round trip");

    for case in payload_cases() {
        assert_eq!(
            payload_decode(&case, case.body),
            case.packets,
            "{}",
            case.name
        );
        let mut out = Vec::new();
        payload_encode(&case, &payload_decoded(&case), &mut out);
        assert_eq!(
            out,
            case.body.as_bytes(),
            "{}: payload round trip",
            case.name
        );
    }

    for case in sio_cases() {
        let name = case.name;
        assert!(case.wire_len() <= limits.max_payload_bytes, "{name}: fits");
        let mut r = reassembler();
        assert!(sio_decode_value(&mut r, &case, case.text) > 0);
        assert!(!r.is_pending(), "{name}: reassembled");
        // siospec validates: a payload made invalid is refused.
        let broken = format!("{}!", case.text);
        assert!(
            socket::decode(&broken, Version::V5, PROFILE, &limits).is_err(),
            "{name}: siospec validates the JSON"
        );

        let (state, config) = (ParserState::default(), ParseConfig::default());
        let input = SxInput::new(&case);
        let p = sx_decode(&state, &config, &input);
        assert_eq!(
            p.inner.is_binary(),
            case.is_binary(),
            "{name}: socketioxide kind"
        );
        assert!(
            sx_decode_validate(&state, &config, &input),
            "{name}: socketioxide validates"
        );
        // ... and its validating row really reads the whole JSON: corrupt the last value.
        let cut = case.text.trim_end_matches([']', '}']);
        let tail = &case.text[cut.len()..];
        let corrupt = leak(format!("{}:{tail}", &cut[..cut.len() - 1]));
        let bad = SxInput {
            text: Str::from(corrupt),
            attachments: input.attachments.clone(),
        };
        let state2 = ParserState::default();
        let rejected = match CommonParser.decode_str(&config, &state2, bad.text.clone()) {
            Err(ParseError::NeedsMoreBinaryData) | Ok(_) => {
                !sx_decode_validate(&ParserState::default(), &config, &bad)
            }
            Err(_) => true,
        };
        assert!(
            rejected,
            "{name}: socketioxide + validation rejects {corrupt:.60}…"
        );
        if !case.is_binary() {
            assert!(
                sx_decode_value(&state, &config, &input).is_some(),
                "{name}: socketioxide value"
            );
        }

        let json = case.json();
        assert!(
            serde_ignored(json) && serde_raw(json) == json.len(),
            "{name}: serde_json"
        );

        // Encoders: same bytes as the input, from the same data.
        let enc = sio_encode_input(&case);
        let mut out = Vec::new();
        let atts = sio_encode(&enc, &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            case.text,
            "{name}: siospec encode"
        );
        assert_eq!(atts, case.attachments, "{name}: siospec attachments");
        out.clear();
        socket::encode(&sio_raw_packet(&case), &mut out);
        assert_eq!(out, case.text.as_bytes(), "{name}: siospec raw encode");

        let sx_in = sx_encode_input(&case);
        let plan = SxEncodePlan::new(&case);
        let v = plan.encode(&sx_in);
        let (text, bins) = sx_text(&v);
        assert_eq!(text, case.text, "{name}: socketioxide encode");
        assert_eq!(
            bins,
            case.attachments.len(),
            "{name}: socketioxide attachments"
        );
        if let Some(p) = sx_encode_raw_input(&case) {
            assert_eq!(
                sx_text(&CommonParser.encode(p)).0,
                case.text,
                "{name}: socketioxide raw"
            );
        }
        if let Some(j) = &enc.json {
            assert_eq!(
                serde_json::to_string(j).unwrap(),
                json,
                "{name}: serde_json writes the same JSON"
            );
        }
    }
}

/// The inputs as JSON, for `js/bench.mjs` (base64 for bytes).
pub fn inputs_json() -> serde_json::Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let eio: Vec<_> = eio_cases()
        .into_iter()
        .map(|c| {
            let mut o = serde_json::json!({
                "name": c.name, "v3": c.v3, "supportsBinary": c.supports_binary,
            });
            match c.wire {
                Wire::Text(t) => o["text"] = t.into(),
                Wire::Binary(b) => o["binary"] = b64(b).into(),
            }
            o
        })
        .collect();
    let payloads: Vec<_> = payload_cases()
        .into_iter()
        .map(|c| serde_json::json!({"name": c.name, "v3": c.v3, "packets": c.packets, "body": c.body}))
        .collect();
    let sio: Vec<_> = sio_cases()
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "text": c.text,
                "attachments": c.attachments.iter().map(|a| b64(a)).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "eio": eio, "payloads": payloads, "sio": sio })
}

// ---------------------------------------------------------------- rows by name

/// One Socket.IO decode row as a closure over a case, by the row names the
/// criterion bench uses (plus `decode`: `socket::decode` alone, and
/// `encode`: `binary::encode` of the decoded value). For `codec-profile`
/// and `codec-figures`.
pub fn sio_row(case: &SioCase, row: &str) -> Option<Box<dyn FnMut() -> usize>> {
    let case = case.clone();
    let limits = Limits::default();
    Some(match row {
        "siospec" => {
            let mut r = reassembler();
            Box::new(
                move || match sio_decode(&mut r, &case, black_box(case.text)) {
                    Decoded::Packet(p) => black_box(p).attachments + 1,
                    Decoded::Assembled(a) => black_box(a).attachments().len(),
                },
            )
        }
        "siospec+value" => {
            let mut r = reassembler();
            Box::new(move || sio_decode_value(&mut r, &case, black_box(case.text)))
        }
        "decode" => Box::new(move || {
            usize::from(socket::decode(black_box(case.text), Version::V5, PROFILE, &limits).is_ok())
        }),
        "encode" => {
            let enc = sio_encode_input(&case);
            let mut out = Vec::new();
            Box::new(move || {
                out.clear();
                sio_encode(black_box(&enc), &mut out).len() + out.len()
            })
        }
        "socketioxide" | "socketioxide+validate" => {
            let input = SxInput::new(&case);
            let (state, config) = (ParserState::default(), ParseConfig::default());
            if row == "socketioxide" {
                Box::new(move || {
                    black_box(sx_decode(&state, &config, black_box(&input)));
                    1
                })
            } else {
                Box::new(move || {
                    usize::from(sx_decode_validate(&state, &config, black_box(&input)))
                })
            }
        }
        "serde_json::IgnoredAny" => {
            Box::new(move || usize::from(serde_ignored(black_box(case.json()))))
        }
        "serde_json::RawValue" => Box::new(move || serde_raw(black_box(case.json()))),
        // The same serde_json call as the row above, instantiated inside siospec-codec.
        "Json::parse" => Box::new(move || {
            Json::parse(black_box(case.json()))
                .map(|j| j.as_str().len())
                .unwrap_or(0)
        }),
        _ => return None,
    })
}
