//! Client — Socket.IO v5 events, acknowledgements and binary attachments.

use serde_json::json;
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::PacketType;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Answer, Control, Plan, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, REPLY_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.sio5.event",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 events, acknowledgements, binary",
    spec: "socket.io-protocol v5, \"Sending and receiving data\", \"Acknowledgement\", \"Packet encoding\"",
};

fn text_args() -> Vec<Value> {
    [
        json!(1),
        json!("two"),
        json!({ "three": [3, null, true] }),
        json!([]),
        json!(""),
    ]
    .into_iter()
    .map(Value::from)
    .collect()
}

/// Binary values in several places: top level, nested, empty, ten in all
/// (socket.io-parser refuses more than ten attachments by default, so ten
/// is what every client must take).
fn binary_args() -> Vec<Value> {
    let blob = |i: u8| Value::Binary(vec![i; usize::from(i)]);
    vec![
        blob(1),
        Value::String("between".into()),
        Value::Object(vec![
            ("nested".into(), Value::Array(vec![blob(2), blob(3)])),
            ("deeper".into(), Value::Object(vec![("b".into(), blob(4))])),
        ]),
        blob(0),
        Value::Array((5..10).map(blob).collect()),
    ]
}

fn compare(sent: &[Value], got: &[Value]) -> Outcome {
    if got == sent {
        Ok(Observed::ok(format!(
            "echo-back carried the same {} arguments",
            sent.len()
        )))
    } else {
        let show = |v: &[Value]| check::to_json(&Value::Array(v.to_vec())).to_string();
        Err(Stop::Fail(format!(
            "echo-back carried {}, not {}",
            show(got),
            show(sent)
        )))
    }
}

async fn echo(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let sent = text_args();
    let got = check::echo(&cx, sent.clone()).await?;
    compare(&sent, &got)
}

async fn binary(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let sent = binary_args();
    let got = check::echo(&cx, sent.clone()).await?;
    compare(&sent, &got)
}

async fn binary_all_bytes(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    // Every byte value, the record separator 0x1e among them: a client that
    // splits WebSocket messages where polling payloads are split breaks it.
    let sent = vec![Value::Binary((0..=255).collect())];
    let got = check::echo(&cx, sent.clone()).await?;
    compare(&sent, &got)
}

async fn server_ack(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let args = text_args();
    let mut data = vec![Value::String("question".into())];
    data.extend(args.clone());
    cx.control(Control::EmitWithAck {
        namespace: "/".into(),
        data: Value::Array(data),
    })?;
    let got = cx
        .saw("an ACK", REPLY_WAIT_MS, |o| match &o.seen {
            Seen::Ack { args, .. } => Some(args.clone()),
            _ => None,
        })
        .await?;
    if got == args {
        Ok(Observed::ok("the ACK carried the event's arguments"))
    } else {
        Err(Stop::Fail(format!(
            "the ACK carried {}, not {}",
            check::to_json(&Value::Array(got)),
            check::to_json(&Value::Array(args))
        )))
    }
}

async fn client_ack(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let args = json!(["asked", 7, { "k": [true] }]);
    cx.instruct(
        json!({ "op": "emit", "name": "question", "args": args, "ack": true, "id": "q1" }),
    )?;
    // The scripted server acknowledges with the event's own arguments.
    let line = cx
        .line("the ack of its `question`", REPLY_WAIT_MS, |v| {
            (v["event"] == "ack" && v["id"] == "q1").then(|| v.clone())
        })
        .await?;
    if line["args"] == args {
        Ok(Observed::ok(format!("the application got the ack: {line}")))
    } else {
        Err(Stop::Fail(format!(
            "the application got {line}, not the arguments {args}"
        )))
    }
}

async fn no_args(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    check::emit(&cx, "question", &[], None)?;
    let got = cx
        .saw("the client's `question`", REPLY_WAIT_MS, |o| {
            check::event_args(o, "/", "question")
        })
        .await?;
    if got.is_empty() {
        Ok(Observed::ok("the EVENT carried the name alone"))
    } else {
        Err(Stop::Fail(format!(
            "an emit without arguments carried {}",
            check::to_json(&Value::Array(got))
        )))
    }
}

async fn name_only(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    cx.control(Control::Emit {
        namespace: "/".into(),
        data: Value::Array(vec![Value::String("tick".into())]),
    })?;
    let line = cx
        .line("the event `tick`", REPLY_WAIT_MS, |v| {
            (v["event"] == "event" && v["name"] == "tick").then(|| v.clone())
        })
        .await?;
    if line["args"] == json!([]) {
        Ok(Observed::ok(format!("the application saw {line}")))
    } else {
        Err(Stop::Fail(format!(
            "the application saw {line}, not `tick` without arguments"
        )))
    }
}

