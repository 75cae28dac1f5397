//! socket.io-msgpack-parser 3.0.2: one packet per binary frame, the map
//! `{type, nsp, data?, id?}` written by notepack.io 2.2.0.
//!
//! The official `Decoder` reads the frame with notepack's `decode`, then
//! checks the object: `type` an integer 0–4 (the binary types 5 and 6 do not
//! exist here), `nsp` a string, `data` absent or an object for `CONNECT`,
//! absent for `DISCONNECT`, a string or an object for `CONNECT_ERROR`, an
//! array for `EVENT` / `ACK`, and `id` absent or an integer. Bytes travel
//! inside the frame: `bin 8/16/32` (Node `Buffer`s) or `ext` type 0 (what the
//! Node build of notepack writes for an `ArrayBuffer`); JavaScript's
//! `undefined` is `fixext 1` `d4 00 00` ([`Value::Undefined`]).
//!
//! ```
//! use siospec_codec::socket::binary::Value;
//! use siospec_codec::socket::{msgpack, PacketType};
//! use siospec_codec::{Limits, Profile};
//!
//! // The README's example, `socket.emit("hello", "you")`.
//! let data = Value::Array(vec![Value::String("hello".into()), Value::String("you".into())]);
//! let mut frame = Vec::new();
//! msgpack::encode(PacketType::Event, "/", None, Some(&data), &mut frame);
//! assert_eq!(&frame[..13], b"\x83\xa4type\x02\xa3nsp\xa1/");
//!
//! let p = msgpack::decode(&frame, Profile::Strict, &Limits::default()).unwrap();
//! assert_eq!((p.kind, p.namespace.as_str(), p.data), (PacketType::Event, "/", Some(data)));
//! ```
//!
//! The codec reads the format itself rather than through a msgpack crate:
//! notepack's reading has to be reproduced exactly (map keys converted with
//! JavaScript's `String`, `__proto__` assignments, lossy UTF-8, ext type 0 as
//! bytes, `fixext 8` type 0 as a `Date`, doubles for 64-bit integers), which
//! no crate offers, and every declared length has to be checked against the
//! [`Limits`] and the bytes left before anything is allocated. A crate
//! would not be faster either: measured (release build, a loaded 2-core
//! machine, so ±30 %) against `rmpv` 1.3.1, this decoder turns a 44-byte
//! event into a [`Packet`] in 1.0–1.5 µs where `rmpv::decode::read_value`
//! only builds its generic value in 0.9 µs (0.5 µs borrowing, with
//! `read_value_ref`), a 10 kB binary event in 0.7 µs against 0.56 µs, and
//! 3,000 small objects (52 kB) in 2.4–2.7 ms against 1.8–2.2 ms; the
//! conversion into [`Value`] and the official checks would still come on
//! top of `rmpv`'s time.
//!
//! # Profiles
//!
//! `Compat` accepts and rejects what the official `Decoder` does. `Strict`
//! also refuses: strings that are not UTF-8, map keys that are not strings,
//! duplicate keys, `__proto__` keys, ext types other than 0, non-finite
//! floats, a `type` or `id` written as a float, a namespace not starting
//! with `/`, an `id` outside 0..=2^53 − 1 or on `CONNECT` / `DISCONNECT` /
//! `CONNECT_ERROR`, an `ACK` without id, a `CONNECT_ERROR` whose data is not
//! an object, and an `EVENT` whose data does not start with a string or
//! number or names a reserved event. Extra keys in the packet map are
//! accepted by both: socket.io-client writes an `options` key.

use std::collections::HashMap;

use super::binary::Value;
use super::error::MsgpackError;
use super::{AckId, DecodeError, PacketType, RESERVED_EVENTS};
use crate::{js, Limits, Profile};

/// One packet of socket.io-msgpack-parser.
///
/// ```
/// use siospec_codec::socket::{msgpack, AckId, PacketType};
///
/// let p = msgpack::Packet { kind: PacketType::Ack, namespace: "/".into(), ack_id: Some(AckId::Exact(3)), data: None };
/// assert_eq!(p.ack_id.and_then(AckId::exact), Some(3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The packet type, 0–4 (`Connect` … `ConnectError`).
    pub kind: PacketType,
    /// The namespace, as the `nsp` string holds it.
    pub namespace: String,
    /// The ack id: [`AckId::Exact`] for 0..=2^53 − 1, [`AckId::Lossy`] for
    /// any other integer JavaScript accepts (negative, or beyond 2^53).
    pub ack_id: Option<AckId>,
    /// The data; `None` when `data` is absent or `undefined`.
    pub data: Option<Value>,
}

