//! The JSON payload: validated once, kept as the raw slice, read on demand.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::PayloadError;
use super::{PacketType, Version, RESERVED_EVENTS};
use crate::Profile;

/// A validated JSON value, borrowed from the packet it came in.
///
/// ```
/// use siospec_codec::socket::Json;
///
/// let json = Json::parse(r#" {"token":"123"} "#).unwrap();
/// assert_eq!(json.as_str(), r#"{"token":"123"}"#);
/// assert_eq!(json.to_value().unwrap()["token"], "123");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Json<'a>(&'a str);

impl<'a> Json<'a> {
    /// Validates `text` as one JSON value (surrounding white space allowed).
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let raw: &'a RawValue = serde_json::from_str(text)?;
        Ok(Json(raw.get()))
    }

    pub(crate) fn from_validated(text: &'a str) -> Self {
        Json(text)
    }

    /// The JSON text, without surrounding white space.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The value as a `serde_json::Value` (allocates; fails beyond
    /// serde_json's nesting limit of 128 and for numbers outside the f64 range).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.0)
    }

    /// Deserialises the value into `T`, borrowing where `T` can.
    ///
    /// ```
    /// use siospec_codec::socket::Json;
    ///
    /// let (name, n): (&str, u32) = Json::parse(r#"["add",2]"#).unwrap().deserialize().unwrap();
    /// assert_eq!((name, n), ("add", 2));
    /// ```
    pub fn deserialize<T: Deserialize<'a>>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0)
    }

    /// The first element of an array when it is a string.
    pub(crate) fn first_string(&self) -> Result<Option<Cow<'a, str>>, serde_json::Error> {
        match first_element(self.0) {
            Some(token) if token.starts_with('"') => {
                serde_json::from_str::<Cow<'a, str>>(token).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// The text of the first element of the JSON array `array`, which must be
/// valid JSON, or `None` when it is empty or not an array.
fn first_element(array: &str) -> Option<&str> {
    let rest = array
        .strip_prefix('[')?
        .trim_start_matches([' ', '\t', '\n', '\r']);
    let bytes = rest.as_bytes();
    let end = match *bytes.first()? {
        b']' => return None,
        b'"' => {
            let mut i = 1;
            loop {
                match *bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'[' | b'{' => return Some(&rest[..1]),
        _ => bytes
            .iter()
            .position(|b| matches!(b, b',' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(bytes.len()),
    };
    Some(&rest[..end])
}

/// How a packet type constrains its payload.
pub(crate) fn check_shape(
    kind: PacketType,
    json: &str,
    version: Version,
    profile: Profile,
) -> Result<(), PayloadError> {
    let first = json.as_bytes().first().copied();
    let ok = match kind {
        PacketType::Connect => first == Some(b'{'),
        PacketType::Disconnect => return Err(PayloadError::DisconnectWithPayload),
        PacketType::ConnectError => match (version, profile) {
            (Version::V4, Profile::Compat) => true,
            (Version::V5, Profile::Strict) => first == Some(b'{'),
            _ => matches!(first, Some(b'{' | b'"')),
        },
        PacketType::Ack | PacketType::BinaryAck => first == Some(b'['),
        PacketType::Event | PacketType::BinaryEvent => return check_event(json),
    };
    if ok {
        Ok(())
    } else {
        Err(match kind {
            PacketType::Connect => PayloadError::ConnectNotObject,
            PacketType::ConnectError if (version, profile) == (Version::V5, Profile::Strict) => {
                PayloadError::ConnectErrorNotObject
            }
            PacketType::ConnectError => PayloadError::ConnectErrorShape,
            _ => PayloadError::AckNotArray,
        })
    }
}

/// Longest JSON string token that could still spell a reserved name
/// (`removeListener` with every character escaped as `\uXXXX`, plus quotes).
const MAX_RESERVED_TOKEN: usize = 14 * 6 + 2;

fn check_event(json: &str) -> Result<(), PayloadError> {
    let first = first_element(json).ok_or(PayloadError::EventShape)?;
    match first.as_bytes()[0] {
        b'"' if first.len() <= MAX_RESERVED_TOKEN => {
            match serde_json::from_str::<Cow<'_, str>>(first) {
                Ok(name) if RESERVED_EVENTS.contains(&name.as_ref()) => {
                    Err(PayloadError::ReservedEventName)
                }
                _ => Ok(()),
            }
        }
        b'"' | b'-' | b'0'..=b'9' => Ok(()),
        _ => Err(PayloadError::EventShape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_element_finds_the_token() {
        assert_eq!(first_element(r#"["a\"b",1]"#), Some(r#""a\"b""#));
        assert_eq!(first_element("[ 12 ,3]"), Some("12"));
        assert_eq!(first_element("[-1]"), Some("-1"));
        assert_eq!(first_element("[]"), None);
        assert_eq!(first_element("[{}]"), Some("{"));
        assert_eq!(first_element("{}"), None);
    }

    #[test]
    fn reserved_names_are_found_through_escapes() {
        assert_eq!(
            check_event(r#"["\u0063onnect"]"#),
            Err(PayloadError::ReservedEventName)
        );
        assert_eq!(check_event(r#"["connect "]"#), Ok(()));
        assert_eq!(check_event(r#"["\ud800"]"#), Ok(()));
        assert_eq!(check_event("[null]"), Err(PayloadError::EventShape));
        assert_eq!(check_event("[true]"), Err(PayloadError::EventShape));
    }
}
