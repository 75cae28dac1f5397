//! Engine.IO v4 over TLS: what only an `https://` target can show. Against
//! a plain `http://` target every case here is SKIPPED.

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Section, Stop};
use crate::suite::Suite;
use crate::tls::{CertificateVerdict, Handshake};
use crate::wire::eio;
use crate::wire::ws::Refused;

const S: Section = Section {
    id: "eio4.tls",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — over TLS",
    spec: "engine.io-protocol v4, \"Upgrade\"; RFC 9110 §4.3.4 (https certificate verification)",
};

const REQ_UPGRADE: &str = "The client opens a WebSocket with the sid, sends a `2probe` PING and expects `3probe`; … the client sends `5` UPGRADE and from then on uses only the WebSocket. Over https, that WebSocket is wss on the same host and port.";
const REQ_NAME: &str = "A client MUST verify that the service's identity matches the target URI's host: the server's certificate must be valid for the host name (or IP address) of the https URL (RFC 9110 §4.3.4, RFC 6125).";
const REQ_EXPIRY: &str = "A client MUST treat a certificate outside its validity period as invalid (RFC 5280 §6.1.3, RFC 9110 §4.3.4): the server's certificate must be valid now.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            S,
            "upgrade",
            "Polling upgrades to wss on the same host and port",
        )
        .req(REQ_UPGRADE)
        .ok("the session's WebSocket opens over wss (101) at the https URL's host and port")
        .run(|cx| async move {
            over_tls(&cx)?;
            let session = eio::open_polling(&cx).await?;
            if !session.handshake.upgrades.iter().any(|u| u == "websocket") {
                return Err(Stop::Unsupported(
                    "the handshake offers no upgrade to websocket".to_owned(),
                ));
            }
            // What the upgrade does once the WebSocket is open (the probe,
            // the NOOP, `5`) is the eio4.upgrade cases' rule; this one's is
            // that the WebSocket opens over TLS where the session is.
            match cx.ws(&session.ws_query(&cx)).await {
                Ok(_) => Ok(Observed::ok(format!(
                    "101 for the session's WebSocket at {}",
                    cx.origin.ws_url(&cx.path)
                ))),
                Err(r @ Refused::Connect(_)) => Err(r.into()),
                Err(r) => Ok(Observed::not(format!(
                    "the handshake offers websocket, but the session's wss WebSocket was refused: {r}"
                ))),
            }
        }),
        Case::new(
            S,
            "certificate-name",
            "The certificate is valid for the URL's host",
        )
        .req(REQ_NAME)
        .ok("verification accepts the certificate for the URL's host")
        .run(|cx| async move {
            let handshake = inspect(&cx).await?;
            match handshake.verified {
                Ok(()) => Ok(Observed::ok(format!("verified for {}", cx.origin.host()))),
                Err(CertificateVerdict::WrongName(e)) => Ok(Observed::not(e)),
                // webpki checks the name after the chain and the dates.
                Err(other) => Err(Stop::Skipped(unchecked("name", &other))),
            }
        }),
        Case::new(S, "certificate-expiry", "The certificate is valid now")
            .req(REQ_EXPIRY)
            .ok("verification finds the certificate within its validity period")
            .run(|cx| async move {
                let handshake = inspect(&cx).await?;
                match handshake.verified {
                    // A wrong name is found after the dates passed.
                    Ok(()) | Err(CertificateVerdict::WrongName(_)) => {
                        Ok(Observed::ok("within its validity period"))
                    }
                    Err(CertificateVerdict::Expired(e)) => Ok(Observed::not(e)),
                    Err(other) => Err(Stop::Skipped(unchecked("validity period", &other))),
                }
            }),
    ]
}

/// SKIPPED unless the target is `https://`.
fn over_tls(cx: &Ctx) -> Result<(), Stop> {
    if cx.origin.is_tls() {
        return Ok(());
    }
    let why = "the target is plain http://: the eio4.tls cases run against an https:// URL";
    cx.note(format!("{}: {why}", cx.origin.url()));
    Err(Stop::Skipped(why.to_owned()))
}

/// One handshake of its own, its negotiation in the trace.
async fn inspect(cx: &Ctx) -> Result<Handshake, Stop> {
    over_tls(cx)?;
    let handshake = match cx.origin.inspect().await {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(Stop::Harness(e.to_string())),
        None => return Err(Stop::Harness("no TLS to inspect".to_owned())),
    };
    cx.note(format!(
        "TLS handshake: {}; verification: {}",
        handshake.negotiated(),
        match &handshake.verified {
            Ok(()) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        }
    ));
    Ok(handshake)
}

fn unchecked(what: &str, verdict: &CertificateVerdict) -> String {
    format!(
        "the certificate's {what} could not be checked: verification stopped earlier ({verdict}); {}",
        verdict.advice()
    )
}