/// Decodes one binary frame as the official `Decoder#add` does.
///
/// ```
/// use siospec_codec::socket::{msgpack, PacketType};
/// use siospec_codec::{Limits, Profile};
///
/// let limits = Limits::default();
/// // {type: 1, nsp: "/"}
/// let frame = b"\x82\xa4type\x01\xa3nsp\xa1/";
/// assert_eq!(msgpack::decode(frame, Profile::Strict, &limits).unwrap().kind, PacketType::Disconnect);
/// // BINARY_EVENT (5) does not exist in this format.
/// let frame = b"\x83\xa4type\x05\xa3nsp\xa1/\xa4data\x90";
/// assert_eq!(msgpack::decode(frame, Profile::Compat, &limits).unwrap_err().official_message(), "invalid packet type");
/// ```
pub fn decode(frame: &[u8], profile: Profile, limits: &Limits) -> Result<Packet, DecodeError> {
    let fail = |offset, reason| DecodeError::Msgpack { offset, reason };
    let (top, date_key) = read_frame(frame, profile, limits)?;
    let end = frame.len();
    let mut obj = match top {
        // `decoded.type` on null / undefined is a TypeError.
        Js::Null | Js::Undefined => return Err(fail(0, MsgpackError::NotAMap)),
        Js::Object(obj) => obj,
        _ => return Err(fail(0, MsgpackError::PacketType)),
    };
    let strict = profile == Profile::Strict;
    let kind = match obj.get("type") {
        Some(Js::Num { value, int }) if value.fract() == 0.0 && (0.0..=4.0).contains(value) => {
            if strict && !int {
                return Err(fail(
                    end,
                    MsgpackError::Strict("the type is written as a float"),
                ));
            }
            PacketType::ALL[*value as usize]
        }
        _ => return Err(fail(end, MsgpackError::PacketType)),
    };
    let namespace = match obj.get("nsp") {
        Some(Js::Str(s)) => s.clone(),
        _ => return Err(fail(end, MsgpackError::Namespace)),
    };
    let data = match obj.get("data") {
        None | Some(Js::Undefined) => None,
        Some(d) => Some(d),
    };
    let has_data = data.is_some();
    let data_ok = match (kind, data) {
        (PacketType::Connect, None) => true,
        (PacketType::Connect, Some(d)) => d.is_plain_object(),
        (PacketType::Disconnect, d) => d.is_none(),
        (PacketType::ConnectError, Some(d)) => matches!(d, Js::Str(_)) || d.is_plain_object(),
        (_, Some(d)) => matches!(d, Js::Array(_)),
        (_, None) => false,
    };
    if !data_ok {
        return Err(fail(end, MsgpackError::Payload));
    }
    let ack_id = match obj.get("id") {
        None | Some(Js::Undefined) => None,
        Some(Js::Num { value, int }) if value.is_finite() && value.fract() == 0.0 => {
            if strict && !int {
                return Err(fail(
                    end,
                    MsgpackError::Strict("the id is written as a float"),
                ));
            }
            Some(if *value >= 0.0 && *value <= js::MAX_SAFE_INTEGER as f64 {
                AckId::Exact(*value as u64)
            } else {
                AckId::Lossy(*value)
            })
        }
        _ => return Err(fail(end, MsgpackError::PacketId)),
    };
    if date_key {
        return Err(fail(end, MsgpackError::Date));
    }
    let data = if has_data {
        obj.take("data").map(to_value).transpose()?
    } else {
        None
    };
    if strict {
        check_strict(kind, &namespace, ack_id, data.as_ref())
            .map_err(|why| fail(end, MsgpackError::Strict(why)))?;
    }
    Ok(Packet {
        kind,
        namespace,
        ack_id,
        data,
    })
}

/// The one value a frame holds, read within `limits` (the frame's size
/// first), and whether a `Date` was met as a map key; trailing bytes are
/// an error.
fn read_frame(frame: &[u8], profile: Profile, limits: &Limits) -> Result<(Js, bool), DecodeError> {
    let fail = |offset, reason| DecodeError::Msgpack { offset, reason };
    if frame.len() > limits.max_payload_bytes {
        return Err(fail(
            0,
            MsgpackError::FrameTooLarge {
                limit: limits.max_payload_bytes,
            },
        ));
    }
    let mut reader = Reader {
        buf: frame,
        pos: 0,
        profile,
        limits,
        depth: 0,
        date_key: false,
    };
    let top = reader.value()?;
    if reader.pos != frame.len() {
        return Err(fail(reader.pos, MsgpackError::TrailingBytes));
    }
    Ok((top, reader.date_key))
}

/// Decodes one notepack.io value of any shape, as notepack's `decode` builds
/// it, into the codec's model: what a cluster adapter's messages are
/// ([`crate::adapter`]). The same limits and checks as [`decode`] (no
/// `Date`, no trailing bytes); `Strict` refuses what it refuses there in
/// the format itself (non-UTF-8 strings, non-string or repeated keys,
/// `__proto__` keys, ext types other than 0, non-finite floats).
///
/// ```
/// use siospec_codec::socket::binary::Value;
/// use siospec_codec::socket::msgpack;
/// use siospec_codec::{Limits, Profile};
///
/// let v = msgpack::decode_value(b"\x92\xa1a\x01", Profile::Strict, &Limits::default()).unwrap();
/// assert_eq!(v, Value::Array(vec![Value::String("a".into()), Value::Number(1.into())]));
/// ```
pub fn decode_value(frame: &[u8], profile: Profile, limits: &Limits) -> Result<Value, DecodeError> {
    let fail = |offset, reason| DecodeError::Msgpack { offset, reason };
    let (top, date_key) = read_frame(frame, profile, limits)?;
    if date_key {
        return Err(fail(frame.len(), MsgpackError::Date));
    }
    to_value(top).map_err(|e| match e {
        DecodeError::Msgpack { reason, .. } => fail(frame.len(), reason),
        other => other,
    })
}

