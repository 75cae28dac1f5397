//! `siospec doctor` through a real nginx (Debian's package), started from
//! the configurations in harness/deploy/nginx/ in front of two reference
//! server nodes: the correct configuration passes, and each planted fault
//! is named by exactly the check about it.
//!
//! nginx must be installed (harness/deploy/setup installs it, and
//! scripts/test runs that): without it these tests fail with the command
//! to run, they never skip.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siospec::doctor::{self, Diagnosis, Options, Status};
use siospec::server::{Options as ServerOptions, Serves};
use siospec::tls::{TlsFiles, Trust};
use siospec::{serve, ServeOptions, Served};
use siospec_codec::session::{Cors, CorsOrigin};

/// The origin of the page the nodes allow (and doctor checks with --origin).
const APP_ORIGIN: &str = "http://app.example";

/// The nodes' heartbeat: pingInterval 1.5 s, so that a proxy read timeout
/// of 1 s cuts idle connections, and the idle check holds 4.5 s.
const PING_INTERVAL: Duration = Duration::from_millis(1500);
const PING_TIMEOUT: Duration = Duration::from_millis(1000);

fn nginx_binary() -> PathBuf {
    let candidates = [
        PathBuf::from("/usr/sbin/nginx"),
        PathBuf::from("/usr/bin/nginx"),
    ];
    candidates
        .into_iter()
        .find(|p| p.exists())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("nginx"))
                    .find(|p| p.exists())
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "nginx is not installed; these tests need Debian's nginx: run \
                 harness/deploy/setup (as root: apt-get install -y nginx-light)"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A reference server node as a deployment runs it: engine.io's defaults
/// but for the heartbeat, and CORS for the app's origin with credentials.
fn node() -> Served {
    let mut options = ServerOptions::standard(Serves::Both);
    options.engine.ping_interval = PING_INTERVAL;
    options.engine.ping_timeout = PING_TIMEOUT;
    let mut cors = Cors::any();
    cors.origin = CorsOrigin::Fixed(APP_ORIGIN.to_owned());
    cors.credentials = true;
    options.engine.cors = Some(cors);
    serve(ServeOptions::from_options(
        "127.0.0.1:0".parse().expect("an address"),
        options,
    ))
    .expect("a reference server node")
}

