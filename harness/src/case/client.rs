//! The context of a case that judges a client: the case's scripted server
//! (its plan, controls and observations, [`crate::server::script`]) and the
//! driver program, started with the case's environment (harness/CLIENT-CONTRACT.md),
//! whose stdout lines are the application's view and whose stderr is kept
//! for the report.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use siospec_codec::session::socket::Parser;
use siospec_codec::socket::binary::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{oneshot, Notify};

use super::remote::{Handed, Remote};
use super::Stop;
use crate::server::script::{Control, Observation, Plan, Script};
use crate::server::{Options, Server, Serves, SHUTDOWN_GRACE};
use crate::suite::{Expected, Mode};
use crate::tls::{TlsFiles, Validity, LOOPBACK_NAMES};
use crate::trace::Trace;

/// The version of harness/CLIENT-CONTRACT.md the cases follow.
pub const CLIENT_CONTRACT: u32 = 1;

/// The most of a driver's stderr a case keeps (its tail is what explains a crash).
pub const MAX_STDERR: usize = 16 * 1024;

/// The most of a driver's stdout read in one case; past it the rest is left
/// unread (the driver blocks on a full pipe until the case ends).
pub const MAX_STDOUT: usize = 1024 * 1024;

/// The longest stdout line taken as a line; a longer one is noted in the
/// trace, cut, and is no JSON line.
pub const MAX_LINE: usize = 64 * 1024;

/// How long, after the driver exits, its stdout is read on before the exit
/// is noted (a process it started may keep the pipe open).
const STDOUT_DRAIN: Duration = Duration::from_secs(1);

/// How to start the client under test; `{url}` in an argument stands for
/// the scripted server's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Report name (`node`, or `--name`).
    pub name: String,
    /// One line for reports.
    pub description: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory (the caller's when `None`).
    pub dir: Option<PathBuf>,
    /// Extra environment for every case (the broken driver's `SIOSPEC_BREAK`).
    pub env: Vec<(String, String)>,
    /// Served instead of started for each case (`--serve`, a browser).
    pub serve: Option<Serve>,
    /// Its driver honours SIOSPEC_PARSER=msgpack (a command or served
    /// client given by the user is taken at its word).
    pub msgpack: bool,
    /// Its driver trusts the CA of SIOSPEC_CA (a command or served client
    /// given by the user is taken at its word).
    pub takes_ca: bool,
    /// Tested over HTTPS and WSS (`--tls`): the scripted servers present
    /// certificates of this throwaway CA, which the driver is told to trust.
    pub tls: Option<Arc<TlsFiles>>,
}

/// A client that fetches its cases from siospec's control server
/// ([`super::remote`], harness/CLIENT-CONTRACT.md "Serve mode") instead of
/// being started for each case.
#[derive(Debug, Clone)]
pub struct Serve {
    /// Where the control server listens (port 0: a free one).
    pub addr: SocketAddr,
    /// The folder whose files it serves: a browser driver's page.
    pub files: Option<PathBuf>,
    /// Start `program` once for the whole run, `{url}` standing for the
    /// control server's page (a browser opening it); otherwise the client
    /// is the user's to start.
    pub launch: bool,
    /// The control server, once the run has started it.
    pub remote: Option<Arc<Remote>>,
}

impl PartialEq for Serve {
    fn eq(&self, other: &Serve) -> bool {
        let same_remote = match (&self.remote, &other.remote) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.addr == other.addr
            && self.files == other.files
            && self.launch == other.launch
            && same_remote
    }
}

impl Eq for Serve {}

impl Client {
    /// `CMD` run by `sh -c`, as `--exec "CMD"` gives it.
    pub fn exec(name: &str, command: &str) -> Client {
        Client {
            name: name.to_owned(),
            description: format!("client command `{command}`"),
            program: PathBuf::from("sh"),
            args: vec!["-c".to_owned(), command.to_owned()],
            dir: None,
            env: Vec::new(),
            serve: None,
            msgpack: true,
            takes_ca: true,
            tls: None,
        }
    }

    /// A client served at `addr` (`--serve`): nothing is started, the
    /// client is the user's to point at the control server.
    pub fn served(name: &str, addr: SocketAddr) -> Client {
        Client {
            name: name.to_owned(),
            description: format!("client served at http://{addr}/"),
            program: PathBuf::new(),
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
            serve: Some(Serve {
                addr,
                files: None,
                launch: false,
                remote: None,
            }),
            msgpack: true,
            takes_ca: true,
            tls: None,
        }
    }

