//! Shared checks of the client catalogue: starting the client the contract's
//! way, the contract's JSON form of values (`{"$binary": base64}`), an
//! event the server saw, and the malformed-input rule (close or ignore,
//! never crash or hang).

use std::sync::Arc;

use serde_json::json;
use siospec_codec::engine::{self, v4, Data, Packet as EioPacket, PacketType as EioType};
use siospec_codec::session::socket::Parser;
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::{self, Value};
use siospec_codec::socket::{self, msgpack, AckId, PacketType, Version};
use siospec_codec::{Limits, Profile};

use crate::case::client::{Ctx, Setup};
use crate::case::{Observed, Outcome, Stop};
use crate::server::script::{Control, Observation, Rewrite, Seen};

/// How long a client may take to start and connect (a Node driver starts
/// in about 100 ms; the rest is margin for a loaded machine).
pub const CONNECT_WAIT_MS: u64 = 8000;

/// How long a reply to one instruction may take.
pub const REPLY_WAIT_MS: u64 = 3000;

/// The environment of a client that runs over WebSocket only, without
/// reconnection: the frames a case sends or rewrites are then the whole
/// exchange.
pub const WEBSOCKET_ONLY: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "websocket"),
    ("SIOSPEC_RECONNECTION", "false"),
];

/// The environment of a client on polling only, without reconnection:
/// every packet of the session travels in polling payloads.
pub const POLLING_ONLY: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "polling"),
    ("SIOSPEC_RECONNECTION", "false"),
];

/// The pingTimeout of [`relaxed`].
pub const RELAXED_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The default setup with a pingTimeout of [`RELAXED_PING_TIMEOUT`]: for the
/// cases that are not about the heartbeat, so that a client starved of CPU
/// (a loaded machine) does not lose its session on a rule the case does not
/// judge.
pub fn relaxed() -> Setup {
    let mut setup = Setup::default();
    setup.options.engine.ping_timeout = RELAXED_PING_TIMEOUT;
    setup
}

/// Serves `setup`, starts the client with `env` and waits for its `connect`
/// on `/`.
pub async fn connected(cx: &mut Ctx, setup: Setup, env: &[(&str, &str)]) -> Result<(), Stop> {
    cx.serve(setup).await?;
    cx.start(env)?;
    cx.event("connect", "/", CONNECT_WAIT_MS).await?;
    Ok(())
}

pub use crate::case::client::to_json;

/// Drops the client's transport as a network failure would, and waits for
/// the server to see its session end; when it did.
pub async fn drop_transport(cx: &Ctx) -> Result<f64, Stop> {
    let before = cx
        .seen()
        .iter()
        .filter(|o| matches!(o.seen, Seen::Closed(_)))
        .count();
    cx.control(Control::DropTransport)?;
    let mut closed = 0;
    cx.saw(
        "the session end after the transport dropped",
        REPLY_WAIT_MS,
        |o| {
            closed += usize::from(matches!(o.seen, Seen::Closed(_)));
            (closed > before).then_some(o.t_ms)
        },
    )
    .await
}

/// How long after a drop a client that reconnects has done it: the first
/// attempt's longest delay (1500 ms with socket.io-client's defaults) and a
/// margin.
pub const RECONNECT_WAIT_MS: u64 = 1500 + 2000;

/// Drops the client's transport and waits for its CONNECT to `/` on the
/// reconnection: its data (JSON, `{}` when it carried none).
pub async fn reconnection_connect(cx: &Ctx) -> Result<String, Stop> {
    let dropped = drop_transport(cx).await?;
    cx.saw(
        "a CONNECT for `/` after the transport dropped",
        RECONNECT_WAIT_MS,
        |o| match &o.seen {
            Seen::Connect { namespace, auth } if namespace == "/" && o.t_ms > dropped => {
                Some(auth.clone())
            }
            _ => None,
        },
    )
    .await
}

/// The arguments of the first event `name` the server saw on `namespace`.
pub fn event_args(o: &Observation, namespace: &str, name: &str) -> Option<Vec<Value>> {
    let Seen::Event {
        namespace: ns,
        data: Value::Array(items),
        ..
    } = &o.seen
    else {
        return None;
    };
    match items.split_first() {
        Some((Value::String(n), args)) if ns == namespace && n == name => Some(args.to_vec()),
        _ => None,
    }
}

/// Emits `echo` with `args` on `/` and waits for `echo-back`; its arguments.
pub async fn echo(cx: &Ctx, args: Vec<Value>) -> Result<Vec<Value>, Stop> {
    echo_within(cx, args, REPLY_WAIT_MS).await
}