/// nginx in the foreground from one of the repository's configurations,
/// stopped on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    /// A port found free may be taken before nginx binds it (nginx cannot
    /// pick one itself and say which): then another is tried.
    fn start(config: &str, nodes: [SocketAddr; 2], tls: Option<&TlsFiles>) -> Nginx {
        let mut taken = String::new();
        for _ in 0..5 {
            match Nginx::launch(config, nodes, tls, free_port()) {
                Ok(nginx) => return nginx,
                Err(e) if e.contains("Address already in use") => taken = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("nginx found no free port in 5 tries: {taken}")
    }

    fn launch(
        config: &str,
        nodes: [SocketAddr; 2],
        tls: Option<&TlsFiles>,
        port: u16,
    ) -> Result<Nginx, String> {
        let binary = nginx_binary();
        let dir =
            std::env::temp_dir().join(format!("siospec-nginx-{}-{config}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx's folder");
        let template = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/nginx")
            .join(format!("{config}.conf"));
        let template = std::fs::read_to_string(&template)
            .unwrap_or_else(|e| panic!("{}: {e}", template.display()));
        let d = dir.display();
        // As root the workers would run as nobody, which cannot write the
        // temporary folder: keep them root.
        let user = if rustix::process::geteuid().is_root() {
            "user root;"
        } else {
            ""
        };
        let head = format!(
            "{user}\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 256; }}"
        );
        let http = format!(
            "access_log {d}/access.log;\n    client_body_temp_path {d}/tmp/body;\n    \
             proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    \
             uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;"
        );
        let mut conf = template
            .replace("{{HEAD}}", &head)
            .replace("{{HTTP}}", &http)
            .replace("{{LISTEN}}", &format!("127.0.0.1:{port}"))
            .replace("{{NODE_A}}", &nodes[0].to_string())
            .replace("{{NODE_B}}", &nodes[1].to_string());
        if let Some(tls) = tls {
            conf = conf
                .replace("{{CERT}}", &tls.cert.display().to_string())
                .replace("{{KEY}}", &tls.key.display().to_string());
        }
        assert!(!conf.contains("{{"), "a placeholder left in {config}.conf");
        let file = dir.join("nginx.conf");
        std::fs::write(&file, conf).expect("nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut nginx = Nginx { child, dir, port };
        nginx.wait_listening()?;
        Ok(nginx)
    }

    /// `Err` with nginx's stderr and error log when it exited instead.
    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                let mut stderr = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                return Err(format!("nginx exited ({status}): {stderr}\n{log}"));
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its workers and exits (a SIGKILL
    /// would leave the workers running, orphaned); SIGKILL only if it has
    /// not exited within 10 s.
    fn drop(&mut self) {
        let master = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = master {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two nodes behind nginx with `config`; the diagnosis of its URL.
async fn diagnose_behind(config: &str, tls: Option<&TlsFiles>, trust: Trust) -> Diagnosis {
    let nodes = [node(), node()];
    let nginx = Nginx::start(config, [nodes[0].addr(), nodes[1].addr()], tls);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut options = Options::new(format!("{scheme}://127.0.0.1:{}/", nginx.port));
    options.origin = Some(APP_ORIGIN.to_owned());
    options.trust = trust;
    let diagnosis = doctor::diagnose(&options, &|_| {})
        .await
        .expect("a diagnosis");
    drop(nginx);
    diagnosis
}

/// The diagnosis found exactly the `expected` problems, and said for
/// each what to change.
fn assert_problems(d: &Diagnosis, expected: &[&str]) {
    assert_eq!(d.problems(), expected, "{}", d.text());
    for id in expected {
        let check = d.check(id).expect("the check");
        assert!(check.fix.is_some(), "{id} has no fix:\n{}", d.text());
    }
    assert_eq!(d.exit_code(), i32::from(!expected.is_empty()));
}

#[tokio::test]
async fn the_correct_configuration_passes() {
    let d = diagnose_behind("good", None, Trust::default()).await;
    assert_problems(&d, &[]);
    for id in [
        "probe",
        "transport.polling",
        "transport.websocket",
        "sticky",
        "transport.upgrade",
        "idle",
        "cors",
        "settings",
    ] {
        let check = d.check(id).expect("the check");
        assert_eq!(check.status, Status::Ok, "{id}:\n{}", d.text());
    }
    assert_eq!(d.count(Status::Warning), 0, "{}", d.text());
}

#[tokio::test]
async fn missing_upgrade_headers_are_named() {
    let d = diagnose_behind("no-upgrade-headers", None, Trust::default()).await;
    assert_problems(&d, &["transport.websocket"]);
    let check = d.check("transport.websocket").expect("the check");
    assert!(check.found.contains("instead of 101"), "{}", d.text());
    assert!(
        check
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("proxy_set_header Upgrade"),
        "{}",
        d.text()
    );
    assert_eq!(
        d.check("transport.upgrade").map(|c| c.status),
        Some(Status::Skipped)
    );
}

#[tokio::test]
async fn round_robin_without_stickiness_is_named() {
    let d = diagnose_behind("round-robin", None, Trust::default()).await;
    assert_problems(&d, &["sticky"]);
    // The probe's CONNECT over polling reached the other node; doctor
    // still knows Socket.IO from a WebSocket.
    let probe = d.check("probe").expect("the probe");
    assert!(probe.found.contains(": Socket.IO"), "{}", d.text());
    let check = d.check("sticky").expect("the check");
    assert!(check.found.contains("not sticky"), "{}", d.text());
    assert!(
        check.fix.as_deref().unwrap_or("").contains("ip_hash"),
        "{}",
        d.text()
    );
}

#[tokio::test]
async fn a_read_timeout_below_ping_interval_is_named() {
    let d = diagnose_behind("short-read-timeout", None, Trust::default()).await;
    assert_problems(&d, &["idle"]);
    let check = d.check("idle").expect("the check");
    // Both transports are cut: the WebSocket closed; the long-poll timed
    // out, which nginx retries on the other node (proxy_next_upstream).
    assert!(
        check.found.contains("WebSocket: closed after"),
        "{}",
        d.text()
    );
    assert!(
        check
            .found
            .contains("polling: the long-poll GET was answered"),
        "{}",
        d.text()
    );
    assert!(
        check
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("proxy_read_timeout"),
        "{}",
        d.text()
    );
}

#[tokio::test]
async fn a_wrong_cors_origin_is_named() {
    let d = diagnose_behind("wrong-cors-origin", None, Trust::default()).await;
    assert_problems(&d, &["cors"]);
    let check = d.check("cors").expect("the check");
    assert!(
        check.found.contains("https://other.example"),
        "{}",
        d.text()
    );
}

#[tokio::test]
async fn tls_with_a_certificate_made_by_the_test() {
    let files = TlsFiles::new().expect("a CA and a certificate");
    let d = diagnose_behind("tls", Some(&files), files.trust()).await;
    assert_problems(&d, &[]);
    let tls = d.check("tls").expect("the check");
    assert_eq!(tls.status, Status::Ok, "{}", d.text());
    assert!(tls.found.contains("expires in"), "{}", d.text());

    // The same deployment, its CA not trusted: the certificate is the
    // problem, and nothing else is judged.
    let d = diagnose_behind("tls", Some(&files), Trust::default()).await;
    assert_problems(&d, &["tls"]);
    assert!(
        d.checks[1..].iter().all(|c| c.status == Status::Skipped),
        "{}",
        d.text()
    );
}
