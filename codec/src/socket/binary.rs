//! Binary attachments: data with bytes in it, placeholders, and back.
//!
//! An event whose data holds bytes is sent as a binary packet: every byte
//! string is replaced by `{"_placeholder":true,"num":N}` (N counting from 0,
//! depth first) and sent after the header as its own binary message.
//!
//! ```
//! use siospec_codec::socket::binary::{self, Value};
//! use siospec_codec::socket::{PacketType, Reassembler, Step, Version};
//! use siospec_codec::{Limits, Profile};
//!
//! let data = Value::Array(vec![Value::String("file".into()), Value::Binary(vec![1, 2, 3])]);
//! let mut header = Vec::new();
//! let attachments = binary::encode(PacketType::Event, "/", None, &data, &mut header);
//! assert_eq!(header, br#"51-["file",{"_placeholder":true,"num":0}]"#);
//! assert_eq!(attachments, [&[1u8, 2, 3][..]]);
//!
//! let mut r = Reassembler::new(Version::V5, Profile::Compat, Limits::default());
//! assert!(matches!(r.push_text(std::str::from_utf8(&header).unwrap()), Ok(Step::NeedsAttachments(1))));
//! let assembled = r.push_binary(vec![1, 2, 3]).unwrap().unwrap();
//! assert_eq!(assembled.into_value().unwrap(), data);
//! ```

use super::encode::write_u64;
use super::{AckId, DecodeError, PacketType};
use crate::{js, Profile};

/// A JSON value whose leaves may also be bytes, like the data of a
/// JavaScript Socket.IO event that holds Buffers.
///
/// Objects keep their keys in order; a key given twice keeps its first
/// position and its last value, as `JSON.parse` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (also what JSON numbers beyond the f64 range read as, since
    /// JavaScript makes them `Infinity`, which serialises as `null`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, keys in order.
    Object(Vec<(String, Value)>),
    /// Bytes, sent as an attachment.
    Binary(Vec<u8>),
    /// JavaScript's `undefined`, which only the msgpack format carries
    /// (`fixext 1` `d4 00 00`). JSON has none: [`write_json`] writes it as
    /// `JSON.stringify` does (`null` in an array, the member left out of an
    /// object, nothing at all on its own).
    Undefined,
}

