//! Client — Socket.IO v5 reconnection: after the transport drops, the
//! client reconnects after the documented backoff, every namespace with its
//! auth, restarting its attempt count after a success; a CONNECT_ERROR
//! (the server refusing the namespace) is not retried by itself.
//!
//! The protocol leaves reconnection to the client; these rules are the
//! official client's documentation (socket.io-client's options and the
//! client Socket's events), and the delays judged are its defaults:
//! reconnectionDelay 1000 ms, reconnectionDelayMax 5000 ms,
//! randomizationFactor 0.5 (the contract leaves every option but the
//! transports and reconnection itself at the library's default).

use serde_json::json;
use siospec_codec::engine::{Packet, PacketType};

use crate::case::client::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::server::script::{Answer, Control, Observation, Seen};
use crate::suite::Suite;
use crate::verify::client::{self as check, CONNECT_WAIT_MS, RECONNECT_WAIT_MS, REPLY_WAIT_MS};

const S: Section = Section {
    id: "client.sio5.reconnect",
    suite: Suite::Sio5,
    title: "Client — Socket.IO v5 reconnection",
    spec: "socket.io client documentation, \"Client options\" (reconnection*), \"The Socket instance\" (connect_error, disconnect)",
};

/// A client over WebSocket that reconnects by itself: each attempt is one
/// request.
const RECONNECTING: [(&str, &str); 2] = [
    ("SIOSPEC_TRANSPORTS", "websocket"),
    ("SIOSPEC_RECONNECTION", "true"),
];

/// socket.io-client's default reconnectionDelay, reconnectionDelayMax and
/// randomizationFactor.
const DELAY_MS: f64 = 1000.0;
const DELAY_MAX_MS: f64 = 5000.0;
const RANDOMIZATION: f64 = 0.5;

/// How early a delay may end (a timer firing a millisecond early, the
/// clocks' resolution) and how late (the client's own work, a loaded
/// machine; scaled by `--time-scale`).
const EARLY_MS: f64 = 20.0;
const LATE_MS: u64 = 500;

/// How many handshakes `backoff` refuses: the attempt after them succeeds.
/// Two attempts keep the case within about 5 s (a third would wait up to
/// 5 s more).
const REFUSED: u32 = 1;

/// How long `connect-error` watches for a retry: past the first
/// reconnection attempt's longest delay.
const NO_RETRY_WINDOW_MS: u64 = 2500;

/// The auth `auth` gives the client.
const AUTH: &str = r#"{"token":"siospec-reconnect"}"#;

/// The bounds of the delay before reconnection attempt `attempt` (1, 2, …)
/// with the defaults: `reconnectionDelay × 2^(attempt-1)`, give or take
/// `randomizationFactor` of it, at most `reconnectionDelayMax`.
fn bounds(attempt: u32) -> (f64, f64) {
    let base = DELAY_MS * 2f64.powi(attempt.saturating_sub(1) as i32);
    (
        (base * (1.0 - RANDOMIZATION)).min(DELAY_MAX_MS),
        (base * (1.0 + RANDOMIZATION)).min(DELAY_MAX_MS),
    )
}

/// The longest a client takes to make `attempts` attempts, with margins.
fn backoff_wait(attempts: u32) -> u64 {
    (1..=attempts).map(|a| bounds(a).1 as u64 + LATE_MS).sum()
}

/// Waits for the `n`th `event` line (on `namespace`, if given), counting
/// from the driver's first line.
async fn nth_line(
    cx: &Ctx,
    event: &str,
    namespace: Option<&str>,
    n: usize,
    wait_ms: u64,
) -> Result<serde_json::Value, Stop> {
    let mut count = 0;
    let what = match namespace {
        Some(ns) => format!("`{event}` number {n} on {ns}"),
        None => format!("`{event}` number {n}"),
    };
    cx.line(&what, wait_ms, |l| {
        let on = namespace.is_none_or(|ns| l["namespace"] == ns);
        count += usize::from(l["event"] == event && on);
        (count == n).then(|| l.clone())
    })
    .await
}

