//! Client — connection state recovery (socket.io ≥ 4.6, not in the v5
//! protocol text): a server with `connectionStateRecovery` puts a `pid` in
//! its CONNECT reply and an offset as the last argument of the events it
//! stores; the client sends both back in the CONNECT of a reconnection,
//! beside its auth, and tells its application whether the session was
//! restored.
//!
//! The rules are socket.io-client 4.8.4's (lib/socket.ts), measured on the
//! wire: a CONNECT reply's `pid` is kept, and forgotten by a reply without
//! one; the offset is the last element of the latest event delivered while
//! a pid is known, when it is a string (an event asking for an ack has its
//! callback last, and an ACK is no event); the reconnection's CONNECT
//! carries `{pid, offset, ...auth}` (`{"pid":…}` alone before any event);
//! `recovered` is true when the reply carries the pid the client had. A
//! client that never sends a pid has no recovery: the cases that need it
//! are UNSUPPORTED.

use serde_json::json;
use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Recovery};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, RECONNECT_WAIT_MS, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.sio5.recovery",
    suite: Suite::Sio5,
    title: "Client — Socket.IO connection state recovery",
    spec: "socket.io documentation, \"Connection state recovery\"; socket.io-client 4.8 lib/socket.ts (_sendConnectPacket, emitEvent, onconnect)",
};

/// A client over WebSocket that reconnects by itself.
const RECONNECTING: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "websocket"),
    ("SIOSPEC_RECONNECTION", "true"),
];

/// The auth `auth` gives the client.
const AUTH: &str = r#"{"token":"siospec-recovery"}"#;

/// The offsets the cases put last in their events.
const OFFSET_0: &str = "siospec-offset-0";
const OFFSET_1: &str = "siospec-offset-1";
const OFFSET_2: &str = "siospec-offset-2";
/// The last argument of an event asking for an ack (never stored by a
/// server, so never an offset).
const OFFSET_ASKED: &str = "siospec-offset-asked";
/// The last argument of an ACK the server sends.
const OFFSET_ACK: &str = "siospec-offset-ack";

/// The arguments of the events a restore writes before its CONNECT reply
/// (`missed`), the offsets last.
const MISSED: [[&str; 2]; 2] = [["m-1", "siospec-offset-2"], ["m-2", "siospec-offset-3"]];

/// The events a restore writes before its CONNECT reply.
fn missed() -> Vec<Value> {
    MISSED.iter().map(|args| event("missed", args)).collect()
}

fn event(name: &str, args: &[&str]) -> Value {
    Value::Array(
        std::iter::once(name)
            .chain(args.iter().copied())
            .map(|s| Value::String(s.into()))
            .collect(),
    )
}

/// The relaxed setup playing `recovery`.
fn recovering(recovery: Recovery) -> Setup {
    let mut setup = check::relaxed();
    setup.plan.recovery = Some(recovery);
    setup
}

/// Emits `["news", ...args]` on `/` and waits for the client to report it:
/// delivered to the application, so its offset counts.
async fn deliver(cx: &Ctx, args: &[&str]) -> Result<(), Stop> {
    let data = event("news", args);
    let want = check::to_json(&data);
    cx.control(Control::Emit {
        namespace: "/".into(),
        data,
    })?;
    cx.line(&format!("the event {want}"), REPLY_WAIT_MS, |l| {
        let mut got = vec![l["name"].clone()];
        got.extend(l["args"].as_array().cloned().unwrap_or_default());
        (l["event"] == "event" && serde_json::Value::Array(got) == want).then_some(())
    })
    .await
}

/// Drops the transport and returns the data of the CONNECT for `/` that
/// follows (`{}` when it carried none).
async fn reconnection(cx: &Ctx) -> Result<serde_json::Value, Stop> {
    let auth = check::reconnection_connect(cx).await?;
    Ok(serde_json::from_str(&auth).unwrap_or(serde_json::Value::Null))
}

