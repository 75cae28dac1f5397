//! Checks on Socket.IO packets.

use serde_json::Value;
use siospec_codec::socket::{binary, PacketType};

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

/// After a packet that must end the connection: whether `s` closed within
/// a second (`Ok(how)`, or `Err(what it saw instead)`), once a new
/// connection has shown that the server still serves (a failure otherwise).
pub async fn closed_and_still_serving(
    cx: &Ctx,
    s: &mut Sio,
) -> Result<Result<String, String>, Stop> {
    let closed = s.expect_closed(cx.ms(1000)).await;
    Sio::connected(cx).await.map_err(|e| match e {
        Stop::Fail(m) => Stop::Fail(format!(
            "the server no longer accepts a new connection: {m}"
        )),
        h => h,
    })?;
    match closed {
        Ok(d) => Ok(Ok(d)),
        Err(Stop::Fail(m)) => Ok(Err(m)),
        Err(h) => Err(h),
    }
}

/// Where bytes sit in `v`: the path of each binary value (`data[1].k`);
/// an error names a placeholder object, which no msgpack packet holds.
pub fn bytes_at(v: &binary::Value, path: String, out: &mut Vec<String>) -> Result<(), String> {
    match v {
        binary::Value::Binary(_) => out.push(path),
        binary::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                bytes_at(x, format!("{path}[{i}]"), out)?;
            }
        }
        binary::Value::Object(entries) => {
            if entries.iter().any(|(k, _)| k == "_placeholder") {
                return Err(format!("a placeholder object at {path}"));
            }
            for (k, x) in entries {
                bytes_at(x, format!("{path}.{k}"), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
