//! `load.json`, `load.md`: every measured point, kept across runs (a partial
//! run replaces the points it measured and keeps the others), then the
//! machine, the points, the ratios, and an honest line for each figure
//! issue #8 asks for, met or not.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::conn::Transport;
use super::stats::{Latency, Point, Scenario};
use super::{Machine, Run, WORKER_CLIENTS};

/// The schema of `load.json`; a file with another is not merged.
pub const SCHEMA: &str = "siospec-bench/1";

/// One run, as `load.json` keeps it beside the points it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// When it started, RFC 3339 UTC (empty when unknown).
    #[serde(default)]
    pub started: String,
    /// Its command line.
    #[serde(default)]
    pub command: String,
    /// The generator's transport.
    pub transport: Transport,
    /// Measured window per point, seconds.
    pub duration_s: f64,
    /// Warm-up per point, seconds.
    pub warmup_s: f64,
    /// Wall time of the whole run, seconds.
    #[serde(default)]
    pub elapsed_s: f64,
    /// Where it ran (its `commit` is the code measured).
    #[serde(default)]
    pub machine: Machine,
}

impl RunInfo {
    /// The run's information, without its points.
    pub fn of(run: &Run) -> RunInfo {
        RunInfo {
            started: run.started.clone(),
            command: run.command.clone(),
            transport: run.transport,
            duration_s: run.duration.as_secs_f64(),
            warmup_s: run.warmup.as_secs_f64(),
            elapsed_s: run.elapsed.as_secs_f64(),
            machine: run.machine.clone(),
        }
    }

    /// `earlier (2026-05-01 10:00 UTC, f2f5b19)`: how load.md marks a point
    /// of this run.
    pub(crate) fn label(&self) -> String {
        let date = match (self.started.get(..10), self.started.get(11..16)) {
            (Some(day), Some(time)) => Some(format!("{day} {time} UTC")),
            (Some(day), None) => Some(day.to_owned()),
            _ => None,
        };
        let date = date.as_deref().filter(|d| !d.is_empty());
        let commit = Some(self.machine.commit.as_str()).filter(|c| !c.is_empty());
        format!(
            "earlier ({}, {})",
            date.unwrap_or("date unknown"),
            commit.unwrap_or("commit unknown")
        )
    }
}

/// A point and the run that measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// Index into [`LoadSet::runs`].
    pub run: usize,
    /// The point.
    #[serde(flatten)]
    pub point: Point,
}

/// `load.json`: every point of a report folder, each with the run that
/// measured it. The last run is the latest, the one that wrote the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSet {
    /// [`SCHEMA`].
    pub schema: String,
    /// The runs the points come from, oldest first.
    pub runs: Vec<RunInfo>,
    /// The points, in report order.
    pub points: Vec<Stored>,
}

/// What identifies a point across runs: a re-run of the same key replaces it.
fn key(p: &Point) -> (String, Scenario, Transport, usize) {
    (p.target.clone(), p.scenario, p.transport, p.clients)
}

/// The order of targets in tables: the sink, the reference server, Node,
/// a URL, others; each over TLS right after itself.
fn target_rank(t: &str) -> usize {
    let (base, tls) = match t.strip_suffix(super::TLS_SUFFIX) {
        Some(base) => (base, 1),
        None => (t, 0),
    };
    let rank = ["sink", "rust", "node", "url"]
        .iter()
        .position(|x| *x == base)
        .unwrap_or(4);
    rank * 2 + tls
}

impl LoadSet {
    /// The points of one run.
    pub fn from_run(run: &Run) -> LoadSet {
        LoadSet {
            schema: SCHEMA.to_owned(),
            runs: vec![RunInfo::of(run)],
            points: run
                .points
                .iter()
                .map(|p| Stored {
                    run: 0,
                    point: p.clone(),
                })
                .collect(),
        }
    }

    /// `earlier`'s points with `latest`'s on top: a point of `latest` replaces
    /// the one of `earlier` with the same target, scenario, transport and
    /// client count; the others are kept with their run. Runs no point comes
    /// from any more are dropped; `latest`'s runs come last.
    pub fn merge(earlier: LoadSet, latest: LoadSet) -> LoadSet {
        let fresh: Vec<_> = latest.points.iter().map(|s| key(&s.point)).collect();
        // One point per key (the later one), none that the latest run measured.
        let mut kept: BTreeMap<_, Stored> = BTreeMap::new();
        for s in earlier.points {
            let k = key(&s.point);
            if s.run < earlier.runs.len() && !fresh.contains(&k) {
                kept.insert(k, s);
            }
        }
        let mut runs = Vec::new();
        let mut index = vec![None; earlier.runs.len()];
        for (i, info) in earlier.runs.into_iter().enumerate() {
            if kept.values().any(|s| s.run == i) {
                index[i] = Some(runs.len());
                runs.push(info);
            }
        }
        let offset = runs.len();
        runs.extend(latest.runs);
        let mut points: Vec<Stored> = kept
            .into_values()
            .filter_map(|s| {
                index[s.run].map(|run| Stored {
                    run,
                    point: s.point,
                })
            })
            .chain(latest.points.into_iter().map(|s| Stored {
                run: s.run + offset,
                point: s.point,
            }))
            .collect();
        points.sort_by(|a, b| {
            let (a, b) = (&a.point, &b.point);
            (a.scenario, a.transport, a.clients, target_rank(&a.target)).cmp(&(
                b.scenario,
                b.transport,
                b.clients,
                target_rank(&b.target),
            ))
        });
        LoadSet {
            schema: SCHEMA.to_owned(),
            runs,
            points,
        }
    }

