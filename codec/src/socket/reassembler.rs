//! Joining a binary packet's header with the attachments that follow it.

use std::ops::Range;

use super::binary::{self, Value};
use super::decode::decode;
use super::{AckId, DecodeError, Json, Packet, PacketType, Version};
use crate::{Limits, Profile};

/// Takes a connection's Socket.IO messages in order and yields whole packets.
///
/// A plain value: it owns the header of the binary packet being assembled
/// and the attachments received so far (moved in, never copied), and
/// nothing else. Like the official decoder, a text packet that arrives while
/// attachments are awaited is an error that leaves the pending packet in
/// place, and [`reset`](Self::reset) drops it.
///
/// ```
/// use siospec_codec::socket::{PacketType, Reassembler, Step, Version};
/// use siospec_codec::{Limits, Profile};
///
/// let mut r = Reassembler::new(Version::V5, Profile::Compat, Limits::default());
/// match r.push_text(r#"2["hi"]"#).unwrap() {
///     Step::Packet(p) => assert_eq!(p.kind, PacketType::Event),
///     other => panic!("{other:?}"),
/// }
/// let header = r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
/// assert!(matches!(r.push_text(&header[1..]).unwrap(), Step::NeedsAttachments(2)));
/// assert!(r.push_binary(vec![1, 2, 3]).unwrap().is_none());
/// let done = r.push_binary(vec![4, 5, 6]).unwrap().unwrap();
/// assert_eq!(done.packet().kind, PacketType::BinaryEvent);
/// assert_eq!(done.attachments(), [vec![1, 2, 3], vec![4, 5, 6]]);
/// ```
#[derive(Debug, Clone)]
pub struct Reassembler {
    version: Version,
    profile: Profile,
    limits: Limits,
    pending: Option<Assembled>,
}

/// What a text message gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'a> {
    /// A whole packet.
    Packet(Packet<'a>),
    /// The header of a binary packet; this many attachments must follow.
    NeedsAttachments(usize),
}

impl Reassembler {
    /// A reassembler for one connection.
    pub fn new(version: Version, profile: Profile, limits: Limits) -> Self {
        Reassembler {
            version,
            profile,
            limits,
            pending: None,
        }
    }

    /// Takes a text message.
    pub fn push_text<'a>(&mut self, text: &'a str) -> Result<Step<'a>, DecodeError> {
        if self.pending.is_some() {
            return Err(DecodeError::TextWhileReassembling);
        }
        let packet = decode(text, self.version, self.profile, &self.limits)?;
        if !packet.kind.is_binary() {
            return Ok(Step::Packet(packet));
        }
        self.pending = Some(Assembled::from_header(
            text,
            &packet,
            self.profile,
            self.limits.max_json_depth,
        ));
        Ok(Step::NeedsAttachments(packet.attachments))
    }

    /// Takes a binary message; returns the packet once its last attachment arrived.
    pub fn push_binary(&mut self, data: Vec<u8>) -> Result<Option<Assembled>, DecodeError> {
        let pending = self
            .pending
            .as_mut()
            .ok_or(DecodeError::BinaryWithoutHeader)?;
        pending.attachments.push(data);
        if pending.attachments.len() < pending.expected {
            return Ok(None);
        }
        let done = self
            .pending
            .take()
            .ok_or(DecodeError::BinaryWithoutHeader)?;
        if let Some(json) = done.json() {
            binary::check_placeholders(
                json.as_str(),
                done.attachments.len(),
                self.profile,
                self.limits.max_json_depth,
            )?;
        }
        Ok(Some(done))
    }

    /// `true` while a binary packet waits for attachments.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops a partly received binary packet (`Decoder#destroy`).
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

/// A binary packet with all its attachments: the header text it owns, and
/// the attachments in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    header: String,
    kind: PacketType,
    namespace: Option<Range<usize>>,
    ack_id: Option<AckId>,
    payload: Option<Range<usize>>,
    expected: usize,
    attachments: Vec<Vec<u8>>,
    profile: Profile,
    max_depth: usize,
}

impl Assembled {
    fn from_header(text: &str, packet: &Packet<'_>, profile: Profile, max_depth: usize) -> Self {
        let range_of = |part: &str| {
            let start = part.as_ptr() as usize - text.as_ptr() as usize;
            start..start + part.len()
        };
        let within = |part: &str| {
            let (base, p) = (text.as_ptr() as usize, part.as_ptr() as usize);
            p >= base && p + part.len() <= base + text.len()
        };
        Assembled {
            header: text.to_owned(),
            kind: packet.kind,
            namespace: within(packet.namespace).then(|| range_of(packet.namespace)),
            ack_id: packet.ack_id,
            payload: packet.payload.map(|p| range_of(p.as_str())),
            expected: packet.attachments,
            attachments: Vec::with_capacity(packet.attachments),
            profile,
            max_depth,
        }
    }

    fn json(&self) -> Option<Json<'_>> {
        self.payload
            .clone()
            .map(|r| Json::from_validated(&self.header[r]))
    }

    /// The header packet, its payload still holding the placeholders.
    pub fn packet(&self) -> Packet<'_> {
        Packet {
            kind: self.kind,
            namespace: self.namespace.clone().map_or("/", |r| &self.header[r]),
            ack_id: self.ack_id,
            attachments: self.expected,
            payload: self.json(),
        }
    }

    /// The attachments, in the order they arrived.
    pub fn attachments(&self) -> &[Vec<u8>] {
        &self.attachments
    }

    /// The data with every placeholder replaced by its attachment (moved,
    /// copied only when a placeholder index is used more than once).
    pub fn into_value(self) -> Result<Value, DecodeError> {
        match self.payload {
            Some(range) => binary::reconstruct(
                &self.header[range],
                self.attachments,
                self.profile,
                self.max_depth,
            ),
            None => Ok(Value::Null),
        }
    }

    /// The header text and the attachments.
    pub fn into_parts(self) -> (String, Vec<Vec<u8>>) {
        (self.header, self.attachments)
    }
}
