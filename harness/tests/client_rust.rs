//! Client mode against siospec's own client (`siospec client URL`, the
//! codec's ClientConnection over the load generator's sockets, `--target
//! rust`): the whole client catalogue is OK over https and wss, as for the
//! official client.

mod common;

use std::path::PathBuf;

use siospec::case::Verdict;
use siospec::peer::Peer;
use siospec::runner::{Options, Quiet, Run, Selection};
use siospec::target::Target;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn siospec_s_own_client_passes_every_case() {
    // The test binary is not siospec: its client is the built binary's.
    let client = Peer::reference()
        .in_dir(PathBuf::from(env!("CARGO_BIN_EXE_siospec")))
        .client(None)
        .and_then(|c| c.over_tls())
        .expect("the reference peer has a client, which takes SIOSPEC_CA");
    assert_eq!(client.name, "rust-client");
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
    // Every case but the msgpack parser's own, which run with --parser msgpack.
    let default_parser = catalogue.iter().filter(|c| c.parser.is_none()).count();
    assert_eq!(outcome.results.len(), default_parser, "every case ran");
    assert!(
        outcome.description.contains("(embedded)"),
        "{}",
        outcome.description
    );
    let not_ok = common::lines(&outcome.results, |v| v != Verdict::Ok);
    assert!(
        not_ok.is_empty(),
        "siospec's own client is not OK on:\n{}",
        not_ok.join("\n")
    );
}
