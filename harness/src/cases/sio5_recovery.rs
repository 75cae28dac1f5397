//! Socket.IO v5 — connection state recovery (socket.io ≥ 4.6), on the
//! contract's namespace `/recovery` of a server started with `--recovery`.
//!
//! A client that lost its transport comes back on a new Engine.IO session
//! with CONNECT `{pid, offset}`; the server gives the socket back (same sid,
//! rooms) and first replays the events it missed. Offsets are opaque: the
//! cases judge that they are strings and tell events apart, never their
//! format. Missed events are told apart by a token argument of their own,
//! so unrelated events (an `auth` emit, another case's traffic) are ignored.
//!
//! Points in time without sleeps: a contract call's ack (the server handled
//! it), a `message` round trip (everything sent before it on that
//! connection has arrived), a CONNECT reply on `/` (the packets sent before
//! it on that connection were handled).

use serde_json::{json, Value};
use siospec_codec::session::contract::{RECOVERY_DURATION, RECOVERY_NAMESPACE as NSP};
use siospec_codec::socket::PacketType;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Section, Stop};
use crate::suite::Suite;
use crate::verify;
use crate::wire::sio::{Got, Sio, SioPacket};

const S: Section = Section {
    id: "sio5.recovery",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Connection state recovery",
    spec: "socket.io.dev \"Connection state recovery\" (socket.io ≥ 4.6); harness/CONTRACT.md \"Connection state recovery\"",
};

