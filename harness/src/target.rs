//! Targets: a server given by URL, the official Node server (the peer in
//! `harness/peers/node`, started here on a free port), and the embedded Rust
//! reference server, which plugs in through [`EmbeddedServer`].

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::runner::Endpoint;
use crate::suite::{Mode, ServerConfig, Suite};

/// A started server; dropping it stops the server.
pub trait RunningServer: Send {
    /// `host:port` it listens on.
    fn authority(&self) -> String;
}

/// What [`EmbeddedServer::start`] returns.
pub type StartFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn RunningServer>, String>> + Send + 'a>>;

/// A server the runner can start in-process, one per [`ServerConfig`].
///
/// `siospec run --target rust` asks [`embedded`] for it. The reference server
/// (`siospec serve`, harness/src/server/) implements this trait and is
/// returned from [`embedded`]: that one function is the whole plug.
pub trait EmbeddedServer: Send + Sync {
    /// Starts a server with the testee contract in `config`'s mode, the
    /// suite profile (`--profile suite`), on `127.0.0.1:0`.
    fn start(&self, config: ServerConfig) -> StartFuture<'_>;
}

/// The embedded reference server.
pub fn embedded() -> Box<dyn EmbeddedServer> {
    Box::new(crate::server::Embedded)
}

/// Which server to test.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// Servers given by URL: one for every suite, or per suite.
    Url {
        /// Report name.
        name: String,
        /// URL for every suite without its own.
        default: Option<String>,
        /// Per-suite URLs.
        per_suite: BTreeMap<Suite, String>,
    },
    /// The official Node server, started once per suite configuration.
    Node {
        /// The peer folder (with server.js and node_modules).
        dir: PathBuf,
        /// A deliberately broken variant (`broken/server.js --break FAMILY`).
        broken: Option<String>,
    },
    /// The embedded Rust reference server.
    Rust,
}

/// A prepared target: an endpoint per suite, and the servers kept alive.
pub struct Prepared {
    /// Report name (`node`, `rust`, or the `--name`).
    pub name: String,
    /// One-line description for reports.
    pub description: String,
    /// Where each suite's server is.
    pub endpoints: BTreeMap<Suite, Endpoint>,
    _peers: Vec<NodePeer>,
    _embedded: Vec<Box<dyn RunningServer>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

/// The authority (`host:port`) of an `http://` or `ws://` URL.
pub fn authority_of(url: &str) -> Result<String, String> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|p| url.strip_prefix(p))
        .ok_or_else(|| format!("URL must start with http:// or ws://: {url:?}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || !authority.contains(':') {
        return Err(format!("URL must name a host and a port: {url:?}"));
    }
    Ok(authority.to_owned())
}

/// The default peer folder: `harness/peers/node` of this source tree.
pub fn default_node_dir() -> PathBuf {
    std::env::var_os("SIOSPEC_NODE_PEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/node"))
}

