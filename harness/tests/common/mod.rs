//! Shared by the integration tests: run a selection of the catalogue
//! against a target through the run API, and hold results to a baseline.

#![allow(dead_code)]

use siospec::baseline::Baseline;
use siospec::case::{Case, Verdict};
use siospec::peer::Peer;
use siospec::runner::{CaseResult, Options, Quiet, Run, Selection};
use siospec::target::Target;
use siospec_codec::session::socket::Parser;

/// The peer `name` (`rust`, or a folder of harness/peers); a run against it
/// panics with its install command when it is not installed.
pub fn peer(name: &str) -> Target {
    let peer = Peer::named(name).expect("the peer's manifest reads");
    Target::Peer(peer)
}

/// The peer `name` started over HTTPS and WSS (`--tls`).
pub fn peer_over_tls(name: &str) -> Target {
    let peer = Peer::named(name)
        .and_then(Peer::over_tls)
        .expect("the peer's manifest reads, and it serves TLS");
    Target::Peer(peer)
}

/// The Node peer's folder; panics with the install command when its packages are missing.
pub fn node_dir() -> std::path::PathBuf {
    let dir = Peer::named("node")
        .expect("manifest reads")
        .dir()
        .to_owned();
    assert!(
        dir.join("node_modules").is_dir(),
        "the Node peer is not installed: run `npm ci` in {} (scripts/test does it)",
        dir.display()
    );
    dir
}

/// How many cases a run with the default parser selects from the whole
/// catalogue (the msgpack parser's own cases are selected with it only).
pub fn default_parser_cases() -> usize {
    siospec::cases::all()
        .iter()
        .filter(|c| c.parser.is_none())
        .count()
}

/// Runs the cases matching `include` (minus `exclude`) against `target`.
pub async fn run(
    target: &Target,
    include: &[&str],
    exclude: &[&str],
    jobs: usize,
) -> (Vec<Case>, Vec<CaseResult>) {
    run_with(target, include, exclude, jobs, Parser::Default).await
}

/// [`run`] with the cases speaking `parser`.
pub async fn run_with(
    target: &Target,
    include: &[&str],
    exclude: &[&str],
    jobs: usize,
    parser: Parser,
) -> (Vec<Case>, Vec<CaseResult>) {
    let catalogue = siospec::cases::all();
    let run = Run {
        target: target.clone(),
        selection: Selection {
            suites: Vec::new(),
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        },
        options: Options {
            jobs,
            parser,
            ..Options::default()
        },
        baseline: None,
    };
    let selected = run.cases(&catalogue).expect("cases selected");
    let outcome = run
        .execute(&selected, &mut Quiet)
        .await
        .expect("target starts");
    let chosen: Vec<Case> = selected.into_iter().cloned().collect();
    (chosen, outcome.results)
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
    target: &Target,
    name: &str,
    baseline: &str,
) -> (Vec<Case>, Vec<CaseResult>) {
    let (cases, mut results) = run(target, &[], &[], 4).await;
    assert_eq!(results.len(), default_parser_cases(), "every case ran");
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
        siospec::runner::exit_status(&results, true),
        siospec::runner::EXIT_OK
    );
    (cases, results)
}

/// The baseline file `baseline` (relative to the crate).
pub fn baseline(baseline: &str) -> Baseline {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(baseline);
    Baseline::load(&path).expect("baseline loads")
}

/// Marks every non-OK result of `target` accepted by the baseline file
/// `baseline` (relative to the crate) and checks that none is left unaccepted.
pub fn accept_all(results: &mut [CaseResult], target: &str, baseline: &str) -> Baseline {
    let loaded = self::baseline(baseline);
    loaded.apply(target, results);
    let unlisted: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Ok && r.accepted.is_none())
        .map(|r| {
            format!(
                "{}: {} — {}",
                r.id,
                r.verdict,
                siospec::report::actual_of(r)
            )
        })
        .collect();
    assert!(
        unlisted.is_empty(),
        "deviations not in {baseline}:\n{}",
        unlisted.join("\n")
    );
    loaded
}

/// `siospec ARGS`: exit status, stdout, stderr.
pub fn siospec(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `siospec serve ARGS` on a free port: its `host:port`, and the rest of
/// its `listening on` line (a TLS certificate's file and fingerprint);
/// killed on drop.
pub struct Serve(pub std::process::Child, pub String, pub String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(args: &[&str]) -> Serve {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .arg("serve")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("siospec serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("announces its address");
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .expect("an http or https URL");
    let (addr, more) = rest.split_once(' ').unwrap_or((rest, ""));
    Serve(child, addr.to_owned(), more.to_owned())
}
