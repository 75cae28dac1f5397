//! Socket.IO: packets, their JSON payloads and binary attachments.
//!
//! A packet is `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`; the
//! binary types 5 and 6 are followed by that many binary Engine.IO messages.
//! [`decode`] reads one text packet, borrowing from it; [`Reassembler`] joins a
//! binary packet's header and attachments; [`encode`] and [`binary::encode`]
//! write packets into a caller's buffer.
//!
//! ```
//! use siospec_codec::socket::{self, AckId, PacketType, Version};
//! use siospec_codec::{Limits, Profile};
//!
//! let p = socket::decode(r#"2/admin,13["bar",1]"#, Version::V5, Profile::Strict, &Limits::default()).unwrap();
//! assert_eq!(p.kind, PacketType::Event);
//! assert_eq!(p.namespace, "/admin");
//! assert_eq!(p.ack_id, Some(AckId::Exact(13)));
//! assert_eq!(p.event_name().unwrap().as_deref(), Some("bar"));
//!
//! let mut out = Vec::new();
//! socket::encode(&p, &mut out);
//! assert_eq!(out, br#"2/admin,13["bar",1]"#);
//! ```

pub mod binary;
mod decode;
mod encode;
mod error;
mod json;
pub mod msgpack;
mod reassembler;

pub use decode::decode;
pub use encode::encode;
pub use error::{DecodeError, MsgpackError};
pub use json::Json;
pub use reassembler::{Assembled, Reassembler, Step};

/// The Socket.IO protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// Revision 4 (Socket.IO 1.x/2.x, over Engine.IO 3): packet 4 is `ERROR`
    /// with any payload, the connection to `/` is implicit, auth travels in
    /// the namespace's query string.
    V4,
    /// Revision 5 (Socket.IO 3+, over Engine.IO 4): packet 4 is `CONNECT_ERROR`.
    #[default]
    V5,
}

/// The seven Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketType {
    /// `0`: join a namespace (client), or accept the join (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: the answer to an event that asked for one.
    Ack,
    /// `4`: `CONNECT_ERROR` in v5, `ERROR` in v4.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl PacketType {
    /// Every type, in wire order.
    pub const ALL: [PacketType; 7] = [
        PacketType::Connect,
        PacketType::Disconnect,
        PacketType::Event,
        PacketType::Ack,
        PacketType::ConnectError,
        PacketType::BinaryEvent,
        PacketType::BinaryAck,
    ];

    /// The type written as the ASCII digit `digit`.
    ///
    /// ```
    /// use siospec_codec::socket::PacketType;
    /// assert_eq!(PacketType::from_digit(b'5'), Some(PacketType::BinaryEvent));
    /// assert_eq!(PacketType::from_digit(b'7'), None);
    /// ```
    pub fn from_digit(digit: u8) -> Option<Self> {
        digit
            .checked_sub(b'0')
            .and_then(|i| Self::ALL.get(usize::from(i)).copied())
    }

    /// The type's ASCII digit.
    ///
    /// ```
    /// use siospec_codec::socket::PacketType;
    /// assert_eq!(PacketType::Ack.digit(), b'3');
    /// ```
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// `true` for the types followed by binary attachments.
    ///
    /// ```
    /// use siospec_codec::socket::PacketType;
    /// assert!(PacketType::BinaryAck.is_binary());
    /// assert!(!PacketType::Ack.is_binary());
    /// ```
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// An ack id as the official decoder reads it.
///
/// The decoder converts the digits with JavaScript's `Number`, so ids beyond
/// 2^53 − 1 lose precision and digits with white space inside become `NaN`.
/// `Compat` keeps such values as [`AckId::Lossy`]; `Strict` rejects them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AckId {
    /// An id JavaScript represents exactly (at most 2^53 − 1 when decoded).
    Exact(u64),
    /// The JavaScript number `Number(digits)` gave for an id it cannot
    /// represent exactly (large, or `NaN`); it is written back the way
    /// JavaScript prints it.
    Lossy(f64),
}

impl AckId {
    /// The id when it is exact.
    ///
    /// ```
    /// use siospec_codec::socket::AckId;
    /// assert_eq!(AckId::Exact(7).exact(), Some(7));
    /// assert_eq!(AckId::Lossy(f64::NAN).exact(), None);
    /// ```
    pub fn exact(self) -> Option<u64> {
        match self {
            AckId::Exact(id) => Some(id),
            AckId::Lossy(_) => None,
        }
    }
}

/// One Socket.IO packet, borrowing its namespace and payload from the input.
///
/// ```
/// use siospec_codec::socket::{Json, Packet, PacketType};
///
/// let p = Packet::new(PacketType::Event, "/", Some(Json::parse(r#"["hi"]"#).unwrap()));
/// assert_eq!(p.attachments, 0);
/// assert_eq!(p.ack_id, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet<'a> {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace, `/` when the packet names none.
    pub namespace: &'a str,
    /// The ack id, when the packet carries one.
    pub ack_id: Option<AckId>,
    /// How many binary attachments follow (binary types only).
    pub attachments: usize,
    /// The JSON payload, already validated.
    pub payload: Option<Json<'a>>,
}

impl<'a> Packet<'a> {
    /// A packet with no ack id and no attachments.
    pub fn new(kind: PacketType, namespace: &'a str, payload: Option<Json<'a>>) -> Self {
        Packet {
            kind,
            namespace,
            ack_id: None,
            attachments: 0,
            payload,
        }
    }

    /// The event name of an event packet: `Ok(Some(name))` for a string
    /// name, `Ok(None)` for a numeric one or a packet without event data.
    ///
    /// ```
    /// use siospec_codec::socket::{self, Version};
    /// use siospec_codec::{Limits, Profile};
    ///
    /// let p = socket::decode(r#"2["hello",1]"#, Version::V5, Profile::Compat, &Limits::default()).unwrap();
    /// assert_eq!(p.event_name().unwrap().as_deref(), Some("hello"));
    /// ```
    pub fn event_name(&self) -> Result<Option<std::borrow::Cow<'a, str>>, serde_json::Error> {
        match (self.kind, self.payload) {
            (PacketType::Event | PacketType::BinaryEvent, Some(payload)) => payload.first_string(),
            _ => Ok(None),
        }
    }
}

/// The event names the official parser refuses, because Socket.IO or Node's
/// `EventEmitter` gives them a meaning of their own.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];
