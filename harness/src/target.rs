//! Targets: a server given by URL, the official Node server (the peer in
//! `harness/peers/node`, started here on a free port), and the embedded Rust
//! reference server, which plugs in through [`EmbeddedServer`].

use crate::process::{node_peer_command, ServerProcess, NODE_PEER};
use crate::runner::Endpoint;
use crate::suite::{Mode, ServerConfig, Suite};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

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
    _peers: Vec<ServerProcess>,
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
                let mut peers: Vec<(ServerConfig, ServerProcess)> = Vec::new();
                for &s in suites {
                    let config = s.server();
                    let authority = match peers.iter().find(|(c, _)| *c == config) {
                        Some((_, p)) => p.authority.clone(),
                        None => {
                            let p = start_node_peer(dir, config, broken.as_deref()).await?;
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

/// Starts the Node peer's `server.js` (or `broken/server.js --break
/// FAMILY`) in `dir` for `config`, with the suite profile.
pub async fn start_node_peer(
    dir: &Path,
    config: ServerConfig,
    broken: Option<&str>,
) -> Result<ServerProcess, String> {
    let mut cmd = node_peer_command(dir)?;
    match broken {
        Some(family) => cmd.args(["broken/server.js", "--break", family]),
        None => cmd.arg("server.js"),
    };
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
    ServerProcess::spawn(cmd, NODE_PEER).await
}
