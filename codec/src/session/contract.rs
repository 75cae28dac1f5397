//! siospec's testee contract: the application the conformance cases expect
//! a server to run (harness/CONTRACT.md, "contract 1"), as pure logic over
//! the server machines.
//!
//! Engine mode (`/engine.io/`) is [`echo`]: every message goes back to the
//! session it came from. Socket mode (`/socket.io/`) is [`Contract`]: the
//! namespaces of [`NAMESPACES`], the `auth` emit on connection, and the
//! events of the contract's table (`message`, `message-with-ack`,
//! `emit-with-ack`, `join`, `leave`, `to-room`, `broadcast`,
//! `disconnect-me`, `close-transport`), and, when the server offers
//! connection state recovery ([`Rooms::with_recovery`]), the namespace
//! [`RECOVERY_NAMESPACE`] with the same table.
//!
//! Like the machines, nothing here does I/O: what reaches beyond one
//! connection (an emit for other sessions, dropping the transport) comes
//! back as an [`Effect`] for the adapter to carry out, and room membership
//! is a [`Rooms`] value the adapter owns and shares between its sessions.
//! siospec's reference server runs this module, and so do the codec's
//! in-memory test beds.
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//! use siospec_codec::session::contract::{Contract, Rooms};
//! use siospec_codec::session::engine::{Endpoint, Transmit, Verdict};
//! use siospec_codec::session::socket::ServerConnection;
//! use siospec_codec::session::{contract, Frame, RequestHead, TransportId};
//!
//! let t0 = Instant::now();
//! let config = contract::Config::reference();
//! let endpoint = Endpoint::new(config.engine);
//! let head = RequestHead::websocket("EIO=4&transport=websocket");
//! let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else { unreachable!() };
//! let engine = siospec_codec::session::engine::ServerSession::new(
//!     t0, endpoint.config().clone(), "s1", h.accept().unwrap(), TransportId(1), &head);
//! let mut connection = ServerConnection::new(t0, engine, config.socket);
//! let (mut app, mut rooms) = (Contract::default(), Rooms::default());
//!
//! let mut frames = Vec::new();
//! for text in ["40", r#"42["message","hi"]"#] {
//!     connection.handle_frame(t0, TransportId(1), Frame::Text(text.into()));
//!     while let Some(event) = connection.poll_event() {
//!         assert!(app.handle(&mut connection, &mut rooms, t0, &event).is_none());
//!     }
//!     while let Some(t) = connection.poll_transmit() {
//!         if let Transmit::Frame { frame: Frame::Text(text), .. } = t {
//!             frames.push(text);
//!         }
//!     }
//! }
//! assert_eq!(frames[1], r#"40{"sid":"s1-1"}"#);
//! assert_eq!(frames[2], r#"42["auth",{}]"#);
//! assert_eq!(frames[3], r#"42["message-back","hi"]"#);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::engine::encode_frame;
use super::engine::{Event, Protocol, ServerConfig, ServerSession};
use super::socket::{check_event_json, encode_raw};
use super::socket::{Payload, Recovery, ServerConnection, ServerEvent, ServerOptions};
use super::{Frame, Message};
use crate::socket::{AckId, PacketType};

/// The namespaces socket mode serves; a CONNECT to any other is refused
/// with `{"message":"Invalid namespace"}`.
pub const NAMESPACES: [&str; 2] = ["/", "/custom"];

/// The namespace a server started with `--recovery MS` serves with
/// connection state recovery (harness/CONTRACT.md, "Connection state
/// recovery"); the others stay without it.
pub const RECOVERY_NAMESPACE: &str = "/recovery";

/// The `maxDisconnectionDuration` siospec starts servers with
/// (`--recovery 2000`): long enough for a case's reconnection, short enough
/// to wait out.
pub const RECOVERY_DURATION: Duration = Duration::from_millis(2000);

/// The configuration a server runs the contract with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Engine.IO configuration.
    pub engine: ServerConfig,
    /// The Socket.IO configuration.
    pub socket: ServerOptions,
}

