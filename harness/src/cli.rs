//! The command line: `siospec test server` and `siospec run`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::case::{Case, Verdict};
use crate::probe::Paths;
use crate::report::{self, RunInfo};
use crate::runner::{self, CaseResult, Options, Progress, Selection};
use crate::suite::{Expected, Suite};
use crate::target::{default_node_dir, default_python_dir, TargetSpec};

/// Where `run` and `test server` write their reports unless told: a folder
/// of the working directory that the repository ignores, so that normal
/// use never rewrites the committed reports/.
pub const DEFAULT_REPORT_DIR: &str = "siospec-reports/conformance";

/// Where `bench` writes its report unless told.
pub const DEFAULT_BENCH_DIR: &str = "siospec-reports/bench";

/// Exit status: every selected case OK (or accepted by the baseline).
pub const EXIT_OK: i32 = 0;
/// Exit status: conformance failures.
pub const EXIT_FAILED: i32 = 1;
/// Exit status: usage or harness error (including zero matched cases).
pub const EXIT_HARNESS: i32 = 2;

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
        what: TestWhat,
    },
    /// The main job: run every suite against the reference server (default),
    /// the official Node server (`--target node`) or a URL, write the
    /// reports (siospec-reports/conformance/) and print the summary.
    Run(RunArgs),
    /// Run the reference server. When it is ready it prints exactly one line,
    /// `listening on http://ADDR`, on stdout; everything else goes to stderr.
    /// It stops cleanly on Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// The load benchmark: N clients on loopback against the reference
    /// server and the official Node server, back to back (echo round trips,
    /// broadcast fan-out, connect storm, idle memory), plus the generator's
    /// own ceiling against a sink that does no protocol work. Writes
    /// load.md and load.svg. Never fails on speed: exit 0 when it ran, 2 on
    /// usage or harness errors.
    Bench(BenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchTransport {
    /// WebSocket from the first request.
    Websocket,
    /// HTTP long-polling only (no upgrade; the sink does not speak it, so
    /// no ceiling is measured).
    Polling,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Servers to start and measure, back to back at every point: `rust`
    /// (`siospec serve`, this binary) and `node` (harness/peers/node, whose
    /// packages `npm ci` installs; scripts/test does it).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [TargetKind::Rust, TargetKind::Node])]
    target: Vec<TargetKind>,
    /// Measure a running Socket.IO server (`http://HOST:PORT`, contract of
    /// harness/CONTRACT.md at /socket.io/) instead of starting any; its
    /// memory and CPU are reported as unavailable.
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    url: Option<String>,
    /// Client counts, each a point of its own [default: 10,100,1000; with
    /// --quick: 10,100].
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    clients: Option<Vec<usize>>,
    /// Transport of the generator's clients.
    #[arg(long, value_enum, default_value_t = BenchTransport::Websocket)]
    transport: BenchTransport,
    /// Scenarios: echo (ack round trips), broadcast (one emitter, N
    /// receivers), connect (handshakes/s), idle (server memory per connection).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "echo,broadcast,connect,idle"
    )]
    scenario: Vec<String>,
    /// Seconds measured per point, after a warm-up of a quarter of it (at
    /// least 0.25 s) [default: 5; with --quick: 1].
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// The short run CI uses, well under a minute: 1 s per point, clients
    /// 10,100 (explicit --duration and --clients still apply).
    #[arg(long)]
    quick: bool,
    /// Skip the generator's ceiling (the runs against the sink).
    #[arg(long)]
    no_ceiling: bool,
    /// Where to write load.json, load.md and load.svg; a partial run merges
    /// into the points already there.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_BENCH_DIR)]
    report_dir: PathBuf,
    /// Folder of the Node peer (default: harness/peers/node, or $SIOSPEC_NODE_PEER).
    #[arg(long, value_name = "DIR")]
    node_peer: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeMode {
    /// Both of the below, on one port.
    Both,
    /// Socket.IO at /socket.io/ with the testee contract (harness/CONTRACT.md).
    Socket,
    /// A bare Engine.IO echo server at /engine.io/.
    Engine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeProfile {
    /// The testee contract's reference configuration: pingInterval 300 ms,
    /// pingTimeout 200 ms, maxPayload 1000000, CORS origin `*`,
    /// upgradeTimeout 2000 ms, connectTimeout 1000 ms.
    Suite,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
    /// What to serve.
    #[arg(long, value_enum, default_value_t = ServeMode::Both)]
    mode: ServeMode,
    /// Start from a named configuration; without it, engine.io's defaults
    /// (pingInterval 25000, pingTimeout 20000, connectTimeout 45000, no CORS).
    /// The flags below override it.
    #[arg(long, value_enum)]
    profile: Option<ServeProfile>,
    /// Milliseconds between server pings.
    #[arg(long, value_name = "MS")]
    ping_interval: Option<u64>,
    /// Milliseconds the client has to answer a ping.
    #[arg(long, value_name = "MS")]
    ping_timeout: Option<u64>,
    /// Milliseconds an upgrade may take once its WebSocket is open.
    #[arg(long, value_name = "MS")]
    upgrade_timeout: Option<u64>,
    /// Milliseconds a Socket.IO client has to join a namespace.
    #[arg(long, value_name = "MS")]
    connect_timeout: Option<u64>,
    /// Largest POST body and WebSocket message, in bytes (maxHttpBufferSize).
    #[arg(long, value_name = "BYTES")]
    max_payload: Option<usize>,
    /// Accept Engine.IO v3 (Socket.IO 1.x/2.x) clients.
    #[arg(long)]
    allow_eio3: bool,
    /// Answer CORS requests from this origin (`*` for any).
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Option<String>,
    /// Accepted transports (comma separated): polling, websocket.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    transports: Vec<String>,
    /// Also stop when standard input closes (for a parent process that may die).
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// Reproduce the official Node server where it departs from the
    /// protocol text: an undecodable POST answered 200 `ok`, `1` over
    /// WebSocket ignored, EIO checked after the WebSocket handshake, an
    /// invalid EIO read as 3 (with --allow-eio3), the heartbeat dropped on
    /// upgrade, `2probe` on a v3 WebSocket answered `3`, an upgrade without
    /// probe, and the v5 CONNECT_ERROR object sent to protocol 4 clients.
    /// Default: follow the protocol text.
    #[arg(long)]
    node_habits: bool,
}

#[derive(Debug, Subcommand)]
enum TestWhat {
    /// Test a server that follows harness/CONTRACT.md.
    Server(ServerArgs),
}

#[derive(Debug, Args)]
struct Common {
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
    /// same target (`--case`), merge into what is there.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    report_dir: PathBuf,
    /// Multiply every wait and time limit by F (e.g. 2 on a slow machine).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
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
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// The server: `http://HOST:PORT` (a path in it, such as
    /// `http://HOST:PORT/socket.io/`, sets --path), or SUITE=URL to give one
    /// suite a server of its own. Repeatable.
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    /// Name of the target in reports.
    #[arg(long, default_value = "server")]
    name: String,
    #[command(flatten)]
    url_options: UrlOptions,
    #[command(flatten)]
    common: Common,
}

/// What siospec needs to know about a server given by URL.
#[derive(Debug, Args)]
struct UrlOptions {
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetKind {
    /// The embedded Rust reference server.
    Rust,
    /// The official Node server in harness/peers/node.
    Node,
    /// python-socketio in harness/peers/python, on its default settings
    /// (`run` only; harness/peers/python/setup installs it).
    Python,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Which server to start and test.
    #[arg(long, value_enum, default_value_t = TargetKind::Rust)]
    target: TargetKind,
    /// Test this server instead of starting one (same forms as `test server --url`).
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    #[command(flatten)]
    url_options: UrlOptions,
    /// Folder of the Node peer (default: harness/peers/node, or $SIOSPEC_NODE_PEER).
    #[arg(long, value_name = "DIR")]
    node_peer: Option<PathBuf>,
    /// Start the deliberately broken Node variant (harness/peers/node/broken)
    /// that breaks one rule family; for testing siospec itself.
    #[arg(long = "break", value_name = "FAMILY")]
    broken: Option<String>,
    #[command(flatten)]
    common: Common,
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("--jobs needs at least 1 (cases run at the same time)".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of cases")),
    }
}

fn with_slashes(path: &str) -> String {
    let path = path.trim_matches('/');
    if path.is_empty() {
        "/".to_owned()
    } else {
        format!("/{path}/")
    }
}

fn url_target(name: &str, urls: &[String], o: &UrlOptions) -> Result<TargetSpec, String> {
    let mut default = None;
    let mut per_suite = BTreeMap::new();
    let mut paths = Paths {
        socket: with_slashes(&o.path),
        engine: with_slashes(&o.engine_path),
    };
    for u in urls {
        let url = u
            .split_once('=')
            .filter(|(s, _)| !s.contains('/'))
            .map_or(u.as_str(), |(_, u)| u);
        if let Some(path) = crate::target::path_of(url) {
            paths.socket = path;
        }
        match u.split_once('=') {
            Some((s, url)) if !s.contains('/') => {
                let suite =
                    Suite::parse(s).ok_or_else(|| format!("unknown suite {s:?} in --url {u:?}"))?;
                per_suite.insert(suite, url.to_owned());
            }
            _ => default = Some(u.clone()),
        }
    }
    Ok(TargetSpec::Url {
        name: name.to_owned(),
        default,
        per_suite,
        paths,
        known: Expected {
            connect_timeout: o.connect_timeout,
            upgrade_timeout: o.upgrade_timeout,
            ..Expected::OFFICIAL_DEFAULTS
        },
    })
}

fn serve_options(args: &ServeArgs) -> Result<crate::server::Options, String> {
    use crate::server::{Mode, Options, Serves};
    use siospec_codec::session::{Cors, CorsOrigin};
    use std::time::Duration;
    let mode = match args.mode {
        ServeMode::Both => Serves::Both,
        ServeMode::Socket => Serves::Only(Mode::Socket),
        ServeMode::Engine => Serves::Only(Mode::Engine),
    };
    let options = match args.profile {
        Some(ServeProfile::Suite) => Options::suite(mode),
        None => Options::standard(mode),
    };
    let mut options = options.with_node_habits(args.node_habits);
    let ms = Duration::from_millis;
    if let Some(v) = args.ping_interval {
        options.engine.ping_interval = ms(v);
    }
    if let Some(v) = args.ping_timeout {
        options.engine.ping_timeout = ms(v);
    }
    if let Some(v) = args.upgrade_timeout {
        options.engine.upgrade_timeout = ms(v);
    }
    if let Some(v) = args.connect_timeout {
        options.socket.connect_timeout = ms(v);
    }
    if let Some(v) = args.max_payload {
        options.engine.max_payload = v;
    }
    options.engine.allow_eio3 |= args.allow_eio3;
    if let Some(origin) = &args.cors_origin {
        let mut cors = Cors::any();
        if origin != "*" {
            cors.origin = CorsOrigin::Fixed(origin.clone());
        }
        options.engine.cors = Some(cors);
    }
    if !args.transports.is_empty() {
        let mut transports = siospec_codec::session::engine::Transports {
            polling: false,
            websocket: false,
        };
        for t in &args.transports {
            match t.trim() {
                "polling" => transports.polling = true,
                "websocket" => transports.websocket = true,
                other => {
                    return Err(format!(
                        "unknown transport {other:?} (known: polling, websocket)"
                    ))
                }
            }
        }
        options.engine.transports = transports;
    }
    Ok(options)
}

async fn serve(args: ServeArgs) -> i32 {
    let options = match serve_options(&args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("siospec serve: {e}");
            return EXIT_HARNESS;
        }
    };
    let addr = args.addr;
    let server = match tokio::task::spawn_blocking(move || {
        crate::server::ServerThread::start(addr, options)
    })
    .await
    {
        Ok(Ok(server)) => server,
        Ok(Err(e)) => {
            eprintln!("siospec serve: cannot listen on {addr}: {e}");
            return EXIT_HARNESS;
        }
        Err(e) => {
            eprintln!("siospec serve: {e}");
            return EXIT_HARNESS;
        }
    };
    println!("listening on http://{}", server.addr());
    let stdin_closed = async {
        if args.exit_on_stdin_close {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 512];
            while matches!(tokio::io::AsyncReadExt::read(&mut stdin, &mut buf).await, Ok(n) if n > 0)
            {
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    let terminated = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
        () = stdin_closed => {}
    }
    eprintln!("siospec serve: shutting down");
    let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    EXIT_OK
}

fn bench_options(args: &BenchArgs) -> Result<crate::bench::Options, String> {
    use crate::bench::{Options, Scenario, Target, Transport};
    use std::time::Duration;
    let mut scenarios = Vec::new();
    for s in &args.scenario {
        let s = Scenario::parse(s).ok_or_else(|| {
            format!("unknown scenario {s:?} (known: echo, broadcast, connect, idle)")
        })?;
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    }
    let clients = match (&args.clients, args.quick) {
        (Some(c), _) => c.clone(),
        (None, true) => vec![10, 100],
        (None, false) => vec![10, 100, 1000],
    };
    if clients.is_empty() || clients.contains(&0) {
        return Err("--clients needs counts of at least 1".to_owned());
    }
    let seconds = args.duration.unwrap_or(if args.quick { 1.0 } else { 5.0 });
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err("--duration must be a positive number of seconds".to_owned());
    }
    let targets = match &args.url {
        Some(url) => vec![Target::Url {
            authority: crate::target::authority_of(url)?,
        }],
        None => {
            let mut targets = Vec::new();
            for kind in &args.target {
                let t = match kind {
                    TargetKind::Rust => Target::Rust {
                        exe: std::env::current_exe().map_err(|e| {
                            format!("cannot find this program to start `serve`: {e}")
                        })?,
                    },
                    TargetKind::Node => Target::Node {
                        dir: args.node_peer.clone().unwrap_or_else(default_node_dir),
                    },
                    TargetKind::Python => return Err(
                        "bench measures rust and node; for another server, start it and pass --url"
                            .to_owned(),
                    ),
                };
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
            targets
        }
    };
    Ok(Options {
        targets,
        clients,
        scenarios,
        transport: match args.transport {
            BenchTransport::Websocket => Transport::WebSocket,
            BenchTransport::Polling => Transport::Polling,
        },
        duration: Duration::from_secs_f64(seconds),
        warmup: Duration::from_secs_f64((seconds / 4.0).max(0.25)),
        ceiling: !args.no_ceiling,
        bar: true,
    })
}

async fn bench(args: BenchArgs) -> i32 {
    let options = match bench_options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("siospec bench: {e}");
            return EXIT_HARNESS;
        }
    };
    let command = std::iter::once("siospec".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let run = match crate::bench::run(&options, command).await {
        Ok(run) => run,
        Err(e) => {
            eprintln!("siospec bench: {e}");
            return EXIT_HARNESS;
        }
    };
    match crate::bench::report::write(&args.report_dir, &run) {
        Ok((md, svg)) => {
            for p in &run.points {
                println!("{}", crate::bench::report::one_line(p));
            }
            eprintln!("siospec bench: {} and {}", md.display(), svg.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("siospec bench: {e}");
            EXIT_HARNESS
        }
    }
}

/// Runs the command line; returns the exit status.
pub async fn main(cli: Cli) -> i32 {
    let (target, common) = match cli.command {
        Command::Serve(args) => return serve(args).await,
        Command::Bench(args) => return bench(args).await,
        Command::Test {
            what: TestWhat::Server(args),
        } => {
            if args.url.is_empty() && !args.common.list {
                eprintln!("siospec: `test server` needs --url URL");
                return EXIT_HARNESS;
            }
            match url_target(&args.name, &args.url, &args.url_options) {
                Ok(t) => (t, args.common),
                Err(e) => {
                    eprintln!("siospec: {e}");
                    return EXIT_HARNESS;
                }
            }
        }
        Command::Run(args) => {
            let target = if !args.url.is_empty() {
                match url_target("server", &args.url, &args.url_options) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("siospec: {e}");
                        return EXIT_HARNESS;
                    }
                }
            } else {
                match args.target {
                    TargetKind::Rust if args.broken.is_some() => {
                        eprintln!("siospec: --break applies to --target node only");
                        return EXIT_HARNESS;
                    }
                    TargetKind::Python if args.broken.is_some() => {
                        eprintln!("siospec: --break applies to --target node only");
                        return EXIT_HARNESS;
                    }
                    TargetKind::Rust => TargetSpec::Rust,
                    TargetKind::Python => TargetSpec::Python {
                        dir: default_python_dir(),
                    },
                    TargetKind::Node => TargetSpec::Node {
                        dir: args.node_peer.unwrap_or_else(default_node_dir),
                        broken: args.broken,
                    },
                }
            };
            (target, args.common)
        }
    };
    execute(target, common).await
}

