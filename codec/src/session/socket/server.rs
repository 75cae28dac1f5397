//! The Socket.IO server side of one Engine.IO connection (socket.io 4.8.4's
//! `Client` and the namespace sockets it holds).

use crate::session::later;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::ack::{AckTable, Asked};
use super::data::{
    check_event_json, check_event_value, encode_raw, encode_value, Encoded, Payload,
};
use super::parser::{self, PacketDecoder, Parser};
use super::{legacy_namespace, DisconnectReason, Violation};
use crate::session::engine::{self, CloseReason, Protocol, ServerSession, Transmit};
use crate::session::{Frame, Message, RequestHead, SendError, TransportId};
use crate::socket::binary::Value;
use crate::socket::{AckId, PacketType};

/// Options of the Socket.IO server layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Close the connection when no namespace is joined this long after it
    /// opened (`connectTimeout`, default 45 s; the official suite uses 1 s).
    pub connect_timeout: Duration,
    /// Most acks we wait for per namespace, and most unanswered ack
    /// requests remembered per namespace. Default 10,000.
    pub max_pending_acks: usize,
    /// Most CONNECT requests waiting for the application's answer; more
    /// close the connection. Default 64.
    pub max_pending_connects: usize,
    /// Most namespaces joined at once; a CONNECT beyond closes the
    /// connection. Default 1,024.
    pub max_namespaces: usize,
    /// Most undrained events (the connection is closed beyond). Default 200,000.
    pub max_queued_events: usize,
    /// Refuse an unknown namespace with the v5 CONNECT_ERROR object
    /// `{"message":"Invalid namespace"}` on protocol 4 (EIO=3) connections
    /// too, as socket.io 4 does. Otherwise protocol 4 gets its ERROR with a
    /// string, `"Invalid namespace"`. Default true.
    pub v5_connect_error_on_v4: bool,
    /// The parser the connection speaks. Default: socket.io-parser.
    pub parser: Parser,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            connect_timeout: Duration::from_millis(45_000),
            max_pending_acks: 10_000,
            max_pending_connects: 64,
            max_namespaces: 1024,
            max_queued_events: 200_000,
            v5_connect_error_on_v4: true,
            parser: Parser::Default,
        }
    }
}

impl ServerOptions {
    /// The official suite's Socket.IO server (socket.io-protocol's test
    /// server): connectTimeout 1000 ms, the rest as [`Default`].
    pub fn suite() -> Self {
        ServerOptions {
            connect_timeout: Duration::from_millis(1000),
            ..ServerOptions::default()
        }
    }
}

/// What a Socket.IO server connection tells its application.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The client asks to join `namespace`. Answer with
    /// [`ServerConnection::accept`], [`ServerConnection::reject`] or, for a
    /// namespace the application does not serve,
    /// [`ServerConnection::reject_invalid_namespace`] (what Node answers for
    /// an unknown namespace). Until then the namespace is not joined, and a
    /// packet for it closes the connection, as in Node.
    Connect {
        /// The namespace (for EIO=3 clients, without its query string).
        namespace: String,
        /// The auth payload as JSON: the CONNECT payload, `{}` when there is
        /// none; for EIO=3 clients, the namespace's query as an object.
        auth: String,
    },
    /// An event on a joined namespace.
    Event {
        /// The namespace.
        namespace: String,
        /// The event array (`["name", ...args]`).
        data: Payload,
        /// The ack id, when the client asked for an ack (answer with
        /// [`ServerConnection::ack`]).
        ack: Option<AckId>,
    },
    /// The client acknowledged one of our events.
    Ack {
        /// The namespace.
        namespace: String,
        /// The id [`ServerConnection::emit_with_ack`] returned.
        id: u64,
        /// The ack's arguments (an array).
        data: Payload,
    },
    /// An ack we asked for with a timeout did not come in time; a late ack
    /// for it is ignored.
    AckTimeout {
        /// The namespace.
        namespace: String,
        /// The id.
        id: u64,
    },
    /// A namespace was left.
    Disconnect {
        /// The namespace.
        namespace: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// The client broke a rule; the connection is being closed.
    Violation(Violation),
    /// An Engine.IO event other than messages and the close (heartbeats, upgrades).
    Engine(engine::Event),
    /// The Engine.IO session ended; nothing more will happen once the
    /// transmits are drained.
    Closed(CloseReason),
}