/// [`echo`], waiting up to `wait_ms` for the answer.
pub async fn echo_within(cx: &Ctx, args: Vec<Value>, wait_ms: u64) -> Result<Vec<Value>, Stop> {
    let mut data = vec![Value::String("echo".into())];
    data.extend(args);
    cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(data),
    })?;
    cx.saw("`echo-back`", wait_ms, |o| event_args(o, "/", "echo-back"))
        .await
}

/// A Socket.IO packet's text in the Engine.IO message that carries it, as
/// a WebSocket text frame.
pub fn message(sio: &[u8]) -> Frame {
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(sio);
    v4::encode(&EioPacket::text(EioType::Message, text), true, &mut out);
    Frame::Text(String::from_utf8_lossy(&out).into_owned())
}

/// The frames of an EVENT or ACK carrying `data` (a BINARY_EVENT or
/// BINARY_ACK with its attachments when `data` holds bytes), encoded by the
/// codec.
pub fn frames(kind: PacketType, namespace: &str, id: Option<u64>, data: &Value) -> Vec<Frame> {
    let mut header = Vec::new();
    let attachments = binary::encode(kind, namespace, id.map(AckId::Exact), data, &mut header);
    let mut out = vec![message(&header)];
    out.extend(attachments.into_iter().map(|a| Frame::Binary(a.to_vec())));
    out
}

/// The frames of an EVENT or ACK carrying `data` in `parser`'s encoding:
/// [`frames`] for the default parser, one binary frame with the msgpack map
/// for msgpack.
pub fn packet_frames(
    parser: Parser,
    kind: PacketType,
    namespace: &str,
    id: Option<u64>,
    data: &Value,
) -> Vec<Frame> {
    match parser {
        Parser::Default => frames(kind, namespace, id, data),
        Parser::Msgpack => {
            let mut out = Vec::new();
            msgpack::encode(kind, namespace, id.map(AckId::Exact), Some(data), &mut out);
            vec![Frame::Binary(out)]
        }
    }
}

/// The header of a Socket.IO packet a client frame carries: its type, ack
/// id, attachment count and event name. With the default parser a text
/// frame (a binary one is an attachment); with msgpack a binary frame, read
/// as the default parser would write the same packet (binary types and
/// attachments counted for the bytes inline).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The packet type.
    pub kind: PacketType,
    /// The ack id, when exact.
    pub id: Option<u64>,
    /// How many attachments follow.
    pub attachments: usize,
    /// The event name, for events.
    pub name: Option<String>,
}

