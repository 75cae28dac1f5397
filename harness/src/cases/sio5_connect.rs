//! Socket.IO v5 — connecting to namespaces.

use std::time::Instant;

use serde_json::Value;
use siospec_codec::socket::PacketType;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::sio::{only_sid, reply_sid};
use crate::wire::conn::Transport;
use crate::wire::heartbeat::Heartbeat;
use crate::wire::sio::{Got, Sio};

const S: Section = Section {
    id: "sio5.connect",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Connection to a namespace",
    spec: "socket.io-protocol v5, \"Connection to a namespace\"",
};

const REQ: &str = "The client sends a CONNECT packet for each namespace (with an optional auth payload); the server answers CONNECT with {\"sid\":...} or CONNECT_ERROR.";

/// Joins with `send` and reads the reply and the `auth` event; `exact`:
/// the reply must be exactly `{"sid":...}` (the case judges its shape).
async fn connect(
    cx: Ctx,
    send: Request,
    nsp: &'static str,
    auth_event: &'static str,
    exact: bool,
) -> Outcome {
    let mut s = Sio::open(&cx).await?;
    match send {
        Request::Auth(auth) => s.send_packet(PacketType::Connect, nsp, None, auth).await?,
        Request::Raw(text) => s.send_raw(text).await?,
    }
    let (reply, early) = s.connect_reply(&cx, nsp).await?;
    let sid = if exact {
        only_sid(&reply)?
    } else {
        reply_sid(&reply)?
    };
    if !early.iter().any(|p| p.raw == auth_event) {
        s.expect_raw(cx.ms(2000), auth_event).await?;
    }
    Ok(Observed::ok(format!(
        "CONNECT reply {} (sid {sid}), then {auth_event}",
        reply.raw
    )))
}

