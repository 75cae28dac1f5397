//! Every rule family can fail: each test starts the Node server with one
//! family deliberately broken (harness/peers/node/broken/server.js) and
//! checks that the family's cases report it.

mod common;

use siospec::case::Verdict;
use siospec::target::TargetSpec;

async fn family(name: &str, include: &[&str], exclude: &[&str], want: Verdict, must_fail: &[&str]) {
    let target = TargetSpec::Node {
        dir: common::node_dir(),
        broken: Some(name.to_owned()),
    };
    let (_, results) = common::run(&target, include, exclude, 4).await;
    let caught = common::lines(&results, |v| v == want);
    assert!(
        !caught.is_empty(),
        "breaking `{name}` made no case {want}:\n{}",
        common::lines(&results, |_| true).join("\n")
    );
    for id in must_fail {
        let r = results
            .iter()
            .find(|r| r.id == *id)
            .unwrap_or_else(|| panic!("{id} did not run"));
        assert_eq!(
            r.verdict,
            want,
            "{id} against broken `{name}`: {}",
            siospec::report::actual_of(r)
        );
    }
    let errors = common::lines(&results, |v| v == Verdict::Error);
    assert!(
        errors.is_empty(),
        "harness errors against broken `{name}`:\n{}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake() {
    family(
        "handshake",
        &["eio4.handshake", "eio3.handshake", "sio5.engine.handshake"],
        &[],
        Verdict::Failed,
        &[
            "eio4.handshake.polling.open",
            "eio4.handshake.websocket.open",
            "sio5.engine.handshake.polling.open",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors() {
    family(
        "errors",
        &["eio4.errors", "eio4.handshake.polling.invalid-*"],
        &[],
        Verdict::Failed,
        &[
            "eio4.errors.transport-unknown",
            "eio4.errors.sid-unknown-get",
            "eio4.errors.handshake-post",
            "eio4.errors.forbidden-polling",
            "eio4.handshake.polling.invalid-transport",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo() {
    family(
        "echo",
        &[
            "eio4.polling.message",
            "eio4.websocket.message",
            "eio3.message",
        ],
        &[],
        Verdict::Failed,
        &[
            "eio4.polling.message.text",
            "eio4.websocket.message.text",
            "eio3.message.polling.text",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat() {
    family(
        "heartbeat",
        &["eio4.heartbeat", "eio3.heartbeat", "sio5.engine.heartbeat"],
        &[],
        Verdict::Failed,
        &[
            "eio4.heartbeat.polling.timeout",
            "eio4.heartbeat.websocket.timeout",
            "eio3.heartbeat.websocket.timeout",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close() {
    family(
        "close",
        &["eio4.close", "eio3.session.close", "sio5.engine.close"],
        &[],
        Verdict::Failed,
        &["eio4.close.polling.client", "sio5.engine.close.polling"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade() {
    family(
        "upgrade",
        &[
            "eio4.upgrade",
            "eio3.session.upgrade",
            "sio5.engine.upgrade",
        ],
        &["eio4.upgrade.stalled"],
        Verdict::Failed,
        &["eio4.upgrade.probe", "eio3.session.upgrade.probe"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed() {
    family(
        "malformed",
        &[
            "eio4.malformed",
            "eio4.*.invalid-packet",
            "eio3.message.*invalid-packet",
        ],
        &[],
        Verdict::Failed,
        &[
            "eio4.malformed.polling.unknown-type-7",
            "eio4.malformed.websocket.unknown-type-9",
            "eio4.websocket.message.invalid-packet",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors() {
    // A SHOULD family: the strongest verdict is NON-STRICT (a failure with --strict).
    family(
        "cors",
        &["eio4.cors"],
        &[],
        Verdict::NonStrict,
        &[
            "eio4.cors.handshake",
            "eio4.cors.post",
            "eio4.cors.preflight",
            "eio4.cors.error",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits() {
    family(
        "limits",
        &["eio4.polling.max-payload", "eio4.websocket.max-payload"],
        &[],
        Verdict::Failed,
        &["eio4.websocket.max-payload.over"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eio3() {
    family(
        "eio3",
        &["eio3"],
        &[],
        Verdict::Failed,
        &[
            "eio3.handshake.polling.open",
            "eio3.message.polling.text",
            "eio3.heartbeat.polling.ping-pong",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_connect() {
    family(
        "sio-connect",
        &["sio5.connect"],
        &[],
        Verdict::Failed,
        &["sio5.connect.main", "sio5.connect.custom-with-auth"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_event() {
    family(
        "sio-event",
        &["sio5.message", "sio4.protocol.event"],
        &[],
        Verdict::Failed,
        &[
            "sio5.message.ack",
            "sio5.message.binary-ack",
            "sio4.protocol.event.ack",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_binary() {
    family(
        "sio-binary",
        &["sio5.message"],
        &[],
        Verdict::Failed,
        &[
            "sio5.message.binary-event",
            "sio5.message.attachments-order",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_disconnect() {
    family(
        "sio-disconnect",
        &["sio5.disconnect"],
        &[],
        Verdict::Failed,
        &[
            "sio5.disconnect.server-side-main",
            "sio5.disconnect.server-side-custom",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_rooms() {
    family(
        "sio-rooms",
        &["sio5.rooms"],
        &[],
        Verdict::Failed,
        &["sio5.rooms.to-room-from-member"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_malformed() {
    family(
        "sio-malformed",
        &["sio5.malformed", "sio5.connect.invalid-packet"],
        &[],
        Verdict::Failed,
        &[
            "sio5.malformed.unknown-type",
            "sio5.malformed.payload-object",
            "sio5.malformed.ack-id-letters",
        ],
    )
    .await;
}

/// Isolation: an event before the CONNECT reply is one deviation, so it
/// shows in the one case about that order and nowhere else. Every other
/// case of every suite keeps its verdict against the official server
/// (OK, or the deviation its baseline already accepts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_order_shows_in_its_case_only() {
    let target = TargetSpec::Node {
        dir: common::node_dir(),
        broken: Some("sio-order".to_owned()),
    };
    // Every Socket.IO case but the two that time the server's connectTimeout
    // (on a loaded machine they move for reasons of their own); the
    // engine-level cases never join a namespace.
    let (_, results) = common::run(
        &target,
        &["sio5"],
        &[
            "sio5.engine",
            "sio5.connect.connect-timeout",
            "sio5.connect.no-handshake",
        ],
        4,
    )
    .await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/node.json");
    let baseline = siospec::baseline::Baseline::load(&path).expect("baseline loads");
    let open: Vec<_> = results
        .into_iter()
        .filter(|r| baseline.accepts("node", &r.id, r.verdict).is_none())
        .collect();
    let non_ok = common::lines(&open, |v| v != Verdict::Ok);
    assert_eq!(non_ok.len(), 1, "{}", non_ok.join("\n"));
    assert!(
        non_ok[0].starts_with("sio5.connect.reply-before-events: NON-STRICT"),
        "{}",
        non_ok[0]
    );
}
