//! A cluster siospec starts itself: Debian's `redis-server` on a free
//! loopback port, and nodes sharing it: the reference server (`rust`,
//! in-process, `siospec serve --redis`'s server) and the Node peer (`node`,
//! harness/peers/node with @socket.io/redis-adapter, `--redis`). Everything
//! stops when the [`Cluster`] is dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::process::ServerProcess;
use crate::reference::{serve, ServeOptions, Served};
use crate::server::{ClusterOptions, Options, Serves};

/// The kinds of node siospec can start. For testing siospec itself, also
/// `rust-alone` (a reference server that joins no cluster) and
/// `node-broken:FAMILY` (the Node peer's broken variant, `--break FAMILY`).
pub const KINDS: [&str; 2] = ["rust", "node"];

/// A Redis server of our own.
pub struct Redis {
    /// Owned so that Redis stops with it (`kill_on_drop`).
    _child: Child,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
}

impl Redis {
    /// Starts `redis-server` on a free port, without persistence; ready
    /// once it accepts connections. A port found free may be taken before
    /// Redis binds it (Redis cannot pick one itself): then another is tried.
    pub async fn start() -> Result<Redis, String> {
        let binary = ["/usr/bin/redis-server", "/usr/sbin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let mut exited = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut child = Command::new(&binary)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot start {}: {e}; install Debian's redis-server (harness/deploy/setup \
                         does it as root: apt-get install -y redis-server)",
                        binary.display()
                    )
                })?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return Ok(Redis {
                        _child: child,
                        url: format!("redis://127.0.0.1:{port}"),
                    });
                }
                if let Ok(Some(status)) = child.try_wait() {
                    exited = format!("redis-server exited at start on port {port} ({status})");
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("redis-server did not listen on {port} within 10 s"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Err(exited)
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// One running node.
enum Running {
    Rust(Served),
    Node(ServerProcess),
}

impl Running {
    /// Where it listens.
    fn addr(&self) -> Result<SocketAddr, String> {
        match self {
            Running::Rust(served) => Ok(served.addr()),
            Running::Node(process) => process
                .authority
                .parse()
                .map_err(|e| format!("the node's address {}: {e}", process.authority)),
        }
    }
}

/// A node: its kind, its address (kept over restarts) and the server.
struct Node {
    kind: String,
    addr: SocketAddr,
    running: Option<Running>,
}

/// Redis and the nodes, started by siospec. The nodes stop first (fields
/// drop in order), so none sees Redis go away under it.
pub struct Cluster {
    nodes: Vec<Node>,
    /// The Redis server they share.
    pub redis: Redis,
    node_peer: PathBuf,
}

impl Cluster {
    /// Redis, then one node of each kind of `kinds` (`rust`, `node`), in
    /// order; `node_peer` is harness/peers/node.
    pub async fn start(kinds: &[String], node_peer: PathBuf) -> Result<Cluster, String> {
        if kinds.len() < 2 {
            return Err("a cluster needs at least two nodes".to_owned());
        }
        let redis = Redis::start().await?;
        let mut cluster = Cluster {
            nodes: Vec::new(),
            redis,
            node_peer,
        };
        for kind in kinds {
            let known = KINDS.contains(&kind.as_str())
                || kind == "rust-alone"
                || kind.starts_with("node-broken:");
            if !known {
                return Err(format!("unknown node kind {kind:?} (known: rust, node)"));
            }
            // Port 0: the node takes a free port itself; a restart takes it again.
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            let running = cluster.launch(kind, any).await?;
            cluster.nodes.push(Node {
                kind: kind.clone(),
                addr: running.addr()?,
                running: Some(running),
            });
        }
        Ok(cluster)
    }

    async fn launch(&self, kind: &str, addr: SocketAddr) -> Result<Running, String> {
        match kind {
            "rust" | "rust-alone" => {
                let mut options = Options::standard(Serves::Both);
                if kind == "rust" {
                    options.cluster = Some(ClusterOptions::new(&self.redis.url));
                }
                let served = tokio::task::spawn_blocking(move || {
                    serve(ServeOptions::from_options(addr, options))
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("the reference server node did not start: {e}"))?;
                Ok(Running::Rust(served))
            }
            _ => {
                if !self
                    .node_peer
                    .join("node_modules/@socket.io/redis-adapter")
                    .exists()
                {
                    return Err(format!(
                        "the Node peer is not installed: run `npm ci` in {}",
                        self.node_peer.display()
                    ));
                }
                let mut cmd = Command::new("node");
                cmd.current_dir(&self.node_peer);
                match kind.strip_prefix("node-broken:") {
                    Some(family) => cmd.args(["broken/server.js", "--break", family]),
                    None => cmd.arg("server.js"),
                };
                cmd.args([
                    "--addr",
                    &addr.to_string(),
                    "--redis",
                    &self.redis.url,
                    "--exit-on-stdin-close",
                ]);
                ServerProcess::spawn(cmd, "listening on ", "the Node peer node")
                    .await
                    .map(Running::Node)
            }
        }
    }

    /// The nodes' URLs, in order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("http://{}", n.addr))
            .collect()
    }

    /// The nodes' kinds, in order.
    pub fn kinds(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.kind.clone()).collect()
    }

    /// Stops node `n` and starts it again on the same address.
    pub async fn restart(&mut self, n: usize) -> Result<(), String> {
        let (kind, addr) = {
            let node = self
                .nodes
                .get_mut(n)
                .ok_or_else(|| format!("no node {n}"))?;
            match node.running.take() {
                Some(Running::Rust(served)) => {
                    tokio::task::spawn_blocking(move || served.stop())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Some(Running::Node(process)) => drop(process),
                None => {}
            }
            (node.kind.clone(), node.addr)
        };
        // The port is free again once the old process or listener is gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        let running = loop {
            match self.launch(&kind, addr).await {
                Ok(r) => break r,
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        self.nodes[n].running = Some(running);
        Ok(())
    }
}
