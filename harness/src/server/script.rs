//! The scripted server of client mode: the reference server's glue and the
//! codec's [`ServerConnection`], with a case's departures in between.
//!
//! Nothing here decides the protocol. [`Tapped`] wraps the machine and sits
//! between it and the sockets: it records what goes in and out (the
//! observation channel and the case's wire trace), lets a case rewrite an
//! outgoing WebSocket frame or polling packet, put raw packets at the head of
//! a polling response, and hold the frames of an upgrading WebSocket.
//! [`Scripted`], the application on top, answers CONNECTs as the case's
//! [`Plan`] says, acknowledges what the client asks to be acknowledged with
//! the same arguments, and carries out the case's [`Control`]s (emit, emit
//! with an ack, disconnect a namespace, close, send a raw frame or raw
//! polling packets, release held frames) in the session's own task; the
//! session's task itself drops the transports, and the HTTP side refuses
//! handshakes and observes when each polling request is answered. With a
//! [`Recovery`] plan it plays a server with connection state recovery: its
//! CONNECT replies carry a `pid`, and a reconnection may be restored (the
//! missed events written before the reply).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use siospec_codec::session::engine::{self, ServerSession, Transmit};
use siospec_codec::session::socket::{ServerConnection, ServerEvent};
use siospec_codec::session::{Frame, HttpResponse, Query, RequestHead, ServerMachine, TransportId};
use siospec_codec::socket::binary::Value;
use tokio::sync::{mpsc, Notify};

use super::session::{Application, Input};
use crate::trace::{Body, Dir, Trace, What};

/// How the scripted server answers a CONNECT.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Accept it (`40{"sid":…}`).
    Accept,
    /// Refuse it as a failing middleware does (`44{"message":…,"data":…}`).
    Reject {
        /// The error's message.
        message: String,
        /// The error's data, if any.
        data: Option<serde_json::Value>,
    },
    /// Leave it unanswered until the case sends [`Control::Accept`].
    Hold,
}

/// Rewrites an outgoing text frame (`None`: send it as it is).
pub type Rewrite = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A case's fixed departures, decided before the client connects.
#[derive(Clone, Default)]
pub struct Plan {
    /// Namespaces whose CONNECT is refused; every other one is accepted.
    pub refuse: Vec<(String, Answer)>,
    /// Applied to every outgoing WebSocket text frame the machine produces.
    pub rewrite: Option<Rewrite>,
    /// Answer a session's WebSocket upgrade request with 400 instead of
    /// upgrading (a proxy that blocks WebSocket); the session goes on over
    /// polling.
    pub refuse_websocket: bool,
    /// Applied to every packet of every polling GET response the machine
    /// produces (the payload split at `\x1e`), as [`Plan::rewrite`] is to
    /// WebSocket frames.
    pub rewrite_polling: Option<Rewrite>,
    /// Hold the frames the client sends on an upgrading WebSocket (one whose
    /// request carried a `sid`) instead of handing them to the machine, until
    /// [`Control::Release`] or [`Control::Unhold`]: a `2probe` never released
    /// goes unanswered; an UPGRADE (`5`) held keeps the server on polling.
    pub hold_upgrade: bool,
    /// Play connection state recovery (socket.io's
    /// `connectionStateRecovery`); `None`: CONNECT replies carry no `pid`.
    pub recovery: Option<Recovery>,
}

/// Connection state recovery as the scripted server plays it. What a
/// restore needs (the session known, the offset found) is the case's to
/// script, not checked: the cases judge what the client sends and reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// The first `withhold` CONNECT replies of the case carry no `pid`.
    pub withhold: usize,
    /// Restore a CONNECT whose data carries a `pid` (a string): these
    /// events (`["name", ...args]`, text only) are written first, then the
    /// reply with the sid and pid of the case's previous reply, as socket.io
    /// writes the missed packets before its CONNECT reply. `None`: every
    /// reply has a new sid and a new pid.
    pub restore: Option<Vec<Value>>,
}