#[derive(Debug, Clone, PartialEq)]
struct Namespace {
    /// Join order: Node iterates sockets in insertion order.
    order: u64,
    sid: String,
    acks: AckTable,
    asked: Asked,
}

/// The Socket.IO server side of one Engine.IO connection.
///
/// It owns the [`ServerSession`] and takes the same inputs (delegated), so
/// the adapter talks to this value only: `handle_*`, then
/// [`poll_transmit`](Self::poll_transmit) (the Engine.IO transmits), then
/// [`poll_event`](Self::poll_event), then [`poll_timeout`](Self::poll_timeout).
///
/// Rules (socket.io 4.8.4, protocol.md §3.3): every namespace needs its own
/// CONNECT, which the application accepts or rejects; no namespace joined
/// within the connect timeout closes the connection; a DISCONNECT leaves one
/// namespace and keeps the connection; the connection is closed on a packet
/// the decoder refuses, a packet for a namespace not joined, a CONNECT for a
/// namespace already joined, and a client CONNECT_ERROR. Acks: ids from 0
/// per namespace, each resolved once, unknown ids ignored. EIO=3 clients
/// (Socket.IO v4 protocol) are joined to `/` implicitly and carry auth in
/// the namespace's query.
///
/// Bounds: see [`ServerOptions`]; packets are decoded by the parser of
/// [`ServerOptions::parser`] (binary ones reassembled by the codec's
/// [`Reassembler`](crate::socket::Reassembler)) within the codec's
/// [`Limits`](crate::Limits).
///
/// ```
/// use std::time::Instant;
/// use siospec_codec::session::engine::{Endpoint, ServerConfig, ServerSession, Transmit, Verdict};
/// use siospec_codec::session::socket::{ServerConnection, ServerEvent, ServerOptions};
/// use siospec_codec::session::{Frame, RequestHead, TransportId};
///
/// let t0 = Instant::now();
/// let endpoint = Endpoint::new(ServerConfig::suite());
/// let head = RequestHead::websocket("EIO=4&transport=websocket");
/// let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else { unreachable!() };
/// let ws = TransportId(1);
/// let engine = ServerSession::new(t0, endpoint.config().clone(), "e1", h.accept().unwrap(), ws, &head);
/// let mut c = ServerConnection::new(t0, engine, ServerOptions::default());
/// while c.poll_transmit().is_some() {}
///
/// c.handle_frame(t0, ws, Frame::Text("40".into()));
/// let Some(ServerEvent::Connect { namespace, auth }) = c.poll_event() else { unreachable!() };
/// assert_eq!((namespace.as_str(), auth.as_str()), ("/", "{}"));
/// c.accept(t0, "/", "s1").unwrap();
/// assert_eq!(
///     c.poll_transmit(),
///     Some(Transmit::Frame { id: ws, frame: Frame::Text(r#"40{"sid":"s1"}"#.into()) })
/// );
/// ```
#[derive(Debug, Clone)]
pub struct ServerConnection {
    engine: ServerSession,
    options: ServerOptions,
    legacy: bool,
    decoder: PacketDecoder,
    namespaces: BTreeMap<String, Namespace>,
    pending_connects: VecDeque<String>,
    connect_timeout: Option<Instant>,
    events: VecDeque<ServerEvent>,
    closing: bool,
    closed: bool,
    joins: u64,
    now: Instant,
}

impl ServerConnection {
    /// Puts the Socket.IO layer on a new Engine.IO session. For an EIO=3
    /// session the client is joined to `/` implicitly: a
    /// [`ServerEvent::Connect`] for `/` is queued at once.
    pub fn new(now: Instant, engine: ServerSession, options: ServerOptions) -> Self {
        let config = engine.config();
        let decoder = PacketDecoder::new(options.parser, config.profile, config.decode_limits());
        let legacy = engine.protocol() == Protocol::V3;
        let mut c = ServerConnection {
            engine,
            options,
            legacy,
            decoder,
            namespaces: BTreeMap::new(),
            pending_connects: VecDeque::new(),
            connect_timeout: later(now, options.connect_timeout),
            events: VecDeque::new(),
            closing: false,
            closed: false,
            joins: 0,
            now,
        };
        if legacy {
            c.pending_connects.push_back("/".to_owned());
            c.push_event(ServerEvent::Connect {
                namespace: "/".to_owned(),
                auth: "{}".to_owned(),
            });
        }
        c.pump(now);
        c
    }

