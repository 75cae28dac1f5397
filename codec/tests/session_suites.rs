//! The official conformance suites, case by case, against the server
//! machines on virtual time (request and frame level, as the suites do):
//! engine.io-protocol `main` (EIO=4, 24 cases), socket.io-protocol
//! `fix/waitfor` (32 cases) and engine.io-protocol `v3` (EIO=3, 24 cases).
//!
//! Each case runs on a fresh in-memory server for each of 100 seeds; the
//! seed drives the session ids, the request ids and a 0–2 ms latency before
//! every client action. The suites' known defects are not reproduced: the
//! WebSocket failure cases are awaited, and the invalid-POST case checks
//! Node's real status (200). The v3 suite's skipped duplicate-poll case is
//! run with Node's behaviour (400 for the last request, where the skipped
//! case says 500).

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use siospec_codec::session::engine::{Delivery, ServerConfig, Transmit};
use siospec_codec::session::socket::ServerOptions;
use siospec_codec::session::{Frame, HttpResponse, RequestHead, TransportId};
use support::network::{Arrival, Mode, Output, Rng, Servers};

// ----- the bed ---------------------------------------------------------------

#[derive(Default)]
struct WsClient {
    opened: bool,
    closed: bool,
    inbox: VecDeque<Frame>,
}

struct Bed {
    t0: Instant,
    now: Instant,
    rng: Rng,
    server: Servers,
    responses: BTreeMap<TransportId, HttpResponse>,
    aborted: BTreeSet<TransportId>,
    ws: BTreeMap<TransportId, WsClient>,
    next_id: u64,
    trace: String,
}

type R = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

impl Bed {
    fn new(seed: u64, mode: Mode, config: ServerConfig) -> Self {
        let mut rng = Rng::new(seed);
        let next_id = rng.below(1_000_000);
        let t0 = Instant::now();
        Bed {
            t0,
            now: t0,
            rng,
            // The socket.io-protocol suite's server.
            server: Servers::new(config, mode, ServerOptions::suite()),
            responses: BTreeMap::new(),
            aborted: BTreeSet::new(),
            ws: BTreeMap::new(),
            next_id,
            trace: String::new(),
        }
    }

    fn ms(&self) -> u128 {
        (self.now - self.t0).as_millis()
    }

    fn id(&mut self) -> TransportId {
        self.next_id += 1 + self.rng.below(3);
        TransportId(self.next_id)
    }

    /// The network's latency before a client action.
    fn latency(&mut self) {
        let d = self.rng.below(3);
        self.sleep(d);
    }

    fn sleep(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        self.advance_to(target);
    }

    fn advance_to(&mut self, target: Instant) {
        loop {
            match self.server.next_deadline() {
                Some(t) if t <= target => {
                    if t > self.now {
                        self.now = t;
                    }
                    for sid in self.server.due(self.now) {
                        if let Some(h) = self.server.sessions.get_mut(&sid) {
                            h.machine_mut().handle_timeout(self.now);
                        }
                        self.pump(&sid);
                    }
                }
                _ => break,
            }
        }
        if target > self.now {
            self.now = target;
        }
    }

    fn route(&mut self, t: Transmit) {
        let at = self.ms();
        match t {
            Transmit::Http { id, response } => {
                self.trace
                    .push_str(&format!("{at} http {} {}\n", id.0, response));
                self.responses.insert(id, response);
            }
            Transmit::HttpAbort { id } => {
                self.trace.push_str(&format!("{at} abort {}\n", id.0));
                self.aborted.insert(id);
            }
            Transmit::Frame { id, frame } => {
                self.trace
                    .push_str(&format!("{at} frame {} {frame:?}\n", id.0));
                self.ws.entry(id).or_default().inbox.push_back(frame);
            }
            Transmit::CloseWebSocket { id, .. } => {
                self.trace.push_str(&format!("{at} close {}\n", id.0));
                self.ws.entry(id).or_default().closed = true;
            }
        }
    }

    /// Drains a session and runs the contract on its events until quiet,
    /// then forgets it if it closed.
    fn pump(&mut self, sid: &str) {
        for (_, output) in self.server.pump(self.now, sid) {
            if let Output::Transmit(t) = output {
                self.route(t);
            }
        }
        for t in self.server.sweep(sid) {
            self.route(t);
        }
    }

    /// Sends an HTTP request; its answer may come now or later.
    fn request(&mut self, method: &str, query: &str, body: Option<&[u8]>) -> TransportId {
        self.latency();
        let id = self.id();
        self.trace
            .push_str(&format!("{} {method} {} {query}\n", self.ms(), id.0));
        let head = RequestHead::new(method, query);
        match self.server.arrive(self.now, id, &head, body, &mut self.rng) {
            Arrival::Preflight(r) => {
                self.responses.insert(id, r);
            }
            Arrival::Rejected(r) => {
                let response = r.response.expect("polling rejections have a response");
                self.route(Transmit::Http { id, response });
            }
            Arrival::Opened(sid) | Arrival::Session { sid, .. } => self.pump(&sid),
        }
        id
    }

    fn wait_response(&mut self, id: TransportId, max_ms: u64) -> Option<HttpResponse> {
        let deadline = self.now + Duration::from_millis(max_ms);
        loop {
            if let Some(r) = self.responses.remove(&id) {
                return Some(r);
            }
            match self.server.next_deadline() {
                Some(t) if t <= deadline => self.advance_to(t.max(self.now)),
                _ => {
                    self.advance_to(deadline);
                    return self.responses.remove(&id);
                }
            }
        }
    }

