//! One test per rule of the Socket.IO server layer.

use std::time::{Duration, Instant};

use super::*;
use crate::session::engine::{
    CloseReason, Endpoint, ServerConfig, ServerSession, Transmit, Verdict,
};
use crate::session::{Frame, RequestHead, SendError, TransportId};
use crate::socket::binary::Value;
use crate::socket::AckId;

const WS: TransportId = TransportId(1);

struct H {
    t0: Instant,
    now: Instant,
    c: ServerConnection,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn open(config: ServerConfig, options: ServerOptions, query: &str) -> H {
    let t0 = Instant::now();
    let endpoint = Endpoint::new(config);
    let head = RequestHead::websocket(query);
    let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else {
        panic!()
    };
    let engine = ServerSession::new(
        t0,
        endpoint.config().clone(),
        "e1",
        h.accept().unwrap(),
        WS,
        &head,
    );
    let mut h = H {
        t0,
        now: t0,
        c: ServerConnection::new(t0, engine, options),
    };
    h.frames();
    h
}

fn suite() -> H {
    open(
        ServerConfig::suite(),
        ServerOptions {
            connect_timeout: ms(1000),
            ..ServerOptions::default()
        },
        "EIO=4&transport=websocket",
    )
}

fn slow_pings() -> H {
    let config = ServerConfig {
        ping_interval: ms(10_000),
        ..ServerConfig::suite()
    };
    open(
        config,
        ServerOptions {
            connect_timeout: ms(1000),
            ..ServerOptions::default()
        },
        "EIO=4&transport=websocket",
    )
}

fn legacy() -> H {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    };
    open(
        config,
        ServerOptions::default(),
        "EIO=3&transport=websocket",
    )
}

impl H {
    fn send(&mut self, text: &str) {
        self.c.handle_frame(self.now, WS, Frame::Text(text.into()));
    }

    fn send_bin(&mut self, bytes: &[u8]) {
        self.c
            .handle_frame(self.now, WS, Frame::Binary(bytes.to_vec()));
    }

    fn at(&mut self, t: u64) {
        self.now = self.t0 + ms(t);
        self.c.handle_timeout(self.now);
    }

