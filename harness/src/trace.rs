//! The wire trace each case records: every HTTP request and response and every
//! WebSocket frame, with its direction and the time since the case started.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Most bytes of a body or frame kept in the trace; the length is always recorded.
pub const PREVIEW_BYTES: usize = 2048;
/// Most events one trace keeps (bulk cases would otherwise grow without bound).
pub const MAX_EVENTS: usize = 5000;

/// Which way a traced item travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// From the harness to the peer: to the server it tests, or, in client
    /// mode, from its scripted server to the client.
    Out,
    /// From the peer to the harness.
    In,
    /// A note by the harness (not on the wire).
    Note,
}

/// A body or frame payload as recorded: its length, and a preview as text
/// (when it is UTF-8) or as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Total length in bytes.
    pub len: usize,
    /// The first [`PREVIEW_BYTES`] bytes as text, when they are UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The first [`PREVIEW_BYTES`] bytes as hex, when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// `true` when the preview is shorter than the body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Body {
    /// Records `bytes`.
    pub fn of(bytes: &[u8]) -> Body {
        let cut = bytes.len().min(PREVIEW_BYTES);
        let head = &bytes[..cut];
        let (text, hex) = match std::str::from_utf8(head) {
            Ok(t) => (Some(t.to_owned()), None),
            // A cut inside a multi-byte character is still text.
            Err(e) if e.error_len().is_none() && cut < bytes.len() => (
                Some(String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()),
                None,
            ),
            Err(_) => (None, Some(hex(head))),
        };
        Body {
            len: bytes.len(),
            text,
            hex,
            truncated: cut < bytes.len(),
        }
    }
}

/// Lower-case hex of `bytes`, space separated.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum What {
    /// An HTTP request was sent.
    HttpRequest {
        /// Method.
        method: String,
        /// Path without the query.
        path: String,
        /// Query string (without `?`).
        query: String,
        /// Headers the harness set.
        headers: Vec<(String, String)>,
        /// The body.
        body: Body,
    },
    /// An HTTP response arrived.
    HttpResponse {
        /// Status code.
        status: u16,
        /// Response headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Body,
    },
    /// An HTTP exchange ended without a response.
    HttpError {
        /// What went wrong.
        error: String,
    },
    /// A WebSocket opening handshake was sent.
    WsConnect {
        /// Path without the query.
        path: String,
        /// Query string.
        query: String,
        /// Extra headers the harness set.
        headers: Vec<(String, String)>,
    },
    /// The server answered the WebSocket handshake with 101.
    WsOpen {
        /// Response headers.
        headers: Vec<(String, String)>,
    },
    /// The server refused the WebSocket handshake, or it failed.
    WsRefused {
        /// Status code, when an HTTP response came.
        status: Option<u16>,
        /// Body of the refusal, when there was one.
        body: Option<Body>,
        /// What went wrong.
        error: String,
    },
    /// A text frame.
    WsText {
        /// The frame's payload.
        data: Body,
    },
    /// A binary frame.
    WsBinary {
        /// The frame's payload.
        data: Body,
    },
    /// A close frame.
    WsClose {
        /// Close code, if the frame had one.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// The TCP connection under a WebSocket ended without a close frame, or failed.
    WsEnd {
        /// What happened.
        detail: String,
    },
    /// A remark by the harness.
    Note {
        /// The remark.
        text: String,
    },
}

/// One trace entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the case started.
    pub t_ms: f64,
    /// The connection: `http#N` (one per request) or `ws#N`; `-` for notes.
    pub conn: String,
    /// Direction.
    pub dir: Dir,
    /// The event.
    #[serde(flatten)]
    pub what: What,
}

/// A case's trace, shared by every connection of the case.
#[derive(Debug)]
pub struct Trace {
    start: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<Event>,
    dropped: usize,
    next_conn: usize,
}

