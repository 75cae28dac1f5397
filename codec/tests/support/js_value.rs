//! A model of what `JSON.parse` (and socket.io-parser's placeholder
//! reconstruction) makes of JSON text, rendered with the fixture markers of
//! fixtures/README.md (`$binary`, `$number`, `$utf16`, `$undefined`, `$object`).
//!
//! It is test code: an independent reading of the JavaScript semantics,
//! used as the expected side when comparing the codec with the vectors.

use serde_json::{json, Map, Value};
use siospec_codec::socket::{self, binary, AckId};

/// `String(n)` for a JavaScript number, via the codec's encoder of lossy ack ids.
pub fn write_js_number(n: f64, out: &mut Vec<u8>) {
    let p = socket::Packet {
        kind: socket::PacketType::Event,
        namespace: "/",
        ack_id: Some(AckId::Lossy(n)),
        attachments: 0,
        payload: None,
    };
    let mut buf = Vec::new();
    socket::encode(&p, &mut buf);
    out.extend_from_slice(&buf[1..]);
}

/// Parses `text` (valid JSON) as JavaScript would; with `attachments`,
/// resolves placeholders the way the official reconstruction does.
pub fn from_json(text: &str, attachments: Option<&[Vec<u8>]>) -> Value {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value();
    match attachments {
        Some(a) => resolve(v, a),
        None => render(v),
    }
}

/// A parsed JavaScript value.
#[derive(Debug, Clone)]
enum Js {
    Null,
    Bool(bool),
    Number(f64),
    Str(Vec<u16>),
    Array(Vec<Js>),
    Object(Vec<(Vec<u16>, Js)>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Js {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut entries: Vec<(Vec<u16>, Js)> = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b'}' {
                        self.i += 1;
                        break;
                    }
                    if self.s[self.i] == b',' {
                        self.i += 1;
                        continue;
                    }
                    let key = self.string();
                    self.ws();
                    self.i += 1;
                    let v = self.value();
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(e) => e.1 = v,
                        None => entries.push((key, v)),
                    }
                }
                // Integer-like keys come first, ascending, as in JavaScript objects.
                let (mut ints, rest): (Vec<_>, Vec<_>) = entries
                    .into_iter()
                    .partition(|(k, _)| array_index(k).is_some());
                ints.sort_by_key(|(k, _)| array_index(k));
                ints.extend(rest);
                Js::Object(ints)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.s[self.i] {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        b',' => self.i += 1,
                        _ => items.push(self.value()),
                    }
                }
                Js::Array(items)
            }
            b'"' => Js::Str(self.string()),
            b't' => {
                self.i += 4;
                Js::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Js::Bool(false)
            }
            b'n' => {
                self.i += 4;
                Js::Null
            }
            _ => {
                let start = self.i;
                while matches!(
                    self.s.get(self.i),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let token = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
                Js::Number(token.parse().expect("number"))
            }
        }
    }

    fn string(&mut self) -> Vec<u16> {
        self.i += 1;
        let mut units = Vec::new();
        loop {
            let b = self.s[self.i];
            match b {
                b'"' => {
                    self.i += 1;
                    return units;
                }
                b'\\' => {
                    let e = self.s[self.i + 1];
                    self.i += 2;
                    match e {
                        b'u' => {
                            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).expect("hex");
                            units.push(u16::from_str_radix(h, 16).expect("hex"));
                            self.i += 4;
                        }
                        b'b' => units.push(8),
                        b'f' => units.push(12),
                        b'n' => units.push(10),
                        b'r' => units.push(13),
                        b't' => units.push(9),
                        other => units.push(u16::from(other)),
                    }
                }
                _ => {
                    let rest = std::str::from_utf8(&self.s[self.i..]).unwrap_or_else(|e| {
                        std::str::from_utf8(&self.s[self.i..self.i + e.valid_up_to()])
                            .expect("utf8")
                    });
                    let c = rest.chars().next().expect("char");
                    let mut buf = [0u16; 2];
                    units.extend_from_slice(c.encode_utf16(&mut buf));
                    self.i += c.len_utf8();
                }
            }
        }
    }
}

/// The index of an integer-like property key (`"0"` … `"4294967294"`, no leading zeros).
fn array_index(key: &[u16]) -> Option<u32> {
    let s = String::from_utf16(key).ok()?;
    let n: u32 = s.parse().ok()?;
    (n != u32::MAX && n.to_string() == s).then_some(n)
}

