//! Oracles of the session-machine targets: an Engine.IO server session and
//! client session driven by an arbitrary sequence of requests, frames,
//! application commands and clock jumps drawn with [`Gen`].
//!
//! Each machine runs as three twins fed the same inputs:
//!
//! * the reference, given non-decreasing instants at input granularity;
//! * one given the raw instants, which may go back in time (the machines
//!   must treat an earlier instant as the latest one seen);
//! * one woken exactly at every [`poll_timeout`] deadline in between
//!   (timers fire "as if at their own deadline", so the outputs must not
//!   depend on how often the caller's clock ticks).
//!
//! All three must produce the same transmits and events. On the reference,
//! the oracles check the protocol invariants listed on [`session_server`]
//! and [`session_client`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{self, v3, v4, Data, PacketType};
use siospec_codec::session::engine::{
    ClientConfig, ClientEvent, ClientSession, ClientTransmit, Endpoint, Event, HttpMethod,
    NodeHabits, Protocol, ServerConfig, ServerSession, Transmit, Transports, Verdict,
};
use siospec_codec::session::{
    Frame, HttpResponse, Message, RequestHead, TransportId, OCTET_STREAM,
};
use siospec_codec::{Limits, Profile};

use super::{EPacket, Gen};

const SID: &str = "fuzzsid";

/// Set `SIOSPEC_FUZZ_TRACE=1` to print every input and output of a run
/// (replaying one corpus file or artifact).
/// Each habit from one bit of `bits`. Bit 0 keeps the meaning it had in
/// inputs written when it was the only one: keep the heartbeat on upgrade.
fn habits_of(bits: u8) -> NodeHabits {
    let on = |i: u8| bits >> i & 1 == 1;
    NodeHabits {
        clear_heartbeat_on_upgrade: !on(0),
        ok_on_undecodable_post: on(1),
        ignore_close_over_websocket: on(2),
        check_eio_after_websocket_handshake: on(3),
        read_invalid_eio_as_v3: on(4),
        drop_v3_ping_data: on(5),
        upgrade_without_probe: on(6),
    }
}

fn trace() -> bool {
    std::env::var_os("SIOSPEC_FUZZ_TRACE").is_some()
}
const MAX_OPS: usize = 48;

/// A message as it arrives: `4` alone and `4` with empty text are the same.
fn normalise(m: Message) -> Message {
    match m {
        Message::Text(t) if t.is_empty() => Message::Empty,
        other => other,
    }
}

fn message_of(packet: &EPacket) -> Option<Message> {
    (packet.kind == PacketType::Message).then(|| {
        normalise(match &packet.data {
            Data::None => Message::Empty,
            Data::Text(t) => Message::Text(t.to_string()),
            Data::Binary(b) => Message::Binary(b.to_vec()),
        })
    })
}

/// `sub` appears in `all` in order (possibly with gaps): nothing invented,
/// duplicated or reordered.
fn assert_subsequence(sub: &[Message], all: &[Message], what: &str) {
    let mut it = all.iter();
    for (i, m) in sub.iter().enumerate() {
        assert!(
            it.any(|a| a == m),
            "{what}: message {i} {m:?} was never sent in this order; sent {all:?}, delivered {sub:?}"
        );
    }
}

/// A frame's packet as the machines see it: `Ok(None)` for v3 data of no
/// known type, which they ignore.
fn decode_frame(
    protocol: Protocol,
    frame: &Frame,
    profile: Profile,
) -> Result<Option<EPacket>, ()> {
    let decoded = match (protocol, frame) {
        (Protocol::V4, Frame::Text(t)) => v4::decode_text(t, profile).map(Some),
        (Protocol::V4, Frame::Binary(b)) => Ok(Some(v4::decode_binary(b))),
        (Protocol::V3, Frame::Text(t)) => v3::decode_text(t, profile).map(v3::Decoded::into_packet),
        (Protocol::V3, Frame::Binary(b)) => {
            v3::decode_binary(b, profile).map(v3::Decoded::into_packet)
        }
    };
    decoded
        .map(|p| p.map(engine::Packet::into_owned))
        .map_err(drop)
}

/// The packets of a polling body, up to the first that does not decode
/// (v3 data of no known type is skipped, as the machines ignore it).
fn decode_body(
    protocol: Protocol,
    body: &[u8],
    binary: bool,
    jsonp: bool,
    profile: Profile,
) -> (Vec<EPacket>, bool) {
    let limits = Limits::default();
    let known = |r: Result<v3::Decoded<'_>, engine::DecodeError>| {
        r.map(|d| d.into_packet().map(engine::Packet::into_owned))
    };
    let items: Vec<Result<Option<EPacket>, engine::DecodeError>> = if binary {
        v3::decode_binary_payload(body, profile, &limits)
            .map(known)
            .collect()
    } else {
        let Ok(text) = v4::body_text(body, profile) else {
            return (Vec::new(), false);
        };
        let text = if jsonp {
            match v3::jsonp::decode_request_body(&text) {
                Some(payload) => payload.into_owned(),
                None => return (Vec::new(), true),
            }
        } else {
            text.into_owned()
        };
        match protocol {
            Protocol::V4 => v4::decode_payload(&text, profile, &limits)
                .map(|r| r.map(|p| Some(p.into_owned())))
                .collect(),
            Protocol::V3 => v3::decode_payload(&text, profile, &limits)
                .map(known)
                .collect(),
        }
    };
    let ok = items.iter().all(Result::is_ok);
    (
        items.into_iter().map_while(Result::ok).flatten().collect(),
        ok,
    )
}

/// A JSONP response `___eio[j]("…");`: the payload string inside.
fn unwrap_jsonp(body: &[u8]) -> String {
    let text = std::str::from_utf8(body).expect("JSONP responses are UTF-8");
    let start = text.find("](").expect("JSONP response shape") + 2;
    let literal = text
        .get(start..text.len() - 2)
        .unwrap_or_else(|| panic!("JSONP response {text:?}"));
    serde_json::from_str(literal).unwrap_or_else(|e| panic!("JSONP literal {literal:?}: {e}"))
}

