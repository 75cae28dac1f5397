//! The HTTP side: each request is verified by the endpoint, then either
//! answered directly (preflight, rejection) or handed to its session's task.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use siospec_codec::session::engine::{
    Delivery, OpenRequest, Rejection, ServerSession, TransportKind, Verdict,
};
use siospec_codec::session::socket::{Parser, ServerConnection};
use siospec_codec::session::{Compression, Frame, HttpResponse, TransportId};
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::app::{Echo, Socket};
use super::head::OwnedHead;
use super::script::{Scripted, Tapped};
use super::session::{self, First, Handle, Input, Reply, WsOut, OUTPUT_QUEUE};
use super::{Mode, Shared};

type Body = Full<Bytes>;

/// The contract's request check (engine.io's `allowRequest`): a handshake
/// whose query has `forbidden` is refused with code 4 and this message.
const FORBIDDEN_MESSAGE: &str = "Forbidden by the contract";

/// The body of a response the service gives up on (the connection is closed).
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Aborted {}

/// A connection the server accepted: TCP, or TLS over it.
pub(crate) trait Accepted: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Accepted for T {}

pub(crate) fn serve_connection(stream: impl Accepted, shared: Arc<Shared>) {
    tokio::spawn(async move {
        let service = service_fn(move |req| handle(req, shared.clone()));
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let _ = conn.await;
    });
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Body>, Aborted> {
    let Some(mode) = shared.options.serves.mode_of(req.uri().path()) else {
        return Ok(plain(StatusCode::NOT_FOUND, "Not Found"));
    };
    let head = OwnedHead::of(&req);
    let Some(script) = shared.script.clone() else {
        return dispatch(req, head, mode, shared).await;
    };
    script.request(&head.as_head(), req.uri().path());
    if head.as_head().websocket {
        return dispatch(req, head, mode, shared).await;
    }
    // A polling request: when it is answered is observed too (or that it
    // was dropped, should this future be dropped unanswered).
    let mut answered = Answered {
        method: head.as_head().method.to_owned(),
        query: head.as_head().query.to_owned(),
        status: None,
        script,
    };
    let result = dispatch(req, head, mode, shared).await;
    answered.status = result.as_ref().ok().map(|r| r.status().as_u16());
    result
}

/// Observes how a polling request of the scripted server was answered
/// when it goes ([`Seen::Response`](super::script::Seen::Response)).
struct Answered {
    method: String,
    query: String,
    status: Option<u16>,
    script: Arc<super::script::Script>,
}

impl Drop for Answered {
    fn drop(&mut self) {
        self.script.answered(
            std::mem::take(&mut self.method),
            std::mem::take(&mut self.query),
            self.status,
        );
    }
}

async fn dispatch(
    req: Request<Incoming>,
    head: OwnedHead,
    mode: Mode,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Aborted> {
    let verdict = shared
        .endpoint
        .verify(&head.as_head(), |sid| shared.registry.info(sid));
    if matches!(verdict, Verdict::Handshake(_))
        && shared.script.as_ref().is_some_and(|s| s.refuse_handshake())
    {
        return Ok(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "handshake refused by the script",
        ));
    }
    match verdict {
        Verdict::Preflight(response) => Ok(response_of(response)),
        Verdict::Reject(rejection) => Ok(reject(req, rejection)),
        Verdict::Handshake(handshake) if handshake.query().get("forbidden").is_some() => {
            Ok(reject(req, handshake.forbid(Some(FORBIDDEN_MESSAGE))))
        }
        Verdict::Handshake(handshake) => match handshake.accept() {
            Err(rejection) => Ok(reject(req, rejection)),
            Ok(open) => open_session(req, head, open, mode, shared).await,
        },
        Verdict::Session(request) => {
            let Some(handle) = shared.registry.get(&request.sid) else {
                // The session ended between verification and now: verify
                // again, which now gives the official "Session ID unknown".
                return match shared.endpoint.verify(&head.as_head(), |_| None) {
                    Verdict::Reject(rejection) => Ok(reject(req, rejection)),
                    _ => Err(Aborted),
                };
            };
            let id = shared.transport_id();
            match request.transport {
                TransportKind::WebSocket
                    if shared
                        .script
                        .as_ref()
                        .is_some_and(|s| s.refuses_websocket()) =>
                {
                    Ok(plain(
                        StatusCode::BAD_REQUEST,
                        "WebSocket refused by the script",
                    ))
                }
                TransportKind::WebSocket => {
                    let max = shared.options.engine.max_payload;
                    Ok(upgrade(
                        req,
                        request.upgrade_headers,
                        Some(max),
                        move |ws| async move {
                            attach_websocket(ws, id, head, handle).await;
                        },
                    ))
                }
                TransportKind::Polling => poll(req, head, id, handle).await,
            }
        }
    }
}

/// A new session: the handshake answer goes out through the session's task.
async fn open_session(
    req: Request<Incoming>,
    head: OwnedHead,
    open: OpenRequest,
    mode: Mode,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Aborted> {
    let sid = new_sid();
    let id = shared.transport_id();
    let transport = open.transport;
    let upgrade_headers = open.upgrade_headers.clone();
    let now = Instant::now();
    let engine = ServerSession::new(
        now,
        shared.options.engine.clone(),
        sid.clone(),
        open,
        id,
        &head.as_head(),
    );
    let spawn = |first: First| -> Handle {
        let registry = shared.registry.clone();
        match mode {
            Mode::Engine => session::spawn(registry, sid.clone(), engine, id, first, |_| Echo),
            Mode::Socket => {
                let connection = ServerConnection::new(now, engine, shared.options.socket);
                if let Some(script) = &shared.script {
                    let mut machine = Tapped::new(connection, script.clone());
                    if transport == TransportKind::Polling {
                        machine = machine.with_handshake_get(id, head.as_head().query);
                    }
                    return session::spawn(registry, sid.clone(), machine, id, first, |inbox| {
                        script.register(inbox);
                        Scripted::new(script.clone())
                    });
                }
                let shared_frames = shared.options.socket.parser == Parser::Default;
                session::spawn(registry, sid.clone(), connection, id, first, |inbox| {
                    Socket::new(
                        shared.rooms.clone(),
                        shared.registry.clone(),
                        inbox,
                        shared_frames,
                        shared.cluster.clone(),
                    )
                })
            }
        }
    };
    match transport {
        TransportKind::Polling => {
            let (reply, answer) = oneshot::channel();
            spawn(First::Reply(reply));
            reply_of(answer.await.unwrap_or(Reply::Abort))
        }
        TransportKind::WebSocket => {
            let (out, out_rx) = mpsc::channel(OUTPUT_QUEUE);
            let handle = spawn(First::Socket(out));
            let max = shared.options.engine.max_payload;
            Ok(upgrade(
                req,
                upgrade_headers,
                Some(max),
                move |ws| async move {
                    run_websocket(ws, id, handle, out_rx, OPEN_PACKET_DELAY).await;
                },
            ))
        }
    }
}

/// A polling request: the answer comes from the session's task. A POST's
/// body is streamed to it; the answer may come before the body ends (413).
async fn poll(
    req: Request<Incoming>,
    head: OwnedHead,
    id: TransportId,
    handle: Handle,
) -> Result<Response<Body>, Aborted> {
    let (reply, mut answer) = oneshot::channel();
    let mut guard = RequestGuard {
        tx: handle.tx.clone(),
        id,
        answered: false,
    };
    if handle
        .tx
        .send(Input::Request {
            id,
            head: Box::new(head),
            reply,
        })
        .await
        .is_err()
    {
        return Err(Aborted);
    }
    let mut body = req.into_body();
    let mut streaming = true;
    let outcome = loop {
        tokio::select! {
            outcome = &mut answer => break outcome,
            frame = body.frame(), if streaming => match frame {
                Some(Ok(frame)) => {
                    if let Ok(chunk) = frame.into_data() {
                        if handle.tx.send(Input::Body { id, chunk }).await.is_err() {
                            break Ok(Reply::Abort);
                        }
                    }
                }
                Some(Err(_)) => {
                    streaming = false;
                    let _ = handle.tx.send(Input::RequestClosed { id }).await;
                }
                None => {
                    streaming = false;
                    let _ = handle.tx.send(Input::BodyEnd { id }).await;
                }
            },
        }
    };
    guard.answered = true;
    reply_of(outcome.unwrap_or(Reply::Abort))
}

/// Tells the session when a request goes away unanswered (the client closed
/// its connection while its GET was pending).
struct RequestGuard {
    tx: mpsc::Sender<Input>,
    id: TransportId,
    answered: bool,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if !self.answered {
            let (tx, id) = (self.tx.clone(), self.id);
            tokio::spawn(async move {
                let _ = tx.send(Input::RequestClosed { id }).await;
            });
        }
    }
}

fn reply_of(reply: Reply) -> Result<Response<Body>, Aborted> {
    match reply {
        Reply::Response(response) => Ok(response_of(response)),
        Reply::Abort => Err(Aborted),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Writes a machine's response, compressing the body when it says so (or,
/// if compressing fails, sending it as is without `Content-Encoding`).
fn response_of(response: HttpResponse) -> Response<Body> {
    let HttpResponse {
        status,
        headers,
        body,
        compression,
    } = response;
    let compressed = compression.and_then(|coding| compress(coding, &body));
    let plain_body = compression.is_some() && compressed.is_none();
    let mut builder = Response::builder().status(status);
    for (name, value) in &headers {
        if !(plain_body && name.eq_ignore_ascii_case("content-encoding")) {
            builder = builder.header(*name, value);
        }
    }
    let body = Bytes::from(compressed.unwrap_or(body));
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, ""))
}

fn compress(coding: Compression, body: &[u8]) -> Option<Vec<u8>> {
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression as Level;
    match coding {
        Compression::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), Level::default());
            e.write_all(body).ok()?;
            e.finish().ok()
        }
        Compression::Deflate => {
            let mut e = ZlibEncoder::new(Vec::new(), Level::default());
            e.write_all(body).ok()?;
            e.finish().ok()
        }
    }
}

