//! Serve mode (`siospec test client --serve`): for a client siospec cannot
//! start once per case (a browser, an app on a device, anything behind a
//! UI), a control server the client asks for its cases, one after another,
//! as Autobahn's fuzzingserver does. Each case still gets a scripted server
//! of its own; the control server only hands the client that server's URL
//! and the case's options, takes the lines the client would have printed,
//! and says when the case is over. The protocol is harness/CLIENT-CONTRACT.md,
//! "Serve mode":
//!
//! * `GET /siospec/cases`: `{"contract":1,"count":N,"ids":[…]}`;
//! * `GET /siospec/next`: waits for the next case and answers
//!   `{"case":K,"id":"…","url":"http://127.0.0.1:PORT","env":{"SIOSPEC_…":"…"}}`,
//!   or `{"done":true}` once every case has run;
//! * `POST /siospec/case/K/lines`: lines the client reports, one JSON object
//!   per line, as a driver prints them;
//! * `POST /siospec/case/K/stderr`: text for the report (errors, logs);
//! * `GET /siospec/case/K/end`: waits until case K is over (the client then
//!   closes its connections and asks for the next one);
//! * any other `GET`: a file of the served folder (`index.html` for `/`), if
//!   there is one.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Notify};

use super::client::{Driver, CLIENT_CONTRACT, MAX_STDOUT};
use crate::trace::Trace;

/// The largest request body the control server takes (one batch of lines).
const MAX_BODY: usize = MAX_STDOUT;

/// The largest file it serves.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// The case a client is running now.
struct Current {
    /// Its number, from 1, in the order the cases were handed out.
    number: usize,
    driver: Driver,
    trace: Arc<Trace>,
}

#[derive(Default)]
struct State {
    /// The selected cases' ids, in run order.
    ids: Vec<String>,
    /// A client's `GET /siospec/next`, waiting for a case.
    waiting: Option<oneshot::Sender<serde_json::Value>>,
    current: Option<Current>,
    /// How many cases were handed out.
    handed: usize,
    /// Every case has run.
    done: bool,
}

/// The control server of serve mode.
pub struct Remote {
    addr: SocketAddr,
    files: Option<PathBuf>,
    state: Mutex<State>,
    /// A client came asking for a case.
    arrived: Notify,
    /// The number of the last case that ended (0: none yet).
    ended: watch::Sender<usize>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("addr", &self.addr)
            .field("files", &self.files)
            .finish()
    }
}

/// A case handed to the client: dropping it ends the case there.
#[derive(Debug)]
pub struct Handed {
    remote: Arc<Remote>,
    number: usize,
}

impl Drop for Handed {
    fn drop(&mut self) {
        let mut state = self.remote.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.number == self.number)
        {
            state.current = None;
        }
        drop(state);
        self.remote.ended.send_replace(self.number);
    }
}

