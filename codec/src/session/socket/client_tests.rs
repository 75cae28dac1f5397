//! One test per rule of the Socket.IO client.

use std::time::{Duration, Instant};

use super::*;
use crate::session::engine::{ClientCloseReason, ClientTransmit, Transports};
use crate::session::{Frame, SendError, TransportId};
use crate::socket::binary::Value;
use crate::socket::AckId;

const OPEN: &str =
    r#"0{"sid":"e1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct H {
    t0: Instant,
    now: Instant,
    c: ClientConnection,
    ws: TransportId,
}

fn options() -> ClientOptions {
    let mut o = ClientOptions::default();
    o.engine.transports = Transports {
        polling: false,
        websocket: true,
    };
    o
}

impl H {
    fn new(o: ClientOptions) -> Self {
        let t0 = Instant::now();
        let c = ClientConnection::new(t0, o);
        let mut h = H {
            t0,
            now: t0,
            c,
            ws: TransportId(0),
        };
        h.ws = h.open_ws();
        h
    }

    /// Takes the OpenWebSocket transmit and returns its id.
    fn open_ws(&mut self) -> TransportId {
        let ts = self.take();
        ts.iter()
            .find_map(|t| match t {
                ClientTransmit::OpenWebSocket { id, .. } => Some(*id),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no websocket in {ts:?}"))
    }

    /// Opens the Engine.IO session.
    fn open(&mut self) {
        self.c.handle_websocket_open(self.now, self.ws);
        self.recv(OPEN);
    }

    fn recv(&mut self, text: &str) {
        self.c
            .handle_frame(self.now, self.ws, Frame::Text(text.into()));
    }

    fn recv_bin(&mut self, b: &[u8]) {
        self.c
            .handle_frame(self.now, self.ws, Frame::Binary(b.to_vec()));
    }

    fn at(&mut self, t: u64) {
        self.now = self.t0 + ms(t);
        self.c.handle_timeout(self.now);
    }

    fn take(&mut self) -> Vec<ClientTransmit> {
        std::iter::from_fn(|| self.c.poll_transmit()).collect()
    }

    fn frames(&mut self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter_map(|t| match t {
                ClientTransmit::Frame {
                    frame: Frame::Text(s),
                    ..
                } => Some(s),
                ClientTransmit::Frame {
                    frame: Frame::Binary(b),
                    ..
                } => Some(format!("<{b:?}>")),
                ClientTransmit::CloseWebSocket { .. } => Some("<close>".into()),
                _ => None,
            })
            .collect()
    }

    fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }

    fn connected(o: ClientOptions, ns: &str) -> Self {
        let mut h = H::new(o);
        h.c.connect(h.now, ns, None).unwrap();
        h.open();
        h.frames();
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        h.recv(&format!(r#"40{prefix}{{"sid":"abc"}}"#));
        h.events();
        h
    }
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn connect_packets_go_out_when_the_session_opens() {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", None).unwrap();
    h.c.connect(h.now, "/custom", Some(r#"{"token":"1"}"#))
        .unwrap();
    assert!(h.frames().is_empty());
    h.open();
    assert_eq!(h.frames(), vec!["40", r#"40/custom,{"token":"1"}"#]);
    assert_eq!(h.events(), vec![ClientEvent::Open]);
}

#[test]
fn auth_must_be_an_object() {
    let mut h = H::new(options());
    assert_eq!(
        h.c.connect(h.now, "/", Some("[1]")),
        Err(SendError::Invalid)
    );
}

#[test]
fn connect_reply_connects_and_flushes_buffered_emits_and_events() {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", None).unwrap();
    h.c.emit(h.now, "/", &arr(vec![s("early")])).unwrap();
    assert_eq!(h.c.buffered_emits("/"), 1);
    h.open();
    h.frames();
    h.recv(r#"42["before"]"#);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Event { .. })));
    h.recv(r#"40{"sid":"abc"}"#);
    let ev = h.events();
    // As socket.io-client's `onconnect`: the buffered events, then `connect`.
    assert!(
        matches!(&ev[0], ClientEvent::Event { data, .. } if data.event_name().as_deref() == Some("before"))
    );
    assert_eq!(
        ev[1],
        ClientEvent::Connected {
            namespace: "/".into(),
            sid: "abc".into(),
            recovered: false,
        }
    );
    assert_eq!(h.frames(), vec![r#"42["early"]"#]);
    assert!(h.c.is_connected("/"));
    assert_eq!(h.c.socket_id("/"), Some("abc"));
}

#[test]
fn connect_without_sid_is_a_connect_error_that_keeps_waiting() {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", None).unwrap();
    h.open();
    h.frames();
    h.events();
    h.recv("40{}");
    assert_eq!(
        h.events(),
        vec![ClientEvent::ConnectError {
            namespace: "/".into(),
            error: ConnectError {
                message: Some(CONNECT_WITHOUT_SID.into()),
                data: None,
                raw: "{}".into(),
            },
        }]
    );
    assert!(!h.c.is_connected("/"));
    // Neither the namespace given up nor the connection closed (as
    // socket.io-client): nothing goes out, a later reply with a sid connects.
    h.at(100);
    assert_eq!(h.frames(), Vec::<String>::new());
    assert!(!h.c.is_closed());
    h.recv(r#"40{"sid":"abc"}"#);
    assert!(h.c.is_connected("/"));
}

#[test]
fn connect_error_gives_up_the_namespace_and_closes_when_none_is_left() {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", None).unwrap();
    h.open();
    h.frames();
    h.events();
    h.recv(r#"44{"message":"Not authorized","data":{"a":1}}"#);
    let ev = h.events();
    assert_eq!(
        ev[0],
        ClientEvent::ConnectError {
            namespace: "/".into(),
            error: ConnectError {
                message: Some("Not authorized".into()),
                data: Some(r#"{"a":1}"#.into()),
                raw: r#"{"message":"Not authorized","data":{"a":1}}"#.into()
            }
        }
    );
    assert!(h.frames().contains(&"<close>".to_owned()));
    assert!(h.c.is_closed());
    h.at(60_000);
    assert!(h.take().is_empty(), "no reconnection");
}

#[test]
fn server_disconnect_is_io_server_disconnect_and_not_retried() {
    let mut h = H::connected(options(), "/");
    h.recv("41");
    assert_eq!(
        h.events()[0],
        ClientEvent::Disconnected {
            namespace: "/".into(),
            reason: ClientDisconnectReason::IoServerDisconnect
        }
    );
    assert!(h.c.is_closed());
}

#[test]
fn acks_are_numbered_from_zero_resolved_once_and_unknown_ignored() {
    let mut h = H::connected(options(), "/");
    let a =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), None)
            .unwrap();
    let b =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), None)
            .unwrap();
    assert_eq!((a, b), (0, 1));
    assert_eq!(h.frames(), vec![r#"420["q"]"#, r#"421["q"]"#]);
    h.recv("430[1]");
    h.recv("430[1]");
    h.recv("439[1]");
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], ClientEvent::Ack { id: 0, .. }));
}

#[test]
fn ack_timeouts_fire_once() {
    let mut h = H::connected(options(), "/");
    let id =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), Some(ms(100)))
            .unwrap();
    h.at(100);
    assert_eq!(
        h.events(),
        vec![ClientEvent::AckTimeout {
            namespace: "/".into(),
            id
        }]
    );
    h.recv(&format!("43{id}[1]"));
    assert!(h.events().is_empty());
}

#[test]
fn server_ack_requests_are_answered_once() {
    let mut h = H::connected(options(), "/");
    h.recv(r#"425["q"]"#);
    let ev = h.events();
    let ClientEvent::Event { ack: Some(id), .. } = ev[0] else {
        panic!()
    };
    h.c.ack(h.now, "/", id, &arr(vec![s("a")])).unwrap();
    assert_eq!(h.frames(), vec![r#"435["a"]"#]);
    assert_eq!(
        h.c.ack(h.now, "/", id, &arr(vec![])),
        Err(SendError::UnknownAck)
    );
}

#[test]
fn binary_events_both_ways() {
    let mut h = H::connected(options(), "/");
    h.recv(r#"451-["b",{"_placeholder":true,"num":0}]"#);
    assert!(h.events().is_empty());
    h.recv_bin(&[7, 8]);
    let ev = h.events();
    let ClientEvent::Event { data, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(data.args().unwrap(), vec![Value::Binary(vec![7, 8])]);
    h.c.emit(h.now, "/", &arr(vec![s("up"), Value::Binary(vec![1])]))
        .unwrap();
    assert_eq!(
        h.frames(),
        vec![
            r#"451-["up",{"_placeholder":true,"num":0}]"#.to_owned(),
            "<[1]>".to_owned()
        ]
    );
}

#[test]
fn lost_connection_reconnects_with_backoff_and_reconnects_namespaces() {
    let mut h = H::connected(options(), "/");
    h.c.set_random(0.25);
    h.c.handle_websocket_closed(h.now, h.ws);
    let ev = h.events();
    assert_eq!(
        ev,
        vec![
            ClientEvent::Disconnected {
                namespace: "/".into(),
                reason: ClientDisconnectReason::Engine(ClientCloseReason::TransportClose)
            },
            ClientEvent::Closed {
                reason: ClientDisconnectReason::Engine(ClientCloseReason::TransportClose)
            },
            ClientEvent::Reconnecting {
                attempt: 1,
                delay: ms(875)
            }
        ]
    );
    // emits while disconnected are buffered
    h.c.emit(h.now, "/", &arr(vec![s("offline")])).unwrap();
    h.at(874);
    assert!(h.take().is_empty());
    h.at(875);
    assert_eq!(
        h.events(),
        vec![ClientEvent::ReconnectAttempt { attempt: 1 }]
    );
    h.ws = h.open_ws();
    h.open();
    assert_eq!(h.frames(), vec!["40"]);
    assert_eq!(
        h.events(),
        vec![ClientEvent::Open, ClientEvent::Reconnected { attempt: 1 }]
    );
    h.recv(r#"40{"sid":"new"}"#);
    assert_eq!(h.frames(), vec![r#"42["offline"]"#]);
    assert_eq!(h.c.backoff().attempts(), 0);
}

#[test]
fn failed_attempts_back_off_further_and_give_up_at_the_limit() {
    let mut o = options();
    o.reconnection_attempts = Some(2);
    o.backoff.jitter = 0.0;
    let mut h = H::connected(o, "/");
    h.c.handle_websocket_closed(h.now, h.ws);
    h.events();
    h.at(1000);
    h.ws = h.open_ws();
    h.c.handle_websocket_closed(h.now, h.ws); // the attempt fails before opening
    let ev = h.events();
    assert!(
        ev.contains(&ClientEvent::Reconnecting {
            attempt: 2,
            delay: ms(2000)
        }),
        "{ev:?}"
    );
    h.at(3000);
    h.ws = h.open_ws();
    h.c.handle_websocket_closed(h.now, h.ws);
    assert!(h.events().contains(&ClientEvent::ReconnectFailed));
    h.at(100_000);
    assert!(h.take().is_empty());
}

#[test]
fn an_engine_that_does_not_open_in_time_is_given_up() {
    let mut o = options();
    o.timeout = ms(500);
    let mut h = H::new(o);
    h.c.connect(h.now, "/", None).unwrap();
    h.at(500);
    let ev = h.events();
    // The Manager's `error`: connect_error "timeout" on the waiting namespace.
    assert_eq!(ev[0], connect_error("/", "timeout"));
    assert_eq!(
        ev[1],
        ClientEvent::Closed {
            reason: ClientDisconnectReason::OpenTimeout
        }
    );
    assert!(matches!(
        ev[2],
        ClientEvent::Reconnecting { attempt: 1, .. }
    ));
}

fn connect_error(namespace: &str, message: &str) -> ClientEvent {
    ClientEvent::ConnectError {
        namespace: namespace.into(),
        error: ConnectError {
            message: Some(message.into()),
            data: None,
            raw: String::new(),
        },
    }
}

#[test]
fn a_failed_open_is_a_connect_error_and_the_namespace_is_joined_on_reconnection() {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", None).unwrap();
    // The WebSocket is refused (socket.io-client: the Manager's `error`,
    // "websocket error", is each waiting socket's connect_error).
    h.c.handle_websocket_error(h.now, h.ws);
    let ev = h.events();
    assert_eq!(ev[0], connect_error("/", "websocket error"));
    assert!(matches!(ev[1], ClientEvent::Closed { .. }), "{ev:?}");
    assert!(
        matches!(ev[2], ClientEvent::Reconnecting { attempt: 1, .. }),
        "{ev:?}"
    );
    h.at(1500);
    h.ws = h.open_ws();
    h.open();
    assert_eq!(h.frames(), vec!["40"]);
}

#[test]
fn a_transport_error_is_a_connect_error_for_the_namespaces_still_connecting_only() {
    let mut h = H::connected(options(), "/");
    h.c.connect(h.now, "/b", None).unwrap();
    h.frames();
    h.c.handle_websocket_error(h.now, h.ws);
    let ev = h.events();
    let reason = ClientDisconnectReason::Engine(ClientCloseReason::TransportError(
        crate::session::engine::TransportError::WebSocket,
    ));
    assert_eq!(
        ev[..3],
        [
            connect_error("/b", "websocket error"),
            ClientEvent::Disconnected {
                namespace: "/".into(),
                reason
            },
            ClientEvent::Closed { reason },
        ]
    );
    // A close or a ping timeout is no error.
    let mut h = H::connected(options(), "/");
    h.c.connect(h.now, "/b", None).unwrap();
    h.c.handle_websocket_closed(h.now, h.ws);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::ConnectError { .. })));
}

#[test]
fn close_is_final() {
    let mut h = H::connected(options(), "/");
    h.c.close(h.now);
    assert_eq!(h.frames(), vec!["<close>"]);
    assert_eq!(
        h.events(),
        vec![
            ClientEvent::Disconnected {
                namespace: "/".into(),
                reason: ClientDisconnectReason::ForcedClose
            },
            ClientEvent::Closed {
                reason: ClientDisconnectReason::ForcedClose
            }
        ]
    );
    h.at(100_000);
    assert!(h.take().is_empty());
    assert!(h.c.is_closed());
}

#[test]
fn disconnecting_a_namespace_sends_disconnect_and_keeps_the_others() {
    let mut h = H::connected(options(), "/");
    h.c.connect(h.now, "/b", None).unwrap();
    h.recv(r#"40/b,{"sid":"x"}"#);
    h.frames();
    h.events();
    h.c.disconnect(h.now, "/b").unwrap();
    assert_eq!(h.frames(), vec!["41/b,"]);
    assert_eq!(
        h.events(),
        vec![ClientEvent::Disconnected {
            namespace: "/b".into(),
            reason: ClientDisconnectReason::IoClientDisconnect
        }]
    );
    assert!(h.c.is_connected("/"));
    h.c.disconnect(h.now, "/").unwrap();
    assert!(h.c.is_closed());
}

#[test]
fn undecodable_packets_close_and_reconnect() {
    let mut h = H::connected(options(), "/");
    h.recv("4abc");
    let ev = h.events();
    assert!(matches!(
        ev[0],
        ClientEvent::Violation(Violation::Decode(_))
    ));
    assert!(ev.contains(&ClientEvent::Closed {
        reason: ClientDisconnectReason::ParseError
    }));
    assert!(ev
        .iter()
        .any(|e| matches!(e, ClientEvent::Reconnecting { .. })));
}

#[test]
fn sent_acks_are_dropped_on_disconnect_and_timed_ones_fail_at_once() {
    let mut h = H::connected(options(), "/");
    let plain =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("a")]), None)
            .unwrap();
    let timed =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("b")]), Some(ms(10_000)))
            .unwrap();
    h.c.handle_websocket_closed(h.now, h.ws);
    let ev = h.events();
    assert!(ev.contains(&ClientEvent::AckTimeout {
        namespace: "/".into(),
        id: timed
    }));
    assert!(!ev.contains(&ClientEvent::AckTimeout {
        namespace: "/".into(),
        id: plain
    }));
    assert_eq!(h.c.pending_acks("/"), 0);
}

#[test]
fn buffered_emits_are_bounded() {
    let mut o = options();
    o.max_buffered_emits = 1;
    let mut h = H::new(o);
    h.c.connect(h.now, "/", None).unwrap();
    h.c.emit(h.now, "/", &arr(vec![s("a")])).unwrap();
    assert_eq!(
        h.c.emit(h.now, "/", &arr(vec![s("b")])),
        Err(SendError::Full)
    );
}

#[test]
fn packets_for_unknown_namespaces_are_ignored() {
    let mut h = H::connected(options(), "/");
    h.recv(r#"42/other,["x"]"#);
    assert!(h.events().is_empty());
    assert!(h.c.is_connected("/"));
}

#[test]
fn leaving_the_last_namespace_over_polling_sends_the_close_packet_once_drained() {
    use crate::session::engine::{HttpMethod, HttpRequest};
    let mut o = ClientOptions::default();
    o.engine.transports = Transports {
        polling: true,
        websocket: false,
    };
    let t0 = Instant::now();
    let mut c = ClientConnection::new(t0, o);
    c.connect(t0, "/", None).unwrap();
    let requests = |c: &mut ClientConnection| -> Vec<HttpRequest> {
        std::iter::from_fn(|| c.poll_transmit())
            .filter_map(|t| match t {
                ClientTransmit::Http(r) => Some(r),
                _ => None,
            })
            .collect()
    };
    let text = Some("text/plain; charset=UTF-8");
    let handshake = requests(&mut c).remove(0);
    c.handle_response(t0, handshake.id, 200, text, OPEN.as_bytes());
    // The next poll, and the CONNECT's POST.
    let rs = requests(&mut c);
    let (poll, post) = (rs[0].id, rs[1].id);
    assert_eq!(rs[1].body, b"40");
    c.handle_response(t0, post, 200, Some("text/html"), b"ok");
    c.handle_response(t0, poll, 200, text, br#"40{"sid":"abc"}"#);
    requests(&mut c);
    assert!(c.is_connected("/"));

    c.disconnect(t0 + ms(10), "/").unwrap();
    let rs = requests(&mut c);
    assert_eq!(
        rs.iter()
            .map(|r| (r.method, r.body.as_slice()))
            .collect::<Vec<_>>(),
        vec![(HttpMethod::Post, &b"41"[..])]
    );
    // engine.io-client's close() waits for that POST to drain, then sends
    // the close packet (socket.io-client 4.8 over polling: `41`, then `1`).
    assert!(!c.is_closed());
    c.handle_response(t0 + ms(20), rs[0].id, 200, Some("text/html"), b"ok");
    let rs = requests(&mut c);
    assert_eq!(
        rs.iter()
            .map(|r| (r.method, r.body.as_slice()))
            .collect::<Vec<_>>(),
        vec![(HttpMethod::Post, &b"1"[..])]
    );
    assert!(c.is_closed());
    // Only the application's view of the close: nothing of the closing session.
    let events: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(
            events.last(),
            Some(ClientEvent::Closed {
                reason: ClientDisconnectReason::ForcedClose
            })
        ),
        "{events:?}"
    );
}

/// Connection state recovery: `connected` with the server's `pid` offered
/// in the CONNECT reply, then the transport lost and the reconnection's
/// session opened; returns the reconnection's CONNECT.
fn recovery_reconnect(h: &mut H) -> String {
    h.c.handle_websocket_closed(h.now, h.ws);
    // Past the first attempt's longest delay.
    let at = h.now + ms(1500);
    h.now = at;
    h.c.handle_timeout(at);
    h.ws = h.open_ws();
    h.open();
    h.events();
    let frames = h.frames();
    assert_eq!(frames.len(), 1, "one CONNECT: {frames:?}");
    frames[0].clone()
}

fn with_pid(auth: Option<&str>) -> H {
    let mut h = H::new(options());
    h.c.connect(h.now, "/", auth).unwrap();
    h.open();
    h.frames();
    h.recv(r#"40{"sid":"a","pid":"P1"}"#);
    h
}

#[test]
fn recovery_sends_the_pid_alone_before_any_event() {
    let mut h = with_pid(None);
    // socket.io-client 4.8.4 on the wire: `40{"pid":"P1"}`, no offset.
    assert_eq!(recovery_reconnect(&mut h), r#"40{"pid":"P1"}"#);
}

#[test]
fn recovery_offset_is_the_last_string_of_the_latest_event_without_ack() {
    let mut h = with_pid(None);
    h.recv(r#"42["e","x","off-1"]"#);
    h.recv(r#"42["e","off-2"]"#);
    // Not a string at the end: the offset stays.
    h.recv(r#"42["e",{"n":1}]"#);
    // An ack request (its last argument is the callback) and an ACK do not count.
    h.recv(r#"421["e","off-asked"]"#);
    h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), None)
        .unwrap();
    h.recv(r#"430["off-ack"]"#);
    h.frames();
    assert_eq!(
        recovery_reconnect(&mut h),
        r#"40{"pid":"P1","offset":"off-2"}"#
    );
}

#[test]
fn recovery_an_event_of_its_name_alone_leaves_its_name_as_the_offset() {
    // As socket.io-client: the last element of the event array is taken.
    let mut h = with_pid(None);
    h.recv(r#"42["name-only"]"#);
    assert_eq!(
        recovery_reconnect(&mut h),
        r#"40{"pid":"P1","offset":"name-only"}"#
    );
}

#[test]
fn recovery_keeps_the_auth_beside_pid_and_offset_and_an_auth_key_wins() {
    let mut h = with_pid(Some(r#"{"token":"t","offset":"mine"}"#));
    h.recv(r#"42["e","off-1"]"#);
    // Object.assign({pid, offset}, auth), as measured.
    assert_eq!(
        recovery_reconnect(&mut h),
        r#"40{"pid":"P1","offset":"mine","token":"t"}"#
    );
}

#[test]
fn recovery_no_pid_offered_no_pid_sent() {
    let mut h = H::connected(options(), "/");
    h.recv(r#"42["e","off-1"]"#);
    assert_eq!(recovery_reconnect(&mut h), "40");
}

#[test]
fn recovery_a_reply_without_pid_forgets_it() {
    let mut h = with_pid(None);
    h.recv(r#"42["e","off-1"]"#);
    recovery_reconnect(&mut h);
    h.recv(r#"40{"sid":"b"}"#);
    assert_eq!(recovery_reconnect(&mut h), "40");
}

#[test]
fn recovery_restored_delivers_the_missed_events_in_order_then_connected_recovered() {
    let mut h = with_pid(None);
    assert!(matches!(
        h.events().last(),
        Some(ClientEvent::Connected {
            recovered: false,
            ..
        })
    ));
    h.recv(r#"42["e","off-1"]"#);
    recovery_reconnect(&mut h);
    // The server writes the missed events before its CONNECT reply.
    h.recv(r#"42["missed","m-1","off-2"]"#);
    h.recv(r#"42["missed","m-2","off-3"]"#);
    h.recv(r#"40{"sid":"a","pid":"P1"}"#);
    let ev = h.events();
    let names: Vec<String> = ev
        .iter()
        .map(|e| match e {
            ClientEvent::Event { data, .. } => data.elements().unwrap().join(","),
            ClientEvent::Connected { recovered, .. } => format!("connected {recovered}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            r#""missed","m-1","off-2""#,
            r#""missed","m-2","off-3""#,
            "connected true"
        ]
    );
    // The missed events' offsets count.
    assert_eq!(
        recovery_reconnect(&mut h),
        r#"40{"pid":"P1","offset":"off-3"}"#
    );
}

#[test]
fn recovery_a_new_pid_is_not_recovered() {
    let mut h = with_pid(None);
    recovery_reconnect(&mut h);
    h.recv(r#"40{"sid":"b","pid":"P2"}"#);
    assert!(matches!(
        h.events().last(),
        Some(ClientEvent::Connected {
            recovered: false,
            ..
        })
    ));
    assert_eq!(recovery_reconnect(&mut h), r#"40{"pid":"P2"}"#);
}

fn msgpack_options() -> ClientOptions {
    ClientOptions {
        parser: Parser::Msgpack,
        ..options()
    }
}

fn msgpack_frame(kind: PacketType, ns: &str, id: Option<u64>, data: Option<&Value>) -> Vec<u8> {
    let mut out = Vec::new();
    crate::socket::msgpack::encode(kind, ns, id.map(AckId::Exact), data, &mut out);
    out
}

impl H {
    /// The packets sent, each one binary message decoded as msgpack.
    fn msgpack_packets(&mut self) -> Vec<crate::socket::msgpack::Packet> {
        self.take()
            .into_iter()
            .filter_map(|t| match t {
                ClientTransmit::Frame { frame, .. } => Some(frame),
                _ => None,
            })
            .map(|frame| match frame {
                Frame::Binary(b) => crate::socket::msgpack::decode(
                    &b,
                    crate::Profile::Strict,
                    &crate::Limits::default(),
                )
                .unwrap(),
                Frame::Text(t) => panic!("a text frame on a msgpack connection: {t:?}"),
            })
            .collect()
    }
}

#[test]
fn msgpack_client_speaks_one_binary_message_per_packet() {
    let mut h = H::new(msgpack_options());
    h.c.connect(h.now, "/", Some(r#"{"token":"1"}"#)).unwrap();
    h.open();
    let connect = h.msgpack_packets();
    assert_eq!(connect.len(), 1);
    assert_eq!(connect[0].kind, PacketType::Connect);
    assert_eq!(
        connect[0].data,
        Some(Value::Object(vec![("token".into(), s("1"))]))
    );
    h.recv_bin(&msgpack_frame(
        PacketType::Connect,
        "/",
        None,
        Some(&Value::Object(vec![("sid".into(), s("abc"))])),
    ));
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Connected { sid, .. } if sid == "abc")));

    let data = arr(vec![s("up"), Value::Binary(vec![1, 2])]);
    h.c.emit(h.now, "/", &data).unwrap();
    let sent = h.msgpack_packets();
    assert_eq!(sent.len(), 1, "no attachment messages");
    assert_eq!(
        (sent[0].kind, sent[0].data.as_ref()),
        (PacketType::Event, Some(&data))
    );

    h.recv_bin(&msgpack_frame(PacketType::Event, "/", Some(4), Some(&data)));
    let got = h.events();
    let Some(ClientEvent::Event {
        data: payload, ack, ..
    }) = got.first()
    else {
        panic!("{got:?}")
    };
    assert_eq!(
        (payload.to_value().unwrap(), *ack),
        (data, Some(AckId::Exact(4)))
    );
}

#[test]
fn msgpack_client_closes_on_a_text_message() {
    let mut h = H::connected(msgpack_options(), "/");
    h.recv(r#"42["x"]"#);
    assert!(h.frames().contains(&"<close>".to_owned()));
}
