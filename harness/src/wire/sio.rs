//! A Socket.IO client over an Engine.IO [`Conn`] (long-polling or
//! WebSocket): packets encoded by the codec (or sent as given with
//! [`Sio::send_raw`]), whole packets received (binary attachments joined by
//! the codec's reassembler), the heartbeat kept under the connection's
//! [`Heartbeat`] policy.
//!
//! With the msgpack parser (`--parser msgpack`) the same calls speak
//! socket.io-msgpack-parser: a packet a case writes in the default parser's
//! text is sent as the msgpack map of the same packet, and a received map is
//! shown to the case in that text too ([`SioPacket::raw`], its bytes as
//! attachments), so a case states its rule once for both parsers. What only
//! the text format can express (malformed text, attachments sent on their
//! own) makes the case SKIPPED as not applicable.

use std::time::Duration;

use serde_json::Value;
use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{self, Data};
use siospec_codec::session::socket::{self as session_socket, Parser};
use siospec_codec::socket::binary;
use siospec_codec::socket::{self, msgpack, AckId, PacketType, Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};
use tokio::time::Instant;

use super::conn::{Conn, Incoming, Transport};
use super::heartbeat::{self, Heartbeat};
use crate::case::server::Ctx;
use crate::case::Stop;

/// How soon after [`Sio::sync_on_ping`] is called a ping is too soon to
/// prove that the server read what was sent before (ms, scaled).
pub const SYNC_MARGIN_MS: u64 = 100;
/// A received Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct SioPacket {
    /// Packet type.
    pub kind: PacketType,
    /// Namespace (`/` when the packet names none).
    pub nsp: String,
    /// Ack id.
    pub id: Option<u64>,
    /// JSON payload (placeholders left in place).
    pub data: Option<Value>,
    /// The payload with each placeholder replaced by its attachment (the
    /// codec's reconstruction); `None` when it does not reconstruct.
    pub value: Option<binary::Value>,
    /// Binary attachments, in order.
    pub attachments: Vec<Vec<u8>>,
    /// With the msgpack parser, the binary message as received.
    pub frame: Option<Vec<u8>>,
    /// The packet's text as received (without the Engine.IO `4`); with the
    /// msgpack parser, the default parser's text of the same packet.
    pub raw: String,
}

impl SioPacket {
    /// The event name, for an event packet with a string name.
    pub fn event(&self) -> Option<&str> {
        match (&self.kind, &self.data) {
            (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(a))) => {
                a.first().and_then(Value::as_str)
            }
            _ => None,
        }
    }

    /// The event arguments after the name.
    pub fn args(&self) -> &[Value] {
        match &self.data {
            Some(Value::Array(a)) if !a.is_empty() => &a[1..],
            _ => &[],
        }
    }

    /// The payload as JSON with each attachment shown as `{"$bin": hex}`,
    /// so packets compare by content; `null` without a payload.
    pub fn content(&self) -> Value {
        self.value.as_ref().map_or(Value::Null, shown)
    }

    /// A short description for failure messages.
    pub fn describe(&self) -> String {
        let raw = if self.raw.len() > 300 {
            format!("{}…", self.raw.chars().take(300).collect::<String>())
        } else {
            self.raw.clone()
        };
        if self.attachments.is_empty() {
            format!("packet {raw:?}")
        } else {
            format!(
                "packet {raw:?} with {} attachment(s) [{}]",
                self.attachments.len(),
                self.attachments
                    .iter()
                    .map(|a| crate::trace::hex(&a[..a.len().min(16)]))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        }
    }
}

/// `v` as JSON, bytes shown as `{"$bin": "<hex>"}`, `undefined` (msgpack) as `{"$undefined": true}`.
pub fn shown(v: &binary::Value) -> Value {
    match v {
        binary::Value::Null => Value::Null,
        binary::Value::Bool(b) => Value::Bool(*b),
        binary::Value::Number(n) => Value::Number(n.clone()),
        binary::Value::String(s) => Value::String(s.clone()),
        binary::Value::Array(a) => Value::Array(a.iter().map(shown).collect()),
        binary::Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), shown(x))).collect())
        }
        binary::Value::Binary(b) => serde_json::json!({ "$bin": crate::trace::hex(b) }),
        binary::Value::Undefined => serde_json::json!({ "$undefined": true }),
    }
}