impl Config {
    /// The contract's reference configuration (CONTRACT.md,
    /// "Configuration"), which keeps a full run to seconds: the official
    /// suites' ([`ServerConfig::suite`], [`ServerOptions::suite`]:
    /// pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000 bytes,
    /// CORS `*`, connectTimeout 1000 ms, EIO=3 refused) with an
    /// upgradeTimeout of 2000 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siospec_codec::session::contract::Config;
    ///
    /// let reference = Config::reference();
    /// assert_eq!(reference.engine.ping_interval, Duration::from_millis(300));
    /// assert_eq!(reference.engine.upgrade_timeout, Duration::from_millis(2000));
    /// assert_eq!(reference.socket.connect_timeout, Duration::from_millis(1000));
    /// ```
    pub fn reference() -> Self {
        Config {
            engine: ServerConfig {
                // Shorter than engine.io's 10 s so that the one case that
                // waits it out does not set the length of a whole run.
                upgrade_timeout: Duration::from_millis(2000),
                ..ServerConfig::suite()
            },
            socket: ServerOptions::suite(),
        }
    }
}

/// Engine mode's application: a message goes back, as it came, to the
/// session it came from. Every other event needs no answer.
pub fn echo(session: &mut ServerSession, now: Instant, event: &Event) {
    if let Event::Message(message) = event {
        // A client that does not read is closed by the session when its
        // buffer is full; there is nothing more to do here.
        let _ = session.send(now, message.clone());
    }
}

/// Which sessions have joined which namespace, and which rooms, by
/// Engine.IO session id: the state socket mode's sessions share. Each
/// session joins a namespace at most once, so a session id stands for its
/// socket there.
///
/// With recovery ([`Rooms::with_recovery`]) it also holds the server's
/// [`Recovery`] store: the sockets kept for clients that went away from
/// [`RECOVERY_NAMESPACE`], and the events they may have missed.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    namespaces: BTreeMap<String, BTreeSet<String>>,
    rooms: BTreeMap<(String, String), BTreeSet<String>>,
    recovery: Option<Recovery>,
}

impl Rooms {
    /// Shared state for a server that offers recovery on
    /// [`RECOVERY_NAMESPACE`], keeping sockets for `max_disconnection`.
    pub fn with_recovery(max_disconnection: Duration) -> Self {
        Rooms {
            recovery: Some(Recovery::new(max_disconnection)),
            ..Rooms::default()
        }
    }

    /// The recovery store, on a namespace that has recovery.
    fn recovery_on(&mut self, namespace: &str) -> Option<&mut Recovery> {
        self.recovery
            .as_mut()
            .filter(|_| namespace == RECOVERY_NAMESPACE)
    }

