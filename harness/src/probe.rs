//! The probe: before any case, a few requests that say what is at the
//! target — nothing listening, not HTTP, HTTP without Engine.IO, Engine.IO
//! at another path, or which protocol revisions, transports, modes and
//! timings it offers — and from that, what each suite can run against.
//!
//! A target that cannot be tested at all is refused here within seconds,
//! with what was found and what to check ([`Refusal`]); one that can gets a
//! [`Plan`] per suite and the findings that head the report.

use std::time::Duration;

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{self, v3, v4, Data, PacketType};
use siospec_codec::session::socket::Parser;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::{msgpack, PacketType as SocketPacketType};
use siospec_codec::{Limits, Profile};

use crate::case::Verdict;
use crate::runner::{Endpoint, Plan};
use crate::suite::{Expected, Mode, Suite};
use crate::tls::Origin;
use crate::trace::Trace;
use crate::wire::heartbeat::Engine;
use crate::wire::http::{Http, HttpError, Req, Response};
use crate::wire::ws::{Frame, Refused as WsRefused, Ws};

/// How long each probe request may take.
const WAIT: Duration = Duration::from_secs(3);

/// What the probe needs to know besides the address.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The Socket.IO path (`--path`), with both slashes.
    pub socket: String,
    /// The bare Engine.IO path (`--engine-path`), with both slashes.
    pub engine: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            socket: Mode::Socket.default_path().to_owned(),
            engine: Mode::Engine.default_path().to_owned(),
        }
    }
}

impl Paths {
    /// The two paths as a user may type them (`socket.io`, `/socket.io`),
    /// each given both slashes (`/socket.io/`; `/` stays `/`).
    pub fn new(socket: &str, engine: &str) -> Paths {
        fn with_slashes(path: &str) -> String {
            let path = path.trim_matches('/');
            if path.is_empty() {
                "/".to_owned()
            } else {
                format!("/{path}/")
            }
        }
        Paths {
            socket: with_slashes(socket),
            engine: with_slashes(engine),
        }
    }
}

/// A target that cannot be tested: what was found, and what to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Engine.IO server found at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The path, with both slashes.
    pub path: String,
    /// Whether `EIO=4` opened a session, and its handshake if readable.
    pub v4: Option<Opened>,
    /// Whether `EIO=3` opened a session, and its handshake if readable.
    pub v3: Option<Opened>,
    /// How `EIO=3` was answered when it was refused.
    pub v3_refusal: Option<String>,
    /// Whether a session could be opened over HTTP long-polling.
    pub polling: bool,
    /// Whether WebSocket is offered (in `upgrades`, or as the only transport).
    pub websocket: bool,
    /// Whether a CONNECT to `/` got a Socket.IO CONNECT reply.
    pub socket_io: bool,
    /// Whether it came with socket.io-msgpack-parser (a msgpack CONNECT
    /// answered, after the text `40` was not).
    pub msgpack: bool,
    /// Whether a message came back unchanged (engine mode's echo).
    pub echo: bool,
}

/// A handshake that opened a session. A server whose open packet cannot be
/// read is still tested: the handshake cases judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The handshake, when it decodes.
    pub handshake: Option<Handshake>,
    /// Why it does not.
    pub problem: Option<String>,
}

impl Opened {
    fn read(h: Result<Handshake, String>) -> Opened {
        match h {
            Ok(h) => Opened {
                handshake: Some(h),
                problem: None,
            },
            Err(e) => Opened {
                handshake: None,
                problem: Some(e),
            },
        }
    }
}

/// What the probe found at one address.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The server.
    pub origin: Origin,
    /// Engine.IO at the Socket.IO path.
    pub socket: Option<Offer>,
    /// Engine.IO at the engine path.
    pub engine: Option<Offer>,
    /// One line per finding, for the report's head.
    pub findings: Vec<String>,
}

/// Probes `origin` at the two paths.
pub async fn probe(origin: &Origin, paths: &Paths) -> Result<Probed, Refusal> {
    probe_traced(origin, paths, Trace::new()).await
}