/// A rejection, delivered the way the machine says Node delivers it.
fn reject(req: Request<Incoming>, rejection: Rejection) -> Response<Body> {
    let Rejection {
        delivery, response, ..
    } = rejection;
    match (delivery, response) {
        (Delivery::Http | Delivery::BeforeUpgrade, Some(response)) => {
            let mut response = response_of(response);
            if delivery == Delivery::BeforeUpgrade {
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            response
        }
        (Delivery::AfterUpgrade, Some(response)) => {
            upgrade(req, Vec::new(), None, move |ws| async move {
                let mut io = std::pin::Pin::into_inner(ws).into_inner();
                let _ = io.write_all(&response.to_http1()).await;
                let _ = io.shutdown().await;
            })
        }
        (_, _) => upgrade(req, Vec::new(), None, |ws| async move {
            let mut io = std::pin::Pin::into_inner(ws).into_inner();
            let _ = io.shutdown().await;
        }),
    }
}

/// Boxed: an async fn keeps its arguments in its state besides its locals,
/// so a stream passed by value would take room in every task that holds it
/// on its way, for the connection's lifetime.
type Upgraded = std::pin::Pin<Box<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>>>;

/// Answers the WebSocket handshake (101) and runs `then` on the upgraded
/// stream, which refuses messages longer than `max_payload + 1` bytes
/// without buffering them (the machine answers the one-byte-over case with
/// close 1009 itself, and [`Input::FrameTooBig`] stands for the rest).
fn upgrade<F, Fut>(
    req: Request<Incoming>,
    extra: Vec<(&'static str, String)>,
    max_payload: Option<usize>,
    then: F,
) -> Response<Body>
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(key) = req.headers().get(hyper::header::SEC_WEBSOCKET_KEY).cloned() else {
        return plain(StatusCode::BAD_REQUEST, "Missing Sec-WebSocket-Key");
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let limit = max_payload.map(|m| m.saturating_add(1));
            let config = WebSocketConfig::default()
                .read_buffer_size(WS_READ_BUFFER)
                .max_message_size(limit)
                .max_frame_size(limit);
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            // A task of its own, so that what this one held on the way
            // (hyper's upgrade future, the handshake's state) is freed
            // rather than kept for the connection's lifetime.
            tokio::spawn(then(Box::pin(ws)));
        }
    });
    let mut builder = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(hyper::header::UPGRADE, "websocket")
        .header(hyper::header::CONNECTION, "Upgrade")
        .header(hyper::header::SEC_WEBSOCKET_ACCEPT, accept);
    for (name, value) in extra {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, ""))
}

