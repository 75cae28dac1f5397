//! Client — Engine.IO v4 heartbeat: the server pings, the client answers,
//! and notices a server that has gone silent.

use std::time::Duration;

use serde_json::json;
use siospec_codec::engine::{self, PacketType};
use siospec_codec::session::Frame;
use siospec_codec::Profile;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Answer, Control, Plan, Seen};
use crate::suite::{Expected, Suite};
use crate::verify::client::{self as check, CONNECT_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.eio4.heartbeat",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 heartbeat",
    spec: "engine.io-protocol v4, \"Heartbeat\"",
};

/// How many pings the cases watch.
const PINGS: u64 = 3;

/// How late after `pingInterval + pingTimeout` a client that noticed the
/// silence in time may still be seen closing (its timer, a loaded machine).
const NOTICE_MARGIN_MS: u64 = 500;

/// How long after it closed a client has reconnected: reconnectionDelayMax,
/// socket.io-client's longest reconnection delay by default, and a margin.
const RECONNECT_WAIT_MS: u64 = 5000 + 1000;

/// The pingInterval and pingTimeout the silent server's machine runs with:
/// no PING within any case's time, and no ping timeout either.
const SILENT: Duration = Duration::from_secs(3600);

/// The time `PINGS` heartbeats take at the server's timings.
fn heartbeats(c: &Expected) -> u64 {
    PINGS * c.heartbeat()
}

async fn pong(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let wait = heartbeats(&cx.conf()) + cx.conf().ping_interval;
    let mut answered = 0;
    let ended = cx
        .saw(&format!("{PINGS} answered pings"), wait, |o| {
            match &o.seen {
                Seen::Heartbeat => {
                    answered += 1;
                    (answered >= PINGS).then_some(None)
                }
                Seen::Closed(reason) => Some(Some(reason.clone())),
                _ => None,
            }
        })
        .await?;
    match ended {
        Some(reason) => Err(Stop::Fail(format!(
            "the session ended after {answered} answered pings: {reason}"
        ))),
        None => Ok(Observed::ok(format!(
            "{PINGS} pings each answered within pingTimeout ({} ms)",
            cx.conf().ping_timeout
        ))),
    }
}

async fn no_ping(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let wait = heartbeats(&cx.conf());
    let pinged = cx
        .saw("", wait, |o| match &o.seen {
            Seen::Frame(Frame::Text(t)) => engine::v4::decode_text(t, Profile::Compat)
                .ok()
                .filter(|p| p.kind == PacketType::Ping)
                .map(|_| t.clone()),
            _ => None,
        })
        .await;
    match pinged {
        Ok(frame) => Err(Stop::Fail(format!(
            "the client sent a PING ({frame:?}); in v4 only the server pings"
        ))),
        Err(_) => Ok(Observed::ok(format!(
            "no PING from the client in {wait} ms"
        ))),
    }
}

async fn ping_before_connect(mut cx: Ctx) -> Outcome {
    let setup = Setup {
        plan: Plan {
            refuse: vec![("/".into(), Answer::Hold)],
            ..Plan::default()
        },
        ..Setup::default()
    };
    cx.serve(setup).await?;
    cx.start(&WEBSOCKET_ONLY)?;
    cx.saw("a CONNECT", CONNECT_WAIT_MS, |o| {
        matches!(o.seen, Seen::Connect { .. }).then_some(())
    })
    .await?;
    cx.saw(
        "a PING answered before the CONNECT reply",
        cx.conf().heartbeat() * 2,
        |o| matches!(o.seen, Seen::Heartbeat).then_some(()),
    )
    .await?;
    cx.control(Control::Accept {
        namespace: "/".into(),
    })?;
    cx.event("connect", "/", check::REPLY_WAIT_MS).await?;
    Ok(Observed::ok(
        "answered a PING that came before the CONNECT reply, then connected",
    ))
}