    /// The rooms `sid` is in on `namespace`.
    fn rooms_of(&self, namespace: &str, sid: &str) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|((ns, _), members)| ns == namespace && members.contains(sid))
            .map(|((_, room), _)| room.clone())
            .collect()
    }

    /// Stores an event without ack for `to` (empty: everyone) but not
    /// `except` when `namespace` has recovery, which appends its offset;
    /// the JSON to send.
    fn offset(
        &mut self,
        now: Instant,
        namespace: &str,
        to: &[String],
        except: &[String],
        json: String,
        attachments: &[Vec<u8>],
    ) -> String {
        match self.recovery_on(namespace) {
            Some(store) => {
                store
                    .store(now, namespace, to, except, &json, attachments.to_vec())
                    .1
            }
            None => json,
        }
    }

    fn join_namespace(&mut self, namespace: &str, sid: &str) {
        self.namespaces
            .entry(namespace.to_owned())
            .or_default()
            .insert(sid.to_owned());
    }

    /// Leaving a namespace leaves its rooms too.
    fn leave_namespace(&mut self, namespace: &str, sid: &str) {
        if let Some(members) = self.namespaces.get_mut(namespace) {
            members.remove(sid);
        }
        self.rooms.retain(|(ns, _), members| {
            if ns == namespace {
                members.remove(sid);
            }
            !members.is_empty()
        });
    }

    fn join_room(&mut self, namespace: &str, room: &str, sid: &str) {
        self.rooms
            .entry((namespace.to_owned(), room.to_owned()))
            .or_default()
            .insert(sid.to_owned());
    }

    fn leave_room(&mut self, namespace: &str, room: &str, sid: &str) {
        let key = (namespace.to_owned(), room.to_owned());
        if let Some(members) = self.rooms.get_mut(&key) {
            members.remove(sid);
            if members.is_empty() {
                self.rooms.remove(&key);
            }
        }
    }

    /// Whether a session of this server is in `room` on `namespace`: a
    /// cluster node reads a message on a room's channel only then
    /// ([`crate::adapter::receive`]).
    pub fn has_room(&self, namespace: &str, room: &str) -> bool {
        self.rooms
            .contains_key(&(namespace.to_owned(), room.to_owned()))
    }

    /// The sessions a broadcast from another node of a cluster reaches:
    /// joined to its namespace, and reached by its rooms and excepted rooms
    /// ([`Broadcast::reaches`](crate::adapter::Broadcast::reaches), a
    /// session id standing for its socket).
    ///
    /// ```
    /// use siospec_codec::adapter::Broadcast;
    /// use siospec_codec::session::contract::Rooms;
    /// use siospec_codec::socket::binary::Value;
    ///
    /// let rooms = Rooms::default();
    /// let b = Broadcast::event("n1", "/", Value::Array(vec![]));
    /// assert!(rooms.reached(&b).is_empty());
    /// assert!(!rooms.has_room("/", "r"));
    /// ```
    pub fn reached(&self, broadcast: &crate::adapter::Broadcast) -> Vec<String> {
        let namespace = &broadcast.packet.namespace;
        self.members(namespace, None)
            .into_iter()
            .filter(|sid| broadcast.reaches(sid, &self.rooms_of(namespace, sid)))
            .collect()
    }

    /// The sessions joined to `namespace` (and in `room`, when given).
    fn members(&self, namespace: &str, room: Option<&str>) -> Vec<String> {
        let Some(members) = self.namespaces.get(namespace) else {
            return Vec::new();
        };
        let in_room = room.map(|room| self.rooms.get(&(namespace.to_owned(), room.to_owned())));
        members
            .iter()
            .filter(|sid| in_room.is_none_or(|r| r.is_some_and(|r| r.contains(*sid))))
            .cloned()
            .collect()
    }
}

/// An event one session's application emits on other sessions' connections
/// (`to-room`, `broadcast`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    /// The namespace.
    pub namespace: String,
    /// The event array, placeholders included, as JSON.
    pub json: String,
    /// The binary attachments, in placeholder order.
    pub attachments: Vec<Vec<u8>>,
}

impl Emit {
    /// Emits on `connection`, if it is still joined to the namespace (it may
    /// have left since the recipients were chosen).
    pub fn apply(&self, connection: &mut ServerConnection, now: Instant) {
        if connection.is_connected(&self.namespace) {
            // A full queue drops the emit, as a slow client would miss it.
            let _ = connection.emit_raw(now, &self.namespace, &self.json, self.attachments.clone());
        }
    }

    /// The one WebSocket text frame [`apply`](Self::apply) makes a
    /// connection of Engine.IO `protocol` write, when it is one frame: no
    /// attachments (each would be a frame of its own) and valid event JSON.
    /// It is the same for every connection on the default parser, so an
    /// adapter can encode a broadcast once and hand each such recipient the
    /// same bytes (the msgpack parser writes a binary frame instead). `None`:
    /// use `apply` on each connection.
    ///
    /// ```
    /// use siospec_codec::session::contract::Emit;
    /// use siospec_codec::session::engine::Protocol;
    ///
    /// let emit = Emit {
    ///     namespace: "/custom".into(),
    ///     json: r#"["broadcast","hi"]"#.into(),
    ///     attachments: Vec::new(),
    /// };
    /// assert_eq!(
    ///     emit.websocket_text(Protocol::V4).as_deref(),
    ///     Some(r#"42/custom,["broadcast","hi"]"#)
    /// );
    /// let with_bytes = Emit { attachments: vec![vec![1]], ..emit };
    /// assert_eq!(with_bytes.websocket_text(Protocol::V4), None);
    /// ```
    pub fn websocket_text(&self, protocol: Protocol) -> Option<String> {
        if !self.attachments.is_empty() || !check_event_json(&self.json) {
            return None;
        }
        let encoded = encode_raw(
            PacketType::Event,
            &self.namespace,
            None,
            Some(&self.json),
            Vec::new(),
        )?;
        let packet = Message::Text(encoded.text).into_packet();
        match encode_frame(protocol, &packet, true) {
            Frame::Text(text) => Some(text),
            Frame::Binary(_) => None,
        }
    }
}

