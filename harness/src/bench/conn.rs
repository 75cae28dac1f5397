//! One client: the codec's Socket.IO client machine ([`ClientConnection`])
//! moved over a real WebSocket or HTTP long-polling (or both, with the
//! upgrade the machine performs). The load generator runs thousands of
//! them; `siospec client` runs one as the client contract's driver.
//!
//! The protocol is entirely the machine's: this adapter opens sockets,
//! carries bytes both ways and wakes the machine at its timeouts. Every await
//! in [`Conn::next_event`] is cancel-safe (outgoing frames wait in a queue
//! that the same poll drains, sockets open in spawned tasks), so a caller
//! can `select!` it against anything else without losing data.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use siospec_codec::session::engine::{
    ClientConfig, ClientTransmit, HttpMethod, HttpRequest, Transports,
};
use siospec_codec::session::socket::{ClientConnection, ClientEvent, ClientOptions};
use siospec_codec::session::{Frame, TransportId};
use tokio::net::TcpStream;

use crate::tls::Origin;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The transport the generator's clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// WebSocket only, from the first request (no polling handshake).
    WebSocket,
    /// HTTP long-polling only (no upgrade).
    Polling,
}

impl Transport {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Polling => "polling",
        }
    }
}

type WsStream = WebSocketStream<crate::tls::Stream>;
type Lane = Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>;

enum Input {
    WsOpen(TransportId, Box<WsStream>),
    WsFailed(TransportId),
    Response {
        id: TransportId,
        status: u16,
        content_type: Option<String>,
        body: Bytes,
    },
    RequestFailed(TransportId),
}

/// The open WebSocket and the frames waiting to be written to it. Writing
/// from the task that reads, instead of from a writer task per socket,
/// saves a task wake-up per message, a good part of a client's cost.
struct WsLink {
    id: TransportId,
    ws: Box<WsStream>,
    out: VecDeque<Message>,
    unflushed: bool,
}

impl WsLink {
    /// Writes what is queued, then reads: ready with the next frame or the
    /// end, or with the error that a write met.
    fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, WsError>>> {
        while let Some(msg) = self.out.pop_front() {
            match Pin::new(&mut *self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Err(e) = Pin::new(&mut *self.ws).start_send(msg) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => {
                    self.out.push_front(msg);
                    break;
                }
            }
        }
        if self.unflushed {
            match Pin::new(&mut *self.ws).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => {}
            }
        }
        Pin::new(&mut *self.ws).poll_next(cx)
    }
}

/// A Socket.IO client connected (or connecting) to `/`.
pub struct Conn {
    sio: ClientConnection,
    origin: Arc<Origin>,
    tx: mpsc::UnboundedSender<Input>,
    rx: mpsc::UnboundedReceiver<Input>,
    ws: Option<WsLink>,
    /// The WebSockets being opened that the machine still wants (one it
    /// closes before it opens is closed as soon as it does).
    opening: HashSet<TransportId>,
    get: Lane,
    post: Lane,
    /// The HTTP requests in flight, to abort when the machine gives one up.
    requests: HashMap<TransportId, tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("origin", &self.origin.url())
            .finish()
    }
}

impl Conn {
    /// Starts a client for `origin`'s `/socket.io/` that joins `/`.
    pub fn start(origin: Arc<Origin>, transport: Transport) -> Conn {
        let options = ClientOptions {
            engine: ClientConfig {
                path: "/socket.io/".to_owned(),
                transports: Transports {
                    polling: transport == Transport::Polling,
                    websocket: transport == Transport::WebSocket,
                },
                upgrade: false,
                ..ClientConfig::default()
            },
            // A benchmark counts a lost connection as an error; it never hides it by reconnecting.
            reconnection: false,
            ..ClientOptions::default()
        };
        let mut conn = Conn::new(origin, options);
        // Cannot fail: no auth payload to validate.
        let _ = conn.sio.connect(Instant::now(), "/", None);
        conn
    }

    /// A client for `origin` with these options, its first Engine.IO
    /// session opening; no namespace joined yet (see [`Conn::sio`]).
    pub fn new(origin: Arc<Origin>, options: ClientOptions) -> Conn {
        let sio = ClientConnection::new(Instant::now(), options);
        let (tx, rx) = mpsc::unbounded_channel();
        Conn {
            sio,
            origin,
            tx,
            rx,
            ws: None,
            opening: HashSet::new(),
            get: Lane::default(),
            post: Lane::default(),
            requests: HashMap::new(),
        }
    }