const REQ_OFFSET: &str = "Connection state recovery: the server appends an offset (a string, the id of the packet) as the last argument of every event it sends without an acknowledgement; events with an acknowledgement are not stored and carry none.";
const REQ_RESTORE: &str = "Connection state recovery: a client that comes back within maxDisconnectionDuration with CONNECT {pid, offset} gets its socket back: the same sid, its rooms, and the events it missed after that offset, sent before the CONNECT reply, in order, each once.";
const REQ_NEW: &str = "Connection state recovery: the state is restored only when the pid is known, the session not expired and the offset found; otherwise the CONNECT makes a new session (a new sid).";
const REQ_REASONS: &str = "Connection state recovery: the session is kept only when the client is disconnected by a transport error or close, a ping timeout or a server shutdown; a disconnection asked by either side (DISCONNECT, socket.disconnect()) ends it.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "pid", "The CONNECT reply on /recovery carries a private id, `pid`, beside the sid")
            .req("Connection state recovery: the CONNECT reply is {sid, pid}; the pid is a private session id, which the client sends back with its last offset to recover. socket.io 4.6.0's release notes: the session id \"is different from the current `id` attribute, which is public and can be freely shared\", so the pid is not the sid: knowing a socket's id must not be enough to take over its session.")
            .ok("`40/recovery,{\"sid\":…,\"pid\":…}` with a non-empty string pid other than the sid")
            .run(|cx| async move {
                let mut a = Sio::open(&cx).await?;
                let (reply, _) = connect(&cx, &mut a, None).await?;
                let sid = verify::sio::reply_sid(&reply)?;
                match reply.data.as_ref().and_then(|d| d.get("pid")) {
                    Some(Value::String(p)) if p.is_empty() || *p == sid => Ok(Observed::not(format!("the pid is {}: {}", if p.is_empty() { "empty" } else { "the sid" }, reply.raw))),
                    Some(Value::String(p)) => Ok(Observed::ok(format!("pid {p:?} ({})", reply.raw))),
                    _ => Ok(Observed::not(format!("no string pid: {}", reply.describe()))),
                }
            }),
        Case::new(S, "offset", "Every event without an ack carries a string offset as its last argument, each its own")
            .req(REQ_OFFSET)
            .ok("`auth`, `message-back`, `broadcast-message` and a `room-message` received by another socket end with distinct string offsets")
            .run(|cx| async move {
                let (mut a, _, _) = joined(&cx).await?;
                let mut b = Sio::open(&cx).await?;
                connect(&cx, &mut b, None).await?;
                call(&cx, &mut b, json!(["join", "offset-room"])).await?;
                let mut seen = vec![event(&cx, &mut a, "auth", None).await?];
                a.emit(NSP, None, &json!(["message", "m"]).to_string()).await?;
                seen.push(event(&cx, &mut a, "message-back", Some("m")).await?);
                call(&cx, &mut a, json!(["to-room", "offset-room", "r"])).await?;
                seen.push(event(&cx, &mut b, "room-message", Some("r")).await?);
                call(&cx, &mut a, json!(["broadcast", "offset-b"])).await?;
                seen.push(event(&cx, &mut a, "broadcast-message", Some("offset-b")).await?);
                let mut offsets = Vec::new();
                for p in &seen {
                    // `auth` has the auth payload as its one argument, the others their token.
                    match p.args().last() {
                        Some(Value::String(o)) if p.args().len() == 2 && !offsets.contains(o) => offsets.push(o.clone()),
                        _ => return Ok(Observed::not(format!("expected the argument and then a new string offset: {}", p.describe()))),
                    }
                }
                Ok(Observed::ok(format!("offsets {offsets:?}")))
            }),
        Case::new(S, "no-offset-with-ack", "An event sent with an ack carries no offset")
            .req(REQ_OFFSET)
            .ok("`emit-with-ack` comes with exactly the arguments sent, and an ack id")
            .run(|cx| async move {
                let (mut a, _, _) = joined(&cx).await?;
                a.emit(NSP, None, &json!(["emit-with-ack", "z"]).to_string()).await?;
                let p = event(&cx, &mut a, "emit-with-ack", None).await?;
                if p.id.is_none() {
                    return verify::fail(format!("`emit-with-ack` came without an ack id: {}", p.describe()));
                }
                if p.args() != [json!("z")] {
                    return Ok(Observed::not(format!("an event with an ack carries more than its arguments: {}", p.describe())));
                }
                Ok(Observed::ok(p.raw.clone()))
            }),
        Case::new(S, "restore", "After `close-transport`, CONNECT {pid, offset} restores the sid and rooms and replays the missed events first")
            .req(REQ_RESTORE)
            .ok("the same sid; the room message and the broadcast sent while away (not the message to another room) come before the CONNECT reply, in order, once")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                call(&cx, &mut a, json!(["join", "restore-room"])).await?;
                let offset = last_offset(&cx, &mut a).await?;
                let mut b = Sio::open(&cx).await?;
                connect(&cx, &mut b, None).await?;
                drop_transport(&cx, &mut a).await?;
                call(&cx, &mut b, json!(["to-room", "restore-room", "restore-1"])).await?;
                call(&cx, &mut b, json!(["to-room", "elsewhere", "restore-not-for-a"])).await?;
                call(&cx, &mut b, json!(["broadcast", "restore-2"])).await?;
                let back = come_back(&cx, &pid, &offset, "restore-").await?;
                if back.sid != sid {
                    return Ok(Observed::not(format!("not restored: sid {:?} (was {sid:?}) in {}", back.sid, back.reply.raw)));
                }
                let want = ["restore-1", "restore-2"];
                if back.before != want || !back.after.is_empty() {
                    return Ok(Observed::not(format!(
                        "sid kept; missed events before the CONNECT reply {:?}, after it {:?} (want {want:?} before, none after)",
                        back.before, back.after
                    )));
                }
                Ok(Observed::ok(format!("sid {sid} restored; replayed {:?} before {}", back.before, back.reply.raw)))
            }),
        Case::new(S, "restore-again", "A restored socket can be restored again, and again (socket.io #4880)")
            .req(REQ_RESTORE)
            .ok("three transport losses in a row, each restored with the same sid and its missed event")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let mut offset = last_offset(&cx, &mut a).await?;
                let mut b = Sio::open(&cx).await?;
                connect(&cx, &mut b, None).await?;
                for round in 1..=3 {
                    drop_transport(&cx, &mut a).await?;
                    let token = format!("again-{round}");
                    call(&cx, &mut b, json!(["broadcast", token])).await?;
                    let back = come_back(&cx, &pid, &offset, "again-").await?;
                    let missed: Vec<&String> = back.before.iter().chain(&back.after).collect();
                    if back.sid != sid || missed != [&token] {
                        let what = format!("recovery {round}: sid {:?} (was {sid:?}), missed events {missed:?} (want [{token:?}])", back.sid);
                        if round == 1 {
                            return Err(Stop::Skipped(format!("{what}: the first recovery failed, which sio5.recovery.restore judges")));
                        }
                        return Ok(Observed::not(what));
                    }
                    a = back.sio;
                    offset = last_offset(&cx, &mut a).await?;
                }
                Ok(Observed::ok(format!("restored three times as {sid}")))
            }),
        Case::new(S, "expired", "After maxDisconnectionDuration the session is gone: CONNECT {pid, offset} makes a new one")
            .req(REQ_NEW)
            .waits(|_| RECOVERY_DURATION.as_millis() as u64 + 500)
            .ok("a new sid after waiting out maxDisconnectionDuration (2000 ms, CONTRACT.md) and 500 ms")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let offset = last_offset(&cx, &mut a).await?;
                drop_transport(&cx, &mut a).await?;
                tokio::time::sleep(RECOVERY_DURATION + cx.ms(500)).await;
                new_session(&cx, &sid, &pid, &offset, "an expired session").await
            }),
        Case::new(S, "unknown-pid", "CONNECT with a pid the server never gave makes a new session")
            .req(REQ_NEW)
            .ok("a new sid")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let offset = last_offset(&cx, &mut a).await?;
                drop_transport(&cx, &mut a).await?;
                // A pid the server never gave, though it begins as one it gave.
                let unknown = format!("{pid}-unknown");
                new_session(&cx, &sid, &unknown, &offset, "an unknown pid").await
            }),
        Case::new(S, "unknown-offset", "CONNECT with a known pid but an offset the server never sent makes a new session")
            .req(REQ_NEW)
            .ok("a new sid")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                drop_transport(&cx, &mut a).await?;
                new_session(&cx, &sid, &pid, "siospec-unknown-offset", "an unknown offset").await
            }),
        Case::new(S, "client-disconnect", "A socket the client left with DISCONNECT is not kept")
            .req(REQ_REASONS)
            .ok("after `41/recovery,`, CONNECT {pid, offset} on a new connection makes a new sid")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let offset = last_offset(&cx, &mut a).await?;
                a.send_packet(PacketType::Disconnect, NSP, None, None).await?;
                handled(&cx, &mut a).await?;
                new_session(&cx, &sid, &pid, &offset, "a socket left by the client").await
            }),
        Case::new(S, "client-disconnect-after-recovery", "A recovered socket the client then left with DISCONNECT is not kept either (socket.io #4880)")
            .req(REQ_REASONS)
            // A SHOULD: the documentation says what is stored on a
            // disconnection, not that a restore forgets the stored copy; it
            // follows from the rule, and socket.io 4.8.4 does not do it.
            .should()
            .ok("after a recovery, `41/recovery,`, then CONNECT {pid, offset} on a new connection makes a new sid")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let offset = last_offset(&cx, &mut a).await?;
                drop_transport(&cx, &mut a).await?;
                let mut back = come_back(&cx, &pid, &offset, "-").await?;
                if back.sid != sid {
                    return Err(Stop::Skipped(format!(
                        "the recovery itself failed (sid {:?}, was {sid:?}), which sio5.recovery.restore judges",
                        back.sid
                    )));
                }
                let offset = last_offset(&cx, &mut back.sio).await?;
                back.sio.send_packet(PacketType::Disconnect, NSP, None, None).await?;
                handled(&cx, &mut back.sio).await?;
                new_session(&cx, &sid, &pid, &offset, "a recovered socket left by the client").await
            }),
        Case::new(S, "server-disconnect", "A socket the server disconnected (`disconnect-me`) is not kept")
            .req(REQ_REASONS)
            .ok("after `disconnect-me`, CONNECT {pid, offset} on a new connection makes a new sid")
            .run(|cx| async move {
                let (mut a, sid, pid) = joined(&cx).await?;
                let offset = last_offset(&cx, &mut a).await?;
                a.emit(NSP, None, r#"["disconnect-me"]"#).await?;
                handled(&cx, &mut a).await?;
                new_session(&cx, &sid, &pid, &offset, "a socket the server disconnected").await
            }),
    ]
}

