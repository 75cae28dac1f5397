//! One task per session: it owns the session machine, feeds it the inputs
//! the HTTP and WebSocket handlers send, arms its one timer, and routes its
//! transmits to the waiting HTTP responses and WebSocket writers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use siospec_codec::session::contract::Emit;
use siospec_codec::session::engine::{SessionInfo, Transmit, TransportKind};
use siospec_codec::session::{Frame, HttpResponse, ServerMachine, TransportId};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::head::OwnedHead;
use super::script::Control;

/// How many inputs may wait for a session's task; senders wait beyond it,
/// which pushes back on the client's TCP connection.
pub const INPUT_QUEUE: usize = 256;
/// How many frames may wait for a WebSocket writer.
pub const OUTPUT_QUEUE: usize = 1024;

/// What a polling request gets back.
#[derive(Debug)]
pub enum Reply {
    /// Write this response.
    Response(HttpResponse),
    /// Destroy the connection without a response.
    Abort,
}

/// What a WebSocket writer is asked to do. Kept to two words, boxing
/// what is larger: a writer's queue allocates room for 32 of them up front
/// (tokio's block), idle or not.
#[derive(Debug)]
pub enum WsOut {
    /// Send a frame.
    Frame(Box<Frame>),
    /// Send a text frame whose bytes other writers share: a broadcast
    /// encoded once for all its recipients.
    Shared(Arc<Utf8Bytes>),
    /// Send a close frame (with this code, if any) and end.
    Close(Option<u16>),
    /// Drop the connection without a close frame.
    Terminate,
}

/// An input for a session's task. Its large parts are boxed: a session's
/// queue allocates room for 32 inputs up front (tokio's block), which is
/// most of an idle session's queue memory.
pub enum Input {
    /// A polling GET or POST; the reply goes to `reply`.
    Request {
        id: TransportId,
        head: Box<OwnedHead>,
        reply: oneshot::Sender<Reply>,
    },
    /// Part of a POST body.
    Body {
        id: TransportId,
        chunk: bytes::Bytes,
    },
    /// The POST body is complete.
    BodyEnd { id: TransportId },
    /// The client went away before its request was answered.
    RequestClosed { id: TransportId },
    /// A WebSocket for this session opened; frames to send go to `out`.
    WebSocket {
        id: TransportId,
        head: Box<OwnedHead>,
        out: mpsc::Sender<WsOut>,
    },
    /// A frame arrived.
    Frame { id: TransportId, frame: Frame },
    /// A message over the size limit arrived (and was not buffered).
    FrameTooBig { id: TransportId },
    /// The WebSocket closed.
    WebSocketClosed { id: TransportId },
    /// The WebSocket failed.
    WebSocketError { id: TransportId },
    /// Another session's emit for this one (rooms, broadcasts).
    Relay(Arc<Emit>),
    /// Drop the session's transport without a close packet, as a network
    /// failure would (the contract's `close-transport`).
    DropTransport,
    /// The server is shutting down.
    Shutdown,
    /// A client-mode case's instruction to the scripted server.
    Control(Box<Control>),
}

/// What a session's task runs on top of its machine `M`: the Engine.IO
/// echo of engine mode, or the Socket.IO testee contract of socket mode.
pub trait Application<M>: Send + 'static {
    /// Drains the machine's events and acts on them.
    fn react(&mut self, machine: &mut M, now: Instant);
    /// Emits what another session relayed.
    fn relay(&mut self, machine: &mut M, now: Instant, emit: &Emit);
    /// Carries out a client-mode case's instruction; the reference
    /// server's applications take none (only the scripted server is sent any).
    fn control(&mut self, _machine: &mut M, _now: Instant, _control: Control) {}
    /// Whether what another session relays may skip this session's task
    /// and go straight to its WebSocket writer as an encoded text frame
    /// ([`Published::direct`]): the machine would write exactly that frame
    /// at once, with nothing of its own waiting before it.
    fn takes_direct(&self, _machine: &M) -> bool {
        false
    }
}

/// A session's entry in the registry.
#[derive(Clone)]
pub struct Handle {
    /// Its task's input queue.
    pub tx: mpsc::Sender<Input>,
    /// What its task says of it between two inputs.
    pub state: Arc<Mutex<Published>>,
}

/// What a session's task publishes each time it waits for an input.
pub struct Published {
    /// Its transport and protocol, for the request verifier.
    pub info: Option<SessionInfo>,
    /// Its WebSocket writer, while relayed emits may go straight to it
    /// ([`Application::takes_direct`]): one channel send per recipient
    /// instead of a send to its task, a wake-up and an encoding there.
    pub direct: Option<mpsc::Sender<WsOut>>,
}

