//! Runs fixture inputs (the schema of fixtures/README.md) through the codec
//! and renders the outcome in the same schema, so the vectors recorded from
//! the official JavaScript parsers can be compared with it.

#![allow(dead_code)]

pub mod js_value;
pub mod network;
pub mod reference;

use serde_json::{json, Map, Value};
use siospec_codec::engine::{self, v3, v4, webtransport, Data, DecodeError};
use siospec_codec::socket::{
    self, binary, msgpack, AckId, MsgpackError, Reassembler, Step, Version,
};
use siospec_codec::{Limits, Profile};

pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// `outcome` without the codec's own error message, as the vectors have it.
pub fn without_detail(outcome: &Value) -> Value {
    let mut outcome = outcome.clone();
    if let Some(error) = outcome.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("detail");
    }
    outcome
}

/// Every vector of one fixture file.
pub fn load(layer: &str) -> Vec<Value> {
    let path = fixtures_dir().join(format!("{layer}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

/// The layers, in the order reports print them.
pub const LAYERS: [&str; 9] = [
    "eio4.packet",
    "eio4.payload",
    "eio3.packet",
    "eio3.payload",
    "eio3.binary_payload",
    "eio3.jsonp",
    "webtransport",
    "sio5.packet",
    "sio5.msgpack",
];

/// What the codec makes of one input: `outcome` and `encoded` in the fixture schema.
pub struct Ours {
    pub outcome: Value,
    pub encoded: Option<Value>,
    /// A decoded packet has no known type, so the codec cannot encode it.
    pub unencodable: bool,
}

impl Ours {
    fn new(outcome: Value, encoded: Option<Value>) -> Ours {
        Ours {
            outcome,
            encoded,
            unencodable: false,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// A text input as the Node server would see it (`Buffer#toString`: invalid
/// UTF-8 becomes U+FFFD, a BOM is kept).
fn text_of(input: &Value) -> Option<String> {
    if let Some(t) = input.get("text").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    input
        .get("text_hex")
        .and_then(Value::as_str)
        .map(|h| String::from_utf8_lossy(&unhex(h)).into_owned())
}

fn frame_json(bytes: &[u8], kind: engine::FrameKind) -> Value {
    match kind {
        engine::FrameKind::Text => json!({ "text": String::from_utf8_lossy(bytes) }),
        engine::FrameKind::Binary => json!({ "binary": hex(bytes) }),
    }
}

/// A decoded item in the schema: `"type": null` for v3 data of no known
/// type, as the official parser's `undefined` is recorded.
fn engine_item(decoded: &v3::Decoded<'_>) -> Value {
    let p = match decoded {
        v3::Decoded::Packet(p) => p,
        v3::Decoded::Untyped(data) => {
            return json!({ "type": null, "data": { "binary": hex(data) } });
        }
    };
    let mut item = Map::new();
    item.insert("type".into(), json!(p.kind.name()));
    match &p.data {
        Data::None => {}
        Data::Text(t) => {
            item.insert("data".into(), json!({ "text": t }));
        }
        Data::Binary(b) => {
            item.insert("data".into(), json!({ "binary": hex(b) }));
        }
    }
    Value::Object(item)
}

/// An error: the official class, where it happened, and the codec's own message.
struct Failure {
    class: String,
    at: usize,
    detail: String,
}

fn outcome(decoded: Vec<Value>, error: Option<Failure>) -> Value {
    let error = match error {
        Some(f) => json!({ "class": f.class, "at": f.at, "detail": f.detail }),
        None => Value::Null,
    };
    json!({ "decoded": decoded, "error": error })
}

/// A v4 decoder's items in the v3 decoders' shape, so one renderer serves both.
fn v4_items<'a>(
    items: impl Iterator<Item = Result<engine::Packet<'a>, DecodeError>>,
) -> impl Iterator<Item = Result<v3::Decoded<'a>, DecodeError>> {
    items.map(|item| item.map(v3::Decoded::Packet))
}

/// The packets of `decoded`, or `None` when one has no known type (the
/// official encoder writes those as `bundefined…`; the codec's encoders take
/// only packets of the seven types).
fn known_packets<'a>(decoded: &[v3::Decoded<'a>]) -> Option<Vec<engine::Packet<'a>>> {
    decoded
        .iter()
        .cloned()
        .map(v3::Decoded::into_packet)
        .collect()
}

fn engine_outcome<'a>(
    packets: impl Iterator<Item = Result<v3::Decoded<'a>, DecodeError>>,
) -> (Vec<v3::Decoded<'a>>, Value) {
    let mut ok = Vec::new();
    let mut error = None;
    for p in packets {
        match p {
            Ok(p) => ok.push(p),
            Err(e) => {
                error = Some(Failure {
                    class: "parser error".into(),
                    at: ok.len(),
                    detail: e.to_string(),
                });
                break;
            }
        }
    }
    let decoded = ok.iter().map(engine_item).collect();
    (ok, outcome(decoded, error))
}

