//! Selecting cases, running them against a target, judging what they saw.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use siospec_codec::session::socket::Parser;

use crate::baseline::Baseline;
use crate::case::client::{self, Client, Driver};
use crate::case::server::Ctx;
use crate::case::{Case, Expect, Obs, Outcome as RunOutcome, Runs, Stop, Verdict};
use crate::suite::{Expected, Suite};
use crate::target::{Prepared, Target};
use crate::tls::Origin;
use crate::trace::{Event, Trace};

/// Where one suite's server is, and what it offers there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The server (`host:port`, and TLS for `https://`).
    pub origin: Origin,
    /// The engine path, with both slashes (`/socket.io/`).
    pub path: String,
    /// The configuration the server advertised there.
    pub conf: Expected,
    /// Whether the path answers with engine mode's echo (a bare Engine.IO
    /// server); false for the Engine.IO rules run through a Socket.IO path.
    pub echo: bool,
}

impl Endpoint {
    /// An endpoint at `path` with the reference configuration.
    pub fn new(origin: Origin, path: impl Into<String>, echo: bool) -> Endpoint {
        Endpoint {
            origin,
            path: path.into(),
            conf: Expected::reference(),
            echo,
        }
    }
}

/// What a run does with one suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Run its cases at this endpoint.
    At(Endpoint),
    /// Run its client cases against this client, each with its own
    /// scripted server.
    Client(Client),
    /// Run none: every case gets `verdict` (UNSUPPORTED or SKIPPED) and `reason`.
    Absent {
        /// The verdict of every case of the suite.
        verdict: Verdict,
        /// Why, in one line.
        reason: String,
    },
}

/// One axis of a case, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// The verdict.
    pub verdict: Verdict,
    /// The key of the declared outcome that was seen, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The declared outcome's text, if one was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was seen.
    pub actual: String,
}

/// The result of one case against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The overall verdict: the worse of the two axes.
    pub verdict: Verdict,
    /// The behaviour axis.
    pub behaviour: Judged,
    /// The close axis, for cases that judge it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<Judged>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// The wire trace.
    pub trace: Vec<Event>,
    /// Trace events dropped past the cap.
    #[serde(default)]
    pub trace_dropped: usize,
    /// The baseline's reason, when the baseline accepts this verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

/// Which cases to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Suites (empty: all).
    pub suites: Vec<Suite>,
    /// `--case` globs (empty: all).
    pub include: Vec<String>,
    /// `--exclude` globs.
    pub exclude: Vec<String>,
}

/// Glob match on case ids: `*` any run of characters, `?` one character.
/// A pattern without wildcards also matches every id below it
/// (`eio4.handshake` matches `eio4.handshake.polling.open`).
pub fn id_matches(pattern: &str, id: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return id == pattern || id.starts_with(&format!("{pattern}."));
    }
    glob(pattern.as_bytes(), id.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

impl Selection {
    /// The selected cases, in catalogue order.
    pub fn apply<'a>(&self, catalogue: &'a [Case]) -> Vec<&'a Case> {
        catalogue
            .iter()
            .filter(|c| self.suites.is_empty() || self.suites.contains(&c.suite()))
            .filter(|c| {
                self.include.is_empty() || self.include.iter().any(|p| id_matches(p, &c.id))
            })
            .filter(|c| !self.exclude.iter().any(|p| id_matches(p, &c.id)))
            .collect()
    }
}

/// What a run tells as it goes; every method does nothing unless overridden,
/// so [`Quiet`] is the empty implementation.
pub trait Observer: Send {
    /// The target is up and probed; `cases` cases are about to run.
    fn prepared(&mut self, _cases: usize, _target: &Prepared) {}
    /// A case started.
    fn case_started(&mut self, _id: &str) {}
    /// A case ended: the `done`th of `total`.
    fn case_done(&mut self, _done: usize, _total: usize, _result: &CaseResult) {}
    /// Every case ended.
    fn finished(&mut self) {}
}

/// An observer that says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// A conformance run: which cases, against what, how, and which deviations
/// are accepted.
#[derive(Debug, Clone)]
pub struct Run {
    /// What to test.
    pub target: Target,
    /// Which cases.
    pub selection: Selection,
    /// How.
    pub options: Options,
    /// Accepted deviations.
    pub baseline: Option<Baseline>,
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target's name in reports.
    pub name: String,
    /// Its one-line description.
    pub description: String,
    /// What the probe found, one line each.
    pub findings: Vec<String>,
    /// When the run started, RFC 3339 UTC.
    pub started: String,
    /// Wall time, starting the target included.
    pub duration_ms: f64,
    /// One result per case, in case order, the baseline applied.
    pub results: Vec<CaseResult>,
    /// Baseline entries for this target that matched a case of the run but
    /// not its verdict, one line each.
    pub stale: Vec<String>,
}

