//! One rule per case: each test starts the Node server with one rule family
//! deliberately broken (harness/peers/node/broken/server.js), runs the whole
//! catalogue against it and checks the EXACT set of cases that are not OK,
//! with their verdicts, beyond what harness/baselines/node.json already
//! accepts for the unbroken server. A deviation shows in the cases about its
//! rule and nowhere else: outside its rule a case tolerates what the official
//! JS client tolerates.

mod common;

use std::collections::BTreeMap;

use siospec::case::Verdict;
use siospec::case::Verdict::{Failed, Informational, NonStrict, Timeout, Unsupported};
use siospec::peer::Peer;
use siospec::target::Target;
use siospec_codec::session::socket::Parser;

/// Left out of every run but the upgrade family's: it waits the whole
/// upgradeTimeout (10 s) and would double the time of each run.
const SLOW: &str = "eio4.upgrade.stalled";

/// Left out of every run: they time the server's connectTimeout windows,
/// which move on a loaded machine for reasons of their own (several broken
/// servers run at once here). The two engine-level ping-pong cases at
/// /socket.io/ need three heartbeats (over 900 ms) on a session that joins
/// no namespace, inside the peer's 1000 ms connectTimeout: under that load
/// the connectTimeout sometimes ends them first.
const TIMING: &[&str] = &[
    "sio5.connect.connect-timeout",
    "sio5.connect.no-handshake",
    "sio5.engine.heartbeat.polling.ping-pong",
    "sio5.engine.heartbeat.websocket.ping-pong",
];

/// Runs the whole catalogue against the server with `name` broken and
/// checks that the cases not OK (beyond the baseline) are exactly `want`.
async fn exactly(name: &str, want: &[(&str, Verdict)]) {
    exactly_but(name, want, &[]).await
}

/// [`exactly`], with the cases `unsteady` left out of this family's run
/// (timing cases that race a server timer under load; each says why).
async fn exactly_but(name: &str, want: &[(&str, Verdict)], unsteady: &[&str]) {
    // Over TLS, as baselines/node.json describes the unbroken server (the
    // matrix runs it so).
    let target = Target::Peer(
        Peer::named("node")
            .and_then(|p| p.broken(name))
            .and_then(Peer::over_tls)
            .expect("the Node peer has broken variants, and serves TLS"),
    );
    let mut exclude: Vec<&str> = TIMING.iter().chain(unsteady).copied().collect();
    if name != "upgrade" {
        exclude.push(SLOW);
    }
    let (_, results) = common::run(&target, &[], &exclude, 4).await;
    assert_eq!(
        results.len(),
        common::default_parser_cases() - exclude.len(),
        "every case ran"
    );
    let baseline = common::baseline("baselines/node.json");
    let got: BTreeMap<&str, Verdict> = results
        .iter()
        .filter(|r| {
            r.verdict != Verdict::Ok && baseline.accepts("node", &r.id, r.verdict).is_none()
        })
        .map(|r| (r.id.as_str(), r.verdict))
        .collect();
    let listed = want.len();
    let want: BTreeMap<&str, Verdict> = want.iter().copied().collect();
    assert_eq!(want.len(), listed, "an id is listed twice");
    let mut diff = Vec::new();
    for r in &results {
        let id = r.id.as_str();
        match (want.get(id), got.get(id)) {
            (Some(w), Some(g)) if w == g => {}
            (None, None) => {}
            (w, _) => diff.push(format!(
                "{id}: expected {}, got {} — {}",
                w.map_or("OK (or accepted)".to_owned(), |v| v.to_string()),
                r.verdict,
                siospec::report::actual_of(r)
            )),
        }
    }
    for id in want
        .keys()
        .filter(|id| !results.iter().any(|r| r.id == **id))
    {
        diff.push(format!("{id}: expected to run, did not"));
    }
    assert!(
        diff.is_empty(),
        "breaking `{name}`, the cases not OK differ from the expected set:\n{}",
        diff.join("\n")
    );
}