fn header<'r>(response: &'r HttpResponse, name: &str) -> Option<&'r str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn draw_ms(g: &mut Gen<'_>) -> u64 {
    const STEPS: [u64; 12] = [0, 1, 2, 50, 99, 100, 101, 199, 200, 300, 500, 30_000];
    match g.below(16) {
        i @ 0..=11 => STEPS[i],
        12 => u64::from(g.byte()),
        13 => u64::from(g.byte()) * 10,
        14 => 86_400_000,
        _ => u64::from(g.byte()) * 1000,
    }
}

fn draw_message(g: &mut Gen<'_>, no_separator: bool) -> Message {
    match g.below(4) {
        0 => Message::Empty,
        1 => Message::Binary(g.bytes(12)),
        _ => {
            let text = g.string(16);
            Message::Text(if no_separator {
                text.replace('\u{1e}', "")
            } else {
                text
            })
        }
    }
}

fn message_packet(m: &Message) -> EPacket {
    match m {
        Message::Text(t) => engine::Packet::text(PacketType::Message, t.clone()),
        Message::Binary(b) => engine::Packet::binary(b.clone()),
        Message::Empty => engine::Packet::new(PacketType::Message),
    }
}

/// Packets a peer might send: heartbeats, probes, messages, upgrade, close, noop.
fn draw_packet(g: &mut Gen<'_>, protocol: Protocol) -> EPacket {
    let kind = PacketType::ALL[g.below(7)];
    match g.below(4) {
        0 => engine::Packet::new(kind),
        1 => engine::Packet::text(kind, "probe"),
        2 if kind == PacketType::Message || protocol == Protocol::V3 => engine::Packet {
            kind,
            data: Data::Binary(g.bytes(8).into()),
        },
        _ => message_packet(&draw_message(g, protocol == Protocol::V4)),
    }
}

/// A polling body: packets in the protocol's framing, or raw bytes.
/// Returns the body and whether it is an XHR2 binary body.
fn draw_body(g: &mut Gen<'_>, protocol: Protocol, jsonp: bool) -> (Vec<u8>, bool) {
    if g.below(5) == 0 {
        return (g.bytes(40), protocol == Protocol::V3 && g.bool());
    }
    let packets: Vec<EPacket> = (0..1 + g.below(4))
        .map(|_| draw_packet(g, protocol))
        .collect();
    let mut body = Vec::new();
    let binary = match protocol {
        Protocol::V4 => {
            v4::encode_payload(&packets, &mut body);
            false
        }
        Protocol::V3 if !jsonp && g.bool() => {
            v3::encode_binary_payload(&packets, &mut body);
            true
        }
        Protocol::V3 => {
            v3::encode_payload(&packets, &mut body);
            false
        }
    };
    if jsonp {
        let text = String::from_utf8_lossy(&body);
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        return (format!("d={encoded}").into_bytes(), false);
    }
    (body, binary)
}

fn draw_frame(g: &mut Gen<'_>, protocol: Protocol) -> Frame {
    match g.below(6) {
        0 => Frame::Text("2probe".into()),
        1 => Frame::Text("5".into()),
        2 => Frame::Text(String::from_utf8_lossy(&g.bytes(12)).into_owned()),
        3 => Frame::Binary(g.bytes(12)),
        _ => {
            let packet = draw_packet(g, protocol);
            let mut out = Vec::new();
            let kind = match protocol {
                Protocol::V4 => v4::encode(&packet, g.bool(), &mut out),
                Protocol::V3 => v3::encode(&packet, g.bool(), &mut out),
            };
            match kind {
                engine::FrameKind::Binary => Frame::Binary(out),
                engine::FrameKind::Text => {
                    Frame::Text(String::from_utf8(out).expect("text frames are UTF-8"))
                }
            }
        }
    }
}

