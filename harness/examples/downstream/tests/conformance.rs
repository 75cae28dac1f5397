//! The project's conformance tests: siospec's suites against the project's
//! own server, and against siospec's reference server.

use std::time::Duration;

use siospec::{Conformance, ServeOptions, Verdict};

/// The timeouts "my server" is configured with that no handshake
/// advertises (the others, siospec reads from the handshake).
fn my_settings(run: Conformance) -> Conformance {
    run.connect_timeout(Duration::from_millis(1000))
        .upgrade_timeout(Duration::from_millis(2000))
}

/// The Socket.IO v5 and Engine.IO v4 suites against "my server". Its known
/// deviations are accepted, each with its reason, in a baseline file: the
/// test passes today, and fails the day a verdict changes (a deviation
/// fixed, or a new one).
#[tokio::test]
async fn my_server_speaks_socket_io() {
    let server = siospec_downstream_example::start_on_free_port().await;
    let url = siospec_downstream_example::url_of(&server);
    let report = my_settings(Conformance::server(url))
        .name("socketioxide")
        .suites(["sio5", "eio4"])
        .baseline("../../baselines/socketioxide.json")
        .strict(true)
        .report_dir("target/siospec-reports")
        .run()
        .await;
    report.write_junit("target/siospec-junit.xml").unwrap();
    report.assert_conformant();
    assert!(report.stale_acceptances().is_empty(), "{report}");
    assert!(report.count(Verdict::Ok) > 100, "{report}");
}

/// Without the baseline, the same run is not conformant, and says why.
#[tokio::test]
async fn a_deviation_fails_the_test_with_its_case() {
    let server = siospec_downstream_example::start_on_free_port().await;
    let report = Conformance::server(siospec_downstream_example::url_of(&server))
        .case("eio4.errors.sid-unknown-get")
        .strict(true)
        .run()
        .await;
    assert!(!report.is_conformant(), "{report}");
    let text = report.to_string();
    assert!(text.contains("eio4.errors.sid-unknown-get"), "{text}");
    assert!(text.contains(r#"\"code\":\"1\""#), "what was seen: {text}");
}

/// One deviation accepted inline, instead of from a file.
#[tokio::test]
async fn a_deviation_accepted_inline() {
    let server = siospec_downstream_example::start_on_free_port().await;
    Conformance::server(siospec_downstream_example::url_of(&server))
        .case("eio4.errors.sid-unknown-get")
        .strict(true)
        .accept(
            "eio4.errors.sid-unknown-get",
            "engineioxide writes the error code as a string",
        )
        .run()
        .await
        .assert_conformant();
}

/// The reference server, started in this process: every suite.
#[tokio::test]
async fn the_reference_server_speaks_socket_io() {
    let server = siospec::serve(ServeOptions::suite()).unwrap();
    let report = my_settings(Conformance::server(server.url()))
        .suites(["sio5", "eio4"])
        .strict(true)
        .run()
        .await;
    report.assert_conformant();
}