impl Recovery {
    /// The pid of the reply to the case's `n`th accepted CONNECT (from 1),
    /// when it carries a new one.
    pub fn pid(n: usize) -> String {
        format!("siospec-pid-{n}")
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("refuse", &self.refuse)
            .field("rewrite", &self.rewrite.is_some())
            .field("refuse_websocket", &self.refuse_websocket)
            .field("rewrite_polling", &self.rewrite_polling.is_some())
            .field("hold_upgrade", &self.hold_upgrade)
            .field("recovery", &self.recovery)
            .finish()
    }
}

/// What a case asks the server to do now, on the newest session.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// Emit an event (`data` is `["name", ...args]`) on a joined namespace.
    Emit {
        /// The namespace.
        namespace: String,
        /// The event array.
        data: Value,
    },
    /// Emit several events on a joined namespace in one go: over polling,
    /// those the machine buffers while no GET is pending (all but at most
    /// the first) leave together in the next GET's payload.
    Emits {
        /// The namespace.
        namespace: String,
        /// The event arrays, in order.
        events: Vec<Value>,
    },
    /// Emit an event asking for an ack; the ack is observed as [`Seen::Ack`].
    EmitWithAck {
        /// The namespace.
        namespace: String,
        /// The event array.
        data: Value,
    },
    /// Accept a CONNECT the plan held ([`Answer::Hold`]).
    Accept {
        /// The namespace.
        namespace: String,
    },
    /// Leave a namespace (server DISCONNECT).
    Disconnect {
        /// The namespace.
        namespace: String,
    },
    /// Close the Engine.IO session.
    Close,
    /// Send this frame on the session's WebSocket as it is, bypassing the
    /// machine (malformed input).
    Raw(Frame),
    /// Cut the session's transports as a network failure would: the
    /// WebSocket dropped without a close frame, pending polling requests
    /// dropped without a response; no close packet, no DISCONNECT.
    DropTransport,
    /// Refuse the next `n` Engine.IO handshakes (HTTP 503), whichever
    /// session is alive; carried out by the script itself.
    RefuseHandshakes(usize),
    /// Put these raw packets (a polling payload: packets separated by
    /// `\x1e`) at the head of the next polling GET response, past the
    /// machine; observed as [`Seen::Injected`] when they go out.
    InjectPolling(String),
    /// Hand the frames [`Plan::hold_upgrade`] held to the machine, in
    /// order; frames that arrive later are held still.
    Release,
    /// Hand them over and hold no more.
    Unhold,
}

/// What the scripted server saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// An HTTP request or a WebSocket upgrade request.
    Request {
        /// `GET`, `POST`, …
        method: String,
        /// The query string.
        query: String,
        /// A WebSocket upgrade request.
        websocket: bool,
    },
    /// A WebSocket frame from the client.
    Frame(Frame),
    /// A POST body from the client.
    Posted(Vec<u8>),
    /// A CONNECT for `namespace` with this auth (JSON).
    Connect {
        /// The namespace.
        namespace: String,
        /// The auth payload as JSON (`{}` when none).
        auth: String,
    },
    /// An event from the client.
    Event {
        /// The namespace.
        namespace: String,
        /// `["name", ...args]`.
        data: Value,
        /// Whether it asked for an ack.
        ack: bool,
    },
    /// The client acknowledged one of the server's events.
    Ack {
        /// The namespace.
        namespace: String,
        /// The ack's arguments.
        args: Vec<Value>,
    },
    /// The client left a namespace.
    Disconnect {
        /// The namespace.
        namespace: String,
        /// Why, as the machine says.
        reason: String,
    },
    /// A PONG (or a v3 PING) went through.
    Heartbeat,
    /// The client broke a rule the machine enforces.
    Violation(String),
    /// The Engine.IO session ended.
    Closed(String),
    /// The scripted server answered a polling request of [`Seen::Request`]
    /// with this status, or dropped it without a response (`None`): with
    /// the requests, what is in flight.
    Response {
        /// `GET`, `POST`, …
        method: String,
        /// The query string, the request's.
        query: String,
        /// The status, if a response was sent.
        status: Option<u16>,
    },
    /// The packets of [`Control::InjectPolling`] went out at the head of the
    /// response to the GET with this query.
    Injected(String),
}

