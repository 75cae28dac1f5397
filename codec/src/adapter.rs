//! @socket.io/redis-adapter 8.3: how Socket.IO servers of one cluster share
//! broadcasts through Redis pub/sub — the channel names, and the message a
//! node publishes for a broadcast. The caller publishes and subscribes;
//! nothing here touches Redis.
//!
//! Each namespace's adapter subscribes to the pattern `{key}#{nsp}#*` and
//! publishes a broadcast on `{key}#{nsp}#`, or on `{key}#{nsp}#{room}#` when
//! it goes to exactly one room, as the notepack.io encoding of
//! `[uid, packet, {rooms, except, flags}]`: `uid` names the node (which
//! ignores its own messages), `packet` is the socket.io-parser packet object
//! `{type, data, nsp}`, and every node delivers it to its own sockets in
//! `rooms` (all of the namespace when empty) that are in none of `except`
//! (a socket is in the room of its own id). A node skips a room channel
//! whose room has no socket of its own before decoding. The `key` is
//! `socket.io` unless the application set another.
//!
//! ```
//! use siospec_codec::adapter::{self, Broadcast, Channels, Node, Received};
//! use siospec_codec::socket::binary::Value;
//! use siospec_codec::Limits;
//!
//! let channels = Channels::new(adapter::DEFAULT_KEY);
//! // `socket.to("room1").emit("hi")` on node "aaaaaa", sent by socket "s1".
//! let b = Broadcast::event("aaaaaa", "/", Value::Array(vec![Value::String("hi".into())]))
//!     .to(["room1"])
//!     .except(["s1"]);
//! assert_eq!(channels.publish_on(&b), "socket.io#/#room1#");
//! let mut message = Vec::new();
//! adapter::encode_broadcast(&b, &mut message);
//!
//! // Node "bbbbbb", with a socket in room1, delivers it.
//! let node = Node { channels, namespace: "/".into(), uid: "bbbbbb".into() };
//! let got = adapter::receive(&node, "socket.io#/#room1#", &message, |room| room == "room1", &Limits::default());
//! assert_eq!(got, Ok(Received::Deliver(b.clone())));
//! // Node "aaaaaa" ignores its own message.
//! let own = Node { uid: "aaaaaa".into(), ..node };
//! assert!(matches!(adapter::receive(&own, "socket.io#/#room1#", &message, |_| true, &Limits::default()),
//!     Ok(Received::Ignore(_))));
//! ```
//!
//! # Where it departs from the official adapter
//!
//! The official adapter hands whatever notepack decodes to socket.io;
//! [`receive`] refuses, with an [`AdapterError`], messages no adapter writes
//! and socket.io would mishandle: a `uid` that is not a string, rooms or
//! excepted rooms that are not strings, a packet whose `type` is not an
//! integer 0–6, whose `nsp` is not a string or whose `id` is not an integer.
//! notepack 3's timestamp extension (ext type −1, a `Date`) is read as the
//! array `[type, bytes]`, as notepack 2 read it: the data model has no dates.

use std::fmt;

use crate::socket::binary::Value;
use crate::socket::{msgpack, DecodeError, PacketType};
use crate::{Limits, Profile};

/// The channel prefix when the application sets no `key`.
pub const DEFAULT_KEY: &str = "socket.io";

/// The channel names of one cluster (one `key`).
///
/// ```
/// use siospec_codec::adapter::Channels;
///
/// let c = Channels::new("socket.io");
/// assert_eq!(c.broadcast("/chat"), "socket.io#/chat#");
/// assert_eq!(c.pattern("/chat"), "socket.io#/chat#*");
/// assert_eq!(c.request("/"), "socket.io-request#/#");
/// assert_eq!(c.response("/"), "socket.io-response#/#");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    key: String,
}

impl Channels {
    /// The channels of the cluster whose adapters use `key`.
    pub fn new(key: &str) -> Channels {
        Channels {
            key: key.to_owned(),
        }
    }

    /// Where broadcasts to the whole of `namespace` (or several rooms) go.
    pub fn broadcast(&self, namespace: &str) -> String {
        format!("{}#{namespace}#", self.key)
    }

    /// The pattern every node of `namespace` subscribes to (PSUBSCRIBE).
    pub fn pattern(&self, namespace: &str) -> String {
        format!("{}*", self.broadcast(namespace))
    }

    /// Where requests between the nodes of `namespace` go.
    pub fn request(&self, namespace: &str) -> String {
        format!("{}-request#{namespace}#", self.key)
    }

    /// Where responses to requests go.
    pub fn response(&self, namespace: &str) -> String {
        format!("{}-response#{namespace}#", self.key)
    }

