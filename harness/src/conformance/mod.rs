//! [`Conformance`]: a run of the case catalogue against one server or
//! client, set up from Rust. The command line's `run`, `test server` and
//! `test client` build one of these and run it: there is no second path.

mod report;

use std::path::PathBuf;
use std::time::Duration;

use siospec_codec::session::socket::Parser;

use crate::baseline::Baseline;
use crate::case::client::Client;
use crate::case::{Case, Verdict};
use crate::runner::{self, Observer, Options, Quiet, Run, Selection};
use crate::suite::{Expected, Suite};
use crate::target::{Paths, Target, Urls};
use crate::tls::Trust;

pub use report::{CaseReport, Report};

/// A conformance run, set up step by step and started with
/// [`run`](Conformance::run).
///
/// [`Conformance::server`] tests a Socket.IO server at a URL through the
/// server catalogue (suites `eio4`, `eio3`, `sio5`, `sio4`);
/// [`Conformance::client`] tests a client, started by a command for each
/// case against a scripted server, through the client catalogue. The
/// defaults are the command line's: every suite, every case, 8 cases at a
/// time, waits at their normal length, no baseline, no report files.
///
/// ```no_run
/// # async fn example() {
/// let report = siospec::Conformance::server("http://127.0.0.1:3000")
///     .suites(["sio5", "eio4"])
///     .exclude("sio5.recovery")
///     .accept("eio4.heartbeat.*.first-ping", "our first PING comes at once; issue #12")
///     .run()
///     .await;
/// report.assert_conformant();
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Conformance does nothing until it is run"]
pub struct Conformance {
    subject: Subject,
    name: Option<String>,
    suites: Vec<String>,
    include: Vec<String>,
    exclude: Vec<String>,
    baseline: Option<PathBuf>,
    inline: Vec<(String, String)>,
    strict: bool,
    time_scale: f64,
    jobs: usize,
    max_wait: Duration,
    parser: Parser,
    report_dir: Option<PathBuf>,
    command: String,
    known: Expected,
    trust: Trust,
    tls: bool,
}

/// What a [`Conformance`] tests.
#[derive(Debug, Clone)]
enum Subject {
    Server(String),
    Client(String),
    Target(Box<Target>),
}

/// Why a [`Conformance`] run could not judge its target.
///
/// A case the harness cannot judge is not an error: it is a result
/// ([`Verdict::Skipped`], or [`Verdict::Error`] for that case alone). An
/// `Error` stops the whole run before or after its cases.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The run's settings cannot be used: an unknown suite, a time scale
    /// that is not positive, a selection that matches no case.
    Usage(String),
    /// The baseline file cannot be read or is not a valid baseline.
    Baseline(String),
    /// The target could not be started or reached: nothing answers at the
    /// URL, it is not a Socket.IO server, its certificate is refused, or
    /// the client's command never connects.
    Target(String),
    /// The report files could not be written.
    Report(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(e) | Error::Baseline(e) | Error::Target(e) | Error::Report(e) => {
                f.write_str(e)
            }
        }
    }
}

impl std::error::Error for Error {}

impl Conformance {
    /// Tests the Socket.IO server at `url` (`http://HOST:PORT`, or
    /// `https://…`; a path in it, such as `http://HOST:PORT/chat/`, is the
    /// Socket.IO path, `/socket.io/` otherwise). The Engine.IO suites run
    /// at `/engine.io/` when a bare Engine.IO echo server answers there
    /// (harness/CONTRACT.md), else at the Socket.IO path. A server whose
    /// connectTimeout or upgradeTimeout is not socket.io's default says so
    /// with [`connect_timeout`](Conformance::connect_timeout) and
    /// [`upgrade_timeout`](Conformance::upgrade_timeout).
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").suites(["eio4"]);
    /// ```
    pub fn server(url: impl Into<String>) -> Conformance {
        Conformance::new(Subject::Server(url.into()))
    }

    /// Tests the client that `command` starts, run by `sh -c` for each
    /// case with `{url}` replaced by that case's scripted server (also in
    /// the environment as `SIOSPEC_URL`), as harness/CLIENT-CONTRACT.md
    /// says.
    ///
    /// ```
    /// let run = siospec::Conformance::client("node my-driver.mjs {url}").case("client.eio4.handshake");
    /// ```
    pub fn client(command: impl Into<String>) -> Conformance {
        Conformance::new(Subject::Client(command.into()))
    }