/// [`probe`], recording its HTTP exchanges in `trace`.
pub async fn probe_traced(
    origin: &Origin,
    paths: &Paths,
    trace: std::sync::Arc<Trace>,
) -> Result<Probed, Refusal> {
    let http = Http::new(origin, trace);
    reachable(origin).await?;
    let tls = tls_finding(origin).await?;
    let authority = &origin.url();
    let socket = offer_at(&http, origin, &paths.socket, Mode::Socket).await?;
    let engine = if paths.engine == paths.socket {
        None
    } else {
        offer_at(&http, origin, &paths.engine, Mode::Engine)
            .await
            .ok()
            .and_then(Result::ok)
    };
    let socket = match (socket, &engine) {
        (Ok(offer), _) => Some(offer),
        // A bare Engine.IO server at the engine path alone can still be tested.
        (Err(_), Some(_)) => None,
        (Err(why), None) => {
            let mut msg = format!("{why}.");
            for other in ["/socket.io/", "/engine.io/"] {
                if other == paths.socket || other == paths.engine {
                    continue;
                }
                if let Ok(Ok(found)) = offer_at(&http, origin, other, Mode::Socket).await {
                    let flag = if found.socket_io {
                        "--path"
                    } else {
                        "--engine-path"
                    };
                    msg.push_str(&format!(
                        " Engine.IO answers at {other} instead: pass `{flag} {other}`."
                    ));
                    return Err(Refusal(msg));
                }
            }
            msg.push_str(&format!(
                " Check the URL's port and that the server's path is {} (--path) or {} (--engine-path).",
                paths.socket, paths.engine
            ));
            return Err(Refusal(msg));
        }
    };
    let mut findings: Vec<String> = tls.into_iter().collect();
    if let Some(o) = &socket {
        findings.push(describe(authority, o));
    } else {
        findings.push(format!(
            "{authority}{}: no Engine.IO server; the Socket.IO suites are UNSUPPORTED",
            paths.socket
        ));
    }
    match &engine {
        Some(o) => findings.push(describe(authority, o)),
        None => findings.push(format!(
            "{authority}{}: no bare Engine.IO echo server (engine mode); the Engine.IO \
             rules run through {} and those that need the echo are SKIPPED",
            paths.engine, paths.socket
        )),
    }
    Ok(Probed {
        origin: origin.clone(),
        socket,
        engine,
        findings,
    })
}

/// One line about an offer.
fn describe(authority: &str, o: &Offer) -> String {
    let what = match (o.socket_io, o.echo) {
        (true, _) if o.msgpack => "Socket.IO with the msgpack parser",
        (true, _) => "Socket.IO",
        (false, true) => "bare Engine.IO (echoes messages)",
        (false, false) => "Engine.IO, neither Socket.IO nor an echo",
    };
    let mut transports = Vec::new();
    if o.polling {
        transports.push("polling");
    }
    if o.websocket {
        transports.push("websocket");
    }
    let mut revisions = Vec::new();
    if o.v4.is_some() {
        revisions.push("EIO=4");
    }
    if o.v3.is_some() {
        revisions.push("EIO=3");
    }
    let mut line = format!(
        "{authority}{}: {what}; {}; transports {}",
        o.path,
        revisions.join(" and "),
        transports.join(", ")
    );
    let opened = o.v4.as_ref().or(o.v3.as_ref());
    if let Some(problem) = opened.and_then(|o| o.problem.as_ref()) {
        line.push_str(&format!(
            "; its open packet cannot be read ({problem}), so the timings are assumed"
        ));
    }
    if let Some(h) = opened.and_then(|o| o.handshake.as_ref()) {
        line.push_str(&format!(
            "; pingInterval {} ms, pingTimeout {} ms, maxPayload {}",
            h.ping_interval,
            h.ping_timeout,
            h.max_payload
                .map_or("not advertised".to_owned(), |m| format!("{m} bytes"))
        ));
    }
    if let Some(r) = &o.v3_refusal {
        line.push_str(&format!("; EIO=3 refused ({r})"));
    }
    line
}

/// The TCP connection must open.
async fn reachable(origin: &Origin) -> Result<(), Refusal> {
    let authority = &origin.authority;
    match tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(authority)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Refusal(format!(
            "nothing is listening at {authority} ({e}). Start the server, or check the host and \
             port of --url."
        ))),
        Err(_) => Err(Refusal(format!(
            "{authority} did not accept a TCP connection within {} s. Check the host and port \
             of --url, and any firewall in between.",
            WAIT.as_secs()
        ))),
    }
}

