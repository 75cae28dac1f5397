//! A plain HTTP/1.1 client on hyper (inside TLS for `https://`): one TCP connection per request, so
//! long-polls and POSTs can be pending at the same time, every exchange traced.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tls::{Origin, Stream};
use crate::trace::{Body, Dir, Trace, What};

/// Largest response body the client reads; a longer one is an error.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why an exchange produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The connection could not be opened: the target is not there, or
    /// its TLS handshake failed (a certificate refused, a plain server).
    Connect(String),
    /// The connection failed or was closed before a whole response arrived.
    Io(String),
    /// No response within the wait.
    Timeout(Duration),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Io(e) => write!(f, "connection failed before a complete response: {e}"),
            HttpError::Timeout(d) => write!(f, "no response within {} ms", d.as_millis()),
        }
    }
}

/// Sends HTTP requests to one server.
#[derive(Debug, Clone)]
pub struct Http {
    /// The server, and the TLS to speak to it.
    pub origin: Origin,
    trace: Arc<Trace>,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req<'a> {
    /// Method (any token, e.g. `PUT`, `OPTIONS`).
    pub method: &'a str,
    /// Path and query.
    pub target: String,
    /// Extra headers.
    pub headers: Vec<(&'a str, String)>,
    /// Body bytes (sent with a Content-Length).
    pub body: Vec<u8>,
    /// How long to wait for the whole response.
    pub wait: Duration,
}

impl Http {
    /// A client for the server at `origin`, tracing into `trace`.
    pub fn new(origin: &Origin, trace: Arc<Trace>) -> Http {
        Http {
            origin: origin.clone(),
            trace,
        }
    }

    /// Sends `req` on a new connection and reads the whole response.
    pub async fn send(&self, req: Req<'_>) -> Result<Response, HttpError> {
        let conn = self.trace.conn("http");
        let (path, query) = split_target(&req.target);
        self.trace.push(
            &conn,
            Dir::Out,
            What::HttpRequest {
                method: req.method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                headers: req
                    .headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
                body: Body::of(&req.body),
            },
        );
        let wait = req.wait;
        let result = match tokio::time::timeout(wait, self.exchange(&conn, req)).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout(wait)),
        };
        match &result {
            Ok(resp) => self.trace.push(
                &conn,
                Dir::In,
                What::HttpResponse {
                    status: resp.status,
                    headers: resp.headers.clone(),
                    body: Body::of(&resp.body),
                },
            ),
            Err(e) => self.trace.push(
                &conn,
                Dir::In,
                What::HttpError {
                    error: e.to_string(),
                },
            ),
        }
        result
    }

    async fn exchange(&self, conn: &str, req: Req<'_>) -> Result<Response, HttpError> {
        let stream = self.open(conn).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| HttpError::Io(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let method = hyper::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| HttpError::Io(format!("bad method: {e}")))?;
        let mut builder = Request::builder()
            .method(method)
            .uri(req.target.as_str())
            .header(hyper::header::HOST, self.origin.authority.as_str());
        for (k, v) in &req.headers {
            builder = builder.header(*k, v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(req.body)))
            .map_err(|e| HttpError::Io(format!("cannot build request: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| HttpError::Io(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| HttpError::Io(e.to_string()))?
            .to_bytes();
        driver.abort();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter(|(k, _)| *k != hyper::header::DATE)
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        })
    }

    /// Writes `bytes` on a new raw TCP connection and reads until the server
    /// closes it or `wait` passes; returns what was read. For requests hyper
    /// refuses to build (invalid header bytes, truncated bodies).
    pub async fn raw(&self, bytes: &[u8], wait: Duration) -> Result<Vec<u8>, HttpError> {
        let (conn, mut stream) = self
            .connect_and_write(format!("raw bytes: {}", preview(bytes)), bytes)
            .await?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > MAX_RESPONSE_BYTES {
                        break;
                    }
                    // Stop at the end of a response with a known length.
                    if raw_response_complete(&out) {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    if out.is_empty() {
                        self.trace.push(
                            &conn,
                            Dir::In,
                            What::HttpError {
                                error: e.to_string(),
                            },
                        );
                        return Err(HttpError::Io(e.to_string()));
                    }
                    break;
                }
            }
        }
        self.trace.push(
            &conn,
            Dir::In,
            What::Note {
                text: format!("raw bytes: {}", preview(&out)),
            },
        );
        Ok(out)
    }

    /// Opens a raw connection (inside TLS for `https`) and writes `bytes`
    /// on it, leaving it open.
    pub async fn raw_open(&self, bytes: &[u8]) -> Result<Stream, HttpError> {
        let note = format!("raw bytes (connection left open): {}", preview(bytes));
        let (_, stream) = self.connect_and_write(note, bytes).await?;
        Ok(stream)
    }

    /// A new traced connection with `bytes` written on it.
    async fn connect_and_write(
        &self,
        note: String,
        bytes: &[u8],
    ) -> Result<(String, Stream), HttpError> {
        let conn = self.trace.conn("tcp");
        let mut stream = self.open(&conn).await?;
        self.trace.push(&conn, Dir::Out, What::Note { text: note });
        stream
            .write_all(bytes)
            .await
            .map_err(|e| HttpError::Io(e.to_string()))?;
        Ok((conn, stream))
    }
}

impl Http {
    /// A new connection to the server; over TLS, what was negotiated goes
    /// in the trace.
    async fn open(&self, conn: &str) -> Result<Stream, HttpError> {
        let stream = self
            .origin
            .connect()
            .await
            .map_err(|e| HttpError::Connect(e.to_string()))?;
        if let Some(negotiated) = stream.negotiated() {
            self.trace.push(
                conn,
                Dir::In,
                What::Note {
                    text: format!("TLS: {negotiated}"),
                },
            );
        }
        Ok(stream)
    }
}

fn preview(bytes: &[u8]) -> String {
    let body = Body::of(bytes);
    match (body.text, body.hex) {
        (Some(t), _) => format!("{t:?}{}", if body.truncated { "…" } else { "" }),
        (_, Some(h)) => h,
        _ => String::new(),
    }
}

/// The status code of a raw HTTP/1.x response, if it starts with a status line.
pub fn raw_status(bytes: &[u8]) -> Option<u16> {
    let line = bytes.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

fn raw_response_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    matches!(length, Some(n) if bytes.len() >= end + 4 + n)
}

/// Splits `path?query`.
pub fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    }
}