    /// The same client tested over HTTPS and WSS (`test client --tls`):
    /// every case's scripted server presents a certificate of a throwaway
    /// CA, which the client is told to trust with SIOSPEC_CA.
    pub fn over_tls(mut self) -> Result<Client, String> {
        if !self.takes_ca {
            return Err(format!(
                "{}'s driver does not take SIOSPEC_CA (no `tls = true` in its peer.toml [client] table)",
                self.name
            ));
        }
        self.tls = Some(Arc::new(TlsFiles::new()?));
        self.description.push_str(", over TLS");
        Ok(self)
    }

    /// The control server of a served client, once started.
    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.serve.as_ref()?.remote.as_ref()
    }
}

/// The scripted server's settings for one case.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The server's configuration: the contract's reference one
    /// (pingInterval 300 ms, pingTimeout 200 ms) unless the case changes it.
    pub options: Options,
    /// The case's fixed departures.
    pub plan: Plan,
    /// Over TLS, the certificate the server presents.
    pub certificate: Certificate,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            options: Options::suite(Serves::Only(Mode::Socket)),
            plan: Plan::default(),
            certificate: Certificate::Good,
        }
    }
}

/// The certificate a scripted server presents over TLS; each is signed by
/// the CA the client is told to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certificate {
    /// Valid now, for the URL's host.
    Good,
    /// Valid now, for another name than the URL's host.
    WrongName,
    /// For the URL's host, expired.
    Expired,
}

impl std::fmt::Display for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Certificate::Good => f.write_str("a current certificate for 127.0.0.1"),
            Certificate::WrongName => write!(f, "a current certificate for {WRONG_NAME} only"),
            Certificate::Expired => f.write_str("an expired certificate for 127.0.0.1"),
        }
    }
}

/// The one name a [`Certificate::WrongName`] certificate is for.
pub const WRONG_NAME: &str = "wrong-name.siospec.invalid";

/// The driver's state, shared with the tasks that read its output.
#[derive(Default)]
struct Output {
    /// Its stdout lines that parsed as JSON objects, with their time.
    lines: Vec<(f64, serde_json::Value)>,
    /// Its stderr, at most [`MAX_STDERR`] bytes (the tail).
    stderr: String,
    /// How it ended, once it has.
    exited: Option<String>,
}

/// The driver's stderr and exit, readable after the case is gone (a case
/// that times out is dropped, and its report still shows them).
#[derive(Clone, Default)]
pub struct Driver {
    output: Arc<Mutex<Output>>,
    changed: Arc<Notify>,
}

impl Driver {
    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        self.lock().stderr.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one line the client printed: traced, and kept when it is a
    /// JSON object.
    pub(crate) fn take_line(&self, trace: &Trace, text: &str) {
        trace.note(format!("client: {text}"));
        if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_str(text) {
            self.lock().lines.push((trace.elapsed_ms(), v));
            self.changed.notify_waiters();
        }
    }

    /// Takes text the client wrote to stderr, keeping the last
    /// [`MAX_STDERR`] bytes.
    pub(crate) fn take_stderr(&self, text: &str) {
        let mut out = self.lock();
        out.stderr.push_str(text);
        if out.stderr.len() > MAX_STDERR {
            let cut = out.stderr.len() - MAX_STDERR;
            let cut = (cut..out.stderr.len())
                .find(|&i| out.stderr.is_char_boundary(i))
                .unwrap_or(cut);
            out.stderr.drain(..cut);
        }
    }
}

/// Everything a client case's run function gets.
pub struct Ctx {
    /// The case's id.
    pub id: String,
    /// The client under test.
    pub client: Client,
    /// `--time-scale`.
    pub scale: f64,
    /// The case's trace.
    pub trace: Arc<Trace>,
    /// The Socket.IO parser the scripted server and the client speak.
    pub parser: Parser,
    driver: Driver,
    server: Option<(Server, Arc<Script>)>,
    /// Dropping it kills the driver's process group.
    kill: Option<oneshot::Sender<()>>,
    /// Dropping it ends the case at a served client.
    handed: Option<Handed>,
}