/// For `https://`: a handshake that verification accepts, or a refusal that
/// says why and what to do; with `--insecure`, any handshake, and a finding
/// that says loudly what verification would have said. The finding names
/// the TLS version and cipher negotiated.
async fn tls_finding(origin: &Origin) -> Result<Option<String>, Refusal> {
    let Some(tls) = &origin.tls else {
        return Ok(None);
    };
    let handshake = match origin.inspect().await {
        None => return Ok(None),
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(Refusal(e.to_string())),
    };
    let url = origin.url();
    let negotiated = handshake.negotiated();
    match &handshake.verified {
        Ok(()) => Ok(Some(format!(
            "{url}: TLS {negotiated}; {}",
            tls.described()
        ))),
        Err(verdict) if tls.insecure() => Ok(Some(format!(
            "{url}: TLS {negotiated}; CERTIFICATE NOT VERIFIED (--insecure): {verdict}"
        ))),
        Err(verdict) => Err(Refusal(format!(
            "TLS: {url} presented a certificate siospec does not accept: {verdict}. {}",
            verdict.advice()
        ))),
    }
}

fn get(path: &str, query: &str) -> Req<'static> {
    Req {
        method: "GET",
        target: format!("{path}?{query}"),
        headers: Vec::new(),
        body: Vec::new(),
        wait: WAIT,
    }
}

fn post(path: &str, query: &str, body: &str) -> Req<'static> {
    Req {
        method: "POST",
        target: format!("{path}?{query}"),
        headers: vec![("content-type", "text/plain;charset=UTF-8".to_owned())],
        body: body.as_bytes().to_vec(),
        wait: WAIT,
    }
}

/// The text packets of a polling body, for revision `eio`.
fn packets(eio: u8, resp: &Response) -> Vec<(PacketType, String)> {
    text_packets(eio, &resp.text())
}

/// The packets of a polling body (or a WebSocket text frame) of revision
/// `eio`, each with its text (empty for binary data), up to the first
/// error: what a probe or a diagnosis needs to read of an unknown server.
pub(crate) fn text_packets(eio: u8, text: &str) -> Vec<(PacketType, String)> {
    let limits = Limits::default();
    let keep = |kind: PacketType, data: &Data<'_>| match data {
        Data::Text(t) => Some((kind, t.to_string())),
        _ => Some((kind, String::new())),
    };
    if eio == 3 {
        v3::decode_payload(text, Profile::Compat, &limits)
            .map_while(Result::ok)
            .filter_map(|d| d.into_packet())
            .filter_map(|p| keep(p.kind, &p.data))
            .collect()
    } else {
        v4::decode_payload(text, Profile::Compat, &limits)
            .map_while(Result::ok)
            .filter_map(|p| keep(p.kind, &p.data))
            .collect()
    }
}

/// Whether a polling answer opened a session (200, an open packet first),
/// and its handshake.
fn opened_in(eio: u8, resp: &Response) -> Option<Opened> {
    if resp.status != 200 {
        return None;
    }
    let text = resp.text();
    // Only the shape of an open packet at the head of the body, not a
    // decode: an open packet the codec refuses still means a session was
    // opened (its handshake cases judge it), while a 200 page of another
    // kind must not count as Engine.IO.
    let framed = match eio {
        3 => text.split_once(':').is_some_and(|(n, rest)| {
            n.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with('0')
        }),
        _ => text.starts_with('0'),
    };
    if !framed {
        return None;
    }
    Some(Opened::read(match packets(eio, resp).into_iter().next() {
        Some((PacketType::Open, json)) => {
            Handshake::decode(&json, Profile::Compat).map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "undecodable payload {:?}",
            crate::verify::short(&text)
        )),
    }))
}

