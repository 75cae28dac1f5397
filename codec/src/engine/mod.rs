//! Engine.IO: the transport layer under Socket.IO.
//!
//! One module per wire format: [`v4`] (protocol 4: WebSocket frames and
//! `\x1e`-separated polling payloads), [`v3`] (protocol 3: length-prefixed and
//! XHR2 binary payloads, JSONP), [`webtransport`] (length-framed stream) and
//! [`handshake`] (the `open` packet's JSON). All of them decode into the same
//! [`Packet`].

pub mod handshake;
pub mod v3;
pub mod v4;
pub mod webtransport;

use std::borrow::Cow;
use std::fmt;

/// The seven Engine.IO packet types.
///
/// ```
/// use siospec_codec::engine::PacketType;
///
/// assert_eq!(PacketType::from_digit(b'4'), Some(PacketType::Message));
/// assert_eq!(PacketType::Message.digit(), b'4');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketType {
    /// `0`: the server's handshake.
    Open,
    /// `1`: the transport (polling: the session) can be closed.
    Close,
    /// `2`: heartbeat request, and the upgrade probe `2probe`.
    Ping,
    /// `3`: heartbeat answer, and the probe answer `3probe`.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: no operation; releases a pending poll.
    Noop,
}

impl PacketType {
    /// Every type, in wire order.
    pub const ALL: [PacketType; 7] = [
        PacketType::Open,
        PacketType::Close,
        PacketType::Ping,
        PacketType::Pong,
        PacketType::Message,
        PacketType::Upgrade,
        PacketType::Noop,
    ];

    /// The type whose number is `index` (0–6).
    ///
    /// ```
    /// use siospec_codec::engine::PacketType;
    /// assert_eq!(PacketType::from_index(6), Some(PacketType::Noop));
    /// assert_eq!(PacketType::from_index(7), None);
    /// ```
    pub fn from_index(index: u8) -> Option<Self> {
        Self::ALL.get(usize::from(index)).copied()
    }

    /// The type written as the ASCII digit `digit` (`b'0'`–`b'6'`).
    ///
    /// ```
    /// use siospec_codec::engine::PacketType;
    /// assert_eq!(PacketType::from_digit(b'2'), Some(PacketType::Ping));
    /// assert_eq!(PacketType::from_digit(b'b'), None);
    /// ```
    pub fn from_digit(digit: u8) -> Option<Self> {
        digit.checked_sub(b'0').and_then(Self::from_index)
    }

    /// The type's number (0–6).
    ///
    /// ```
    /// use siospec_codec::engine::PacketType;
    /// assert_eq!(PacketType::Pong.index(), 3);
    /// ```
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The type's ASCII digit.
    ///
    /// ```
    /// use siospec_codec::engine::PacketType;
    /// assert_eq!(PacketType::Open.digit(), b'0');
    /// ```
    pub fn digit(self) -> u8 {
        b'0' + self.index()
    }

    /// The name the official parsers use (`"open"`, `"message"`, …).
    ///
    /// ```
    /// use siospec_codec::engine::PacketType;
    /// assert_eq!(PacketType::Noop.name(), "noop");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Open => "open",
            PacketType::Close => "close",
            PacketType::Ping => "ping",
            PacketType::Pong => "pong",
            PacketType::Message => "message",
            PacketType::Upgrade => "upgrade",
            PacketType::Noop => "noop",
        }
    }
}

/// What a packet carries after its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Data<'a> {
    /// Nothing (`2`, `6`, …).
    None,
    /// UTF-8 text, borrowed from the input where it could be.
    Text(Cow<'a, str>),
    /// Bytes: borrowed from a binary frame, owned when base64 was decoded.
    Binary(Cow<'a, [u8]>),
}

/// One Engine.IO packet.
///
/// ```
/// use siospec_codec::engine::{Data, Packet, PacketType};
///
/// let p = Packet::text(PacketType::Message, "hello");
/// assert_eq!(p.data, Data::Text("hello".into()));
/// assert_eq!(Packet::new(PacketType::Ping).data, Data::None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet<'a> {
    /// The packet type.
    pub kind: PacketType,
    /// The data after the type.
    pub data: Data<'a>,
}