/// Writes `value` as notepack.io (Node build) writes the JavaScript value:
/// bytes as `bin`, integers in the smallest int format, other numbers as
/// float 64, `undefined` as `d4 00 00`.
///
/// ```
/// use siospec_codec::socket::binary::Value;
/// use siospec_codec::socket::msgpack;
///
/// let mut out = Vec::new();
/// msgpack::encode_value(&Value::Array(vec![Value::String("a".into()), Value::Number(1.into())]), &mut out);
/// assert_eq!(out, b"\x92\xa1a\x01");
/// ```
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    write_value(value, out);
}

/// What `Strict` asks beyond the official checks, as the default parser's
/// `Strict` does for the text format.
fn check_strict(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    data: Option<&Value>,
) -> Result<(), &'static str> {
    if !namespace.starts_with('/') {
        return Err("the namespace must start with '/'");
    }
    match (kind, ack_id) {
        (_, Some(AckId::Lossy(_))) => return Err("the id must be an integer in 0..=2^53 - 1"),
        (PacketType::Connect | PacketType::Disconnect | PacketType::ConnectError, Some(_)) => {
            return Err("only EVENT and ACK carry an id")
        }
        (PacketType::Ack, None) => return Err("an ACK needs an id"),
        _ => {}
    }
    match (kind, data) {
        (PacketType::ConnectError, Some(Value::Object(_))) => Ok(()),
        (PacketType::ConnectError, _) => Err("a CONNECT_ERROR payload must be an object"),
        (PacketType::Event, Some(Value::Array(items))) => match items.first() {
            Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                Err("the event name is reserved")
            }
            Some(Value::String(_) | Value::Number(_)) => Ok(()),
            _ => {
                Err("an event payload must be a non-empty array starting with a string or a number")
            }
        },
        _ => Ok(()),
    }
}

/// Writes the map `{type, nsp, data?, id?}` as the official `Encoder` does
/// (notepack.io, Node build: bytes as `bin`).
///
/// The type number is written as given (the official encoder writes what it
/// is handed), so a caller can write 5 or 6 on purpose; callers map
/// `BinaryEvent` / `BinaryAck` to `Event` / `Ack` themselves.
/// [`Value::Undefined`] is written as `d4 00 00`, numbers as notepack writes
/// a JavaScript number (integers in the smallest int format, anything else
/// as a float 64).
///
/// ```
/// use siospec_codec::socket::binary::Value;
/// use siospec_codec::socket::{msgpack, AckId, PacketType};
///
/// let mut out = Vec::new();
/// msgpack::encode(PacketType::Ack, "/", Some(AckId::Exact(300)), Some(&Value::Array(vec![Value::Binary(vec![7])])), &mut out);
/// assert_eq!(out, b"\x84\xa4type\x03\xa3nsp\xa1/\xa4data\x91\xc4\x01\x07\xa2id\xcd\x01\x2c");
/// ```
pub fn encode(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    data: Option<&Value>,
    out: &mut Vec<u8>,
) {
    out.push(0x82 + u8::from(data.is_some()) + u8::from(ack_id.is_some()));
    write_str("type", out);
    write_number(f64::from(kind as u8), out);
    write_str("nsp", out);
    write_str(namespace, out);
    if let Some(data) = data {
        write_str("data", out);
        write_value(data, out);
    }
    if let Some(id) = ack_id {
        write_str("id", out);
        write_number(
            match id {
                AckId::Exact(n) => n as f64,
                AckId::Lossy(v) => v,
            },
            out,
        );
    }
}