fn pick<T: Copy>(g: &mut Gen<'_>, items: &[T]) -> Option<T> {
    (!items.is_empty()).then(|| items[g.below(items.len())])
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// What a server input was, with the data the oracles need.
#[derive(Debug, Clone)]
enum ServerOp {
    Advance(u64),
    /// An input stamped this many ms before the latest instant.
    Late(u64),
    Get,
    Post {
        body: Vec<u8>,
        binary: bool,
        split: usize,
        end: bool,
    },
    Chunk(TransportId, Vec<u8>),
    End(TransportId),
    RequestClosed(TransportId),
    Put,
    WebSocket,
    Frame(TransportId, Frame),
    WsClosed(TransportId),
    WsError(TransportId),
    Send(Message),
    Close,
    Shutdown,
}

/// What the reference server was asked and what it answered.
#[derive(Default)]
struct ServerModel {
    /// Request id → (is a GET, answered count, abandoned by the client).
    requests: BTreeMap<u64, (bool, usize, bool)>,
    /// POSTs that must be answered or aborted by the end: their body
    /// ended, or they arrived while the session was open. (A POST that
    /// arrives while a close waits for the next GET, and whose body never
    /// ends, stays with the adapter, as in Node, which aborts only the POST
    /// in progress when the close starts.)
    owed: BTreeSet<u64>,
    posts: Vec<TransportId>,
    /// POST id → body received so far.
    bodies: BTreeMap<u64, Vec<u8>>,
    /// WebSocket id → (CloseWebSocket count, closed by the client).
    sockets: BTreeMap<u64, (usize, bool)>,
    sent: Vec<Message>,
    delivered: Vec<Message>,
    client_sent: Vec<Message>,
    received: Vec<Message>,
    closed: bool,
    max_events: usize,
}

struct ServerRun {
    protocol: Protocol,
    jsonp: bool,
    profile: Profile,
    no_separator: bool,
    t0: Instant,
    /// Milliseconds of the latest instant, and of the last input.
    latest: u64,
    next_id: u64,
    twins: [ServerSession; 3],
    model: ServerModel,
}

fn server_head<'a>(method: &'a str, query: &'a str, binary: bool) -> RequestHead<'a> {
    RequestHead {
        content_type: binary.then_some(OCTET_STREAM),
        accept_encoding: Some("gzip"),
        ..RequestHead::new(method, query)
    }
}

impl ServerRun {
    fn new(g: &mut Gen<'_>) -> Self {
        let protocol = if g.below(4) == 0 {
            Protocol::V3
        } else {
            Protocol::V4
        };
        let websocket = g.below(4) == 0;
        let b64 = g.below(4) == 0;
        let jsonp = protocol == Protocol::V3 && !websocket && g.below(4) == 0;
        let ms = Duration::from_millis;
        let config = ServerConfig {
            allow_eio3: true,
            max_payload: [1_000_000, 200, 40][g.below(3)],
            max_buffered_packets: [10_000, 3][g.below(2)],
            max_queued_events: [200_000, 2][g.below(2)],
            bounded_polling_flush: g.below(4) != 0,
            habits: habits_of(g.byte()),
            compression_threshold: [None, Some(1024), Some(8)][g.below(3)],
            profile: if g.bool() {
                Profile::Compat
            } else {
                Profile::Strict
            },
            ping_interval: ms([300, 1, 50][g.below(3)]),
            ping_timeout: ms([200, 1, 60][g.below(3)]),
            upgrade_timeout: ms([10_000, 5][g.below(2)]),
            polling_close_timeout: ms([30_000, 10][g.below(2)]),
            upgrade_noop_interval: ms([100, 1][g.below(2)]),
            ..ServerConfig::suite()
        };
        let mut query = format!(
            "EIO={}&transport={}",
            protocol.query_value(),
            if websocket { "websocket" } else { "polling" }
        );
        if b64 {
            query.push_str("&b64=1");
        }
        if jsonp {
            query.push_str("&j=0");
        }
        let head = if websocket {
            RequestHead::websocket(&query)
        } else {
            RequestHead::get(&query)
        };
        let endpoint = Endpoint::new(config.clone());
        let Verdict::Handshake(handshake) = endpoint.verify(&head, |_| None) else {
            panic!("handshake {query:?} refused");
        };
        let open = handshake.accept().expect("handshake accepted");
        let t0 = Instant::now();
        let session = ServerSession::new(t0, config.clone(), SID, open, TransportId(0), &head);
        let mut model = ServerModel {
            max_events: config.max_queued_events,
            ..ServerModel::default()
        };
        if websocket {
            model.sockets.insert(0, (0, false));
        } else {
            model.requests.insert(0, (true, 0, false));
        }
        let mut run = ServerRun {
            protocol,
            jsonp,
            profile: config.profile,
            no_separator: protocol == Protocol::V4,
            t0,
            latest: 0,
            next_id: 1,
            twins: [session.clone(), session.clone(), session],
            model,
        };
        let (transmits, events) = drain_server(&mut run.twins[0]);
        for twin in run.twins.iter_mut().skip(1) {
            assert_eq!(drain_server(twin), (transmits.clone(), events.clone()));
        }
        run.check(transmits, events);
        run
    }

    fn draw_op(&mut self, g: &mut Gen<'_>) -> ServerOp {
        let ws: Vec<TransportId> = self.model.sockets.keys().map(|&k| TransportId(k)).collect();
        let requests: Vec<TransportId> = self
            .model
            .requests
            .keys()
            .map(|&k| TransportId(k))
            .collect();
        match g.below(20) {
            0..=2 => ServerOp::Advance(draw_ms(g)),
            3 => ServerOp::Late(draw_ms(g)),
            4 | 5 => ServerOp::Get,
            6..=8 => {
                let (body, binary) = draw_body(g, self.protocol, self.jsonp);
                ServerOp::Post {
                    split: g.below(body.len() + 1),
                    end: g.below(8) != 0,
                    body,
                    binary,
                }
            }
            9 => match (pick(g, &self.model.posts), g.bool()) {
                (Some(id), true) => ServerOp::End(id),
                (Some(id), false) => ServerOp::Chunk(id, g.bytes(8)),
                (None, _) => ServerOp::Put,
            },
            10 => pick(g, &requests).map_or(ServerOp::Put, ServerOp::RequestClosed),
            11 => ServerOp::WebSocket,
            12..=14 => match pick(g, &ws) {
                Some(id) => ServerOp::Frame(id, draw_frame(g, self.protocol)),
                None => ServerOp::WebSocket,
            },
            15 => match (pick(g, &ws), g.bool()) {
                (Some(id), true) => ServerOp::WsClosed(id),
                (Some(id), false) => ServerOp::WsError(id),
                (None, _) => ServerOp::Get,
            },
            16 | 17 => ServerOp::Send(draw_message(g, self.no_separator)),
            18 => ServerOp::Close,
            _ if g.below(4) == 0 => ServerOp::Shutdown,
            _ => ServerOp::Advance(draw_ms(g)),
        }
    }

    fn apply(&mut self, op: ServerOp) {
        // The instant of this input: the reference and the woken twin get
        // `latest`, the raw twin may get an earlier one.
        let raw = match op {
            ServerOp::Advance(ms) => {
                self.latest += ms;
                self.latest
            }
            ServerOp::Late(ms) => self.latest.saturating_sub(ms),
            _ => self.latest,
        };
        let at = |ms: u64, t0: Instant| t0 + Duration::from_millis(ms);
        let now = at(self.latest, self.t0);
        let raw_now = at(raw, self.t0);
        // The woken twin first handles every deadline up to now (drained
        // only with the input's outputs: undrained transmits count against
        // the send queue).
        while let Some(deadline) = self.twins[2].poll_timeout().filter(|d| *d <= now) {
            self.twins[2].handle_timeout(deadline);
            assert_ne!(
                self.twins[2].poll_timeout(),
                Some(deadline),
                "a timer fired and stayed due"
            );
        }
        let fresh = TransportId(self.next_id);
        if !self.twins[0].is_closing() && !self.twins[0].is_closed() {
            if let ServerOp::Post { .. } = op {
                self.model.owed.insert(fresh.0);
            }
        }
        let mut send_results = Vec::new();
        for (i, twin) in self.twins.iter_mut().enumerate() {
            let now = if i == 1 { raw_now } else { now };
            send_results.push(apply_server(twin, &op, now, fresh, self.protocol));
        }
        assert!(
            send_results.windows(2).all(|w| w[0] == w[1]),
            "send results differ: {send_results:?}"
        );
        let reference = drain_server(&mut self.twins[0]);
        if trace() {
            eprintln!(
                "@{} {op:?}\n  -> {:?}\n  -> {:?}",
                self.latest, reference.0, reference.1
            );
        }
        assert_eq!(
            drain_server(&mut self.twins[1]),
            reference,
            "an instant earlier than the latest changed the outcome of {op:?}"
        );
        assert_eq!(
            drain_server(&mut self.twins[2]),
            reference,
            "waking at every deadline changed the outcome of {op:?}"
        );
        self.record(&op, fresh, send_results[0]);
        self.check(reference.0, reference.1);
        let session = &self.twins[0];
        if let Some(deadline) = session.poll_timeout() {
            assert!(
                deadline > now,
                "a timer due at or before now was left: {op:?}"
            );
        }
    }

    fn record(&mut self, op: &ServerOp, fresh: TransportId, send: Option<bool>) {
        let m = &mut self.model;
        match op {
            ServerOp::Get | ServerOp::Put => {
                m.requests
                    .insert(fresh.0, (matches!(op, ServerOp::Get), 0, false));
                self.next_id += 1;
            }
            ServerOp::Post {
                body,
                split,
                end,
                binary,
            } => {
                m.requests.insert(fresh.0, (false, 0, false));
                m.posts.push(fresh);
                m.bodies.insert(fresh.0, body.clone());
                self.next_id += 1;
                let _ = split;
                if *end {
                    m.owed.insert(fresh.0);
                    self.client_body(fresh, *binary);
                }
            }
            ServerOp::Chunk(id, bytes) => {
                if let Some(b) = m.bodies.get_mut(&id.0) {
                    b.extend_from_slice(bytes);
                }
            }
            ServerOp::End(id) => {
                m.owed.insert(id.0);
                self.client_body(*id, false);
            }
            ServerOp::RequestClosed(id) => {
                if let Some(r) = m.requests.get_mut(&id.0) {
                    if r.1 == 0 {
                        r.2 = true;
                    }
                }
            }
            ServerOp::WebSocket => {
                m.sockets.insert(fresh.0, (0, false));
                self.next_id += 1;
            }
            ServerOp::Frame(_, frame) => {
                if let Ok(Some(packet)) = decode_frame(self.protocol, frame, self.profile) {
                    m.client_sent.extend(message_of(&packet));
                }
            }
            ServerOp::WsClosed(id) => {
                if let Some(s) = m.sockets.get_mut(&id.0) {
                    s.1 = true;
                }
            }
            ServerOp::Send(message) if send == Some(true) => {
                m.sent.push(normalise(message.clone()));
            }
            _ => {}
        }
    }

    /// The messages of a POST body as the session's decoder sees them.
    fn client_body(&mut self, id: TransportId, binary: bool) {
        let Some(body) = self.model.bodies.get(&id.0) else {
            return;
        };
        for binary in [binary, !binary] {
            let (packets, _) = decode_body(self.protocol, body, binary, self.jsonp, self.profile);
            self.model
                .client_sent
                .extend(packets.iter().filter_map(message_of));
        }
    }

    fn check(&mut self, transmits: Vec<Transmit>, events: Vec<Event>) {
        let m = &mut self.model;
        for transmit in transmits {
            match transmit {
                Transmit::Http { id, response } => {
                    let r = m
                        .requests
                        .get_mut(&id.0)
                        .unwrap_or_else(|| panic!("answer to unknown request {id:?}"));
                    assert!(!r.2, "answer to request {id:?} the client abandoned");
                    r.1 += 1;
                    assert_eq!(r.1, 1, "request {id:?} answered twice");
                    if r.0 && response.status == 200 {
                        let binary = header(&response, "Content-Type") == Some(OCTET_STREAM);
                        let body = if self.jsonp {
                            unwrap_jsonp(&response.body).into_bytes()
                        } else {
                            response.body.clone()
                        };
                        let (packets, ok) =
                            decode_body(self.protocol, &body, binary, false, Profile::Strict);
                        assert!(
                            ok,
                            "the server wrote a body Strict refuses: {:?}",
                            response.body
                        );
                        assert!(!packets.is_empty(), "an empty 200 poll answer");
                        m.delivered.extend(packets.iter().filter_map(message_of));
                    }
                }
                Transmit::HttpAbort { id } => {
                    let r = m
                        .requests
                        .get_mut(&id.0)
                        .unwrap_or_else(|| panic!("abort of unknown request {id:?}"));
                    assert!(!r.0, "a GET is never aborted");
                    assert!(!r.2, "abort of request {id:?} the client abandoned");
                    r.1 += 1;
                    assert_eq!(r.1, 1, "request {id:?} answered twice");
                }
                Transmit::Frame { id, frame } => {
                    let s = m
                        .sockets
                        .get(&id.0)
                        .unwrap_or_else(|| panic!("frame to unknown WebSocket {id:?}"));
                    assert_eq!(s.0, 0, "frame after closing WebSocket {id:?}");
                    assert!(!s.1, "frame to WebSocket {id:?} the client closed");
                    let packet = decode_frame(self.protocol, &frame, Profile::Strict)
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| {
                            panic!("the server wrote a frame Strict refuses: {frame:?}")
                        });
                    m.delivered.extend(message_of(&packet));
                }
                Transmit::CloseWebSocket { id, .. } => {
                    let s = m
                        .sockets
                        .get_mut(&id.0)
                        .unwrap_or_else(|| panic!("close of unknown WebSocket {id:?}"));
                    assert!(!s.1, "close of WebSocket {id:?} the client closed");
                    s.0 += 1;
                    assert_eq!(s.0, 1, "WebSocket {id:?} closed twice");
                }
            }
        }
        assert!(
            events.len() <= m.max_events + 1,
            "{} events at once",
            events.len()
        );
        for event in events {
            assert!(!m.closed, "event after Closed: {event:?}");
            match event {
                Event::Message(message) => m.received.push(normalise(message)),
                Event::Closed(_) => m.closed = true,
                _ => {}
            }
        }
        assert_eq!(
            self.twins[0].is_closed(),
            m.closed,
            "is_closed() and the Closed event"
        );
        assert_subsequence(&m.delivered, &m.sent, "server → client");
        assert_subsequence(&m.received, &m.client_sent, "client → server");
    }

    /// Shut down, then every request the client did not abandon has had
    /// exactly one answer, every WebSocket it did not close has been closed
    /// once, and nothing more comes out.
    fn finish(&mut self) {
        self.apply(ServerOp::Shutdown);
        assert!(self.twins[0].is_closed() && self.model.closed);
        for (id, (get, answers, abandoned)) in &self.model.requests {
            let owed = *get || self.model.owed.contains(id);
            assert!(
                *abandoned || *answers == 1 || !owed,
                "request {id} never answered"
            );
        }
        for (id, (closes, closed_by_client)) in &self.model.sockets {
            assert!(
                *closed_by_client || *closes == 1,
                "WebSocket {id} never closed"
            );
        }
        self.apply(ServerOp::Advance(86_400_000));
        let later = TransportId(self.next_id + 100);
        for twin in &mut self.twins {
            assert_eq!(twin.poll_timeout(), None);
            twin.handle_frame(
                self.t0 + Duration::from_secs(100_000),
                later,
                Frame::Text("4x".into()),
            );
            assert_eq!(drain_server(twin), (Vec::new(), Vec::new()));
        }
    }
}

