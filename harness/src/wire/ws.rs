//! A WebSocket client on tokio-tungstenite whose received frames go into a
//! queue per connection, so none is lost between two waits. Engine.IO
//! packets are encoded by the codec ([`Ws::send`]); exact bytes go out only
//! through [`Ws::send_raw`] and [`Ws::send_raw_binary`]. The heartbeat is
//! kept under the connection's [`Heartbeat`] policy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use siospec_codec::engine::{v3, v4, FrameKind, Packet};

use super::heartbeat::{Engine, Heartbeat, Policy, Screen};
use super::http::split_target;
use crate::case::Stop;
use crate::tls::{Origin, Stream};
use crate::trace::{Body, Dir, Trace, What};

/// Frames buffered per connection before the reader stops reading (the
/// server then waits on TCP flow control; nothing is dropped).
const QUEUE: usize = 4096;
/// Largest message the client accepts.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Something that arrived on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The connection ended: a close frame (`code` as sent, `None` when the
    /// frame had no code) or, with `clean == false`, the TCP connection ended
    /// or failed without one.
    Closed {
        /// The close code from the server's close frame.
        code: Option<u16>,
        /// Whether a close frame arrived.
        clean: bool,
        /// Close reason or error description.
        detail: String,
    },
}

impl Frame {
    /// A short description for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Frame::Text(t) => format!("text frame {:?}", truncate(t, 200)),
            Frame::Binary(b) => format!(
                "binary frame [{}]",
                crate::trace::hex(&b[..b.len().min(64)])
            ),
            Frame::Closed {
                code, clean: true, ..
            } => match code {
                Some(c) => format!("close frame with code {c}"),
                None => "close frame without a code".to_owned(),
            },
            Frame::Closed { detail, .. } => format!("connection dropped ({detail})"),
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut cut = n;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// Why a WebSocket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The TCP connection could not be opened.
    Connect(String),
    /// The server answered the opening handshake with a status other than 101.
    Status {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The handshake failed otherwise (connection dropped, bad response).
    Failed(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Connect(e) => write!(f, "cannot connect: {e}"),
            Refused::Status { status, body } => {
                write!(
                    f,
                    "handshake refused with HTTP {status} {:?}",
                    truncate(body, 200)
                )
            }
            Refused::Failed(e) => write!(f, "handshake failed: {e}"),
        }
    }
}

type Sink = Arc<tokio::sync::Mutex<SplitSink<WebSocketStream<Stream>, Message>>>;

/// One WebSocket connection.
pub struct Ws {
    name: String,
    sink: Sink,
    rx: mpsc::Receiver<Frame>,
    trace: Arc<Trace>,
    ended: bool,
    heartbeat: Arc<Policy>,
    pinging: bool,
    alive: Arc<AtomicBool>,
    reader: tokio::task::AbortHandle,
}

impl Drop for Ws {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
        // The reader task holds the read half: without this, the TCP
        // connection would stay open until the server's next frame.
        self.reader.abort();
    }
}

async fn send_on(sink: &Sink, trace: &Trace, name: &str, text: &str) -> Result<(), String> {
    trace.push(
        name,
        Dir::Out,
        What::WsText {
            data: Body::of(text.as_bytes()),
        },
    );
    sink.lock()
        .await
        .send(Message::text(text))
        .await
        .map_err(|e| describe_error(&e))
}

impl std::fmt::Debug for Ws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ws").field("name", &self.name).finish()
    }
}