/// [`exactly`] for a family that breaks a rule of the msgpack parser: the
/// sio5 cases in msgpack against the Node server started with its msgpack
/// parser.
async fn exactly_msgpack(name: &str, want: &[(&str, Verdict)]) {
    let target = Target::Peer(
        Peer::named("node")
            .and_then(|p| p.broken(name))
            .expect("the Node peer has broken variants"),
    );
    let (_, results) = common::run_with(&target, &["sio5"], TIMING, 4, Parser::Msgpack).await;
    let baseline = common::baseline("baselines/node.json");
    let got: BTreeMap<&str, Verdict> = results
        .iter()
        .filter(|r| {
            r.verdict != Verdict::Ok
                && r.verdict != Verdict::Skipped
                && baseline.accepts("node-msgpack", &r.id, r.verdict).is_none()
        })
        .map(|r| (r.id.as_str(), r.verdict))
        .collect();
    let want: BTreeMap<&str, Verdict> = want.iter().copied().collect();
    assert_eq!(
        got,
        want,
        "breaking `{name}` with --parser msgpack, the cases not OK differ from the expected set:\n{}",
        common::lines(&results, |v| !matches!(v, Verdict::Ok | Verdict::Skipped)).join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_lenient() {
    // The decoder takes what socket.io-msgpack-parser refuses: only the
    // refusal cases of the msgpack section see it.
    exactly_msgpack(
        "msgpack-lenient",
        &[
            ("sio5.msgpack.text-frame", Failed),
            ("sio5.msgpack.binary-event-type", Failed),
            ("sio5.msgpack.binary-ack-type", Failed),
            ("sio5.msgpack.unknown-type", Failed),
            ("sio5.msgpack.event-not-array", Failed),
            ("sio5.msgpack.connect-not-object", Failed),
            ("sio5.msgpack.fractional-id", Failed),
            ("sio5.msgpack.not-a-map", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_attachments() {
    // Bytes also sent as attachment messages after the packet: the packets
    // themselves are right, so only the case that checks nothing follows
    // them sees it.
    exactly_msgpack(
        "msgpack-attachments",
        &[("sio5.msgpack.binary-inline", Failed)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_ext() {
    exactly_msgpack("msgpack-ext", &[("sio5.msgpack.ext-arraybuffer", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_undefined() {
    exactly_msgpack("msgpack-undefined", &[("sio5.msgpack.undefined", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake() {
    // pingInterval + 1 and no maxPayload in the open packet: only the cases
    // that read the open packet's exact contents (every other case judges
    // against the advertised values).
    exactly(
        "handshake",
        &[
            ("eio4.handshake.polling.open", Failed),
            ("eio4.handshake.websocket.open", Failed),
            ("sio5.engine.handshake.polling.open", Failed),
            ("sio5.engine.handshake.websocket.open", Failed),
            // The advertised values differ from the reference configuration: recorded.
            ("eio4.handshake.reference-config", Informational),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors() {
    // Error answers get status 200. About the rule: every case whose
    // requirement is the refusal itself (eio4.errors, the handshake cases that
    // require 400 for a bad handshake, the cases that require 400 for requests
    // after an upgrade or a close). Elsewhere a gone session is recognised by
    // its `Session ID unknown` body too.
    exactly(
        "errors",
        &[
            ("eio3.handshake.polling.invalid-method", Failed),
            ("eio3.handshake.polling.invalid-transport", Failed),
            ("eio3.session.upgrade.polling-after-upgrade", Failed),
            ("eio4.close.polling.post-after-close", Failed),
            ("eio4.errors.eio-missing", Failed),
            ("eio4.errors.eio-unsupported", Failed),
            ("eio4.errors.eio3-refused", Failed),
            ("eio4.errors.forbidden-polling", Failed),
            // Its precondition (polling forbidden with 403) is the broken rule.
            ("eio4.errors.forbidden-websocket", Unsupported),
            ("eio4.errors.handshake-delete", Failed),
            ("eio4.errors.handshake-post", Failed),
            ("eio4.errors.handshake-put", Failed),
            ("eio4.errors.protocol-mismatch", Failed),
            ("eio4.errors.sid-unknown-get", Failed),
            ("eio4.errors.sid-unknown-post", Failed),
            ("eio4.errors.transport-constructor", Failed),
            ("eio4.errors.transport-mismatch", Failed),
            ("eio4.errors.transport-missing", Failed),
            ("eio4.errors.transport-proto", Failed),
            ("eio4.errors.transport-unknown", Failed),
            ("eio4.errors.transport-webtransport-over-http", Failed),
            ("eio4.errors.websocket-without-upgrade", Failed),
            ("eio4.handshake.polling.invalid-eio", Failed),
            ("eio4.handshake.polling.invalid-method", Failed),
            ("eio4.handshake.polling.invalid-transport", Failed),
            ("eio4.upgrade.polling-after-upgrade", Failed),
            ("eio4.upgrade.post-after-upgrade", Failed),
            ("sio5.engine.handshake.polling.invalid-eio", Failed),
            ("sio5.engine.handshake.polling.invalid-method", Failed),
            ("sio5.engine.handshake.polling.invalid-transport", Failed),
            ("sio5.engine.upgrade.polling-after-upgrade", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo() {
    // Every text message the server sends gets a trailing "!": a broad break,
    // it alters the content of every message, so every case whose rule is the
    // delivery of message content (intact, in order, once, per session) fails.
    // Cases that use the echo only to see a session alive take any message.
    exactly(
        "echo",
        &[
            ("eio3.message.polling.batch", Failed),
            ("eio3.message.polling.binary-base64", Failed),
            ("eio3.message.polling.binary-xhr2", Failed),
            ("eio3.message.polling.text", Failed),
            ("eio3.message.polling.utf16-length", Failed),
            ("eio3.message.websocket.text", Failed),
            ("eio4.polling.buffered-until-get", Failed),
            ("eio4.polling.many-packets-order", Failed),
            ("eio4.polling.max-payload.at-limit", Failed),
            ("eio4.polling.message.batch", Failed),
            ("eio4.polling.message.binary", Failed),
            ("eio4.polling.message.text", Failed),
            ("eio4.polling.sessions-independent", Failed),
            ("eio4.polling.utf8", Failed),
            ("eio4.upgrade.no-message-lost", Failed),
            ("eio4.websocket.large-message", Failed),
            ("eio4.websocket.message.text", Failed),
            ("eio4.websocket.order", Failed),
            ("eio4.websocket.utf8", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat() {
    // At /socket.io/ a session that joins no namespace is also ended by the
    // peer's 1000 ms connectTimeout, which races the ping timeout these two
    // cases wait for (pingInterval + pingTimeout + margin): under load the
    // connectTimeout sometimes closes the session first and they pass.
    let unsteady = [
        "sio5.engine.heartbeat.polling.timeout",
        "sio5.engine.heartbeat.websocket.timeout",
    ];
    exactly_but(
        "heartbeat",
        &[
            ("eio3.heartbeat.polling.timeout", Failed),
            ("eio3.heartbeat.websocket.timeout", Failed),
            ("eio4.heartbeat.polling.timeout", Failed),
            ("eio4.heartbeat.websocket.timeout", Failed),
            // engine.io already ignores `1` over WebSocket (baseline: the
            // session only ends at the heartbeat timeout, NON-STRICT); without
            // the timeout it never ends, which is the close rule's failure.
            ("eio3.session.close.websocket", Failed),
            ("eio4.close.websocket.client", Failed),
        ],
        &unsteady,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close() {
    exactly(
        "close",
        &[
            ("eio3.session.close.polling", NonStrict),
            ("eio4.close.polling.client", Failed),
            ("eio4.close.polling.client-no-get", Failed),
            ("eio4.close.polling.post-after-close", Failed),
            ("sio5.engine.close.polling", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade() {
    exactly(
        "upgrade",
        &[
            ("eio3.session.upgrade.probe", Failed),
            ("eio4.upgrade.probe", Failed),
            // Its GETs are never answered: the case's limit ends it.
            ("eio4.upgrade.noop-every-poll", Timeout),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed() {
    exactly(
        "malformed",
        &[
            ("eio3.message.websocket.invalid-packet", Failed),
            ("eio4.malformed.polling.double-separator", Failed),
            ("eio4.malformed.polling.empty", Failed),
            ("eio4.malformed.polling.leading-separator", Failed),
            ("eio4.malformed.polling.leading-space", Failed),
            ("eio4.malformed.polling.letter-type", Failed),
            ("eio4.malformed.polling.unknown-type-7", Failed),
            ("eio4.malformed.polling.unknown-type-9", Failed),
            ("eio4.malformed.websocket.empty", Failed),
            ("eio4.malformed.websocket.leading-space", Failed),
            ("eio4.malformed.websocket.letter-type", Failed),
            ("eio4.malformed.websocket.unknown-type-7", Failed),
            ("eio4.malformed.websocket.unknown-type-9", Failed),
            ("eio4.polling.message.invalid-packet", Failed),
            ("eio4.websocket.message.invalid-packet", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors() {
    // A SHOULD family: the strongest verdict is NON-STRICT (a failure with --strict).
    exactly(
        "cors",
        &[
            ("eio4.cors.error", NonStrict),
            ("eio4.cors.handshake", NonStrict),
            ("eio4.cors.post", NonStrict),
            ("eio4.cors.preflight", NonStrict),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits() {
    exactly(
        "limits",
        &[
            // The baseline accepts INFORMATIONAL (413, session kept); here
            // the 413 itself is missing.
            ("eio4.polling.max-payload.over", NonStrict),
            ("eio4.websocket.max-payload.over", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eio3() {
    // v3 payload length prefixes off by one: a broad break, every protocol-3
    // polling body (the handshake's first) is undecodable, so every case on a
    // protocol-3 polling session fails at its handshake.
    exactly(
        "eio3",
        &[
            ("eio3.handshake.polling.open", Failed),
            ("eio3.heartbeat.polling.ping-pong", Failed),
            ("eio3.heartbeat.polling.timeout", Failed),
            ("eio3.message.polling.batch", Failed),
            ("eio3.message.polling.binary-base64", Failed),
            ("eio3.message.polling.binary-xhr2", Failed),
            ("eio3.message.polling.duplicate-get", Failed),
            ("eio3.message.polling.invalid-packet", Failed),
            ("eio3.message.polling.length-mismatch", Failed),
            ("eio3.message.polling.text", Failed),
            ("eio3.message.polling.utf16-length", Failed),
            ("eio3.session.close.polling", Failed),
            ("eio3.session.upgrade.polling-after-upgrade", Failed),
            ("eio3.session.upgrade.probe", Failed),
            ("eio3.session.upgrade.second-websocket", Failed),
            ("sio4.protocol.connect.polling", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_connect() {
    exactly(
        "sio-connect",
        &[
            ("sio5.connect.custom", Failed),
            ("sio5.connect.custom-with-auth", Failed),
            ("sio5.connect.main", Failed),
            ("sio5.connect.main-with-auth", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_connect_error() {
    // A string CONNECT_ERROR payload: only the case about its shape. The
    // refusal itself (sio5.connect.invalid-namespace) reads the message from
    // either shape, and protocol 4 clients now get the string they expect.
    exactly(
        "sio-connect-error",
        &[("sio5.connect.connect-error-object", Failed)],
    )
    .await;
}

/// An event before the CONNECT reply is one deviation, so it shows in the
/// one case about that order and nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_order_shows_in_its_case_only() {
    exactly(
        "sio-order",
        &[("sio5.connect.reply-before-events", NonStrict)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_event() {
    exactly(
        "sio-event",
        &[
            ("sio4.protocol.event.ack", Failed),
            ("sio4.protocol.event.binary-ack", Failed),
            ("sio5.message.ack", Failed),
            ("sio5.message.ack-empty", Failed),
            ("sio5.message.ack-large-id", Failed),
            ("sio5.message.binary-ack", Failed),
            ("sio5.rooms.join-ack", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_binary() {
    exactly(
        "sio-binary",
        &[
            ("sio5.message.attachments-order", Failed),
            ("sio5.message.attachments-ten", Failed),
            ("sio5.message.binary-ack", Failed),
            ("sio5.message.binary-event", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_disconnect() {
    exactly(
        "sio-disconnect",
        &[
            ("sio5.disconnect.event-after-disconnect", NonStrict),
            // Leaving and joining again needs the DISCONNECT honoured.
            ("sio5.disconnect.rejoin", Failed),
            ("sio5.disconnect.server-side-custom", Failed),
            ("sio5.disconnect.server-side-main", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_rooms() {
    exactly("sio-rooms", &[("sio5.rooms.to-room-from-member", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_malformed() {
    // Socket.IO decode errors are swallowed: every case about an undecodable
    // packet (the connection must close) fails; attachments-over-limit is one
    // too (the decoder refuses the count, and that refusal is dropped).
    exactly(
        "sio-malformed",
        &[
            ("sio4.protocol.malformed.unknown-type", Failed),
            ("sio5.malformed.ack-id-letters", Failed),
            ("sio5.malformed.attachments-fraction", Failed),
            ("sio5.malformed.attachments-letters", Failed),
            ("sio5.malformed.attachments-missing-dash", Failed),
            ("sio5.malformed.attachments-zero", NonStrict),
            ("sio5.malformed.binary-without-header", Failed),
            ("sio5.malformed.connect-array", Failed),
            ("sio5.malformed.connect-string", Failed),
            ("sio5.malformed.disconnect-payload", Failed),
            ("sio5.malformed.empty-engine-message", NonStrict),
            ("sio5.malformed.event-empty-array", Failed),
            ("sio5.malformed.event-null", Failed),
            ("sio5.malformed.event-null-name", Failed),
            ("sio5.malformed.event-number-true-name", Failed),
            ("sio5.malformed.event-object-name", Failed),
            ("sio5.malformed.event-string", Failed),
            ("sio5.malformed.payload-object", Failed),
            ("sio5.malformed.placeholder-out-of-range", Failed),
            ("sio5.malformed.reserved-connect", NonStrict),
            ("sio5.malformed.reserved-connect-error", NonStrict),
            ("sio5.malformed.reserved-disconnect", NonStrict),
            ("sio5.malformed.reserved-disconnecting", NonStrict),
            ("sio5.malformed.reserved-newlistener", NonStrict),
            ("sio5.malformed.reserved-removelistener", NonStrict),
            ("sio5.malformed.text-while-reassembling", Failed),
            ("sio5.malformed.truncated-json", Failed),
            ("sio5.malformed.type-7", Failed),
            ("sio5.malformed.type-8", Failed),
            ("sio5.malformed.type-9", Failed),
            ("sio5.malformed.unknown-type", Failed),
            ("sio5.message.attachments-over-limit", NonStrict),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_ping() {
    // The first PING at once after the handshake, as socketioxide sends it:
    // only the cases about the first ping's timing, in both suites; every
    // other polling and WebSocket case answers it as the official client does.
    exactly(
        "first-ping",
        &[
            ("eio4.heartbeat.polling.first-ping", NonStrict),
            ("eio4.heartbeat.websocket.first-ping", NonStrict),
            ("sio5.engine.heartbeat.polling.first-ping", NonStrict),
            ("sio5.engine.heartbeat.websocket.first-ping", NonStrict),
        ],
    )
    .await;
}

// Connection state recovery, on the Node peer's /recovery (`--recovery MS`):
// each family shows in the recovery case(s) about its rule only.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_pid() {
    // The pid is the public sid: recovery still works, under the wrong key.
    exactly("recovery-pid", &[("sio5.recovery.pid", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_offset() {
    // Broadcasts go out without their offset (still stored, and replayed, with it).
    exactly("recovery-offset", &[("sio5.recovery.offset", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_ack_offset() {
    exactly(
        "recovery-ack-offset",
        &[("sio5.recovery.no-offset-with-ack", Failed)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_order() {
    // Missed events after the CONNECT reply: restore-again counts them on
    // either side of the reply, so only the case about the order fails.
    exactly("recovery-order", &[("sio5.recovery.restore", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_once() {
    exactly("recovery-once", &[("sio5.recovery.restore-again", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_expiry() {
    exactly("recovery-expiry", &[("sio5.recovery.expired", Failed)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_lenient() {
    exactly(
        "recovery-lenient",
        &[
            ("sio5.recovery.unknown-offset", Failed),
            ("sio5.recovery.unknown-pid", Failed),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_reasons() {
    exactly(
        "recovery-reasons",
        &[
            ("sio5.recovery.client-disconnect", Failed),
            ("sio5.recovery.server-disconnect", Failed),
        ],
    )
    .await;
}
