//! Client — Engine.IO v4 HTTP long-polling: payloads of several packets,
//! `b` base64 binary.

use serde_json::json;
use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::Control;
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.eio4.polling",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 HTTP long-polling",
    spec: "engine.io-protocol v4, \"Transports\", \"Packet encoding\"",
};

/// A client on polling only, without reconnection: every packet of the
/// session travels in polling payloads.
const POLLING_ONLY: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "polling"),
    ("SIOSPEC_RECONNECTION", "false"),
];

/// The `event` lines named `name` the client reported, their arguments.
fn reported(cx: &Ctx, name: &str) -> Vec<serde_json::Value> {
    cx.lines()
        .into_iter()
        .filter(|l| l["event"] == "event" && l["name"] == name)
        .map(|l| l["args"].clone())
        .collect()
}

async fn batched(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &POLLING_ONLY).await?;
    // Three emits in one go: at most the first meets a pending GET, the
    // others wait in the machine's buffer and leave in one payload.
    let events: Vec<Value> = (1..=3)
        .map(|i| Value::Array(vec![Value::String("batched".into()), json!(i).into()]))
        .collect();
    cx.control(Control::Emits {
        namespace: "/".into(),
        events,
    })?;
    let mut count = 0;
    let _ = cx
        .line("three `batched` events", REPLY_WAIT_MS, |l| {
            count += usize::from(l["event"] == "event" && l["name"] == "batched");
            (count == 3).then_some(())
        })
        .await;
    let got = reported(&cx, "batched");
    let want = vec![json!([1]), json!([2]), json!([3])];
    if got == want {
        Ok(Observed::ok(
            "the events sent in one payload were all reported, in order",
        ))
    } else {
        Err(Stop::Fail(format!(
            "of the events [1], [2], [3] (the last two at least in one polling payload) the \
             client reported {got:?}"
        )))
    }
}

async fn binary(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &POLLING_ONLY).await?;
    let sent = Value::Binary(vec![1, 2, 3, 4, 0xff]);
    cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(vec![Value::String("bytes".into()), sent.clone()]),
    })?;
    let got = cx
        .line("the `bytes` event", REPLY_WAIT_MS, |l| {
            (l["event"] == "event" && l["name"] == "bytes").then(|| l["args"].clone())
        })
        .await?;
    let want = json!([check::to_json(&sent)]);
    if got == want {
        Ok(Observed::ok(format!(
            "the attachment sent as `b` base64 in a polling payload came out as {got}"
        )))
    } else {
        Err(Stop::Fail(format!(
            "the attachment sent as `b` base64 in a polling payload came out as {got}, not {want}"
        )))
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "batched", "Every packet of a payload is handled, in order")
            .req("Due to the nature of the HTTP long-polling transport, multiple packets might be concatenated in a single payload in order to increase throughput. [...] The packets are separated by the record separator character: `\\x1e`")
            .ok("all three events reported, in order")
            .run_client(batched),
        Case::new(S, "binary", "A `b` base64 packet in a payload is binary")
            .req("Binary payloads MUST be base64-encoded and prefixed with a `b` character")
            .ok("the attachment's bytes reported as sent")
            .run_client(binary),
    ]
}
