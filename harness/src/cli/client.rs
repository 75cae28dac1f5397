//! `siospec client URL`: the client contract's driver (harness/CLIENT-CONTRACT.md)
//! on siospec's own client, the codec's [`ClientConnection`] moved over real
//! sockets by the load generator's [`Conn`]. Glue only: every protocol
//! decision is the codec's.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use siospec::bench::conn::Conn;
use siospec::case::client::{from_json, to_json};
use siospec::tls::{Origin, Trust};
use siospec_codec::session::engine::Transports;
use siospec_codec::session::socket::{ClientConnection, ClientEvent, ClientOptions, Payload};
use siospec_codec::socket::binary::Value;

use super::EXIT_HARNESS;

#[derive(Debug, Args)]
pub(super) struct ClientArgs {
    /// The server's base URL, `http://HOST:PORT` or `https://HOST:PORT`
    /// (the Socket.IO path is the default, /socket.io/). Over https, the CA
    /// file of SIOSPEC_CA is trusted besides the platform's roots.
    #[arg(value_name = "URL")]
    url: String,
}

/// Runs until killed; returns only on a usage error.
pub(super) async fn client(args: ClientArgs) -> i32 {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let trust = Trust {
        ca: env("SIOSPEC_CA").map(PathBuf::from),
        insecure: false,
    };
    let origin = match Origin::parse(&args.url, &trust) {
        Ok(origin) => origin,
        Err(e) => {
            eprintln!("siospec: client: give the server as http(s)://HOST:PORT: {e}");
            return EXIT_HARNESS;
        }
    };
    let mut options = ClientOptions::default();
    if let Some(list) = env("SIOSPEC_TRANSPORTS") {
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        if let Some(bad) = names.iter().find(|n| !["polling", "websocket"].contains(n)) {
            eprintln!("siospec: client: SIOSPEC_TRANSPORTS: unknown transport {bad:?} (polling, websocket)");
            return EXIT_HARNESS;
        }
        options.engine.transports = Transports {
            polling: names.contains(&"polling"),
            websocket: names.contains(&"websocket"),
        };
    }
    if let Some(r) = env("SIOSPEC_RECONNECTION") {
        options.reconnection = r == "true";
    }
    if let Some(p) = env("SIOSPEC_PARSER") {
        match p.parse() {
            Ok(parser) => options.parser = parser,
            Err(e) => {
                eprintln!("siospec: client: SIOSPEC_PARSER: {e}");
                return EXIT_HARNESS;
            }
        }
    }
    let mut driver = Driver {
        conn: Conn::new(Arc::new(origin), options),
        auth: env("SIOSPEC_AUTH"),
        joined: BTreeSet::new(),
        asked: HashMap::new(),
    };
    let first = env("SIOSPEC_NAMESPACE").unwrap_or_else(|| "/".to_owned());
    if let Err(e) = driver.join(&first) {
        eprintln!("siospec: client: cannot join {first}: {e} (SIOSPEC_AUTH must be a JSON object)");
        return EXIT_HARNESS;
    }
    loop {
        // A fresh jitter for every backoff delay, as the official client
        // draws Math.random() for each (the machine draws no numbers).
        let random = getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64);
        driver.sio().set_random(random);
        let Some(event) = driver.conn.next_event().await else {
            break;
        };
        driver.on_event(event);
    }
    // Closed for good; the contract's driver stays until it is killed.
    std::future::pending().await
}

/// The application of the contract around the client machine.
struct Driver {
    conn: Conn,
    /// SIOSPEC_AUTH, sent with every namespace joined.
    auth: Option<String>,
    /// The namespaces joined, as the official driver's map of sockets.
    joined: BTreeSet<String>,
    /// The instructed emits waiting for their ack: (namespace, ack id) to
    /// the instruction's `id`.
    asked: HashMap<(String, u64), serde_json::Value>,
}

impl Driver {
    fn sio(&mut self) -> &mut ClientConnection {
        self.conn.sio()
    }

    fn join(&mut self, namespace: &str) -> Result<(), siospec_codec::session::SendError> {
        self.joined.insert(namespace.to_owned());
        let auth = self.auth.clone();
        self.sio()
            .connect(Instant::now(), namespace, auth.as_deref())
    }