fn drain_server(s: &mut ServerSession) -> (Vec<Transmit>, Vec<Event>) {
    let mut transmits = Vec::new();
    while let Some(t) = s.poll_transmit() {
        transmits.push(t);
    }
    let mut events = Vec::new();
    while let Some(e) = s.poll_event() {
        events.push(e);
    }
    (transmits, events)
}

/// Applies `op`; for a send, whether it was accepted.
fn apply_server(
    s: &mut ServerSession,
    op: &ServerOp,
    now: Instant,
    fresh: TransportId,
    protocol: Protocol,
) -> Option<bool> {
    let query = format!("EIO={}&transport=polling&sid={SID}", protocol.query_value());
    match op {
        ServerOp::Advance(_) | ServerOp::Late(_) => s.handle_timeout(now),
        ServerOp::Get => s.handle_request(now, fresh, &server_head("GET", &query, false)),
        ServerOp::Put => s.handle_request(now, fresh, &server_head("PUT", &query, false)),
        ServerOp::Post {
            body,
            binary,
            split,
            end,
        } => {
            s.handle_request(now, fresh, &server_head("POST", &query, *binary));
            let (a, b) = body.split_at(*split);
            s.handle_body(now, fresh, a);
            s.handle_body(now, fresh, b);
            if *end {
                s.handle_body_end(now, fresh);
            }
        }
        ServerOp::Chunk(id, bytes) => s.handle_body(now, *id, bytes),
        ServerOp::End(id) => s.handle_body_end(now, *id),
        ServerOp::RequestClosed(id) => s.handle_request_closed(now, *id),
        ServerOp::WebSocket => {
            let ws_query = format!(
                "EIO={}&transport=websocket&sid={SID}",
                protocol.query_value()
            );
            s.handle_websocket(now, fresh, &RequestHead::websocket(&ws_query));
        }
        ServerOp::Frame(id, frame) => s.handle_frame(now, *id, frame.clone()),
        ServerOp::WsClosed(id) => s.handle_websocket_closed(now, *id),
        ServerOp::WsError(id) => s.handle_websocket_error(now, *id),
        ServerOp::Send(message) => return Some(s.send(now, message.clone()).is_ok()),
        ServerOp::Close => s.close(now),
        ServerOp::Shutdown => s.shutdown(now),
    }
    None
}

