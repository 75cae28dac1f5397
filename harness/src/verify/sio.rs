//! Checks on Socket.IO packets.

use serde_json::Value;
use siospec_codec::socket::PacketType;

use super::fail;
use crate::case::server::Ctx;
use crate::case::{Observed, Outcome, Stop};
use crate::wire::sio::{Sio, SioPacket};

/// The CONNECT reply must carry exactly `{"sid": <string>}`.
pub fn only_sid(p: &SioPacket) -> Result<String, Stop> {
    match &p.data {
        Some(Value::Object(m)) if m.len() == 1 => match m.get("sid") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => fail(format!(
                "CONNECT reply must carry a string sid: {}",
                p.describe()
            )),
        },
        _ => fail(format!(
            "CONNECT reply must be exactly {{\"sid\":...}}: {}",
            p.describe()
        )),
    }
}

/// The sid of a CONNECT reply, other keys tolerated as the official client
/// tolerates them (it reads `sid` and ignores the rest): for the cases whose
/// rule is not the reply's shape, which the `connect` cases judge.
pub fn reply_sid(p: &SioPacket) -> Result<String, Stop> {
    match p.data.as_ref().and_then(|d| d.get("sid")) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => fail(format!(
            "CONNECT reply must carry a string sid: {}",
            p.describe()
        )),
    }
}

/// Expect a packet of `kind` on `/` whose content (placeholders resolved) equals `want`.
pub async fn expect_content(
    cx: &Ctx,
    s: &mut Sio,
    kind: PacketType,
    id: Option<u64>,
    want: Value,
) -> Outcome {
    let p = s.expect(cx.ms(2000), "the answer").await?;
    if p.kind != kind || p.id != id || p.nsp != "/" || p.content() != want {
        return Ok(Observed::not(format!(
            "expected {kind:?} id {id:?} with {want}, got {} (content {})",
            p.describe(),
            p.content()
        )));
    }
    Ok(Observed::ok(p.describe()))
}