/// A server that advertises the reference timings but never pings (its
/// machine runs with [`SILENT`] timings): the client must notice it within
/// `pingInterval + pingTimeout`, close, and reconnect.
async fn silent_server(mut cx: Ctx, transports: &str) -> Outcome {
    let c = cx.conf();
    let advertised = check::advertising(json!({
        "pingInterval": c.ping_interval,
        "pingTimeout": c.ping_timeout,
    }));
    let mut setup = Setup::default();
    setup.options.engine.ping_interval = SILENT;
    setup.options.engine.ping_timeout = SILENT;
    setup.plan.rewrite = Some(advertised.clone());
    setup.plan.rewrite_polling = Some(advertised);
    cx.serve(setup).await?;
    cx.start(&[
        ("SIOSPEC_TRANSPORTS", transports),
        ("SIOSPEC_RECONNECTION", "true"),
    ])?;
    cx.event("connect", "/", CONNECT_WAIT_MS).await?;
    // The client's timer starts with the open packet, which answers the
    // handshake request: measuring from the request gives it the benefit of
    // the doubt.
    let opened = cx
        .seen()
        .iter()
        .find(|o| o.seen.is_handshake())
        .map(|o| o.t_ms)
        .ok_or_else(|| Stop::Harness("connected without a handshake request".into()))?;
    let bound = c.heartbeat() + NOTICE_MARGIN_MS;
    let (closed, reason) = cx
        .saw(
            &format!(
                "the client close the session of a server that sent no PING (within \
                 pingInterval + pingTimeout = {} ms of the handshake, and a margin)",
                c.heartbeat()
            ),
            bound,
            |o| match &o.seen {
                Seen::Closed(reason) => Some((o.t_ms, reason.clone())),
                _ => None,
            },
        )
        .await?;
    let took = closed - opened;
    if took > cx.ms(bound).as_secs_f64() * 1000.0 {
        return Err(Stop::Fail(format!(
            "the client closed the silent session {took:.0} ms after the handshake \
             ({reason}), later than pingInterval + pingTimeout = {} ms",
            c.heartbeat()
        )));
    }
    let again = cx
        .saw(
            "a new handshake after the close",
            RECONNECT_WAIT_MS,
            |o| match &o.seen {
                Seen::Request { query, .. } if o.t_ms > closed && o.seen.is_handshake() => {
                    Some(o.t_ms)
                }
                _ => None,
            },
        )
        .await?;
    Ok(Observed::ok(format!(
        "without a PING the client closed the session {took:.0} ms after the handshake \
         ({reason}; pingInterval + pingTimeout = {} ms) and reconnected {:.0} ms later",
        c.heartbeat(),
        again - closed
    )))
}

const SILENT_REQ: &str = "Conversely, if the client does not receive a `ping` packet within `pingInterval + pingTimeout`, then it SHOULD consider that the connection is closed. (socket.io client docs, disconnect reasons: `ping timeout`: The server did not send a PING within the `pingInterval + pingTimeout` range. [...] the client will wait for a small random delay and then try to reconnect)";

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "pong", "Each PING is answered within pingTimeout")
            .req("The server sends a PING packet every pingInterval ms, and the client has pingTimeout ms to send a PONG packet back.")
            .ok("every PING answered in time; the session lives")
            .waits(|c| heartbeats(c) + c.ping_interval)
            .run_client(pong),
        Case::new(S, "no-ping", "A v4 client never sends PING")
            .req("In Engine.IO v4 the heartbeat is started by the server: the server sends PING and the client answers PONG (v3 was the reverse).")
            .ok("no PING from the client")
            .waits(heartbeats)
            .run_client(no_ping),
        Case::new(S, "ping-before-connect", "A PING before the Socket.IO CONNECT reply is answered")
            .req("The heartbeat runs from the open packet on, whatever the layers above are doing: a PING that arrives while the client waits for its Socket.IO CONNECT reply is answered all the same.")
            .ok("the PING answered, then the connection made")
            .waits(|c| 2 * c.heartbeat())
            .run_client(ping_before_connect),
        Case::new(S, "silent-server", "A server that stops pinging is noticed in time, then reconnected to (WebSocket)")
            .req(SILENT_REQ)
            .should()
            .ok("closed within pingInterval + pingTimeout, then a new handshake")
            .waits(|c| c.heartbeat() + NOTICE_MARGIN_MS + RECONNECT_WAIT_MS)
            .run_client(|cx| silent_server(cx, "websocket")),
        Case::new(S, "silent-server-polling", "A server that stops pinging is noticed in time, then reconnected to (polling)")
            .req(SILENT_REQ)
            .should()
            .ok("closed within pingInterval + pingTimeout, then a new handshake")
            .waits(|c| c.heartbeat() + NOTICE_MARGIN_MS + RECONNECT_WAIT_MS)
            .run_client(|cx| silent_server(cx, "polling")),
    ]
}