/// Whether `o` is an Engine.IO handshake (a request without `sid`) after `t_ms`.
fn handshake_after(o: &Observation, t_ms: f64) -> bool {
    o.seen.is_handshake() && o.t_ms > t_ms
}

async fn backoff(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &RECONNECTING).await?;
    cx.control(Control::RefuseHandshakes(REFUSED as usize))?;
    let dropped = check::drop_transport(&cx).await?;
    let late = cx.ms(LATE_MS).as_secs_f64() * 1000.0;
    let mut from = dropped;
    let mut delays = Vec::new();
    for attempt in 1..=REFUSED + 1 {
        let (low, high) = bounds(attempt);
        let after = if attempt == 1 {
            "the transport dropped"
        } else {
            "the previous attempt was refused"
        };
        let rule = format!(
            "{low:.0} to {high:.0} ms (reconnectionDelay {DELAY_MS} × 2^{} ± randomizationFactor \
             {RANDOMIZATION}, at most reconnectionDelayMax {DELAY_MAX_MS})",
            attempt - 1
        );
        let t = cx
            .saw(
                &format!("reconnection attempt {attempt}, due {rule} after {after}"),
                high as u64 + LATE_MS,
                |o| handshake_after(o, from).then_some(o.t_ms),
            )
            .await
            .map_err(|_| {
                Stop::Fail(format!(
                    "no reconnection attempt {attempt} within {:.0} ms after {after}, due {rule} \
                     (the delays before: {})",
                    high + late,
                    if delays.is_empty() {
                        "none".to_owned()
                    } else {
                        delays.join(", ")
                    }
                ))
            })?;
        let delay = t - from;
        delays.push(format!("{delay:.0} ms"));
        if delay < low - EARLY_MS || delay > high + late {
            return Err(Stop::Fail(format!(
                "reconnection attempt {attempt} came {delay:.0} ms after {after}, not {rule}"
            )));
        }
        // A refused handshake is answered at once: the next delay runs from it.
        from = t;
    }
    nth_line(&cx, "connect", Some("/"), 2, CONNECT_WAIT_MS).await?;
    Ok(Observed::ok(format!(
        "reconnection attempts {} after the drop, then after the refusal (allowed {:.0} to \
         {:.0}, then {:.0} to {:.0} ms); the last one connected",
        delays.join(", "),
        bounds(1).0,
        bounds(1).1,
        bounds(2).0,
        bounds(2).1,
    )))
}

async fn namespaces(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &RECONNECTING).await?;
    check::open_beside(&cx, "/chat").await?;
    let dropped = check::drop_transport(&cx).await?;
    let mut joined = std::collections::BTreeSet::new();
    let found = cx
        .saw(
            "CONNECTs for `/` and `/chat` after the transport dropped",
            RECONNECT_WAIT_MS,
            |o| {
                if let Seen::Connect { namespace, .. } = &o.seen {
                    if o.t_ms > dropped {
                        joined.insert(namespace.clone());
                    }
                }
                (joined.contains("/") && joined.contains("/chat")).then_some(())
            },
        )
        .await;
    if found.is_err() {
        return Err(Stop::Fail(format!(
            "after the transport dropped the client joined {joined:?} again within {} ms, not \
             both `/` and `/chat`",
            cx.ms(RECONNECT_WAIT_MS).as_millis()
        )));
    }
    nth_line(&cx, "connect", Some("/"), 2, REPLY_WAIT_MS).await?;
    nth_line(&cx, "connect", Some("/chat"), 2, REPLY_WAIT_MS).await?;
    Ok(Observed::ok(
        "after the transport dropped, both `/` and `/chat` were joined again and reported \
         connected",
    ))
}