/// What [`Sio::next`] got.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    /// A whole packet.
    Packet(SioPacket),
    /// The connection ended (WebSocket close, TCP end, a failed poll, or an
    /// Engine.IO `1`).
    Closed(String),
    /// Nothing within the wait.
    Nothing,
    /// Something that is not a valid Socket.IO packet.
    Undecodable(String),
}

impl Got {
    /// A short description.
    pub fn describe(&self) -> String {
        match self {
            Got::Packet(p) => p.describe(),
            Got::Closed(d) => format!("connection closed ({d})"),
            Got::Nothing => "nothing".to_owned(),
            Got::Undecodable(d) => format!("undecodable frame: {d}"),
        }
    }
}

/// A Socket.IO connection over an Engine.IO session.
#[derive(Debug)]
pub struct Sio {
    /// The Engine.IO connection.
    pub conn: Conn,
    /// Packets a case set aside to look at later.
    pub pending: Vec<SioPacket>,
    eio: u8,
    parser: Parser,
    trace: std::sync::Arc<crate::trace::Trace>,
    reassembler: Reassembler,
    closed: Option<String>,
}

impl Sio {
    /// Opens a WebSocket session with the suite's Engine.IO revision and reads its open packet.
    pub async fn open(cx: &Ctx) -> Result<Sio, Stop> {
        Sio::open_over(cx, Transport::WebSocket).await
    }

    /// Opens a session over `transport` with the suite's Engine.IO
    /// revision and reads its open packet.
    pub async fn open_over(cx: &Ctx, transport: Transport) -> Result<Sio, Stop> {
        let mut conn = Conn::open(cx, transport).await?;
        let eio = cx.suite.eio();
        let version = if eio == 3 { Version::V4 } else { Version::V5 };
        // Keep the session alive while the case looks elsewhere.
        conn.set_heartbeat(Heartbeat::AutoPong);
        Ok(Sio {
            conn,
            pending: Vec::new(),
            eio,
            parser: if eio == 4 { cx.parser } else { Parser::Default },
            trace: cx.trace.clone(),
            reassembler: Reassembler::new(version, Profile::Compat, Limits::default()),
            closed: None,
        })
    }

    /// Opens a session and joins `/` (v5: sends `40`; v4: the server joins
    /// `/` by itself), reading the CONNECT reply and the `auth` event.
    pub async fn connected(cx: &Ctx) -> Result<Sio, Stop> {
        let mut s = Sio::open(cx).await?;
        s.join(cx, "/", None).await?;
        Ok(s)
    }

    /// The Engine.IO handshake.
    pub fn handshake(&self) -> &Handshake {
        self.conn.handshake()
    }

    /// Sets the heartbeat policy (see [`Conn::set_heartbeat`]); returns the previous one.
    pub fn set_heartbeat(&mut self, policy: Heartbeat) -> Heartbeat {
        self.conn.set_heartbeat(policy)
    }

    /// Sends the Socket.IO packet text `text` as it is, in an Engine.IO
    /// message the codec frames: for input the Socket.IO encoder would not
    /// write (malformed packets).
    ///
    /// With the msgpack parser the packet is sent as its msgpack map; text
    /// that is not a packet the encoder would write has no msgpack form, and
    /// the case is SKIPPED as not applicable.
    pub async fn send_raw(&mut self, text: &str) -> Result<(), Stop> {
        match self.parser {
            Parser::Default => {
                self.conn
                    .send(&engine::Packet::text(engine::PacketType::Message, text))
                    .await
            }
            Parser::Msgpack => {
                let frame = to_msgpack(text, Vec::new())?;
                self.send_msgpack(&frame).await
            }
        }
    }

