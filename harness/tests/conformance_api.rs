//! The library's entry points (`Conformance`, `Report`, `serve`) as a
//! project's own `cargo test` uses them: on tokio's default test runtime,
//! against servers started in the test's process.

use std::time::Duration;

use siospec::{Conformance, Error, ServeOptions, Verdict};

/// A server that speaks HTTP but not Socket.IO: every request gets 404.
fn not_socket_io() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here\n",
            );
        }
    });
    addr
}

#[tokio::test]
async fn the_reference_server_conforms_and_its_junit_lists_every_case() {
    let server = siospec::serve(ServeOptions::suite()).unwrap();
    let report = Conformance::server(server.url())
        .suites(["eio4", "sio5"])
        .case("eio4.handshake")
        .case("sio5.ack")
        .run()
        .await;
    report.assert_conformant();
    assert!(report.error().is_none());
    assert_eq!(report.exit_code(), 0);
    assert!(
        report
            .cases()
            .iter()
            .all(|c| c.id().starts_with("eio4.handshake") || c.id().starts_with("sio5.ack")),
        "only the cases asked for"
    );
    let ok = report.count(Verdict::Ok);
    assert!(ok > 10, "{report}");
    assert!(
        report.findings().iter().any(|f| f.contains("Socket.IO")),
        "{:?}",
        report.findings()
    );
    let dir = tempdir();
    let junit = dir.join("junit.xml");
    report.write_junit(&junit).unwrap();
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        report.cases().len(),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    let _ = std::fs::remove_dir_all(dir);
    server.stop();
}

/// A deviation fails the test with its case's id, requirement, what was
/// seen and the end of its trace; accepting it with a reason lets the test
/// pass, and an acceptance that matches only OK cases is reported stale.
#[tokio::test]
async fn a_deviation_fails_with_its_case_until_accepted() {
    // Node's habit: an undecodable POST is answered 200 `ok` (NON-STRICT).
    let server = siospec::serve(ServeOptions::suite().node_habits(true)).unwrap();
    let case = "eio4.polling.message.invalid-packet";
    let strict = Conformance::server(server.url())
        .case(case)
        .case("eio4.handshake.polling")
        .strict(true);
    let report = strict.clone().run().await;
    assert!(!report.is_conformant());
    assert_eq!(report.exit_code(), 1);
    let failures: Vec<&str> = report.failures().map(|c| c.id()).collect();
    assert_eq!(failures, [case], "{report}");
    let failed = report.failures().next().unwrap();
    assert_eq!(failed.verdict(), Verdict::NonStrict);
    assert!(!failed.requirement().is_empty());
    assert!(!failed.trace().is_empty());
    let panic = std::panic::catch_unwind(|| report.assert_conformant())
        .expect_err("assert_conformant panics on a deviation");
    let message = panic.downcast_ref::<String>().unwrap();
    for part in [
        case,
        "NOT conformant",
        "requirement:",
        "seen:",
        "trace (last",
    ] {
        assert!(message.contains(part), "{part:?} missing in:\n{message}");
    }
    // Without --strict a NON-STRICT result is conformant.
    let lenient = Conformance::server(server.url()).case(case).run().await;
    assert!(lenient.is_conformant(), "{lenient}");
    let summary = lenient.to_string();
    assert!(
        summary.contains(&format!(
            "not counted against it:\n  NON-STRICT    {case}: "
        )),
        "{summary}"
    );

    let accepted = strict
        .accept(case, "node habits: 200 ok to an undecodable POST")
        .accept("eio4.handshake.polling.open", "not needed")
        .run()
        .await;
    accepted.assert_conformant();
    let entry = accepted.cases().iter().find(|c| c.id() == case).unwrap();
    assert_eq!(
        entry.accepted(),
        Some("node habits: 200 ok to an undecodable POST")
    );
    assert_eq!(accepted.stale_acceptances().len(), 1, "{accepted}");
    assert!(accepted.stale_acceptances()[0].contains("eio4.handshake.polling.open is OK"));
}

#[tokio::test]
async fn a_server_that_is_not_socket_io_is_an_error_that_says_so() {
    let addr = not_socket_io();
    let report = Conformance::server(format!("http://{addr}"))
        .case("eio4.handshake")
        .run()
        .await;
    assert!(matches!(report.error(), Some(Error::Target(_))), "{report}");
    assert_eq!(report.exit_code(), 2);
    assert!(report.cases().is_empty());
    let panic = std::panic::catch_unwind(|| report.assert_conformant()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("siospec could not test server: "),
        "{message}"
    );
}

#[tokio::test]
async fn settings_that_cannot_be_used_are_usage_errors() {
    let url = "http://127.0.0.1:9";
    for (run, says) in [
        (Conformance::server(url).suites(["eio5"]), "unknown suite"),
        (Conformance::server(url).time_scale(0.0), "positive"),
        (Conformance::server(url).jobs(0), "at least 1"),
        (
            Conformance::server(url).case("no.such.case"),
            "no case matches",
        ),
        (Conformance::server("localhost:3000"), "http://"),
        (Conformance::server(url).tls(true), "https:// URL"),
    ] {
        let report = run.run().await;
        match report.error() {
            Some(Error::Usage(e)) => assert!(e.contains(says), "{e}"),
            other => panic!("{says}: {other:?}"),
        }
    }
    let missing = Conformance::server(url)
        .baseline("no-such-baseline.json")
        .run()
        .await;
    assert!(matches!(missing.error(), Some(Error::Baseline(_))));
}

/// siospec's own client, through the client cases: the client side of the
/// same API.
#[tokio::test]
async fn a_client_command_runs_the_client_cases() {
    let command = format!("{} client {{url}}", env!("CARGO_BIN_EXE_siospec"));
    let report = Conformance::client(command)
        .name("siospec-client")
        .case("client.eio4.handshake")
        .max_wait(Duration::from_secs(5))
        .run()
        .await;
    report.assert_conformant();
    assert_eq!(report.target(), "siospec-client");
    assert!(report.count(Verdict::Ok) >= 3, "{report}");
    assert!(report.cases().iter().all(|c| c.id().starts_with("client.")));
}

/// `siospec test server` is the API's run: the same verdict for every case.
#[tokio::test]
async fn the_command_line_and_the_api_agree_case_by_case() {
    let server = siospec::serve(ServeOptions::suite()).unwrap();
    let dir = tempdir();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(["test", "server", "--url", &server.url(), "--suite", "eio4"])
        .args(["--case", "eio4.handshake", "--case", "eio4.polling.message"])
        .arg("--report-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        cli.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let api = Conformance::server(server.url())
        .suites(["eio4"])
        .case("eio4.handshake")
        .case("eio4.polling.message")
        .run()
        .await;
    let cases = index["targets"]["server"]["cases"].as_object().unwrap();
    assert_eq!(cases.len(), api.cases().len());
    for case in api.cases() {
        assert_eq!(
            cases[case.id()]["verdict"].as_str(),
            Some(case.verdict().to_string().as_str()),
            "{}",
            case.id()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh folder in the temporary folder; each test removes its own.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "siospec-api-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
