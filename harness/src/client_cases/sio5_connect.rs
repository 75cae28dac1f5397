//! Client — Socket.IO v5 connection to a namespace: CONNECT with auth,
//! CONNECT_ERROR, several namespaces over one Engine.IO connection.

use serde_json::json;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Answer, Plan, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, REPLY_WAIT_MS, WEBSOCKET_ONLY};

const S: Section = Section {
    id: "client.sio5.connect",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 connection to a namespace",
    spec: "socket.io-protocol v5, \"Connection to a namespace\"",
};

/// The auth a case gives the client.
const AUTH: &str = r#"{"token":"siospec-4711"}"#;

async fn auth(mut cx: Ctx) -> Outcome {
    cx.serve(Setup::default()).await?;
    cx.start(&[
        ("SIOSPEC_TRANSPORTS", "websocket"),
        ("SIOSPEC_RECONNECTION", "false"),
        ("SIOSPEC_AUTH", AUTH),
    ])?;
    let auth = cx
        .saw("a CONNECT", CONNECT_WAIT_MS, |o| match &o.seen {
            Seen::Connect { namespace, auth } if namespace == "/" => Some(auth.clone()),
            _ => None,
        })
        .await?;
    let got: serde_json::Value = serde_json::from_str(&auth).unwrap_or(serde_json::Value::Null);
    let want: serde_json::Value = serde_json::from_str(AUTH).unwrap_or_default();
    if got == want {
        Ok(Observed::ok(format!("CONNECT carried {auth}")))
    } else {
        Err(Stop::Fail(format!("CONNECT carried {auth}, not {AUTH}")))
    }
}

async fn connect_error(mut cx: Ctx) -> Outcome {
    let data = json!({ "code": 4711, "why": "siospec" });
    let setup = Setup {
        plan: Plan {
            refuse: vec![(
                "/".into(),
                Answer::Reject {
                    message: "refused by siospec".into(),
                    data: Some(data.clone()),
                },
            )],
            ..Plan::default()
        },
        ..Setup::default()
    };
    cx.serve(setup).await?;
    cx.start(&WEBSOCKET_ONLY)?;
    let line = cx.event("connect_error", "/", CONNECT_WAIT_MS).await?;
    if line["message"] == "refused by siospec" && line["data"] == data {
        Ok(Observed::ok(format!("the application saw {line}")))
    } else {
        Err(Stop::Fail(format!(
            "the application saw {line}, not the message \"refused by siospec\" with data {data}"
        )))
    }
}

async fn multiplexed(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &WEBSOCKET_ONLY).await?;
    cx.instruct(json!({ "op": "open", "namespace": "/chat" }))?;
    cx.event("connect", "/chat", REPLY_WAIT_MS).await?;
    let handshakes: Vec<String> = cx
        .seen()
        .into_iter()
        .filter_map(|o| match o.seen {
            Seen::Request { query, .. } if o.seen.is_handshake() => Some(query),
            _ => None,
        })
        .collect();
    if handshakes.len() == 1 {
        Ok(Observed::ok(
            "`/` and `/chat` joined over one Engine.IO connection",
        ))
    } else {
        Err(Stop::Fail(format!(
            "{} Engine.IO handshakes for two namespaces: {handshakes:?}",
            handshakes.len()
        )))
    }
}

async fn namespace(mut cx: Ctx) -> Outcome {
    cx.serve(Setup::default()).await?;
    cx.start(&[
        ("SIOSPEC_TRANSPORTS", "websocket"),
        ("SIOSPEC_RECONNECTION", "false"),
        ("SIOSPEC_NAMESPACE", "/chat"),
    ])?;
    let first = cx
        .saw("a CONNECT", CONNECT_WAIT_MS, |o| match &o.seen {
            Seen::Connect { namespace, .. } => Some(namespace.clone()),
            _ => None,
        })
        .await?;
    if first != "/chat" {
        return Err(Stop::Fail(format!(
            "asked to join `/chat`, the client sent a CONNECT for `{first}`"
        )));
    }
    cx.event("connect", "/chat", REPLY_WAIT_MS).await?;
    Ok(Observed::ok(
        "CONNECT for `/chat`, then `connect` on `/chat`",
    ))
}

async fn connect_error_bare(mut cx: Ctx) -> Outcome {
    let setup = Setup {
        plan: Plan {
            refuse: vec![(
                "/".into(),
                Answer::Reject {
                    message: "Not authorized".into(),
                    data: None,
                },
            )],
            ..Plan::default()
        },
        ..Setup::default()
    };
    cx.serve(setup).await?;
    cx.start(&WEBSOCKET_ONLY)?;
    let line = cx.event("connect_error", "/", CONNECT_WAIT_MS).await?;
    if line["message"] == "Not authorized" && line["data"].is_null() {
        Ok(Observed::ok(format!("the application saw {line}")))
    } else {
        Err(Stop::Fail(format!(
            "the application saw {line}, not the message \"Not authorized\" without data"
        )))
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "auth", "CONNECT carries the auth payload")
            .req("CONNECT (0) … the payload is the authentication data, an object, sent with the packet.")
            .ok("the CONNECT payload is the auth given")
            .run_client(auth),
        Case::new(S, "connect-error", "CONNECT_ERROR is surfaced with its message and data")
            .req("CONNECT_ERROR (4) … the payload is an object with a message and optional data; the client reports the error to the application.")
            .ok("connect_error with the message and the data")
            .run_client(connect_error),
        Case::new(S, "multiplexed", "A second namespace shares the Engine.IO connection")
            .req("Socket.IO namespaces are multiplexed over a single Engine.IO connection: joining another namespace sends a CONNECT on the same connection.")
            .ok("one Engine.IO handshake for both namespaces")
            .run_client(multiplexed),
        Case::new(S, "namespace", "The CONNECT names the namespace the application joins")
            .req("At the beginning of a Socket.IO session, the client MUST send a `CONNECT` packet … with a custom namespace `Client > { type: CONNECT, namespace: \"/admin\" }` … `{ type: CONNECT, namespace: \"/admin\" }` | `0/admin,`")
            .ok("the first CONNECT is for `/chat`")
            .run_client(namespace),
        Case::new(S, "connect-error-bare", "A CONNECT_ERROR without data is surfaced with its message")
            .req("The server MUST respond with either: … a `CONNECT_ERROR` packet if the connection is not allowed … in case the connection is refused `Server > { type: CONNECT_ERROR, namespace: \"/\", data: { message: \"Not authorized\" } }`")
            .ok("connect_error with the message, data null")
            .run_client(connect_error_bare),
    ]
}
