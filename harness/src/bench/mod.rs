//! `siospec bench`: the load benchmark (echo round trips, broadcast fan-out,
//! connect storm, idle memory) of the reference server against the official
//! Node server, or of any server by URL.
//!
//! * [`conn`]: one client, the codec's Socket.IO client machine on a
//!   WebSocket or on long-polling (also `siospec client`'s);
//! * `gen`: N such clients playing a scenario for a measured window;
//! * `sink`: a server doing no protocol work, for the generator's ceiling;
//! * [`stats`], [`report`], [`svg`]: percentiles, `load.json` (every point,
//!   merged with the points of earlier runs), `load.md`, `load.svg`.

pub mod conn;
pub(crate) mod gen;
pub mod report;
pub(crate) mod sink;
pub mod stats;
pub mod svg;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use conn::Transport;
pub use stats::{Point, Scenario};

use crate::peer::Running as Peer;
use crate::process::{ServerProcess, TICKS_PER_SECOND};
use crate::target::Target;
use gen::{Mark, PointSpec};
use stats::Memory;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Servers, measured one after the other at every point.
    pub targets: Vec<Target>,
    /// Client counts.
    pub clients: Vec<usize>,
    /// Scenarios, in this order.
    pub scenarios: Vec<Scenario>,
    /// Transport of the generator's clients.
    pub transport: Transport,
    /// Measured window of each point.
    pub duration: Duration,
    /// Unmeasured run before each window.
    pub warmup: Duration,
    /// Also measure the generator's ceiling against the sink.
    pub ceiling: bool,
}

/// What a bench run tells as it goes; every method does nothing unless
/// overridden, so [`Quiet`] is the empty implementation.
pub trait Observer: Send {
    /// The `index`th point of `total` (from 0) starts; `label` says which.
    fn point_started(&mut self, _index: usize, _total: usize, _label: &str) {}
    /// A point was measured.
    fn point_done(&mut self, _point: &Point) {}
    /// The run ended, measured or not.
    fn finished(&mut self) {}
}

/// An observer that says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// The machine a run happened on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    /// Logical CPUs.
    pub cores: usize,
    /// CPU model.
    pub cpu: String,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// /proc/loadavg's 1-minute figure before the run.
    pub load_before: String,
    /// The same after the run.
    pub load_after: String,
    /// `git describe --always --dirty`.
    pub commit: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `node --version`.
    pub node: String,
    /// Kernel release.
    pub kernel: String,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every point measured.
    pub points: Vec<Point>,
    /// Where it ran.
    pub machine: Machine,
    /// Transport used.
    pub transport: Transport,
    /// Measured window per point.
    pub duration: Duration,
    /// Warm-up per point.
    pub warmup: Duration,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// When it started, RFC 3339 UTC.
    pub started: String,
    /// The command line, for the report.
    pub command: String,
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Machine {
    /// Describes this machine now (the load average after is filled in later).
    pub(crate) fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned()),
            memory_mib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |k| k / 1024),
            load_before: load_average(),
            load_after: String::new(),
            commit: first_line("git", &["describe", "--always", "--dirty"]),
            rustc: first_line("rustc", &["--version"]),
            node: first_line("node", &["--version"]),
            kernel: first_line("uname", &["-r"]),
        }
    }
}

/// The server under load at one point.
enum Running {
    Peer(Peer),
    Sink(sink::Sink),
    External(String),
}

impl Running {
    fn authority(&self) -> String {
        match self {
            Running::Peer(p) => p.authority(),
            Running::Sink(s) => s.authority(),
            Running::External(a) => a.clone(),
        }
    }

    fn process(&self) -> Option<&ServerProcess> {
        match self {
            Running::Peer(p) => p.process(),
            _ => None,
        }
    }
}

async fn start(target: Option<&Target>) -> Result<Running, String> {
    Ok(match target {
        None => {
            Running::Sink(sink::Sink::start().map_err(|e| format!("cannot start the sink: {e}"))?)
        }
        Some(Target::Peer(peer)) => Running::Peer(peer.start_for_load().await?),
        Some(Target::Url(urls)) => Running::External(crate::target::authority_of(
            urls.default.as_deref().unwrap_or_default(),
        )?),
        Some(Target::Client(c)) => {
            return Err(format!("{} is a client; bench measures servers", c.name))
        }
    })
}

