//! Event and ack data as the Socket.IO machines hand it over, and how it is
//! written back.

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::socket::binary::{self, Value};
use crate::socket::{self, AckId, DecodeError, Json, PacketType, RESERVED_EVENTS};
use crate::{Limits, Profile};

/// The JSON payload of a received event, ack or CONNECT, with the binary
/// attachments that replaced its placeholders.
///
/// The JSON is kept as received (placeholders included), so it can be
/// compared byte for byte or sent back unchanged; [`to_value`](Self::to_value)
/// builds the data with the attachments in place.
///
/// ```
/// use siospec_codec::session::socket::Payload;
/// use siospec_codec::socket::binary::Value;
///
/// let p = Payload::text(r#"["message",1,"2",{"3":[true]}]"#);
/// assert_eq!(p.event_name().as_deref(), Some("message"));
/// assert_eq!(p.elements().unwrap()[1..], ["1", "\"2\"", r#"{"3":[true]}"#]);
/// let Value::Array(items) = p.to_value().unwrap() else { unreachable!() };
/// assert_eq!(items.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    json: Option<String>,
    attachments: Vec<Vec<u8>>,
    binary: bool,
    profile: Profile,
    max_depth: usize,
}

impl Payload {
    /// A payload of a text packet (no attachments).
    pub fn text(json: impl Into<String>) -> Self {
        Payload {
            json: Some(json.into()),
            attachments: Vec::new(),
            binary: false,
            profile: Profile::Compat,
            max_depth: Limits::default().max_json_depth,
        }
    }

    pub(crate) fn new(
        json: Option<String>,
        attachments: Vec<Vec<u8>>,
        binary: bool,
        profile: Profile,
        max_depth: usize,
    ) -> Self {
        Payload {
            json,
            attachments,
            binary,
            profile,
            max_depth,
        }
    }

    /// The JSON as received (without surrounding white space), placeholders
    /// included; `None` when the packet carried none (`42`).
    pub fn json(&self) -> Option<&str> {
        self.json.as_deref()
    }

    /// The attachments, in order (binary packets only).
    pub fn attachments(&self) -> &[Vec<u8>] {
        &self.attachments
    }

    /// `true` when the packet was a binary one (`5`/`6`).
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// The elements of the JSON array, each as its exact text; `None` when
    /// the payload is not an array.
    pub fn elements(&self) -> Option<Vec<&str>> {
        let json = self.json.as_deref()?;
        let items: Vec<&RawValue> = serde_json::from_str(json).ok()?;
        Some(items.into_iter().map(RawValue::get).collect())
    }

    /// The event name when the first element is a string.
    pub fn event_name(&self) -> Option<String> {
        let first = *self.elements()?.first()?;
        serde_json::from_str::<String>(first).ok()
    }

    /// The data as a [`Value`], attachments in place of their placeholders
    /// (binary packets only; placeholders in a text packet stay objects, as
    /// in the official decoder). Object keys keep their order. `Null` when
    /// there is no payload.
    pub fn to_value(&self) -> Result<Value, DataError> {
        let Some(json) = self.json.as_deref() else {
            return Ok(Value::Null);
        };
        if self.binary {
            binary::reconstruct(json, self.attachments.clone(), self.profile, self.max_depth)
                .map_err(DataError::Attachments)
        } else {
            plain_value(json)
        }
    }

    /// The event's arguments (every element after the name) as values.
    pub fn args(&self) -> Result<Vec<Value>, DataError> {
        match self.to_value()? {
            Value::Array(mut items) if !items.is_empty() => {
                items.remove(0);
                Ok(items)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The payload of an ack: every element, as values.
    pub fn items(&self) -> Result<Vec<Value>, DataError> {
        match self.to_value()? {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Ok(vec![other]),
        }
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json.as_deref().unwrap_or(""))?;
        if !self.attachments.is_empty() {
            write!(f, " + {} attachment(s)", self.attachments.len())?;
        }
        Ok(())
    }
}

/// Reads validated JSON into a [`Value`], keeping object keys in order
/// (a repeated key keeps its first position and its last value). Nesting is
/// bounded by serde_json's recursion limit (128).
pub(crate) fn plain_value(json: &str) -> Result<Value, DataError> {
    let mut de = serde_json::Deserializer::from_str(json);
    OrderedValue::deserialize(&mut de)
        .map(|v| v.0)
        .map_err(|e| DataError::Json(e.to_string()))
}

/// Why [`Payload::to_value`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The attachments do not match the placeholders.
    Attachments(DecodeError),
    /// The JSON cannot be read as a value (nesting beyond 128, a number
    /// beyond the f64 range).
    Json(String),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Attachments(e) => write!(f, "attachments: {e:?}"),
            DataError::Json(e) => write!(f, "json: {e}"),
        }
    }
}