async fn unicode(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    let sent: Vec<Value> = [
        "h\u{e9}llo w\u{f6}rld",
        "\u{65e5}\u{672c}\u{8a9e} \u{d55c}\u{ad6d}\u{c5b4} \u{5d0}\u{5d1}\u{5d2}",
        // Astral: UTF-16 surrogate pairs in JavaScript strings.
        "\u{1f600}\u{1f389} \u{1d11e} \u{10348} \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
        "e\u{301} \u{fffd} \u{feff} \u{10ffff}",
    ]
    .into_iter()
    .map(|s| Value::String(s.into()))
    .collect();
    let mut args = sent.clone();
    args.push(Value::Object(vec![(
        "\u{1f511}".into(),
        Value::String("\u{1f5dd}".into()),
    )]));
    let got = check::echo(&cx, args.clone()).await?;
    compare(&args, &got)
}

/// The size of the large argument: 100 KB, a tenth of the default maxPayload.
const LARGE: usize = 100_000;

/// How long the echo of the large arguments may take.
const LARGE_WAIT_MS: u64 = 10_000;

async fn large(mut cx: Ctx) -> Outcome {
    // Heartbeats are not this case's rule: a client busy with 200 KB on a
    // loaded machine may miss the reference 200 ms pingTimeout.
    let mut setup = Setup::default();
    setup.options.engine.ping_timeout = std::time::Duration::from_millis(LARGE_WAIT_MS);
    check::connected(&mut cx, setup, &WEBSOCKET_ONLY).await?;
    // Not one repeated character: a cut or a reordering shows.
    let text: String = (0..LARGE)
        .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)))
        .collect();
    let args = vec![
        Value::String(text),
        Value::Binary((0..=255).cycle().take(LARGE).collect()),
    ];
    // 200 KB through a debug-built server and a driver that prints it all
    // takes longer than a small echo on a loaded machine.
    let got = check::echo_within(&cx, args.clone(), LARGE_WAIT_MS).await?;
    if got == args {
        Ok(Observed::ok(format!(
            "a {LARGE}-character string and {LARGE} bytes came back intact"
        )))
    } else {
        let size = |v: &Value| match v {
            Value::String(s) => format!("a string of {} bytes", s.len()),
            Value::Binary(b) => format!("{} bytes", b.len()),
            other => check::to_json(other).to_string(),
        };
        Err(Stop::Fail(format!(
            "echo-back carried [{}], not the {LARGE}-character string and {LARGE} bytes sent",
            got.iter().map(size).collect::<Vec<_>>().join(", ")
        )))
    }
}

async fn before_connect(mut cx: Ctx) -> Outcome {
    let mut setup = Setup {
        plan: Plan {
            refuse: vec![("/".into(), Answer::Hold)],
            ..Plan::default()
        },
        ..Setup::default()
    };
    // The heartbeats are this case's clock, not its rule: a client slowed
    // by a loaded machine keeps its session past the reference 200 ms.
    setup.options.engine.ping_timeout =
        std::time::Duration::from_millis(BEFORE_CONNECT_PING_TIMEOUT_MS);
    // Nor is the server's connectTimeout (1000 ms from the handshake): the
    // held CONNECT is answered after two heartbeats, however slow they are.
    setup.options.socket.connect_timeout = std::time::Duration::from_millis(CONNECT_WAIT_MS);
    cx.serve(setup).await?;
    cx.start(&WEBSOCKET_ONLY)?;
    cx.saw("a CONNECT", CONNECT_WAIT_MS, |o| match &o.seen {
        Seen::Connect { namespace, .. } if namespace == "/" => Some(()),
        _ => None,
    })
    .await?;
    let early = Value::Array(vec![
        Value::String("early".into()),
        Value::String("before the reply".into()),
    ]);
    for frame in check::packet_frames(cx.parser, PacketType::Event, "/", None, &early) {
        cx.control(Control::Raw(frame))?;
    }
    // Two heartbeats later the client has read the EVENT (the second PING
    // left after it, on the same WebSocket) and printed what it made of it.
    // (The wait looks at every observation from the first one on.)
    let from = heartbeats(&cx);
    let mut count = 0;
    cx.saw("two heartbeats after the EVENT", REPLY_WAIT_MS, |o| {
        if o.seen == Seen::Heartbeat {
            count += 1;
        }
        (count >= from + 2).then_some(())
    })
    .await?;
    let is_early = |v: &serde_json::Value| v["event"] == "event" && v["name"] == "early";
    if let Some(line) = cx.lines().into_iter().find(is_early) {
        return Err(Stop::Fail(format!(
            "the application saw {line} while the CONNECT was still unanswered"
        )));
    }
    cx.control(Control::Accept {
        namespace: "/".into(),
    })?;
    cx.event("connect", "/", REPLY_WAIT_MS).await?;
    let line = cx
        .line(
            "the event sent before the CONNECT reply",
            REPLY_WAIT_MS,
            |v| is_early(v).then(|| v.clone()),
        )
        .await?;
    Ok(Observed::ok(format!(
        "held until the CONNECT reply, then delivered: {line}"
    )))
}

