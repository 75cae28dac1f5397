//! `siospec bench --locust-master` against the pinned Locust master
//! (harness/locust, a venv that harness/locust/setup makes and
//! scripts/test runs): two siospec workers load the reference server, and
//! the master's aggregated figures are exactly what the workers reported.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siospec::{serve, ServeOptions};

fn locust_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("locust")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits for `child` to exit within `limit`; its status.
fn wait(child: &mut Child, what: &str, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not exit within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A row of Locust's `_stats.csv`: (type, name) → (requests, failures).
fn csv_rows(text: &str) -> Vec<(String, String, u64, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            Some((
                cols.first()?.to_string(),
                cols.get(1)?.to_string(),
                cols.get(2)?.parse().ok()?,
                cols.get(3)?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn a_locust_master_adds_up_two_siospec_workers() {
    let locust = locust_dir().join(".venv/bin/locust");
    assert!(
        locust.exists(),
        "the pinned Locust is not installed: run harness/locust/setup (scripts/test does)"
    );
    let server = serve(ServeOptions::new()).expect("the reference server");
    let dir = std::env::temp_dir().join(format!("siospec-locust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let port = free_port();
    let mut master = Command::new(&locust)
        .current_dir(locust_dir())
        .args([
            "-f",
            "locustfile.py",
            "SocketIoEcho",
            "SocketIoIdle",
            "--master",
            "--master-bind-host",
            "127.0.0.1",
        ])
        .args(["--master-bind-port", &port.to_string()])
        .args([
            "--headless",
            "-u",
            "4",
            "-r",
            "100",
            "-t",
            "4s",
            "--expect-workers",
            "2",
        ])
        .args(["--host", &server.url(), "--only-summary", "--csv"])
        .arg(dir.join("master"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Locust master starts");
    let workers: Vec<Child> = (1..=2)
        .map(|n| {
            Command::new(env!("CARGO_BIN_EXE_siospec"))
                .args(["bench", "--locust-master", &format!("127.0.0.1:{port}")])
                .arg("--locust-summary")
                .arg(dir.join(format!("worker{n}.json")))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("a siospec worker starts")
        })
        .collect();
    let status = wait(&mut master, "the Locust master", Duration::from_secs(60));
    let mut master_log = String::new();
    if let Some(mut e) = master.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut master_log);
    }
    assert!(
        status.success(),
        "the master failed ({status}):\n{master_log}"
    );
    let mut reported = (0u64, 0u64);
    for (n, mut worker) in workers.into_iter().enumerate() {
        let status = wait(&mut worker, "a siospec worker", Duration::from_secs(30));
        assert!(status.success(), "worker {} failed ({status})", n + 1);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("worker{}.json", n + 1)))
                .expect("the worker's summary"),
        )
        .expect("JSON");
        let requests = summary["requests"].as_u64().unwrap_or(0);
        assert!(requests > 0, "worker {} sent nothing: {summary}", n + 1);
        reported.0 += requests;
        reported.1 += summary["failures"].as_u64().unwrap_or(0);
    }
    let csv = std::fs::read_to_string(dir.join("master_stats.csv")).expect("the master's CSV");
    let rows = csv_rows(&csv);
    let aggregated = rows
        .iter()
        .find(|r| r.1 == "Aggregated")
        .unwrap_or_else(|| panic!("no Aggregated row:\n{csv}"));
    assert_eq!(
        (aggregated.2, aggregated.3),
        reported,
        "the master's total is not what the workers reported:\n{csv}\n{master_log}"
    );
    // Every user connected once (4 users, echo and idle, over 2 workers).
    let connects = rows
        .iter()
        .find(|r| r.0 == "socket.io" && r.1 == "connect")
        .unwrap_or_else(|| panic!("no connect row:\n{csv}"));
    assert_eq!((connects.2, connects.3), (4, 0), "{csv}");
    // The idle users held their connections to the end.
    assert!(!rows.iter().any(|r| r.1 == "idle"), "{csv}");
    assert!(
        rows.iter()
            .any(|r| r.0 == "socket.io" && r.1 == "echo" && r.2 > 0),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