/// A WebSocket that joins an existing session (an upgrade).
async fn attach_websocket(ws: Upgraded, id: TransportId, head: OwnedHead, handle: Handle) {
    let (out, out_rx) = mpsc::channel(OUTPUT_QUEUE);
    if handle
        .tx
        .send(Input::WebSocket {
            id,
            head: Box::new(head),
            out,
        })
        .await
        .is_err()
    {
        return;
    }
    run_websocket(ws, id, handle, out_rx, Duration::ZERO).await;
}

/// How long after the 101 response a WebSocket-only session's `open` packet
/// waits. The official suites' client (`ws`) must not read the 101 and the
/// first frame in one `read`: bytes that come with the 101 (the upgrade's
/// `head`) are parsed in a `nextTick`, before the continuation of `await
/// open` (a promise) adds the suites' `message` listener, which then misses
/// the handshake. Nothing the client sends tells when it has read the 101,
/// and a separate write does not suffice: written at once after the 101
/// (TCP_NODELAY, two writes), or after a yield, the suites' pattern missed
/// the open packet 53-58 % of 300 sequential tries on this 2-core machine
/// under load, and the official Node server, which writes it some
/// JavaScript later, missed it 21 % of 300 (29 % of 1,000 with 10 at once).
/// After 1 ms (tokio's timer tick: 1 to 2 ms) it missed 0 of 300 sequential
/// tries and 1 of 600 with 10 at once; 15 ms, the pause before, 0 of 1,000
/// but capped a 10-client connect storm at 580 handshakes/s.
const OPEN_PACKET_DELAY: Duration = Duration::from_millis(1);

