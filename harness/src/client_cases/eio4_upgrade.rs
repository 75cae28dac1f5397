//! Client — Engine.IO v4 upgrade from polling to WebSocket: the probe, the
//! polling paused, a refused WebSocket, no packet lost or doubled across the
//! upgrade, no upgrade without the probe's answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use siospec_codec::engine::{self, Data, Packet, PacketType};
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::Value;
use siospec_codec::Profile;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.eio4.upgrade",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 upgrade",
    spec: "engine.io-protocol v4, \"Upgrade\"",
};

/// A client that starts on polling and may upgrade, without reconnection.
const POLLING_THEN_WEBSOCKET: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "polling,websocket"),
    ("SIOSPEC_RECONNECTION", "false"),
];

/// How long after its UPGRADE a client that did not pause polling has sent
/// its next GET (it polls again as soon as the pending one is answered).
const AFTER_UPGRADE_MS: u64 = 1000;

/// How many answered PINGs after the refused WebSocket show that the
/// session lives on over polling.
const PINGS: usize = 2;

/// The time between two events of `lossless`'s stream.
const STREAM_GAP_MS: u64 = 20;

/// `lossless`: events over polling before the probe is answered.
const BEFORE_PROBE: usize = 8;

/// `lossless`: events sent while the server, still on polling, holds the
/// client's UPGRADE, and after the upgrade.
const WHILE_HELD: usize = 10;
const AFTER_UPGRADE: usize = 10;

/// `lossless`: the most events sent waiting for the UPGRADE.
const MAX_EVENTS: usize = 150;

/// How long `probe-unanswered` and `probe-mismatch` watch for an UPGRADE
/// after the probe: three heartbeats of the reference timings, and
/// engine.io-client upgrades within milliseconds of `3probe`.
const PROBE_WATCH_MS: u64 = 1500;

/// The upgradeTimeout of `probe-unanswered`'s server: longer than the case,
/// so that the server never gives up the probe WebSocket itself.
const LONG_UPGRADE_TIMEOUT: Duration = Duration::from_secs(600);

/// The type (and data) of a client's WebSocket text frame, if it decodes.
fn packet(o: &Seen) -> Option<(PacketType, String)> {
    let Seen::Frame(Frame::Text(text)) = o else {
        return None;
    };
    let p = engine::v4::decode_text(text, Profile::Compat).ok()?;
    let data = match &p.data {
        Data::Text(t) => t.to_string(),
        _ => String::new(),
    };
    Some((p.kind, data))
}

async fn probe(mut cx: Ctx) -> Outcome {
    // The rule is the transport's: the application's connect is not awaited.
    cx.serve(Setup::default()).await?;
    cx.start(&POLLING_THEN_WEBSOCKET)?;
    let mut probed = false;
    let upgraded_at = cx
        .saw("an UPGRADE (`5`) on the WebSocket", CONNECT_WAIT_MS, |o| {
            match packet(&o.seen) {
                Some((PacketType::Ping, data)) if data == "probe" => probed = true,
                Some((PacketType::Upgrade, _)) => return Some(o.t_ms),
                _ => {}
            }
            None
        })
        .await?;
    if !probed {
        return Err(Stop::Fail(
            "the client sent UPGRADE (`5`) without probing with `2probe` first".into(),
        ));
    }
    // Paused, the transport has no request in flight: it waited for its
    // GET (which the server releases with a NOOP) and its POST to end.
    let before: Vec<_> = cx
        .seen()
        .into_iter()
        .filter(|o| o.t_ms < upgraded_at)
        .collect();
    for method in ["GET", "POST"] {
        if check::in_flight_at_end(&before, method) > 0 {
            return Err(Stop::Fail(format!(
                "the client sent UPGRADE (`5`) without pausing polling: its {method} was still \
                 in flight"
            )));
        }
    }
    let polled = cx
        .saw("", AFTER_UPGRADE_MS, |o| match &o.seen {
            Seen::Request {
                websocket: false,
                method,
                query,
            } if o.t_ms > upgraded_at && !o.seen.is_handshake() => {
                Some(format!("{method} ?{query}"))
            }
            _ => None,
        })
        .await;
    match polled {
        Ok(request) => Err(Stop::Fail(format!(
            "the client sent UPGRADE (`5`) without pausing polling: {request} came after it"
        ))),
        Err(_) => Ok(Observed::ok(format!(
            "`2probe`, then `5`, and no polling request within {AFTER_UPGRADE_MS} ms after it"
        ))),
    }
}