    /// A run of the command line: its target is made there (a peer it
    /// starts, several URLs, a served client).
    #[doc(hidden)]
    pub fn of(target: Target) -> Conformance {
        Conformance::new(Subject::Target(Box::new(target)))
    }

    fn new(subject: Subject) -> Conformance {
        let defaults = Options::default();
        Conformance {
            subject,
            name: None,
            suites: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            baseline: None,
            inline: Vec::new(),
            strict: false,
            time_scale: defaults.scale,
            jobs: runner::DEFAULT_JOBS,
            max_wait: Duration::from_millis(defaults.max_wait_ms),
            parser: defaults.parser,
            report_dir: None,
            command: String::new(),
            known: Expected::OFFICIAL_DEFAULTS,
            trust: Trust::default(),
            tls: false,
        }
    }

    /// The target's name in reports and baselines (`server` or `client`
    /// unless given): a baseline file's entries apply to the targets their
    /// `target` glob matches.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").name("my-server");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Conformance {
        self.name = Some(name.into());
        self
    }

    /// Only these suites: `eio4`, `eio3`, `sio5`, `sio4` (server cases;
    /// the client catalogue files its cases under the same names). Default:
    /// all.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").suites(["sio5", "eio4"]);
    /// ```
    pub fn suites<I, S>(mut self, suites: I) -> Conformance
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.suites = suites.into_iter().map(Into::into).collect();
        self
    }

    /// Only cases whose id matches `glob` (`*`, `?`; a plain id prefix
    /// selects every case below it). Several calls add up.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .case("eio4.handshake")
    ///     .case("sio5.*.ack.*");
    /// ```
    pub fn case(mut self, glob: impl Into<String>) -> Conformance {
        self.include.push(glob.into());
        self
    }

    /// Leaves out the cases whose id matches `glob`. Several calls add up.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").exclude("sio5.recovery");
    /// ```
    pub fn exclude(mut self, glob: impl Into<String>) -> Conformance {
        self.exclude.push(glob.into());
        self
    }

    /// Accepted deviations from a baseline file (JSON, schema
    /// `siospec-baseline/1`): a result is accepted when an entry matches
    /// the target's [`name`](Conformance::name), the case id and exactly
    /// its verdict.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .name("socketioxide")
    ///     .baseline("baselines/socketioxide.json");
    /// ```
    pub fn baseline(mut self, path: impl Into<PathBuf>) -> Conformance {
        self.baseline = Some(path.into());
        self
    }

    /// Accepts whatever the cases matching `glob` find, but ERROR (the
    /// harness could not run them), for `reason`. The report lists the
    /// acceptance as no longer needed when those cases come out OK.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .accept("sio5.recovery", "no connection state recovery yet");
    /// ```
    pub fn accept(mut self, glob: impl Into<String>, reason: impl Into<String>) -> Conformance {
        self.inline.push((glob.into(), reason.into()));
        self
    }

    /// Counts NON-STRICT results (a SHOULD not followed) as failures.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").strict(true);
    /// ```
    pub fn strict(mut self, strict: bool) -> Conformance {
        self.strict = strict;
        self
    }

    /// Multiplies every wait and time limit by `factor` (2.0 on a slow
    /// machine). Default 1.0.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").time_scale(2.0);
    /// ```
    pub fn time_scale(mut self, factor: f64) -> Conformance {
        self.time_scale = factor;
        self
    }

    /// How many cases run at the same time (cases that broadcast to a whole
    /// namespace still run alone). Default 8.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000").jobs(1);
    /// ```
    pub fn jobs(mut self, jobs: usize) -> Conformance {
        self.jobs = jobs;
        self
    }

    /// A case that would wait longer than this on the server's own timers
    /// (pingInterval + pingTimeout, connectTimeout, as advertised) is
    /// SKIPPED with the reason. Default 60 s.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .max_wait(std::time::Duration::from_secs(5));
    /// ```
    pub fn max_wait(mut self, wait: Duration) -> Conformance {
        self.max_wait = wait;
        self
    }

    /// The server's Socket.IO connectTimeout, which no handshake
    /// advertises: the cases about connections that never join a namespace
    /// wait for it. Default: socket.io's, 45 s.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .connect_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Conformance {
        self.known.connect_timeout = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The server's Engine.IO upgradeTimeout, which no handshake
    /// advertises: the cases about upgrades left unfinished wait for it.
    /// Default: engine.io's, 10 s.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .upgrade_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Conformance {
        self.known.upgrade_timeout = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Writes the reports (index.json, report.html, junit.xml, summary.md
    /// and a page per case, with its wire trace) into `dir`, merging with
    /// the runs already there. Default: no files.
    ///
    /// ```
    /// let run = siospec::Conformance::server("http://127.0.0.1:3000")
    ///     .report_dir("target/siospec-reports");
    /// ```
    pub fn report_dir(mut self, dir: impl Into<PathBuf>) -> Conformance {
        self.report_dir = Some(dir.into());
        self
    }

    /// For an `https://` server: trust the CA certificates of this PEM file
    /// besides the platform's (for a self-signed certificate, the
    /// certificate itself).
    ///
    /// ```
    /// let run = siospec::Conformance::server("https://localhost:3443").ca("certs/ca.pem");
    /// ```
    pub fn ca(mut self, pem_file: impl Into<PathBuf>) -> Conformance {
        self.trust.ca = Some(pem_file.into());
        self
    }

    /// For a client: run every case's scripted server over HTTPS and WSS,
    /// with a certificate of a throwaway CA given to the client as
    /// `SIOSPEC_CA` (a PEM file). The `client.eio4.tls` cases need it.
    ///
    /// ```
    /// let run = siospec::Conformance::client("node my-driver.mjs {url}").tls(true);
    /// ```
    pub fn tls(mut self, tls: bool) -> Conformance {
        self.tls = tls;
        self
    }

    /// `--parser`: the Socket.IO parser the cases speak.
    #[doc(hidden)]
    pub fn parser(mut self, parser: Parser) -> Conformance {
        self.parser = parser;
        self
    }

    /// `--insecure`: any certificate is accepted (and what verification
    /// would have said is reported).
    #[doc(hidden)]
    pub fn insecure(mut self, insecure: bool) -> Conformance {
        self.trust.insecure = insecure;
        self
    }

    /// The command line that re-runs the target, for the reports.
    #[doc(hidden)]
    pub fn rerun_command(mut self, command: String) -> Conformance {
        self.command = command;
        self
    }

    /// Whether the target is a client (it runs the client catalogue).
    fn is_client(&self) -> bool {
        match &self.subject {
            Subject::Client(_) => true,
            Subject::Target(target) => matches!(**target, Target::Client(_)),
            Subject::Server(_) => false,
        }
    }

    /// The catalogue this run takes its cases from.
    fn catalogue(&self) -> Vec<Case> {
        if self.is_client() {
            crate::client_cases::all()
        } else {
            crate::cases::all()
        }
    }

    /// The target's name before it is started.
    fn target_name(&self) -> String {
        match (&self.name, &self.subject) {
            (Some(name), _) => name.clone(),
            (None, Subject::Server(_)) => "server".to_owned(),
            (None, Subject::Client(_)) => "client".to_owned(),
            (None, Subject::Target(target)) => match &**target {
                Target::Url(u) => u.name.clone(),
                Target::Client(c) => c.name.clone(),
                Target::Peer(p) => p.name(),
            },
        }
    }

    /// The run these settings describe, without its baseline.
    fn plan(&self) -> Result<Run, Error> {
        let suites = suites(&self.suites, self.parser)?;
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(Error::Usage(format!(
                "the time scale must be a positive number, not {}",
                self.time_scale
            )));
        }
        if self.jobs == 0 {
            return Err(Error::Usage(
                "jobs must be at least 1 (cases run at the same time)".to_owned(),
            ));
        }
        if self.tls && !self.is_client() {
            return Err(Error::Usage(
                "tls(true) is for a client; a server is tested over TLS at its https:// URL"
                    .to_owned(),
            ));
        }
        let name = self.target_name();
        let target = match &self.subject {
            Subject::Server(url) => {
                crate::target::authority_of(url).map_err(Error::Usage)?;
                let urls = Urls::parse(
                    &name,
                    std::slice::from_ref(url),
                    Paths::default(),
                    self.known,
                )
                .map_err(Error::Usage)?;
                Target::Url(Urls {
                    trust: self.trust.clone(),
                    ..urls
                })
            }
            Subject::Client(command) => Target::Client(Client::exec(&name, command)),
            Subject::Target(target) => (**target).clone(),
        };
        let target = match target {
            Target::Client(client) if self.tls => {
                Target::Client(client.over_tls().map_err(Error::Usage)?)
            }
            target => target,
        };
        Ok(Run {
            target,
            selection: Selection {
                suites,
                include: self.include.clone(),
                exclude: self.exclude.clone(),
            },
            options: Options {
                scale: self.time_scale,
                jobs: self.jobs,
                max_wait_ms: u64::try_from(self.max_wait.as_millis()).unwrap_or(u64::MAX),
                parser: self.parser,
            },
            baseline: None,
        })
    }

    /// The cases the run would take, in catalogue order (`--list`).
    #[doc(hidden)]
    pub fn selected(&self) -> Result<Vec<Case>, Error> {
        let catalogue = self.catalogue();
        let run = self.plan()?;
        let selected = run.cases(&catalogue).map_err(Error::Usage)?;
        Ok(selected.into_iter().cloned().collect())
    }

    /// Starts the target (a client's command, for each case), runs the
    /// selected cases against it, stops what it started, applies the
    /// accepted deviations and writes the reports if asked.
    ///
    /// Never panics on what the target does: a run that cannot judge its
    /// target returns a report whose [`error`](Report::error) says why.
    ///
    /// ```no_run
    /// # async fn example() {
    /// let report = siospec::Conformance::server("http://127.0.0.1:3000").run().await;
    /// println!("{report}");
    /// # }
    /// ```
    pub async fn run(self) -> Report {
        self.run_observed(&mut Quiet).await
    }

    /// [`run`](Conformance::run), telling `observer` as cases start and end
    /// (the command line's progress).
    #[doc(hidden)]
    pub async fn run_observed(self, observer: &mut dyn Observer) -> Report {
        let name = self.target_name();
        let settings = report::Settings {
            strict: self.strict,
            time_scale: self.time_scale,
            client: self.is_client(),
        };
        match self.execute(observer).await {
            Ok(report) => report,
            Err(e) => Report::stopped(name, settings, e),
        }
    }

    async fn execute(self, observer: &mut dyn Observer) -> Result<Report, Error> {
        let catalogue = self.catalogue();
        let mut run = self.plan()?;
        let selected = run.cases(&catalogue).map_err(Error::Usage)?;
        if let Some(path) = &self.baseline {
            run.baseline = Some(Baseline::load(path).map_err(Error::Baseline)?);
        }
        let mut outcome = run
            .execute(&selected, observer)
            .await
            .map_err(Error::Target)?;
        outcome
            .stale
            .extend(accept_inline(&self.inline, &mut outcome.results));
        let settings = report::Settings {
            strict: self.strict,
            time_scale: self.time_scale,
            client: self.is_client(),
        };
        let report = Report::new(outcome, &catalogue, settings);
        if let Some(dir) = &self.report_dir {
            report
                .write(dir, &catalogue, self.command.clone())
                .map_err(Error::Report)?;
        }
        Ok(report)
    }
}

