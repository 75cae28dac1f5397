//! The load generator: N [`Conn`] clients on the multi-threaded runtime,
//! playing one scenario against one server for a warm-up and a measured
//! window.
//!
//! Latencies go into one HDR histogram per client, merged at the end, so
//! recording never contends on a lock.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use siospec_codec::session::socket::ClientEvent;
use siospec_codec::socket::binary::Value;
use tokio::sync::{mpsc, watch, Notify, Semaphore};

use super::conn::{Conn, Transport};
use super::stats::{self, Latency, Scenario};

const SETUP: u8 = 0;
const WARMUP: u8 = 1;
const MEASURE: u8 = 2;
const STOP: u8 = 3;

/// The echo payload: a short chat-sized string.
const PAYLOAD: &str = "siospec load generator, echo payload of 64 bytes...............";

/// Connections opened at the same time while clients are set up, so the
/// servers' accept backlogs (Node's is 511) never overflow into SYN retries.
const SETUP_CONCURRENCY: usize = 64;

/// Messages the broadcast emitter keeps in flight (not yet received by every
/// receiver): enough to keep a server busy, few enough that latency measures
/// the server rather than a queue the generator built up.
const BROADCAST_IN_FLIGHT: usize = 2000;

/// One point to measure.
#[derive(Debug, Clone)]
pub struct PointSpec {
    /// The scenario.
    pub scenario: Scenario,
    /// Clients (broadcast: receivers; one emitter comes on top).
    pub clients: usize,
    /// Transport of every client.
    pub transport: Transport,
    /// Running but not measured, so connections and caches settle.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Longest wait for the clients to connect before the run starts.
    pub connect_timeout: Duration,
}

/// A moment in a run at which the caller samples the server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The measured window starts.
    Start,
    /// The measured window ends; every client is still connected.
    End,
}

/// What the generator measured at one point.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Clients that connected.
    pub connected: usize,
    /// Operations per second over the measured window.
    pub throughput: f64,
    /// Operation latencies.
    pub latency: Option<Latency>,
    /// Failed connections and connections lost before the end.
    pub errors: u64,
    /// Broadcast messages that never reached a receiver (gaps in the
    /// sequence numbers each receiver saw).
    pub lost: u64,
}

struct Ctx {
    authority: Arc<str>,
    transport: Transport,
    phase: AtomicU8,
    epoch: Instant,
    delivered: AtomicU64,
    notify: Notify,
    receivers: AtomicUsize,
    setup: Semaphore,
    connect_timeout: Duration,
}

impl Ctx {
    fn measuring(&self) -> bool {
        self.phase.load(Ordering::Relaxed) == MEASURE
    }
}

struct Tally {
    hist: Histogram<u64>,
    count: u64,
    errors: u64,
    lost: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            hist: stats::histogram(),
            count: 0,
            errors: 0,
            lost: 0,
        }
    }

    fn record(&mut self, ctx: &Ctx, took: Duration) {
        if ctx.measuring() {
            stats::record(&mut self.hist, took.as_micros() as u64);
            self.count += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Echo,
    Receiver,
    Emitter,
    Connect,
    Idle,
}

/// Runs `spec` against the Socket.IO server at `authority` (`host:port`),
/// calling `mark` at the start and end of the measured window.
pub async fn run_point(spec: &PointSpec, authority: &str, mark: &mut dyn FnMut(Mark)) -> Measured {
    let ctx = Arc::new(Ctx {
        authority: Arc::from(authority),
        transport: spec.transport,
        phase: AtomicU8::new(SETUP),
        epoch: Instant::now(),
        delivered: AtomicU64::new(0),
        notify: Notify::new(),
        receivers: AtomicUsize::new(0),
        setup: Semaphore::new(SETUP_CONCURRENCY),
        connect_timeout: spec.connect_timeout,
    });
    let (phase_tx, phase_rx) = watch::channel(SETUP);
    let mut roles: Vec<Role> = match spec.scenario {
        Scenario::Echo => vec![Role::Echo; spec.clients],
        Scenario::Broadcast => vec![Role::Receiver; spec.clients],
        Scenario::Connect => vec![Role::Connect; spec.clients],
        Scenario::Idle => vec![Role::Idle; spec.clients],
    };
    if spec.scenario == Scenario::Broadcast {
        roles.push(Role::Emitter);
    }
    let (ready_tx, mut ready_rx) = mpsc::channel::<(Role, bool)>(roles.len());
    let mut tasks = tokio::task::JoinSet::new();
    for &role in &roles {
        let ctx = ctx.clone();
        let phase = phase_rx.clone();
        let ready = ready_tx.clone();
        tasks.spawn(client(ctx, role, phase, ready));
    }
    drop(ready_tx);
    let mut connected = 0usize;
    let mut receivers = 0usize;
    let mut emitter_ok = spec.scenario != Scenario::Broadcast;
    let deadline = tokio::time::Instant::now() + spec.connect_timeout;
    for _ in 0..roles.len() {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some((role, ok))) => {
                if ok {
                    match role {
                        Role::Emitter => emitter_ok = true,
                        Role::Receiver => {
                            receivers += 1;
                            connected += 1;
                        }
                        _ => connected += 1,
                    }
                }
            }
            _ => break,
        }
    }
    ctx.receivers.store(receivers, Ordering::SeqCst);
    let window = if emitter_ok && (connected > 0 || spec.clients == 0) {
        ctx.phase.store(WARMUP, Ordering::SeqCst);
        let _ = phase_tx.send(WARMUP);
        tokio::time::sleep(spec.warmup).await;
        ctx.phase.store(MEASURE, Ordering::SeqCst);
        let _ = phase_tx.send(MEASURE);
        let started = Instant::now();
        mark(Mark::Start);
        tokio::time::sleep(spec.duration).await;
        let window = started.elapsed();
        mark(Mark::End);
        window
    } else {
        Duration::ZERO
    };
    ctx.phase.store(STOP, Ordering::SeqCst);
    let _ = phase_tx.send(STOP);
    let mut hist = stats::histogram();
    let mut count = 0u64;
    let mut errors = 0u64;
    let mut lost = 0u64;
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(t) => {
                    let _ = hist.add(&t.hist);
                    count += t.count;
                    errors += t.errors;
                    lost += t.lost;
                }
                Err(_) => errors += 1,
            }
        }
    })
    .await;
    if drained.is_err() {
        errors += tasks.len() as u64;
        tasks.abort_all();
    }
    let throughput = if window.is_zero() {
        0.0
    } else {
        count as f64 / window.as_secs_f64()
    };
    Measured {
        connected,
        throughput,
        latency: Latency::of(&hist),
        errors,
        lost,
    }
}

