//! The interoperability matrix: every implementation siospec can start
//! ([`Peer::all`]), servers through the server suites and clients through
//! the client cases, in one report folder.
//!
//! `siospec matrix` runs the [`entries`] one after another into `runs/` of
//! its folder (an ordinary conformance report: `runs/index.json`, a page per
//! case and target, `runs/report.html`), then [`write()`] reads that back and
//! adds `index.json` (schema [`SCHEMA`]), `matrix.md`, `matrix.html` and
//! `findings.md`.
//!
//! A finding is a third-party implementation's non-OK verdict that its
//! baseline (`harness/baselines/TARGET.json`) accepts: the baseline entry
//! is the record that someone checked it by hand, and says what was seen.
//! A non-OK verdict without one is listed as unchecked, never as a finding.

mod findings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::Baseline;
use crate::case::{Case, Verdict};
use crate::peer::Peer;
use crate::report::{self, Index, TargetRun};
use crate::target::Target;
use siospec_codec::session::socket::Parser;

pub use findings::{official_words, Finding, FindingCase, Unchecked};

/// The schema name of the matrix's `index.json`.
pub const SCHEMA: &str = "siospec-matrix/1";

/// The official implementation: the ground truth findings compare with.
pub const OFFICIAL: &str = "node";

/// Where each run's conformance report goes, inside the matrix's folder.
pub const RUNS_DIR: &str = "runs";

/// What a finding is and how its severity reads, heading the findings.
pub const FINDINGS_NOTE: &str =
    "Each finding is a third-party implementation's deviation from the \
protocol text, checked by hand (its baseline entry, in harness/baselines/, says what was seen), \
written to be filed upstream. Interop-breaking: normal use with the official client or server \
meets it, and data is lost or corrupted, a call never completes, or a session hangs or ends late. \
Spec-only: only a test, or a peer stricter than the official one, notices.";

/// `--max-wait` of the quick form, in seconds: a case waiting longer on the
/// implementation's own timers (python-socketio's defaults: 25 s + 20 s) is
/// SKIPPED, and a SKIPPED case is compared with nothing.
pub const QUICK_MAX_WAIT_S: u64 = 5;

/// Client drivers run at the same time: a driver starved of CPU misses the
/// scripted server's 300 ms + 200 ms heartbeat.
pub const CLIENT_JOBS: usize = 4;

/// The folder of the baselines (`harness/baselines`).
pub fn baselines_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines")
}

/// What an implementation is tested as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Through the server suites.
    Server,
    /// Through the client cases.
    Client,
}

impl Role {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// Who made an implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The official implementation, the ground truth.
    Official,
    /// siospec's own.
    Reference,
    /// Anyone else's: its deviations are findings.
    ThirdParty,
}

/// One run of the matrix: an implementation in one role.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The peer's name.
    pub implementation: String,
    /// What it is tested as.
    pub role: Role,
    /// What to start.
    pub target: Target,
    /// Its accepted deviations, when it has a baseline file.
    pub baseline: Option<PathBuf>,
    /// Cases run at the same time.
    pub jobs: usize,
    /// The single command that runs the same, for reports.
    pub command: String,
    /// The Socket.IO parser the cases speak.
    pub parser: Parser,
}

/// The baseline file of a report target (`harness/baselines/TARGET.json`,
/// the implementation's for a msgpack run), if any.
pub fn baseline_of(target: &str) -> Option<PathBuf> {
    let target = crate::runner::implementation_of(target).unwrap_or(target);
    let path = baselines_dir().join(format!("{target}.json"));
    path.is_file().then_some(path)
}

/// The report target name of a peer in a role (`python`, `python-client`).
pub fn target_name(implementation: &str, role: Role) -> String {
    match role {
        Role::Server => implementation.to_owned(),
        Role::Client => crate::peer::client_target_name(implementation),
    }
}