impl std::error::Error for DataError {}

struct OrderedValue(Value);

impl<'de> Deserialize<'de> for OrderedValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(OrderedValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(OrderedValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some((k, OrderedValue(v))) = map.next_entry::<String, OrderedValue>()? {
            match entries.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(Value::Object(entries))
    }
}

/// Checks that `data` can be an event: a non-empty array whose first
/// element is a number or a string that is not reserved.
pub(crate) fn check_event_value(data: &Value) -> bool {
    match data {
        Value::Array(items) => match items.first() {
            Some(Value::Number(_)) => true,
            Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
            _ => false,
        },
        _ => false,
    }
}

/// Checks raw event JSON the same way.
pub(crate) fn check_event_json(json: &str) -> bool {
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(json) else {
        return false;
    };
    match items.first().map(|v| v.get()) {
        None => false,
        Some(first) if first.starts_with('"') => serde_json::from_str::<String>(first)
            .is_ok_and(|name| !RESERVED_EVENTS.contains(&name.as_str())),
        Some(first) => first.starts_with(|c: char| c == '-' || c.is_ascii_digit()),
    }
}

/// The Engine.IO messages of one Socket.IO packet: the text, then the attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub(crate) text: String,
    pub(crate) attachments: Vec<Vec<u8>>,
}

/// Encodes an event or ack from a value (binary leaves become attachments).
pub(crate) fn encode_value(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    data: &Value,
) -> Encoded {
    let mut out = Vec::new();
    let attachments = binary::encode(kind, namespace, ack_id, data, &mut out);
    Encoded {
        text: String::from_utf8_lossy(&out).into_owned(),
        attachments: attachments.into_iter().map(<[u8]>::to_vec).collect(),
    }
}

/// Encodes a packet from raw JSON plus attachments (the JSON already holds
/// the placeholders). `None` when `json` is not valid JSON.
pub(crate) fn encode_raw(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    json: Option<&str>,
    attachments: Vec<Vec<u8>>,
) -> Option<Encoded> {
    let payload = match json {
        Some(j) => Some(Json::parse(j).ok()?),
        None => None,
    };
    let kind = match (kind, attachments.is_empty()) {
        (PacketType::Event, false) => PacketType::BinaryEvent,
        (PacketType::Ack, false) => PacketType::BinaryAck,
        (other, _) => other,
    };
    let packet = socket::Packet {
        kind,
        namespace,
        ack_id,
        attachments: attachments.len(),
        payload,
    };
    let mut out = Vec::new();
    socket::encode(&packet, &mut out);
    Some(Encoded {
        text: String::from_utf8_lossy(&out).into_owned(),
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_keep_key_order_and_placeholders() {
        let p = Payload::text(r#"[{"b":1,"a":2,"b":3},{"_placeholder":true,"num":0}]"#);
        let v = p.to_value().unwrap();
        let Value::Array(items) = v else { panic!() };
        assert_eq!(
            items[0],
            Value::Object(vec![
                ("b".into(), Value::Number(3.into())),
                ("a".into(), Value::Number(2.into()))
            ])
        );
        assert!(matches!(&items[1], Value::Object(e) if e.len() == 2));
    }

    #[test]
    fn binary_payloads_are_reconstructed() {
        let p = Payload::new(
            Some(r#"["x",{"_placeholder":true,"num":0}]"#.into()),
            vec![vec![1, 2]],
            true,
            Profile::Compat,
            100,
        );
        assert_eq!(p.args().unwrap(), vec![Value::Binary(vec![1, 2])]);
    }

    #[test]
    fn event_checks() {
        assert!(check_event_json(r#"["a",1]"#));
        assert!(check_event_json(r#"[1,2]"#));
        assert!(!check_event_json(r#"["connect"]"#));
        assert!(!check_event_json(r#"[]"#));
        assert!(!check_event_json(r#"{}"#));
        assert!(!check_event_json(r#"[true]"#));
        assert!(check_event_value(&Value::Array(vec![Value::String(
            "a".into()
        )])));
        assert!(!check_event_value(&Value::Array(vec![Value::String(
            "disconnect".into()
        )])));
    }

    #[test]
    fn raw_encoding_picks_the_binary_type() {
        let e = encode_raw(
            PacketType::Event,
            "/x",
            Some(AckId::Exact(3)),
            Some(r#"["a",{"_placeholder":true,"num":0}]"#),
            vec![vec![9]],
        )
        .unwrap();
        assert_eq!(e.text, r#"51-/x,3["a",{"_placeholder":true,"num":0}]"#);
        assert!(encode_raw(PacketType::Event, "/", None, Some("[nope"), vec![]).is_none());
    }
}
