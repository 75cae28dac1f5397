//! The applications the reference server runs on top of the session
//! machines: the Engine.IO echo of engine mode, and the testee contract of
//! socket mode (harness/CONTRACT.md). They only decide what to say; every
//! protocol rule is the machines'.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use siospec_codec::session::engine::{Event, ServerSession, SessionInfo, Transmit};
use siospec_codec::session::socket::{Payload, ServerConnection, ServerEvent};
use siospec_codec::session::{Frame, RequestHead, TransportId};
use tokio::sync::mpsc;

use super::session::{Input, Machine};

/// Engine mode: every message goes back to the session it came from.
pub struct Echo {
    session: ServerSession,
}

impl Echo {
    /// An echo over `session`.
    pub fn new(session: ServerSession) -> Self {
        Echo { session }
    }
}

/// The inputs both machines take, forwarded as they are.
macro_rules! forward_inputs {
    ($inner:ident) => {
        fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
            self.$inner.handle_request(now, id, head);
        }
        fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]) {
            self.$inner.handle_body(now, id, chunk);
        }
        fn handle_body_end(&mut self, now: Instant, id: TransportId) {
            self.$inner.handle_body_end(now, id);
        }
        fn handle_request_closed(&mut self, now: Instant, id: TransportId) {
            self.$inner.handle_request_closed(now, id);
        }
        fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
            self.$inner.handle_websocket(now, id, head);
        }
        fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
            self.$inner.handle_frame(now, id, frame);
        }
        fn handle_frame_too_big(&mut self, now: Instant, id: TransportId) {
            self.$inner.handle_frame_too_big(now, id);
        }
        fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
            self.$inner.handle_websocket_closed(now, id);
        }
        fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
            self.$inner.handle_websocket_error(now, id);
        }
        fn handle_timeout(&mut self, now: Instant) {
            self.$inner.handle_timeout(now);
        }
        fn shutdown(&mut self, now: Instant) {
            self.$inner.shutdown(now);
        }
        fn poll_transmit(&mut self) -> Option<Transmit> {
            self.$inner.poll_transmit()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.$inner.poll_timeout()
        }
    };
}

impl Machine for Echo {
    forward_inputs!(session);

    fn react(&mut self, now: Instant) {
        while let Some(event) = self.session.poll_event() {
            if let Event::Message(message) = event {
                // A client that does not read is closed by the session when
                // its buffer is full; there is nothing more to do here.
                let _ = self.session.send(now, message);
            }
        }
    }

    fn deliver(&mut self, _now: Instant, _command: Command) {}

    fn info(&self) -> Option<SessionInfo> {
        self.session.info()
    }

    fn is_finished(&self) -> bool {
        self.session.is_closed() && self.session.queued_transmits() == 0
    }
}

/// What one session asks another to do (socket mode's rooms and broadcasts).
#[derive(Debug, Clone)]
pub enum Command {
    /// Emit this event array (placeholders included) with its attachments.
    Emit {
        namespace: String,
        json: Arc<str>,
        attachments: Arc<Vec<Vec<u8>>>,
    },
}

/// The sessions of socket mode, by namespace and room, so one session's
/// event can reach others.
#[derive(Default)]
pub struct Hub {
    members: Mutex<HashMap<String, HashMap<String, mpsc::Sender<Input>>>>,
    rooms: Mutex<HashMap<(String, String), HashSet<String>>>,
}

impl Hub {
    fn join_namespace(&self, namespace: &str, sid: &str, tx: &mpsc::Sender<Input>) {
        if let Ok(mut m) = self.members.lock() {
            m.entry(namespace.to_owned())
                .or_default()
                .insert(sid.to_owned(), tx.clone());
        }
    }