    /// The machine, for application commands (emit, ack, close).
    pub fn sio(&mut self) -> &mut ClientConnection {
        &mut self.sio
    }

    /// The next event of the machine, doing the I/O it asks for meanwhile;
    /// `None` once the connection is closed for good. Cancel-safe.
    pub async fn next_event(&mut self) -> Option<ClientEvent> {
        loop {
            self.flush();
            if let Some(e) = self.sio.poll_event() {
                if matches!(e, ClientEvent::Closed { .. }) {
                    // The next Engine.IO session polls on connections of its
                    // own, as the official client's new requests do: a long
                    // poll of this one that the server still holds must not
                    // delay the next handshake.
                    self.get = Lane::default();
                    self.post = Lane::default();
                }
                return Some(e);
            }
            if self.sio.is_closed() {
                return None;
            }
            let deadline = self.sio.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            let io = std::future::poll_fn(|cx| match self.ws.as_mut() {
                Some(link) => link.poll_io(cx).map(|msg| (link.id, msg)),
                None => Poll::Pending,
            });
            tokio::select! {
                biased;
                (id, msg) = io => self.on_ws(id, msg),
                Some(input) = self.rx.recv() => self.on_input(input),
                () = sleep => self.sio.handle_timeout(Instant::now()),
            }
        }
    }

    fn on_ws(&mut self, id: TransportId, msg: Option<Result<Message, WsError>>) {
        let now = Instant::now();
        match msg {
            Some(Ok(Message::Text(t))) => {
                self.sio
                    .handle_frame(now, id, Frame::Text(t.as_str().to_owned()))
            }
            Some(Ok(Message::Binary(b))) => self.sio.handle_frame(now, id, Frame::Binary(b.into())),
            // As Node's `ws` (the official client's) sees it: a connection
            // that ends or resets without a close frame only closes the
            // WebSocket ("transport close"); what breaks the protocol is an
            // error ("transport error").
            Some(Ok(Message::Close(_)))
            | None
            | Some(Err(
                WsError::Io(_)
                | WsError::ConnectionClosed
                | WsError::AlreadyClosed
                | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            )) => {
                self.drop_ws(id);
                self.sio.handle_websocket_closed(now, id);
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => {
                self.drop_ws(id);
                self.sio.handle_websocket_error(now, id);
            }
        }
    }

    fn drop_ws(&mut self, id: TransportId) {
        if self.ws.as_ref().is_some_and(|l| l.id == id) {
            self.ws = None;
        }
    }

    fn on_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::WsOpen(id, ws) => {
                let link = WsLink {
                    id,
                    ws,
                    out: VecDeque::new(),
                    unflushed: false,
                };
                if self.opening.remove(&id) {
                    self.ws = Some(link);
                    self.sio.handle_websocket_open(now, id);
                } else {
                    tokio::spawn(close_ws(link));
                }
            }
            // A WebSocket that could not be opened (refused, not upgraded)
            // is an error to `ws`, hence "websocket error" to the official client.
            Input::WsFailed(id) => {
                if self.opening.remove(&id) {
                    self.sio.handle_websocket_error(now, id);
                }
            }
            Input::Response {
                id,
                status,
                content_type,
                body,
            } => {
                self.requests.remove(&id);
                self.sio
                    .handle_response(now, id, status, content_type.as_deref(), &body);
            }
            Input::RequestFailed(id) => {
                self.requests.remove(&id);
                self.sio.handle_request_failed(now, id);
            }
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.sio.poll_transmit() {
            match t {
                ClientTransmit::Frame { id, frame } => {
                    let msg = match frame {
                        Frame::Text(t) => Message::text(t),
                        Frame::Binary(b) => Message::binary(b),
                    };
                    if let Some(link) = self.ws.as_mut().filter(|l| l.id == id) {
                        link.out.push_back(msg);
                    }
                }
                ClientTransmit::OpenWebSocket { id, uri } => {
                    self.opening.insert(id);
                    let tx = self.tx.clone();
                    let origin = self.origin.clone();
                    tokio::spawn(async move {
                        let input = match open_ws(&origin, &uri).await {
                            Some(ws) => Input::WsOpen(id, Box::new(ws)),
                            None => Input::WsFailed(id),
                        };
                        let _ = tx.send(input);
                    });
                }
                // What is queued goes out first (a DISCONNECT, a close
                // packet), then a close frame, as the official client does;
                // the generator, which ends a connection by dropping it,
                // never gets here.
                ClientTransmit::CloseWebSocket { id } => {
                    if let Some(link) = self.ws.take_if(|l| l.id == id) {
                        tokio::spawn(close_ws(link));
                    } else {
                        self.opening.remove(&id);
                    }
                }
                ClientTransmit::Http(req) => {
                    let lane = match req.method {
                        HttpMethod::Get => self.get.clone(),
                        HttpMethod::Post => self.post.clone(),
                    };
                    let tx = self.tx.clone();
                    let origin = self.origin.clone();
                    let id = req.id;
                    let task = tokio::spawn(async move {
                        let _ = tx.send(http(&origin, &lane, req).await);
                    });
                    self.requests.insert(id, task.abort_handle());
                }
                // Dropping the request drops its connection too (see
                // `send_http`): a long poll given up must not hold its lane
                // until the server answers it.
                ClientTransmit::Abort { id } => {
                    if let Some(task) = self.requests.remove(&id) {
                        task.abort();
                    }
                }
            }
        }
    }
}