impl Remote {
    /// Listens on `addr` and serves the control protocol, and the files of
    /// `files` for any other path.
    pub async fn bind(addr: SocketAddr, files: Option<PathBuf>) -> std::io::Result<Arc<Remote>> {
        let listener = TcpListener::bind(addr).await?;
        let remote = Arc::new(Remote {
            addr: listener.local_addr()?,
            files,
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
            ended: watch::channel(0).0,
        });
        let weak = Arc::downgrade(&remote);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // The server lives as long as the run holds the remote.
                let Some(remote) = weak.upgrade() else { break };
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let remote = remote.clone();
                        async move { Ok::<_, Infallible>(remote.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(remote)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page a browser opens: `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cases of the run, in the order they will be handed out.
    pub fn set_cases(&self, ids: Vec<String>) {
        self.lock().ids = ids;
    }

    /// Waits until a client asks for a case (its `GET /siospec/next` is
    /// pending); `false` when `limit` passes first.
    pub async fn client_waiting(&self, limit: Option<Duration>) -> bool {
        let wait = async {
            loop {
                let arrived = self.arrived.notified();
                if self.lock().waiting.as_ref().is_some_and(|w| !w.is_closed()) {
                    return;
                }
                arrived.await;
            }
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, wait).await.is_ok(),
            None => {
                wait.await;
                true
            }
        }
    }

    /// Hands case `id` to the waiting client: its scripted server's `url`
    /// and options `env`; what the client reports goes to `driver`. `None`
    /// when no client is waiting.
    pub fn hand(
        self: &Arc<Self>,
        id: &str,
        url: &str,
        env: &[(&str, &str)],
        driver: Driver,
        trace: Arc<Trace>,
    ) -> Option<Handed> {
        let mut state = self.lock();
        let waiting = state.waiting.take()?;
        state.handed += 1;
        let number = state.handed;
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let offer = json!({ "case": number, "id": id, "url": url, "env": env });
        waiting.send(offer).ok()?;
        state.current = Some(Current {
            number,
            driver,
            trace,
        });
        Some(Handed {
            remote: self.clone(),
            number,
        })
    }

    /// Every case has run: `GET /siospec/next` answers `{"done":true}`.
    pub fn finish(&self) {
        let mut state = self.lock();
        state.done = true;
        if let Some(waiting) = state.waiting.take() {
            let _ = waiting.send(json!({ "done": true }));
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (req.method(), parts.as_slice()) {
            (&Method::GET, ["siospec", "cases"]) => {
                let ids = self.lock().ids.clone();
                json_response(json!({
                    "contract": CLIENT_CONTRACT,
                    "count": ids.len(),
                    "ids": ids,
                }))
            }
            (&Method::GET, ["siospec", "next"]) => self.next().await,
            (&Method::POST, ["siospec", "case", number, what @ ("lines" | "stderr")]) => {
                let number: Option<usize> = number.parse().ok();
                let what = (*what).to_owned();
                let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(_) => {
                        return text(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            &format!("a body of at most {MAX_BODY} bytes"),
                        )
                    }
                };
                self.report(number, &what, &body)
            }
            (&Method::GET, ["siospec", "case", number, "end"]) => match number.parse() {
                Ok(number) => self.end_of(number).await,
                Err(_) => text(StatusCode::NOT_FOUND, "no such case"),
            },
            (&Method::GET, _) => self.file(&path).await,
            _ => text(StatusCode::NOT_FOUND, "not part of the serve protocol"),
        }
    }

    async fn next(&self) -> Response<Full<Bytes>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.lock();
            if state.done {
                return json_response(json!({ "done": true }));
            }
            // A newer request replaces an older one (a reloaded page).
            state.waiting = Some(tx);
        }
        self.arrived.notify_waiters();
        match rx.await {
            Ok(offer) => json_response(offer),
            Err(_) => text(StatusCode::CONFLICT, "another request took the next case"),
        }
    }

    fn report(&self, number: Option<usize>, what: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let state = self.lock();
        let Some(current) = state.current.as_ref().filter(|c| Some(c.number) == number) else {
            return text(StatusCode::GONE, "that case is over");
        };
        let body = String::from_utf8_lossy(body);
        if what == "stderr" {
            current.driver.take_stderr(&body);
        } else {
            for line in body.lines().filter(|l| !l.trim().is_empty()) {
                current.driver.take_line(&current.trace, line);
            }
        }
        json_response(json!({ "ended": false }))
    }

    async fn end_of(&self, number: usize) -> Response<Full<Bytes>> {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(|&last| last >= number).await;
        json_response(json!({ "ended": true }))
    }

    async fn file(&self, path: &str) -> Response<Full<Bytes>> {
        let Some(root) = &self.files else {
            return text(
                StatusCode::OK,
                "siospec client cases are served here: see harness/CLIENT-CONTRACT.md, \"Serve mode\"\n",
            );
        };
        let relative = match path.trim_start_matches('/') {
            "" => "index.html",
            p => p,
        };
        // Only plain names below the folder.
        let relative = Path::new(relative);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return text(StatusCode::NOT_FOUND, "not found");
        }
        let full = root.join(relative);
        match tokio::fs::metadata(&full).await {
            Ok(m) if m.is_file() && m.len() <= MAX_FILE => {}
            _ => return text(StatusCode::NOT_FOUND, "not found"),
        }
        match tokio::fs::read(&full).await {
            Ok(bytes) => Response::builder()
                .header("Content-Type", content_type(&full))
                .header("Cache-Control", "no-store")
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_default(),
            Err(_) => text(StatusCode::NOT_FOUND, "not found"),
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    }
}

// `Access-Control-Allow-Origin: *`: a page served from elsewhere (a
// browser app's own development server) may drive its cases too.
fn json_response(v: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .header("Cache-Control", "no-store")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap_or_default()
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Access-Control-Allow-Origin", "*")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap_or_default()
}
