//! `siospec bench`: the load benchmark (echo round trips, broadcast fan-out,
//! connect storm, idle memory) of the reference server against the official
//! Node server, or of any server by URL.
//!
//! * [`conn`]: one client, the codec's Socket.IO client machine on a
//!   WebSocket or on long-polling (also `siospec client`'s);
//! * `gen`: N clients playing a scenario for a measured window, `lean`
//!   ones (the codec's decoders without the client machine) over WebSocket;
//! * `sink`: a server doing no protocol work, for the generator's ceiling;
//! * [`locust`]: the generator as a worker of a Locust master
//!   (`--locust-master`), for load from many machines;
//! * [`stats`], [`report`], [`svg`]: percentiles, `load.json` (every point,
//!   merged with the points of earlier runs), `load.md`, `load.svg`.

pub mod conn;
pub(crate) mod gen;
pub(crate) mod lean;
pub mod locust;
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
use crate::tls::Origin;

/// What a target's name gets in the report when it is measured over TLS.
pub const TLS_SUFFIX: &str = "-tls";
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
    /// `git describe --always`, `-dirty` when code differs from it (see `commit`).
    pub commit: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `node --version`.
    pub node: String,
    /// Kernel release.
    pub kernel: String,
    /// The generator's soft open-file limit when it started.
    pub open_files_before: u64,
    /// The limit it raised that to (its hard limit), which the servers it
    /// starts inherit.
    pub open_files: u64,
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

/// `git describe --always`, with `-dirty` when tracked files other than
/// the committed reports differ from it: the reports a run rewrites (this
/// one's, or an earlier step's of the same regeneration) say nothing about
/// the code measured.
fn commit() -> String {
    let described = first_line("git", &["describe", "--always"]);
    let changed = std::process::Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ":/",
            ":(top,exclude)reports",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    if changed {
        format!("{described}-dirty")
    } else {
        described
    }
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
            commit: commit(),
            rustc: first_line("rustc", &["--version"]),
            node: first_line("node", &["--version"]),
            kernel: first_line("uname", &["-r"]),
            open_files_before: 0,
            open_files: 0,
        }
    }
}

/// The server under load at one point.
enum Running {
    Peer(Peer),
    Sink(sink::Sink),
    External(Origin),
}

impl Running {
    fn origin(&self) -> Result<Origin, String> {
        match self {
            Running::Peer(p) => p.origin(),
            Running::Sink(s) => Ok(Origin::plain(s.authority())),
            Running::External(o) => Ok(o.clone()),
        }
    }

    fn process(&self) -> Option<&ServerProcess> {
        match self {
            Running::Peer(p) => p.process(),
            _ => None,
        }
    }

    /// The server's CPU time so far, in clock ticks: its process's, or the
    /// sink's thread's.
    fn server_ticks(&self) -> Option<u64> {
        match self {
            Running::Sink(s) => s.cpu_ticks(),
            _ => self.process().and_then(ServerProcess::cpu_ticks),
        }
    }

    /// The generator's CPU time so far, in clock ticks: this process's,
    /// less the in-process sink's thread.
    fn generator_ticks(&self) -> Option<u64> {
        let all = crate::process::cpu_ticks(std::process::id())?;
        let sink = match self {
            Running::Sink(s) => s.cpu_ticks()?,
            _ => 0,
        };
        Some(all.saturating_sub(sink))
    }
}

async fn start(target: Option<&Target>) -> Result<Running, String> {
    Ok(match target {
        None => {
            Running::Sink(sink::Sink::start().map_err(|e| format!("cannot start the sink: {e}"))?)
        }
        Some(Target::Peer(peer)) => Running::Peer(peer.start_for_load().await?),
        Some(Target::Url(urls)) => Running::External(Origin::parse(
            urls.default.as_deref().unwrap_or_default(),
            &urls.trust,
        )?),
        Some(Target::Client(c)) => {
            return Err(format!("{} is a client; bench measures servers", c.name))
        }
    })
}

/// Measures one point; `target` `None` is the sink.
/// Connections one generator worker process keeps at most in the idle
/// scenario, well under the open-file limit of 20,000 a process has here.
pub const WORKER_CLIENTS: usize = 10_000;

/// Raises this process's soft open-file limit to its hard limit (which
/// only the administrator can raise); the servers it starts inherit it.
/// Returns the soft limit before and the limit now.
pub fn raise_open_files() -> (u64, u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let before = getrlimit(Resource::Nofile);
    let mut raised = before;
    raised.current = before.maximum;
    let _ = setrlimit(Resource::Nofile, raised);
    let now = getrlimit(Resource::Nofile);
    (
        before.current.unwrap_or(u64::MAX),
        now.current.unwrap_or(u64::MAX),
    )
}

/// A generator worker process: `siospec bench-worker`, which calls this.
pub async fn worker(authority: &str, clients: usize, first_source: usize) {
    raise_open_files();
    let stop = async {
        // The parent closes standard input (or dies) to stop the worker.
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
    };
    gen::hold(
        authority,
        clients,
        first_source,
        Duration::from_secs(60),
        |connected, failed| println!("connected {connected} failed {failed}"),
        stop,
    )
    .await;
}