    fn leave_namespace(&self, namespace: &str, sid: &str) {
        if let Ok(mut m) = self.members.lock() {
            if let Some(members) = m.get_mut(namespace) {
                members.remove(sid);
            }
        }
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.retain(|(ns, _), members| {
                if ns == namespace {
                    members.remove(sid);
                }
                !members.is_empty()
            });
        }
    }

    fn join_room(&self, namespace: &str, room: &str, sid: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms
                .entry((namespace.to_owned(), room.to_owned()))
                .or_default()
                .insert(sid.to_owned());
        }
    }

    fn leave_room(&self, namespace: &str, room: &str, sid: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            let key = (namespace.to_owned(), room.to_owned());
            if let Some(members) = rooms.get_mut(&key) {
                members.remove(sid);
                if members.is_empty() {
                    rooms.remove(&key);
                }
            }
        }
    }

    /// The input queues of the namespace's members (in `room`, when given).
    fn recipients(
        &self,
        namespace: &str,
        room: Option<&str>,
    ) -> Vec<(String, mpsc::Sender<Input>)> {
        let Ok(members) = self.members.lock() else {
            return Vec::new();
        };
        let Some(members) = members.get(namespace) else {
            return Vec::new();
        };
        let in_room: Option<HashSet<String>> = room.map(|room| {
            self.rooms
                .lock()
                .ok()
                .and_then(|r| r.get(&(namespace.to_owned(), room.to_owned())).cloned())
                .unwrap_or_default()
        });
        members
            .iter()
            .filter(|(sid, _)| in_room.as_ref().is_none_or(|r| r.contains(*sid)))
            .map(|(sid, tx)| (sid.clone(), tx.clone()))
            .collect()
    }
}

/// Socket mode: the testee contract on namespaces `/` and `/custom`.
pub struct Contract {
    connection: ServerConnection,
    sid: String,
    hub: Arc<Hub>,
    inbox: mpsc::Sender<Input>,
    socket_ids: u64,
}

/// The namespaces the contract serves.
const NAMESPACES: [&str; 2] = ["/", "/custom"];

impl Contract {
    /// The contract over `connection`, whose session is `sid` and whose task
    /// reads `inbox`.
    pub fn new(
        connection: ServerConnection,
        sid: String,
        hub: Arc<Hub>,
        inbox: mpsc::Sender<Input>,
    ) -> Self {
        Contract {
            connection,
            sid,
            hub,
            inbox,
            socket_ids: 0,
        }
    }

    fn socket_id(&mut self) -> String {
        self.socket_ids += 1;
        format!("{}-{}", self.sid, self.socket_ids)
    }

    fn on_event(
        &mut self,
        now: Instant,
        namespace: String,
        data: Payload,
        ack: Option<siospec_codec::socket::AckId>,
    ) {
        let Some(elements) = data.elements() else {
            return;
        };
        let Some(name) = data.event_name() else {
            return;
        };
        let args = elements.get(1..).unwrap_or_default();
        let attachments = data.attachments().to_vec();
        let array = |head: &str, args: &[&str]| {
            let mut json = format!("[\"{head}\"");
            for arg in args {
                json.push(',');
                json.push_str(arg);
            }
            json.push(']');
            json
        };
        let answer_ok = |connection: &mut ServerConnection| {
            if let Some(id) = ack {
                let _ = connection.ack_raw(now, &namespace, id, "[\"ok\"]", Vec::new());
            }
        };
        let room = || {
            args.first()
                .and_then(|r| serde_json::from_str::<String>(r).ok())
        };
        match name.as_str() {
            "message" => {
                let _ = self.connection.emit_raw(
                    now,
                    &namespace,
                    &array("message-back", args),
                    attachments,
                );
            }
            "message-with-ack" => {
                if let Some(id) = ack {
                    let json = format!("[{}]", args.join(","));
                    let _ = self
                        .connection
                        .ack_raw(now, &namespace, id, &json, attachments);
                }
            }
            "emit-with-ack" => {
                let json = array("emit-with-ack", args);
                let _ =
                    self.connection
                        .emit_raw_with_ack(now, &namespace, &json, attachments, None);
            }
            "join" => {
                if let Some(room) = room() {
                    self.hub.join_room(&namespace, &room, &self.sid);
                }
                answer_ok(&mut self.connection);
            }
            "leave" => {
                if let Some(room) = room() {
                    self.hub.leave_room(&namespace, &room, &self.sid);
                }
                answer_ok(&mut self.connection);
            }
            "to-room" => {
                if let Some(room) = room() {
                    let json: Arc<str> = array("room-message", &args[1..]).into();
                    let attachments = Arc::new(attachments);
                    for (sid, tx) in self.hub.recipients(&namespace, Some(&room)) {
                        if sid != self.sid {
                            let command = Command::Emit {
                                namespace: namespace.clone(),
                                json: json.clone(),
                                attachments: attachments.clone(),
                            };
                            let _ = tx.try_send(Input::Command(command));
                        }
                    }
                }
                answer_ok(&mut self.connection);
            }
            "broadcast" => {
                let json: Arc<str> = array("broadcast-message", args).into();
                let attachments = Arc::new(attachments);
                for (sid, tx) in self.hub.recipients(&namespace, None) {
                    let command = Command::Emit {
                        namespace: namespace.clone(),
                        json: json.clone(),
                        attachments: attachments.clone(),
                    };
                    if sid == self.sid {
                        self.deliver(now, command);
                    } else {
                        let _ = tx.try_send(Input::Command(command));
                    }
                }
                answer_ok(&mut self.connection);
            }
            "disconnect-me" => {
                let _ = self.connection.disconnect(now, &namespace);
                self.hub.leave_namespace(&namespace, &self.sid);
            }
            "close-transport" => {
                let _ = self.inbox.try_send(Input::DropTransport);
            }
            _ => {}
        }
    }
}