/// A short description of an answer that is not a handshake.
fn what_answered(resp: &Response) -> String {
    let ctype = resp.header("content-type").unwrap_or("");
    let body = resp.text();
    let body = body.trim();
    let mut short: String = body.chars().take(80).collect();
    if short.len() < body.len() {
        short.push('…');
    }
    if ctype.starts_with("text/html") || body.starts_with("<!") || body.starts_with("<html") {
        format!("an HTML page (HTTP {})", resp.status)
    } else if body.is_empty() {
        format!("HTTP {} with an empty body", resp.status)
    } else {
        format!("HTTP {} {short:?}", resp.status)
    }
}

/// Probes one path. `Err` is a refusal of the whole target (not HTTP);
/// `Ok(Err(why))`, no Engine.IO there.
async fn offer_at(
    http: &Http,
    origin: &Origin,
    path: &str,
    mode: Mode,
) -> Result<Result<Offer, String>, Refusal> {
    let authority = &origin.authority;
    let url = format!("{}{path}", origin.url());
    let first = match http.send(get(path, "EIO=4&transport=polling")).await {
        Ok(r) => Ok(r),
        Err(HttpError::Connect(e)) => {
            return Err(Refusal(format!(
                "nothing is listening at {authority} ({e})"
            )))
        }
        Err(e) => Err(e),
    };
    let mut offer = Offer {
        path: path.to_owned(),
        v4: None,
        v3: None,
        v3_refusal: None,
        polling: false,
        websocket: false,
        socket_io: false,
        msgpack: false,
        echo: false,
    };
    let mut sid = None;
    let answered = match &first {
        Ok(r) => what_answered(r),
        Err(e) => e.to_string(),
    };
    if let Some(o) = first.as_ref().ok().and_then(|r| opened_in(4, r)) {
        offer.polling = true;
        // Without a readable handshake, WebSocket is assumed: its cases judge it.
        offer.websocket = o
            .handshake
            .as_ref()
            .is_none_or(|h| h.upgrades.iter().any(|u| u == "websocket"));
        sid = o.handshake.as_ref().map(|h| h.sid.clone());
        offer.v4 = Some(o);
    } else {
        // A WebSocket-only server refuses polling; a plain WebSocket server
        // upgrades but never sends the open packet.
        let trace = Trace::new();
        let target = format!("{path}?EIO=4&transport=websocket");
        let engine = Engine {
            eio: 4,
            ping_interval: WAIT,
        };
        match Ws::connect(origin, &target, &[], WAIT, engine, trace).await {
            Ok(mut ws) => match ws.recv(WAIT).await {
                Some(Frame::Text(t)) if t.starts_with('0') => {
                    offer.websocket = true;
                    offer.v4 = Some(Opened::read(
                        Handshake::decode(&t[1..], Profile::Compat).map_err(|e| e.to_string()),
                    ));
                    offer.socket_io = ws_connects(&mut ws).await;
                    offer.echo = !offer.socket_io && mode == Mode::Engine;
                }
                Some(f) => {
                    return Ok(Err(format!(
                        "{url}: a plain WebSocket server, not Engine.IO: polling answered \
                         {answered}, and the WebSocket's first frame was {}, not an open packet",
                        f.describe()
                    )))
                }
                None => {
                    return Ok(Err(format!(
                        "{url}: a plain WebSocket server, not Engine.IO: polling answered \
                         {answered}, and the WebSocket sent no open packet within {} s",
                        WAIT.as_secs()
                    )))
                }
            },
            Err(WsRefused::Connect(e)) => {
                return Err(Refusal(format!(
                    "nothing is listening at {authority} ({e})"
                )))
            }
            Err(ws) => {
                return match first {
                    Ok(_) => Ok(Err(format!(
                        "{url}: HTTP, but no Engine.IO server: a handshake request answered \
                         {answered}"
                    ))),
                    Err(e) => Err(Refusal(format!(
                        "{authority} accepts TCP connections but does not answer HTTP ({e}; a \
                         WebSocket handshake: {ws}). siospec tests Engine.IO / Socket.IO servers \
                         over HTTP and WebSocket: check the port of --url{}.",
                        if origin.is_tls() {
                            ""
                        } else {
                            " (a server that speaks HTTPS there wants an https:// URL)"
                        }
                    ))),
                };
            }
        }
    }
    if let Some(sid) = &sid {
        let q = format!("EIO=4&transport=polling&sid={sid}");
        offer.socket_io = polling_connects(http, path, &q).await;
        // Engine mode is taken on trust: whether it echoes is what its cases judge.
        offer.echo = !offer.socket_io && mode == Mode::Engine;
        let _ = http.send(post(path, &q, "1")).await;
        if !offer.socket_io && mode == Mode::Socket {
            // A msgpack server closes a session on text: a session of its own.
            offer.msgpack = polling_connects_msgpack(http, path).await;
            offer.socket_io = offer.msgpack;
        }
    }
    match http.send(get(path, "EIO=3&transport=polling&b64=1")).await {
        Ok(r) => match opened_in(3, &r) {
            Some(o) => {
                if let Some(h) = &o.handshake {
                    let q = format!("EIO=3&transport=polling&b64=1&sid={}", h.sid);
                    let _ = http.send(post(path, &q, "1:1")).await;
                }
                offer.v3 = Some(o);
            }
            None => offer.v3_refusal = Some(what_answered(&r)),
        },
        Err(e) => offer.v3_refusal = Some(e.to_string()),
    }
    Ok(Ok(offer))
}