/// A JavaScript limit `m` compared as `n > m` with integer `n`: the same
/// comparison as `n > max(floor(m), 0)` for every `n >= 0`, which is what the
/// codec's `usize` limits express.
fn integer_limit(option: Option<&Value>) -> Option<usize> {
    option
        .and_then(Value::as_f64)
        .map(|m| m.max(0.0).floor() as usize)
}

/// The codec's answer for a fixture `input` of `layer`.
pub fn run(layer: &str, input: &Value, options: &Value, profile: Profile) -> Ours {
    let limits = Limits::default();
    match layer {
        "eio4.packet" | "eio3.packet" => {
            let v3 = layer == "eio3.packet";
            let decoded = match (input.get("binary").and_then(Value::as_str), text_of(input)) {
                (Some(b), _) => {
                    let bytes = unhex(b);
                    let p = if v3 {
                        v3::decode_binary(&bytes, profile)
                    } else {
                        Ok(v3::Decoded::Packet(v4::decode_binary(&bytes)))
                    };
                    p.map(v3::Decoded::into_owned)
                }
                (None, Some(t)) => {
                    let p = if v3 {
                        v3::decode_text(&t, profile)
                    } else {
                        v4::decode_text(&t, profile).map(v3::Decoded::Packet)
                    };
                    p.map(v3::Decoded::into_owned)
                }
                (None, None) => panic!("bad input {input}"),
            };
            let (ok, outcome) = engine_outcome(std::iter::once(decoded));
            let known = known_packets(&ok);
            let unencodable = known.is_none();
            let known = known.unwrap_or_default();
            let encoded = known.first().map(|p| {
                let mut binary = Vec::new();
                let mut text = Vec::new();
                let (bk, tk) = if v3 {
                    (v3::encode(p, true, &mut binary), v3::encode(p, false, &mut text))
                } else {
                    (v4::encode(p, true, &mut binary), v4::encode(p, false, &mut text))
                };
                json!({ "binary_transport": frame_json(&binary, bk), "text_transport": frame_json(&text, tk) })
            });
            Ours {
                outcome,
                encoded,
                unencodable,
            }
        }
        "eio4.payload" => {
            let body = text_of(input).expect("text body");
            let (ok, outcome) =
                engine_outcome(v4_items(v4::decode_payload(&body, profile, &limits)));
            let ok = known_packets(&ok).expect("v4 packets all have a type");
            let encoded = (outcome["error"].is_null() && !ok.is_empty()).then(|| {
                let mut out = Vec::new();
                v4::encode_payload(&ok, &mut out);
                json!({ "text": String::from_utf8_lossy(&out) })
            });
            Ours::new(outcome, encoded)
        }
        "eio3.payload" | "eio3.binary_payload" => {
            let (ok, outcome) = match input.get("binary").and_then(Value::as_str) {
                Some(b) => {
                    let bytes = unhex(b);
                    let (ok, outcome) =
                        engine_outcome(v3::decode_binary_payload(&bytes, profile, &limits));
                    (
                        ok.into_iter()
                            .map(v3::Decoded::into_owned)
                            .collect::<Vec<_>>(),
                        outcome,
                    )
                }
                None => {
                    let body = text_of(input).expect("text body");
                    let (ok, outcome) = engine_outcome(v3::decode_payload(&body, profile, &limits));
                    (
                        ok.into_iter().map(v3::Decoded::into_owned).collect(),
                        outcome,
                    )
                }
            };
            let known = known_packets(&ok);
            let unencodable = known.is_none();
            let encoded = known
                .filter(|_| outcome["error"].is_null())
                .map(|known| v3_encoded(&known));
            Ours {
                outcome,
                encoded,
                unencodable,
            }
        }
        "eio3.jsonp" => run_jsonp(input, profile, &limits),
        "webtransport" => {
            let max = integer_limit(options.get("maxPayload")).unwrap_or(1_000_000);
            let mut decoder = webtransport::FrameDecoder::new(max, profile);
            let mut ok = Vec::new();
            let mut error = None;
            'chunks: for (i, chunk) in input["chunks"]
                .as_array()
                .expect("chunks")
                .iter()
                .enumerate()
            {
                decoder.push(&unhex(chunk.as_str().expect("hex chunk")));
                while let Some(p) = decoder.next_packet() {
                    match p {
                        Ok(p) => ok.push(p),
                        Err(e) => {
                            error = Some(Failure {
                                class: "parser error".into(),
                                at: i,
                                detail: e.to_string(),
                            });
                            break 'chunks;
                        }
                    }
                }
            }
            let decoded = ok
                .iter()
                .cloned()
                .map(|p| engine_item(&v3::Decoded::Packet(p)))
                .collect();
            let outcome = outcome(decoded, error);
            let encoded = (outcome["error"].is_null() && !ok.is_empty()).then(|| {
                let mut out = Vec::new();
                for p in &ok {
                    webtransport::encode(p, &mut out);
                }
                json!({ "binary": hex(&out) })
            });
            Ours::new(outcome, encoded)
        }
        "sio5.packet" => run_sio(input, options, profile),
        "sio5.msgpack" => run_msgpack(input, profile),
        other => panic!("unknown layer {other}"),
    }
}

