//! `decodeString` of socket.io-parser, step by step.

use serde_json::value::RawValue;

use super::error::{DecodeError, PayloadError};
use super::json::{check_shape, Json};
use super::{AckId, Packet, PacketType, Version};
use crate::{js, Limits, Profile};

/// Decodes one text packet.
///
/// The steps are those of socket.io-parser 4.2.7: type, attachment count
/// (binary types), namespace, ack id, then the JSON payload, validated for
/// the type. `Compat` reads the type and ack id through JavaScript's
/// `Number`, as the official decoder does: an empty string is a `CONNECT`,
/// and white space counts as a digit of the ack id.
///
/// ```
/// use siospec_codec::socket::{self, AckId, PacketType, Version};
/// use siospec_codec::{Limits, Profile};
///
/// let limits = Limits::default();
/// let p = socket::decode(r#"61-15["bar",{"_placeholder":true,"num":0}]"#, Version::V5, Profile::Strict, &limits).unwrap();
/// assert_eq!((p.kind, p.attachments, p.ack_id), (PacketType::BinaryAck, 1, Some(AckId::Exact(15))));
///
/// assert_eq!(socket::decode("", Version::V5, Profile::Compat, &limits).unwrap().kind, PacketType::Connect);
/// assert!(socket::decode("", Version::V5, Profile::Strict, &limits).is_err());
/// assert!(socket::decode(r#"2["disconnect"]"#, Version::V5, Profile::Compat, &limits).is_err());
/// ```
pub fn decode<'a>(
    text: &'a str,
    version: Version,
    profile: Profile,
    limits: &Limits,
) -> Result<Packet<'a>, DecodeError> {
    let mut cursor = Cursor { text, pos: 0 };
    let kind = cursor.packet_type(profile)?;
    let attachments = if kind.is_binary() {
        cursor.attachments(profile, limits)?
    } else {
        0
    };
    let namespace = cursor.namespace(limits)?;
    let ack_at = cursor.pos;
    let ack_id = cursor.ack_id(profile, limits)?;
    let payload_at = cursor.pos;
    let payload = match &text[cursor.pos..] {
        "" => None,
        rest => Some(parse_payload(kind, rest, payload_at, version, profile)?),
    };
    if profile == Profile::Strict {
        check_strict_shape(kind, ack_id, payload.is_some(), ack_at, payload_at)?;
    }
    Ok(Packet {
        kind,
        namespace,
        ack_id,
        attachments,
        payload,
    })
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// `Number(str.charAt(0))`: a digit, or 0 for white space and the empty string.
    fn packet_type(&mut self, profile: Profile) -> Result<PacketType, DecodeError> {
        let unknown = DecodeError::UnknownType { offset: 0 };
        let Some(c) = self.peek() else {
            return if profile == Profile::Compat {
                Ok(PacketType::Connect)
            } else {
                Err(unknown)
            };
        };
        self.pos = c.len_utf8();
        match c {
            '0'..='6' => PacketType::from_digit(c as u8).ok_or(unknown),
            c if profile == Profile::Compat && js::is_whitespace(c) => Ok(PacketType::Connect),
            _ => Err(unknown),
        }
    }

    /// The count before `-`: `Number(count)` must be an integer from 1 to the limit.
    fn attachments(&mut self, profile: Profile, limits: &Limits) -> Result<usize, DecodeError> {
        let start = self.pos;
        let illegal = DecodeError::IllegalAttachments { offset: start };
        let dash = memchr::memchr(b'-', &self.text.as_bytes()[start..]).ok_or(illegal.clone())?;
        let count = &self.text[start..start + dash];
        self.pos = start + dash + 1;
        let value = match profile {
            Profile::Compat => js::string_to_number(count),
            Profile::Strict => {
                let canonical = !count.is_empty()
                    && count.len() <= 20
                    && count.bytes().all(|b| b.is_ascii_digit())
                    && !count.starts_with('0');
                if !canonical {
                    return Err(illegal);
                }
                count.parse::<f64>().unwrap_or(f64::NAN)
            }
        };
        if !(value.fract() == 0.0 && value >= 1.0) {
            return Err(illegal);
        }
        if value > limits.max_attachments as f64 {
            return Err(DecodeError::TooManyAttachments {
                limit: limits.max_attachments,
            });
        }
        Ok(value as usize)
    }

    /// From `/` to the next `,` (consumed) or the end; `/` when absent.
    fn namespace(&mut self, limits: &Limits) -> Result<&'a str, DecodeError> {
        let rest = &self.text.as_bytes()[self.pos..];
        if rest.first() != Some(&b'/') {
            return Ok("/");
        }
        let start = self.pos;
        let (len, consumed) = match memchr::memchr(b',', rest) {
            Some(comma) => (comma, comma + 1),
            None => (rest.len(), rest.len()),
        };
        if len > limits.max_namespace_len {
            return Err(DecodeError::NamespaceTooLong {
                limit: limits.max_namespace_len,
            });
        }
        self.pos += consumed;
        Ok(&self.text[start..start + len])
    }

    /// The run of characters `c` with `Number(c) == c`: digits, and in
    /// `Compat` white space too, converted with `Number`.
    fn ack_id(&mut self, profile: Profile, limits: &Limits) -> Result<Option<AckId>, DecodeError> {
        let start = self.pos;
        let is_part =
            |c: char| c.is_ascii_digit() || (profile == Profile::Compat && js::is_whitespace(c));
        let mut chars = 0usize;
        let mut end = start;
        for c in self.text[start..].chars().take_while(|&c| is_part(c)) {
            chars += 1;
            if chars > limits.max_ack_id_digits {
                return Err(DecodeError::AckIdTooLong {
                    limit: limits.max_ack_id_digits,
                });
            }
            end += c.len_utf8();
        }
        if end == start {
            return Ok(None);
        }
        self.pos = end;
        let digits = &self.text[start..end];
        let value = js::string_to_number(digits);
        let exact = js::is_safe_integer(value);
        if profile == Profile::Strict && (!exact || (digits.len() > 1 && digits.starts_with('0'))) {
            return Err(DecodeError::InvalidAckId { offset: start });
        }
        Ok(Some(if exact {
            AckId::Exact(value as u64)
        } else {
            AckId::Lossy(value)
        }))
    }
}

