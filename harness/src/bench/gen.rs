//! The load generator: N clients playing one scenario against one server
//! for a warm-up and a measured window.
//!
//! Over WebSocket the clients are [`Lean`] (the codec's decoders without
//! the client machine); over long-polling they are the full [`Conn`]. They
//! are tasks of the multi-threaded runtime (one single-threaded runtime per
//! core, each client pinned to one, measured no cheaper per operation).
//!
//! Latencies go into one HDR histogram per client, merged at the end, so
//! recording never contends on a lock.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::{IpAddr, Ipv4Addr};

use hdrhistogram::Histogram;
use siospec_codec::session::socket::ClientEvent;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::{AckId, Json, PacketType};
use tokio::sync::{mpsc, watch, Notify, Semaphore};

use super::conn::{Conn, Transport};
use super::lean::{self, Incoming, Lean};
use super::stats::{self, Latency, Scenario};
use crate::tls::Origin;

const SETUP: u8 = 0;
const WARMUP: u8 = 1;
const MEASURE: u8 = 2;
const STOP: u8 = 3;

/// The echo payload: a short chat-sized string.
macro_rules! echo_payload {
    () => {
        "siospec load generator, echo payload of 64 bytes..............."
    };
}
const PAYLOAD: &str = echo_payload!();
/// The echo's arguments as JSON: the event name and the payload.
const ECHO_ARGS: &str = concat!("[\"message-with-ack\",\"", echo_payload!(), "\"]");

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

/// Clients sharing one source address (well under the ~28,000 ephemeral
/// ports Linux gives each).
const CLIENTS_PER_SOURCE: usize = 1_000;

