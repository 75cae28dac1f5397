//! The Engine.IO client session: engine.io-client 6.6's `Socket` with its
//! polling and WebSocket transports, as a pure state machine.

use crate::session::later;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::server::{decode_frame, encode_frame};
use super::{
    known_v3, known_v4, writable_prefix, Protocol, TransportError, TransportKind, Transports,
};
use crate::engine::handshake::Handshake;
use crate::engine::{v3, v4, Data, Packet, PacketType};
use crate::session::http::{OCTET_STREAM, TEXT_PLAIN_UTF8};
use crate::session::query::form_encode;
use crate::session::{Frame, Message, SendError, TransportId};
use crate::{Limits, Profile};

/// Configuration of an Engine.IO client; defaults are engine.io-client 6.6's.
///
/// ```
/// use siospec_codec::session::engine::ClientConfig;
///
/// let c = ClientConfig::default();
/// assert_eq!(c.path, "/engine.io/");
/// assert!(c.transports.polling && c.upgrade);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The protocol revision to speak. Default 4.
    pub protocol: Protocol,
    /// The request path. Default `/engine.io/` (Socket.IO uses `/socket.io/`).
    pub path: String,
    /// Extra query parameters, sent first on every request.
    pub query: Vec<(String, String)>,
    /// Transports to use: polling first when enabled, else WebSocket.
    pub transports: Transports,
    /// Probe and upgrade to WebSocket when the server offers it. Default true.
    pub upgrade: bool,
    /// Ask for base64 instead of binary (`b64=1`). Default false.
    pub force_base64: bool,
    /// Add a cache-busting parameter to polling requests. The official client
    /// uses a random string; this machine uses a counter (base 36), since it
    /// draws no random numbers. Default true.
    pub timestamp_requests: bool,
    /// The name of that parameter. Default `t`.
    pub timestamp_param: String,
    /// The first [`TransportId`] the client allocates; later ones count up.
    pub first_id: u64,
    /// Most messages waiting to be sent; [`ClientSession::send`] fails beyond. Default 10,000.
    pub max_buffered_packets: usize,
    /// Most undrained events; the session closes beyond. Default 200,000.
    pub max_queued_events: usize,
    /// Decoding rules.
    pub profile: Profile,
    /// Decoding limits.
    pub limits: Limits,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            protocol: Protocol::V4,
            path: "/engine.io/".to_owned(),
            query: Vec::new(),
            transports: Transports::default(),
            upgrade: true,
            force_base64: false,
            timestamp_requests: true,
            timestamp_param: "t".to_owned(),
            first_id: 1,
            max_buffered_packets: 10_000,
            max_queued_events: 200_000,
            profile: Profile::Compat,
            limits: Limits::default(),
        }
    }
}

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// A poll.
    Get,
    /// Data for the server.
    Post,
}

impl HttpMethod {
    /// The method token.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// An HTTP request for the adapter to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The id to report the answer with.
    pub id: TransportId,
    /// The method.
    pub method: HttpMethod,
    /// Path and query (`/engine.io/?EIO=4&transport=polling&t=1`).
    pub uri: String,
    /// The `Content-Type` of the body (POST only).
    pub content_type: Option<&'static str>,
    /// The body (POST only).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The query string of [`uri`](Self::uri), without the `?`.
    pub fn query(&self) -> &str {
        self.uri.split_once('?').map_or("", |(_, q)| q)
    }
}

/// Something for the client's adapter to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTransmit {
    /// Send an HTTP request; report its answer with
    /// [`ClientSession::handle_response`] or
    /// [`ClientSession::handle_request_failed`].
    Http(HttpRequest),
    /// Open a WebSocket to `uri`; report with
    /// [`ClientSession::handle_websocket_open`] (or `_closed` if it fails).
    OpenWebSocket {
        /// The id of the new WebSocket.
        id: TransportId,
        /// Path and query.
        uri: String,
    },
    /// Send a frame.
    Frame {
        /// The WebSocket.
        id: TransportId,
        /// The frame.
        frame: Frame,
    },
    /// Close the WebSocket.
    CloseWebSocket {
        /// The WebSocket.
        id: TransportId,
    },
    /// Abort an HTTP request still in flight (its answer no longer matters).
    Abort {
        /// The request.
        id: TransportId,
    },
}