fn v3_encoded(packets: &[engine::Packet<'_>]) -> Value {
    let mut text = Vec::new();
    v3::encode_payload(packets, &mut text);
    let mut binary = Vec::new();
    v3::encode_binary_payload(packets, &mut binary);
    json!({ "text": String::from_utf8_lossy(&text), "binary": hex(&binary) })
}

fn run_jsonp(input: &Value, profile: Profile, limits: &Limits) -> Ours {
    if let Some(payload) = input.get("payload") {
        let j = input["j"].as_str().unwrap_or("");
        let text = text_of(payload);
        let outcome = match payload.get("binary").and_then(Value::as_str) {
            Some(b) => engine_outcome(v3::decode_binary_payload(&unhex(b), profile, limits)).1,
            None => {
                let body = text.clone().unwrap_or_default();
                engine_outcome(v3::decode_payload(&body, profile, limits)).1
            }
        };
        let encoded = text.map(|t| {
            let mut out = Vec::new();
            v3::jsonp::encode_response(j, &t, &mut out);
            json!({ "response": { "text": String::from_utf8_lossy(&out) } })
        });
        return Ours::new(outcome, encoded);
    }
    let body = text_of(input).expect("jsonp body");
    match v3::jsonp::decode_request_body(&body) {
        None => Ours::new(
            json!({ "decoded": [], "error": null, "payload": null }),
            None,
        ),
        Some(payload) => {
            let (_, mut outcome) = engine_outcome(v3::decode_payload(&payload, profile, limits));
            outcome["payload"] = json!({ "text": payload });
            Ours::new(outcome, None)
        }
    }
}

fn ack_json(id: AckId) -> Value {
    match id {
        AckId::Exact(n) => json!(n),
        AckId::Lossy(v) => {
            let mut out = Vec::new();
            js_value::write_js_number(v, &mut out);
            json!({ "js": String::from_utf8_lossy(&out) })
        }
    }
}

fn sio_item(p: &socket::Packet<'_>, attachments: Option<&[Vec<u8>]>) -> Value {
    let mut item = Map::new();
    let kind = match p.kind {
        socket::PacketType::BinaryEvent => socket::PacketType::Event,
        socket::PacketType::BinaryAck => socket::PacketType::Ack,
        k => k,
    };
    item.insert("type".into(), json!(kind as u8));
    item.insert("nsp".into(), json!(p.namespace));
    if let Some(id) = p.ack_id {
        item.insert("id".into(), ack_json(id));
    }
    if let Some(payload) = p.payload {
        item.insert(
            "data".into(),
            js_value::from_json(payload.as_str(), attachments),
        );
    }
    if p.kind.is_binary() {
        item.insert("attachments".into(), json!(p.attachments));
    }
    Value::Object(item)
}

fn run_sio(input: &Value, options: &Value, profile: Profile) -> Ours {
    let max_attachments = integer_limit(options.get("maxAttachments")).unwrap_or(10);
    let limits = Limits {
        max_attachments,
        ..Limits::default()
    };
    let mut r = Reassembler::new(Version::V5, profile, limits);
    let mut decoded = Vec::new();
    let mut error = None;
    for (i, frame) in input["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .enumerate()
    {
        let step = match (frame.get("binary").and_then(Value::as_str), text_of(frame)) {
            (Some(b), _) => r
                .push_binary(unhex(b))
                .map(|done| done.map(|a| sio_item(&a.packet(), Some(a.attachments())))),
            (None, Some(t)) => r.push_text(&t).map(|step| match step {
                Step::Packet(p) => Some(sio_item(&p, None)),
                Step::NeedsAttachments(_) => None,
            }),
            (None, None) => panic!("bad frame {frame}"),
        };
        match step {
            Ok(Some(item)) => decoded.push(item),
            Ok(None) => {}
            Err(e) => {
                error = Some(Failure {
                    class: e.official_message().into(),
                    at: i,
                    detail: e.to_string(),
                });
                break;
            }
        }
    }
    let pending = error.is_none() && r.is_pending();
    let mut outcome = outcome(decoded, error);
    outcome["pending"] = json!(pending);
    Ours::new(outcome, None)
}

/// A value of the codec's data model in the fixture schema (`$binary`,
/// `$undefined`, `$number: "-0"`, `$object` for keys the plain form cannot show).
pub fn render_value(v: &binary::Value) -> Value {
    match v {
        binary::Value::Undefined => json!({ "$undefined": true }),
        binary::Value::Null => Value::Null,
        binary::Value::Bool(b) => json!(b),
        binary::Value::Number(n) => match n.as_f64() {
            Some(f) if f == 0.0 && f.is_sign_negative() => json!({ "$number": "-0" }),
            _ => Value::Number(n.clone()),
        },
        binary::Value::String(s) => json!(s),
        binary::Value::Binary(b) => json!({ "$binary": hex(b) }),
        binary::Value::Array(items) => items.iter().map(render_value).collect(),
        binary::Value::Object(entries) => {
            if entries
                .iter()
                .any(|(k, _)| k.starts_with('$') || k == "__proto__")
            {
                let pairs: Vec<Value> = entries
                    .iter()
                    .map(|(k, v)| json!([k, render_value(v)]))
                    .collect();
                return json!({ "$object": pairs });
            }
            Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), render_value(v)))
                    .collect(),
            )
        }
    }
}

