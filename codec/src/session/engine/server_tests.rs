//! One test per rule of the server session; each fails if its rule is removed.

use std::time::{Duration, Instant};

use super::*;
use crate::session::{Frame, HttpResponse, Message, RequestHead, SendError, TransportId};
use crate::Profile;

const SID: &str = "s1";

struct H {
    t0: Instant,
    now: Instant,
    s: ServerSession,
    next_id: u64,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn open_with(
    config: ServerConfig,
    query: &str,
    head_mod: impl Fn(RequestHead<'_>) -> RequestHead<'_>,
) -> (H, Vec<Transmit>) {
    let t0 = Instant::now();
    let endpoint = Endpoint::new(config);
    let head = head_mod(if query.contains("transport=websocket") {
        RequestHead::websocket(query)
    } else {
        RequestHead::get(query)
    });
    let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else {
        panic!("not a handshake")
    };
    let open = h.accept().expect("accepted");
    let s = ServerSession::new(
        t0,
        endpoint.config().clone(),
        SID,
        open,
        TransportId(0),
        &head,
    );
    let mut h = H {
        t0,
        now: t0,
        s,
        next_id: 1,
    };
    let first = h.take();
    (h, first)
}

fn polling(config: ServerConfig) -> H {
    open_with(config, "EIO=4&transport=polling", |h| h).0
}

fn ws_session(config: ServerConfig) -> H {
    open_with(config, "EIO=4&transport=websocket", |h| h).0
}

fn polling_v3(config: ServerConfig) -> H {
    let config = ServerConfig {
        allow_eio3: true,
        ..config
    };
    open_with(config, "EIO=3&transport=polling", |h| h).0
}

impl H {
    fn at(&mut self, t: u64) {
        self.now = self.t0 + ms(t);
        self.s.handle_timeout(self.now);
    }

    fn id(&mut self) -> TransportId {
        self.next_id += 1;
        TransportId(self.next_id)
    }

    fn take(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    fn q(&self, transport: &str) -> String {
        format!(
            "EIO={}&transport={transport}&sid={SID}",
            self.s.protocol().query_value()
        )
    }

    fn get(&mut self) -> TransportId {
        let id = self.id();
        let q = self.q("polling");
        self.s.handle_request(self.now, id, &RequestHead::get(&q));
        id
    }

    fn post(&mut self, body: &[u8]) -> TransportId {
        let id = self.id();
        let q = self.q("polling");
        self.s
            .handle_post(self.now, id, &RequestHead::post(&q), body);
        id
    }

    fn ws(&mut self) -> TransportId {
        let id = self.id();
        let q = self.q("websocket");
        self.s
            .handle_websocket(self.now, id, &RequestHead::websocket(&q));
        id
    }

    fn frame(&mut self, id: TransportId, text: &str) {
        self.s.handle_frame(self.now, id, Frame::Text(text.into()));
    }

    /// The response to request `id` among the pending transmits.
    fn response(&mut self, id: TransportId) -> Option<HttpResponse> {
        self.take().into_iter().find_map(|t| match t {
            Transmit::Http { id: i, response } if i == id => Some(response),
            _ => None,
        })
    }
}

fn body(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn http(t: &Transmit) -> (TransportId, &HttpResponse) {
    match t {
        Transmit::Http { id, response } => (*id, response),
        other => panic!("expected HTTP, got {other:?}"),
    }
}

fn frames(ts: &[Transmit], id: TransportId) -> Vec<String> {
    ts.iter()
        .filter_map(|t| match t {
            Transmit::Frame {
                id: i,
                frame: Frame::Text(s),
            } if *i == id => Some(s.clone()),
            Transmit::Frame {
                id: i,
                frame: Frame::Binary(b),
            } if *i == id => Some(format!("<{b:?}>")),
            _ => None,
        })
        .collect()
}

fn closed_ws(ts: &[Transmit], id: TransportId) -> Option<Option<u16>> {
    ts.iter().find_map(|t| match t {
        Transmit::CloseWebSocket { id: i, code } if *i == id => Some(*code),
        _ => None,
    })
}

// ----- handshake -----------------------------------------------------------

#[test]
fn polling_handshake_answers_the_get_with_the_open_packet_and_headers() {
    let (_, first) = open_with(ServerConfig::suite(), "EIO=4&transport=polling", |h| h);
    assert_eq!(first.len(), 1);
    let (id, r) = http(&first[0]);
    assert_eq!(id, TransportId(0));
    assert_eq!(r.status, 200);
    assert_eq!(
        body(r),
        r#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
    );
    assert_eq!(
        r.headers,
        vec![
            ("Access-Control-Allow-Origin", "*".to_owned()),
            ("Content-Type", "text/plain; charset=UTF-8".to_owned()),
            ("Content-Length", r.body.len().to_string()),
            ("cache-control", "no-store".to_owned()),
        ]
    );
}

#[test]
fn websocket_handshake_sends_the_open_frame_without_upgrades() {
    let (_, first) = open_with(ServerConfig::suite(), "EIO=4&transport=websocket", |h| h);
    assert_eq!(
        frames(&first, TransportId(0)),
        vec![
            r#"0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        ]
    );
}

#[test]
fn upgrades_are_empty_when_disallowed() {
    let config = ServerConfig {
        allow_upgrades: false,
        ..ServerConfig::suite()
    };
    let (_, first) = open_with(config, "EIO=4&transport=polling", |h| h);
    assert!(body(http(&first[0]).1).contains(r#""upgrades":[]"#));
}

#[test]
fn v3_handshake_is_length_prefixed() {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    };
    let (_, first) = open_with(config, "EIO=3&transport=polling", |h| h);
    let b = body(http(&first[0]).1);
    let (len, rest) = b.split_once(':').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), rest.chars().count());
    assert!(rest.starts_with("0{\"sid\""));
}

#[test]
fn cookie_only_on_the_handshake_response() {
    let config = ServerConfig {
        cookie: Some(crate::session::Cookie::default()),
        ..ServerConfig::suite()
    };
    let (mut h, first) = open_with(config, "EIO=4&transport=polling", |h| h);
    assert_eq!(
        http(&first[0]).1.header("set-cookie"),
        Some("io=s1; Path=/; HttpOnly; SameSite=Lax")
    );
    let id = h.get();
    h.s.send(h.now, Message::Text("x".into())).unwrap();
    let r = h.response(id).unwrap();
    assert_eq!(r.header("set-cookie"), None);
}

#[test]
fn old_internet_explorer_gets_x_xss_protection() {
    let (_, first) = open_with(ServerConfig::default(), "EIO=4&transport=polling", |h| {
        h.with_user_agent("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)")
    });
    assert_eq!(http(&first[0]).1.header("x-xss-protection"), Some("0"));
}

#[test]
fn large_poll_responses_are_compressed_when_accepted() {
    let mut h = open_with(ServerConfig::default(), "EIO=4&transport=polling", |h| h).0;
    let id = h.id();
    let q = h.q("polling");
    h.s.handle_request(
        h.now,
        id,
        &RequestHead::get(&q).with_accept_encoding("gzip"),
    );
    h.s.send(h.now, Message::Text("x".repeat(2000))).unwrap();
    let r = h.response(id).unwrap();
    assert_eq!(r.compression, Some(crate::session::Compression::Gzip));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("content-length"), None);
    // below the threshold: not compressed
    let id = h.id();
    h.s.handle_request(
        h.now,
        id,
        &RequestHead::get(&q).with_accept_encoding("gzip"),
    );
    h.s.send(h.now, Message::Text("x".into())).unwrap();
    let r = h.response(id).unwrap();
    assert_eq!(r.compression, None);
    assert_eq!(r.header("content-length"), Some("2"));
}

// ----- heartbeat v4 -------------------------------------------------------

#[test]
fn first_ping_is_one_full_interval_after_the_handshake() {
    let mut h = polling(ServerConfig::suite());
    let id = h.get();
    h.at(299);
    assert!(h.take().is_empty());
    h.at(300);
    assert_eq!(body(&h.response(id).unwrap()), "2");
}

#[test]
fn unanswered_ping_closes_at_interval_plus_timeout_exactly() {
    let mut h = polling(ServerConfig::suite());
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(300)));
    h.at(300);
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(500)));
    h.at(499);
    assert!(!h.s.is_closed());
    h.at(500);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
    assert_eq!(h.events(), vec![Event::Closed(CloseReason::PingTimeout)]);
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.s.info(), None);
}

