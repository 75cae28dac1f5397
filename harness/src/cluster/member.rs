//! One client of a cluster case: the codec's Socket.IO client machine over
//! a WebSocket to one node (`bench::conn::Conn`), joined to `/`, on a task
//! of its own, so that a case can emit from one member while every other
//! member keeps receiving. Every event it gets is kept, in order, with
//! when it came.

use std::sync::Arc;
use std::time::{Duration, Instant};

use siospec_codec::session::socket::ClientEvent;
use siospec_codec::socket::binary::Value;
use tokio::sync::{mpsc, oneshot};

use crate::bench::conn::{Conn, Transport};
use crate::tls::Origin;

/// How long joining `/` may take.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// What the case asks the member's task to do.
enum Command {
    /// Emit `[event, args…]`; with a sender, ask for an ack and send back
    /// its arguments as JSON (or why none came).
    Emit {
        data: Value,
        ack: Option<oneshot::Sender<Result<String, String>>>,
    },
}

/// One event a member received: its name and its arguments as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// The event name.
    pub name: String,
    /// The arguments, as the JSON array after the name (`["x"]`).
    pub args: String,
}

/// A connected client.
pub struct Member {
    /// `A1`, `B2`…: the node's letter and the member's number on it.
    pub name: String,
    /// The node it is connected to (0 for A).
    pub node: usize,
    commands: mpsc::Sender<Command>,
    events: mpsc::UnboundedReceiver<Got>,
    /// Everything received so far, in order.
    pub received: Vec<Got>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long an ack may take.
const ACK_WAIT: Duration = Duration::from_secs(5);

impl Member {
    /// Connects to `url` (the node `node`) and joins `/`.
    pub async fn join(url: &str, node: usize, name: String) -> Result<Member, String> {
        let origin = Origin::parse(url, &crate::tls::Trust::default())?;
        let mut conn = Conn::start(Arc::new(origin), Transport::WebSocket);
        let deadline = Instant::now() + CONNECT_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, conn.next_event()).await {
                Ok(Some(ClientEvent::Connected { .. })) => break,
                Ok(Some(ClientEvent::ConnectError { error, .. })) => {
                    let why = error.message.unwrap_or(error.raw);
                    return Err(format!("{name} could not join / on {url}: {why}"));
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("{name}: the connection to {url} closed")),
                Err(_) => {
                    return Err(format!(
                        "{name} did not join / on {url} within {} s",
                        CONNECT_WAIT.as_secs()
                    ))
                }
            }
        }
        let (commands, mut inbox) = mpsc::channel::<Command>(64);
        let (events_tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut acks: Vec<(u64, oneshot::Sender<Result<String, String>>)> = Vec::new();
            loop {
                tokio::select! {
                    command = inbox.recv() => match command {
                        Some(Command::Emit { data, ack: None }) => {
                            let _ = conn.sio().emit(Instant::now(), "/", &data);
                        }
                        Some(Command::Emit { data, ack: Some(reply) }) => {
                            match conn.sio().emit_with_ack(Instant::now(), "/", &data, Some(ACK_WAIT)) {
                                Ok(id) => acks.push((id, reply)),
                                Err(e) => { let _ = reply.send(Err(format!("{e:?}"))); }
                            }
                        }
                        None => return,
                    },
                    event = conn.next_event() => match event {
                        Some(ClientEvent::Event { data, .. }) => {
                            let name = data.event_name().unwrap_or_default();
                            let args = data.elements().map(|e| format!("[{}]", e[1..].join(","))).unwrap_or_default();
                            if events_tx.send(Got { name, args }).is_err() {
                                return;
                            }
                        }
                        Some(ClientEvent::Ack { id, data, .. }) => {
                            if let Some(i) = acks.iter().position(|(a, _)| *a == id) {
                                let (_, reply) = acks.swap_remove(i);
                                let _ = reply.send(Ok(data.json().unwrap_or("").to_owned()));
                            }
                        }
                        Some(ClientEvent::AckTimeout { id, .. }) => {
                            if let Some(i) = acks.iter().position(|(a, _)| *a == id) {
                                let (_, reply) = acks.swap_remove(i);
                                let _ = reply.send(Err(format!("no ack within {} s", ACK_WAIT.as_secs())));
                            }
                        }
                        Some(_) => {}
                        None => return,
                    },
                }
            }
        });
        Ok(Member {
            name,
            node,
            commands,
            events,
            received: Vec::new(),
            task,
        })
    }

    fn data(event: &str, args: &[&str]) -> Value {
        let mut items = vec![Value::String(event.to_owned())];
        items.extend(args.iter().map(|a| Value::String((*a).to_owned())));
        Value::Array(items)
    }

    /// Emits `event` with string `args`, without ack.
    pub async fn emit(&self, event: &str, args: &[&str]) -> Result<(), String> {
        self.commands
            .send(Command::Emit {
                data: Self::data(event, args),
                ack: None,
            })
            .await
            .map_err(|_| format!("{}: its connection is gone", self.name))
    }

    /// Emits `event` with string `args` and waits for the ack's arguments
    /// (as a JSON array).
    pub async fn emit_with_ack(&self, event: &str, args: &[&str]) -> Result<String, String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Emit {
                data: Self::data(event, args),
                ack: Some(reply),
            })
            .await
            .map_err(|_| format!("{}: its connection is gone", self.name))?;
        answer
            .await
            .map_err(|_| format!("{}: its connection is gone", self.name))?
    }

    /// Takes in what arrived so far, waiting up to `wait` for more.
    pub async fn gather(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(got)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            self.received.push(got);
        }
    }

    /// How many `name` events with `args` it has received.
    pub fn count(&self, name: &str, args: &str) -> usize {
        self.received
            .iter()
            .filter(|g| g.name == name && g.args == args)
            .count()
    }
}