    fn on_event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Connected {
                namespace,
                recovered,
                ..
            } => {
                report(
                    json!({ "event": "connect", "namespace": namespace, "recovered": recovered }),
                );
            }
            ClientEvent::ConnectError { namespace, error } => {
                let data = error
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok());
                report(json!({
                    "event": "connect_error",
                    "namespace": namespace,
                    "message": error.message.unwrap_or_default(),
                    "data": data.unwrap_or(serde_json::Value::Null),
                }));
            }
            ClientEvent::Disconnected { namespace, reason } => {
                report(json!({
                    "event": "disconnect",
                    "namespace": namespace,
                    "reason": reason.node_reason(),
                }));
            }
            ClientEvent::ReconnectAttempt { attempt } => {
                report(json!({ "event": "reconnect_attempt", "attempt": attempt }));
            }
            ClientEvent::Event {
                namespace,
                data,
                ack,
            } => self.on_server_event(&namespace, &data, ack),
            ClientEvent::Ack {
                namespace,
                id,
                data,
            } => {
                let Some(tag) = self.asked.remove(&(namespace.clone(), id)) else {
                    return;
                };
                let args = args_or_log(data.items(), &data);
                report(json!({
                    "event": "ack",
                    "namespace": namespace,
                    "id": tag,
                    "args": args.iter().map(to_json).collect::<Vec<_>>(),
                }));
            }
            ClientEvent::Violation(v) => {
                eprintln!("siospec: client: the server broke a rule: {v:?}")
            }
            _ => {}
        }
    }

    fn on_server_event(
        &mut self,
        namespace: &str,
        data: &Payload,
        ack: Option<siospec_codec::socket::AckId>,
    ) {
        let now = Instant::now();
        let name = data.event_name().unwrap_or_default();
        let args = args_or_log(data.args(), data);
        if name == "do" && namespace == "/" {
            if let Some(op) = args.first() {
                self.instruct(op);
            }
            return;
        }
        report(json!({
            "event": "event",
            "namespace": namespace,
            "name": name,
            "args": args.iter().map(to_json).collect::<Vec<_>>(),
        }));
        if name == "echo" {
            let event = event_array("echo-back", args.clone());
            log_error("echo-back", self.sio().emit(now, namespace, &event));
        }
        if let Some(id) = ack {
            let answered = self.sio().ack(now, namespace, id, &Value::Array(args));
            log_error("ack", answered);
        }
    }

    /// Carries out a `do` instruction; unknown ones are ignored.
    fn instruct(&mut self, op: &Value) {
        let now = Instant::now();
        let field = |key: &str| match op {
            Value::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        };
        let text = |key: &str| match field(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let namespace = text("namespace").unwrap_or_else(|| "/".to_owned());
        let joined = self.joined.contains(&namespace);
        match text("op").as_deref() {
            Some("open") => log_error("open", self.join(&namespace)),
            Some("disconnect") if joined => {
                log_error("disconnect", self.sio().disconnect(now, &namespace));
            }
            Some("emit") if joined => {
                let name = text("name").unwrap_or_default();
                let args = match field("args") {
                    Some(Value::Array(items)) => items.iter().map(from_json).collect(),
                    _ => Vec::new(),
                };
                let event = event_array(&name, args);
                if matches!(field("ack"), Some(Value::Bool(true))) {
                    let tag = field("id").map_or(serde_json::Value::Null, to_json);
                    match self.sio().emit_with_ack(now, &namespace, &event, None) {
                        Ok(id) => {
                            self.asked.insert((namespace, id), tag);
                        }
                        Err(e) => log_error("emit", Err(e)),
                    }
                } else {
                    log_error("emit", self.sio().emit(now, &namespace, &event));
                }
            }
            _ => {}
        }
    }
}

/// One line of the contract on stdout.
fn report(line: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout leaves nothing to tell: siospec is gone.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn log_error(what: &str, r: Result<(), siospec_codec::session::SendError>) {
    if let Err(e) = r {
        eprintln!("siospec: client: {what}: {e}");
    }
}

fn args_or_log<E: std::fmt::Display>(args: Result<Vec<Value>, E>, data: &Payload) -> Vec<Value> {
    args.unwrap_or_else(|e| {
        eprintln!("siospec: client: cannot read {data}: {e}");
        Vec::new()
    })
}

/// `[name, args…]`, the data of an emit.
fn event_array(name: &str, args: Vec<Value>) -> Value {
    Value::Array(
        std::iter::once(Value::String(name.to_owned()))
            .chain(args)
            .collect(),
    )
}
