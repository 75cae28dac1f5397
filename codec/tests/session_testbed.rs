//! A simulated network wiring client machines to server machines in
//! memory, on virtual time (quinn-proto's `Pair`, for Engine.IO and
//! Socket.IO): whole scenarios in milliseconds of real time, then proptest
//! state-machine runs over random interleavings of client actions, server
//! actions, dropped messages and clock jumps, checking the session
//! invariants after every step.
//!
//! The network delivers HTTP requests and responses with a random latency
//! (so concurrent requests may overtake each other) and keeps each
//! WebSocket direction in order, as TCP does.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use siospec_codec::session::engine::{
    self, ClientCloseReason, ClientConfig, ClientEvent as EioClientEvent, ClientSession,
    ClientTransmit, CloseReason, Delivery as RejectDelivery, Endpoint, Event as EioEvent,
    HttpMethod, Protocol, ServerConfig, Transmit, Transports,
};
use siospec_codec::session::socket::{
    Backoff, ClientConnection, ClientDisconnectReason, ClientEvent as SioClientEvent,
    ClientOptions, ServerEvent, ServerOptions, CONNECT_WITHOUT_SID,
};
use siospec_codec::session::{Frame, Message, RequestHead, TransportId};
use siospec_codec::socket::binary::Value;
use support::network::{Arrival, Hosted, Mode, Output, Rng, Servers};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ----- the network -----------------------------------------------------------

#[derive(Debug, Clone)]
enum Delivery {
    Request {
        id: TransportId,
        method: HttpMethod,
        uri: String,
        content_type: Option<&'static str>,
        body: Vec<u8>,
    },
    RequestClosed(TransportId),
    WsOpen {
        id: TransportId,
        uri: String,
    },
    ToServerFrame(TransportId, Frame),
    ToServerWsClosed(TransportId),
    Response {
        id: TransportId,
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    RequestFailed(TransportId),
    WsOpened(TransportId),
    ToClientFrame(TransportId, Frame),
    ToClientWsClosed(TransportId),
}

impl Delivery {
    /// The WebSocket channel this delivery travels on, if any.
    fn channel(&self) -> Option<(bool, TransportId)> {
        match self {
            Delivery::WsOpen { id, .. }
            | Delivery::ToServerFrame(id, _)
            | Delivery::ToServerWsClosed(id) => Some((true, *id)),
            Delivery::WsOpened(id)
            | Delivery::ToClientFrame(id, _)
            | Delivery::ToClientWsClosed(id) => Some((false, *id)),
            _ => None,
        }
    }
}

enum ClientMachine {
    Engine(Box<ClientSession>),
    Socket(Box<ClientConnection>),
}

macro_rules! client_call {
    ($m:expr, $method:ident ( $($arg:expr),* )) => {
        match $m {
            ClientMachine::Engine(c) => c.$method($($arg),*),
            ClientMachine::Socket(c) => c.$method($($arg),*),
        }
    };
}

/// What the test observed, in order, with the virtual time.
#[derive(Debug, Clone)]
enum Seen {
    Server(String, EioEvent),
    ServerSocket(String, ServerEvent),
    Client(EioClientEvent),
    ClientSocket(SioClientEvent),
    /// A client request or WebSocket reached the server.
    ServerGot(String),
}

struct Net {
    t0: Instant,
    now: Instant,
    rng: Rng,
    latency: (u64, u64),
    drop_permille: u64,
    server: Servers,
    queue: BTreeMap<(Instant, u64), Delivery>,
    channel_last: BTreeMap<(bool, TransportId), Instant>,
    seq: u64,
    client: ClientMachine,
    seen: Vec<(Instant, Seen)>,
    /// The server's `poll_timeout` before the step under way, per session.
    deadlines: BTreeMap<String, Option<Instant>>,
    client_deadline: Option<Instant>,
    /// Set while a clock jump is processed (timers then fire inside one call).
    jumping: bool,
    violations: Vec<String>,
    /// Node's heartbeat rules, tracked from the frames of WebSocket-only
    /// sessions: the server's ping-timeout deadline (and whether it was
    /// refreshed once), and the client's liveness deadline.
    /// `None` while unknown (a ping sent inside a clock jump, at an instant the
    /// bed cannot see).
    server_heartbeat: BTreeMap<String, Option<(Option<Instant>, bool)>>,
    client_heartbeat: BTreeMap<TransportId, Instant>,
    /// The client runs WebSocket-only, so all its pings are seen as frames.
    track_client: bool,
    server_acks: AckLedger,
    client_acks: AckLedger,
}

/// Every ack id allocated and not yet resolved, per (session, namespace).
#[derive(Default)]
struct AckLedger {
    outstanding: BTreeMap<(String, String), BTreeSet<u64>>,
    resolved: u64,
}

impl AckLedger {
    fn allocate(&mut self, who: &str, ns: &str, id: u64) -> Result<(), String> {
        let set = self
            .outstanding
            .entry((who.to_owned(), ns.to_owned()))
            .or_default();
        if !set.insert(id) {
            return Err(format!("ack id {id} on {ns} allocated while still pending"));
        }
        Ok(())
    }

    fn resolve(&mut self, who: &str, ns: &str, id: u64) -> Result<(), String> {
        let set = self
            .outstanding
            .entry((who.to_owned(), ns.to_owned()))
            .or_default();
        if !set.remove(&id) {
            return Err(format!("ack {id} on {ns} resolved twice or never asked"));
        }
        self.resolved += 1;
        Ok(())
    }

    fn forget(&mut self, who: &str, ns: &str) {
        self.outstanding.remove(&(who.to_owned(), ns.to_owned()));
    }
}

impl Net {
    fn new(
        seed: u64,
        config: ServerConfig,
        mode: Mode,
        client: impl FnOnce(Instant) -> ClientMachine,
    ) -> Self {
        let t0 = Instant::now();
        let mut net = Net {
            t0,
            now: t0,
            rng: Rng::new(seed),
            latency: (1, 5),
            drop_permille: 0,
            server: Servers::new(config, mode, ServerOptions::default()),
            queue: BTreeMap::new(),
            channel_last: BTreeMap::new(),
            seq: 0,
            client: client(t0),
            seen: Vec::new(),
            deadlines: BTreeMap::new(),
            client_deadline: None,
            jumping: false,
            violations: Vec::new(),
            server_heartbeat: BTreeMap::new(),
            client_heartbeat: BTreeMap::new(),
            track_client: false,
            server_acks: AckLedger::default(),
            client_acks: AckLedger::default(),
        };
        net.pump_client();
        net
    }