impl Run {
    /// The selected cases of `catalogue`, in catalogue order; an error when
    /// there is none.
    pub fn cases<'a>(&self, catalogue: &'a [Case]) -> Result<Vec<&'a Case>, String> {
        let mut selected = self.selection.apply(catalogue);
        // The msgpack parser is a Socket.IO v5 one: it runs the sio5 cases
        // (the others do not depend on the parser), and its own.
        let parser = self.options.parser;
        selected.retain(|c| {
            c.parser.is_none_or(|p| p == parser)
                && (parser == Parser::Default || c.suite() == Suite::Sio5)
        });
        if selected.is_empty() {
            return Err("no case matches the selection (see --list)".to_owned());
        }
        Ok(selected)
    }

    /// Starts the target (stopped again before this returns), runs `cases`
    /// against it and applies the baseline.
    pub async fn execute(
        &self,
        cases: &[&Case],
        observer: &mut dyn Observer,
    ) -> Result<Outcome, String> {
        let mut suites: Vec<Suite> = cases.iter().map(|c| c.suite()).collect();
        suites.sort();
        suites.dedup();
        let started = crate::report::now_rfc3339();
        let clock = Instant::now();
        let prepared = self.target.prepare(&suites, self.options.parser).await?;
        let remote = prepared.plans.values().find_map(|p| match p {
            Plan::Client(c) => c.remote().cloned(),
            _ => None,
        });
        if let Some(remote) = &remote {
            remote.set_cases(cases.iter().map(|c| c.id.clone()).collect());
        }
        observer.prepared(cases.len(), &prepared);
        let mut results = run_all(cases, &prepared.plans, &self.options, observer).await;
        if let Some(remote) = &remote {
            remote.finish();
        }
        let duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
        // A run in msgpack is a target of its own in reports, beside the
        // same implementation's run with the default parser.
        let (name, description) = match self.options.parser {
            Parser::Default => (prepared.name.clone(), prepared.description.clone()),
            other => (
                format!("{}{MSGPACK_SUFFIX}", prepared.name),
                format!("{}, {other} parser", prepared.description),
            ),
        };
        let stale = match &self.baseline {
            Some(b) => b.apply(&name, &mut results),
            None => Vec::new(),
        };
        Ok(Outcome {
            name,
            description,
            findings: prepared.findings.clone(),
            started,
            duration_ms,
            results,
            stale,
        })
    }
}

/// What a target run with the msgpack parser is called after the
/// implementation's name.
pub const MSGPACK_SUFFIX: &str = "-msgpack";

/// The implementation a msgpack run's target name (`NAME-msgpack`) is of.
///
/// ```
/// assert_eq!(siospec::runner::implementation_of("node-msgpack"), Some("node"));
/// assert_eq!(siospec::runner::implementation_of("node"), None);
/// ```
pub fn implementation_of(target: &str) -> Option<&str> {
    target.strip_suffix(MSGPACK_SUFFIX)
}

/// Exit status: every selected case OK (or accepted by the baseline).
pub const EXIT_OK: i32 = 0;
/// Exit status: conformance failures.
pub const EXIT_FAILED: i32 = 1;
/// Exit status: usage or harness error (including zero matched cases).
pub const EXIT_HARNESS: i32 = 2;

/// The exit status for a set of results (see [`EXIT_OK`], [`EXIT_FAILED`], [`EXIT_HARNESS`]).
pub fn exit_status(results: &[CaseResult], strict: bool) -> i32 {
    let open = results.iter().filter(|r| r.accepted.is_none());
    let mut status = EXIT_OK;
    for r in open {
        match r.verdict {
            Verdict::Error => return EXIT_HARNESS,
            Verdict::Failed | Verdict::Timeout => status = EXIT_FAILED,
            Verdict::NonStrict if strict => status = EXIT_FAILED,
            _ => {}
        }
    }
    status
}

/// Run options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--time-scale`.
    pub scale: f64,
    /// Cases run at the same time.
    pub jobs: usize,
    /// `--max-wait`: a case that would wait longer on the server's timers
    /// (before scaling) is SKIPPED.
    pub max_wait_ms: u64,
    /// `--parser`: the Socket.IO parser the Socket.IO cases speak.
    pub parser: Parser,
}

