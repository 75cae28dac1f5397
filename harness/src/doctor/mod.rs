//! `siospec doctor`: a read-only diagnosis of a deployed Socket.IO endpoint
//! — what sits around the server rather than the server itself: the
//! reverse proxy (WebSocket upgrade headers, read timeouts), the load
//! balancer (sticky sessions), CORS, TLS, compression and the advertised
//! settings. Every check says what it found and, for each problem, the
//! likely fix: an nginx directive, a load-balancer setting or a server
//! option (shared/reference/beyond-servers.md §5 lists the failures users
//! hit).
//!
//! A check is about one thing only: a fault shows up in the check about it,
//! and the checks that cannot run because of it are SKIPPED with the reason,
//! never counted twice.

mod client;
mod cors;
pub mod html;
mod idle;
mod settings;
mod sticky;
mod tls;
mod transports;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use siospec_codec::engine::handshake::Handshake;

use crate::probe::{self, Offer, Paths};
use crate::tls::{Origin, Trust};
use crate::trace::Trace;

use client::Client;

/// Schema of the JSON `--json` prints and the report's `doctor.json`.
pub const SCHEMA: &str = "siospec-doctor/1";

/// What to diagnose, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The endpoint: `http(s)://host[:port][/path/]`.
    pub url: String,
    /// The Socket.IO path when the URL names none (`--path`).
    pub path: Option<String>,
    /// Certificates: `--ca`, `--insecure`.
    pub trust: Trust,
    /// The page origin to check CORS for (`--origin`).
    pub origin: Option<String>,
    /// Polling requests of one session, each on a new connection, in the
    /// stickiness check (`--rounds`).
    pub rounds: usize,
    /// Keep the idle connections past the common proxy timeouts (60 s), not
    /// only past pingInterval + pingTimeout (`--long`).
    pub long: bool,
}

impl Options {
    /// A diagnosis of `url` with the defaults: 5 rounds, no CORS origin.
    pub fn new(url: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            path: None,
            trust: Trust::default(),
            origin: None,
            rounds: DEFAULT_ROUNDS,
            long: false,
        }
    }
}

/// Polling requests in the stickiness check unless `--rounds` says.
pub const DEFAULT_ROUNDS: usize = 5;

/// How long a connection is kept idle with `--long`: past the 60 s read
/// timeouts of nginx and AWS load balancers by default.
pub const LONG_IDLE: Duration = Duration::from_secs(65);

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Works as clients need it.
    Ok,
    /// Clients fail or degrade because of it; the fix says what to change.
    Problem,
    /// Works now, but is fragile or degrades some clients.
    Warning,
    /// A fact worth knowing, not judged.
    Info,
    /// Not checked, with the reason (another check's problem, a missing flag).
    Skipped,
}

impl Status {
    /// The word in text output and reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Problem => "PROBLEM",
            Status::Warning => "WARNING",
            Status::Info => "INFO",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable id (`transport.websocket`, `sticky`, …); never renumbered.
    pub id: &'static str,
    /// What it checks, in a few words.
    pub title: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found, in a sentence or two.
    pub found: String,
    /// For a problem or warning: what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The exchanges the check made, one line each.
    pub trace: Vec<String>,
    /// How long it took.
    pub millis: u64,
}

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The endpoint as diagnosed (`http://host:port/socket.io/`).
    pub url: String,
    /// Every check, in the order they ran.
    pub checks: Vec<Check>,
    /// How long the whole diagnosis took.
    pub millis: u64,
}

impl Diagnosis {
    /// How many checks came out `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// 0 when no check found a problem, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.count(Status::Problem) > 0)
    }

    /// The check with `id`.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The ids of the checks that found a problem.
    pub fn problems(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Problem)
            .map(|c| c.id)
            .collect()
    }

    /// Plain text: one line per check, a `fix:` line under each problem
    /// and warning, and the totals.
    pub fn text(&self) -> String {
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let mut out = format!("siospec doctor {}\n\n", self.url);
        for c in &self.checks {
            out.push_str(&format!(
                "{:<8} {:<width$}  {}\n",
                c.status.label(),
                c.id,
                c.found
            ));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("{:<8} {:<width$}  fix: {fix}\n", "", ""));
            }
        }
        out.push_str(&format!(
            "\n{} problem(s), {} warning(s), {} OK, {} skipped ({:.1} s)\n",
            self.count(Status::Problem),
            self.count(Status::Warning),
            self.count(Status::Ok),
            self.count(Status::Skipped),
            self.millis as f64 / 1000.0
        ));
        out
    }

    /// The JSON document (schema [`SCHEMA`]).
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// A usage error: the diagnosis could not start (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What every check may look at: the target, and what the checks before
/// it found.
pub(crate) struct Ctx {
    pub origin: Origin,
    pub path: String,
    pub options: Options,
    /// The Socket.IO (or bare Engine.IO) server the probe found.
    pub offer: Offer,
    /// Its handshake.
    pub handshake: Handshake,
}

