//! The Socket.IO client: socket.io-client 4.8's `Manager` (one Engine.IO
//! session at a time, reconnection with backoff) and its namespace sockets,
//! with their side of connection state recovery (the pid and the last
//! offset, sent again in the CONNECT of a reconnection).

use crate::session::later;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use super::ack::{AckTable, Asked};
use super::data::{
    check_event_json, check_event_value, encode_raw, encode_value, Encoded, Payload,
};
use super::parser::{self, PacketDecoder, Parser};
use super::{Backoff, Violation};
use crate::session::engine::{
    self, ClientCloseReason, ClientConfig, ClientSession, ClientTransmit,
};
use crate::session::{Frame, Message, SendError, TransportId};
use crate::socket::binary::Value;
use crate::socket::{AckId, PacketType};

/// Options of the Socket.IO client; defaults are socket.io-client 4.8's.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// The Engine.IO client configuration (path `/socket.io/` by default).
    pub engine: ClientConfig,
    /// Reconnect after the connection is lost. Default true.
    pub reconnection: bool,
    /// Most reconnection attempts in a row; `None` is unlimited (the default).
    pub reconnection_attempts: Option<u32>,
    /// The delays between attempts (1 s doubling up to 5 s, jitter 0.5).
    pub backoff: Backoff,
    /// Give up an Engine.IO connection that did not open within this
    /// (`timeout`, default 20 s).
    pub timeout: Duration,
    /// Most acks waiting per namespace, and most unanswered ack requests
    /// remembered per namespace. Default 10,000.
    pub max_pending_acks: usize,
    /// Most emits buffered per namespace while it is not connected; more
    /// fail with [`SendError::Full`]. Default 10,000.
    pub max_buffered_emits: usize,
    /// Most events received for a namespace before its CONNECT reply
    /// (buffered, as the official client does); more are dropped. Default 10,000.
    pub max_buffered_received: usize,
    /// Most undrained events; beyond, the connection is closed. Default 200,000.
    pub max_queued_events: usize,
    /// The parser the connection speaks. Default: socket.io-parser.
    pub parser: Parser,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            engine: ClientConfig {
                path: "/socket.io/".to_owned(),
                ..ClientConfig::default()
            },
            reconnection: true,
            reconnection_attempts: None,
            backoff: Backoff::default(),
            timeout: Duration::from_millis(20_000),
            max_pending_acks: 10_000,
            max_buffered_emits: 10_000,
            max_buffered_received: 10_000,
            max_queued_events: 200_000,
            parser: Parser::Default,
        }
    }
}

/// The message of the [`ClientEvent::ConnectError`] for a CONNECT reply
/// without a sid: socket.io-client 4.8's, word for word.
pub const CONNECT_WITHOUT_SID: &str =
    "It seems you are trying to reach a Socket.IO server in v2.x \
with a v3.x client, but they are not compatible (more information here: \
https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)";

/// The CONNECT_ERROR a server sent (or the error a CONNECT reply without a
/// sid, or a failed connection, stands for: see [`ClientEvent::ConnectError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// `message`, when the payload is an object with one (or the string payload).
    pub message: Option<String>,
    /// `data` as JSON, when present.
    pub data: Option<String>,
    /// The payload as received.
    pub raw: String,
}

/// Why a client namespace was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientDisconnectReason {
    /// The server sent DISCONNECT. Node: `io server disconnect`.
    IoServerDisconnect,
    /// The application disconnected the namespace. Node: `io client disconnect`.
    IoClientDisconnect,
    /// The application closed the whole connection. Node: `forced close`.
    ForcedClose,
    /// A packet from the server did not decode. Node: `parse error`.
    ParseError,
    /// The Engine.IO session did not open within [`ClientOptions::timeout`]. Node: `timeout`.
    OpenTimeout,
    /// The Engine.IO session ended with this reason.
    Engine(ClientCloseReason),
}

impl ClientDisconnectReason {
    /// The reason string socket.io-client gives.
    pub fn node_reason(self) -> &'static str {
        match self {
            ClientDisconnectReason::IoServerDisconnect => "io server disconnect",
            ClientDisconnectReason::IoClientDisconnect => "io client disconnect",
            ClientDisconnectReason::ForcedClose => "forced close",
            ClientDisconnectReason::ParseError => "parse error",
            ClientDisconnectReason::OpenTimeout => "timeout",
            ClientDisconnectReason::Engine(r) => r.node_reason(),
        }
    }
}

impl fmt::Display for ClientDisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node_reason())
    }
}