/// Whether `40` over polling gets a Socket.IO CONNECT reply (`40{…}`);
/// events the server sends before it are skipped.
async fn polling_connects(http: &Http, path: &str, query: &str) -> bool {
    match http.send(post(path, query, "40")).await {
        Ok(r) if r.status == 200 => {}
        _ => return false,
    }
    for _ in 0..3 {
        let Ok(r) = http.send(get(path, query)).await else {
            return false;
        };
        if r.status != 200 {
            return false;
        }
        for (kind, data) in packets(4, &r) {
            if kind == PacketType::Message && data.starts_with("0{") {
                return true;
            }
            // `0` alone is an echo of what was sent, or a v4 reply without
            // a sid: not the Socket.IO v5 CONNECT reply.
            if kind == PacketType::Close || (kind == PacketType::Message && data == "0") {
                return false;
            }
        }
    }
    false
}

/// Whether a new session's msgpack CONNECT to `/` (socket.io-msgpack-parser's
/// map `{type: 0, nsp: "/"}`, as a `b` message) gets a msgpack CONNECT reply
/// with a sid.
async fn polling_connects_msgpack(http: &Http, path: &str) -> bool {
    let Ok(r) = http.send(get(path, "EIO=4&transport=polling")).await else {
        return false;
    };
    let Some(sid) = opened_in(4, &r).and_then(|o| o.handshake).map(|h| h.sid) else {
        return false;
    };
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let mut connect = Vec::new();
    msgpack::encode(SocketPacketType::Connect, "/", None, None, &mut connect);
    // A polling payload of one binary message (`b` and base64, by the codec).
    let mut body = Vec::new();
    v4::encode(
        &engine::Packet::binary(connect.as_slice()),
        false,
        &mut body,
    );
    let body = String::from_utf8_lossy(&body);
    let answered = matches!(http.send(post(path, &q, &body)).await, Ok(r) if r.status == 200);
    let mut connected = false;
    for _ in 0..3 {
        if !answered || connected {
            break;
        }
        let Ok(r) = http.send(get(path, &q)).await else {
            break;
        };
        if r.status != 200 {
            break;
        }
        let body = r.text();
        for p in
            v4::decode_payload(&body, Profile::Compat, &Limits::default()).map_while(Result::ok)
        {
            if let Data::Binary(bytes) = &p.data {
                connected |= msgpack::decode(bytes, Profile::Compat, &Limits::default())
                    .is_ok_and(|m| {
                        m.kind == SocketPacketType::Connect
                            && matches!(&m.data, Some(Value::Object(o)) if o.iter().any(|(k, _)| k == "sid"))
                    });
            }
        }
    }
    let _ = http.send(post(path, &q, "1")).await;
    connected
}

/// Whether `40` over a WebSocket gets a CONNECT reply.
async fn ws_connects(ws: &mut Ws) -> bool {
    // Sent as is: the probe sniffs an unknown server, before any suite is chosen.
    if ws.send_raw("40").await.is_err() {
        return false;
    }
    for _ in 0..5 {
        match ws.recv(WAIT).await {
            Some(Frame::Text(t)) if t.starts_with("40{") => return true,
            Some(Frame::Text(_)) => continue,
            _ => return false,
        }
    }
    false
}