    /// Reads `path`; `None` when there is no such file.
    pub fn read(path: &Path) -> Result<Option<LoadSet>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        match value.get("schema").and_then(|v| v.as_str()) {
            Some(SCHEMA) => {}
            other => {
                return Err(format!(
                    "{} has schema {}, not {SCHEMA}",
                    path.display(),
                    other.map_or_else(|| "none".to_owned(), |s| format!("{s:?}"))
                ))
            }
        }
        let set: LoadSet = serde_json::from_value(value)
            .map_err(|e| format!("{} does not read as {SCHEMA}: {e}", path.display()))?;
        if set.runs.is_empty() {
            return Err(format!("{} lists no run", path.display()));
        }
        if let Some(s) = set.points.iter().find(|s| s.run >= set.runs.len()) {
            return Err(format!(
                "{}: a point refers to run {}, but only {} are listed",
                path.display(),
                s.run,
                set.runs.len()
            ));
        }
        Ok(Some(set))
    }

    /// The points as one run for the report: the latest run's information,
    /// every point, and which come from earlier runs. Where the set holds
    /// more than one transport, the points of all but the commonest are
    /// named `rust (polling)` and so on, so that ratios never compare
    /// transports.
    pub fn view(&self) -> View {
        let latest = self.runs.len().saturating_sub(1);
        let info = self.runs.get(latest).cloned().unwrap_or(RunInfo {
            started: String::new(),
            command: String::new(),
            transport: Transport::WebSocket,
            duration_s: 0.0,
            warmup_s: 0.0,
            elapsed_s: 0.0,
            machine: Machine::default(),
        });
        let count = |t: Transport| {
            self.points
                .iter()
                .filter(|s| s.point.transport == t)
                .count()
        };
        let primary = [Transport::WebSocket, Transport::Polling]
            .into_iter()
            .filter(|&t| t != info.transport)
            .fold(info.transport, |best, t| {
                if count(t) > count(best) {
                    t
                } else {
                    best
                }
            });
        let secs = |s: f64| Duration::try_from_secs_f64(s).unwrap_or_default();
        let mut points = Vec::new();
        let mut origin = Vec::new();
        for s in &self.points {
            let mut p = s.point.clone();
            if p.transport != primary {
                p.target = format!("{} ({})", p.target, p.transport.name());
            }
            points.push(p);
            origin.push((s.run != latest).then(|| self.runs[s.run].label()));
        }
        let earlier = self.runs[..latest]
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), self.points.iter().filter(|s| s.run == i).count()))
            .collect();
        View {
            run: Run {
                points,
                machine: info.machine.clone(),
                transport: info.transport,
                duration: secs(info.duration_s),
                warmup: secs(info.warmup_s),
                elapsed: secs(info.elapsed_s),
                started: info.started.clone(),
                command: info.command.clone(),
            },
            origin,
            earlier,
        }
    }
}

/// A [`LoadSet`] ready to report.
#[derive(Debug, Clone)]
pub struct View {
    /// The latest run's information with every point of the set.
    pub run: Run,
    /// Per point of `run`: `None` for the latest run's, else its run's label.
    pub origin: Vec<Option<String>>,
    /// The earlier runs, oldest first, with how many of their points are kept.
    pub earlier: Vec<(RunInfo, usize)>,
}

impl View {
    /// A view of one run: every point its own.
    pub fn of(run: &Run) -> View {
        View {
            run: run.clone(),
            origin: vec![None; run.points.len()],
            earlier: Vec::new(),
        }
    }

    /// How many points come from earlier runs.
    pub fn kept(&self) -> usize {
        self.origin.iter().flatten().count()
    }

    /// Where `p` (a point of `run`) comes from: `None` for the latest run.
    fn origin_of(&self, p: &Point) -> Option<&str> {
        self.run
            .points
            .iter()
            .position(|q| std::ptr::eq(q, p))
            .and_then(|i| self.origin[i].as_deref())
    }

    fn measured(&self, p: &Point) -> &str {
        self.origin_of(p).unwrap_or("this run")
    }
}

/// The targets of the performance issue (#16): the generator's ceiling ≥
/// 5× the best server it measures, at every point.
pub(crate) const CEILING_RATIO: f64 = 5.0;

/// The reference server ≥ 2× the Node peer in broadcast deliveries at
/// [`GOAL_CLIENTS`], with a lower p99.
pub(crate) const BROADCAST_RATIO: f64 = 2.0;

/// The client count at which the broadcast target is judged.
pub(crate) const GOAL_CLIENTS: usize = 1000;