    /// Sends `frame` as one binary message, as it is: with the msgpack
    /// parser, a map the encoder would not write (or no map at all).
    pub async fn send_msgpack(&mut self, frame: &[u8]) -> Result<(), Stop> {
        self.conn.send(&engine::Packet::binary(frame)).await
    }

    /// Sends the text `text` as an Engine.IO text message even on a msgpack
    /// connection (which reads binary messages only).
    pub async fn send_text_frame(&mut self, text: &str) -> Result<(), Stop> {
        self.conn
            .send(&engine::Packet::text(engine::PacketType::Message, text))
            .await
    }

    /// Sends one binary attachment as it is (an Engine.IO binary message).
    /// The msgpack parser has no attachments: the case is not applicable.
    pub async fn send_attachment(&mut self, data: &[u8]) -> Result<(), Stop> {
        self.text_format_only("sends a binary attachment as a message of its own")?;
        self.conn.send(&engine::Packet::binary(data)).await
    }

    /// SKIPPED under the msgpack parser: the case is about the default
    /// parser's text format (`what` it does, for the reason).
    pub fn text_format_only(&self, what: &str) -> Result<(), Stop> {
        match self.parser {
            Parser::Default => Ok(()),
            other => Err(not_applicable(other, what)),
        }
    }

    /// Sends a packet from its parts, encoded by the codec (`json` is the
    /// payload's JSON text, kept as written).
    pub async fn send_packet(
        &mut self,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        json: Option<&str>,
    ) -> Result<(), Stop> {
        let text = encode(kind, nsp, id, json)?;
        self.send_raw(&text).await
    }

    /// Sends an event packet: `2[nsp,][id]json`.
    pub async fn emit(&mut self, nsp: &str, id: Option<u64>, json: &str) -> Result<(), Stop> {
        self.send_packet(PacketType::Event, nsp, id, Some(json))
            .await
    }

    /// Sends an event (`Event`) or ack (`Ack`) carrying `data`, its bytes as
    /// attachments after the header (the codec makes it a binary packet
    /// with placeholders when it holds bytes).
    pub async fn send_data(
        &mut self,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        data: &binary::Value,
    ) -> Result<(), Stop> {
        if self.parser == Parser::Msgpack {
            let (header, attachments) = encode_data(kind, nsp, id, data)?;
            let frame = to_msgpack(&header, attachments)?;
            return self.send_msgpack(&frame).await;
        }
        for a in self.send_header(kind, nsp, id, data).await? {
            self.send_attachment(&a).await?;
        }
        Ok(())
    }

    /// Sends the header of [`Sio::send_data`] alone and returns the
    /// attachments, for a case that sends them otherwise.
    pub async fn send_header(
        &mut self,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        data: &binary::Value,
    ) -> Result<Vec<Vec<u8>>, Stop> {
        self.text_format_only("sends a binary packet's header apart from its attachments")?;
        let (header, attachments) = encode_data(kind, nsp, id, data)?;
        self.send_raw(&header).await?;
        Ok(attachments)
    }

