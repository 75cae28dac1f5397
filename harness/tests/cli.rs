//! The command line's contract: exit statuses and the plain-line output.

use std::process::Command;

fn siospec(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_prints_cases() {
    let (code, out, _) = siospec(&[
        "test",
        "server",
        "--list",
        "--suite",
        "eio4",
        "--case",
        "eio4.handshake",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("eio4.handshake.polling.open"));
    assert!(!out.contains("sio5."));
}

#[test]
fn zero_matched_cases_is_an_error() {
    let (code, _, err) = siospec(&[
        "test",
        "server",
        "--url",
        "http://127.0.0.1:9",
        "--case",
        "no.such.case",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no case matches"), "{err}");
}

#[test]
fn rust_target_reports_not_built() {
    let (code, _, err) = siospec(&[
        "run",
        "--target",
        "rust",
        "--report-dir",
        "/nonexistent/never-written",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("reference server not built yet"), "{err}");
}

#[test]
fn bad_usage_is_2() {
    assert_eq!(
        siospec(&[
            "test",
            "server",
            "--url",
            "http://127.0.0.1:9",
            "--suite",
            "nope"
        ])
        .0,
        2
    );
    assert_eq!(
        siospec(&[
            "test",
            "server",
            "--url",
            "ftp://x:1",
            "--case",
            "eio4.handshake.polling.open"
        ])
        .0,
        2
    );
    assert_eq!(siospec(&["test", "server"]).0, 2);
    assert_eq!(siospec(&["frobnicate"]).0, 2);
}

#[test]
fn unreachable_server_is_a_harness_error() {
    // Nothing listens on port 9 (discard) on loopback here: every case is ERROR, exit 2.
    let (code, out, _) = siospec(&[
        "test",
        "server",
        "--url",
        "http://127.0.0.1:9",
        "--case",
        "eio4.handshake.polling.open",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ERROR"), "{out}");
}