/// Every implementation in every role it has, servers first, each in
/// peer order (the reference first); `only` (peer names, or target names
/// such as `python-client`) keeps some. A peer whose client cannot be
/// prepared (not installed) is an error that says what to run.
pub fn entries(only: &[String]) -> Result<Vec<Entry>, String> {
    let peers = Peer::all();
    for name in only {
        let name = crate::runner::implementation_of(name).unwrap_or(name);
        let known = peers.iter().any(|p| {
            *name == p.name()
                || *name == target_name(&p.name(), Role::Server)
                || *name == target_name(&p.name(), Role::Client)
        });
        if !known {
            let names: Vec<String> = peers.iter().map(Peer::name).collect();
            return Err(format!(
                "--only {name}: no such implementation (known: {})",
                names.join(", ")
            ));
        }
    }
    let wanted = |peer: &str, role: Role, parser: Parser| {
        let target = match parser {
            Parser::Default => target_name(peer, role),
            _ => format!(
                "{}{}",
                target_name(peer, role),
                crate::runner::MSGPACK_SUFFIX
            ),
        };
        only.is_empty() || only.iter().any(|o| o == peer || *o == target)
    };
    let mut out = Vec::new();
    for role in [Role::Server, Role::Client] {
        for peer in &peers {
            let name = peer.name();
            let target_name = target_name(&name, role);
            let baseline = baseline_of(&target_name);
            let with_baseline = match &baseline {
                Some(_) => format!(" --baseline harness/baselines/{target_name}.json"),
                None => String::new(),
            };
            // Over TLS wherever the implementation takes a certificate (a
            // server) or a CA (a client's driver), so that the TLS cases
            // judge it; the others run over http, those cases SKIPPED.
            let target = match role {
                Role::Server if peer.is_server() => match peer.clone().over_tls() {
                    Ok(tls) => Target::Peer(tls),
                    Err(_) => Target::Peer(peer.clone()),
                },
                Role::Client if peer.is_client() => {
                    let client = peer.client(None).map_err(|e| {
                        format!("{e} (scripts/install-peers installs every implementation)")
                    })?;
                    Target::Client(client.clone().over_tls().unwrap_or(client))
                }
                _ => continue,
            };
            let with_tls = match &target {
                Target::Peer(p) if p.is_tls() => " --tls",
                Target::Client(c) if c.tls.is_some() => " --tls",
                _ => "",
            };
            // Each implementation with the msgpack parser too, when it has it.
            let msgpack = match &target {
                Target::Peer(p) => p.has_msgpack_server(),
                Target::Client(c) => c.msgpack,
                Target::Url(_) => false,
            };
            for parser in Parser::ALL {
                if (parser == Parser::Msgpack && !msgpack) || !wanted(&name, role, parser) {
                    continue;
                }
                let with_parser = match parser {
                    Parser::Default => String::new(),
                    other => format!(" --parser {other}"),
                };
                let (jobs, command) = match role {
                    Role::Server => (
                        crate::runner::DEFAULT_JOBS,
                        format!("siospec run --target {name}{with_tls}{with_parser}{with_baseline} --strict"),
                    ),
                    Role::Client => (
                        CLIENT_JOBS,
                        format!(
                            "siospec test client --target {name}{with_tls}{with_parser} --jobs {CLIENT_JOBS}{with_baseline} --strict"
                        ),
                    ),
                };
                out.push(Entry {
                    implementation: name.clone(),
                    role,
                    target: target.clone(),
                    baseline: baseline.clone(),
                    jobs,
                    command,
                    parser,
                });
            }
        }
    }
    if out.is_empty() {
        return Err("--only selects no implementation in a role it has".to_owned());
    }
    Ok(out)
}

/// The matrix's `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixIndex {
    /// [`SCHEMA`].
    pub schema: String,
    /// `siospec <version>`.
    pub generator: String,
    /// When the matrix was written (UTC, RFC 3339).
    pub written: String,
    /// The wall times of its runs added up, in milliseconds (a run that
    /// `--only` repeats counts with its new time).
    pub duration_ms: f64,
    /// Whether that was the quick form (long-waiting cases SKIPPED).
    pub quick: bool,
    /// The conformance report of the runs, relative to this folder.
    pub runs: String,
    /// One entry per implementation and role.
    pub implementations: Vec<Implementation>,
    /// Third-party deviations checked by hand, as bug reports.
    pub findings: Vec<Finding>,
    /// Third-party non-OK verdicts no baseline entry accepts yet.
    pub unchecked: Vec<Unchecked>,
}