impl Machine for Contract {
    forward_inputs!(connection);

    fn react(&mut self, now: Instant) {
        while let Some(event) = self.connection.poll_event() {
            match event {
                ServerEvent::Connect { namespace, auth } => {
                    if !NAMESPACES.contains(&namespace.as_str()) {
                        let _ = self.connection.reject_invalid_namespace(now, &namespace);
                        continue;
                    }
                    let id = self.socket_id();
                    if self.connection.accept(now, &namespace, &id).is_ok() {
                        self.hub.join_namespace(&namespace, &self.sid, &self.inbox);
                        let _ = self.connection.emit_raw(
                            now,
                            &namespace,
                            &format!("[\"auth\",{auth}]"),
                            Vec::new(),
                        );
                    }
                }
                ServerEvent::Event {
                    namespace,
                    data,
                    ack,
                } => self.on_event(now, namespace, data, ack),
                ServerEvent::Ack {
                    namespace, data, ..
                } => {
                    let args = data.elements().unwrap_or_default();
                    let mut json = String::from("[\"emit-with-ack-result\"");
                    for arg in args {
                        json.push(',');
                        json.push_str(arg);
                    }
                    json.push(']');
                    let _ = self.connection.emit_raw(
                        now,
                        &namespace,
                        &json,
                        data.attachments().to_vec(),
                    );
                }
                ServerEvent::Disconnect { namespace, .. } => {
                    self.hub.leave_namespace(&namespace, &self.sid)
                }
                ServerEvent::Closed(_) => {
                    for namespace in NAMESPACES {
                        self.hub.leave_namespace(namespace, &self.sid);
                    }
                }
                ServerEvent::AckTimeout { .. }
                | ServerEvent::Violation(_)
                | ServerEvent::Engine(_) => {}
            }
        }
    }

    fn deliver(&mut self, now: Instant, command: Command) {
        match command {
            Command::Emit {
                namespace,
                json,
                attachments,
            } => {
                if self.connection.is_connected(&namespace) {
                    let _ = self
                        .connection
                        .emit_raw(now, &namespace, &json, attachments.to_vec());
                }
            }
        }
    }

    fn info(&self) -> Option<SessionInfo> {
        self.connection.engine().info()
    }

    fn is_finished(&self) -> bool {
        self.connection.is_closed() && self.connection.engine().queued_transmits() == 0
    }
}
