//! Client — Engine.IO v4 HTTP long-polling: payloads of several packets,
//! `b` base64 binary both ways, one GET and one POST at a time, NOOP in a
//! payload, no polling after a close packet.

use serde_json::json;
use siospec_codec::engine::{Data, Packet, PacketType};
use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, POLLING_ONLY, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.eio4.polling",
    suite: Suite::Eio4,
    title: "Client — Engine.IO v4 HTTP long-polling",
    spec: "engine.io-protocol v4, \"Transports\", \"Packet encoding\"",
};

/// How many events `single-get` sends in one go (all but the first leave in
/// one payload). Payloads of many packets are `batched`'s rule; python-engineio
/// decodes at most 16 packets a payload, so these stay under it.
const MANY: usize = 16;

/// How many events `single-post` has the client emit in one go (its
/// instructions, too, arrive in one payload).
const BURST: usize = 15;

/// How long after a close packet a client that polls on has sent its next
/// GET (it polls again as soon as the response is read).
const AFTER_CLOSE_MS: u64 = 1000;

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

/// How many events `long-payload` sends in one go: all but the first leave
/// in one payload, longer than some clients' own cap on packets a payload
/// (python-engineio's is 16); the protocol sets none below maxPayload.
const LONG: usize = 40;

async fn long_payload(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    let events: Vec<Value> = (1..=LONG)
        .map(|i| Value::Array(vec![Value::String("long".into()), json!(i).into()]))
        .collect();
    cx.control(Control::Emits {
        namespace: "/".into(),
        events,
    })?;
    let got = reported_all(&cx, "long", LONG).await;
    let want: Vec<serde_json::Value> = (1..=LONG).map(|i| json!([i])).collect();
    if got == want {
        Ok(Observed::ok(format!(
            "the {LONG} events (a payload of {} packets, a few hundred bytes) were all \
             reported, in order",
            LONG - 1
        )))
    } else {
        Err(Stop::Fail(format!(
            "of the events 1 to {LONG} (all but the first in one polling payload, far below \
             maxPayload) the client reported {got:?}"
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

async fn binary_post(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    // One attachment: several are the binary sections' rule.
    let sent = vec![Value::Binary(vec![0, 1, 2, 0x1e, 0xfe, 0xff])];
    let got = check::echo(&cx, sent.clone()).await?;
    let b_packets = cx
        .seen()
        .iter()
        .filter_map(|o| match &o.seen {
            Seen::Posted(body) => Some(
                check::posted_packets(body)
                    .iter()
                    .filter(|p| matches!(p.data, Data::Binary(_)))
                    .count(),
            ),
            _ => None,
        })
        .sum::<usize>();
    if got == sent {
        Ok(Observed::ok(format!(
            "the echo-back's attachments arrived intact ({b_packets} `b` packets in the POST \
             bodies)"
        )))
    } else {
        Err(Stop::Fail(format!(
            "the echo-back POSTed carried {}, not {} ({b_packets} `b` packets in the POST bodies)",
            check::to_json(&Value::Array(got)),
            check::to_json(&Value::Array(sent))
        )))
    }
}

/// Waits until the client reported `count` `name` events, and returns
/// their arguments.
async fn reported_all(cx: &Ctx, name: &str, count: usize) -> Vec<serde_json::Value> {
    let mut seen = 0;
    let _ = cx
        .line(&format!("{count} `{name}` events"), REPLY_WAIT_MS, |l| {
            seen += usize::from(l["event"] == "event" && l["name"] == name);
            (seen == count).then_some(())
        })
        .await;
    reported(cx, name)
}

async fn single_get(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    let events: Vec<Value> = (1..=MANY)
        .map(|i| Value::Array(vec![Value::String("many".into()), json!(i).into()]))
        .collect();
    cx.control(Control::Emits {
        namespace: "/".into(),
        events,
    })?;
    let got = reported_all(&cx, "many", MANY).await;
    // A heartbeat more: the polls that carry its PING.
    tokio::time::sleep(cx.ms(cx.conf().heartbeat())).await;
    let (most, at) = check::most_in_flight(&cx.seen(), "GET");
    if most > 1 {
        return Err(Stop::Fail(format!(
            "{most} GET requests were in flight at once (at {at:.0} ms)"
        )));
    }
    let want: Vec<serde_json::Value> = (1..=MANY).map(|i| json!([i])).collect();
    if got != want {
        return Err(Stop::Fail(format!(
            "one GET at a time, but of the events 1 to {MANY} the client reported {got:?}"
        )));
    }
    Ok(Observed::ok(format!(
        "at most one GET in flight; the {MANY} events (a payload of {}) all reported",
        MANY - 1
    )))
}

async fn single_post(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    let events: Vec<Value> = (1..=BURST)
        .map(|i| check::instruction(json!({ "op": "emit", "name": "burst", "args": [i] })))
        .collect();
    cx.control(Control::Emits {
        namespace: "/".into(),
        events,
    })?;
    let mut got = Vec::new();
    let ended = cx
        .saw(&format!("{BURST} `burst` events"), REPLY_WAIT_MS, |o| {
            if let Some(args) = check::event_args(o, "/", "burst") {
                got.push(check::to_json(&Value::Array(args)));
            }
            match &o.seen {
                Seen::Closed(reason) => Some(Some(reason.clone())),
                _ => (got.len() == BURST).then_some(None),
            }
        })
        .await;
    let (most, at) = check::most_in_flight(&cx.seen(), "POST");
    if most > 1 {
        return Err(Stop::Fail(format!(
            "{most} POST requests were in flight at once (at {at:.0} ms)"
        )));
    }
    if let Some(reason) = ended? {
        return Err(Stop::Fail(format!(
            "the session ended ({reason}) after {} of the {BURST} events",
            got.len()
        )));
    }
    let want: Vec<serde_json::Value> = (1..=BURST).map(|i| json!([i])).collect();
    if got != want {
        return Err(Stop::Fail(format!(
            "one POST at a time, but the events 1 to {BURST} arrived as {got:?}"
        )));
    }
    Ok(Observed::ok(format!(
        "at most one POST in flight; the {BURST} events emitted in one go arrived in order"
    )))
}

async fn noop(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    let noop = check::payload_text(&[Packet::new(PacketType::Noop)]);
    cx.control(Control::InjectPolling(noop))?;
    cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(vec![Value::String("after-noop".into()), json!(1).into()]),
    })?;
    let query = cx
        .saw("the NOOP sent", REPLY_WAIT_MS, |o| match &o.seen {
            Seen::Injected(query) => Some(query.clone()),
            _ => None,
        })
        .await?;
    cx.line(
        "the `after-noop` event that followed the NOOP in its payload",
        REPLY_WAIT_MS,
        |l| (l["event"] == "event" && l["name"] == "after-noop").then_some(()),
    )
    .await?;
    let probe = vec![Value::String("after the noop".into())];
    let got = check::echo(&cx, probe.clone()).await?;
    if got != probe {
        return Err(Stop::Fail(format!(
            "after the NOOP the echo carried {}",
            check::to_json(&Value::Array(got))
        )));
    }
    Ok(Observed::ok(format!(
        "the payload `6\\x1e42[\"after-noop\",1]` (GET ?{query}) was handled: the event \
         reported, the session went on"
    )))
}

async fn close(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &POLLING_ONLY).await?;
    // A bare close packet, without the Socket.IO DISCONNECT the codec sends
    // before it; the server's session itself stays (the next PING carries
    // it, at the latest).
    let close = check::payload_text(&[Packet::new(PacketType::Close)]);
    cx.control(Control::InjectPolling(close))?;
    let (query, sent_at) = cx
        .saw(
            "the close packet sent",
            cx.conf().heartbeat(),
            |o| match &o.seen {
                Seen::Injected(query) => Some((query.clone(), o.t_ms)),
                _ => None,
            },
        )
        .await?;
    let polled = cx
        .saw("", AFTER_CLOSE_MS, |o| match &o.seen {
            Seen::Request {
                method,
                query,
                websocket: false,
            } if method == "GET" && o.t_ms > sent_at => Some(query.clone()),
            _ => None,
        })
        .await;
    match polled {
        Ok(next) => Err(Stop::Fail(format!(
            "the response to GET ?{query} carried a close packet (`1`), and the client polled \
             on: GET ?{next}"
        ))),
        Err(_) => Ok(Observed::ok(format!(
            "no GET within {AFTER_CLOSE_MS} ms of the close packet (`1`) in the response to GET \
             ?{query}"
        ))),
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "batched", "Every packet of a payload is handled, in order")
            .req("Due to the nature of the HTTP long-polling transport, multiple packets might be concatenated in a single payload in order to increase throughput. [...] The packets are separated by the record separator character: `\\x1e`")
            .ok("all three events reported, in order")
            .run_client(batched),
        Case::new(S, "long-payload", "A payload of many packets is handled whole")
            .req("Due to the nature of the HTTP long-polling transport, multiple packets might be concatenated in a single payload in order to increase throughput. [...] The packets are separated by the record separator character [no count is set: only maxPayload bounds a payload]")
            .ok("all forty events reported, in order")
            .run_client(long_payload),
        Case::new(S, "binary", "A `b` base64 packet in a payload is binary")
            .req("Binary payloads MUST be base64-encoded and prefixed with a `b` character")
            .ok("the attachment's bytes reported as sent")
            .run_client(binary),
        Case::new(S, "binary-post", "Binary the client POSTs is `b` base64")
            .req("Binary payloads MUST be base64-encoded and prefixed with a `b` character")
            .ok("the echo-back's attachments arrive intact over polling")
            .run_client(binary_post),
        Case::new(S, "single-get", "At most one GET in flight")
            .req("To ensure packet ordering, a client MUST NOT have more than one active `GET` request.")
            .ok("never two GETs in flight; every event of a long payload reported")
            .waits(|c| c.heartbeat())
            .run_client(single_get),
        Case::new(S, "single-post", "At most one POST in flight")
            .req("To ensure packet ordering, a client MUST NOT have more than one active `POST` request.")
            .ok("never two POSTs in flight; a burst of emits arrives in order")
            .run_client(single_post),
        Case::new(S, "noop", "A NOOP in a payload is skipped, the packets after it handled")
            .req("noop | 6 | Used during the upgrade process. [...] Due to the nature of the HTTP long-polling transport, multiple packets might be concatenated in a single payload")
            .ok("the event after the NOOP reported; the session goes on")
            .run_client(noop),
        Case::new(S, "close", "No polling after a close packet")
            .req("close | 1 | Used to indicate that a transport can be closed.")
            .should()
            .ok("no GET after the payload with `1`")
            .waits(|c| c.heartbeat() + AFTER_CLOSE_MS)
            .run_client(close),
    ]
}
