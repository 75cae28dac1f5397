//! Client — Engine.IO v4 handshake: the first request, the open packet, the
//! upgrades it offers, the maxPayload it advertises.

use serde_json::json;
use siospec_codec::engine::{self, Data, Packet, PacketType};
use siospec_codec::session::Query;
use siospec_codec::Profile;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Plan, Seen};
use crate::suite::Suite;
use crate::verify::client::{
    self as check, CONNECT_WAIT_MS, POLLING_ONLY, REPLY_WAIT_MS, WEBSOCKET_ONLY,
};

const S: Section = Section {
    id: "client.eio4.handshake",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 handshake",
    spec: "engine.io-protocol v4, \"Handshake\", \"Upgrade\"",
};

/// How long after connecting a client that would try an upgrade has done it
/// (engine.io-client probes as soon as the handshake is read).
const UPGRADE_WINDOW_MS: u64 = 1000;

/// The maxPayload the open packet advertises in `max-payload` (the
/// machine itself takes the default 1,000,000, so that a longer POST is
/// seen whole).
const ADVERTISED_MAX: usize = 1000;

/// How many events the client emits in one go in `max-payload`, each a
/// packet of about [`FILLER`] bytes: together several times maxPayload.
const BURST: usize = 12;

/// The length of each event's string argument in `max-payload`.
const FILLER: usize = 200;

async fn query(mut cx: Ctx) -> Outcome {
    cx.serve(Setup::default()).await?;
    cx.start(&[("SIOSPEC_RECONNECTION", "false")])?;
    let query = cx
        .saw("a request", CONNECT_WAIT_MS, |o| match &o.seen {
            Seen::Request { query, .. } => Some(query.clone()),
            _ => None,
        })
        .await?;
    let q = Query::parse(&query);
    let eio = q.get("EIO");
    let transport = q.get("transport");
    if eio == Some("4") && matches!(transport, Some("polling" | "websocket")) {
        Ok(Observed::ok(format!("first request: ?{query}")))
    } else {
        Err(Stop::Fail(format!(
            "first request ?{query}: EIO {eio:?}, transport {transport:?}"
        )))
    }
}

/// Adds a field no revision defines to the open packet.
fn with_unknown_field(text: &str) -> Option<String> {
    let packet = engine::v4::decode_text(text, Profile::Compat).ok()?;
    let (PacketType::Open, Data::Text(json)) = (packet.kind, &packet.data) else {
        return None;
    };
    let mut open: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    open.insert(
        "siospecUnknown".into(),
        serde_json::json!({ "added": "by siospec", "n": [1, 2] }),
    );
    let json = serde_json::Value::Object(open).to_string();
    let mut out = Vec::new();
    engine::v4::encode(&Packet::text(PacketType::Open, json), false, &mut out);
    String::from_utf8(out).ok()
}

async fn unknown_fields(mut cx: Ctx) -> Outcome {
    let setup = Setup {
        plan: Plan {
            rewrite: Some(std::sync::Arc::new(with_unknown_field)),
            ..Plan::default()
        },
        ..Setup::default()
    };
    check::connected(&mut cx, setup, &WEBSOCKET_ONLY).await?;
    Ok(Observed::ok(
        "connected although the open packet had the unknown field `siospecUnknown`",
    ))
}

async fn no_upgrade_offered(mut cx: Ctx) -> Outcome {
    let mut setup = Setup::default();
    setup.options.engine.allow_upgrades = false;
    check::connected(
        &mut cx,
        setup,
        &[
            ("SIOSPEC_TRANSPORTS", "polling,websocket"),
            ("SIOSPEC_RECONNECTION", "false"),
        ],
    )
    .await?;
    let tried = cx
        .saw("", UPGRADE_WINDOW_MS, |o| match &o.seen {
            Seen::Request {
                websocket: true,
                query,
                ..
            } => Some(query.clone()),
            _ => None,
        })
        .await;
    match tried {
        Ok(query) => Err(Stop::Fail(format!(
            "the handshake offered no upgrade (\"upgrades\":[]), yet the client opened a \
             WebSocket: ?{query}"
        ))),
        Err(_) => Ok(Observed::ok(format!(
            "no WebSocket request within {UPGRADE_WINDOW_MS} ms of connecting over polling"
        ))),
    }
}