impl Value {
    /// `true` when any leaf is [`Value::Binary`].
    ///
    /// ```
    /// use siospec_codec::socket::binary::Value;
    /// assert!(Value::Array(vec![Value::Null, Value::Binary(vec![])]).has_binary());
    /// assert!(!Value::Null.has_binary());
    /// ```
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(items) => items.iter().any(Value::has_binary),
            Value::Object(entries) => entries.iter().any(|(_, v)| v.has_binary()),
            _ => false,
        }
    }

    fn count_binary(&self) -> usize {
        match self {
            Value::Binary(_) => 1,
            Value::Array(items) => items.iter().map(Value::count_binary).sum(),
            Value::Object(entries) => entries.iter().map(|(_, v)| v.count_binary()).sum(),
            _ => 0,
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

/// Encodes an event or ack carrying `data`, appending the header text to
/// `out` and returning the attachments to send after it, in order.
///
/// When `data` holds bytes the packet becomes `BINARY_EVENT` / `BINARY_ACK`
/// with placeholders, as the official encoder does; otherwise it is a plain
/// text packet and no attachments are returned.
///
/// ```
/// use siospec_codec::socket::binary::{self, Value};
/// use siospec_codec::socket::{AckId, PacketType};
///
/// let mut out = Vec::new();
/// let data = Value::Array(vec![Value::Binary(vec![9])]);
/// let attachments = binary::encode(PacketType::Ack, "/back", Some(AckId::Exact(127)), &data, &mut out);
/// assert_eq!(out, br#"61-/back,127[{"_placeholder":true,"num":0}]"#);
/// assert_eq!(attachments.len(), 1);
/// ```
pub fn encode<'v>(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    data: &'v Value,
    out: &mut Vec<u8>,
) -> Vec<&'v [u8]> {
    let count = data.count_binary();
    let kind = match (kind, count > 0) {
        (PacketType::Event | PacketType::BinaryEvent, true) => PacketType::BinaryEvent,
        (PacketType::Ack | PacketType::BinaryAck, true) => PacketType::BinaryAck,
        (PacketType::BinaryEvent, false) => PacketType::Event,
        (PacketType::BinaryAck, false) => PacketType::Ack,
        (other, _) => other,
    };
    out.push(kind.digit());
    if kind.is_binary() {
        write_u64(count as u64, out);
        out.push(b'-');
    }
    if !namespace.is_empty() && namespace != "/" {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    match ack_id {
        Some(AckId::Exact(id)) => write_u64(id, out),
        Some(AckId::Lossy(id)) => js::write_number(id, out),
        None => {}
    }
    let mut attachments = Vec::with_capacity(count);
    write_json(data, out, &mut attachments);
    attachments
}

/// Writes `value` as JSON, bytes as placeholders collected into `attachments`.
///
/// [`Value::Undefined`] is written as `JSON.stringify` writes `undefined`:
/// `null` in an array, the member left out of an object, nothing on its own
/// (socket.io-parser then writes no payload).
///
/// ```
/// use siospec_codec::socket::binary::{write_json, Value};
///
/// let v = Value::Object(vec![
///     ("a".into(), Value::Undefined),
///     ("b".into(), Value::Array(vec![Value::Undefined, Value::Bool(true)])),
/// ]);
/// let mut out = Vec::new();
/// write_json(&v, &mut out, &mut Vec::new());
/// assert_eq!(out, br#"{"b":[null,true]}"#);
/// ```
pub fn write_json<'v>(value: &'v Value, out: &mut Vec<u8>, attachments: &mut Vec<&'v [u8]>) {
    match value {
        Value::Undefined => {}
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // The official encoder holds every number as a JavaScript double.
        Value::Number(n) => js::write_number(n.as_f64().unwrap_or(f64::NAN), out),
        Value::String(s) => js::write_json_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match item {
                    Value::Undefined => out.extend_from_slice(b"null"),
                    item => write_json(item, out, attachments),
                }
            }
            out.push(b']');
        }
        Value::Object(entries) => {
            out.push(b'{');
            let present = entries
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Undefined));
            for (i, (key, item)) in present.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                js::write_json_string(key, out);
                out.push(b':');
                write_json(item, out, attachments);
            }
            out.push(b'}');
        }
        Value::Binary(bytes) => {
            write_placeholder(attachments.len(), out);
            attachments.push(bytes);
        }
    }
}

/// Writes the placeholder `{"_placeholder":true,"num":N}` that stands for
/// attachment `num`. [`encode`] numbers placeholders in the order they
/// appear; this is for building input it never writes but decoders must
/// accept, such as placeholders that refer to the attachments out of order.
///
/// ```
/// use siospec_codec::socket::binary;
///
/// let mut out = Vec::new();
/// binary::write_placeholder(3, &mut out);
/// assert_eq!(out, br#"{"_placeholder":true,"num":3}"#);
/// ```
pub fn write_placeholder(num: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"_placeholder\":true,\"num\":");
    write_u64(num as u64, out);
    out.push(b'}');
}

/// What placeholders resolve to while walking the JSON.
enum Resolve {
    /// Only check the placeholders and count how often each index is used.
    Check {
        attachments: usize,
        uses: Vec<usize>,
    },
    /// Build the value, moving each attachment into its last use and copying
    /// it into earlier ones.
    Build {
        slots: Vec<Option<Vec<u8>>>,
        uses_left: Vec<usize>,
    },
}

impl Resolve {
    fn attachments(&self) -> usize {
        match self {
            Resolve::Check { attachments, .. } => *attachments,
            Resolve::Build { slots, .. } => slots.len(),
        }
    }

    fn take(&mut self, index: usize) -> Value {
        match self {
            Resolve::Check { uses, .. } => {
                uses[index] += 1;
                Value::Null
            }
            Resolve::Build { slots, uses_left } => {
                uses_left[index] = uses_left[index].saturating_sub(1);
                let bytes = if uses_left[index] == 0 {
                    slots[index].take()
                } else {
                    slots[index].clone()
                };
                Value::Binary(bytes.unwrap_or_default())
            }
        }
    }
}