    fn frames(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.c.poll_transmit())
            .filter_map(|t| match t {
                Transmit::Frame {
                    frame: Frame::Text(s),
                    ..
                } => Some(s),
                Transmit::Frame {
                    frame: Frame::Binary(b),
                    ..
                } => Some(format!("<{b:?}>")),
                Transmit::CloseWebSocket { .. } => Some("<close>".into()),
                _ => None,
            })
            .collect()
    }

    fn events(&mut self) -> Vec<ServerEvent> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }

    fn join(&mut self, ns: &str, sid: &str) {
        let frame = if ns == "/" {
            "40".to_owned()
        } else {
            format!("40{ns},")
        };
        self.send(&frame);
        assert!(matches!(self.events()[..], [ServerEvent::Connect { .. }]));
        self.c.accept(self.now, ns, sid).unwrap();
        self.frames();
    }

    fn closed(&mut self) -> bool {
        self.frames().contains(&"<close>".to_owned())
    }
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn connect_is_decided_by_the_application() {
    let mut h = suite();
    h.send("40");
    assert_eq!(
        h.events(),
        vec![ServerEvent::Connect {
            namespace: "/".into(),
            auth: "{}".into()
        }]
    );
    assert!(h.frames().is_empty());
    h.c.accept(h.now, "/", "abc").unwrap();
    assert_eq!(h.frames(), vec![r#"40{"sid":"abc"}"#]);
    assert!(h.c.is_connected("/"));
}

#[test]
fn connect_auth_and_custom_namespace() {
    let mut h = suite();
    h.send(r#"40/custom,{"token":"abc"}"#);
    assert_eq!(
        h.events(),
        vec![ServerEvent::Connect {
            namespace: "/custom".into(),
            auth: r#"{"token":"abc"}"#.into()
        }]
    );
    h.c.accept(h.now, "/custom", "x").unwrap();
    assert_eq!(h.frames(), vec![r#"40/custom,{"sid":"x"}"#]);
}

#[test]
fn accept_without_a_pending_connect_fails() {
    let mut h = suite();
    assert_eq!(h.c.accept(h.now, "/", "x"), Err(SendError::NotConnected));
}

#[test]
fn invalid_namespace_is_refused_and_the_connection_stays() {
    let mut h = suite();
    h.send("40/random");
    h.events();
    h.c.reject_invalid_namespace(h.now, "/random").unwrap();
    assert_eq!(
        h.frames(),
        vec![r#"44/random,{"message":"Invalid namespace"}"#]
    );
    assert!(!h.c.is_closed());
    h.join("/", "a");
}

#[test]
fn middleware_rejection_carries_message_and_data() {
    let mut h = suite();
    h.send("40");
    h.events();
    h.c.reject(
        h.now,
        "/",
        "Not authorized",
        Some(&serde_json::json!({"x": 1})),
    )
    .unwrap();
    assert_eq!(
        h.frames(),
        vec![r#"44{"message":"Not authorized","data":{"x":1}}"#]
    );
    h.send("40/a,");
    h.events();
    h.c.reject(h.now, "/a", "no", None).unwrap();
    assert_eq!(h.frames(), vec![r#"44/a,{"message":"no"}"#]);
}

#[test]
fn connect_timeout_closes_when_nothing_joined() {
    let mut h = slow_pings();
    h.at(999);
    assert!(h.events().is_empty());
    h.at(1000);
    let ev = h.events();
    assert_eq!(ev[0], ServerEvent::Violation(Violation::ConnectTimeout));
    assert!(h.closed());
    assert!(ev.contains(&ServerEvent::Closed(CloseReason::ServerClose)));
}

#[test]
fn connect_timeout_stops_once_joined() {
    let mut h = slow_pings();
    h.join("/", "a");
    h.send("41");
    h.at(1000);
    assert!(!h.c.is_closed());
}

#[test]
fn disconnect_leaves_one_namespace_and_keeps_the_connection() {
    let mut h = suite();
    h.join("/", "a");
    h.join("/custom", "b");
    h.send("41/custom,");
    assert_eq!(
        h.events(),
        vec![ServerEvent::Disconnect {
            namespace: "/custom".into(),
            reason: DisconnectReason::ClientNamespaceDisconnect
        }]
    );
    assert!(h.frames().is_empty());
    h.send(r#"42["message","x"]"#);
    assert!(matches!(h.events()[..], [ServerEvent::Event { .. }]));
    assert!(!h.c.is_closed());
}

#[test]
fn event_for_a_namespace_not_joined_closes() {
    let mut h = suite();
    h.join("/", "a");
    h.send("41");
    h.events();
    h.send(r#"42["message"]"#);
    let ev = h.events();
    assert_eq!(
        ev[0],
        ServerEvent::Violation(Violation::NotJoined {
            namespace: "/".into(),
            kind: crate::socket::PacketType::Event
        })
    );
    assert!(h.closed());
}

#[test]
fn event_before_the_connect_is_accepted_closes() {
    let mut h = suite();
    h.send("40");
    h.send(r#"42["early"]"#);
    let ev = h.events();
    assert!(matches!(
        ev[1],
        ServerEvent::Violation(Violation::NotJoined { .. })
    ));
    assert!(h.closed());
    assert_eq!(h.c.accept(h.now, "/", "x"), Err(SendError::NotConnected));
}

#[test]
fn connect_for_a_joined_namespace_closes() {
    let mut h = suite();
    h.join("/", "a");
    h.send("40");
    let ev = h.events();
    assert_eq!(
        ev[0],
        ServerEvent::Violation(Violation::AlreadyJoined {
            namespace: "/".into()
        })
    );
    assert_eq!(
        ev[1],
        ServerEvent::Disconnect {
            namespace: "/".into(),
            reason: DisconnectReason::ForcedServerClose
        }
    );
    assert!(h.closed());
}

#[test]
fn client_connect_error_closes() {
    let mut h = suite();
    h.send(r#"44{"message":"x"}"#);
    assert!(matches!(
        h.events()[0],
        ServerEvent::Violation(Violation::ClientConnectError { .. })
    ));
    assert!(h.closed());
}

#[test]
fn decoder_errors_close() {
    for bad in ["4abc", r#"42{}"#, r#"42abc["x"]"#, r#"2["connect"]"#] {
        let mut h = suite();
        h.join("/", "a");
        h.send(&format!("4{}", &bad[1..]));
        let ev = h.events();
        assert!(
            matches!(ev[0], ServerEvent::Violation(Violation::Decode(_))),
            "{bad}: {ev:?}"
        );
        assert!(h.closed(), "{bad}");
        // with the Engine.IO close reason, not forced server close
        assert!(ev.contains(&ServerEvent::Disconnect {
            namespace: "/".into(),
            reason: DisconnectReason::Engine(CloseReason::ServerClose)
        }));
    }
}

#[test]
fn empty_engine_message_closes() {
    let mut h = suite();
    h.send("4");
    assert_eq!(
        h.events()[0],
        ServerEvent::Violation(Violation::EmptyMessage)
    );
}

#[test]
fn nothing_after_a_violation_is_processed() {
    let mut h = open(
        ServerConfig::suite(),
        ServerOptions::default(),
        "EIO=4&transport=websocket",
    );
    h.join("/", "a");
    // the engine is closed after the first frame, later frames are dropped by it
    h.send("4abc");
    h.send(r#"42["x"]"#);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ServerEvent::Event { .. })));
}

#[test]
fn events_carry_their_ack_id_and_acks_are_single_use() {
    let mut h = suite();
    h.join("/", "a");
    h.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#);
    let ev = h.events();
    let ServerEvent::Event { data, ack, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(*ack, Some(AckId::Exact(456)));
    let args = data.args().unwrap();
    h.c.ack(h.now, "/", AckId::Exact(456), &arr(args.clone()))
        .unwrap();
    assert_eq!(h.frames(), vec![r#"43456[1,"2",{"3":[false]}]"#]);
    assert_eq!(
        h.c.ack(h.now, "/", AckId::Exact(456), &arr(args)),
        Err(SendError::UnknownAck)
    );
    assert_eq!(
        h.c.ack(h.now, "/", AckId::Exact(1), &arr(vec![])),
        Err(SendError::UnknownAck)
    );
}

#[test]
fn lossy_ack_ids_are_written_back_as_javascript_does() {
    let mut h = suite();
    h.join("/", "a");
    h.send(r#"4299999999999999999999["x"]"#);
    let ev = h.events();
    let ServerEvent::Event { ack: Some(id), .. } = ev[0] else {
        panic!()
    };
    h.c.ack(h.now, "/", id, &arr(vec![Value::Number(1.into())]))
        .unwrap();
    assert_eq!(h.frames(), vec!["43100000000000000000000[1]"]);
}

#[test]
fn our_acks_are_allocated_from_zero_matched_once_and_unknown_ignored() {
    let mut h = suite();
    h.join("/", "a");
    let a =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), None)
            .unwrap();
    let b =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), None)
            .unwrap();
    assert_eq!((a, b), (0, 1));
    assert_eq!(h.frames(), vec![r#"420["q"]"#, r#"421["q"]"#]);
    h.send("431[true]");
    h.send("431[true]");
    h.send("437[true]");
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], ServerEvent::Ack { id: 1, .. }));
    assert_eq!(h.c.pending_acks("/"), 1);
    assert!(!h.c.is_closed());
}

#[test]
fn ack_timeouts_resolve_once() {
    let mut h = suite();
    h.join("/", "a");
    let id =
        h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), Some(ms(50)))
            .unwrap();
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(50)));
    h.at(50);
    assert_eq!(
        h.events(),
        vec![ServerEvent::AckTimeout {
            namespace: "/".into(),
            id
        }]
    );
    h.send(&format!("43{id}[1]"));
    assert!(h.events().is_empty());
}

#[test]
fn pending_acks_are_bounded() {
    let mut h = open(
        ServerConfig::suite(),
        ServerOptions {
            max_pending_acks: 2,
            ..ServerOptions::default()
        },
        "EIO=4&transport=websocket",
    );
    h.join("/", "a");
    let e = arr(vec![s("q")]);
    h.c.emit_with_ack(h.now, "/", &e, None).unwrap();
    h.c.emit_with_ack(h.now, "/", &e, None).unwrap();
    assert_eq!(
        h.c.emit_with_ack(h.now, "/", &e, None),
        Err(SendError::Full)
    );
}

#[test]
fn binary_events_are_reassembled_and_echoed_with_attachments() {
    let mut h = suite();
    h.join("/", "a");
    h.send(r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
    assert!(h.events().is_empty());
    h.send_bin(&[1, 2, 3]);
    h.send_bin(&[4, 5, 6]);
    let ev = h.events();
    let ServerEvent::Event { data, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(data.attachments(), [vec![1, 2, 3], vec![4, 5, 6]]);
    let mut args = data.args().unwrap();
    args.insert(0, s("message-back"));
    h.c.emit(h.now, "/", &arr(args)).unwrap();
    assert_eq!(
        h.frames(),
        vec![
            r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
                .to_owned(),
            "<[1, 2, 3]>".to_owned(),
            "<[4, 5, 6]>".to_owned()
        ]
    );
}

#[test]
fn raw_emits_keep_the_json_exactly() {
    let mut h = suite();
    h.join("/", "a");
    h.c.emit_raw(h.now, "/", r#"["x",{"b":1,"a":2}]"#, vec![])
        .unwrap();
    assert_eq!(h.frames(), vec![r#"42["x",{"b":1,"a":2}]"#]);
    assert_eq!(
        h.c.emit_raw(h.now, "/", r#"["disconnect"]"#, vec![]),
        Err(SendError::Invalid)
    );
    assert_eq!(
        h.c.emit_raw(h.now, "/nope", r#"["x"]"#, vec![]),
        Err(SendError::NotConnected)
    );
}

#[test]
fn a_text_frame_while_attachments_are_awaited_closes() {
    let mut h = suite();
    h.join("/", "a");
    h.send(r#"451-["m",{"_placeholder":true,"num":0}]"#);
    h.send(r#"42["x"]"#);
    assert!(matches!(
        h.events()[0],
        ServerEvent::Violation(Violation::Decode(_))
    ));
}

#[test]
fn server_disconnect_sends_disconnect_and_keeps_the_connection() {
    let mut h = suite();
    h.join("/custom", "a");
    h.c.disconnect(h.now, "/custom").unwrap();
    assert_eq!(h.frames(), vec!["41/custom,"]);
    assert_eq!(
        h.events(),
        vec![ServerEvent::Disconnect {
            namespace: "/custom".into(),
            reason: DisconnectReason::ServerNamespaceDisconnect
        }]
    );
    assert!(!h.c.is_closed());
}

#[test]
fn close_disconnects_every_namespace_then_the_engine() {
    let mut h = suite();
    h.join("/", "a");
    h.join("/custom", "b");
    h.c.close(h.now);
    assert_eq!(h.frames(), vec!["41", "41/custom,", "<close>"]);
    assert!(h.c.is_closed());
}

#[test]
fn engine_close_disconnects_namespaces_with_its_reason() {
    let mut h = suite();
    h.join("/", "a");
    h.at(500);
    assert_eq!(
        h.events(),
        vec![
            ServerEvent::Disconnect {
                namespace: "/".into(),
                reason: DisconnectReason::Engine(CloseReason::PingTimeout)
            },
            ServerEvent::Closed(CloseReason::PingTimeout)
        ]
    );
    assert_eq!(h.c.poll_timeout(), None);
}

#[test]
fn legacy_clients_join_the_main_namespace_implicitly() {
    let mut h = legacy();
    assert_eq!(
        h.events(),
        vec![ServerEvent::Connect {
            namespace: "/".into(),
            auth: "{}".into()
        }]
    );
    h.c.accept(h.now, "/", "a").unwrap();
    assert_eq!(h.frames(), vec!["40"]);
    h.send("40/admin?token=1234,");
    assert_eq!(
        h.events(),
        vec![ServerEvent::Connect {
            namespace: "/admin".into(),
            auth: r#"{"token":"1234"}"#.into()
        }]
    );
    h.c.accept(h.now, "/admin", "b").unwrap();
    assert_eq!(h.frames(), vec!["40/admin,"]);
    h.send("42/admin?token=1234,[\"x\"]");
    assert!(
        matches!(&h.events()[0], ServerEvent::Event { namespace, .. } if namespace == "/admin")
    );
}

#[test]
fn legacy_rejections_are_strings() {
    let mut h = legacy();
    h.events();
    h.c.reject(h.now, "/", "nope", None).unwrap();
    assert_eq!(h.frames(), vec![r#"44"nope""#]);
}

#[test]
fn emit_checks_the_event_shape() {
    let mut h = suite();
    h.join("/", "a");
    assert_eq!(h.c.emit(h.now, "/", &arr(vec![])), Err(SendError::Invalid));
    assert_eq!(h.c.emit(h.now, "/", &s("x")), Err(SendError::Invalid));
    assert_eq!(
        h.c.emit(h.now, "/", &arr(vec![s("connect")])),
        Err(SendError::Invalid)
    );
    assert!(h
        .c
        .emit(h.now, "/", &arr(vec![Value::Number(1.into())]))
        .is_ok());
}

#[test]
fn engine_events_pass_through() {
    let mut h = suite();
    h.join("/", "a");
    h.at(300);
    h.send("3");
    assert_eq!(
        h.events(),
        vec![ServerEvent::Engine(
            crate::session::engine::Event::Heartbeat
        )]
    );
}

#[test]
fn an_endless_ack_timeout_never_fires() {
    let mut h = suite();
    h.join("/", "a");
    h.c.emit_with_ack(h.now, "/", &arr(vec![s("q")]), Some(Duration::MAX))
        .unwrap();
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(300)));
}

#[test]
fn invalid_namespace_on_protocol_4_is_a_string_without_the_v5_habit() {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    };
    for (habit, expected) in [
        (true, r#"44/random,{"message":"Invalid namespace"}"#),
        (false, r#"44/random,"Invalid namespace""#),
    ] {
        let options = ServerOptions {
            v5_connect_error_on_v4: habit,
            ..ServerOptions::default()
        };
        let mut h = open(config.clone(), options, "EIO=3&transport=websocket");
        h.events();
        h.c.accept(h.now, "/", "a").unwrap();
        h.frames();
        h.send("40/random,");
        h.events();
        h.c.reject_invalid_namespace(h.now, "/random").unwrap();
        assert_eq!(h.frames(), vec![expected]);
    }
}

fn msgpack_suite() -> H {
    open(
        ServerConfig::suite(),
        ServerOptions {
            parser: Parser::Msgpack,
            ..ServerOptions::default()
        },
        "EIO=4&transport=websocket",
    )
}

fn msgpack_frame(kind: PacketType, ns: &str, id: Option<u64>, data: Option<&Value>) -> Vec<u8> {
    let mut out = Vec::new();
    crate::socket::msgpack::encode(kind, ns, id.map(AckId::Exact), data, &mut out);
    out
}

impl H {
    /// The packets sent, each one binary message decoded as msgpack.
    fn msgpack_packets(&mut self) -> Vec<crate::socket::msgpack::Packet> {
        std::iter::from_fn(|| self.c.poll_transmit())
            .filter_map(|t| match t {
                Transmit::Frame { frame, .. } => Some(frame),
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
fn msgpack_packets_are_one_binary_message_with_bytes_inline() {
    let mut h = msgpack_suite();
    h.send_bin(&msgpack_frame(PacketType::Connect, "/", None, None));
    let Some(ServerEvent::Connect { namespace, auth }) = h.c.poll_event() else {
        panic!()
    };
    assert_eq!((namespace.as_str(), auth.as_str()), ("/", "{}"));
    h.c.accept(h.now, "/", "s1").unwrap();
    let reply = h.msgpack_packets();
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].kind, PacketType::Connect);
    assert_eq!(
        reply[0].data,
        Some(Value::Object(vec![("sid".into(), s("s1"))]))
    );

    let data = arr(vec![s("up"), Value::Binary(vec![1, 2, 3])]);
    h.send_bin(&msgpack_frame(PacketType::Event, "/", Some(3), Some(&data)));
    let Some(ServerEvent::Event {
        data: payload, ack, ..
    }) = h.c.poll_event()
    else {
        panic!()
    };
    assert_eq!(ack, Some(AckId::Exact(3)));
    assert!(payload.is_binary());
    assert_eq!(payload.to_value().unwrap(), data);

    h.c.ack(
        h.now,
        "/",
        AckId::Exact(3),
        &arr(vec![Value::Binary(vec![9])]),
    )
    .unwrap();
    let ack = h.msgpack_packets();
    assert_eq!(ack.len(), 1, "no attachment messages");
    assert_eq!(ack[0].kind, PacketType::Ack);
    assert_eq!(ack[0].ack_id, Some(AckId::Exact(3)));
    assert_eq!(ack[0].data, Some(arr(vec![Value::Binary(vec![9])])));
}

#[test]
fn msgpack_connection_closes_on_text_and_on_binary_types() {
    let mut h = msgpack_suite();
    h.send("40");
    assert!(matches!(
        h.events()[..],
        [ServerEvent::Violation(Violation::TextOnMsgpack), ..]
    ));
    assert!(h.closed());

    let mut h = msgpack_suite();
    h.send_bin(&msgpack_frame(PacketType::Connect, "/", None, None));
    h.events();
    h.c.accept(h.now, "/", "s1").unwrap();
    h.frames();
    let data = arr(vec![s("up")]);
    h.send_bin(&msgpack_frame(
        PacketType::BinaryEvent,
        "/",
        None,
        Some(&data),
    ));
    assert!(matches!(
        h.events()[..],
        [ServerEvent::Violation(Violation::Decode(_)), ..]
    ));
    assert!(h.closed());
}

#[test]
fn a_recoverable_connect_reply_carries_the_pid() {
    let mut h = suite();
    h.send("40/recovery,");
    h.events();
    h.c.accept_recoverable(h.now, "/recovery", "s1", "p1")
        .unwrap();
    assert_eq!(h.frames(), vec![r#"40/recovery,{"sid":"s1","pid":"p1"}"#]);
    assert!(h.c.is_connected("/recovery"));
}

#[test]
fn a_restore_writes_the_missed_events_before_the_connect_reply() {
    let mut h = suite();
    h.send(r#"40/recovery,{"pid":"p1","offset":"o1"}"#);
    assert!(
        matches!(&h.events()[..], [ServerEvent::Connect { auth, .. }] if auth.contains("\"pid\""))
    );
    let missed = vec![
        (r#"["a","o2"]"#.to_owned(), Vec::new()),
        (
            r#"["b",{"_placeholder":true,"num":0},"o3"]"#.to_owned(),
            vec![vec![1, 2]],
        ),
    ];
    h.c.restore(h.now, "/recovery", "s1", "p1", &missed)
        .unwrap();
    assert_eq!(
        h.frames(),
        vec![
            r#"42/recovery,["a","o2"]"#.to_owned(),
            r#"451-/recovery,["b",{"_placeholder":true,"num":0},"o3"]"#.to_owned(),
            "<[1, 2]>".to_owned(),
            r#"40/recovery,{"sid":"s1","pid":"p1"}"#.to_owned(),
        ]
    );
    assert_eq!(h.c.namespaces().collect::<Vec<_>>(), [("/recovery", "s1")]);
    // Nothing is written for a CONNECT that is not pending.
    assert_eq!(
        h.c.restore(h.now, "/recovery", "s1", "p1", &missed),
        Err(SendError::NotConnected)
    );
    assert!(h.frames().is_empty());
}

#[test]
fn msgpack_emits_are_not_bound_by_the_default_parsers_attachment_limit() {
    let mut h = msgpack_suite();
    h.send_bin(&msgpack_frame(PacketType::Connect, "/", None, None));
    h.events();
    h.c.accept(h.now, "/", "s1").unwrap();
    h.msgpack_packets();
    let mut items = vec![s("many")];
    items.extend((0..20u8).map(|i| Value::Binary(vec![i])));
    h.c.emit(h.now, "/", &arr(items.clone())).unwrap();
    let sent = h.msgpack_packets();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].data, Some(arr(items)));
}