async fn max_payload(mut cx: Ctx) -> Outcome {
    let mut setup = check::relaxed();
    setup.plan.rewrite_polling = Some(check::advertising(json!({ "maxPayload": ADVERTISED_MAX })));
    check::connected(&mut cx, setup, &POLLING_ONLY).await?;
    let filler = "x".repeat(FILLER);
    let events = (1..=BURST)
        .map(|i| check::instruction(json!({ "op": "emit", "name": "burst", "args": [i, filler] })))
        .collect();
    cx.control(Control::Emits {
        namespace: "/".into(),
        events,
    })?;
    let mut got = Vec::new();
    let _ = cx
        .saw(&format!("{BURST} `burst` events"), REPLY_WAIT_MS, |o| {
            if let Some(args) = check::event_args(o, "/", "burst") {
                got.push(args.first().map(check::to_json));
            }
            (got.len() == BURST || matches!(o.seen, Seen::Closed(_))).then_some(())
        })
        .await;
    let posts: Vec<(usize, usize)> = cx
        .seen()
        .into_iter()
        .filter_map(|o| match o.seen {
            Seen::Posted(body) => Some((body.len(), check::posted_packets(&body).len())),
            _ => None,
        })
        .collect();
    let over: Vec<usize> = posts
        .iter()
        .map(|&(len, _)| len)
        .filter(|&len| len > ADVERTISED_MAX)
        .collect();
    if !over.is_empty() {
        return Err(Stop::Fail(format!(
            "the open packet advertised maxPayload {ADVERTISED_MAX}, and the client POSTed \
             bodies of {over:?} bytes"
        )));
    }
    let want: Vec<Option<serde_json::Value>> = (1..=BURST).map(|i| Some(json!(i))).collect();
    if got != want {
        return Err(Stop::Fail(format!(
            "every POST within maxPayload, but of the events 1 to {BURST} the server got {got:?}"
        )));
    }
    let largest = posts.iter().map(|&(len, _)| len).max().unwrap_or(0);
    let batched = posts.iter().filter(|&&(_, packets)| packets > 1).count();
    Ok(Observed::ok(format!(
        "{} POSTs, the largest {largest} bytes (maxPayload {ADVERTISED_MAX}), {batched} of them \
         with several packets; the {BURST} events arrived in order",
        posts.len()
    )))
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "query", "The first request carries EIO=4 and a transport")
            .req("The client sends EIO=4 (the version of the protocol) and transport (the transport name) in the query of every request, the handshake included.")
            .ok("EIO=4 and transport=polling or websocket")
            .run_client(query),
        Case::new(S, "unknown-fields", "An open packet with an unknown field still opens the session")
            .req("The open packet carries sid, upgrades, pingInterval, pingTimeout and maxPayload as a JSON object; new fields may be added, and a client ignores those it does not know.")
            .ok("the client connects")
            .run_client(unknown_fields),
        Case::new(S, "no-upgrade-offered", "No WebSocket attempt when the handshake offers no upgrade")
            .req("upgrades: the list of transports the client may upgrade to; the client only probes a transport the server offers.")
            .ok("no WebSocket request")
            .run_client(no_upgrade_offered),
        Case::new(S, "max-payload", "No POST longer than the advertised maxPayload")
            .req("maxPayload | number | The maximum number of bytes per chunk, used by the client to aggregate packets into payloads. [...] The client SHOULD use the `maxPayload` value sent during the handshake to decide how many packets should be concatenated.")
            .should()
            .ok("every POST body within maxPayload; a burst of emits arrives whole, in order")
            .run_client(max_payload),
    ]
}
