//! Client — Engine.IO v4 heartbeat: the server pings, the client answers.

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
    ]
}
