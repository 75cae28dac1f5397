//! One test per rule of the client session.

use std::time::{Duration, Instant};

use super::*;
use crate::session::{Frame, Message, SendError, TransportId};

const OPEN: &str = r#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
const OPEN_NO_UPGRADE: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct H {
    t0: Instant,
    now: Instant,
    c: ClientSession,
}

impl H {
    fn new(config: ClientConfig) -> Self {
        let t0 = Instant::now();
        H {
            t0,
            now: t0,
            c: ClientSession::new(t0, config),
        }
    }

    fn at(&mut self, t: u64) {
        self.now = self.t0 + ms(t);
        self.c.handle_timeout(self.now);
    }

    fn take(&mut self) -> Vec<ClientTransmit> {
        std::iter::from_fn(|| self.c.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }

    fn answer(&mut self, req: &HttpRequest, body: &str) {
        self.c.handle_response(
            self.now,
            req.id,
            200,
            Some("text/plain; charset=UTF-8"),
            body.as_bytes(),
        );
    }

    /// Opens over polling; returns the pending GET.
    fn open(config: ClientConfig, handshake: &str) -> (Self, HttpRequest) {
        let mut h = H::new(config);
        let get = h.only_get();
        h.answer(&get, handshake);
        h.events();
        let get = h.only_get();
        (h, get)
    }

    fn only_get(&mut self) -> HttpRequest {
        let ts = self.take();
        let gets: Vec<HttpRequest> = ts
            .into_iter()
            .filter_map(|t| match t {
                ClientTransmit::Http(r) if r.method == HttpMethod::Get => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(gets.len(), 1, "{gets:?}");
        gets.into_iter().next().unwrap()
    }
}

fn https(ts: &[ClientTransmit]) -> Vec<&HttpRequest> {
    ts.iter()
        .filter_map(|t| match t {
            ClientTransmit::Http(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn posts(ts: &[ClientTransmit]) -> Vec<&HttpRequest> {
    https(ts)
        .into_iter()
        .filter(|r| r.method == HttpMethod::Post)
        .collect()
}

fn no_upgrade() -> ClientConfig {
    ClientConfig {
        upgrade: false,
        ..ClientConfig::default()
    }
}

#[test]
fn handshake_request_carries_eio_transport_timestamp_and_extra_query() {
    let mut h = H::new(ClientConfig {
        query: vec![("token".into(), "a b".into())],
        force_base64: true,
        path: "/socket.io/".into(),
        ..ClientConfig::default()
    });
    let get = h.only_get();
    assert_eq!(
        get.uri,
        "/socket.io/?token=a%20b&EIO=4&transport=polling&t=1&b64=1"
    );
    h.answer(&get, OPEN_NO_UPGRADE);
    let get = h.only_get();
    // b64 only before the sid is known, as engine.io-client
    assert_eq!(
        get.uri,
        "/socket.io/?token=a%20b&EIO=4&transport=polling&sid=s1&t=2"
    );
}

#[test]
fn timestamps_can_be_disabled() {
    let mut h = H::new(ClientConfig {
        timestamp_requests: false,
        ..ClientConfig::default()
    });
    assert_eq!(h.only_get().query(), "EIO=4&transport=polling");
}

#[test]
fn handshake_opens_and_polls_again_at_once() {
    let mut h = H::new(no_upgrade());
    let get = h.only_get();
    h.answer(&get, OPEN);
    let ev = h.events();
    let ClientEvent::Open(hs) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(hs.sid, "s1");
    assert_eq!(h.c.sid(), Some("s1"));
    assert!(h.c.is_open());
    let next = h.only_get();
    assert!(next.uri.contains("sid=s1"));
}

#[test]
fn bad_handshake_is_a_parse_error() {
    let mut h = H::new(no_upgrade());
    let get = h.only_get();
    h.answer(&get, "0{nope");
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::ParseError));
}

#[test]
fn websocket_only_sessions_open_with_the_first_frame() {
    let mut h = H::new(ClientConfig {
        transports: Transports {
            polling: false,
            websocket: true,
        },
        ..ClientConfig::default()
    });
    let ts = h.take();
    let ClientTransmit::OpenWebSocket { id, uri } = &ts[0] else {
        panic!("{ts:?}")
    };
    assert_eq!(uri, "/engine.io/?EIO=4&transport=websocket");
    let id = *id;
    h.c.handle_websocket_open(h.now, id);
    h.c.handle_frame(h.now, id, Frame::Text(OPEN_NO_UPGRADE.into()));
    assert!(matches!(h.events()[0], ClientEvent::Open(_)));
    h.c.send(h.now, Message::Text("hi".into())).unwrap();
    assert_eq!(
        h.take(),
        vec![ClientTransmit::Frame {
            id,
            frame: Frame::Text("4hi".into())
        }]
    );
}

#[test]
fn pings_are_answered_and_rearm_the_liveness_timeout() {
    let (mut h, get) = H::open(no_upgrade(), OPEN);
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(500)));
    h.at(300);
    h.answer(&get, "2");
    assert_eq!(h.events(), vec![ClientEvent::Heartbeat]);
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"3");
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(800)));
    h.at(799);
    assert!(!h.c.is_closed());
    h.at(800);
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::PingTimeout));
}