async fn connect_error(mut cx: Ctx) -> Outcome {
    let mut setup = check::relaxed();
    setup.plan.refuse = vec![(
        "/".into(),
        Answer::Reject {
            message: "refused by siospec".into(),
            data: None,
        },
    )];
    cx.serve(setup).await?;
    cx.start(&RECONNECTING)?;
    let line = cx.event("connect_error", "/", CONNECT_WAIT_MS).await?;
    let mut connects = 0;
    let again = cx
        .saw("", NO_RETRY_WINDOW_MS, |o| match &o.seen {
            Seen::Connect { namespace, .. } if namespace == "/" => {
                connects += 1;
                (connects > 1).then_some(o.t_ms)
            }
            _ => None,
        })
        .await;
    match again {
        Ok(t_ms) => Err(Stop::Fail(format!(
            "the server refused `/` (CONNECT_ERROR; the application saw {line}), and the client \
             sent CONNECT for `/` again by itself at {t_ms:.0} ms"
        ))),
        Err(_) => Ok(Observed::ok(format!(
            "the application saw {line}; no new CONNECT within {NO_RETRY_WINDOW_MS} ms"
        ))),
    }
}

async fn attempt_reset(mut cx: Ctx) -> Outcome {
    check::connected(&mut cx, check::relaxed(), &RECONNECTING).await?;
    check::drop_transport(&cx).await?;
    nth_line(
        &cx,
        "connect",
        Some("/"),
        2,
        backoff_wait(2) + CONNECT_WAIT_MS,
    )
    .await?;
    let first: Vec<String> = cx
        .lines()
        .into_iter()
        .filter(|l| l["event"] == "reconnect_attempt")
        .map(|l| l["attempt"].to_string())
        .collect();
    let attempts = first.len();
    // The counter is the application's view: a client that reports no
    // attempt at all (python-socketio has no such event) leaves it unseen.
    if attempts == 0 {
        return Err(Stop::Skipped(
            "the client reconnected without reporting a `reconnect_attempt`: its attempt \
             counter cannot be seen"
                .into(),
        ));
    }
    let first = first.join(", ");
    check::drop_transport(&cx).await?;
    let line = nth_line(
        &cx,
        "reconnect_attempt",
        None,
        attempts + 1,
        backoff_wait(2),
    )
    .await?;
    if line["attempt"] == json!(1) {
        Ok(Observed::ok(format!(
            "reconnect_attempt {first} in the first reconnection, {} first in the second",
            line["attempt"]
        )))
    } else {
        Err(Stop::Fail(format!(
            "the first reconnection succeeded (reconnect_attempt {first}), and the next one \
             began with {line}, not attempt 1"
        )))
    }
}

async fn auth(mut cx: Ctx) -> Outcome {
    cx.serve(check::relaxed()).await?;
    let mut env = RECONNECTING.to_vec();
    env.push(("SIOSPEC_AUTH", AUTH));
    cx.start(&env)?;
    cx.event("connect", "/", CONNECT_WAIT_MS).await?;
    let again = check::reconnection_connect(&cx).await?;
    let got: serde_json::Value = serde_json::from_str(&again).unwrap_or(serde_json::Value::Null);
    let want: serde_json::Value = serde_json::from_str(AUTH).unwrap_or_default();
    if got == want {
        Ok(Observed::ok(format!(
            "the CONNECT of the reconnection carried {again} again"
        )))
    } else {
        Err(Stop::Fail(format!(
            "the CONNECT of the reconnection carried {again}, not {AUTH}"
        )))
    }
}