    /// The channel a node publishes `broadcast` on: its room's, when it
    /// goes to exactly one room.
    ///
    /// ```
    /// use siospec_codec::adapter::{Broadcast, Channels};
    /// use siospec_codec::socket::binary::Value;
    ///
    /// let c = Channels::new("socket.io");
    /// let b = Broadcast::event("n1", "/", Value::Array(vec![]));
    /// assert_eq!(c.publish_on(&b), "socket.io#/#");
    /// assert_eq!(c.publish_on(&b.clone().to(["a", "b"])), "socket.io#/#");
    /// assert_eq!(c.publish_on(&b.to(["a"])), "socket.io#/#a#");
    /// ```
    pub fn publish_on(&self, broadcast: &Broadcast) -> String {
        let mut channel = self.broadcast(&broadcast.packet.namespace);
        if let [room] = broadcast.rooms.as_slice() {
            channel.push_str(room);
            channel.push('#');
        }
        channel
    }

    /// The room a message on `channel` is for, as the official adapter
    /// reads it (the channel after `{key}#{nsp}#`, its last character
    /// dropped): `""` for the whole namespace; `None` for a channel of
    /// another namespace or cluster.
    ///
    /// ```
    /// use siospec_codec::adapter::Channels;
    ///
    /// let c = Channels::new("socket.io");
    /// assert_eq!(c.room_of("/", "socket.io#/#"), Some(""));
    /// assert_eq!(c.room_of("/", "socket.io#/#room1#"), Some("room1"));
    /// assert_eq!(c.room_of("/", "socket.io#/chat#"), None);
    /// ```
    pub fn room_of<'c>(&self, namespace: &str, channel: &'c str) -> Option<&'c str> {
        let prefix = self.broadcast(namespace);
        let rest = channel.strip_prefix(prefix.as_str())?;
        let mut chars = rest.chars();
        chars.next_back();
        Some(chars.as_str())
    }
}

/// The socket.io-parser packet object a broadcast carries.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastPacket {
    /// The packet type (an `EVENT` for every `emit`).
    pub kind: PacketType,
    /// The namespace (`/` when the message had none).
    pub namespace: String,
    /// The data: the event array for an `EVENT`.
    pub data: Option<Value>,
    /// The ack id, if any.
    pub id: Option<u64>,
}

/// One broadcast between the nodes of a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The publishing node's id (the official adapter's `uid2(6)`).
    pub uid: String,
    /// What to send.
    pub packet: BroadcastPacket,
    /// The rooms it goes to; empty: the whole namespace.
    pub rooms: Vec<String>,
    /// The rooms whose sockets do not get it (a sender's own id, for `socket.to(room)`).
    pub except: Vec<String>,
    /// socket.io's flags (`{volatile, compress, local, timeout, …}`), as sent;
    /// [`Value::Undefined`] when absent.
    pub flags: Value,
}

impl Broadcast {
    /// `io.emit(…)` on node `uid`: an `EVENT` with `data` (the event array)
    /// to the whole of `namespace`, empty flags.
    pub fn event(uid: &str, namespace: &str, data: Value) -> Broadcast {
        Broadcast {
            uid: uid.to_owned(),
            packet: BroadcastPacket {
                kind: PacketType::Event,
                namespace: namespace.to_owned(),
                data: Some(data),
                id: None,
            },
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Value::Object(Vec::new()),
        }
    }

