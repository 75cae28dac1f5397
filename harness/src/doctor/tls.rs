//! TLS for `https://` endpoints: the certificate verifies for the host,
//! and is not about to expire.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Outcome;
use crate::tls::Origin;
use crate::trace::Trace;

/// Fewer days than this before expiry is a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

pub(super) async fn check(origin: &Origin, trace: Arc<Trace>) -> Outcome {
    let Some(inspected) = origin.inspect().await else {
        return Outcome::skipped(
            "a plain http:// URL: pages served over https cannot connect to it (mixed content)",
        );
    };
    let handshake = match inspected {
        Ok(h) => h,
        Err(e) => {
            return Outcome::problem(
                format!("no TLS handshake: {e}"),
                "serve TLS on that port, or use http:// in the URL",
            )
        }
    };
    trace.note(format!("TLS {}", handshake.negotiated()));
    if let Err(verdict) = &handshake.verified {
        return Outcome::problem(
            format!("the certificate is refused: {verdict}"),
            verdict.advice(),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let Some(not_after) = handshake.not_after else {
        return Outcome::ok(format!(
            "{}; the certificate verifies (its expiry could not be read)",
            handshake.negotiated()
        ));
    };
    let days = (not_after - now) / 86_400;
    if days < EXPIRY_WARNING_DAYS {
        return Outcome::warning(
            format!("the certificate verifies but expires in {days} day(s)"),
            "renew the certificate (certbot renew, or your provider's renewal)",
        );
    }
    Outcome::ok(format!(
        "{}; the certificate verifies and expires in {days} days",
        handshake.negotiated()
    ))
}
