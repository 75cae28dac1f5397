//! Engine.IO helpers: open a session over polling or WebSocket, poll, push;
//! every packet and payload encoded and decoded by the codec.

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{v3, v4, Data, Packet, PacketType};
use siospec_codec::{Limits, Profile};

use super::heartbeat;
use super::http::Response;
use super::ws::{Frame, Ws};
use crate::case::server::Ctx;
use crate::case::Stop;

/// An open polling session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id.
    pub sid: String,
    /// The server's handshake.
    pub handshake: Handshake,
    /// The query every later request of this session carries (`EIO`, `transport`, `sid`, …).
    pub query: String,
}

/// `EIO=<suite's revision>&transport=polling` plus `extra` (starting with `&`).
pub fn polling_query(cx: &Ctx, extra: &str) -> String {
    format!("EIO={}&transport=polling{extra}", cx.suite.eio())
}

/// `EIO=<suite's revision>&transport=websocket` plus `extra` (starting with `&`).
pub fn ws_query(cx: &Ctx, extra: &str) -> String {
    format!("EIO={}&transport=websocket{extra}", cx.suite.eio())
}

/// Parses an `open` packet (`0{...}`, a WebSocket frame or one packet of a
/// payload) of the suite's revision.
pub fn parse_open(cx: &Ctx, text: &str) -> Result<Handshake, Stop> {
    match heartbeat::decode_text(cx.suite.eio(), text) {
        Some(Packet {
            kind: PacketType::Open,
            data: Data::Text(json),
        }) => handshake_of(&json, text),
        _ => Err(Stop::Fail(format!(
            "expected an open packet `0{{...}}`, got {text:?}"
        ))),
    }
}

/// Reads the handshake JSON of an open packet; `packet` is the packet as
/// received, for the failure message.
fn handshake_of(json: &str, packet: &str) -> Result<Handshake, Stop> {
    Handshake::decode(json, Profile::Compat)
        .map_err(|e| Stop::Fail(format!("open packet {packet:?}: {e}")))
}

/// Decodes a polling response body into packets, for the suite's revision
/// (v3 bodies may be XHR2 binary payloads).
pub fn decode_body(cx: &Ctx, resp: &Response) -> Result<Vec<Packet<'static>>, Stop> {
    let limits = Limits {
        max_payload_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let binary = resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/octet-stream"));
    let bad = |e: siospec_codec::engine::DecodeError| {
        Stop::Fail(format!("undecodable polling body {:?}: {e}", resp.text()))
    };
    let known = |d: v3::Decoded<'_>| {
        d.into_packet().map(Packet::into_owned).ok_or_else(|| {
            Stop::Fail(format!(
                "polling body {:?} holds binary data of no known packet type",
                resp.text()
            ))
        })
    };
    let mut out = Vec::new();
    if cx.suite.eio() == 3 && binary {
        for p in v3::decode_binary_payload(&resp.body, Profile::Compat, &limits) {
            out.push(known(p.map_err(bad)?)?);
        }
        return Ok(out);
    }
    let text = resp.text();
    if cx.suite.eio() == 3 {
        for p in v3::decode_payload(&text, Profile::Compat, &limits) {
            out.push(known(p.map_err(bad)?)?);
        }
    } else {
        for p in v4::decode_payload(&text, Profile::Compat, &limits) {
            out.push(p.map_err(bad)?.into_owned());
        }
    }
    Ok(out)
}

/// Encodes packets as a polling body for the suite's revision (text payload).
pub fn encode_body(cx: &Ctx, packets: &[Packet<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    if cx.suite.eio() == 3 {
        v3::encode_payload(packets, &mut out);
    } else {
        v4::encode_payload(packets, &mut out);
    }
    out
}

/// A packet without binary data as the suite's revision writes it in a
/// WebSocket text frame or one packet of a payload.
pub fn encode_text(cx: &Ctx, packet: &Packet<'_>) -> String {
    heartbeat::encode_text(cx.suite.eio(), packet)
}

/// Decodes a WebSocket text frame of the suite's revision; `None` when it
/// is no Engine.IO packet.
pub fn decode_text<'t>(cx: &Ctx, text: &'t str) -> Option<Packet<'t>> {
    heartbeat::decode_text(cx.suite.eio(), text)
}

/// Whether `text` (a WebSocket text frame) is a message packet, whatever it
/// carries: the echo's content is judged by the message cases; a case that
/// only uses the echo to see the session alive takes any message, as the
/// official client hands any message to the application.
pub fn is_message_frame(cx: &Ctx, text: &str) -> bool {
    if cx.suite.eio() == 3 {
        v3::decode_text(text, Profile::Compat)
            .ok()
            .and_then(|d| d.into_packet())
            .is_some_and(|p| p.kind == PacketType::Message)
    } else {
        v4::decode_text(text, Profile::Compat).is_ok_and(|p| p.kind == PacketType::Message)
    }
}

