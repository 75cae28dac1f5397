//! Peers: the implementations siospec starts itself. The reference server is
//! built in; every other one is a folder of `harness/peers/` whose
//! `peer.toml` says how to start it, what it supports and how to install it,
//! so that adding an implementation touches its folder only.
//!
//! One start/stop path serves `run`, `test` and `bench`: `Peer::start`
//! gives a `Running` server, and dropping it stops the server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use siospec_codec::session::contract;
use siospec_codec::session::socket::Parser;
use tokio::process::Command;

use crate::case::client::{Client, Serve};
use crate::process::ServerProcess;
use crate::server::{Mode, ServerThread, Serves};
use crate::suite::{Expected, Suite};
use crate::tls::{Origin, TlsFiles};
use std::sync::Arc;

/// The name of the built-in reference server.
const REFERENCE: &str = "rust";

/// What a peer's client target is called after its name: a report folder
/// may hold the same peer as a server (`python`) and as a client
/// (`python-client`).
const CLIENT_SUFFIX: &str = "-client";

/// The report target name of the peer `peer`'s client driver.
///
/// ```
/// assert_eq!(siospec::peer::client_target_name("python"), "python-client");
/// ```
pub fn client_target_name(peer: &str) -> String {
    format!("{peer}{CLIENT_SUFFIX}")
}

/// The peer a client target name stands for, if it is one.
///
/// ```
/// assert_eq!(siospec::peer::peer_of_client_target("python-client"), Some("python"));
/// assert_eq!(siospec::peer::peer_of_client_target("python"), None);
/// ```
pub fn peer_of_client_target(target: &str) -> Option<&str> {
    target.strip_suffix(CLIENT_SUFFIX)
}

/// The folder holding one folder per peer: `harness/peers` of this source tree.
fn peers_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// The Node peer's folder: `harness/peers/node` of this source tree, or
/// `$SIOSPEC_NODE_PEER`.
pub fn node_peer_dir() -> PathBuf {
    std::env::var_os("SIOSPEC_NODE_PEER").map_or_else(|| peers_root().join("node"), PathBuf::from)
}

/// A `peer.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The name on the command line and in reports; its folder's name.
    name: String,
    /// What it can be: `server` (a `[server]` table says how it runs),
    /// `client` (a `[client]` table says how its driver runs), or both.
    roles: Vec<String>,
    /// The `--target` help line.
    help: String,
    /// Errors call it "the TITLE peer (NEEDS)".
    title: String,
    needs: String,
    /// Reports call it "DESCRIPTION (VERSIONS), SETTINGS".
    description: String,
    /// A path in its folder that exists once `setup` has run.
    installed: String,
    /// What installs it, `{dir}` standing for its folder.
    setup: String,
    /// Where its versions are read from.
    versions: Versions,
    /// How it runs as a server, if it is one.
    #[serde(default)]
    server: Option<ServerSection>,
    /// How its client's driver runs (harness/CLIENT-CONTRACT.md), if it has one.
    #[serde(default)]
    client: Option<ClientSection>,
    /// Where its bugs are reported upstream. Set for a third-party
    /// implementation (neither the official one nor siospec's own): the
    /// matrix writes its deviations up as findings for that tracker.
    #[serde(default)]
    issues: Option<String>,
}

/// A peer's client driver: `program script args…` in the peer's folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSection {
    /// The program, found on PATH or, with a `/`, in the peer's folder.
    program: String,
    /// Its first argument, a file of the peer's folder (none for a program
    /// built by its setup).
    #[serde(default)]
    script: Option<String>,
    /// The arguments after it; `{url}` stands for the scripted server's base URL.
    args: Vec<String>,
    /// What reports call it.
    description: String,
    /// Its versions: these packages, read from where `versions` says.
    packages: Vec<String>,
    /// Served (`test client --serve`): the peer's folder is the page, and
    /// the program is started once on it, `{url}` standing for its address.
    #[serde(default)]
    serve: bool,
    /// Its driver has deliberately broken variants (`SIOSPEC_BREAK`).
    #[serde(default)]
    broken: bool,
    /// Its driver speaks the msgpack parser when SIOSPEC_PARSER=msgpack.
    #[serde(default)]
    msgpack: bool,
    /// Its driver trusts the CA of SIOSPEC_CA (`test client --tls`).
    #[serde(default)]
    tls: bool,
}