/// The pingTimeout of event.before-connect (pings still every 300 ms).
const BEFORE_CONNECT_PING_TIMEOUT_MS: u64 = 1000;

/// How many heartbeats the server has seen so far.
fn heartbeats(cx: &Ctx) -> usize {
    cx.seen()
        .iter()
        .filter(|o| o.seen == Seen::Heartbeat)
        .count()
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "echo", "An event's arguments reach the application intact")
            .req("EVENT (2): the payload is an array, the event name first and the arguments after it, delivered to the application as sent.")
            .ok("echo-back carries the same arguments")
            .run_client(echo),
        Case::new(S, "binary", "Binary attachments reach the application in place and in order")
            .req("BINARY_EVENT (5): each binary value is replaced by {\"_placeholder\":true,\"num\":N} and sent as its own message after the packet, in order; the receiver puts each back in its place.")
            .ok("echo-back carries the same ten binaries, in place")
            .run_client(binary),
        Case::new(S, "binary-all-bytes", "An attachment of every byte value arrives as sent")
            .req("Binary payloads are sent as binary WebSocket frames; the record separator (`\\x1e`) separates packets of HTTP long-polling payloads [only: inside a binary frame every byte value is data].")
            .ok("echo-back carries the 256 bytes 0x00..0xff unchanged")
            .run_client(binary_all_bytes),
        Case::new(S, "server-ack", "A server's emit-with-ack is answered")
            .req("An EVENT with an id asks for an acknowledgement: the receiver answers with an ACK (3) carrying the same id.")
            .ok("an ACK with the arguments the driver gave")
            .run_client(server_ack),
        Case::new(S, "client-ack", "The client's own ack request is resolved by the server's ACK")
            .req("An EVENT with an id asks for an acknowledgement; the ACK carrying that id resolves it, with its arguments.")
            .ok("the application gets the ACK's arguments")
            .run_client(client_ack),
        Case::new(S, "no-args", "An emit without arguments carries the event name alone")
            .req("The payload is mandatory and MUST be a non-empty array. … `{ type: EVENT, namespace: \"/\", data: [\"foo\"] }` | `2[\"foo\"]`")
            .ok("`[\"question\"]`, no argument added")
            .run_client(no_args),
        Case::new(S, "name-only", "An event with its name alone reaches the application")
            .req("The payload is mandatory and MUST be a non-empty array. … `Server > { type: EVENT, namespace: \"/admin\", data: [\"bar\"] }`")
            .ok("the application sees the event, without arguments")
            .run_client(name_only),
        Case::new(S, "unicode", "Non-ASCII and astral strings reach the application intact")
            .req("Encoding format: `<packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON-stringified payload without binary]` [JSON text is Unicode: every character, those beyond the BMP included, is carried intact, both ways.]")
            .ok("echo-back carries the same strings")
            .run_client(unicode),
        Case::new(S, "large", "A 100 KB argument reaches the application intact")
            .req("Once the connection to a namespace is established, the client and the server can begin exchanging data … [Arguments well under the advertised maxPayload (1000000 bytes) go through whole, both ways.]")
            .ok("a 100 KB string and 100 KB of bytes come back intact")
            .limit(CONNECT_WAIT_MS + LARGE_WAIT_MS)
            .run_client(large),
        Case::new(S, "before-connect", "An event that comes before the CONNECT reply waits for it")
            .req("Once the connection to a namespace is established, the client and the server can begin exchanging data [an EVENT that arrives while the client's CONNECT is unanswered is held until the reply, then delivered, as socket.io-client does]")
            .should()
            .ok("the event is delivered once the CONNECT reply comes, not before")
            .run_client(before_connect),
    ]
}