    fn engine_client(seed: u64, server: ServerConfig, client: ClientConfig) -> Self {
        let track = !client.transports.polling;
        let mut net = Net::new(seed, server, Mode::Engine, |t| {
            ClientMachine::Engine(Box::new(ClientSession::new(t, client)))
        });
        net.track_client = track;
        net
    }

    fn socket_client(seed: u64, server: ServerConfig, client: ClientOptions) -> Self {
        let track = !client.engine.transports.polling;
        let mut net = Net::new(seed, server, Mode::Socket, |t| {
            ClientMachine::Socket(Box::new(ClientConnection::new(t, client)))
        });
        net.track_client = track;
        net
    }

    fn schedule(&mut self, d: Delivery) {
        let lat = self.latency.0 + self.rng.below(self.latency.1 - self.latency.0 + 1);
        let mut at = self.now + ms(lat);
        if let Some(ch) = d.channel() {
            if let Some(last) = self.channel_last.get(&ch) {
                at = at.max(*last);
            }
            self.channel_last.insert(ch, at);
        }
        if self.drop_permille > 0 && self.rng.below(1000) < self.drop_permille {
            // lost: a frame, request or answer that never arrives
            return;
        }
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    // ----- driving --------------------------------------------------------

    fn next_time(&self) -> Option<Instant> {
        let q = self.queue.keys().next().map(|k| k.0);
        let c = client_call!(&self.client, poll_timeout());
        let s = self.server.next_deadline();
        [q, c, s].into_iter().flatten().min()
    }

    fn run_until(&mut self, target: Instant) {
        for _ in 0..10_000_000 {
            let Some(next) = self.next_time().filter(|t| *t <= target) else {
                break;
            };
            if next > self.now {
                self.now = next;
            }
            self.step();
        }
        if target > self.now {
            self.now = target;
        }
    }

    fn run_for(&mut self, d: u64) {
        let target = self.now + ms(d);
        self.run_until(target);
    }

    /// Runs until `done` holds or `max` passed; returns whether it held.
    fn run_while_not(&mut self, max: u64, mut done: impl FnMut(&Net) -> bool) -> bool {
        let deadline = self.now + ms(max);
        loop {
            if done(self) {
                return true;
            }
            match self.next_time() {
                Some(t) if t <= deadline => {
                    if t > self.now {
                        self.now = t;
                    }
                    self.step();
                }
                _ => {
                    self.now = self.now.max(deadline);
                    return done(self);
                }
            }
        }
    }

    /// The adapter stalls: the next call comes `d` later, whatever was due.
    fn jump(&mut self, d: u64) {
        self.now += ms(d);
        self.jumping = true;
        self.client_timeout();
        let sids: Vec<String> = self.server.sessions.keys().cloned().collect();
        for sid in sids {
            self.server_timeout(&sid);
        }
        self.jumping = false;
    }

    fn step(&mut self) {
        let now = self.now;
        if client_call!(&self.client, poll_timeout()).is_some_and(|t| t <= now) {
            self.client_timeout();
        }
        for sid in self.server.due(now) {
            self.server_timeout(&sid);
        }
        let first = self.queue.keys().next().copied().filter(|k| k.0 <= now);
        if let Some(key) = first {
            if let Some(d) = self.queue.remove(&key) {
                self.deliver(d);
            }
        }
    }

    fn client_timeout(&mut self) {
        self.client_deadline = client_call!(&self.client, poll_timeout());
        let now = self.now;
        client_call!(&mut self.client, handle_timeout(now));
        self.pump_client();
    }

    fn server_timeout(&mut self, sid: &str) {
        let now = self.now;
        if let Some(h) = self.server.sessions.get_mut(sid) {
            let m = h.machine_mut();
            self.deadlines.insert(sid.to_owned(), m.poll_timeout());
            m.handle_timeout(now);
        }
        self.pump_server(sid);
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        match d {
            Delivery::Request {
                id,
                method,
                uri,
                content_type,
                body,
            } => self.server_request(id, method, &uri, content_type, &body),
            Delivery::RequestClosed(id) => {
                let sid = self.server.sessions.keys().cloned().collect::<Vec<_>>();
                for s in sid {
                    if let Some(h) = self.server.sessions.get_mut(&s) {
                        h.machine_mut().handle_request_closed(now, id);
                    }
                    self.pump_server(&s);
                }
            }
            Delivery::WsOpen { id, uri } => self.server_websocket(id, &uri),
            Delivery::ToServerFrame(id, frame) => {
                if let Some(sid) = self.server.ws_routes.get(&id).cloned() {
                    let timeout = self.server.endpoint.config().ping_timeout;
                    if let Some(Some(hb)) = self.server_heartbeat.get_mut(&sid) {
                        match (frame.as_text(), *hb) {
                            (Some("3"), _) => *hb = (None, false),
                            (_, (Some(_), false)) => *hb = (Some(now + timeout), true),
                            _ => {}
                        }
                    }
                    if let Some(h) = self.server.sessions.get_mut(&sid) {
                        let m = h.machine_mut();
                        self.deadlines.insert(sid.clone(), m.poll_timeout());
                        m.handle_frame(now, id, frame);
                    }
                    self.pump_server(&sid);
                }
            }
            Delivery::ToServerWsClosed(id) => {
                if let Some(sid) = self.server.ws_routes.remove(&id) {
                    if let Some(h) = self.server.sessions.get_mut(&sid) {
                        h.machine_mut().handle_websocket_closed(now, id);
                    }
                    self.pump_server(&sid);
                }
            }
            Delivery::Response {
                id,
                status,
                content_type,
                body,
            } => {
                self.client_deadline = client_call!(&self.client, poll_timeout());
                client_call!(
                    &mut self.client,
                    handle_response(now, id, status, content_type.as_deref(), &body)
                );
                self.pump_client();
            }
            Delivery::RequestFailed(id) => {
                client_call!(&mut self.client, handle_request_failed(now, id));
                self.pump_client();
            }
            Delivery::WsOpened(id) => {
                client_call!(&mut self.client, handle_websocket_open(now, id));
                self.pump_client();
            }
            Delivery::ToClientFrame(id, frame) => {
                let config = self.server.endpoint.config();
                if self.track_client
                    && frame
                        .as_text()
                        .is_some_and(|t| t == "2" || t.starts_with("0{"))
                {
                    self.client_heartbeat
                        .insert(id, now + config.ping_interval + config.ping_timeout);
                }
                self.client_deadline = client_call!(&self.client, poll_timeout());
                client_call!(&mut self.client, handle_frame(now, id, frame));
                self.pump_client();
            }
            Delivery::ToClientWsClosed(id) => {
                client_call!(&mut self.client, handle_websocket_closed(now, id));
                self.pump_client();
            }
        }
    }

    fn reject(&mut self, id: TransportId, r: engine::Rejection, websocket: bool) {
        if websocket {
            if r.delivery != RejectDelivery::BeforeUpgrade {
                self.schedule(Delivery::WsOpened(id));
            }
            self.schedule(Delivery::ToClientWsClosed(id));
        } else if let Some(resp) = r.response {
            self.schedule(Delivery::Response {
                id,
                status: resp.status,
                content_type: resp.header("content-type").map(str::to_owned),
                body: resp.body,
            });
        }
    }

    /// A session opened: Node's heartbeat rules are tracked for
    /// WebSocket-only ones.
    fn opened(&mut self, sid: &str, websocket: bool) {
        if websocket {
            self.server_heartbeat
                .insert(sid.to_owned(), Some((None, false)));
        }
        self.pump_server(sid);
    }

    fn server_request(
        &mut self,
        id: TransportId,
        method: HttpMethod,
        uri: &str,
        content_type: Option<&'static str>,
        body: &[u8],
    ) {
        let query = uri.split_once('?').map_or("", |(_, q)| q).to_owned();
        self.seen.push((
            self.now,
            Seen::ServerGot(format!("{} {query}", method.as_str())),
        ));
        let mut head = RequestHead::new(method.as_str(), &query);
        head.content_type = content_type;
        let body = (method == HttpMethod::Post).then_some(body);
        match self.server.arrive(self.now, id, &head, body, &mut self.rng) {
            Arrival::Preflight(_) => {}
            Arrival::Rejected(r) => self.reject(id, r, false),
            Arrival::Opened(sid) => self.opened(&sid, false),
            Arrival::Session { sid, deadline } => {
                self.deadlines.insert(sid.clone(), deadline);
                self.pump_server(&sid);
            }
        }
    }

    fn server_websocket(&mut self, id: TransportId, uri: &str) {
        let query = uri.split_once('?').map_or("", |(_, q)| q).to_owned();
        self.seen
            .push((self.now, Seen::ServerGot(format!("WS {query}"))));
        let head = RequestHead::websocket(&query);
        match self.server.arrive(self.now, id, &head, None, &mut self.rng) {
            Arrival::Preflight(_) => {}
            Arrival::Rejected(r) => self.reject(id, r, true),
            Arrival::Opened(sid) => {
                self.schedule(Delivery::WsOpened(id));
                self.opened(&sid, true);
            }
            Arrival::Session { sid, .. } => {
                self.schedule(Delivery::WsOpened(id));
                self.pump_server(&sid);
            }
        }
    }

    // ----- pumping ----------------------------------------------------------

    fn pump_server(&mut self, sid: &str) {
        for (from, output) in self.server.pump(self.now, sid) {
            match output {
                Output::Transmit(t) => self.server_transmit(&from, t),
                Output::Engine(e) => self.observe(Seen::Server(from, e)),
                Output::Socket(e) => self.observe(Seen::ServerSocket(from, e)),
            }
        }
        self.check_server(sid);
        for t in self.server.sweep(sid) {
            self.server_transmit(sid, t);
        }
    }

    fn server_transmit(&mut self, sid: &str, t: Transmit) {
        match t {
            Transmit::Http { id, response } => self.schedule(Delivery::Response {
                id,
                status: response.status,
                content_type: response.header("content-type").map(str::to_owned),
                body: response.body,
            }),
            Transmit::HttpAbort { id } => self.schedule(Delivery::RequestFailed(id)),
            Transmit::Frame { id, frame } => {
                if frame.as_text() == Some("2") {
                    let timeout = self.server.endpoint.config().ping_timeout;
                    let jumping = self.jumping;
                    if let Some(hb) = self.server_heartbeat.get_mut(sid) {
                        *hb = (!jumping).then_some((Some(self.now + timeout), false));
                    }
                }
                self.schedule(Delivery::ToClientFrame(id, frame))
            }
            Transmit::CloseWebSocket { id, .. } => {
                self.schedule(Delivery::ToClientWsClosed(id));
            }
        }
    }

    fn check_server(&mut self, sid: &str) {
        let now = self.now;
        let Some(m) = self.server.sessions.get(sid).map(Hosted::machine) else {
            return;
        };
        let e = m.engine();
        // A timer may be due at exactly `now` (a zero duration set by this
        // call); one in the past was missed.
        if let Some(t) = m.poll_timeout() {
            if t < now {
                self.violations.push(format!(
                    "{sid}: a timer due at {t:?} is still pending at {now:?}"
                ));
            }
        }
        if e.buffered() > e.config().max_buffered_packets {
            self.violations
                .push(format!("{sid}: write buffer past its bound"));
        }
    }

    fn pump_client(&mut self) {
        for _ in 0..1000 {
            let mut out = Vec::new();
            while let Some(t) = client_call!(&mut self.client, poll_transmit()) {
                out.push(t);
            }
            for t in out {
                match t {
                    ClientTransmit::Http(r) => self.schedule(Delivery::Request {
                        id: r.id,
                        method: r.method,
                        uri: r.uri,
                        content_type: r.content_type,
                        body: r.body,
                    }),
                    ClientTransmit::OpenWebSocket { id, uri } => {
                        self.schedule(Delivery::WsOpen { id, uri })
                    }
                    ClientTransmit::Frame { id, frame } => {
                        self.schedule(Delivery::ToServerFrame(id, frame))
                    }
                    ClientTransmit::CloseWebSocket { id } => {
                        self.schedule(Delivery::ToServerWsClosed(id))
                    }
                    ClientTransmit::Abort { id } => self.schedule(Delivery::RequestClosed(id)),
                }
            }
            let mut seen = Vec::new();
            match &mut self.client {
                ClientMachine::Engine(c) => {
                    while let Some(e) = c.poll_event() {
                        seen.push(Seen::Client(e));
                    }
                }
                ClientMachine::Socket(c) => {
                    while let Some(e) = c.poll_event() {
                        seen.push(Seen::ClientSocket(e));
                    }
                }
            }
            if seen.is_empty() {
                break;
            }
            for s in seen {
                self.observe(s);
            }
        }
        let now = self.now;
        if let Some(t) = client_call!(&self.client, poll_timeout()) {
            if t < now {
                self.violations.push(format!(
                    "client: a timer due at {t:?} is still pending at {now:?}"
                ));
            }
        }
        if let ClientMachine::Engine(c) = &self.client {
            if c.buffered() > c.config().max_buffered_packets {
                self.violations
                    .push("client: write buffer past its bound".to_owned());
            }
        }
    }

    /// Records an event and checks the invariants it touches.
    fn observe(&mut self, s: Seen) {
        let now = self.now;
        match &s {
            Seen::Server(sid, EioEvent::Closed(CloseReason::PingTimeout))
            | Seen::ServerSocket(sid, ServerEvent::Closed(CloseReason::PingTimeout)) => {
                if let Some(Some((node, _))) = self.server_heartbeat.get(sid) {
                    let ok = match node {
                        Some(d) if self.jumping => *d <= now,
                        Some(d) => *d == now,
                        None => false,
                    };
                    if !ok {
                        self.violations.push(format!(
                            "{sid}: ping timeout at {:?}, Node's rule says {:?}",
                            now - self.t0,
                            node.map(|d| d - self.t0)
                        ));
                    }
                }
                let expected = self.deadlines.get(sid).copied().flatten();
                if !self.jumping && expected != Some(now) {
                    self.violations.push(format!(
                        "{sid}: ping timeout at {:?}, its timer said {:?}",
                        now - self.t0,
                        expected.map(|e| e - self.t0)
                    ));
                }
            }
            Seen::Client(EioClientEvent::Closed(ClientCloseReason::PingTimeout))
            | Seen::ClientSocket(SioClientEvent::Closed {
                reason: ClientDisconnectReason::Engine(ClientCloseReason::PingTimeout),
            }) => {
                let node = self.client_heartbeat.last_key_value().map(|(_, d)| *d);
                if node.is_some_and(|d| if self.jumping { d > now } else { d != now }) {
                    self.violations.push(format!(
                        "client: ping timeout at {:?}, Node's rule says {:?}",
                        now - self.t0,
                        node.map(|e| e - self.t0)
                    ));
                }
                if !self.jumping && self.client_deadline != Some(now) {
                    self.violations.push(format!(
                        "client: ping timeout at {:?}, its timer said {:?}",
                        now - self.t0,
                        self.client_deadline.map(|e| e - self.t0)
                    ));
                }
            }
            Seen::ServerSocket(sid, ServerEvent::Ack { namespace, id, .. })
            | Seen::ServerSocket(sid, ServerEvent::AckTimeout { namespace, id }) => {
                if let Err(e) = self.server_acks.resolve(sid, namespace, *id) {
                    self.violations.push(format!("server {sid}: {e}"));
                }
            }
            Seen::ServerSocket(sid, ServerEvent::Disconnect { namespace, .. }) => {
                self.server_acks.forget(sid, namespace);
            }
            Seen::ClientSocket(SioClientEvent::Ack { namespace, id, .. })
            | Seen::ClientSocket(SioClientEvent::AckTimeout { namespace, id }) => {
                if let Err(e) = self.client_acks.resolve("client", namespace, *id) {
                    self.violations.push(format!("client: {e}"));
                }
            }
            // A refusal (the server's CONNECT_ERROR) drops the namespace and
            // its acks; a failed connection (the client's own message, no
            // payload) or a CONNECT reply without a sid leaves it waiting,
            // its acks still pending, as in socket.io-client.
            Seen::ClientSocket(SioClientEvent::ConnectError { namespace, error })
                if error.raw.is_empty()
                    || error.message.as_deref() == Some(CONNECT_WITHOUT_SID) => {}
            Seen::ClientSocket(SioClientEvent::ConnectError { namespace, .. })
            | Seen::ClientSocket(SioClientEvent::Disconnected {
                namespace,
                reason:
                    ClientDisconnectReason::IoServerDisconnect
                    | ClientDisconnectReason::IoClientDisconnect,
            }) => {
                self.client_acks.forget("client", namespace);
            }
            _ => {}
        }
        self.seen.push((now, s));
    }

    // ----- accessors for scenarios -------------------------------------------

    fn engine_client_mut(&mut self) -> &mut ClientSession {
        match &mut self.client {
            ClientMachine::Engine(c) => c,
            ClientMachine::Socket(_) => panic!("not an Engine.IO client"),
        }
    }

    fn socket_client_mut(&mut self) -> &mut ClientConnection {
        match &mut self.client {
            ClientMachine::Socket(c) => c,
            ClientMachine::Engine(_) => panic!("not a Socket.IO client"),
        }
    }

    fn client_send(&mut self, m: Message) {
        let now = self.now;
        let _ = self.engine_client_mut().send(now, m);
        self.pump_client();
    }

    fn client_emit_with_ack(&mut self, ns: &str, data: &Value) -> Option<u64> {
        let now = self.now;
        let r = self
            .socket_client_mut()
            .emit_with_ack(now, ns, data, Some(ms(5_000)))
            .ok();
        if let Some(id) = r {
            if let Err(e) = self.client_acks.allocate("client", ns, id) {
                self.violations.push(e);
            }
        }
        self.pump_client();
        r
    }

    fn only_session(&self) -> Option<&str> {
        self.server.sessions.keys().next().map(String::as_str)
    }

    fn server_do(&mut self, f: impl FnOnce(&mut Hosted, Instant)) {
        let now = self.now;
        if let Some(sid) = self.only_session().map(str::to_owned) {
            if let Some(m) = self.server.sessions.get_mut(&sid) {
                f(m, now);
            }
            self.pump_server(&sid);
        }
    }

    fn server_emit_with_ack(&mut self, ns: &str, data: &Value) {
        let now = self.now;
        let Some(sid) = self.only_session().map(str::to_owned) else {
            return;
        };
        let mut got = None;
        if let Some(Hosted::Socket(c, _)) = self.server.sessions.get_mut(&sid) {
            got = c.emit_with_ack(now, ns, data, Some(ms(5_000))).ok();
        }
        if let Some(id) = got {
            if let Err(e) = self.server_acks.allocate(&sid, ns, id) {
                self.violations.push(e);
            }
        }
        self.pump_server(&sid);
    }

    fn count(&self, f: impl Fn(&Seen) -> bool) -> usize {
        self.seen.iter().filter(|(_, s)| f(s)).count()
    }

    fn first_at(&self, f: impl Fn(&Seen) -> bool) -> Option<Instant> {
        self.seen.iter().find(|(_, s)| f(s)).map(|(t, _)| *t)
    }

    fn assert_clean(&self) {
        assert!(
            self.violations.is_empty(),
            "invariant violations: {:#?}",
            self.violations
        );
    }
}

fn text(s: &str) -> Message {
    Message::Text(s.to_owned())
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn server_msgs(net: &Net) -> Vec<Message> {
    net.seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::Server(_, EioEvent::Message(m)) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn client_msgs(net: &Net) -> Vec<Message> {
    net.seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::Client(EioClientEvent::Message(m)) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn suite_server() -> ServerConfig {
    ServerConfig::suite()
}

// ----- scenarios: Engine.IO ---------------------------------------------------

#[test]
fn handshake_over_polling_then_upgrade() {
    let mut net = Net::engine_client(1, suite_server(), ClientConfig::default());
    assert!(net.run_while_not(1000, |n| n
        .count(|s| matches!(s, Seen::Client(EioClientEvent::Upgraded { .. })))
        == 1));
    net.run_for(20);
    assert_eq!(
        net.count(|s| matches!(s, Seen::Client(EioClientEvent::Open(_)))),
        1
    );
    assert_eq!(
        net.count(|s| matches!(s, Seen::Server(_, EioEvent::Upgraded { .. }))),
        1
    );
    assert_eq!(
        net.engine_client_mut().transport(),
        engine::TransportKind::WebSocket
    );
    net.client_send(text("after"));
    net.run_for(50);
    assert_eq!(client_msgs(&net), vec![text("after")]);
    net.assert_clean();
}

#[test]
fn websocket_only_session() {
    let client = ClientConfig {
        transports: Transports {
            polling: false,
            websocket: true,
        },
        ..ClientConfig::default()
    };
    let mut net = Net::engine_client(2, suite_server(), client);
    net.run_for(20);
    net.client_send(Message::Binary(vec![1, 2, 3]));
    net.run_for(20);
    assert_eq!(client_msgs(&net), vec![Message::Binary(vec![1, 2, 3])]);
    // no polling request ever reached the server
    assert_eq!(
        net.count(|s| matches!(s, Seen::ServerGot(r) if !r.starts_with("WS "))),
        0
    );
    net.assert_clean();
}

fn thousand_heartbeats(client: ClientConfig, server: ServerConfig) {
    let started = std::time::Instant::now();
    let mut net = Net::engine_client(3, server.clone(), client);
    let interval = server.ping_interval.as_millis() as u64;
    // each round trip delays the next ping by the latency: allow 10 %
    let beats = |n: &Net| n.count(|s| matches!(s, Seen::Server(_, EioEvent::Heartbeat)));
    assert!(net.run_while_not(interval * 1100, |n| beats(n) == 1000));
    net.run_for(20);
    let server_beats = net.count(|s| matches!(s, Seen::Server(_, EioEvent::Heartbeat)));
    let client_beats = net.count(|s| matches!(s, Seen::Client(EioClientEvent::Heartbeat)));
    assert_eq!(server_beats, 1000, "server heartbeats");
    assert_eq!(client_beats, 1000, "client heartbeats");
    assert_eq!(
        net.count(|s| matches!(s, Seen::Client(EioClientEvent::Closed(_)))),
        0
    );
    assert_eq!(net.server.sessions.len(), 1);
    net.assert_clean();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_thousand_heartbeats_over_websocket_with_default_timings() {
    // 25 s apart: 7 hours of virtual time
    thousand_heartbeats(ClientConfig::default(), ServerConfig::default());
}

#[test]
fn a_thousand_heartbeats_over_polling() {
    let client = ClientConfig {
        upgrade: false,
        ..ClientConfig::default()
    };
    thousand_heartbeats(client, suite_server());
}

#[test]
fn a_thousand_v3_heartbeats() {
    let server = ServerConfig {
        allow_eio3: true,
        ..suite_server()
    };
    let client = ClientConfig {
        protocol: Protocol::V3,
        upgrade: false,
        ..ClientConfig::default()
    };
    // v3: the client pings, so heartbeats are counted on both sides per pong
    thousand_heartbeats(client, server);
}

#[test]
fn messages_survive_the_upgrade_in_order_both_ways() {
    let mut net = Net::engine_client(4, suite_server(), ClientConfig::default());
    let mut sent = Vec::new();
    for i in 0..200 {
        let m = if i % 7 == 0 {
            Message::Binary(vec![i as u8; 3])
        } else {
            text(&format!("m{i}"))
        };
        net.client_send(m.clone());
        sent.push(m);
        net.run_for(1);
    }
    net.run_for(500);
    assert!(net.count(|s| matches!(s, Seen::Client(EioClientEvent::Upgraded { .. }))) == 1);
    assert_eq!(server_msgs(&net), sent);
    assert_eq!(client_msgs(&net), sent, "echoes in order");
    net.assert_clean();
}

#[test]
fn client_close_over_polling_and_over_websocket() {
    for upgrade in [false, true] {
        let client = ClientConfig {
            upgrade,
            ..ClientConfig::default()
        };
        let mut net = Net::engine_client(5, suite_server(), client);
        net.run_for(200);
        let now = net.now;
        net.engine_client_mut().close(now);
        net.pump_client();
        net.run_for(50);
        let expect = if upgrade {
            CloseReason::TransportClose
        } else {
            CloseReason::ClientClose
        };
        assert_eq!(
            net.count(|s| matches!(s, Seen::Server(_, EioEvent::Closed(r)) if *r == expect)),
            1,
            "upgrade {upgrade}: {:#?}",
            net.seen
        );
        assert_eq!(
            net.engine_client_mut().close_reason(),
            Some(ClientCloseReason::ForcedClose)
        );
        assert!(net.server.sessions.is_empty());
        net.assert_clean();
    }
}

#[test]
fn server_close_over_polling_and_over_websocket() {
    for upgrade in [false, true] {
        let client = ClientConfig {
            upgrade,
            ..ClientConfig::default()
        };
        let mut net = Net::engine_client(6, suite_server(), client);
        net.run_for(200);
        net.server_do(|m, now| m.machine_mut().close(now));
        net.run_for(50);
        assert_eq!(
            net.engine_client_mut().close_reason(),
            Some(ClientCloseReason::TransportClose),
            "upgrade {upgrade}"
        );
        assert_eq!(
            net.count(|s| matches!(
                s,
                Seen::Server(_, EioEvent::Closed(CloseReason::ServerClose))
            )),
            1
        );
        net.assert_clean();
    }
}

#[test]
fn a_silent_client_is_timed_out_by_the_server_and_vice_versa() {
    let mut net = Net::engine_client(7, suite_server(), ClientConfig::default());
    net.run_for(100);
    // the network goes dark
    net.drop_permille = 1000;
    net.run_for(2000);
    assert_eq!(
        net.count(|s| matches!(
            s,
            Seen::Server(_, EioEvent::Closed(CloseReason::PingTimeout))
        )),
        1
    );
    assert_eq!(
        net.engine_client_mut().close_reason(),
        Some(ClientCloseReason::PingTimeout)
    );
    net.assert_clean();
}

// ----- scenarios: Socket.IO ---------------------------------------------------

fn sio_client(polling: bool, upgrade: bool) -> ClientOptions {
    let mut o = ClientOptions::default();
    o.engine.transports = Transports {
        polling,
        websocket: true,
    };
    o.engine.upgrade = upgrade;
    o
}

fn client_events(net: &Net) -> Vec<SioClientEvent> {
    net.seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::ClientSocket(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn socket_io_end_to_end_in_every_transport_mode() {
    for (polling, upgrade) in [(true, false), (false, false), (true, true)] {
        let mut net = Net::socket_client(8, suite_server(), sio_client(polling, upgrade));
        let now = net.now;
        net.socket_client_mut().connect(now, "/", None).unwrap();
        net.socket_client_mut()
            .connect(now, "/custom", Some(r#"{"token":"abc"}"#))
            .unwrap();
        net.socket_client_mut()
            .connect(now, "/random", None)
            .unwrap();
        net.pump_client();
        net.run_for(300);
        let ev = client_events(&net);
        assert!(ev
            .iter()
            .any(|e| matches!(e, SioClientEvent::Connected { namespace, .. } if namespace == "/")));
        assert!(ev.iter().any(
            |e| matches!(e, SioClientEvent::Connected { namespace, .. } if namespace == "/custom")
        ));
        assert!(ev.iter().any(
            |e| matches!(e, SioClientEvent::ConnectError { namespace, error }
            if namespace == "/random" && error.message.as_deref() == Some("Invalid namespace"))
        ));
        // the auth event came back with the auth payload
        assert!(ev.iter().any(
            |e| matches!(e, SioClientEvent::Event { namespace, data, .. }
            if namespace == "/custom" && data.json() == Some(r#"["auth",{"token":"abc"}]"#))
        ));
        // echo with binary, and an ack with binary
        let now = net.now;
        let payload = arr(vec![s("message"), Value::Binary(vec![1, 2, 3]), s("x")]);
        net.socket_client_mut().emit(now, "/", &payload).unwrap();
        let id = net
            .client_emit_with_ack(
                "/",
                &arr(vec![
                    s("message-with-ack"),
                    Value::Binary(vec![9]),
                    Value::Number(1.into()),
                ]),
            )
            .unwrap();
        net.run_for(300);
        let ev = client_events(&net);
        let back = ev
            .iter()
            .find_map(|e| match e {
                SioClientEvent::Event { data, .. }
                    if data.event_name().as_deref() == Some("message-back") =>
                {
                    Some(data.clone())
                }
                _ => None,
            })
            .expect("message-back");
        assert_eq!(
            back.args().unwrap(),
            vec![Value::Binary(vec![1, 2, 3]), s("x")]
        );
        let ack = ev
            .iter()
            .find_map(|e| match e {
                SioClientEvent::Ack { id: i, data, .. } if *i == id => Some(data.clone()),
                _ => None,
            })
            .expect("ack");
        assert_eq!(
            ack.items().unwrap(),
            vec![Value::Binary(vec![9]), Value::Number(1.into())]
        );
        // server → client ack
        net.server_emit_with_ack("/", &arr(vec![s("ping-me")]));
        net.run_for(50);
        let req = client_events(&net)
            .into_iter()
            .find_map(|e| match e {
                SioClientEvent::Event {
                    data, ack: Some(a), ..
                } if data.event_name().as_deref() == Some("ping-me") => Some(a),
                _ => None,
            })
            .expect("server event with ack");
        let now = net.now;
        net.socket_client_mut()
            .ack(now, "/", req, &arr(vec![s("pong")]))
            .unwrap();
        net.pump_client();
        net.run_for(50);
        assert_eq!(
            net.count(|s| matches!(s, Seen::ServerSocket(_, ServerEvent::Ack { .. }))),
            1
        );
        net.assert_clean();
    }
}

#[test]
fn namespace_disconnect_keeps_the_connection() {
    let mut net = Net::socket_client(9, suite_server(), sio_client(true, true));
    let now = net.now;
    net.socket_client_mut().connect(now, "/", None).unwrap();
    net.socket_client_mut()
        .connect(now, "/custom", None)
        .unwrap();
    net.pump_client();
    net.run_for(300);
    let now = net.now;
    net.socket_client_mut().disconnect(now, "/custom").unwrap();
    net.pump_client();
    net.run_for(50);
    assert_eq!(
        net.count(|s| matches!(s, Seen::ServerSocket(_, ServerEvent::Disconnect { namespace, .. }) if namespace == "/custom")),
        1
    );
    assert_eq!(net.server.sessions.len(), 1);
    assert!(net.socket_client_mut().is_connected("/"));
    net.assert_clean();
}

#[test]
fn reconnects_with_the_socket_io_client_backoff() {
    let mut o = sio_client(false, false);
    o.backoff = Backoff::default();
    let mut net = Net::socket_client(10, suite_server(), o);
    let now = net.now;
    net.socket_client_mut().connect(now, "/", None).unwrap();
    net.socket_client_mut().set_random(0.15);
    net.pump_client();
    net.run_for(100);
    // the server drops the connection without a close packet
    let lost_at = net.now;
    net.server_do(|m, now| m.machine_mut().shutdown(now));
    // every server is down for a while: attempts fail
    let endpoint = std::mem::replace(
        &mut net.server.endpoint,
        Endpoint::new(ServerConfig {
            transports: Transports {
                polling: false,
                websocket: false,
            },
            ..suite_server()
        }),
    );
    assert!(net.run_while_not(30_000, |n| n.count(|s| matches!(
        s,
        Seen::ClientSocket(SioClientEvent::ReconnectAttempt { .. })
    )) == 4));
    net.server.endpoint = endpoint;
    assert!(net.run_while_not(20_000, |n| n
        .count(|s| matches!(s, Seen::ClientSocket(SioClientEvent::Reconnected { .. })))
        == 1));
    net.run_for(100);
    let ev = client_events(&net);
    let delays: Vec<Duration> = ev
        .iter()
        .filter_map(|e| match e {
            SioClientEvent::Reconnecting { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect();
    // r = 0.15: deviation floor(0.075 × ms), sign + (floor(1.5) = 1 is odd)
    assert_eq!(delays[..4], [ms(1075), ms(2150), ms(4300), ms(5000)]);
    assert!(
        ev.contains(&SioClientEvent::Reconnected { attempt: 4 }),
        "{ev:#?}"
    );
    // the namespace is joined again, with a new Socket.IO id
    let connects = ev
        .iter()
        .filter(|e| matches!(e, SioClientEvent::Connected { .. }))
        .count();
    assert_eq!(connects, 2);
    let first_attempt = net
        .first_at(|s| {
            matches!(
                s,
                Seen::ClientSocket(SioClientEvent::ReconnectAttempt { attempt: 1 })
            )
        })
        .unwrap();
    let closed = net
        .first_at(|s| matches!(s, Seen::ClientSocket(SioClientEvent::Closed { .. })))
        .unwrap();
    assert_eq!(first_attempt - closed, ms(1075));
    assert!(closed >= lost_at);
    net.assert_clean();
}

#[test]
fn the_connect_timeout_closes_a_connection_that_joins_nothing() {
    let mut net = Net::socket_client(11, suite_server(), sio_client(false, false));
    // the client never connects a namespace; the server gives up at 45 s
    net.socket_client_mut().set_random(0.0);
    net.run_for(46_000);
    assert!(net.count(|s| matches!(s, Seen::ServerSocket(_, ServerEvent::Violation(_)))) >= 1);
    net.assert_clean();
}

// ----- proptest: random interleavings -----------------------------------------

#[derive(Debug, Clone)]
enum Action {
    ClientSend(u8),
    ClientSendBinary(u8),
    ClientEmitAck,
    ClientConnect(u8),
    ClientDisconnect(u8),
    ClientClose,
    ServerSend(u8),
    ServerEmitAck,
    ServerClose,
    ServerShutdown,
    Advance(u16),
    Jump(u32),
    DropOn(u16),
    DropOff,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => any::<u8>().prop_map(Action::ClientSend),
        1 => any::<u8>().prop_map(Action::ClientSendBinary),
        2 => Just(Action::ClientEmitAck),
        1 => (0u8..3).prop_map(Action::ClientConnect),
        1 => (0u8..3).prop_map(Action::ClientDisconnect),
        1 => Just(Action::ClientClose),
        3 => any::<u8>().prop_map(Action::ServerSend),
        2 => Just(Action::ServerEmitAck),
        1 => Just(Action::ServerClose),
        1 => Just(Action::ServerShutdown),
        8 => (0u16..2000).prop_map(Action::Advance),
        1 => (0u32..120_000).prop_map(Action::Jump),
        1 => (0u16..1000).prop_map(Action::DropOn),
        1 => Just(Action::DropOff),
    ]
}

const NAMESPACES: [&str; 3] = ["/", "/custom", "/random"];

fn run_actions(seed: u64, socket: bool, mode: u8, actions: &[Action]) -> Net {
    let polling = mode != 1;
    let upgrade = mode == 2;
    let server = ServerConfig {
        max_buffered_packets: 64,
        max_queued_events: 10_000,
        ..suite_server()
    };
    let mut net = if socket {
        let mut o = sio_client(polling, upgrade);
        o.engine.max_buffered_packets = 64;
        o.max_buffered_emits = 16;
        o.max_pending_acks = 16;
        o.backoff = Backoff::new(ms(100), ms(1000), 0.5);
        let mut net = Net::socket_client(seed, server, o);
        let now = net.now;
        let _ = net.socket_client_mut().connect(now, "/", None);
        net.pump_client();
        net
    } else {
        let client = ClientConfig {
            upgrade,
            max_buffered_packets: 64,
            transports: Transports {
                polling,
                websocket: true,
            },
            ..ClientConfig::default()
        };
        Net::engine_client(seed, server, client)
    };
    for a in actions {
        let now = net.now;
        match a {
            Action::ClientSend(b) => {
                if socket {
                    let _ = net.socket_client_mut().emit(
                        now,
                        "/",
                        &arr(vec![s("message"), Value::Number((*b).into())]),
                    );
                    net.pump_client();
                } else {
                    net.client_send(text(&format!("t{b}")));
                }
            }
            Action::ClientSendBinary(b) => {
                if socket {
                    let _ = net.socket_client_mut().emit(
                        now,
                        "/",
                        &arr(vec![s("message"), Value::Binary(vec![*b; 3])]),
                    );
                    net.pump_client();
                } else {
                    net.client_send(Message::Binary(vec![*b; 3]));
                }
            }
            Action::ClientEmitAck => {
                if socket {
                    net.client_emit_with_ack("/", &arr(vec![s("message-with-ack"), s("a")]));
                }
            }
            Action::ClientConnect(i) => {
                if socket {
                    let _ = net
                        .socket_client_mut()
                        .connect(now, NAMESPACES[*i as usize], None);
                    net.pump_client();
                }
            }
            Action::ClientDisconnect(i) => {
                if socket {
                    let ns = NAMESPACES[*i as usize];
                    if net.socket_client_mut().disconnect(now, ns).is_ok() {
                        // the namespace is gone with its acks; a new one counts from 0
                        net.client_acks.forget("client", ns);
                    }
                    net.pump_client();
                }
            }
            Action::ClientClose => {
                client_call!(&mut net.client, close(now));
                net.pump_client();
            }
            Action::ServerSend(b) => {
                let b = *b;
                net.server_do(move |m, now| match m {
                    Hosted::Engine(e) => {
                        let _ = e.send(now, text(&format!("s{b}")));
                    }
                    Hosted::Socket(c, _) => {
                        let _ = c.emit(now, "/", &arr(vec![s("news"), Value::Number(b.into())]));
                    }
                });
            }
            Action::ServerEmitAck => net.server_emit_with_ack("/", &arr(vec![s("ask")])),
            Action::ServerClose => net.server_do(|m, now| m.machine_mut().close(now)),
            Action::ServerShutdown => net.server_do(|m, now| m.machine_mut().shutdown(now)),
            Action::Advance(d) => net.run_for(u64::from(*d)),
            Action::Jump(d) => net.jump(u64::from(*d)),
            Action::DropOn(p) => net.drop_permille = u64::from(*p),
            Action::DropOff => net.drop_permille = 0,
        }
        // invariants that hold at every step
        if let ClientMachine::Socket(c) = &net.client {
            for ns in NAMESPACES {
                assert!(c.pending_acks(ns) <= 16, "client acks past their bound");
                assert!(c.buffered_emits(ns) <= 16, "client emits past their bound");
            }
        }
        for m in net.server.sessions.values() {
            if let Hosted::Socket(c, _) = m {
                assert!(c.pending_acks("/") <= ServerOptions::default().max_pending_acks);
            }
            assert!(
                m.machine().engine().buffered() <= 64,
                "server buffer past its bound"
            );
        }
    }
    // let everything settle: the dark network heals, timers run out
    net.drop_permille = 0;
    net.run_for(130_000);
    net
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES raises it for a longer hunt
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_sessions_hold_their_invariants(seed in any::<u64>(), mode in 0u8..3, actions in prop::collection::vec(action(), 0..60)) {
        let net = run_actions(seed, false, mode, &actions);
        prop_assert!(net.violations.is_empty(), "{:#?}", net.violations);
    }

    #[test]
    fn socket_connections_hold_their_invariants(seed in any::<u64>(), mode in 0u8..3, actions in prop::collection::vec(action(), 0..60)) {
        let net = run_actions(seed, true, mode, &actions);
        prop_assert!(net.violations.is_empty(), "{:#?}", net.violations);
    }
}

#[test]
fn a_network_that_heals_ends_with_no_session_leak() {
    // after everything settles, a session either still works (its client is
    // alive) or it is gone: no session outlives its timers
    for seed in 0..20 {
        let actions = [
            Action::Advance(500),
            Action::DropOn(1000),
            Action::Advance(1500),
            Action::DropOff,
        ];
        let mut net = run_actions(seed, false, (seed % 3) as u8, &actions);
        let client_closed = net.engine_client_mut().is_closed();
        if client_closed {
            assert!(
                net.server.sessions.is_empty(),
                "seed {seed}: {} session(s) left",
                net.server.sessions.len()
            );
        }
        net.assert_clean();
    }
}

/// Found by `socket_connections_hold_their_invariants` in CI: a lossy
/// network, then an emit with an ack just before a server message.
#[test]
fn an_ack_asked_on_a_lossy_network_is_resolved_once() {
    use Action::*;
    let actions = [
        ServerSend(0),
        ServerSend(0),
        ServerSend(0),
        ServerSend(0),
        Advance(612),
        DropOn(227),
        Jump(8692),
        Advance(513),
        Advance(328),
        Advance(1113),
        Advance(1281),
        Advance(682),
        Advance(357),
        Advance(1229),
        Advance(1430),
        ClientEmitAck,
        ServerSend(0),
    ];
    let net = run_actions(8500790949483869152, true, 1, &actions);
    assert!(net.violations.is_empty(), "{:#?}", net.violations);
}