impl Ctx {
    /// A client for one check, tracing into `trace`.
    fn client(&self, trace: &Arc<Trace>) -> Client {
        Client::new(
            &self.origin,
            &self.path,
            self.offer.socket_io,
            trace.clone(),
        )
    }
}

/// A check's outcome before its trace and time are attached.
pub(crate) struct Outcome {
    status: Status,
    found: String,
    fix: Option<String>,
}

impl Outcome {
    fn ok(found: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Ok,
            found: found.into(),
            fix: None,
        }
    }
    fn problem(found: impl Into<String>, fix: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Problem,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
    fn warning(found: impl Into<String>, fix: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Warning,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
    fn info(found: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Info,
            found: found.into(),
            fix: None,
        }
    }
    fn skipped(why: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Skipped,
            found: why.into(),
            fix: None,
        }
    }
}

/// Runs one check with a trace of its own.
async fn run_check<F, Fut>(
    id: &'static str,
    title: &'static str,
    progress: &dyn Fn(&str),
    f: F,
) -> Check
where
    F: FnOnce(Arc<Trace>) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    progress(&format!("{id}: {title}"));
    let trace = Trace::new();
    let started = Instant::now();
    let outcome = f(trace.clone()).await;
    finish(id, title, outcome, &trace, started)
}

fn finish(
    id: &'static str,
    title: &'static str,
    outcome: Outcome,
    trace: &Trace,
    started: Instant,
) -> Check {
    let (events, dropped) = trace.snapshot();
    let mut lines: Vec<String> = events.iter().map(|e| e.line()).collect();
    if dropped > 0 {
        lines.push(format!("… {dropped} more event(s) not recorded"));
    }
    Check {
        id,
        title,
        status: outcome.status,
        found: outcome.found,
        fix: outcome.fix,
        trace: lines,
        millis: started.elapsed().as_millis() as u64,
    }
}

fn skipped(id: &'static str, title: &'static str, why: impl Into<String>) -> Check {
    Check {
        id,
        title,
        status: Status::Skipped,
        found: why.into(),
        fix: None,
        trace: Vec::new(),
        millis: 0,
    }
}

/// Every check, in the order they run, with its title (the probe's
/// problem skips the ones after it).
pub const CHECKS: [(&str, &str); 10] = [
    ("tls", "certificate validity and expiry"),
    (
        "probe",
        "an Engine.IO / Socket.IO server answers at the path",
    ),
    (
        "transport.polling",
        "a session opens over HTTP long-polling",
    ),
    (
        "transport.websocket",
        "the WebSocket handshake passes (101)",
    ),
    ("sticky", "every request of a session reaches the same node"),
    (
        "transport.upgrade",
        "a polling session upgrades to WebSocket",
    ),
    ("idle", "idle connections survive the heartbeat period"),
    ("cors", "a page at --origin may connect"),
    ("compression", "what compression is negotiated"),
    ("settings", "the advertised timings suit common proxies"),
];

fn title(id: &str) -> &'static str {
    CHECKS.iter().find(|(i, _)| *i == id).map_or("", |(_, t)| t)
}

/// `url` with the default port of its scheme when it names none, the
/// origin it designates and the Socket.IO path (the URL's, else
/// `--path`, else `/socket.io/`).
fn target_of(options: &Options) -> Result<(String, Origin, String), UsageError> {
    let url = options.url.trim();
    let (rest, tls) = crate::tls::split_scheme(url).ok_or_else(|| {
        UsageError(format!(
            "URL must start with http://, https://, ws:// or wss://: {url:?}"
        ))
    })?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(UsageError(format!("URL must name a host: {url:?}")));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']');
    let authority = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    let scheme = if tls { "https" } else { "http" };
    let origin =
        Origin::parse(&format!("{scheme}://{authority}"), &options.trust).map_err(UsageError)?;
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = if path.trim_matches('/').is_empty() {
        options
            .path
            .clone()
            .unwrap_or_else(|| "/socket.io/".to_owned())
    } else {
        path.to_owned()
    };
    let path = Paths::new(&path, "/engine.io/").socket;
    Ok((format!("{scheme}://{authority}{path}"), origin, path))
}

