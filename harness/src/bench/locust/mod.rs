//! `siospec bench --locust-master HOST:PORT`: the load generator as a
//! worker of a Locust master, so that one benchmark spreads over many
//! machines with Locust's coordination, web UI, CSV files and `--headless`
//! summary.
//!
//! It speaks the worker side of Locust 2.x's protocol (locust/runners.py
//! `WorkerRunner`, as of [`LOCUST_VERSION`]): a ZeroMQ DEALER socket whose
//! identity is the worker's id, connected to the master's ROUTER (port
//! 5557 by default), one msgpack frame `[type, data, node_id]` per message
//! (`message`). The worker says `client_ready` (with its Locust version)
//! until `ack`; then it heartbeats every second (`heartbeat`: state, CPU,
//! memory) and reports `stats` every 3 s (`stats`: what happened since the
//! last report, which the master adds up). `spawn` sets the number of
//! users of each of the master's user classes (a class's name picks its
//! scenario: [`Scenario::of_class`]), answered by `spawning` and
//! `spawning_complete`; `stop` stops them (`client_stopped`, then
//! `client_ready` again); `quit` stops them, sends a last report and ends.

mod message;
mod stats;
mod users;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmpv::Value;
use serde::Serialize;
use tokio::sync::mpsc;
use zeromq::{Socket, SocketRecv, SocketSend};

use message::{get, map, Message};
pub use stats::bucket;
use stats::Stats;
pub use users::Scenario;
use users::{unix_now, Users};

use crate::tls::{Origin, Trust};

/// The Locust version the worker says it speaks (`client_ready`): the
/// master warns when its own differs beyond the patch level.
pub const LOCUST_VERSION: &str = "2.47.0";

/// How often the worker heartbeats (Locust's `HEARTBEAT_INTERVAL`).
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How often it reports (Locust's `WORKER_REPORT_INTERVAL`).
const REPORT_INTERVAL: Duration = Duration::from_secs(3);
/// Without a heartbeat from the master for this long, the worker quits
/// (Locust's `MASTER_HEARTBEAT_TIMEOUT`).
const MASTER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the master has to `ack` a `client_ready` before it is sent
/// again (Locust's `CONNECT_TIMEOUT`), and how long in all.
const ACK_WAIT: Duration = Duration::from_secs(5);
const CONNECT_GIVE_UP: Duration = Duration::from_secs(60);
/// How long a worker that was told to quit waits for the master to close
/// the connection, so that its last report is written before it exits.
const LINGER: Duration = Duration::from_secs(3);

/// What to do when no master answers.
const START_MASTER: &str = "Start the master first, with --master (harness/locust/README.md), and \
    give its address and --master-bind-port (5557 by default)";

/// What a worker did, for its caller and the check that the master's
/// figures add up.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The id it had at the master.
    pub node_id: String,
    /// Requests in the reports it sent (failures included).
    pub requests: u64,
    /// Failed requests in them.
    pub failures: u64,
    /// Reports sent.
    pub reports: u64,
    /// Messages and bytes sent to the master: the protocol's cost.
    pub messages: u64,
    pub bytes: u64,
}