impl Emit {
    /// The cluster message for this emit from node `uid` to `rooms` but
    /// not `except` ([`Effect::Relay`]'s addressing); `None` when its JSON
    /// does not hold an event array (it always does when the contract made it).
    ///
    /// ```
    /// use siospec_codec::session::contract::Emit;
    ///
    /// let emit = Emit { namespace: "/".into(), json: r#"["broadcast-message",1]"#.into(), attachments: vec![] };
    /// let b = emit.broadcast("node1", &[], &[]).unwrap();
    /// assert_eq!(Emit::from_broadcast(&b), Some(emit));
    /// ```
    pub fn broadcast(
        &self,
        uid: &str,
        rooms: &[String],
        except: &[String],
    ) -> Option<crate::adapter::Broadcast> {
        let data = crate::socket::binary::reconstruct(
            &self.json,
            self.attachments.clone(),
            crate::Profile::Compat,
            crate::Limits::default().max_json_depth,
        )
        .ok()?;
        if !matches!(data, crate::socket::binary::Value::Array(_)) {
            return None;
        }
        let mut broadcast = crate::adapter::Broadcast::event(uid, &self.namespace, data);
        broadcast.rooms = rooms.to_vec();
        broadcast.except = except.to_vec();
        Some(broadcast)
    }

    /// What a node emits on its sockets for a cluster message: an `EVENT`
    /// whose data is an array; `None` for any other packet.
    pub fn from_broadcast(broadcast: &crate::adapter::Broadcast) -> Option<Emit> {
        let packet = &broadcast.packet;
        let data = packet.data.as_ref()?;
        if packet.kind != PacketType::Event
            || !matches!(data, crate::socket::binary::Value::Array(_))
        {
            return None;
        }
        let mut json = Vec::new();
        let mut attachments = Vec::new();
        crate::socket::binary::write_json(data, &mut json, &mut attachments);
        Some(Emit {
            namespace: packet.namespace.clone(),
            json: String::from_utf8(json).ok()?,
            attachments: attachments.into_iter().map(<[u8]>::to_vec).collect(),
        })
    }
}

/// What the application asks of the adapter, beyond the connection it
/// handled an event of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// [`Emit::apply`] `emit` on the connections of these sessions; in a
    /// cluster, also publish it to the other nodes with its addressing
    /// ([`Emit::broadcast`]).
    Relay {
        /// The recipients' session ids.
        to: Vec<String>,
        /// What they emit.
        emit: Emit,
        /// The rooms it is for (empty: the whole namespace), as socket.io's
        /// adapter receives them.
        rooms: Vec<String>,
        /// The rooms whose sockets do not get it (the sender's own id, for
        /// `to-room`).
        except: Vec<String>,
    },
    /// Drop the session's transport without a close packet, as a network
    /// failure would (`close-transport`): a WebSocket's TCP connection, or
    /// the pending polling GET (or, without one, the next).
    DropTransport,
}

/// Socket mode's application, one per connection: hand it every event the
/// connection reports, in order, with [`handle`](Self::handle).
#[derive(Debug, Clone, Default)]
pub struct Contract {
    /// How many socket ids this connection has handed out.
    socket_ids: u64,
    /// On a namespace with recovery: the socket's id and private id.
    recoverable: BTreeMap<String, (String, String)>,
}