/// What a Socket.IO client tells its application.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// An Engine.IO session opened (first connection or reconnection).
    Open,
    /// A namespace is connected.
    Connected {
        /// The namespace.
        namespace: String,
        /// The Socket.IO id the server gave.
        sid: String,
        /// The server restored the session (connection state recovery):
        /// its CONNECT reply carried the same `pid` as the one before,
        /// socket.io-client's `socket.recovered`. The events it missed came
        /// before the reply and were delivered just before this event.
        recovered: bool,
    },
    /// The server refused a namespace (a CONNECT_ERROR; it will not be
    /// retried), or answered its CONNECT without a sid (message
    /// [`CONNECT_WITHOUT_SID`]; the namespace keeps waiting for a reply), or
    /// the connection failed while the namespace was not connected (message
    /// `timeout`, `server error` or the transport's: `websocket error`,
    /// `xhr poll error`, `xhr post error`; the namespace is joined again on
    /// reconnection), as in socket.io-client.
    ConnectError {
        /// The namespace.
        namespace: String,
        /// What the server said.
        error: ConnectError,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        namespace: String,
        /// The event array.
        data: Payload,
        /// The ack id when the server asked for an ack (answer with [`ClientConnection::ack`]).
        ack: Option<AckId>,
    },
    /// The server acknowledged one of our events.
    Ack {
        /// The namespace.
        namespace: String,
        /// The id [`ClientConnection::emit_with_ack`] returned.
        id: u64,
        /// The ack's arguments.
        data: Payload,
    },
    /// An ack asked with a timeout did not come in time (a late one is ignored).
    AckTimeout {
        /// The namespace.
        namespace: String,
        /// The id.
        id: u64,
    },
    /// A namespace was disconnected.
    Disconnected {
        /// The namespace.
        namespace: String,
        /// Why.
        reason: ClientDisconnectReason,
    },
    /// The Engine.IO session closed (reconnection may follow).
    Closed {
        /// Why.
        reason: ClientDisconnectReason,
    },
    /// A reconnection is scheduled after `delay`.
    Reconnecting {
        /// The attempt number (from 1).
        attempt: u32,
        /// The backoff delay.
        delay: Duration,
    },
    /// A reconnection attempt starts (a new Engine.IO session).
    ReconnectAttempt {
        /// The attempt number (from 1).
        attempt: u32,
    },
    /// A reconnection succeeded.
    Reconnected {
        /// The attempts it took.
        attempt: u32,
    },
    /// `reconnection_attempts` were used up; no more attempts.
    ReconnectFailed,
    /// The server broke a rule (the connection is closed and may reconnect).
    Violation(Violation),
    /// An Engine.IO event other than open, messages and close (heartbeats, upgrades).
    Engine(engine::ClientEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    /// Not connected (no Engine.IO session, or CONNECT not sent yet).
    Idle,
    /// CONNECT sent, waiting for the reply.
    Connecting,
    Connected,
}

#[derive(Debug, Clone, PartialEq)]
struct Namespace {
    auth: Option<String>,
    state: NsState,
    sid: Option<String>,
    /// Connection state recovery: the `pid` of the last CONNECT reply (a
    /// reply without one forgets it, as socket.io-client's `_pid`).
    pid: Option<String>,
    /// The last string that ended an event delivered while a pid was known
    /// (socket.io-client's `_lastOffset`); kept across reconnections.
    offset: Option<String>,
    send_buffer: VecDeque<(Option<u64>, Encoded)>,
    received: VecDeque<ClientEvent>,
    acks: AckTable,
    asked: Asked,
}