async fn after_close_packet(mut cx: Ctx) -> Outcome {
    check::connected(
        &mut cx,
        check::relaxed(),
        &[
            ("SIOSPEC_TRANSPORTS", "polling"),
            ("SIOSPEC_RECONNECTION", "true"),
        ],
    )
    .await?;
    // A bare close packet: no Socket.IO DISCONNECT before it.
    let close = check::payload_text(&[Packet::new(PacketType::Close)]);
    cx.control(Control::InjectPolling(close))?;
    let sent_at = cx
        .saw("the close packet sent", cx.conf().heartbeat(), |o| {
            matches!(o.seen, Seen::Injected(_)).then_some(o.t_ms)
        })
        .await?;
    let again = cx
        .saw(
            "a new handshake after the close packet",
            RECONNECT_WAIT_MS,
            |o| handshake_after(o, sent_at).then_some(o.t_ms),
        )
        .await?;
    let line = nth_line(&cx, "connect", Some("/"), 2, CONNECT_WAIT_MS).await?;
    Ok(Observed::ok(format!(
        "a new handshake {:.0} ms after the close packet (`1`), then {line}",
        again - sent_at
    )))
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "backoff", "Reconnection attempts follow the documented backoff")
            .req("reconnectionDelay — Default value: 1000. The initial delay before reconnection in milliseconds (affected by the randomizationFactor value). reconnectionDelayMax — Default value: 5000. The maximum delay between two reconnection attempts. Each attempt increases the reconnection delay by 2x. randomizationFactor — Default value: 0.5. [...] 1st reconnection attempt happens between 500 and 1500 ms (1000 * 2^0 * (<something between -0.5 and 1.5>)); 2nd reconnection attempt happens between 1000 and 3000 ms (1000 * 2^1 * (<something between -0.5 and 1.5>))")
            .should()
            .ok("two attempts (the first refused), each delay within its bounds")
            .waits(|_| backoff_wait(REFUSED + 1))
            .run_client(backoff),
        Case::new(S, "namespaces", "Every namespace reconnects after the transport drops")
            .req("`transport close`: The connection was closed (example: the user has lost connection, or the network was changed from WiFi to 4G) [...] the client will wait for a small random delay and then try to reconnect. At the beginning of a Socket.IO session, the client MUST send a `CONNECT` packet [...] A client MAY be connected to multiple namespaces at the same time: each namespace it was connected to is joined again.")
            .ok("CONNECTs for `/` and `/chat` on the new connection; both reported connected")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(namespaces),
        Case::new(S, "connect-error", "No reconnection by itself after CONNECT_ERROR")
            .req("`connect_error`: This event is fired when: the low-level connection cannot be established; the connection is denied by the server in a middleware function. In the first case, the Socket will automatically try to reconnect, after a given delay. In the latter case, you need to manually reconnect.")
            .ok("connect_error reported; no new CONNECT")
            .waits(|_| NO_RETRY_WINDOW_MS)
            .run_client(connect_error),
        Case::new(S, "attempt-reset", "The attempt count starts again after a successful reconnection")
            .req("reconnect_attempt: Fired upon an attempt to reconnect (attempt: reconnection attempt number). randomizationFactor: [...] 1st reconnection attempt happens between 500 and 1500 ms [...] 2nd reconnection attempt [...]: the count, and the backoff with it, restart at the 1st attempt once a reconnection has succeeded.")
            .should()
            .ok("reconnect_attempt 1 in both reconnections")
            .waits(|_| 2 * backoff_wait(2))
            .run_client(attempt_reset),
        Case::new(S, "auth", "A reconnection's CONNECT carries the auth again")
            .req("auth: Credentials that are sent when accessing a namespace. With an additional payload: Client > { type: CONNECT, namespace: \"/admin\", data: { \"token\": \"123\" } }: every CONNECT, a reconnection's included, carries them.")
            .ok("the CONNECT after the reconnection carries the auth given")
            .waits(|_| RECONNECT_WAIT_MS)
            .run_client(auth),
        Case::new(S, "after-close-packet", "A close packet from the server, without DISCONNECT, is reconnected from")
            .req("close | 1 | Used to indicate that a transport can be closed. `transport close`: The connection was closed [...] In the first two cases (explicit disconnection), the client will not try to reconnect [...] In all other cases, the client will wait for a small random delay and then try to reconnect")
            .ok("a new handshake, and `/` connected again")
            .waits(|c| c.heartbeat() + RECONNECT_WAIT_MS)
            .run_client(after_close_packet),
    ]
}

#[cfg(test)]
mod tests {
    use super::bounds;

    #[test]
    fn the_documented_delays() {
        // socket.io's client options page, randomizationFactor.
        assert_eq!(bounds(1), (500.0, 1500.0));
        assert_eq!(bounds(2), (1000.0, 3000.0));
        assert_eq!(bounds(3), (2000.0, 5000.0));
        assert_eq!(bounds(4), (4000.0, 5000.0));
        assert_eq!(bounds(5), (5000.0, 5000.0));
    }
}
