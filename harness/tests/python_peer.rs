//! python-socketio (harness/peers/python) on its default settings, found
//! through one URL: no ERROR, no TIMEOUT, and every deviation explained, with
//! the wire evidence, in baselines/python.json. Takes a few minutes: the
//! longest cases wait out its 25 s heartbeat.

mod common;

use siospec::case::Verdict;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_deviations_are_all_explained() {
    let target = common::peer("python");
    let (_, mut results) = common::run(&target, &[], &[], 8).await;
    assert_eq!(
        results.len(),
        common::default_parser_cases(),
        "every case ran"
    );
    let harness = common::lines(&results, |v| matches!(v, Verdict::Error | Verdict::Timeout));
    assert!(
        harness.is_empty(),
        "harness errors or timeouts:\n{}",
        harness.join("\n")
    );
    let baseline = common::accept_all(&mut results, "python", "baselines/python.json");
    // Every entry of this run's target (not those of its msgpack run,
    // `python-msgpack`) still describes something this run saw.
    let stale: Vec<String> = baseline
        .accepted
        .iter()
        .filter(|a| a.target == "python")
        .filter(|a| {
            !results
                .iter()
                .any(|r| siospec::runner::id_matches(&a.case, &r.id) && r.verdict == a.verdict)
        })
        .map(|a| format!("{} {}", a.case, a.verdict))
        .collect();
    assert!(
        stale.is_empty(),
        "baseline entries that no longer apply:\n{}",
        stale.join("\n")
    );
    assert_eq!(
        siospec::runner::exit_status(&results, true),
        siospec::runner::EXIT_OK
    );
}