/// tungstenite's read buffer is allocated and zero-filled per connection
/// (128 KiB by default, most of an idle connection's memory); messages
/// longer than it are still read whole, in reads of at most this size.
/// 1 KiB holds the chat-sized messages of the load benchmark in one read,
/// and is an eighth of an idle connection's memory.
const WS_READ_BUFFER: usize = 1024;

/// Pumps frames between the WebSocket and the session's task until either
/// ends; the first frame goes out no sooner than `first_delay` after the
/// handshake.
async fn run_websocket(
    ws: Upgraded,
    id: TransportId,
    handle: Handle,
    mut out: mpsc::Receiver<WsOut>,
    first_delay: Duration,
) {
    let (mut sink, mut stream) = ws.split();
    // Dropping both halves closes the connection; the writer asks the
    // reader to stop when the session wants the transport cut.
    let (cut, mut cut_rx) = oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        if !first_delay.is_zero() {
            tokio::time::sleep(first_delay).await;
        }
        // Frames already queued go out in one write: a broadcast queues
        // many at once, and a system call per frame would dominate.
        'frames: while let Some(mut item) = out.recv().await {
            loop {
                let fed = match item {
                    WsOut::Frame(frame) => match *frame {
                        Frame::Text(text) => sink.feed(Message::text(text)).await,
                        Frame::Binary(bytes) => sink.feed(Message::binary(bytes)).await,
                    },
                    WsOut::Shared(text) => sink.feed(Message::Text((*text).clone())).await,
                    WsOut::Close(code) => {
                        let frame = code.map(|code| tungstenite::protocol::CloseFrame {
                            code: code.into(),
                            reason: "".into(),
                        });
                        let _ = sink.send(Message::Close(frame)).await;
                        let _ = sink.close().await;
                        break 'frames;
                    }
                    WsOut::Terminate => {
                        let _ = cut.send(());
                        return;
                    }
                };
                if fed.is_err() {
                    break 'frames;
                }
                match out.try_recv() {
                    Ok(next) => item = next,
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        // Completes the closing handshake: flushes the close frame
        // tungstenite queued in answer to the client's (RFC 6455 §5.5.1).
        let _ = sink.close().await;
    });
    let tx = handle.tx;
    let ended = loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = &mut cut_rx => break Input::WebSocketError { id },
        };
        let input = match next {
            Some(Err(tungstenite::Error::Capacity(_))) => break Input::FrameTooBig { id },
            Some(Ok(Message::Text(text))) => Input::Frame {
                id,
                frame: Frame::Text(text.as_str().to_owned()),
            },
            Some(Ok(Message::Binary(bytes))) => Input::Frame {
                id,
                frame: Frame::Binary(bytes.to_vec()),
            },
            Some(Ok(Message::Close(_))) | None => break Input::WebSocketClosed { id },
            Some(Ok(_)) => continue,
            Some(Err(_)) => break Input::WebSocketError { id },
        };
        if tx.send(input).await.is_err() {
            break Input::WebSocketClosed { id };
        }
    };
    drop(stream);
    let _ = tx.send(ended).await;
    let _ = writer.await;
}

/// A session id like engine.io's base64id: 15 random bytes, base64url.
fn new_sid() -> String {
    let mut bytes = [0u8; 15];
    // The operating system's generator does not fail on supported platforms;
    // a zeroed id would still be unique enough within one test run.
    let _ = getrandom::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
