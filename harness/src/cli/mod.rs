//! The command line, one file per command: argument parsing and printing
//! only. The work is the library's: [`runner::Run`] for `run` and
//! `test server`, [`siospec::bench::run`], [`siospec::server`].

mod bench;
mod bench_worker;
mod client;
mod cluster;
mod doctor;
mod matrix;
mod print;
mod run;
mod serve;
mod test;

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand};

use siospec::peer::Peer;
use siospec::report;
use siospec::runner;
use siospec::suite::Expected;
use siospec::target::{Paths, Target, Urls};
use siospec::Conformance;

pub(crate) use siospec::runner::{EXIT_HARNESS, EXIT_OK};

/// Where `run` and `test server` write their reports unless told: a folder
/// of the working directory that the repository ignores, so that normal
/// use never rewrites the committed reports/.
const DEFAULT_REPORT_DIR: &str = "siospec-reports/conformance";

/// Where `test client` writes its reports unless told: the client catalogue
/// is another set of ids, so its runs do not merge into the servers'.
const DEFAULT_CLIENT_REPORT_DIR: &str = "siospec-reports/client";

/// Where `bench` writes its report unless told.
const DEFAULT_BENCH_DIR: &str = "siospec-reports/bench";

/// siospec: conformance toolkit for Engine.IO / Socket.IO servers.
#[derive(Debug, Parser)]
#[command(name = "siospec", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test an implementation.
    Test {
        #[command(subcommand)]
        what: test::TestWhat,
    },
    /// The main job: run every suite against the reference server (default),
    /// the official Node server (`--target node`) or a URL, write the
    /// reports (siospec-reports/conformance/) and print the summary.
    Run(run::RunArgs),
    /// Run the reference server. When it is ready it prints exactly one line,
    /// `listening on http://ADDR`, on stdout; everything else goes to stderr.
    /// It stops cleanly on Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// The load benchmark: N clients on loopback against the reference
    /// server and the official Node server, back to back (echo round trips,
    /// broadcast fan-out, connect storm, idle memory), plus the generator's
    /// own ceiling against a sink that does no protocol work. Writes
    /// load.md and load.svg. Never fails on speed: exit 0 when it ran, 2 on
    /// usage or harness errors.
    Bench(bench::BenchArgs),
    /// One process of the generator's scale runs; `bench` starts it.
    #[command(hide = true)]
    BenchWorker(bench_worker::BenchWorkerArgs),
    /// The interoperability matrix: every implementation siospec can start
    /// (harness/peers, and its own), servers through every server suite and
    /// clients through the client cases, each with its baseline; writes
    /// siospec-reports/matrix/ (matrix.html, matrix.md, findings.md,
    /// index.json, and the runs' conformance report in runs/).
    ///
    /// Exit status: 0 every run finished and every deviation is one its
    /// baseline accepts, with no baseline entry left unmatched; 1 a verdict
    /// changed (a new deviation, or one fixed); 2 usage or harness error (an
    /// implementation not installed: the message says what to run).
    #[command(verbatim_doc_comment)]
    Matrix(matrix::MatrixArgs),
    /// Diagnose a deployed endpoint: what sits around the server (reverse
    /// proxy, load balancer, CORS, TLS), read-only. Checks the probe, both
    /// transports, whether the WebSocket upgrade passes the proxy (101),
    /// sticky sessions, idle survival past pingInterval + pingTimeout,
    /// CORS for --origin, TLS, compression and the advertised timings, and
    /// says for each problem what to change (an nginx directive, a
    /// balancer setting, a server option). Writes doctor.html and
    /// doctor.json (siospec-reports/doctor/).
    ///
    /// Exit status: 0 no problem found; 1 a problem found (warnings do not
    /// count); 2 usage error.
    #[command(verbatim_doc_comment)]
    Doctor(doctor::DoctorArgs),
    /// The client contract's driver on siospec's own Socket.IO client
    /// (what `test client --target rust` runs).
    ///
    /// Does what harness/CLIENT-CONTRACT.md asks of a driver, with the
    /// codec's client machine (siospec-codec's ClientConnection, a port of
    /// socket.io-client 4.8) on real sockets: joins the first namespace of
    /// the server at URL with the options of SIOSPEC_TRANSPORTS
    /// (`websocket`, `polling`, `polling,websocket`; unset: polling, then the
    /// upgrade to WebSocket, as the official client), SIOSPEC_RECONNECTION
    /// (`true`/`false`; unset: true), SIOSPEC_AUTH (a JSON object),
    /// SIOSPEC_NAMESPACE (unset: `/`) and SIOSPEC_PARSER (`default` or
    /// `msgpack`; unset: default); echoes `echo` as `echo-back`, answers
    /// every ack request with the event's arguments, carries out the `do`
    /// instructions (open, emit, emit with ack, disconnect) and prints the
    /// contract's lines on stdout, one JSON object each (bytes as
    /// {"$binary": base64}). Anything else goes to stderr. Runs until killed.
    Client(client::ClientArgs),
}

