//! The command line's contract: exit statuses and the plain-line output.

mod common;

use common::siospec;
use std::process::Command;

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

/// `siospec serve --exit-on-stdin-close`, its standard input and output piped.
fn serve_with_stdin_pipe() -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(["serve", "--mode", "engine", "--exit-on-stdin-close"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("siospec serve starts")
}

#[test]
fn serve_announces_its_address_once_and_stops_cleanly() {
    let (code, _, err) = siospec(&["serve", "--transports", "carrier-pigeon"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown transport"), "{err}");

    let mut child = serve_with_stdin_pipe();
    let mut stdout = child.stdout.take().expect("stdout");
    drop(child.stdin.take());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).expect("stdout read");
    assert!(child.wait().expect("exits").success());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].starts_with("listening on http://127.0.0.1:"),
        "{out:?}"
    );
}

/// SIGTERM must stop the server even while its standard input stays open
/// (a parent that keeps the pipe): nothing may keep the process alive after
/// the server has shut down.
#[test]
fn serve_stops_on_sigterm_with_stdin_still_open() {
    let mut child = serve_with_stdin_pipe();
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("stdout read");
    assert!(line.starts_with("listening on "), "{line:?}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("siospec serve still running 20 s after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    drop(child.stdin.take());
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
    // Nothing listens on port 9 (discard) on loopback here: the probe
    // refuses the target before any case runs, exit 2.
    let (code, out, err) = siospec(&[
        "test",
        "server",
        "--url",
        "http://127.0.0.1:9",
        "--case",
        "eio4.handshake.polling.open",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("nothing is listening at 127.0.0.1:9"), "{err}");
    assert!(!out.contains("ERROR"), "{out}");
}

#[test]
fn zero_jobs_is_a_usage_error() {
    let (code, _, err) = siospec(&[
        "test",
        "server",
        "--url",
        "http://127.0.0.1:9",
        "--jobs",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--jobs needs at least 1"), "{err}");
}

/// `matrix --list` names every implementation in each role it has, with the
/// command that runs it alone; an unknown `--only` is a usage error.
#[test]
fn matrix_lists_every_implementation_and_refuses_unknown_ones() {
    let (code, out, _) = siospec(&["matrix", "--list"]);
    assert_eq!(code, 0);
    for line in [
        "rust as a server: siospec run --target rust",
        "socketioxide as a server: siospec run --target socketioxide --baseline harness/baselines/socketioxide.json --strict",
        "rust as a client: siospec test client --target rust",
        "browser as a client: siospec test client --target browser",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    let (code, out, _) = siospec(&["matrix", "--list", "--only", "python-client"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (code, _, err) = siospec(&["matrix", "--only", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such implementation"), "{err}");
}

/// `test server --target` starts a peer as `run` does.
#[test]
fn test_server_takes_a_peer_as_target() {
    let dir = std::env::temp_dir().join(format!("siospec-cli-target-{}", std::process::id()));
    let (code, out, _) = siospec(&[
        "test",
        "server",
        "--target",
        "rust",
        "--case",
        "eio4.handshake.polling.open",
        "--report-dir",
        &dir.display().to_string(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");
}
