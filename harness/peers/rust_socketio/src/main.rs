//! rust_socketio's client driver for siospec's client mode (client contract
//! 1, harness/CLIENT-CONTRACT.md): `client-driver URL`, the case's options in
//! SIOSPEC_* variables, the application's view on stdout as one JSON object
//! per line. On `rust_socketio::asynchronous`, every other setting at its
//! default. What the library does not give, the driver cannot report (README.md).

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder, ReconnectSettings};
use rust_socketio::{Payload, TransportType};
use serde_json::{json, Value};

fn report(line: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// A payload as the application gets it: JSON arguments, or the one binary
/// value rust_socketio hands over for a binary packet, as {"$binary": …}.
#[allow(deprecated)]
fn args(payload: &Payload) -> Vec<Value> {
    match payload {
        Payload::Text(values) => values.clone(),
        Payload::Binary(b) => vec![json!({ "$binary": STANDARD.encode(b) })],
        Payload::String(s) => vec![serde_json::from_str(s).unwrap_or(Value::String(s.clone()))],
    }
}

/// An instruction's arguments as a payload: one binary value is a binary
/// payload; rust_socketio has no other way to send binary.
fn payload(args: &[Value]) -> Payload {
    match args {
        [Value::Object(o)] if o.len() == 1 => match o.get("$binary").and_then(Value::as_str) {
            Some(b) => Payload::Binary(STANDARD.decode(b).unwrap_or_default().into()),
            None => Payload::Text(args.to_vec()),
        },
        _ => Payload::Text(args.to_vec()),
    }
}

/// The joined namespaces, each a client (and an Engine.IO connection) of its own.
type Sockets = Arc<Mutex<HashMap<String, Client>>>;

/// A client of `nsp`, with the case's options and the driver's callbacks.
fn builder(url: &str, nsp: &str, sockets: &Sockets) -> ClientBuilder {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut b = ClientBuilder::new(url).namespace(nsp);
    if let Some(t) = env("SIOSPEC_TRANSPORTS") {
        b = b.transport_type(match (t.contains("polling"), t.contains("websocket")) {
            (true, false) => TransportType::Polling,
            (false, true) => TransportType::Websocket,
            _ => TransportType::Any,
        });
    }
    if let Some(r) = env("SIOSPEC_RECONNECTION") {
        b = b.reconnect(r == "true");
    }
    if let Some(a) = env("SIOSPEC_AUTH") {
        b = b.auth(serde_json::from_str::<Value>(&a).unwrap_or(Value::Null));
    }
    // rust_socketio numbers no attempt: the driver counts on_reconnect calls,
    // from 1 again after each connect, as the library's own loop does (poll_stream
    // builds a new backoff and attempt count for every reconnection).
    let attempts = Arc::new(AtomicU32::new(0));
    let reset = attempts.clone();
    let (n1, n2, n3, n4) = (
        nsp.to_owned(),
        nsp.to_owned(),
        nsp.to_owned(),
        nsp.to_owned(),
    );
    let (url, sockets) = (url.to_owned(), sockets.clone());
    b.on("open", move |_, _| {
        reset.store(0, Ordering::SeqCst);
        report(json!({ "event": "connect", "namespace": n1 }));
        async {}.boxed()
    })
    // Called for the server's DISCONNECT only, with an empty payload for a reason.
    .on("close", move |p, _| {
        let reason = args(&p).first().and_then(Value::as_str).unwrap_or("").to_owned();
        report(json!({ "event": "disconnect", "namespace": n2, "reason": reason }));
        async {}.boxed()
    })
    // A CONNECT_ERROR comes as the text "Received an ConnectError frame: DATA".
    .on("error", move |p, _| {
        let text = args(&p).first().and_then(Value::as_str).unwrap_or("").to_owned();
        eprintln!("error: {text}");
        if let Some(data) = text.strip_prefix("Received an ConnectError frame: ") {
            let err = serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()));
            let (message, data) = match &err {
                Value::Object(o) => (o.get("message").cloned(), o.get("data").cloned()),
                _ => (Some(err.clone()), None),
            };
            report(json!({ "event": "connect_error", "namespace": n3, "message": message, "data": data }));
        }
        async {}.boxed()
    })
    .on_reconnect(move || {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        report(json!({ "event": "reconnect_attempt", "attempt": attempt }));
        async { ReconnectSettings::new() }.boxed()
    })
    // No ack request reaches a callback: a server's emit-with-ack goes unanswered.
    .on_any(move |event, p, socket| {
        let (name, nsp, url, sockets) = (event.to_string(), n4.clone(), url.clone(), sockets.clone());
        async move {
            if name == "do" && nsp == "/" {
                return instruct(&url, &sockets, &socket, args(&p).first().cloned().unwrap_or_default()).await;
            }
            report(json!({ "event": "event", "namespace": nsp, "name": name, "args": args(&p) }));
            if name == "echo" {
                let _ = socket.emit("echo-back", p).await;
            }
        }
        .boxed()
    })
}

/// Joins `nsp`: a client of its own, rust_socketio having no multiplexing.
async fn join(url: String, nsp: String, sockets: Sockets) {
    match builder(&url, &nsp, &sockets).connect().await {
        Ok(c) => drop(sockets.lock().unwrap().insert(nsp, c)),
        Err(e) => report(
            json!({ "event": "connect_error", "namespace": nsp, "message": e.to_string(), "data": null }),
        ),
    }
}

/// The server's instructions: {"op": "open" | "emit" | "disconnect", ...}.
async fn instruct(url: &str, sockets: &Sockets, main: &Client, op: Value) {
    let nsp = op["namespace"].as_str().unwrap_or("/").to_owned();
    let socket = match nsp.as_str() {
        "/" => Some(main.clone()),
        _ => sockets.lock().unwrap().get(&nsp).cloned(),
    };
    let given = op["args"].as_array().cloned().unwrap_or_default();
    match (op["op"].as_str(), socket) {
        (Some("open"), _) => drop(tokio::spawn(join(url.to_owned(), nsp, sockets.clone()))),
        (Some("disconnect"), Some(s)) => drop(s.disconnect().await),
        (Some("emit"), Some(s)) if op["ack"] == true => {
            let (id, name) = (
                op["id"].clone(),
                op["name"].as_str().unwrap_or("").to_owned(),
            );
            // The ACK's data comes as one value, the array of its arguments.
            let done = move |p: Payload, _| {
                let args = match args(&p).as_slice() {
                    [Value::Array(a)] => a.clone(),
                    other => other.to_vec(),
                };
                report(json!({ "event": "ack", "namespace": nsp, "id": id, "args": args }));
                async {}.boxed()
            };
            let _ = s
                .emit_with_ack(name, payload(&given), Duration::from_secs(3600), done)
                .await;
        }
        (Some("emit"), Some(s)) => {
            let _ = s
                .emit(op["name"].as_str().unwrap_or(""), payload(&given))
                .await;
        }
        _ => {}
    }
}

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SIOSPEC_URL").ok())
        .expect("URL");
    let nsp = std::env::var("SIOSPEC_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or("/".into());
    join(url, nsp, Sockets::default()).await;
    std::future::pending::<()>().await; // siospec ends the process
}