/// Where a peer's versions are read from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Versions {
    /// `node_modules/NAME/package.json` of these packages.
    Npm(Vec<String>),
    /// The `NAME==VERSION` pins of these packages in `requirements.txt`.
    Pip(Vec<String>),
    /// The versions of these crates in `Cargo.lock`.
    Cargo(Vec<String>),
}

impl Versions {
    /// The packages the server's versions name.
    fn packages(&self) -> &[String] {
        match self {
            Versions::Npm(p) | Versions::Pip(p) | Versions::Cargo(p) => p,
        }
    }
}

/// The version `Cargo.lock` gives the crate `name` (its first entry).
fn cargo_lock_version(lock: &str, name: &str) -> Option<String> {
    let lock: toml::Value = toml::from_str(lock).ok()?;
    lock.get("package")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(toml::Value::as_str) == Some(name))?
        .get("version")?
        .as_str()
        .map(str::to_owned)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    /// The program, found on PATH or, with a `/`, in the peer's folder.
    program: String,
    /// Its first argument, a file of the peer's folder (none for a program
    /// built by its setup).
    #[serde(default)]
    script: Option<String>,
    /// The start of the one stdout line that says it listens, the URL following.
    ready: String,
    /// The settings `run` tests it with.
    run_profile: Profile,
    /// Whether `bench` measures it.
    #[serde(default)]
    bench: bool,
    /// Its flags beyond `--addr` and `--exit-on-stdin-close`.
    #[serde(default)]
    flags: Flags,
    /// The script of its deliberately broken variant, if it has one.
    #[serde(default)]
    broken_script: Option<String>,
}

/// A server's flags for the settings siospec asks of it; `None`: it has no
/// such setting (and serves both modes, or refuses EIO=3, or has no broken
/// variant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flags {
    profile: Option<String>,
    mode: Option<String>,
    allow_eio3: Option<String>,
    /// Takes `default` or `msgpack`: the Socket.IO parser.
    parser: Option<String>,
    /// Connection state recovery on /recovery, followed by its
    /// maxDisconnectionDuration in milliseconds (harness/CONTRACT.md).
    recovery: Option<String>,
    #[serde(rename = "break")]
    broken: Option<String>,
    /// Serve HTTPS and WSS: followed by the certificate file (PEM)…
    tls_cert: Option<String>,
    /// …and by its private key's file (PEM).
    tls_key: Option<String>,
}

/// The settings a server starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Profile {
    /// The testee contract's reference configuration (`--profile suite`).
    Suite,
    /// The implementation's own defaults.
    Default,
}

/// How to start a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Launch {
    profile: Profile,
    serves: Serves,
    allow_eio3: bool,
    /// The Socket.IO parser.
    parser: Parser,
    /// In a process of its own (the reference server runs on threads of
    /// this process otherwise).
    own_process: bool,
}

/// An implementation siospec can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    // Boxed: a manifest is large beside the other targets.
    manifest: Box<Manifest>,
    /// Its folder (none for the reference server, whose program is the
    /// siospec binary).
    dir: PathBuf,
    embedded: bool,
    broken: Option<String>,
    /// Started over HTTPS and WSS, with a certificate of a throwaway CA.
    tls: bool,
}

/// A started server; dropping it stops the server (and removes the
/// certificate files it was started with).
pub(crate) struct Running {
    host: Host,
    tls: Option<Arc<TlsFiles>>,
}

enum Host {
    Process(ServerProcess),
    Thread(ServerThread),
}

impl Running {
    /// `host:port` it listens on.
    pub(crate) fn authority(&self) -> String {
        match &self.host {
            Host::Process(p) => p.authority.clone(),
            Host::Thread(t) => t.addr().to_string(),
        }
    }