impl Seen {
    /// A request that opens an Engine.IO session: one without a `sid`.
    pub fn is_handshake(&self) -> bool {
        matches!(self, Seen::Request { query, .. } if Query::parse(query).get("sid").is_none())
    }
}

/// One observation and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Milliseconds since the case started (the trace's clock).
    pub t_ms: f64,
    /// What was seen.
    pub seen: Seen,
}

/// A case's script: its plan, the observations, and the sessions a
/// [`Control`] reaches. Shared by the server and the case.
pub struct Script {
    plan: Plan,
    trace: Arc<Trace>,
    seen: Mutex<Vec<Observation>>,
    changed: Notify,
    sessions: Mutex<Vec<mpsc::Sender<Input>>>,
    /// Handshakes still to refuse ([`Control::RefuseHandshakes`]).
    refusals: AtomicUsize,
    /// CONNECTs accepted so far, every session's (sids and pids are numbered
    /// by it, so a new session's differ from the last one's).
    joins: AtomicUsize,
    /// The sid and pid of the last CONNECT reply that carried a pid.
    last_pid: Mutex<Option<(String, String)>>,
    /// Why TLS handshakes with the client failed, over TLS.
    tls_failures: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("plan", &self.plan).finish()
    }
}

impl Script {
    /// A script following `plan`, recording into `trace`.
    pub fn new(plan: Plan, trace: Arc<Trace>) -> Arc<Script> {
        Arc::new(Script {
            plan,
            trace,
            seen: Mutex::new(Vec::new()),
            changed: Notify::new(),
            sessions: Mutex::new(Vec::new()),
            refusals: AtomicUsize::new(0),
            joins: AtomicUsize::new(0),
            last_pid: Mutex::new(None),
            tls_failures: Mutex::new(Vec::new()),
        })
    }

    /// A TLS handshake with the client failed: in the trace, and kept.
    pub(crate) fn tls_failed(&self, why: String) {
        self.trace
            .note(format!("server: TLS handshake failed: {why}"));
        self.tls_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(why);
    }