/// The fixture class of a msgpack decode error (fixtures/README.md, `sio5.msgpack`).
pub fn msgpack_class(e: &socket::DecodeError) -> &'static str {
    match e {
        socket::DecodeError::Msgpack { reason, .. } => match reason {
            MsgpackError::PacketType => "invalid packet type",
            MsgpackError::Namespace => "invalid namespace",
            MsgpackError::Payload => "invalid payload",
            MsgpackError::PacketId => "invalid packet id",
            MsgpackError::NotAMap => "exception",
            _ => "msgpack",
        },
        _ => "unexpected error type",
    }
}

fn run_msgpack(input: &Value, profile: Profile) -> Ours {
    let frame = unhex(input["binary"].as_str().expect("a binary frame"));
    match msgpack::decode(&frame, profile, &Limits::default()) {
        Ok(p) => {
            let mut item = Map::new();
            item.insert("type".into(), json!(p.kind as u8));
            item.insert("nsp".into(), json!(p.namespace));
            match p.ack_id {
                Some(AckId::Lossy(v)) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
                    item.insert("id".into(), json!(v as i64));
                }
                Some(id) => {
                    item.insert("id".into(), ack_json(id));
                }
                None => {}
            }
            if let Some(data) = &p.data {
                item.insert("data".into(), render_value(data));
            }
            let mut out = Vec::new();
            msgpack::encode(p.kind, &p.namespace, p.ack_id, p.data.as_ref(), &mut out);
            Ours::new(
                json!({ "decoded": [item], "error": null }),
                Some(json!({ "binary": hex(&out) })),
            )
        }
        Err(e) => Ours::new(
            json!({ "decoded": [], "error": { "class": msgpack_class(&e), "detail": e.to_string() } }),
            None,
        ),
    }
}