#[derive(Debug, Args)]
pub(super) struct Common {
    /// Suites to run (comma separated): eio4, eio3, sio5, sio4. Default: all.
    #[arg(long, value_delimiter = ',')]
    suite: Vec<String>,
    /// Only cases whose id matches this glob (`*`, `?`; a plain id prefix
    /// selects everything below it). Repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Skip cases whose id matches this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// List the selected cases and exit without running them.
    #[arg(long)]
    list: bool,
    /// Count NON-STRICT results as failures.
    #[arg(long)]
    strict: bool,
    /// Write index.json, per-case JSON/HTML, junit.xml, summary.md and
    /// report.html here; runs of other targets, and of other cases of the
    /// same target (`--case`), merge into what is there. Default:
    /// siospec-reports/conformance for servers, siospec-reports/client for
    /// clients.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Multiply every wait and time limit by F (e.g. 2 on a slow machine).
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
    /// Accepted deviations, each with a reason (JSON, schema siospec-baseline/1).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Cases run at the same time (cases that broadcast to a whole
    /// namespace still run alone).
    #[arg(long, value_name = "N", default_value_t = runner::DEFAULT_JOBS, value_parser = parse_jobs)]
    jobs: usize,
    /// A case that would wait longer than this on the server's own timers
    /// (pingInterval + pingTimeout, connectTimeout, as advertised or given)
    /// is SKIPPED with the reason.
    #[arg(long, value_name = "SECONDS", default_value_t = runner::DEFAULT_MAX_WAIT_S)]
    max_wait: u64,
    /// The Socket.IO parser the cases speak: `default` (socket.io-parser)
    /// or `msgpack` (socket.io-msgpack-parser). With msgpack only the
    /// Socket.IO v5 cases run (the parser is a v5 one), a server siospec
    /// starts is started with its msgpack parser, a client is told with
    /// SIOSPEC_PARSER=msgpack, and the report names the target NAME-msgpack.
    /// Cases about the default parser's text format are SKIPPED (n/a) with
    /// the reason.
    #[arg(long, value_name = "PARSER", default_value = "default")]
    parser: siospec_codec::session::socket::Parser,
}

/// What siospec needs to know about a server given by URL.
/// What siospec needs to know about a server given by URL.
#[derive(Debug, Args)]
pub(super) struct UrlOptions {
    /// The Socket.IO path. The Socket.IO suites run there, and so do the
    /// Engine.IO rules when no engine endpoint answers.
    #[arg(long, value_name = "PATH", default_value = "/socket.io/")]
    path: String,
    /// Where a bare Engine.IO echo server (the contract's engine mode) is
    /// looked for; the Engine.IO suites run there when it answers.
    #[arg(long, value_name = "PATH", default_value = "/engine.io/")]
    engine_path: String,
    /// The server's Socket.IO connectTimeout in ms, which no handshake
    /// advertises (socket.io's default: 45000).
    #[arg(long, value_name = "MS", default_value_t = Expected::OFFICIAL_DEFAULTS.connect_timeout)]
    connect_timeout: u64,
    /// The server's Engine.IO upgradeTimeout in ms, which no handshake
    /// advertises (engine.io's default: 10000).
    #[arg(long, value_name = "MS", default_value_t = Expected::OFFICIAL_DEFAULTS.upgrade_timeout)]
    upgrade_timeout: u64,
    #[command(flatten)]
    trust: TrustOptions,
}

/// How `https://` and `wss://` servers' certificates are checked.
#[derive(Debug, Clone, Args)]
pub(super) struct TrustOptions {
    /// For https:// URLs: a PEM file of CA certificates to trust besides
    /// the platform's (a private CA; for a self-signed certificate, the
    /// certificate itself).
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// For https:// URLs: accept any certificate. What verification would
    /// have said is still reported, loudly, and the eio4.tls cases judge it.
    #[arg(long)]
    insecure: bool,
}

impl TrustOptions {
    pub(super) fn trust(&self) -> siospec::tls::Trust {
        siospec::tls::Trust {
            ca: self.ca.clone(),
            insecure: self.insecure,
        }
    }
}