/// The idle scenario beyond one process's connections: `clients` spread
/// over worker processes of [`WORKER_CLIENTS`] at most each, and over
/// source addresses; returns (connected, failed) once every worker holds
/// its share, and the workers, which stop when dropped.
async fn idle_in_workers(
    authority: &str,
    clients: usize,
) -> Result<(usize, usize, Vec<tokio::process::Child>), String> {
    use tokio::io::AsyncBufReadExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find siospec itself: {e}"))?;
    let mut workers = Vec::new();
    let mut lines = Vec::new();
    let mut first = 0;
    while first < clients {
        let share = WORKER_CLIENTS.min(clients - first);
        let mut child = tokio::process::Command::new(&exe)
            .args(["bench-worker", "--authority", authority])
            .args(["--clients", &share.to_string()])
            .args(["--first-source", &first.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start a generator worker: {e}"))?;
        let out = child.stdout.take().ok_or("a worker without stdout")?;
        lines.push(tokio::io::BufReader::new(out).lines());
        workers.push(child);
        first += share;
    }
    let (mut connected, mut failed) = (0, 0);
    for l in &mut lines {
        let line = tokio::time::timeout(Duration::from_secs(120), l.next_line())
            .await
            .map_err(|_| "a generator worker did not report within 120 s".to_owned())?
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("connected"), Some(c), Some("failed"), Some(f)) => {
                connected += c.parse::<usize>().unwrap_or(0);
                failed += f.parse::<usize>().unwrap_or(0);
            }
            _ => return Err(format!("a generator worker said {line:?}")),
        }
    }
    Ok((connected, failed, workers))
}

/// The idle point of `clients` over worker processes.
async fn measure_idle_in_workers(
    spec: &PointSpec,
    target: Option<&Target>,
) -> Result<Point, String> {
    let server = start(target).await?;
    let before = server.process().and_then(ServerProcess::rss_kib);
    let origin = server.origin()?;
    if origin.is_tls() {
        return Err(format!(
            "idle points beyond {WORKER_CLIENTS} clients run in worker processes, which connect \
             over plain http only; measure {} over TLS with at most {WORKER_CLIENTS} clients",
            origin.url()
        ));
    }
    let (connected, failed, workers) = idle_in_workers(&origin.authority, spec.clients).await?;
    // Let the server settle (buffers grown on the last connections' first
    // frames) before reading its memory, as the in-process run's warm-up does.
    tokio::time::sleep(spec.warmup).await;
    let after = server.process().and_then(ServerProcess::rss_kib);
    drop(workers);
    let memory = Memory::of(before, after, connected);
    Ok(Point {
        scenario: spec.scenario,
        target: point_target(target),
        transport: spec.transport,
        clients: spec.clients,
        connected,
        throughput: 0.0,
        latency: None,
        server_cpu: None,
        generator_cpu: None,
        memory,
        errors: failed as u64,
        lost: 0,
    })
}

fn point_target(target: Option<&Target>) -> String {
    target.map_or("sink".to_owned(), |t| match t {
        Target::Url(urls) if urls.default.as_deref().is_some_and(crate::tls::is_tls_url) => {
            "url-tls".to_owned()
        }
        Target::Url(_) => "url".to_owned(),
        Target::Peer(p) if p.is_tls() => format!("{}{TLS_SUFFIX}", p.name()),
        Target::Peer(p) => p.name(),
        Target::Client(c) => c.name.clone(),
    })
}

async fn measure(spec: &PointSpec, target: Option<&Target>) -> Result<Point, String> {
    if spec.scenario == Scenario::Idle
        && spec.clients > WORKER_CLIENTS
        && spec.transport == Transport::WebSocket
    {
        return measure_idle_in_workers(spec, target).await;
    }
    let server = start(target).await?;
    let before = server.process().and_then(ServerProcess::rss_kib);
    let mut cpu_start = None;
    let mut cpu_end = None;
    let mut gen_start = None;
    let mut gen_end = None;
    let mut rss_end = None;
    let mut window = None;
    let mut started = None;
    let origin = server.origin()?;
    let measured = gen::run_point(spec, &origin, &mut |mark| {
        let p = server.process();
        match mark {
            Mark::Start => {
                started = Some(Instant::now());
                cpu_start = server.server_ticks();
                gen_start = server.generator_ticks();
            }
            Mark::End => {
                window = started.map(|s| s.elapsed());
                cpu_end = server.server_ticks();
                gen_end = server.generator_ticks();
                rss_end = p.and_then(ServerProcess::rss_kib);
            }
        }
    })
    .await;
    let share = |a: Option<u64>, b: Option<u64>| match (a, b, window) {
        (Some(a), Some(b), Some(w)) if !w.is_zero() => {
            Some(b.saturating_sub(a) as f64 / TICKS_PER_SECOND / w.as_secs_f64())
        }
        _ => None,
    };
    let server_cpu = share(cpu_start, cpu_end);
    let generator_cpu = share(gen_start, gen_end);
    let memory = if spec.scenario == Scenario::Idle {
        Memory::of(before, rss_end, measured.connected)
    } else {
        None
    };
    Ok(Point {
        scenario: spec.scenario,
        target: point_target(target),
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
        generator_cpu,
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
    (machine.open_files_before, machine.open_files) = raise_open_files();
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