/// One implementation in one role: what was tested and how it came out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Implementation {
    /// The peer's name (`python`).
    pub name: String,
    /// Server or client.
    pub role: Role,
    /// Its target name in the runs' report (`python-client`).
    pub target: String,
    /// Official, siospec's own or third-party.
    pub kind: Kind,
    /// Its upstream issue tracker (third-party implementations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<String>,
    /// What was tested: the implementation, its versions and settings.
    pub tested: String,
    /// The protocol revisions it offered.
    pub protocols: Vec<String>,
    /// The transports it offered (servers: what its handshake listed;
    /// clients: what it used through the cases).
    pub transports: Vec<String>,
    /// Cases per verdict.
    pub counts: BTreeMap<String, usize>,
    /// Non-OK verdicts its baseline accepts.
    pub accepted: usize,
    /// FAILED, TIMEOUT, ERROR or NON-STRICT verdicts no baseline accepts.
    pub open: usize,
    /// Wall time of its run, in milliseconds.
    pub duration_ms: f64,
    /// The command that runs it alone.
    pub command: String,
}

/// Whether a verdict goes against the protocol text (a MUST or a SHOULD).
pub fn is_deviation(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::Failed | Verdict::Timeout | Verdict::Error | Verdict::NonStrict
    )
}

/// The implementation and role of a report target (`python-client` →
/// `python`, client), and the peer, when it still exists.
/// A run with the msgpack parser (`node-msgpack`, `node-client-msgpack`)
/// is the implementation's, shown as `node (msgpack)`.
fn implementation_of(target: &str, run: &TargetRun) -> (String, Role, Option<Peer>) {
    let role = if run.is_client() {
        Role::Client
    } else {
        Role::Server
    };
    let msgpack = crate::runner::implementation_of(target);
    let target = msgpack.unwrap_or(target);
    let name = match role {
        Role::Client => crate::peer::peer_of_client_target(target).unwrap_or(target),
        Role::Server => target,
    };
    let shown = match msgpack {
        Some(_) => format!("{name} (msgpack)"),
        None => name.to_owned(),
    };
    (shown, role, Peer::named(name).ok())
}

/// The kind of the peer `name`.
fn kind_of(peer: Option<&Peer>) -> Kind {
    match peer.and_then(Peer::issues) {
        Some(_) => Kind::ThirdParty,
        None if peer.is_some_and(|p| p.name() == Peer::reference().name()) => Kind::Reference,
        None => Kind::Official,
    }
}

/// The protocols and transports a server's probe found, from its findings'
/// lines (`…: Socket.IO; EIO=4 and EIO=3; transports polling, websocket; …`).
fn server_offers(run: &TargetRun) -> (Vec<String>, Vec<String>) {
    let mut protocols = vec!["Engine.IO 4".to_owned(), "Socket.IO 5".to_owned()];
    if run
        .findings
        .iter()
        .any(|f| f.contains("; EIO=4 and EIO=3;"))
    {
        protocols.extend(["Engine.IO 3".to_owned(), "Socket.IO 4".to_owned()]);
    }
    let mut transports: Vec<String> = Vec::new();
    for f in &run.findings {
        let Some(rest) = f.split("; transports ").nth(1) else {
            continue;
        };
        let list = rest.split(';').next().unwrap_or_default();
        for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !transports.iter().any(|x| x == t) {
                transports.push(t.to_owned());
            }
        }
    }
    (protocols, transports)
}

/// The transports a client used through the cases: polling when a polling
/// case came out OK, WebSocket when an upgrade case did.
fn client_offers(run: &TargetRun) -> (Vec<String>, Vec<String>) {
    let ok_in = |prefix: &str| {
        run.cases
            .iter()
            .any(|(id, c)| id.starts_with(prefix) && c.verdict == Verdict::Ok)
    };
    let mut transports = Vec::new();
    if ok_in("client.eio4.polling.") {
        transports.push("polling".to_owned());
    }
    if ok_in("client.eio4.upgrade.") {
        transports.push("websocket".to_owned());
    }
    (
        vec!["Engine.IO 4".to_owned(), "Socket.IO 5".to_owned()],
        transports,
    )
}