impl Contract {
    /// Answers `event`, which `connection` just reported, through
    /// `connection`, and updates `rooms`; returns what else is to be done.
    ///
    /// A socket id is the session id and a counter (`sid-1`, `sid-2`…):
    /// unique without a random draw, which this crate leaves to callers.
    pub fn handle(
        &mut self,
        connection: &mut ServerConnection,
        rooms: &mut Rooms,
        now: Instant,
        event: &ServerEvent,
    ) -> Option<Effect> {
        let sid = connection.engine().sid().to_owned();
        match event {
            ServerEvent::Connect { namespace, auth } => {
                let recoverable = rooms.recovery_on(namespace).is_some();
                if !NAMESPACES.contains(&namespace.as_str()) && !recoverable {
                    let _ = connection.reject_invalid_namespace(now, namespace);
                    return None;
                }
                let accepted = if recoverable {
                    self.connect_recoverable(connection, rooms, now, namespace, auth)
                } else {
                    self.socket_ids += 1;
                    let socket_id = format!("{sid}-{}", self.socket_ids);
                    connection.accept(now, namespace, &socket_id).is_ok()
                };
                if accepted {
                    rooms.join_namespace(namespace, &sid);
                    let json = array("auth", &[auth.as_str()]);
                    emit_own(connection, rooms, now, namespace, json, Vec::new());
                }
                None
            }
            ServerEvent::Event {
                namespace,
                data,
                ack,
            } => on_event(connection, rooms, &sid, now, namespace, data, *ack),
            ServerEvent::Ack {
                namespace, data, ..
            } => {
                let args = data.elements().unwrap_or_default();
                let json = array("emit-with-ack-result", &args);
                let attachments = data.attachments().to_vec();
                emit_own(connection, rooms, now, namespace, json, attachments);
                None
            }
            ServerEvent::Disconnect { namespace, reason } => {
                if let Some((socket_id, pid)) = self.recoverable.remove(namespace) {
                    // socket.io keeps the socket's rooms, its own id among them.
                    let mut kept = rooms.rooms_of(namespace, &sid);
                    kept.push(socket_id.clone());
                    if let Some(store) = rooms.recovery_on(namespace) {
                        store.persist(now, *reason, namespace, &socket_id, &pid, &kept);
                    }
                }
                rooms.leave_namespace(namespace, &sid);
                None
            }
            ServerEvent::Closed(_) => {
                for namespace in NAMESPACES {
                    rooms.leave_namespace(namespace, &sid);
                }
                None
            }
            ServerEvent::AckTimeout { .. } | ServerEvent::Violation(_) | ServerEvent::Engine(_) => {
                None
            }
        }
    }
}