    fn fetch(
        &mut self,
        method: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, String> {
        let id = self.request(method, query, body);
        self.wait_response(id, 2000)
            .ok_or_else(|| format!("no answer to {method} {query} within 2 s"))
    }

    fn ws_connect(&mut self, query: &str) -> TransportId {
        self.latency();
        let id = self.id();
        self.trace
            .push_str(&format!("{} ws {} {query}\n", self.ms(), id.0));
        self.ws.insert(id, WsClient::default());
        let head = RequestHead::websocket(query);
        let refuse = |bed: &mut Bed, delivery: Delivery| {
            let c = bed.ws.entry(id).or_default();
            c.opened = delivery != Delivery::BeforeUpgrade;
            c.closed = true;
        };
        match self.server.arrive(self.now, id, &head, None, &mut self.rng) {
            Arrival::Preflight(_) => refuse(self, Delivery::BeforeUpgrade),
            Arrival::Rejected(r) => refuse(self, r.delivery),
            Arrival::Opened(sid) | Arrival::Session { sid, .. } => {
                self.ws.entry(id).or_default().opened = true;
                self.pump(&sid);
            }
        }
        id
    }

    fn ws_send(&mut self, id: TransportId, frame: Frame) {
        self.latency();
        self.trace
            .push_str(&format!("{} send {} {frame:?}\n", self.ms(), id.0));
        if self.ws.get(&id).is_none_or(|c| c.closed) {
            return;
        }
        let Some(sid) = self.server.ws_routes.get(&id).cloned() else {
            return;
        };
        if let Some(h) = self.server.sessions.get_mut(&sid) {
            h.machine_mut().handle_frame(self.now, id, frame);
        }
        self.pump(&sid);
    }

    fn send_text(&mut self, id: TransportId, text: &str) {
        self.ws_send(id, Frame::Text(text.to_owned()));
    }

    fn wait_until(&mut self, max_ms: u64, mut done: impl FnMut(&mut Bed) -> bool) -> bool {
        let deadline = self.now + Duration::from_millis(max_ms);
        loop {
            if done(self) {
                return true;
            }
            match self.server.next_deadline() {
                Some(t) if t <= deadline => self.advance_to(t.max(self.now)),
                _ => {
                    self.advance_to(deadline);
                    return done(self);
                }
            }
        }
    }

    /// The next message the WebSocket received (buffered per connection).
    fn wait_message(&mut self, id: TransportId, max_ms: u64) -> Result<Frame, String> {
        let mut got = None;
        self.wait_until(max_ms, |bed| {
            got = bed.ws.get_mut(&id).and_then(|c| c.inbox.pop_front());
            got.is_some()
        });
        got.ok_or_else(|| format!("no message on {} within {max_ms} ms", id.0))
    }

    fn wait_text(&mut self, id: TransportId) -> Result<String, String> {
        match self.wait_message(id, 2000)? {
            Frame::Text(t) => Ok(t),
            Frame::Binary(b) => Err(format!("expected text, got binary {b:?}")),
        }
    }

    fn wait_close(&mut self, id: TransportId, max_ms: u64) -> bool {
        self.wait_until(max_ms, |bed| bed.ws.get(&id).is_some_and(|c| c.closed))
    }

    fn opened(&self, id: TransportId) -> bool {
        self.ws.get(&id).is_some_and(|c| c.opened)
    }
}

fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn check_handshake(json: &str, upgrades: &[&str], v3: bool) -> R {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let obj = value.as_object().ok_or("handshake is not an object")?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    if v3 {
        ensure!(
            obj.get("maxPayload").is_none_or(|m| m == 1_000_000),
            "maxPayload {:?}",
            obj.get("maxPayload")
        );
    } else {
        ensure!(
            keys == [
                "maxPayload",
                "pingInterval",
                "pingTimeout",
                "sid",
                "upgrades"
            ],
            "keys {keys:?}"
        );
        ensure!(obj["maxPayload"] == 1_000_000, "maxPayload");
    }
    ensure!(obj["sid"].is_string(), "sid not a string");
    ensure!(
        obj["upgrades"] == serde_json::json!(upgrades),
        "upgrades {}",
        obj["upgrades"]
    );
    ensure!(obj["pingInterval"] == 300, "pingInterval");
    ensure!(obj["pingTimeout"] == 200, "pingTimeout");
    Ok(())
}

fn sid_of(json: &str) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    value["sid"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no sid".to_owned())
}

// ----- Engine.IO v4 (engine.io-protocol main) --------------------------------

const Q4: &str = "EIO=4&transport=polling";

fn init_polling_v4(bed: &mut Bed) -> Result<String, String> {
    let r = bed.fetch("GET", Q4, None)?;
    sid_of(text(&r).get(1..).unwrap_or(""))
}

fn q4(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

fn w4(sid: &str) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

fn v4_open_polling(bed: &mut Bed) -> R {
    let r = bed.fetch("GET", Q4, None)?;
    ensure!(r.status == 200, "status {}", r.status);
    let body = text(&r);
    ensure!(body.starts_with('0'), "body {body}");
    check_handshake(&body[1..], &["websocket"], false)
}

fn v4_invalid_eio_polling(bed: &mut Bed) -> R {
    ensure!(
        bed.fetch("GET", "transport=polling", None)?.status == 400,
        "missing EIO"
    );
    ensure!(
        bed.fetch("GET", "EIO=abc&transport=polling", None)?.status == 400,
        "EIO=abc"
    );
    Ok(())
}

fn invalid_transport_polling(bed: &mut Bed, eio: &str) -> R {
    ensure!(
        bed.fetch("GET", &format!("EIO={eio}"), None)?.status == 400,
        "missing transport"
    );
    let r = bed.fetch("GET", &format!("EIO={eio}&transport=abc"), None)?;
    ensure!(r.status == 400, "transport=abc");
    Ok(())
}

fn v4_invalid_transport_polling(bed: &mut Bed) -> R {
    invalid_transport_polling(bed, "4")
}

fn v4_invalid_method(bed: &mut Bed) -> R {
    ensure!(bed.fetch("POST", Q4, Some(b""))?.status == 400, "POST");
    ensure!(bed.fetch("PUT", Q4, None)?.status == 400, "PUT");
    Ok(())
}

fn v4_open_ws(bed: &mut Bed) -> R {
    let ws = bed.ws_connect("EIO=4&transport=websocket");
    let data = bed.wait_text(ws)?;
    ensure!(data.starts_with('0'), "{data}");
    check_handshake(&data[1..], &[], false)
}

fn ws_refused(bed: &mut Bed, queries: [&str; 2]) -> R {
    for q in queries {
        let ws = bed.ws_connect(q);
        ensure!(bed.wait_close(ws, 2000), "{q} not closed");
    }
    Ok(())
}

fn v4_invalid_eio_ws(bed: &mut Bed) -> R {
    ws_refused(bed, ["transport=websocket", "EIO=abc&transport=websocket"])
}

fn v4_invalid_transport_ws(bed: &mut Bed) -> R {
    ws_refused(bed, ["EIO=4", "EIO=4&transport=abc"])
}

fn post_then_get(bed: &mut Bed, sid_query: &str, body: &[u8], expect: &[u8]) -> R {
    let r = bed.fetch("POST", sid_query, Some(body))?;
    ensure!(r.status == 200 && r.body == b"ok", "POST: {r}");
    let r = bed.fetch("GET", sid_query, None)?;
    ensure!(r.status == 200, "GET status {}", r.status);
    ensure!(
        r.body == expect,
        "GET body {:?}",
        String::from_utf8_lossy(&r.body)
    );
    Ok(())
}

fn v4_message_one(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    post_then_get(bed, &q4(&sid), b"4hello", b"4hello")
}

fn v4_message_several(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let p = b"4test1\x1e4test2\x1e4test3";
    post_then_get(bed, &q4(&sid), p, p)
}

fn v4_message_binary(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let p = b"4hello\x1ebAQIDBA==";
    post_then_get(bed, &q4(&sid), p, p)
}

fn invalid_packet_polling(bed: &mut Bed, sid_query: &str) -> R {
    // Node answers 200 ok and closes the session (protocol.md §2.2).
    let r = bed.fetch("POST", sid_query, Some(b"abc"))?;
    ensure!(r.status == 200 && r.body == b"ok", "POST abc: {r}");
    ensure!(
        bed.fetch("GET", sid_query, None)?.status == 400,
        "session still open"
    );
    Ok(())
}

fn v4_message_invalid(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    invalid_packet_polling(bed, &q4(&sid))
}

fn duplicate_polls(bed: &mut Bed, sid_query: &str, expect_close: &[u8]) -> R {
    let first = bed.request("GET", sid_query, None);
    bed.sleep(5);
    let second = bed.request("GET", &format!("{sid_query}&t=burst"), None);
    let r1 = bed
        .wait_response(first, 2000)
        .ok_or("first GET unanswered")?;
    let r2 = bed
        .wait_response(second, 2000)
        .ok_or("second GET unanswered")?;
    ensure!(r1.status == 200 && r1.body == expect_close, "first: {r1}");
    ensure!(r2.status == 400 || r2.status == 500, "second: {r2}");
    ensure!(
        bed.fetch("GET", sid_query, None)?.status == 400,
        "third GET"
    );
    Ok(())
}

fn v4_duplicate_polls(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    duplicate_polls(bed, &q4(&sid), b"1")
}

fn ws_after_handshake(bed: &mut Bed, query: &str) -> Result<TransportId, String> {
    let ws = bed.ws_connect(query);
    ensure!(bed.opened(ws), "not opened");
    let hs = bed.wait_text(ws)?;
    ensure!(hs.starts_with('0'), "handshake {hs}");
    Ok(ws)
}

fn v4_ws_text(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, "EIO=4&transport=websocket")?;
    bed.send_text(ws, "4hello");
    let got = bed.wait_text(ws)?;
    ensure!(got == "4hello", "{got}");
    Ok(())
}

fn ws_binary(bed: &mut Bed, query: &str, bytes: &[u8]) -> R {
    let ws = ws_after_handshake(bed, query)?;
    bed.ws_send(ws, Frame::Binary(bytes.to_vec()));
    let got = bed.wait_message(ws, 2000)?;
    ensure!(got == Frame::Binary(bytes.to_vec()), "{got:?}");
    Ok(())
}

fn v4_ws_binary(bed: &mut Bed) -> R {
    ws_binary(bed, "EIO=4&transport=websocket", &[1, 2, 3, 4])
}

fn ws_invalid(bed: &mut Bed, query: &str) -> R {
    let ws = ws_after_handshake(bed, query)?;
    bed.send_text(ws, "abc");
    ensure!(bed.wait_close(ws, 2000), "not closed");
    Ok(())
}

fn v4_ws_invalid(bed: &mut Bed) -> R {
    ws_invalid(bed, "EIO=4&transport=websocket")
}

fn v4_heartbeat_polling(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    for i in 0..3 {
        let r = bed.fetch("GET", &q4(&sid), None)?;
        ensure!(r.status == 200 && r.body == b"2", "round {i}: GET {r}");
        let r = bed.fetch("POST", &q4(&sid), Some(b"3"))?;
        ensure!(r.status == 200, "round {i}: POST {r}");
    }
    Ok(())
}

fn v4_heartbeat_polling_timeout(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    bed.sleep(500);
    let r = bed.fetch("GET", &q4(&sid), None)?;
    ensure!(r.status == 400, "status {} at {} ms", r.status, bed.ms());
    Ok(())
}

fn v4_heartbeat_ws(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, "EIO=4&transport=websocket")?;
    for i in 0..3 {
        let got = bed.wait_text(ws)?;
        ensure!(got == "2", "round {i}: {got}");
        bed.send_text(ws, "3");
    }
    ensure!(!bed.ws[&ws].closed, "closed");
    Ok(())
}