/// The summary of one target's run.
fn implementation(target: &str, run: &TargetRun) -> Implementation {
    let (name, role, peer) = implementation_of(target, run);
    let (protocols, transports) = match role {
        Role::Server => server_offers(run),
        Role::Client => client_offers(run),
    };
    let accepted = run.cases.values().filter(|c| c.accepted.is_some()).count();
    let open = run
        .cases
        .values()
        .filter(|c| c.accepted.is_none() && is_deviation(c.verdict))
        .count();
    Implementation {
        kind: kind_of(peer.as_ref()),
        issues: peer.as_ref().and_then(Peer::issues).map(str::to_owned),
        name,
        role,
        target: target.to_owned(),
        tested: run.description.clone(),
        protocols,
        transports,
        counts: run.counts.clone(),
        accepted,
        open,
        duration_ms: run.duration_ms,
        command: run.command.clone(),
    }
}

/// Reads `dir/runs/index.json` and writes `index.json`, `matrix.md`,
/// `matrix.html` and `findings.md` into `dir`; returns the index written.
pub fn write(dir: &Path, quick: bool) -> Result<MatrixIndex, String> {
    let runs_dir = dir.join(RUNS_DIR);
    let index_path = runs_dir.join("index.json");
    let text = std::fs::read_to_string(&index_path)
        .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?;
    let runs: Index =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index_path.display()))?;
    let duration_ms = runs.targets.values().map(|t| t.duration_ms).sum();
    let catalogue: Vec<Case> = crate::cases::all()
        .into_iter()
        .chain(crate::client_cases::all())
        .collect();
    let mut implementations: Vec<Implementation> = runs
        .targets
        .iter()
        .map(|(t, run)| implementation(t, run))
        .collect();
    // Servers first, then clients; in each, the official one, siospec's
    // own, then the others by name.
    implementations.sort_by_key(|i| {
        let kind = match i.kind {
            Kind::Official => 0,
            Kind::Reference => 1,
            Kind::ThirdParty => 2,
        };
        (i.role, kind, i.name.clone())
    });
    let baselines: BTreeMap<String, Baseline> = implementations
        .iter()
        .filter_map(|i| {
            Some((
                i.target.clone(),
                Baseline::load(&baseline_of(&i.target)?).ok()?,
            ))
        })
        .collect();
    let (findings, unchecked) =
        findings::collect(&runs, &runs_dir, &implementations, &baselines, &catalogue);
    let matrix = MatrixIndex {
        schema: SCHEMA.to_owned(),
        generator: format!("siospec {}", env!("CARGO_PKG_VERSION")),
        written: report::now_rfc3339(),
        duration_ms,
        quick,
        runs: format!("{RUNS_DIR}/index.json"),
        implementations,
        findings,
        unchecked,
    };
    let shown: Vec<Case> = catalogue
        .into_iter()
        .filter(|c| runs.targets.values().any(|t| t.cases.contains_key(&c.id)))
        .collect();
    let json = serde_json::to_string_pretty(&matrix).map_err(|e| e.to_string())?;
    for (name, content) in [
        ("index.json", json),
        ("matrix.md", markdown(&matrix, &runs, &shown)),
        ("findings.md", findings::markdown(&matrix)),
        (
            "matrix.html",
            report::matrix_page(&matrix, &runs, &shown, RUNS_DIR),
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, content).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(matrix)
}

/// The summary table, one row per implementation and role, in Markdown.
pub fn summary_table(m: &MatrixIndex) -> String {
    let mut s = String::from(
        "| implementation | role | tested | protocols | transports | OK | accepted deviations | open | findings |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for i in &m.implementations {
        let ok = i.counts.get(Verdict::Ok.name()).copied().unwrap_or(0);
        let total: usize = i.counts.values().sum();
        let findings = m.findings.iter().filter(|f| f.target == i.target).count();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {ok} / {total} | {} | {} | {} |\n",
            report::escape::md(&i.name),
            i.role.name(),
            report::escape::md(&i.tested),
            i.protocols.join(", "),
            i.transports.join(", "),
            i.accepted,
            i.open,
            match i.kind {
                Kind::ThirdParty => findings.to_string(),
                Kind::Official => "ground truth".to_owned(),
                Kind::Reference => "siospec's own".to_owned(),
            }
        ));
    }
    s
}

