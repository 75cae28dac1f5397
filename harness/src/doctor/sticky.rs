//! Sticky sessions: the requests of one polling session, each on a new
//! connection as a load balancer sees them, must all reach the node that
//! opened it. Without stickiness a node that does not know the session
//! answers 400 "Session ID unknown" (socketio/socket.io #4881).

use std::sync::Arc;

use siospec_codec::engine::{Packet, PacketType};
use siospec_codec::socket::PacketType as SocketPacketType;

use super::client::{answered, engine_text, packets, socket_text, unknown_session, Client, WAIT};
use super::{Ctx, Outcome};
use crate::trace::Trace;
use crate::wire::http::Response;

/// What to change when a balancer is not sticky.
const FIX: &str = "make the load balancer sticky: nginx `ip_hash;` (or `hash $remote_addr \
    consistent;`) in the upstream block; HAProxy `balance source` or a cookie; AWS ALB: enable \
    stickiness on the target group; or configure every client with `transports: \
    [\"websocket\"]`, which needs no stickiness";

pub(super) async fn check(cx: &Ctx, trace: Arc<Trace>) -> Outcome {
    if !cx.offer.polling {
        return Outcome::skipped("the server offers no polling (only polling needs stickiness)");
    }
    let client = cx.client(&trace);
    let session = match client.open_polling(Vec::new()).await {
        Ok(s) => s,
        Err(e) => return Outcome::skipped(format!("no polling session opens: {e}")),
    };
    let sid = session.sid.as_str();
    let rounds = cx.options.rounds;
    let mut sent = 0;
    for round in 1..=rounds {
        for step in steps(&client) {
            sent += 1;
            let result = match &step {
                Step::Post(body) => client.post(sid, body).await,
                Step::Get => client.get(sid, WAIT).await,
            };
            let resp = match result {
                Ok(r) => r,
                Err(e) => {
                    return Outcome::problem(
                        format!(
                            "request {sent} of session {sid} ({}) failed: {e}",
                            step.describe()
                        ),
                        "check the proxy's and the server's logs for that request",
                    )
                }
            };
            if let Some(outcome) = judge(&resp, sent, sid, &step, &client) {
                return outcome;
            }
        }
        trace.note(format!(
            "round {round} of {rounds}: every request reached the session"
        ));
    }
    Outcome::ok(format!(
        "{sent} requests of session {sid}, each on a new connection, all reached the node \
         that knows it ({rounds} rounds)"
    ))
}

#[derive(Debug, Clone)]
enum Step {
    Post(String),
    Get,
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Post(body) => format!("POST `{body}`"),
            Step::Get => "GET".to_owned(),
        }
    }
}

/// One round: what a client does that the server answers at once. In
/// Socket.IO, join the main namespace (POST `40`), read the CONNECT reply
/// (GET) and leave it (POST `41`); bare Engine.IO: a message (POST `4…`).
fn steps(client: &Client) -> Vec<Step> {
    if client.socket_io {
        vec![
            Step::Post(socket_text(SocketPacketType::Connect)),
            Step::Get,
            Step::Post(socket_text(SocketPacketType::Disconnect)),
        ]
    } else {
        vec![Step::Post(engine_text(&Packet::text(
            PacketType::Message,
            "siospec-doctor",
        )))]
    }
}

/// The problem in one answer, if any.
fn judge(resp: &Response, sent: usize, sid: &str, step: &Step, client: &Client) -> Option<Outcome> {
    if unknown_session(resp) {
        return Some(Outcome::problem(
            format!(
                "request {sent} of session {sid} ({}, on a new connection) was answered {}: \
                 it reached a node that does not know the session, so the load balancer is \
                 not sticky (with a single server behind it, the server lost the session)",
                step.describe(),
                answered(resp)
            ),
            FIX,
        ));
    }
    if resp.status != 200 {
        return Some(Outcome::problem(
            format!(
                "request {sent} of session {sid} ({}) was answered {}",
                step.describe(),
                answered(resp)
            ),
            "check the proxy's and the server's logs for that request",
        ));
    }
    if matches!(step, Step::Get) && client.socket_io {
        let kinds: Vec<PacketType> = packets(&resp.text()).into_iter().map(|p| p.0).collect();
        if kinds.contains(&PacketType::Close) {
            return Some(Outcome::problem(
                format!(
                    "the session {sid} was closed by the server: {}",
                    answered(resp)
                ),
                "check the server's logs: it closed a session that joined and left a namespace",
            ));
        }
    }
    None
}