/// The Socket.IO header of a frame the server saw from the client.
pub fn header(parser: Parser, o: &Observation) -> Option<Header> {
    if parser == Parser::Msgpack {
        let Seen::Frame(Frame::Binary(frame)) = &o.seen else {
            return None;
        };
        let p = msgpack::decode(frame, Profile::Compat, &Limits::default()).ok()?;
        let form = siospec_codec::session::socket::msgpack_to_text(&p);
        let name = match (&p.data, p.kind) {
            (Some(Value::Array(items)), PacketType::Event) => match items.first() {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        return Some(Header {
            kind: form.kind,
            id: p.ack_id.and_then(AckId::exact),
            attachments: form.attachments.len(),
            name,
        });
    }
    let Seen::Frame(Frame::Text(text)) = &o.seen else {
        return None;
    };
    let eio = v4::decode_text(text, Profile::Compat).ok()?;
    let (EioType::Message, Data::Text(sio)) = (eio.kind, &eio.data) else {
        return None;
    };
    let p = socket::decode(sio, Version::V5, Profile::Compat, &Limits::default()).ok()?;
    Some(Header {
        kind: p.kind,
        id: p.ack_id.and_then(AckId::exact),
        attachments: p.attachments,
        name: p.event_name().ok().flatten().map(|n| n.into_owned()),
    })
}

/// Tells the client to emit `name` with `args` on `/` (an `emit`
/// instruction; with `ack`, asking for an ack reported with that id).
pub fn emit(cx: &Ctx, name: &str, args: &[Value], ack: Option<&str>) -> Result<(), Stop> {
    let args = to_json(&Value::Array(args.to_vec()));
    cx.instruct(match ack {
        Some(id) => json!({ "op": "emit", "name": name, "args": args, "ack": true, "id": id }),
        None => json!({ "op": "emit", "name": name, "args": args }),
    })
}

/// The contract's instruction `op` as the event array of a `do` event, for
/// [`Control::Emits`].
pub fn instruction(op: serde_json::Value) -> Value {
    Value::Array(vec![Value::String("do".into()), op.into()])
}

/// A rewrite of the open packet (WebSocket frame or polling packet) that
/// sets `fields` in its JSON object: the server advertises other values
/// than those its machine runs with.
pub fn advertising(fields: serde_json::Value) -> Rewrite {
    Arc::new(move |text: &str| {
        let packet = engine::v4::decode_text(text, Profile::Compat).ok()?;
        let (EioType::Open, Data::Text(json)) = (packet.kind, &packet.data) else {
            return None;
        };
        let mut open: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).ok()?;
        for (k, v) in fields.as_object()? {
            open.insert(k.clone(), v.clone());
        }
        let json = serde_json::Value::Object(open).to_string();
        String::from_utf8(payload(&[EioPacket::text(EioType::Open, json)])).ok()
    })
}

/// `packets` as a polling payload (for [`Control::InjectPolling`]).
pub fn payload(packets: &[EioPacket<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    engine::v4::encode_payload(packets, &mut out);
    out
}

/// [`payload`] as text.
pub fn payload_text(packets: &[EioPacket<'_>]) -> String {
    String::from_utf8_lossy(&payload(packets)).into_owned()
}

/// The packets of a polling body the client POSTed, up to the first that
/// does not decode.
pub fn posted_packets(body: &[u8]) -> Vec<EioPacket<'static>> {
    let Ok(text) = engine::v4::body_text(body, Profile::Compat) else {
        return Vec::new();
    };
    engine::v4::decode_payload(&text, Profile::Compat, &Limits::default())
        .map_while(Result::ok)
        .map(EioPacket::into_owned)
        .collect()
}

/// Has the client join `namespace` beside `/`, on the same connection, for
/// a case whose rule needs two namespaces multiplexed: a client that does
/// not join it there leaves the case SKIPPED, since multiplexing is
/// client.sio5.connect.multiplexed's rule and FAILED there.
pub async fn open_beside(cx: &Ctx, namespace: &str) -> Result<(), Stop> {
    cx.instruct(json!({ "op": "open", "namespace": namespace }))?;
    let joined = cx.event("connect", namespace, REPLY_WAIT_MS).await;
    if let Err(Stop::Fail(why)) = &joined {
        return Err(Stop::Skipped(format!(
            "needs `{namespace}` joined beside `/` (client.sio5.connect.multiplexed), and {why}"
        )));
    }
    joined?;
    let sessions = cx.seen().iter().filter(|o| o.seen.is_handshake()).count();
    if sessions > 1 {
        return Err(Stop::Skipped(format!(
            "needs `{namespace}` joined on the connection of `/` \
             (client.sio5.connect.multiplexed), and the client opened {sessions} Engine.IO sessions"
        )));
    }
    Ok(())
}

/// The polling requests of `method` in flight by the server's observations
/// (each [`Seen::Request`] until its [`Seen::Response`]): the most at once,
/// when that was first reached, and how many are left at the end.
fn in_flight(seen: &[Observation], method: &str) -> (usize, f64, usize) {
    let mut pending: Vec<&str> = Vec::new();
    let (mut most, mut at) = (0, 0.0);
    for o in seen {
        match &o.seen {
            Seen::Request {
                method: m,
                query,
                websocket: false,
            } if m == method => {
                pending.push(query);
                if pending.len() > most {
                    (most, at) = (pending.len(), o.t_ms);
                }
            }
            Seen::Response {
                method: m, query, ..
            } if m == method => {
                if let Some(i) = pending.iter().position(|q| q == query) {
                    pending.remove(i);
                }
            }
            _ => {}
        }
    }
    (most, at, pending.len())
}

/// The most polling requests of `method` in flight at once, and when that
/// was first reached.
pub fn most_in_flight(seen: &[Observation], method: &str) -> (usize, f64) {
    let (most, at, _) = in_flight(seen, method);
    (most, at)
}

/// How many polling requests of `method` are still in flight after the
/// observations `seen`.
pub fn in_flight_at_end(seen: &[Observation], method: &str) -> usize {
    in_flight(seen, method).2
}

/// The malformed-input rule: after `frame`, the client either goes on
/// (an `echo` still comes back: outcome `ignored`) or ends the connection
/// (outcome `closed`); it must not exit, and must not leave the connection
/// open and dead.
pub async fn survives(cx: &mut Ctx, frame: Frame) -> Outcome {
    survives_all(cx, vec![frame]).await
}

/// [`survives`] with several frames sent in a row.
pub async fn survives_all(cx: &mut Ctx, frames: Vec<Frame>) -> Outcome {
    if let Some(Frame::Text(t)) = frames.iter().find(|f| matches!(f, Frame::Text(_))) {
        // Known before the client is started: not applicable in msgpack.
        cx.text_format_only(&format!("sends the text frame {t:?}"))?;
    }
    connected(cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    for frame in frames {
        cx.control(Control::Raw(frame))?;
    }
    after_malformed(cx).await
}

/// [`survives`] over polling, with the scripted server's `setup`: `raw`
/// (packets separated by `\x1e`) at the head of the next GET response,
/// before the probe's `echo`.
pub async fn survives_polling(cx: &mut Ctx, setup: Setup, raw: &str) -> Outcome {
    connected(cx, setup, &POLLING_ONLY).await?;
    cx.control(Control::InjectPolling(raw.to_owned()))?;
    after_malformed(cx).await
}

/// Whether the client went on (`ignored`) or closed (`closed`) after the
/// malformed input; FAILED when it exited or neither within the wait.
pub async fn after_malformed(cx: &mut Ctx) -> Outcome {
    let probe = vec![Value::String("after".into())];
    let mut data = vec![Value::String("echo".into())];
    data.extend(probe.clone());
    // The probe goes out through the machine, after the raw frame.
    let _ = cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(data),
    });
    let wait = cx.ms(REPLY_WAIT_MS);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if cx
            .seen()
            .iter()
            .any(|o| event_args(o, "/", "echo-back").is_some_and(|a| a == probe))
        {
            return Ok(Observed::is(
                "ignored",
                "the client went on: an echo sent after it came back",
            ));
        }
        let closed = cx.seen().iter().find_map(|o| match &o.seen {
            Seen::Closed(reason) => Some(reason.clone()),
            _ => None,
        });
        let disconnect = cx.lines().into_iter().find(|l| l["event"] == "disconnect");
        if let (Some(reason), Some(line)) = (&closed, &disconnect) {
            return Ok(Observed::is(
                "closed",
                format!(
                    "the client closed the connection (server: {reason}; client reported {line})"
                ),
            ));
        }
        // A client that ends its process after closing cleanly is fine;
        // one that exits without having closed has crashed.
        if let Some(how) = cx.exited() {
            return Err(Stop::Fail(format!(
                "the client exited ({how}) without closing the connection cleanly"
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Stop::Fail(format!(
                "within {} ms the client neither answered an echo nor closed the connection \
                 (server saw the session end: {}; client reported a disconnect: {})",
                wait.as_millis(),
                closed.as_deref().unwrap_or("no"),
                disconnect.map_or("no".to_owned(), |l| l.to_string())
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_ms: f64, seen: Seen) -> Observation {
        Observation { t_ms, seen }
    }

    fn request(method: &str, query: &str) -> Seen {
        Seen::Request {
            method: method.into(),
            query: query.into(),
            websocket: false,
        }
    }

    fn response(method: &str, query: &str) -> Seen {
        Seen::Response {
            method: method.into(),
            query: query.into(),
            status: Some(200),
        }
    }

    #[test]
    fn in_flight_counts_each_request_until_its_response() {
        let one_at_a_time = [
            at(1.0, request("GET", "t=1")),
            at(2.0, request("POST", "t=2")),
            at(3.0, response("GET", "t=1")),
            at(4.0, request("GET", "t=3")),
            at(5.0, response("POST", "t=2")),
        ];
        assert_eq!(most_in_flight(&one_at_a_time, "GET"), (1, 1.0));
        assert_eq!(most_in_flight(&one_at_a_time, "POST"), (1, 2.0));
        let overlapping = [
            at(1.0, request("GET", "t=1")),
            at(2.0, request("GET", "t=2")),
            at(3.0, response("GET", "t=2")),
            at(4.0, response("GET", "t=1")),
        ];
        assert_eq!(most_in_flight(&overlapping, "GET"), (2, 2.0));
        assert_eq!(in_flight_at_end(&overlapping[..3], "GET"), 1);
        assert_eq!(in_flight_at_end(&overlapping, "GET"), 0);
    }

    #[test]
    fn advertising_rewrites_only_the_open_packet() {
        let rewrite = advertising(json!({ "maxPayload": 1000 }));
        let open = r#"0{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
        let new = rewrite(open).expect("an open packet is rewritten");
        let packet = engine::v4::decode_text(&new, Profile::Compat).expect("decodes");
        let Data::Text(json) = packet.data else {
            panic!("{new}")
        };
        let fields: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(fields["maxPayload"], 1000);
        assert_eq!(fields["sid"], "s");
        assert_eq!(rewrite("2"), None);
        assert_eq!(rewrite(r#"40{"sid":"x"}"#), None);
    }

    #[test]
    fn posted_packets_decodes_a_polling_body() {
        let body = payload(&[
            EioPacket::text(EioType::Message, "2[\"a\"]"),
            EioPacket::binary(&[1, 2][..]),
        ]);
        let packets = posted_packets(&body);
        assert_eq!(packets.len(), 2);
        assert!(matches!(packets[1].data, Data::Binary(_)));
        assert!(posted_packets(b"").len() <= 1);
    }
}