impl TargetSpec {
    /// Starts what is needed for `suites`.
    pub async fn prepare(&self, suites: &[Suite]) -> Result<Prepared, String> {
        match self {
            TargetSpec::Url {
                name,
                default,
                per_suite,
            } => {
                let mut endpoints = BTreeMap::new();
                for &s in suites {
                    let url = per_suite
                        .get(&s)
                        .or(default.as_ref())
                        .ok_or_else(|| format!("no URL for suite {}", s.name()))?;
                    endpoints.insert(
                        s,
                        Endpoint {
                            authority: authority_of(url)?,
                        },
                    );
                }
                Ok(Prepared {
                    name: name.clone(),
                    description: format!(
                        "server at {}",
                        endpoints
                            .iter()
                            .map(|(s, e)| format!("{}={}", s.name(), e.authority))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    endpoints,
                    _peers: Vec::new(),
                    _embedded: Vec::new(),
                })
            }
            TargetSpec::Node { dir, broken } => {
                let mut endpoints = BTreeMap::new();
                let mut peers: Vec<(ServerConfig, NodePeer)> = Vec::new();
                for &s in suites {
                    let config = s.server();
                    let authority = match peers.iter().find(|(c, _)| *c == config) {
                        Some((_, p)) => p.authority.clone(),
                        None => {
                            let p = NodePeer::start(dir, config, broken.as_deref()).await?;
                            let a = p.authority.clone();
                            peers.push((config, p));
                            a
                        }
                    };
                    endpoints.insert(s, Endpoint { authority });
                }
                Ok(Prepared {
                    name: match broken {
                        Some(b) => format!("node-broken-{b}"),
                        None => "node".to_owned(),
                    },
                    description: match broken {
                        Some(b) => format!("official Node server (socket.io 4.8.4, engine.io 6.6.12), deliberately broken: {b}"),
                        None => "official Node server (socket.io 4.8.4, engine.io 6.6.12), --profile suite".to_owned(),
                    },
                    endpoints,
                    _peers: peers.into_iter().map(|(_, p)| p).collect(),
                    _embedded: Vec::new(),
                })
            }
            TargetSpec::Rust => {
                let server = embedded();
                let mut endpoints = BTreeMap::new();
                let mut running: Vec<(ServerConfig, Box<dyn RunningServer>)> = Vec::new();
                for &s in suites {
                    let config = s.server();
                    let authority = match running.iter().find(|(c, _)| *c == config) {
                        Some((_, r)) => r.authority(),
                        None => {
                            let r = server.start(config).await?;
                            let a = r.authority();
                            running.push((config, r));
                            a
                        }
                    };
                    endpoints.insert(s, Endpoint { authority });
                }
                Ok(Prepared {
                    name: "rust".to_owned(),
                    description: "siospec reference server (embedded), --profile suite".to_owned(),
                    endpoints,
                    _peers: Vec::new(),
                    _embedded: running.into_iter().map(|(_, r)| r).collect(),
                })
            }
        }
    }
}

/// A running Node peer; killed when dropped (and it exits by itself when its
/// stdin closes, should this process die first).
#[derive(Debug)]
pub struct NodePeer {
    /// `host:port` it listens on.
    pub authority: String,
    _child: Child,
    _stdin: Option<ChildStdin>,
}

impl NodePeer {
    /// Starts `server.js` (or `broken/server.js --break FAMILY`) in `dir` for `config`.
    pub async fn start(
        dir: &Path,
        config: ServerConfig,
        broken: Option<&str>,
    ) -> Result<NodePeer, String> {
        if !dir.join("server.js").is_file() {
            return Err(format!(
                "no Node peer at {} (server.js missing)",
                dir.display()
            ));
        }
        if !dir.join("node_modules").is_dir() {
            return Err(format!(
                "the Node peer's packages are not installed: run `npm ci` in {} (scripts/test does it), e.g. `(cd {} && npm ci)`",
                dir.display(),
                dir.display()
            ));
        }
        let mut cmd = Command::new("node");
        cmd.current_dir(dir);
        match broken {
            Some(family) => {
                cmd.args(["broken/server.js", "--break", family]);
            }
            None => {
                cmd.arg("server.js");
            }
        }
        cmd.args([
            "--addr",
            "127.0.0.1:0",
            "--exit-on-stdin-close",
            "--profile",
            "suite",
            "--mode",
        ]);
        cmd.arg(match config.mode {
            Mode::Engine => "engine",
            Mode::Socket => "socket",
        });
        if config.allow_eio3 {
            cmd.arg("--allow-eio3");
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            format!("cannot start `node` (is Node.js 18+ installed and on PATH?): {e}")
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        // Keep draining stderr so the peer never blocks on it; keep the start for errors.
        let (err_tx, err_rx) = tokio::sync::oneshot::channel::<String>();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            let mut tx = Some(err_tx);
            loop {
                match stderr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if head.len() < 8192 {
                            head.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        let line = match line {
            Ok(Ok(Some(l))) => l,
            other => {
                let _ = child.start_kill();
                let stderr_text = tokio::time::timeout(Duration::from_secs(2), err_rx)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                return Err(format!(
                    "the Node peer did not start ({}){}",
                    match other {
                        Err(_) => "no `listening on` line within 20 s".to_owned(),
                        Ok(Err(e)) => e.to_string(),
                        _ => "it exited".to_owned(),
                    },
                    if stderr_text.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", stderr_text.trim())
                    }
                ));
            }
        };
        let url = line
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("unexpected first line from the Node peer: {line:?}"))?;
        // Drain the rest of stdout.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(NodePeer {
            authority: authority_of(url)?,
            _child: child,
            _stdin: stdin,
        })
    }
}