#[test]
fn a_late_caller_still_closes_at_the_deadline() {
    let mut h = polling(ServerConfig::suite());
    // one call long after: ping at 300, timeout at 500, both fire
    let id = h.get();
    h.at(10_000);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
    // the pending GET got the ping, then the close packet was owed to no GET
    let ts = h.take();
    assert_eq!(body(http(&ts[0]).1), "2");
    assert_eq!(http(&ts[0]).0, id);
}

#[test]
fn pong_rearms_the_interval_from_the_pong() {
    let mut h = polling(ServerConfig::suite());
    h.at(300);
    h.at(350);
    h.post(b"3");
    assert_eq!(h.events(), vec![Event::Heartbeat]);
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(650)));
    h.at(649);
    assert_eq!(h.s.buffered(), 1); // first ping still waiting for a GET
    h.at(650);
    assert_eq!(h.s.buffered(), 2);
    assert!(!h.s.is_closed());
}

#[test]
fn client_ping_on_v4_is_a_transport_error() {
    let mut h = polling(ServerConfig::suite());
    let r = h.post(b"2");
    assert_eq!(body(&h.response(r).unwrap()), "ok");
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(
            TransportError::InvalidHeartbeatDirection
        ))
    );
}

#[test]
fn a_packet_while_waiting_for_pong_extends_the_timeout_once() {
    let mut h = polling(ServerConfig::suite());
    h.at(300); // ping, timeout due at 500
    h.at(400);
    h.post(b"4a"); // refreshed: 600
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(600)));
    h.at(450);
    h.post(b"4b"); // only once
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(600)));
    h.at(600);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
}