impl Ws {
    /// Opens `ws://` (or `wss://`) `origin` + `target` (path and query)
    /// with extra headers, speaking `engine`, under the [`Heartbeat::Manual`]
    /// policy.
    pub async fn connect(
        origin: &Origin,
        target: &str,
        headers: &[(&str, String)],
        wait: Duration,
        engine: Engine,
        trace: Arc<Trace>,
    ) -> Result<Ws, Refused> {
        let name = trace.conn("ws");
        let (path, query) = split_target(target);
        trace.push(
            &name,
            Dir::Out,
            What::WsConnect {
                path: path.to_owned(),
                query: query.to_owned(),
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            },
        );
        let result = tokio::time::timeout(
            wait,
            Self::handshake(origin, target, headers, &trace, &name),
        )
        .await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(Refused::Failed(format!(
                "no handshake answer within {} ms",
                wait.as_millis()
            ))),
        };
        let (stream, response_headers) = match result {
            Ok(ok) => ok,
            Err(refused) => {
                let (status, body) = match &refused {
                    Refused::Status { status, body } => {
                        (Some(*status), Some(Body::of(body.as_bytes())))
                    }
                    _ => (None, None),
                };
                trace.push(
                    &name,
                    Dir::In,
                    What::WsRefused {
                        status,
                        body,
                        error: refused.to_string(),
                    },
                );
                return Err(refused);
            }
        };
        trace.push(
            &name,
            Dir::In,
            What::WsOpen {
                headers: response_headers,
            },
        );
        let (sink, mut source) = stream.split();
        let sink: Sink = Arc::new(tokio::sync::Mutex::new(sink));
        let (tx, rx) = mpsc::channel(QUEUE);
        let reader_trace = trace.clone();
        let reader_name = name.clone();
        let heartbeat = Arc::new(Policy::new(engine));
        let reader_heartbeat = heartbeat.clone();
        let reader_sink = sink.clone();
        let reader = tokio::spawn(async move {
            loop {
                let frame = match source.next().await {
                    Some(Ok(Message::Text(t))) => {
                        reader_trace.push(
                            &reader_name,
                            Dir::In,
                            What::WsText {
                                data: Body::of(t.as_bytes()),
                            },
                        );
                        // Answered here, not when the case reads, so that
                        // a case looking elsewhere stays alive.
                        match reader_heartbeat.screen(t.as_str()) {
                            Screen::Deliver => {}
                            Screen::Drop => continue,
                            Screen::Answer => {
                                let beat = reader_heartbeat.our_beat();
                                let _ =
                                    send_on(&reader_sink, &reader_trace, &reader_name, &beat).await;
                                continue;
                            }
                        }
                        Frame::Text(t.as_str().to_owned())
                    }
                    Some(Ok(Message::Binary(b))) => {
                        reader_trace.push(
                            &reader_name,
                            Dir::In,
                            What::WsBinary { data: Body::of(&b) },
                        );
                        Frame::Binary(b.to_vec())
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = match frame {
                            Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                            None => (None, String::new()),
                        };
                        reader_trace.push(
                            &reader_name,
                            Dir::In,
                            What::WsClose {
                                code,
                                reason: reason.clone(),
                            },
                        );
                        Frame::Closed {
                            code,
                            clean: true,
                            detail: reason,
                        }
                    }
                    Some(Ok(_)) => continue,
                    // An error and an end without a close frame are both an
                    // unclean close, told apart only by their detail.
                    ended => {
                        let detail = match ended {
                            Some(Err(e)) => describe_error(&e),
                            _ => "TCP connection closed without a close frame".to_owned(),
                        };
                        reader_trace.push(
                            &reader_name,
                            Dir::In,
                            What::WsEnd {
                                detail: detail.clone(),
                            },
                        );
                        Frame::Closed {
                            code: None,
                            clean: false,
                            detail,
                        }
                    }
                };
                let last = matches!(frame, Frame::Closed { .. });
                if tx.send(frame).await.is_err() || last {
                    break;
                }
            }
        });
        Ok(Ws {
            name,
            sink,
            rx,
            trace,
            ended: false,
            heartbeat,
            pinging: false,
            alive: Arc::new(AtomicBool::new(true)),
            reader: reader.abort_handle(),
        })
    }

    /// Sets the heartbeat policy; returns the previous one. Under
    /// Engine.IO 3, [`Heartbeat::AutoPong`] starts pinging every half
    /// `pingInterval` until the connection is dropped or ends.
    pub fn set_heartbeat(&mut self, policy: Heartbeat) -> Heartbeat {
        let previous = self.heartbeat.set(policy);
        if policy == Heartbeat::AutoPong && self.heartbeat.engine().eio == 3 && !self.pinging {
            self.pinging = true;
            self.keep_pinging();
        }
        previous
    }

    /// Engine.IO 3's client side of the heartbeat, while the policy is
    /// [`Heartbeat::AutoPong`].
    fn keep_pinging(&self) {
        let sink = self.sink.clone();
        let trace = self.trace.clone();
        let name = self.name.clone();
        let alive = self.alive.clone();
        let heartbeat = self.heartbeat.clone();
        let every = heartbeat.engine().ping_interval / 2;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if !alive.load(Ordering::SeqCst) {
                    break;
                }
                if heartbeat.get() == Heartbeat::AutoPong
                    && send_on(&sink, &trace, &name, &heartbeat.our_beat())
                        .await
                        .is_err()
                {
                    break;
                }
            }
        });
    }

    /// The Engine.IO side of this connection.
    pub fn engine(&self) -> Engine {
        self.heartbeat.engine()
    }

    async fn handshake(
        origin: &Origin,
        target: &str,
        headers: &[(&str, String)],
        trace: &Trace,
        name: &str,
    ) -> Result<(WebSocketStream<Stream>, Vec<(String, String)>), Refused> {
        let mut request = origin
            .ws_url(target)
            .into_client_request()
            .map_err(|e| Refused::Failed(format!("bad request: {e}")))?;
        for (k, v) in headers {
            let name = hyper::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Refused::Failed(e.to_string()))?;
            let value = hyper::header::HeaderValue::from_str(v)
                .map_err(|e| Refused::Failed(e.to_string()))?;
            request.headers_mut().insert(name, value);
        }
        let tcp = origin
            .connect()
            .await
            .map_err(|e| Refused::Connect(e.to_string()))?;
        if let Some(negotiated) = tcp.negotiated() {
            trace.push(
                name,
                Dir::In,
                What::Note {
                    text: format!("TLS: {negotiated}"),
                },
            );
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        match tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await {
            Ok((stream, response)) => {
                let headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                Ok((stream, headers))
            }
            Err(WsError::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err(Refused::Status { status, body })
            }
            Err(e) => Err(Refused::Failed(describe_error(&e))),
        }
    }

    /// The connection's name in the trace.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends one Engine.IO packet, encoded by the codec for the
    /// connection's revision (binary data in a binary frame); a closed
    /// connection is a failure.
    pub async fn send(&mut self, packet: &Packet<'_>) -> Result<(), Stop> {
        let mut out = Vec::new();
        let kind = if self.engine().eio == 3 {
            v3::encode(packet, true, &mut out)
        } else {
            v4::encode(packet, true, &mut out)
        };
        let sent = match kind {
            FrameKind::Text => {
                let text = String::from_utf8_lossy(&out).into_owned();
                self.send_raw(&text)
                    .await
                    .map_err(|e| format!("could not send {text:?}: {e}"))
            }
            FrameKind::Binary => self
                .send_raw_binary(&out)
                .await
                .map_err(|e| format!("could not send a binary frame: {e}")),
        };
        sent.map_err(Stop::Fail)
    }

    /// Sends `text` as it is in a text frame, for input the codec would not
    /// write (malformed packets, exact bytes a case compares). An error
    /// means the connection is gone.
    pub async fn send_raw(&mut self, text: &str) -> Result<(), String> {
        match send_on(&self.sink, &self.trace, &self.name, text).await {
            Ok(()) => Ok(()),
            Err(detail) => {
                self.trace
                    .note(format!("{}: send failed: {detail}", self.name));
                Err(detail)
            }
        }
    }

    /// Sends `data` as it is in a binary frame (see [`Ws::send_raw`]).
    pub async fn send_raw_binary(&mut self, data: &[u8]) -> Result<(), String> {
        self.trace.push(
            &self.name,
            Dir::Out,
            What::WsBinary {
                data: Body::of(data),
            },
        );
        self.send_message(Message::binary(data.to_vec())).await
    }

    /// Sends a close frame with `code`.
    pub async fn send_close(&mut self, code: u16) -> Result<(), String> {
        self.trace.push(
            &self.name,
            Dir::Out,
            What::WsClose {
                code: Some(code),
                reason: String::new(),
            },
        );
        self.send_message(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        })))
        .await
    }

    async fn send_message(&mut self, msg: Message) -> Result<(), String> {
        let result = self.sink.lock().await.send(msg).await;
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                let detail = describe_error(&e);
                self.trace
                    .note(format!("{}: send failed: {detail}", self.name));
                Err(detail)
            }
        }
    }

    /// The next frame, waiting at most `wait`; `None` when nothing arrived.
    /// After the connection ended, every call returns the `Closed` frame
    /// again. Heartbeat frames queued before the policy last changed are
    /// treated as the policy says now.
    pub async fn recv(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.recv_queued(left).await;
            if let Some(Frame::Text(t)) = &frame {
                match self.heartbeat.screen(t) {
                    Screen::Deliver => {}
                    Screen::Drop => continue,
                    Screen::Answer => {
                        let beat = self.heartbeat.our_beat();
                        let _ = self.send_raw(&beat).await;
                        continue;
                    }
                }
            }
            return frame;
        }
    }

    async fn recv_queued(&mut self, wait: Duration) -> Option<Frame> {
        if self.ended {
            return Some(Frame::Closed {
                code: None,
                clean: false,
                detail: "already closed".to_owned(),
            });
        }
        match tokio::time::timeout(wait, self.rx.recv()).await {
            Ok(Some(frame)) => {
                if matches!(frame, Frame::Closed { .. }) {
                    self.ended = true;
                }
                Some(frame)
            }
            Ok(None) => {
                self.ended = true;
                Some(Frame::Closed {
                    code: None,
                    clean: false,
                    detail: "reader stopped".to_owned(),
                })
            }
            Err(_) => None,
        }
    }

    /// Waits up to `wait` for the connection to end, skipping frames;
    /// returns the closing frame, or `None` if it is still open.
    pub async fn wait_closed(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv(left).await {
                Some(f @ Frame::Closed { .. }) => return Some(f),
                Some(_) => continue,
                None => return None,
            }
        }
    }
}

fn describe_error(e: &WsError) -> String {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".to_owned(),
        WsError::Io(io) => format!("I/O error: {io}"),
        WsError::Protocol(p) => format!("WebSocket protocol error: {p}"),
        WsError::Capacity(c) => format!("message too large: {c}"),
        other => other.to_string(),
    }
}