/// The sessions of one server, by sid.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Handle>>,
}

impl Registry {
    /// The session `sid`, if it is alive.
    pub fn get(&self, sid: &str) -> Option<Handle> {
        self.sessions.lock().ok()?.get(sid).cloned()
    }

    /// What the request verifier needs to know about `sid`.
    pub fn info(&self, sid: &str) -> Option<SessionInfo> {
        let handle = self.get(sid)?;
        let info = handle.state.lock().ok()?.info;
        info
    }

    /// Every live session's input queue.
    pub fn all(&self) -> Vec<mpsc::Sender<Input>> {
        self.sessions
            .lock()
            .map(|s| s.values().map(|h| h.tx.clone()).collect())
            .unwrap_or_default()
    }

    /// Calls `f` with the handle of each session of `sids` that is alive.
    pub fn each(&self, sids: &[String], mut f: impl FnMut(&Handle)) {
        if let Ok(sessions) = self.sessions.lock() {
            sids.iter()
                .filter_map(|sid| sessions.get(sid))
                .for_each(&mut f);
        }
    }

    /// How many sessions are alive.
    pub fn len(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn insert(&self, sid: String, handle: Handle) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(sid, handle);
        }
    }

    fn remove(&self, sid: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(sid);
        }
    }
}

/// Where a transmit goes.
#[derive(Default)]
struct Routes {
    replies: HashMap<TransportId, oneshot::Sender<Reply>>,
    sockets: HashMap<TransportId, mpsc::Sender<WsOut>>,
    /// Drop the next polling request as soon as it arrives.
    drop_next_request: bool,
}

impl Routes {
    /// The WebSocket writer, when it is the session's only transport.
    fn only_socket(&self) -> Option<(TransportId, &mpsc::Sender<WsOut>)> {
        let mut sockets = self.sockets.iter();
        match (sockets.next(), sockets.next(), self.replies.is_empty()) {
            (Some((id, out)), None, true) => Some((*id, out)),
            _ => None,
        }
    }

    /// Cuts every transport as a network failure would, and tells the
    /// machine what it would then see.
    fn drop_transports<M: ServerMachine>(&mut self, machine: &mut M, now: Instant) {
        let sockets: Vec<_> = self.sockets.drain().collect();
        for (id, out) in sockets {
            let _ = out.try_send(WsOut::Terminate);
            machine.handle_websocket_error(now, id);
        }
        let replies: Vec<_> = self.replies.drain().collect();
        let had_requests = !replies.is_empty();
        for (id, reply) in replies {
            let _ = reply.send(Reply::Abort);
            machine.handle_request_closed(now, id);
        }
        self.drop_next_request = !had_requests
            && machine
                .info()
                .is_some_and(|i| i.transport == TransportKind::Polling);
    }

    /// Sends `transmit` on its way; `true` when it woke a WebSocket writer.
    fn route(&mut self, transmit: Transmit) -> bool {
        let wrote = matches!(
            transmit,
            Transmit::Frame { .. } | Transmit::CloseWebSocket { .. }
        );
        self.send(transmit);
        wrote
    }

    fn send(&mut self, transmit: Transmit) {
        match transmit {
            Transmit::Http { id, response } => {
                if let Some(reply) = self.replies.remove(&id) {
                    let _ = reply.send(Reply::Response(response));
                }
            }
            Transmit::HttpAbort { id } => {
                if let Some(reply) = self.replies.remove(&id) {
                    let _ = reply.send(Reply::Abort);
                }
            }
            Transmit::Frame { id, frame } => {
                if let Some(out) = self.sockets.get(&id) {
                    if out.try_send(WsOut::Frame(Box::new(frame))).is_err() {
                        // A client that does not read its WebSocket is dropped
                        // rather than buffered without bound.
                        let _ = out.try_send(WsOut::Close(None));
                        self.sockets.remove(&id);
                    }
                }
            }
            Transmit::CloseWebSocket { id, code } => {
                if let Some(out) = self.sockets.remove(&id) {
                    let _ = out.try_send(WsOut::Close(code));
                }
            }
        }
    }
}