// ----- heartbeat v3 -------------------------------------------------------

#[test]
fn v3_client_pings_and_the_server_answers() {
    let mut h = polling_v3(ServerConfig::suite());
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(500)));
    h.at(400);
    h.post(b"1:2");
    assert_eq!(h.s.poll_timeout(), Some(h.t0 + ms(900)));
    let id = h.get();
    assert_eq!(body(&h.response(id).unwrap()), "1:3");
    h.at(899);
    assert!(!h.s.is_closed());
    h.at(900);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
}

#[test]
fn v3_server_never_pings() {
    let mut h = polling_v3(ServerConfig::suite());
    let id = h.get();
    h.at(499);
    assert!(h.response(id).is_none());
}

#[test]
fn v3_client_pong_is_a_transport_error() {
    let mut h = polling_v3(ServerConfig::suite());
    h.post(b"1:3");
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(
            TransportError::InvalidHeartbeatDirection
        ))
    );
}

// ----- polling ---------------------------------------------------------------

#[test]
fn messages_queued_without_a_get_go_out_in_one_payload() {
    let mut h = polling(ServerConfig::suite());
    for m in ["a", "b"] {
        h.s.send(h.now, Message::Text(m.into())).unwrap();
    }
    h.s.send(h.now, Message::Binary(vec![1, 2, 3, 4])).unwrap();
    assert!(h.take().is_empty());
    let id = h.get();
    assert_eq!(body(&h.response(id).unwrap()), "4a\u{1e}4b\u{1e}bAQIDBA==");
}

#[test]
fn a_pending_get_is_answered_as_soon_as_there_is_data() {
    let mut h = polling(ServerConfig::suite());
    let id = h.get();
    assert!(h.take().is_empty());
    assert!(h.s.has_pending_get());
    h.s.send(h.now, Message::Text("x".into())).unwrap();
    assert_eq!(body(&h.response(id).unwrap()), "4x");
}

#[test]
fn duplicate_get_answers_the_first_with_close_and_the_second_400() {
    let mut h = polling(ServerConfig::suite());
    let first = h.get();
    let second = h.get();
    let ts = h.take();
    assert_eq!(ts.len(), 2);
    assert_eq!(http(&ts[0]).0, first);
    assert_eq!(body(http(&ts[0]).1), "1");
    assert_eq!(http(&ts[1]).0, second);
    assert_eq!(http(&ts[1]).1.status, 400);
    assert!(http(&ts[1]).1.body.is_empty());
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::PollOverlap))
    );
}

#[test]
fn duplicate_post_aborts_the_first_and_answers_the_second_400() {
    let mut h = polling(ServerConfig::suite());
    let first = h.id();
    let q = h.q("polling");
    h.s.handle_request(h.now, first, &RequestHead::post(&q));
    h.s.handle_body(h.now, first, b"4par");
    let second = h.id();
    h.s.handle_request(h.now, second, &RequestHead::post(&q));
    let ts = h.take();
    assert!(ts.contains(&Transmit::HttpAbort { id: first }));
    let r = ts
        .iter()
        .find(|t| matches!(t, Transmit::Http { id, .. } if *id == second))
        .unwrap();
    assert_eq!(http(r).1.status, 400);
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::DataOverlap))
    );
    // the first POST's end is ignored
    h.s.handle_body_end(h.now, first);
    assert!(h.take().is_empty());
}

#[test]
fn oversize_post_is_413_and_the_session_stays() {
    let config = ServerConfig {
        max_payload: 10,
        ..ServerConfig::suite()
    };
    let mut h = polling(config);
    let id = h.id();
    let q = h.q("polling");
    h.s.handle_request(h.now, id, &RequestHead::post(&q));
    h.s.handle_body(h.now, id, b"4hello");
    h.s.handle_body(h.now, id, b"world");
    let ts = h.take();
    assert_eq!(ts.len(), 1);
    assert_eq!(http(&ts[0]).1.status, 413);
    assert!(http(&ts[0]).1.body.is_empty());
    h.s.handle_body(h.now, id, b"more");
    h.s.handle_body_end(h.now, id);
    assert!(h.take().is_empty());
    assert!(h.events().is_empty());
    assert!(!h.s.is_closed());
    h.at(300);
    let g = h.get();
    assert_eq!(body(&h.response(g).unwrap()), "2");
}

#[test]
fn exactly_max_payload_is_accepted() {
    let config = ServerConfig {
        max_payload: 6,
        ..ServerConfig::suite()
    };
    let mut h = polling(config);
    let id = h.post(b"4hello");
    assert_eq!(body(&h.response(id).unwrap()), "ok");
}

#[test]
fn octet_stream_post_on_v4_is_400_and_closes() {
    let mut h = polling(ServerConfig::suite());
    let id = h.id();
    let q = h.q("polling");
    h.s.handle_request(
        h.now,
        id,
        &RequestHead::post(&q).with_content_type("application/octet-stream"),
    );
    let r = h.response(id).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body.is_empty());
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::InvalidContent))
    );
}

