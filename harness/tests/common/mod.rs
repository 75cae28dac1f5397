//! Shared by the integration tests: run a selection of the catalogue
//! against a started target.

#![allow(dead_code)]

use std::path::PathBuf;

use siospec::case::{Case, Verdict};
use siospec::runner::{run_all, CaseResult, Options, Progress, Selection};
use siospec::suite::Suite;
use siospec::target::{default_node_dir, TargetSpec};

/// The Node peer folder; panics with the install command when its packages are missing.
pub fn node_dir() -> PathBuf {
    let dir = default_node_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "the Node peer is not installed: run `npm ci` in {} (scripts/test does it)",
        dir.display()
    );
    dir
}

/// The Python peer folder; panics with the install command when its venv is missing.
pub fn python_dir() -> PathBuf {
    let dir = siospec::target::default_python_dir();
    assert!(
        dir.join(".venv/bin/python").is_file(),
        "the Python peer is not installed: run {}/setup (scripts/test does it)",
        dir.display()
    );
    dir
}

/// Runs the cases matching `include` (minus `exclude`) against `target`.
pub async fn run(
    target: &TargetSpec,
    include: &[&str],
    exclude: &[&str],
    jobs: usize,
) -> (Vec<Case>, Vec<CaseResult>) {
    let catalogue = siospec::cases::all();
    let selection = Selection {
        suites: Vec::new(),
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    };
    let selected = selection.apply(&catalogue);
    assert!(!selected.is_empty(), "no case matches {include:?}");
    let mut suites: Vec<Suite> = selected.iter().map(|c| c.suite()).collect();
    suites.sort();
    suites.dedup();
    let prepared = target.prepare(&suites).await.expect("target starts");
    let opts = Options {
        jobs,
        progress: Progress::Quiet,
        ..Options::default()
    };
    let results = run_all(&selected, &prepared.plans, &opts).await;
    let chosen: Vec<Case> = selected.into_iter().cloned().collect();
    (chosen, results)
}

/// `id: VERDICT — actual` lines for the results matching `pred`.
pub fn lines(results: &[CaseResult], pred: impl Fn(Verdict) -> bool) -> Vec<String> {
    results
        .iter()
        .filter(|r| pred(r.verdict))
        .map(|r| {
            format!(
                "{}: {} — {}",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            )
        })
        .collect()
}

/// Runs the whole catalogue against `target` (reported as `name`) and
/// checks that nothing FAILED, timed out or errored, and that every other
/// deviation is accepted, with a reason, by the baseline file `baseline`
/// (relative to the crate).
pub async fn whole_catalogue(
    target: &TargetSpec,
    name: &str,
    baseline: &str,
) -> (Vec<Case>, Vec<CaseResult>) {
    let (cases, mut results) = run(target, &[], &[], 4).await;
    assert_eq!(results.len(), siospec::cases::all().len(), "every case ran");
    let bad = lines(&results, |v| {
        matches!(v, Verdict::Failed | Verdict::Error | Verdict::Timeout)
    });
    assert!(
        bad.is_empty(),
        "failures against {name}:\n{}",
        bad.join("\n")
    );
    accept_all(&mut results, name, baseline);
    assert_eq!(
        siospec::cli::exit_status(&results, true),
        siospec::cli::EXIT_OK
    );
    (cases, results)
}

/// Marks every non-OK result of `target` accepted by the baseline file
/// `baseline` (relative to the crate) and checks that none is left unaccepted.
pub fn accept_all(
    results: &mut [CaseResult],
    target: &str,
    baseline: &str,
) -> siospec::baseline::Baseline {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(baseline);
    let baseline = siospec::baseline::Baseline::load(&path).expect("baseline loads");
    let mut unlisted = Vec::new();
    for r in results.iter_mut() {
        if r.verdict == Verdict::Ok {
            continue;
        }
        match baseline.accepts(target, &r.id, r.verdict) {
            Some(a) => r.accepted = Some(a.reason.clone()),
            None => unlisted.push(format!(
                "{}: {} — {}",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            )),
        }
    }
    assert!(
        unlisted.is_empty(),
        "deviations not in {}:\n{}",
        path.display(),
        unlisted.join("\n")
    );
    baseline
}
