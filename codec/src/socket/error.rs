use std::fmt;

/// Why Socket.IO input was rejected.
///
/// [`DecodeError::official_message`] gives the message the official
/// socket.io-parser throws for the same input, so reports can compare them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first character is not a packet type 0–6.
    UnknownType {
        /// Byte offset of the type character.
        offset: usize,
    },
    /// A binary packet whose attachment count is missing, malformed, zero,
    /// or not followed by `-`.
    IllegalAttachments {
        /// Byte offset of the count.
        offset: usize,
    },
    /// More attachments than [`Limits::max_attachments`](crate::Limits::max_attachments).
    TooManyAttachments {
        /// The limit in force.
        limit: usize,
    },
    /// The namespace is longer than [`Limits::max_namespace_len`](crate::Limits::max_namespace_len).
    NamespaceTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// `Strict`: a namespace that does not start with `/`.
    InvalidNamespace {
        /// Byte offset of the namespace.
        offset: usize,
    },
    /// The ack id is longer than [`Limits::max_ack_id_digits`](crate::Limits::max_ack_id_digits).
    AckIdTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// `Strict`: an ack id that is not plain decimal digits up to 2^53 − 1,
    /// or an ack id on a packet type that cannot carry one, or an ack without one.
    InvalidAckId {
        /// Byte offset of the ack id.
        offset: usize,
    },
    /// The JSON payload is not valid JSON, or not the shape the packet type needs.
    InvalidPayload {
        /// Byte offset of the payload.
        offset: usize,
        /// What is wrong with it.
        reason: PayloadError,
    },
    /// The JSON payload nests deeper than [`Limits::max_json_depth`](crate::Limits::max_json_depth).
    PayloadTooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// A text packet arrived while a binary packet still waits for attachments.
    TextWhileReassembling,
    /// A binary frame arrived while no binary packet waits for attachments.
    BinaryWithoutHeader,
    /// A placeholder's `num` is not a valid attachment index.
    IllegalPlaceholder,
    /// A socket.io-msgpack-parser frame ([`msgpack`](super::msgpack)) is
    /// refused: `offset` is the byte where the frame went wrong, or its
    /// length for the checks made on the decoded packet map.
    Msgpack {
        /// Byte offset in the frame.
        offset: usize,
        /// What is wrong.
        reason: MsgpackError,
    },
}

/// The shape rule a payload broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not valid JSON.
    Syntax,
    /// `CONNECT` needs an object.
    ConnectNotObject,
    /// `DISCONNECT` carries nothing.
    DisconnectWithPayload,
    /// `CONNECT_ERROR` needs a string or an object.
    ConnectErrorShape,
    /// `Strict` v5: `CONNECT_ERROR` needs an object.
    ConnectErrorNotObject,
    /// An event needs a non-empty array whose first element is a number or a string.
    EventShape,
    /// The event name is reserved ([`RESERVED_EVENTS`](super::RESERVED_EVENTS)).
    ReservedEventName,
    /// An ack needs an array.
    AckNotArray,
    /// `Strict`: an event or ack without a payload.
    Missing,
}