#[test]
fn messages_wait_for_the_handshake() {
    let mut h = H::new(no_upgrade());
    let get = h.only_get();
    h.c.send(h.now, Message::Text("early".into())).unwrap();
    assert!(h.take().is_empty());
    h.answer(&get, OPEN);
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"4early");
}

#[test]
fn one_post_at_a_time_batched_under_max_payload() {
    let open =
        r#"0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":20}"#;
    let (mut h, _get) = H::open(no_upgrade(), open);
    for _ in 0..4 {
        h.c.send(h.now, Message::Text("aaaaaaaa".into())).unwrap();
    }
    let ts = h.take();
    let p = posts(&ts);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].body, b"4aaaaaaaa");
    assert_eq!(p[0].content_type, Some("text/plain; charset=UTF-8"));
    // the first message left alone (the POST went out before the others were buffered);
    // the next POST takes what fits: 1 + 8 + 2 + 8 = 19 <= 20 < 29
    let first = p[0].id;
    h.c.handle_response(h.now, first, 200, Some("text/html"), b"ok");
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"4aaaaaaaa\x1e4aaaaaaaa");
    let second = posts(&ts)[0].id;
    h.c.handle_response(h.now, second, 200, Some("text/html"), b"ok");
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"4aaaaaaaa");
    assert_eq!(h.c.buffered(), 1);
}

#[test]
fn failed_requests_are_transport_errors() {
    let (mut h, get) = H::open(no_upgrade(), OPEN);
    h.c.handle_response(h.now, get.id, 400, Some("application/json"), b"{}");
    assert_eq!(
        h.c.close_reason(),
        Some(ClientCloseReason::TransportError(
            TransportError::RequestFailed
        ))
    );
    let (mut h, _) = H::open(no_upgrade(), OPEN);
    h.c.send(h.now, Message::Empty).unwrap();
    let ts = h.take();
    h.c.handle_request_failed(h.now, posts(&ts)[0].id);
    // engine.io-client's "xhr post error", beside the poll's "xhr poll error".
    assert_eq!(
        h.c.close_reason(),
        Some(ClientCloseReason::TransportError(
            TransportError::PostFailed
        ))
    );
}

#[test]
fn server_close_packet_over_polling_is_transport_close() {
    let (mut h, get) = H::open(no_upgrade(), OPEN);
    h.answer(&get, "4a\x1e1\x1e4b");
    assert_eq!(
        h.events(),
        vec![
            ClientEvent::Message(Message::Text("a".into())),
            ClientEvent::Closed(ClientCloseReason::TransportClose)
        ]
    );
    // nothing more is sent to a server that closed
    assert!(h.take().is_empty());
}

#[test]
fn undecodable_payload_is_a_parse_error() {
    let (mut h, get) = H::open(no_upgrade(), OPEN);
    h.answer(&get, "abc");
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::ParseError));
}