#[test]
fn octet_stream_post_on_v3_is_a_binary_payload() {
    let mut h = polling_v3(ServerConfig::suite());
    let id = h.id();
    let q = h.q("polling");
    let body_bytes = [
        0u8, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xff, 4, 1, 2, 3, 4,
    ];
    h.s.handle_post(
        h.now,
        id,
        &RequestHead::post(&q).with_content_type("application/octet-stream"),
        &body_bytes,
    );
    assert_eq!(body(&h.response(id).unwrap()), "ok");
    assert_eq!(
        h.events(),
        vec![
            Event::Message(Message::Text("hello".into())),
            Event::Message(Message::Binary(vec![1, 2, 3, 4]))
        ]
    );
}

#[test]
fn v3_data_of_no_known_type_is_ignored_over_polling() {
    let mut h = polling_v3(ServerConfig::suite());
    let post = h.post(b"6:b9AQID6:4hello");
    assert_eq!(body(&h.response(post).unwrap()), "ok");
    assert_eq!(
        h.events(),
        vec![Event::Message(Message::Text("hello".into()))]
    );
    assert!(!h.s.is_closed());
    let mut h = polling_v3(ServerConfig {
        profile: Profile::Strict,
        ..ServerConfig::suite()
    });
    h.post(b"6:b9AQID6:4hello");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ParseError));
}

#[test]
fn invalid_payload_is_still_ok_but_closes_and_releases_the_get() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    let p = h.post(b"4a\x1eabc\x1e4b");
    let ts = h.take();
    let get = ts.iter().find(|t| http(t).0 == g).unwrap();
    assert_eq!(body(http(get).1), "1");
    let post = ts.iter().find(|t| http(t).0 == p).unwrap();
    assert_eq!(http(post).1.status, 200);
    assert_eq!(body(http(post).1), "ok");
    assert_eq!(
        h.events(),
        vec![
            Event::Message(Message::Text("a".into())),
            Event::Closed(CloseReason::ParseError)
        ]
    );
}

#[test]
fn empty_post_is_a_parse_error() {
    let mut h = polling(ServerConfig::suite());
    h.post(b"");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ParseError));
}

#[test]
fn client_close_over_polling_releases_the_get_with_noop() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    let p = h.post(b"1");
    let ts = h.take();
    assert_eq!(body(http(&ts[0]).1), "6");
    assert_eq!(http(&ts[0]).0, g);
    assert_eq!(body(http(&ts[1]).1), "ok");
    assert_eq!(http(&ts[1]).0, p);
    assert_eq!(h.s.close_reason(), Some(CloseReason::ClientClose));
    // the next request is for an unknown session
    let g2 = h.get();
    let r = h.response(g2).unwrap();
    assert_eq!(body(&r), r#"{"code":1,"message":"Session ID unknown"}"#);
}

#[test]
fn open_noop_and_upgrade_packets_from_the_client_are_ignored() {
    let mut h = polling(ServerConfig::suite());
    h.post(b"0\x1e6\x1e5\x1e4x");
    assert_eq!(h.events(), vec![Event::Message(Message::Text("x".into()))]);
    assert!(!h.s.is_closed());
}

#[test]
fn other_methods_get_500_and_keep_the_session() {
    let mut h = polling(ServerConfig::suite());
    let id = h.id();
    let q = h.q("polling");
    h.s.handle_request(h.now, id, &RequestHead::new("PUT", &q));
    let r = h.response(id).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.body.is_empty());
    assert!(!h.s.is_closed());
}

#[test]
fn polling_flush_is_bounded_by_max_payload() {
    let config = ServerConfig {
        max_payload: 20,
        ..ServerConfig::suite()
    };
    let mut h = polling(config.clone());
    for _ in 0..3 {
        h.s.send(h.now, Message::Text("aaaaaaaa".into())).unwrap();
    }
    let id = h.get();
    // 1 + 8 = 9; + 2 + 8 = 19; + 2 + 8 = 29 > 20
    assert_eq!(body(&h.response(id).unwrap()), "4aaaaaaaa\u{1e}4aaaaaaaa");
    let id = h.get();
    assert_eq!(body(&h.response(id).unwrap()), "4aaaaaaaa");

    let mut h = polling(ServerConfig {
        bounded_polling_flush: false,
        ..config
    });
    for _ in 0..3 {
        h.s.send(h.now, Message::Text("aaaaaaaa".into())).unwrap();
    }
    let id = h.get();
    assert_eq!(body(&h.response(id).unwrap()).matches('4').count(), 3);
}

#[test]
fn a_get_closed_prematurely_is_a_transport_error() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    h.s.handle_request_closed(h.now, g);
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(
            TransportError::PollClosedPrematurely
        ))
    );
    // no answer to the GET that is gone
    assert!(h.take().is_empty());
}