fn heartbeat_ws_timeout(bed: &mut Bed, query: &str) -> R {
    let ws = bed.ws_connect(query);
    ensure!(bed.wait_close(ws, 5000), "not closed");
    let at = bed.ms();
    ensure!((500..510).contains(&at), "closed at {at} ms");
    Ok(())
}

fn v4_heartbeat_ws_timeout(bed: &mut Bed) -> R {
    heartbeat_ws_timeout(bed, "EIO=4&transport=websocket")
}

fn close_polling(bed: &mut Bed, sid_query: &str, close: &[u8], noop: &[u8]) -> R {
    let get = bed.request("GET", sid_query, None);
    let post = bed.request("POST", sid_query, Some(close));
    let r = bed.wait_response(get, 2000).ok_or("GET unanswered")?;
    ensure!(r.status == 200 && r.body == noop, "GET {r}");
    let p = bed.wait_response(post, 2000).ok_or("POST unanswered")?;
    ensure!(p.status == 200, "POST {p}");
    ensure!(
        bed.fetch("GET", sid_query, None)?.status == 400,
        "session still open"
    );
    Ok(())
}

fn v4_close_polling(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    close_polling(bed, &q4(&sid), b"1", b"6")
}

fn close_ws(bed: &mut Bed, query: &str) -> R {
    let ws = ws_after_handshake(bed, query)?;
    bed.send_text(ws, "1");
    ensure!(bed.wait_close(ws, 2000), "not closed");
    Ok(())
}