/// The source address of the `index`th client of a scale run, in blocks of
/// [`CLIENTS_PER_SOURCE`] from 127.0.1.1 on.
fn source_address(index: usize) -> IpAddr {
    let block = index / CLIENTS_PER_SOURCE;
    let third = 1 + block / 254;
    let fourth = 1 + block % 254;
    IpAddr::V4(Ipv4Addr::new(127, 0, third.min(255) as u8, fourth as u8))
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
    origin: Arc<Origin>,
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

/// Runs `spec` against the Socket.IO server at `origin`, calling `mark` at
/// the start and end of the measured window.
pub async fn run_point(spec: &PointSpec, origin: &Origin, mark: &mut dyn FnMut(Mark)) -> Measured {
    let ctx = Arc::new(Ctx {
        origin: Arc::new(origin.clone()),
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

/// What a client received that a scenario counts.
enum Got {
    /// The ack of the echo outstanding.
    Ack,
    /// A `broadcast-message`: its emit time (ns since the run's epoch) and sequence number.
    Broadcast(u64, u64),
    /// Anything else the client let through.
    Other,
}

/// A generator client: lean over WebSocket, the full machine over polling.
enum Client {
    Lean {
        lean: Box<Lean>,
        /// The ack id of the echo outstanding, if any.
        waiting: Option<u64>,
        next_ack_id: u64,
    },
    Full(Box<Conn>),
}

impl Client {
    /// Connects a client to `/`; `None` when it failed within the time limit.
    async fn connect(ctx: &Ctx) -> Option<Client> {
        let attempt = async {
            match ctx.transport {
                Transport::WebSocket => {
                    let lean = Lean::connect(&ctx.origin, None).await.ok()?;
                    Some(Client::Lean {
                        lean: Box::new(lean),
                        waiting: None,
                        next_ack_id: 0,
                    })
                }
                Transport::Polling => {
                    let mut conn = Conn::start(ctx.origin.clone(), ctx.transport);
                    loop {
                        match conn.next_event().await? {
                            ClientEvent::Connected { namespace, .. } if namespace == "/" => {
                                return Some(Client::Full(Box::new(conn)))
                            }
                            ClientEvent::ConnectError { .. } | ClientEvent::Closed { .. } => {
                                return None
                            }
                            _ => {}
                        }
                    }
                }
            }
        };
        tokio::time::timeout(ctx.connect_timeout, attempt)
            .await
            .ok()
            .flatten()
    }

    /// Emits `message-with-ack` with the echo's arguments.
    async fn emit_echo(&mut self, now: Instant, echo: &Echo) -> Result<(), ()> {
        match self {
            Client::Lean {
                lean,
                waiting,
                next_ack_id,
            } => {
                let id = *next_ack_id;
                *next_ack_id += 1;
                *waiting = Some(id);
                let frame = lean::event_frame(echo.args, Some(id));
                lean.send(frame).await.map_err(|_| ())
            }
            Client::Full(conn) => conn
                .sio()
                .emit_with_ack(now, "/", &echo.data, None)
                .map(|_| ())
                .map_err(|_| ()),
        }
    }

    /// Queues `broadcast` with these JSON arguments (the event name first);
    /// [`Client::flush`] sends what is queued.
    async fn emit_broadcast(&mut self, args: &str) -> Result<(), ()> {
        match self {
            Client::Lean { lean, .. } => {
                let frame = lean::event_frame(Json::parse(args).map_err(|_| ())?, None);
                lean.feed(frame).await.map_err(|_| ())
            }
            Client::Full(conn) => conn
                .sio()
                .emit_raw(Instant::now(), "/", args, Vec::new())
                .map(|_| ())
                .map_err(|_| ()),
        }
    }

    /// Sends what was queued (the full client sends as it goes).
    async fn flush(&mut self) -> Result<(), ()> {
        match self {
            Client::Lean { lean, .. } => lean.flush().await.map_err(|_| ()),
            Client::Full(_) => Ok(()),
        }
    }

    /// The next thing received; `Err` once the connection is lost or the
    /// server sent what the scenario cannot read. Cancel-safe.
    async fn next(&mut self) -> Result<Got, ()> {
        match self {
            Client::Lean { lean, waiting, .. } => lean
                .next_packet(|incoming| match incoming {
                    Incoming::Packet(p)
                        if p.kind == PacketType::Ack
                            && waiting.is_some()
                            && p.ack_id == waiting.map(AckId::Exact) =>
                    {
                        *waiting = None;
                        Got::Ack
                    }
                    Incoming::Packet(p) if p.kind == PacketType::Event => p
                        .payload
                        .and_then(|json| stamp_of(json.as_str()))
                        .map_or(Got::Other, |(t, seq)| Got::Broadcast(t, seq)),
                    _ => Got::Other,
                })
                .await
                .map_err(|_| ()),
            Client::Full(conn) => match conn.next_event().await {
                None | Some(ClientEvent::Closed { .. }) => Err(()),
                Some(ClientEvent::Ack { .. }) => Ok(Got::Ack),
                Some(ClientEvent::Event { data, .. }) => Ok(data
                    .json()
                    .and_then(stamp_of)
                    .map_or(Got::Other, |(t, seq)| Got::Broadcast(t, seq))),
                Some(_) => Ok(Got::Other),
            },
        }
    }
}

/// Drives `client` until the run leaves set-up: `Err` if it closed
/// meanwhile, else the first thing of the run if one came before this task
/// saw the phase change (a broadcast may reach a receiver first).
async fn until_go(
    ctx: &Ctx,
    client: &mut Client,
    phase: &mut watch::Receiver<u8>,
) -> Result<Option<Got>, ()> {
    loop {
        tokio::select! {
            got = client.next() => {
                let got = got?;
                if ctx.phase.load(Ordering::SeqCst) >= WARMUP {
                    return Ok(Some(got));
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
    let client = {
        let _permit = ctx.setup.acquire().await;
        Client::connect(&ctx).await
    };
    let _ = ready.send((role, client.is_some())).await;
    drop(ready);
    let Some(mut client) = client else {
        tally.errors += 1;
        return tally;
    };
    let Ok(first) = until_go(&ctx, &mut client, &mut phase).await else {
        tally.errors += 1;
        return tally;
    };
    let lost = match role {
        Role::Echo => echo(&ctx, &mut client, &mut phase, &mut tally).await,
        Role::Receiver => receive(&ctx, &mut client, &mut phase, &mut tally, first).await,
        Role::Emitter => emit(&ctx, &mut client, &mut phase).await,
        // Connect-storm clients returned above; they hold no connection.
        Role::Idle | Role::Connect => idle(&mut client, &mut phase).await,
    };
    if lost {
        tally.errors += 1;
    }
    tally
}

/// The echo's arguments, in the lean client's form (JSON) and the full
/// client's (a value).
struct Echo {
    args: Json<'static>,
    data: Value,
}

impl Echo {
    fn new() -> Option<Echo> {
        Some(Echo {
            args: Json::parse(ECHO_ARGS).ok()?,
            data: Value::Array(vec![
                Value::String("message-with-ack".to_owned()),
                Value::String(PAYLOAD.to_owned()),
            ]),
        })
    }
}

/// Closed-loop echo: one `message-with-ack` outstanding per client.
/// Returns whether the connection was lost before the end.
async fn echo(
    ctx: &Ctx,
    client: &mut Client,
    phase: &mut watch::Receiver<u8>,
    tally: &mut Tally,
) -> bool {
    let Some(payload) = Echo::new() else {
        return true;
    };
    let mut sent = Instant::now();
    if client.emit_echo(sent, &payload).await.is_err() {
        return true;
    }
    loop {
        tokio::select! {
            got = client.next() => match got {
                Err(()) => return true,
                Ok(Got::Ack) => {
                    let now = Instant::now();
                    tally.record(ctx, now - sent);
                    sent = now;
                    if client.emit_echo(now, &payload).await.is_err() {
                        return true;
                    }
                }
                Ok(_) => {}
            },
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
    client: &mut Client,
    phase: &mut watch::Receiver<u8>,
    tally: &mut Tally,
    first: Option<Got>,
) -> bool {
    // One connection delivers in order, so a gap is a message the server dropped.
    let mut next_seq = 0u64;
    let mut on_got = |got: Got, tally: &mut Tally| {
        if let Got::Broadcast(sent, seq) = got {
            tally.lost += seq.saturating_sub(next_seq);
            next_seq = next_seq.max(seq + 1);
            let now = ctx.epoch.elapsed().as_nanos() as u64;
            tally.record(ctx, Duration::from_nanos(now.saturating_sub(sent)));
            let delivered = ctx.delivered.fetch_add(1, Ordering::Relaxed) + 1;
            // The emitter's window moves once per broadcast delivered to
            // every receiver: waking it on every delivery would cost a
            // cross-thread wake-up per message for nothing.
            let receivers = ctx.receivers.load(Ordering::Relaxed).max(1) as u64;
            if delivered.is_multiple_of(receivers) {
                ctx.notify.notify_one();
            }
        }
    };
    if let Some(got) = first {
        on_got(got, tally);
    }
    loop {
        tokio::select! {
            got = client.next() => match got {
                Ok(got) => on_got(got, tally),
                Err(()) => return true,
            },
            () = stopped(phase) => return false,
        }
    }
}

/// The broadcast emitter: keeps about [`BROADCAST_IN_FLIGHT`] deliveries
/// outstanding, each broadcast stamped with its emit time; the broadcasts
/// due together go out in one write.
async fn emit(ctx: &Ctx, client: &mut Client, phase: &mut watch::Receiver<u8>) -> bool {
    let receivers = ctx.receivers.load(Ordering::SeqCst).max(1) as u64;
    let window = (BROADCAST_IN_FLIGHT as u64 / receivers).max(4);
    let mut sent = 0u64;
    loop {
        let due = ctx.delivered.load(Ordering::Relaxed) / receivers + window;
        if sent < due {
            while sent < due {
                let t = ctx.epoch.elapsed().as_nanos();
                if client
                    .emit_broadcast(&format!("[\"broadcast\",{t},{sent}]"))
                    .await
                    .is_err()
                {
                    return true;
                }
                sent += 1;
            }
            if client.flush().await.is_err() {
                return true;
            }
        }
        tokio::select! {
            got = client.next() => if got.is_err() {
                return true;
            },
            () = ctx.notify.notified() => {}
            () = stopped(phase) => return false,
        }
    }
}

async fn idle(client: &mut Client, phase: &mut watch::Receiver<u8>) -> bool {
    loop {
        tokio::select! {
            got = client.next() => if got.is_err() {
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
            client = Client::connect(ctx) => match client {
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

/// Connects `clients` lean clients to `authority` from spread source
/// addresses (the `first_source`th on), calls `ready` with how many
/// connected and how many failed, then keeps them (answering pings) until
/// `stop` completes. A generator worker process's whole job.
pub(crate) async fn hold(
    authority: &str,
    clients: usize,
    first_source: usize,
    connect_timeout: Duration,
    ready: impl FnOnce(usize, usize),
    stop: impl std::future::Future<Output = ()>,
) {
    let (done_tx, mut done_rx) = mpsc::channel::<bool>(clients.max(1));
    let (stop_tx, stop_rx) = watch::channel(false);
    let setup = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let origin = Arc::new(Origin::plain(authority));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..clients {
        let (done, mut stop, setup, origin) = (
            done_tx.clone(),
            stop_rx.clone(),
            setup.clone(),
            origin.clone(),
        );
        let task = async move {
            let lean = {
                let _permit = setup.acquire().await;
                let source = Some(source_address(first_source + index));
                tokio::time::timeout(connect_timeout, Lean::connect(&origin, source))
                    .await
                    .ok()
                    .and_then(Result::ok)
            };
            let _ = done.send(lean.is_some()).await;
            drop(done);
            let Some(mut lean) = lean else { return };
            loop {
                tokio::select! {
                    next = lean.next_packet(|_| ()) => if next.is_err() {
                        return;
                    },
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        };
        tasks.spawn(task);
    }
    drop(done_tx);
    let (mut connected, mut failed) = (0, 0);
    // Every task reports once, then holds its connection (and its sender).
    for _ in 0..clients {
        match done_rx.recv().await {
            Some(true) => connected += 1,
            Some(false) | None => failed += 1,
        }
    }
    ready(connected, failed);
    stop.await;
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
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