/// The configuration a handshake advertises; `known` gives what it does not.
fn conf_of(o: &Opened, known: &Expected) -> Expected {
    match &o.handshake {
        Some(h) => Expected {
            ping_interval: h.ping_interval,
            ping_timeout: h.ping_timeout,
            max_payload: h.max_payload.unwrap_or(known.max_payload),
            ..*known
        },
        None => *known,
    }
}

impl Probed {
    /// What `suite` runs against here. `known` gives the timeouts no
    /// handshake advertises (connectTimeout, upgradeTimeout).
    pub fn plan(&self, suite: Suite, known: &Expected, parser: Parser) -> Plan {
        let at = |o: &Offer, h: &Opened, echo: bool| {
            Plan::At(Endpoint {
                origin: self.origin.clone(),
                path: o.path.clone(),
                conf: conf_of(h, known),
                echo,
            })
        };
        let eio3_refused = |o: Option<&Offer>| {
            let why = o
                .and_then(|o| o.v3_refusal.clone())
                .unwrap_or_else(|| "no Engine.IO server".to_owned());
            Plan::Absent {
                verdict: Verdict::Unsupported,
                reason: format!(
                    "the server does not accept Engine.IO protocol 3 (EIO=3, the Socket.IO 2.x \
                     clients): a handshake with EIO=3 answered {why}"
                ),
            }
        };
        let no_socket_io = |why: &str| Plan::Absent {
            verdict: Verdict::Unsupported,
            reason: format!("no Socket.IO server: {why}"),
        };
        let socket = self.socket.as_ref();
        let engine = self.engine.as_ref();
        match suite {
            Suite::Eio4 => match (engine, socket) {
                (Some(e), _) if e.echo && e.v4.is_some() => at(e, e.v4.as_ref().unwrap(), true),
                (_, Some(s)) if s.v4.is_some() => at(s, s.v4.as_ref().unwrap(), false),
                (Some(e), _) if e.v4.is_some() => at(e, e.v4.as_ref().unwrap(), false),
                _ => eio3_only("EIO=4"),
            },
            Suite::Eio3 => match (engine, socket) {
                (Some(e), _) if e.echo && e.v3.is_some() => at(e, e.v3.as_ref().unwrap(), true),
                (Some(e), _) if e.echo => eio3_refused(Some(e)),
                (_, Some(s)) if s.v3.is_some() => at(s, s.v3.as_ref().unwrap(), false),
                _ => eio3_refused(socket.or(engine)),
            },
            Suite::Sio5 => match socket {
                Some(s)
                    if s.socket_io
                        && s.v4.is_some()
                        && s.msgpack != (parser == Parser::Msgpack) =>
                {
                    let reason = if s.msgpack {
                        format!(
                            "the server at {} speaks the msgpack parser: the text CONNECT `40` \
                             got no reply, a msgpack one did; run with --parser msgpack",
                            s.path
                        )
                    } else {
                        format!(
                            "the server at {} speaks the default parser (it answered the text \
                             CONNECT `40`), not the {parser} one of --parser {parser}",
                            s.path
                        )
                    };
                    Plan::Absent {
                        verdict: Verdict::Unsupported,
                        reason,
                    }
                }
                Some(s) if s.socket_io && s.v4.is_some() => at(s, s.v4.as_ref().unwrap(), false),
                Some(s) if s.v4.is_none() => eio3_only("EIO=4"),
                Some(s) => no_socket_io(&format!(
                    "a CONNECT to `/` at {} got no Socket.IO CONNECT reply",
                    s.path
                )),
                None => no_socket_io("no Engine.IO at the Socket.IO path"),
            },
            Suite::Sio4 => match socket {
                Some(s) if s.v3.is_some() => at(s, s.v3.as_ref().unwrap(), false),
                _ => eio3_refused(socket),
            },
        }
    }
}

fn eio3_only(what: &str) -> Plan {
    Plan::Absent {
        verdict: Verdict::Unsupported,
        reason: format!("the server does not accept {what} (Engine.IO protocol 4)"),
    }
}