impl Ctx {
    /// A context for `client`; `driver` is the runner's view of its output.
    pub fn new(id: &str, client: Client, scale: f64, trace: Arc<Trace>, driver: Driver) -> Ctx {
        Ctx {
            id: id.to_owned(),
            client,
            scale,
            trace,
            parser: Parser::Default,
            driver,
            server: None,
            kill: None,
            handed: None,
        }
    }

    /// `ms` milliseconds, scaled.
    pub fn ms(&self, ms: u64) -> Duration {
        Duration::from_secs_f64(ms as f64 * self.scale / 1000.0)
    }

    /// The timings the scripted server advertises by default.
    pub fn conf(&self) -> Expected {
        Expected::reference()
    }

    /// Starts the case's scripted server on a free loopback port.
    /// With the msgpack parser, a case that rewrites or injects text
    /// packets is SKIPPED as not applicable.
    pub async fn serve(&mut self, mut setup: Setup) -> Result<SocketAddr, Stop> {
        if self.parser != Parser::Default
            && (setup.plan.rewrite.is_some() || setup.plan.rewrite_polling.is_some())
        {
            return Err(self.not_applicable("rewrites the server's text packets"));
        }
        setup.options.socket.parser = self.parser;
        if let Some(files) = &self.client.tls {
            let presented = match setup.certificate {
                Certificate::Good => Ok(files.server.clone()),
                Certificate::WrongName => files.server_for(&[WRONG_NAME], Validity::Current),
                Certificate::Expired => files.server_for(&LOOPBACK_NAMES, Validity::Expired),
            };
            setup.options.tls = Some(presented.map_err(Stop::Harness)?);
        }
        let script = Script::new(setup.plan, self.trace.clone());
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server = Server::scripted(addr, setup.options, script.clone())
            .await
            .map_err(|e| Stop::Harness(format!("the scripted server did not start: {e}")))?;
        let addr = server.addr();
        let url = self.url_of(addr);
        self.trace
            .note(match (&self.client.tls, setup.certificate) {
                (None, _) => format!("scripted server listening on {url}"),
                (Some(_), certificate) => format!(
                    "scripted server listening on {url}, presenting {certificate} (CA: SIOSPEC_CA)"
                ),
            });
        self.server = Some((server, script));
        Ok(addr)
    }

    /// The base URL of a scripted server at `addr`: https over TLS.
    fn url_of(&self, addr: SocketAddr) -> String {
        match self.client.tls {
            Some(_) => format!("https://{addr}"),
            None => format!("http://{addr}"),
        }
    }

    /// Whether the client is tested over TLS (`--tls`).
    pub fn over_tls(&self) -> bool {
        self.client.tls.is_some()
    }

    fn script(&self) -> Result<&Arc<Script>, Stop> {
        self.server
            .as_ref()
            .map(|(_, s)| s)
            .ok_or_else(|| Stop::Harness("harness bug: the case started no server".into()))
    }