/// Whether a polling body holds a message packet, whatever it carries (see
/// [`is_message_frame`]).
pub fn has_message(cx: &Ctx, resp: &Response) -> bool {
    resp.status == 200
        && decode_body(cx, resp).is_ok_and(|ps| ps.iter().any(|p| p.kind == PacketType::Message))
}

/// A text message packet.
pub fn msg(text: &str) -> Packet<'_> {
    Packet::text(PacketType::Message, text)
}

/// A heartbeat ping, `2`.
pub fn ping() -> Packet<'static> {
    Packet::new(PacketType::Ping)
}

/// A heartbeat pong, `3`.
pub fn pong() -> Packet<'static> {
    Packet::new(PacketType::Pong)
}

/// The close packet, `1`.
pub fn close() -> Packet<'static> {
    Packet::new(PacketType::Close)
}

/// The upgrade packet, `5`.
pub fn upgrade() -> Packet<'static> {
    Packet::new(PacketType::Upgrade)
}

/// Opens a polling session with `extra` query parameters (`&b64=1`, …).
pub async fn open_polling_with(cx: &Ctx, extra: &str) -> Result<Session, Stop> {
    Ok(open_polling_keeping(cx, extra).await?.0)
}

/// Opens a polling session as [`open_polling_with`] does, and returns the
/// packets the handshake response carried after the open packet too (a
/// server may already queue its first messages there).
pub async fn open_polling_keeping(
    cx: &Ctx,
    extra: &str,
) -> Result<(Session, Vec<Packet<'static>>), Stop> {
    let resp = cx.get(&polling_query(cx, extra)).await?;
    if resp.status != 200 {
        return Err(Stop::Fail(format!(
            "handshake GET answered {} {:?}",
            resp.status,
            resp.text()
        )));
    }
    let mut packets = decode_body(cx, &resp)?.into_iter();
    let first = packets
        .next()
        .ok_or_else(|| Stop::Fail("handshake body holds no packet".into()))?;
    let handshake = match (&first.kind, &first.data) {
        (PacketType::Open, Data::Text(t)) => handshake_of(t, &encode_text(cx, &first))?,
        _ => {
            return Err(Stop::Fail(format!(
                "first packet of the handshake is not `open`: {:?}",
                resp.text()
            )))
        }
    };
    let sid = handshake.sid.clone();
    let session = Session {
        query: polling_query(cx, &format!("{extra}&sid={sid}")),
        sid,
        handshake,
    };
    Ok((session, packets.collect()))
}

/// The query parameters of a polling session as the official client opens
/// it: under v3 `b64=1`, as the official suite does.
pub fn polling_extra(cx: &Ctx) -> &'static str {
    if cx.suite.eio() == 3 {
        "&b64=1"
    } else {
        ""
    }
}

/// Opens a polling session (see [`polling_extra`]).
pub async fn open_polling(cx: &Ctx) -> Result<Session, Stop> {
    open_polling_with(cx, polling_extra(cx)).await
}

impl Session {
    /// GET (long-poll).
    pub async fn get(&self, cx: &Ctx) -> Result<Response, Stop> {
        Ok(cx.get(&self.query).await?)
    }

    /// GET, keeping the heartbeat as the official client does: PING
    /// packets in the answer are answered with PONG and taken out of it, and
    /// an answer of PINGs alone is followed by the next GET. The rest is
    /// encoded again by the codec, and only when the whole answer is what
    /// the codec writes, so it is byte for byte what the server sent; any
    /// other answer is returned as it is, for the case to judge. A case thus
    /// judges its own rule's packets and the timing of PINGs stays the
    /// heartbeat cases' (a server may send its first PING at once).
    /// Protocol 3 servers send no PING (the client pings), so their answers
    /// are returned as they are.
    pub async fn get_keeping_heartbeat(&self, cx: &Ctx) -> Result<Response, Stop> {
        // A server's pings cannot come faster than one per pingInterval;
        // three in a row with nothing else means the GET sees nothing else.
        for _ in 0..3 {
            let resp = self.get(cx).await?;
            if resp.status != 200 || cx.suite.eio() == 3 {
                return Ok(resp);
            }
            let Ok(packets) = decode_body(cx, &resp) else {
                return Ok(resp);
            };
            let pings = packets.iter().filter(|p| **p == ping()).count();
            if pings == 0 || encode_body(cx, &packets) != resp.body {
                return Ok(resp);
            }
            let rest: Vec<Packet<'_>> = packets.into_iter().filter(|p| *p != ping()).collect();
            cx.note(format!(
                "the GET's answer held {pings} PING(s): answered with PONG and left out (their timing is the heartbeat cases' rule)"
            ));
            let pongs = vec![pong(); pings];
            let r = self.post_packets(cx, &pongs).await?;
            if r.status != 200 {
                return Err(Stop::Fail(format!(
                    "the PONG's POST answered {} {:?}",
                    r.status,
                    r.text()
                )));
            }
            if !rest.is_empty() {
                return Ok(Response {
                    body: encode_body(cx, &rest).into(),
                    ..resp
                });
            }
        }
        Err(Stop::Fail(
            "three GETs in a row answered with PINGs alone".to_owned(),
        ))
    }