/// Checks every placeholder of `json` (already validated) against
/// `attachments` received attachments, as socket.io-parser's
/// `reconstructPacket` does: an object whose last `_placeholder` key is
/// `true` must have a numeric `num` with `0 <= num < attachments`.
/// `Strict` also wants `num` to be an integer. Returns how often each
/// attachment is used.
pub(crate) fn check_placeholders(
    json: &str,
    attachments: usize,
    profile: Profile,
    max_depth: usize,
) -> Result<Vec<usize>, DecodeError> {
    let mut resolve = Resolve::Check {
        attachments,
        uses: vec![0; attachments],
    };
    Walker::new(json, profile, max_depth).value(&mut resolve)?;
    match resolve {
        Resolve::Check { uses, .. } => Ok(uses),
        Resolve::Build { .. } => Ok(Vec::new()),
    }
}

/// Builds the [`Value`] of `json` (already validated) with its placeholders
/// replaced by `attachments`.
pub(crate) fn reconstruct(
    json: &str,
    attachments: Vec<Vec<u8>>,
    profile: Profile,
    max_depth: usize,
) -> Result<Value, DecodeError> {
    let uses_left = check_placeholders(json, attachments.len(), profile, max_depth)?;
    let mut resolve = Resolve::Build {
        slots: attachments.into_iter().map(Some).collect(),
        uses_left,
    };
    Walker::new(json, profile, max_depth).value(&mut resolve)
}

/// A reader over JSON that serde_json has already validated, so it only has
/// to tell tokens apart, never to report syntax errors. Nesting is bounded
/// by the validation depth limit.
struct Walker<'t> {
    text: &'t [u8],
    pos: usize,
    profile: Profile,
    depth: usize,
    max_depth: usize,
}

impl<'t> Walker<'t> {
    fn new(json: &'t str, profile: Profile, max_depth: usize) -> Self {
        Walker {
            text: json.as_bytes(),
            pos: 0,
            profile,
            depth: 0,
            max_depth,
        }
    }

