//! The context of a case that judges a server: where the server is, the
//! clock scale, the trace, the configuration the server is expected to
//! have, and the HTTP and WebSocket clients that reach it.

use std::sync::Arc;
use std::time::Duration;

use siospec_codec::session::socket::Parser;

use crate::suite::{Expected, Suite};
use crate::tls::Origin;
use crate::trace::Trace;
use crate::wire::heartbeat::Engine;
use crate::wire::http::{Http, HttpError, Req, Response};
use crate::wire::ws::{Refused, Ws};

/// Everything a run function gets: where the server is, the clock scale,
/// the trace, and the configuration the server is expected to have.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The server: `host:port`, and TLS for `https://`.
    pub origin: Origin,
    /// The engine path, with both slashes (`/engine.io/`).
    pub path: String,
    /// The suite being run.
    pub suite: Suite,
    /// `--time-scale`: every wait is multiplied by it.
    pub scale: f64,
    /// The case's trace.
    pub trace: Arc<Trace>,
    /// The configuration the server advertised (timings, maxPayload) and
    /// the timeouts it does not advertise.
    pub conf: Expected,
    /// The Socket.IO parser the server was started with (`--parser`).
    pub parser: Parser,
}

impl Ctx {
    /// `ms` milliseconds, scaled.
    pub fn ms(&self, ms: u64) -> Duration {
        Duration::from_secs_f64(ms as f64 * self.scale / 1000.0)
    }

    /// Records a harness remark in the trace.
    pub fn note(&self, text: impl Into<String>) {
        self.trace.note(text);
    }

    /// An HTTP client for the server.
    pub fn http(&self) -> Http {
        Http::new(&self.origin, self.trace.clone())
    }

    /// The engine path followed by `?query`.
    pub fn target(&self, query: &str) -> String {
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{query}", self.path)
        }
    }

    /// Sends a request to the engine path with `query`.
    pub async fn request(
        &self,
        method: &str,
        query: &str,
        headers: Vec<(&str, String)>,
        body: Vec<u8>,
    ) -> Result<Response, HttpError> {
        self.http()
            .send(Req {
                method,
                target: self.target(query),
                headers,
                body,
                // A long-poll GET is held until there is something to send,
                // at the latest the next ping.
                wait: self.ms(4000 + self.conf.ping_interval),
            })
            .await
    }

    /// GET on the engine path.
    pub async fn get(&self, query: &str) -> Result<Response, HttpError> {
        self.request("GET", query, Vec::new(), Vec::new()).await
    }

    /// POST a text body on the engine path.
    pub async fn post(&self, query: &str, body: impl Into<Vec<u8>>) -> Result<Response, HttpError> {
        self.request(
            "POST",
            query,
            vec![("content-type", "text/plain;charset=UTF-8".to_owned())],
            body.into(),
        )
        .await
    }

    /// Opens a WebSocket on the engine path with `query`.
    pub async fn ws(&self, query: &str) -> Result<Ws, Refused> {
        self.ws_with(query, &[]).await
    }

    /// Opens a WebSocket with extra headers.
    pub async fn ws_with(&self, query: &str, headers: &[(&str, String)]) -> Result<Ws, Refused> {
        Ws::connect(
            &self.origin,
            &self.target(query),
            headers,
            self.ms(4000),
            Engine {
                eio: self.suite.eio(),
                ping_interval: self.ms(self.conf.ping_interval),
            },
            self.trace.clone(),
        )
        .await
    }
}