fn v4_close_ws(bed: &mut Bed) -> R {
    close_ws(bed, "EIO=4&transport=websocket")
}

fn upgrade_and_echo(
    bed: &mut Bed,
    init: fn(&mut Bed) -> Result<String, String>,
    pq: fn(&str) -> String,
    wq: fn(&str) -> String,
    noop: &[u8],
) -> R {
    let sid = init(bed)?;
    let ws = bed.ws_connect(&wq(&sid));
    ensure!(bed.opened(ws), "ws refused");
    bed.send_text(ws, "2probe");
    let probe = bed.wait_text(ws)?;
    ensure!(probe == "3probe", "{probe}");
    let r = bed.fetch("GET", &pq(&sid), None)?;
    ensure!(r.status == 200 && r.body == noop, "GET during upgrade: {r}");
    bed.send_text(ws, "5");
    bed.send_text(ws, "4hello");
    let got = bed.wait_text(ws)?;
    ensure!(got == "4hello", "{got}");
    Ok(())
}

fn v4_upgrade(bed: &mut Bed) -> R {
    upgrade_and_echo(bed, init_polling_v4, q4, w4, b"6")
}

fn v4_upgrade_then_polling(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let ws = bed.ws_connect(&w4(&sid));
    bed.send_text(ws, "2probe");
    bed.send_text(ws, "5");
    let r = bed.fetch("GET", &q4(&sid), None)?;
    ensure!(r.status == 400, "polling after upgrade: {r}");
    bed.send_text(ws, "4hello");
    let mut got = bed.wait_text(ws)?;
    if got == "3probe" {
        got = bed.wait_text(ws)?;
    }
    ensure!(got == "4hello", "{got}");
    Ok(())
}

fn v4_upgrade_second_ws(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let ws = bed.ws_connect(&w4(&sid));
    bed.send_text(ws, "2probe");
    bed.send_text(ws, "5");
    let ws2 = bed.ws_connect(&w4(&sid));
    ensure!(bed.wait_close(ws2, 2000), "second ws not closed");
    bed.send_text(ws, "4hello");
    let mut got = bed.wait_text(ws)?;
    if got == "3probe" {
        got = bed.wait_text(ws)?;
    }
    ensure!(got == "4hello", "{got}");
    Ok(())
}