#[test]
fn a_post_closed_prematurely_is_a_transport_error() {
    let mut h = polling(ServerConfig::suite());
    let id = h.id();
    let q = h.q("polling");
    h.s.handle_request(h.now, id, &RequestHead::post(&q));
    h.s.handle_request_closed(h.now, id);
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(
            TransportError::DataClosedPrematurely
        ))
    );
}

#[test]
fn jsonp_wraps_responses_and_reads_form_bodies() {
    let mut h = open_with(ServerConfig::suite(), "EIO=4&transport=polling&j=7", |h| h).0;
    let p = h.post(b"d=4hello");
    assert_eq!(body(&h.response(p).unwrap()), "ok");
    assert_eq!(
        h.events(),
        vec![Event::Message(Message::Text("hello".into()))]
    );
    let g = h.get();
    h.s.send(h.now, Message::Text("x".into())).unwrap();
    assert_eq!(body(&h.response(g).unwrap()), r#"___eio[7]("4x");"#);
    // no `d` field: ignored
    h.post(b"x=1");
    assert!(h.events().is_empty());
    assert!(!h.s.is_closed());
}

#[test]
fn v3_binary_goes_out_as_xhr2_unless_b64() {
    let mut h = polling_v3(ServerConfig::suite());
    h.s.send(h.now, Message::Text("hello".into())).unwrap();
    h.s.send(h.now, Message::Binary(vec![1, 2, 3, 4])).unwrap();
    let g = h.get();
    let r = h.response(g).unwrap();
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.body,
        [0, 6, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 1, 5, 0xff, 4, 1, 2, 3, 4]
    );

    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    };
    let mut h = open_with(config, "EIO=3&transport=polling&b64=1", |h| h).0;
    h.s.send(h.now, Message::Text("hello".into())).unwrap();
    h.s.send(h.now, Message::Binary(vec![1, 2, 3, 4])).unwrap();
    let g = h.get();
    let r = h.response(g).unwrap();
    assert_eq!(body(&r), "6:4hello10:b4AQIDBA==");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
}

// ----- upgrade ---------------------------------------------------------------

#[test]
fn probe_is_answered_and_the_pending_get_released_with_noop_after_100ms() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    let ws = h.ws();
    h.frame(ws, "2probe");
    let ts = h.take();
    assert_eq!(frames(&ts, ws), vec!["3probe"]);
    assert_eq!(h.events(), vec![Event::Upgrading { transport: ws }]);
    h.at(99);
    assert!(h.take().is_empty());
    h.at(100);
    assert_eq!(body(&h.response(g).unwrap()), "6");
    // every poll during the upgrade is released the same way
    h.at(150);
    let g2 = h.get();
    assert!(h.take().is_empty());
    h.at(200);
    assert_eq!(body(&h.response(g2).unwrap()), "6");
}

#[test]
fn upgrade_packet_completes_the_upgrade_and_flushes_over_websocket() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.s.send(h.now, Message::Text("queued".into())).unwrap();
    h.take();
    h.frame(ws, "5");
    let ts = h.take();
    assert_eq!(frames(&ts, ws), vec!["4queued"]);
    assert!(h.events().contains(&Event::Upgraded { transport: ws }));
    assert_eq!(h.s.transport(), TransportKind::WebSocket);
    assert!(h.s.is_upgraded());
    h.frame(ws, "4hello");
    assert_eq!(
        h.events(),
        vec![Event::Message(Message::Text("hello".into()))]
    );
    // noop timer stopped
    let g = h.s.poll_timeout();
    assert_eq!(g, Some(h.t0 + ms(300)));
}

#[test]
fn pending_get_at_upgrade_time_gets_the_close_packet() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    assert_eq!(body(&h.response(g).unwrap()), "1");
    assert!(!h.s.is_closed());
}

#[test]
fn polling_after_the_upgrade_is_refused() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    h.take();
    assert_eq!(h.s.info().unwrap().transport, TransportKind::WebSocket);
    // what the endpoint answers
    let endpoint = Endpoint::new(ServerConfig::suite());
    let q = h.q("polling");
    let info = h.s.info();
    let Verdict::Reject(r) = endpoint.verify(&RequestHead::get(&q), |_| info) else {
        panic!()
    };
    assert_eq!(r.reason, RejectReason::TransportMismatch);
    // and the session itself, if a request slips through
    let g = h.get();
    assert_eq!(h.response(g).unwrap().status, 400);
}

#[test]
fn anything_else_during_the_upgrade_aborts_it() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.take();
    h.events();
    h.frame(ws, "4hello");
    let ts = h.take();
    assert_eq!(closed_ws(&ts, ws), Some(None));
    assert_eq!(
        h.events(),
        vec![Event::UpgradeFailed {
            transport: ws,
            reason: UpgradeFailure::UnexpectedPacket
        }]
    );
    assert_eq!(h.s.transport(), TransportKind::Polling);
    assert!(!h.s.is_upgrading());
    // a new attempt is possible
    let ws2 = h.ws();
    h.frame(ws2, "2probe");
    assert_eq!(frames(&h.take(), ws2), vec!["3probe"]);
}