/// `matrix.md`: the summary, the counts per verdict, and every case's
/// verdict per target, section by section.
fn markdown(m: &MatrixIndex, runs: &Index, catalogue: &[Case]) -> String {
    let mut s = format!(
        "# siospec interoperability matrix\n\n{} — written {}{}; {} implementation run(s), {} finding(s), {} unchecked non-OK verdict(s).\n\
         The HTML form is [matrix.html](matrix.html); the findings, as bug reports, [findings.md](findings.md).\n\n",
        m.generator,
        m.written,
        if m.quick {
            " by the quick form (cases that wait long on an implementation's own timers SKIPPED)"
        } else {
            ""
        },
        m.implementations.len(),
        m.findings.len(),
        m.unchecked.len()
    );
    s.push_str("## Implementations\n\n");
    s.push_str(&summary_table(m));
    s.push_str("\n## Verdicts\n\n| target |");
    for v in Verdict::ALL {
        s.push_str(&format!(" {} |", v.name()));
    }
    s.push_str(" wall time |\n|---|");
    for _ in Verdict::ALL {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for i in &m.implementations {
        s.push_str(&format!("| {} |", report::escape::md(&i.target)));
        for v in Verdict::ALL {
            s.push_str(&format!(
                " {} |",
                i.counts.get(v.name()).copied().unwrap_or(0)
            ));
        }
        s.push_str(&format!(" {:.1} s |\n", i.duration_ms / 1000.0));
    }
    for role in [Role::Server, Role::Client] {
        let columns: Vec<&Implementation> = m
            .implementations
            .iter()
            .filter(|i| i.role == role)
            .collect();
        if columns.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "\n## Cases, {}s\n\n`*`: accepted by the target's baseline.\n",
            role.name()
        ));
        let mut section = "";
        for case in catalogue
            .iter()
            .filter(|c| report::is_client_case(&c.id) == (role == Role::Client))
        {
            if case.section.id != section {
                section = case.section.id;
                s.push_str(&format!(
                    "\n### {} — {}\n\n| case |",
                    section, case.section.title
                ));
                for i in &columns {
                    s.push_str(&format!(" {} |", report::escape::md(&i.target)));
                }
                s.push_str("\n|---|");
                for _ in &columns {
                    s.push_str("---|");
                }
                s.push('\n');
            }
            s.push_str(&format!("| `{}` |", case.id));
            for i in &columns {
                let cell = match runs.targets[&i.target].cases.get(&case.id) {
                    Some(c) => format!(
                        "{}{}",
                        c.verdict.name(),
                        if c.accepted.is_some() { "*" } else { "" }
                    ),
                    None => "—".to_owned(),
                };
                s.push_str(&format!(" {cell} |"));
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_offers_come_from_its_probe() {
        let run = TargetRun {
            findings: vec![
                "http://127.0.0.1:1/socket.io/: Socket.IO; EIO=4 and EIO=3; transports polling, websocket; pingInterval 300 ms".to_owned(),
                "http://127.0.0.1:1/engine.io/: bare Engine.IO (echoes messages); EIO=4; transports polling; pingInterval 300 ms".to_owned(),
            ],
            ..TargetRun::default()
        };
        let (protocols, transports) = server_offers(&run);
        assert_eq!(
            protocols,
            ["Engine.IO 4", "Socket.IO 5", "Engine.IO 3", "Socket.IO 4"]
        );
        assert_eq!(transports, ["polling", "websocket"]);
    }

    #[test]
    fn every_peer_runs_in_each_role_it_has() {
        let all = entries(&[]).expect("the committed peers read");
        for (name, role) in [
            ("rust", Role::Server),
            ("node", Role::Server),
            ("python", Role::Server),
            ("rust", Role::Client),
            ("node", Role::Client),
            ("python", Role::Client),
        ] {
            assert!(
                all.iter()
                    .any(|e| e.implementation == name && e.role == role),
                "{name} as a {}",
                role.name()
            );
        }
        let only = entries(&["python-client".to_owned()]).expect("known");
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].role, Role::Client);
        assert!(entries(&["nosuch".to_owned()]).is_err());
        // The implementations that speak msgpack run with it too.
        let msgpack: Vec<(String, Role)> = all
            .iter()
            .filter(|e| e.parser == Parser::Msgpack)
            .map(|e| (e.implementation.clone(), e.role))
            .collect();
        for (name, role) in [
            ("rust", Role::Server),
            ("node", Role::Server),
            ("python", Role::Server),
            ("socketioxide", Role::Server),
            ("rust", Role::Client),
            ("node", Role::Client),
            ("python", Role::Client),
        ] {
            assert!(
                msgpack.contains(&(name.to_owned(), role)),
                "{name} in msgpack"
            );
        }
        // rust_socketio has no msgpack parser, nor the browser driver here.
        assert!(!msgpack
            .iter()
            .any(|(n, _)| n == "rust_socketio" || n == "browser"));
        let only = entries(&["node-client-msgpack".to_owned()]).expect("known");
        assert_eq!(only.len(), 1);
        assert_eq!(
            (only[0].role, only[0].parser),
            (Role::Client, Parser::Msgpack)
        );
    }
}

