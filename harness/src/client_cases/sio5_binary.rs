//! Client — Socket.IO v5 binary attachments from the client to the server:
//! the application's bytes leave as a BINARY_EVENT whose attachments the
//! server puts back in place.

use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.sio5.binary",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 binary attachments to the server",
    spec: "socket.io-protocol v5, \"Sending and receiving data\", \"Packet encoding\"",
};

/// The spec's wording for every case of the section.
const REQ: &str = "with binary data: `Client > { type: BINARY_EVENT, namespace: \"/\", data: [\"baz\", <buffer <01 02 03 04> ] }` … `<packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON-stringified payload without binary]` `+ binary attachments extracted` … `{ type: BINARY_EVENT, namespace: \"/admin\", data: [\"baz\", <Buffer <01 02>>, <Buffer <03 04>> ] }` | `52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]` + `<Buffer <01 02>>` + `<Buffer <03 04>>`";

/// `len` bytes, each `i` (so that attachments of different places differ).
fn blob(i: u8, len: usize) -> Value {
    Value::Binary(vec![i; len])
}

/// Tells the client to emit `upload` with `args` and compares what the
/// server reassembled.
async fn upload(mut cx: Ctx, args: Vec<Value>) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    check::emit(&cx, "upload", &args, None)?;
    let got = cx
        .saw("the client's `upload`", REPLY_WAIT_MS, |o| {
            check::event_args(o, "/", "upload")
        })
        .await?;
    let header = cx
        .seen()
        .iter()
        .filter_map(|o| check::header(cx.parser, o))
        .find(|h| h.name.as_deref() == Some("upload"));
    let count = header.map_or(0, |h| h.attachments);
    if got == args {
        Ok(Observed::ok(format!(
            "a BINARY_EVENT with {count} attachments, every one in its place"
        )))
    } else {
        let show = |v: &[Value]| check::to_json(&Value::Array(v.to_vec())).to_string();
        Err(Stop::Fail(format!(
            "the server reassembled {} ({count} attachments), not {}",
            show(&got),
            show(&args)
        )))
    }
}

async fn one(cx: Ctx) -> Outcome {
    upload(cx, vec![Value::Binary(vec![1, 2, 3, 4])]).await
}

async fn order(cx: Ctx) -> Outcome {
    upload(
        cx,
        vec![
            blob(1, 1),
            Value::String("between".into()),
            blob(2, 2),
            blob(3, 3),
        ],
    )
    .await
}

async fn nested(cx: Ctx) -> Outcome {
    upload(
        cx,
        // Keys in sorted order: the instruction travels as JSON, whose
        // objects the harness writes sorted.
        vec![Value::Object(vec![
            (
                "deeper".into(),
                Value::Object(vec![("bytes".into(), blob(1, 1))]),
            ),
            ("list".into(), Value::Array(vec![blob(2, 2), blob(3, 3)])),
        ])],
    )
    .await
}

async fn empty(cx: Ctx) -> Outcome {
    upload(cx, vec![Value::Binary(Vec::new())]).await
}

async fn ten(cx: Ctx) -> Outcome {
    // socket.io-parser refuses more than ten attachments by default: ten is
    // what every client must send.
    upload(cx, (1..=10).map(|i| blob(i, usize::from(i))).collect()).await
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "one", "One binary argument leaves as a BINARY_EVENT")
            .req(REQ)
            .ok("BINARY_EVENT with 1 attachment, the bytes intact")
            .run_client(one),
        Case::new(S, "order", "Several binary arguments leave in order")
            .req(REQ)
            .ok("each attachment in its place")
            .run_client(order),
        Case::new(
            S,
            "nested",
            "Binary values nested in objects and arrays leave in place",
        )
        .req(REQ)
        .ok("each nested attachment in its place")
        .run_client(nested),
        Case::new(
            S,
            "empty",
            "An empty binary value is an attachment of its own",
        )
        .req(REQ)
        .ok("an empty attachment, empty bytes on the server")
        .run_client(empty),
        Case::new(S, "ten", "Ten binary arguments leave as ten attachments")
            .req(REQ)
            .ok("BINARY_EVENT with 10 attachments, each in its place")
            .run_client(ten),
    ]
}
