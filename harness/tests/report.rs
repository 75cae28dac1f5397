//! The report layer: partial runs merge into the full report, JUnit agrees
//! with the exit status, the findings and re-run commands reach every
//! report, and bodies keep their line breaks, escaped.

use std::path::{Path, PathBuf};

use siospec::case::Verdict;
use siospec::report::{self, Index, JunitKind, RunInfo};
use siospec::runner::{CaseResult, Judged};
use siospec::trace::{Body, Dir, Event, What};

fn result(id: &str, verdict: Verdict, actual: &str) -> CaseResult {
    CaseResult {
        id: id.to_owned(),
        verdict,
        behaviour: Judged {
            verdict,
            outcome: None,
            expected: None,
            actual: actual.to_owned(),
        },
        close: None,
        duration_ms: 1.0,
        trace: vec![Event {
            t_ms: 0.5,
            conn: "ws#1".into(),
            dir: Dir::In,
            what: What::WsText {
                data: Body::of(b"4line one\nline <two>\r\n\x1eend"),
            },
        }],
        trace_dropped: 0,
        accepted: None,
    }
}

fn info<'a>(name: &'a str, command: &str, findings: &[&str], strict: bool) -> RunInfo<'a> {
    RunInfo {
        name,
        description: "made-up results",
        started: report::now_rfc3339(),
        duration_ms: 10.0,
        time_scale: 1.0,
        strict,
        command: command.to_owned(),
        findings: findings.iter().map(|s| s.to_string()).collect(),
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siospec-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn index(dir: &Path) -> Index {
    serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn a_partial_run_merges_into_the_full_report() {
    let catalogue = siospec::cases::all();
    let dir = temp_dir("merge");
    let full: Vec<CaseResult> = catalogue
        .iter()
        .map(|c| result(&c.id, Verdict::Ok, ""))
        .collect();
    report::write(
        &dir,
        &catalogue,
        &info("node", "siospec run --target node", &[], false),
        &full,
    )
    .unwrap();
    // Another target, which the partial run must leave alone.
    let other: Vec<CaseResult> = catalogue
        .iter()
        .take(3)
        .map(|c| result(&c.id, Verdict::Ok, ""))
        .collect();
    report::write(
        &dir,
        &catalogue,
        &info("rust", "siospec run", &[], false),
        &other,
    )
    .unwrap();

    let subset: Vec<CaseResult> = catalogue
        .iter()
        .filter(|c| c.id.starts_with("eio4.handshake."))
        .map(|c| result(&c.id, Verdict::Failed, "status 500"))
        .collect();
    assert!(subset.len() >= 2 && subset.len() < catalogue.len());
    let mut partial = info(
        "node",
        "siospec run --target node",
        &["polling and websocket offered"],
        false,
    );
    partial.started = "2099-01-01T00:00:00Z".into();
    report::write(&dir, &catalogue, &partial, &subset).unwrap();

    let idx = index(&dir);
    let node = &idx.targets["node"];
    assert_eq!(node.cases.len(), catalogue.len(), "no case lost");
    for c in &catalogue {
        let want = if c.id.starts_with("eio4.handshake.") {
            Verdict::Failed
        } else {
            Verdict::Ok
        };
        assert_eq!(node.cases[&c.id].verdict, want, "{}", c.id);
        for ext in ["json", "html"] {
            assert!(
                dir.join(format!("cases/node/{}.{ext}", c.id)).is_file(),
                "{}.{ext} kept",
                c.id
            );
        }
    }
    assert_eq!(node.counts["FAILED"], subset.len());
    assert_eq!(node.counts["OK"], catalogue.len() - subset.len());
    assert_eq!(node.counts.values().sum::<usize>(), catalogue.len());
    assert_eq!(node.findings, ["polling and websocket offered"]);
    assert_eq!(node.command, "siospec run --target node");
    assert_eq!(idx.targets["rust"].cases.len(), 3, "other target kept");
    let kept = catalogue.len() - subset.len();
    assert_eq!(node.earlier_cases(), kept);

    // The whole-target files come from the merged index.
    let junit = read(&dir, "junit.xml");
    assert_eq!(junit.matches("<testcase ").count(), catalogue.len() + 3);
    assert_eq!(junit.matches("<failure ").count(), subset.len());
    let html = read(&dir, "report.html");
    for c in &catalogue {
        assert!(
            html.contains(&format!("cases/node/{}.html", c.id)),
            "{}",
            c.id
        );
    }
    let summary = read(&dir, "summary.md");
    assert!(summary.contains(&format!("| node | {} |", catalogue.len())));
    assert!(summary.contains("kept from earlier runs"));
    assert!(html.contains(&format!(
        "{} case(s) from this run, {kept} kept from earlier runs",
        subset.len()
    )));

    // Findings head summary.md and report.html.
    let first_table = summary.find("| target |").unwrap();
    let finding = summary.find("polling and websocket offered").unwrap();
    assert!(finding < first_table, "{summary}");
    let f = html.find("polling and websocket offered").unwrap();
    assert!(f < html.find("id=\"targets\"").unwrap());
    assert!(f < html.find("<table").unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn junit_agrees_with_the_exit_status() {
    for strict in [false, true] {
        for accepted in [false, true] {
            for v in Verdict::ALL {
                let mut r = result("x", v, "seen");
                if accepted && v != Verdict::Ok {
                    r.accepted = Some("known".into());
                }
                let status = siospec::runner::exit_status(&[r.clone()], strict);
                let kind = report::junit_kind(v, r.accepted.is_some(), strict);
                let want = match status {
                    0 => !matches!(kind, JunitKind::Failure | JunitKind::Error),
                    1 => kind == JunitKind::Failure,
                    2 => kind == JunitKind::Error,
                    s => panic!("status {s}"),
                };
                assert!(
                    want,
                    "{v} accepted={accepted} strict={strict}: exit {status}, junit {kind:?}"
                );
            }
        }
    }
    assert_eq!(
        report::junit_kind(Verdict::Unsupported, false, true),
        JunitKind::Skipped
    );
    assert_eq!(
        report::junit_kind(Verdict::Timeout, false, false),
        JunitKind::Failure
    );
}

#[test]
fn strict_runs_make_non_strict_cases_junit_failures() {
    let catalogue = siospec::cases::all();
    let ids: Vec<&str> = catalogue.iter().take(7).map(|c| c.id.as_str()).collect();
    let mut results = vec![
        result(ids[0], Verdict::Ok, ""),
        result(ids[1], Verdict::NonStrict, "no CORS header"),
        result(ids[2], Verdict::Failed, "status 500"),
        result(ids[3], Verdict::Timeout, "no answer"),
        result(ids[4], Verdict::Error, "refused"),
        result(ids[5], Verdict::Unsupported, "no websocket"),
        result(ids[6], Verdict::NonStrict, "accepted one"),
    ];
    results[6].accepted = Some("a known habit".into());
    for (strict, failures) in [(true, 3), (false, 2)] {
        let dir = temp_dir(&format!("strict-{strict}"));
        report::write(
            &dir,
            &catalogue,
            &info("t", "siospec run", &[], strict),
            &results,
        )
        .unwrap();
        let junit = read(&dir, "junit.xml");
        assert_eq!(junit.matches("<failure ").count(), failures, "{junit}");
        assert_eq!(junit.matches("<error ").count(), 1, "{junit}");
        assert_eq!(junit.matches("<skipped ").count(), 1, "{junit}");
        assert!(junit.contains("<failure message=\"TIMEOUT: no answer\""));
        assert!(junit.contains("<skipped message=\"UNSUPPORTED: no websocket\"/>"));
        assert!(junit.contains("NON-STRICT accepted by the baseline: a known habit"));
        assert_eq!(
            junit.contains("<failure message=\"NON-STRICT: no CORS header\""),
            strict
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_old_index_without_command_or_findings_still_parses() {
    let old = r#"{"schema":"siospec-report/1","generator":"siospec 0.1.0","targets":{"node":
        {"description":"d","started":"2024-01-01T00:00:00Z","duration_ms":1.0,"time_scale":1.0,
         "strict":false,"counts":{"OK":1},"cases":{"eio4.handshake.polling.open":
         {"verdict":"OK","behaviour":"OK","close":null,"duration_ms":1.0,
          "report":"cases/node/eio4.handshake.polling.open.json"}}}}}"#;
    let idx: Index = serde_json::from_str(old).unwrap();
    let node = &idx.targets["node"];
    assert!(node.findings.is_empty() && node.command.is_empty());

    // A run of another case merges with it.
    let catalogue = siospec::cases::all();
    let dir = temp_dir("old");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.json"), old).unwrap();
    report::write(
        &dir,
        &catalogue,
        &info("node", "siospec run --target node", &[], false),
        &[result("eio4.handshake.polling.unique-sid", Verdict::Ok, "")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let idx = index(&dir);
    assert_eq!(idx.targets["node"].cases.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn case_pages_link_the_spec_and_the_rerun_command_and_keep_line_breaks() {
    let catalogue = siospec::cases::all();
    let dir = temp_dir("page");
    let id = "eio4.handshake.polling.open";
    let mut r = result(id, Verdict::Failed, "first line\nsecond <line>");
    r.behaviour.expected = Some("an open packet".into());
    report::write(
        &dir,
        &catalogue,
        &info(
            "node",
            "siospec run --target node --report-dir /tmp/x",
            &["finding <b>"],
            false,
        ),
        &[r],
    )
    .unwrap();
    let page = read(&dir, &format!("cases/node/{id}.html"));
    assert!(page.contains("href=\"https://socket.io/docs/v4/engine-io-protocol/\""));
    assert!(page.contains(&format!(
        "siospec run --target node --report-dir /tmp/x --case {id}"
    )));
    assert!(
        page.contains("4line one\nline &lt;two&gt;␍\n␞end"),
        "{page}"
    );
    assert!(page.contains("first line\nsecond &lt;line&gt;"));
    let html = read(&dir, "report.html");
    assert!(html.contains("finding &lt;b&gt;"));
    assert!(html.contains("<td class=\"lvl MUST\">MUST</td>"));
    assert!(html.contains("href=\"#sec-eio4.handshake\""));
    assert!(html.contains("id=\"sec-eio4.handshake\""));
    let summary = read(&dir, "summary.md");
    assert!(
        summary.contains("first line<br>second &lt;line&gt;"),
        "{summary}"
    );
    assert!(summary.contains("- finding &lt;b&gt;"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rerun_command_drops_the_case_selection() {
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        report::rerun_command(args(
            "/x/target/debug/siospec run --target node --case eio4 --exclude=eio4.cors --jobs 4 --case=sio5.*"
        )),
        "siospec run --target node --jobs 4"
    );
    assert_eq!(
        report::rerun_command(args(
            "siospec test server --url http://127.0.0.1:3000 --name a b"
        )),
        "siospec test server --url http://127.0.0.1:3000 --name a b"
    );
    assert_eq!(
        report::rerun_command(vec!["siospec".into(), "--name".into(), "my server".into()]),
        "siospec --name 'my server'"
    );
    assert_eq!(
        report::case_command("siospec run", "eio4.handshake.polling.open"),
        "siospec run --case eio4.handshake.polling.open"
    );
}

/// Through the command line, against the embedded reference server: a
/// second `--case` run adds to the first one's report.
#[test]
fn cli_partial_runs_accumulate() {
    let dir = temp_dir("cli");
    let run = |case: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
            .args(["run", "--target", "rust", "--case", case, "--report-dir"])
            .arg(&dir)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("eio4.handshake.polling.open");
    run("eio4.handshake.polling.unique-sid");
    let idx = index(&dir);
    let rust = &idx.targets["rust"];
    assert_eq!(rust.cases.len(), 2);
    assert_eq!(rust.counts["OK"], 2);
    assert_eq!(
        rust.command,
        format!("siospec run --target rust --report-dir {}", dir.display())
    );
    assert!(dir
        .join("cases/rust/eio4.handshake.polling.open.html")
        .is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn servers_and_clients_share_a_report_side_by_side() {
    let dir = temp_dir("roles");
    let servers = siospec::cases::all();
    let clients = siospec::client_cases::all();
    let all_ok = |cases: &[siospec::case::Case]| -> Vec<CaseResult> {
        cases
            .iter()
            .map(|c| result(&c.id, Verdict::Ok, ""))
            .collect()
    };
    report::write(
        &dir,
        &servers,
        &info("node", "", &[], false),
        &all_ok(&servers),
    )
    .unwrap();
    let mut client_results = all_ok(&clients);
    client_results[0] = result(&clients[0].id, Verdict::Failed, "no request");
    report::write(
        &dir,
        &clients,
        &info("node-client", "", &[], false),
        &client_results,
    )
    .unwrap();
    // Both runs stay in the index, each with its own cases.
    let idx = index(&dir);
    assert_eq!(idx.targets["node"].cases.len(), servers.len());
    assert_eq!(idx.targets["node-client"].cases.len(), clients.len());
    let html = read(&dir, "report.html");
    // One row for the implementation, its server and client results beside
    // each other.
    let table = &html[html
        .find("id=\"side-by-side\"")
        .expect("the side-by-side table")..];
    let row = &table[table
        .find("<td class=\"id\">node</td>")
        .expect("a row for node")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!("{0} / {0} OK", servers.len())),
        "{row}"
    );
    assert!(
        row.contains(&format!("{} / {} OK", clients.len() - 1, clients.len())),
        "{row}"
    );
    // A section's columns are the targets of its role.
    let section = |id: &str| {
        let at = html.find(&format!("id=\"sec-{id}\"")).unwrap();
        let head = &html[at..];
        head[..head.find("</tr>").unwrap()].to_owned()
    };
    let server_head = section(servers[0].section.id);
    assert!(server_head.contains("<th>node</th>") && !server_head.contains("node-client"));
    let client_head = section(clients[0].section.id);
    assert!(client_head.contains("<th>node-client</th>") && !client_head.contains("<th>node</th>"));
    let _ = std::fs::remove_dir_all(&dir);
}