    fn value(&mut self, resolve: &mut Resolve) -> Result<Value, DecodeError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(DecodeError::PayloadTooDeep {
                limit: self.max_depth,
            });
        }
        let value = self.value_inner(resolve);
        self.depth -= 1;
        value
    }

    fn skip_ws(&mut self) {
        while matches!(self.text.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn skip_comma(&mut self) {
        self.skip_ws();
        if self.text.get(self.pos) == Some(&b',') {
            self.pos += 1;
        }
        self.skip_ws();
    }

    fn value_inner(&mut self, resolve: &mut Resolve) -> Result<Value, DecodeError> {
        self.skip_ws();
        let build = matches!(resolve, Resolve::Build { .. });
        match self.text.get(self.pos).copied() {
            Some(b'{') => self.object(resolve),
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                let mut items = Vec::new();
                while self.text.get(self.pos).is_some_and(|&b| b != b']') {
                    let item = self.value(resolve)?;
                    if build {
                        items.push(item);
                    }
                    self.skip_comma();
                }
                self.pos += 1;
                Ok(Value::Array(items))
            }
            Some(b'"') => {
                let token = self.string_token();
                Ok(if build {
                    Value::String(unescape(token))
                } else {
                    Value::Null
                })
            }
            _ => {
                let token = self.scalar_token();
                Ok(match token {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    number => serde_json::from_str(number)
                        .map(Value::Number)
                        .unwrap_or(Value::Null),
                })
            }
        }
    }

    /// Skips one value, returning its text.
    fn skip_value(&mut self) -> &'t [u8] {
        self.skip_ws();
        let start = self.pos;
        match self.text.get(self.pos).copied() {
            Some(b'"') => {
                self.string_token();
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(&b) = self.text.get(self.pos) {
                    match b {
                        b'"' => {
                            self.string_token();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                    self.pos += 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            _ => {
                self.scalar_token();
            }
        }
        &self.text[start..self.pos]
    }

    /// An object: a placeholder when its last `_placeholder` member is
    /// `true`, else an object whose members may hold placeholders. A key given
    /// more than once keeps its first position and its last value, as in
    /// `JSON.parse`, so only that value is walked.
    fn object(&mut self, resolve: &mut Resolve) -> Result<Value, DecodeError> {
        self.pos += 1;
        self.skip_ws();
        let mut members: Vec<(String, usize)> = Vec::new();
        let mut placeholder = false;
        let mut num: Option<f64> = None;
        while self.text.get(self.pos).is_some_and(|&b| b != b'}') {
            let key = unescape(self.string_token());
            self.skip_ws();
            self.pos += 1;
            self.skip_ws();
            let value_at = self.pos;
            let value = self.skip_value();
            match key.as_str() {
                "_placeholder" => placeholder = value == b"true",
                "num" => {
                    num = match value.first() {
                        Some(b'-' | b'0'..=b'9') => {
                            std::str::from_utf8(value).ok().and_then(|v| v.parse().ok())
                        }
                        _ => None,
                    }
                }
                _ => {}
            }
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value_at,
                None => members.push((key, value_at)),
            }
            self.skip_comma();
        }
        let end = self.pos + 1;
        if placeholder {
            self.pos = end;
            return self.placeholder(num, resolve);
        }
        let build = matches!(resolve, Resolve::Build { .. });
        let mut entries = Vec::with_capacity(if build { members.len() } else { 0 });
        for (key, value_at) in members {
            self.pos = value_at;
            let value = self.value(resolve)?;
            if build {
                entries.push((key, value));
            }
        }
        self.pos = end;
        Ok(Value::Object(entries))
    }

    fn placeholder(
        &mut self,
        num: Option<f64>,
        resolve: &mut Resolve,
    ) -> Result<Value, DecodeError> {
        let index = match num {
            Some(n) if n >= 0.0 && n < resolve.attachments() as f64 => n,
            _ => return Err(DecodeError::IllegalPlaceholder),
        };
        if index.fract() != 0.0 {
            // JavaScript reads `buffers[0.5]` as `undefined`, which JSON writes as null.
            return match self.profile {
                Profile::Strict => Err(DecodeError::IllegalPlaceholder),
                Profile::Compat => Ok(Value::Null),
            };
        }
        Ok(resolve.take(index as usize))
    }

    fn string_token(&mut self) -> &'t [u8] {
        let start = self.pos;
        self.pos += 1;
        while let Some(&b) = self.text.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => break,
                _ => {}
            }
        }
        self.pos = self.pos.min(self.text.len());
        &self.text[start..self.pos]
    }

    fn scalar_token(&mut self) -> &'t str {
        let start = self.pos;
        while self
            .text
            .get(self.pos)
            .is_some_and(|b| !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("null")
    }
}

/// The text of a JSON string token (quotes included); lone surrogate
/// escapes, which JavaScript keeps, become U+FFFD.
fn unescape(token: &[u8]) -> String {
    let inner = token
        .get(1..token.len().saturating_sub(1))
        .unwrap_or_default();
    let inner = std::str::from_utf8(inner).unwrap_or_default();
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let mut pending_high: Option<u16> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_high(&mut pending_high, &mut out);
            out.push(c);
            continue;
        }
        let escaped = chars.next().unwrap_or('\\');
        if escaped != 'u' {
            flush_high(&mut pending_high, &mut out);
            out.push(match escaped {
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                other => other,
            });
            continue;
        }
        let hex: String = chars.by_ref().take(4).collect();
        let unit = u16::from_str_radix(&hex, 16).unwrap_or(0xfffd);
        match (pending_high.take(), unit) {
            (Some(high), 0xdc00..=0xdfff) => {
                let code =
                    0x10000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(unit) - 0xdc00);
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            (previous, 0xd800..=0xdbff) => {
                if previous.is_some() {
                    out.push('\u{fffd}');
                }
                pending_high = Some(unit);
            }
            (previous, unit) => {
                if previous.is_some() {
                    out.push('\u{fffd}');
                }
                out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'));
            }
        }
    }
    flush_high(&mut pending_high, &mut out);
    out
}

fn flush_high(pending: &mut Option<u16>, out: &mut String) {
    if pending.take().is_some() {
        out.push('\u{fffd}');
    }
}