#[test]
fn invalid_frame_during_the_upgrade_aborts_it() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "abc");
    assert_eq!(closed_ws(&h.take(), ws), Some(None));
    assert!(!h.s.is_closed());
}

#[test]
fn v3_data_of_no_known_type_during_the_upgrade_aborts_it() {
    let mut h = polling_v3(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.take();
    h.events();
    h.s.handle_frame(h.now, ws, Frame::Binary(vec![9, 1]));
    assert_eq!(closed_ws(&h.take(), ws), Some(None));
    assert_eq!(
        h.events(),
        vec![Event::UpgradeFailed {
            transport: ws,
            reason: UpgradeFailure::UnexpectedPacket
        }]
    );
    assert!(!h.s.is_closed());
}

#[test]
fn stalled_upgrade_is_reclaimed_after_upgrade_timeout() {
    let config = ServerConfig {
        upgrade_timeout: ms(1000),
        ping_interval: ms(10_000),
        ping_timeout: ms(10_000),
        ..ServerConfig::suite()
    };
    let mut h = polling(config);
    h.at(100);
    let ws = h.ws();
    h.at(1099);
    assert!(h.take().is_empty());
    h.at(1100);
    assert_eq!(closed_ws(&h.take(), ws), Some(None));
    assert_eq!(
        h.events(),
        vec![Event::UpgradeFailed {
            transport: ws,
            reason: UpgradeFailure::Timeout
        }]
    );
}

#[test]
fn second_websocket_is_refused_while_upgrading_and_after() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    let ws2 = h.ws();
    assert_eq!(closed_ws(&h.take(), ws2), Some(None));
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    h.take();
    let ws3 = h.ws();
    assert_eq!(closed_ws(&h.take(), ws3), Some(None));
    h.frame(ws, "4hello");
    assert!(h
        .events()
        .contains(&Event::Message(Message::Text("hello".into()))));
}

#[test]
fn upgrade_transport_closing_abandons_the_upgrade() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.s.handle_websocket_closed(h.now, ws);
    assert_eq!(
        h.events(),
        vec![Event::UpgradeFailed {
            transport: ws,
            reason: UpgradeFailure::TransportClosed
        }]
    );
    assert!(h.take().is_empty());
    assert!(!h.s.is_closed());
}

#[test]
fn v4_pending_ping_timeout_is_dropped_by_the_upgrade_like_node() {
    let mut h = polling(ServerConfig::suite());
    h.at(300); // ping sent, timeout at 500
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    h.at(10_000);
    assert!(!h.s.is_closed());
    // with the flag, the timeout survives
    let mut h = polling(ServerConfig {
        habits: NodeHabits {
            clear_heartbeat_on_upgrade: false,
            ..NodeHabits::NODE
        },
        ..ServerConfig::suite()
    });
    h.at(300);
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    h.at(500);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
}

#[test]
fn v3_loses_its_heartbeat_after_an_upgrade_like_node() {
    let mut h = polling_v3(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    h.take();
    h.at(5_000);
    assert!(!h.s.is_closed());
    h.frame(ws, "2");
    assert_eq!(frames(&h.take(), ws), vec!["3"]);
    h.at(50_000);
    assert!(!h.s.is_closed());
}

#[test]
fn server_close_during_the_upgrade_completes_as_forced_close() {
    let mut h = polling(ServerConfig::suite());
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.s.close(h.now);
    assert!(h.s.is_closing());
    h.frame(ws, "5");
    let ts = h.take();
    assert_eq!(closed_ws(&ts, ws), Some(None));
    assert_eq!(h.s.close_reason(), Some(CloseReason::ServerClose));
}

// ----- close ---------------------------------------------------------------

#[test]
fn server_close_with_a_pending_get_sends_close() {
    let mut h = polling(ServerConfig::suite());
    let g = h.get();
    h.s.close(h.now);
    assert_eq!(body(&h.response(g).unwrap()), "1");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ServerClose));
    assert_eq!(h.s.send(h.now, Message::Empty), Err(SendError::Closed));
}

#[test]
fn server_close_without_a_get_waits_for_the_next_one() {
    let mut h = polling(ServerConfig {
        ping_interval: ms(100_000),
        ..ServerConfig::suite()
    });
    h.s.close(h.now);
    assert!(h.s.is_closing());
    assert!(h.s.info().is_some());
    assert_eq!(h.s.send(h.now, Message::Empty), Err(SendError::Closed));
    h.at(1000);
    let g = h.get();
    assert_eq!(body(&h.response(g).unwrap()), "6\u{1e}1");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ServerClose));
}

#[test]
fn server_close_over_polling_gives_up_after_30s() {
    let mut h = polling(ServerConfig {
        ping_interval: ms(100_000),
        ..ServerConfig::suite()
    });
    h.at(10);
    h.s.close(h.now);
    h.at(30_009);
    assert!(!h.s.is_closed());
    h.at(30_010);
    assert_eq!(h.s.close_reason(), Some(CloseReason::ServerClose));
}