async fn refused(mut cx: Ctx) -> Outcome {
    // The heartbeats show the session alive; a client that answers none
    // still shows none, and one that answers late on a loaded machine is
    // not judged on it.
    let mut setup = check::relaxed();
    setup.plan.refuse_websocket = true;
    check::connected(&mut cx, setup, &POLLING_THEN_WEBSOCKET).await?;
    let refused_at = cx
        .saw("a WebSocket request", CONNECT_WAIT_MS, |o| {
            matches!(
                o.seen,
                Seen::Request {
                    websocket: true,
                    ..
                }
            )
            .then_some(o.t_ms)
        })
        .await?;
    // Heartbeats after the refusal: by then the client has read the 400 and
    // decided what to do with its session. The scripted server has one
    // session at a time in view, so a new handshake after the refusal is
    // the client giving that session up, whatever comes after it.
    let mut answered = 0;
    let wait = (PINGS as u64 + 1) * cx.conf().heartbeat();
    let ended = cx
        .saw(
            &format!("{PINGS} answered pings after the refusal"),
            wait,
            |o| match &o.seen {
                Seen::Heartbeat if o.t_ms > refused_at => {
                    answered += 1;
                    (answered >= PINGS).then_some(None)
                }
                Seen::Closed(reason) => Some(Some(format!("the session ended ({reason})"))),
                _ => new_handshake(o, refused_at).map(Some),
            },
        )
        .await?;
    if let Some(what) = ended {
        return Err(Stop::Fail(format!(
            "the WebSocket was refused and {what} instead of the session going on over polling"
        )));
    }
    let probe = vec![Value::String("still polling".into())];
    let got = check::echo(&cx, probe.clone()).await?;
    if let Some(what) = cx.seen().iter().find_map(|o| new_handshake(o, refused_at)) {
        return Err(Stop::Fail(format!(
            "the WebSocket was refused and {what} instead of the session going on over polling"
        )));
    }
    if got == probe {
        Ok(Observed::ok(
            "the WebSocket was refused (400); the session went on over polling and echoed",
        ))
    } else {
        Err(Stop::Fail(format!(
            "after the refused WebSocket the echo carried {:?}",
            check::to_json(&Value::Array(got))
        )))
    }
}

/// A handshake request (no `sid`) after `after` ms, said as a reason.
fn new_handshake(o: &crate::server::script::Observation, after: f64) -> Option<String> {
    match &o.seen {
        Seen::Request { method, query, .. } if o.t_ms > after && o.seen.is_handshake() => Some(
            format!("the client opened a new session ({method} ?{query})"),
        ),
        _ => None,
    }
}

/// Whether the client sent UPGRADE (`5`) on a WebSocket.
fn is_upgrade(o: &Seen) -> bool {
    matches!(packet(o), Some((PacketType::Upgrade, _)))
}