/// Sends CONNECT for /recovery and reads the reply and the events held
/// before it; a server without recovery there is UNSUPPORTED.
async fn connect(
    cx: &Ctx,
    s: &mut Sio,
    auth: Option<&str>,
) -> Result<(SioPacket, Vec<SioPacket>), Stop> {
    s.send_packet(PacketType::Connect, NSP, None, auth).await?;
    let mut early = Vec::new();
    let reply = loop {
        let p = s
            .expect(cx.ms(3000), "the CONNECT reply on /recovery")
            .await?;
        if p.nsp == NSP && p.kind == PacketType::Event && early.len() < 64 {
            early.push(p);
            continue;
        }
        break p;
    };
    match (reply.kind, reply.nsp.as_str()) {
        (PacketType::Connect, NSP) => {}
        (PacketType::ConnectError, NSP) => {
            return Err(Stop::Unsupported(format!(
                "{NSP} refused ({}): the server does not offer connection state recovery (CONTRACT.md: started with --recovery MS)",
                reply.raw
            )))
        }
        _ => return verify::fail(format!("expected the CONNECT reply on {NSP}, got {}", reply.describe())),
    }
    if reply.data.as_ref().is_none_or(|d| d.get("pid").is_none()) {
        return Err(Stop::Unsupported(format!(
            "the CONNECT reply on {NSP} has no pid ({}): the server does not offer connection state recovery there",
            reply.raw
        )));
    }
    Ok((reply, early))
}