async fn stopped(phase: &mut watch::Receiver<u8>) {
    // An error means the coordinator is gone: stop as well.
    let _ = phase.wait_for(|p| *p >= STOP).await;
}

/// A connection to `/`, or `None` when it failed within the time limit.
async fn connected(ctx: &Ctx) -> Option<Conn> {
    let mut conn = Conn::start(ctx.authority.clone(), ctx.transport);
    let ok = tokio::time::timeout(ctx.connect_timeout, async {
        loop {
            match conn.next_event().await? {
                ClientEvent::Connected { namespace, .. } if namespace == "/" => return Some(()),
                ClientEvent::ConnectError { .. } | ClientEvent::Closed { .. } => return None,
                _ => {}
            }
        }
    })
    .await;
    matches!(ok, Ok(Some(()))).then_some(conn)
}

/// Drives `conn` until the run leaves set-up: `Err` if it closed
/// meanwhile, else the first event of the run if one came before this task
/// saw the phase change (a broadcast may reach a receiver first).
async fn until_go(
    ctx: &Ctx,
    conn: &mut Conn,
    phase: &mut watch::Receiver<u8>,
) -> Result<Option<ClientEvent>, ()> {
    loop {
        tokio::select! {
            ev = conn.next_event() => {
                if is_end(&ev) {
                    return Err(());
                }
                if ctx.phase.load(Ordering::SeqCst) >= WARMUP {
                    return Ok(ev);
                }
            }
            r = phase.wait_for(|p| *p >= WARMUP) => return r.map(|_| None).map_err(|_| ()),
        }
    }
}

async fn client(
    ctx: Arc<Ctx>,
    role: Role,
    mut phase: watch::Receiver<u8>,
    ready: mpsc::Sender<(Role, bool)>,
) -> Tally {
    let mut tally = Tally::new();
    if role == Role::Connect {
        let _ = ready.send((role, true)).await;
        drop(ready);
        connect_storm(&ctx, &mut phase, &mut tally).await;
        return tally;
    }
    let conn = {
        let _permit = ctx.setup.acquire().await;
        connected(&ctx).await
    };
    let _ = ready.send((role, conn.is_some())).await;
    drop(ready);
    let Some(mut conn) = conn else {
        tally.errors += 1;
        return tally;
    };
    let Ok(first) = until_go(&ctx, &mut conn, &mut phase).await else {
        tally.errors += 1;
        return tally;
    };
    let lost = match role {
        Role::Echo => echo(&ctx, &mut conn, &mut phase, &mut tally).await,
        Role::Receiver => receive(&ctx, &mut conn, &mut phase, &mut tally, first).await,
        Role::Emitter => emit(&ctx, &mut conn, &mut phase).await,
        // Connect-storm clients returned above; they hold no connection.
        Role::Idle | Role::Connect => idle(&mut conn, &mut phase).await,
    };
    if lost {
        tally.errors += 1;
    }
    tally
}

fn is_end(ev: &Option<ClientEvent>) -> bool {
    matches!(ev, None | Some(ClientEvent::Closed { .. }))
}

