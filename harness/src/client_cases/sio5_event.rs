//! Client — Socket.IO v5 events, acknowledgements and binary attachments.

use serde_json::json;
use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS, WEBSOCKET_ONLY};

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
        Case::new(S, "server-ack", "A server's emit-with-ack is answered")
            .req("An EVENT with an id asks for an acknowledgement: the receiver answers with an ACK (3) carrying the same id.")
            .ok("an ACK with the arguments the driver gave")
            .run_client(server_ack),
        Case::new(S, "client-ack", "The client's own ack request is resolved by the server's ACK")
            .req("An EVENT with an id asks for an acknowledgement; the ACK carrying that id resolves it, with its arguments.")
            .ok("the application gets the ACK's arguments")
            .run_client(client_ack),
    ]
}