/// The default `--max-wait`, in seconds.
pub const DEFAULT_MAX_WAIT_S: u64 = 60;

/// The default `--jobs`: cases are I/O-bound, so several run at once.
pub const DEFAULT_JOBS: usize = 8;

impl Default for Options {
    fn default() -> Self {
        Options {
            scale: 1.0,
            jobs: 1,
            max_wait_ms: DEFAULT_MAX_WAIT_S * 1000,
            parser: Parser::Default,
        }
    }
}

fn judge(expect: &[Expect], otherwise: Verdict, obs: &Obs) -> Judged {
    match obs {
        Obs::Is { key, actual } => match expect.iter().find(|e| e.key == *key) {
            Some(e) => Judged {
                verdict: e.verdict,
                outcome: Some((*key).to_owned()),
                expected: Some(e.text.clone()),
                actual: actual.clone(),
            },
            None => Judged {
                verdict: Verdict::Error,
                outcome: Some((*key).to_owned()),
                expected: None,
                actual: format!(
                    "harness bug: the case reported the undeclared outcome `{key}` ({actual})"
                ),
            },
        },
        Obs::Not(actual) => Judged {
            verdict: otherwise,
            outcome: None,
            expected: None,
            actual: actual.clone(),
        },
    }
}

/// A result the harness decided without running the case.
fn not_run(case: &Case, verdict: Verdict, actual: String) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        verdict,
        behaviour: Judged {
            verdict,
            outcome: None,
            expected: None,
            actual,
        },
        close: None,
        duration_ms: 0.0,
        trace: Vec::new(),
        trace_dropped: 0,
        accepted: None,
    }
}

/// Why `case` cannot be judged at `endpoint`, if it cannot.
fn cannot_judge(case: &Case, endpoint: &Endpoint, opts: &Options) -> Option<String> {
    if case.needs_echo && !endpoint.echo {
        return Some(format!(
            "needs a bare Engine.IO echo server (engine mode); {} is a Socket.IO path, where \
             the messages this case sends would be Socket.IO packets. Serve engine mode at \
             /engine.io/ or pass --engine-path PATH to judge it",
            endpoint.path
        ));
    }
    let waits = (case.waits)(&endpoint.conf);
    if case.unjoined && !endpoint.echo && waits >= endpoint.conf.connect_timeout {
        return Some(format!(
            "keeps a session that joins no namespace for about {} ms, but through the \
             Socket.IO server at {} such a session ends at connectTimeout ({} ms); the rule \
             is judged at a bare Engine.IO endpoint (--engine-path) or with timings that fit",
            waits, endpoint.path, endpoint.conf.connect_timeout
        ));
    }
    if waits > opts.max_wait_ms {
        let c = &endpoint.conf;
        return Some(format!(
            "would wait about {} s on the server's timers (pingInterval {} ms, pingTimeout {} ms, \
             connectTimeout {} ms), more than --max-wait {} s; `--max-wait {}` lets it run",
            waits.div_ceil(1000),
            c.ping_interval,
            c.ping_timeout,
            c.connect_timeout,
            opts.max_wait_ms / 1000,
            waits.div_ceil(1000) + 5
        ));
    }
    None
}

/// Runs one server case against `endpoint` and judges it.
pub(crate) async fn run_case(case: &Case, endpoint: &Endpoint, opts: &Options) -> CaseResult {
    let Runs::Server(run) = &case.run else {
        return not_run(
            case,
            Verdict::Error,
            "harness bug: a client case planned against a server".into(),
        );
    };
    if let Some(reason) = cannot_judge(case, endpoint, opts) {
        return not_run(case, Verdict::Skipped, reason);
    }
    let trace = Trace::new();
    let cx = Ctx {
        origin: endpoint.origin.clone(),
        path: endpoint.path.clone(),
        suite: case.suite(),
        scale: opts.scale,
        trace: trace.clone(),
        conf: endpoint.conf,
        parser: opts.parser,
    };
    // One heartbeat more: a server that does not answer as the case expects
    // may hold a long-poll, or end a session, only at its timers, and the
    // case judges what it then sees.
    let limit = cx.ms(case.limit_ms + (case.waits)(&endpoint.conf) + endpoint.conf.heartbeat());
    let start = Instant::now();
    let outcome = bounded(run(cx), limit).await;
    conclude(case, outcome, limit, start, &trace)
}