    /// The same, to `rooms` only.
    #[must_use]
    pub fn to<const N: usize>(mut self, rooms: [&str; N]) -> Broadcast {
        self.rooms = rooms.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// The same, not to the sockets in `rooms`.
    #[must_use]
    pub fn except<const N: usize>(mut self, rooms: [&str; N]) -> Broadcast {
        self.except = rooms.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// Whether the socket with id `socket` and `rooms` gets it (as
    /// socket.io-adapter's `broadcast` chooses).
    ///
    /// ```
    /// use siospec_codec::adapter::Broadcast;
    /// use siospec_codec::socket::binary::Value;
    ///
    /// let b = Broadcast::event("n1", "/", Value::Array(vec![])).to(["r"]).except(["s1"]);
    /// assert!(b.reaches("s2", &["r".to_owned()]));
    /// assert!(!b.reaches("s1", &["r".to_owned()]));
    /// assert!(!b.reaches("s3", &[]));
    /// ```
    pub fn reaches(&self, socket: &str, rooms: &[String]) -> bool {
        let in_room = |room: &String| room == socket || rooms.contains(room);
        (self.rooms.is_empty() || self.rooms.iter().any(in_room))
            && !self.except.iter().any(in_room)
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterError {
    /// notepack could not decode it (the official adapter throws).
    Msgpack(DecodeError),
    /// Not an array `[uid, packet, opts]` (the official adapter throws).
    NotAnArray,
    /// The `uid` is not a string (a departure: see the module).
    Uid,
    /// The packet is not an object of the shape socket.io encodes.
    Packet(&'static str),
    /// The options are not an object with arrays of strings.
    Options(&'static str),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Msgpack(e) => write!(f, "not notepack: {e}"),
            AdapterError::NotAnArray => f.write_str("not an array [uid, packet, opts]"),
            AdapterError::Uid => f.write_str("the uid is not a string"),
            AdapterError::Packet(why) => write!(f, "packet: {why}"),
            AdapterError::Options(why) => write!(f, "options: {why}"),
        }
    }
}

impl std::error::Error for AdapterError {}

/// Why a node passes over a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// The channel is another namespace's or cluster's.
    OtherChannel,
    /// A room channel whose room has no socket on this node (not decoded).
    UnknownRoom(String),
    /// The node's own message.
    OwnMessage,
    /// No packet, or one for another namespace.
    OtherNamespace,
}

/// What a node makes of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Deliver it to this node's sockets that [`Broadcast::reaches`].
    Deliver(Broadcast),
    /// Pass over it.
    Ignore(Ignored),
}

/// One namespace's adapter on one node: what [`receive`] compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The cluster's channels.
    pub channels: Channels,
    /// The namespace.
    pub namespace: String,
    /// This node's id.
    pub uid: String,
}

/// Reads `message`, received on `channel` (from the pattern subscription),
/// as the official adapter's `onmessage` does: the channel, then whether
/// this node has the room (`has_room`), then the message, its uid and
/// namespace.
pub fn receive(
    node: &Node,
    channel: &str,
    message: &[u8],
    has_room: impl Fn(&str) -> bool,
    limits: &Limits,
) -> Result<Received, AdapterError> {
    let Some(room) = node.channels.room_of(&node.namespace, channel) else {
        return Ok(Received::Ignore(Ignored::OtherChannel));
    };
    if !room.is_empty() && !has_room(room) {
        return Ok(Received::Ignore(Ignored::UnknownRoom(room.to_owned())));
    }
    let decoded = decode_broadcast(message, limits)?;
    let Some(broadcast) = decoded else {
        return Ok(Received::Ignore(Ignored::OtherNamespace));
    };
    if broadcast.uid == node.uid {
        return Ok(Received::Ignore(Ignored::OwnMessage));
    }
    if broadcast.packet.namespace != node.namespace {
        return Ok(Received::Ignore(Ignored::OtherNamespace));
    }
    Ok(Received::Deliver(broadcast))
}

/// Decodes a broadcast message; `Ok(None)` when it carries no packet
/// (`null`, `false`, `0`, `""` or nothing in its place), which every node
/// ignores.
///
/// ```
/// use siospec_codec::adapter::{decode_broadcast, AdapterError};
/// use siospec_codec::Limits;
///
/// // ["n1", null, {}]
/// assert_eq!(decode_broadcast(b"\x93\xa2n1\xc0\x80", &Limits::default()), Ok(None));
/// assert_eq!(decode_broadcast(b"\x80", &Limits::default()), Err(AdapterError::NotAnArray));
/// ```
pub fn decode_broadcast(
    message: &[u8],
    limits: &Limits,
) -> Result<Option<Broadcast>, AdapterError> {
    let value =
        msgpack::decode_value(message, Profile::Compat, limits).map_err(AdapterError::Msgpack)?;
    let Value::Array(mut items) = value else {
        return Err(AdapterError::NotAnArray);
    };
    items.resize(3, Value::Undefined);
    let opts = items.pop().unwrap_or(Value::Undefined);
    let packet = items.pop().unwrap_or(Value::Undefined);
    let uid = items.pop().unwrap_or(Value::Undefined);
    if is_falsy(&packet) {
        return Ok(None);
    }
    let uid = match uid {
        Value::String(s) => s,
        _ => return Err(AdapterError::Uid),
    };
    let packet = read_packet(packet)?;
    let Value::Object(opts) = opts else {
        return Err(AdapterError::Options("not an object"));
    };
    let mut rooms = Vec::new();
    let mut except = Vec::new();
    let mut flags = Value::Undefined;
    for (key, value) in opts {
        match key.as_str() {
            "rooms" => rooms = strings(value, "rooms is not an array of strings")?,
            "except" => except = strings(value, "except is not an array of strings")?,
            "flags" => flags = value,
            _ => {}
        }
    }
    Ok(Some(Broadcast {
        uid,
        packet,
        rooms,
        except,
        flags,
    }))
}

/// JavaScript's falsy values among what notepack decodes.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Undefined | Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn read_packet(packet: Value) -> Result<BroadcastPacket, AdapterError> {
    let Value::Object(entries) = packet else {
        return Err(AdapterError::Packet("not an object"));
    };
    let mut kind = None;
    let mut namespace = None;
    let mut data = None;
    let mut id = None;
    for (key, value) in entries {
        match key.as_str() {
            "type" => {
                kind = match integer(&value) {
                    Some(n) if n <= 6 => Some(PacketType::ALL[n as usize]),
                    _ => return Err(AdapterError::Packet("type is not an integer 0-6")),
                }
            }
            "nsp" => match value {
                Value::String(s) => namespace = Some(s),
                Value::Undefined => {}
                _ => return Err(AdapterError::Packet("nsp is not a string")),
            },
            "data" if value != Value::Undefined => data = Some(value),
            "id" => match value {
                Value::Undefined | Value::Null => {}
                other => match integer(&other) {
                    Some(n) => id = Some(n),
                    None => return Err(AdapterError::Packet("id is not an integer")),
                },
            },
            _ => {}
        }
    }
    Ok(BroadcastPacket {
        kind: kind.ok_or(AdapterError::Packet("no type"))?,
        namespace: namespace.unwrap_or_else(|| "/".to_owned()),
        data,
        id,
    })
}