/// Why a client session ended (engine.io-client's close reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientCloseReason {
    /// The application closed it. Node: `forced close`.
    ForcedClose,
    /// No ping within `pingInterval + pingTimeout` (v4), or no answer to
    /// our ping (v3). Node: `ping timeout`.
    PingTimeout,
    /// The server closed the transport (a close packet over polling, the
    /// WebSocket closing). Node: `transport close`.
    TransportClose,
    /// The transport failed. Node: `transport error`.
    TransportError(TransportError),
    /// The server sent something that does not decode, or a bad handshake.
    /// Node: `transport error` (a parser error reaches the client as an error packet).
    ParseError,
}

impl ClientCloseReason {
    /// The reason string engine.io-client gives.
    pub fn node_reason(self) -> &'static str {
        match self {
            ClientCloseReason::ForcedClose => "forced close",
            ClientCloseReason::PingTimeout => "ping timeout",
            ClientCloseReason::TransportClose => "transport close",
            ClientCloseReason::TransportError(_) | ClientCloseReason::ParseError => {
                "transport error"
            }
        }
    }
}

impl fmt::Display for ClientCloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node_reason())
    }
}

/// What a client session tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The handshake arrived; the session is open.
    Open(Handshake),
    /// A message from the server.
    Message(Message),
    /// A heartbeat went through (v4: a ping arrived and was answered; v3: our ping was answered).
    Heartbeat,
    /// The probe was answered; polling pauses for the upgrade.
    Upgrading {
        /// The WebSocket.
        transport: TransportId,
    },
    /// The session now runs over the WebSocket.
    Upgraded {
        /// The WebSocket.
        transport: TransportId,
    },
    /// The probe failed; the session goes on over polling.
    UpgradeFailed {
        /// The WebSocket that was given up.
        transport: TransportId,
    },
    /// The session ended.
    Closed(ClientCloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    /// `close()` waits for the buffer to drain or the upgrade to finish.
    Closing,
    Closed(ClientCloseReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Polling {
    /// The GET in flight.
    get: Option<TransportId>,
    /// The POST in flight (not writable while set).
    post: Option<TransportId>,
    /// Pausing for an upgrade: no new GET, pause completes when idle.
    pausing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ws {
    id: TransportId,
    open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Current {
    Polling(Polling),
    WebSocket(Ws),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeState {
    /// Waiting for the WebSocket to open.
    Connecting,
    /// `2probe` sent, waiting for `3probe`.
    Probing,
    /// `3probe` received; waiting for polling to pause.
    Upgrading,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    id: TransportId,
    state: ProbeState,
}

/// An Engine.IO client session.
///
/// Created by [`ClientSession::new`], which queues the first request (the
/// polling handshake GET, or the WebSocket to open). Feed it the answers
/// and frames; drain [`poll_transmit`](Self::poll_transmit), then
/// [`poll_event`](Self::poll_event); wake it at
/// [`poll_timeout`](Self::poll_timeout).
///
/// Behaviour (engine.io-client 6.6, protocol.md §1, §7): one GET in flight
/// at a time, polled again as soon as it returns; one POST in flight,
/// carrying as many buffered packets as fit in the server's `maxPayload`
/// ([`writable_prefix`](super::writable_prefix)); pings answered at once
/// (v4) and the server declared dead `pingInterval + pingTimeout` after the
/// last ping (re-armed on each); v3 sends its own pings. Once open over
/// polling with `websocket` offered, it probes a WebSocket (`2probe`), waits
/// for `3probe`, pauses polling (no new GET, the server releases the
/// pending one with a noop), then sends `5` and moves over.
///
/// Queue bounds: at most [`ClientConfig::max_buffered_packets`] messages
/// wait ([`send`](Self::send) fails beyond); undrained events at most
/// [`ClientConfig::max_queued_events`].
///
/// ```
/// use std::time::Instant;
/// use siospec_codec::session::engine::{ClientConfig, ClientEvent, ClientSession, ClientTransmit};
///
/// let t0 = Instant::now();
/// let mut c = ClientSession::new(t0, ClientConfig { upgrade: false, ..ClientConfig::default() });
/// let Some(ClientTransmit::Http(get)) = c.poll_transmit() else { unreachable!() };
/// assert_eq!(get.uri, "/engine.io/?EIO=4&transport=polling&t=1");
///
/// let open = br#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
/// c.handle_response(t0, get.id, 200, Some("text/plain; charset=UTF-8"), open);
/// assert!(matches!(c.poll_event(), Some(ClientEvent::Open(_))));
/// // the next poll goes out at once, with the sid
/// let Some(ClientTransmit::Http(poll)) = c.poll_transmit() else { unreachable!() };
/// assert_eq!(poll.uri, "/engine.io/?EIO=4&transport=polling&sid=s1&t=2");
/// ```
#[derive(Debug, Clone)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    current: Current,
    probe: Option<Probe>,
    sid: Option<String>,
    handshake: Option<Handshake>,
    write_buffer: VecDeque<Packet<'static>>,
    /// Packets of the write buffer in the POST in flight.
    in_flight: usize,
    ping_at: Option<Instant>,
    ping_timeout_at: Option<Instant>,
    next_id: u64,
    requests: u64,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    now: Instant,
}

impl ClientSession {
    /// Starts a session: queues the handshake (a polling GET, or a
    /// WebSocket when polling is disabled).
    pub fn new(now: Instant, config: ClientConfig) -> Self {
        let use_polling = config.transports.polling || !config.transports.websocket;
        let next_id = config.first_id;
        let mut c = ClientSession {
            current: Current::Polling(Polling {
                get: None,
                post: None,
                pausing: false,
            }),
            config,
            state: State::Opening,
            probe: None,
            sid: None,
            handshake: None,
            write_buffer: VecDeque::new(),
            in_flight: 0,
            ping_at: None,
            ping_timeout_at: None,
            next_id,
            requests: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            now,
        };
        if use_polling {
            c.poll();
        } else {
            let id = c.allocate();
            let uri = c.uri(TransportKind::WebSocket);
            c.current = Current::WebSocket(Ws { id, open: false });
            c.transmits
                .push_back(ClientTransmit::OpenWebSocket { id, uri });
        }
        c
    }

    // ----- getters -------------------------------------------------------

    /// The session id, once the handshake arrived.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The server's handshake, once it arrived.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The current transport.
    pub fn transport(&self) -> TransportKind {
        match self.current {
            Current::Polling(_) => TransportKind::Polling,
            Current::WebSocket(_) => TransportKind::WebSocket,
        }
    }

    /// `true` once the handshake arrived and until the session closes.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open | State::Closing)
    }

    /// `true` once the session ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// `true` when `id` is one this session allocated (its requests and
    /// WebSockets count up from [`ClientConfig::first_id`]).
    pub fn owns(&self, id: TransportId) -> bool {
        (self.config.first_id..self.next_id).contains(&id.0)
    }

    /// Why the session ended.
    pub fn close_reason(&self) -> Option<ClientCloseReason> {
        match self.state {
            State::Closed(r) => Some(r),
            _ => None,
        }
    }

    /// `true` while the probe was answered and polling is pausing.
    pub fn is_upgrading(&self) -> bool {
        self.probe.is_some_and(|p| p.state == ProbeState::Upgrading)
    }

    /// Messages waiting to be sent (including those in the POST in flight).
    pub fn buffered(&self) -> usize {
        self.write_buffer.len()
    }

    /// How many more messages [`send`](Self::send) accepts now.
    pub fn send_capacity(&self) -> usize {
        if !matches!(self.state, State::Opening | State::Open) {
            return 0;
        }
        self.config
            .max_buffered_packets
            .saturating_sub(self.write_buffer.len() + self.transmits.len())
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    // ----- outputs -------------------------------------------------------

    /// The next thing to do. Drain it after every call.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.transmits.pop_front()
    }

    /// The next event. Drain it after the transmits.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        [self.ping_at, self.ping_timeout_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Undrained events.
    pub fn queued_events(&self) -> usize {
        self.events.len()
    }

    /// Undrained transmits.
    pub fn queued_transmits(&self) -> usize {
        self.transmits.len()
    }

    // ----- inputs --------------------------------------------------------

    /// Fires the timers due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// The answer to HTTP request `id`.
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: TransportId,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        self.advance(now);
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        if p.get == Some(id) {
            p.get = None;
            if self.is_closed() {
                return;
            }
            if status != 200 {
                self.on_close(ClientCloseReason::TransportError(
                    TransportError::RequestFailed,
                ));
                return;
            }
            self.on_poll_data(content_type == Some(OCTET_STREAM), body);
        } else if p.post == Some(id) {
            p.post = None;
            if self.is_closed() {
                return;
            }
            if status != 200 {
                self.on_close(ClientCloseReason::TransportError(
                    TransportError::PostFailed,
                ));
                return;
            }
            self.on_drain();
        }
    }

    /// HTTP request `id` failed without an answer (network error).
    pub fn handle_request_failed(&mut self, now: Instant, id: TransportId) {
        self.handle_response(now, id, 0, None, &[]);
    }

    /// WebSocket `id` opened.
    pub fn handle_websocket_open(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if self.is_closed() {
            return;
        }
        if let Some(probe) = self.probe.as_mut().filter(|p| p.id == id) {
            if probe.state == ProbeState::Connecting {
                probe.state = ProbeState::Probing;
                let frame = encode_frame(
                    self.config.protocol,
                    &Packet::text(PacketType::Ping, "probe"),
                    !self.config.force_base64,
                );
                self.transmits
                    .push_back(ClientTransmit::Frame { id, frame });
            }
            return;
        }
        if let Current::WebSocket(ws) = &mut self.current {
            if ws.id == id {
                ws.open = true;
                self.flush();
            }
        }
    }

    /// A frame arrived on WebSocket `id`.
    pub fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
        self.advance(now);
        if self.is_closed() {
            return;
        }
        let packet = decode_frame(self.config.protocol, &frame, self.config.profile)
            .map(|p| p.map(Packet::into_owned));
        if let Some(probe) = self.probe.filter(|p| p.id == id) {
            match packet {
                Ok(Some(p))
                    if probe.state == ProbeState::Probing
                        && p.kind == PacketType::Pong
                        && p.is_probe() =>
                {
                    self.probe = Some(Probe {
                        id,
                        state: ProbeState::Upgrading,
                    });
                    self.push_event(ClientEvent::Upgrading { transport: id });
                    self.pause_polling();
                }
                _ => self.fail_probe(),
            }
            return;
        }
        if !matches!(&self.current, Current::WebSocket(ws) if ws.id == id) {
            return;
        }
        match packet {
            Ok(Some(p)) => self.on_packet(p),
            Ok(None) => self.restart_v3_window(),
            Err(()) => self.on_close(ClientCloseReason::ParseError),
        }
    }

    /// WebSocket `id` closed (or could not be opened).
    pub fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if self.probe.is_some_and(|p| p.id == id) {
            self.fail_probe_closed();
            return;
        }
        let closed = self.is_closed();
        if let Current::WebSocket(ws) = &mut self.current {
            if ws.id == id && !closed {
                ws.open = false;
                self.on_close(ClientCloseReason::TransportClose);
            }
        }
    }

    /// WebSocket `id` failed.
    pub fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if self.probe.is_some_and(|p| p.id == id) {
            self.fail_probe();
            return;
        }
        if matches!(&self.current, Current::WebSocket(ws) if ws.id == id) && !self.is_closed() {
            self.on_close(ClientCloseReason::TransportError(TransportError::WebSocket));
        }
    }

    // ----- application commands -----------------------------------------

    /// Sends a message (buffered until the session is open and the transport writable).
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), SendError> {
        self.advance(now);
        if !matches!(self.state, State::Opening | State::Open) {
            return Err(SendError::Closed);
        }
        if self.send_capacity() == 0 {
            return Err(SendError::Full);
        }
        self.send_packet(message.into_packet());
        Ok(())
    }

    /// Closes the session as engine.io-client's `close()`: after the buffer
    /// drains (and any upgrade finishes), a close packet goes out over
    /// polling (a POST `1`) or the WebSocket is closed. Reason
    /// [`ClientCloseReason::ForcedClose`].
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        match self.state {
            State::Opening => {
                if let Current::Polling(p) = &mut self.current {
                    if let Some(id) = p.get.take() {
                        self.transmits.push_back(ClientTransmit::Abort { id });
                    }
                }
                self.on_close(ClientCloseReason::ForcedClose);
            }
            State::Open => {
                self.state = State::Closing;
                self.maybe_finish_close();
            }
            _ => {}
        }
    }

    // ----- internals -----------------------------------------------------

    fn allocate(&mut self) -> TransportId {
        let id = TransportId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn uri(&mut self, transport: TransportKind) -> String {
        let mut q: Vec<String> = self
            .config
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        q.push(format!("EIO={}", self.config.protocol.query_value()));
        q.push(format!("transport={}", transport.name()));
        if let Some(sid) = &self.sid {
            q.push(format!("sid={}", form_encode(sid)));
        }
        if transport == TransportKind::Polling && self.config.timestamp_requests {
            self.requests += 1;
            q.push(format!(
                "{}={}",
                form_encode(&self.config.timestamp_param),
                base36(self.requests)
            ));
        }
        if self.config.force_base64 && self.sid.is_none() {
            q.push("b64=1".to_owned());
        }
        format!("{}?{}", self.config.path, q.join("&"))
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        while !self.is_closed() {
            let ping = self.ping_at.filter(|t| *t <= now);
            let timeout = self.ping_timeout_at.filter(|t| *t <= now);
            match (ping, timeout) {
                (Some(p), Some(t)) if p <= t => self.fire_ping(p),
                (Some(p), None) => self.fire_ping(p),
                (_, Some(_)) => {
                    self.ping_timeout_at = None;
                    self.on_close(ClientCloseReason::PingTimeout);
                }
                (None, None) => break,
            }
        }
    }

    /// v3: the client's own ping.
    fn fire_ping(&mut self, at: Instant) {
        self.ping_at = None;
        self.send_packet(Packet::new(PacketType::Ping));
        self.ping_timeout_at = later(at, self.timeout());
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.handshake.as_ref().map_or(0, |h| h.ping_interval))
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.handshake.as_ref().map_or(0, |h| h.ping_timeout))
    }

    fn push_event(&mut self, event: ClientEvent) {
        if self.events.len() >= self.config.max_queued_events {
            if !self.is_closed() {
                self.on_close(ClientCloseReason::TransportError(
                    TransportError::EventQueueFull,
                ));
            }
            return;
        }
        self.events.push_back(event);
    }

    /// Issues the next GET.
    fn poll(&mut self) {
        let id = self.allocate();
        let uri = self.uri(TransportKind::Polling);
        if let Current::Polling(p) = &mut self.current {
            p.get = Some(id);
        }
        self.transmits.push_back(ClientTransmit::Http(HttpRequest {
            id,
            method: HttpMethod::Get,
            uri,
            content_type: None,
            body: Vec::new(),
        }));
    }

    fn on_poll_data(&mut self, binary: bool, body: &[u8]) {
        let profile = self.config.profile;
        let limits = self.config.limits;
        // `Ok(None)`: v3 data of no known type.
        let mut packets: Vec<Result<Option<Packet<'static>>, ()>> = Vec::new();
        let mut push = |item: Result<Option<Packet<'_>>, crate::engine::DecodeError>| match item {
            Ok(p) => {
                packets.push(Ok(p.map(Packet::into_owned)));
                true
            }
            Err(_) => {
                packets.push(Err(()));
                false
            }
        };
        if binary && self.config.protocol == Protocol::V3 {
            for item in v3::decode_binary_payload(body, profile, &limits) {
                if !push(known_v3(item)) {
                    break;
                }
            }
        } else {
            match v4::body_text(body, profile) {
                Err(_) => packets.push(Err(())),
                Ok(text) => match self.config.protocol {
                    Protocol::V4 => {
                        for item in v4::decode_payload(&text, profile, &limits) {
                            if !push(known_v4(item)) {
                                break;
                            }
                        }
                    }
                    Protocol::V3 => {
                        for item in v3::decode_payload(&text, profile, &limits) {
                            if !push(known_v3(item)) {
                                break;
                            }
                        }
                    }
                },
            }
        }
        for item in packets {
            if self.is_closed() {
                return;
            }
            match item {
                Ok(Some(p)) if p.kind == PacketType::Close => {
                    self.on_close(ClientCloseReason::TransportClose);
                    return;
                }
                Ok(Some(p)) => self.on_packet(p),
                Ok(None) => self.restart_v3_window(),
                Err(()) => {
                    self.on_close(ClientCloseReason::ParseError);
                    return;
                }
            }
        }
        if self.is_closed() {
            return;
        }
        // pollComplete
        let pausing = matches!(&self.current, Current::Polling(p) if p.pausing);
        if pausing {
            self.maybe_complete_pause();
        } else if matches!(self.state, State::Open | State::Closing)
            && matches!(self.current, Current::Polling(_))
        {
            self.poll();
        }
    }

    fn on_packet(&mut self, packet: Packet<'static>) {
        if self.state == State::Opening && packet.kind != PacketType::Open {
            // Nothing but the handshake makes sense before the handshake
            // (the official client would arm its timers with `NaN`).
            return;
        }
        match packet.kind {
            PacketType::Open if self.state == State::Opening => {
                let Data::Text(json) = &packet.data else {
                    self.on_close(ClientCloseReason::ParseError);
                    return;
                };
                match Handshake::decode(json, self.config.profile) {
                    Ok(h) => self.on_handshake(h),
                    Err(_) => self.on_close(ClientCloseReason::ParseError),
                }
            }
            PacketType::Ping if self.config.protocol == Protocol::V4 => {
                self.send_packet(Packet::new(PacketType::Pong));
                self.push_event(ClientEvent::Heartbeat);
                self.ping_timeout_at =
                    later(self.now, self.interval().saturating_add(self.timeout()));
            }
            PacketType::Pong if self.config.protocol == Protocol::V3 => {
                self.ping_at = later(self.now, self.interval());
                self.ping_timeout_at =
                    later(self.now, self.interval().saturating_add(self.timeout()));
                self.push_event(ClientEvent::Heartbeat);
            }
            PacketType::Message => {
                let message = match packet.data {
                    Data::None => Message::Empty,
                    Data::Text(t) => Message::Text(t.into_owned()),
                    Data::Binary(b) => Message::Binary(b.into_owned()),
                };
                self.push_event(ClientEvent::Message(message));
            }
            _ => {}
        }
        if packet.kind != PacketType::Pong {
            self.restart_v3_window();
        }
    }

    /// v3 (`onHeartbeat()`): any packet but a pong restarts the window of
    /// interval plus timeout, even while our ping waits for its pong; so
    /// does data of no known type, which is otherwise ignored.
    fn restart_v3_window(&mut self) {
        if self.config.protocol == Protocol::V3 && self.is_open() {
            self.ping_timeout_at = later(self.now, self.interval().saturating_add(self.timeout()));
        }
    }

    fn on_handshake(&mut self, h: Handshake) {
        self.sid = Some(h.sid.clone());
        self.handshake = Some(h.clone());
        self.state = State::Open;
        self.push_event(ClientEvent::Open(h.clone()));
        self.flush();
        let offers_ws = h.upgrades.iter().any(|u| u == "websocket");
        if matches!(self.current, Current::Polling(_))
            && self.config.upgrade
            && self.config.transports.websocket
            && offers_ws
        {
            let id = self.allocate();
            let uri = self.uri(TransportKind::WebSocket);
            self.probe = Some(Probe {
                id,
                state: ProbeState::Connecting,
            });
            self.transmits
                .push_back(ClientTransmit::OpenWebSocket { id, uri });
        }
        match self.config.protocol {
            Protocol::V4 => {
                self.ping_timeout_at =
                    later(self.now, self.interval().saturating_add(self.timeout()))
            }
            Protocol::V3 => {
                self.ping_at = later(self.now, self.interval());
                self.ping_timeout_at =
                    later(self.now, self.interval().saturating_add(self.timeout()));
            }
        }
    }

    fn send_packet(&mut self, packet: Packet<'static>) {
        if !matches!(self.state, State::Opening | State::Open) {
            return;
        }
        self.write_buffer.push_back(packet);
        self.flush();
    }

    fn writable(&self) -> bool {
        match &self.current {
            Current::Polling(p) => p.post.is_none() && !p.pausing,
            Current::WebSocket(ws) => ws.open,
        }
    }

    fn flush(&mut self) {
        if self.is_closed()
            || self.state == State::Opening
            || !self.writable()
            || self.is_upgrading()
            || self.write_buffer.len() <= self.in_flight
        {
            return;
        }
        match &self.current {
            Current::Polling(_) => {
                let max = self.handshake.as_ref().and_then(|h| h.max_payload);
                let count = writable_prefix(&self.write_buffer, max);
                let packets: Vec<Packet<'static>> =
                    self.write_buffer.iter().take(count).cloned().collect();
                self.in_flight = count;
                self.post(&packets);
            }
            Current::WebSocket(ws) => {
                let id = ws.id;
                let binary = !self.config.force_base64;
                for packet in self.write_buffer.drain(..) {
                    let frame = encode_frame(self.config.protocol, &packet, binary);
                    self.transmits
                        .push_back(ClientTransmit::Frame { id, frame });
                }
                self.in_flight = 0;
                self.maybe_finish_close();
            }
        }
    }

    fn post(&mut self, packets: &[Packet<'static>]) {
        let mut body = Vec::new();
        let has_binary = packets.iter().any(|p| matches!(p.data, Data::Binary(_)));
        let content_type = match self.config.protocol {
            Protocol::V4 => {
                v4::encode_payload(packets, &mut body);
                TEXT_PLAIN_UTF8
            }
            Protocol::V3 if has_binary && !self.config.force_base64 => {
                v3::encode_binary_payload(packets, &mut body);
                OCTET_STREAM
            }
            Protocol::V3 => {
                v3::encode_payload(packets, &mut body);
                TEXT_PLAIN_UTF8
            }
        };
        let id = self.allocate();
        let uri = self.uri(TransportKind::Polling);
        if let Current::Polling(p) = &mut self.current {
            p.post = Some(id);
        }
        self.transmits.push_back(ClientTransmit::Http(HttpRequest {
            id,
            method: HttpMethod::Post,
            uri,
            content_type: Some(content_type),
            body,
        }));
    }

    /// The POST completed: its packets leave the buffer.
    fn on_drain(&mut self) {
        let n = self.in_flight.min(self.write_buffer.len());
        self.write_buffer.drain(..n);
        self.in_flight = 0;
        let pausing = matches!(&self.current, Current::Polling(p) if p.pausing);
        if pausing {
            self.maybe_complete_pause();
            return;
        }
        if self.write_buffer.is_empty() {
            self.maybe_finish_close();
        } else {
            self.flush();
        }
    }

    fn maybe_finish_close(&mut self) {
        if self.state != State::Closing || !self.write_buffer.is_empty() || self.is_upgrading() {
            return;
        }
        if matches!(&self.current, Current::Polling(p) if p.post.is_some()) {
            return;
        }
        self.on_close(ClientCloseReason::ForcedClose);
    }

    fn pause_polling(&mut self) {
        if let Current::Polling(p) = &mut self.current {
            p.pausing = true;
        }
        self.maybe_complete_pause();
    }

    /// Polling is paused once no GET and no POST is in flight: move to the WebSocket.
    fn maybe_complete_pause(&mut self) {
        let Current::Polling(p) = &self.current else {
            return;
        };
        if !p.pausing || p.get.is_some() || p.post.is_some() {
            return;
        }
        let Some(probe) = self.probe.take() else {
            return;
        };
        if self.is_closed() {
            return;
        }
        let id = probe.id;
        self.current = Current::WebSocket(Ws { id, open: true });
        let frame = encode_frame(
            self.config.protocol,
            &Packet::new(PacketType::Upgrade),
            !self.config.force_base64,
        );
        self.transmits
            .push_back(ClientTransmit::Frame { id, frame });
        self.push_event(ClientEvent::Upgraded { transport: id });
        self.in_flight = 0;
        self.flush();
        self.maybe_finish_close();
    }

    fn fail_probe(&mut self) {
        if let Some(probe) = self.probe.take() {
            self.transmits
                .push_back(ClientTransmit::CloseWebSocket { id: probe.id });
            self.after_failed_probe(probe);
        }
    }

    fn fail_probe_closed(&mut self) {
        if let Some(probe) = self.probe.take() {
            self.after_failed_probe(probe);
        }
    }

    fn after_failed_probe(&mut self, probe: Probe) {
        self.push_event(ClientEvent::UpgradeFailed {
            transport: probe.id,
        });
        // polling resumes if it had paused
        let resume = match &mut self.current {
            Current::Polling(p) if p.pausing => {
                p.pausing = false;
                p.get.is_none()
            }
            _ => false,
        };
        if resume && self.is_open() {
            self.poll();
        }
        self.flush();
        self.maybe_finish_close();
    }

    fn on_close(&mut self, reason: ClientCloseReason) {
        if self.is_closed() {
            return;
        }
        let forced = reason == ClientCloseReason::ForcedClose;
        let open = self.is_open();
        self.state = State::Closed(reason);
        self.ping_at = None;
        self.ping_timeout_at = None;
        self.write_buffer.clear();
        self.in_flight = 0;
        if let Some(probe) = self.probe.take() {
            self.transmits
                .push_back(ClientTransmit::CloseWebSocket { id: probe.id });
        }
        match &self.current {
            Current::Polling(_) => {
                // transport.close(): the close packet, when the transport is open
                // and the server is still there.
                if open && reason != ClientCloseReason::TransportClose {
                    let id = self.allocate();
                    let uri = self.uri(TransportKind::Polling);
                    let mut body = Vec::new();
                    match self.config.protocol {
                        Protocol::V4 => {
                            v4::encode_payload(&[Packet::new(PacketType::Close)], &mut body)
                        }
                        Protocol::V3 => {
                            v3::encode_payload(&[Packet::new(PacketType::Close)], &mut body)
                        }
                    }
                    self.transmits.push_back(ClientTransmit::Http(HttpRequest {
                        id,
                        method: HttpMethod::Post,
                        uri,
                        content_type: Some(TEXT_PLAIN_UTF8),
                        body,
                    }));
                }
            }
            Current::WebSocket(ws) => {
                let id = ws.id;
                if ws.open || forced {
                    self.transmits
                        .push_back(ClientTransmit::CloseWebSocket { id });
                }
            }
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}

fn base36(mut n: u64) -> String {
    const D: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(D[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
