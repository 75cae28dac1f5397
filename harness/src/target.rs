//! What siospec tests: servers already running, given by URL, or an
//! implementation it starts itself (a [`Peer`]). `run`, `test server` and
//! `bench` all take this one type.

use crate::case::client::{Client, Launched};
use crate::case::remote::Remote;
use crate::peer::{Peer, Running};
pub use crate::probe::Paths;
use crate::probe::{self, Probed};
use crate::runner::Plan;
use crate::suite::{Expected, Suite};
use std::collections::BTreeMap;

use crate::tls::{Origin, Trust};
use siospec_codec::session::socket::Parser;

/// What to test.
#[derive(Debug, Clone)]
pub enum Target {
    /// Servers already running, given by URL.
    Url(Urls),
    /// An implementation siospec starts, and stops when the run ends.
    Peer(Peer),
    /// A client, started by every client case against its scripted server.
    Client(Client),
}

/// Servers given by URL: one for every suite, or per suite.
#[derive(Debug, Clone)]
pub struct Urls {
    /// Report name.
    pub name: String,
    /// URL for every suite without its own.
    pub default: Option<String>,
    /// Per-suite URLs.
    pub per_suite: BTreeMap<Suite, String>,
    /// The Socket.IO and engine paths to probe.
    pub paths: Paths,
    /// The timeouts no handshake advertises (connectTimeout, upgradeTimeout).
    pub known: Expected,
    /// How `https://` servers' certificates are checked (`--ca`, `--insecure`).
    pub trust: Trust,
}

impl Urls {
    /// Servers from `--url` values: `http://HOST:PORT[/PATH/]` for every
    /// suite without its own, `SUITE=URL` for one suite. A path in a URL
    /// replaces `paths.socket`.
    ///
    /// ```
    /// use siospec::suite::{Expected, Suite};
    /// use siospec::target::{Paths, Urls};
    ///
    /// let urls = ["http://127.0.0.1:3000/chat/".to_owned(), "eio3=http://127.0.0.1:3001".to_owned()];
    /// let u = Urls::parse("server", &urls, Paths::default(), Expected::OFFICIAL_DEFAULTS).unwrap();
    /// assert_eq!(u.default.as_deref(), Some("http://127.0.0.1:3000/chat/"));
    /// assert_eq!(u.per_suite[&Suite::Eio3], "http://127.0.0.1:3001");
    /// assert_eq!(u.paths.socket, "/chat/");
    /// ```
    pub fn parse(
        name: &str,
        urls: &[String],
        mut paths: Paths,
        known: Expected,
    ) -> Result<Urls, String> {
        let mut default = None;
        let mut per_suite = BTreeMap::new();
        for u in urls {
            let suite_url = u.split_once('=').filter(|(s, _)| !s.contains('/'));
            let url = suite_url.map_or(u.as_str(), |(_, url)| url);
            if let Some(path) = path_of(url) {
                paths.socket = path;
            }
            match suite_url {
                Some((s, url)) => {
                    let suite = Suite::parse(s)
                        .ok_or_else(|| format!("unknown suite {s:?} in --url {u:?}"))?;
                    per_suite.insert(suite, url.to_owned());
                }
                None => default = Some(u.clone()),
            }
        }
        Ok(Urls {
            name: name.to_owned(),
            default,
            per_suite,
            paths,
            known,
            trust: Trust::default(),
        })
    }
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
    /// The servers started for the run; dropping them stops them.
    _servers: Vec<Running>,
    /// A served client's program started for the run (a browser).
    _launched: Option<Launched>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .field("plans", &self.plans)
            .finish()
    }
}