/// Runs one client case against `client` and judges it. The client's
/// crash or hang is the case's FAILED or TIMEOUT, with its stderr attached.
pub(crate) async fn run_client_case(case: &Case, client: &Client, opts: &Options) -> CaseResult {
    let Runs::Client(run) = &case.run else {
        return not_run(
            case,
            Verdict::Error,
            "harness bug: a server case planned against a client".into(),
        );
    };
    let conf = Expected::reference();
    let waits = (case.waits)(&conf);
    if waits > opts.max_wait_ms {
        return not_run(
            case,
            Verdict::Skipped,
            format!(
                "would wait about {} s, more than --max-wait {} s",
                waits.div_ceil(1000),
                opts.max_wait_ms / 1000
            ),
        );
    }
    if let Some(remote) = client.remote() {
        // A served client comes for each case when it is ready; the case's
        // clock starts then. A browser siospec started is given a bound (it
        // may have crashed); a client the user starts, none.
        let limit = client
            .serve
            .as_ref()
            .is_some_and(|s| s.launch)
            .then_some(SERVED_CLIENT_WAIT);
        if !remote.client_waiting(limit).await {
            return not_run(
                case,
                case.otherwise(),
                format!(
                    "the served client did not ask for this case within {} s",
                    SERVED_CLIENT_WAIT.as_secs()
                ),
            );
        }
    }
    let trace = Trace::new();
    let driver = Driver::default();
    let mut cx = client::Ctx::new(
        &case.id,
        client.clone(),
        opts.scale,
        trace.clone(),
        driver.clone(),
    );
    cx.parser = opts.parser;
    let limit = cx.ms(case.limit_ms + waits + conf.heartbeat());
    let start = Instant::now();
    let outcome = bounded(run(cx), limit).await;
    let mut result = conclude(case, outcome, limit, start, &trace);
    let stderr = driver.stderr();
    // Not OK: what the client said on stderr explains it (a crash's
    // stack, an exception); its last lines go beside what was seen, all of
    // it into the trace.
    if result.verdict > Verdict::Skipped && !stderr.trim().is_empty() {
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
        result.behaviour.actual = format!(
            "{}; the client's stderr ends:\n{tail}",
            result.behaviour.actual
        );
        trace.note(format!("client stderr:\n{stderr}"));
        (result.trace, result.trace_dropped) = trace.snapshot();
    }
    result
}

/// How long a served client siospec started (a browser) may take to ask
/// for its next case.
const SERVED_CLIENT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How many of the last lines of a failing client's stderr go beside what
/// was seen (all of it is in the trace).
const STDERR_TAIL_LINES: usize = 12;

/// How a run function ended: within its limit or not, its task whole or not.
type Bounded = Result<Result<RunOutcome, tokio::task::JoinError>, tokio::time::error::Elapsed>;

/// Runs a case's future on a task of its own, at most `limit`; the task is
/// aborted (its context dropped, its client killed) when the limit passes.
async fn bounded(future: crate::case::RunFuture, limit: std::time::Duration) -> Bounded {
    let task = tokio::spawn(future);
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(limit, task).await;
    abort.abort();
    outcome
}

/// Judges how a case ended: the one judging path of both roles.
fn conclude(
    case: &Case,
    outcome: Bounded,
    limit: std::time::Duration,
    start: Instant,
    trace: &Trace,
) -> CaseResult {
    let duration_ms = (start.elapsed().as_secs_f64() * 10000.0).round() / 10.0;
    let harness = |actual: String| Judged {
        verdict: Verdict::Error,
        outcome: None,
        expected: None,
        actual,
    };
    let (behaviour, close) = match outcome {
        Err(_) => (
            Judged {
                verdict: Verdict::Timeout,
                outcome: None,
                expected: None,
                actual: format!("the case did not finish within {} ms", limit.as_millis()),
            },
            None,
        ),
        Ok(Err(join)) => (harness(format!("the case's task failed: {join}")), None),
        Ok(Ok(Err(Stop::Harness(m)))) => (harness(m), None),
        Ok(Ok(Err(Stop::Unsupported(m)))) => (
            Judged {
                verdict: Verdict::Unsupported,
                outcome: None,
                expected: None,
                actual: m,
            },
            None,
        ),
        Ok(Ok(Err(Stop::Skipped(m)))) => (
            Judged {
                verdict: Verdict::Skipped,
                outcome: None,
                expected: None,
                actual: m,
            },
            None,
        ),
        Ok(Ok(Err(Stop::Fail(m)))) => (judge(&case.expect, case.otherwise(), &Obs::Not(m)), None),
        Ok(Ok(Ok(observed))) => {
            let b = judge(&case.expect, case.otherwise(), &observed.behaviour);
            let c = match (&observed.close, case.close.is_empty()) {
                (Some(obs), false) => Some(judge(&case.close, case.otherwise(), obs)),
                (Some(_), true) => Some(harness(
                    "harness bug: a close outcome for a case without close expectations".into(),
                )),
                (None, false) => Some(harness(
                    "harness bug: the case did not judge the close".into(),
                )),
                (None, true) => None,
            };
            (b, c)
        }
    };
    let verdict = close
        .as_ref()
        .map_or(behaviour.verdict, |c| c.verdict.max(behaviour.verdict));
    let (trace, trace_dropped) = trace.snapshot();
    CaseResult {
        id: case.id.clone(),
        verdict,
        behaviour,
        close,
        duration_ms,
        trace,
        trace_dropped,
        accepted: None,
    }
}