fn parse_suites(list: &[String]) -> Result<Vec<Suite>, String> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Suite::parse(s)
                .ok_or_else(|| format!("unknown suite {s:?} (known: eio4, eio3, sio5, sio4)"))
        })
        .collect()
}

async fn execute(target: TargetSpec, common: Common) -> i32 {
    let catalogue = crate::cases::all();
    let suites = match parse_suites(&common.suite) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("siospec: {e}");
            return EXIT_HARNESS;
        }
    };
    if !(common.time_scale.is_finite() && common.time_scale > 0.0) {
        eprintln!("siospec: --time-scale must be a positive number");
        return EXIT_HARNESS;
    }
    let selection = Selection {
        suites,
        include: common.cases.clone(),
        exclude: common.exclude.clone(),
    };
    let selected = selection.apply(&catalogue);
    if selected.is_empty() {
        eprintln!("siospec: no case matches the selection (see --list)");
        return EXIT_HARNESS;
    }
    if common.list {
        for c in &selected {
            println!(
                "{:<58} {:<6} {}",
                c.id,
                format!("{:?}", c.level).to_uppercase(),
                c.description
            );
        }
        println!("{} case(s)", selected.len());
        return EXIT_OK;
    }
    let baseline = match &common.baseline {
        Some(p) => match Baseline::load(p) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("siospec: {e}");
                return EXIT_HARNESS;
            }
        },
        None => None,
    };
    let mut used: Vec<Suite> = selected.iter().map(|c| c.suite()).collect();
    used.sort();
    used.dedup();
    let started = report::now_rfc3339();
    let clock = Instant::now();
    let prepared = match target.prepare(&used).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("siospec: {e}");
            return EXIT_HARNESS;
        }
    };
    eprintln!(
        "siospec: {} case(s) against {} ({})",
        selected.len(),
        prepared.name,
        prepared.description
    );
    for line in &prepared.findings {
        eprintln!("siospec: probe: {line}");
    }
    let opts = Options {
        scale: common.time_scale,
        jobs: common.jobs,
        progress: Progress::auto(),
        max_wait_ms: common.max_wait.saturating_mul(1000),
    };
    let mut results = runner::run_all(&selected, &prepared.plans, &opts).await;
    let duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
    if let Some(b) = &baseline {
        for r in &mut results {
            if r.verdict != Verdict::Ok {
                r.accepted = b
                    .accepts(&prepared.name, &r.id, r.verdict)
                    .map(|a| a.reason.clone());
            }
        }
        // Entries for this target that matched a case of this run but not its verdict.
        for a in &b.accepted {
            let ran: Vec<&CaseResult> = results
                .iter()
                .filter(|r| {
                    runner::id_matches(&a.target, &prepared.name)
                        && runner::id_matches(&a.case, &r.id)
                })
                .collect();
            if !ran.is_empty() && !ran.iter().any(|r| r.verdict == a.verdict) {
                eprintln!(
                    "siospec: baseline entry {} ({}) no longer applies: {}",
                    a.case,
                    a.verdict,
                    ran.iter()
                        .map(|r| format!("{} is {}", r.id, r.verdict))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    let name = prepared.name.clone();
    let description = prepared.description.clone();
    let findings = prepared.findings.clone();
    drop(prepared);
    let dir = common.report_dir;
    let info = RunInfo {
        name: &name,
        description: &description,
        started,
        duration_ms,
        time_scale: common.time_scale,
        strict: common.strict,
        command: report::rerun_command(std::env::args()),
        findings,
    };
    if let Err(e) = report::write(&dir, &catalogue, &info, &results) {
        eprintln!("siospec: {e}");
        return EXIT_HARNESS;
    }
    eprintln!("siospec: reports in {}", dir.display());
    print_summary(&name, &catalogue, &results, duration_ms);
    exit_status(&results, common.strict)
}

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

fn print_summary(name: &str, catalogue: &[Case], results: &[CaseResult], duration_ms: f64) {
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for r in results {
        *counts.entry(r.verdict).or_default() += 1;
    }
    println!();
    println!("{:<14} {:>6}", "verdict", name);
    for v in Verdict::ALL {
        println!(
            "{:<14} {:>6}",
            v.name(),
            counts.get(&v).copied().unwrap_or(0)
        );
    }
    println!(
        "{:<14} {:>6}   ({:.1} s)",
        "total",
        results.len(),
        duration_ms / 1000.0
    );
    let by_id: BTreeMap<&str, &Case> = catalogue.iter().map(|c| (c.id.as_str(), c)).collect();
    // Cases not judged share their reason: one paragraph per reason.
    let not_judged = |r: &&CaseResult| {
        matches!(r.verdict, Verdict::Skipped | Verdict::Unsupported) && r.trace.is_empty()
    };
    let mut by_reason: BTreeMap<(Verdict, String), Vec<&str>> = BTreeMap::new();
    for r in results.iter().filter(not_judged) {
        by_reason
            .entry((r.verdict, report::actual_of(r)))
            .or_default()
            .push(&r.id);
    }
    for ((verdict, reason), ids) in &by_reason {
        println!(
            "\n{} ×{}: {reason}\n              {}",
            verdict.name(),
            ids.len(),
            ids.join(", ")
        );
    }
    let non_ok: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Ok && !not_judged(r))
        .collect();
    if !non_ok.is_empty() {
        println!();
        for r in non_ok {
            let level = by_id
                .get(r.id.as_str())
                .map(|c| format!("{:?}", c.level).to_uppercase())
                .unwrap_or_default();
            println!(
                "{:<13} {:<6} {}{}\n              {}",
                r.verdict.name(),
                level,
                r.id,
                if r.accepted.is_some() {
                    "  [accepted by the baseline]"
                } else {
                    ""
                },
                report::actual_of(r)
            );
        }
    }
}