    /// The next Socket.IO packet within `wait`, answering pings on the way.
    pub async fn next(&mut self, wait: Duration) -> Got {
        if let Some(d) = &self.closed {
            return Got::Closed(d.clone());
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let incoming = match self.conn.recv(left).await {
                Some(i) => i,
                None => return Got::Nothing,
            };
            let got = match incoming {
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Noop,
                    data: Data::None,
                }) => continue,
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Close,
                    data: Data::None,
                }) => Got::Closed("Engine.IO close packet `1`".into()),
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Message,
                    data: Data::Text(text),
                }) if self.parser == Parser::Msgpack => Got::Undecodable(format!(
                    "text message {text:?} on a msgpack connection (socket.io-msgpack-parser writes binary messages only)"
                )),
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Message,
                    data: Data::Binary(data),
                }) if self.parser == Parser::Msgpack => self.msgpack_packet(&data),
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Message,
                    data: Data::Text(text),
                }) => match self.text_packet(&text) {
                    Some(got) => got,
                    None => continue,
                },
                Incoming::Packet(engine::Packet {
                    kind: engine::PacketType::Message,
                    data: Data::Binary(data),
                }) => match self.reassembler.push_binary(data.into_owned()) {
                    Ok(Some(done)) => {
                        let p = done.packet();
                        let packet = SioPacket {
                            kind: p.kind,
                            nsp: p.namespace.to_owned(),
                            id: p.ack_id.and_then(AckId::exact),
                            data: p.payload.and_then(|j| j.to_value().ok()),
                            value: done.clone().into_value().ok(),
                            attachments: done.attachments().to_vec(),
                            frame: None,
                            raw: done.into_parts().0,
                        };
                        Got::Packet(packet)
                    }
                    Ok(None) => continue,
                    Err(e) => Got::Undecodable(format!("binary attachment: {e}")),
                },
                Incoming::Packet(other) => Got::Undecodable(format!(
                    "Engine.IO frame {:?}",
                    heartbeat::encode_text(self.eio, &other)
                )),
                Incoming::Undecodable(d) => Got::Undecodable(d),
                Incoming::Closed(d) => Got::Closed(d),
            };
            if let Got::Closed(d) = &got {
                self.closed = Some(d.clone());
            }
            return got;
        }
    }

    /// A msgpack frame as the case sees packets: in the default parser's
    /// text, bytes as attachments, the map's decoding noted in the trace.
    fn msgpack_packet(&mut self, frame: &[u8]) -> Got {
        let p = match msgpack::decode(frame, Profile::Compat, &Limits::default()) {
            Ok(p) => p,
            Err(e) => {
                return Got::Undecodable(format!(
                    "msgpack frame {}: {e}",
                    crate::trace::hex(&frame[..frame.len().min(64)])
                ))
            }
        };
        let form = session_socket::msgpack_to_text(&p);
        self.trace
            .note(format!("msgpack frame read as {}", form.text));
        Got::Packet(SioPacket {
            kind: form.kind,
            nsp: p.namespace.clone(),
            id: p.ack_id.and_then(AckId::exact),
            data: form.json.and_then(|j| serde_json::from_str(&j).ok()),
            value: p.data,
            attachments: form.attachments,
            frame: Some(frame.to_vec()),
            raw: form.text,
        })
    }

    fn text_packet(&mut self, text: &str) -> Option<Got> {
        Some(match self.reassembler.push_text(text) {
            Ok(Step::Packet(p)) => Got::Packet(SioPacket {
                kind: p.kind,
                nsp: p.namespace.to_owned(),
                id: p.ack_id.and_then(AckId::exact),
                data: p.payload.and_then(|j| j.to_value().ok()),
                value: p
                    .payload
                    .and_then(|j| j.to_value().ok())
                    .map(binary::Value::from),
                attachments: Vec::new(),
                frame: None,
                raw: text.to_owned(),
            }),
            // The header is kept by the reassembler; wait for the attachments.
            Ok(Step::NeedsAttachments(_)) => return None,
            Err(e) => Got::Undecodable(format!("{text:?}: {e}")),
        })
    }

    /// The next packet; nothing, a close or garbage is a failure.
    pub async fn expect(&mut self, wait: Duration, what: &str) -> Result<SioPacket, Stop> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Got::Packet(p) => return Ok(p),
                Got::Nothing if Instant::now() < deadline => continue,
                other => {
                    return Err(Stop::Fail(format!(
                        "expected {what}, got {} within {} ms",
                        other.describe(),
                        wait.as_millis()
                    )))
                }
            }
        }
    }

    /// The next packet must be exactly `raw` (text, no attachments).
    pub async fn expect_raw(&mut self, wait: Duration, raw: &str) -> Result<SioPacket, Stop> {
        let p = self.expect(wait, &format!("{raw:?}")).await?;
        if p.raw != raw || !p.attachments.is_empty() {
            return Err(Stop::Fail(format!(
                "expected {raw:?}, got {}",
                p.describe()
            )));
        }
        Ok(p)
    }

    /// Joins `nsp` (v5: `0nsp,auth`; v4: `/` is joined by the server) and
    /// reads the CONNECT reply and the `auth` event; returns the reply.
    pub async fn join(
        &mut self,
        cx: &Ctx,
        nsp: &str,
        auth: Option<&str>,
    ) -> Result<SioPacket, Stop> {
        if !(self.eio == 3 && nsp == "/") {
            self.send_packet(PacketType::Connect, nsp, None, auth)
                .await?;
        }
        let (reply, mut early) = self.connect_reply(cx, nsp).await?;
        let auth_event = match early.iter().position(|p| p.event() == Some("auth")) {
            Some(i) => early.remove(i),
            None => self.expect(cx.ms(3000), "the `auth` event").await?,
        };
        if auth_event.event() != Some("auth") || auth_event.nsp != nsp {
            return Err(Stop::Fail(format!(
                "expected the `auth` event on {nsp}, got {}",
                auth_event.describe()
            )));
        }
        Ok(reply)
    }

    /// The next packet that is not an event, which must be the CONNECT
    /// reply for `nsp`, and the events of `nsp` that came before it. Such
    /// events are held, as the official client holds them until it is
    /// connected (sio5.connect.reply-before-events judges that order);
    /// events of other namespaces go to [`Sio::pending`], since the order
    /// between namespaces is free.
    pub async fn connect_reply(
        &mut self,
        cx: &Ctx,
        nsp: &str,
    ) -> Result<(SioPacket, Vec<SioPacket>), Stop> {
        let mut early = Vec::new();
        let reply = loop {
            let p = self.expect(cx.ms(3000), "the CONNECT reply").await?;
            if p.kind == PacketType::Event && early.len() + self.pending.len() < 16 {
                if p.nsp == nsp {
                    early.push(p);
                } else {
                    self.pending.push(p);
                }
                continue;
            }
            break p;
        };
        if reply.kind != PacketType::Connect || reply.nsp != nsp {
            return Err(Stop::Fail(format!(
                "expected a CONNECT reply for {nsp}, got {}",
                reply.describe()
            )));
        }
        Ok((reply, early))
    }

    /// Waits for the connection to end, skipping packets; `Ok(description)`
    /// if it ended, a failure if it is still open after `wait`.
    pub async fn expect_closed(&mut self, wait: Duration) -> Result<String, Stop> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Got::Closed(d) => return Ok(d),
                Got::Nothing if Instant::now() >= deadline => {
                    return Err(Stop::Fail(format!(
                        "connection still open after {} ms{}",
                        wait.as_millis(),
                        if seen.is_empty() {
                            String::new()
                        } else {
                            format!(" (received: {})", seen.join(", "))
                        }
                    )))
                }
                Got::Nothing => continue,
                other => seen.push(other.describe()),
            }
        }
    }

    /// Waits for the next heartbeat ping and answers it: a point in time
    /// after which the server has handled everything sent before (a ping
    /// comes from a timer, later than any processing of earlier input).
    /// A ping within [`SYNC_MARGIN_MS`] of the call may have left before the
    /// server read what was just sent (a server may send its first ping at
    /// once after the handshake): it is answered, and the next one is the
    /// point. A Socket.IO packet meanwhile is a failure.
    pub async fn sync_on_ping(&mut self, cx: &Ctx) -> Result<(), Stop> {
        if self.eio != 4 {
            return Err(Stop::Harness("sync_on_ping needs Engine.IO 4".into()));
        }
        let previous = self.conn.set_heartbeat(Heartbeat::Manual);
        let start = std::time::Instant::now();
        let r = loop {
            let r = match self.conn.recv(cx.ms(cx.conf.ping_interval + 500)).await {
                Some(Incoming::Packet(p)) if p == engine::Packet::new(engine::PacketType::Ping) => {
                    self.conn
                        .send(&engine::Packet::new(engine::PacketType::Pong))
                        .await
                }
                Some(other) => Err(Stop::Fail(format!(
                    "expected the heartbeat ping, got {}",
                    other.describe()
                ))),
                None => Err(Stop::Fail("no heartbeat ping".into())),
            };
            if r.is_err() || start.elapsed() >= cx.ms(SYNC_MARGIN_MS) {
                break r;
            }
        };
        self.conn.set_heartbeat(previous);
        r
    }

    /// Whether the server keeps the connection open for `wait`: a
    /// `message` round trip on `/` must succeed afterwards.
    pub async fn still_alive(&mut self, cx: &Ctx) -> Result<(), Stop> {
        self.emit("/", None, r#"["message","alive?"]"#).await?;
        let p = self.expect(cx.ms(2000), "`message-back`").await?;
        if p.raw != r#"2["message-back","alive?"]"# {
            return Err(Stop::Fail(format!(
                "expected 2[\"message-back\",\"alive?\"], got {}",
                p.describe()
            )));
        }
        Ok(())
    }
}