/// About how long `case` runs under `plan`, in ms before scaling: what it
/// declares it waits ([`Case::waits`]), 0 for a case that will not run.
/// Cases without such a wait take tens of milliseconds.
pub(crate) fn estimate_ms(case: &Case, plan: Option<&Plan>, opts: &Options) -> u64 {
    let endpoint = match plan {
        Some(Plan::At(endpoint)) => endpoint,
        Some(Plan::Client(_)) => return (case.waits)(&Expected::reference()),
        _ => return 0,
    };
    if cannot_judge(case, endpoint, opts).is_some() {
        return 0;
    }
    (case.waits)(&endpoint.conf)
}

/// The server a case talks to (authority and engine path): an exclusive case
/// runs alone there, since what it broadcasts to or counts is the clients of
/// a namespace of that server; cases at other endpoints cannot be among them.
type Domain = (String, String);

/// One case waiting to start.
struct Pending<'a> {
    index: usize,
    case: &'a Case,
    estimate: u64,
    domain: Option<Domain>,
}

/// What is running at one endpoint.
#[derive(Default)]
struct Busy {
    cases: usize,
    exclusive: bool,
}

/// The next case to start, if one may start now: the longest first (an
/// exclusive case counts as the whole chain of exclusive cases still waiting
/// at its endpoint, since they run one after another), catalogue order on
/// ties. An exclusive case starts when nothing runs at its endpoint; while
/// it waits for that, the cases after it in this order do not start there,
/// so the endpoint drains for it.
fn pick(pending: &[Pending<'_>], busy: &BTreeMap<Domain, Busy>) -> Option<usize> {
    let mut chains: BTreeMap<&Domain, u64> = BTreeMap::new();
    for p in pending.iter().filter(|p| p.case.exclusive) {
        if let Some(d) = &p.domain {
            *chains.entry(d).or_default() += p.estimate.max(1);
        }
    }
    let key = |p: &Pending<'_>| match (&p.domain, p.case.exclusive) {
        (Some(d), true) => chains.get(d).copied().unwrap_or(p.estimate),
        _ => p.estimate,
    };
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by(|&a, &b| {
        key(&pending[b])
            .cmp(&key(&pending[a]))
            .then(pending[a].index.cmp(&pending[b].index))
    });
    let mut reserved: Vec<&Domain> = Vec::new();
    for i in order {
        let p = &pending[i];
        let Some(d) = &p.domain else {
            return Some(i);
        };
        let here = busy.get(d);
        if p.case.exclusive {
            if here.is_none_or(|b| b.cases == 0) {
                return Some(i);
            }
            reserved.push(d);
        } else if !here.is_some_and(|b| b.exclusive) && !reserved.contains(&d) {
            return Some(i);
        }
    }
    None
}