/// A non-negative integral number (notepack reads every number as a
/// JavaScript number: integral floats are integers).
fn integer(v: &Value) -> Option<u64> {
    let Value::Number(n) = v else { return None };
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(f))
            .map(|f| f as u64)
    })
}

fn strings(value: Value, why: &'static str) -> Result<Vec<String>, AdapterError> {
    match value {
        Value::Undefined | Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(AdapterError::Options(why)),
            })
            .collect(),
        _ => Err(AdapterError::Options(why)),
    }
}

/// Writes `broadcast` as the official adapter publishes it: notepack of
/// `[uid, {type, data, id?, nsp}, {rooms, except, flags}]` (flags left out
/// when [`Value::Undefined`], as notepack leaves out undefined members).
///
/// ```
/// use siospec_codec::adapter::{encode_broadcast, Broadcast};
/// use siospec_codec::socket::binary::Value;
///
/// let mut out = Vec::new();
/// encode_broadcast(&Broadcast::event("n1", "/", Value::Array(vec![])), &mut out);
/// assert_eq!(out, b"\x93\xa2n1\x83\xa4type\x02\xa4data\x90\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80");
/// ```
pub fn encode_broadcast(broadcast: &Broadcast, out: &mut Vec<u8>) {
    let strings =
        |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    let p = &broadcast.packet;
    let mut packet = vec![("type".to_owned(), Value::Number((p.kind as u8).into()))];
    if let Some(data) = &p.data {
        packet.push(("data".to_owned(), data.clone()));
    }
    if let Some(id) = p.id {
        packet.push(("id".to_owned(), Value::Number(id.into())));
    }
    // The adapter sets `nsp` on the packet it is handed: socket.io's has it
    // third, after `type` and `data`; one without gets it last.
    packet.push(("nsp".to_owned(), Value::String(p.namespace.clone())));
    let mut opts = vec![
        ("rooms".to_owned(), strings(&broadcast.rooms)),
        ("except".to_owned(), strings(&broadcast.except)),
    ];
    if broadcast.flags != Value::Undefined {
        opts.push(("flags".to_owned(), broadcast.flags.clone()));
    }
    msgpack::encode_value(
        &Value::Array(vec![
            Value::String(broadcast.uid.clone()),
            Value::Object(packet),
            Value::Object(opts),
        ]),
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(uid: &str) -> Node {
        Node {
            channels: Channels::new(DEFAULT_KEY),
            namespace: "/".into(),
            uid: uid.into(),
        }
    }

    #[test]
    fn a_room_channel_without_the_room_is_not_decoded() {
        let got = receive(
            &node("n2"),
            "socket.io#/#r#",
            b"\xc1",
            |_| false,
            &Limits::default(),
        );
        assert_eq!(got, Ok(Received::Ignore(Ignored::UnknownRoom("r".into()))));
        let got = receive(
            &node("n2"),
            "socket.io#/#r#",
            b"\xc1",
            |_| true,
            &Limits::default(),
        );
        assert!(matches!(got, Err(AdapterError::Msgpack(_))));
    }

    #[test]
    fn binary_data_round_trips() {
        let data = Value::Array(vec![
            Value::String("b".into()),
            Value::Binary(vec![0, 1, 2]),
        ]);
        let b = Broadcast::event("n1", "/custom", data).to(["a", "b"]);
        let mut out = Vec::new();
        encode_broadcast(&b, &mut out);
        assert_eq!(decode_broadcast(&out, &Limits::default()), Ok(Some(b)));
    }

    #[test]
    fn limits_apply() {
        let b = Broadcast::event("n1", "/", Value::Array(vec![Value::Binary(vec![0; 64])]));
        let mut out = Vec::new();
        encode_broadcast(&b, &mut out);
        let small = Limits {
            max_payload_bytes: 32,
            ..Limits::default()
        };
        assert!(matches!(
            decode_broadcast(&out, &small),
            Err(AdapterError::Msgpack(_))
        ));
    }
}
