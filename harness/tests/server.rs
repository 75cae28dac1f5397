//! The reference server (`siospec serve`) with real sockets on loopback: the
//! official clients interoperate with it in every transport mode and
//! reconnect by themselves after a restart, and opening and closing 10,000
//! sessions leaves its memory where it started.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use siospec::server::{Mode, Options, ServerThread, Serves};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn node(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(script).args(args).current_dir(common::node_dir());
    cmd
}

#[test]
fn official_clients_interoperate_in_every_transport_mode() {
    let server = ServerThread::start(loopback(), Options::suite(Serves::Only(Mode::Socket)))
        .expect("server starts");
    let url = format!("http://{}", server.addr());
    for mode in ["polling", "websocket", "upgrade"] {
        let out = node("client-check.js", &[&url, "--transports", mode])
            .output()
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_default();
        assert!(
            out.status.success() && report["ok"] == true,
            "socket.io-client over {mode}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let checks = report["checks"].as_array().map_or(0, Vec::len);
        assert!(checks >= 10, "{mode}: only {checks} checks ran");
    }
}

#[test]
fn official_client_reconnects_after_a_restart() {
    for transports in ["websocket", "polling"] {
        let server = ServerThread::start(loopback(), Options::suite(Serves::Only(Mode::Socket)))
            .expect("server starts");
        let addr = server.addr();
        let mut child = node(
            "restart-check.js",
            &[&format!("http://{addr}"), transports, "20000"],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        assert_eq!(
            lines.next().and_then(Result::ok).as_deref(),
            Some("connected"),
            "{transports}"
        );
        server.stop();
        let _again = ServerThread::start(addr, Options::suite(Serves::Only(Mode::Socket)))
            .expect("server restarts on the same port");
        assert_eq!(
            lines.next().and_then(Result::ok).as_deref(),
            Some("reconnected"),
            "{transports}"
        );
        assert!(child.wait().expect("node exits").success());
    }
}

/// `siospec serve` as a child process, stopped when dropped.
struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_siospec"))
            .arg("serve")
            .args(args)
            .arg("--exit-on-stdin-close")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("siospec serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .expect("listening line")
            .to_owned();
        Serve { child, addr }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Http(TcpStream);

impl Http {
    fn request(&mut self, method: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.0.write_all(&request).expect("write");
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            self.0.read_exact(&mut byte).expect("response head");
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        let status = head[9..12].parse().expect("status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().expect("length"));
        let mut body = vec![0; length];
        self.0.read_exact(&mut body).expect("body");
        (status, body)
    }
}

/// Opens a polling session and closes it from the client side.
fn open_and_close(http: &mut Http) {
    let (status, body) = http.request("GET", "/engine.io/?EIO=4&transport=polling", b"");
    assert_eq!(status, 200);
    let body = String::from_utf8(body).expect("text");
    let sid = body
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("sid");
    let (status, _) = http.request(
        "POST",
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        b"1",
    );
    assert_eq!(status, 200);
}

#[test]
fn ten_thousand_sessions_leave_memory_where_it_started() {
    let server = Serve::start(&["--mode", "engine", "--profile", "suite"]);
    let mut http = Http(TcpStream::connect(&server.addr).expect("connect"));
    http.0
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    http.0.set_nodelay(true).expect("nodelay");
    for _ in 0..1_000 {
        open_and_close(&mut http);
    }
    let before = server.rss_kib();
    for _ in 0..10_000 {
        open_and_close(&mut http);
    }
    let after = server.rss_kib();
    // A leak of even 200 bytes a session would show as 2 MB; the margin
    // covers allocator and page-cache noise.
    assert!(
        after <= before + 2_048,
        "RSS grew from {before} KiB to {after} KiB over 10,000 sessions"
    );
}