/// The `pid` a reconnection's CONNECT carried; UNSUPPORTED without one
/// (the server offered `offered`).
fn pid_of<'a>(data: &'a serde_json::Value, offered: &str) -> Result<&'a serde_json::Value, Stop> {
    data.get("pid").ok_or_else(|| {
        Stop::Unsupported(format!(
            "the server's CONNECT reply carried the pid {offered:?}, and the reconnection's \
             CONNECT carried {data}, no pid: the client has no connection state recovery"
        ))
    })
}

/// Waits for the `n`th `connect` line on `/`.
async fn nth_connect(cx: &Ctx, n: usize, wait_ms: u64) -> Result<serde_json::Value, Stop> {
    let mut count = 0;
    cx.line(&format!("`connect` number {n} on /"), wait_ms, |l| {
        count += usize::from(l["event"] == "connect" && l["namespace"] == "/");
        (count == n).then(|| l.clone())
    })
    .await
}

/// A `connect` line's `recovered`; UNSUPPORTED when the driver reports none.
fn recovered_of(line: &serde_json::Value) -> Result<&serde_json::Value, Stop> {
    line.get("recovered").ok_or_else(|| {
        Stop::Unsupported(format!(
            "the driver reported {line}, without `recovered` (harness/CLIENT-CONTRACT.md): \
             whether the session was restored cannot be seen"
        ))
    })
}

async fn pid_offset(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, recovering(Recovery::default()), &RECONNECTING).await?;
    let offered = Recovery::pid(1);
    deliver(&cx, &["a", OFFSET_1]).await?;
    let data = reconnection(&cx).await?;
    let pid = pid_of(&data, &offered)?;
    if *pid != json!(offered) || data.get("offset") != Some(&json!(OFFSET_1)) {
        return Err(Stop::Fail(format!(
            "the server offered the pid {offered:?} and sent [\"news\",\"a\",\"{OFFSET_1}\"]; \
             the reconnection's CONNECT carried {data}, not pid {offered:?} and offset \
             {OFFSET_1:?}"
        )));
    }
    Ok(Observed::ok(format!(
        "the reconnection's CONNECT carried {data}"
    )))
}

async fn latest_offset(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, recovering(Recovery::default()), &RECONNECTING).await?;
    let offered = Recovery::pid(1);
    deliver(&cx, &["a", OFFSET_1]).await?;
    deliver(&cx, &[OFFSET_2]).await?;
    // An event asking for an ack, seen by the application (whether the
    // client answers it is client.sio5.ack's).
    cx.control(Control::EmitWithAck {
        namespace: "/".into(),
        data: event("asked", &[OFFSET_ASKED]),
    })?;
    cx.line("the event `asked`", REPLY_WAIT_MS, |l| {
        (l["event"] == "event" && l["name"] == "asked").then_some(())
    })
    .await?;
    // An ACK of the client's own emit, with a string last: the scripted
    // server answers once the emit arrives. A client that emits no ack
    // request, or reports no ack, is judged by client.sio5.ack; here the
    // case goes on without it.
    cx.instruct(json!({
        "op": "emit", "name": "question", "args": [OFFSET_ACK], "ack": true, "id": "q1",
    }))?;
    let acked = cx
        .line("the ack of `question`", REPLY_WAIT_MS, |l| {
            (l["event"] == "ack" && l["id"] == "q1").then_some(())
        })
        .await;
    if let Err(Stop::Fail(why)) = acked {
        cx.trace.note(format!("going on without the ACK: {why}"));
    }
    let data = reconnection(&cx).await?;
    pid_of(&data, &offered)?;
    let Some(offset) = data.get("offset") else {
        return Err(Stop::Skipped(format!(
            "the reconnection's CONNECT carried {data}, no offset at all \
             (client.sio5.recovery.pid-offset)"
        )));
    };
    let which = match offset.as_str() {
        Some(OFFSET_2) => {
            return Ok(Observed::ok(format!(
                "the reconnection's CONNECT carried {data}: the latest event's"
            )))
        }
        Some(OFFSET_1) => "an earlier event's",
        Some(OFFSET_ASKED) => "the last argument of the event that asked for an ack",
        Some(OFFSET_ACK) => "the last argument of an ACK",
        _ => "none of the events'",
    };
    Err(Stop::Fail(format!(
        "the events ended with {OFFSET_1:?}, then {OFFSET_2:?}, then an event asking for an ack \
         {OFFSET_ASKED:?} and an ACK {OFFSET_ACK:?}; the reconnection's CONNECT carried {data}: \
         {which}, not {OFFSET_2:?}"
    )))
}

