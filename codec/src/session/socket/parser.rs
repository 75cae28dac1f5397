//! The two Socket.IO parsers a connection may speak, at the frame boundary.
//!
//! The machines keep every packet in the default parser's form (JSON with
//! placeholders, plus attachments), which is what [`Payload`] hands over;
//! this module turns Engine.IO messages into that form and back, with
//! socket.io-parser (text packets, binary attachments as extra messages) or
//! socket.io-msgpack-parser (one binary message per packet, bytes inline).

use super::data::{plain_value, Encoded, Payload};
use super::Violation;
use crate::session::Message;
use crate::socket::binary;
use crate::socket::{self, msgpack, AckId, PacketType, Reassembler, Step, Version};
use crate::{Limits, Profile};

/// Which parser a connection speaks; both ends must use the same one.
///
/// ```
/// use siospec_codec::session::socket::Parser;
/// assert_eq!(Parser::default(), Parser::Default);
/// assert_eq!("msgpack".parse::<Parser>(), Ok(Parser::Msgpack));
/// assert_eq!(Parser::Msgpack.name(), "msgpack");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Parser {
    /// socket.io-parser: text packets, binary attachments as their own messages.
    #[default]
    Default,
    /// socket.io-msgpack-parser: each packet one binary message, a msgpack
    /// map `{type, nsp, data?, id?}` with bytes inline.
    Msgpack,
}

impl Parser {
    /// Both parsers.
    pub const ALL: [Parser; 2] = [Parser::Default, Parser::Msgpack];

    /// The parser's name on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Parser::Default => "default",
            Parser::Msgpack => "msgpack",
        }
    }
}

impl std::str::FromStr for Parser {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(Parser::Default),
            "msgpack" => Ok(Parser::Msgpack),
            other => Err(format!(
                "unknown parser {other:?}: expected `default` or `msgpack`"
            )),
        }
    }
}

impl std::fmt::Display for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A whole packet in the machines' form.
pub(crate) struct Inbound {
    pub(crate) kind: PacketType,
    pub(crate) namespace: String,
    pub(crate) ack: Option<AckId>,
    pub(crate) payload: Payload,
}

/// Turns received messages into whole packets.
#[derive(Debug, Clone)]
pub(crate) struct PacketDecoder {
    parser: Parser,
    reassembler: Reassembler,
    profile: Profile,
    limits: Limits,
}

impl PacketDecoder {
    pub(crate) fn new(parser: Parser, profile: Profile, limits: Limits) -> Self {
        PacketDecoder {
            parser,
            reassembler: Reassembler::new(Version::V5, profile, limits),
            profile,
            limits,
        }
    }

    /// The packet `message` completes, `None` while attachments are awaited.
    pub(crate) fn push(&mut self, message: Message) -> Result<Option<Inbound>, Violation> {
        match (self.parser, message) {
            (_, Message::Empty) => Err(Violation::EmptyMessage),
            (Parser::Default, Message::Text(text)) => match self.reassembler.push_text(&text) {
                Ok(Step::Packet(p)) => Ok(Some(Inbound {
                    kind: p.kind,
                    namespace: p.namespace.to_owned(),
                    ack: p.ack_id,
                    payload: self.payload(
                        p.payload.map(|j| j.as_str().to_owned()),
                        Vec::new(),
                        false,
                    ),
                })),
                Ok(Step::NeedsAttachments(_)) => Ok(None),
                Err(e) => Err(Violation::Decode(e)),
            },
            (Parser::Default, Message::Binary(bytes)) => {
                match self.reassembler.push_binary(bytes) {
                    Ok(Some(assembled)) => {
                        let p = assembled.packet();
                        let (kind, namespace, ack) = (p.kind, p.namespace.to_owned(), p.ack_id);
                        let json = p.payload.map(|j| j.as_str().to_owned());
                        let (_, attachments) = assembled.into_parts();
                        Ok(Some(Inbound {
                            kind,
                            namespace,
                            ack,
                            payload: self.payload(json, attachments, true),
                        }))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(Violation::Decode(e)),
                }
            }
            // socket.io-msgpack-parser hands a string to notepack, which
            // throws: the official server closes the connection.
            (Parser::Msgpack, Message::Text(_)) => Err(Violation::TextOnMsgpack),
            (Parser::Msgpack, Message::Binary(bytes)) => {
                let p = msgpack::decode(&bytes, self.profile, &self.limits)
                    .map_err(Violation::Decode)?;
                let (json, attachments) = json_form(p.data.as_ref());
                let has_binary = !attachments.is_empty();
                Ok(Some(Inbound {
                    kind: p.kind,
                    namespace: p.namespace,
                    ack: p.ack_id,
                    payload: self.payload(json, attachments, has_binary),
                }))
            }
        }
    }

    /// Forgets a half-received binary packet.
    pub(crate) fn reset(&mut self) {
        self.reassembler.reset();
    }

    fn payload(&self, json: Option<String>, attachments: Vec<Vec<u8>>, binary: bool) -> Payload {
        Payload::new(
            json,
            attachments,
            binary,
            self.profile,
            self.limits.max_json_depth,
        )
    }
}

/// The Engine.IO messages that carry `encoded` with `parser`; `None` when
/// the packet cannot be written with it (data that does not reconstruct).
pub(crate) fn messages(parser: Parser, encoded: Encoded) -> Option<Vec<Message>> {
    match parser {
        Parser::Default => {
            let mut out = Vec::with_capacity(1 + encoded.attachments.len());
            out.push(Message::Text(encoded.text));
            out.extend(encoded.attachments.into_iter().map(Message::Binary));
            Some(out)
        }
        Parser::Msgpack => {
            // The machines wrote the packet as the default parser would: the
            // same packet as a msgpack map.
            let p = msgpack_from_text(&encoded.text, encoded.attachments)?;
            let mut out = Vec::new();
            msgpack::encode(p.kind, &p.namespace, p.ack_id, p.data.as_ref(), &mut out);
            Some(vec![Message::Binary(out)])
        }
    }
}

/// How many Engine.IO messages `encoded` takes with `parser`.
pub(crate) fn message_count(parser: Parser, encoded: &Encoded) -> usize {
    match parser {
        Parser::Default => 1 + encoded.attachments.len(),
        Parser::Msgpack => 1,
    }
}

/// A packet of the msgpack parser as the default parser writes the same
/// packet ([`msgpack_to_text`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TextForm {
    /// Its type there: BINARY_EVENT / BINARY_ACK when its data holds bytes.
    pub kind: PacketType,
    /// The packet's text (a binary packet's header, placeholders in place).
    pub text: String,
    /// Its JSON payload, placeholders in place; `None` without data.
    pub json: Option<String>,
    /// The bytes of its data, in placeholder order.
    pub attachments: Vec<Vec<u8>>,
}