/// The Socket.IO client: the namespaces an application joined over one
/// Engine.IO connection, and the reconnection loop.
///
/// Each namespace is joined with [`connect`](Self::connect) (a CONNECT goes
/// out as soon as the Engine.IO session is open, and again after every
/// reconnection); emits made before the namespace is connected are buffered
/// and sent on connection; acks are numbered from 0 per namespace and
/// resolved once. When the connection is lost (and was not closed by the
/// application or a CONNECT_ERROR / server DISCONNECT of every namespace),
/// a new Engine.IO session is started after [`Backoff`]'s delay.
///
/// Connection state recovery, as socket.io-client 4.8 does it: a CONNECT
/// reply's `pid` is kept per namespace (a reply without one forgets it);
/// while one is known, the last element of each event delivered without an
/// ack request, when a string, is the offset; a reconnection's CONNECT
/// carries `{pid, offset, ...auth}` (no offset before the first one), and
/// [`ClientEvent::Connected`] says `recovered` when the reply carries the
/// same pid again.
///
/// Randomness: each backoff delay uses the value last given to
/// [`set_random`](Self::set_random) (default 0.5); give a fresh value in
/// `[0, 1)` whenever you like.
///
/// Bounds: see [`ClientOptions`].
///
/// ```
/// use std::time::Instant;
/// use siospec_codec::session::engine::ClientTransmit;
/// use siospec_codec::session::socket::{ClientConnection, ClientOptions};
///
/// let t0 = Instant::now();
/// let mut c = ClientConnection::new(t0, ClientOptions::default());
/// c.connect(t0, "/", None).unwrap();
/// let Some(ClientTransmit::Http(get)) = c.poll_transmit() else { unreachable!() };
/// assert_eq!(get.uri, "/socket.io/?EIO=4&transport=polling&t=1");
/// ```
#[derive(Debug, Clone)]
pub struct ClientConnection {
    options: ClientOptions,
    engine: Option<ClientSession>,
    engine_open: bool,
    engines: u64,
    retired: VecDeque<ClientTransmit>,
    /// A session the client left that is still closing as engine.io-client's
    /// `close()` does: it waits for its write buffer to drain (the POST in
    /// flight, a DISCONNECT in it) or its upgrade to finish, then sends its
    /// close packet. Its events no longer reach the application.
    closing: Option<ClientSession>,
    namespaces: BTreeMap<String, Namespace>,
    decoder: PacketDecoder,
    backoff: Backoff,
    random: f64,
    reconnecting: bool,
    reconnect_at: Option<Instant>,
    open_deadline: Option<Instant>,
    skip_reconnect: bool,
    events: VecDeque<ClientEvent>,
    now: Instant,
}

impl ClientConnection {
    /// A client that opens its first Engine.IO session at once.
    pub fn new(now: Instant, options: ClientOptions) -> Self {
        let config = &options.engine;
        let decoder = PacketDecoder::new(options.parser, config.profile, config.limits);
        let backoff = options.backoff;
        let mut c = ClientConnection {
            options,
            engine: None,
            engine_open: false,
            engines: 0,
            retired: VecDeque::new(),
            closing: None,
            namespaces: BTreeMap::new(),
            decoder,
            backoff,
            random: 0.5,
            reconnecting: false,
            reconnect_at: None,
            open_deadline: None,
            skip_reconnect: false,
            events: VecDeque::new(),
            now,
        };
        c.open_engine(now);
        c
    }

    // ----- getters -------------------------------------------------------

    /// The current Engine.IO session, if any.
    pub fn engine(&self) -> Option<&ClientSession> {
        self.engine.as_ref()
    }