#[test]
fn server_close_waits_for_the_buffer_to_drain() {
    let mut h = polling(ServerConfig::suite());
    h.s.send(h.now, Message::Text("last".into())).unwrap();
    h.s.close(h.now);
    assert!(h.s.is_closing());
    let g = h.get();
    assert_eq!(body(&h.response(g).unwrap()), "4last");
    assert!(h.s.is_closing());
    let g = h.get();
    assert_eq!(body(&h.response(g).unwrap()), "6\u{1e}1");
    assert!(h.s.is_closed());
}

#[test]
fn packets_are_ignored_while_closing() {
    let mut h = polling(ServerConfig::suite());
    h.s.close(h.now);
    h.post(b"4late");
    assert!(h.events().is_empty());
}

#[test]
fn shutdown_is_immediate() {
    let mut h = polling(ServerConfig::suite());
    h.s.send(h.now, Message::Text("dropped".into())).unwrap();
    h.s.shutdown(h.now);
    assert_eq!(h.s.close_reason(), Some(CloseReason::ForcedClose));
    assert!(h.take().is_empty());
}

#[test]
fn websocket_close_packet_is_ignored_until_the_ping_timeout() {
    let mut h = ws_session(ServerConfig::suite());
    h.frame(TransportId(0), "1");
    assert!(!h.s.is_closed());
    h.at(500);
    assert_eq!(h.s.close_reason(), Some(CloseReason::PingTimeout));
    assert_eq!(closed_ws(&h.take(), TransportId(0)), Some(None));
}

#[test]
fn websocket_going_away_is_transport_close() {
    let mut h = ws_session(ServerConfig::suite());
    h.s.handle_websocket_closed(h.now, TransportId(0));
    assert_eq!(h.s.close_reason(), Some(CloseReason::TransportClose));
    assert!(h.take().is_empty());
}

#[test]
fn websocket_error_is_transport_error() {
    let mut h = ws_session(ServerConfig::suite());
    h.s.handle_websocket_error(h.now, TransportId(0));
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::WebSocket))
    );
    assert_eq!(closed_ws(&h.take(), TransportId(0)), Some(None));
}

#[test]
fn oversize_websocket_message_closes_with_1009() {
    let mut h = ws_session(ServerConfig {
        max_payload: 4,
        ..ServerConfig::suite()
    });
    h.frame(TransportId(0), "4hello");
    assert_eq!(closed_ws(&h.take(), TransportId(0)), Some(Some(1009)));
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::MessageTooBig))
    );
}

#[test]
fn a_message_refused_unread_closes_with_1009() {
    let mut h = ws_session(ServerConfig::suite());
    h.s.handle_frame_too_big(h.now, TransportId(0));
    assert_eq!(closed_ws(&h.take(), TransportId(0)), Some(Some(1009)));
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::MessageTooBig))
    );
}

#[test]
fn invalid_websocket_frame_is_a_parse_error() {
    let mut h = ws_session(ServerConfig::suite());
    h.frame(TransportId(0), "abc");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ParseError));
    assert_eq!(closed_ws(&h.take(), TransportId(0)), Some(None));
}

#[test]
fn v3_data_of_no_known_type_is_ignored_over_websocket() {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::suite()
    };
    let (mut h, _) = open_with(config, "EIO=3&transport=websocket", |h| h);
    h.s.handle_frame(h.now, TransportId(0), Frame::Binary(vec![7, 0xaa]));
    h.s.handle_frame(h.now, TransportId(0), Frame::Binary(Vec::new()));
    h.frame(TransportId(0), "b9AQID");
    assert!(h.events().is_empty());
    assert!(!h.s.is_closed());
    h.frame(TransportId(0), "4hi");
    assert_eq!(h.events(), vec![Event::Message(Message::Text("hi".into()))]);
}

#[test]
fn websocket_binary_frames_are_messages_and_echo_as_binary() {
    let mut h = ws_session(ServerConfig::suite());
    h.s.handle_frame(h.now, TransportId(0), Frame::Binary(vec![1, 2, 3, 4]));
    assert_eq!(
        h.events(),
        vec![Event::Message(Message::Binary(vec![1, 2, 3, 4]))]
    );
    h.s.send(h.now, Message::Binary(vec![1, 2, 3, 4])).unwrap();
    assert_eq!(
        h.take(),
        vec![Transmit::Frame {
            id: TransportId(0),
            frame: Frame::Binary(vec![1, 2, 3, 4])
        }]
    );
}

#[test]
fn empty_message_packet_is_reported_as_empty() {
    let mut h = ws_session(ServerConfig::suite());
    h.frame(TransportId(0), "4");
    assert_eq!(h.events(), vec![Event::Message(Message::Empty)]);
}

#[test]
fn frames_from_unknown_websockets_are_ignored() {
    let mut h = ws_session(ServerConfig::suite());
    h.s.handle_frame(h.now, TransportId(99), Frame::Text("abc".into()));
    assert!(!h.s.is_closed());
}

