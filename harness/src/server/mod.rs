//! The reference server (`siospec serve`): the codec's session machines on
//! tokio, hyper (HTTP long-polling) and tokio-tungstenite (WebSocket).
//!
//! This module moves bytes and arms timers; every protocol decision is the
//! machines' ([`siospec_codec::session`]). One task per session owns its
//! machine (`session`); the HTTP service verifies each request with the
//! [`Endpoint`] and hands it to the session's task; the testee contract
//! (harness/CONTRACT.md) runs on top (`app`).
//!
//! The server runs on a single-threaded runtime of its own
//! ([`ServerThread`]): requests that arrive on different connections are then
//! handled in the order they arrive, as in Node's event loop. The official
//! suites depend on that order (a POST `1` racing a GET; a `5` over the
//! WebSocket racing a polling GET).

mod app;
mod cluster;
mod head;
mod http;
pub mod script;
mod session;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use siospec_codec::session::contract::{self, Rooms};
use siospec_codec::session::engine::{Endpoint, NodeHabits, ServerConfig};
use siospec_codec::session::socket::ServerOptions;
use siospec_codec::session::TransportId;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

pub use crate::suite::Mode;
pub use cluster::ClusterOptions;
use session::{Input, Registry};

/// Which modes a server serves, each at its path (`/socket.io/`, `/engine.io/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// The Socket.IO contract and the bare Engine.IO echo, on one port.
    Both,
    /// One mode only.
    Only(Mode),
}

impl Serves {
    /// The mode whose path `path` is under, if this server serves it.
    pub fn mode_of(self, path: &str) -> Option<Mode> {
        [Mode::Socket, Mode::Engine]
            .into_iter()
            .filter(|&m| self == Serves::Both || self == Serves::Only(m))
            .find(|m| path.starts_with(m.default_path()))
    }
}

/// Everything `siospec serve` configures.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to serve.
    pub serves: Serves,
    /// The Engine.IO configuration.
    pub engine: ServerConfig,
    /// The Socket.IO configuration.
    pub socket: ServerOptions,
    /// Connection state recovery on [`contract::RECOVERY_NAMESPACE`], with
    /// this maxDisconnectionDuration; `None`: no namespace has it.
    pub recovery: Option<Duration>,
    /// Serve HTTPS and WSS with this certificate instead of plain HTTP.
    pub tls: Option<crate::tls::ServerTls>,
    /// Be a node of a cluster over Redis (`--redis`).
    pub cluster: Option<ClusterOptions>,
}

impl Options {
    /// engine.io's and socket.io's default configuration (pingInterval
    /// 25000, pingTimeout 20000, connectTimeout 45000, no CORS), following
    /// the protocol text where the official server has habits of its own.
    pub fn standard(serves: Serves) -> Self {
        Options {
            serves,
            engine: ServerConfig::default(),
            socket: ServerOptions::default(),
            recovery: None,
            tls: None,
            cluster: None,
        }
        .with_node_habits(false)
    }

    /// The testee contract's reference configuration
    /// ([`contract::Config::reference`]), following the protocol text.
    pub fn suite(serves: Serves) -> Self {
        let reference = contract::Config::reference();
        Options {
            serves,
            engine: reference.engine,
            socket: reference.socket,
            recovery: None,
            tls: None,
            cluster: None,
        }
        .with_node_habits(false)
    }

    /// Reproduce (`true`) or not the official server's habits where the
    /// protocol text says otherwise or nothing ([`NodeHabits`], and
    /// [`ServerOptions::v5_connect_error_on_v4`]).
    pub fn with_node_habits(mut self, on: bool) -> Self {
        self.engine.habits = if on {
            NodeHabits::NODE
        } else {
            NodeHabits::NONE
        };
        self.socket.v5_connect_error_on_v4 = on;
        self
    }
}

/// State every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) options: Options,
    pub(crate) endpoint: Endpoint,
    pub(crate) registry: Arc<Registry>,
    /// Socket mode's namespaces and rooms, which its sessions share.
    pub(crate) rooms: Arc<Mutex<Rooms>>,
    /// Client mode's script: socket-mode sessions run under it instead of
    /// the testee contract.
    pub(crate) script: Option<Arc<script::Script>>,
    /// The other nodes of the cluster, when it is one's node.
    pub(crate) cluster: Option<Arc<cluster::Cluster>>,
    next_transport: AtomicU64,
}