    /// `true` while `namespace` is connected.
    pub fn is_connected(&self, namespace: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|n| n.state == NsState::Connected)
    }

    /// The Socket.IO id of a connected namespace.
    pub fn socket_id(&self, namespace: &str) -> Option<&str> {
        self.namespaces
            .get(namespace)
            .and_then(|n| n.sid.as_deref())
    }

    /// `true` while a reconnection is scheduled or under way.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnecting
    }

    /// `true` once the client gave up for good (closed by the application,
    /// refused everywhere, or out of attempts) and its last session has
    /// finished closing (its close packet sent).
    pub fn is_closed(&self) -> bool {
        self.engine.is_none() && self.reconnect_at.is_none() && self.closing.is_none()
    }

    /// Acks waiting on `namespace`.
    pub fn pending_acks(&self, namespace: &str) -> usize {
        self.namespaces.get(namespace).map_or(0, |n| n.acks.len())
    }

    /// Emits buffered on `namespace` until it connects.
    pub fn buffered_emits(&self, namespace: &str) -> usize {
        self.namespaces
            .get(namespace)
            .map_or(0, |n| n.send_buffer.len())
    }

    /// The backoff state (attempts so far).
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    // ----- outputs -------------------------------------------------------

    /// The next thing for the adapter to do.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        if let Some(t) = self.retired.pop_front() {
            return Some(t);
        }
        if let Some(t) = self.closing.as_mut().and_then(ClientSession::poll_transmit) {
            return Some(t);
        }
        self.engine.as_mut().and_then(ClientSession::poll_transmit)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.engine.as_ref().and_then(ClientSession::poll_timeout),
            self.closing.as_ref().and_then(ClientSession::poll_timeout),
            self.reconnect_at,
            self.open_deadline,
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

    // ----- inputs --------------------------------------------------------

    /// Sets the random value in `[0, 1)` the next backoff delay uses.
    pub fn set_random(&mut self, random: f64) {
        self.random = random;
    }

    /// Fires the timers due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// See [`ClientSession::handle_response`].
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: TransportId,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        self.advance(now);
        if let Some(e) = self.engine.as_mut() {
            e.handle_response(now, id, status, content_type, body);
        }
        if let Some(e) = self.closing.as_mut() {
            e.handle_response(now, id, status, content_type, body);
        }
        self.tend_closing();
        self.pump(now);
    }

    /// See [`ClientSession::handle_request_failed`].
    pub fn handle_request_failed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if let Some(e) = self.engine.as_mut() {
            e.handle_request_failed(now, id);
        }
        if let Some(e) = self.closing.as_mut() {
            e.handle_request_failed(now, id);
        }
        self.tend_closing();
        self.pump(now);
    }

    /// See [`ClientSession::handle_websocket_open`].
    pub fn handle_websocket_open(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if let Some(e) = self.engine.as_mut() {
            e.handle_websocket_open(now, id);
        }
        if let Some(e) = self.closing.as_mut() {
            e.handle_websocket_open(now, id);
        }
        self.tend_closing();
        self.pump(now);
    }

    /// See [`ClientSession::handle_frame`].
    pub fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
        self.advance(now);
        match self.closing.as_mut() {
            // Ids are disjoint per session: the frame is one session's.
            Some(e) if e.owns(id) => e.handle_frame(now, id, frame),
            _ => {
                if let Some(e) = self.engine.as_mut() {
                    e.handle_frame(now, id, frame);
                }
            }
        }
        self.tend_closing();
        self.pump(now);
    }

    /// See [`ClientSession::handle_websocket_closed`].
    pub fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if let Some(e) = self.engine.as_mut() {
            e.handle_websocket_closed(now, id);
        }
        if let Some(e) = self.closing.as_mut() {
            e.handle_websocket_closed(now, id);
        }
        self.tend_closing();
        self.pump(now);
    }

    /// See [`ClientSession::handle_websocket_error`].
    pub fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if let Some(e) = self.engine.as_mut() {
            e.handle_websocket_error(now, id);
        }
        if let Some(e) = self.closing.as_mut() {
            e.handle_websocket_error(now, id);
        }
        self.tend_closing();
        self.pump(now);
    }

    // ----- application commands -----------------------------------------

    /// Joins `namespace`, with an optional auth payload (a JSON object).
    /// The CONNECT goes out when the Engine.IO session is open, and again
    /// after each reconnection.
    pub fn connect(
        &mut self,
        now: Instant,
        namespace: &str,
        auth: Option<&str>,
    ) -> Result<(), SendError> {
        self.advance(now);
        if let Some(a) = auth {
            let ok = serde_json::from_str::<serde_json::Value>(a).is_ok_and(|v| v.is_object());
            if !ok {
                return Err(SendError::Invalid);
            }
        }
        let max = self.options.max_pending_acks;
        let ns = self
            .namespaces
            .entry(namespace.to_owned())
            .or_insert_with(|| Namespace {
                auth: None,
                state: NsState::Idle,
                sid: None,
                pid: None,
                offset: None,
                send_buffer: VecDeque::new(),
                received: VecDeque::new(),
                acks: AckTable::new(max),
                asked: Asked::new(max),
            });
        ns.auth = auth.map(str::to_owned);
        if self.engine.is_none() && self.reconnect_at.is_none() {
            // a closed client opens again, as `socket.connect()` does
            self.skip_reconnect = false;
            self.open_engine(now);
        } else if self.engine_open {
            self.send_connect(now, namespace);
        }
        Ok(())
    }

    /// Leaves `namespace` (a DISCONNECT when connected). When no namespace
    /// is left, the connection closes for good, as the official client does.
    pub fn disconnect(&mut self, now: Instant, namespace: &str) -> Result<(), SendError> {
        self.advance(now);
        let Some(ns) = self.namespaces.get(namespace) else {
            return Err(SendError::NotConnected);
        };
        if ns.state == NsState::Connected {
            if let Some(encoded) =
                encode_raw(PacketType::Disconnect, namespace, None, None, Vec::new())
            {
                let _ = self.write(now, encoded);
            }
            self.namespaces.remove(namespace);
            self.push_event(ClientEvent::Disconnected {
                namespace: namespace.to_owned(),
                reason: ClientDisconnectReason::IoClientDisconnect,
            });
        } else {
            self.namespaces.remove(namespace);
        }
        if self.namespaces.is_empty() {
            self.close(now);
        }
        Ok(())
    }

    /// Closes the connection for good (no reconnection): every namespace
    /// is disconnected with `forced close`, the Engine.IO session closed.
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        self.skip_reconnect = true;
        let live = self.engine.is_some() || self.reconnect_at.is_some();
        self.reconnecting = false;
        self.reconnect_at = None;
        self.open_deadline = None;
        if live {
            self.on_manager_close(ClientDisconnectReason::ForcedClose);
        }
        if let Some(mut e) = self.engine.take() {
            e.close(now);
            self.retire(e);
        }
        self.engine_open = false;
    }

    /// Emits an event (buffered until the namespace is connected).
    pub fn emit(&mut self, now: Instant, namespace: &str, data: &Value) -> Result<(), SendError> {
        self.advance(now);
        if !check_event_value(data) {
            return Err(SendError::Invalid);
        }
        let encoded = encode_value(PacketType::Event, namespace, None, data);
        self.emit_encoded(now, namespace, None, encoded)
    }

    /// Emits an event asking for an ack; returns its id.
    pub fn emit_with_ack(
        &mut self,
        now: Instant,
        namespace: &str,
        data: &Value,
        timeout: Option<Duration>,
    ) -> Result<u64, SendError> {
        self.advance(now);
        if !check_event_value(data) {
            return Err(SendError::Invalid);
        }
        self.check_emit_room(namespace)?;
        let id = self.allocate_ack(namespace, now, timeout)?;
        let encoded = encode_value(PacketType::Event, namespace, Some(AckId::Exact(id)), data);
        self.emit_encoded(now, namespace, Some(id), encoded)
            .map(|()| id)
    }

    /// Emits an event given as raw JSON (placeholders included) and attachments.
    pub fn emit_raw(
        &mut self,
        now: Instant,
        namespace: &str,
        json: &str,
        attachments: Vec<Vec<u8>>,
    ) -> Result<(), SendError> {
        self.advance(now);
        if !check_event_json(json) {
            return Err(SendError::Invalid);
        }
        let encoded = encode_raw(PacketType::Event, namespace, None, Some(json), attachments)
            .ok_or(SendError::Invalid)?;
        self.emit_encoded(now, namespace, None, encoded)
    }

    /// Answers the server's ack request `id` (once).
    pub fn ack(
        &mut self,
        now: Instant,
        namespace: &str,
        id: AckId,
        data: &Value,
    ) -> Result<(), SendError> {
        self.advance(now);
        let Value::Array(_) = data else {
            return Err(SendError::Invalid);
        };
        if !self.is_connected(namespace) {
            return Err(SendError::NotConnected);
        }
        let id = self
            .namespaces
            .get_mut(namespace)
            .and_then(|n| n.asked.take(id))
            .ok_or(SendError::UnknownAck)?;
        let encoded = encode_value(PacketType::Ack, namespace, Some(id), data);
        self.write(now, encoded)
    }

    // ----- internals -----------------------------------------------------

    fn next_ack_deadline(&self) -> Option<Instant> {
        self.namespaces
            .values()
            .filter_map(|n| n.acks.next_deadline())
            .min()
    }

    /// Hands a server event to the application; one that asked for no ack
    /// and ends with a string, while a pid is known, leaves that string as
    /// the offset (socket.io-client's `emitEvent`: an ack request's last
    /// argument is its callback, never a string, and ACK packets do not
    /// count). The last element of the event array: an event of its name
    /// alone (`["name"]`) leaves its name, as the official client does.
    fn deliver(&mut self, event: ClientEvent) {
        if let ClientEvent::Event {
            namespace,
            data,
            ack: None,
        } = &event
        {
            if let Some(ns) = self.namespaces.get_mut(namespace) {
                let last = data.elements().and_then(|items| {
                    let last = *items.last()?;
                    serde_json::from_str::<String>(last).ok()
                });
                if let (Some(_), Some(offset)) = (&ns.pid, last) {
                    ns.offset = Some(offset);
                }
            }
        }
        self.push_event(event);
    }

    fn push_event(&mut self, event: ClientEvent) {
        if self.events.len() >= self.options.max_queued_events {
            return;
        }
        self.events.push_back(event);
    }

    fn retire(&mut self, mut engine: ClientSession) {
        while let Some(t) = engine.poll_transmit() {
            self.retired.push_back(t);
        }
        if !engine.is_closed() {
            // An earlier one still closing is given up (its transmits are out).
            self.closing = Some(engine);
            self.tend_closing();
        }
    }

    /// Drops the closing session's events and forgets it once closed (its
    /// last transmits moved out first).
    fn tend_closing(&mut self) {
        let Some(e) = self.closing.as_mut() else {
            return;
        };
        while e.poll_event().is_some() {}
        if e.is_closed() {
            while let Some(t) = e.poll_transmit() {
                self.retired.push_back(t);
            }
            self.closing = None;
        }
    }

    fn open_engine(&mut self, now: Instant) {
        let mut config = self.options.engine.clone();
        // Disjoint id ranges per Engine.IO session.
        config.first_id = self
            .options
            .engine
            .first_id
            .wrapping_add(self.engines << 32);
        self.engines += 1;
        self.engine = Some(ClientSession::new(now, config));
        self.engine_open = false;
        self.open_deadline = later(now, self.options.timeout);
        self.decoder.reset();
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        for _ in 0..1_000_000 {
            if let Some(e) = self.closing.as_mut() {
                e.handle_timeout(now);
                self.tend_closing();
            }
            let engine_at = self
                .engine
                .as_ref()
                .and_then(ClientSession::poll_timeout)
                .filter(|t| *t <= now);
            let reconnect_at = self.reconnect_at.filter(|t| *t <= now);
            let open_at = self.open_deadline.filter(|t| *t <= now);
            let ack_at = self.next_ack_deadline().filter(|t| *t <= now);
            let Some(at) = [engine_at, reconnect_at, open_at, ack_at]
                .into_iter()
                .flatten()
                .min()
            else {
                return;
            };
            if engine_at == Some(at) {
                if let Some(e) = self.engine.as_mut() {
                    e.handle_timeout(at);
                }
                self.pump(at);
            } else if open_at == Some(at) {
                // the Engine.IO session did not open in time
                self.open_deadline = None;
                if let Some(mut e) = self.engine.take() {
                    e.close(at);
                    self.retire(e);
                }
                self.engine_open = false;
                self.on_manager_error("timeout");
                self.after_failed_open(at, ClientDisconnectReason::OpenTimeout);
            } else if reconnect_at == Some(at) {
                self.reconnect_at = None;
                let attempt = self.backoff.attempts();
                self.push_event(ClientEvent::ReconnectAttempt { attempt });
                self.open_engine(at);
                self.pump(at);
            } else {
                let mut expired = Vec::new();
                for (name, ns) in &mut self.namespaces {
                    for id in ns.acks.expire(at) {
                        expired.push((name.clone(), id));
                    }
                }
                for (namespace, id) in expired {
                    self.push_event(ClientEvent::AckTimeout { namespace, id });
                }
            }
        }
    }

    fn pump(&mut self, now: Instant) {
        loop {
            let Some(e) = self.engine.as_mut() else {
                return;
            };
            let Some(event) = e.poll_event() else {
                return;
            };
            match event {
                engine::ClientEvent::Open(_) => self.on_open(now),
                engine::ClientEvent::Message(m) => self.on_message(now, m),
                engine::ClientEvent::Closed(reason) => {
                    self.on_engine_closed(now, ClientDisconnectReason::Engine(reason));
                    return;
                }
                other => self.push_event(ClientEvent::Engine(other)),
            }
        }
    }

    fn on_open(&mut self, now: Instant) {
        self.engine_open = true;
        self.open_deadline = None;
        self.push_event(ClientEvent::Open);
        if self.reconnecting {
            let attempt = self.backoff.attempts();
            self.reconnecting = false;
            self.backoff.reset();
            self.push_event(ClientEvent::Reconnected { attempt });
        }
        let names: Vec<String> = self.namespaces.keys().cloned().collect();
        for ns in names {
            self.send_connect(now, &ns);
        }
    }

    fn send_connect(&mut self, now: Instant, namespace: &str) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if ns.state != NsState::Idle {
            return;
        }
        ns.state = NsState::Connecting;
        let data = connect_data(ns);
        if let Some(encoded) = encode_raw(
            PacketType::Connect,
            namespace,
            None,
            data.as_deref(),
            Vec::new(),
        ) {
            let _ = self.write(now, encoded);
        }
    }

    fn on_message(&mut self, now: Instant, message: Message) {
        match self.decoder.push(message) {
            Ok(Some(p)) => self.on_packet(now, p.kind, p.namespace, p.ack, p.payload),
            Ok(None) => {}
            Err(v) => self.on_parse_error(now, v),
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
        let max_received = self.options.max_buffered_received;
        let Some(ns) = self.namespaces.get_mut(&namespace) else {
            // a packet for a namespace this client does not use: ignored
            return;
        };
        match kind {
            PacketType::Connect => {
                let reply = payload
                    .json()
                    .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok());
                let field = |name: &str| {
                    reply
                        .as_ref()
                        .and_then(|v| v.get(name).and_then(|s| s.as_str()).map(str::to_owned))
                };
                let (sid, pid) = (field("sid"), field("pid"));
                let Some(sid) = sid.filter(|s| !s.is_empty()) else {
                    // socket.io-client 4.8 reports a connect_error with this
                    // message and leaves the namespace waiting for a reply
                    // (neither given up nor the connection closed).
                    self.push_event(ClientEvent::ConnectError {
                        namespace,
                        error: ConnectError {
                            message: Some(CONNECT_WITHOUT_SID.to_owned()),
                            data: None,
                            raw: payload.json().unwrap_or("").to_owned(),
                        },
                    });
                    return;
                };
                if ns.state == NsState::Connected {
                    return;
                }
                ns.state = NsState::Connected;
                ns.sid = Some(sid.clone());
                // socket.io-client's `onconnect`: `recovered = pid && _pid
                // === pid`, then `_pid = pid` (before the buffered events are
                // delivered, whose offsets therefore count).
                let recovered = pid.is_some() && ns.pid == pid;
                ns.pid = pid;
                let received: Vec<ClientEvent> = ns.received.drain(..).collect();
                let buffered: Vec<Encoded> = ns.send_buffer.drain(..).map(|(_, e)| e).collect();
                // socket.io-client's `onconnect`: the events received before
                // the reply are delivered (`emitBuffered`) before `connect`.
                for e in received {
                    self.deliver(e);
                }
                for encoded in buffered {
                    let _ = self.write(now, encoded);
                }
                self.push_event(ClientEvent::Connected {
                    namespace: namespace.clone(),
                    sid,
                    recovered,
                });
            }
            PacketType::ConnectError => {
                let raw = payload.json().unwrap_or("").to_owned();
                let value = serde_json::from_str::<serde_json::Value>(&raw).ok();
                let (message, data) = match &value {
                    Some(serde_json::Value::Object(o)) => (
                        o.get("message").and_then(|m| m.as_str()).map(str::to_owned),
                        o.get("data").map(|d| d.to_string()),
                    ),
                    Some(serde_json::Value::String(s)) => (Some(s.clone()), None),
                    _ => (None, None),
                };
                self.namespaces.remove(&namespace);
                self.push_event(ClientEvent::ConnectError {
                    namespace,
                    error: ConnectError { message, data, raw },
                });
                self.close_if_unused(now);
            }
            PacketType::Disconnect => {
                let was = ns.state == NsState::Connected;
                self.namespaces.remove(&namespace);
                if was {
                    self.push_event(ClientEvent::Disconnected {
                        namespace,
                        reason: ClientDisconnectReason::IoServerDisconnect,
                    });
                }
                self.close_if_unused(now);
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if let Some(id) = ack {
                    ns.asked.record(id);
                }
                let event = ClientEvent::Event {
                    namespace,
                    data: payload,
                    ack,
                };
                if ns.state == NsState::Connected {
                    self.deliver(event);
                } else if ns.received.len() < max_received {
                    ns.received.push_back(event);
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let id = ack.and_then(AckId::exact);
                if let Some(id) = id.filter(|id| ns.acks.resolve(*id)) {
                    self.push_event(ClientEvent::Ack {
                        namespace,
                        id,
                        data: payload,
                    });
                }
            }
        }
    }

    /// When no namespace is left, the manager closes for good.
    fn close_if_unused(&mut self, now: Instant) {
        if self.namespaces.is_empty() {
            self.close(now);
        }
    }

    fn on_parse_error(&mut self, now: Instant, violation: Violation) {
        self.push_event(ClientEvent::Violation(violation));
        if let Some(mut e) = self.engine.take() {
            e.close(now);
            self.retire(e);
        }
        self.on_engine_closed(now, ClientDisconnectReason::ParseError);
    }

    /// Manager `onclose`: every connected namespace is disconnected; the
    /// namespaces stay (they reconnect), acks stay pending.
    fn on_manager_close(&mut self, reason: ClientDisconnectReason) {
        let mut disconnected = Vec::new();
        let mut cancelled = Vec::new();
        for (name, ns) in &mut self.namespaces {
            if ns.state == NsState::Connected {
                disconnected.push(name.clone());
            }
            ns.state = NsState::Idle;
            ns.sid = None;
            ns.received.clear();
            // `_clearAcks`: acks of packets already sent are forgotten; those
            // asked with a timeout fail at once.
            let buffered: Vec<u64> = ns.send_buffer.iter().filter_map(|(id, _)| *id).collect();
            for (id, had_deadline) in ns.acks.remove_unless(|id| buffered.contains(&id)) {
                if had_deadline {
                    cancelled.push((name.clone(), id));
                }
            }
        }
        for namespace in disconnected {
            self.push_event(ClientEvent::Disconnected { namespace, reason });
        }
        for (namespace, id) in cancelled {
            self.push_event(ClientEvent::AckTimeout { namespace, id });
        }
        self.push_event(ClientEvent::Closed { reason });
        self.decoder.reset();
    }

    /// The Manager's `error` (a failed open, or a transport error): every
    /// namespace not connected reports it as its `connect_error`, as
    /// socket.io-client's `Socket.onerror` does, and stays to be joined on
    /// reconnection.
    fn on_manager_error(&mut self, message: &str) {
        let waiting: Vec<String> = (self.namespaces.iter())
            .filter(|(_, ns)| ns.state != NsState::Connected)
            .map(|(name, _)| name.clone())
            .collect();
        for namespace in waiting {
            self.push_event(ClientEvent::ConnectError {
                namespace,
                error: ConnectError {
                    message: Some(message.to_owned()),
                    data: None,
                    raw: String::new(),
                },
            });
        }
    }

    fn on_engine_closed(&mut self, now: Instant, reason: ClientDisconnectReason) {
        // engine.io-client emits `error` (before `close`) for a transport
        // error, with the transport's description, and for a packet that
        // does not decode (an `error` packet: "server error").
        match reason {
            ClientDisconnectReason::Engine(ClientCloseReason::TransportError(e)) => {
                self.on_manager_error(e.description());
            }
            ClientDisconnectReason::Engine(ClientCloseReason::ParseError) => {
                self.on_manager_error("server error");
            }
            _ => {}
        }
        let was_open = self.engine_open;
        if let Some(e) = self.engine.take() {
            self.retire(e);
        }
        self.engine_open = false;
        self.open_deadline = None;
        if was_open {
            self.on_manager_close(reason);
            self.backoff.reset();
            if self.options.reconnection && !self.skip_reconnect {
                self.reconnect(now);
            }
        } else {
            self.after_failed_open(now, reason);
        }
    }

    /// The Engine.IO session closed before it opened.
    fn after_failed_open(&mut self, now: Instant, reason: ClientDisconnectReason) {
        self.push_event(ClientEvent::Closed { reason });
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect(now);
        } else if self.options.reconnection && !self.skip_reconnect && self.backoff.attempts() == 0
        {
            self.reconnect(now);
        }
    }

    fn reconnect(&mut self, now: Instant) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        if self
            .options
            .reconnection_attempts
            .is_some_and(|max| self.backoff.attempts() >= max)
        {
            self.backoff.reset();
            self.reconnecting = false;
            self.push_event(ClientEvent::ReconnectFailed);
            return;
        }
        let delay = self.backoff.duration(self.random);
        self.reconnecting = true;
        self.reconnect_at = later(now, delay);
        self.push_event(ClientEvent::Reconnecting {
            attempt: self.backoff.attempts(),
            delay,
        });
    }

    fn check_emit_room(&self, namespace: &str) -> Result<(), SendError> {
        let ns = self
            .namespaces
            .get(namespace)
            .ok_or(SendError::NotConnected)?;
        if ns.state != NsState::Connected && ns.send_buffer.len() >= self.options.max_buffered_emits
        {
            return Err(SendError::Full);
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

    fn emit_encoded(
        &mut self,
        now: Instant,
        namespace: &str,
        ack: Option<u64>,
        encoded: Encoded,
    ) -> Result<(), SendError> {
        self.check_emit_room(namespace)?;
        let connected = self.is_connected(namespace);
        if connected {
            return self.write(now, encoded);
        }
        if let Some(ns) = self.namespaces.get_mut(namespace) {
            ns.send_buffer.push_back((ack, encoded));
        }
        Ok(())
    }

    fn write(&mut self, now: Instant, encoded: Encoded) -> Result<(), SendError> {
        let engine = self.engine.as_mut().ok_or(SendError::Closed)?;
        let parser = self.options.parser;
        if engine.send_capacity() < parser::message_count(parser, &encoded) {
            return Err(if engine.is_closed() {
                SendError::Closed
            } else {
                SendError::Full
            });
        }
        for message in parser::messages(parser, encoded).ok_or(SendError::Invalid)? {
            engine.send(now, message)?;
        }
        self.pump(now);
        Ok(())
    }
}

/// The data of a namespace's CONNECT: its auth, and while a pid is known,
/// `{pid, offset, ...auth}` as socket.io-client's `_sendConnectPacket`
/// builds it with `Object.assign` (an auth key of the same name wins, in
/// place; an offset not known yet is left out, as `JSON.stringify` drops
/// `undefined`).
fn connect_data(ns: &Namespace) -> Option<String> {
    let Some(pid) = &ns.pid else {
        return ns.auth.clone();
    };
    let mut data = serde_json::Map::new();
    data.insert("pid".into(), pid.clone().into());
    if let Some(offset) = &ns.offset {
        data.insert("offset".into(), offset.clone().into());
    }
    // `connect` checked that the auth is an object.
    let auth = ns
        .auth
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok());
    if let Some(serde_json::Value::Object(auth)) = auth {
        data.extend(auth);
    }
    Some(serde_json::Value::Object(data).to_string())
}