type Case = (&'static str, fn(&mut Bed) -> R);

const ENGINE_V4: [Case; 24] = [
    ("handshake/polling/opens a session", v4_open_polling),
    ("handshake/polling/invalid EIO", v4_invalid_eio_polling),
    (
        "handshake/polling/invalid transport",
        v4_invalid_transport_polling,
    ),
    ("handshake/polling/invalid method", v4_invalid_method),
    ("handshake/websocket/opens a session", v4_open_ws),
    ("handshake/websocket/invalid EIO", v4_invalid_eio_ws),
    (
        "handshake/websocket/invalid transport",
        v4_invalid_transport_ws,
    ),
    ("message/polling/one text packet", v4_message_one),
    ("message/polling/several text packets", v4_message_several),
    ("message/polling/text and binary", v4_message_binary),
    ("message/polling/invalid packet format", v4_message_invalid),
    ("message/polling/duplicate polls", v4_duplicate_polls),
    ("message/websocket/text", v4_ws_text),
    ("message/websocket/binary", v4_ws_binary),
    ("message/websocket/invalid packet format", v4_ws_invalid),
    ("heartbeat/polling/ping pong", v4_heartbeat_polling),
    (
        "heartbeat/polling/ping timeout",
        v4_heartbeat_polling_timeout,
    ),
    ("heartbeat/websocket/ping pong", v4_heartbeat_ws),
    ("heartbeat/websocket/ping timeout", v4_heartbeat_ws_timeout),
    ("close/polling", v4_close_polling),
    ("close/websocket", v4_close_ws),
    ("upgrade/polling to websocket", v4_upgrade),
    (
        "upgrade/polling refused after upgrade",
        v4_upgrade_then_polling,
    ),
    ("upgrade/second websocket refused", v4_upgrade_second_ws),
];

// ----- Engine.IO v3 (engine.io-protocol v3) ----------------------------------

fn decode_v3(body: &str) -> Result<(usize, String), String> {
    let (len, content) = body.split_once(':').ok_or("no length prefix")?;
    let len: usize = len.parse().map_err(|_| format!("bad length {len}"))?;
    Ok((len, content.to_owned()))
}

fn init_v3(bed: &mut Bed, supports_binary: bool) -> Result<String, String> {
    let q = if supports_binary {
        "EIO=3&transport=polling".to_owned()
    } else {
        "EIO=3&transport=polling&b64=1".to_owned()
    };
    let r = bed.fetch("GET", &q, None)?;
    let (_, content) = decode_v3(&text(&r))?;
    sid_of(content.get(1..).unwrap_or(""))
}

fn init_v3_b64(bed: &mut Bed) -> Result<String, String> {
    init_v3(bed, false)
}

fn q3(sid: &str) -> String {
    format!("EIO=3&transport=polling&sid={sid}")
}

fn w3(sid: &str) -> String {
    format!("EIO=3&transport=websocket&sid={sid}")
}

fn v3_open_polling(bed: &mut Bed) -> R {
    let r = bed.fetch("GET", "EIO=3&transport=polling", None)?;
    ensure!(r.status == 200, "status {}", r.status);
    let (len, content) = decode_v3(&text(&r))?;
    ensure!(
        len == content.encode_utf16().count(),
        "length {len} for {content}"
    );
    ensure!(content.starts_with('0'), "{content}");
    check_handshake(&content[1..], &["websocket"], true)
}

fn v3_invalid_transport_polling(bed: &mut Bed) -> R {
    invalid_transport_polling(bed, "3")
}

fn v3_invalid_method(bed: &mut Bed) -> R {
    ensure!(
        bed.fetch("POST", "EIO=3&transport=polling", Some(b""))?
            .status
            == 400,
        "POST"
    );
    Ok(())
}

fn v3_open_ws(bed: &mut Bed) -> R {
    let ws = bed.ws_connect("EIO=3&transport=websocket");
    let data = bed.wait_text(ws)?;
    ensure!(data.starts_with('0'), "{data}");
    check_handshake(&data[1..], &[], true)
}

fn v3_invalid_eio_ws(bed: &mut Bed) -> R {
    // With allowEIO3, a missing or invalid EIO means protocol 3, which is
    // accepted: the suite never awaits these sockets; Node opens them.
    for q in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let ws = bed.ws_connect(q);
        let data = bed.wait_text(ws)?;
        ensure!(data.starts_with('0'), "{q}: {data}");
    }
    Ok(())
}

fn v3_invalid_transport_ws(bed: &mut Bed) -> R {
    ws_refused(bed, ["EIO=3", "EIO=3&transport=abc"])
}

fn v3_message_one(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    post_then_get(bed, &q3(&sid), b"6:4hello", b"6:4hello")
}

fn v3_message_several(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    let p = b"6:4test16:4test26:4test3";
    post_then_get(bed, &q3(&sid), p, p)
}

fn v3_message_base64(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    let p = b"6:4hello10:b4AQIDBA==";
    post_then_get(bed, &q3(&sid), p, p)
}

fn v3_message_binary(bed: &mut Bed) -> R {
    let sid = init_v3(bed, true)?;
    post_then_get(
        bed,
        &q3(&sid),
        b"6:4hello10:b4AQIDBA==",
        &[
            0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4,
        ],
    )
}

fn v3_message_invalid(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    invalid_packet_polling(bed, &q3(&sid))
}

fn v3_duplicate_polls(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    duplicate_polls(bed, &q3(&sid), b"1:1")
}

fn v3_ws_text(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, "EIO=3&transport=websocket")?;
    bed.send_text(ws, "4hello");
    let got = bed.wait_text(ws)?;
    ensure!(got == "4hello", "{got}");
    Ok(())
}

fn v3_ws_binary(bed: &mut Bed) -> R {
    ws_binary(bed, "EIO=3&transport=websocket", &[4, 1, 2, 3, 4])
}

fn v3_ws_invalid(bed: &mut Bed) -> R {
    ws_invalid(bed, "EIO=3&transport=websocket")
}

fn v3_heartbeat_polling(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    for i in 0..3 {
        let r = bed.fetch("POST", &q3(&sid), Some(b"1:2"))?;
        ensure!(r.status == 200, "round {i}: POST {r}");
        let r = bed.fetch("GET", &q3(&sid), None)?;
        ensure!(r.status == 200 && r.body == b"1:3", "round {i}: GET {r}");
    }
    Ok(())
}