/// The CONNECT a case sends: encoded by the codec with this auth payload,
/// or a packet text the encoder would not write, sent as it is.
enum Request {
    Auth(Option<&'static str>),
    Raw(&'static str),
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "main", "`40` → CONNECT reply with only sid, then `auth` {}")
            .official("Socket.IO protocol / connect / should allow connection to the main namespace", None)
            .req(REQ)
            .ok("`40{\"sid\":...}`, then exactly `42[\"auth\",{}]`")
            .run(|cx| connect(cx, Request::Auth(None), "/", r#"2["auth",{}]"#, true)),
        Case::new(S, "main-with-auth", "`40{\"token\":\"123\"}` → the auth payload is passed on")
            .official("Socket.IO protocol / connect / should allow connection to the main namespace with a payload", None)
            .req(REQ)
            .ok("`40{\"sid\":...}`, then exactly `42[\"auth\",{\"token\":\"123\"}]`")
            .run(|cx| connect(cx, Request::Auth(Some(r#"{"token":"123"}"#)), "/", r#"2["auth",{"token":"123"}]"#, true)),
        Case::new(S, "custom", "`40/custom,` → CONNECT reply on /custom, then `auth` {}")
            .official("Socket.IO protocol / connect / should allow connection to a custom namespace", None)
            .req(REQ)
            .ok("`40/custom,{\"sid\":...}`, then exactly `42/custom,[\"auth\",{}]`")
            .run(|cx| connect(cx, Request::Auth(None), "/custom", r#"2/custom,["auth",{}]"#, true)),
        Case::new(S, "custom-with-auth", "`40/custom,{\"token\":\"abc\"}` → the auth payload is passed on")
            .official("Socket.IO protocol / connect / should allow connection to a custom namespace with a payload", None)
            .req(REQ)
            .ok("`40/custom,{\"sid\":...}`, then `42/custom,[\"auth\",{\"token\":\"abc\"}]`")
            .run(|cx| connect(cx, Request::Auth(Some(r#"{"token":"abc"}"#)), "/custom", r#"2/custom,["auth",{"token":"abc"}]"#, true)),
        Case::new(S, "invalid-namespace", "`40/random` → CONNECT_ERROR \"Invalid namespace\"")
            .official("Socket.IO protocol / connect / should disallow connection to an unknown namespace", None)
            .req("If the server refuses the connection, it answers CONNECT_ERROR. The testee contract knows only / and /custom, and refuses the others with the message \"Invalid namespace\".")
            .ok("a CONNECT_ERROR on /random whose message is \"Invalid namespace\" (exactly `44/random,{\"message\":\"Invalid namespace\"}` in the official suite; the payload's shape is sio5.connect.connect-error-object's rule)")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.send_packet(PacketType::Connect, "/random", None, None).await?;
                let p = s.expect(cx.ms(2000), "the CONNECT_ERROR").await?;
                let message = match &p.data {
                    Some(Value::Object(m)) => m.get("message").and_then(Value::as_str),
                    Some(Value::String(m)) => Some(m.as_str()),
                    _ => None,
                };
                if p.kind != PacketType::ConnectError || p.nsp != "/random" || message != Some("Invalid namespace") {
                    return verify::fail(format!("expected a CONNECT_ERROR \"Invalid namespace\" on /random, got {}", p.describe()));
                }
                Ok(Observed::ok(p.raw))
            }),
        Case::new(S, "connect-error-object", "The CONNECT_ERROR payload is an object with a message")
            .req("Protocol v5: the payload of the CONNECT_ERROR packet is now an object (in v4 it was a plain string), e.g. {\"message\":\"Not authorized\"}.")
            .ok("a JSON object with a string `message`")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.send_packet(PacketType::Connect, "/random", None, None).await?;
                let p = s.expect(cx.ms(2000), "the CONNECT_ERROR").await?;
                if p.kind != PacketType::ConnectError {
                    return verify::fail(format!("expected a CONNECT_ERROR for /random, got {}", p.describe()));
                }
                Ok(match &p.data {
                    Some(Value::Object(m)) if m.get("message").is_some_and(Value::is_string) => Observed::ok(p.raw),
                    _ => Observed::not(format!("payload of {}", p.describe())),
                })
            }),
        Case::new(S, "invalid-packet", "`4abc` as the first packet closes the connection")
            .official("Socket.IO protocol / connect / should disallow connection with an invalid handshake", None)
            .req("A packet that cannot be decoded closes the connection.")
            .ok("the connection is closed")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.set_heartbeat(Heartbeat::Silent);
                s.send_raw("abc").await?;
                let d = s.expect_closed(cx.ms(1000)).await?;
                Ok(Observed::ok(d))
            }),
        Case::new(S, "no-handshake", "Without any CONNECT the connection is closed")
            .waits(|c| c.connect_timeout)
            .official("Socket.IO protocol / connect / should close the connection if no handshake is received", None)
            .req("The server closes connections that do not join a namespace within connectTimeout.")
            .ok("the connection is closed within connectTimeout + 500 ms")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.set_heartbeat(Heartbeat::Silent);
                let d = s.expect_closed(cx.ms(cx.conf.connect_timeout + 500)).await?;
                Ok(Observed::ok(d))
            }),
        Case::new(S, "connect-timeout", "A client that answers pings but never sends CONNECT is closed at connectTimeout")
            .waits(|c| c.connect_timeout)
            .req("The testee contract sets connectTimeout to 1000 ms: a connection without CONNECT is closed then.")
            .should()
            .ok("closed between connectTimeout − 100 ms and connectTimeout + 500 ms")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let t = Instant::now();
                let d = s.expect_closed(cx.ms(cx.conf.connect_timeout + 500)).await?;
                let ms = t.elapsed();
                if ms < cx.ms(cx.conf.connect_timeout - 100) {
                    return Ok(Observed::not(format!("closed already after {} ms: {d}", ms.as_millis())));
                }
                Ok(Observed::ok(format!("closed after {} ms: {d}", ms.as_millis())))
            }),
        Case::new(S, "reply-before-events", "The CONNECT reply comes before any event of its namespace")
            .req("The server answers CONNECT with {\"sid\":...}: the client is connected to the namespace from then on, and events are sent to connected clients.")
            .should()
            .ok("the first packet after `40` is the CONNECT reply")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.send_packet(PacketType::Connect, "/", None, None).await?;
                let first = s.expect(cx.ms(3000), "the first packet after CONNECT").await?;
                Ok(if first.kind == PacketType::Connect {
                    Observed::ok(first.describe())
                } else {
                    Observed::not(format!(
                        "{} came before the CONNECT reply (the official client holds such events until it is connected)",
                        first.describe()
                    ))
                })
            }),
        Case::new(S, "sid-distinct", "The Socket.IO sid differs from the Engine.IO sid")
            .req("The Socket.IO sid (in the CONNECT reply) is distinct from the Engine.IO session id (protocol v5).")
            .ok("two different ids")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let reply = s.join(&cx, "/", None).await?;
                let sid = reply_sid(&reply)?;
                if sid == s.handshake().sid {
                    return Ok(Observed::not(format!("both are {sid:?}")));
                }
                Ok(Observed::ok(format!("engine {} / socket {sid}", s.handshake().sid)))
            }),
        Case::new(S, "multiplexed", "/ and /custom on one Engine.IO connection, each with its own sid and events")
            .req("Several namespaces share one Engine.IO connection (multiplexing).")
            .ok("two CONNECT replies with different sids; `message` on each namespace comes back on that namespace")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let a = reply_sid(&s.join(&cx, "/", None).await?)?;
                let b = reply_sid(&s.join(&cx, "/custom", None).await?)?;
                if a == b {
                    return verify::fail("both namespaces got the same sid");
                }
                s.emit("/custom", None, r#"["message","on custom"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2/custom,["message-back","on custom"]"#).await?;
                s.emit("/", None, r#"["message","on main"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back","on main"]"#).await?;
                Ok(Observed::ok(format!("sids {a} and {b}")))
            }),
        Case::new(S, "custom-without-comma", "`40/custom` (no trailing comma) is the same as `40/custom,`")
            .req("The namespace ends at `,` or at the end of the packet.")
            .should()
            .ok("CONNECT reply on /custom")
            .run(|cx| connect(cx, Request::Raw("0/custom"), "/custom", r#"2/custom,["auth",{}]"#, false)),
        Case::new(S, "already-joined", "A second CONNECT to a namespace already joined")
            .req("Each namespace is joined once per connection; the protocol does not say what a repeated CONNECT does.")
            .may()
            .ok("the connection is closed (the reference server's answer)")
            .outcome("reconnected", Verdict::Informational, "a new CONNECT reply")
            .outcome("ignored", Verdict::Informational, "ignored")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_packet(PacketType::Connect, "/", None, None).await?;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Packet(p) if p.kind == PacketType::Connect => Observed::is("reconnected", p.describe()),
                    Got::Nothing => Observed::is("ignored", "nothing within 1000 ms"),
                    other => Observed::is("ignored", other.describe()),
                })
            }),
        Case::new(S, "event-before-connect", "An EVENT before any CONNECT")
            .req("The client must join a namespace before sending to it.")
            .should()
            .ok("the connection is closed")
            .outcome("connect-error", Verdict::Ok, "answered with CONNECT_ERROR")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                s.emit("/", None, r#"["message","too early"]"#).await?;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Packet(p) if p.kind == PacketType::ConnectError => Observed::is("connect-error", p.describe()),
                    other => Observed::not(other.describe()),
                })
            }),
        Case::new(S, "polling", "Joining / over HTTP long-polling")
            .req(REQ)
            .ok("POST `40` → a GET returns `40{\"sid\":...}` and `42[\"auth\",{}]`")
            .run(|cx| async move {
                let mut s = Sio::open_over(&cx, Transport::Polling).await?;
                s.send_packet(PacketType::Connect, "/", None, None).await?;
                // Events before the CONNECT reply are held, as the official
                // client holds them (sio5.connect.reply-before-events judges that).
                let (reply, early) = s.connect_reply(&cx, "/").await?;
                let (auth, held) = match early.into_iter().find(|p| p.event() == Some("auth")) {
                    Some(p) => (p, true),
                    None => (s.expect(cx.ms(3000), "the `auth` event").await?, false),
                };
                let got = [reply.raw, auth.raw];
                let [c, a] = &got;
                if !(c.starts_with("0{\"sid\":") && a == r#"2["auth",{}]"#) {
                    return Ok(Observed::not(format!("received {got:?}")));
                }
                Ok(if held {
                    Observed::ok(format!("{:?} (the event held until the reply)", [a, c]))
                } else {
                    Observed::ok(format!("{got:?}"))
                })
            }),
    ]
}
