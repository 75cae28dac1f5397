//! Checks on the Engine.IO handshake.

use siospec_codec::engine::handshake::Handshake;

use super::fail;
use crate::case::{Ctx, Stop};

/// The handshake must carry the contract's values and `upgrades`.
pub fn handshake(
    cx: &Ctx,
    h: &Handshake,
    upgrades: &[&str],
    max_payload_optional: bool,
) -> Result<(), Stop> {
    if h.sid.is_empty() {
        return fail("handshake: sid is empty");
    }
    if h.upgrades != upgrades {
        return fail(format!(
            "handshake: expected upgrades {upgrades:?}, got {:?}",
            h.upgrades
        ));
    }
    if h.ping_interval != cx.conf.ping_interval || h.ping_timeout != cx.conf.ping_timeout {
        return fail(format!(
            "handshake: expected pingInterval {} and pingTimeout {}, got {} and {}",
            cx.conf.ping_interval, cx.conf.ping_timeout, h.ping_interval, h.ping_timeout
        ));
    }
    match h.max_payload {
        Some(m) if m == cx.conf.max_payload => Ok(()),
        None if max_payload_optional => Ok(()),
        other => fail(format!(
            "handshake: expected maxPayload {}, got {other:?}",
            cx.conf.max_payload
        )),
    }
}