/// The Engine.IO server session (`ServerSession`, behind a verified
/// handshake) driven by an arbitrary sequence of polling requests (GET,
/// POST in chunks, other methods, requests abandoned), WebSockets (probe,
/// upgrade, frames, close, error), application sends and closes, and clock
/// jumps (forward and backward). Beyond the twin comparison (see the module
/// docs), after every input:
///
/// * every HTTP answer goes to a request that was made, not abandoned, and
///   not answered yet; GETs are never aborted; WebSocket frames and closes go
///   to known WebSockets, never after the server or the client closed them;
/// * every 200 poll answer and every frame decodes in `Strict`;
/// * the messages the client receives are the application's sends, in order,
///   without duplicates; the application's `Message` events are the client's
///   messages, in order;
/// * no event follows `Closed`, `is_closed()` agrees with it, and no timer is
///   left due;
///
/// and at the end, after `shutdown`: every request not abandoned was
/// answered exactly once, every WebSocket not closed by the client was
/// closed exactly once, and the session stays silent.
pub fn session_server(data: &[u8]) {
    let mut g = Gen::new(data);
    let mut run = ServerRun::new(&mut g);
    for _ in 0..MAX_OPS {
        if g.is_empty() {
            break;
        }
        let op = run.draw_op(&mut g);
        run.apply(op);
    }
    run.finish();
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum ClientOp {
    Advance(u64),
    Late(u64),
    /// Answer the GET in flight (or a stale id).
    AnswerGet {
        stale: bool,
        status: u16,
        body: Vec<u8>,
        binary: bool,
    },
    AnswerPost {
        stale: bool,
        status: u16,
    },
    WsOpen(TransportId),
    Frame(TransportId, Frame),
    WsClosed(TransportId),
    WsError(TransportId),
    Send(Message),
    Close,
}

#[derive(Default)]
struct ClientModel {
    /// Request and WebSocket ids ever handed out.
    ids: BTreeSet<u64>,
    /// Requests in flight: id → is a GET.
    in_flight: BTreeMap<u64, bool>,
    /// WebSocket id → (opened by us, closed by the client, closed by us).
    sockets: BTreeMap<u64, (bool, bool, bool)>,
    sid: Option<String>,
    opened: bool,
    closed: bool,
    sent: Vec<Message>,
    delivered: Vec<Message>,
    max_events: usize,
}

struct ClientRun {
    protocol: Protocol,
    path: String,
    t0: Instant,
    latest: u64,
    twins: [ClientSession; 3],
    model: ClientModel,
    /// What the server side has said so far, to build answers from.
    handshake_sent: bool,
}

impl ClientRun {
    fn new(g: &mut Gen<'_>) -> Self {
        let protocol = if g.below(4) == 0 {
            Protocol::V3
        } else {
            Protocol::V4
        };
        let transports = match g.below(4) {
            0 => Transports {
                polling: false,
                websocket: true,
            },
            1 => Transports {
                polling: true,
                websocket: false,
            },
            _ => Transports::default(),
        };
        let config = ClientConfig {
            protocol,
            transports,
            upgrade: g.below(4) != 0,
            force_base64: g.below(4) == 0,
            timestamp_requests: g.bool(),
            max_buffered_packets: [10_000, 2][g.below(2)],
            max_queued_events: [200_000, 2][g.below(2)],
            profile: if g.bool() {
                Profile::Compat
            } else {
                Profile::Strict
            },
            query: if g.below(4) == 0 {
                vec![("x y".to_owned(), "&=ü".to_owned())]
            } else {
                Vec::new()
            },
            ..ClientConfig::default()
        };
        let t0 = Instant::now();
        let session = ClientSession::new(t0, config.clone());
        let mut run = ClientRun {
            protocol,
            path: config.path.clone(),
            t0,
            latest: 0,
            twins: [session.clone(), session.clone(), session],
            model: ClientModel {
                max_events: config.max_queued_events,
                ..ClientModel::default()
            },
            handshake_sent: false,
        };
        let out = drain_client(&mut run.twins[0]);
        for twin in run.twins.iter_mut().skip(1) {
            assert_eq!(drain_client(twin), out);
        }
        run.check(out.0, out.1);
        run
    }

    fn draw_op(&mut self, g: &mut Gen<'_>) -> ClientOp {
        let sockets: Vec<TransportId> =
            self.model.sockets.keys().map(|&k| TransportId(k)).collect();
        match g.below(16) {
            0..=2 => ClientOp::Advance(draw_ms(g)),
            3 => ClientOp::Late(draw_ms(g)),
            4..=6 => {
                let (body, binary) = self.draw_server_body(g);
                ClientOp::AnswerGet {
                    stale: g.below(8) == 0,
                    status: if g.below(10) == 0 { 400 } else { 200 },
                    body,
                    binary,
                }
            }
            7 => ClientOp::AnswerPost {
                stale: g.below(8) == 0,
                status: if g.below(10) == 0 { 0 } else { 200 },
            },
            8 => pick(g, &sockets).map_or(ClientOp::Advance(1), ClientOp::WsOpen),
            9..=11 => match pick(g, &sockets) {
                Some(id) => ClientOp::Frame(id, self.draw_server_frame(g)),
                None => ClientOp::Send(draw_message(g, self.protocol == Protocol::V4)),
            },
            12 => match (pick(g, &sockets), g.bool()) {
                (Some(id), true) => ClientOp::WsClosed(id),
                (Some(id), false) => ClientOp::WsError(id),
                (None, _) => ClientOp::Advance(draw_ms(g)),
            },
            13 | 14 => ClientOp::Send(draw_message(g, self.protocol == Protocol::V4)),
            _ => ClientOp::Close,
        }
    }

    /// A handshake first (usually), then payloads.
    fn handshake_packet(&self, g: &mut Gen<'_>) -> EPacket {
        let h = Handshake {
            sid: if g.below(8) == 0 {
                g.string(6)
            } else {
                "s1".to_owned()
            },
            upgrades: if g.below(3) == 0 {
                Vec::new()
            } else {
                vec!["websocket".to_owned()]
            },
            ping_interval: [300, 1, 0, 25_000][g.below(4)],
            ping_timeout: [200, 1, 0, 20_000][g.below(4)],
            max_payload: [Some(1_000_000), Some(30), None][g.below(3)],
        };
        let mut json = Vec::new();
        h.encode(&mut json);
        engine::Packet::text(PacketType::Open, String::from_utf8(json).expect("JSON"))
    }

    fn draw_server_body(&mut self, g: &mut Gen<'_>) -> (Vec<u8>, bool) {
        if g.below(6) == 0 {
            return (g.bytes(40), self.protocol == Protocol::V3 && g.bool());
        }
        let mut packets = Vec::new();
        if !self.handshake_sent || g.below(16) == 0 {
            self.handshake_sent = true;
            packets.push(self.handshake_packet(g));
        }
        for _ in 0..g.below(4) {
            packets.push(draw_packet(g, self.protocol));
        }
        if packets.is_empty() {
            packets.push(engine::Packet::new(PacketType::Noop));
        }
        let mut body = Vec::new();
        let binary = match self.protocol {
            Protocol::V4 => {
                v4::encode_payload(&packets, &mut body);
                false
            }
            Protocol::V3 if g.bool() => {
                v3::encode_binary_payload(&packets, &mut body);
                true
            }
            Protocol::V3 => {
                v3::encode_payload(&packets, &mut body);
                false
            }
        };
        (body, binary)
    }

    fn draw_server_frame(&mut self, g: &mut Gen<'_>) -> Frame {
        match g.below(8) {
            0 => Frame::Text("3probe".into()),
            1 if !self.handshake_sent || g.bool() => {
                self.handshake_sent = true;
                let packet = self.handshake_packet(g);
                let mut out = Vec::new();
                v4::encode(&packet, false, &mut out);
                Frame::Text(String::from_utf8(out).expect("JSON"))
            }
            _ => draw_frame(g, self.protocol),
        }
    }

    fn apply(&mut self, op: ClientOp) {
        let raw = match op {
            ClientOp::Advance(ms) => {
                self.latest += ms;
                self.latest
            }
            ClientOp::Late(ms) => self.latest.saturating_sub(ms),
            _ => self.latest,
        };
        let now = self.t0 + Duration::from_millis(self.latest);
        let raw_now = self.t0 + Duration::from_millis(raw);
        // A zero ping interval leaves a timer due at the current instant; the
        // session runs it before the input, so what it writes to a WebSocket
        // precedes that socket's close in the same input.
        let timer_due = self.twins[0].poll_timeout().is_some_and(|d| d <= now);
        while let Some(deadline) = self.twins[2].poll_timeout().filter(|d| *d <= now) {
            self.twins[2].handle_timeout(deadline);
            assert_ne!(
                self.twins[2].poll_timeout(),
                Some(deadline),
                "a timer fired and stayed due"
            );
        }
        // The requests in flight, as the reference sees them.
        let get = self
            .model
            .in_flight
            .iter()
            .find(|(_, g)| **g)
            .map(|(&id, _)| id);
        let post = self
            .model
            .in_flight
            .iter()
            .find(|(_, g)| !**g)
            .map(|(&id, _)| id);
        let target = match &op {
            ClientOp::AnswerGet { stale: false, .. } => get,
            ClientOp::AnswerPost { stale: false, .. } => post,
            _ => None,
        };
        let id = TransportId(target.unwrap_or(u64::MAX));
        let mut send_results = Vec::new();
        for (i, twin) in self.twins.iter_mut().enumerate() {
            let now = if i == 1 { raw_now } else { now };
            send_results.push(apply_client(twin, &op, now, id));
        }
        assert!(
            send_results.windows(2).all(|w| w[0] == w[1]),
            "send results differ: {send_results:?}"
        );
        let reference = drain_client(&mut self.twins[0]);
        if trace() {
            eprintln!(
                "@{} {op:?} (id {id:?})\n  -> {:?}\n  -> {:?}",
                self.latest, reference.0, reference.1
            );
        }
        assert_eq!(
            drain_client(&mut self.twins[1]),
            reference,
            "an instant earlier than the latest changed the outcome of {op:?}"
        );
        assert_eq!(
            drain_client(&mut self.twins[2]),
            reference,
            "waking at every deadline changed the outcome of {op:?}"
        );
        match &op {
            ClientOp::AnswerGet { .. } | ClientOp::AnswerPost { .. } => {
                if let Some(t) = target {
                    self.model.in_flight.remove(&t);
                }
            }
            ClientOp::WsOpen(id) => {
                if let Some(s) = self.model.sockets.get_mut(&id.0) {
                    s.0 = true;
                }
            }
            ClientOp::WsClosed(id) if !timer_due => {
                if let Some(s) = self.model.sockets.get_mut(&id.0) {
                    s.1 = true;
                }
            }
            ClientOp::Send(message) if send_results[0] == Some(true) => {
                self.model.sent.push(normalise(message.clone()));
            }
            _ => {}
        }
        self.check(reference.0, reference.1);
        if let (ClientOp::WsClosed(id), true) = (&op, timer_due) {
            if let Some(s) = self.model.sockets.get_mut(&id.0) {
                s.1 = true;
            }
        }
        if let Some(deadline) = self.twins[0].poll_timeout() {
            assert!(deadline >= now, "a timer due before now was left: {op:?}");
        }
    }

    fn check(&mut self, transmits: Vec<ClientTransmit>, events: Vec<ClientEvent>) {
        let m = &mut self.model;
        for event in &events {
            if let ClientEvent::Open(h) = event {
                m.sid = Some(h.sid.clone());
            }
        }
        for transmit in transmits {
            match transmit {
                ClientTransmit::Http(request) => {
                    assert!(m.ids.insert(request.id.0), "id {:?} reused", request.id);
                    let is_get = request.method == HttpMethod::Get;
                    // engine.io-client's `doClose` writes the close packet
                    // whether or not a POST is in flight.
                    let binary = request.content_type == Some(OCTET_STREAM);
                    let close_packet = !is_get
                        && decode_body(
                            self.protocol,
                            &request.body,
                            binary,
                            false,
                            Profile::Strict,
                        ) == (vec![engine::Packet::new(PacketType::Close)], true);
                    assert!(
                        close_packet || !m.in_flight.values().any(|&g| g == is_get),
                        "a second {:?} while one is in flight",
                        request.method
                    );
                    m.in_flight.insert(request.id.0, is_get);
                    check_uri(
                        &self.path,
                        self.protocol,
                        m.sid.as_deref(),
                        &request.uri,
                        "polling",
                    );
                    if !is_get {
                        let binary = request.content_type == Some(OCTET_STREAM);
                        let (packets, ok) = decode_body(
                            self.protocol,
                            &request.body,
                            binary,
                            false,
                            Profile::Strict,
                        );
                        assert!(
                            ok,
                            "the client wrote a body Strict refuses: {:?}",
                            request.body
                        );
                        assert!(!packets.is_empty(), "an empty POST");
                        m.delivered.extend(packets.iter().filter_map(message_of));
                    }
                }
                ClientTransmit::OpenWebSocket { id, uri } => {
                    assert!(m.ids.insert(id.0), "id {id:?} reused");
                    m.sockets.insert(id.0, (false, false, false));
                    check_uri(
                        &self.path,
                        self.protocol,
                        m.sid.as_deref(),
                        &uri,
                        "websocket",
                    );
                }
                ClientTransmit::Frame { id, frame } => {
                    let s = m
                        .sockets
                        .get(&id.0)
                        .unwrap_or_else(|| panic!("frame on unknown WebSocket {id:?}"));
                    assert!(
                        s.0 && !s.1 && !s.2,
                        "frame on WebSocket {id:?} in state {s:?}"
                    );
                    let packet = decode_frame(self.protocol, &frame, Profile::Strict)
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| {
                            panic!("the client wrote a frame Strict refuses: {frame:?}")
                        });
                    m.delivered.extend(message_of(&packet));
                }
                ClientTransmit::CloseWebSocket { id } => {
                    let s = m
                        .sockets
                        .get_mut(&id.0)
                        .unwrap_or_else(|| panic!("close of unknown WebSocket {id:?}"));
                    assert!(!s.2, "WebSocket {id:?} closed twice");
                    s.2 = true;
                }
                ClientTransmit::Abort { id } => {
                    assert!(
                        m.in_flight.remove(&id.0).is_some(),
                        "abort of request {id:?} not in flight"
                    );
                }
            }
        }
        assert!(
            events.len() <= m.max_events + 1,
            "{} events at once",
            events.len()
        );
        for event in events {
            assert!(!m.closed, "event after Closed: {event:?}");
            match event {
                ClientEvent::Open(_) => {
                    assert!(!m.opened, "opened twice");
                    m.opened = true;
                }
                ClientEvent::Message(_) => assert!(m.opened, "a message before the handshake"),
                ClientEvent::Closed(_) => m.closed = true,
                _ => {}
            }
        }
        assert_eq!(
            self.twins[0].is_closed(),
            m.closed,
            "is_closed() and the Closed event"
        );
        assert_subsequence(&m.delivered, &m.sent, "client → server");
    }

    /// `close`, then a day of silence: the heartbeat ends the session
    /// (when the handshake's timings are not absurd).
    fn finish(&mut self) {
        self.apply(ClientOp::Close);
        self.apply(ClientOp::Advance(86_400_000));
        let sane = match self.twins[0].handshake() {
            Some(h) => h.ping_interval < 1 << 40 && h.ping_timeout < 1 << 40,
            None => true,
        };
        if sane {
            assert!(
                self.twins[0].is_closed(),
                "a closed-and-silent client is still open"
            );
        }
    }
}

