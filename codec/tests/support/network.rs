//! The server side of the in-memory networks the session beds run on
//! (`session_suites.rs`, `session_testbed.rs`): one endpoint, its sessions
//! with the testee contract on top (`siospec_codec::session::contract`), and
//! the WebSocket routes, on the beds' virtual time. Each bed moves what
//! comes out ([`Output`]) on its own terms (at once, or after a latency).

use std::collections::BTreeMap;
use std::time::Instant;

use siospec_codec::session::contract::{self, Contract, Effect, Emit, Rooms};
use siospec_codec::session::engine::{
    Endpoint, Event as EioEvent, Rejection, ServerConfig, ServerSession, Transmit, Verdict,
};
use siospec_codec::session::socket::{ServerConnection, ServerEvent, ServerOptions};
use siospec_codec::session::{HttpResponse, RequestHead, ServerMachine, TransportId};

/// xorshift64*: a seed's only source of variation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A 20-character base64id-like session id.
    pub fn sid(&mut self) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..20)
            .map(|_| char::from(A[self.below(64) as usize]))
            .collect()
    }
}

/// Which contract mode the server runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Engine.IO echo.
    Engine,
    /// The Socket.IO contract.
    Socket,
}

/// One session: its machine, and the contract's state for it.
pub enum Hosted {
    Engine(Box<ServerSession>),
    Socket(Box<ServerConnection>, Contract),
}

impl Hosted {
    pub fn machine(&self) -> &dyn ServerMachine {
        match self {
            Hosted::Engine(s) => s.as_ref(),
            Hosted::Socket(c, _) => c.as_ref(),
        }
    }

    pub fn machine_mut(&mut self) -> &mut dyn ServerMachine {
        match self {
            Hosted::Engine(s) => s.as_mut(),
            Hosted::Socket(c, _) => c.as_mut(),
        }
    }
}

/// What became of a request (a polling one, or a WebSocket's).
pub enum Arrival {
    /// A CORS preflight, answered.
    Preflight(HttpResponse),
    /// Refused by the endpoint.
    Rejected(Rejection),
    /// A handshake opened this session (not pumped yet).
    Opened(String),
    /// Handed to this session (not pumped yet), whose timer was due at
    /// `deadline` before.
    Session {
        sid: String,
        deadline: Option<Instant>,
    },
}

/// What a session produced, in the order it did.
#[derive(Debug)]
pub enum Output {
    Transmit(Transmit),
    Engine(EioEvent),
    Socket(ServerEvent),
}

pub struct Servers {
    pub endpoint: Endpoint,
    mode: Mode,
    options: ServerOptions,
    pub sessions: BTreeMap<String, Hosted>,
    /// Which session each open WebSocket belongs to.
    pub ws_routes: BTreeMap<TransportId, String>,
    rooms: Rooms,
}

impl Servers {
    pub fn new(config: ServerConfig, mode: Mode, options: ServerOptions) -> Self {
        Servers {
            endpoint: Endpoint::new(config),
            mode,
            options,
            sessions: BTreeMap::new(),
            ws_routes: BTreeMap::new(),
            rooms: Rooms::default(),
        }
    }