/// The reason a case is not applicable with `parser`.
fn not_applicable(parser: Parser, what: &str) -> Stop {
    Stop::Skipped(format!(
        "n/a with the {parser} parser: the case {what}, which only the default parser's \
         text format can express"
    ))
}

/// The msgpack frame of the packet the default parser writes as `text`
/// (followed by `attachments`); not applicable when `text` is not a packet
/// the default encoder would write.
fn to_msgpack(text: &str, attachments: Vec<Vec<u8>>) -> Result<Vec<u8>, Stop> {
    let na = || not_applicable(Parser::Msgpack, &format!("sends {text:?}"));
    let limits = Limits::default();
    let p = socket::decode(text, Version::V5, Profile::Compat, &limits).map_err(|e| {
        Stop::Skipped(format!(
            "n/a with the msgpack parser: the case sends {text:?}, which socket.io-parser \
             refuses ({e}): its rule is that parser's (sio5.msgpack.* holds the msgpack parser's)"
        ))
    })?;
    let mut canonical = Vec::new();
    socket::encode(&p, &mut canonical);
    if canonical != text.as_bytes() {
        return Err(na());
    }
    // The default parser's refusals are its own rules (the sio5.msgpack
    // cases hold the msgpack parser's); the rest is the codec's conversion.
    let p = session_socket::msgpack_from_text(text, attachments).ok_or_else(na)?;
    let mut frame = Vec::new();
    msgpack::encode(p.kind, &p.namespace, p.ack_id, p.data.as_ref(), &mut frame);
    Ok(frame)
}