/// Runs a worker for the master at `master` (`HOST:PORT`) until the master
/// says `quit` (or stops heartbeating); `log` gets one line per event worth
/// telling.
pub async fn run_worker(master: &str, log: &dyn Fn(&str)) -> Result<Summary, String> {
    let node_id = node_id();
    let mut options = zeromq::SocketOptions::default();
    options.peer_identity(
        zeromq::util::PeerIdentity::try_from(bytes::Bytes::from(node_id.clone().into_bytes()))
            .map_err(|e| format!("worker id: {e}"))?,
    );
    let mut socket = zeromq::DealerSocket::with_options(options);
    tokio::time::timeout(CONNECT_GIVE_UP, socket.connect(&format!("tcp://{master}")))
        .await
        .map_err(|_| {
            format!(
                "no Locust master at {master} within {} s",
                CONNECT_GIVE_UP.as_secs()
            )
        })?
        .map_err(|e| {
            format!("cannot connect to the Locust master at {master}: {e}. {START_MASTER}")
        })?;
    let (mut send, mut receive) = socket.split();
    let (inbox_tx, mut inbox) = mpsc::channel::<Result<Message, String>>(64);
    let reader = tokio::spawn(async move {
        loop {
            let got = match receive.recv().await {
                Ok(frames) => match frames.get(frames.len().saturating_sub(1)) {
                    Some(frame) => Message::decode(frame),
                    None => continue,
                },
                Err(e) => Err(format!("the connection to the master failed: {e}")),
            };
            let failed = got.is_err();
            if inbox_tx.send(got).await.is_err() || failed {
                return;
            }
        }
    });
    let (mut messages, mut bytes) = (0u64, 0u64);
    macro_rules! say {
        ($kind:expr, $data:expr) => {{
            bytes += say(&mut send, Message::new($kind, $data, &node_id)).await?;
            messages += 1;
        }};
    }

    // client_ready until ack.
    let started = Instant::now();
    loop {
        say!("client_ready", Value::from(LOCUST_VERSION));
        match tokio::time::timeout(ACK_WAIT, inbox.recv()).await {
            Ok(Some(Ok(m))) if m.kind == "ack" => break,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) => return Err("the connection to the master ended".to_owned()),
            Err(_) if started.elapsed() > CONNECT_GIVE_UP => {
                return Err(format!(
                    "the Locust master at {master} did not answer within {} s",
                    CONNECT_GIVE_UP.as_secs()
                ))
            }
            Err(_) => {}
        }
    }
    log(&format!(
        "connected to the Locust master at {master} as {node_id}"
    ));

    let stats = Arc::new(Mutex::new(Stats::new(unix_now())));
    let mut users = Users::new(stats.clone());
    let mut state = "ready";
    let mut reports = 0u64;
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut report = tokio::time::interval(REPORT_INTERVAL);
    let mut last_master_beat = Instant::now();
    let mut cpu = CpuMeter::new();
    let report_data = |stats: &Mutex<Stats>, users: &Users| {
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = stats.report(unix_now());
        entries.push(("user_count", Value::from(users.count() as u64)));
        entries.push(("user_classes_count", class_counts(users)));
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    };
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if last_master_beat.elapsed() > MASTER_TIMEOUT {
                    log("no heartbeat from the master for 60 s: quitting");
                    break;
                }
                let data = map([
                    ("state", Value::from(state)),
                    ("current_cpu_usage", Value::from(cpu.percent())),
                    ("current_memory_usage", Value::from(rss_bytes())),
                ]);
                say!("heartbeat", data);
            }
            _ = report.tick() => {
                let data = report_data(&stats, &users);
                say!("stats", data);
                reports += 1;
            }
            got = inbox.recv() => {
                let m = match got {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(e),
                    None => return Err("the connection to the master ended".to_owned()),
                };
                match m.kind.as_str() {
                    "spawn" => {
                        // Users start at once: spawning is over as it is said.
                        say!("spawning", Value::Nil);
                        let (classes, origin) = spawn_job(&m.data)?;
                        for class in users.classes().keys() {
                            if !classes.iter().any(|(c, _)| c == class) {
                                users.set(class, 0, &origin);
                            }
                        }
                        for (class, n) in &classes {
                            users.set(class, *n, &origin);
                        }
                        log(&format!("{} user(s) against {}", users.count(), origin.url()));
                        say!(
                            "spawning_complete",
                            map([
                                ("user_classes_count", class_counts(&users)),
                                ("user_count", Value::from(users.count() as u64)),
                            ])
                        );
                        state = "running";
                    }
                    "stop" => {
                        users.set_none();
                        // What the stopped users did goes out now, not at the next tick.
                        let data = report_data(&stats, &users);
                        say!("stats", data);
                        reports += 1;
                        say!("client_stopped", Value::Nil);
                        say!("client_ready", Value::from(LOCUST_VERSION));
                        state = "ready";
                    }
                    "quit" => {
                        users.set_none();
                        let data = report_data(&stats, &users);
                        say!("stats", data);
                        reports += 1;
                        log("the master said quit");
                        break;
                    }
                    "heartbeat" => last_master_beat = Instant::now(),
                    // ack (a repeated one), reconnect, update_user_class,
                    // spawning_complete: nothing to do for this worker.
                    _ => {}
                }
            }
        }
    }
    // A sent message is only queued for the socket's writer: leaving at
    // once can lose the last report. The master closes the connection
    // when it exits (Locust's master waits 0.5 s for the last reports),
    // so wait for that, within bounds.
    let _ = tokio::time::timeout(LINGER, async {
        while let Some(Ok(_)) = inbox.recv().await {}
    })
    .await;
    reader.abort();
    let stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Summary {
        node_id,
        requests: stats.reported_requests,
        failures: stats.reported_failures,
        reports,
        messages,
        bytes,
    })
}