fn v3_heartbeat_polling_timeout(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    bed.sleep(500);
    let r = bed.fetch("POST", &q3(&sid), Some(b"1:2"))?;
    ensure!(r.status == 400, "status {} at {} ms", r.status, bed.ms());
    Ok(())
}

fn v3_heartbeat_ws(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, "EIO=3&transport=websocket")?;
    for i in 0..3 {
        bed.send_text(ws, "2");
        let got = bed.wait_text(ws)?;
        ensure!(got == "3", "round {i}: {got}");
    }
    Ok(())
}

fn v3_heartbeat_ws_timeout(bed: &mut Bed) -> R {
    heartbeat_ws_timeout(bed, "EIO=3&transport=websocket")
}

fn v3_close_polling(bed: &mut Bed) -> R {
    let sid = init_v3_b64(bed)?;
    close_polling(bed, &q3(&sid), b"1:1", b"1:6")
}

fn v3_close_ws(bed: &mut Bed) -> R {
    close_ws(bed, "EIO=3&transport=websocket")
}

fn v3_upgrade(bed: &mut Bed) -> R {
    upgrade_and_echo(bed, init_v3_b64, q3, w3, b"1:6")
}

fn v3_upgrade_then(bed: &mut Bed, second: bool) -> R {
    let sid = init_v3_b64(bed)?;
    let ws = bed.ws_connect(&w3(&sid));
    bed.send_text(ws, "2probe");
    let probe = bed.wait_text(ws)?;
    ensure!(probe == "3probe", "{probe}");
    bed.send_text(ws, "5");
    if second {
        let ws2 = bed.ws_connect(&w3(&sid));
        ensure!(bed.wait_close(ws2, 2000), "second ws not closed");
    } else {
        let r = bed.fetch("GET", &q3(&sid), None)?;
        ensure!(r.status == 400, "polling after upgrade: {r}");
    }
    bed.send_text(ws, "4hello");
    let got = bed.wait_text(ws)?;
    ensure!(got == "4hello", "{got}");
    Ok(())
}

fn v3_upgrade_then_polling(bed: &mut Bed) -> R {
    v3_upgrade_then(bed, false)
}

fn v3_upgrade_second_ws(bed: &mut Bed) -> R {
    v3_upgrade_then(bed, true)
}

const ENGINE_V3: [Case; 24] = [
    ("handshake/polling/opens a session", v3_open_polling),
    (
        "handshake/polling/invalid transport",
        v3_invalid_transport_polling,
    ),
    ("handshake/polling/invalid method", v3_invalid_method),
    ("handshake/websocket/opens a session", v3_open_ws),
    ("handshake/websocket/invalid EIO", v3_invalid_eio_ws),
    (
        "handshake/websocket/invalid transport",
        v3_invalid_transport_ws,
    ),
    ("message/polling/one text packet", v3_message_one),
    ("message/polling/several text packets", v3_message_several),
    (
        "message/polling/text and binary (base64)",
        v3_message_base64,
    ),
    (
        "message/polling/text and binary (binary)",
        v3_message_binary,
    ),
    ("message/polling/invalid packet format", v3_message_invalid),
    (
        "message/polling/duplicate polls (skipped in the suite)",
        v3_duplicate_polls,
    ),
    ("message/websocket/text", v3_ws_text),
    ("message/websocket/binary", v3_ws_binary),
    ("message/websocket/invalid packet format", v3_ws_invalid),
    ("heartbeat/polling/ping pong", v3_heartbeat_polling),
    (
        "heartbeat/polling/ping timeout",
        v3_heartbeat_polling_timeout,
    ),
    ("heartbeat/websocket/ping pong", v3_heartbeat_ws),
    ("heartbeat/websocket/ping timeout", v3_heartbeat_ws_timeout),
    ("close/polling", v3_close_polling),
    ("close/websocket", v3_close_ws),
    ("upgrade/polling to websocket", v3_upgrade),
    (
        "upgrade/polling refused after upgrade",
        v3_upgrade_then_polling,
    ),
    ("upgrade/second websocket refused", v3_upgrade_second_ws),
];

// ----- Socket.IO v5 (socket.io-protocol fix/waitfor) -------------------------

fn sio_upgrade(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let ws = bed.ws_connect(&w4(&sid));
    ensure!(bed.opened(ws), "ws refused");
    bed.send_text(ws, "2probe");
    let probe = bed.wait_text(ws)?;
    ensure!(probe == "3probe", "{probe}");
    bed.send_text(ws, "5");
    ensure!(!bed.ws[&ws].closed, "ws closed after upgrade");
    Ok(())
}

fn sio_upgrade_then_polling(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let ws = bed.ws_connect(&w4(&sid));
    bed.send_text(ws, "2probe");
    bed.send_text(ws, "5");
    let r = bed.fetch("GET", &q4(&sid), None)?;
    ensure!(r.status == 400, "polling after upgrade: {r}");
    Ok(())
}

fn sio_upgrade_second_ws(bed: &mut Bed) -> R {
    let sid = init_polling_v4(bed)?;
    let ws = bed.ws_connect(&w4(&sid));
    bed.send_text(ws, "2probe");
    bed.send_text(ws, "5");
    let ws2 = bed.ws_connect(&w4(&sid));
    ensure!(bed.wait_close(ws2, 2000), "second ws not closed");
    Ok(())
}

const WSQ: &str = "EIO=4&transport=websocket";

