//! A siospec testee (harness/CONTRACT.md): socketioxide on hyper. Socket
//! mode at `/socket.io/` (socketioxide), engine mode at `/engine.io/` (an
//! echo handler on engineioxide, socketioxide's own Engine.IO layer), one
//! port. README.md says what socketioxide cannot express.
//!
//! A library, so that a test can start it in its own process
//! (harness/examples/downstream does); `src/main.rs` is the peer's program.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use engineioxide::config::EngineIoConfig;
use engineioxide::handler::EngineIoHandler;
use engineioxide::service::EngineIoService;
use engineioxide::{DisconnectReason, Socket, Str};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::{ParserConfig, SocketIo, TransportType};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// How the server is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    /// The suites' reference configuration (pingInterval 300 ms,
    /// pingTimeout 200 ms, maxPayload 1e6, upgradeTimeout 2000 ms,
    /// connectTimeout 1000 ms, CORS origin *); otherwise socketioxide's
    /// defaults.
    pub suite: bool,
    /// Also serve Engine.IO 3 / Socket.IO 4 (refused with code 5 otherwise).
    pub allow_eio3: bool,
    /// socketioxide's msgpack parser instead of the common one.
    pub msgpack: bool,
}

/// A server [`start`] started; dropping it stops accepting connections.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Event arguments, all of them and in order: a tuple for socketioxide's
/// parser, which then hands over every argument (any other type gets the
/// first only) and spreads them again on emit. `rmpv::Value` has a binary
/// variant, so attachments come back as attachments.
struct Args(Vec<rmpv::Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct All;
        impl<'de> Visitor<'de> for All {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(Args(v))
            }
        }
        d.deserialize_tuple(usize::MAX, All)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for x in &self.0 {
            t.serialize_element(x)?;
        }
        t.end()
    }
}

/// A room name: a string argument as it is, anything else as its JSON text.
fn room(v: Option<&rmpv::Value>) -> String {
    match v {
        Some(v) => v.as_str().map_or_else(
            || serde_json::to_string(v).unwrap_or_default(),
            str::to_owned,
        ),
        None => "null".into(),
    }
}

/// Engine mode: every message back to its session.
#[derive(Debug)]
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();
    fn on_connect(self: Arc<Self>, _: Arc<Socket<()>>) {}
    fn on_disconnect(&self, _: Arc<Socket<()>>, _: DisconnectReason) {}
    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        if let Err(e) = socket.emit(msg) {
            eprintln!("server: echo dropped: {e}");
        }
    }
    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        if let Err(e) = socket.emit_binary(data) {
            eprintln!("server: echo dropped: {e}");
        }
    }
}