impl Contract {
    /// A CONNECT on the namespace with recovery: the socket the payload's
    /// `pid` and `offset` name, with the events it missed, or a new one
    /// with a private id; `true` when joined.
    fn connect_recoverable(
        &mut self,
        connection: &mut ServerConnection,
        rooms: &mut Rooms,
        now: Instant,
        namespace: &str,
        auth: &str,
    ) -> bool {
        let sid = connection.engine().sid().to_owned();
        let asked = serde_json::from_str::<serde_json::Value>(auth).ok();
        let field = |k: &str| {
            asked
                .as_ref()
                .and_then(|a| a.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let restored = match (field("pid"), field("offset"), rooms.recovery_on(namespace)) {
            (Some(pid), Some(offset), Some(store)) => store.restore(now, namespace, &pid, &offset),
            _ => None,
        };
        let (socket_id, pid) = match restored {
            Some(back) => {
                let ok = connection
                    .restore(now, namespace, &back.sid, &back.pid, &back.missed)
                    .is_ok();
                if !ok {
                    return false;
                }
                for room in back.rooms.iter().filter(|r| **r != back.sid) {
                    rooms.join_room(namespace, room, &sid);
                }
                (back.sid, back.pid)
            }
            None => {
                self.socket_ids += 1;
                let socket_id = format!("{sid}-{}", self.socket_ids);
                // Unique without a random draw, as the socket ids are.
                let pid = format!("{socket_id}-pid");
                if connection
                    .accept_recoverable(now, namespace, &socket_id, &pid)
                    .is_err()
                {
                    return false;
                }
                (socket_id, pid)
            }
        };
        self.recoverable
            .insert(namespace.to_owned(), (socket_id, pid));
        true
    }
}

/// Emits an event without ack to the connection's own socket on
/// `namespace`, stored (with its offset) when the namespace has recovery.
fn emit_own(
    connection: &mut ServerConnection,
    rooms: &mut Rooms,
    now: Instant,
    namespace: &str,
    json: String,
    attachments: Vec<Vec<u8>>,
) {
    let own = own_id(connection, namespace);
    let json = rooms.offset(now, namespace, &own, &[], json, &attachments);
    let _ = connection.emit_raw(now, namespace, &json, attachments);
}

/// The connection's socket id on `namespace` (socket.io's own room of a
/// socket), if joined.
fn own_id(connection: &ServerConnection, namespace: &str) -> Vec<String> {
    connection
        .namespaces()
        .filter(|(ns, _)| *ns == namespace)
        .map(|(_, id)| id.to_owned())
        .collect()
}

/// The event array `[name, args…]`, the args being JSON already.
fn array(name: &str, args: &[&str]) -> String {
    let mut json = format!("[\"{name}\"");
    for arg in args {
        json.push(',');
        json.push_str(arg);
    }
    json.push(']');
    json
}

/// The contract's table of client events.
fn on_event(
    connection: &mut ServerConnection,
    rooms: &mut Rooms,
    sid: &str,
    now: Instant,
    namespace: &str,
    data: &Payload,
    ack: Option<AckId>,
) -> Option<Effect> {
    let elements = data.elements()?;
    let name = data.event_name()?;
    let args = elements.get(1..).unwrap_or_default();
    let attachments = data.attachments().to_vec();
    let answer_ok = |connection: &mut ServerConnection| {
        if let Some(id) = ack {
            let _ = connection.ack_raw(now, namespace, id, "[\"ok\"]", Vec::new());
        }
    };
    let room = || {
        args.first()
            .and_then(|r| serde_json::from_str::<String>(r).ok())
    };
    match name.as_str() {
        "message" => {
            let json = array("message-back", args);
            emit_own(connection, rooms, now, namespace, json, attachments);
            None
        }
        "message-with-ack" => {
            if let Some(id) = ack {
                let json = format!("[{}]", args.join(","));
                let _ = connection.ack_raw(now, namespace, id, &json, attachments);
            }
            None
        }
        "emit-with-ack" => {
            let json = array("emit-with-ack", args);
            let _ = connection.emit_raw_with_ack(now, namespace, &json, attachments, None);
            None
        }
        "join" => {
            if let Some(room) = room() {
                rooms.join_room(namespace, &room, sid);
            }
            answer_ok(connection);
            None
        }
        "leave" => {
            if let Some(room) = room() {
                rooms.leave_room(namespace, &room, sid);
            }
            answer_ok(connection);
            None
        }
        "to-room" => {
            let relay = room().map(|room| {
                let to = rooms
                    .members(namespace, Some(&room))
                    .into_iter()
                    .filter(|member| member != sid)
                    .collect();
                let except = own_id(connection, namespace);
                let json = array("room-message", &args[1..]);
                let json = rooms.offset(
                    now,
                    namespace,
                    std::slice::from_ref(&room),
                    &except,
                    json,
                    &attachments,
                );
                let emit = Emit {
                    namespace: namespace.to_owned(),
                    json,
                    attachments,
                };
                Effect::Relay {
                    to,
                    emit,
                    rooms: vec![room],
                    except,
                }
            });
            answer_ok(connection);
            relay
        }
        "broadcast" => {
            let json = array("broadcast-message", args);
            let json = rooms.offset(now, namespace, &[], &[], json, &attachments);
            let emit = Emit {
                namespace: namespace.to_owned(),
                json,
                attachments,
            };
            let (own, to): (Vec<String>, Vec<String>) = rooms
                .members(namespace, None)
                .into_iter()
                .partition(|member| member == sid);
            // The sender's copy goes out before the "ok", as socket.io
            // writes it synchronously.
            if !own.is_empty() {
                emit.apply(connection, now);
            }
            answer_ok(connection);
            Some(Effect::Relay {
                to,
                emit,
                rooms: Vec::new(),
                except: Vec::new(),
            })
        }
        "disconnect-me" => {
            let _ = connection.disconnect(now, namespace);
            rooms.leave_namespace(namespace, sid);
            None
        }
        "close-transport" => Some(Effect::DropTransport),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::engine::{Endpoint, Transmit, Verdict};
    use crate::session::{Frame, RequestHead, TransportId};

    const WS: TransportId = TransportId(1);

    /// One connection of a contract server: its machine and application.
    struct Peer {
        c: ServerConnection,
        app: Contract,
    }

    impl Peer {
        fn open(sid: &str, now: Instant) -> Peer {
            let config = Config::reference();
            let endpoint = Endpoint::new(config.engine);
            let head = RequestHead::websocket("EIO=4&transport=websocket");
            let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else {
                panic!("handshake refused")
            };
            let engine = ServerSession::new(
                now,
                endpoint.config().clone(),
                sid,
                h.accept().unwrap(),
                WS,
                &head,
            );
            let mut p = Peer {
                c: ServerConnection::new(now, engine, config.socket),
                app: Contract::default(),
            };
            p.frames();
            p
        }

        /// Sends `text`, runs the application; its relays.
        fn send(&mut self, rooms: &mut Rooms, now: Instant, text: &str) -> Vec<Effect> {
            self.c.handle_frame(now, WS, Frame::Text(text.into()));
            self.react(rooms, now)
        }

        fn react(&mut self, rooms: &mut Rooms, now: Instant) -> Vec<Effect> {
            let mut effects = Vec::new();
            while let Some(event) = self.c.poll_event() {
                effects.extend(self.app.handle(&mut self.c, rooms, now, &event));
            }
            effects
        }

        fn frames(&mut self) -> Vec<String> {
            std::iter::from_fn(|| self.c.poll_transmit())
                .filter_map(|t| match t {
                    Transmit::Frame {
                        frame: Frame::Text(s),
                        ..
                    } => Some(s),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn recovery_replays_what_the_socket_missed_before_the_connect_reply() {
        let t0 = Instant::now();
        let mut rooms = Rooms::with_recovery(RECOVERY_DURATION);
        let mut a = Peer::open("a", t0);
        a.send(&mut rooms, t0, "40/recovery,");
        a.send(&mut rooms, t0, r#"42/recovery,["join","r"]"#);
        assert_eq!(
            a.frames(),
            [
                r#"40/recovery,{"sid":"a-1","pid":"a-1-pid"}"#,
                r#"42/recovery,["auth",{},"o0"]"#
            ]
        );
        // Without recovery on the other namespaces.
        a.send(&mut rooms, t0, "40");
        assert_eq!(a.frames(), [r#"40{"sid":"a-2"}"#, r#"42["auth",{}]"#]);
        a.c.handle_websocket_error(t0, WS);
        a.react(&mut rooms, t0);

        let mut b = Peer::open("b", t0);
        b.send(&mut rooms, t0, "40/recovery,");
        let relay = b.send(&mut rooms, t0, r#"42/recovery,["to-room","r","x"]"#);
        b.send(&mut rooms, t0, r#"42/recovery,1["emit-with-ack","y"]"#);
        let sent = b.frames();
        assert_eq!(
            sent[2], r#"42/recovery,0["emit-with-ack","y"]"#,
            "no offset with an ack"
        );
        // The room message was for the kept socket only: nobody live to relay to.
        assert!(
            matches!(&relay[..], [Effect::Relay { to, emit, .. }] if to.is_empty() && emit.json == r#"["room-message","x","o2"]"#)
        );

        let mut a2 = Peer::open("c", t0);
        a2.send(
            &mut rooms,
            t0,
            r#"40/recovery,{"pid":"a-1-pid","offset":"o0"}"#,
        );
        assert_eq!(
            a2.frames(),
            [
                r#"42/recovery,["room-message","x","o2"]"#,
                r#"40/recovery,{"sid":"a-1","pid":"a-1-pid"}"#,
                r#"42/recovery,["auth",{"pid":"a-1-pid","offset":"o0"},"o3"]"#,
            ]
        );
        // The rooms came back with the socket.
        let relay = b.send(&mut rooms, t0, r#"42/recovery,["to-room","r","z"]"#);
        assert!(matches!(&relay[..], [Effect::Relay { to, .. }] if to == &["c".to_owned()]));
    }

    #[test]
    fn a_socket_the_client_left_is_not_kept() {
        let t0 = Instant::now();
        let mut rooms = Rooms::with_recovery(RECOVERY_DURATION);
        let mut a = Peer::open("a", t0);
        a.send(&mut rooms, t0, "40/recovery,");
        a.send(&mut rooms, t0, "41/recovery,");
        let mut a2 = Peer::open("c", t0);
        a2.send(
            &mut rooms,
            t0,
            r#"40/recovery,{"pid":"a-1-pid","offset":"o0"}"#,
        );
        assert_eq!(
            a2.frames()[0],
            r#"40/recovery,{"sid":"c-1","pid":"c-1-pid"}"#
        );
    }
}
