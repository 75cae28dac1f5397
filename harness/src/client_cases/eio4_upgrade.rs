//! Client — Engine.IO v4 upgrade from polling to WebSocket: the probe, the
//! polling paused, a refused WebSocket.

use siospec_codec::engine::{self, Data, PacketType};
use siospec_codec::session::Frame;
use siospec_codec::socket::binary::Value;
use siospec_codec::Profile;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Plan, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS};

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
    let polled = cx
        .saw("", AFTER_UPGRADE_MS, |o| match &o.seen {
            Seen::Request {
                websocket: false,
                method,
                query,
            } if o.t_ms > upgraded_at && query.contains("sid=") => {
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
    let setup = Setup {
        plan: Plan {
            refuse_websocket: true,
            ..Plan::default()
        },
        ..Setup::default()
    };
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
        Seen::Request { method, query, .. } if o.t_ms > after && !query.contains("sid=") => Some(
            format!("the client opened a new session ({method} ?{query})"),
        ),
        _ => None,
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "probe", "`2probe`, then UPGRADE, with polling paused")
            .req("To upgrade to WebSocket, the client MUST: pause the HTTP long-polling transport (no more HTTP request gets sent), to ensure that no packet gets lost; open a WebSocket connection with the same session ID; send a `ping` packet with the string `probe` in the payload [...] Finally, the client MUST send a `upgrade` packet to complete the upgrade")
            .ok("`2probe`, `5`, and no polling request after it")
            .run_client(probe),
        Case::new(S, "refused", "A refused WebSocket leaves the session on polling")
            .req("By default, the client SHOULD create an HTTP long-polling connection, and then upgrade to better transports if available.")
            .should()
            .ok("the session lives on over polling")
            .waits(|c| (PINGS as u64 + 1) * c.heartbeat())
            .run_client(refused),
    ]
}