/// `--target`'s values: the reference server and every folder of
/// harness/peers with a peer.toml, each with its manifest's help line.
fn target_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        Peer::available()
            .into_iter()
            .map(|(name, help)| PossibleValue::new(name).help(help)),
    )
}

/// `run --target`'s values: every server, and every client as
/// `NAME-client` (a peer that is a client only also by its own name).
fn run_target_names() -> PossibleValuesParser {
    let mut values: Vec<PossibleValue> = Peer::available()
        .into_iter()
        .map(|(name, help)| PossibleValue::new(name).help(help))
        .collect();
    for peer in Peer::all().into_iter().filter(Peer::is_client) {
        let name = peer.name();
        values.push(
            PossibleValue::new(siospec::peer::client_target_name(&name))
                .help(format!("{name}'s client driver, through the client cases")),
        );
        if !peer.is_server() {
            values.push(PossibleValue::new(name).hide(true));
        }
    }
    PossibleValuesParser::new(values)
}

/// The target a peer name stands for: its server, or its client driver
/// (`NAME-client`, or a peer that is a client only); `family` picks a
/// deliberately broken variant.
fn peer_target(name: &str, family: Option<&str>) -> Result<Target, String> {
    if let Some(base) = siospec::peer::peer_of_client_target(name) {
        if let Ok(peer) = Peer::named(base) {
            return peer.client(family).map(Target::Client);
        }
    }
    let peer = Peer::named(name)?;
    if !peer.is_server() {
        return peer.client(family).map(Target::Client);
    }
    match family {
        Some(f) => peer.broken(f).map(Target::Peer),
        None => Ok(Target::Peer(peer)),
    }
}

fn parse_time_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("--jobs needs at least 1 (cases run at the same time)".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of cases")),
    }
}

fn url_target(name: &str, urls: &[String], o: &UrlOptions) -> Result<Target, String> {
    let paths = Paths::new(&o.path, &o.engine_path);
    let known = Expected {
        connect_timeout: o.connect_timeout,
        upgrade_timeout: o.upgrade_timeout,
        ..Expected::OFFICIAL_DEFAULTS
    };
    let trust = o.trust.trust();
    Urls::parse(name, urls, paths, known).map(|urls| Target::Url(Urls { trust, ..urls }))
}

/// Runs the command line; returns the exit status.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(args) => serve::serve(args).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::BenchWorker(args) => bench_worker::bench_worker(args).await,
        Command::Client(args) => client::client(args).await,
        Command::Test {
            what: test::TestWhat::Server(args),
        } => test::server(args).await,
        Command::Test {
            what: test::TestWhat::Client(args),
        } => test::client(args).await,
        Command::Test {
            what: test::TestWhat::Cluster(args),
        } => cluster::cluster(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Doctor(args) => doctor::doctor(args).await,
        Command::Matrix(args) => matrix::matrix(args).await,
    }
}

/// `run`, `test server` and `test client` once the target is known: list,
/// or run and report (the library's [`siospec::Conformance`]). A client
/// target runs the client catalogue.
async fn conform(target: Target, common: Common) -> i32 {
    let default_dir = match target {
        Target::Client(_) => DEFAULT_CLIENT_REPORT_DIR,
        _ => DEFAULT_REPORT_DIR,
    };
    let mut run = Conformance::of(target)
        .suites(common.suite)
        .strict(common.strict)
        .time_scale(common.time_scale)
        .jobs(common.jobs)
        .max_wait(Duration::from_secs(common.max_wait))
        .parser(common.parser);
    for glob in common.cases {
        run = run.case(glob);
    }
    for glob in common.exclude {
        run = run.exclude(glob);
    }
    if let Some(path) = common.baseline {
        run = run.baseline(path);
    }
    if common.list {
        return match run.selected() {
            Ok(selected) => {
                print::list(&selected);
                EXIT_OK
            }
            Err(e) => {
                eprintln!("siospec: {e}");
                EXIT_HARNESS
            }
        };
    }
    let dir = common
        .report_dir
        .unwrap_or_else(|| PathBuf::from(default_dir));
    let report = run
        .report_dir(&dir)
        .rerun_command(report::rerun_command(std::env::args()))
        .run_observed(&mut print::Progress::auto())
        .await;
    for line in report.stale_acceptances() {
        eprintln!("siospec: {line}");
    }
    if let Some(e) = report.error() {
        eprintln!("siospec: {e}");
        return EXIT_HARNESS;
    }
    eprintln!("siospec: reports in {}", dir.display());
    print::summary(&report);
    report.exit_code()
}