async fn auth(mut cx: Ctx) -> Outcome {
    // The first reply offers no pid: the first reconnection shows whether
    // the client keeps its auth at all (client.sio5.reconnect.auth).
    cx.serve(recovering(Recovery {
        withhold: 1,
        ..Recovery::default()
    }))
    .await?;
    let mut env = RECONNECTING.to_vec();
    env.push(("SIOSPEC_AUTH", AUTH));
    cx.start(&env)?;
    cx.event("connect", "/", CONNECT_WAIT_MS).await?;
    let want: serde_json::Value = serde_json::from_str(AUTH).unwrap_or_default();
    let token = &want["token"];
    let first = reconnection(&cx).await?;
    if first.get("token") != Some(token) {
        return Err(Stop::Skipped(format!(
            "the reconnection's CONNECT carried {first}, without the auth {AUTH}, before any \
             pid was offered (client.sio5.reconnect.auth)"
        )));
    }
    nth_connect(&cx, 2, CONNECT_WAIT_MS).await?;
    let offered = Recovery::pid(2);
    deliver(&cx, &["a", OFFSET_1]).await?;
    let data = reconnection(&cx).await?;
    pid_of(&data, &offered)?;
    if data.get("token") == Some(token) {
        Ok(Observed::ok(format!(
            "the reconnection's CONNECT carried {data}"
        )))
    } else {
        Err(Stop::Fail(format!(
            "after the server offered the pid {offered:?}, the reconnection's CONNECT carried \
             {data}, without the auth {AUTH} (it carried it before the pid)"
        )))
    }
}

/// Connects with a server that restores the session when the
/// reconnection's CONNECT carries a pid, delivers `events` (`["news",
/// ...args]` each), and reconnects; UNSUPPORTED when the CONNECT carries no
/// pid. The CONNECT's data and the reconnection's `connect` line.
async fn restored(
    cx: &mut Ctx,
    events: &[&[&str]],
) -> Result<(serde_json::Value, serde_json::Value), Stop> {
    let setup = recovering(Recovery {
        restore: Some(missed()),
        ..Recovery::default()
    });
    check::connected(cx, setup, &RECONNECTING).await?;
    for args in events {
        deliver(cx, args).await?;
    }
    let data = reconnection(cx).await?;
    pid_of(&data, &Recovery::pid(1))?;
    let line = nth_connect(cx, 2, CONNECT_WAIT_MS).await?;
    Ok((data, line))
}

async fn missed_events(mut cx: Ctx) -> Outcome {
    restored(&mut cx, &[&["a", OFFSET_1]]).await?;
    let want: Vec<serde_json::Value> = missed().iter().map(check::to_json).collect();
    let mut got = Vec::new();
    let found = cx
        .line("the two missed events", REPLY_WAIT_MS, |l| {
            if l["event"] == "event" && l["name"] == "missed" {
                let mut e = vec![l["name"].clone()];
                e.extend(l["args"].as_array().cloned().unwrap_or_default());
                got.push(serde_json::Value::Array(e));
            }
            (got.len() == want.len()).then_some(())
        })
        .await;
    let shown = |v: &[serde_json::Value]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found {
        Ok(()) if got == want => Ok(Observed::ok(format!(
            "the application saw {} in that order",
            shown(&got)
        ))),
        Ok(()) => Err(Stop::Fail(format!(
            "the server wrote {} before its CONNECT reply; the application saw {}",
            shown(&want),
            shown(&got)
        ))),
        Err(_) => Err(Stop::Fail(format!(
            "the server wrote {} before its CONNECT reply restoring the session; the \
             application saw {} within {} ms of its connect",
            shown(&want),
            if got.is_empty() {
                "none of them".to_owned()
            } else {
                shown(&got)
            },
            cx.ms(REPLY_WAIT_MS).as_millis()
        ))),
    }
}

