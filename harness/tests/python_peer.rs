//! python-socketio (harness/peers/python) on its default settings, found
//! through one URL: no ERROR, no TIMEOUT, and every deviation explained, with
//! the wire evidence, in baselines/python.json. Takes a few minutes: the
//! longest cases wait out its 25 s heartbeat.

mod common;

use siospec::case::Verdict;
use siospec::target::TargetSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_deviations_are_all_explained() {
    let target = TargetSpec::Python {
        dir: common::python_dir(),
    };
    let (_, mut results) = common::run(&target, &[], &[], 8).await;
    assert_eq!(results.len(), siospec::cases::all().len(), "every case ran");
    let harness = common::lines(&results, |v| matches!(v, Verdict::Error | Verdict::Timeout));
    assert!(
        harness.is_empty(),
        "harness errors or timeouts:\n{}",
        harness.join("\n")
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/python.json");
    let baseline = siospec::baseline::Baseline::load(&path).expect("baseline loads");
    let mut unexplained = Vec::new();
    for r in &mut results {
        if r.verdict == Verdict::Ok {
            continue;
        }
        match baseline.accepts("python", &r.id, r.verdict) {
            Some(a) => r.accepted = Some(a.reason.clone()),
            None => unexplained.push(format!(
                "{}: {} — {}",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            )),
        }
    }
    assert!(
        unexplained.is_empty(),
        "deviations not in {}:\n{}",
        path.display(),
        unexplained.join("\n")
    );
    // Every entry still describes something this run saw.
    let stale: Vec<String> = baseline
        .accepted
        .iter()
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
        siospec::cli::exit_status(&results, true),
        siospec::cli::EXIT_OK
    );
}