async fn lossless(mut cx: Ctx) -> Outcome {
    let mut setup = check::relaxed();
    setup.plan.hold_upgrade = true;
    cx.serve(setup).await?;
    cx.start(&POLLING_THEN_WEBSOCKET)?;
    // The stream needs the application connected while the probe is held.
    // A client that probes before it connects (the spec's order, polling
    // paused, then the probe) has nothing of its own in flight across the
    // upgrade: the probe itself is `probe`'s and `probe-unanswered`'s rule.
    let connected = cx.event("connect", "/", CONNECT_WAIT_MS).await;
    let sessions = cx.seen().iter().filter(|o| o.seen.is_handshake()).count();
    let probed = cx
        .seen()
        .iter()
        .any(|o| matches!(packet(&o.seen), Some((PacketType::Ping, d)) if d == "probe"));
    if probed && (connected.is_err() || sessions > 1) {
        return Err(Stop::Skipped(format!(
            "the client probed before its application connected, and with the probe held it \
             {}: no event of the session can flow across its upgrade",
            if sessions > 1 {
                format!("opened {sessions} Engine.IO sessions")
            } else {
                "did not connect".to_owned()
            }
        )));
    }
    connected?;
    cx.saw("`2probe` on the WebSocket", CONNECT_WAIT_MS, |o| {
        matches!(packet(&o.seen), Some((PacketType::Ping, d)) if d == "probe").then_some(())
    })
    .await?;
    let mut sent = 0;
    let gap = cx.ms(STREAM_GAP_MS);
    let emit = |k: usize| {
        cx.control(Control::Emit {
            namespace: "/".into(),
            data: Value::Array(vec![Value::String("echo".into()), json!(k).into()]),
        })
    };
    // Over polling, then the probe answered: the client pauses polling and
    // sends UPGRADE, which the server holds while the stream goes on (the
    // session is still on polling for it), then takes.
    for _ in 0..BEFORE_PROBE {
        sent += 1;
        emit(sent)?;
        tokio::time::sleep(gap).await;
    }
    cx.control(Control::Release)?;
    let released = sent;
    while !cx.seen().iter().any(|o| is_upgrade(&o.seen)) {
        if sent >= MAX_EVENTS {
            return Err(Stop::Fail(format!(
                "the probe was answered (`3probe`) after event {released}, and no UPGRADE (`5`) \
                 came by event {sent}"
            )));
        }
        sent += 1;
        emit(sent)?;
        tokio::time::sleep(gap).await;
    }
    let upgraded = sent;
    for _ in 0..WHILE_HELD {
        sent += 1;
        emit(sent)?;
        tokio::time::sleep(gap).await;
    }
    cx.control(Control::Unhold)?;
    for _ in 0..AFTER_UPGRADE {
        sent += 1;
        emit(sent)?;
        tokio::time::sleep(gap).await;
    }
    let mut backs = 0;
    let _ = cx
        .saw(&format!("{sent} `echo-back`s"), REPLY_WAIT_MS, |o| {
            backs += usize::from(check::event_args(o, "/", "echo-back").is_some());
            (backs >= sent || matches!(o.seen, Seen::Closed(_))).then_some(())
        })
        .await;
    let want: Vec<serde_json::Value> = (1..=sent).map(|k| json!([k])).collect();
    let down: Vec<serde_json::Value> = cx
        .lines()
        .into_iter()
        .filter(|l| l["event"] == "event" && l["name"] == "echo")
        .map(|l| l["args"].clone())
        .collect();
    let up: Vec<serde_json::Value> = cx
        .seen()
        .iter()
        .filter_map(|o| check::event_args(o, "/", "echo-back"))
        .map(|args| check::to_json(&Value::Array(args)))
        .collect();
    let phases = format!(
        "events 1-{released} over polling, {}-{upgraded} after `3probe` until the client's \
         UPGRADE, {}-{} while the server held it, the rest after",
        released + 1,
        upgraded + 1,
        upgraded + WHILE_HELD
    );
    if down != want {
        return Err(Stop::Fail(format!(
            "of the events 1 to {sent} ({phases}) the client reported {}",
            differences(&want, &down)
        )));
    }
    if up != want {
        return Err(Stop::Fail(format!(
            "of the echo-backs 1 to {sent} ({phases}) the server got {}",
            differences(&want, &up)
        )));
    }
    Ok(Observed::ok(format!(
        "the {sent} events and their {sent} echo-backs each arrived once, in order ({phases})"
    )))
}

/// What is missing from or doubled in `got`, against `want`, in a line.
fn differences(want: &[serde_json::Value], got: &[serde_json::Value]) -> String {
    let count = |v: &serde_json::Value| got.iter().filter(|g| *g == v).count();
    let missing: Vec<String> = want
        .iter()
        .filter(|w| count(w) == 0)
        .map(|w| w.to_string())
        .collect();
    let doubled: Vec<String> = want
        .iter()
        .filter(|w| count(w) > 1)
        .map(|w| w.to_string())
        .collect();
    format!(
        "{} (missing: {}; more than once: {})",
        got.len(),
        if missing.is_empty() {
            "none".into()
        } else {
            missing.join(" ")
        },
        if doubled.is_empty() {
            "none".into()
        } else {
            doubled.join(" ")
        },
    )
}