fn parse_payload<'a>(
    kind: PacketType,
    rest: &'a str,
    offset: usize,
    version: Version,
    profile: Profile,
) -> Result<Json<'a>, DecodeError> {
    let invalid = |reason| DecodeError::InvalidPayload { offset, reason };
    // serde_json validates a raw value without recursing, at any depth, and
    // accepts what `JSON.parse` accepts (lone surrogate escapes, 1e400).
    let raw: &'a RawValue =
        serde_json::from_str(rest).map_err(|_| invalid(PayloadError::Syntax))?;
    let json = raw.get();
    if profile == Profile::Strict && json.len() != rest.len() {
        return Err(invalid(PayloadError::Syntax));
    }
    check_shape(kind, json, version, profile).map_err(invalid)?;
    Ok(Json::from_validated(json))
}

/// The rules the protocol text states and the official decoder does not check.
fn check_strict_shape(
    kind: PacketType,
    ack_id: Option<AckId>,
    has_payload: bool,
    ack_at: usize,
    payload_at: usize,
) -> Result<(), DecodeError> {
    let carries_ack = matches!(kind, PacketType::Event | PacketType::BinaryEvent);
    let is_ack = matches!(kind, PacketType::Ack | PacketType::BinaryAck);
    if (ack_id.is_some() && !carries_ack && !is_ack) || (is_ack && ack_id.is_none()) {
        return Err(DecodeError::InvalidAckId { offset: ack_at });
    }
    if (carries_ack || is_ack) && !has_payload {
        return Err(DecodeError::InvalidPayload {
            offset: payload_at,
            reason: PayloadError::Missing,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compat(text: &str) -> Result<Packet<'_>, DecodeError> {
        decode(text, Version::V5, Profile::Compat, &Limits::default())
    }

    fn strict(text: &str) -> Result<Packet<'_>, DecodeError> {
        decode(text, Version::V5, Profile::Strict, &Limits::default())
    }

    fn payload_error(text: &str) -> PayloadError {
        match compat(text) {
            Err(DecodeError::InvalidPayload { reason, .. }) => reason,
            other => panic!("{text:?}: expected invalid payload, got {other:?}"),
        }
    }

    #[test]
    fn spec_examples_decode() {
        let p = strict(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#).unwrap();
        assert_eq!((p.kind, p.namespace), (PacketType::Connect, "/admin"));
        assert_eq!(
            strict(r#"4{"message":"Not authorized"}"#).unwrap().kind,
            PacketType::ConnectError
        );
        assert_eq!(strict(r#"2["foo"]"#).unwrap().kind, PacketType::Event);
        assert_eq!(strict("1/admin,").unwrap().namespace, "/admin");
        assert_eq!(strict("1").unwrap().payload, None);
        assert_eq!(
            strict(r#"212["foo"]"#).unwrap().ack_id,
            Some(AckId::Exact(12))
        );
        let p = strict(r#"3/admin,13["bar"]"#).unwrap();
        assert_eq!(
            (p.kind, p.ack_id),
            (PacketType::Ack, Some(AckId::Exact(13)))
        );
        assert_eq!(
            strict(
                r#"52-/admin,["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
            )
            .unwrap()
            .attachments,
            2
        );
    }

    #[test]
    fn namespace_ends_at_comma_or_end() {
        assert_eq!(compat("0/custom").unwrap().namespace, "/custom");
        assert_eq!(compat("0/custom,").unwrap().namespace, "/custom");
        assert_eq!(compat("2/,[\"a\"]").unwrap().namespace, "/");
        let limits = Limits {
            max_namespace_len: 3,
            ..Limits::default()
        };
        assert_eq!(
            decode("0/abcd,", Version::V5, Profile::Compat, &limits),
            Err(DecodeError::NamespaceTooLong { limit: 3 })
        );
    }

    #[test]
    fn type_rules() {
        assert_eq!(compat("").unwrap().kind, PacketType::Connect);
        assert_eq!(compat(" ").unwrap().kind, PacketType::Connect);
        assert_eq!(compat("\u{3000}").unwrap().kind, PacketType::Connect);
        assert_eq!(compat("999"), Err(DecodeError::UnknownType { offset: 0 }));
        assert_eq!(compat("abc"), Err(DecodeError::UnknownType { offset: 0 }));
        assert_eq!(strict(" "), Err(DecodeError::UnknownType { offset: 0 }));
    }

    #[test]
    fn attachment_count_rules() {
        for bad in ["5", "51", "5a-", "51.23-", "50-[\"a\"]", "5-[\"a\"]"] {
            assert!(
                matches!(compat(bad), Err(DecodeError::IllegalAttachments { .. })),
                "{bad}"
            );
        }
        for loose in [
            "5 1-[\"a\"]",
            "50x1-[\"a\"]",
            "51e0-[\"a\"]",
            "5+1-[\"a\"]",
            "51.0-[\"a\"]",
        ] {
            assert_eq!(compat(loose).unwrap().attachments, 1, "{loose}");
            assert!(strict(loose).is_err(), "{loose}");
        }
        assert_eq!(
            compat("511-[\"a\"]"),
            Err(DecodeError::TooManyAttachments { limit: 10 })
        );
        assert_eq!(compat("510-[\"a\"]").unwrap().attachments, 10);
    }

    #[test]
    fn ack_id_rules() {
        assert_eq!(compat("2 [\"a\"]").unwrap().ack_id, Some(AckId::Exact(0)));
        assert_eq!(compat("01{}").unwrap().ack_id, Some(AckId::Exact(1)));
        assert!(strict("01{}").is_err());
        let big = compat(r#"24299999999999999999999["a"]"#).unwrap().ack_id;
        assert_eq!(big, Some(AckId::Lossy(4.3e21)));
        assert!(strict(r#"24299999999999999999999["a"]"#).is_err());
        assert_eq!(
            compat(r#"29007199254740991["a"]"#).unwrap().ack_id,
            Some(AckId::Exact((1 << 53) - 1))
        );
        assert!(
            matches!(compat("21 2[\"a\"]").unwrap().ack_id, Some(AckId::Lossy(v)) if v.is_nan())
        );
        assert!(strict("3[]").is_err());
        let limits = Limits {
            max_ack_id_digits: 3,
            ..Limits::default()
        };
        assert_eq!(
            decode("21234[\"a\"]", Version::V5, Profile::Compat, &limits),
            Err(DecodeError::AckIdTooLong { limit: 3 })
        );
    }

    #[test]
    fn payload_rules_of_the_official_tests() {
        assert_eq!(payload_error(r#"442["some","data""#), PayloadError::Syntax);
        assert_eq!(
            payload_error(r#"0/admin,"invalid""#),
            PayloadError::ConnectNotObject
        );
        assert_eq!(payload_error("0[]"), PayloadError::ConnectNotObject);
        assert_eq!(payload_error("0null"), PayloadError::ConnectNotObject);
        assert_eq!(
            payload_error("1/admin,{}"),
            PayloadError::DisconnectWithPayload
        );
        assert_eq!(payload_error(r#"2/admin,"invalid"#), PayloadError::Syntax);
        assert_eq!(payload_error("2/admin,{}"), PayloadError::EventShape);
        assert_eq!(
            payload_error(r#"2[{"toString":"foo"}]"#),
            PayloadError::EventShape
        );
        assert_eq!(payload_error(r#"2[true,"foo"]"#), PayloadError::EventShape);
        assert_eq!(payload_error(r#"2[null,"bar"]"#), PayloadError::EventShape);
        assert_eq!(payload_error("2[]"), PayloadError::EventShape);
        assert_eq!(
            payload_error(r#"2["connect"]"#),
            PayloadError::ReservedEventName
        );
        assert_eq!(
            payload_error(r#"2["disconnect","123"]"#),
            PayloadError::ReservedEventName
        );
        assert_eq!(payload_error("3{}"), PayloadError::AckNotArray);
        assert_eq!(payload_error("4[]"), PayloadError::ConnectErrorShape);
        assert_eq!(
            payload_error(r#"2abc["message-with-ack",1]"#),
            PayloadError::Syntax
        );
        assert!(compat(r#"4"str""#).is_ok());
        assert!(compat("42").is_ok());
        assert!(compat("2[1,2]").is_ok());
        assert!(strict(r#"4"str""#).is_err());
        assert!(strict("2").is_err());
        assert!(strict("2 [\"a\"]").is_err());
        assert!(strict("2[\"a\"] ").is_err());
    }

    #[test]
    fn v4_error_packets_take_any_payload_in_compat() {
        assert!(decode("4[]", Version::V4, Profile::Compat, &Limits::default()).is_ok());
        assert!(decode("4[]", Version::V4, Profile::Strict, &Limits::default()).is_err());
        assert!(decode(
            r#"4"denied""#,
            Version::V4,
            Profile::Strict,
            &Limits::default()
        )
        .is_ok());
    }

    #[test]
    fn deep_json_is_accepted_like_json_parse() {
        let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert!(compat(&deep).is_ok());
    }
}