/// Why a msgpack frame is refused.
///
/// ```
/// use siospec_codec::socket::{msgpack, DecodeError, MsgpackError};
/// use siospec_codec::{Limits, Profile};
///
/// // A frame that declares a 3-element array and ends.
/// let err = msgpack::decode(b"\x93\xa1a", Profile::Compat, &Limits::default()).unwrap_err();
/// assert_eq!(err, DecodeError::Msgpack { offset: 0, reason: MsgpackError::Truncated });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MsgpackError {
    /// A byte notepack cannot parse (`0xc1`): "Could not parse".
    Syntax,
    /// A value or a declared length runs past the end of the frame (notepack
    /// throws a `RangeError`, or reports negative trailing bytes).
    Truncated,
    /// Bytes after the value: notepack's "N trailing bytes".
    TrailingBytes,
    /// The frame holds `nil` or `undefined`: the official check of
    /// `decoded.type` throws a `TypeError`.
    NotAMap,
    /// A map key JavaScript cannot turn into a property name (an object whose
    /// `toString` is not a function), or cannot assign (an accessor without
    /// setter inherited through a `__proto__` key): notepack throws a `TypeError`.
    KeyNotConvertible,
    /// "invalid packet type": `type` is not an integer 0–4.
    PacketType,
    /// "invalid namespace": `nsp` is not a string.
    Namespace,
    /// "invalid payload": `data` does not have the shape the type asks for.
    Payload,
    /// "invalid packet id": `id` is neither absent nor an integer.
    PacketId,
    /// A `Date` (`fixext 8`, type 0) in the data, or as a map key: the codec's
    /// [`Value`](super::binary::Value) has no date (a documented departure).
    Date,
    /// Nested deeper than [`Limits::max_msgpack_depth`](crate::Limits::max_msgpack_depth).
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// An array or map declares more than [`Limits::max_container_len`](crate::Limits::max_container_len) elements.
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// The frame is longer than [`Limits::max_payload_bytes`](crate::Limits::max_payload_bytes).
    FrameTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Something only `Strict` refuses, and why.
    Strict(&'static str),
}

impl MsgpackError {
    /// The message of the official error, where Node has one.
    ///
    /// ```
    /// use siospec_codec::socket::MsgpackError;
    /// assert_eq!(MsgpackError::PacketId.official_message(), "invalid packet id");
    /// ```
    pub fn official_message(&self) -> &'static str {
        match self {
            MsgpackError::Syntax | MsgpackError::Truncated => "Could not parse",
            MsgpackError::TrailingBytes => "trailing bytes",
            MsgpackError::NotAMap => "Cannot read properties of null (reading 'type')",
            MsgpackError::KeyNotConvertible => "Cannot convert object to primitive value",
            MsgpackError::PacketType => "invalid packet type",
            MsgpackError::Namespace => "invalid namespace",
            MsgpackError::PacketId => "invalid packet id",
            MsgpackError::Payload
            | MsgpackError::Date
            | MsgpackError::TooDeep { .. }
            | MsgpackError::TooLong { .. }
            | MsgpackError::FrameTooLarge { .. }
            | MsgpackError::Strict(_) => "invalid payload",
        }
    }
}

impl fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgpackError::Syntax => f.write_str("not a msgpack value (byte 0xc1)"),
            MsgpackError::Truncated => f.write_str("a value runs past the end of the frame"),
            MsgpackError::TrailingBytes => f.write_str("bytes after the packet map"),
            MsgpackError::NotAMap => f.write_str("the frame holds nil or undefined, not a packet map"),
            MsgpackError::KeyNotConvertible => {
                f.write_str("a map key that JavaScript cannot convert to a string")
            }
            MsgpackError::PacketType => f.write_str("invalid packet type: `type` must be an integer 0-4"),
            MsgpackError::Namespace => f.write_str("invalid namespace: `nsp` must be a string"),
            MsgpackError::Payload => {
                f.write_str("invalid payload: `data` does not have the shape this packet type needs")
            }
            MsgpackError::PacketId => f.write_str("invalid packet id: `id` must be an integer"),
            MsgpackError::Date => f.write_str(
                "a Date (fixext 8, type 0): the codec's data model has no dates (documented departure)",
            ),
            MsgpackError::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
            MsgpackError::TooLong { limit } => write!(f, "an array or map of more than {limit} elements"),
            MsgpackError::FrameTooLarge { limit } => write!(f, "frame longer than {limit} bytes"),
            MsgpackError::Strict(why) => write!(f, "{why} (refused by the Strict profile)"),
        }
    }
}