    /// Starts the driver with the contract's environment: `SIOSPEC_URL` and
    /// `{url}` for the server's base URL, plus `env`.
    /// With the msgpack parser, `SIOSPEC_PARSER=msgpack` too.
    pub fn start(&mut self, env: &[(&str, &str)]) -> Result<(), Stop> {
        let mut env = env.to_vec();
        if self.parser != Parser::Default {
            env.push(("SIOSPEC_PARSER", self.parser.name()));
        }
        let ca = (self.client.tls.as_ref()).map(|files| files.ca.display().to_string());
        if let Some(ca) = &ca {
            env.push(("SIOSPEC_CA", ca));
        }
        let env = env.as_slice();
        let addr = match &self.server {
            Some((server, _)) => server.addr(),
            None => return Err(Stop::Harness("harness bug: start before serve".into())),
        };
        let url = self.url_of(addr);
        if let Some(remote) = self.client.remote() {
            let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.trace.note(format!(
                "case handed to the served client: {url} {}",
                shown.join(" ")
            ));
            self.handed = Some(
                remote
                    .hand(&self.id, &url, env, self.driver.clone(), self.trace.clone())
                    .ok_or_else(|| {
                        Stop::Fail("the served client was not there to take the case".into())
                    })?,
            );
            return Ok(());
        }
        let args: Vec<String> = self
            .client
            .args
            .iter()
            .map(|a| a.replace("{url}", &url))
            .collect();
        let mut cmd = tokio::process::Command::new(&self.client.program);
        cmd.args(&args)
            .env("SIOSPEC_URL", &url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, so the whole of it (a shell and its
            // children) is killed at the end of the case.
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.client.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.client.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.trace.note(format!(
            "client started: {} {} {}",
            shown.join(" "),
            self.client.program.display(),
            args.join(" ")
        ));
        let mut child = cmd.spawn().map_err(|e| {
            Stop::Harness(format!(
                "cannot start the client `{}`: {e}",
                self.client.program.display()
            ))
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(Stop::Harness("the client's output is not piped".into()));
        };
        let (kill, killed) = oneshot::channel::<()>();
        self.kill = Some(kill);
        let (driver, trace) = (self.driver.clone(), self.trace.clone());
        let (drained, stdout_done) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _drained = drained;
            let mut reader = BufReader::new(stdout);
            let mut read = 0;
            let mut line = Vec::new();
            loop {
                if read >= MAX_STDOUT {
                    trace.note(format!(
                        "client: stdout reached {MAX_STDOUT} bytes; the rest is not read"
                    ));
                    break;
                }
                line.clear();
                let limit = (MAX_LINE + 1).min(MAX_STDOUT - read) as u64;
                match (&mut reader).take(limit).read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
                let ended = line.last() == Some(&b'\n');
                if !ended && line.len() > MAX_LINE {
                    trace.note(format!(
                        "client: a stdout line over {MAX_LINE} bytes, cut: {}",
                        String::from_utf8_lossy(&line[..200])
                    ));
                    // The rest of that line is dropped as it is read.
                    let mut rest = Vec::new();
                    loop {
                        rest.clear();
                        let limit = MAX_LINE.min(MAX_STDOUT - read) as u64;
                        match (&mut reader).take(limit).read_until(b'\n', &mut rest).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => read += n,
                        }
                        if rest.last() == Some(&b'\n') || read >= MAX_STDOUT {
                            break;
                        }
                    }
                    continue;
                }
                let text = String::from_utf8_lossy(&line);
                driver.take_line(&trace, text.trim_end_matches(['\n', '\r']));
            }
        });
        let driver = self.driver.clone();
        tokio::spawn(async move {
            let mut stderr = stderr;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                driver.take_stderr(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (driver, trace) = (self.driver.clone(), self.trace.clone());
        tokio::spawn(async move {
            let pid = child.id();
            tokio::select! {
                status = child.wait() => {
                    let how = match status {
                        Ok(s) => s.to_string(),
                        Err(e) => format!("unknown ({e})"),
                    };
                    // Its last lines first: the exit is noted once stdout is
                    // read to its end (or a process it left holds it open).
                    let _ = tokio::time::timeout(STDOUT_DRAIN, stdout_done).await;
                    trace.note(format!("client exited: {how}"));
                    driver.lock().exited = Some(how);
                    driver.changed.notify_waiters();
                }
                // The case ended (or was dropped): nothing of the client
                // outlives it.
                _ = killed => {}
            }
            if let Some(pid) = pid {
                kill_group(pid);
            }
            let _ = child.start_kill();
            let _ = child.wait().await;
        });
        Ok(())
    }

    /// Waits up to `wait_ms` (scaled) for a stdout line `pick` maps to
    /// `Some`; FAILED with `what` when it does not come or the client exits.
    pub async fn line<T>(
        &self,
        what: &str,
        wait_ms: u64,
        mut pick: impl FnMut(&serde_json::Value) -> Option<T>,
    ) -> Result<T, Stop> {
        let deadline = tokio::time::Instant::now() + self.ms(wait_ms);
        let mut from = 0;
        loop {
            let changed = self.driver.changed.notified();
            {
                let out = self.driver.lock();
                for (_, v) in &out.lines[from..] {
                    if let Some(found) = pick(v) {
                        return Ok(found);
                    }
                }
                from = out.lines.len();
                if let Some(how) = &out.exited {
                    return Err(Stop::Fail(format!(
                        "the client exited ({how}) before reporting {what}"
                    )));
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(Stop::Fail(format!(
                    "the client did not report {what} within {} ms",
                    self.ms(wait_ms).as_millis()
                )));
            }
        }
    }

    /// Waits for the `event` line (`connect`, `disconnect`, …) of
    /// `namespace`.
    pub async fn event(
        &self,
        event: &str,
        namespace: &str,
        wait_ms: u64,
    ) -> Result<serde_json::Value, Stop> {
        self.line(&format!("`{event}` on {namespace}"), wait_ms, |v| {
            (v["event"] == event && v["namespace"] == namespace).then(|| v.clone())
        })
        .await
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.driver
            .lock()
            .lines
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// How the client ended, if it has.
    pub fn exited(&self) -> Option<String> {
        self.driver.lock().exited.clone()
    }

    /// Waits up to `wait_ms` (scaled) for an observation of the server
    /// `pick` maps to `Some`; FAILED with `what` when none comes.
    pub async fn saw<T>(
        &self,
        what: &str,
        wait_ms: u64,
        pick: impl FnMut(&Observation) -> Option<T>,
    ) -> Result<T, Stop> {
        let wait = self.ms(wait_ms);
        self.script()?.wait_for(wait, pick).await.ok_or_else(|| {
            Stop::Fail(format!(
                "the server did not see {what} within {} ms",
                wait.as_millis()
            ))
        })
    }

    /// Everything the server saw so far.
    pub fn seen(&self) -> Vec<Observation> {
        self.server
            .as_ref()
            .map(|(_, s)| s.seen())
            .unwrap_or_default()
    }

    /// SKIPPED with a parser other than the default: the case `does` what
    /// only the default parser's text format can express.
    pub fn text_format_only(&self, does: &str) -> Result<(), Stop> {
        match self.parser {
            Parser::Default => Ok(()),
            _ => Err(self.not_applicable(does)),
        }
    }

    /// Why the case is not applicable with this parser: it `does` what only
    /// the default parser's text format can express.
    fn not_applicable(&self, does: &str) -> Stop {
        Stop::Skipped(format!(
            "n/a with the {} parser: the case {does}, which only the default parser's text format can express",
            self.parser
        ))
    }

    /// Tells the server to act now. With the msgpack parser, packets put
    /// into a polling response as text have no meaning: the case is
    /// SKIPPED as not applicable (a raw frame is the case's to choose).
    pub fn control(&self, control: Control) -> Result<(), Stop> {
        if let Control::InjectPolling(raw) = &control {
            self.text_format_only(&format!("puts {raw:?} in a polling response"))?;
        }
        self.trace.note(format!("control: {control:?}"));
        if self.script()?.control(control) {
            Ok(())
        } else {
            Err(Stop::Fail(
                "the client has no session left on the server".into(),
            ))
        }
    }

    /// The contract's instruction: the event `do` with `instruction` on `/`.
    pub fn instruct(&self, instruction: serde_json::Value) -> Result<(), Stop> {
        self.control(Control::Emit {
            namespace: "/".into(),
            data: Value::Array(vec![Value::String("do".into()), instruction.into()]),
        })
    }

    /// Stops the server (sessions end with `forced close`).
    pub async fn stop_server(&mut self) {
        if let Some((server, _)) = self.server.take() {
            server.shutdown(SHUTDOWN_GRACE).await;
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // Dropping the sender ends the watcher's wait: it kills the group.
        self.kill.take();
        // And a served client is told the case is over.
        self.handed.take();
    }
}

/// Kills the process group `pgid` (the driver and whatever it started).
fn kill_group(pgid: u32) {
    let pid = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    // The group leader is the driver itself (`process_group(0)`), never
    // this process's group.
    if let Some(pid) = pid.filter(|p| p.as_raw_nonzero().get() != std::process::id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// How long the probe waits for a client's first request.
const PROBE_WAIT_MS: u64 = 10_000;

/// Starts `client` once against a scripted server and waits for its first
/// request: a command that makes none (a typo, a library not installed, a
/// driver that reads another variable) is the user's to fix, one clear
/// message rather than every case FAILED. The finding for the report.
pub(crate) async fn probe(client: &Client) -> Result<String, String> {
    let trace = Trace::new();
    let driver = Driver::default();
    let mut cx = Ctx::new("probe", client.clone(), 1.0, trace, driver.clone());
    let said = |stop: Stop| match stop {
        Stop::Fail(m) | Stop::Unsupported(m) | Stop::Harness(m) | Stop::Skipped(m) => m,
    };
    let addr = cx.serve(Setup::default()).await.map_err(said)?;
    let url = cx.url_of(addr);
    cx.start(&[]).map_err(said)?;
    // Until the first request, or the client's end: one that exits
    // without a request will not make one.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(PROBE_WAIT_MS);
    let first = loop {
        let request = cx.seen().iter().find_map(|o| match &o.seen {
            crate::server::script::Seen::Request { .. } => Some(o.t_ms),
            _ => None,
        });
        // A handshake the client gave up will not become a request either.
        let refused_tls = cx.script().is_ok_and(|s| !s.tls_failures().is_empty());
        if request.is_some()
            || cx.exited().is_some()
            || refused_tls
            || tokio::time::Instant::now() >= deadline
        {
            break request;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    match first {
        Some(t_ms) => Ok(format!(
            "client: started by each case as `{} {}` (client contract {CLIENT_CONTRACT}); its \
             first request came {t_ms:.0} ms after the start",
            client.program.display(),
            client.args.join(" "),
        )),
        None => {
            let tls_failures = cx.script().map(|s| s.tls_failures()).unwrap_or_default();
            let what = match (cx.exited(), tls_failures.first()) {
                (_, Some(why)) => {
                    format!("failed its TLS handshake ({why}, as the server saw it) with")
                }
                (Some(how), None) => format!("exited ({how}) without a request to"),
                (None, None) => format!("made no request within {} s to", PROBE_WAIT_MS / 1000),
            };
            let stderr = driver.stderr();
            let tail: Vec<&str> = stderr.lines().collect();
            let tail = tail[tail.len().saturating_sub(8)..].join("\n  ");
            Err(format!(
                "the client `{} {}` {what} a scripted server at {url}; a driver \
                 connects to the URL given as {{url}} or in SIOSPEC_URL{} \
                 (harness/CLIENT-CONTRACT.md){}",
                client.program.display(),
                client.args.join(" "),
                if client.tls.is_some() {
                    ", trusting the CA in SIOSPEC_CA"
                } else {
                    ""
                },
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("; its stderr ends:\n  {tail}")
                }
            ))
        }
    }
}

/// A served client's program, started once for the whole run (a browser on
/// the control server's page); dropping it kills its process group.
pub(crate) struct Launched {
    child: tokio::process::Child,
}

impl Launched {
    /// Starts `client`'s program with `{url}` standing for `url`.
    pub(crate) fn start(client: &Client, url: &str) -> Result<Launched, String> {
        let args: Vec<String> = client
            .args
            .iter()
            .map(|a| a.replace("{url}", url))
            .collect();
        let mut cmd = tokio::process::Command::new(&client.program);
        cmd.args(&args)
            .stdin(Stdio::null())
            // A browser's own chatter is not the client's report; the page
            // posts its errors to the control server.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &client.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &client.env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", client.program.display()))?;
        Ok(Launched { child })
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            kill_group(pid);
        }
    }
}

/// A value in the client contract's JSON form (harness/CLIENT-CONTRACT.md):
/// bytes as `{"$binary": base64}`; what drivers print and siospec's own
/// client (`siospec client`) writes.
///
/// ```
/// use siospec::case::client::to_json;
/// use siospec_codec::socket::binary::Value;
///
/// let v = Value::Array(vec![Value::String("a".into()), Value::Binary(vec![1, 2])]);
/// assert_eq!(to_json(&v).to_string(), r#"["a",{"$binary":"AQI="}]"#);
/// ```
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        // The contract's form is JSON, which has no `undefined` (msgpack data
        // only): shown as JSON shows it in an array.
        Value::Null | Value::Undefined => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => json!(s),
        Value::Array(items) => items.iter().map(to_json).collect(),
        Value::Object(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Binary(bytes) => {
            json!({ "$binary": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }
    }
}

/// [`to_json`]'s form read back, as JSON parsed into a value: an object
/// `{"$binary": base64}` is bytes (an instruction's `args`).
///
/// ```
/// use siospec::case::client::from_json;
/// use siospec_codec::socket::binary::Value;
///
/// let b64 = Value::Object(vec![("$binary".into(), Value::String("AQI=".into()))]);
/// assert_eq!(from_json(&b64), Value::Binary(vec![1, 2]));
/// ```
pub fn from_json(v: &Value) -> Value {
    match v {
        Value::Object(entries) => match entries.as_slice() {
            [(k, Value::String(b64))] if k == "$binary" => {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => Value::Binary(bytes),
                    Err(_) => v.clone(),
                }
            }
            _ => Value::Object(
                entries
                    .iter()
                    .map(|(k, x)| (k.clone(), from_json(x)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        other => other.clone(),
    }
}