async fn recovered(mut cx: Ctx) -> Outcome {
    let (_, line) = restored(&mut cx, &[&["a", OFFSET_1]]).await?;
    match recovered_of(&line)? {
        serde_json::Value::Bool(true) => {
            Ok(Observed::ok(format!("the reconnection's connect: {line}")))
        }
        _ => Err(Stop::Fail(format!(
            "the server restored the session (the missed events, then a CONNECT reply with the \
             same sid and pid); the application saw {line}, not recovered"
        ))),
    }
}

async fn not_recovered(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, recovering(Recovery::default()), &RECONNECTING).await?;
    let first = nth_connect(&cx, 1, REPLY_WAIT_MS).await?;
    if *recovered_of(&first)? != json!(false) {
        return Err(Stop::Fail(format!(
            "the first connection, nothing to restore, was reported {first}"
        )));
    }
    reconnection(&cx).await?;
    let again = nth_connect(&cx, 2, CONNECT_WAIT_MS).await?;
    if *recovered_of(&again)? != json!(false) {
        return Err(Stop::Fail(format!(
            "the server answered the reconnection with a new sid and a new pid ({:?}, not {:?}); \
             the application saw {again}",
            Recovery::pid(2),
            Recovery::pid(1)
        )));
    }
    Ok(Observed::ok(format!(
        "the first connect: {first}; after a new sid and pid: {again}"
    )))
}

async fn restored_offset(mut cx: Ctx) -> Outcome {
    // Two events first: a client that does not move its offset on to the
    // latest event at all is latest-offset's.
    let (data, _) = restored(&mut cx, &[&[OFFSET_0], &["a", OFFSET_1]]).await?;
    if data.get("offset") != Some(&json!(OFFSET_1)) {
        return Err(Stop::Skipped(format!(
            "needs the offset moved on to the latest event's (client.sio5.recovery.latest-offset), \
             and after {OFFSET_0:?} then {OFFSET_1:?} the CONNECT carried {data}"
        )));
    }
    // Both delivered before the next drop (whether they are at all is
    // missed-events').
    let mut seen = 0;
    let delivered = cx
        .line("the two missed events", REPLY_WAIT_MS, |l| {
            seen += usize::from(l["event"] == "event" && l["name"] == "missed");
            (seen == MISSED.len()).then_some(())
        })
        .await;
    if let Err(Stop::Fail(why)) = delivered {
        return Err(Stop::Skipped(format!(
            "needs the missed events delivered (client.sio5.recovery.missed-events), and {why}"
        )));
    }
    let [first, want] = [MISSED[0][1], MISSED[1][1]];
    let data = reconnection(&cx).await?;
    if data.get("offset") == Some(&json!(want)) {
        return Ok(Observed::ok(format!(
            "the next reconnection's CONNECT carried {data}"
        )));
    }
    Err(Stop::Fail(format!(
        "the restore's missed events ended with {first:?}, then {want:?}; the next \
         reconnection's CONNECT carried {data}, not offset {want:?} (the server would send them \
         again)"
    )))
}