/// Socket mode, on each namespace.
async fn on_connect(socket: SocketRef, TryData(auth): TryData<rmpv::Value>) {
    // socketioxide sends the CONNECT reply before this handler runs.
    // No auth payload: the common parser gives an error, the msgpack one
    // nil (a CONNECT map without `data`); both are the contract's `{}`.
    let auth = match auth {
        Ok(rmpv::Value::Nil) | Err(_) => rmpv::Value::Map(Vec::new()),
        Ok(auth) => auth,
    };
    let _ = socket.emit("auth", &auth);
    socket.on("message", async |s: SocketRef, Data(a): Data<Args>| {
        let _ = s.emit("message-back", &a);
    });
    socket.on(
        "message-with-ack",
        async |Data(a): Data<Args>, ack: AckSender| {
            let _ = ack.send(&a);
        },
    );
    socket.on(
        "emit-with-ack",
        async |s: SocketRef, Data(a): Data<Args>| {
            if let Ok(reply) = s.emit_with_ack::<_, Args>("emit-with-ack", &a) {
                if let Ok(result) = reply.await {
                    let _ = s.emit("emit-with-ack-result", &result);
                }
            }
        },
    );
    socket.on(
        "join",
        async |s: SocketRef, Data(a): Data<Args>, ack: AckSender| {
            s.join(room(a.0.first()));
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "leave",
        async |s: SocketRef, Data(a): Data<Args>, ack: AckSender| {
            s.leave(room(a.0.first()));
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "to-room",
        async |s: SocketRef, Data(mut a): Data<Args>, ack: AckSender| {
            let r = room(a.0.first());
            a.0.drain(..a.0.len().min(1));
            // socket.to(room): the room's sockets without the sender.
            let _ = s.to(r).emit("room-message", &a).await;
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "broadcast",
        async |s: SocketRef, io: SocketIo, Data(a): Data<Args>, ack: AckSender| {
            // io.of(ns): every socket of the namespace, the sender included.
            if let Some(ns) = io.of(s.ns()) {
                let _ = ns.emit("broadcast-message", &a).await;
            }
            let _ = ack.send("ok");
        },
    );
    socket.on("disconnect-me", async |s: SocketRef| {
        let _ = s.disconnect();
    });
    socket.on("close-transport", async |s: SocketRef| close_transport(&s));
}

/// Drops the session's connection without a close packet, as a network
/// failure would: socketioxide has no such call, so the front service keeps
/// a handle on the TCP connections of GETs (README.md).
fn close_transport(s: &SocketRef) {
    let sid = s.id.to_string();
    let found = tracker().live_get(&sid).or_else(|| {
        // A WebSocket-only session: its connection is its handshake's.
        (s.transport_type() == TransportType::Websocket)
            .then(|| s.req_parts().extensions.get::<ConnHandle>().cloned())
            .flatten()
    });
    match found {
        Some(conn) => conn.kill(),
        // Polling without a pending GET: the next one is dropped on arrival.
        None => tracker().doom(sid),
    }
}

/// A TCP connection, owned by hyper (then by a WebSocket once upgraded);
/// the server keeps only weak handles on it.
struct Conn {
    tcp: Arc<TcpStream>,
    id: u64,
}

impl Drop for Conn {
    fn drop(&mut self) {
        tracker().forget(self.id);
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self.tcp.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.tcp).shutdown(Shutdown::Write))
    }
}

/// A weak handle on a connection, put in every request's extensions so that
/// a socket's `req_parts()` leads to its handshake's connection.
#[derive(Clone)]
struct ConnHandle {
    tcp: Weak<TcpStream>,
    id: u64,
}

impl ConnHandle {
    /// Closes the TCP connection both ways (the client sees FIN; what the
    /// server still writes fails), if it is still open.
    fn kill(&self) {
        if let Some(tcp) = self.tcp.upgrade() {
            let _ = socket2::SockRef::from(&*tcp).shutdown(Shutdown::Both);
        }
    }
}

/// The GETs that carry a session id and are in progress: a pending
/// long-poll until it is answered, a WebSocket (upgraded with `sid`) until
/// its connection ends.
#[derive(Default)]
struct Tracker {
    state: Mutex<TrackerState>,
}

#[derive(Default)]
struct TrackerState {
    live: HashMap<String, (u64, ConnHandle)>,
    doomed: std::collections::HashSet<String>,
}

fn tracker() -> &'static Tracker {
    static T: OnceLock<Tracker> = OnceLock::new();
    T.get_or_init(Tracker::default)
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn live_get(&self, sid: &str) -> Option<ConnHandle> {
        self.lock().live.get(sid).map(|(_, c)| c.clone())
    }
    fn doom(&self, sid: String) {
        self.lock().doomed.insert(sid);
    }
    /// Records a GET of session `sid`; false if it is to be dropped.
    fn start(&self, sid: &str, req: u64, conn: &ConnHandle) -> bool {
        let mut s = self.lock();
        if s.doomed.remove(sid) {
            return false;
        }
        s.live.insert(sid.to_owned(), (req, conn.clone()));
        true
    }
    /// The GET `req` of `sid` is answered.
    fn end(&self, sid: &str, req: u64) {
        let mut s = self.lock();
        if s.live.get(sid).is_some_and(|(r, _)| *r == req) {
            s.live.remove(sid);
        }
    }
    /// Connection `conn` ended.
    fn forget(&self, conn: u64) {
        self.lock().live.retain(|_, (_, c)| c.id != conn);
    }
}

/// Removes a polling GET from the tracker when its response is ready (or
/// the request is dropped).
struct GetGuard(String, u64);