/// The authority (`host:port`) of an `http`, `https`, `ws` or `wss` URL.
pub fn authority_of(url: &str) -> Result<String, String> {
    let (rest, _) = crate::tls::split_scheme(url).ok_or_else(|| {
        format!("URL must start with http://, https://, ws:// or wss://: {url:?}")
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || !authority.contains(':') {
        return Err(format!("URL must name a host and a port: {url:?}"));
    }
    Ok(authority.to_owned())
}

/// The path of a URL, if it names one other than `/`
/// (`http://host:3000/socket.io/` → `/socket.io/`), with both slashes.
pub fn path_of(url: &str) -> Option<String> {
    let (rest, _) = crate::tls::split_scheme(url)?;
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

/// Probes each distinct server once; the plans of `suites` and the findings.
async fn probe_all(
    by_suite: &BTreeMap<Suite, Origin>,
    paths: &Paths,
    known: &Expected,
    parser: Parser,
) -> Result<(BTreeMap<Suite, Plan>, Vec<String>), String> {
    let mut probed: Vec<Probed> = Vec::new();
    let mut plans = BTreeMap::new();
    for (&suite, origin) in by_suite {
        let i = match probed.iter().position(|p| &p.origin == origin) {
            Some(i) => i,
            None => {
                probed.push(probe::probe(origin, paths).await.map_err(|r| r.0)?);
                probed.len() - 1
            }
        };
        plans.insert(suite, probed[i].plan(suite, known, parser));
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

impl Target {
    /// Its name in reports.
    pub fn name(&self) -> String {
        match self {
            Target::Url(urls) => urls.name.clone(),
            Target::Peer(peer) => peer.name(),
            Target::Client(client) => client.name.clone(),
        }
    }

    /// Starts what is needed for `suites` and probes it.
    pub(crate) async fn prepare(
        &self,
        suites: &[Suite],
        parser: Parser,
    ) -> Result<Prepared, String> {
        match self {
            Target::Client(client) if parser != Parser::Default && !client.msgpack => Err(format!(
                "{}'s driver does not speak the {parser} parser (no `msgpack = true` in its \
                 peer.toml [client] table)",
                client.name
            )),
            Target::Client(client) => prepare_client(client, suites).await,
            Target::Url(Urls {
                name,
                default,
                per_suite,
                paths,
                known,
                trust,
            }) => {
                let mut by_suite = BTreeMap::new();
                for &s in suites {
                    let url = per_suite
                        .get(&s)
                        .or(default.as_ref())
                        .ok_or_else(|| format!("no URL for suite {}", s.name()))?;
                    by_suite.insert(s, Origin::parse(url, trust)?);
                }
                let (plans, findings) = probe_all(&by_suite, paths, known, parser).await?;
                let mut authorities: Vec<String> = by_suite.values().map(Origin::url).collect();
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
                    _servers: Vec::new(),
                    _launched: None,
                })
            }
            Target::Peer(peer) => {
                let (servers, by_suite) = peer.start_for(suites, parser).await?;
                let by_suite = by_suite.into_iter().collect();
                let (plans, findings) =
                    probe_all(&by_suite, &Paths::default(), &peer.known(), parser).await?;
                Ok(Prepared {
                    name: peer.name(),
                    description: peer.description(),
                    plans,
                    findings,
                    _servers: servers,
                    _launched: None,
                })
            }
        }
    }
}

/// A client target: a command is probed (it must make a request); a served
/// client gets its control server, and its program started on it.
async fn prepare_client(client: &Client, suites: &[Suite]) -> Result<Prepared, String> {
    let plans = |client: &Client| {
        suites
            .iter()
            .map(|&s| (s, Plan::Client(client.clone())))
            .collect()
    };
    let Some(serve) = &client.serve else {
        let finding = crate::case::client::probe(client).await?;
        return Ok(Prepared {
            name: client.name.clone(),
            description: client.description.clone(),
            plans: plans(client),
            findings: vec![finding],
            _servers: Vec::new(),
            _launched: None,
        });
    };
    let remote = Remote::bind(serve.addr, serve.files.clone())
        .await
        .map_err(|e| format!("cannot serve client cases on {}: {e}", serve.addr))?;
    let mut served = client.clone();
    let url = remote.url();
    if let Some(s) = served.serve.as_mut() {
        s.remote = Some(remote);
    }
    let launched = if serve.launch {
        Some(Launched::start(client, &url)?)
    } else {
        None
    };
    let finding = if serve.launch {
        format!(
            "client: served at {url}, opened there by `{} {}` (client contract {})",
            client.program.display(),
            client.args.join(" "),
            crate::case::client::CLIENT_CONTRACT
        )
    } else {
        format!(
            "client: served at {url} (client contract {}, harness/CLIENT-CONTRACT.md \"Serve mode\")",
            crate::case::client::CLIENT_CONTRACT
        )
    };
    Ok(Prepared {
        name: client.name.clone(),
        description: client.description.clone(),
        plans: plans(&served),
        findings: vec![finding],
        _servers: Vec::new(),
        _launched: launched,
    })
}