/// The session lives on over polling and the client never sends UPGRADE:
/// none within [`PROBE_WATCH_MS`] of the probe, nor the session's end, then
/// an echo over polling.
async fn stays_on_polling(cx: &Ctx, why: &str) -> Outcome {
    let probed_at = cx
        .saw("`2probe` on the WebSocket", CONNECT_WAIT_MS, |o| {
            matches!(packet(&o.seen), Some((PacketType::Ping, d)) if d == "probe").then_some(o.t_ms)
        })
        .await?;
    let ended = cx
        .saw("", PROBE_WATCH_MS, |o| match &o.seen {
            _ if is_upgrade(&o.seen) => Some(format!(
                "the client sent UPGRADE (`5`) {:.0} ms after the probe",
                o.t_ms - probed_at
            )),
            Seen::Closed(reason) => Some(format!("the session ended: {reason}")),
            _ => None,
        })
        .await;
    if let Ok(what) = ended {
        return Err(Stop::Fail(format!("{why}, and {what}")));
    }
    let probe = vec![Value::String("still polling".into())];
    let got = check::echo(cx, probe.clone()).await?;
    if let Some(o) = cx.seen().iter().find(|o| is_upgrade(&o.seen)) {
        return Err(Stop::Fail(format!(
            "{why}, and the client sent UPGRADE (`5`) {:.0} ms after the probe",
            o.t_ms - probed_at
        )));
    }
    if got != probe {
        return Err(Stop::Fail(format!(
            "{why}; the echo over polling carried {}",
            check::to_json(&Value::Array(got))
        )));
    }
    Ok(Observed::ok(format!(
        "{why}: no UPGRADE within {PROBE_WATCH_MS} ms, and an echo over polling after that"
    )))
}

async fn probe_unanswered(mut cx: Ctx) -> Outcome {
    let mut setup = check::relaxed();
    setup.plan.hold_upgrade = true;
    setup.options.engine.upgrade_timeout = LONG_UPGRADE_TIMEOUT;
    check::connected(&mut cx, setup, &POLLING_THEN_WEBSOCKET).await?;
    stays_on_polling(&cx, "`2probe` went unanswered").await
}

async fn probe_mismatch(mut cx: Ctx) -> Outcome {
    let mut setup = check::relaxed();
    // The pong of the probe, with other text.
    setup.plan.rewrite = Some(Arc::new(|text: &str| {
        let packet = engine::v4::decode_text(text, Profile::Compat).ok()?;
        (packet.kind == PacketType::Pong && packet.is_probe())
            .then(|| check::payload_text(&[Packet::text(PacketType::Pong, "siospec")]))
    }));
    check::connected(&mut cx, setup, &POLLING_THEN_WEBSOCKET).await?;
    stays_on_polling(&cx, "`2probe` was answered `3siospec`").await
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "probe", "`2probe`, then UPGRADE, with polling paused")
            .req("To upgrade to WebSocket, the client MUST: pause the HTTP long-polling transport (no more HTTP request gets sent), to ensure that no packet gets lost; open a WebSocket connection with the same session ID; send a `ping` packet with the string `probe` in the payload [...] Finally, the client MUST send a `upgrade` packet to complete the upgrade")
            .ok("`2probe`, `5` with no polling request in flight, and none after it")
            .run_client(probe),
        Case::new(S, "refused", "A refused WebSocket leaves the session on polling")
            .req("By default, the client SHOULD create an HTTP long-polling connection, and then upgrade to better transports if available.")
            .should()
            .ok("the session lives on over polling")
            .waits(|c| (PINGS as u64 + 1) * c.heartbeat())
            .run_client(refused),
        Case::new(S, "lossless", "No packet lost or doubled across the upgrade, both ways")
            .req("To upgrade to WebSocket, the client MUST: pause the HTTP long-polling transport (no more HTTP request gets sent), to ensure that no packet gets lost")
            .ok("every event and every echo-back arrives once, in order, while events flow through the upgrade")
            .run_client(lossless),
        Case::new(S, "probe-unanswered", "An unanswered probe leaves the session on polling")
            .req("To upgrade to WebSocket, the client MUST: [...] send a `ping` packet with the string `probe` in the payload. The server MUST: [...] respond with a `pong` packet with the string `probe` in the payload. Finally, the client MUST send a `upgrade` packet to complete the upgrade: the UPGRADE follows the server's `3probe`, and without it the session stays on polling.")
            .ok("no UPGRADE; the session lives on over polling")
            .waits(|_| PROBE_WATCH_MS)
            .run_client(probe_unanswered),
        Case::new(S, "probe-mismatch", "A probe answered with anything but `3probe` leaves the session on polling")
            .req("The server MUST: [...] respond with a `pong` packet with the string `probe` in the payload. Finally, the client MUST send a `upgrade` packet to complete the upgrade: the UPGRADE follows `3probe`, and a probe answered otherwise leaves the session on polling.")
            .ok("no UPGRADE; the session lives on over polling")
            .waits(|_| PROBE_WATCH_MS)
            .run_client(probe_mismatch),
    ]
}