/// The reference server's idle memory target, bytes per connection, from
/// [`IDLE_GOAL_FROM`] connections on.
pub(crate) const IDLE_GOAL_BYTES: f64 = 12_000.0;

/// The smallest idle count the memory target applies to.
pub(crate) const IDLE_GOAL_FROM: usize = 10_000;

/// A latency in µs, ms or s.
pub fn latency(micros: f64) -> String {
    if micros >= 1e6 {
        format!("{:.2} s", micros / 1e6)
    } else if micros >= 1e3 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{micros:.0} µs")
    }
}

/// An integer with thousands separators.
pub fn count(v: f64) -> String {
    let n = v.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else {
        format!("{v:.2}×")
    }
}

/// One line per point for the plain progress output.
pub fn one_line(p: &Point) -> String {
    let mut s = format!("{} {} × {}: ", p.target, p.scenario.name(), p.clients);
    match (p.scenario, p.memory) {
        (Scenario::Idle, Some(m)) => {
            let _ = write!(s, "{} bytes per connection", count(m.per_connection));
        }
        (Scenario::Idle, None) => s.push_str("memory unavailable"),
        _ => {
            let _ = write!(s, "{} {}", count(p.throughput), p.scenario.unit());
            if let Some(l) = p.latency {
                let _ = write!(s, ", p50 {} p99 {}", latency(l.p50), latency(l.p99));
            }
        }
    }
    if p.connected < p.clients {
        let _ = write!(s, " ({} of {} connected)", p.connected, p.clients);
    }
    if p.errors > 0 {
        let _ = write!(s, " ({} errors)", p.errors);
    }
    if p.lost > 0 {
        let _ = write!(s, " ({} messages lost)", p.lost);
    }
    s
}

pub(crate) fn find<'a>(
    run: &'a Run,
    s: Scenario,
    target: &str,
    clients: usize,
) -> Option<&'a Point> {
    run.points
        .iter()
        .find(|p| p.scenario == s && p.target == target && p.clients == clients)
}

pub(crate) fn client_counts(run: &Run, s: Scenario) -> Vec<usize> {
    let mut c: Vec<usize> = run
        .points
        .iter()
        .filter(|p| p.scenario == s)
        .map(|p| p.clients)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// The best throughput among the servers (not the sink) at a point.
pub(crate) fn best_server(run: &Run, s: Scenario, clients: usize) -> Option<&Point> {
    run.points
        .iter()
        .filter(|p| p.scenario == s && p.clients == clients && p.target != "sink")
        .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
}

fn cpu(p: &Point) -> String {
    p.server_cpu
        .map_or_else(|| "–".to_owned(), |c| format!("{:.0} %", c * 100.0))
}

fn lat_cells(l: Option<Latency>) -> String {
    match l {
        Some(l) => format!(
            "{} | {} | {} | {}",
            latency(l.p50),
            latency(l.p90),
            latency(l.p99),
            latency(l.p999)
        ),
        None => "– | – | – | –".to_owned(),
    }
}

/// Server CPU time per operation, µs: what a server spends on each message
/// whatever paced the run, so servers compare even when neither was busy.
pub(crate) fn cpu_per_op(p: &Point) -> Option<f64> {
    p.server_cpu
        .filter(|_| p.throughput > 0.0)
        .map(|c| c * 1e6 / p.throughput)
}

/// Why the reference server's broadcast figure is under the goal, from
/// what was measured.
fn broadcast_why(run: &Run, r: &Point, n: &Point) -> String {
    let mut why = String::from("  Why:");
    let saturated = |p: &Point| p.server_cpu.is_some_and(|c| c >= 0.9);
    match (r.server_cpu, n.server_cpu) {
        (Some(rc), Some(nc)) if !saturated(r) && !saturated(n) => {
            let _ = write!(
                why,
                " neither server kept a core busy (the reference server used {:.0} % of one, \
                 Node {:.0} %; load average {} after the run, on {} cores), so the pace was set \
                 by how much CPU the machine gave each process, the generator's included.",
                rc * 100.0,
                nc * 100.0,
                run.machine.load_after,
                run.machine.cores
            );
        }
        (Some(rc), Some(nc)) => {
            let _ = write!(
                why,
                " the reference server used {:.0} % of a core, Node {:.0} %: both run every \
                 session on one thread.",
                rc * 100.0,
                nc * 100.0
            );
        }
        _ => {}
    }
    if let (Some(rc), Some(nc)) = (cpu_per_op(r), cpu_per_op(n)) {
        let _ = write!(
            why,
            " Per delivered message the reference server spent {rc:.1} µs of CPU and Node \
             {nc:.1} µs ({} Node's cost){}",
            ratio(rc / nc),
            if rc * BROADCAST_RATIO > nc {
                format!(
                    ": {BROADCAST_RATIO}× Node's deliveries on one core each needs a cost per \
                     delivery under 1/{BROADCAST_RATIO} of Node's; where the rest goes is in \
                     [load-profile.md](load-profile.md)."
                )
            } else {
                ": cheap enough per delivery, so what held its figure back is the CPU it was \
                 given, not its own cost."
                    .to_owned()
            }
        );
    }
    why
}

/// The generator's CPU time per operation at a point, µs.
pub(crate) fn generator_cpu_per_op(p: &Point) -> Option<f64> {
    p.generator_cpu
        .filter(|_| p.throughput > 0.0)
        .map(|c| c * 1e6 / p.throughput)
}

fn micros(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |u| format!("{u:.1} µs"))
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "missed"
    }
}

