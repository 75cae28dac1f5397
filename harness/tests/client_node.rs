//! Client mode against the official Node client (socket.io-client 4.8.4,
//! harness/peers/node/client-driver.mjs): the whole client catalogue is OK;
//! each deliberately broken driver (SIOSPEC_BREAK=FAMILY,
//! peers/node/broken/client.mjs) makes exactly the cases of its rule fail;
//! a client command that crashes or hangs is not OK (FAILED on a MUST),
//! never ERROR, within bounded time, and leaves no process behind.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use siospec::case::client::Client;
use siospec::case::Verdict;
use siospec::peer::Peer;
use siospec::runner::{CaseResult, Options, Quiet, Run, Selection};
use siospec::target::Target;

/// One run at a time: each case starts a Node process, and the scripted
/// server's 200 ms pingTimeout is not met by clients starved of CPU on a
/// two-core machine, which would make the exact sets below flaky.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the client catalogue against `client`.
async fn run(client: Client) -> Vec<CaseResult> {
    let _alone = ONE_RUN_AT_A_TIME.lock().await;
    let catalogue = siospec::client_cases::all();
    let run = Run {
        target: Target::Client(client),
        selection: Selection::default(),
        options: Options {
            jobs: 4,
            ..Options::default()
        },
        baseline: None,
    };
    let cases = run.cases(&catalogue).expect("cases selected");
    let outcome = run.execute(&cases, &mut Quiet).await.expect("the run runs");
    assert_eq!(outcome.results.len(), catalogue.len(), "every case ran");
    outcome.results
}

fn node(family: Option<&str>) -> Client {
    Peer::named("node")
        .and_then(|p| p.client(family))
        .expect("the Node peer has a client driver, installed (npm ci in harness/peers/node)")
}

