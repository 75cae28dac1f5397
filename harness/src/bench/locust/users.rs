//! The users a worker runs: each one the generator's lean WebSocket client
//! (`bench::lean`), connecting to the master's host and playing the echo
//! scenario (one `message-with-ack` outstanding, its ack awaited) until it
//! is stopped. What each does is recorded into the shared [`Stats`]:
//! `connect` (the WebSocket and the Socket.IO CONNECT) and `echo` (one
//! round trip), method `socket.io`.

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

/// The running users.
pub(super) struct Users {
    tasks: Vec<tokio::task::JoinHandle<()>>,
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

    /// Starts or stops users until `target` run against `origin`.
    pub fn set(&mut self, target: usize, origin: &Arc<Origin>) {
        while self.tasks.len() > target {
            if let Some(task) = self.tasks.pop() {
                task.abort();
            }
        }
        while self.tasks.len() < target {
            let (origin, stats) = (origin.clone(), self.stats.clone());
            self.tasks.push(tokio::spawn(user(origin, stats)));
        }
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        self.set_none();
    }
}

impl Users {
    /// Stops every user; a round trip under way is not recorded.
    pub fn set_none(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
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

/// One user: connect, echo until the connection fails, again.
async fn user(origin: Arc<Origin>, stats: Arc<Mutex<Stats>>) {
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
