//! Serve mode exercised by a real browser: the official client's browser
//! bundle in headless Chromium (harness/peers/browser, `--target browser`)
//! fetches its cases one by one from siospec's control server, with the
//! browser's own transports, and passes the whole client catalogue; the
//! browser is gone when the run ends.
//!
//! Needs Debian's chromium (peers/browser/run-chromium installs it when run
//! as root) and `npm ci` in harness/peers/browser (scripts/test does it).

use std::time::{Duration, Instant};

use siospec::case::Verdict;
use siospec::peer::Peer;
use siospec::runner::{Options, Quiet, Run, Selection};
use siospec::target::Target;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_in_headless_chromium_passes_every_case_in_serve_mode() {
    let client = Peer::named("browser")
        .and_then(|p| p.client(None))
        .expect("the browser peer (npm ci in harness/peers/browser)");
    let catalogue = siospec::client_cases::all();
    let run = Run {
        target: Target::Client(client),
        selection: Selection::default(),
        options: Options::default(),
        baseline: None,
    };
    let cases = run.cases(&catalogue).expect("cases selected");
    let outcome = run.execute(&cases, &mut Quiet).await.expect("the run runs");
    // Every case but the msgpack parser's own, which run with --parser msgpack.
    let default_parser = catalogue.iter().filter(|c| c.parser.is_none()).count();
    assert_eq!(outcome.results.len(), default_parser, "every case ran");
    // The browser driver takes no CA (Chromium trusts its own store), so
    // it runs over http, where the TLS cases are SKIPPED.
    let not_ok: Vec<String> = outcome
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Ok)
        .filter(|r| !(r.verdict == Verdict::Skipped && r.id.starts_with("client.eio4.tls.")))
        .map(|r| format!("{} {}: {}", r.id, r.verdict, r.behaviour.actual))
        .collect();
    assert!(
        not_ok.is_empty(),
        "the official client in Chromium is not OK on:\n{}",
        not_ok.join("\n")
    );
    // The browser's process group went with the run (it takes a moment to
    // leave /proc).
    let deadline = Instant::now() + Duration::from_secs(10);
    while chromium_on(&outcome.findings) {
        assert!(
            Instant::now() < deadline,
            "Chromium outlived the run by 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a Chromium opened on the run's page (named in its findings) is
/// still running.
fn chromium_on(findings: &[String]) -> bool {
    let Some(url) = findings
        .iter()
        .find_map(|f| f.split_whitespace().find(|w| w.starts_with("http://")))
    else {
        return false;
    };
    let url = url.trim_end_matches(',');
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .any(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("chromium") && c.contains(url)
        })
}