impl Shared {
    pub(crate) fn transport_id(&self) -> TransportId {
        TransportId(self.next_transport.fetch_add(1, Ordering::Relaxed))
    }
}

/// A server on the current runtime; [`Server::shutdown`] stops it, and so
/// does dropping it.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub async fn start(addr: SocketAddr, options: Options) -> std::io::Result<Server> {
        Server::start_with(addr, options, None).await
    }

    /// A scripted server for client mode: socket-mode sessions run under
    /// `script` ([`script::Scripted`]) instead of the testee contract.
    pub async fn scripted(
        addr: SocketAddr,
        options: Options,
        script: Arc<script::Script>,
    ) -> std::io::Result<Server> {
        Server::start_with(addr, options, Some(script)).await
    }

    async fn start_with(
        addr: SocketAddr,
        options: Options,
        script: Option<Arc<script::Script>>,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let rooms = options
            .recovery
            .map_or_else(Rooms::default, Rooms::with_recovery);
        let rooms = Arc::new(Mutex::new(rooms));
        let registry = Arc::new(Registry::default());
        let (stop, mut stopped) = watch::channel(false);
        let cluster = match &options.cluster {
            Some(cluster) => Some(
                cluster::Cluster::join(
                    cluster,
                    rooms.clone(),
                    registry.clone(),
                    options.socket.parser == siospec_codec::session::socket::Parser::Default,
                    stop.subscribe(),
                )
                .await?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            endpoint: Endpoint::new(options.engine.clone()),
            options,
            registry,
            rooms,
            script,
            cluster,
            next_transport: AtomicU64::new(1),
        });
        let accept_shared = shared.clone();
        let tls = accept_shared.options.tls.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => match (accepted, &tls) {
                        (Ok((stream, _)), None) => {
                            let _ = stream.set_nodelay(true);
                            http::serve_connection(stream, accept_shared.clone());
                        }
                        (Ok((stream, _)), Some(tls)) => {
                            // The handshake on a task of its own: a client
                            // that never finishes one holds up nobody.
                            let (tls, shared) = (tls.clone(), accept_shared.clone());
                            tokio::spawn(async move {
                                let _ = stream.set_nodelay(true);
                                match tls.accept(stream).await {
                                    Ok(stream) => http::serve_connection(stream, shared),
                                    // A client refusing the certificate ends here.
                                    Err(e) => if let Some(script) = &shared.script {
                                        script.tls_failed(e.to_string());
                                    },
                                }
                            });
                        }
                        // Out of file descriptors and the like: wait, then go on.
                        (Err(_), _) => tokio::time::sleep(Duration::from_millis(10)).await,
                    },
                    _ = stopped.changed() => break,
                }
            }
        });
        Ok(Server { addr, stop, shared })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many Engine.IO sessions are open.
    pub fn sessions(&self) -> usize {
        self.shared.registry.len()
    }

    /// Stops accepting, closes every session (reason `forced close`) and
    /// waits up to `grace` for them to finish.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        for tx in self.shared.registry.all() {
            let _ = tx.send(Input::Shutdown).await;
        }
        let deadline = tokio::time::Instant::now() + grace;
        while self.shared.registry.len() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for tx in self.shared.registry.all() {
            let _ = tx.try_send(Input::Shutdown);
        }
    }
}

/// How long a stopping server lets its sessions say goodbye.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A server running on a thread of its own with a single-threaded runtime.
/// Dropping it (or [`ServerThread::stop`]) shuts the server down and waits
/// for the thread.
pub struct ServerThread {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Starts a server on `addr` (port 0 picks a free port).
    pub fn start(addr: SocketAddr, options: Options) -> std::io::Result<ServerThread> {
        let (ready, bound) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("siospec-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Server::start(addr, options).await {
                        Ok(server) => {
                            let _ = ready.send(Ok(server.addr()));
                            let _ = stopped.await;
                            server.shutdown(SHUTDOWN_GRACE).await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })?;
        let addr = bound
            .recv()
            .map_err(|_| std::io::Error::other("the server thread ended before binding"))??;
        Ok(ServerThread {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts the server down and waits for its thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.halt();
    }
}
