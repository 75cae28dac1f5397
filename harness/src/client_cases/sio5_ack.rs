//! Client — Socket.IO v5 acknowledgements: ack ids, answers used once, an
//! answer to nothing, and the binary packet types of acks.

use serde_json::json;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::PacketType;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.sio5.ack",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 acknowledgements",
    spec: "socket.io-protocol v5, \"Acknowledgement\", \"Packet encoding\"",
};

/// The ack ids the client gave its events named `name`, in order.
fn ids_of(cx: &Ctx, name: &str) -> Vec<Option<u64>> {
    cx.seen()
        .iter()
        .filter_map(|o| check::header(cx.parser, o))
        .filter(|h| h.name.as_deref() == Some(name))
        .map(|h| h.id)
        .collect()
}

async fn unique_ids(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let asks = ["q1", "q2", "q3"];
    for (i, id) in asks.iter().enumerate() {
        check::emit(
            &cx,
            "question",
            &[Value::String((*id).into()), Value::from(json!(i))],
            Some(id),
        )?;
    }
    // The three events first, then their ids.
    let mut seen = 0;
    cx.saw("the client's three `question` events", REPLY_WAIT_MS, |o| {
        if check::header(cx.parser, o).is_some_and(|h| h.name.as_deref() == Some("question")) {
            seen += 1;
        }
        (seen >= asks.len()).then_some(())
    })
    .await?;
    let ids = ids_of(&cx, "question");
    let mut distinct: Vec<u64> = ids.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != asks.len() {
        return Err(Stop::Fail(format!(
            "three emits with an ack in a row went out with the ids {ids:?}"
        )));
    }
    // The scripted server answers each with the event's own arguments, so
    // each ack carries the arguments of the emit it resolves.
    for (i, id) in asks.iter().enumerate() {
        let line = cx
            .line(&format!("the ack `{id}`"), REPLY_WAIT_MS, |v| {
                (v["event"] == "ack" && v["id"] == *id).then(|| v.clone())
            })
            .await?;
        if line["args"] != json!([id, i]) {
            return Err(Stop::Fail(format!(
                "with the ids {ids:?}, the ack `{id}` resolved with {}",
                line["args"]
            )));
        }
    }
    Ok(Observed::ok(format!(
        "ids {ids:?}, each ack resolving its own emit"
    )))
}

/// After something was sent to the client, the `echo` probe: the line of
/// the application's `echo` event (which comes after anything the client
/// made of what was sent before it), or its `disconnect` line.
async fn probe(cx: &Ctx, tag: &str) -> Result<serde_json::Value, Stop> {
    cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(vec![
            Value::String("echo".into()),
            Value::String(tag.into()),
        ]),
    })?;
    cx.line(
        "the `echo` sent after it, or a disconnect",
        REPLY_WAIT_MS,
        |v| {
            let echo = v["event"] == "event" && v["name"] == "echo" && v["args"] == json!([tag]);
            (echo || v["event"] == "disconnect").then(|| v.clone())
        },
    )
    .await
}

async fn once(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    check::emit(&cx, "question", &[Value::String("once".into())], Some("q1"))?;
    cx.line("the ack `q1`", REPLY_WAIT_MS, |v| {
        (v["event"] == "ack" && v["id"] == "q1").then_some(())
    })
    .await?;
    let Some(Some(id)) = ids_of(&cx, "question").first().copied() else {
        return Err(Stop::Fail(
            "the client's `question` carried no ack id, yet its ack was reported".into(),
        ));
    };
    // The same ACK again, as a server that answers twice sends it.
    for frame in check::packet_frames(
        cx.parser,
        PacketType::Ack,
        "/",
        Some(id),
        &Value::Array(vec![Value::String("again".into())]),
    ) {
        cx.control(Control::Raw(frame))?;
    }
    let after = probe(&cx, "after-second-ack").await?;
    let acks: Vec<serde_json::Value> = cx
        .lines()
        .into_iter()
        .filter(|v| v["event"] == "ack" && v["id"] == "q1")
        .collect();
    if acks.len() == 1 {
        Ok(Observed::ok(format!(
            "one ack for two ACKs with id {id}; then {after}"
        )))
    } else {
        Err(Stop::Fail(format!(
            "the application saw the ack {} times: {acks:?}",
            acks.len()
        )))
    }
}

async fn unknown_id(mut cx: Ctx) -> Outcome {
    // An ACK for id 4711: the client asked nothing with that id.
    let frames = check::packet_frames(
        cx.parser,
        PacketType::Ack,
        "/",
        Some(4711),
        &Value::Array(vec![Value::String("nobody asked".into())]),
    );
    check::survives_all(&mut cx, frames).await
}

