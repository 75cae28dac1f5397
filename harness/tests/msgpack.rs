//! The msgpack parser end to end: the Socket.IO v5 cases in msgpack
//! (`--parser msgpack`) against the reference server and the official Node
//! server started with socket.io-msgpack-parser, and the client cases
//! against siospec's own client and the official Node client told
//! SIOSPEC_PARSER=msgpack. Nothing FAILED that the baselines do not accept;
//! the cases of the default parser's text format SKIPPED as not applicable
//! with their reason, and only those.

mod common;

use std::path::PathBuf;

use siospec::case::{Case, Verdict};
use siospec::peer::Peer;
use siospec::runner::{CaseResult, Options, Quiet, Run, Selection};
use siospec::target::Target;
use siospec_codec::session::socket::Parser;

/// What a msgpack run must show: every case OK, accepted by `baseline`
/// (`harness/baselines/…`, for `target`), or SKIPPED as not applicable.
fn check(target: &str, baseline: Option<&str>, cases: &[Case], results: &[CaseResult]) {
    assert_eq!(results.len(), cases.len(), "every case ran");
    let baseline = baseline.map(common::baseline);
    let bad: Vec<String> = results
        .iter()
        .filter(|r| match r.verdict {
            Verdict::Ok => false,
            Verdict::Skipped => {
                !siospec::report::actual_of(r).starts_with("n/a with the msgpack parser")
            }
            v => baseline
                .as_ref()
                .is_none_or(|b| b.accepts(target, &r.id, v).is_none()),
        })
        .map(|r| {
            format!(
                "{}: {} — {}",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            )
        })
        .collect();
    assert!(bad.is_empty(), "{target}:\n{}", bad.join("\n"));
    let ok = results.iter().filter(|r| r.verdict == Verdict::Ok).count();
    assert!(
        ok * 2 > results.len(),
        "{target}: only {ok} of {} OK",
        results.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cases_in_msgpack_pass_on_the_reference_server() {
    let (cases, results) =
        common::run_with(&common::peer("rust"), &[], &[], 4, Parser::Msgpack).await;
    assert!(cases.iter().any(|c| c.id.starts_with("sio5.msgpack.")));
    assert!(cases.iter().all(|c| c.id.starts_with("sio5.")));
    check("rust-msgpack", None, &cases, &results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cases_in_msgpack_pass_on_the_node_server_but_its_baseline() {
    common::node_dir();
    let (cases, results) =
        common::run_with(&common::peer("node"), &[], &[], 4, Parser::Msgpack).await;
    check(
        "node-msgpack",
        Some("baselines/node.json"),
        &cases,
        &results,
    );
    // The official encoder wraps integers beyond 64 bits (notepack 2.2.0):
    // the rule of sio5.message.numbers, broken by the ground truth itself.
    let numbers = results
        .iter()
        .find(|r| r.id == "sio5.message.numbers")
        .expect("ran");
    assert_eq!(
        numbers.verdict,
        Verdict::Failed,
        "{}",
        siospec::report::actual_of(numbers)
    );
}

async fn client_run(client: siospec::case::client::Client) -> (Vec<Case>, Vec<CaseResult>) {
    let catalogue = siospec::client_cases::all();
    let run = Run {
        target: Target::Client(client),
        selection: Selection::default(),
        options: Options {
            jobs: 4,
            parser: Parser::Msgpack,
            ..Options::default()
        },
        baseline: None,
    };
    let cases: Vec<Case> = run
        .cases(&catalogue)
        .expect("cases selected")
        .into_iter()
        .cloned()
        .collect();
    let refs: Vec<&Case> = cases.iter().collect();
    let outcome = run.execute(&refs, &mut Quiet).await.expect("the run runs");
    (cases, outcome.results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_cases_in_msgpack_pass_on_siospec_s_own_client() {
    let client = Peer::reference()
        .in_dir(PathBuf::from(env!("CARGO_BIN_EXE_siospec")))
        .client(None)
        .expect("the reference peer has a client");
    let (cases, results) = client_run(client).await;
    check("rust-client-msgpack", None, &cases, &results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_cases_in_msgpack_pass_on_the_official_node_client() {
    common::node_dir();
    let client = Peer::named("node")
        .and_then(|p| p.client(None))
        .expect("the Node peer has a client");
    let (cases, results) = client_run(client).await;
    check("node-client-msgpack", None, &cases, &results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_driver_without_msgpack_is_refused_with_a_reason() {
    let client = Peer::named("rust_socketio")
        .and_then(|p| p.client(None))
        .expect("the rust_socketio peer has a client");
    let catalogue = siospec::client_cases::all();
    let run = Run {
        target: Target::Client(client),
        selection: Selection::default(),
        options: Options {
            parser: Parser::Msgpack,
            ..Options::default()
        },
        baseline: None,
    };
    let cases = run.cases(&catalogue).expect("cases selected");
    let e = run.execute(&cases, &mut Quiet).await.unwrap_err();
    assert!(e.contains("does not speak the msgpack parser"), "{e}");
}