#[test]
fn upgrade_probe_pause_and_switch() {
    let mut h = H::new(ClientConfig::default());
    let g = h.only_get();
    h.answer(&g, OPEN);
    let ts = h.take();
    let (ws, uri) = ts
        .iter()
        .find_map(|t| match t {
            ClientTransmit::OpenWebSocket { id, uri } => Some((*id, uri.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(uri, "/engine.io/?EIO=4&transport=websocket&sid=s1");
    let get = https(&ts)[0].clone();
    h.c.handle_websocket_open(h.now, ws);
    assert_eq!(
        h.take(),
        vec![ClientTransmit::Frame {
            id: ws,
            frame: Frame::Text("2probe".into())
        }]
    );
    // messages sent while probing still go over polling
    h.c.send(h.now, Message::Text("m1".into())).unwrap();
    let ts = h.take();
    let post = posts(&ts)[0].clone();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    assert_eq!(h.events()[1..], [ClientEvent::Upgrading { transport: ws }]);
    assert!(h.c.is_upgrading());
    // nothing is sent while pausing
    h.c.send(h.now, Message::Text("m2".into())).unwrap();
    assert!(h.take().is_empty());
    // the POST completes, the GET is released by the server's noop
    h.c.handle_response(h.now, post.id, 200, Some("text/html"), b"ok");
    assert!(h.take().is_empty());
    h.answer(&get, "6");
    let ts = h.take();
    assert!(https(&ts).is_empty(), "no new poll: {ts:?}");
    assert_eq!(
        ts,
        vec![
            ClientTransmit::Frame {
                id: ws,
                frame: Frame::Text("5".into())
            },
            ClientTransmit::Frame {
                id: ws,
                frame: Frame::Text("4m2".into())
            }
        ]
    );
    assert_eq!(h.events(), vec![ClientEvent::Upgraded { transport: ws }]);
    assert_eq!(h.c.transport(), TransportKind::WebSocket);
}

fn probing() -> (H, HttpRequest, TransportId) {
    let mut h = H::new(ClientConfig::default());
    let g = h.only_get();
    h.answer(&g, OPEN);
    let ts = h.take();
    let ws = ts
        .iter()
        .find_map(|t| match t {
            ClientTransmit::OpenWebSocket { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let get = https(&ts)[0].clone();
    h.c.handle_websocket_open(h.now, ws);
    h.take();
    h.events();
    (h, get, ws)
}

#[test]
fn wrong_probe_answer_gives_up_the_upgrade() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3nope".into()));
    assert_eq!(h.take(), vec![ClientTransmit::CloseWebSocket { id: ws }]);
    assert_eq!(
        h.events(),
        vec![ClientEvent::UpgradeFailed { transport: ws }]
    );
    h.answer(&get, "6");
    assert_eq!(https(&h.take()).len(), 1, "polling goes on");
}

#[test]
fn pause_completes_when_the_last_poll_returns() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    h.events();
    h.answer(&get, "4x");
    let ts = h.take();
    assert!(ts
        .iter()
        .any(|t| matches!(t, ClientTransmit::Frame { frame: Frame::Text(f), .. } if f == "5")));
    assert!(https(&ts).is_empty());
}

#[test]
fn probe_websocket_closing_while_paused_resumes_polling() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    h.events();
    h.c.handle_websocket_closed(h.now, ws);
    assert_eq!(
        h.events(),
        vec![ClientEvent::UpgradeFailed { transport: ws }]
    );
    assert!(!h.c.is_upgrading());
    h.answer(&get, "6");
    assert_eq!(https(&h.take()).len(), 1, "polling resumed");
}

#[test]
fn no_probe_without_websocket_in_the_handshake_or_when_disabled() {
    let mut h = H::new(ClientConfig::default());
    let g = h.only_get();
    h.answer(&g, OPEN_NO_UPGRADE);
    assert!(!h
        .take()
        .iter()
        .any(|t| matches!(t, ClientTransmit::OpenWebSocket { .. })));
    let mut h = H::new(no_upgrade());
    let g = h.only_get();
    h.answer(&g, OPEN);
    assert!(!h
        .take()
        .iter()
        .any(|t| matches!(t, ClientTransmit::OpenWebSocket { .. })));
}

#[test]
fn close_over_polling_posts_a_close_packet_after_the_buffer_drains() {
    let (mut h, _get) = H::open(no_upgrade(), OPEN);
    h.c.send(h.now, Message::Text("last".into())).unwrap();
    let ts = h.take();
    let post = posts(&ts)[0].id;
    h.c.close(h.now);
    assert!(h.take().is_empty());
    assert!(!h.c.is_closed());
    h.c.handle_response(h.now, post, 200, None, b"ok");
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"1");
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::ForcedClose));
    assert_eq!(h.c.send(h.now, Message::Empty), Err(SendError::Closed));
}

#[test]
fn close_over_websocket_closes_the_socket() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    h.answer(&get, "6");
    h.take();
    h.c.close(h.now);
    assert_eq!(h.take(), vec![ClientTransmit::CloseWebSocket { id: ws }]);
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::ForcedClose));
}

#[test]
fn close_during_the_upgrade_waits_for_it() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    h.c.close(h.now);
    assert!(!h.c.is_closed());
    h.answer(&get, "6");
    let ts = h.take();
    assert!(ts.contains(&ClientTransmit::CloseWebSocket { id: ws }));
    assert!(h.c.is_closed());
}

