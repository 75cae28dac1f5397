//! What one benchmark point measured, and the percentiles of its latencies.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::conn::Transport;

/// A latency histogram in microseconds, from 1 µs to 100 s at three
/// significant digits, so p99.9 of a ten-second run is exact to 0.1 %.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("static bounds are valid")
}

/// Records `micros`, clamped into the histogram's range so one outlier
/// cannot drop a sample.
pub fn record(h: &mut Histogram<u64>, micros: u64) {
    let _ = h.record(micros.clamp(1, h.high()));
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

impl Latency {
    /// The percentiles of `h`; `None` when it holds no sample.
    pub fn of(h: &Histogram<u64>) -> Option<Latency> {
        if h.is_empty() {
            return None;
        }
        let q = |p: f64| h.value_at_quantile(p) as f64;
        Some(Latency {
            count: h.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64,
        })
    }
}

/// What a benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Each client emits `message-with-ack` and waits for the ack, in a loop.
    Echo,
    /// One extra client emits `broadcast`; every client receives `broadcast-message`.
    Broadcast,
    /// Each client connects (Engine.IO handshake and Socket.IO CONNECT) and
    /// disconnects, in a loop.
    Connect,
    /// N connected clients doing nothing; the server's resident memory.
    Idle,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 4] = [
        Scenario::Echo,
        Scenario::Broadcast,
        Scenario::Connect,
        Scenario::Idle,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Broadcast => "broadcast",
            Scenario::Connect => "connect",
            Scenario::Idle => "idle",
        }
    }

    /// The scenario named `s`.
    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s.trim())
    }

    /// What the throughput column counts.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Scenario::Echo => "round trips/s",
            Scenario::Broadcast => "deliveries/s",
            Scenario::Connect => "handshakes/s",
            Scenario::Idle => "",
        }
    }
}

/// The server's resident memory around an idle run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// VmRSS before any client connected, KiB.
    pub before_kib: u64,
    /// VmRSS with every client connected and idle, KiB.
    pub after_kib: u64,
    /// (after − before) / connected clients, bytes.
    pub per_connection: f64,
}

impl Memory {
    /// The memory of `connected` clients from the RSS before and with
    /// them (KiB); `None` when either is unknown or no client connected.
    pub fn of(before_kib: Option<u64>, after_kib: Option<u64>, connected: usize) -> Option<Memory> {
        match (before_kib, after_kib) {
            (Some(before), Some(after)) if connected > 0 => Some(Memory {
                before_kib: before,
                after_kib: after,
                per_connection: (after as f64 - before as f64) * 1024.0 / connected as f64,
            }),
            _ => None,
        }
    }
}

/// One measured point: a scenario against a target with a client count,
/// over a transport (the four together are its key when reports merge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// What was measured.
    pub scenario: Scenario,
    /// `rust`, `node`, `url` or `sink` (the generator's ceiling).
    pub target: String,
    /// The generator's transport.
    pub transport: Transport,
    /// Clients (for broadcast: receivers, besides the emitter).
    pub clients: usize,
    /// Clients that connected (the rest failed within the time limit).
    pub connected: usize,
    /// Operations per second over the measured window: round trips,
    /// deliveries or handshakes, by scenario.
    pub throughput: f64,
    /// Latency of each operation, when the scenario has one.
    pub latency: Option<Latency>,
    /// Server CPU time over the measured window as a share of one core
    /// (1.0 = one core busy), when the server is a local process or the
    /// sink (its thread).
    pub server_cpu: Option<f64>,
    /// The generator's CPU time over the measured window, as a share of one
    /// core (the sink's own thread not counted); absent in older reports.
    #[serde(default)]
    pub generator_cpu: Option<f64>,
    /// Idle scenario: the server's memory, when it is a local process.
    pub memory: Option<Memory>,
    /// Connection failures and connections lost during the run.
    pub errors: u64,
    /// Broadcast messages a receiver never got (the server dropped them).
    pub lost: u64,
}
