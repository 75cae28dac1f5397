//! `siospec bench`: the load benchmark.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::{target_names, DEFAULT_BENCH_DIR, EXIT_HARNESS, EXIT_OK};
use siospec::bench::{Observer, Point};

/// The terminal's view of a bench run: a bar on stderr when it is a
/// terminal, two lines per point on stderr otherwise.
struct Progress {
    /// `None`: plain lines.
    bar: Option<ProgressBar>,
}

impl Progress {
    fn auto() -> Progress {
        Progress {
            bar: std::io::stderr().is_terminal().then(|| {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar
            }),
        }
    }
}

impl Observer for Progress {
    fn point_started(&mut self, index: usize, total: usize, label: &str) {
        match &self.bar {
            Some(b) => {
                b.set_length(total as u64);
                b.set_message(label.to_owned());
            }
            None => eprintln!("siospec bench: [{}/{total}] {label}", index + 1),
        }
    }

    fn point_done(&mut self, point: &Point) {
        match &self.bar {
            Some(b) => b.inc(1),
            None => eprintln!(
                "siospec bench:         {}",
                siospec::bench::report::one_line(point)
            ),
        }
    }

    fn finished(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
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
pub(super) struct BenchArgs {
    /// Join the Locust master at HOST:PORT (its --master-bind-port, 5557 by
    /// default) as a worker instead of running the benchmark: each user the
    /// master spawns here is a Socket.IO client of the master's --host
    /// playing the echo scenario, reported as `connect` and `echo`
    /// requests of type `socket.io` in Locust's statistics. Runs until the
    /// master says quit; prints what it reported.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["target", "url", "tls"])]
    locust_master: Option<String>,
    /// With --locust-master: also write what the worker reported (its id,
    /// requests, failures) to FILE as JSON.
    #[arg(long, value_name = "FILE", requires = "locust_master")]
    locust_summary: Option<PathBuf>,
    /// Servers to start and measure, back to back at every point: `rust`
    /// (`siospec serve`, this binary) and `node` (harness/peers/node, whose
    /// packages `npm ci` installs; scripts/test does it).
    #[arg(long, value_parser = target_names(), value_delimiter = ',', default_values = ["rust", "node"])]
    target: Vec<String>,
    /// Measure a running Socket.IO server (`http://HOST:PORT` or
    /// `https://HOST:PORT`, contract of harness/CONTRACT.md at /socket.io/)
    /// instead of starting any; its memory and CPU are reported as
    /// unavailable. Give it twice, once https:// and once http:// (the same
    /// server, or its TLS proxy and itself), for the TLS cost per connection.
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    url: Vec<String>,
    /// Also start each --target over HTTPS and WSS (a throwaway CA's
    /// certificate) and measure it the same way, as NAME-tls: the report
    /// gives the TLS cost per connection beside the plain figures.
    #[arg(long, conflicts_with = "url")]
    tls: bool,
    #[command(flatten)]
    trust: super::TrustOptions,
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
    /// Measure only the generator's ceiling (the runs against the sink), no
    /// server: what the generator can drive on this machine, or a run to
    /// profile it alone.
    #[arg(long, conflicts_with_all = ["no_ceiling", "url", "target"])]
    ceiling_only: bool,
    /// Where to write load.json, load.md and load.svg; a partial run merges
    /// into the points already there.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_BENCH_DIR)]
    report_dir: PathBuf,
    /// Folder of the Node peer (default: harness/peers/node, or $SIOSPEC_NODE_PEER).
    #[arg(long, value_name = "DIR")]
    node_peer: Option<PathBuf>,
}

fn bench_options(args: &BenchArgs) -> Result<siospec::bench::Options, String> {
    use siospec::bench::{Options, Scenario, Transport};
    use siospec::peer::Peer;
    use siospec::target::{Target, Urls};
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
    let targets = match args.url.as_slice() {
        [] if args.ceiling_only => Vec::new(),
        [] => {
            let mut targets: Vec<Target> = Vec::new();
            for name in &args.target {
                let mut peer = Peer::named(name)?;
                if !peer.benched() {
                    return Err(format!(
                        "bench measures {}; for another server, start it and pass --url",
                        Peer::benched_names().join(" and ")
                    ));
                }
                if let (Some(dir), "node") = (&args.node_peer, name.as_str()) {
                    peer = peer.in_dir(dir.clone());
                }
                if !targets.iter().any(|t| t.name() == peer.name()) {
                    let tls = args.tls.then(|| peer.clone().over_tls()).transpose()?;
                    targets.push(Target::Peer(peer));
                    targets.extend(tls.map(Target::Peer));
                }
            }
            targets
        }
        urls => {
            let tls = |u: &String| siospec::tls::is_tls_url(u);
            if urls.len() > 2 || (urls.len() == 2 && tls(&urls[0]) == tls(&urls[1])) {
                return Err(
                    "--url takes one server, or two: its https:// and its http:// URL".to_owned(),
                );
            }
            let mut targets = Vec::new();
            for url in urls {
                // Refused here, before any point, if the URL or --ca is wrong.
                siospec::tls::Origin::parse(url, &args.trust.trust())?;
                targets.push(Target::Url(Urls {
                    name: "url".to_owned(),
                    default: Some(url.clone()),
                    per_suite: Default::default(),
                    paths: Default::default(),
                    known: siospec::suite::Expected::OFFICIAL_DEFAULTS,
                    trust: args.trust.trust(),
                }));
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
    })
}

/// Runs `siospec bench`; returns the exit status.
pub(super) async fn bench(args: BenchArgs) -> i32 {
    if let Some(master) = &args.locust_master {
        return locust_worker(master, args.locust_summary.as_deref()).await;
    }
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
    let run = match siospec::bench::run(&options, command, &mut Progress::auto()).await {
        Ok(run) => run,
        Err(e) => {
            eprintln!("siospec bench: {e}");
            return EXIT_HARNESS;
        }
    };
    match siospec::bench::report::write(&args.report_dir, &run) {
        Ok((md, svg)) => {
            for p in &run.points {
                println!("{}", siospec::bench::report::one_line(p));
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

/// `bench --locust-master`: a worker until the master says quit.
async fn locust_worker(master: &str, summary_file: Option<&std::path::Path>) -> i32 {
    let log = |line: &str| eprintln!("siospec bench: locust: {line}");
    let summary = match siospec::bench::locust::run_worker(master, &log).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("siospec bench: locust: {e}");
            return EXIT_HARNESS;
        }
    };
    println!(
        "worker {}: reported {} request(s), {} failed, in {} report(s); {} message(s), {} bytes to the master",
        summary.node_id,
        summary.requests,
        summary.failures,
        summary.reports,
        summary.messages,
        summary.bytes
    );
    if let Some(file) = summary_file {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
        if let Err(e) = std::fs::write(file, json) {
            eprintln!("siospec bench: cannot write {}: {e}", file.display());
            return EXIT_HARNESS;
        }
    }
    EXIT_OK
}