    // ----- getters -------------------------------------------------------

    /// The Engine.IO session.
    pub fn engine(&self) -> &ServerSession {
        &self.engine
    }

    /// `true` once the Engine.IO session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The joined namespaces and their Socket.IO ids.
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, &str)> {
        self.namespaces
            .iter()
            .map(|(k, v)| (k.as_str(), v.sid.as_str()))
    }

    /// `true` when `namespace` is joined.
    pub fn is_connected(&self, namespace: &str) -> bool {
        self.namespaces.contains_key(namespace)
    }

    /// Acks we still wait for on `namespace`.
    pub fn pending_acks(&self, namespace: &str) -> usize {
        self.namespaces.get(namespace).map_or(0, |n| n.acks.len())
    }

    // ----- outputs -------------------------------------------------------

    /// The next Engine.IO transmit to write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.engine.poll_transmit()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        [
            self.engine.poll_timeout(),
            self.connect_timeout,
            self.next_ack_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Undrained events.
    pub fn queued_events(&self) -> usize {
        self.events.len()
    }

    // ----- inputs (delegated to the Engine.IO session) -----------------

    /// Fires the timers due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// See [`ServerSession::handle_request`].
    pub fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        self.advance(now);
        self.engine.handle_request(now, id, head);
        self.pump(now);
    }

    /// See [`ServerSession::handle_body`].
    pub fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]) {
        self.advance(now);
        self.engine.handle_body(now, id, chunk);
        self.pump(now);
    }

    /// See [`ServerSession::handle_body_end`].
    pub fn handle_body_end(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        self.engine.handle_body_end(now, id);
        self.pump(now);
    }

    /// See [`ServerSession::handle_post`].
    pub fn handle_post(
        &mut self,
        now: Instant,
        id: TransportId,
        head: &RequestHead<'_>,
        body: &[u8],
    ) {
        self.advance(now);
        self.engine.handle_post(now, id, head, body);
        self.pump(now);
    }

    /// See [`ServerSession::handle_request_closed`].
    pub fn handle_request_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        self.engine.handle_request_closed(now, id);
        self.pump(now);
    }

    /// See [`ServerSession::handle_websocket`].
    pub fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        self.advance(now);
        self.engine.handle_websocket(now, id, head);
        self.pump(now);
    }

    /// See [`ServerSession::handle_frame`].
    pub fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
        self.advance(now);
        self.engine.handle_frame(now, id, frame);
        self.pump(now);
    }

    /// See [`ServerSession::handle_frame_too_big`].
    pub fn handle_frame_too_big(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        self.engine.handle_frame_too_big(now, id);
        self.pump(now);
    }

    /// See [`ServerSession::handle_websocket_closed`].
    pub fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        self.engine.handle_websocket_closed(now, id);
        self.pump(now);
    }

    /// See [`ServerSession::handle_websocket_error`].
    pub fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        self.engine.handle_websocket_error(now, id);
        self.pump(now);
    }

    // ----- application commands -----------------------------------------

    /// Accepts the oldest pending CONNECT for `namespace`, giving the
    /// client the Socket.IO id `sid` (`40/ns,{"sid":"…"}`; `40/ns,` for EIO=3
    /// clients). The connect timeout stops.
    pub fn accept(&mut self, now: Instant, namespace: &str, sid: &str) -> Result<(), SendError> {
        self.join(now, namespace, sid, None, &[])
    }

    /// [`accept`](Self::accept) on a namespace with connection state
    /// recovery: the reply carries the private id too,
    /// `40/ns,{"sid":"…","pid":"…"}`, which the client sends back (with its
    /// last offset) to get the socket back.
    pub fn accept_recoverable(
        &mut self,
        now: Instant,
        namespace: &str,
        sid: &str,
        pid: &str,
    ) -> Result<(), SendError> {
        self.join(now, namespace, sid, Some(pid), &[])
    }

    /// Accepts the oldest pending CONNECT for `namespace` as the socket the
    /// client had before ([`Recovery::restore`](super::Recovery::restore)):
    /// the `missed` EVENTs (event arrays as JSON, offsets included, and
    /// their attachments) are written first, then the CONNECT reply with
    /// the old `sid` and `pid`, as socket.io 4.8.4 does. All or nothing.
    pub fn restore(
        &mut self,
        now: Instant,
        namespace: &str,
        sid: &str,
        pid: &str,
        missed: &[(String, Vec<Vec<u8>>)],
    ) -> Result<(), SendError> {
        self.join(now, namespace, sid, Some(pid), missed)
    }

    fn join(
        &mut self,
        now: Instant,
        namespace: &str,
        sid: &str,
        pid: Option<&str>,
        missed: &[(String, Vec<Vec<u8>>)],
    ) -> Result<(), SendError> {
        self.advance(now);
        let mut packets = Vec::with_capacity(missed.len() + 1);
        for (json, attachments) in missed {
            if !check_event_json(json) {
                return Err(SendError::Invalid);
            }
            let encoded = encode_raw(
                PacketType::Event,
                namespace,
                None,
                Some(json),
                attachments.clone(),
            )
            .ok_or(SendError::Invalid)?;
            packets.push(encoded);
        }
        let json = (!self.legacy).then(|| match pid {
            Some(pid) => serde_json::json!({ "sid": sid, "pid": pid }).to_string(),
            None => serde_json::json!({ "sid": sid }).to_string(),
        });
        let reply = encode_raw(
            PacketType::Connect,
            namespace,
            None,
            json.as_deref(),
            Vec::new(),
        )
        .ok_or(SendError::Invalid)?;
        packets.push(reply);
        let messages = packets.iter().map(|p| 1 + p.attachments.len()).sum();
        self.take_pending(namespace)?;
        self.check_capacity(messages)?;
        for encoded in packets {
            self.write(now, encoded)?;
        }
        self.namespaces.insert(
            namespace.to_owned(),
            Namespace {
                order: self.joins,
                sid: sid.to_owned(),
                acks: AckTable::new(self.options.max_pending_acks),
                asked: Asked::new(self.options.max_pending_acks),
            },
        );
        self.joins += 1;
        self.connect_timeout = None;
        Ok(())
    }

    /// Refuses the oldest pending CONNECT for `namespace` as a failing
    /// middleware does: `44/ns,{"message":…,"data":…}` (`data` omitted when
    /// `None`); for EIO=3 clients the data, or else the message, alone.
    pub fn reject(
        &mut self,
        now: Instant,
        namespace: &str,
        message: &str,
        data: Option<&serde_json::Value>,
    ) -> Result<(), SendError> {
        self.advance(now);
        self.take_pending(namespace)?;
        let json = match (self.legacy, data) {
            (true, Some(d)) if !is_falsy(d) => d.to_string(),
            (true, _) => serde_json::Value::String(message.to_owned()).to_string(),
            (false, Some(d)) => format!(
                r#"{{"message":{},"data":{}}}"#,
                serde_json::Value::String(message.to_owned()),
                d
            ),
            (false, None) => format!(
                r#"{{"message":{}}}"#,
                serde_json::Value::String(message.to_owned())
            ),
        };
        self.write_connect_error(now, namespace, &json)
    }

    /// Refuses the oldest pending CONNECT for `namespace` with Node's answer
    /// for a namespace that does not exist: `44/ns,{"message":"Invalid namespace"}`
    /// (the same for every protocol revision, unless
    /// [`v5_connect_error_on_v4`](ServerOptions::v5_connect_error_on_v4) is off).
    pub fn reject_invalid_namespace(
        &mut self,
        now: Instant,
        namespace: &str,
    ) -> Result<(), SendError> {
        self.advance(now);
        self.take_pending(namespace)?;
        let json = if self.legacy && !self.options.v5_connect_error_on_v4 {
            r#""Invalid namespace""#
        } else {
            r#"{"message":"Invalid namespace"}"#
        };
        self.write_connect_error(now, namespace, json)
    }

    /// Emits an event on a joined namespace. `data` is the event array
    /// (`["name", ...args]`); bytes anywhere in it make a binary packet.
    pub fn emit(&mut self, now: Instant, namespace: &str, data: &Value) -> Result<(), SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        if !check_event_value(data) {
            return Err(SendError::Invalid);
        }
        let encoded = encode_value(PacketType::Event, namespace, None, data);
        self.write(now, encoded)
    }

    /// Emits an event asking for an ack; returns its id. With a `timeout`,
    /// [`ServerEvent::AckTimeout`] fires if the ack is late.
    pub fn emit_with_ack(
        &mut self,
        now: Instant,
        namespace: &str,
        data: &Value,
        timeout: Option<Duration>,
    ) -> Result<u64, SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        if !check_event_value(data) {
            return Err(SendError::Invalid);
        }
        let count = 1 + data_binary_count(data);
        self.check_capacity(count)?;
        let id = self.allocate_ack(namespace, now, timeout)?;
        let encoded = encode_value(PacketType::Event, namespace, Some(AckId::Exact(id)), data);
        self.write(now, encoded).map(|()| id)
    }

    /// Emits an event given as JSON text (placeholders included) and its
    /// attachments, sent exactly as given.
    pub fn emit_raw(
        &mut self,
        now: Instant,
        namespace: &str,
        json: &str,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        if !check_event_json(json) {
            return Err(SendError::Invalid);
        }
        let encoded = encode_raw(PacketType::Event, namespace, None, Some(json), attachments)
            .ok_or(SendError::Invalid)?;
        self.write(now, encoded)
    }

    /// [`emit_raw`](Self::emit_raw) asking for an ack; returns its id.
    pub fn emit_raw_with_ack(
        &mut self,
        now: Instant,
        namespace: &str,
        json: &str,
        attachments: Vec<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<u64, SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        if !check_event_json(json) {
            return Err(SendError::Invalid);
        }
        self.check_capacity(1 + attachments.len())?;
        let id = self.allocate_ack(namespace, now, timeout)?;
        let encoded = encode_raw(
            PacketType::Event,
            namespace,
            Some(AckId::Exact(id)),
            Some(json),
            attachments,
        )
        .ok_or(SendError::Invalid)?;
        self.write(now, encoded).map(|()| id)
    }

    /// Answers the client's ack request `id` on `namespace` with `data` (an
    /// array of arguments). Each request can be answered once.
    pub fn ack(
        &mut self,
        now: Instant,
        namespace: &str,
        id: AckId,
        data: &Value,
    ) -> Result<(), SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        let Value::Array(_) = data else {
            return Err(SendError::Invalid);
        };
        self.check_capacity(1 + data_binary_count(data))?;
        let id = self.take_asked(namespace, id)?;
        let encoded = encode_value(PacketType::Ack, namespace, Some(id), data);
        self.write(now, encoded)
    }

    /// [`ack`](Self::ack) with raw JSON (an array, placeholders included) and attachments.
    pub fn ack_raw(
        &mut self,
        now: Instant,
        namespace: &str,
        id: AckId,
        json: &str,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        if !json.trim_start().starts_with('[') {
            return Err(SendError::Invalid);
        }
        self.check_capacity(1 + attachments.len())?;
        if crate::socket::Json::parse(json).is_err() {
            return Err(SendError::Invalid);
        }
        let id = self.take_asked(namespace, id)?;
        let encoded = encode_raw(
            PacketType::Ack,
            namespace,
            Some(id),
            Some(json),
            attachments,
        )
        .ok_or(SendError::Invalid)?;
        self.write(now, encoded)
    }

    /// Makes the client leave `namespace` (`41/ns,`); the connection stays.
    pub fn disconnect(&mut self, now: Instant, namespace: &str) -> Result<(), SendError> {
        self.advance(now);
        self.check_joined(namespace)?;
        let encoded = encode_raw(PacketType::Disconnect, namespace, None, None, Vec::new())
            .ok_or(SendError::Invalid)?;
        self.write(now, encoded)?;
        self.leave(namespace, DisconnectReason::ServerNamespaceDisconnect);
        Ok(())
    }

    /// Disconnects every namespace, then closes the Engine.IO session
    /// (Node's `socket.disconnect(true)`).
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        let names = self.joined_in_order();
        for ns in names {
            let _ = self.disconnect(now, &ns);
        }
        self.closing = true;
        self.engine.close(now);
        self.pump(now);
    }

    /// Ends the Engine.IO session at once (see [`ServerSession::shutdown`]).
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        self.closing = true;
        self.engine.shutdown(now);
        self.pump(now);
    }

    // ----- internals -----------------------------------------------------

    fn joined_in_order(&self) -> Vec<String> {
        let mut names: Vec<(u64, String)> = self
            .namespaces
            .iter()
            .map(|(k, v)| (v.order, k.clone()))
            .collect();
        names.sort();
        names.into_iter().map(|(_, k)| k).collect()
    }

    fn next_ack_deadline(&self) -> Option<Instant> {
        self.namespaces
            .values()
            .filter_map(|n| n.acks.next_deadline())
            .min()
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        // Each step fires at least one deadline, so this ends.
        for _ in 0..1_000_000 {
            if self.closed {
                return;
            }
            let engine_at = self.engine.poll_timeout().filter(|t| *t <= now);
            let connect_at = self.connect_timeout.filter(|t| *t <= now);
            let ack_at = self.next_ack_deadline().filter(|t| *t <= now);
            let Some(at) = [engine_at, connect_at, ack_at].into_iter().flatten().min() else {
                return;
            };
            if engine_at == Some(at) {
                self.engine.handle_timeout(at);
                self.pump(at);
            } else if connect_at == Some(at) {
                self.connect_timeout = None;
                if self.namespaces.is_empty() {
                    self.violate(at, Violation::ConnectTimeout, true);
                }
            } else {
                let mut expired = Vec::new();
                for (name, ns) in &mut self.namespaces {
                    for id in ns.acks.expire(at) {
                        expired.push((name.clone(), id));
                    }
                }
                for (namespace, id) in expired {
                    self.push_event(ServerEvent::AckTimeout { namespace, id });
                }
            }
        }
    }

    fn pump(&mut self, now: Instant) {
        while let Some(event) = self.engine.poll_event() {
            match event {
                engine::Event::Message(message) => self.on_message(now, message),
                engine::Event::Closed(reason) => self.on_engine_closed(reason),
                other => self.push_event(ServerEvent::Engine(other)),
            }
        }
    }

    fn push_event(&mut self, event: ServerEvent) {
        if self.events.len() >= self.options.max_queued_events {
            if !self.closing {
                self.closing = true;
                self.engine.shutdown(self.now);
            }
            return;
        }
        self.events.push_back(event);
    }

    fn on_message(&mut self, now: Instant, message: Message) {
        if self.closing || self.closed {
            return;
        }
        let step = self.decoder.push(message);
        match step {
            Ok(Some(p)) => self.on_packet(now, p.kind, p.namespace, p.ack, p.payload),
            Ok(None) => {}
            Err(v) => self.violate(now, v, false),
        }
    }

    fn on_packet(
        &mut self,
        now: Instant,
        kind: PacketType,
        namespace: String,
        ack: Option<AckId>,
        payload: Payload,
    ) {
        let (namespace, auth) = if self.legacy {
            legacy_namespace(&namespace)
        } else {
            let auth = payload.json().unwrap_or("{}").to_owned();
            (namespace, auth)
        };
        let joined = self.namespaces.contains_key(&namespace);
        match (joined, kind) {
            (false, PacketType::Connect) => {
                if self.pending_connects.len() >= self.options.max_pending_connects
                    || self.namespaces.len() >= self.options.max_namespaces
                {
                    self.violate(now, Violation::TooManyNamespaces, true);
                    return;
                }
                self.pending_connects.push_back(namespace.clone());
                self.push_event(ServerEvent::Connect { namespace, auth });
            }
            (true, PacketType::Event | PacketType::BinaryEvent) => {
                if let (Some(id), Some(ns)) = (ack, self.namespaces.get_mut(&namespace)) {
                    ns.asked.record(id);
                }
                self.push_event(ServerEvent::Event {
                    namespace,
                    data: payload,
                    ack,
                });
            }
            (true, PacketType::Ack | PacketType::BinaryAck) => {
                let id = ack.and_then(AckId::exact);
                let resolved = match (id, self.namespaces.get_mut(&namespace)) {
                    (Some(id), Some(ns)) => ns.acks.resolve(id),
                    _ => false,
                };
                if let (true, Some(id)) = (resolved, id) {
                    self.push_event(ServerEvent::Ack {
                        namespace,
                        id,
                        data: payload,
                    });
                }
            }
            (true, PacketType::Disconnect) => {
                self.leave(&namespace, DisconnectReason::ClientNamespaceDisconnect);
            }
            (true, _) => {
                let v = match kind {
                    PacketType::ConnectError => Violation::ClientConnectError { namespace },
                    _ => Violation::AlreadyJoined { namespace },
                };
                self.violate(now, v, true);
            }
            (false, _) => {
                let v = match kind {
                    PacketType::ConnectError => Violation::ClientConnectError { namespace },
                    _ => Violation::NotJoined { namespace, kind },
                };
                self.violate(now, v, true);
            }
        }
    }

    /// Closes the connection because of `violation`. `immediate`: Node's
    /// `client.close()`, which disconnects every namespace at once with
    /// `forced server close`; otherwise (`onerror`) the namespaces end with
    /// the Engine.IO close reason.
    fn violate(&mut self, now: Instant, violation: Violation, immediate: bool) {
        if self.closing || self.closed {
            return;
        }
        self.push_event(ServerEvent::Violation(violation));
        self.closing = true;
        if immediate {
            let names = self.joined_in_order();
            for ns in names {
                self.leave(&ns, DisconnectReason::ForcedServerClose);
            }
        }
        self.engine.close(now);
        self.pump(now);
    }

    fn leave(&mut self, namespace: &str, reason: DisconnectReason) {
        if self.namespaces.remove(namespace).is_some() {
            self.push_event(ServerEvent::Disconnect {
                namespace: namespace.to_owned(),
                reason,
            });
        }
    }

    fn on_engine_closed(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        let names = self.joined_in_order();
        for ns in names {
            self.leave(&ns, DisconnectReason::Engine(reason));
        }
        self.pending_connects.clear();
        self.decoder.reset();
        self.connect_timeout = None;
        self.closing = true;
        self.closed = true;
        // The final event is never dropped.
        self.events.push_back(ServerEvent::Closed(reason));
    }

    fn take_pending(&mut self, namespace: &str) -> Result<(), SendError> {
        let pos = self
            .pending_connects
            .iter()
            .position(|n| n == namespace)
            .ok_or(SendError::NotConnected)?;
        self.pending_connects.remove(pos);
        if self.closing || self.closed {
            return Err(SendError::Closed);
        }
        Ok(())
    }

    fn write_connect_error(
        &mut self,
        now: Instant,
        namespace: &str,
        json: &str,
    ) -> Result<(), SendError> {
        let encoded = encode_raw(
            PacketType::ConnectError,
            namespace,
            None,
            Some(json),
            Vec::new(),
        )
        .ok_or(SendError::Invalid)?;
        self.write(now, encoded)
    }

    fn check_joined(&self, namespace: &str) -> Result<(), SendError> {
        if self.closing || self.closed {
            return Err(SendError::Closed);
        }
        if !self.namespaces.contains_key(namespace) {
            return Err(SendError::NotConnected);
        }
        Ok(())
    }

    fn check_capacity(&self, messages: usize) -> Result<(), SendError> {
        if self.engine.send_capacity() < messages {
            return Err(if self.engine.is_closed() || self.engine.is_closing() {
                SendError::Closed
            } else {
                SendError::Full
            });
        }
        Ok(())
    }

    fn allocate_ack(
        &mut self,
        namespace: &str,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<u64, SendError> {
        let ns = self
            .namespaces
            .get_mut(namespace)
            .ok_or(SendError::NotConnected)?;
        ns.acks.allocate(timeout.and_then(|t| later(now, t)))
    }

    fn take_asked(&mut self, namespace: &str, id: AckId) -> Result<AckId, SendError> {
        self.namespaces
            .get_mut(namespace)
            .and_then(|ns| ns.asked.take(id))
            .ok_or(SendError::UnknownAck)
    }

    /// Writes a packet and its attachments, all or nothing.
    fn write(&mut self, now: Instant, encoded: Encoded) -> Result<(), SendError> {
        let parser = self.options.parser;
        self.check_capacity(parser::message_count(parser, &encoded))?;
        for message in parser::messages(parser, encoded).ok_or(SendError::Invalid)? {
            self.engine.send(now, message)?;
        }
        self.pump(now);
        Ok(())
    }
}

fn data_binary_count(data: &Value) -> usize {
    match data {
        Value::Binary(_) => 1,
        Value::Array(items) => items.iter().map(data_binary_count).sum(),
        Value::Object(entries) => entries.iter().map(|(_, v)| data_binary_count(v)).sum(),
        _ => 0,
    }
}

/// JavaScript falsiness of a JSON value (`err.data || err.message`).
fn is_falsy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
        serde_json::Value::String(s) => s.is_empty(),
        _ => false,
    }
}