impl Drop for GetGuard {
    fn drop(&mut self) {
        tracker().end(&self.0, self.1);
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

fn respond(status: StatusCode, content_type: &str, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(
            Full::new(Bytes::from_static(body.as_bytes()))
                .map_err(Into::into)
                .boxed_unsync(),
        )
        .expect("static response")
}

/// In front of socketioxide: the contract's request check, the refusal of
/// EIO=3 unless asked for, and the GETs `close-transport` may drop.
async fn front<S, B>(
    req: Request<Incoming>,
    stack: S,
    conn: ConnHandle,
    allow_eio3: bool,
) -> Result<Response<Body>, Infallible>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>>,
    S::Error: std::fmt::Display,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    static REQUESTS: AtomicU64 = AtomicU64::new(0);
    let query: Vec<(&str, &str)> = (req.uri().query().unwrap_or(""))
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let param = |k: &str| query.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let sid = param("sid").map(str::to_owned);
    let websocket = req
        .headers()
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if sid.is_none() && param("forbidden").is_some() {
        return Ok(if websocket {
            respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "Forbidden by the contract",
            )
        } else {
            respond(
                StatusCode::FORBIDDEN,
                "application/json",
                r#"{"code":4,"message":"Forbidden by the contract"}"#,
            )
        });
    }
    // Built with `v4`, socketioxide always speaks Engine.IO 3 as well: its
    // handshakes are refused here unless asked for (a request of a session
    // is socketioxide's to judge).
    if !allow_eio3 && sid.is_none() && param("EIO") == Some("3") {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            "application/json",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ));
    }
    let mut guard = None;
    if let (Some(sid), true) = (sid, req.method() == hyper::Method::GET) {
        let id = REQUESTS.fetch_add(1, Ordering::Relaxed);
        if !tracker().start(&sid, id, &conn) {
            conn.kill();
            return Ok(respond(StatusCode::GONE, "text/plain", ""));
        }
        // A WebSocket stays tracked until its connection ends.
        if !websocket {
            guard = Some(GetGuard(sid, id));
        }
    }
    let mut req = req;
    req.extensions_mut().insert(conn);
    let response = stack.oneshot(req).await;
    drop(guard);
    Ok(match response {
        Ok(r) => r.map(|b| b.map_err(Into::into).boxed_unsync()),
        Err(e) => {
            eprintln!("server: {e}");
            respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "")
        }
    })
}

/// Starts the contract server on `addr` (port 0: a free port) on the
/// current tokio runtime; it serves until the returned [`Running`] is
/// dropped or the runtime ends.
pub async fn start(addr: SocketAddr, o: Config) -> Result<Running, String> {
    let ms = Duration::from_millis;
    // An emit fails (the packet dropped) once this many packets wait for
    // the transport; socketioxide's 128 lost echoes of 200 back-to-back
    // messages (eio4.websocket.order), which the contract's echo must not.
    const BUFFER: usize = 1024;
    let mut engine = EngineIoConfig::builder()
        .req_path("/engine.io")
        .max_buffer_size(BUFFER);
    let mut builder = SocketIo::builder().max_buffer_size(BUFFER);
    if o.suite {
        engine = engine
            .ping_interval(ms(300))
            .ping_timeout(ms(200))
            .upgrade_timeout(ms(2000))
            .max_payload(1_000_000);
        builder = builder
            .ping_interval(ms(300))
            .ping_timeout(ms(200))
            .upgrade_timeout(ms(2000))
            .max_payload(1_000_000)
            .connect_timeout(ms(1000));
    }
    if o.msgpack {
        builder = builder.with_parser(ParserConfig::msgpack());
    }
    let engine = EngineIoService::with_config(Arc::new(Echo), engine.build());
    let (sio, io) = builder.build_with_inner_svc(engine);
    io.ns("/", on_connect);
    io.ns("/custom", on_connect);
    // tower-http's CORS layer, as socketioxide's documentation advises; with
    // the methods and the mirrored request headers of the `cors` package
    // that the official server uses.
    let cors = o.suite.then(|| {
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([
                hyper::Method::GET,
                hyper::Method::HEAD,
                hyper::Method::PUT,
                hyper::Method::PATCH,
                hyper::Method::POST,
                hyper::Method::DELETE,
            ])
            .allow_headers(AllowHeaders::mirror_request())
    });
    let stack = tower::ServiceBuilder::new().option_layer(cors).service(sio);

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    let accept = async move {
        static CONNS: AtomicU64 = AtomicU64::new(0);
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("server: accept: {e}");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let tcp = Arc::new(tcp);
            let id = CONNS.fetch_add(1, Ordering::Relaxed);
            let handle = ConnHandle {
                tcp: Arc::downgrade(&tcp),
                id,
            };
            let stack = stack.clone();
            let allow_eio3 = o.allow_eio3;
            let service = hyper::service::service_fn(move |req| {
                front(req, stack.clone(), handle.clone(), allow_eio3)
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(Conn { tcp, id }), service)
                    .with_upgrades()
                    .await;
            });
        }
    };
    Ok(Running {
        addr,
        accept: tokio::spawn(accept),
    })
}
