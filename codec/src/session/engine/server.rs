//! One Engine.IO session on the server: engine.io 6.6.12's `Socket` with its
//! polling and WebSocket transports, as a pure state machine.

use crate::session::later;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::endpoint::{cors_headers, ErrorCode, OpenRequest, SessionInfo};
use super::{
    known_v3, known_v4, writable_prefix, CloseReason, Event, Protocol, ServerConfig,
    TransportError, TransportKind, UpgradeFailure,
};
use crate::engine::handshake::Handshake;
use crate::engine::{v3, v4, Data, FrameKind, Packet, PacketType};
use crate::session::http::{
    negotiate_compression, Compression, Header, HttpResponse, RequestHead, APPLICATION_JSON,
    OCTET_STREAM, TEXT_PLAIN_UTF8,
};
use crate::session::query::Query;
use crate::session::{Frame, Message, SendError, TransportId};
use crate::{Limits, Profile};

/// Something for the adapter to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Answer the polling request `id` with `response`.
    Http {
        /// The request.
        id: TransportId,
        /// The complete response.
        response: HttpResponse,
    },
    /// Destroy the connection of request `id` without answering (Node
    /// destroys a POST whose body is still arriving when its session closes).
    HttpAbort {
        /// The request.
        id: TransportId,
    },
    /// Send one WebSocket frame.
    Frame {
        /// The WebSocket.
        id: TransportId,
        /// The frame.
        frame: Frame,
    },
    /// Close the WebSocket. Node closes without a close code (the peer sees
    /// 1005), except for an oversize message (1009).
    CloseWebSocket {
        /// The WebSocket.
        id: TransportId,
        /// The close code to send, if any.
        code: Option<u16>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// `close()` was called; waiting for the buffer to drain or for the
    /// polling transport to carry the close packet.
    Closing,
    Closed(CloseReason),
}