/// Diagnoses the endpoint of `options`, telling `progress` which check
/// runs. `Err` only for a usage error (a URL that cannot be read, a `--ca`
/// that cannot be loaded); everything the endpoint does is a check.
pub async fn diagnose(options: &Options, progress: &dyn Fn(&str)) -> Result<Diagnosis, UsageError> {
    if options.rounds == 0 {
        return Err(UsageError("--rounds must be at least 1".to_owned()));
    }
    let started = Instant::now();
    let (url, origin, path) = target_of(options)?;
    let mut checks = Vec::new();
    let done = |checks: Vec<Check>| Diagnosis {
        schema: SCHEMA,
        url: url.clone(),
        checks,
        millis: started.elapsed().as_millis() as u64,
    };

    let tls = run_check("tls", title("tls"), progress, |trace| {
        tls::check(&origin, trace)
    })
    .await;
    let tls_refused = tls.status == Status::Problem && !options.trust.insecure;
    checks.push(tls);

    let probe_trace = Trace::new();
    let probe_started = Instant::now();
    progress("probe: what answers at the path");
    let probed = if tls_refused {
        Err(Outcome::skipped(
            "the certificate is refused (see tls); pass --insecure to check the rest",
        ))
    } else {
        probe_at(&origin, &path, probe_trace.clone()).await
    };
    let (offer, handshake) = match probed {
        Ok(found) => {
            checks.push(finish(
                "probe",
                title("probe"),
                Outcome::ok(found.2),
                &probe_trace,
                probe_started,
            ));
            (found.0, found.1)
        }
        Err(outcome) => {
            checks.push(finish(
                "probe",
                title("probe"),
                outcome,
                &probe_trace,
                probe_started,
            ));
            for (id, t) in &CHECKS[2..] {
                checks.push(skipped(id, t, "no Engine.IO server to check (see probe)"));
            }
            return Ok(done(checks));
        }
    };
    let cx = Ctx {
        origin,
        path,
        options: options.clone(),
        offer,
        handshake,
    };

    checks.push(
        run_check(
            "transport.polling",
            title("transport.polling"),
            progress,
            |t| transports::polling(&cx, t),
        )
        .await,
    );
    let websocket = run_check(
        "transport.websocket",
        title("transport.websocket"),
        progress,
        |t| transports::websocket(&cx, t),
    )
    .await;
    let websocket_ok = websocket.status == Status::Ok;
    checks.push(websocket);
    let sticky = run_check("sticky", title("sticky"), progress, |t| {
        sticky::check(&cx, t)
    })
    .await;
    let sticky_ok = sticky.status != Status::Problem;
    checks.push(sticky);
    let upgrade = if !cx.offer.polling {
        skipped(
            "transport.upgrade",
            title("transport.upgrade"),
            "the server offers no polling to upgrade from",
        )
    } else if !websocket_ok {
        skipped(
            "transport.upgrade",
            title("transport.upgrade"),
            "WebSocket connections do not open (see transport.websocket)",
        )
    } else {
        run_check(
            "transport.upgrade",
            title("transport.upgrade"),
            progress,
            |t| transports::upgrade(&cx, sticky_ok, t),
        )
        .await
    };
    checks.push(upgrade);
    let hold = idle::hold(&cx);
    let idle_title = title("idle");
    progress(&format!(
        "idle: keeping a connection idle for {:.0} s",
        hold.as_secs_f64()
    ));
    checks.push(
        run_check("idle", idle_title, &|_| {}, |t| {
            idle::check(&cx, hold, websocket_ok, sticky_ok, t)
        })
        .await,
    );
    checks.push(run_check("cors", title("cors"), progress, |t| cors::check(&cx, t)).await);
    checks.push(
        run_check("compression", title("compression"), progress, |t| {
            settings::compression(&cx, websocket_ok, t)
        })
        .await,
    );
    checks.push(
        run_check("settings", title("settings"), progress, |_| async {
            settings::timings(&cx)
        })
        .await,
    );
    Ok(done(checks))
}