/// A new connection joined to /recovery: it, the sid and the pid (a string:
/// sio5.recovery.pid judges the reply).
async fn joined(cx: &Ctx) -> Result<(Sio, String, String), Stop> {
    let mut a = Sio::open(cx).await?;
    let (reply, _) = connect(cx, &mut a, None).await?;
    let sid = verify::sio::reply_sid(&reply)?;
    match reply.data.as_ref().and_then(|d| d.get("pid")) {
        Some(Value::String(pid)) => Ok((a, sid, pid.clone())),
        _ => Err(Stop::Skipped(format!(
            "no string pid in {}: sio5.recovery.pid judges that",
            reply.raw
        ))),
    }
}

/// Emits `[event, args…]` with ack id 1 on /recovery and waits for the ack
/// (a point in time; sio5.message judges ack contents). Events meanwhile
/// are set aside in `pending`.
async fn call(cx: &Ctx, s: &mut Sio, args: Value) -> Result<(), Stop> {
    s.emit(NSP, Some(1), &args.to_string()).await?;
    loop {
        match s.next(cx.ms(2000)).await {
            Got::Packet(p) if p.kind == PacketType::Ack && p.id == Some(1) && p.nsp == NSP => {
                return Ok(())
            }
            Got::Packet(p) => s.pending.push(p),
            other => {
                return verify::fail(format!(
                    "waiting for the ack of {args}: {}",
                    other.describe()
                ))
            }
        }
    }
}

/// The next `name` event on /recovery whose first argument is `first`
/// (any, for `None`), set-aside packets first. Other cases' broadcasts
/// reach every socket of the namespace, and are skipped.
async fn event(cx: &Ctx, s: &mut Sio, name: &str, first: Option<&str>) -> Result<SioPacket, Stop> {
    let wanted = |p: &SioPacket| {
        p.nsp == NSP
            && p.event() == Some(name)
            && first.is_none_or(|f| p.args().first() == Some(&json!(f)))
    };
    if let Some(i) = s.pending.iter().position(wanted) {
        return Ok(s.pending.remove(i));
    }
    loop {
        let p = s
            .expect(cx.ms(2000), &format!("the `{name}` event"))
            .await?;
        if wanted(&p) {
            return Ok(p);
        }
    }
}