/// Sends one message to the master; its size in bytes.
async fn say(send: &mut zeromq::DealerSendHalf, message: Message) -> Result<u64, String> {
    let frame = message.encode();
    let size = frame.len() as u64;
    send.send(frame.into())
        .await
        .map_err(|e| format!("cannot send `{}` to the master: {e}", message.kind))?;
    Ok(size)
}

/// A user class's name and its users.
type ClassCount = (String, usize);

/// `{class: users}`, as Locust reports the users running.
fn class_counts(users: &Users) -> Value {
    Value::Map(
        users
            .classes()
            .into_iter()
            .map(|(class, n)| (Value::from(class), Value::from(n as u64)))
            .collect(),
    )
}

/// The users a `spawn` asks for, per user class (each class's scenario:
/// [`Scenario::of_class`]), and the host to load (the master's `--host`).
fn spawn_job(data: &Value) -> Result<(Vec<ClassCount>, Arc<Origin>), String> {
    let counts = get(data, "user_classes_count")
        .and_then(Value::as_map)
        .ok_or("a spawn message without user_classes_count")?;
    let classes = counts
        .iter()
        .filter_map(|(class, n)| Some((class.as_str()?.to_owned(), n.as_u64()? as usize)))
        .collect();
    let host = get(data, "host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .ok_or("the master gave no host: start it with --host http://HOST:PORT (the Socket.IO server to load)")?;
    let origin = Origin::parse(host, &Trust::default())
        .map_err(|e| format!("the master's host {host:?}: {e}"))?;
    Ok((classes, Arc::new(origin)))
}

/// `HOSTNAME_HEX`, as Locust names its workers.
fn node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "siospec".to_owned());
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes[..4].copy_from_slice(&std::process::id().to_le_bytes());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}_{hex}")
}

/// This process's resident memory, in bytes.
fn rss_bytes() -> u64 {
    crate::process::rss_kib(std::process::id()).unwrap_or(0) * 1024
}

/// This process's CPU use since the last reading, in percent of one core.
struct CpuMeter {
    ticks: u64,
    at: Instant,
}

impl CpuMeter {
    fn new() -> CpuMeter {
        CpuMeter {
            ticks: crate::process::cpu_ticks(std::process::id()).unwrap_or(0),
            at: Instant::now(),
        }
    }

    fn percent(&mut self) -> f64 {
        let ticks = crate::process::cpu_ticks(std::process::id()).unwrap_or(self.ticks);
        let seconds = self.at.elapsed().as_secs_f64();
        let used = ticks.saturating_sub(self.ticks) as f64 / crate::process::TICKS_PER_SECOND;
        self.ticks = ticks;
        self.at = Instant::now();
        if seconds > 0.0 {
            100.0 * used / seconds
        } else {
            0.0
        }
    }
}