impl<'a> Packet<'a> {
    /// A packet without data.
    ///
    /// ```
    /// use siospec_codec::engine::{Packet, PacketType};
    /// assert_eq!(Packet::new(PacketType::Noop).kind, PacketType::Noop);
    /// ```
    pub fn new(kind: PacketType) -> Self {
        Packet {
            kind,
            data: Data::None,
        }
    }

    /// A packet carrying text.
    ///
    /// ```
    /// use siospec_codec::engine::{Packet, PacketType};
    /// let probe = Packet::text(PacketType::Ping, "probe");
    /// assert!(probe.is_probe());
    /// ```
    pub fn text(kind: PacketType, text: impl Into<Cow<'a, str>>) -> Self {
        Packet {
            kind,
            data: Data::Text(text.into()),
        }
    }

    /// A message carrying bytes.
    ///
    /// ```
    /// use siospec_codec::engine::{Data, Packet};
    /// let p = Packet::binary(&[1, 2, 3][..]);
    /// assert!(matches!(p.data, Data::Binary(_)));
    /// ```
    pub fn binary(bytes: impl Into<Cow<'a, [u8]>>) -> Self {
        Packet {
            kind: PacketType::Message,
            data: Data::Binary(bytes.into()),
        }
    }

    /// `true` for the upgrade probes `2probe` and `3probe`.
    ///
    /// ```
    /// use siospec_codec::engine::{Packet, PacketType};
    /// assert!(Packet::text(PacketType::Pong, "probe").is_probe());
    /// assert!(!Packet::new(PacketType::Ping).is_probe());
    /// ```
    pub fn is_probe(&self) -> bool {
        matches!(self.kind, PacketType::Ping | PacketType::Pong)
            && matches!(&self.data, Data::Text(t) if t == "probe")
    }

    /// A copy that borrows nothing.
    ///
    /// ```
    /// use siospec_codec::engine::{Packet, PacketType};
    /// let owned: Packet<'static> = Packet::text(PacketType::Message, "x").into_owned();
    /// assert_eq!(owned, Packet::text(PacketType::Message, "x"));
    /// ```
    pub fn into_owned(self) -> Packet<'static> {
        Packet {
            kind: self.kind,
            data: match self.data {
                Data::None => Data::None,
                Data::Text(t) => Data::Text(Cow::Owned(t.into_owned())),
                Data::Binary(b) => Data::Binary(Cow::Owned(b.into_owned())),
            },
        }
    }
}

/// Whether an encoded packet goes in a text or a binary frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A WebSocket text frame, or text in a polling body.
    Text,
    /// A WebSocket binary frame.
    Binary,
}

/// Why Engine.IO input was rejected. The official parsers report every one
/// of these as the same `parser error` packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty packet (an empty frame or body, or an empty slot in a payload).
    Empty {
        /// Byte offset of the empty packet.
        offset: usize,
    },
    /// The first character is not a packet type.
    UnknownType {
        /// Byte offset of the type character.
        offset: usize,
    },
    /// `Strict`: base64 data that is not canonical standard base64.
    InvalidBase64 {
        /// Byte offset of the base64 text.
        offset: usize,
    },
    /// Text that is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The input is larger than [`Limits::max_payload_bytes`](crate::Limits::max_payload_bytes).
    TooLarge {
        /// The limit in force.
        limit: usize,
        /// The size announced or seen.
        actual: u64,
    },
    /// A payload holds more than [`Limits::max_packets_per_payload`](crate::Limits::max_packets_per_payload) packets.
    TooManyPackets {
        /// The limit in force.
        limit: usize,
    },
    /// A v3 or WebTransport length that is malformed, zero where that is
    /// forbidden, or does not match the data that follows.
    InvalidLength {
        /// Byte offset of the length.
        offset: usize,
    },
    /// A v3 length that ends between the two halves of a UTF-16 surrogate
    /// pair (a character outside the Basic Multilingual Plane).
    SplitSurrogate {
        /// Byte offset of the length.
        offset: usize,
    },
    /// The input ends inside a packet.
    Truncated {
        /// Byte offset of the packet that is cut short.
        offset: usize,
    },
}