/// The data as JSON with placeholders, and the bytes they stand for.
fn json_form(data: Option<&binary::Value>) -> (Option<String>, Vec<Vec<u8>>) {
    let Some(data) = data else {
        return (None, Vec::new());
    };
    let mut json = Vec::new();
    let mut attachments = Vec::new();
    binary::write_json(data, &mut json, &mut attachments);
    (
        Some(String::from_utf8_lossy(&json).into_owned()),
        attachments.into_iter().map(<[u8]>::to_vec).collect(),
    )
}

/// `p` as the default parser writes the same packet: bytes become
/// attachments behind placeholders, and an event or ack holding bytes a
/// binary packet.
///
/// ```
/// use siospec_codec::session::socket::msgpack_to_text;
/// use siospec_codec::socket::binary::Value;
/// use siospec_codec::socket::{msgpack, PacketType};
///
/// let p = msgpack::Packet {
///     kind: PacketType::Event,
///     namespace: "/".into(),
///     ack_id: None,
///     data: Some(Value::Array(vec![Value::String("up".into()), Value::Binary(vec![1])])),
/// };
/// let form = msgpack_to_text(&p);
/// assert_eq!(form.kind, PacketType::BinaryEvent);
/// assert_eq!(form.text, r#"51-["up",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(form.attachments, [vec![1u8]]);
/// ```
pub fn msgpack_to_text(p: &msgpack::Packet) -> TextForm {
    let (json, attachments) = json_form(p.data.as_ref());
    let kind = match (p.kind, attachments.is_empty()) {
        (PacketType::Event, false) => PacketType::BinaryEvent,
        (PacketType::Ack, false) => PacketType::BinaryAck,
        (kind, _) => kind,
    };
    let mut packet = socket::Packet::new(kind, &p.namespace, None);
    packet.ack_id = p.ack_id;
    packet.attachments = attachments.len();
    packet.payload = json.as_deref().and_then(|j| socket::Json::parse(j).ok());
    let mut out = Vec::new();
    socket::encode(&packet, &mut out);
    TextForm {
        kind,
        text: String::from_utf8_lossy(&out).into_owned(),
        json,
        attachments,
    }
}

/// The msgpack packet for the packet the default parser writes as `text`
/// followed by `attachments` (binary types become EVENT / ACK, bytes go
/// back in place of their placeholders, object keys keep their order);
/// `None` when `text` is not a packet or its attachments do not fit. The
/// default parser's bounds (ten attachments…) are not applied: they are
/// not the msgpack parser's.
///
/// ```
/// use siospec_codec::session::socket::msgpack_from_text;
/// use siospec_codec::socket::binary::Value;
/// use siospec_codec::socket::PacketType;
///
/// let p = msgpack_from_text(r#"51-/chat,["up",{"_placeholder":true,"num":0}]"#, vec![vec![7]]).unwrap();
/// assert_eq!((p.kind, p.namespace.as_str()), (PacketType::Event, "/chat"));
/// assert_eq!(p.data, Some(Value::Array(vec![Value::String("up".into()), Value::Binary(vec![7])])));
/// ```
pub fn msgpack_from_text(text: &str, attachments: Vec<Vec<u8>>) -> Option<msgpack::Packet> {
    let limits = Limits {
        max_payload_bytes: usize::MAX,
        max_attachments: usize::MAX,
        max_ack_id_digits: usize::MAX,
        max_namespace_len: usize::MAX,
        ..Limits::default()
    };
    let p = socket::decode(text, Version::V5, Profile::Compat, &limits).ok()?;
    let data = match p.payload {
        None => None,
        Some(json) if p.kind.is_binary() => Some(
            binary::reconstruct(
                json.as_str(),
                attachments,
                Profile::Compat,
                limits.max_json_depth,
            )
            .ok()?,
        ),
        Some(json) => Some(plain_value(json.as_str()).ok()?),
    };
    let kind = match p.kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        other => other,
    };
    Some(msgpack::Packet {
        kind,
        namespace: p.namespace.to_owned(),
        ack_id: p.ack_id,
        data,
    })
}
