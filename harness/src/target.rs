//! Targets: a server given by URL, the official Node server (the peer in
//! `harness/peers/node`, started here on a free port), and the embedded Rust
//! reference server, which plugs in through [`EmbeddedServer`].

use crate::probe::{self, Paths, Probed};
use crate::process::{
    node_peer_command, python_peer_command, ServerProcess, NODE_PEER, PYTHON_PEER,
};
use crate::runner::Plan;
use crate::suite::{Expected, ServerConfig, Suite};
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
    /// Starts a server with the testee contract in both modes, `config`'s
    /// options and the suite profile (`--profile suite`), on `127.0.0.1:0`.
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
        /// The Socket.IO and engine paths to probe.
        paths: Paths,
        /// The timeouts no handshake advertises (connectTimeout, upgradeTimeout).
        known: Expected,
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
    /// python-socketio (harness/peers/python) on its default settings.
    Python {
        /// The peer folder (with server.py and .venv).
        dir: PathBuf,
    },
}

/// A prepared target: a plan per suite, and the servers kept alive.
pub struct Prepared {
    /// Report name (`node`, `rust`, or the `--name`).
    pub name: String,
    /// One-line description for reports.
    pub description: String,
    /// What each suite runs against.
    pub plans: BTreeMap<Suite, Plan>,
    /// What the probe found, one line each; heads the report.
    pub findings: Vec<String>,
    _peers: Vec<ServerProcess>,
    _embedded: Vec<Box<dyn RunningServer>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .field("plans", &self.plans)
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

/// The path of an `http://` or `ws://` URL, if it names one other than `/`
/// (`http://host:3000/socket.io/` → `/socket.io/`), with both slashes.
pub fn path_of(url: &str) -> Option<String> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|p| url.strip_prefix(p))?;
    let path = rest.split(['?', '#']).next()?;
    let path = &path[path.find('/')?..];
    if path == "/" {
        return None;
    }
    Some(if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    })
}

/// The default peer folder: `harness/peers/node` of this source tree.
pub fn default_node_dir() -> PathBuf {
    std::env::var_os("SIOSPEC_NODE_PEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/node"))
}

/// The default Python peer folder: `harness/peers/python` of this source tree.
pub fn default_python_dir() -> PathBuf {
    std::env::var_os("SIOSPEC_PYTHON_PEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python"))
}

/// Probes each distinct authority once; the plans of `suites` and the findings.
async fn probe_all(
    by_suite: &BTreeMap<Suite, String>,
    paths: &Paths,
    known: &Expected,
) -> Result<(BTreeMap<Suite, Plan>, Vec<String>), String> {
    let mut probed: Vec<Probed> = Vec::new();
    let mut plans = BTreeMap::new();
    for (&suite, authority) in by_suite {
        let i = match probed.iter().position(|p| &p.authority == authority) {
            Some(i) => i,
            None => {
                probed.push(probe::probe(authority, paths).await.map_err(|r| r.0)?);
                probed.len() - 1
            }
        };
        plans.insert(suite, probed[i].plan(suite, known));
    }
    let mut findings: Vec<String> = probed.into_iter().flat_map(|p| p.findings).collect();
    for (suite, plan) in &plans {
        if let Plan::Absent { verdict, reason } = plan {
            findings.push(format!("{}: every case {verdict}: {reason}", suite.name()));
        }
    }
    let reference = Expected::reference();
    let differs: Vec<String> = plans
        .values()
        .filter_map(|p| match p {
            Plan::At(e)
                if e.conf.ping_interval != reference.ping_interval
                    || e.conf.ping_timeout != reference.ping_timeout
                    || e.conf.max_payload != reference.max_payload =>
            {
                Some(format!(
                    "pingInterval {} ms, pingTimeout {} ms, maxPayload {} at {}",
                    e.conf.ping_interval, e.conf.ping_timeout, e.conf.max_payload, e.path
                ))
            }
            _ => None,
        })
        .collect();
    if let Some(first) = differs.first() {
        findings.push(format!(
            "timings: the server advertises {first}, not the contract's reference configuration \
             (300 ms, 200 ms, 1000000 bytes); every case judges against the advertised values"
        ));
    }
    Ok((plans, findings))
}

