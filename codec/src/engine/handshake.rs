//! The JSON object of the server's `open` packet.

use serde::{Deserialize, Serialize};

use crate::Profile;

/// The handshake the server sends in its `open` packet.
///
/// ```
/// use siospec_codec::engine::handshake::Handshake;
/// use siospec_codec::Profile;
///
/// let h = Handshake::decode(
///     r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
///     Profile::Strict,
/// ).unwrap();
/// assert_eq!(h.ping_interval, 25000);
/// let mut out = Vec::new();
/// h.encode(&mut out);
/// assert!(out.starts_with(br#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"]"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id every later request carries as `sid`.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` over polling, `[]` over WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between heartbeats.
    pub ping_interval: u64,
    /// Milliseconds the heartbeat answer may take.
    pub ping_timeout: u64,
    /// Most bytes per polling payload; absent in protocol 3 handshakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<u64>,
}

/// Why a handshake was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Not a JSON object with the required fields of the right types.
    Malformed {
        /// serde_json's description, with line and column.
        reason: String,
    },
    /// `Strict`: a key other than the five the protocol defines, or `maxPayload` missing.
    UnexpectedKeys,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Malformed { reason } => write!(f, "malformed handshake: {reason}"),
            HandshakeError::UnexpectedKeys => f.write_str(
                "handshake must have exactly the keys sid, upgrades, pingInterval, pingTimeout, maxPayload",
            ),
        }
    }
}

impl std::error::Error for HandshakeError {}

const KEYS: [&str; 5] = [
    "sid",
    "upgrades",
    "pingInterval",
    "pingTimeout",
    "maxPayload",
];

impl Handshake {
    /// Parses the data of an `open` packet. `Strict` also requires exactly
    /// the five keys of protocol 4.
    pub fn decode(data: &str, profile: Profile) -> Result<Self, HandshakeError> {
        let malformed = |e: serde_json::Error| HandshakeError::Malformed {
            reason: e.to_string(),
        };
        if profile == Profile::Strict {
            let keys: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(data).map_err(malformed)?;
            if keys.len() != KEYS.len() || !KEYS.iter().all(|k| keys.contains_key(*k)) {
                return Err(HandshakeError::UnexpectedKeys);
            }
        }
        serde_json::from_str(data).map_err(malformed)
    }

    /// Writes the handshake JSON, appending to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Serialising plain strings and integers into a Vec cannot fail.
        let _ = serde_json::to_writer(out, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_wants_exactly_the_five_keys() {
        let v3 = r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2}"#;
        assert_eq!(
            Handshake::decode(v3, Profile::Compat).unwrap().max_payload,
            None
        );
        assert_eq!(
            Handshake::decode(v3, Profile::Strict),
            Err(HandshakeError::UnexpectedKeys)
        );
        let extra =
            r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3,"x":1}"#;
        assert_eq!(
            Handshake::decode(extra, Profile::Strict),
            Err(HandshakeError::UnexpectedKeys)
        );
        assert!(matches!(
            Handshake::decode("[]", Profile::Compat),
            Err(HandshakeError::Malformed { .. })
        ));
    }
}