    /// Why TLS handshakes with the client failed so far.
    pub fn tls_failures(&self) -> Vec<String> {
        self.tls_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Everything seen so far, in order.
    pub fn seen(&self) -> Vec<Observation> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `wait` for an observation `pick` maps to `Some`, looking
    /// at everything seen so far first.
    pub async fn wait_for<T>(
        &self,
        wait: Duration,
        mut pick: impl FnMut(&Observation) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut from = 0;
        loop {
            let changed = self.changed.notified();
            {
                let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
                for o in &seen[from..] {
                    if let Some(found) = pick(o) {
                        return Some(found);
                    }
                }
                from = seen.len();
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Hands `control` to the newest session; `false` when there is none
    /// alive.
    pub fn control(&self, control: Control) -> bool {
        if let Control::Raw(frame) = &control {
            self.trace.push("server", Dir::Out, frame_what(frame));
        }
        if let Control::RefuseHandshakes(n) = control {
            self.refusals.store(n, Ordering::SeqCst);
            return true;
        }
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions
            .last()
            .is_some_and(|tx| tx.try_send(Input::Control(Box::new(control))).is_ok())
    }

    pub(crate) fn observe(&self, seen: Seen) {
        let t_ms = self.trace.elapsed_ms();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Observation { t_ms, seen });
        self.changed.notify_waiters();
    }

    /// Records a request as it arrives (a POST's body comes later, as
    /// [`Seen::Posted`]).
    pub(crate) fn request(&self, head: &RequestHead<'_>, path: &str) {
        if head.websocket {
            self.trace.push(
                "client",
                Dir::In,
                What::WsConnect {
                    path: path.to_owned(),
                    query: head.query.to_owned(),
                    headers: Vec::new(),
                },
            );
        } else {
            self.trace.push(
                "client",
                Dir::In,
                What::HttpRequest {
                    method: head.method.to_owned(),
                    path: path.to_owned(),
                    query: head.query.to_owned(),
                    headers: Vec::new(),
                    body: Body::of(b""),
                },
            );
        }
        self.observe(Seen::Request {
            method: head.method.to_owned(),
            query: head.query.to_owned(),
            websocket: head.websocket,
        });
    }

    /// Whether this handshake is to be refused ([`Control::RefuseHandshakes`]);
    /// counts it.
    pub(crate) fn refuse_handshake(&self) -> bool {
        let refused = self
            .refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refused {
            self.trace
                .note("the script refuses this handshake (HTTP 503)");
        }
        refused
    }

    /// Records how a polling request was answered (see [`Seen::Response`]).
    pub(crate) fn answered(&self, method: String, query: String, status: Option<u16>) {
        if status.is_none() {
            self.trace
                .note(format!("{method} ?{query} dropped without a response"));
        }
        self.observe(Seen::Response {
            method,
            query,
            status,
        });
    }

    /// Whether the plan refuses WebSocket upgrade requests.
    pub(crate) fn refuses_websocket(&self) -> bool {
        self.plan.refuse_websocket
    }

    pub(crate) fn register(&self, session: mpsc::Sender<Input>) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(session);
    }
}

fn frame_what(frame: &Frame) -> What {
    match frame {
        Frame::Text(t) => What::WsText {
            data: Body::of(t.as_bytes()),
        },
        Frame::Binary(b) => What::WsBinary { data: Body::of(b) },
    }
}

/// The machine with the script between it and the sockets: what goes in
/// and out is observed and traced, outgoing text frames and polling packets
/// pass the plan's rewrites, injected packets join the next polling
/// response, an upgrading WebSocket's frames wait while the plan holds them.
pub struct Tapped {
    /// The codec's Socket.IO server connection.
    pub inner: ServerConnection,
    script: Arc<Script>,
    /// POST bodies being received, by transport.
    posts: HashMap<TransportId, Vec<u8>>,
    /// Polling GETs waiting for their response, with their query.
    gets: HashMap<TransportId, String>,
    /// Raw packets for the head of the next GET response.
    inject: Option<String>,
    /// WebSockets that joined the session (their request carried a `sid`).
    upgrading: HashSet<TransportId>,
    /// Whether their frames are held ([`Plan::hold_upgrade`]).
    holding: bool,
    /// The frames held, in order.
    held: Vec<(TransportId, Frame)>,
}

impl Tapped {
    /// `inner` under `script`.
    pub fn new(inner: ServerConnection, script: Arc<Script>) -> Tapped {
        let holding = script.plan.hold_upgrade;
        Tapped {
            inner,
            script,
            posts: HashMap::new(),
            gets: HashMap::new(),
            inject: None,
            upgrading: HashSet::new(),
            holding,
            held: Vec::new(),
        }
    }

    /// The same, whose session opened with a polling handshake `id`: its
    /// response (the open packet) is a GET's like any other.
    pub fn with_handshake_get(mut self, id: TransportId, query: &str) -> Tapped {
        self.gets.insert(id, query.to_owned());
        self
    }

    /// Hands the held frames to the machine, in order.
    fn release(&mut self, now: Instant) {
        for (id, frame) in std::mem::take(&mut self.held) {
            self.inner.handle_frame(now, id, frame);
        }
    }

    /// The response to a polling GET, with the plan's rewrite applied to its
    /// packets and the injected packets at its head.
    fn answer_get(&mut self, query: String, mut response: HttpResponse) -> HttpResponse {
        if response.status != 200 {
            return response;
        }
        let rewrite = self.script.plan.rewrite_polling.clone();
        let inject = self.inject.take();
        if rewrite.is_none() && inject.is_none() {
            return response;
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let mut packets: Vec<String> = Vec::new();
        if let Some(raw) = &inject {
            packets.push(raw.clone());
        }
        for packet in text.split('\x1e') {
            match rewrite.as_ref().and_then(|r| r(packet)) {
                Some(new) => {
                    self.script
                        .trace
                        .note(format!("the script rewrote {packet:?}"));
                    packets.push(new);
                }
                None => packets.push(packet.to_owned()),
            }
        }
        if inject.is_some() {
            self.script.observe(Seen::Injected(query));
        }
        response.body = packets.join("\x1e").into_bytes();
        let length = response.body.len().to_string();
        for (name, value) in &mut response.headers {
            if name.eq_ignore_ascii_case("content-length") {
                value.clone_from(&length);
            }
        }
        response
    }
}

impl ServerMachine for Tapped {
    fn engine(&self) -> &ServerSession {
        self.inner.engine()
    }
    fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        // The request itself is recorded by the HTTP side, which sees its
        // path; its body is recorded here, once complete.
        match head.method {
            "POST" => {
                self.posts.insert(id, Vec::new());
            }
            "GET" => {
                self.gets.insert(id, head.query.to_owned());
            }
            _ => {}
        }
        self.inner.handle_request(now, id, head);
    }
    fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]) {
        if let Some(body) = self.posts.get_mut(&id) {
            body.extend_from_slice(chunk);
        }
        self.inner.handle_body(now, id, chunk);
    }
    fn handle_body_end(&mut self, now: Instant, id: TransportId) {
        if let Some(body) = self.posts.remove(&id) {
            self.script.trace.note(format!(
                "POST body: {}",
                String::from_utf8_lossy(&body).escape_debug()
            ));
            self.script.observe(Seen::Posted(body));
        }
        self.inner.handle_body_end(now, id);
    }
    fn handle_post(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>, body: &[u8]) {
        self.handle_request(now, id, head);
        self.handle_body(now, id, body);
        self.handle_body_end(now, id);
    }
    fn handle_request_closed(&mut self, now: Instant, id: TransportId) {
        self.posts.remove(&id);
        self.gets.remove(&id);
        self.inner.handle_request_closed(now, id);
    }
    fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
        if Query::parse(head.query).get("sid").is_some() {
            self.upgrading.insert(id);
        }
        self.inner.handle_websocket(now, id, head);
    }
    fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
        self.script
            .trace
            .push("client", Dir::In, frame_what(&frame));
        self.script.observe(Seen::Frame(frame.clone()));
        if matches!(&frame, Frame::Text(t) if t.starts_with('2') && t != "2probe") {
            // A PING from the client (the v3 direction): the machine, as
            // Node's server, would end the session on it.
            // client.eio4.heartbeat.no-ping judges it from the observation;
            // kept from the machine, it fails no other case.
            self.script
                .trace
                .note("the script keeps this client PING from the machine");
            return;
        }
        if self.holding && self.upgrading.contains(&id) {
            self.script
                .trace
                .note("the script holds this frame of the upgrading WebSocket");
            self.held.push((id, frame));
            return;
        }
        self.inner.handle_frame(now, id, frame);
    }
    fn handle_frame_too_big(&mut self, now: Instant, id: TransportId) {
        self.script.trace.note("a frame over maxPayload arrived");
        self.inner.handle_frame_too_big(now, id);
    }
    fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
        self.script.trace.push(
            "client",
            Dir::In,
            What::WsEnd {
                detail: "the WebSocket closed".into(),
            },
        );
        self.inner.handle_websocket_closed(now, id);
    }
    fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
        self.script.trace.push(
            "client",
            Dir::In,
            What::WsEnd {
                detail: "the WebSocket failed".into(),
            },
        );
        self.inner.handle_websocket_error(now, id);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn close(&mut self, now: Instant) {
        self.inner.close(now);
    }
    fn shutdown(&mut self, now: Instant) {
        self.inner.shutdown(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let transmit = self.inner.poll_transmit()?;
        Some(match transmit {
            Transmit::Frame { id, frame } => {
                let frame = match (&frame, &self.script.plan.rewrite) {
                    (Frame::Text(text), Some(rewrite)) => match rewrite(text) {
                        Some(new) => {
                            self.script
                                .trace
                                .note(format!("the script rewrote {text:?}"));
                            Frame::Text(new)
                        }
                        None => frame,
                    },
                    _ => frame,
                };
                self.script
                    .trace
                    .push("server", Dir::Out, frame_what(&frame));
                Transmit::Frame { id, frame }
            }
            Transmit::Http { id, response } => {
                let response = match self.gets.remove(&id) {
                    Some(query) => self.answer_get(query, response),
                    None => response,
                };
                self.script.trace.push(
                    "server",
                    Dir::Out,
                    What::HttpResponse {
                        status: response.status,
                        headers: response
                            .headers
                            .iter()
                            .map(|(name, value)| ((*name).to_owned(), value.clone()))
                            .collect(),
                        body: Body::of(&response.body),
                    },
                );
                Transmit::Http { id, response }
            }
            Transmit::HttpAbort { id } => {
                self.gets.remove(&id);
                Transmit::HttpAbort { id }
            }
            other => other,
        })
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// The scripted application: answers CONNECTs by the plan, acknowledges
/// every ack request with the event's own arguments, records the rest.
pub struct Scripted {
    script: Arc<Script>,
}

impl Scripted {
    /// The application of one session under `script`.
    pub fn new(script: Arc<Script>) -> Scripted {
        Scripted { script }
    }
}

impl Scripted {
    /// Accepts the CONNECT for `namespace` whose data is `auth`; with a
    /// [`Recovery`] plan, the reply carries a pid, or restores the session.
    fn accept(
        &mut self,
        machine: &mut Tapped,
        now: Instant,
        namespace: &str,
        auth: &str,
    ) -> Result<(), siospec_codec::session::SendError> {
        let n = self.script.joins.fetch_add(1, Ordering::SeqCst) + 1;
        let mut sid = format!("scripted-{n}");
        let Some(recovery) = &self.script.plan.recovery else {
            return machine.inner.accept(now, namespace, &sid);
        };
        let mut last = self
            .script
            .last_pid
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let asked = serde_json::from_str::<serde_json::Value>(auth)
            .ok()
            .is_some_and(|a| a.get("pid").is_some_and(serde_json::Value::is_string));
        // The codec's machine writes the reply (and a restore's missed
        // events before it), in whichever parser the session speaks.
        let (accepted, pid) = match (&recovery.restore, last.clone()) {
            (Some(missed), Some((was_sid, was_pid))) if asked => {
                sid = was_sid;
                let missed: Vec<(String, Vec<Vec<u8>>)> = missed
                    .iter()
                    .map(|event| {
                        let (mut json, mut attachments) = (Vec::new(), Vec::new());
                        siospec_codec::socket::binary::write_json(
                            event,
                            &mut json,
                            &mut attachments,
                        );
                        (
                            String::from_utf8_lossy(&json).into_owned(),
                            attachments.into_iter().map(<[u8]>::to_vec).collect(),
                        )
                    })
                    .collect();
                let accepted = machine
                    .inner
                    .restore(now, namespace, &sid, &was_pid, &missed);
                (accepted, Some(was_pid))
            }
            _ if n > recovery.withhold => {
                let pid = Recovery::pid(n);
                (
                    machine.inner.accept_recoverable(now, namespace, &sid, &pid),
                    Some(pid),
                )
            }
            _ => (machine.inner.accept(now, namespace, &sid), None),
        };
        if let (Ok(()), Some(pid)) = (&accepted, pid) {
            self.script.trace.note(format!(
                "the script answers the CONNECT of {namespace} with sid {sid:?}, pid {pid:?}"
            ));
            *last = Some((sid, pid));
        }
        accepted
    }
}

impl Application<Tapped> for Scripted {
    fn react(&mut self, machine: &mut Tapped, now: Instant) {
        while let Some(event) = machine.inner.poll_event() {
            let seen = match event {
                ServerEvent::Connect { namespace, auth } => {
                    let answer = self
                        .script
                        .plan
                        .refuse
                        .iter()
                        .find(|(ns, _)| *ns == namespace)
                        .map_or(Answer::Accept, |(_, a)| a.clone());
                    let _ = match answer {
                        Answer::Accept => self.accept(machine, now, &namespace, &auth),
                        Answer::Hold => Ok(()),
                        Answer::Reject { message, data } => {
                            machine
                                .inner
                                .reject(now, &namespace, &message, data.as_ref())
                        }
                    };
                    Seen::Connect { namespace, auth }
                }
                ServerEvent::Event {
                    namespace,
                    data,
                    ack,
                } => {
                    let value = data.to_value().unwrap_or(Value::Null);
                    if let Some(id) = ack {
                        let args = Value::Array(data.args().unwrap_or_default());
                        let _ = machine.inner.ack(now, &namespace, id, &args);
                    }
                    Seen::Event {
                        namespace,
                        data: value,
                        ack: ack.is_some(),
                    }
                }
                ServerEvent::Ack {
                    namespace, data, ..
                } => Seen::Ack {
                    namespace,
                    args: data.items().unwrap_or_default(),
                },
                ServerEvent::AckTimeout { .. } => continue,
                ServerEvent::Disconnect { namespace, reason } => Seen::Disconnect {
                    namespace,
                    reason: format!("{reason:?}"),
                },
                ServerEvent::Violation(v) => Seen::Violation(format!("{v:?}")),
                ServerEvent::Engine(engine::Event::Heartbeat) => Seen::Heartbeat,
                ServerEvent::Engine(_) => continue,
                ServerEvent::Closed(reason) => Seen::Closed(format!("{reason:?}")),
            };
            self.script.trace.note(format!("server saw: {seen:?}"));
            self.script.observe(seen);
        }
    }

    /// The scripted server has no rooms: nothing is relayed to it.
    fn relay(
        &mut self,
        _machine: &mut Tapped,
        _now: Instant,
        _emit: &siospec_codec::session::contract::Emit,
    ) {
    }

    fn control(&mut self, machine: &mut Tapped, now: Instant, control: Control) {
        let c = &mut machine.inner;
        let result = match &control {
            Control::Accept { namespace } => {
                // A held CONNECT's data is not kept: a plan that holds
                // plays no recovery.
                self.accept(machine, now, namespace, "{}")
            }
            Control::Emit { namespace, data } => c.emit(now, namespace, data).map(|_| ()),
            Control::Emits { namespace, events } => events
                .iter()
                .try_for_each(|data| c.emit(now, namespace, data).map(|_| ())),
            Control::EmitWithAck { namespace, data } => {
                c.emit_with_ack(now, namespace, data, None).map(|_| ())
            }
            Control::Disconnect { namespace } => c.disconnect(now, namespace),
            Control::Close => {
                c.close(now);
                Ok(())
            }
            Control::InjectPolling(raw) => {
                machine.inject = Some(match machine.inject.take() {
                    Some(before) => format!("{before}\x1e{raw}"),
                    None => raw.clone(),
                });
                Ok(())
            }
            Control::Release => {
                machine.release(now);
                Ok(())
            }
            Control::Unhold => {
                machine.holding = false;
                machine.release(now);
                Ok(())
            }
            // Carried out by the session's task (the WebSocket, the
            // transports) or by the script itself.
            Control::Raw(_) | Control::DropTransport | Control::RefuseHandshakes(_) => Ok(()),
        };
        if let Err(e) = result {
            self.script
                .trace
                .note(format!("the server could not carry out {control:?}: {e:?}"));
        }
    }
}
