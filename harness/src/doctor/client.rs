//! The doctor's Engine.IO 4 client: every request on a new connection (as
//! a browser's polling requests may be, and as a load balancer sees them),
//! cookies kept and sent back as a browser does (cookie-based sticky
//! sessions depend on it), every exchange traced.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{Packet as EnginePacket, PacketType};
use siospec_codec::socket::{self, PacketType as SocketPacketType, Version};
use siospec_codec::{Limits, Profile};

use crate::tls::Origin;
use crate::trace::Trace;
use crate::wire::heartbeat::{Engine, Heartbeat};
use crate::wire::http::{Http, HttpError, Req, Response};
use crate::wire::ws::{Refused, Ws};

/// How long a request that the server answers at once may take.
pub(super) const WAIT: Duration = Duration::from_secs(5);

/// One text packet of a polling body or WebSocket frame: its type and data.
pub(super) type Packet = (PacketType, String);

/// A polling session the doctor opened.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub sid: String,
    pub handshake: Handshake,
    /// The answer that opened it (for its headers).
    pub opened: Response,
}

pub(super) struct Client {
    http: Http,
    origin: Origin,
    path: String,
    /// Whether the server is Socket.IO (a namespace to join) or bare Engine.IO.
    pub socket_io: bool,
    cookies: Mutex<BTreeMap<String, String>>,
    pub trace: Arc<Trace>,
}

impl Client {
    pub fn new(origin: &Origin, path: &str, socket_io: bool, trace: Arc<Trace>) -> Client {
        Client {
            http: Http::new(origin, trace.clone()),
            origin: origin.clone(),
            path: path.to_owned(),
            socket_io,
            cookies: Mutex::new(BTreeMap::new()),
            trace,
        }
    }

    fn cookie_header(&self) -> Option<(&'static str, String)> {
        let jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        if jar.is_empty() {
            return None;
        }
        let pairs: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Some(("cookie", pairs.join("; ")))
    }

    fn keep_cookies(&self, resp: &Response) {
        let mut jar = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for (name, value) in &resp.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                jar.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }

    /// Sends one request to the path with `query`, on a new connection.
    pub async fn request(
        &self,
        method: &'static str,
        query: &str,
        body: &[u8],
        headers: Vec<(&'static str, String)>,
        wait: Duration,
    ) -> Result<Response, HttpError> {
        let mut headers = headers;
        headers.extend(self.cookie_header());
        if method == "POST" {
            headers.push(("content-type", "text/plain;charset=UTF-8".to_owned()));
        }
        let resp = self
            .http
            .send(Req {
                method,
                target: format!("{}?{query}", self.path),
                headers,
                body: body.to_vec(),
                wait,
            })
            .await?;
        self.keep_cookies(&resp);
        Ok(resp)
    }

    /// Opens a polling session (`extra` headers on the handshake).
    pub async fn open_polling(
        &self,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Session, String> {
        let resp = self
            .request("GET", "EIO=4&transport=polling", b"", headers, WAIT)
            .await
            .map_err(|e| format!("the handshake GET failed: {e}"))?;
        if resp.status != 200 {
            return Err(format!(
                "the handshake GET was answered HTTP {} {:?}",
                resp.status,
                crate::verify::short(&resp.text())
            ));
        }
        let handshake = match packets(&resp.text()).into_iter().next() {
            Some((PacketType::Open, json)) => Handshake::decode(&json, Profile::Compat)
                .map_err(|e| format!("the open packet cannot be read: {e}"))?,
            _ => {
                return Err(format!(
                    "the handshake GET's body is no open packet: {:?}",
                    crate::verify::short(&resp.text())
                ))
            }
        };
        Ok(Session {
            sid: handshake.sid.clone(),
            handshake,
            opened: resp,
        })
    }

    /// POSTs `body` to the session.
    pub async fn post(&self, sid: &str, body: &str) -> Result<Response, HttpError> {
        self.request(
            "POST",
            &format!("EIO=4&transport=polling&sid={sid}"),
            body.as_bytes(),
            Vec::new(),
            WAIT,
        )
        .await
    }

    /// GETs the session's pending packets, waiting up to `wait`.
    pub async fn get(&self, sid: &str, wait: Duration) -> Result<Response, HttpError> {
        self.request(
            "GET",
            &format!("EIO=4&transport=polling&sid={sid}"),
            b"",
            Vec::new(),
            wait,
        )
        .await
    }

    /// Opens a WebSocket with `query` (`EIO=4&transport=websocket…`), the
    /// heartbeat answered as the official client answers it.
    pub async fn websocket(&self, query: &str, ping_interval: Duration) -> Result<Ws, Refused> {
        let headers: Vec<(&str, String)> = self.cookie_header().into_iter().collect();
        let mut ws = Ws::connect(
            &self.origin,
            &format!("{}?{query}", self.path),
            &headers,
            WAIT,
            Engine {
                eio: 4,
                ping_interval,
            },
            self.trace.clone(),
        )
        .await?;
        ws.set_heartbeat(Heartbeat::AutoPong);
        Ok(ws)
    }

    /// The packet that joins the main namespace, when the server is Socket.IO.
    pub fn join(&self) -> Option<String> {
        self.socket_io
            .then(|| socket_text(SocketPacketType::Connect))
    }
}

/// Whether a Socket.IO server answers a CONNECT to the main namespace on
/// a WebSocket session.
pub(super) async fn socket_io_over_websocket(client: &Client, handshake: &Handshake) -> bool {
    let interval = Duration::from_millis(handshake.ping_interval);
    let Ok(mut ws) = client
        .websocket("EIO=4&transport=websocket", interval)
        .await
    else {
        return false;
    };
    let opened =
        matches!(ws.recv(WAIT).await, Some(crate::wire::ws::Frame::Text(t)) if t.starts_with('0'));
    if !opened
        || ws
            .send_raw(&socket_text(SocketPacketType::Connect))
            .await
            .is_err()
    {
        return false;
    }
    matches!(ws.recv(WAIT).await, Some(crate::wire::ws::Frame::Text(t)) if connect_reply(&t))
}

/// An Engine.IO 4 packet as text, through the codec.
pub(super) fn engine_text(packet: &EnginePacket<'_>) -> String {
    crate::wire::heartbeat::encode_text(4, packet)
}

/// A Socket.IO packet of `kind` for the main namespace, without data, in
/// an Engine.IO message: CONNECT (`40`) or DISCONNECT (`41`).
pub(super) fn socket_text(kind: SocketPacketType) -> String {
    crate::bench::lean::frame(&socket::Packet::new(kind, "/", None))
}

/// `2probe`, the upgrade's probe.
pub(super) fn probe_ping() -> String {
    engine_text(&EnginePacket::text(PacketType::Ping, "probe"))
}

/// The text packets of a polling body or a WebSocket text frame.
pub(super) fn packets(text: &str) -> Vec<Packet> {
    crate::probe::text_packets(4, text)
}

/// Whether an Engine.IO message is a Socket.IO CONNECT reply for the main
/// namespace.
pub(super) fn connect_reply(text: &str) -> bool {
    packets(text).into_iter().any(|(kind, data)| {
        kind == PacketType::Message
            && socket::decode(&data, Version::V5, Profile::Compat, &Limits::default())
                .is_ok_and(|p| p.kind == SocketPacketType::Connect)
    })
}

/// `HTTP 400 "…"`: a short description of an answer.
pub(super) fn answered(resp: &Response) -> String {
    let body = resp.text();
    let body = body.trim();
    if body.is_empty() {
        format!("HTTP {}", resp.status)
    } else {
        format!("HTTP {} {:?}", resp.status, crate::verify::short(body))
    }
}

/// Whether an answer is engine.io's "Session ID unknown" (or another
/// server's 400 for an unknown session id).
pub(super) fn unknown_session(resp: &Response) -> bool {
    resp.status == 400 || resp.status == 404
}