fn write_len(len: usize, small: Option<(u8, usize)>, markers: [u8; 3], out: &mut Vec<u8>) {
    match small {
        Some((base, max)) if len < max => out.push(base | len as u8),
        _ if len < 0x100 && markers[0] != 0 => out.extend_from_slice(&[markers[0], len as u8]),
        _ if len < 0x10000 => {
            out.push(markers[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(markers[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    write_len(s.len(), Some((0xa0, 0x20)), [0xd9, 0xda, 0xdb], out);
    out.extend_from_slice(s.as_bytes());
}

/// JavaScript's `ToUint32`.
fn to_uint32(v: f64) -> u32 {
    if !v.is_finite() {
        return 0;
    }
    v.trunc().rem_euclid(4_294_967_296.0) as u32
}

/// A JavaScript number as notepack writes it, except an integer beyond
/// what 64 bits hold (2^64 and up, below −2^63): notepack cuts its words
/// with 32-bit conversions that wrap (1e300 becomes 0), the codec writes it
/// as a float 64, the same number.
fn write_number(v: f64, out: &mut Vec<u8>) {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    const MINUS_TWO_63: f64 = -9_223_372_036_854_775_808.0;
    if v.floor() != v || !v.is_finite() || !(MINUS_TWO_63..TWO_64).contains(&v) {
        out.push(0xcb);
        out.extend_from_slice(&v.to_be_bytes());
        return;
    }
    if v >= 0.0 {
        match v {
            _ if v < 128.0 => out.push(v as u8),
            _ if v < 256.0 => out.extend_from_slice(&[0xcc, v as u8]),
            _ if v < 65536.0 => {
                out.push(0xcd);
                out.extend_from_slice(&(v as u16).to_be_bytes());
            }
            _ if v < 4_294_967_296.0 => {
                out.push(0xce);
                out.extend_from_slice(&(v as u32).to_be_bytes());
            }
            _ => write_int64(0xcf, v, out),
        }
    } else {
        match v {
            _ if v >= -32.0 => out.push(v as i8 as u8),
            _ if v >= -128.0 => out.extend_from_slice(&[0xd0, v as i8 as u8]),
            _ if v >= -32768.0 => {
                out.push(0xd1);
                out.extend_from_slice(&(v as i16).to_be_bytes());
            }
            _ if v >= -2_147_483_648.0 => {
                out.push(0xd2);
                out.extend_from_slice(&(v as i32).to_be_bytes());
            }
            _ => write_int64(0xd3, v, out),
        }
    }
}

/// notepack's 64-bit integers: the high and low words cut with JavaScript's
/// 32-bit conversions (exact for the integers 64 bits hold).
fn write_int64(marker: u8, v: f64, out: &mut Vec<u8>) {
    out.push(marker);
    out.extend_from_slice(&to_uint32((v / 4_294_967_296.0).floor()).to_be_bytes());
    out.extend_from_slice(&to_uint32(v).to_be_bytes());
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Undefined => out.extend_from_slice(&[0xd4, 0, 0]),
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => write_number(n.as_f64().unwrap_or(f64::NAN), out),
        Value::String(s) => write_str(s, out),
        Value::Binary(bytes) => {
            write_len(bytes.len(), None, [0xc4, 0xc5, 0xc6], out);
            out.extend_from_slice(bytes);
        }
        Value::Array(items) => {
            write_len(items.len(), Some((0x90, 0x10)), [0, 0xdc, 0xdd], out);
            for item in items {
                write_value(item, out);
            }
        }
        Value::Object(entries) => {
            write_len(entries.len(), Some((0x80, 0x10)), [0, 0xde, 0xdf], out);
            for (key, item) in entries {
                write_str(key, out);
                write_value(item, out);
            }
        }
    }
}

/// A value as notepack's `decode` builds it.
#[derive(Debug)]
enum Js {
    Undefined,
    Null,
    Bool(bool),
    /// A number, and whether the frame wrote it in an integer format.
    Num {
        value: f64,
        int: bool,
    },
    Str(String),
    /// A Node `Buffer` (`bin`), or an `ArrayBuffer` (`ext` type 0).
    Bytes {
        bytes: Vec<u8>,
        array_buffer: bool,
    },
    /// `fixext 8` type 0, which notepack reads as a `Date`.
    Date,
    Array(Vec<Js>),
    /// Boxed: keeps `Js` small, which the reader moves around a lot.
    Object(Box<Obj>),
}

/// A JavaScript object built by assigning each map entry in turn.
#[derive(Debug, Default)]
struct Obj {
    /// Own properties, in insertion order (integer-like keys are moved first
    /// when the object becomes a [`Value`]).
    entries: Vec<(String, Js)>,
    /// Where each key is in `entries`, once there are many.
    index: Option<HashMap<String, usize>>,
    /// What an assignment to `__proto__` made the prototype.
    proto: Proto,
}

#[derive(Debug, Default)]
enum Proto {
    /// `Object.prototype`.
    #[default]
    Default,
    Null,
    Object(Box<Obj>),
    /// An `ArrayBuffer`, whose prototype's `Symbol.toStringTag` makes the
    /// object `[object ArrayBuffer]`.
    ArrayBuffer,
    /// An array, whose `join` then makes the object's string.
    Array(Vec<Js>),
    /// A `Buffer` of this many bytes: its typed-array `[[Set]]` ignores
    /// numeric keys that are not its own indices, and its accessors have no
    /// setter. Its `toString` throws on a plain object.
    Buffer(usize),
    /// A `Date`, whose `toString` throws on a plain object.
    Other,
}

impl Obj {
    /// Property lookup through the prototype chain.
    fn get(&self, key: &str) -> Option<&Js> {
        match self.position(key) {
            Some(i) => Some(&self.entries[i].1),
            None => match &self.proto {
                Proto::Object(p) => p.get(key),
                _ => None,
            },
        }
    }

    /// Moves the value `get` would find out of the object.
    fn take(&mut self, key: &str) -> Option<Js> {
        match self.position(key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, Js::Undefined)),
            None => match &mut self.proto {
                Proto::Object(p) => p.take(key),
                _ => None,
            },
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    /// The first prototype in the chain that is not a plain object.
    fn chain_end(&self) -> &Proto {
        match &self.proto {
            Proto::Object(p) => p.chain_end(),
            other => other,
        }
    }

    /// `value[key] = v` for a plain object, in strict mode (notepack's
    /// `decode.js` is): `Err` where JavaScript throws (a setter-less accessor
    /// of an `ArrayBuffer` or `Buffer` prototype).
    fn assign(&mut self, key: String, value: Js) -> Result<(), ()> {
        if key != "__proto__"
            && !matches!(self.chain_end(), Proto::Default)
            && self.position(&key).is_none()
        {
            match self.chain_end() {
                Proto::ArrayBuffer
                    if ["byteLength", "maxByteLength", "resizable", "detached"]
                        .contains(&key.as_str()) =>
                {
                    return Err(())
                }
                Proto::Buffer(_)
                    if [
                        "buffer",
                        "byteLength",
                        "byteOffset",
                        "length",
                        "parent",
                        "offset",
                    ]
                    .contains(&key.as_str()) =>
                {
                    return Err(())
                }
                Proto::Buffer(len) => {
                    // A canonical numeric string that is not an index of the
                    // buffer: the typed array's [[Set]] does nothing.
                    let n = js::string_to_number(&key);
                    let mut canonical = Vec::new();
                    js::write_number(n, &mut canonical);
                    if key == "-0" || canonical == key.as_bytes() {
                        let index = n.fract() == 0.0 && n >= 0.0 && key != "-0" && n < *len as f64;
                        if !index {
                            return Ok(());
                        }
                    }
                }
                _ => {}
            }
        }
        self.set(key, value);
        Ok(())
    }

    fn set(&mut self, key: String, value: Js) {
        if key == "__proto__" {
            self.proto = match value {
                Js::Null => Proto::Null,
                Js::Object(o) => Proto::Object(o),
                Js::Bytes {
                    array_buffer: true, ..
                } => Proto::ArrayBuffer,
                Js::Array(items) => Proto::Array(items),
                Js::Bytes { bytes, .. } => Proto::Buffer(bytes.len()),
                Js::Date => Proto::Other,
                // Assigning a primitive to `__proto__` does nothing.
                _ => return,
            };
            return;
        }
        if let Some(i) = self.position(&key) {
            self.entries[i].1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        } else if self.entries.len() >= 16 {
            let mut index: HashMap<String, usize> = HashMap::with_capacity(self.entries.len() + 1);
            for (i, (k, _)) in self.entries.iter().enumerate() {
                index.insert(k.clone(), i);
            }
            index.insert(key.clone(), self.entries.len());
            self.index = Some(index);
        }
        self.entries.push((key, value));
    }

    /// `Object.prototype.toString` sees an `ArrayBuffer` in the chain.
    fn tagged_array_buffer(&self) -> bool {
        match &self.proto {
            Proto::ArrayBuffer => true,
            Proto::Object(p) => p.tagged_array_buffer(),
            _ => false,
        }
    }

    /// `String(obj)`, as [`Js::write_key`] reports it. JavaScript throws a
    /// TypeError for a `toString` key (not a function) or a chain without
    /// `toString`; an array prototype makes the string its `join` of the
    /// object. Keys `join` and `length` that would change that `join` are
    /// not modelled (refused).
    fn to_js_string(&self) -> Result<String, bool> {
        let mut level = self;
        let mut shadowed = false;
        loop {
            if level.position("toString").is_some() {
                return Err(false);
            }
            shadowed |= level.position("join").is_some() || level.position("length").is_some();
            level = match &level.proto {
                Proto::Default => return Ok("[object Object]".to_owned()),
                Proto::ArrayBuffer => return Ok("[object ArrayBuffer]".to_owned()),
                Proto::Object(p) => p,
                Proto::Null | Proto::Buffer(_) | Proto::Other => return Err(false),
                Proto::Array(_) if shadowed => return Err(false),
                Proto::Array(items) => {
                    let mut out = String::new();
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let item = self.get(&i.to_string()).unwrap_or(item);
                        if !matches!(item, Js::Null | Js::Undefined) {
                            item.write_key(&mut out)?;
                        }
                    }
                    return Ok(out);
                }
            };
        }
    }
}

impl Js {
    /// `Object.prototype.toString.call(v) === "[object Object]"`.
    fn is_plain_object(&self) -> bool {
        matches!(self, Js::Object(o) if !o.tagged_array_buffer())
    }

    /// `String(v)`, as a map key becomes a property name. `Err(true)` for a
    /// `Date` (its string depends on the time zone), `Err(false)` where
    /// JavaScript throws.
    fn write_key(&self, out: &mut String) -> Result<(), bool> {
        match self {
            Js::Undefined => out.push_str("undefined"),
            Js::Null => out.push_str("null"),
            Js::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Js::Num { value, .. } => {
                let mut buf = Vec::new();
                js::write_number(*value, &mut buf);
                out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
            }
            Js::Str(s) => out.push_str(s),
            Js::Bytes {
                array_buffer: true, ..
            } => out.push_str("[object ArrayBuffer]"),
            Js::Bytes { bytes, .. } => out.push_str(&String::from_utf8_lossy(bytes)),
            Js::Date => return Err(true),
            Js::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if !matches!(item, Js::Null | Js::Undefined) {
                        item.write_key(out)?;
                    }
                }
            }
            Js::Object(o) => out.push_str(&o.to_js_string()?),
        }
        Ok(())
    }
}

/// The index of an integer-like property key (`"0"` … `"4294967294"`).
fn array_index(key: &str) -> Option<u32> {
    let n: u32 = key.parse().ok()?;
    (n != u32::MAX && (key == "0" || !key.starts_with('0')) && !key.starts_with('+')).then_some(n)
}

/// The data as the codec's model holds it: own properties in JavaScript's
/// order (integer-like keys first, ascending).
fn to_value(js: Js) -> Result<Value, DecodeError> {
    Ok(match js {
        Js::Undefined => Value::Undefined,
        Js::Null => Value::Null,
        Js::Bool(b) => Value::Bool(b),
        Js::Num { value, .. } => number(value),
        Js::Str(s) => Value::String(s),
        Js::Bytes { bytes, .. } => Value::Binary(bytes),
        Js::Date => {
            return Err(DecodeError::Msgpack {
                offset: 0,
                reason: MsgpackError::Date,
            })
        }
        Js::Array(items) => {
            Value::Array(items.into_iter().map(to_value).collect::<Result<_, _>>()?)
        }
        Js::Object(o) => {
            let mut entries = o
                .entries
                .into_iter()
                .map(|(k, v)| Ok((k, to_value(v)?)))
                .collect::<Result<Vec<_>, DecodeError>>()?;
            if entries.iter().any(|(k, _)| array_index(k).is_some()) {
                // Stable: the other keys keep their insertion order.
                entries.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
            }
            Value::Object(entries)
        }
    })
}

/// A JavaScript number in the codec's model: integers up to 2^53 as
/// integers, others as floats; NaN and ±Infinity (which `Strict` refuses)
/// become `null`, as JSON writes them.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 && !(v == 0.0 && v.is_sign_negative())
    {
        if v >= 0.0 {
            return Value::Number((v as u64).into());
        }
        return Value::Number((v as i64).into());
    }
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    profile: Profile,
    limits: &'a Limits,
    depth: usize,
    /// A map key was a `Date`, which the codec does not convert.
    date_key: bool,
}

impl Reader<'_> {
    fn fail(&self, offset: usize, reason: MsgpackError) -> DecodeError {
        DecodeError::Msgpack { offset, reason }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let start = self.pos;
        if self.buf.len() - start < n {
            return Err(self.fail(start, MsgpackError::Truncated));
        }
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn strict(&self, offset: usize, why: &'static str) -> Result<(), DecodeError> {
        match self.profile {
            Profile::Strict => Err(self.fail(offset, MsgpackError::Strict(why))),
            Profile::Compat => Ok(()),
        }
    }

    fn value(&mut self) -> Result<Js, DecodeError> {
        self.depth += 1;
        if self.depth > self.limits.max_msgpack_depth {
            return Err(self.fail(
                self.pos,
                MsgpackError::TooDeep {
                    limit: self.limits.max_msgpack_depth,
                },
            ));
        }
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    /// A declared element count, checked against the limit and against the
    /// bytes left (each element takes at least `min_bytes`) before any
    /// allocation.
    fn count(&mut self, n: u64, min_bytes: u64, at: usize) -> Result<usize, DecodeError> {
        if n > self.limits.max_container_len as u64 {
            return Err(self.fail(
                at,
                MsgpackError::TooLong {
                    limit: self.limits.max_container_len,
                },
            ));
        }
        if n * min_bytes > (self.buf.len() - self.pos) as u64 {
            return Err(self.fail(at, MsgpackError::Truncated));
        }
        Ok(n as usize)
    }

    fn value_inner(&mut self) -> Result<Js, DecodeError> {
        let at = self.pos;
        let prefix = self.take(1)?[0];
        let int = |value: f64| Js::Num { value, int: true };
        Ok(match prefix {
            0x00..=0x7f => int(f64::from(prefix)),
            0x80..=0x8f => self.map(usize::from(prefix & 0x0f), at)?,
            0x90..=0x9f => self.array(usize::from(prefix & 0x0f), at)?,
            0xa0..=0xbf => self.str(u64::from(prefix & 0x1f), at)?,
            0xe0..=0xff => int(f64::from(prefix as i8)),
            0xc0 => Js::Null,
            0xc2 => Js::Bool(false),
            0xc3 => Js::Bool(true),
            0xc4..=0xc6 => {
                let n = self.be(1 << (prefix - 0xc4))?;
                Js::Bytes {
                    bytes: self.bytes(n)?,
                    array_buffer: false,
                }
            }
            0xc7..=0xc9 => {
                let n = self.be(1 << (prefix - 0xc7))?;
                let kind = self.take(1)?[0] as i8;
                self.ext(kind, n, at)?
            }
            0xca => {
                let v = f64::from(f32::from_bits(self.be(4)? as u32));
                self.float(v, at)?
            }
            0xcb => {
                let v = f64::from_bits(self.be(8)?);
                self.float(v, at)?
            }
            0xcc..=0xcf => {
                let width = 1 << (prefix - 0xcc);
                if width == 8 {
                    let hi = self.be(4)? as f64 * 4_294_967_296.0;
                    int(hi + self.be(4)? as f64)
                } else {
                    int(self.be(width)? as f64)
                }
            }
            0xd0 => int(f64::from(self.be(1)? as u8 as i8)),
            0xd1 => int(f64::from(self.be(2)? as u16 as i16)),
            0xd2 => int(f64::from(self.be(4)? as u32 as i32)),
            0xd3 => {
                let hi = f64::from(self.be(4)? as u32 as i32) * 4_294_967_296.0;
                int(hi + self.be(4)? as f64)
            }
            0xd4..=0xd8 => {
                let kind = self.take(1)?[0] as i8;
                let n = 1u64 << (prefix - 0xd4);
                match (prefix, kind) {
                    // `undefined`: notepack skips the data byte without reading it.
                    (0xd4, 0) => {
                        self.take(1)?;
                        Js::Undefined
                    }
                    (0xd7, 0) => {
                        self.take(8)?;
                        self.strict(at, "a Date (fixext 8, type 0)")?;
                        Js::Date
                    }
                    _ => {
                        self.strict(at, "an ext type other than 0")?;
                        Js::Array(vec![
                            int(f64::from(kind)),
                            Js::Bytes {
                                bytes: self.bytes(n)?,
                                array_buffer: false,
                            },
                        ])
                    }
                }
            }
            0xd9..=0xdb => {
                let n = self.be(1 << (prefix - 0xd9))?;
                self.str(n, at)?
            }
            0xdc | 0xdd => {
                let n = self.be(if prefix == 0xdc { 2 } else { 4 })?;
                self.array(n as usize, at)?
            }
            0xde | 0xdf => {
                let n = self.be(if prefix == 0xde { 2 } else { 4 })?;
                self.map(n as usize, at)?
            }
            // 0xc1 is never used.
            _ => return Err(self.fail(at, MsgpackError::Syntax)),
        })
    }

    fn float(&self, v: f64, at: usize) -> Result<Js, DecodeError> {
        if !v.is_finite() {
            self.strict(at, "a NaN or infinite float")?;
        }
        Ok(Js::Num {
            value: v,
            int: false,
        })
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, DecodeError> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(self.take(n)?.to_vec())
    }

    fn ext(&mut self, kind: i8, n: u64, at: usize) -> Result<Js, DecodeError> {
        let bytes = self.bytes(n)?;
        if kind == 0 {
            return Ok(Js::Bytes {
                bytes,
                array_buffer: true,
            });
        }
        self.strict(at, "an ext type other than 0")?;
        Ok(Js::Array(vec![
            Js::Num {
                value: f64::from(kind),
                int: true,
            },
            Js::Bytes {
                bytes,
                array_buffer: false,
            },
        ]))
    }

    /// `buffer.toString("utf8", …)`: invalid UTF-8 becomes U+FFFD.
    fn str(&mut self, n: u64, at: usize) -> Result<Js, DecodeError> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let strict = self.profile == Profile::Strict;
        let raw = self.take(n)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(Js::Str(s.to_owned())),
            Err(_) if strict => {
                Err(self.fail(at, MsgpackError::Strict("a string that is not UTF-8")))
            }
            Err(_) => Ok(Js::Str(String::from_utf8_lossy(raw).into_owned())),
        }
    }

    fn array(&mut self, n: usize, at: usize) -> Result<Js, DecodeError> {
        let n = self.count(n as u64, 1, at)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value()?);
        }
        Ok(Js::Array(items))
    }

    fn map(&mut self, n: usize, at: usize) -> Result<Js, DecodeError> {
        let n = self.count(n as u64, 2, at)?;
        let mut obj = Obj {
            entries: Vec::with_capacity(n),
            ..Obj::default()
        };
        for _ in 0..n {
            let key_at = self.pos;
            let key = self.value()?;
            let value = self.value()?;
            let name = match key {
                Js::Str(s) => s,
                other => {
                    self.strict(key_at, "a map key that is not a string")?;
                    let mut name = String::new();
                    match other.write_key(&mut name) {
                        Ok(()) => name,
                        Err(true) => {
                            self.date_key = true;
                            name
                        }
                        Err(false) => {
                            return Err(self.fail(key_at, MsgpackError::KeyNotConvertible))
                        }
                    }
                }
            };
            if self.profile == Profile::Strict {
                if name == "__proto__" {
                    return Err(self.fail(key_at, MsgpackError::Strict("a __proto__ key")));
                }
                if obj.position(&name).is_some() {
                    return Err(self.fail(key_at, MsgpackError::Strict("a key given twice")));
                }
            }
            if obj.assign(name, value).is_err() {
                return Err(self.fail(key_at, MsgpackError::KeyNotConvertible));
            }
        }
        Ok(Js::Object(Box::new(obj)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(frame: &[u8], profile: Profile) -> Result<Packet, DecodeError> {
        decode(frame, profile, &Limits::default())
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        for frame in [
            &b"\xdd\xff\xff\xff\xff"[..],
            b"\xdf\xff\xff\xff\xff",
            b"\xc6\xff\xff\xff\xff",
            b"\xdb\xff\xff\xff\xff\x00",
        ] {
            assert!(matches!(
                dec(frame, Profile::Compat),
                Err(DecodeError::Msgpack { .. })
            ));
        }
    }

    /// Bytes measured with notepack.io 2.2.0's `encode`.
    #[test]
    fn numbers_are_written_as_notepack_writes_them() {
        let cases: [(f64, &[u8]); 8] = [
            (-0.0, b"\x00"),
            (-33.0, b"\xd0\xdf"),
            (65535.0, b"\xcd\xff\xff"),
            (4_294_967_296.0, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
            (-4_294_967_297.0, b"\xd3\xff\xff\xff\xfe\xff\xff\xff\xff"),
            // Beyond 64 bits notepack wraps (2^64 is written as 0): a float
            // 64 here, a documented departure.
            (
                18_446_744_073_709_551_616.0,
                b"\xcb\x43\xf0\x00\x00\x00\x00\x00\x00",
            ),
            (0.5, b"\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00"),
            (f64::INFINITY, b"\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"),
        ];
        for (v, bytes) in cases {
            let mut out = Vec::new();
            write_number(v, &mut out);
            assert_eq!(out, bytes, "{v}");
        }
    }

    #[test]
    fn proto_keys_set_the_prototype() {
        // {"__proto__": {type: 2, nsp: "/", data: []}}: the official checks
        // read the inherited properties.
        let frame = b"\x81\xa9__proto__\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x90";
        let p = dec(frame, Profile::Compat).unwrap();
        assert_eq!(p.kind, PacketType::Event);
        assert!(dec(frame, Profile::Strict).is_err());
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let mut frame = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data".to_vec();
        frame.extend(std::iter::repeat_n(0x91, 5000));
        frame.push(0xc0);
        assert!(matches!(
            dec(&frame, Profile::Compat),
            Err(DecodeError::Msgpack {
                reason: MsgpackError::TooDeep { .. },
                ..
            })
        ));
    }

    /// The headers notepack.io 2.2.0 writes at each width boundary (measured
    /// with `notepack.encode`; the fixtures stop short of 64 kB vectors).
    #[test]
    fn width_boundaries_are_notepacks() {
        let head = |v: &Value| {
            let mut out = Vec::new();
            write_value(v, &mut out);
            out.truncate(5);
            out
        };
        let s = |n: usize| Value::String("s".repeat(n));
        let b = |n: usize| Value::Binary(vec![0; n]);
        let a = |n: usize| Value::Array(vec![Value::Null; n]);
        let m = |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), Value::Null)).collect());
        let cases: [(Value, &[u8]); 18] = [
            (s(31), b"\xbfssss"),
            (s(32), b"\xd9\x20sss"),
            (s(255), b"\xd9\xffsss"),
            (s(256), b"\xda\x01\x00ss"),
            (s(65535), b"\xda\xff\xffss"),
            (s(65536), b"\xdb\x00\x01\x00\x00"),
            (b(255), b"\xc4\xff\x00\x00\x00"),
            (b(256), b"\xc5\x01\x00\x00\x00"),
            (b(65535), b"\xc5\xff\xff\x00\x00"),
            (b(65536), b"\xc6\x00\x01\x00\x00"),
            (a(15), b"\x9f\xc0\xc0\xc0\xc0"),
            (a(16), b"\xdc\x00\x10\xc0\xc0"),
            (a(65535), b"\xdc\xff\xff\xc0\xc0"),
            (a(65536), b"\xdd\x00\x01\x00\x00"),
            (m(15), b"\x8f\xa2k0\xc0"),
            (m(16), b"\xde\x00\x10\xa2k"),
            (m(65535), b"\xde\xff\xff\xa2k"),
            (m(65536), b"\xdf\x00\x01\x00\x00"),
        ];
        for (v, expected) in &cases {
            assert_eq!(head(v), *expected);
        }
    }

    /// `undefined` in JSON as socket.io-parser 4.2.7's encoder writes it
    /// (measured: `2["a",null,{"y":1}]`, `2`, `0{}`, and the binary form).
    #[test]
    fn undefined_in_json_is_what_socket_io_parser_writes() {
        use crate::socket::binary;
        let encode = |kind, data: &Value| {
            let mut out = Vec::new();
            binary::encode(kind, "/", None, data, &mut out);
            String::from_utf8(out).unwrap()
        };
        let obj = |k: &str, v| Value::Object(vec![(k.into(), v)]);
        let data = Value::Array(vec![
            Value::String("a".into()),
            Value::Undefined,
            Value::Object(vec![
                ("x".into(), Value::Undefined),
                ("y".into(), Value::Number(1.into())),
            ]),
        ]);
        assert_eq!(encode(PacketType::Event, &data), r#"2["a",null,{"y":1}]"#);
        assert_eq!(encode(PacketType::Event, &Value::Undefined), "2");
        assert_eq!(
            encode(PacketType::Connect, &obj("a", Value::Undefined)),
            "0{}"
        );
        let with_bytes = Value::Array(vec![
            Value::String("a".into()),
            Value::Undefined,
            Value::Binary(vec![1]),
        ]);
        assert_eq!(
            encode(PacketType::Event, &with_bytes),
            r#"51-["a",null,{"_placeholder":true,"num":0}]"#
        );
    }
}