#[cfg(test)]
mod write_tests {
    use super::*;
    use crate::report::RunInfo;
    use crate::runner::{CaseResult, Judged};
    use crate::trace::{Body, Dir, Event, What};

    fn result(id: &str, verdict: Verdict, accepted: Option<&str>) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            verdict,
            behaviour: Judged {
                verdict,
                outcome: None,
                expected: None,
                actual: format!("seen on {id}"),
            },
            close: None,
            duration_ms: 1.0,
            trace: vec![Event {
                t_ms: 0.5,
                conn: "http#1".to_owned(),
                dir: Dir::In,
                what: What::HttpResponse {
                    status: 200,
                    headers: Vec::new(),
                    body: Body::of(b"ok"),
                },
            }],
            trace_dropped: 0,
            accepted: accepted.map(str::to_owned),
        }
    }

    fn info(name: &str) -> RunInfo<'_> {
        RunInfo {
            name,
            description: name,
            started: "2026-01-01T00:00:00Z".to_owned(),
            duration_ms: 1000.0,
            time_scale: 1.0,
            strict: true,
            command: format!(
                "siospec run --target {name} --baseline harness/baselines/{name}.json --strict"
            ),
            findings: Vec::new(),
        }
    }

    /// A third-party server with two deviations, one its baseline accepts:
    /// one finding (with the official verdict, severity, trace and command)
    /// and one unchecked deviation.
    #[test]
    fn accepted_deviations_become_findings_and_the_rest_stay_unchecked() {
        let dir = std::env::temp_dir().join(format!("siospec-matrix-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let runs = dir.join(RUNS_DIR);
        let catalogue = crate::cases::all();
        let (found, open) = (
            "eio4.polling.many-packets-order",
            "eio4.handshake.polling.open",
        );
        crate::report::write(
            &runs,
            &catalogue,
            &info("node"),
            &[
                result(found, Verdict::Ok, None),
                result(open, Verdict::Ok, None),
            ],
        )
        .expect("written");
        crate::report::write(
            &runs,
            &catalogue,
            &info("python"),
            &[
                result(
                    found,
                    Verdict::Failed,
                    Some("drops a POST of more than 16 packets"),
                ),
                result(open, Verdict::Failed, None),
            ],
        )
        .expect("written");
        let m = write(&dir, false).expect("matrix written");
        assert_eq!(m.implementations.len(), 2);
        assert_eq!(m.implementations[0].kind, Kind::Official);
        assert_eq!(m.findings.len(), 1);
        let f = &m.findings[0];
        assert_eq!(f.id, format!("python/{found}"));
        // python.json rates this one.
        assert_eq!(f.severity.as_deref(), Some("interop-breaking"));
        assert_eq!(f.cases[0].official, Some(Verdict::Ok));
        assert_eq!(
            f.cases[0].command,
            format!("siospec run --target python --case {found}")
        );
        assert!(
            f.cases[0].trace[0].contains("← 200 \"ok\""),
            "{:?}",
            f.cases[0].trace
        );
        assert!(dir.join(&f.cases[0].page).is_file());
        assert_eq!(m.unchecked.len(), 1);
        assert_eq!(m.unchecked[0].case, open);
        for file in ["index.json", "matrix.md", "matrix.html", "findings.md"] {
            assert!(dir.join(file).is_file(), "{file}");
        }
        let md = std::fs::read_to_string(dir.join("findings.md")).expect("read");
        assert!(
            md.contains("the official server (node) is OK on this case"),
            "{md}"
        );
        assert!(md.contains("## Not yet checked by hand"), "{md}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