async fn binary_event_with_ack(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let args = vec![
        Value::Binary(vec![1, 2, 3, 4]),
        Value::String("with-ack".into()),
    ];
    check::emit(&cx, "upload", &args, Some("b1"))?;
    let header = cx
        .saw("the client's `upload`", REPLY_WAIT_MS, |o| {
            // The first packet after the CONNECT: a BINARY_ACK has no name.
            check::header(cx.parser, o).filter(|h| h.kind != PacketType::Connect)
        })
        .await?;
    match header {
        check::Header {
            kind: PacketType::BinaryEvent,
            id: Some(id),
            attachments: 1,
            ..
        } => Ok(Observed::ok(format!(
            "BINARY_EVENT with 1 attachment and ack id {id}"
        ))),
        h => Err(Stop::Fail(format!(
            "the emit-with-ack of one binary went out as {:?} with {} attachments and ack id {:?}",
            h.kind, h.attachments, h.id
        ))),
    }
}

async fn binary_ack(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let args = vec![Value::Binary(vec![9, 8, 7]), Value::String("answer".into())];
    let mut data = vec![Value::String("question".into())];
    data.extend(args.clone());
    cx.control(Control::EmitWithAck {
        namespace: "/".into(),
        data: Value::Array(data),
    })?;
    // The driver answers with the event's own arguments: one binary.
    let header = cx
        .saw("the client's answer", REPLY_WAIT_MS, |o| {
            check::header(cx.parser, o)
                .filter(|h| !matches!(h.kind, PacketType::Connect | PacketType::Disconnect))
        })
        .await?;
    if header.kind != PacketType::BinaryAck || header.attachments != 1 || header.id.is_none() {
        return Err(Stop::Fail(format!(
            "the ack of a binary went out as {:?} with {} attachments and ack id {:?}",
            header.kind, header.attachments, header.id
        )));
    }
    let got = cx
        .saw("the ACK", REPLY_WAIT_MS, |o| match &o.seen {
            Seen::Ack { args, .. } => Some(args.clone()),
            _ => None,
        })
        .await?;
    if got == args {
        Ok(Observed::ok(
            "BINARY_ACK with 1 attachment, the arguments intact",
        ))
    } else {
        Err(Stop::Fail(format!(
            "the BINARY_ACK carried {}, not {}",
            check::to_json(&Value::Array(got)),
            check::to_json(&Value::Array(args))
        )))
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "unique-ids", "Emits with an ack in a row carry distinct ids")
            .req("The sender MAY include an event ID in order to request an acknowledgement from the receiver … The receiver MUST respond with an `ACK` packet with the same event ID. [The ID names the event the ACK answers: events awaiting their ACK on a namespace carry different IDs.]")
            .ok("three distinct ids, each ack resolving its own emit")
            .run_client(unique_ids),
        Case::new(S, "once", "An ACK answers its event once")
            .req("The receiver MUST respond with an `ACK` packet with the same event ID. [One ACK answers one event: the same ACK sent again answers nothing, and the application sees the acknowledgement once.]")
            .ok("the application sees the ack once")
            .run_client(once),
        Case::new(S, "unknown-id", "An ACK for an id never asked is ignored")
            .req("The sender MAY include an event ID in order to request an acknowledgement from the receiver … The receiver MUST respond with an `ACK` packet with the same event ID. [An ACK whose ID no event carried answers nothing: the official client ignores it and goes on.]")
            .should()
            .outcome("ignored", Verdict::Ok, "the client ignores the ACK and goes on")
            .outcome("closed", Verdict::NonStrict, "the client closes the connection")
            .run_client(unknown_id),
        Case::new(S, "binary-event", "A binary emit-with-ack is a BINARY_EVENT with an id")
            .req("with binary data: `Client > { type: BINARY_EVENT, namespace: \"/\", data: [\"foo\", <buffer <01 02 03 04> ], id: 14 }` … `51-14[\"foo\",{\"_placeholder\":true,\"num\":0}]` + `<Buffer <01 02 03 04>>`")
            .ok("BINARY_EVENT (5) with the attachment count and an ack id")
            .run_client(binary_event_with_ack),
        Case::new(S, "binary-ack", "The ack of a binary answer is a BINARY_ACK")
            .req("`Server > { type: EVENT, namespace: \"/\", data: [\"foo\" ], id: 15 }` `Client > { type: BINARY_ACK, namespace: \"/\", data: [\"bar\", <buffer <01 02 03 04>], id: 15 }` … BINARY_ACK | 6 | Used to acknowledge an event containing binary data.")
            .ok("BINARY_ACK (6) with the attachment, its arguments intact")
            .run_client(binary_ack),
    ]
}