/// The probe at the path: the offer, its handshake and the probe's line,
/// or the check's problem.
async fn probe_at(
    origin: &Origin,
    path: &str,
    trace: Arc<Trace>,
) -> Result<(Offer, Handshake, String), Outcome> {
    let paths = Paths::new(path, path);
    let probed =
        match probe::probe_traced(origin, &paths, trace.clone()).await {
            Ok(p) => p,
            Err(refusal) => return Err(Outcome::problem(
                refusal.to_string(),
                "point the URL at the Socket.IO endpoint (host, port and path); behind a proxy, \
                 check that its location for the path passes requests to the application \
                 (nginx: `location /socket.io/ { proxy_pass http://app; }`)",
            )),
        };
    let line = probed
        .findings
        .iter()
        .find(|f| f.contains(path))
        .cloned()
        .unwrap_or_default();
    let Some(mut offer) = probed.socket else {
        return Err(Outcome::problem(
            format!("no Engine.IO server at {path}"),
            "check --path and the proxy's location for it",
        ));
    };
    let Some(handshake) = offer.v4.as_ref().and_then(|o| o.handshake.clone()) else {
        let why = match (&offer.v4, &offer.v3) {
            (Some(o), _) => format!(
                "its EIO=4 open packet cannot be read ({})",
                o.problem.clone().unwrap_or_default()
            ),
            (None, Some(_)) => "it speaks EIO=3 only (Socket.IO 2.x); doctor checks EIO=4 \
                                deployments"
                .to_owned(),
            (None, None) => "no EIO=4 session opens".to_owned(),
        };
        return Err(Outcome::problem(
            format!("{line}: {why}"),
            "run `siospec test server --url URL` to see what the server does",
        ));
    };
    let mut line = line;
    if !offer.socket_io && !offer.echo && offer.websocket {
        // The probe asks over polling, a request per connection: behind a
        // balancer that is not sticky its CONNECT and the GET for the reply
        // reach different nodes. One WebSocket stays on one node.
        let client = Client::new(origin, path, true, trace);
        if client::socket_io_over_websocket(&client, &handshake).await {
            offer.socket_io = true;
            line = line.replace(
                "Engine.IO, neither Socket.IO nor an echo",
                "Socket.IO (seen over WebSocket: over polling, the probe's CONNECT went \
                 unanswered)",
            );
        }
    }
    Ok((offer, handshake, line))
}

/// Where `doctor` writes its report unless told.
pub const DEFAULT_REPORT_DIR: &str = "siospec-reports/doctor";

/// Writes `doctor.html` and `doctor.json` into `dir`; returns the HTML's path.
pub fn write_report(diagnosis: &Diagnosis, dir: &std::path::Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("doctor.json"), diagnosis.json())?;
    let page = dir.join("doctor.html");
    std::fs::write(&page, html::page(diagnosis))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(ping_interval: u64, ping_timeout: u64, long: bool) -> Ctx {
        let mut options = Options::new("http://127.0.0.1:3000");
        options.long = long;
        Ctx {
            origin: Origin::plain("127.0.0.1:3000"),
            path: "/socket.io/".to_owned(),
            options,
            offer: Offer {
                path: "/socket.io/".to_owned(),
                v4: None,
                v3: None,
                v3_refusal: None,
                polling: true,
                websocket: true,
                socket_io: true,
                msgpack: false,
                echo: false,
            },
            handshake: Handshake {
                sid: "s".to_owned(),
                upgrades: vec!["websocket".to_owned()],
                ping_interval,
                ping_timeout,
                max_payload: Some(1_000_000),
            },
        }
    }

    #[test]
    fn the_idle_hold_covers_the_heartbeat_and_with_long_the_proxy_timeouts() {
        assert_eq!(
            idle::hold(&ctx(25_000, 20_000, false)),
            Duration::from_secs(47)
        );
        assert_eq!(idle::hold(&ctx(25_000, 20_000, true)), LONG_IDLE);
        assert_eq!(
            idle::hold(&ctx(90_000, 20_000, true)),
            Duration::from_secs(112)
        );
    }

    #[test]
    fn a_ping_interval_beyond_common_proxy_timeouts_is_a_warning() {
        assert_eq!(
            settings::timings(&ctx(25_000, 20_000, false)).status,
            Status::Ok
        );
        let slow = settings::timings(&ctx(60_000, 20_000, false));
        assert_eq!(slow.status, Status::Warning);
        assert!(slow.fix.is_some_and(|f| f.contains("above 85 s")));
    }

    #[test]
    fn urls_get_their_scheme_port_and_path() {
        let (url, origin, path) = target_of(&Options::new("https://example.com")).unwrap();
        assert_eq!(url, "https://example.com:443/socket.io/");
        assert!(origin.is_tls());
        assert_eq!(path, "/socket.io/");
        let (url, _, _) = target_of(&Options::new("ws://h:8080/chat?x=1")).unwrap();
        assert_eq!(url, "http://h:8080/chat/");
        let mut with_path = Options::new("http://h:1");
        with_path.path = Some("io".to_owned());
        assert_eq!(target_of(&with_path).unwrap().0, "http://h:1/io/");
    }
}
