//! `siospec doctor` without a proxy: the reference server directly, a
//! server that is not Socket.IO, nothing at all, usage errors, and the
//! command's output and exit codes. (Through nginx: tests/doctor_nginx.rs.)

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use siospec::doctor::{self, Options, Status};
use siospec::server::{Options as ServerOptions, Serves};
use siospec::{serve, ServeOptions};

/// The reference server with a short heartbeat, so the idle check holds
/// 3.5 s.
fn quick_server() -> siospec::Served {
    serve(ServeOptions::new().ping(Duration::from_millis(1000), Duration::from_millis(500)))
        .expect("the reference server")
}

#[tokio::test]
async fn the_reference_server_directly_has_no_problem() {
    let server = quick_server();
    let d = doctor::diagnose(&Options::new(server.url()), &|_| {})
        .await
        .expect("a diagnosis");
    assert!(d.problems().is_empty(), "{}", d.text());
    assert_eq!(d.exit_code(), 0);
    assert_eq!(d.check("cors").map(|c| c.status), Some(Status::Skipped));
    assert!(
        d.check("cors")
            .is_some_and(|c| c.found.contains("--origin")),
        "{}",
        d.text()
    );
    assert_eq!(d.check("tls").map(|c| c.status), Some(Status::Skipped));
    // Every check that ran left its wire trace.
    for c in &d.checks {
        if matches!(c.status, Status::Ok) && c.id != "settings" {
            assert!(!c.trace.is_empty(), "{} has no trace", c.id);
        }
    }
}

#[tokio::test]
async fn a_websocket_only_server_warns_about_polling_clients() {
    let mut options = ServerOptions::standard(Serves::Both);
    options.engine.ping_interval = Duration::from_millis(1000);
    options.engine.ping_timeout = Duration::from_millis(500);
    options.engine.transports.polling = false;
    let server = serve(ServeOptions::from_options(
        "127.0.0.1:0".parse().expect("an address"),
        options,
    ))
    .expect("the reference server");
    let mut doctor_options = Options::new(server.url());
    doctor_options.origin = Some("http://app.example".to_owned());
    let d = doctor::diagnose(&doctor_options, &|_| {})
        .await
        .expect("a diagnosis");
    assert!(d.problems().is_empty(), "{}", d.text());
    assert_eq!(
        d.check("transport.polling").map(|c| c.status),
        Some(Status::Warning),
        "{}",
        d.text()
    );
    for id in ["sticky", "transport.upgrade", "cors"] {
        assert_eq!(
            d.check(id).map(|c| c.status),
            Some(Status::Skipped),
            "{id}: {}",
            d.text()
        );
    }
    assert_eq!(d.check("idle").map(|c| c.status), Some(Status::Ok));
}

/// An HTTP server that answers every request with an HTML page.
fn html_server() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("its address");
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).ok();
        for _ in 0..8 {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = conn.read(&mut buf);
            let body = "<!doctype html><title>shop</title>";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, handle)
}

#[tokio::test]
async fn not_a_socket_io_server_is_the_probes_problem() {
    let (addr, _server) = html_server();
    let d = doctor::diagnose(&Options::new(format!("http://{addr}/")), &|_| {})
        .await
        .expect("a diagnosis");
    assert_eq!(d.problems(), ["probe"], "{}", d.text());
    let probe = d.check("probe").expect("the probe");
    assert!(probe.found.contains("HTML page"), "{}", d.text());
    assert!(
        d.checks[2..].iter().all(|c| c.status == Status::Skipped),
        "{}",
        d.text()
    );
    assert_eq!(d.exit_code(), 1);
}

#[tokio::test]
async fn usage_errors_are_not_diagnoses() {
    for url in ["ftp://127.0.0.1:1/", "http:///socket.io/", "127.0.0.1:3000"] {
        assert!(
            doctor::diagnose(&Options::new(url), &|_| {}).await.is_err(),
            "{url}"
        );
    }
    let mut options = Options::new("http://127.0.0.1:1/");
    options.rounds = 0;
    assert!(doctor::diagnose(&options, &|_| {}).await.is_err());
}

fn siospec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_siospec"))
}

/// A port with nothing listening.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port()
}

#[test]
fn the_command_exits_1_on_a_problem_2_on_usage_and_prints_json() {
    let reports = std::env::temp_dir().join(format!("siospec-doctor-cli-{}", std::process::id()));
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let out = siospec()
        .args(["doctor", &url, "--report-dir"])
        .arg(&reports)
        .output()
        .expect("siospec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PROBLEM  probe"), "{stdout}");
    assert!(stdout.contains("nothing is listening"), "{stdout}");
    assert!(reports.join("doctor.html").exists());

    let out = siospec()
        .args(["doctor", &url, "--json", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("siospec runs");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints one JSON document");
    assert_eq!(json["schema"], "siospec-doctor/1");
    assert_eq!(json["checks"][1]["id"], "probe");
    assert_eq!(json["checks"][1]["status"], "PROBLEM");

    let out = siospec()
        .args(["doctor", "ftp://example.com/"])
        .output()
        .expect("siospec runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("URL must start with"));
    let _ = std::fs::remove_dir_all(&reports);
}