impl TargetSpec {
    /// Starts what is needed for `suites` and probes it.
    pub async fn prepare(&self, suites: &[Suite]) -> Result<Prepared, String> {
        match self {
            TargetSpec::Url {
                name,
                default,
                per_suite,
                paths,
                known,
            } => {
                let mut by_suite = BTreeMap::new();
                for &s in suites {
                    let url = per_suite
                        .get(&s)
                        .or(default.as_ref())
                        .ok_or_else(|| format!("no URL for suite {}", s.name()))?;
                    by_suite.insert(s, authority_of(url)?);
                }
                let (plans, findings) = probe_all(&by_suite, paths, known).await?;
                let mut authorities: Vec<&String> = by_suite.values().collect();
                authorities.dedup();
                Ok(Prepared {
                    name: name.clone(),
                    description: format!(
                        "server at {}",
                        authorities
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    plans,
                    findings,
                    _peers: Vec::new(),
                    _embedded: Vec::new(),
                })
            }
            TargetSpec::Node { dir, broken } => {
                let mut by_suite = BTreeMap::new();
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
                    by_suite.insert(s, authority);
                }
                let (plans, findings) =
                    probe_all(&by_suite, &Paths::default(), &Expected::reference()).await?;
                Ok(Prepared {
                    name: match broken {
                        Some(b) => format!("node-broken-{b}"),
                        None => "node".to_owned(),
                    },
                    description: match broken {
                        Some(b) => format!(
                            "official Node server ({}), deliberately broken: {b}",
                            installed_versions(dir)
                        ),
                        None => format!(
                            "official Node server ({}), --profile suite",
                            installed_versions(dir)
                        ),
                    },
                    plans,
                    findings,
                    _peers: peers.into_iter().map(|(_, p)| p).collect(),
                    _embedded: Vec::new(),
                })
            }
            TargetSpec::Python { dir } => {
                let mut cmd = python_peer_command(dir)?;
                cmd.args([
                    "server.py",
                    "--addr",
                    "127.0.0.1:0",
                    "--exit-on-stdin-close",
                ]);
                let peer = ServerProcess::spawn(cmd, PYTHON_PEER).await?;
                let by_suite = suites
                    .iter()
                    .map(|&s| (s, peer.authority.clone()))
                    .collect();
                // python-socketio has no connectTimeout; engine.io's
                // upgradeTimeout default is also python-engineio's.
                let (plans, findings) =
                    probe_all(&by_suite, &Paths::default(), &Expected::OFFICIAL_DEFAULTS).await?;
                Ok(Prepared {
                    name: "python".to_owned(),
                    description: format!(
                        "python-socketio ({}), default settings",
                        pinned_versions(&dir.join("requirements.txt"))
                    ),
                    plans,
                    findings,
                    _peers: vec![peer],
                    _embedded: Vec::new(),
                })
            }
            TargetSpec::Rust => {
                let server = embedded();
                let mut by_suite = BTreeMap::new();
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
                    by_suite.insert(s, authority);
                }
                let (plans, findings) =
                    probe_all(&by_suite, &Paths::default(), &Expected::reference()).await?;
                Ok(Prepared {
                    name: "rust".to_owned(),
                    description: "siospec reference server (embedded), --profile suite".to_owned(),
                    plans,
                    findings,
                    _peers: Vec::new(),
                    _embedded: running.into_iter().map(|(_, r)| r).collect(),
                })
            }
        }
    }
}

/// `socket.io X, engine.io Y`, as installed in the peer folder `dir`.
pub fn installed_versions(dir: &Path) -> String {
    let version = |package: &str| {
        std::fs::read(dir.join("node_modules").join(package).join("package.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("version")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    };
    format!(
        "socket.io {}, engine.io {}",
        version("socket.io"),
        version("engine.io")
    )
}

/// `python-socketio X, python-engineio Y, aiohttp Z`, as pinned in `requirements`.
fn pinned_versions(requirements: &Path) -> String {
    let text = std::fs::read_to_string(requirements).unwrap_or_default();
    ["python-socketio", "python-engineio", "aiohttp"]
        .iter()
        .map(|name| {
            let version = text
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{name}==")))
                .unwrap_or("?");
            format!("{name} {version}")
        })
        .collect::<Vec<_>>()
        .join(", ")
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
        "both",
    ]);
    if config.allow_eio3 {
        cmd.arg("--allow-eio3");
    }
    ServerProcess::spawn(cmd, NODE_PEER).await
}