/// `v` with JavaScript's non-finite numbers as `null`, as the codec's data
/// model (like JSON) holds them.
fn non_finite_as_null(v: &Value) -> Value {
    match v {
        Value::Object(o)
            if matches!(
                o.get("$number").and_then(Value::as_str),
                Some("NaN" | "Infinity" | "-Infinity")
            ) =>
        {
            Value::Null
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), non_finite_as_null(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(non_finite_as_null).collect()),
        other => other.clone(),
    }
}

/// Encodes a decoded sio item of the fixture schema with the codec, as the
/// official `Encoder#encode` would: `None` when the item holds values the
/// codec's data model cannot carry (lone surrogates).
pub fn encode_sio_item(item: &Value) -> Option<Vec<Value>> {
    let kind = socket::PacketType::ALL[item["type"].as_u64()? as usize];
    let namespace = item["nsp"].as_str()?;
    let ack_id = match item.get("id") {
        None => None,
        Some(Value::Object(o)) => Some(AckId::Lossy(o["js"].as_str()?.parse().ok()?)),
        Some(n) => Some(AckId::Exact(n.as_u64()?)),
    };
    let mut header = Vec::new();
    let attachments: Vec<Vec<u8>> = match item.get("data") {
        None => {
            socket::encode(
                &socket::Packet {
                    kind,
                    namespace,
                    ack_id,
                    attachments: 0,
                    payload: None,
                },
                &mut header,
            );
            Vec::new()
        }
        Some(data) => {
            let value = js_value::to_binary_value(data)?;
            binary::encode(kind, namespace, ack_id, &value, &mut header)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect()
        }
    };
    let mut frames = vec![json!({ "text": String::from_utf8(header).ok()? })];
    frames.extend(attachments.iter().map(|a| json!({ "binary": hex(a) })));
    Some(frames)
}

/// How the codec's `Compat` answer compares with the official one for one input.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Why they differ, when they do and the crate docs do not list it.
    pub disagreement: Option<String>,
    /// Differences the crate docs list as deliberate.
    pub deviations: Vec<&'static str>,
    /// How many encodings were compared byte for byte.
    pub encodings: usize,
    /// Official encodings of decoded data of no known type (`bundefined…`),
    /// which the codec's encoders cannot be given.
    pub unencodable: usize,
}

/// Vectors where the codec departs from the official parser on purpose,
/// as the crate docs list ("Where `Compat` departs from the official parsers").
pub fn documented_deviation(layer: &str, ours: &Value, official: &Value) -> Option<&'static str> {
    if layer == "sio5.msgpack" {
        let detail = ours["error"]["detail"].as_str().unwrap_or("");
        if official["error"].is_null() && detail.contains("fixext 8, type 0") {
            return Some("msgpack Date (fixext 8, type 0): refused, the data model has no dates");
        }
        if detail.contains("nested deeper") {
            return Some("msgpack nesting beyond Limits::max_msgpack_depth: refused");
        }
        if js_value::canon(&non_finite_as_null(official)) == js_value::canon(ours) {
            return Some("msgpack NaN / Infinity: read as null, as the data model (like JSON) has no such numbers");
        }
        return None;
    }
    let split_surrogate = ours["error"]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("surrogate pair"));
    if matches!(layer, "eio3.payload" | "eio3.jsonp") && split_surrogate {
        return Some("v3 length cutting a surrogate pair: rejected at that packet");
    }
    None
}

