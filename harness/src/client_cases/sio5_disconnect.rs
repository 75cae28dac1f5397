//! Client — Socket.IO v5 disconnection from a namespace.

use serde_json::json;
use siospec_codec::socket::binary::Value;

use crate::case::client::{Ctx, Setup};
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Control, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.sio5.disconnect",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 disconnection from a namespace",
    spec: "socket.io-protocol v5, \"Disconnection from a namespace\"",
};

/// How long a client that would reconnect takes to try: socket.io-client
/// waits reconnectionDelay (1000 ms) at most ×1.5 before its first attempt,
/// but a reconnection of the namespace alone is immediate.
const RECONNECT_WINDOW_MS: u64 = 2000;

async fn server_disconnect(mut cx: Ctx) -> Outcome {
    check::connected(
        &mut cx,
        Setup::default(),
        &[
            ("SIOSPEC_TRANSPORTS", "websocket"),
            ("SIOSPEC_RECONNECTION", "true"),
        ],
    )
    .await?;
    cx.control(Control::Disconnect {
        namespace: "/".into(),
    })?;
    let line = cx.event("disconnect", "/", REPLY_WAIT_MS).await?;
    // The first CONNECT is in the log too: a second one is a reconnection.
    let mut connects = 0;
    let again = cx
        .saw("a second CONNECT", RECONNECT_WINDOW_MS, |o| match &o.seen {
            Seen::Connect { namespace, .. } if namespace == "/" => {
                connects += 1;
                (connects > 1).then_some(o.t_ms)
            }
            _ => None,
        })
        .await;
    if let Ok(t_ms) = again {
        return Err(Stop::Fail(format!(
            "the client connected to `/` again after the server's DISCONNECT (at {t_ms} ms; \
             it reported {line})"
        )));
    }
    Ok(Observed::ok(format!(
        "no new CONNECT within {RECONNECT_WINDOW_MS} ms; the application saw {line}"
    )))
}

async fn client_disconnect(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &check::WEBSOCKET_ONLY).await?;
    cx.instruct(json!({ "op": "disconnect", "namespace": "/" }))?;
    let reason = cx
        .saw("a DISCONNECT for `/`", REPLY_WAIT_MS, |o| match &o.seen {
            Seen::Disconnect { namespace, reason } if namespace == "/" => Some(reason.clone()),
            Seen::Closed(reason) => Some(format!("no DISCONNECT; the session ended: {reason}")),
            _ => None,
        })
        .await?;
    let sent = cx
        .seen()
        .iter()
        .any(|o| matches!(&o.seen, Seen::Disconnect { namespace, .. } if namespace == "/"));
    if sent {
        Ok(Observed::ok(format!(
            "the server saw the namespace left: {reason}"
        )))
    } else {
        Err(Stop::Fail(reason))
    }
}

async fn one_namespace(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, Setup::default(), &check::WEBSOCKET_ONLY).await?;
    check::open_beside(&cx, "/chat").await?;
    cx.control(Control::Disconnect {
        namespace: "/chat".into(),
    })?;
    cx.event("disconnect", "/chat", REPLY_WAIT_MS).await?;
    // `/` still works: an echo there comes back.
    let probe = vec![Value::String("still here".into())];
    let got = check::echo(&cx, probe.clone()).await.map_err(|e| match e {
        Stop::Fail(why) => Stop::Fail(format!(
            "after the server's DISCONNECT of `/chat`, `/` no longer answers: {why}{}",
            cx.lines()
                .iter()
                .find(|l| l["event"] == "disconnect" && l["namespace"] == "/")
                .map_or(String::new(), |l| format!(" (the application saw {l})"))
        )),
        other => other,
    })?;
    if let Some(l) = cx
        .lines()
        .iter()
        .find(|l| l["event"] == "disconnect" && l["namespace"] == "/")
    {
        return Err(Stop::Fail(format!("`/` was left too: {l}")));
    }
    if got == probe {
        Ok(Observed::ok("`/chat` left, `/` still echoes"))
    } else {
        Err(Stop::Fail(format!(
            "the echo on `/` carried {}",
            check::to_json(&Value::Array(got))
        )))
    }
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "server-disconnect", "No reconnection after the server's DISCONNECT")
            .req("The server has forcefully disconnected the socket [a DISCONNECT (1) packet] [...] the client will not try to reconnect and you need to manually call socket.connect() (socket.io client docs, the `disconnect` event; the reason's wording is the library's and is not judged).")
            .ok("no new CONNECT")
            .waits(|_| RECONNECT_WINDOW_MS)
            .run_client(server_disconnect),
        Case::new(S, "client-disconnect", "Leaving a namespace sends DISCONNECT")
            .req("DISCONNECT (1) … sent by the client when it leaves a namespace.")
            .ok("the server sees the DISCONNECT")
            .run_client(client_disconnect),
        Case::new(S, "one-namespace", "A server DISCONNECT leaves the other namespaces connected")
            .req("At any time, one side can end the connection to a namespace by sending a `DISCONNECT` packet … `{ type: DISCONNECT, namespace: \"/admin\" }` | `1/admin,` [it ends that namespace alone: the others go on over the same connection]")
            .ok("`/chat` left, `/` still connected")
            .run_client(one_namespace),
    ]
}