/// Measures one point; `target` `None` is the sink.
async fn measure(spec: &PointSpec, target: Option<&Target>) -> Result<Point, String> {
    let server = start(target).await?;
    let before = server.process().and_then(ServerProcess::rss_kib);
    let mut cpu_start = None;
    let mut cpu_end = None;
    let mut rss_end = None;
    let mut window = None;
    let mut started = None;
    let measured = gen::run_point(spec, &server.authority(), &mut |mark| {
        let p = server.process();
        match mark {
            Mark::Start => {
                started = Some(Instant::now());
                cpu_start = p.and_then(ServerProcess::cpu_ticks);
            }
            Mark::End => {
                window = started.map(|s| s.elapsed());
                cpu_end = p.and_then(ServerProcess::cpu_ticks);
                rss_end = p.and_then(ServerProcess::rss_kib);
            }
        }
    })
    .await;
    let server_cpu = match (cpu_start, cpu_end, window) {
        (Some(a), Some(b), Some(w)) if !w.is_zero() => {
            Some(b.saturating_sub(a) as f64 / TICKS_PER_SECOND / w.as_secs_f64())
        }
        _ => None,
    };
    let memory = match (spec.scenario, before, rss_end) {
        (Scenario::Idle, Some(before), Some(after)) if measured.connected > 0 => Some(Memory {
            before_kib: before,
            after_kib: after,
            per_connection: (after as f64 - before as f64) * 1024.0 / measured.connected as f64,
        }),
        _ => None,
    };
    Ok(Point {
        scenario: spec.scenario,
        target: target.map_or("sink".to_owned(), |t| match t {
            Target::Url(_) => "url".to_owned(),
            Target::Peer(p) => p.name(),
            Target::Client(c) => c.name.clone(),
        }),
        transport: spec.transport,
        clients: spec.clients,
        connected: measured.connected,
        throughput: if spec.scenario == Scenario::Idle {
            0.0
        } else {
            measured.throughput
        },
        latency: if spec.scenario == Scenario::Idle {
            None
        } else {
            measured.latency
        },
        server_cpu,
        memory,
        errors: measured.errors,
        lost: measured.lost,
    })
}

/// Runs every scenario × client count × target (plus the sink, where it
/// applies); an error means a server could not be started.
pub async fn run(
    opts: &Options,
    command: String,
    observer: &mut dyn Observer,
) -> Result<Run, String> {
    let clock = Instant::now();
    let started = crate::report::now_rfc3339();
    let mut machine = Machine::describe();
    let mut plan: Vec<(PointSpec, Option<&Target>)> = Vec::new();
    for &scenario in &opts.scenarios {
        for &clients in &opts.clients {
            let spec = PointSpec {
                scenario,
                clients,
                transport: opts.transport,
                warmup: opts.warmup,
                duration: opts.duration,
                connect_timeout: Duration::from_secs(30),
            };
            // The sink speaks WebSocket only, and idle memory is the server's own figure.
            if opts.ceiling && scenario != Scenario::Idle && opts.transport == Transport::WebSocket
            {
                plan.push((spec.clone(), None));
            }
            for t in &opts.targets {
                plan.push((spec.clone(), Some(t)));
            }
        }
    }
    let mut points = Vec::new();
    for (i, (spec, target)) in plan.iter().enumerate() {
        let label = format!(
            "{} × {} clients against {}",
            spec.scenario.name(),
            spec.clients,
            target.map_or("sink".to_owned(), Target::name)
        );
        observer.point_started(i, plan.len(), &label);
        let point = match measure(spec, *target).await {
            Ok(p) => p,
            Err(e) => {
                observer.finished();
                return Err(e);
            }
        };
        observer.point_done(&point);
        points.push(point);
    }
    observer.finished();
    machine.load_after = load_average();
    Ok(Run {
        points,
        machine,
        transport: opts.transport,
        duration: opts.duration,
        warmup: opts.warmup,
        elapsed: clock.elapsed(),
        started,
        command,
    })
}