    /// Verifies request `id` and hands it to its session, or opens one
    /// (whose id `rng` draws). `body` is a POST's whole body.
    pub fn arrive(
        &mut self,
        now: Instant,
        id: TransportId,
        head: &RequestHead<'_>,
        body: Option<&[u8]>,
        rng: &mut Rng,
    ) -> Arrival {
        let sessions = &self.sessions;
        let verdict = self.endpoint.verify(head, |sid| {
            sessions.get(sid).and_then(|h| h.machine().info())
        });
        match verdict {
            Verdict::Preflight(response) => Arrival::Preflight(response),
            Verdict::Reject(r) => Arrival::Rejected(r),
            Verdict::Handshake(h) => match h.accept() {
                Err(r) => Arrival::Rejected(r),
                Ok(open) => {
                    let sid = rng.sid();
                    let config = self.endpoint.config().clone();
                    let engine = ServerSession::new(now, config, sid.clone(), open, id, head);
                    let hosted = match self.mode {
                        Mode::Engine => Hosted::Engine(Box::new(engine)),
                        Mode::Socket => Hosted::Socket(
                            Box::new(ServerConnection::new(now, engine, self.options)),
                            Contract::default(),
                        ),
                    };
                    if head.websocket {
                        self.ws_routes.insert(id, sid.clone());
                    }
                    self.sessions.insert(sid.clone(), hosted);
                    Arrival::Opened(sid)
                }
            },
            Verdict::Session(req) => {
                let mut deadline = None;
                if let Some(h) = self.sessions.get_mut(&req.sid) {
                    let m = h.machine_mut();
                    deadline = m.poll_timeout();
                    match body {
                        _ if head.websocket => {
                            self.ws_routes.insert(id, req.sid.clone());
                            m.handle_websocket(now, id, head);
                        }
                        Some(body) => m.handle_post(now, id, head, body),
                        None => m.handle_request(now, id, head),
                    }
                }
                Arrival::Session {
                    sid: req.sid,
                    deadline,
                }
            }
        }
    }

    /// The earliest timer of any session.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sessions
            .values()
            .filter_map(|h| h.machine().poll_timeout())
            .min()
    }

    /// The sessions whose timer is due at `now`.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|(_, h)| h.machine().poll_timeout().is_some_and(|t| t <= now))
            .map(|(sid, _)| sid.clone())
            .collect()
    }

    /// Drains session `sid` and runs the contract on its events until it is
    /// quiet, then carries the relayed emits to their sessions and drains
    /// those. Returns everything produced, by session, in order.
    pub fn pump(&mut self, now: Instant, sid: &str) -> Vec<(String, Output)> {
        let mut out = Vec::new();
        let mut relays = Vec::new();
        for _ in 0..1000 {
            let Some(hosted) = self.sessions.get_mut(sid) else {
                break;
            };
            while let Some(t) = hosted.machine_mut().poll_transmit() {
                if let Transmit::CloseWebSocket { id, .. } = t {
                    self.ws_routes.remove(&id);
                }
                out.push((sid.to_owned(), Output::Transmit(t)));
            }
            let before = out.len();
            match hosted {
                Hosted::Engine(s) => {
                    while let Some(e) = s.poll_event() {
                        contract::echo(s, now, &e);
                        out.push((sid.to_owned(), Output::Engine(e)));
                    }
                }
                Hosted::Socket(c, app) => {
                    while let Some(e) = c.poll_event() {
                        match app.handle(c, &mut self.rooms, now, &e) {
                            Some(Effect::Relay { to, emit, .. }) => relays.push((to, emit)),
                            Some(Effect::DropTransport) => {
                                panic!("the in-memory network has no transport to drop")
                            }
                            None => {}
                        }
                        out.push((sid.to_owned(), Output::Socket(e)));
                    }
                }
            }
            if out.len() == before {
                break;
            }
        }
        for (to, emit) in relays {
            for other in to {
                out.extend(self.relay(now, &other, &emit));
            }
        }
        out
    }

    fn relay(&mut self, now: Instant, sid: &str, emit: &Emit) -> Vec<(String, Output)> {
        if let Some(Hosted::Socket(c, _)) = self.sessions.get_mut(sid) {
            emit.apply(c, now);
        }
        self.pump(now, sid)
    }

    /// Forgets session `sid` once it has closed; returns what it still had
    /// to write.
    pub fn sweep(&mut self, sid: &str) -> Vec<Transmit> {
        if !self
            .sessions
            .get(sid)
            .is_some_and(|h| h.machine().is_closed())
        {
            return Vec::new();
        }
        let mut rest = Vec::new();
        if let Some(mut hosted) = self.sessions.remove(sid) {
            while let Some(t) = hosted.machine_mut().poll_transmit() {
                rest.push(t);
            }
        }
        self.ws_routes.retain(|_, s| s != sid);
        rest
    }
}