/// Each target of the issue, judged from this run's points.
fn goals(view: &View, out: &mut String) {
    let run = &view.run;
    let _ = writeln!(out, "## The targets (issue #16)\n");
    ceiling_goal(view, out);
    let rust = find(run, Scenario::Broadcast, "rust", GOAL_CLIENTS);
    let node = find(run, Scenario::Broadcast, "node", GOAL_CLIENTS);
    match (rust, node) {
        (Some(r), Some(n)) if n.throughput > 0.0 => {
            let x = r.throughput / n.throughput;
            let _ = writeln!(
                out,
                "* **Broadcast at {GOAL_CLIENTS} clients, reference ≥ {BROADCAST_RATIO}× Node's \
                 deliveries/s: {}.** The reference server delivered {} messages/s, the Node peer \
                 {}: {}.",
                met(x >= BROADCAST_RATIO),
                count(r.throughput),
                count(n.throughput),
                ratio(x)
            );
            if view.origin_of(r).is_some() || view.origin_of(n).is_some() {
                let _ = writeln!(
                    out,
                    "  Measured: the reference server's figure {}, Node's {}.",
                    view.measured(r),
                    view.measured(n)
                );
            }
            if x < BROADCAST_RATIO {
                let _ = writeln!(out, "{}", broadcast_why(run, r, n));
            }
            if let (Some(rl), Some(nl)) = (r.latency, n.latency) {
                let _ = writeln!(
                    out,
                    "* **Broadcast p99 at {GOAL_CLIENTS} clients, reference lower than Node: {}.** \
                     {} against {}.",
                    met(rl.p99 < nl.p99),
                    latency(rl.p99),
                    latency(nl.p99)
                );
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "* Broadcast at {GOAL_CLIENTS} clients against both the reference server and the \
                 Node peer was not part of this run, so the broadcast target is not judged here."
            );
        }
    }
    versus_node(
        run,
        out,
        Scenario::Connect,
        "Connect storm, reference ≥ Node at every point",
    );
    versus_node(
        run,
        out,
        Scenario::Echo,
        "Echo, reference ahead of Node at every point",
    );
    idle_goal(run, out);
    let _ = writeln!(out);
}