/// Runs `cases` by the plan of their suite; cases whose suite has no plan
/// are ERROR. Results come back in case order.
///
/// Up to `jobs` cases run at once, the longest first (`estimate_ms`), so
/// the cases that wait on the server's timers overlap the many short ones
/// instead of ending the run alone. Exclusive cases run alone at their
/// endpoint (nothing else runs on that server path meanwhile); cases at
/// other endpoints go on beside them.
pub async fn run_all(
    cases: &[&Case],
    plans: &BTreeMap<Suite, Plan>,
    opts: &Options,
    observer: &mut dyn Observer,
) -> Vec<CaseResult> {
    let total = cases.len();
    // A served client runs one case at a time, in catalogue order (the
    // order `GET /siospec/cases` lists).
    let served = plans
        .values()
        .any(|p| matches!(p, Plan::Client(c) if c.remote().is_some()));
    let mut pending: Vec<Pending<'_>> = cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let plan = plans.get(&case.suite());
            Pending {
                index,
                case,
                estimate: if served {
                    0
                } else {
                    estimate_ms(case, plan, opts)
                },
                domain: match plan {
                    Some(Plan::At(ep)) => Some((ep.origin.authority.clone(), ep.path.clone())),
                    _ => None,
                },
            }
        })
        .collect();
    let mut busy: BTreeMap<Domain, Busy> = BTreeMap::new();
    let mut running = FuturesUnordered::new();
    let mut results: Vec<(usize, CaseResult)> = Vec::with_capacity(total);
    let jobs = if served { 1 } else { opts.jobs.max(1) };
    loop {
        while running.len() < jobs {
            let Some(i) = pick(&pending, &busy) else {
                break;
            };
            let p = pending.swap_remove(i);
            if let Some(d) = &p.domain {
                let b = busy.entry(d.clone()).or_default();
                b.cases += 1;
                b.exclusive = p.case.exclusive;
            }
            observer.case_started(&p.case.id);
            let case = p.case;
            running.push(async move {
                let result = match plans.get(&case.suite()) {
                    Some(Plan::At(ep)) => run_case(case, ep, opts).await,
                    Some(Plan::Client(client)) => run_client_case(case, client, opts).await,
                    Some(Plan::Absent { verdict, reason }) => {
                        not_run(case, *verdict, reason.clone())
                    }
                    None => not_run(
                        case,
                        Verdict::Error,
                        format!("no server for suite {}", case.suite().name()),
                    ),
                };
                (p.index, p.domain, result)
            });
        }
        let Some((index, domain, result)) = running.next().await else {
            break;
        };
        if let Some(b) = domain.as_ref().and_then(|d| busy.get_mut(d)) {
            b.cases -= 1;
            b.exclusive = false;
        }
        observer.case_done(results.len() + 1, total, &result);
        results.push((index, result));
    }
    observer.finished();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(path: &str) -> Option<Domain> {
        Some(("127.0.0.1:1".to_owned(), path.to_owned()))
    }

    #[test]
    fn longest_first_and_exclusive_cases_drain_only_their_endpoint() {
        let catalogue = crate::cases::all();
        let find = |exclusive: bool| {
            catalogue
                .iter()
                .find(|c| c.exclusive == exclusive)
                .expect("the catalogue has both kinds")
        };
        let (plain, alone) = (find(false), find(true));
        let job = |index, case, estimate, path| Pending {
            index,
            case,
            estimate,
            domain: domain(path),
        };
        let pending = vec![
            job(0, plain, 10, "/socket.io/"),
            job(1, plain, 900, "/socket.io/"),
            job(2, alone, 300, "/socket.io/"),
            job(3, plain, 10, "/engine.io/"),
            job(4, plain, 10_000, "/engine.io/"),
        ];
        let mut busy = BTreeMap::new();
        // Nothing running: the longest case, then the next longest.
        assert_eq!(pick(&pending, &busy), Some(4));
        assert_eq!(pick(&pending[..4], &busy), Some(1));
        // A case runs at /socket.io/: the exclusive one waits, and the
        // short /socket.io/ case after it in the order waits with it, while
        // /engine.io/ goes on.
        busy.insert(
            domain("/socket.io/").unwrap(),
            Busy {
                cases: 1,
                exclusive: false,
            },
        );
        let rest = [
            job(0, plain, 10, "/socket.io/"),
            job(2, alone, 300, "/socket.io/"),
            job(3, plain, 10, "/engine.io/"),
        ];
        assert_eq!(pick(&rest, &busy), Some(2));
        assert_eq!(pick(&rest[..2], &busy), None);
        // An exclusive case running keeps its endpoint to itself.
        busy.insert(
            domain("/socket.io/").unwrap(),
            Busy {
                cases: 1,
                exclusive: true,
            },
        );
        assert_eq!(pick(&rest[..1], &busy), None);
        // Idle endpoint: the exclusive case starts.
        busy.clear();
        assert_eq!(pick(&rest, &busy), Some(1));
    }
}