impl Trace {
    /// A trace whose clock starts now.
    pub fn new() -> Arc<Trace> {
        Arc::new(Trace {
            start: Instant::now(),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Milliseconds since the case started.
    pub fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// A fresh connection name with the given prefix (`http`, `ws`, `tcp`).
    pub fn conn(&self, prefix: &str) -> String {
        let mut inner = self.lock();
        inner.next_conn += 1;
        format!("{prefix}#{}", inner.next_conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another task panicked mid-push; the
        // events already recorded are still valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an event.
    pub fn push(&self, conn: &str, dir: Dir, what: What) {
        let t_ms = (self.elapsed_ms() * 10.0).round() / 10.0;
        let mut inner = self.lock();
        if inner.events.len() >= MAX_EVENTS {
            inner.dropped += 1;
            return;
        }
        inner.events.push(Event {
            t_ms,
            conn: conn.to_owned(),
            dir,
            what,
        });
    }

    /// Records a harness remark.
    pub fn note(&self, text: impl Into<String>) {
        self.push("-", Dir::Note, What::Note { text: text.into() });
    }

    /// The events so far, and how many were dropped past [`MAX_EVENTS`].
    pub fn snapshot(&self) -> (Vec<Event>, usize) {
        let inner = self.lock();
        (inner.events.clone(), inner.dropped)
    }
}

/// Most characters of a body shown on one trace line.
const LINE_PREVIEW: usize = 160;

impl Body {
    /// The preview on one line: text with control characters escaped, or
    /// hex; cut at [`LINE_PREVIEW`] characters, with the length when cut.
    fn one_line(&self) -> String {
        let (shown, cut) = match (&self.text, &self.hex) {
            (Some(t), _) => {
                let escaped: String = t.chars().flat_map(char::escape_debug).collect();
                let cut = escaped.chars().count() > LINE_PREVIEW;
                (escaped.chars().take(LINE_PREVIEW).collect(), cut)
            }
            (None, Some(h)) => (
                format!("hex {}", h.chars().take(LINE_PREVIEW).collect::<String>()),
                h.len() > LINE_PREVIEW,
            ),
            (None, None) => (String::new(), false),
        };
        if cut || self.truncated {
            format!("{shown}… ({} bytes)", self.len)
        } else {
            shown
        }
    }
}

impl Event {
    /// The event on one line of plain text, for excerpts in findings:
    /// time, connection, direction (`→` to the peer, `←` from it) and what.
    ///
    /// ```
    /// use siospec::trace::{Body, Dir, Event, What};
    ///
    /// let e = Event { t_ms: 1.5, conn: "ws#2".into(), dir: Dir::In,
    ///                 what: What::WsText { data: Body::of(b"2") } };
    /// assert_eq!(e.line(), "     1.5 ms ws#2 ← text \"2\"");
    /// ```
    pub fn line(&self) -> String {
        let arrow = match self.dir {
            Dir::Out => "→",
            Dir::In => "←",
            Dir::Note => "·",
        };
        let what = match &self.what {
            What::HttpRequest {
                method,
                path,
                query,
                body,
                ..
            } => {
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                match body.len {
                    0 => format!("{method} {path}{q}"),
                    _ => format!("{method} {path}{q} \"{}\"", body.one_line()),
                }
            }
            What::HttpResponse { status, body, .. } => format!("{status} \"{}\"", body.one_line()),
            What::HttpError { error } => format!("no response: {error}"),
            What::WsConnect { path, query, .. } => format!("WebSocket GET {path}?{query}"),
            What::WsOpen { .. } => "101 WebSocket open".to_owned(),
            What::WsRefused { status, error, .. } => match status {
                Some(s) => format!("WebSocket refused: {s} {error}"),
                None => format!("WebSocket refused: {error}"),
            },
            What::WsText { data } => format!("text \"{}\"", data.one_line()),
            What::WsBinary { data } => format!("binary {}", data.one_line()),
            What::WsClose { code, reason } => match code {
                Some(c) => format!("close {c} {reason:?}"),
                None => "close (no code)".to_owned(),
            },
            What::WsEnd { detail } => format!("connection ended: {detail}"),
            What::Note { text } => text.clone(),
        };
        // Notes are not previews: cut them here.
        let what = match what.char_indices().nth(2 * LINE_PREVIEW) {
            Some((at, _)) => format!("{}…", &what[..at]),
            None => what,
        };
        format!("{:>8.1} ms {} {arrow} {what}", self.t_ms, self.conn)
    }
}
