//! The users a worker runs: each one the generator's lean WebSocket client
//! (`bench::lean`) of the master's host, playing the scenario its Locust
//! user class names ([`Scenario::of_class`]) until it is stopped: echo (one
//! `message-with-ack` outstanding, its ack awaited), connect (connect,
//! disconnect, again) or idle (connect, then only the heartbeat). What each
//! does is recorded into the shared [`Stats`]: `connect` (the WebSocket and
//! the Socket.IO CONNECT) and `echo` (one round trip), method `socket.io`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use siospec_codec::socket::{AckId, Json, PacketType};

use super::stats::Stats;
use crate::bench::lean::{self, Incoming, Lean};
use crate::tls::Origin;

/// The request type every user records (Locust's `method` column).
pub(super) const METHOD: &str = "socket.io";

/// What an echo carries: the event and a 64-byte payload.
const ECHO_ARGS: &str =
    r#"["message-with-ack","siospec locust worker, echo payload of 64 bytes.............."]"#;

/// How long an ack may take before the round trip counts as failed.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// Pause after a failed connection before the next attempt.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The time now in Unix seconds, as Locust stamps requests.
pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What a user does, by the name of its Locust user class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// Echo round trips, one at a time.
    Echo,
    /// Connections opened and closed, one after the other.
    Connect,
    /// One connection kept open, carrying only the heartbeat.
    Idle,
}

impl Scenario {
    /// The user classes of harness/locust/locustfile.py: `SocketIoConnect`,
    /// `SocketIoIdle`; any other name plays echo (`SocketIoEcho`).
    ///
    /// ```
    /// # use siospec::bench::locust::Scenario;
    /// assert_eq!(Scenario::of_class("SocketIoIdle"), Scenario::Idle);
    /// assert_eq!(Scenario::of_class("MyUser"), Scenario::Echo);
    /// ```
    pub fn of_class(class: &str) -> Scenario {
        match class {
            "SocketIoConnect" => Scenario::Connect,
            "SocketIoIdle" => Scenario::Idle,
            _ => Scenario::Echo,
        }
    }
}

/// The running users.
pub(super) struct Users {
    tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
    stats: Arc<Mutex<Stats>>,
}

impl Users {
    pub fn new(stats: Arc<Mutex<Stats>>) -> Users {
        Users {
            tasks: Vec::new(),
            stats,
        }
    }

    pub fn count(&self) -> usize {
        self.tasks.len()
    }

    /// The classes running and their users, as Locust reports them.
    pub fn classes(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for (class, _) in &self.tasks {
            *counts.entry(class.clone()).or_default() += 1;
        }
        counts
    }

    /// How many users of `class` run.
    pub fn of(&self, class: &str) -> usize {
        self.tasks.iter().filter(|(c, _)| c == class).count()
    }

    /// Starts or stops users until `target` of `class` run against `origin`.
    pub fn set(&mut self, class: &str, target: usize, origin: &Arc<Origin>) {
        for _ in target..self.of(class) {
            if let Some(i) = self.tasks.iter().rposition(|(c, _)| c == class) {
                self.tasks.swap_remove(i).1.abort();
            }
        }
        let scenario = Scenario::of_class(class);
        for _ in self.of(class)..target {
            let (origin, stats) = (origin.clone(), self.stats.clone());
            let task = tokio::spawn(user(scenario, origin, stats));
            self.tasks.push((class.to_owned(), task));
        }
    }

    /// Stops every user; a round trip under way is not recorded.
    pub fn set_none(&mut self) {
        for (_, task) in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        self.set_none();
    }
}

fn record(stats: &Mutex<Stats>, name: &str, started: Instant, outcome: Result<u64, String>) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Ok(length) => stats.success(METHOD, name, ms, length, unix_now()),
        Err(error) => stats.failure(METHOD, name, ms, &error, unix_now()),
    }
}

/// One user: connect, play `scenario` until the connection fails, again.
async fn user(scenario: Scenario, origin: Arc<Origin>, stats: Arc<Mutex<Stats>>) {
    let Ok(args) = Json::parse(ECHO_ARGS) else {
        return;
    };
    loop {
        let started = Instant::now();
        let mut lean = match Lean::connect(&origin, None).await {
            Ok(lean) => {
                record(&stats, "connect", started, Ok(0));
                lean
            }
            Err(e) => {
                record(&stats, "connect", started, Err(e));
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        match scenario {
            // The next connection at once: the old one closes as it drops.
            Scenario::Connect => continue,
            // Held until the server or the network ends it (pings answered).
            Scenario::Idle => {
                let held = Instant::now();
                while lean.next_packet(|_| ()).await.is_ok() {}
                record(&stats, "idle", held, Err("the connection ended".to_owned()));
                continue;
            }
            Scenario::Echo => {}
        }
        let mut next_id = 0u64;
        loop {
            let started = Instant::now();
            let id = next_id;
            next_id += 1;
            let outcome = echo(&mut lean, args, id).await;
            let failed = outcome.is_err();
            record(&stats, "echo", started, outcome);
            if failed {
                break;
            }
        }
    }
}

/// One round trip; the ack's length in bytes.
async fn echo(lean: &mut Lean, args: Json<'_>, id: u64) -> Result<u64, String> {
    lean.send(lean::event_frame(args, Some(id))).await?;
    let wait = async {
        loop {
            let acked = lean
                .next_packet(|incoming| match incoming {
                    Incoming::Packet(p)
                        if p.kind == PacketType::Ack && p.ack_id == Some(AckId::Exact(id)) =>
                    {
                        Some(p.payload.map_or(0, |j| j.as_str().len() as u64))
                    }
                    _ => None,
                })
                .await?;
            if let Some(length) = acked {
                return Ok(length);
            }
        }
    };
    tokio::time::timeout(ACK_WAIT, wait)
        .await
        .map_err(|_| format!("no ack within {} s", ACK_WAIT.as_secs()))?
}