impl DecodeError {
    /// The byte offset the error refers to, where there is one.
    ///
    /// ```
    /// use siospec_codec::engine::{v4, DecodeError};
    /// use siospec_codec::Profile;
    ///
    /// let err = v4::decode_text("9", Profile::Compat).unwrap_err();
    /// assert_eq!(err, DecodeError::UnknownType { offset: 0 });
    /// assert_eq!(err.offset(), Some(0));
    /// ```
    pub fn offset(&self) -> Option<usize> {
        match *self {
            DecodeError::Empty { offset }
            | DecodeError::UnknownType { offset }
            | DecodeError::InvalidBase64 { offset }
            | DecodeError::InvalidUtf8 { offset }
            | DecodeError::InvalidLength { offset }
            | DecodeError::SplitSurrogate { offset }
            | DecodeError::Truncated { offset } => Some(offset),
            DecodeError::TooLarge { .. } | DecodeError::TooManyPackets { .. } => None,
        }
    }

    pub(crate) fn shifted(self, by: usize) -> Self {
        match self {
            DecodeError::Empty { offset } => DecodeError::Empty {
                offset: offset + by,
            },
            DecodeError::UnknownType { offset } => DecodeError::UnknownType {
                offset: offset + by,
            },
            DecodeError::InvalidBase64 { offset } => DecodeError::InvalidBase64 {
                offset: offset + by,
            },
            DecodeError::InvalidUtf8 { offset } => DecodeError::InvalidUtf8 {
                offset: offset + by,
            },
            DecodeError::InvalidLength { offset } => DecodeError::InvalidLength {
                offset: offset + by,
            },
            DecodeError::Truncated { offset } => DecodeError::Truncated {
                offset: offset + by,
            },
            other => other,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty { offset } => write!(f, "empty packet at byte {offset}"),
            DecodeError::UnknownType { offset } => {
                write!(f, "unknown packet type at byte {offset}: expected a digit 0-6 (or `b` for base64)")
            }
            DecodeError::InvalidBase64 { offset } => {
                write!(
                    f,
                    "base64 data at byte {offset} is not canonical padded base64"
                )
            }
            DecodeError::InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            DecodeError::TooLarge { limit, actual } => {
                write!(f, "{actual} bytes exceed the limit of {limit} bytes")
            }
            DecodeError::TooManyPackets { limit } => {
                write!(f, "payload holds more than {limit} packets")
            }
            DecodeError::InvalidLength { offset } => write!(f, "invalid length at byte {offset}"),
            DecodeError::SplitSurrogate { offset } => {
                write!(f, "the length at byte {offset} ends inside a surrogate pair (it counts UTF-16 code units)")
            }
            DecodeError::Truncated { offset } => {
                write!(
                    f,
                    "input ends inside the packet that starts at byte {offset}"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

pub(crate) fn check_size(len: usize, limits: &crate::Limits) -> Result<(), DecodeError> {
    if len > limits.max_payload_bytes {
        return Err(DecodeError::TooLarge {
            limit: limits.max_payload_bytes,
            actual: len as u64,
        });
    }
    Ok(())
}

pub(crate) fn decode_base64<'a>(
    text: &str,
    offset: usize,
    profile: crate::Profile,
) -> Result<Cow<'a, [u8]>, DecodeError> {
    use base64::Engine as _;
    match profile {
        crate::Profile::Compat => Ok(Cow::Owned(crate::js::lenient_base64_decode(text))),
        crate::Profile::Strict => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Cow::Owned)
            .map_err(|_| DecodeError::InvalidBase64 { offset }),
    }
}

pub(crate) fn encode_base64(bytes: &[u8], out: &mut Vec<u8>) {
    use base64::Engine as _;
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}