    /// GET that must answer 200; returns the decoded packets.
    pub async fn poll(&self, cx: &Ctx) -> Result<Vec<Packet<'static>>, Stop> {
        let resp = self.get(cx).await?;
        if resp.status != 200 {
            return Err(Stop::Fail(format!(
                "poll answered {} {:?}",
                resp.status,
                resp.text()
            )));
        }
        decode_body(cx, &resp)
    }

    /// POST `body`.
    pub async fn post(&self, cx: &Ctx, body: impl Into<Vec<u8>>) -> Result<Response, Stop> {
        Ok(cx.post(&self.query, body).await?)
    }

    /// POST packets encoded as a payload of the suite's revision.
    pub async fn post_packets(&self, cx: &Ctx, packets: &[Packet<'_>]) -> Result<Response, Stop> {
        self.post(cx, encode_body(cx, packets)).await
    }

    /// POST packets; must answer 200.
    pub async fn send(&self, cx: &Ctx, packets: &[Packet<'_>]) -> Result<(), Stop> {
        let resp = self.post_packets(cx, packets).await?;
        if resp.status != 200 {
            return Err(Stop::Fail(format!(
                "POST answered {} {:?}",
                resp.status,
                resp.text()
            )));
        }
        Ok(())
    }

    /// The query of a WebSocket upgrade for this session.
    pub fn ws_query(&self, cx: &Ctx) -> String {
        ws_query(cx, &format!("&sid={}", self.sid))
    }
}

/// Reads the open packet from a fresh WebSocket.
pub async fn ws_handshake(cx: &Ctx, ws: &mut Ws) -> Result<Handshake, Stop> {
    match ws.recv(cx.ms(3000)).await {
        Some(Frame::Text(t)) => parse_open(cx, &t),
        Some(other) => Err(Stop::Fail(format!(
            "expected the open packet, got {}",
            other.describe()
        ))),
        None => Err(Stop::Fail("no open packet within 3000 ms".into())),
    }
}

/// Opens a WebSocket-only session (`extra` query parameters) and reads its open packet.
pub async fn open_ws_with(cx: &Ctx, extra: &str) -> Result<(Ws, Handshake), Stop> {
    let mut ws = cx.ws(&ws_query(cx, extra)).await?;
    let h = ws_handshake(cx, &mut ws).await?;
    Ok((ws, h))
}

/// Opens a WebSocket-only session and reads its open packet.
pub async fn open_ws(cx: &Ctx) -> Result<(Ws, Handshake), Stop> {
    open_ws_with(cx, "").await
}

/// The upgrade probe the client sends, `2probe`.
pub fn probe_ping() -> Packet<'static> {
    Packet::text(PacketType::Ping, "probe")
}

/// Whether `text` is the server's probe answer, `3probe`.
pub fn is_probe_pong(cx: &Ctx, text: &str) -> bool {
    decode_text(cx, text).is_some_and(|p| p.kind == PacketType::Pong && p.is_probe())
}

/// Upgrades a polling session: opens the WebSocket with its sid, sends
/// `2probe`, expects `3probe`. Does not send `5`.
pub async fn probe(cx: &Ctx, session: &Session) -> Result<Ws, Stop> {
    let mut ws = cx.ws(&session.ws_query(cx)).await?;
    ws.send(&probe_ping()).await?;
    match ws.recv(cx.ms(3000)).await {
        Some(Frame::Text(t)) if is_probe_pong(cx, &t) => Ok(ws),
        Some(other) => Err(Stop::Fail(format!(
            "expected `3probe`, got {}",
            other.describe()
        ))),
        None => Err(Stop::Fail("no `3probe` within 3000 ms".into())),
    }
}

/// Sends `text` as it is (see [`Ws::send_raw`]); a closed connection is a failure.
pub async fn send_raw(ws: &mut Ws, text: &str) -> Result<(), Stop> {
    ws.send_raw(text)
        .await
        .map_err(|e| Stop::Fail(format!("could not send {text:?}: {e}")))
}

/// Sends `data` as it is in a binary frame; a closed connection is a failure.
pub async fn send_raw_binary(ws: &mut Ws, data: &[u8]) -> Result<(), Stop> {
    ws.send_raw_binary(data)
        .await
        .map_err(|e| Stop::Fail(format!("could not send a binary frame: {e}")))
}