/// Starts the task of a new session whose first transport is `id`, running
/// `machine` and the application `make` builds from the session's own input
/// queue (to send itself inputs, or to be reachable by other sessions).
///
/// `first` is the reply slot of the handshake request (polling) or the
/// writer of the WebSocket (WebSocket sessions).
pub fn spawn<M, A>(
    registry: Arc<Registry>,
    sid: String,
    mut machine: M,
    id: TransportId,
    first: First,
    make: impl FnOnce(mpsc::Sender<Input>) -> A,
) -> Handle
where
    M: ServerMachine + Send + 'static,
    A: Application<M>,
{
    let (tx, mut rx) = mpsc::channel(INPUT_QUEUE);
    let mut app = make(tx.clone());
    let state = Arc::new(Mutex::new(Published {
        info: machine.info(),
        direct: None,
    }));
    let handle = Handle {
        tx,
        state: state.clone(),
    };
    registry.insert(sid.clone(), handle.clone());
    let mut routes = Routes::default();
    match first {
        First::Reply(reply) => {
            routes.replies.insert(id, reply);
        }
        First::Socket(out) => {
            routes.sockets.insert(id, out);
        }
    }
    tokio::spawn(async move {
        let mut now = Instant::now();
        // The writer published as `direct`, if any.
        let mut direct: Option<TransportId> = None;
        loop {
            app.react(&mut machine, now);
            let mut woke_writer = false;
            while let Some(t) = machine.poll_transmit() {
                woke_writer |= routes.route(t);
            }
            // Published before any other task can run (the yield below):
            // a broadcaster must not see the state before this input.
            let takes = app
                .takes_direct(&machine)
                .then(|| routes.only_socket())
                .flatten();
            if let Ok(mut slot) = state.lock() {
                slot.info = machine.info();
                if takes.map(|(id, _)| id) != direct {
                    direct = takes.map(|(id, _)| id);
                    slot.direct = takes.map(|(_, out)| out.clone());
                }
            }
            if woke_writer {
                // Lets the WebSocket writers run before the next input, so
                // frames go out in the order the session produced them
                // relative to HTTP answers (the `3probe` of a `2probe` before
                // the answer to a GET that came after it), as Node's
                // synchronous writes do.
                tokio::task::yield_now().await;
            }
            if machine.is_finished() {
                break;
            }
            let deadline = machine.poll_timeout();
            let input = tokio::select! {
                input = rx.recv() => input,
                () = sleep_until(deadline) => {
                    now = Instant::now();
                    machine.handle_timeout(now);
                    continue;
                }
            };
            now = Instant::now();
            let Some(input) = input else { break };
            apply(&mut machine, &mut app, &mut routes, now, input);
        }
        // The published writer would otherwise keep the writer waiting.
        if let Ok(mut slot) = state.lock() {
            slot.direct = None;
        }
        registry.remove(&sid);
    });
    handle
}

/// The first transport of a new session.
pub enum First {
    /// A polling handshake waiting for its response.
    Reply(oneshot::Sender<Reply>),
    /// A WebSocket writer.
    Socket(mpsc::Sender<WsOut>),
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

fn apply<M: ServerMachine, A: Application<M>>(
    machine: &mut M,
    app: &mut A,
    routes: &mut Routes,
    now: Instant,
    input: Input,
) {
    match input {
        Input::Request { id, head, reply } => {
            if std::mem::take(&mut routes.drop_next_request) {
                let _ = reply.send(Reply::Abort);
                machine.handle_request(now, id, &head.as_head());
                machine.handle_request_closed(now, id);
                return;
            }
            routes.replies.insert(id, reply);
            machine.handle_request(now, id, &head.as_head());
        }
        Input::Body { id, chunk } => machine.handle_body(now, id, &chunk),
        Input::BodyEnd { id } => machine.handle_body_end(now, id),
        Input::RequestClosed { id } => {
            routes.replies.remove(&id);
            machine.handle_request_closed(now, id);
        }
        Input::WebSocket { id, head, out } => {
            routes.sockets.insert(id, out);
            machine.handle_websocket(now, id, &head.as_head());
        }
        Input::Frame { id, frame } => machine.handle_frame(now, id, frame),
        Input::FrameTooBig { id } => machine.handle_frame_too_big(now, id),
        Input::WebSocketClosed { id } => {
            routes.sockets.remove(&id);
            machine.handle_websocket_closed(now, id);
        }
        Input::WebSocketError { id } => {
            routes.sockets.remove(&id);
            machine.handle_websocket_error(now, id);
        }
        Input::Relay(emit) => app.relay(machine, now, &emit),
        Input::DropTransport => routes.drop_transports(machine, now),
        Input::Shutdown => machine.shutdown(now),
        Input::Control(control) => match *control {
            Control::Raw(frame) => {
                // Past the machine: malformed input it would never write.
                for out in routes.sockets.values() {
                    let _ = out.try_send(WsOut::Frame(Box::new(frame.clone())));
                }
            }
            // A network failure the case asks for.
            Control::DropTransport => routes.drop_transports(machine, now),
            control => app.control(machine, now, control),
        },
    }
}
