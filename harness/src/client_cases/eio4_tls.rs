//! Client — Engine.IO v4 over TLS (`test client --tls`): the upgrade to
//! wss, and certificates the client must refuse, with the refusal reaching
//! the application instead of a hang. Without `--tls` every case here is
//! SKIPPED.

use siospec_codec::engine::{self, PacketType};
use siospec_codec::session::Frame;
use siospec_codec::Profile;

use crate::case::client::{Certificate, Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::Seen;
use crate::suite::Suite;
use crate::verify::client::CONNECT_WAIT_MS;

const S: Section = Section {
    id: "client.eio4.tls",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 over TLS",
    spec: "engine.io-protocol v4, \"Upgrade\"; RFC 9110 §4.3.4 (https certificate verification)",
};

/// Polling first, so that the upgrade to wss can be seen; no reconnection,
/// so that a refused connection ends in one `connect_error`.
const POLLING_THEN_WEBSOCKET: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "polling,websocket"),
    ("SIOSPEC_RECONNECTION", "false"),
];

const REQ_UPGRADE: &str = "The client opens a WebSocket with the sid, sends a `2probe` PING and expects `3probe`; … the client sends `5` UPGRADE and from then on uses only the WebSocket. Over https, that WebSocket is wss on the same host and port.";
const REQ_REFUSE: &str = "A client MUST verify that the service's identity matches the target URI's host and MUST treat a certificate outside its validity period as invalid (RFC 9110 §4.3.4, RFC 5280 §6.1.3); a connection that fails is reported to the application (`connect_error`), not left hanging.";

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(
            S,
            "upgrade",
            "From https polling, the client upgrades to wss",
        )
        .req(REQ_UPGRADE)
        .ok("`2probe` and `5` UPGRADE on a wss WebSocket of the session")
        .run_client(upgrade),
        Case::new(
            S,
            "wrong-name",
            "A certificate for another name is refused and reported",
        )
        .req(REQ_REFUSE)
        .ok("no request reaches the server; the application gets `connect_error`")
        .run_client(|cx| refused(cx, Certificate::WrongName)),
        Case::new(
            S,
            "expired",
            "An expired certificate is refused and reported",
        )
        .req(REQ_REFUSE)
        .ok("no request reaches the server; the application gets `connect_error`")
        .run_client(|cx| refused(cx, Certificate::Expired)),
    ]
}

/// SKIPPED unless the client is tested over TLS.
fn over_tls(cx: &Ctx) -> Result<(), Stop> {
    if cx.over_tls() {
        return Ok(());
    }
    let why =
        "the client is tested over http: the client.eio4.tls cases run with `test client --tls`";
    cx.trace.note(why);
    Err(Stop::Skipped(why.to_owned()))
}

async fn upgrade(mut cx: Ctx) -> Outcome {
    over_tls(&cx)?;
    cx.serve(Setup::default()).await?;
    cx.start(&POLLING_THEN_WEBSOCKET)?;
    let mut probed = false;
    cx.saw(
        "an UPGRADE (`5`) on a wss WebSocket",
        CONNECT_WAIT_MS,
        |o| {
            let Seen::Frame(Frame::Text(text)) = &o.seen else {
                return None;
            };
            match engine::v4::decode_text(text, Profile::Compat).map(|p| p.kind) {
                Ok(PacketType::Ping) if text == "2probe" => probed = true,
                Ok(PacketType::Upgrade) => return Some(()),
                _ => {}
            }
            None
        },
    )
    .await?;
    let polled = cx.seen().iter().any(|o| {
        matches!(
            o.seen,
            Seen::Request {
                websocket: false,
                ..
            }
        )
    });
    Ok(Observed::ok(format!(
        "{}`5` over wss{}",
        if probed { "`2probe`, then " } else { "" },
        if polled { ", after https polling" } else { "" }
    )))
}

async fn refused(mut cx: Ctx, certificate: Certificate) -> Outcome {
    over_tls(&cx)?;
    cx.serve(Setup {
        certificate,
        ..Setup::default()
    })
    .await?;
    cx.start(&POLLING_THEN_WEBSOCKET)?;
    let what = certificate.to_string();
    let reported = cx.event("connect_error", "/", CONNECT_WAIT_MS).await;
    let requests: Vec<String> = cx
        .seen()
        .iter()
        .filter_map(|o| match &o.seen {
            Seen::Request { method, query, .. } => Some(format!("{method} ?{query}")),
            _ => None,
        })
        .collect();
    if let Some(first) = requests.first() {
        return Err(Stop::Fail(format!(
            "the client accepted {what}: the server got {first} over it"
        )));
    }
    match reported {
        Ok(line) => Ok(Observed::ok(format!(
            "{what} refused; the application saw {line}"
        ))),
        Err(_) => Err(Stop::Fail(format!(
            "the client sent nothing over {what} but reported no `connect_error` within {} ms",
            cx.ms(CONNECT_WAIT_MS).as_millis()
        ))),
    }
}