/// The reference server's throughput against Node's at every client count of `s`.
fn versus_node(run: &Run, out: &mut String, s: Scenario, what: &str) {
    let pairs: Vec<(usize, f64)> = client_counts(run, s)
        .into_iter()
        .filter_map(|c| {
            let r = find(run, s, "rust", c)?;
            let n = find(run, s, "node", c)?;
            (n.throughput > 0.0).then(|| (c, r.throughput / n.throughput))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    let ok = pairs.iter().filter(|(_, x)| *x >= 1.0).count();
    let list: Vec<String> = pairs
        .iter()
        .map(|(c, x)| format!("{c} clients {}", ratio(*x)))
        .collect();
    let _ = writeln!(
        out,
        "* **{what}: {} ({ok} of {}).** Reference / Node {}: {}.",
        met(ok == pairs.len()),
        pairs.len(),
        s.unit(),
        list.join(", ")
    );
}

/// The reference server's memory per idle connection from
/// [`IDLE_GOAL_FROM`] connections on, and how far the scale runs went.
fn idle_goal(run: &Run, out: &mut String) {
    let big: Vec<&Point> = run
        .points
        .iter()
        .filter(|p| {
            p.scenario == Scenario::Idle
                && p.target == "rust"
                && p.clients >= IDLE_GOAL_FROM
                && p.memory.is_some()
        })
        .collect();
    if big.is_empty() {
        let _ = writeln!(
            out,
            "* The reference server's memory at {} idle connections and beyond was not \
             measured in this run (`--scenario idle --clients 1000,5000,10000,19000`).",
            count(IDLE_GOAL_FROM as f64)
        );
        return;
    }
    let figures: Vec<String> = big
        .iter()
        .filter_map(|p| {
            p.memory.map(|m| {
                format!(
                    "{} bytes at {}",
                    count(m.per_connection),
                    count(p.clients as f64)
                )
            })
        })
        .collect();
    let ok = big.iter().all(|p| {
        p.memory
            .is_some_and(|m| m.per_connection <= IDLE_GOAL_BYTES)
    });
    let _ = writeln!(
        out,
        "* **Reference server ≤ {} bytes per idle connection at {} and beyond: {}.** {}.",
        count(IDLE_GOAL_BYTES),
        count(IDLE_GOAL_FROM as f64),
        met(ok),
        figures.join(", ")
    );
}

/// The generator's ceiling against the best server at every point, with
/// each side's CPU per operation.
fn ceiling_goal(view: &View, out: &mut String) {
    let run = &view.run;
    let mut lines = Vec::new();
    let mut misses = 0;
    let mut gen_costs = Vec::new();
    for s in [Scenario::Echo, Scenario::Broadcast, Scenario::Connect] {
        for c in client_counts(run, s) {
            let (Some(sink), Some(best)) = (find(run, s, "sink", c), best_server(run, s, c)) else {
                continue;
            };
            if best.throughput <= 0.0 {
                continue;
            }
            let x = sink.throughput / best.throughput;
            if x < CEILING_RATIO {
                misses += 1;
            }
            let gen_best = generator_cpu_per_op(best);
            if let (Some(g), Some(sv)) = (gen_best, cpu_per_op(best)) {
                gen_costs.push(g / sv);
            }
            let measured = if view.earlier.is_empty() {
                String::new()
            } else if view.measured(sink) == view.measured(best) {
                format!(" {} |", view.measured(sink))
            } else {
                format!(
                    " sink {}, best {} |",
                    view.measured(sink),
                    view.measured(best)
                )
            };
            lines.push(format!(
                "| {} | {c} | {} | {} ({}) | {} | {} | {} | {} | {} |{measured}",
                s.name(),
                count(sink.throughput),
                count(best.throughput),
                best.target,
                ratio(x),
                micros(generator_cpu_per_op(sink)),
                micros(gen_best),
                micros(cpu_per_op(best)),
                met(x >= CEILING_RATIO)
            ));
        }
    }
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "* The generator's ceiling (the sink) was not measured in this run (polling, \
             `--url` without the sink, or idle only)."
        );
        return;
    }
    let _ = writeln!(
        out,
        "* **Generator ceiling ≥ {CEILING_RATIO}× the best server: {} of {} points met.**\n",
        lines.len() - misses,
        lines.len()
    );
    let (head, rule) = if view.earlier.is_empty() {
        ("", "")
    } else {
        (" measured |", "---|")
    };
    let _ = writeln!(
        out,
        "| scenario | clients | ceiling (sink) | best server | ceiling / best | generator CPU per op, vs the sink | generator CPU per op, vs the best server | best server's CPU per op | ≥ {CEILING_RATIO}× |{head}\n|---|---:|---:|---:|---:|---:|---:|---:|---|{rule}"
    );
    for l in &lines {
        let _ = writeln!(out, "{l}");
    }
    if misses > 0 {
        gen_costs.sort_by(f64::total_cmp);
        let spread = match (gen_costs.first(), gen_costs.last()) {
            (Some(lo), Some(hi)) => format!(
                " Measured here, the generator spent {} to {} of the best server's CPU per \
                 operation.",
                ratio(*lo),
                ratio(*hi)
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\nA ceiling of {CEILING_RATIO}× needs the generator to do an operation for a fifth \
             of what the server spends on it, on the same {} cores (load average {} before, {} \
             after).{spread} Both sides pay a system call per message and socket (the \
             generator's clients are separate connections, as real clients are), and the \
             kernel's TCP path is most of that cost on both sides: where the time goes, \
             measured with perf, is in [load-profile.md](load-profile.md). Where the best \
             server's CPU per operation is far above the generator's, its figure is its own; \
             where the two are close, both were paced by the machine.",
            run.machine.cores, run.machine.load_before, run.machine.load_after
        );
    }
    let _ = writeln!(out);
}

/// The report of one run.
pub fn markdown(run: &Run) -> String {
    markdown_of(&View::of(run))
}

/// The report of a set of points, merged from several runs or not.
pub fn markdown_of(view: &View) -> String {
    let run = &view.run;
    let m = &run.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Load benchmark\n");
    let _ = writeln!(
        out,
        "Written by `{}` ({:.0} s). Regenerate it with the same command; `.ci/run` runs \
         `siospec bench --quick`.\n",
        run.command,
        run.elapsed.as_secs_f64()
    );
    let kept = view.kept();
    if kept > 0 {
        let _ = writeln!(
            out,
            "**{kept} of these {} points come from earlier runs**: this run measured only \
             {}, and the other points were kept from `load.json` (a point measured again, same \
             target, scenario, transport and client count, replaces the earlier one). Their \
             rows say *earlier* with the date and commit of the run that measured them, and \
             [Earlier runs](#earlier-runs) describes those runs; the machine below is this \
             run's. Figures of different runs met different loads on the machine, so compare \
             them with care.\n",
            run.points.len(),
            match run.points.len() - kept {
                1 => "one".to_owned(),
                n => format!("{n}"),
            }
        );
    }
    let _ = writeln!(out, "## Machine\n\n| | |\n|---|---|");
    let rows = [
        ("CPU", format!("{} logical cores, {}", m.cores, m.cpu)),
        ("memory", format!("{} MiB", m.memory_mib)),
        ("kernel", m.kernel.clone()),
        (
            "load average (1, 5, 15 min)",
            format!("{} before, {} after", m.load_before, m.load_after),
        ),
        ("commit", m.commit.clone()),
        ("toolchain", format!("{}; Node {}", m.rustc, m.node)),
        (
            "run",
            format!(
                "{} clients, {} s warm-up and {} s measured per point",
                run.transport.name(),
                run.warmup.as_secs_f64(),
                run.duration.as_secs_f64()
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    if !view.earlier.is_empty() {
        let _ = writeln!(
            out,
            "\n## Earlier runs\n\nThe runs the points marked *earlier* come from, oldest \
             first (`load.json` keeps each with its points).\n\n\
             | run | started | command | transport, warm-up + measured per point | load average before, after | toolchain | points kept |\n\
             |---|---|---|---|---|---|---:|"
        );
        for (r, n) in &view.earlier {
            let unknown = |s: &str| {
                if s.is_empty() {
                    "unknown".to_owned()
                } else {
                    s.to_owned()
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {}, {} s + {} s | {}, {} | {}; Node {} | {n} |",
                r.label(),
                unknown(&r.started),
                unknown(&r.command),
                r.transport.name(),
                r.warmup_s,
                r.duration_s,
                unknown(&r.machine.load_before),
                unknown(&r.machine.load_after),
                unknown(&r.machine.rustc),
                unknown(&r.machine.node),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nThe generator, the servers and the sink all run on this machine, over loopback; \
         other jobs may run beside them (see the load average), so compare figures within \
         this run, not across runs.\n"
    );
    let _ = writeln!(out, "## How it is measured\n");
    let _ = writeln!(
        out,
        "* **Generator**: N clients on a multi-threaded tokio runtime, connected to `/` \
         before the warm-up. Over WebSocket each is a lean client (harness/src/bench/lean.rs): \
         every frame written by the codec's encoders and read by its borrowed decoders, \
         Engine.IO then Socket.IO, pings answered, no client machine (no ack tables, timers or \
         reconnection) and no `Value` built; its WebSocket is tokio-websockets. Over polling \
         each is the codec's full client machine. Latencies go into HDR histograms (1 µs to \
         100 s, 3 significant digits). *generator CPU per op* is the generator process's CPU \
         time over the window (the sink's thread not counted) divided by the operations.\n\
         * **Servers**: separate processes started fresh for every point, engine.io's default \
         timings (ping every 25 s): the reference server is `siospec serve --mode socket` (one \
         thread), the Node peer `node harness/peers/node/server.js --mode socket` (socket.io \
         4.8.4, one event loop). *server CPU* is the process's CPU time over the measured \
         window (the sink's: its thread's), 100 % = one core; *CPU per op* is that time divided by the operations, what the \
         server spends on each whatever paced the run.\n\
         * **Sink**: an in-process server (its own thread) that answers with fixed or sliced \
         frames and parses nothing; the same scenario against it is the generator's ceiling.\n\
         * **echo**: every client emits `message-with-ack` with a 64-byte string and waits for \
         the ack, in a loop; throughput is round trips/s, latency the round trip.\n\
         * **broadcast**: one more client emits `broadcast` stamped with its emit time, keeping \
         about 2,000 deliveries in flight; the server sends `broadcast-message` to every \
         socket; throughput is messages delivered to the N receivers per second, latency from \
         emit to delivery.\n\
         * **connect**: every client connects (Engine.IO handshake, Socket.IO CONNECT to `/`, \
         until the CONNECT reply), drops the connection and starts again; throughput is \
         handshakes/s.\n\
         * **idle**: N clients connected and silent; memory per connection is (server RSS \
         with them − RSS before) / N, from /proc/PID/status. Beyond {worker} \
         clients the generator is `siospec bench-worker` processes of at most {worker} \
         connections each, and every client binds a source address of its own block of \
         127.0.0.0/8 (1,000 clients per address), so neither a process's open files nor one \
         address's ephemeral ports bound the count.\n\
         * *errors* counts connections that failed or were lost; *lost*, broadcast messages \
         that never reached a receiver (each broadcast carries a sequence number, and one \
         connection delivers in order, so a gap is a message the server dropped).\n",
        worker = count(WORKER_CLIENTS as f64)
    );
    goals(view, &mut out);
    for s in [Scenario::Echo, Scenario::Broadcast, Scenario::Connect] {
        let clients = client_counts(run, s);
        if clients.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {} ({})\n", s.name(), s.unit());
        let (head, rule) = if view.earlier.is_empty() {
            ("", "")
        } else {
            (" measured |", "---|")
        };
        let _ = writeln!(
            out,
            "| clients | target | {} | p50 | p90 | p99 | p99.9 | server CPU | CPU per op | generator CPU per op | connected | errors | lost |{head}\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{rule}",
            s.unit()
        );
        for &c in &clients {
            for p in run
                .points
                .iter()
                .filter(|p| p.scenario == s && p.clients == c)
            {
                let _ = writeln!(
                    out,
                    "| {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}",
                    p.target,
                    count(p.throughput),
                    lat_cells(p.latency),
                    cpu(p),
                    micros(cpu_per_op(p)),
                    micros(generator_cpu_per_op(p)),
                    p.connected,
                    p.errors,
                    p.lost,
                    measured_cell(view, p)
                );
            }
        }
        let _ = writeln!(
            out,
            "\n| clients | rust / node throughput | rust / node p99 | rust / node CPU per op | ceiling / best server |\n|---:|---:|---:|---:|---:|"
        );
        for &c in &clients {
            let rust = find(run, s, "rust", c);
            let node = find(run, s, "node", c);
            let through = match (rust, node) {
                (Some(r), Some(n)) if n.throughput > 0.0 => ratio(r.throughput / n.throughput),
                _ => "–".to_owned(),
            };
            let p99 = match (rust.and_then(|p| p.latency), node.and_then(|p| p.latency)) {
                (Some(r), Some(n)) if n.p99 > 0.0 => ratio(r.p99 / n.p99),
                _ => "–".to_owned(),
            };
            let per_op = match (rust.and_then(cpu_per_op), node.and_then(cpu_per_op)) {
                (Some(r), Some(n)) if n > 0.0 => ratio(r / n),
                _ => "–".to_owned(),
            };
            let ceiling = match (find(run, s, "sink", c), best_server(run, s, c)) {
                (Some(k), Some(b)) if b.throughput > 0.0 => ratio(k.throughput / b.throughput),
                _ => "–".to_owned(),
            };
            let _ = writeln!(out, "| {c} | {through} | {p99} | {per_op} | {ceiling} |");
        }
        let _ = writeln!(out);
    }
    tls_cost(run, &mut out);
    let idle: Vec<&Point> = run
        .points
        .iter()
        .filter(|p| p.scenario == Scenario::Idle)
        .collect();
    if !idle.is_empty() {
        let (head, rule) = if view.earlier.is_empty() {
            ("", "")
        } else {
            (" measured |", "---|")
        };
        let _ = writeln!(
            out,
            "## idle (server memory per connection)\n\n| clients | target | RSS before | RSS with the clients | per connection | connected |{head}\n|---:|---|---:|---:|---:|---:|{rule}"
        );
        for p in idle {
            match p.memory {
                Some(m) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} KiB | {} KiB | {} bytes | {} |{}",
                        p.clients,
                        p.target,
                        count(m.before_kib as f64),
                        count(m.after_kib as f64),
                        count(m.per_connection),
                        p.connected,
                        measured_cell(view, p)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | unavailable | unavailable | unavailable (not a local process) | {} |{}",
                        p.clients,
                        p.target,
                        p.connected,
                        measured_cell(view, p)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "\nRSS counts pages the allocator keeps after a burst, so small client counts are \
             noisy; the largest count is the figure to quote.\n"
        );
        scale_curve(run, &mut out);
    }
    let _ = writeln!(
        out,
        "## Notes on the reference server\n\n\
         Three things in its code shape these figures (it is a conformance reference, not \
         tuned for load):\n\n\
         * A WebSocket-only session's `open` packet goes out 1 ms after the 101 response \
         (`OPEN_PACKET_DELAY` in harness/src/server/http.rs; tokio's timer makes it 1–2 ms). \
         The official suites' Node client (`ws`) misses a first frame that comes in the same \
         read as the 101, and nothing the client sends shows when it has read it. Each \
         connect-storm handshake carries that floor: one handshake per client per 1–2 ms at most.\n\
         * It runs every session on one thread, as Node runs every socket on its one event \
         loop. A broadcast is encoded once (`Emit::websocket_text` in the codec); each \
         WebSocket-only recipient gets the same bytes in its writer's queue (one channel send \
         and one writer wake-up), other recipients through their session's task. A writer \
         sends the frames already waiting with one flush.\n\
         * Its WebSocket read buffer is 1 KiB (`WS_READ_BUFFER`, same file) instead of \
         tokio-tungstenite's 128 KiB, and its queue items are boxed, because tokio allocates \
         room for 32 of them per queue up front.\n"
    );
    let _ = writeln!(out, "The chart: [load.svg](load.svg).");
    out
}

/// What TLS costs a connection: each target measured over TLS (`NAME-tls`,
/// `bench --tls`, or an https:// --url beside an http:// one) against
/// itself without, at the same connect points of the same run.
fn tls_cost(run: &Run, out: &mut String) {
    let mut pairs: Vec<(&str, &str)> = run
        .points
        .iter()
        .filter(|p| p.scenario == Scenario::Connect)
        .filter_map(|p| {
            let base = p.target.strip_suffix(super::TLS_SUFFIX)?;
            Some((base, p.target.as_str()))
        })
        .collect();
    pairs.sort_by_key(|(base, _)| target_rank(base));
    pairs.dedup();
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## TLS cost per connection

The connect scenario (Engine.IO handshake, WebSocket, \
         Socket.IO CONNECT, then close; one TCP connection each) against each server with and \
         without TLS, in the same run. Over TLS every connection also does a full TLS 1.3 \
         handshake (no session resumption: each client is new), in the generator and the \
         server.\n\n| clients | server | handshakes/s plain | over TLS | TLS / plain | server \
         CPU per connection plain | over TLS | generator CPU per connection plain | over TLS \
         |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for c in client_counts(run, Scenario::Connect) {
        for &(base, tls) in &pairs {
            let (Some(plain), Some(secure)) = (
                find(run, Scenario::Connect, base, c),
                find(run, Scenario::Connect, tls, c),
            ) else {
                continue;
            };
            let slower = if plain.throughput > 0.0 {
                ratio(secure.throughput / plain.throughput)
            } else {
                "–".to_owned()
            };
            let _ = writeln!(
                out,
                "| {c} | {base} | {} | {} | {slower} | {} | {} | {} | {} |",
                count(plain.throughput),
                count(secure.throughput),
                micros(cpu_per_op(plain)),
                micros(cpu_per_op(secure)),
                micros(generator_cpu_per_op(plain)),
                micros(generator_cpu_per_op(secure)),
            );
        }
    }
    let _ = writeln!(out);
}

/// Bytes per idle connection by client count and server (the growth
/// curve), and the open-file limit the scale runs had.
fn scale_curve(run: &Run, out: &mut String) {
    let counts = client_counts(run, Scenario::Idle);
    let mut targets: Vec<&str> = run
        .points
        .iter()
        .filter(|p| p.scenario == Scenario::Idle && p.memory.is_some())
        .map(|p| p.target.as_str())
        .collect();
    targets.sort_by_key(|t| target_rank(t));
    targets.dedup();
    if counts.len() > 1 && !targets.is_empty() {
        let _ = writeln!(
            out,
            "### Scale: bytes per idle connection\n\n| clients | {} |\n|---:|{}",
            targets.join(" | "),
            "---:|".repeat(targets.len())
        );
        for &c in &counts {
            let cells: Vec<String> = targets
                .iter()
                .map(|t| {
                    find(run, Scenario::Idle, t, c)
                        .and_then(|p| p.memory)
                        .map_or_else(|| "–".to_owned(), |m| count(m.per_connection))
                })
                .collect();
            let _ = writeln!(out, "| {c} | {} |", cells.join(" | "));
        }
        let _ = writeln!(out);
    }
    let m = &run.machine;
    if m.open_files > 0 {
        let _ = writeln!(
            out,
            "Open files: the generator started with a soft limit of {}; `siospec bench` raised \
             it to {}, its hard limit, which the machine sets and a process cannot raise. The \
             servers it starts and its worker processes inherit that limit: one server process \
             holds every connection of a point, so {} is the most a point can reach, less the \
             server's own files.\n",
            m.open_files_before, m.open_files, m.open_files
        );
    }
}

/// The ` this run |` / ` earlier (…) |` cell of a point's row, when the
/// report holds points of earlier runs.
fn measured_cell(view: &View, p: &Point) -> String {
    if view.earlier.is_empty() {
        String::new()
    } else {
        format!(" {} |", view.measured(p))
    }
}

/// A free name beside `path` for a `load.json` that cannot be merged.
fn set_aside(path: &Path) -> PathBuf {
    let mut n = 0;
    loop {
        let name = match n {
            0 => "load.json.unreadable".to_owned(),
            n => format!("load.json.unreadable.{n}"),
        };
        let candidate = path.with_file_name(name);
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

/// Writes `load.json`, `load.md` and `load.svg` into `dir`, merged with the
/// `load.json` already there (see [`LoadSet::merge`]), and returns the paths
/// of `load.md` and `load.svg`. A `load.json` that does not read as
/// [`SCHEMA`] is renamed `load.json.unreadable` and not merged.
pub fn write(dir: &Path, run: &Run) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = dir.join("load.json");
    let md = dir.join("load.md");
    let svg = dir.join("load.svg");
    let latest = LoadSet::from_run(run);
    let set = match LoadSet::read(&json) {
        Ok(Some(earlier)) => LoadSet::merge(earlier, latest),
        Ok(None) => {
            if md.exists() {
                eprintln!(
                    "siospec bench: {} has no load.json beside it (written before siospec kept \
                     one), so its points cannot be kept; it is replaced",
                    md.display()
                );
            }
            latest
        }
        Err(e) => {
            let aside = set_aside(&json);
            std::fs::rename(&json, &aside)
                .map_err(|r| format!("{e}; cannot move it to {}: {r}", aside.display()))?;
            eprintln!(
                "siospec bench: {e}; moved to {} and not merged",
                aside.display()
            );
            latest
        }
    };
    let view = set.view();
    if view.kept() > 0 {
        eprintln!(
            "siospec bench: {} points measured, {} kept from earlier runs",
            view.run.points.len() - view.kept(),
            view.kept()
        );
    }
    std::fs::write(&md, markdown_of(&view))
        .map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    std::fs::write(&svg, super::svg::render_of(&view))
        .map_err(|e| format!("cannot write {}: {e}", svg.display()))?;
    let text = serde_json::to_string_pretty(&set)
        .map_err(|e| format!("cannot encode {}: {e}", json.display()))?;
    std::fs::write(&json, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    Ok((md, svg))
}