fn sio_connect(bed: &mut Bed, connect: &str, prefix: &str, auth: &str) -> R {
    let ws = ws_after_handshake(bed, WSQ)?;
    bed.send_text(ws, connect);
    let data = bed.wait_text(ws)?;
    ensure!(data.starts_with(prefix), "{data}");
    let hs: serde_json::Value =
        serde_json::from_str(&data[prefix.len()..]).map_err(|e| e.to_string())?;
    let keys: Vec<&String> = hs.as_object().ok_or("not an object")?.keys().collect();
    ensure!(keys == ["sid"], "keys {keys:?}");
    ensure!(hs["sid"].is_string(), "sid");
    let auth_packet = bed.wait_text(ws)?;
    ensure!(auth_packet == auth, "{auth_packet}");
    Ok(())
}

fn sio_connect_main(bed: &mut Bed) -> R {
    sio_connect(bed, "40", "40", r#"42["auth",{}]"#)
}

fn sio_connect_main_payload(bed: &mut Bed) -> R {
    sio_connect(
        bed,
        r#"40{"token":"123"}"#,
        "40",
        r#"42["auth",{"token":"123"}]"#,
    )
}

fn sio_connect_custom(bed: &mut Bed) -> R {
    sio_connect(bed, "40/custom,", "40/custom,", r#"42/custom,["auth",{}]"#)
}

fn sio_connect_custom_payload(bed: &mut Bed) -> R {
    sio_connect(
        bed,
        r#"40/custom,{"token":"abc"}"#,
        "40/custom,",
        r#"42/custom,["auth",{"token":"abc"}]"#,
    )
}

fn sio_connect_unknown(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, WSQ)?;
    bed.send_text(ws, "40/random");
    let data = bed.wait_text(ws)?;
    ensure!(
        data == r#"44/random,{"message":"Invalid namespace"}"#,
        "{data}"
    );
    Ok(())
}

fn sio_connect_invalid(bed: &mut Bed) -> R {
    let ws = ws_after_handshake(bed, WSQ)?;
    bed.send_text(ws, "4abc");
    ensure!(bed.wait_close(ws, 2000), "not closed");
    Ok(())
}

fn sio_no_handshake(bed: &mut Bed) -> R {
    let ws = bed.ws_connect(WSQ);
    ensure!(bed.wait_close(ws, 2000), "not closed");
    Ok(())
}

fn init_sio(bed: &mut Bed) -> Result<TransportId, String> {
    let ws = ws_after_handshake(bed, WSQ)?;
    bed.send_text(ws, "40");
    bed.wait_text(ws)?; // Socket.IO handshake
    bed.wait_text(ws)?; // auth
    Ok(ws)
}

fn sio_disconnect_main(bed: &mut Bed) -> R {
    let ws = init_sio(bed)?;
    bed.send_text(ws, "41");
    let data = bed.wait_text(ws)?;
    ensure!(data == "2", "{data}");
    Ok(())
}

fn sio_disconnect_custom(bed: &mut Bed) -> R {
    let ws = init_sio(bed)?;
    let ping = bed.wait_text(ws)?;
    ensure!(ping == "2", "{ping}");
    bed.send_text(ws, "40/custom");
    bed.wait_text(ws)?;
    bed.wait_text(ws)?;
    bed.send_text(ws, "41/custom");
    bed.send_text(ws, r#"42["message","message to main namespace"]"#);
    let data = bed.wait_text(ws)?;
    ensure!(
        data == r#"42["message-back","message to main namespace"]"#,
        "{data}"
    );
    Ok(())
}

fn sio_plain(bed: &mut Bed) -> R {
    let ws = init_sio(bed)?;
    bed.send_text(ws, r#"42["message",1,"2",{"3":[true]}]"#);
    let data = bed.wait_text(ws)?;
    ensure!(data == r#"42["message-back",1,"2",{"3":[true]}]"#, "{data}");
    Ok(())
}

/// `count` messages, pings ignored (the suite's `waitForPackets`).
fn packets(bed: &mut Bed, ws: TransportId, count: usize) -> Result<Vec<Frame>, String> {
    let mut out = Vec::new();
    while out.len() < count {
        let f = bed.wait_message(ws, 2000)?;
        if f.as_text() != Some("2") {
            out.push(f);
        }
    }
    Ok(out)
}

fn sio_binary(bed: &mut Bed, header: &str, expect: &str) -> R {
    let ws = init_sio(bed)?;
    bed.send_text(ws, header);
    bed.ws_send(ws, Frame::Binary(vec![1, 2, 3]));
    bed.ws_send(ws, Frame::Binary(vec![4, 5, 6]));
    let p = packets(bed, ws, 3)?;
    ensure!(p[0].as_text() == Some(expect), "{:?}", p[0]);
    ensure!(p[1] == Frame::Binary(vec![1, 2, 3]), "{:?}", p[1]);
    ensure!(p[2] == Frame::Binary(vec![4, 5, 6]), "{:?}", p[2]);
    Ok(())
}

fn sio_binary_event(bed: &mut Bed) -> R {
    sio_binary(
        bed,
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
}

fn sio_plain_ack(bed: &mut Bed) -> R {
    let ws = init_sio(bed)?;
    bed.send_text(ws, r#"42456["message-with-ack",1,"2",{"3":[false]}]"#);
    let data = bed.wait_text(ws)?;
    ensure!(data == r#"43456[1,"2",{"3":[false]}]"#, "{data}");
    Ok(())
}

fn sio_binary_ack(bed: &mut Bed) -> R {
    sio_binary(
        bed,
        r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
}

fn sio_invalid(bed: &mut Bed, frame: &str) -> R {
    let ws = init_sio(bed)?;
    bed.send_text(ws, frame);
    ensure!(bed.wait_close(ws, 2000), "not closed after {frame}");
    Ok(())
}

fn sio_invalid_type(bed: &mut Bed) -> R {
    sio_invalid(bed, "4abc")
}

fn sio_invalid_payload(bed: &mut Bed) -> R {
    sio_invalid(bed, "42{}")
}

fn sio_invalid_ack(bed: &mut Bed) -> R {
    sio_invalid(bed, r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#)
}

const SOCKET_V5: [Case; 32] = [
    ("engine/handshake/polling/opens a session", v4_open_polling),
    (
        "engine/handshake/polling/invalid EIO",
        v4_invalid_eio_polling,
    ),
    (
        "engine/handshake/polling/invalid transport",
        v4_invalid_transport_polling,
    ),
    ("engine/handshake/polling/invalid method", v4_invalid_method),
    ("engine/handshake/websocket/opens a session", v4_open_ws),
    ("engine/handshake/websocket/invalid EIO", v4_invalid_eio_ws),
    (
        "engine/handshake/websocket/invalid transport",
        v4_invalid_transport_ws,
    ),
    ("engine/heartbeat/polling/ping pong", v4_heartbeat_polling),
    (
        "engine/heartbeat/polling/ping timeout",
        v4_heartbeat_polling_timeout,
    ),
    ("engine/heartbeat/websocket/ping pong", v4_heartbeat_ws),
    (
        "engine/heartbeat/websocket/ping timeout",
        v4_heartbeat_ws_timeout,
    ),
    ("engine/close/polling", v4_close_polling),
    ("engine/close/websocket", v4_close_ws),
    ("engine/upgrade/polling to websocket", sio_upgrade),
    (
        "engine/upgrade/polling refused after upgrade",
        sio_upgrade_then_polling,
    ),
    (
        "engine/upgrade/second websocket refused",
        sio_upgrade_second_ws,
    ),
    ("socket/connect/main namespace", sio_connect_main),
    (
        "socket/connect/main namespace with payload",
        sio_connect_main_payload,
    ),
    ("socket/connect/custom namespace", sio_connect_custom),
    (
        "socket/connect/custom namespace with payload",
        sio_connect_custom_payload,
    ),
    ("socket/connect/unknown namespace", sio_connect_unknown),
    ("socket/connect/invalid handshake", sio_connect_invalid),
    ("socket/connect/no handshake", sio_no_handshake),
    ("socket/disconnect/main namespace", sio_disconnect_main),
    ("socket/disconnect/custom namespace", sio_disconnect_custom),
    ("socket/message/plain text", sio_plain),
    ("socket/message/binary attachments", sio_binary_event),
    ("socket/message/plain text with ack", sio_plain_ack),
    ("socket/message/binary attachments with ack", sio_binary_ack),
    (
        "socket/message/invalid: unknown packet type",
        sio_invalid_type,
    ),
    (
        "socket/message/invalid: payload format",
        sio_invalid_payload,
    ),
    ("socket/message/invalid: ack id", sio_invalid_ack),
];

// ----- runners ---------------------------------------------------------------

const SEEDS: u64 = 100;

fn run_suite(name: &str, cases: &[Case], mode: Mode, config: fn() -> ServerConfig) {
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        for (case, run) in cases {
            let mut bed = Bed::new(seed, mode, config());
            if let Err(e) = run(&mut bed) {
                failures.push(format!("{name} / {case} / seed {seed}: {e}\n{}", bed.trace));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s); first:\n{}",
        failures.len(),
        failures.first().map(String::as_str).unwrap_or("")
    );
}

fn v3_config() -> ServerConfig {
    ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    }
}

#[test]
fn engine_io_v4_suite_24_cases_100_seeds() {
    assert_eq!(ENGINE_V4.len(), 24);
    run_suite(
        "engine.io-protocol main",
        &ENGINE_V4,
        Mode::Engine,
        ServerConfig::suite,
    );
}

#[test]
fn socket_io_v5_suite_32_cases_100_seeds() {
    assert_eq!(SOCKET_V5.len(), 32);
    run_suite(
        "socket.io-protocol fix/waitfor",
        &SOCKET_V5,
        Mode::Socket,
        ServerConfig::suite,
    );
}

#[test]
fn engine_io_v3_suite_24_cases_100_seeds() {
    assert_eq!(ENGINE_V3.len(), 24);
    run_suite("engine.io-protocol v3", &ENGINE_V3, Mode::Engine, v3_config);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for seed in 0..10 {
        for (cases, mode, config) in [
            (
                &ENGINE_V4[..],
                Mode::Engine,
                ServerConfig::suite as fn() -> ServerConfig,
            ),
            (&SOCKET_V5[..], Mode::Socket, ServerConfig::suite),
            (&ENGINE_V3[..], Mode::Engine, v3_config),
        ] {
            for (name, run) in cases {
                let mut a = Bed::new(seed, mode, config());
                let mut b = Bed::new(seed, mode, config());
                let _ = run(&mut a);
                let _ = run(&mut b);
                assert_eq!(a.trace, b.trace, "{name} seed {seed}");
            }
        }
    }
}

#[test]
fn different_seeds_give_different_sessions() {
    let mut a = Bed::new(1, Mode::Engine, ServerConfig::suite());
    let mut b = Bed::new(2, Mode::Engine, ServerConfig::suite());
    assert_ne!(
        init_polling_v4(&mut a).unwrap(),
        init_polling_v4(&mut b).unwrap()
    );
}