fn not_ok(results: &[CaseResult]) -> BTreeMap<String, (Verdict, String)> {
    results
        .iter()
        .filter(|r| r.verdict != Verdict::Ok)
        .map(|r| {
            (
                r.id.clone(),
                (r.verdict, siospec::report::actual_of(r).to_owned()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_passes_every_case() {
    let results = run(node(None)).await;
    assert!(
        not_ok(&results).is_empty(),
        "the official client is not OK on: {:#?}",
        not_ok(&results)
    );
}

/// The broken families and the exact cases each makes fail, each with the
/// verdict of its level (FAILED for a MUST, NON-STRICT for a SHOULD).
const FAMILIES: &[(&str, &[&str])] = &[
    ("upgrade", &["client.eio4.handshake.no-upgrade-offered"]),
    ("unknown-fields", &["client.eio4.handshake.unknown-fields"]),
    // A client that does not answer PINGs loses its session at pingTimeout,
    // also while it waits for the CONNECT reply, and on polling after a
    // refused WebSocket (that case watches the session through heartbeats).
    // The cases not about the heartbeat give it 2 s (verify::client::relaxed).
    (
        "heartbeat",
        &[
            "client.eio4.heartbeat.pong",
            "client.eio4.heartbeat.ping-before-connect",
            "client.eio4.upgrade.refused",
        ],
    ),
    // The scripted server keeps a client PING from its machine (which, as
    // Node's server, would end the session): only the case about it fails.
    ("ping", &["client.eio4.heartbeat.no-ping"]),
    // Every case with a polling payload of several messages.
    (
        "payload",
        &[
            "client.eio4.polling.batched",
            "client.eio4.polling.single-get",
            "client.eio4.polling.single-post",
            "client.eio4.handshake.max-payload",
            "client.eio4.malformed.oversized-payload",
        ],
    ),
    // The binary it echoes over polling is the base64 text it was given.
    (
        "base64",
        &[
            "client.eio4.polling.binary",
            "client.eio4.polling.binary-post",
        ],
    ),
    // Polling not paused loses what the server sends while the UPGRADE is
    // on its way.
    (
        "pause",
        &["client.eio4.upgrade.probe", "client.eio4.upgrade.lossless"],
    ),
    (
        "upgrade-error",
        &[
            "client.eio4.upgrade.refused",
            "client.eio4.upgrade.probe-mismatch",
        ],
    ),
    (
        "auth",
        &["client.sio5.connect.auth", "client.sio5.reconnect.auth"],
    ),
    ("connect-error", &["client.sio5.connect.connect-error"]),
    // `/chat` on a connection of its own is not the one that drops.
    (
        "multiplex",
        &[
            "client.sio5.connect.multiplexed",
            "client.sio5.reconnect.namespaces",
        ],
    ),
    // Reordered arguments show in the binary echoes too.
    (
        "echo",
        &[
            "client.sio5.event.echo",
            "client.sio5.event.binary",
            "client.eio4.polling.binary-post",
        ],
    ),
    (
        "binary",
        &[
            "client.sio5.event.binary",
            "client.eio4.polling.binary-post",
        ],
    ),
    ("ack", &["client.sio5.event.server-ack"]),
    ("own-ack", &["client.sio5.event.client-ack"]),
    ("disconnect", &["client.sio5.disconnect.server-disconnect"]),
    ("leave", &["client.sio5.disconnect.client-disconnect"]),
    (
        "malformed",
        &[
            "client.eio4.malformed.unknown-type",
            "client.eio4.malformed.invalid-base64",
            "client.eio4.malformed.non-numeric-type",
            "client.eio4.malformed.close-websocket",
            "client.eio4.malformed.empty-frame",
            "client.eio4.malformed.second-open",
            "client.eio4.malformed.oversized-payload",
            "client.sio5.malformed.invalid-json",
        ],
    ),
    ("max-payload", &["client.eio4.handshake.max-payload"]),
    (
        "ping-timeout",
        &[
            "client.eio4.heartbeat.silent-server",
            "client.eio4.heartbeat.silent-server-polling",
        ],
    ),
    ("base64-post", &["client.eio4.polling.binary-post"]),
    ("overlap-get", &["client.eio4.polling.single-get"]),
    ("overlap-post", &["client.eio4.polling.single-post"]),
    ("noop", &["client.eio4.polling.noop"]),
    // Polling on after the close packet, it never reconnects either.
    (
        "poll-after-close",
        &[
            "client.eio4.polling.close",
            "client.sio5.reconnect.after-close-packet",
        ],
    ),
    ("upgrade-loss", &["client.eio4.upgrade.lossless"]),
    ("upgrade-dup", &["client.eio4.upgrade.lossless"]),
    (
        "probe",
        &[
            "client.eio4.upgrade.probe-unanswered",
            "client.eio4.upgrade.probe-mismatch",
        ],
    ),
    ("backoff", &["client.sio5.reconnect.backoff"]),
    ("namespaces", &["client.sio5.reconnect.namespaces"]),
    (
        "connect-error-retry",
        &["client.sio5.reconnect.connect-error"],
    ),
    ("attempts", &["client.sio5.reconnect.attempt-reset"]),
    ("auth-once", &["client.sio5.reconnect.auth"]),
    ("close-final", &["client.sio5.reconnect.after-close-packet"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_driver_fails_exactly_its_cases() {
    let mut wrong = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    let catalogue = siospec::client_cases::all();
    for (family, want) in FAMILIES {
        let got = not_ok(&run(node(Some(family))).await);
        let want: BTreeMap<String, Verdict> = want
            .iter()
            .map(|id| {
                let case = catalogue
                    .iter()
                    .find(|c| c.id == *id)
                    .unwrap_or_else(|| panic!("{id} is in the client catalogue"));
                (id.to_string(), case.otherwise())
            })
            .collect();
        covered.extend(want.keys().cloned());
        let got_verdicts: BTreeMap<String, Verdict> =
            got.iter().map(|(id, (v, _))| (id.clone(), *v)).collect();
        if got_verdicts != want {
            wrong.push(format!("{family}: expected {want:?}, got {got:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every case but the first request's is shown to fail against a client
    // that breaks its rule (a client sending another EIO gets no session
    // from the scripted server at all, so it fails every case).
    let uncovered: Vec<String> = catalogue
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert_eq!(uncovered, ["client.eio4.handshake.query"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_or_hanging_client_fails_in_bounded_time() {
    // A duration no other process on the machine sleeps for (another
    // siospec run's test may be hanging its own `sleep` at the same time).
    let forever = format!("{}", 1_000_000 + std::process::id());
    let hang = format!("sleep {forever}");
    // A hanging client holds each case for its first wait, about 8 s (the
    // time a client is given to connect), four cases at a time.
    let rounds = siospec::client_cases::all().len().div_ceil(4) as u64;
    for (command, bound) in [("false", 30), (hang.as_str(), rounds * 8 + 30)] {
        let start = Instant::now();
        let results = run(Client::exec("broken", command)).await;
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(bound),
            "`{command}` took {took:?}"
        );
        let catalogue = siospec::client_cases::all();
        for r in &results {
            let case = catalogue
                .iter()
                .find(|c| c.id == r.id)
                .expect("a client case");
            // Not OK, at the verdict of its level: FAILED for a MUST,
            // NON-STRICT for a SHOULD.
            assert_eq!(
                r.verdict,
                case.otherwise(),
                "`{command}`: {} was {} ({})",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            );
        }
    }
    // `sh -c "sleep N"`'s sleep, a grandchild, goes with its group. The
    // group is killed as each case ends and a killed process takes a moment
    // to leave /proc, so this waits for it, with a margin.
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes(&["sleep", &forever]) > 0 {
        assert!(
            Instant::now() < deadline,
            "a `{hang}` outlived its case by 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Processes whose command line is exactly `args` (from /proc).
fn processes(args: &[&str]) -> usize {
    let want: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| *c == want)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_client_has_its_stderr_attached() {
    let client = Client::exec("noisy", "echo 'driver: something broke' >&2; exit 3");
    let results = run(client).await;
    let r = &results[0];
    assert_eq!(r.verdict, Verdict::Failed);
    assert!(
        r.behaviour.actual.contains("driver: something broke"),
        "{}",
        r.behaviour.actual
    );
}