    /// Where it is: `https` with the certificate's CA trusted when it was
    /// started over TLS.
    pub(crate) fn origin(&self) -> Result<Origin, String> {
        match &self.tls {
            Some(files) => Origin::parse(&format!("https://{}", self.authority()), &files.trust()),
            None => Ok(Origin::plain(self.authority())),
        }
    }

    /// Its process, when it runs in one of its own.
    pub(crate) fn process(&self) -> Option<&ServerProcess> {
        match &self.host {
            Host::Process(p) => Some(p),
            Host::Thread(_) => None,
        }
    }
}

impl Peer {
    /// The reference server: on threads of this process for `run`, as
    /// `siospec serve` for `bench`, whose figures must be the server's alone.
    /// Its client is `siospec client` (the codec's client machine).
    pub fn reference() -> Peer {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("siospec"));
        Peer {
            manifest: Box::new(Manifest {
                name: REFERENCE.to_owned(),
                roles: vec!["server".to_owned(), "client".to_owned()],
                help: "The embedded Rust reference server".to_owned(),
                title: "reference".to_owned(),
                needs: "siospec serve".to_owned(),
                description: "siospec reference server".to_owned(),
                installed: String::new(),
                setup: String::new(),
                versions: Versions::Npm(Vec::new()),
                server: Some(ServerSection {
                    program: exe.display().to_string(),
                    script: Some("serve".to_owned()),
                    ready: "listening on ".to_owned(),
                    run_profile: Profile::Suite,
                    bench: true,
                    flags: Flags {
                        profile: Some("--profile".to_owned()),
                        mode: Some("--mode".to_owned()),
                        allow_eio3: Some("--allow-eio3".to_owned()),
                        parser: Some("--parser".to_owned()),
                        recovery: Some("--recovery".to_owned()),
                        broken: None,
                        tls_cert: Some("--tls-cert".to_owned()),
                        tls_key: Some("--tls-key".to_owned()),
                    },
                    broken_script: None,
                }),
                client: Some(ClientSection {
                    program: exe.display().to_string(),
                    script: None,
                    args: vec!["client".to_owned(), "{url}".to_owned()],
                    description: "siospec reference client (siospec-codec ClientConnection)"
                        .to_owned(),
                    packages: Vec::new(),
                    serve: false,
                    broken: false,
                    msgpack: true,
                    tls: true,
                }),
                issues: None,
            }),
            dir: PathBuf::new(),
            embedded: true,
            broken: None,
            tls: false,
        }
    }

    /// The peer called `name`: the reference server (`rust`) or the one
    /// `harness/peers/NAME/peer.toml` describes, in that folder or in
    /// `$SIOSPEC_NAME_PEER`. A peer that is a client only is found too (for
    /// [`Peer::client`]); starting it as a server is an error.
    pub fn named(name: &str) -> Result<Peer, String> {
        if name == REFERENCE {
            return Ok(Peer::reference());
        }
        let home = peers_root().join(name);
        let manifest = read_manifest(&home)?;
        let dir = std::env::var_os(format!("SIOSPEC_{}_PEER", name.to_uppercase()))
            .map_or(home, PathBuf::from);
        Ok(Peer {
            manifest: Box::new(manifest),
            dir,
            embedded: false,
            broken: None,
            tls: false,
        })
    }

    /// Every server peer, the reference server first: name and `--target`
    /// help line (peers that are clients only are left out).
    pub fn available() -> Vec<(String, String)> {
        let mut found: Vec<Manifest> = std::fs::read_dir(peers_root())
            .into_iter()
            .flatten()
            .filter_map(|e| read_manifest(&e.ok()?.path()).ok())
            .filter(|m| m.server.is_some())
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        std::iter::once(*Peer::reference().manifest)
            .chain(found)
            .map(|m| (m.name, m.help))
            .collect()
    }

    /// Every peer, servers and clients: the reference server first, then
    /// the folders of harness/peers by name.
    pub fn all() -> Vec<Peer> {
        let mut names: Vec<String> = std::fs::read_dir(peers_root())
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let path = e.ok()?.path();
                read_manifest(&path).ok().map(|m| m.name)
            })
            .collect();
        names.sort();
        std::iter::once(Peer::reference())
            .chain(names.iter().filter_map(|n| Peer::named(n).ok()))
            .collect()
    }

    /// Whether it can be tested as a server.
    pub fn is_server(&self) -> bool {
        self.manifest.server.is_some()
    }

    /// Whether it has a client driver.
    pub fn is_client(&self) -> bool {
        self.manifest.client.is_some()
    }

    /// Its upstream issue tracker: `Some` for a third-party implementation.
    pub fn issues(&self) -> Option<&str> {
        self.manifest.issues.as_deref()
    }

    /// This peer installed in `dir` instead (`--node-peer DIR`); for the
    /// reference peer, the siospec binary `bench` starts and its client runs.
    pub fn in_dir(mut self, dir: PathBuf) -> Peer {
        if self.embedded {
            let m = &mut self.manifest;
            for program in [
                m.server.as_mut().map(|s| &mut s.program),
                m.client.as_mut().map(|c| &mut c.program),
            ]
            .into_iter()
            .flatten()
            {
                *program = dir.display().to_string();
            }
        } else {
            self.dir = dir;
        }
        self
    }

    /// Its deliberately broken variant that breaks the rule family `family`.
    pub fn broken(mut self, family: &str) -> Result<Peer, String> {
        if !self.has_broken_server() {
            let have: Vec<String> = Peer::available()
                .into_iter()
                .filter(|(n, _)| Peer::named(n).is_ok_and(|p| p.has_broken_server()))
                .map(|(n, _)| format!("--target {n}"))
                .collect();
            return Err(format!("--break applies to {} only", have.join(", ")));
        }
        self.broken = Some(family.to_owned());
        Ok(self)
    }

    fn has_broken_server(&self) -> bool {
        self.manifest
            .server
            .as_ref()
            .is_some_and(|s| s.flags.broken.is_some())
    }

    /// How it runs as a server: an error for a peer that is a client only.
    fn server(&self) -> Result<&ServerSection, String> {
        self.manifest.server.as_ref().ok_or_else(|| {
            format!(
                "{} is not a server (roles: {:?}); `siospec test client --target {}` tests it",
                self.manifest.name, self.manifest.roles, self.manifest.name
            )
        })
    }

    /// The settings `run` starts it with (its own defaults when it is no server).
    fn run_profile(&self) -> Profile {
        self.manifest
            .server
            .as_ref()
            .map_or(Profile::Default, |s| s.run_profile)
    }

    /// Its folder (empty for the reference server, which has none).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its name in reports (`node`, `node-broken-FAMILY`).
    pub fn name(&self) -> String {
        match &self.broken {
            Some(b) => format!("{}-broken-{b}", self.manifest.name),
            None => self.manifest.name.clone(),
        }
    }

    /// Whether `bench` measures it.
    pub fn benched(&self) -> bool {
        self.manifest.server.as_ref().is_some_and(|s| s.bench)
    }

    /// Names of the peers `bench` measures.
    pub fn benched_names() -> Vec<String> {
        Peer::available()
            .into_iter()
            .filter(|(n, _)| Peer::named(n).is_ok_and(|p| p.benched()))
            .map(|(n, _)| n)
            .collect()
    }

    /// One line for reports: what it is, its versions, its settings.
    pub fn description(&self) -> String {
        let versions = if self.embedded {
            "embedded".to_owned()
        } else {
            self.versions(self.manifest.versions.packages())
        };
        let settings = match (&self.broken, self.run_profile()) {
            (Some(b), _) => format!("deliberately broken: {b}"),
            (None, Profile::Suite) => "--profile suite".to_owned(),
            (None, Profile::Default) => "default settings".to_owned(),
        };
        let tls = if self.tls { ", over TLS" } else { "" };
        format!(
            "{} ({versions}), {settings}{tls}",
            self.manifest.description
        )
    }

    /// The timeouts no handshake advertises, as `run` starts it.
    pub fn known(&self) -> Expected {
        match self.run_profile() {
            Profile::Suite => Expected::reference(),
            // No handshake advertises connectTimeout or upgradeTimeout: on
            // its own defaults, the official ones are the best guess (and
            // python-engineio's upgradeTimeout is engine.io's).
            Profile::Default => Expected::OFFICIAL_DEFAULTS,
        }
    }

    /// Its client driver as a client target (`test client --target NAME`);
    /// `family` picks the deliberately broken driver (`SIOSPEC_BREAK`).
    pub fn client(&self, family: Option<&str>) -> Result<Client, String> {
        let Some(c) = &self.manifest.client else {
            return Err(format!(
                "{} has no client driver (roles: {:?})",
                self.manifest.name, self.manifest.roles
            ));
        };
        if family.is_some() && !c.broken {
            return Err(format!(
                "{}'s client driver has no deliberately broken variants (--break is for \
                 testing siospec itself, with --target node)",
                self.manifest.name
            ));
        }
        let (program, versions) = if self.embedded {
            (PathBuf::from(&c.program), "embedded".to_owned())
        } else {
            (
                self.installed_program(&c.program)?,
                self.versions(&c.packages),
            )
        };
        let (name, settings, env) = match family {
            Some(f) => (
                format!("{}-broken-{f}", client_target_name(&self.manifest.name)),
                format!(", deliberately broken: {f}"),
                vec![("SIOSPEC_BREAK".to_owned(), f.to_owned())],
            ),
            None => (
                client_target_name(&self.manifest.name),
                String::new(),
                Vec::new(),
            ),
        };
        Ok(Client {
            name,
            description: format!("{} ({versions}){settings}", c.description),
            program,
            args: (c.script.iter())
                .map(|s| self.dir.join(s).display().to_string())
                .chain(c.args.iter().cloned())
                .collect(),
            // The reference client has no folder: it runs where siospec does.
            dir: (!self.embedded).then(|| self.dir.clone()),
            env,
            serve: c.serve.then(|| Serve {
                addr: ([127, 0, 0, 1], 0).into(),
                files: Some(self.dir.clone()),
                launch: true,
                remote: None,
            }),
            msgpack: c.msgpack,
            takes_ca: c.tls,
            tls: None,
        })
    }

    /// `NAME VERSION` of these npm packages, as installed in its folder.
    fn npm_versions(&self, packages: &[String]) -> String {
        packages
            .iter()
            .map(|p| {
                let version =
                    std::fs::read(self.dir.join("node_modules").join(p).join("package.json"))
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .and_then(|v| v.get("version")?.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "?".to_owned());
                format!("{p} {version}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `NAME VERSION` of these packages, read from where the manifest's
    /// `versions` says (npm's folders, requirements.txt or Cargo.lock).
    fn versions(&self, packages: &[String]) -> String {
        let read = |file: &str| std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        let pinned = |version: &dyn Fn(&str) -> Option<String>| {
            packages
                .iter()
                .map(|p| format!("{p} {}", version(p).unwrap_or_else(|| "?".to_owned())))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.manifest.versions {
            Versions::Npm(_) => self.npm_versions(packages),
            Versions::Pip(_) => {
                let pins = read("requirements.txt");
                pinned(&|p| {
                    pins.lines()
                        .find_map(|l| l.trim().strip_prefix(&format!("{p}==")))
                        .map(str::to_owned)
                })
            }
            Versions::Cargo(_) => {
                let lock = read("Cargo.lock");
                pinned(&|p| cargo_lock_version(&lock, p))
            }
        }
    }

    /// What `run` starts for `suite`: servers that differ only in settings
    /// this peer does not have are the same server.
    fn launch_for(&self, suite: Suite, parser: Parser) -> Result<Launch, String> {
        let server = self.server()?;
        if parser != Parser::Default && server.flags.parser.is_none() {
            return Err(format!(
                "the {} peer has no {parser} parser (its peer.toml gives no `parser` flag)",
                self.manifest.title
            ));
        }
        Ok(Launch {
            profile: server.run_profile,
            // Both modes on one port: a peer without --mode serves both anyway.
            serves: Serves::Both,
            allow_eio3: suite.server().allow_eio3 && server.flags.allow_eio3.is_some(),
            parser,
            own_process: false,
        })
    }

    /// Starts one server per distinct configuration `suites` need, for `run`
    /// and `test`; where each suite's server is.
    pub(crate) async fn start_for(
        &self,
        suites: &[Suite],
        parser: Parser,
    ) -> Result<(Vec<Running>, Vec<(Suite, Origin)>), String> {
        let tls = self.tls_files()?;
        let mut started: Vec<(Launch, Running)> = Vec::new();
        let mut by_suite = Vec::new();
        for &suite in suites {
            let launch = self.launch_for(suite, parser)?;
            let origin = match started.iter().find(|(l, _)| *l == launch) {
                Some((_, r)) => r.origin()?,
                None => {
                    let r = self.start(launch, tls.clone()).await?;
                    let origin = r.origin()?;
                    started.push((launch, r));
                    origin
                }
            };
            by_suite.push((suite, origin));
        }
        Ok((started.into_iter().map(|(_, r)| r).collect(), by_suite))
    }

    /// Starts it for `bench`: Socket.IO only, the implementation's default
    /// timings (the suite profile's 300 ms heartbeat would make a thousand
    /// idle clients a ping storm), in a process of its own so that the CPU
    /// time and memory read from /proc are the server's alone.
    pub(crate) async fn start_for_load(&self) -> Result<Running, String> {
        let tls = self.tls_files()?;
        self.start(
            Launch {
                profile: Profile::Default,
                serves: Serves::Only(Mode::Socket),
                allow_eio3: false,
                parser: Parser::Default,
                own_process: true,
            },
            tls,
        )
        .await
    }

    /// The one start path: on threads of this process (the reference
    /// server, unless a process is asked for) or as a process of the peer's
    /// command with the contract's start flags.
    async fn start(&self, launch: Launch, tls: Option<Arc<TlsFiles>>) -> Result<Running, String> {
        if self.embedded && !launch.own_process {
            return start_embedded(launch, tls).await;
        }
        let server = self.server()?;
        let what = if self.embedded {
            "the reference server".to_owned()
        } else {
            format!("the {} peer ({})", self.manifest.title, self.manifest.needs)
        };
        let mut cmd = self.command()?;
        match (&self.broken, &server.broken_script, &server.flags.broken) {
            (Some(family), Some(script), Some(flag)) => cmd.args([script, flag, family]),
            _ => cmd.args(&server.script),
        };
        cmd.args(["--addr", "127.0.0.1:0", "--exit-on-stdin-close"]);
        if let (Profile::Suite, Some(flag)) = (launch.profile, &server.flags.profile) {
            cmd.arg(flag).arg("suite");
        }
        if let Some(flag) = &server.flags.mode {
            cmd.arg(flag).arg(match launch.serves {
                Serves::Both => "both",
                Serves::Only(Mode::Socket) => "socket",
                Serves::Only(Mode::Engine) => "engine",
            });
        }
        if let (true, Some(flag)) = (launch.allow_eio3, &server.flags.allow_eio3) {
            cmd.arg(flag);
        }
        if let (Parser::Msgpack, Some(flag)) = (launch.parser, &server.flags.parser) {
            cmd.arg(flag).arg(launch.parser.name());
        }
        // The suites' server offers recovery on its own namespace, which
        // leaves the others as they are; a server without the flag is the
        // same server, and the recovery cases find that out on the wire.
        if let (Profile::Suite, Some(flag)) = (launch.profile, &server.flags.recovery) {
            cmd.arg(flag)
                .arg(contract::RECOVERY_DURATION.as_millis().to_string());
        }
        if let (Some(files), Some(cert), Some(key)) =
            (&tls, &server.flags.tls_cert, &server.flags.tls_key)
        {
            cmd.arg(cert).arg(&files.cert).arg(key).arg(&files.key);
        }
        let process = ServerProcess::spawn(cmd, &server.ready, &what).await?;
        Ok(Running {
            host: Host::Process(process),
            tls,
        })
    }

    /// The same peer started over HTTPS and WSS (`--tls`): a throwaway CA
    /// signs its certificate, and the run trusts that CA. An error for a
    /// peer whose peer.toml gives no `tls_cert` and `tls_key` flags.
    pub fn over_tls(mut self) -> Result<Peer, String> {
        let server = self.server()?;
        if server.flags.tls_cert.is_none() || server.flags.tls_key.is_none() {
            return Err(format!(
                "the {} peer cannot serve TLS (its peer.toml gives no `tls_cert` and `tls_key` flags)",
                self.manifest.title
            ));
        }
        self.tls = true;
        Ok(self)
    }

    /// Whether it is started over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Over TLS, the certificate files its servers of one run present.
    fn tls_files(&self) -> Result<Option<Arc<TlsFiles>>, String> {
        match self.tls {
            true => TlsFiles::new().map(|files| Some(Arc::new(files))),
            false => Ok(None),
        }
    }

    /// Whether its server can be started with the msgpack parser (its
    /// manifest gives a `parser` flag).
    pub fn has_msgpack_server(&self) -> bool {
        self.server().is_ok_and(|s| s.flags.parser.is_some())
    }

    /// `program` as the peer runs it, once its setup has installed what it
    /// needs: a relative program with a `/` is the folder's own (its venv's
    /// interpreter), which Command would resolve against our directory.
    fn installed_program(&self, program: &str) -> Result<PathBuf, String> {
        let dir = &self.dir;
        if !dir.join(&self.manifest.installed).exists() {
            return Err(format!(
                "the {} peer's packages are not installed: {}",
                self.manifest.title,
                self.manifest
                    .setup
                    .replace("{dir}", &dir.display().to_string())
            ));
        }
        Ok(if program.contains('/') {
            dir.join(program)
        } else {
            PathBuf::from(program)
        })
    }

    /// Its program in its folder, once the folder holds its script and what
    /// its setup installs.
    fn command(&self) -> Result<Command, String> {
        let server = self.server()?;
        if self.embedded {
            return Ok(Command::new(&server.program));
        }
        let dir = &self.dir;
        if let Some(script) = server.script.as_ref().filter(|s| !dir.join(s).is_file()) {
            return Err(format!(
                "no {} peer at {} ({script} missing)",
                self.manifest.title,
                dir.display(),
            ));
        }
        let program = self.installed_program(&server.program)?;
        let mut cmd = Command::new(program);
        cmd.current_dir(dir);
        Ok(cmd)
    }
}

/// The reference server on a thread of this process.
async fn start_embedded(launch: Launch, tls: Option<Arc<TlsFiles>>) -> Result<Running, String> {
    let options = match launch.profile {
        Profile::Suite => crate::server::Options::suite(launch.serves),
        Profile::Default => crate::server::Options::standard(launch.serves),
    };
    let mut options = options;
    options.engine.allow_eio3 = launch.allow_eio3;
    options.socket.parser = launch.parser;
    if launch.profile == Profile::Suite {
        options.recovery = Some(contract::RECOVERY_DURATION);
    }
    options.tls = tls.as_ref().map(|files| files.server.clone());
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = tokio::task::spawn_blocking(move || ServerThread::start(addr, options))
        .await
        .map_err(|e| format!("reference server: {e}"))?
        .map_err(|e| format!("reference server: cannot listen: {e}"))?;
    Ok(Running {
        host: Host::Thread(server),
        tls,
    })
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join("peer.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if dir.file_name().is_some_and(|f| *f != *manifest.name) {
        return Err(format!(
            "{}: name {:?} is not its folder's",
            path.display(),
            manifest.name
        ));
    }
    for (role, has) in [
        ("server", manifest.server.is_some()),
        ("client", manifest.client.is_some()),
    ] {
        if manifest.roles.iter().any(|r| r == role) != has {
            return Err(format!(
                "{}: the role {role:?} and a [{role}] table go together (roles: {:?})",
                path.display(),
                manifest.roles
            ));
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_reads() {
        let names: Vec<String> = Peer::available().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "rust", "the reference server comes first");
        for committed in ["node", "python", "socketioxide"] {
            assert!(names.iter().any(|n| n == committed), "{names:?}");
        }
        for n in &names {
            let peer = Peer::named(n).expect("reads");
            assert_eq!(&peer.name(), n);
            assert!(peer.manifest.roles.iter().any(|r| r == "server"));
        }
        // A built program: no script, versions from its committed Cargo.lock.
        let built = Peer::named("socketioxide").expect("reads");
        assert!(
            !built.description().contains('?'),
            "{}",
            built.description()
        );
    }

    #[test]
    fn settings_a_peer_lacks_do_not_start_another_server() {
        let d = Parser::Default;
        let python = Peer::named("python").expect("reads");
        assert_eq!(
            python.launch_for(Suite::Eio4, d),
            python.launch_for(Suite::Sio4, d)
        );
        let node = Peer::named("node").expect("reads");
        assert_ne!(
            node.launch_for(Suite::Eio4, d),
            node.launch_for(Suite::Eio3, d)
        );
        assert_eq!(
            node.launch_for(Suite::Eio4, d),
            node.launch_for(Suite::Sio5, d)
        );
    }

    #[test]
    fn a_parser_a_peer_lacks_is_an_error_that_says_so() {
        // Every committed server speaks msgpack: one whose manifest has no
        // `parser` flag.
        let mut without = Peer::named("python").expect("reads");
        if let Some(server) = without.manifest.server.as_mut() {
            server.flags.parser = None;
        }
        let e = without
            .launch_for(Suite::Sio5, Parser::Msgpack)
            .unwrap_err();
        assert!(e.contains("no msgpack parser"), "{e}");
        let node = Peer::named("node").expect("reads");
        assert_ne!(
            node.launch_for(Suite::Sio5, Parser::Msgpack),
            node.launch_for(Suite::Sio5, Parser::Default)
        );
    }

    #[test]
    fn every_client_manifest_reads() {
        let mut clients: Vec<Manifest> = std::fs::read_dir(peers_root())
            .expect("harness/peers")
            .map(|e| read_manifest(&e.expect("entry").path()))
            .filter_map(|m| m.ok().filter(|m| m.client.is_some()))
            .collect();
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<&str> = clients.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["browser", "node", "python", "rust_socketio"]);
        // Versions from committed pins (node's are read from node_modules).
        for (name, first) in [
            ("python", "python-socketio "),
            ("rust_socketio", "rust_socketio "),
        ] {
            let m = clients.iter().find(|m| m.name == name).expect("listed");
            let peer = Peer::named(name).expect("reads");
            let versions = peer.versions(&m.client.as_ref().expect("client").packages);
            assert!(versions.starts_with(first), "{versions}");
            assert!(!versions.contains('?'), "{versions}");
        }
        // A client only: found for `test client`, not offered as a server.
        let rust = Peer::named("rust_socketio").expect("reads");
        assert!(rust.server().is_err());
        assert!(!Peer::available().iter().any(|(n, _)| n == "rust_socketio"));
        // The reference peer is both: its client is this binary's `client`.
        let reference = Peer::named("rust")
            .and_then(|p| p.client(None))
            .expect("the reference peer has a client");
        assert_eq!(reference.name, "rust-client");
        assert_eq!(reference.args, ["client", "{url}"]);
        assert_eq!(reference.dir, None);
        assert!(
            reference.description.ends_with("(embedded)"),
            "{}",
            reference.description
        );
    }

    #[test]
    fn cargo_lock_versions_read() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.2.3\"\n\n\
                    [[package]]\nname = \"b\"\nversion = \"0.6.0\"\n";
        assert_eq!(cargo_lock_version(lock, "b").as_deref(), Some("0.6.0"));
        assert_eq!(cargo_lock_version(lock, "c"), None);
    }
}