fn string_marker(units: &[u16]) -> Value {
    match String::from_utf16(units) {
        Ok(s) => Value::String(s),
        Err(_) => json!({ "$utf16": units }),
    }
}

fn number_marker(n: f64) -> Value {
    if n.is_infinite() {
        json!({ "$number": if n > 0.0 { "Infinity" } else { "-Infinity" } })
    } else if n == 0.0 && n.is_sign_negative() {
        json!({ "$number": "-0" })
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn render(v: Js) -> Value {
    render_with(v, &mut |_| None)
}

/// The members of a JavaScript object, keys as UTF-16.
type Members = [(Vec<u16>, Js)];

fn render_with(v: Js, placeholder: &mut dyn FnMut(&Members) -> Option<Value>) -> Value {
    match v {
        Js::Null => Value::Null,
        Js::Bool(b) => Value::Bool(b),
        Js::Number(n) => number_marker(n),
        Js::Str(units) => string_marker(&units),
        Js::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| render_with(i, placeholder))
                .collect(),
        ),
        Js::Object(entries) => {
            if let Some(v) = placeholder(&entries) {
                return v;
            }
            let marked = entries.iter().any(|(k, _)| {
                let s = String::from_utf16(k);
                s.as_deref()
                    .map_or(true, |s| s.starts_with('$') || s == "__proto__")
            });
            if marked {
                let pairs = entries
                    .into_iter()
                    .map(|(k, v)| json!([string_marker(&k), render_with(v, placeholder)]))
                    .collect::<Vec<_>>();
                return json!({ "$object": pairs });
            }
            let mut map = Map::new();
            for (k, v) in entries {
                map.insert(
                    String::from_utf16(&k).expect("checked"),
                    render_with(v, placeholder),
                );
            }
            Value::Object(map)
        }
    }
}

fn resolve(v: Js, attachments: &[Vec<u8>]) -> Value {
    let key = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    let (placeholder_key, num_key) = (key("_placeholder"), key("num"));
    render_with(v, &mut |entries| {
        let is_placeholder = entries
            .iter()
            .any(|(k, v)| *k == placeholder_key && matches!(v, Js::Bool(true)));
        if !is_placeholder {
            return None;
        }
        let num = entries
            .iter()
            .find(|(k, _)| *k == num_key)
            .and_then(|(_, v)| match v {
                Js::Number(n) => Some(*n),
                _ => None,
            })?;
        Some(if num.fract() == 0.0 {
            let bytes = &attachments[num as usize];
            json!({ "$binary": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() })
        } else {
            json!({ "$undefined": true })
        })
    })
}

/// The fixture rendering back as the codec's data model, as the official
/// encoder would serialise it: `None` when it holds a lone surrogate.
pub fn to_binary_value(v: &Value) -> Option<binary::Value> {
    Some(match v {
        Value::Null => binary::Value::Null,
        Value::Bool(b) => binary::Value::Bool(*b),
        Value::Number(n) => binary::Value::Number(n.clone()),
        Value::String(s) => binary::Value::String(s.clone()),
        Value::Array(items) => binary::Value::Array(
            items
                .iter()
                .map(|i| {
                    if i.get("$undefined").is_some() {
                        Some(binary::Value::Null)
                    } else {
                        to_binary_value(i)
                    }
                })
                .collect::<Option<_>>()?,
        ),
        Value::Object(o) => {
            if let Some(hex) = o.get("$binary").and_then(Value::as_str) {
                return Some(binary::Value::Binary(super::unhex(hex)));
            }
            if let Some(n) = o.get("$number").and_then(Value::as_str) {
                return Some(if n == "-0" {
                    binary::Value::Number(0.into())
                } else {
                    binary::Value::Null
                });
            }
            if o.contains_key("$utf16") {
                return None;
            }
            if let Some(pairs) = o.get("$object").and_then(Value::as_array) {
                let mut entries = Vec::new();
                for pair in pairs {
                    let k = pair[0].as_str()?.to_owned();
                    if pair[1].get("$undefined").is_some() {
                        continue;
                    }
                    entries.push((k, to_binary_value(&pair[1])?));
                }
                return Some(binary::Value::Object(entries));
            }
            let mut entries = Vec::new();
            for (k, v) in o {
                if v.get("$undefined").is_some() {
                    continue;
                }
                entries.push((k.clone(), to_binary_value(v)?));
            }
            binary::Value::Object(entries)
        }
    })
}

/// Numbers as f64, so `1` and `1.0` compare equal.
pub fn canon(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(canon).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
        other => other.clone(),
    }
}