/// The response-shaping parts of a request, kept while it is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    id: TransportId,
    cors: Vec<Header>,
    xss: bool,
    compression: Option<Compression>,
    cookie: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingPost {
    pending: Pending,
    binary: bool,
    body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Polling {
    jsonp: Option<String>,
    supports_binary: bool,
    get: Option<Pending>,
    post: Option<PendingPost>,
    /// A close waits for the next GET to carry the close packet (`shouldClose`).
    should_close: Option<CloseReason>,
    discarded: bool,
    /// `readyState` is `closing` or `closed`.
    closing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ws {
    id: TransportId,
    supports_binary: bool,
    closed: bool,
    close_code: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Current {
    Polling(Polling),
    WebSocket(Ws),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Upgrade {
    ws: Ws,
    probed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Timers {
    ping: Option<Instant>,
    ping_timeout: Option<Instant>,
    upgrade_timeout: Option<Instant>,
    noop: Option<Instant>,
    close_timeout: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Ping,
    PingTimeout,
    UpgradeTimeout,
    Noop,
    CloseTimeout,
}

impl Timers {
    fn next(&self) -> Option<(Instant, Timer)> {
        [
            (self.ping, Timer::Ping),
            (self.ping_timeout, Timer::PingTimeout),
            (self.upgrade_timeout, Timer::UpgradeTimeout),
            (self.noop, Timer::Noop),
            (self.close_timeout, Timer::CloseTimeout),
        ]
        .into_iter()
        .filter_map(|(at, t)| at.map(|at| (at, t)))
        .min_by_key(|(at, _)| *at)
    }
}

/// One Engine.IO session on the server.
///
/// Created by [`ServerSession::new`] from a verified handshake
/// ([`Endpoint::verify`](super::Endpoint::verify) then
/// [`HandshakeRequest::accept`](super::HandshakeRequest::accept)); fed every
/// later request and frame of its `sid`; drained with
/// [`poll_transmit`](Self::poll_transmit) (first) and
/// [`poll_event`](Self::poll_event); woken at
/// [`poll_timeout`](Self::poll_timeout). Once [`Event::Closed`] is out and
/// the transmits are drained, drop it.
///
/// It reproduces engine.io 6.6.12 (protocol.md §1–2): the open packet and
/// the first ping one interval later (v4) or the client-driven heartbeat
/// (v3); one pending GET and one pending POST; the upgrade dance with the
/// 100 ms noop; the close reasons; and every HTTP answer (status, headers,
/// body) as a [`Transmit::Http`].
///
/// Every `handle_*` call first fires the timers due at or before its `now`,
/// in deadline order, each at its own deadline; time never goes back (an
/// earlier `now` counts as the latest one seen).
///
/// Queue bounds: the write buffer plus undrained transmits hold at most
/// [`ServerConfig::max_buffered_packets`] application messages ([`send`](Self::send)
/// fails beyond; heartbeat and control packets add at most a few per
/// input); undrained events at most [`ServerConfig::max_queued_events`]
/// (the session closes beyond).
///
/// ```
/// use std::time::{Duration, Instant};
/// use siospec_codec::session::engine::{Endpoint, ServerConfig, ServerSession, Transmit, Verdict};
/// use siospec_codec::session::{RequestHead, TransportId};
///
/// let t0 = Instant::now();
/// let endpoint = Endpoint::new(ServerConfig::suite());
/// let head = RequestHead::get("EIO=4&transport=polling");
/// let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else { unreachable!() };
/// let mut s = ServerSession::new(t0, endpoint.config().clone(), "sid1", h.accept().unwrap(), TransportId(1), &head);
///
/// let Some(Transmit::Http { id, response }) = s.poll_transmit() else { unreachable!() };
/// assert_eq!(id, TransportId(1));
/// assert_eq!(response.body, br#"0{"sid":"sid1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#);
///
/// // The first ping is due one interval later.
/// assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_millis(300)));
/// ```
#[derive(Debug, Clone)]
pub struct ServerSession {
    config: ServerConfig,
    limits: Limits,
    sid: String,
    protocol: Protocol,
    state: State,
    current: Current,
    upgrade: Option<Upgrade>,
    upgraded: bool,
    write_buffer: VecDeque<Packet<'static>>,
    close_after_drain: bool,
    timers: Timers,
    ping_refreshed: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    now: Instant,
}

impl ServerSession {
    /// Opens a session with id `sid` on the handshake request `id` (a
    /// polling GET, answered at once with the open packet; or a WebSocket,
    /// which gets the open packet as its first frame). `head` is the
    /// handshake request (CORS, compression, cookie).
    pub fn new(
        now: Instant,
        config: ServerConfig,
        sid: impl Into<String>,
        open: OpenRequest,
        id: TransportId,
        head: &RequestHead<'_>,
    ) -> Self {
        let sid = sid.into();
        let current = match open.transport {
            TransportKind::Polling => Current::Polling(Polling {
                jsonp: open.jsonp.clone(),
                supports_binary: open.supports_binary,
                get: None,
                post: None,
                should_close: None,
                discarded: false,
                closing: false,
            }),
            TransportKind::WebSocket => Current::WebSocket(Ws {
                id,
                supports_binary: open.supports_binary,
                closed: false,
                close_code: None,
            }),
        };
        let upgrades = match open.transport {
            TransportKind::Polling => config.upgrades(),
            TransportKind::WebSocket => Vec::new(),
        };
        let handshake = Handshake {
            sid: sid.clone(),
            upgrades,
            ping_interval: millis(config.ping_interval),
            ping_timeout: millis(config.ping_timeout),
            max_payload: Some(config.max_payload as u64),
        };
        let mut json = Vec::new();
        handshake.encode(&mut json);
        let limits = config.decode_limits();
        let mut session = ServerSession {
            limits,
            sid,
            protocol: open.protocol,
            state: State::Open,
            current,
            upgrade: None,
            upgraded: false,
            write_buffer: VecDeque::new(),
            close_after_drain: false,
            timers: Timers::default(),
            ping_refreshed: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            now,
            config,
        };
        session.send_packet(Packet::text(
            PacketType::Open,
            String::from_utf8_lossy(&json).into_owned(),
        ));
        match session.protocol {
            Protocol::V3 => {
                session.timers.ping_timeout = later(
                    now,
                    session
                        .config
                        .ping_interval
                        .saturating_add(session.config.ping_timeout),
                )
            }
            Protocol::V4 => session.timers.ping = later(now, session.config.ping_interval),
        }
        if let Current::Polling(_) = session.current {
            let cookie = session
                .config
                .cookie
                .as_ref()
                .map(|c| c.serialize(&session.sid));
            let pending = session.pending(id, head, cookie);
            session.on_poll_request(pending);
        }
        session
    }

    // ----- getters -------------------------------------------------------

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The protocol revision.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The current transport.
    pub fn transport(&self) -> TransportKind {
        match self.current {
            Current::Polling(_) => TransportKind::Polling,
            Current::WebSocket(_) => TransportKind::WebSocket,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// What the [`Endpoint`](super::Endpoint) needs to verify requests for
    /// this session, or `None` once it is closed (its sid is then unknown).
    pub fn info(&self) -> Option<SessionInfo> {
        (!self.is_closed()).then_some(SessionInfo {
            transport: self.transport(),
            protocol: self.protocol,
        })
    }

    /// `true` once the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// `true` while a server close waits to be carried out.
    pub fn is_closing(&self) -> bool {
        self.state == State::Closing
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            State::Closed(reason) => Some(reason),
            _ => None,
        }
    }

    /// `true` while a WebSocket is being upgraded to.
    pub fn is_upgrading(&self) -> bool {
        self.upgrade.is_some()
    }

    /// `true` once the session moved to a WebSocket by an upgrade.
    pub fn is_upgraded(&self) -> bool {
        self.upgraded
    }

    /// Packets waiting for a transport (polling: for the next GET).
    pub fn buffered(&self) -> usize {
        self.write_buffer.len()
    }

    /// `true` while a polling GET waits for data.
    pub fn has_pending_get(&self) -> bool {
        matches!(&self.current, Current::Polling(p) if p.get.is_some())
    }

    /// How many more messages [`send`](Self::send) accepts right now (0 once
    /// the session is closing or closed).
    pub fn send_capacity(&self) -> usize {
        if self.state != State::Open {
            return 0;
        }
        self.config
            .max_buffered_packets
            .saturating_sub(self.write_buffer.len() + self.transmits.len())
    }

    /// The largest POST body or WebSocket message accepted, in bytes.
    pub fn max_payload(&self) -> usize {
        self.config.max_payload
    }

    // ----- outputs -------------------------------------------------------

    /// The next thing to write. Drain it (until `None`) after every call.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application. Drain it after the transmits.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        self.timers.next().map(|(at, _)| at)
    }

    /// Undrained transmits.
    pub fn queued_transmits(&self) -> usize {
        self.transmits.len()
    }

    /// Undrained events.
    pub fn queued_events(&self) -> usize {
        self.events.len()
    }

    // ----- inputs --------------------------------------------------------

    /// Fires the timers due at or before `now`. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// A polling request for this session (already verified): a GET waits
    /// for data; a POST starts receiving a body (feed it with
    /// [`handle_body`](Self::handle_body) and
    /// [`handle_body_end`](Self::handle_body_end)); any other method gets 500.
    pub fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        self.advance(now);
        if self.is_closed() {
            let response = error_response(ErrorCode::UnknownSid, &self.config, head);
            self.transmits.push_back(Transmit::Http { id, response });
            return;
        }
        if let Current::WebSocket(_) = self.current {
            let response = error_response(ErrorCode::BadRequest, &self.config, head);
            self.transmits.push_back(Transmit::Http { id, response });
            return;
        }
        match head.method {
            "GET" => {
                let pending = self.pending(id, head, None);
                self.on_poll_request(pending);
            }
            "POST" => self.on_data_request(id, head),
            _ => {
                let response = HttpResponse::empty(500, cors_headers(&self.config, head));
                self.transmits.push_back(Transmit::Http { id, response });
            }
        }
    }

    /// A chunk of the body of POST `id`. Past [`max_payload`](Self::max_payload)
    /// bytes the POST is answered 413 at once (the session stays open) and
    /// the rest of its body is ignored.
    pub fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]) {
        self.advance(now);
        let max = self.config.max_payload;
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        let Some(post) = p.post.as_mut().filter(|post| post.pending.id == id) else {
            return;
        };
        if post.body.len().saturating_add(chunk.len()) > max {
            let cors = std::mem::take(&mut post.pending.cors);
            p.post = None;
            self.transmits.push_back(Transmit::Http {
                id,
                response: HttpResponse::empty(413, cors),
            });
            return;
        }
        post.body.extend_from_slice(chunk);
    }

    /// The body of POST `id` is complete: its packets are processed in
    /// order and the POST is answered `200 ok`, even when they closed the
    /// session; a body that does not decode gets `400` instead unless
    /// [`NodeHabits::ok_on_undecodable_post`](super::NodeHabits::ok_on_undecodable_post).
    pub fn handle_body_end(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        if p.post.as_ref().is_none_or(|post| post.pending.id != id) {
            return;
        }
        let Some(post) = p.post.take() else {
            return;
        };
        let jsonp = p.jsonp.is_some();
        let decoded = self.on_data(&post.body, post.binary, jsonp);
        if !decoded && !self.config.habits.ok_on_undecodable_post {
            self.transmits.push_back(Transmit::Http {
                id,
                response: HttpResponse::empty(400, post.pending.cors),
            });
            return;
        }
        let mut headers = post.pending.cors;
        headers.push(("Content-Type", crate::session::http::TEXT_HTML.to_owned()));
        headers.push(("Content-Length", "2".to_owned()));
        if post.pending.xss {
            headers.push(("X-XSS-Protection", "0".to_owned()));
        }
        headers.push(("cache-control", "no-store".to_owned()));
        self.transmits.push_back(Transmit::Http {
            id,
            response: HttpResponse {
                status: 200,
                headers,
                body: b"ok".to_vec(),
                compression: None,
            },
        });
    }

    /// A whole POST at once: [`handle_request`](Self::handle_request),
    /// [`handle_body`](Self::handle_body), [`handle_body_end`](Self::handle_body_end).
    pub fn handle_post(
        &mut self,
        now: Instant,
        id: TransportId,
        head: &RequestHead<'_>,
        body: &[u8],
    ) {
        self.handle_request(now, id, head);
        self.handle_body(now, id, body);
        self.handle_body_end(now, id);
    }

    /// The client of request `id` went away before it was answered: a
    /// pending GET or an incomplete POST closes the session (transport error).
    pub fn handle_request_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        if p.get.as_ref().is_some_and(|g| g.id == id) {
            p.get = None;
            self.on_close(CloseReason::TransportError(
                TransportError::PollClosedPrematurely,
            ));
        } else if p.post.as_ref().is_some_and(|post| post.pending.id == id) {
            p.post = None;
            self.on_close(CloseReason::TransportError(
                TransportError::DataClosedPrematurely,
            ));
        }
    }

    /// A WebSocket carrying this session's `sid` completed its handshake:
    /// it becomes the upgrade candidate, unless an upgrade is already under
    /// way or done, or the session is closed, in which case it is closed.
    pub fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        self.advance(now);
        if self.is_closed() || self.upgrade.is_some() || self.upgraded {
            self.transmits
                .push_back(Transmit::CloseWebSocket { id, code: None });
            return;
        }
        let supports_binary = !Query::parse(head.query).b64();
        self.upgrade = Some(Upgrade {
            ws: Ws {
                id,
                supports_binary,
                closed: false,
                close_code: None,
            },
            probed: false,
        });
        self.timers.upgrade_timeout = later(now, self.config.upgrade_timeout);
    }

    /// A message longer than `max_payload` that the adapter refused to
    /// buffer (its WebSocket library stops reading at the limit): handled as
    /// [`handle_frame`](Self::handle_frame) handles an oversize frame, with
    /// close code 1009 as the `ws` server sends.
    pub fn handle_frame_too_big(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if !self.is_closed() {
            self.refuse_oversize(id);
        }
    }

    fn refuse_oversize(&mut self, id: TransportId) {
        if self.upgrade.as_ref().is_some_and(|u| u.ws.id == id) {
            self.abort_upgrade(UpgradeFailure::TransportClosed, Some(1009));
            return;
        }
        if let Current::WebSocket(ws) = &mut self.current {
            if ws.id == id && !ws.closed {
                ws.close_code = Some(1009);
                self.on_close(CloseReason::TransportError(TransportError::MessageTooBig));
            }
        }
    }

    /// A WebSocket frame arrived on `id` (the session's WebSocket or the
    /// upgrade candidate; frames of other ids are ignored).
    pub fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
        self.advance(now);
        if self.is_closed() {
            return;
        }
        if frame.len() > self.config.max_payload {
            self.refuse_oversize(id);
            return;
        }
        if self.upgrade.as_ref().is_some_and(|u| u.ws.id == id) {
            // On the probe transport anything but the probe and the upgrade
            // aborts the upgrade, a packet of no known type included.
            let packet = decode_frame(self.protocol, &frame, self.config.profile)
                .and_then(|p| p.ok_or(()))
                .map(Packet::into_owned);
            self.on_upgrade_packet(now, packet);
            return;
        }
        if !matches!(&self.current, Current::WebSocket(ws) if ws.id == id && !ws.closed) {
            return;
        }
        match decode_frame(self.protocol, &frame, self.config.profile) {
            Ok(Some(packet)) => {
                let packet = packet.into_owned();
                self.on_packet(now, packet);
            }
            Ok(None) => {}
            Err(()) => self.on_parse_error(now),
        }
    }

    /// The WebSocket `id` closed.
    pub fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if self.upgrade.as_ref().is_some_and(|u| u.ws.id == id) {
            if let Some(up) = self.upgrade.as_mut() {
                up.ws.closed = true;
            }
            self.abort_upgrade(UpgradeFailure::TransportClosed, None);
            return;
        }
        if let Current::WebSocket(ws) = &mut self.current {
            if ws.id == id && !ws.closed {
                ws.closed = true;
                self.on_close(CloseReason::TransportClose);
            }
        }
    }

    /// The WebSocket `id` failed (a protocol error below Engine.IO).
    pub fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
        self.advance(now);
        if self.upgrade.as_ref().is_some_and(|u| u.ws.id == id) {
            self.abort_upgrade(UpgradeFailure::TransportClosed, None);
            return;
        }
        if matches!(&self.current, Current::WebSocket(ws) if ws.id == id && !ws.closed) {
            self.on_close(CloseReason::TransportError(TransportError::WebSocket));
        }
    }

    // ----- application commands -----------------------------------------

    /// Sends a message to the client.
    ///
    /// Fails once the session is closing or closed, or when
    /// [`ServerConfig::max_buffered_packets`] messages already wait.
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), SendError> {
        self.advance(now);
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if self.write_buffer.len() + self.transmits.len() >= self.config.max_buffered_packets {
            return Err(SendError::Full);
        }
        self.send_packet(message.into_packet());
        Ok(())
    }

    /// Closes the session as Node's `socket.close()`: once the buffer is
    /// flushed, the close packet goes to the pending GET (or the next GET,
    /// waiting up to [`ServerConfig::polling_close_timeout`]) or the
    /// WebSocket is closed. Reason [`CloseReason::ServerClose`].
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        if self.state != State::Open {
            return;
        }
        self.state = State::Closing;
        if !self.write_buffer.is_empty() {
            self.close_after_drain = true;
            return;
        }
        self.close_transport(CloseReason::ServerClose);
    }

    /// Ends the session at once (a server shutting down; Node's
    /// `socket.close(true)`): a pending GET gets the close packet, an
    /// incomplete POST is aborted, buffered packets are dropped. Reason
    /// [`CloseReason::ForcedClose`]. Unlike Node, this also ends a session
    /// whose polling close already waits for a GET.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        if self.is_closed() {
            return;
        }
        self.write_buffer.clear();
        if let Current::Polling(p) = &mut self.current {
            p.discarded = true;
            if p.closing {
                p.should_close = None;
                self.on_close(CloseReason::ForcedClose);
                return;
            }
        }
        self.close_transport(CloseReason::ForcedClose);
    }

    // ----- internals -----------------------------------------------------

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        while !self.is_closed() {
            let Some((at, timer)) = self.timers.next() else {
                break;
            };
            if at > now {
                break;
            }
            self.fire(timer, at);
        }
    }

    fn fire(&mut self, timer: Timer, at: Instant) {
        match timer {
            Timer::Ping => {
                self.timers.ping = None;
                self.ping_refreshed = false;
                self.send_packet(Packet::new(PacketType::Ping));
                self.timers.ping_timeout = later(at, self.config.ping_timeout);
            }
            Timer::PingTimeout => {
                self.timers.ping_timeout = None;
                self.on_close(CloseReason::PingTimeout);
            }
            Timer::UpgradeTimeout => {
                self.timers.upgrade_timeout = None;
                self.abort_upgrade(UpgradeFailure::Timeout, None);
            }
            Timer::Noop => {
                let interval = self
                    .config
                    .upgrade_noop_interval
                    .max(Duration::from_millis(1));
                self.timers.noop = later(at, interval);
                if matches!(&self.current, Current::Polling(p) if p.get.is_some()) {
                    self.transport_send(vec![Packet::new(PacketType::Noop)], false);
                }
            }
            Timer::CloseTimeout => {
                self.timers.close_timeout = None;
                if let Current::Polling(p) = &mut self.current {
                    if let Some(reason) = p.should_close.take() {
                        self.on_close(reason);
                    }
                }
            }
        }
    }

    fn pending(&self, id: TransportId, head: &RequestHead<'_>, cookie: Option<String>) -> Pending {
        let xss = head
            .user_agent
            .is_some_and(|ua| ua.contains(";MSIE") || ua.contains("Trident/"));
        let compression = self
            .config
            .compression_threshold
            .and(head.accept_encoding)
            .and_then(negotiate_compression);
        Pending {
            id,
            cors: cors_headers(&self.config, head),
            xss,
            compression,
            cookie,
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_queued_events {
            if !self.is_closed() {
                self.on_close(CloseReason::TransportError(TransportError::EventQueueFull));
            }
            return;
        }
        self.events.push_back(event);
    }

    fn send_packet(&mut self, packet: Packet<'static>) {
        if self.state != State::Open {
            return;
        }
        self.write_buffer.push_back(packet);
        self.flush();
    }

    fn writable(&self) -> bool {
        match &self.current {
            Current::Polling(p) => p.get.is_some(),
            Current::WebSocket(ws) => !ws.closed,
        }
    }

    fn flush(&mut self) {
        if self.is_closed() || !self.writable() || self.write_buffer.is_empty() {
            return;
        }
        let count = match &self.current {
            Current::Polling(_) if self.config.bounded_polling_flush => {
                writable_prefix(&self.write_buffer, Some(self.config.max_payload as u64))
            }
            _ => self.write_buffer.len(),
        };
        let packets: Vec<Packet<'static>> = self.write_buffer.drain(..count).collect();
        self.transport_send(packets, true);
        if self.write_buffer.is_empty() && self.close_after_drain && self.state == State::Closing {
            self.close_after_drain = false;
            self.close_transport(CloseReason::ServerClose);
        }
    }

    /// `transport.send(packets)`: polling answers the pending GET (with the
    /// close packet appended when a close waits for it), a WebSocket gets
    /// one frame per packet.
    fn transport_send(&mut self, mut packets: Vec<Packet<'static>>, compressible: bool) {
        let protocol = self.protocol;
        let threshold = self.config.compression_threshold;
        match &mut self.current {
            Current::Polling(p) => {
                let Some(get) = p.get.take() else {
                    return;
                };
                let closing = p.should_close.take();
                if closing.is_some() {
                    packets.push(Packet::new(PacketType::Close));
                }
                let (body, binary) = encode_polling(protocol, p, &packets);
                let response = poll_response(get, body, binary, compressible, threshold);
                self.transmits.push_back(Transmit::Http {
                    id: response.0,
                    response: response.1,
                });
                if let Some(reason) = closing {
                    self.timers.close_timeout = None;
                    self.on_close(reason);
                }
            }
            Current::WebSocket(ws) => {
                if ws.closed {
                    return;
                }
                for packet in &packets {
                    let frame = encode_frame(protocol, packet, ws.supports_binary);
                    self.transmits
                        .push_back(Transmit::Frame { id: ws.id, frame });
                }
            }
        }
    }

    fn on_poll_request(&mut self, pending: Pending) {
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        if p.get.is_some() {
            let response = HttpResponse::empty(400, pending.cors);
            self.on_close(CloseReason::TransportError(TransportError::PollOverlap));
            self.transmits.push_back(Transmit::Http {
                id: pending.id,
                response,
            });
            return;
        }
        p.get = Some(pending);
        self.flush();
        if let Current::Polling(p) = &self.current {
            if p.get.is_some() && p.should_close.is_some() {
                self.transport_send(vec![Packet::new(PacketType::Noop)], false);
            }
        }
    }

    fn on_data_request(&mut self, id: TransportId, head: &RequestHead<'_>) {
        let protocol = self.protocol;
        let pending = self.pending(id, head, None);
        let Current::Polling(p) = &mut self.current else {
            return;
        };
        if p.post.is_some() {
            self.on_close(CloseReason::TransportError(TransportError::DataOverlap));
            self.transmits.push_back(Transmit::Http {
                id,
                response: HttpResponse::empty(400, pending.cors),
            });
            return;
        }
        let binary = head.content_type == Some(OCTET_STREAM);
        if binary && protocol == Protocol::V4 {
            self.on_close(CloseReason::TransportError(TransportError::InvalidContent));
            self.transmits.push_back(Transmit::Http {
                id,
                response: HttpResponse::empty(400, pending.cors),
            });
            return;
        }
        p.post = Some(PendingPost {
            pending,
            binary,
            body: Vec::new(),
        });
    }

    /// Decodes a POST body and processes its packets in order; false when
    /// the body did not decode (a protocol error, which closed the session).
    fn on_data(&mut self, body: &[u8], binary: bool, jsonp: bool) -> bool {
        let profile = self.config.profile;
        let limits = self.limits;
        // `Ok(None)`: a v3 packet of no known type, which engine.io ignores.
        let mut packets: Vec<Result<Option<Packet<'static>>, ()>> = Vec::new();
        let collect = |it: &mut dyn Iterator<
            Item = Result<Option<Packet<'_>>, crate::engine::DecodeError>,
        >,
                       out: &mut Vec<Result<Option<Packet<'static>>, ()>>| {
            for item in it {
                match item {
                    Ok(p) => out.push(Ok(p.map(Packet::into_owned))),
                    Err(_) => {
                        out.push(Err(()));
                        break;
                    }
                }
            }
        };
        if binary {
            // v3 only: v4 refused octet-stream bodies already.
            collect(
                &mut v3::decode_binary_payload(body, profile, &limits).map(known_v3),
                &mut packets,
            );
        } else {
            match v4::body_text(body, profile) {
                Err(_) => packets.push(Err(())),
                Ok(text) => {
                    let payload = if jsonp {
                        match v3::jsonp::decode_request_body(&text) {
                            Some(p) => p.into_owned(),
                            // Node ignores a JSONP body without a `d` field.
                            None => return true,
                        }
                    } else {
                        text.into_owned()
                    };
                    match self.protocol {
                        Protocol::V4 => collect(
                            &mut v4::decode_payload(&payload, profile, &limits).map(known_v4),
                            &mut packets,
                        ),
                        Protocol::V3 => collect(
                            &mut v3::decode_payload(&payload, profile, &limits).map(known_v3),
                            &mut packets,
                        ),
                    }
                }
            }
        }
        let now = self.now;
        for item in packets {
            if self.is_closed() {
                break;
            }
            match item {
                Ok(Some(packet)) if packet.kind == PacketType::Close => {
                    self.on_polling_client_close();
                    break;
                }
                Ok(Some(packet)) => self.on_packet(now, packet),
                Ok(None) => {}
                Err(()) => {
                    self.on_parse_error(now);
                    return false;
                }
            }
        }
        true
    }

    /// The client sent `1` over polling: release the pending GET with a noop,
    /// then the transport closes.
    fn on_polling_client_close(&mut self) {
        if matches!(&self.current, Current::Polling(p) if p.get.is_some()) {
            self.transport_send(vec![Packet::new(PacketType::Noop)], false);
        }
        if let Current::Polling(p) = &mut self.current {
            p.closing = true;
        }
        self.on_close(CloseReason::ClientClose);
    }

    fn on_parse_error(&mut self, now: Instant) {
        if self.state != State::Open {
            return;
        }
        self.refresh_ping_timeout(now, None);
        self.on_close(CloseReason::ParseError);
    }

    /// `hasRefreshedPingTimeout`: in v4, the first packet other than a pong
    /// received while a pong is awaited restarts the ping timeout once.
    fn refresh_ping_timeout(&mut self, now: Instant, kind: Option<PacketType>) {
        if self.protocol == Protocol::V4
            && self.timers.ping_timeout.is_some()
            && !self.ping_refreshed
            && kind != Some(PacketType::Pong)
        {
            self.timers.ping_timeout = later(now, self.config.ping_timeout);
            self.ping_refreshed = true;
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet<'static>) {
        if self.state != State::Open {
            return;
        }
        self.refresh_ping_timeout(now, Some(packet.kind));
        match packet.kind {
            PacketType::Ping => {
                if self.protocol == Protocol::V4 {
                    self.on_close(CloseReason::TransportError(
                        TransportError::InvalidHeartbeatDirection,
                    ));
                    return;
                }
                if self.timers.ping_timeout.is_some() {
                    self.timers.ping_timeout = later(
                        now,
                        self.config
                            .ping_interval
                            .saturating_add(self.config.ping_timeout),
                    );
                }
                let pong = match packet.data {
                    Data::Text(probe) if !self.config.habits.drop_v3_ping_data => {
                        Packet::text(PacketType::Pong, probe)
                    }
                    _ => Packet::new(PacketType::Pong),
                };
                self.send_packet(pong);
                self.push_event(Event::Heartbeat);
            }
            PacketType::Pong => {
                if self.protocol == Protocol::V3 {
                    self.on_close(CloseReason::TransportError(
                        TransportError::InvalidHeartbeatDirection,
                    ));
                    return;
                }
                self.timers.ping_timeout = None;
                self.timers.ping = later(now, self.config.ping_interval);
                self.push_event(Event::Heartbeat);
            }
            PacketType::Message => {
                let message = match packet.data {
                    Data::None => Message::Empty,
                    Data::Text(t) => Message::Text(t.into_owned()),
                    Data::Binary(b) => Message::Binary(b.into_owned()),
                };
                self.push_event(Event::Message(message));
            }
            // Only a WebSocket gets here with `1`: polling closes before.
            PacketType::Close if !self.config.habits.ignore_close_over_websocket => {
                self.close_transport(CloseReason::ClientClose);
            }
            PacketType::Open | PacketType::Close | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    fn on_upgrade_packet(&mut self, now: Instant, packet: Result<Packet<'static>, ()>) {
        let Some(up) = self.upgrade.as_mut() else {
            return;
        };
        match packet {
            Ok(p) if p.kind == PacketType::Ping && p.is_probe() => {
                up.probed = true;
                let id = up.ws.id;
                let frame = encode_frame(
                    self.protocol,
                    &Packet::text(PacketType::Pong, "probe"),
                    up.ws.supports_binary,
                );
                self.transmits.push_back(Transmit::Frame { id, frame });
                self.push_event(Event::Upgrading { transport: id });
                self.timers.noop = later(now, self.config.upgrade_noop_interval);
            }
            Ok(p)
                if p.kind == PacketType::Upgrade
                    && (up.probed || self.config.habits.upgrade_without_probe) =>
            {
                self.complete_upgrade()
            }
            _ => self.abort_upgrade(UpgradeFailure::UnexpectedPacket, None),
        }
    }

    fn complete_upgrade(&mut self) {
        let Some(up) = self.upgrade.take() else {
            return;
        };
        self.timers.upgrade_timeout = None;
        self.timers.noop = None;
        if let Current::Polling(p) = &mut self.current {
            p.discarded = true;
        }
        self.upgraded = true;
        self.clear_transport();
        // A POST that arrived after a close started is still receiving its
        // body; the polling state goes away here, so abort it rather than
        // leave its request unanswered forever.
        if let Current::Polling(p) = &mut self.current {
            if let Some(post) = p.post.take() {
                self.transmits.push_back(Transmit::HttpAbort {
                    id: post.pending.id,
                });
            }
        }
        let id = up.ws.id;
        self.current = Current::WebSocket(up.ws);
        self.push_event(Event::Upgraded { transport: id });
        self.flush();
        if self.state == State::Closing {
            self.close_after_drain = false;
            self.close_transport(CloseReason::ServerClose);
        }
    }

    fn abort_upgrade(&mut self, reason: UpgradeFailure, code: Option<u16>) {
        let Some(up) = self.upgrade.take() else {
            return;
        };
        self.timers.upgrade_timeout = None;
        self.timers.noop = None;
        if !up.ws.closed {
            self.transmits
                .push_back(Transmit::CloseWebSocket { id: up.ws.id, code });
        }
        self.push_event(Event::UpgradeFailed {
            transport: up.ws.id,
            reason,
        });
    }

    /// `clearTransport`: close the current transport and forget the ping timeout.
    fn clear_transport(&mut self) {
        match &mut self.current {
            Current::Polling(p) => {
                if !p.closing {
                    p.closing = true;
                    if let Some(post) = p.post.take() {
                        self.transmits.push_back(Transmit::HttpAbort {
                            id: post.pending.id,
                        });
                    }
                    if p.get.is_some() {
                        p.should_close = None;
                        self.transport_send(vec![Packet::new(PacketType::Close)], false);
                    }
                }
            }
            Current::WebSocket(ws) => {
                if !ws.closed {
                    ws.closed = true;
                    self.transmits.push_back(Transmit::CloseWebSocket {
                        id: ws.id,
                        code: ws.close_code,
                    });
                }
            }
        }
        if !(self.upgraded && !self.config.habits.clear_heartbeat_on_upgrade && !self.is_closed()) {
            self.timers.ping_timeout = None;
        }
    }

    /// `closeTransport`: the orderly close of `close()`.
    fn close_transport(&mut self, reason: CloseReason) {
        match &mut self.current {
            Current::Polling(p) => {
                if p.closing {
                    return;
                }
                p.closing = true;
                if let Some(post) = p.post.take() {
                    self.transmits.push_back(Transmit::HttpAbort {
                        id: post.pending.id,
                    });
                }
                if p.get.is_some() {
                    self.transport_send(vec![Packet::new(PacketType::Close)], false);
                    self.on_close(reason);
                } else if p.discarded {
                    self.on_close(reason);
                } else {
                    p.should_close = Some(reason);
                    self.timers.close_timeout = later(self.now, self.config.polling_close_timeout);
                }
            }
            Current::WebSocket(_) => {
                self.clear_transport();
                self.on_close(reason);
            }
        }
    }

    fn on_close(&mut self, reason: CloseReason) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed(reason);
        self.write_buffer.clear();
        self.clear_transport();
        self.timers = Timers::default();
        if let Some(up) = self.upgrade.take() {
            if !up.ws.closed {
                self.transmits.push_back(Transmit::CloseWebSocket {
                    id: up.ws.id,
                    code: None,
                });
            }
        }
        // The queue cap does not apply to the final event.
        self.events.push_back(Event::Closed(reason));
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A frame's packet; `Ok(None)` for a v3 packet of no known type, which
/// engine.io ignores.
pub(crate) fn decode_frame(
    protocol: Protocol,
    frame: &Frame,
    profile: Profile,
) -> Result<Option<Packet<'_>>, ()> {
    let decoded = match (protocol, frame) {
        (Protocol::V4, Frame::Text(t)) => known_v4(v4::decode_text(t, profile)),
        (Protocol::V4, Frame::Binary(b)) => Ok(Some(v4::decode_binary(b))),
        (Protocol::V3, Frame::Text(t)) => known_v3(v3::decode_text(t, profile)),
        (Protocol::V3, Frame::Binary(b)) => known_v3(v3::decode_binary(b, profile)),
    };
    decoded.map_err(|_| ())
}

pub(crate) fn encode_frame(
    protocol: Protocol,
    packet: &Packet<'_>,
    supports_binary: bool,
) -> Frame {
    let mut out = Vec::new();
    let kind = match protocol {
        Protocol::V4 => v4::encode(packet, supports_binary, &mut out),
        Protocol::V3 => v3::encode(packet, supports_binary, &mut out),
    };
    match kind {
        FrameKind::Binary => Frame::Binary(out),
        FrameKind::Text => Frame::Text(
            String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// The body of a polling response, and whether it is binary.
fn encode_polling(protocol: Protocol, p: &Polling, packets: &[Packet<'static>]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    let has_binary = packets.iter().any(|p| matches!(p.data, Data::Binary(_)));
    let binary = match protocol {
        Protocol::V4 => {
            v4::encode_payload(packets, &mut body);
            false
        }
        Protocol::V3 if p.supports_binary && has_binary && p.jsonp.is_none() => {
            v3::encode_binary_payload(packets, &mut body);
            true
        }
        Protocol::V3 => {
            v3::encode_payload(packets, &mut body);
            false
        }
    };
    if let Some(j) = &p.jsonp {
        let text = String::from_utf8_lossy(&body).into_owned();
        let mut wrapped = Vec::new();
        v3::jsonp::encode_response(j, &text, &mut wrapped);
        return (wrapped, false);
    }
    (body, binary)
}

fn poll_response(
    get: Pending,
    body: Vec<u8>,
    binary: bool,
    compressible: bool,
    threshold: Option<usize>,
) -> (TransportId, HttpResponse) {
    let mut headers = get.cors;
    headers.push((
        "Content-Type",
        if binary {
            OCTET_STREAM
        } else {
            TEXT_PLAIN_UTF8
        }
        .to_owned(),
    ));
    let compression = get
        .compression
        .filter(|_| compressible && threshold.is_some_and(|t| body.len() >= t));
    match compression {
        Some(c) => headers.push(("Content-Encoding", c.token().to_owned())),
        None => headers.push(("Content-Length", body.len().to_string())),
    }
    if get.xss {
        headers.push(("X-XSS-Protection", "0".to_owned()));
    }
    headers.push(("cache-control", "no-store".to_owned()));
    if let Some(cookie) = get.cookie {
        headers.push(("Set-Cookie", cookie));
    }
    (
        get.id,
        HttpResponse {
            status: 200,
            headers,
            body,
            compression,
        },
    )
}

fn error_response(code: ErrorCode, config: &ServerConfig, head: &RequestHead<'_>) -> HttpResponse {
    let mut headers = cors_headers(config, head);
    headers.push(("Content-Type", APPLICATION_JSON.to_owned()));
    let body = serde_json::json!({"code": code.code(), "message": code.message()});
    HttpResponse {
        status: code.status(),
        headers,
        body: body.to_string().into_bytes(),
        compression: None,
    }
}