/// Closed-loop echo: one `message-with-ack` outstanding per client.
/// Returns whether the connection was lost before the end.
async fn echo(
    ctx: &Ctx,
    conn: &mut Conn,
    phase: &mut watch::Receiver<u8>,
    tally: &mut Tally,
) -> bool {
    let data = Value::Array(vec![
        Value::String("message-with-ack".to_owned()),
        Value::String(PAYLOAD.to_owned()),
    ]);
    let mut sent = Instant::now();
    if conn.sio().emit_with_ack(sent, "/", &data, None).is_err() {
        return true;
    }
    loop {
        tokio::select! {
            ev = conn.next_event() => {
                if is_end(&ev) {
                    return true;
                }
                if let Some(ClientEvent::Ack { .. }) = ev {
                    let now = Instant::now();
                    tally.record(ctx, now - sent);
                    sent = now;
                    if conn.sio().emit_with_ack(now, "/", &data, None).is_err() {
                        return true;
                    }
                }
            }
            () = stopped(phase) => return false,
        }
    }
}

/// The emit time (nanoseconds since the run's epoch) and the sequence
/// number a `broadcast-message` carries.
fn stamp_of(json: &str) -> Option<(u64, u64)> {
    let rest = json.strip_prefix("[\"broadcast-message\",")?;
    let (t, seq) = rest.strip_suffix(']')?.split_once(',')?;
    Some((t.trim().parse().ok()?, seq.trim().parse().ok()?))
}

async fn receive(
    ctx: &Ctx,
    conn: &mut Conn,
    phase: &mut watch::Receiver<u8>,
    tally: &mut Tally,
    first: Option<ClientEvent>,
) -> bool {
    // One connection delivers in order, so a gap is a message the server dropped.
    let mut next_seq = 0u64;
    let mut on_event = |ev: ClientEvent, tally: &mut Tally| {
        if let ClientEvent::Event { data, .. } = ev {
            if let Some((sent, seq)) = data.json().and_then(stamp_of) {
                tally.lost += seq.saturating_sub(next_seq);
                next_seq = next_seq.max(seq + 1);
                let now = ctx.epoch.elapsed().as_nanos() as u64;
                tally.record(ctx, Duration::from_nanos(now.saturating_sub(sent)));
                ctx.delivered.fetch_add(1, Ordering::Relaxed);
                ctx.notify.notify_one();
            }
        }
    };
    if let Some(ev) = first {
        on_event(ev, tally);
    }
    loop {
        tokio::select! {
            ev = conn.next_event() => match ev {
                Some(ev) if !matches!(ev, ClientEvent::Closed { .. }) => on_event(ev, tally),
                _ => return true,
            },
            () = stopped(phase) => return false,
        }
    }
}

/// The broadcast emitter: keeps about [`BROADCAST_IN_FLIGHT`] deliveries
/// outstanding, each broadcast stamped with its emit time.
async fn emit(ctx: &Ctx, conn: &mut Conn, phase: &mut watch::Receiver<u8>) -> bool {
    let receivers = ctx.receivers.load(Ordering::SeqCst).max(1) as u64;
    let window = (BROADCAST_IN_FLIGHT as u64 / receivers).max(4);
    let mut sent = 0u64;
    loop {
        while sent < ctx.delivered.load(Ordering::Relaxed) / receivers + window {
            let t = ctx.epoch.elapsed().as_nanos();
            let json = format!("[\"broadcast\",{t},{sent}]");
            if conn
                .sio()
                .emit_raw(Instant::now(), "/", &json, Vec::new())
                .is_err()
            {
                return true;
            }
            sent += 1;
        }
        tokio::select! {
            ev = conn.next_event() => if is_end(&ev) {
                return true;
            },
            () = ctx.notify.notified() => {}
            () = stopped(phase) => return false,
        }
    }
}

async fn idle(conn: &mut Conn, phase: &mut watch::Receiver<u8>) -> bool {
    loop {
        tokio::select! {
            ev = conn.next_event() => if is_end(&ev) {
                return true;
            },
            () = stopped(phase) => return false,
        }
    }
}

/// Connect, wait for the CONNECT reply on `/`, drop, again.
async fn connect_storm(ctx: &Ctx, phase: &mut watch::Receiver<u8>, tally: &mut Tally) {
    if phase.wait_for(|p| *p >= WARMUP).await.is_err() {
        return;
    }
    loop {
        let started = Instant::now();
        tokio::select! {
            conn = connected(ctx) => match conn {
                Some(_) => tally.record(ctx, started.elapsed()),
                None => {
                    if ctx.phase.load(Ordering::Relaxed) < STOP {
                        tally.errors += 1;
                    }
                }
            },
            () = stopped(phase) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stamp_of;

    #[test]
    fn reads_the_broadcast_stamp() {
        assert_eq!(
            stamp_of(r#"["broadcast-message",12345,7]"#),
            Some((12345, 7))
        );
        assert_eq!(stamp_of(r#"["other",1,2]"#), None);
        assert_eq!(stamp_of(r#"["broadcast-message","x",1]"#), None);
        assert_eq!(stamp_of(r#"["broadcast-message",1]"#), None);
    }
}