/// The suites named (all when none is), checked against the parser: the
/// msgpack parser is a Socket.IO v5 one, so it runs the sio5 cases.
fn suites(names: &[String], parser: Parser) -> Result<Vec<Suite>, Error> {
    let suites = names
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Suite::parse(s).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown suite {s:?} (known: eio4, eio3, sio5, sio4)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match parser {
        Parser::Default => Ok(suites),
        _ if suites.is_empty() || suites == [Suite::Sio5] => Ok(vec![Suite::Sio5]),
        _ => Err(Error::Usage(format!(
            "the {parser} parser runs the Socket.IO v5 cases only (suite sio5); the other suites do not depend on the parser"
        ))),
    }
}

/// Marks the results `accepted` (glob, reason) covers, after the baseline
/// file; returns the acceptances no longer needed, one line each.
fn accept_inline(accepted: &[(String, String)], results: &mut [runner::CaseResult]) -> Vec<String> {
    let mut stale = Vec::new();
    for (glob, reason) in accepted {
        let mut judged = Vec::new();
        for r in results
            .iter_mut()
            .filter(|r| runner::id_matches(glob, &r.id))
        {
            if !matches!(r.verdict, Verdict::Ok | Verdict::Error) && r.accepted.is_none() {
                r.accepted = Some(reason.clone());
            }
            if r.verdict != Verdict::Skipped {
                judged.push(r);
            }
        }
        if !judged.is_empty() && judged.iter().all(|r| r.verdict == Verdict::Ok) {
            stale.push(format!(
                "accepted deviation {glob} no longer applies: {}",
                judged
                    .iter()
                    .map(|r| format!("{} is OK", r.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    stale
}