/// The offset of the last event received, after a `message` round trip
/// (so it is the newest): what a client sends back to recover.
async fn last_offset(cx: &Ctx, s: &mut Sio) -> Result<String, Stop> {
    s.emit(NSP, None, r#"["message","offset-probe"]"#).await?;
    let p = event(cx, s, "message-back", Some("offset-probe")).await?;
    match p.args().last() {
        Some(Value::String(o)) if p.args().len() > 1 => Ok(o.clone()),
        _ => Err(Stop::Skipped(format!(
            "no offset on {}: sio5.recovery.offset judges that",
            p.describe()
        ))),
    }
}

/// `close-transport`, and the connection's end.
async fn drop_transport(cx: &Ctx, s: &mut Sio) -> Result<(), Stop> {
    s.emit(NSP, None, r#"["close-transport"]"#).await?;
    s.expect_closed(cx.ms(2000)).await.map(|_| ()).map_err(|e| match e {
        Stop::Fail(m) => Stop::Unsupported(format!(
            "`close-transport` dropped nothing ({m}): the server does not implement this part of the contract"
        )),
        other => other,
    })
}

/// Waits until the server handled what was sent before on `s`: the CONNECT
/// reply on `/`, skipping whatever comes first (a DISCONNECT, events).
async fn handled(cx: &Ctx, s: &mut Sio) -> Result<(), Stop> {
    s.send_packet(PacketType::Connect, "/", None, None).await?;
    loop {
        let p = s.expect(cx.ms(3000), "the CONNECT reply on /").await?;
        if p.nsp == "/" && p.kind == PacketType::Connect {
            return Ok(());
        }
    }
}

/// What a client coming back got.
struct Back {
    sio: Sio,
    reply: SioPacket,
    sid: String,
    /// The case's tokens of the events before the reply…
    before: Vec<String>,
    /// …and after it, up to a round trip.
    after: Vec<String>,
}

/// A new connection sends CONNECT {pid, offset} on /recovery; the events
/// whose first argument starts with `prefix` are the case's.
async fn come_back(cx: &Ctx, pid: &str, offset: &str, prefix: &str) -> Result<Back, Stop> {
    let mut s = Sio::open(cx).await?;
    let auth = json!({ "pid": pid, "offset": offset }).to_string();
    let (reply, early) = connect(cx, &mut s, Some(&auth)).await?;
    let sid = verify::sio::reply_sid(&reply)?;
    s.emit(NSP, None, r#"["message","back-probe"]"#).await?;
    let mut later = Vec::new();
    loop {
        let p = s.expect(cx.ms(2000), "`message-back` of the probe").await?;
        if p.event() == Some("message-back") && p.args().first() == Some(&json!("back-probe")) {
            break;
        }
        later.push(p);
    }
    Ok(Back {
        sio: s,
        reply,
        sid,
        before: tokens(&early, prefix),
        after: tokens(&later, prefix),
    })
}

/// The case's tokens among `packets`: the first argument of the events
/// whose first argument starts with `prefix`.
fn tokens(packets: &[SioPacket], prefix: &str) -> Vec<String> {
    packets
        .iter()
        .filter(|p| p.nsp == NSP && p.event().is_some())
        .filter_map(|p| p.args().first()?.as_str().map(str::to_owned))
        .filter(|t| t.starts_with(prefix))
        .collect()
}

/// A new connection with CONNECT {pid, offset} must get a new session.
async fn new_session(
    cx: &Ctx,
    old: &str,
    pid: &str,
    offset: &str,
    what: &str,
) -> crate::case::Outcome {
    let back = come_back(cx, pid, offset, "-").await?;
    if back.sid == old {
        return Ok(Observed::not(format!(
            "{what} was restored: sid {old:?} again ({})",
            back.reply.raw
        )));
    }
    Ok(Observed::ok(format!(
        "new sid {:?} (was {old:?})",
        back.sid
    )))
}