async fn no_pid(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &RECONNECTING).await?;
    deliver(&cx, &["a", OFFSET_1]).await?;
    let data = reconnection(&cx).await?;
    if data.get("pid").is_some() || data.get("offset").is_some() {
        return Err(Stop::Fail(format!(
            "the server offered no pid, and the reconnection's CONNECT carried {data}"
        )));
    }
    Ok(Observed::ok(format!(
        "the reconnection's CONNECT carried {data}"
    )))
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "pid-offset", "A reconnection's CONNECT carries the pid offered and the last offset")
            .req("Connection state recovery is a feature which allows restoring a client's state after a temporary disconnection, including any missed packets. [...] Then upon reconnection, the server will try to restore the state of the client. (socket.io-client `_sendConnectPacket`: `data: this._pid ? Object.assign({ pid: this._pid, offset: this._lastOffset }, data) : data`; `_pid` is the CONNECT reply's `pid`, `_lastOffset` the last argument of the last event when it is a string.)")
            .ok("the CONNECT after the drop carries the pid of the CONNECT reply and the event's offset")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(pid_offset),
        Case::new(S, "latest-offset", "The offset is the latest event's, not an ack request's or an ACK's")
            .req("Connection state recovery [...] allows restoring a client's state after a temporary disconnection, including any missed packets. (socket.io-client `emitEvent`: `if (this._pid && args.length && typeof args[args.length - 1] === \"string\") { this._lastOffset = args[args.length - 1]; }`: every event delivered replaces it; an event asking for an ack ends with its callback, and an ACK is not an event; the server stores no packet with an ack.)")
            .ok("the offset of the latest event without an ack")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(latest_offset),
        Case::new(S, "auth", "The auth is sent beside the pid and offset")
            .req("auth: Credentials that are sent when accessing a namespace. (socket.io-client `_sendConnectPacket`: `Object.assign({ pid: this._pid, offset: this._lastOffset }, data)`: the auth's fields beside pid and offset.)")
            .ok("the CONNECT with pid and offset carries the auth's fields too")
            .waits(|_| 2 * RECONNECT_WAIT_MS)
            .run_client(auth),
        Case::new(S, "missed-events", "The events missed, written before the CONNECT reply, reach the application in order")
            .req("Connection state recovery is a feature which allows restoring a client's state after a temporary disconnection, including any missed packets. [...] socket.on(\"connect\", () => { if (socket.recovered) { // any missed packets will be received } else { // new or unrecoverable session } });")
            .ok("both missed events reported, in the order written")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(missed_events),
        Case::new(S, "recovered", "A restored session is reported recovered")
            .req("The recovered attribute indicates whether this recovery was successful: [...] socket.on(\"connect\", () => { if (socket.recovered) { // any missed packets will be received } else { // new or unrecoverable session } });")
            .ok("the reconnection's connect reported with `recovered` true")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(recovered),
        Case::new(S, "not-recovered", "A new session is not reported recovered")
            .req("socket.recovered: Whether the connection state was recovered during the last reconnection. [...] } else { // new or unrecoverable session } (socket.io-client `onconnect`: `this.recovered = pid && this._pid === pid`.)")
            .ok("`recovered` false on the first connect and after a reply with a new pid")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(not_recovered),
        Case::new(S, "restored-offset", "The missed events of a restore move the offset on")
            .req("socket.on(\"connect\", () => { if (socket.recovered) { // any missed packets will be received } [...] (socket.io-client `onconnect`: `this._pid = pid` before `emitBuffered()` delivers the events received before the reply, each through `emitEvent`, which keeps its offset: the next recovery starts after them, not before.)")
            .ok("the reconnection after a restore carries the last missed event's offset")
            .waits(|_| 2 * RECONNECT_WAIT_MS)
            .run_client(restored_offset),
        Case::new(S, "no-pid", "No pid nor offset without a pid offered")
            .req("The server must explicitly enable connection state recovery [...] (socket.io-client `_sendConnectPacket`: `data: this._pid ? Object.assign({ pid: this._pid, offset: this._lastOffset }, data) : data`: without a pid from the server, the CONNECT carries the auth alone.)")
            .should()
            .ok("the reconnection's CONNECT carries neither pid nor offset")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(no_pid),
    ]
}