#[test]
fn close_before_the_handshake_aborts_it() {
    let mut h = H::new(no_upgrade());
    let get = h.only_get();
    h.c.close(h.now);
    assert_eq!(h.take(), vec![ClientTransmit::Abort { id: get.id }]);
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::ForcedClose));
}

#[test]
fn websocket_going_away_is_transport_close() {
    let (mut h, get, ws) = probing();
    h.c.handle_frame(h.now, ws, Frame::Text("3probe".into()));
    h.answer(&get, "6");
    h.take();
    h.c.handle_websocket_closed(h.now, ws);
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::TransportClose));
    assert!(h.take().is_empty());
}

fn v3() -> ClientConfig {
    ClientConfig {
        protocol: Protocol::V3,
        upgrade: false,
        ..ClientConfig::default()
    }
}

const OPEN_V3: &str = r#"64:0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200}"#;

#[test]
fn v3_client_pings_and_times_out_without_pong() {
    let (mut h, _) = H::open(v3(), OPEN_V3);
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(300)));
    h.at(300);
    let ts = h.take();
    assert_eq!(posts(&ts)[0].body, b"1:2");
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(500)));
    h.at(500);
    assert_eq!(h.c.close_reason(), Some(ClientCloseReason::PingTimeout));
}

#[test]
fn v3_pong_schedules_the_next_ping() {
    let (mut h, get) = H::open(v3(), OPEN_V3);
    h.at(300);
    let ts = h.take();
    h.c.handle_response(h.now, posts(&ts)[0].id, 200, None, b"ok");
    h.at(350);
    h.answer(&get, "1:3");
    assert!(h.events().contains(&ClientEvent::Heartbeat));
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(650)));
}

#[test]
fn v3_any_packet_restarts_the_window() {
    let (mut h, get) = H::open(v3(), OPEN_V3);
    h.at(300); // ping sent, timeout at 500
    h.at(450);
    h.answer(&get, "2:4x");
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(950)));
}

#[test]
fn v3_data_of_no_known_type_only_restarts_the_window() {
    let (mut h, get) = H::open(v3(), OPEN_V3);
    h.at(300); // ping sent, timeout at 500
    h.at(450);
    h.answer(&get, "6:b9AQID");
    assert!(h.events().is_empty());
    assert!(!h.c.is_closed());
    assert_eq!(h.c.poll_timeout(), Some(h.t0 + ms(950)));
}

#[test]
fn v3_binary_payloads_both_ways() {
    let (mut h, get) = H::open(v3(), OPEN_V3);
    h.c.handle_response(
        h.now,
        get.id,
        200,
        Some("application/octet-stream"),
        &[
            0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4,
        ],
    );
    assert_eq!(
        h.events(),
        vec![
            ClientEvent::Message(Message::Text("hello".into())),
            ClientEvent::Message(Message::Binary(vec![1, 2, 3, 4]))
        ]
    );
    h.take();
    h.c.send(h.now, Message::Binary(vec![9])).unwrap();
    let ts = h.take();
    assert_eq!(posts(&ts)[0].content_type, Some("application/octet-stream"));
    assert_eq!(posts(&ts)[0].body, [1, 2, 255, 4, 9]);
}

#[test]
fn send_fails_when_full() {
    let mut h = H::new(ClientConfig {
        max_buffered_packets: 2,
        ..no_upgrade()
    });
    h.take();
    h.c.send(h.now, Message::Empty).unwrap();
    h.c.send(h.now, Message::Empty).unwrap();
    assert_eq!(h.c.send(h.now, Message::Empty), Err(SendError::Full));
}

#[test]
fn responses_after_close_are_ignored() {
    let (mut h, get) = H::open(no_upgrade(), OPEN);
    h.c.close(h.now);
    h.take();
    h.events();
    h.answer(&get, "4late");
    assert!(h.events().is_empty());
    assert!(h.take().is_empty());
}

#[test]
fn absurd_handshake_timings_do_not_overflow() {
    let mut h = H::new(no_upgrade());
    let get = h.only_get();
    let open = format!(
        r#"0{{"sid":"s1","upgrades":[],"pingInterval":{},"pingTimeout":{},"maxPayload":1}}"#,
        u64::MAX,
        u64::MAX
    );
    h.answer(&get, &open);
    assert!(h.c.is_open());
    h.at(1_000_000);
    assert!(!h.c.is_closed());
}