/// `["name", ...args]` with each of `bytes` as an argument, as
/// [`Sio::send_data`] takes it.
pub fn event_with(name: &str, bytes: &[&[u8]]) -> binary::Value {
    let mut items = vec![binary::Value::String(name.to_owned())];
    items.extend(bytes.iter().map(|b| binary::Value::Binary(b.to_vec())));
    binary::Value::Array(items)
}

/// Encodes an event or ack carrying `data` as the codec does: the header
/// text (a binary packet with placeholders when `data` holds bytes) and
/// the attachments, in order.
pub fn encode_data(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: &binary::Value,
) -> Result<(String, Vec<Vec<u8>>), Stop> {
    let mut header = Vec::new();
    let attachments = binary::encode(kind, nsp, id.map(AckId::Exact), data, &mut header);
    let attachments = attachments.into_iter().map(<[u8]>::to_vec).collect();
    let header = String::from_utf8(header).map_err(|e| Stop::Harness(e.to_string()))?;
    Ok((header, attachments))
}

/// Encodes a Socket.IO packet from its parts, for building test input.
pub fn encode(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    json: Option<&str>,
) -> Result<String, Stop> {
    let payload = match json {
        Some(j) => Some(
            socket::Json::parse(j).map_err(|e| Stop::Harness(format!("bad JSON in case: {e}")))?,
        ),
        None => None,
    };
    let mut p = socket::Packet::new(kind, nsp, payload);
    p.ack_id = id.map(AckId::Exact);
    let mut out = Vec::new();
    socket::encode(&p, &mut out);
    String::from_utf8(out).map_err(|e| Stop::Harness(e.to_string()))
}