impl DecodeError {
    /// The message socket.io-parser 4.2.7 throws for the same input, without
    /// its variable suffix (`unknown packet type 9` becomes `unknown packet type`).
    ///
    /// Errors that only siospec's limits or the `Strict` profile raise map to
    /// the message of the official rule closest to them.
    ///
    /// ```
    /// use siospec_codec::socket::{self, Version};
    /// use siospec_codec::{Limits, Profile};
    ///
    /// let err = socket::decode("999", Version::V5, Profile::Compat, &Limits::default()).unwrap_err();
    /// assert_eq!(err.official_message(), "unknown packet type");
    /// ```
    pub fn official_message(&self) -> &'static str {
        match self {
            DecodeError::UnknownType { .. } => "unknown packet type",
            DecodeError::IllegalAttachments { .. } => "Illegal attachments",
            DecodeError::TooManyAttachments { .. } => "too many attachments",
            DecodeError::IllegalPlaceholder => "illegal attachments",
            DecodeError::TextWhileReassembling => "got plaintext data when reconstructing a packet",
            DecodeError::BinaryWithoutHeader => "got binary data when not reconstructing a packet",
            DecodeError::NamespaceTooLong { .. }
            | DecodeError::InvalidNamespace { .. }
            | DecodeError::AckIdTooLong { .. }
            | DecodeError::InvalidAckId { .. }
            | DecodeError::InvalidPayload { .. }
            | DecodeError::PayloadTooDeep { .. } => "invalid payload",
            DecodeError::Msgpack { reason, .. } => reason.official_message(),
        }
    }

    /// The byte offset the error refers to, where there is one.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            DecodeError::UnknownType { offset }
            | DecodeError::IllegalAttachments { offset }
            | DecodeError::InvalidNamespace { offset }
            | DecodeError::InvalidAckId { offset }
            | DecodeError::InvalidPayload { offset, .. }
            | DecodeError::Msgpack { offset, .. } => Some(offset),
            _ => None,
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PayloadError::Syntax => "not valid JSON",
            PayloadError::ConnectNotObject => "a CONNECT payload must be a JSON object",
            PayloadError::DisconnectWithPayload => "a DISCONNECT packet carries no payload",
            PayloadError::ConnectErrorShape => {
                "a CONNECT_ERROR payload must be a string or an object"
            }
            PayloadError::ConnectErrorNotObject => "a v5 CONNECT_ERROR payload must be an object",
            PayloadError::EventShape => {
                "an event payload must be a non-empty array starting with a string or a number"
            }
            PayloadError::ReservedEventName => "the event name is reserved",
            PayloadError::AckNotArray => "an ACK payload must be an array",
            PayloadError::Missing => "this packet type needs a payload",
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownType { offset } => {
                write!(f, "unknown packet type at byte {offset}: expected 0-6")
            }
            DecodeError::IllegalAttachments { offset } => {
                write!(f, "illegal attachment count at byte {offset}: expected a positive integer followed by '-'")
            }
            DecodeError::TooManyAttachments { limit } => write!(f, "more than {limit} attachments"),
            DecodeError::NamespaceTooLong { limit } => {
                write!(f, "namespace longer than {limit} bytes")
            }
            DecodeError::InvalidNamespace { offset } => {
                write!(f, "namespace at byte {offset} must start with '/'")
            }
            DecodeError::AckIdTooLong { limit } => {
                write!(f, "ack id longer than {limit} characters")
            }
            DecodeError::InvalidAckId { offset } => write!(f, "invalid ack id at byte {offset}"),
            DecodeError::InvalidPayload { offset, reason } => {
                write!(f, "invalid payload at byte {offset}: {reason}")
            }
            DecodeError::PayloadTooDeep { limit } => {
                write!(f, "payload nests deeper than {limit} levels")
            }
            DecodeError::TextWhileReassembling => {
                f.write_str("got a text packet while waiting for binary attachments")
            }
            DecodeError::BinaryWithoutHeader => {
                f.write_str("got binary data without a binary packet header")
            }
            DecodeError::IllegalPlaceholder => {
                f.write_str("a placeholder's num is not the index of a received attachment")
            }
            DecodeError::Msgpack { offset, reason } => {
                write!(f, "msgpack frame refused at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