// ----- bounds and time ---------------------------------------------------

#[test]
fn send_fails_when_the_buffer_is_full() {
    let mut h = polling(ServerConfig {
        max_buffered_packets: 3,
        ..ServerConfig::suite()
    });
    for _ in 0..3 {
        h.s.send(h.now, Message::Empty).unwrap();
    }
    assert_eq!(h.s.send(h.now, Message::Empty), Err(SendError::Full));
    let g = h.get();
    assert!(h.response(g).is_some());
    assert!(h.s.send(h.now, Message::Empty).is_ok());
}

#[test]
fn undrained_events_close_the_session_at_the_bound() {
    let mut h = polling(ServerConfig {
        max_queued_events: 2,
        ..ServerConfig::suite()
    });
    h.post(b"4a\x1e4b\x1e4c");
    assert_eq!(
        h.s.close_reason(),
        Some(CloseReason::TransportError(TransportError::EventQueueFull))
    );
    assert_eq!(h.s.queued_events(), 3);
}

#[test]
fn time_going_back_counts_as_the_latest_instant() {
    let mut h = polling(ServerConfig::suite());
    h.at(400);
    h.s.handle_timeout(h.t0); // back in time: nothing happens
    assert!(!h.s.is_closed());
    h.at(499);
    assert!(!h.s.is_closed());
    h.at(500);
    assert!(h.s.is_closed());
}

#[test]
fn early_timeouts_are_harmless() {
    let mut h = polling(ServerConfig::suite());
    for t in 0..300 {
        h.at(t);
    }
    assert_eq!(h.s.buffered(), 0);
    h.at(300);
    assert_eq!(h.s.buffered(), 1);
}

#[test]
fn a_websocket_for_a_closed_session_is_closed() {
    let mut h = polling(ServerConfig::suite());
    h.s.shutdown(h.now);
    h.take();
    let ws = h.ws();
    assert_eq!(closed_ws(&h.take(), ws), Some(None));
}

#[test]
fn cors_headers_are_on_every_polling_answer() {
    let mut h = polling(ServerConfig::suite());
    let first = h.get();
    let second = h.get();
    for t in h.take() {
        let (id, r) = http(&t);
        assert!(id == first || id == second);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r}");
    }
    let mut h = polling(ServerConfig::suite());
    let p = h.post(b"4x");
    assert_eq!(
        h.response(p).unwrap().header("access-control-allow-origin"),
        Some("*")
    );
}

#[test]
fn post_answers_carry_cache_control_and_text_html() {
    let mut h = polling(ServerConfig::suite());
    let p = h.post(b"4x");
    let r = h.response(p).unwrap();
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("content-length"), Some("2"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

// ----- without Node's habits (NodeHabits::NONE) ------------------------------

fn spec() -> ServerConfig {
    ServerConfig {
        habits: NodeHabits::NONE,
        ..ServerConfig::suite()
    }
}

#[test]
fn without_habits_an_undecodable_post_is_400_and_still_closes() {
    let mut h = polling(spec());
    let p = h.post(b"4a\x1eabc");
    assert_eq!(h.response(p).unwrap().status, 400);
    assert_eq!(h.s.close_reason(), Some(CloseReason::ParseError));
    let mut h = polling(spec());
    let p = h.post(b"4a\x1e4b");
    assert_eq!(body(&h.response(p).unwrap()), "ok");
}

#[test]
fn without_habits_a_websocket_close_packet_closes_at_once() {
    let mut h = ws_session(spec());
    h.frame(TransportId(0), "1");
    assert_eq!(h.s.close_reason(), Some(CloseReason::ClientClose));
    assert!(closed_ws(&h.take(), TransportId(0)).is_some());
}

#[test]
fn without_habits_an_upgrade_needs_the_probe() {
    let mut h = polling(spec());
    let ws = h.ws();
    h.frame(ws, "5");
    assert!(closed_ws(&h.take(), ws).is_some());
    assert!(!h.s.is_closed(), "the polling session goes on");
    let ws = h.ws();
    h.frame(ws, "2probe");
    h.frame(ws, "5");
    assert!(h.events().contains(&Event::Upgraded { transport: ws }));
}

#[test]
fn without_habits_a_v3_ping_gets_its_data_back() {
    let config = ServerConfig {
        allow_eio3: true,
        ..spec()
    };
    let mut h = open_with(config, "EIO=3&transport=websocket", |h| h).0;
    h.frame(TransportId(0), "2probe");
    assert_eq!(frames(&h.take(), TransportId(0)), vec!["3probe"]);
    let mut h = open_with(
        ServerConfig {
            allow_eio3: true,
            ..ServerConfig::suite()
        },
        "EIO=3&transport=websocket",
        |h| h,
    )
    .0;
    h.frame(TransportId(0), "2probe");
    assert_eq!(frames(&h.take(), TransportId(0)), vec!["3"]);
}