/// Whether decoded data holds an integer that 64 bits do not hold (2^64 and
/// up, below −2^63), which the codec's msgpack encoder writes as a float 64.
/// (An id beyond 2^53 is written `{"js": "1e+23"}` in the vectors.)
fn beyond_64_bits(v: &Value) -> bool {
    let beyond = |f: f64| {
        f.is_finite()
            && f.fract() == 0.0
            && !(-9_223_372_036_854_775_808.0..18_446_744_073_709_551_616.0).contains(&f)
    };
    match v {
        Value::Number(n) => n.as_f64().is_some_and(beyond),
        Value::Object(o) if o.len() == 1 && o.get("js").is_some_and(Value::is_string) => o["js"]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(beyond),
        Value::Array(a) => a.iter().any(beyond_64_bits),
        Value::Object(o) => o.values().any(beyond_64_bits),
        _ => false,
    }
}

/// The official encoder assigns each key of a copied object, and assigning
/// `__proto__` sets the prototype instead: such a key vanishes from its output.
pub fn official_encoder_drops_proto_key(item: &Value) -> bool {
    item.to_string().contains(r#"["__proto__","#)
}

/// The official outcome without its error message (the codec has its own).
pub fn expected_outcome(vector: &Value) -> Value {
    let mut outcome = vector["outcome"].clone();
    if let Some(error) = outcome.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("message");
    }
    outcome
}

/// Runs `input` through the codec (`Compat`) and compares decision, decoded
/// structure and encodings with the official `outcome` / `encoded`.
pub fn compare(
    layer: &str,
    input: &Value,
    options: &Value,
    outcome: &Value,
    encoded: Option<&Value>,
) -> Verdict {
    let mut verdict = Verdict::default();
    let official = json!({ "outcome": outcome });
    let expected = expected_outcome(&official);
    let ours = run(layer, input, options, Profile::Compat);
    let our_outcome = without_detail(&ours.outcome);
    if js_value::canon(&our_outcome) != js_value::canon(&expected) {
        match documented_deviation(layer, &ours.outcome, &expected) {
            Some(why) => verdict.deviations.push(why),
            None => {
                verdict.disagreement = Some(format!(
                    "input {input}\n    official {expected}\n    ours     {our_outcome}"
                ))
            }
        }
        return verdict;
    }
    if layer == "sio5.packet" {
        let items = expected["decoded"].as_array().cloned().unwrap_or_default();
        let frames = encoded
            .and_then(|e| e["packets"].as_array())
            .cloned()
            .unwrap_or_default();
        for (item, official) in items.iter().zip(&frames) {
            if official_encoder_drops_proto_key(item) {
                verdict
                    .deviations
                    .push("`__proto__` key kept where the official encoder loses it");
                continue;
            }
            if let Some(ours) = encode_sio_item(item) {
                verdict.encodings += 1;
                if Value::Array(ours.clone()) != *official {
                    verdict.disagreement = Some(format!(
                        "encoding of {item}\n    official {official}\n    ours     {ours:?}"
                    ));
                }
            }
        }
    } else if ours.unencodable && encoded.is_some() {
        verdict.unencodable += 1;
    } else if let (Some(official), Some(encoding)) = (encoded, &ours.encoded) {
        if official != encoding && layer == "sio5.msgpack" && beyond_64_bits(&ours.outcome) {
            verdict.deviations.push(
                "msgpack integer beyond 64 bits: written as a float 64 where notepack wraps its words",
            );
            return verdict;
        }
        let ours = encoding;
        verdict.encodings += 1;
        if official != ours {
            verdict.disagreement = Some(format!(
                "encoding\n    official {official}\n    ours     {ours}"
            ));
        }
    }
    verdict
}