fn check_uri(path: &str, protocol: Protocol, sid: Option<&str>, uri: &str, transport: &str) {
    let query = uri
        .strip_prefix(path)
        .and_then(|q| q.strip_prefix('?'))
        .unwrap_or_else(|| panic!("{uri:?} is not under {path:?}"));
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    assert_eq!(get("EIO"), Some(protocol.query_value()), "{uri}");
    assert_eq!(get("transport"), Some(transport), "{uri}");
    if let Some(sid) = sid {
        assert!(get("sid").is_some(), "{uri} after the handshake of {sid:?}");
    }
}

fn drain_client(c: &mut ClientSession) -> (Vec<ClientTransmit>, Vec<ClientEvent>) {
    let mut transmits = Vec::new();
    while let Some(t) = c.poll_transmit() {
        transmits.push(t);
    }
    let mut events = Vec::new();
    while let Some(e) = c.poll_event() {
        events.push(e);
    }
    (transmits, events)
}

fn apply_client(
    c: &mut ClientSession,
    op: &ClientOp,
    now: Instant,
    id: TransportId,
) -> Option<bool> {
    match op {
        ClientOp::Advance(_) | ClientOp::Late(_) => c.handle_timeout(now),
        ClientOp::AnswerGet {
            status,
            body,
            binary,
            ..
        } => {
            let content_type = if *binary {
                OCTET_STREAM
            } else {
                "text/plain; charset=UTF-8"
            };
            c.handle_response(now, id, *status, Some(content_type), body);
        }
        ClientOp::AnswerPost { status: 0, .. } => c.handle_request_failed(now, id),
        ClientOp::AnswerPost { status, .. } => {
            c.handle_response(now, id, *status, Some("text/html"), b"ok")
        }
        ClientOp::WsOpen(id) => c.handle_websocket_open(now, *id),
        ClientOp::Frame(id, frame) => c.handle_frame(now, *id, frame.clone()),
        ClientOp::WsClosed(id) => c.handle_websocket_closed(now, *id),
        ClientOp::WsError(id) => c.handle_websocket_error(now, *id),
        ClientOp::Send(message) => return Some(c.send(now, message.clone()).is_ok()),
        ClientOp::Close => c.close(now),
    }
    None
}

/// The Engine.IO client session (`ClientSession`) driven by an arbitrary
/// sequence of answers to its requests (handshakes, payloads, raw bytes,
/// errors, failures, stale ids), WebSocket events and frames, application
/// sends and closes, and clock jumps. Beyond the twin comparison (see the
/// module docs), after every input:
///
/// * ids are never reused; at most one GET and one POST are in flight;
///   every URI is under the configured path with `EIO` and `transport`,
///   and carries `sid` once the handshake is in;
/// * every POST body and frame decodes in `Strict`, and the messages in them
///   are the application's sends, in order, without duplicates; frames go
///   only to WebSockets that opened and were not closed by either side;
/// * one `Open` at most, no `Message` before it, no event after `Closed`,
///   `is_closed()` agrees, no timer left due before now;
///
/// and at the end, after `close` and a day of silence, the session is closed
/// (unless the handshake never came and a request is still in flight).
pub fn session_client(data: &[u8]) {
    let mut g = Gen::new(data);
    let mut run = ClientRun::new(&mut g);
    for _ in 0..MAX_OPS {
        if g.is_empty() {
            break;
        }
        let op = run.draw_op(&mut g);
        run.apply(op);
    }
    run.finish();
}
