//! Shared checks of the client catalogue: starting the client the contract's
//! way, the contract's JSON form of values (`{"$binary": base64}`), an
//! event the server saw, and the malformed-input rule (close or ignore,
//! never crash or hang).

use base64::Engine as _;
use serde_json::json;
use siospec_codec::engine::{v4, Data, Packet as EioPacket, PacketType as EioType};
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::{self, Value};
use siospec_codec::socket::{self, AckId, PacketType, Version};
use siospec_codec::{Limits, Profile};

use crate::case::client::{Ctx, Setup};
use crate::case::{Observed, Outcome, Stop};
use crate::server::script::{Control, Observation, Seen};

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

/// Serves `setup`, starts the client with `env` and waits for its `connect`
/// on `/`.
pub async fn connected(cx: &mut Ctx, setup: Setup, env: &[(&str, &str)]) -> Result<(), Stop> {
    cx.serve(setup).await?;
    cx.start(env)?;
    cx.event("connect", "/", CONNECT_WAIT_MS).await?;
    Ok(())
}

/// A value in the contract's JSON form: bytes as `{"$binary": base64}`.
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => json!(s),
        Value::Array(items) => items.iter().map(to_json).collect(),
        Value::Object(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Binary(bytes) => {
            json!({ "$binary": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }
    }
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

/// The header of a Socket.IO packet a client frame carries (text frames
/// only: a binary frame is an attachment): its type, ack id, attachment
/// count and event name.
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
pub fn header(o: &Observation) -> Option<Header> {
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

/// The malformed-input rule: after `frame`, the client either goes on
/// (an `echo` still comes back: outcome `ignored`) or ends the connection
/// (outcome `closed`); it must not exit, and must not leave the connection
/// open and dead.
pub async fn survives(cx: &mut Ctx, frame: Frame) -> Outcome {
    survives_all(cx, vec![frame]).await
}

/// [`survives`] with several frames sent in a row.
pub async fn survives_all(cx: &mut Ctx, frames: Vec<Frame>) -> Outcome {
    connected(cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    for frame in frames {
        cx.control(Control::Raw(frame))?;
    }
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
