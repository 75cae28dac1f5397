//! Resource limits and validation profiles shared by every decoder.

/// Which rules a decoder applies.
///
/// The two profiles differ only in what they accept; both produce the same
/// decoded structure for input that both accept (Strict ⊆ Compat).
///
/// ```
/// use siospec_codec::{socket, Limits, Profile};
///
/// // A space in the ack-id position is read as ack id 0 by the official parser...
/// let loose = socket::decode("2 [\"a\"]", socket::Version::V5, Profile::Compat, &Limits::default());
/// assert!(loose.is_ok());
/// // ...which the protocol text does not allow.
/// let strict = socket::decode("2 [\"a\"]", socket::Version::V5, Profile::Strict, &Limits::default());
/// assert!(strict.is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Accept and reject exactly what the official JavaScript parsers
    /// (engine.io-parser 5.2.3, the engine.io 6.6.12 v3 parser, socket.io-parser 4.2.7)
    /// accept and reject, looseness included.
    #[default]
    Compat,
    /// Accept only what the protocol documents allow.
    Strict,
}

/// Explicit bounds, checked before any allocation that depends on the input.
///
/// The defaults match the official Node server's defaults where it has one
/// (`maxHttpBufferSize`, `maxAttachments`) and are generous elsewhere, so the
/// `Compat` profile only departs from the official parsers on input that no
/// default Node server would accept either.
///
/// ```
/// use siospec_codec::Limits;
///
/// let tight = Limits { max_attachments: 2, ..Limits::default() };
/// assert_eq!(tight.max_payload_bytes, 1_000_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest polling payload, WebSocket message or WebTransport frame, in bytes.
    pub max_payload_bytes: usize,
    /// Most packets one polling payload may carry.
    pub max_packets_per_payload: usize,
    /// Most binary attachments one Socket.IO packet may announce.
    pub max_attachments: usize,
    /// Most characters in a Socket.IO ack id (digits and, in `Compat`, the
    /// white space the official parser reads as part of it).
    pub max_ack_id_digits: usize,
    /// Longest Socket.IO namespace, in bytes.
    pub max_namespace_len: usize,
    /// Deepest nesting of arrays and objects in the JSON of a binary packet,
    /// whose placeholders are resolved by a recursive walk. Other payloads are
    /// validated without recursion, at any depth, as `JSON.parse` does.
    pub max_json_depth: usize,
    /// Deepest nesting of arrays and maps in a msgpack frame
    /// ([`socket::msgpack`](crate::socket::msgpack)); notepack's recursive
    /// reader stops at the JavaScript stack's depth.
    pub max_msgpack_depth: usize,
    /// Most elements (array items or map entries) one msgpack array or map
    /// may declare. Declared lengths are also checked against the bytes left
    /// in the frame before anything is allocated.
    pub max_container_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 1_000_000,
            max_packets_per_payload: 100_000,
            max_attachments: 10,
            max_ack_id_digits: 1024,
            max_namespace_len: 4096,
            max_json_depth: 1000,
            max_msgpack_depth: 1000,
            max_container_len: 1_000_000,
        }
    }
}