/// A TCP connection to `authority` that resets instead of lingering in
/// TIME_WAIT when closed: the generator closes first, and a connect storm
/// of a few seconds would otherwise run out of ports.
pub async fn connect_tcp(authority: &str) -> Option<TcpStream> {
    let tcp = TcpStream::connect(authority).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let _ = socket_linger_zero(&tcp);
    Some(tcp)
}

#[allow(deprecated)]
fn socket_linger_zero(tcp: &TcpStream) -> std::io::Result<()> {
    // Deprecated because a non-zero linger blocks in close; zero never does.
    tcp.set_linger(Some(Duration::ZERO))
}

/// tungstenite's default read buffer is 128 KiB, zero-filled before the
/// first read; a thousand clients would spend 128 MB of cache-cold memory
/// on frames of a few dozen bytes.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(16 * 1024)
}

/// [`connect_tcp`] to `origin`, inside TLS for `https`.
async fn connect(origin: &Origin) -> Option<crate::tls::Stream> {
    let tcp = connect_tcp(&origin.authority).await?;
    origin.secure(tcp).await.ok()
}

async fn open_ws(origin: &Origin, uri: &str) -> Option<WsStream> {
    let stream = connect(origin).await?;
    let url = origin.ws_url(uri);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .ok()?;
    Some(ws)
}

/// Writes what was queued for a WebSocket the machine closes, then closes
/// it and waits (briefly) for the server's close frame.
async fn close_ws(mut link: WsLink) {
    let ws = &mut link.ws;
    let bye = async {
        for msg in link.out.drain(..) {
            ws.feed(msg).await.ok()?;
        }
        WebSocketStream::close(ws, None).await.ok()?;
        while ws.next().await.is_some() {}
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), bye).await;
}

async fn http(origin: &Origin, lane: &Lane, req: HttpRequest) -> Input {
    let id = req.id;
    match send_http(origin, lane, req).await {
        Some((status, content_type, body)) => Input::Response {
            id,
            status,
            content_type,
            body,
        },
        None => Input::RequestFailed(id),
    }
}

async fn send_http(
    origin: &Origin,
    lane: &Lane,
    req: HttpRequest,
) -> Option<(u16, Option<String>, Bytes)> {
    let mut slot = lane.lock().await;
    // Taken out while in use and put back once answered: a request
    // dropped half-way (aborted) leaves the lane without its connection,
    // which closes, instead of one still busy with the abandoned answer.
    let mut sender = match slot.take().filter(|s| !s.is_closed()) {
        Some(s) => s,
        None => {
            let stream = connect(origin).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .ok()?;
            tokio::spawn(conn);
            sender
        }
    };
    sender.ready().await.ok()?;
    let mut builder = hyper::Request::builder()
        .method(req.method.as_str())
        .uri(req.uri.as_str())
        .header(hyper::header::HOST, origin.authority.as_str());
    if let Some(ct) = req.content_type {
        builder = builder.header(hyper::header::CONTENT_TYPE, ct);
    }
    let request = builder.body(Full::new(Bytes::from(req.body))).ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await.ok()?.to_bytes();
    *slot = Some(sender);
    Some((status, content_type, body))
}
