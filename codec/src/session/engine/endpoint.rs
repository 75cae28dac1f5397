//! Verifying requests before they reach a session: engine.io's
//! `Server#verify` and `Server#handshake` checks, in Node's order.

use std::fmt;

use super::{NodeHabits, Protocol, ServerConfig, TransportKind};
use crate::session::http::{Header, HttpResponse, RequestHead, APPLICATION_JSON};
use crate::session::query::Query;

/// The Engine.IO error codes of HTTP error bodies (protocol.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// 0, `Transport unknown`.
    UnknownTransport,
    /// 1, `Session ID unknown`.
    UnknownSid,
    /// 2, `Bad handshake method`.
    BadHandshakeMethod,
    /// 3, `Bad request`.
    BadRequest,
    /// 4, `Forbidden` (status 403).
    Forbidden,
    /// 5, `Unsupported protocol version`.
    UnsupportedProtocolVersion,
}

impl ErrorCode {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Node's default message.
    ///
    /// ```
    /// use siospec_codec::session::engine::ErrorCode;
    /// assert_eq!(ErrorCode::UnknownSid.message(), "Session ID unknown");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status of a polling error response: 403 for `Forbidden`, else 400.
    pub fn status(self) -> u16 {
        if self == ErrorCode::Forbidden {
            403
        } else {
            400
        }
    }
}

/// Why a request was refused; [`RejectReason::code`] gives its error code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// `transport` missing, unknown, disabled, or `webtransport` (code 0).
    UnknownTransport,
    /// The `Origin` header holds a character Node refuses in header values (code 3, `INVALID_ORIGIN`).
    InvalidOrigin,
    /// The `sid` is not (or no longer) known (code 1).
    UnknownSid,
    /// The transport differs from the session's and this is no upgrade (code 3, `TRANSPORT_MISMATCH`).
    TransportMismatch,
    /// `EIO` differs from the session's (code 3, `PROTOCOL_MISMATCH`, engine.io ≥ 6.6.12).
    ProtocolMismatch,
    /// A handshake that is not a GET (code 2).
    BadHandshakeMethod,
    /// `transport=websocket` on a plain GET handshake (code 3, `TRANSPORT_HANDSHAKE_ERROR`).
    TransportHandshakeError,
    /// The application's `allowRequest` refused the handshake (code 4), with its message.
    Forbidden(Option<String>),
    /// `EIO` is not 4 and EIO=3 is not allowed (code 5).
    UnsupportedProtocolVersion,
    /// A middleware failed (code 3, `MIDDLEWARE_FAILURE`).
    MiddlewareFailure,
    /// The session id could not be generated (code 3, `ID_GENERATION_ERROR`).
    IdGenerationError,
    /// A WebSocket upgrade request for a transport that does not handle
    /// upgrades (`transport=polling`): Node completes the WebSocket handshake,
    /// then closes the connection. No error code.
    UpgradeNotHandled,
}

impl RejectReason {
    /// The Engine.IO error code, for the reasons that have one.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            RejectReason::UnknownTransport => ErrorCode::UnknownTransport,
            RejectReason::UnknownSid => ErrorCode::UnknownSid,
            RejectReason::BadHandshakeMethod => ErrorCode::BadHandshakeMethod,
            RejectReason::InvalidOrigin
            | RejectReason::TransportMismatch
            | RejectReason::ProtocolMismatch
            | RejectReason::TransportHandshakeError
            | RejectReason::MiddlewareFailure
            | RejectReason::IdGenerationError => ErrorCode::BadRequest,
            RejectReason::Forbidden(_) => ErrorCode::Forbidden,
            RejectReason::UnsupportedProtocolVersion => ErrorCode::UnsupportedProtocolVersion,
            RejectReason::UpgradeNotHandled => return None,
        })
    }

    /// The message of the error body: the code's message, or the one
    /// `allowRequest` gave.
    pub fn message(&self) -> &str {
        match self {
            RejectReason::Forbidden(Some(m)) => m,
            other => other.code().map_or("", ErrorCode::message),
        }
    }

    /// The name Node gives the `Bad request` variants in its error context.
    pub fn context_name(&self) -> Option<&'static str> {
        match self {
            RejectReason::InvalidOrigin => Some("INVALID_ORIGIN"),
            RejectReason::TransportMismatch => Some("TRANSPORT_MISMATCH"),
            RejectReason::ProtocolMismatch => Some("PROTOCOL_MISMATCH"),
            RejectReason::TransportHandshakeError => Some("TRANSPORT_HANDSHAKE_ERROR"),
            RejectReason::MiddlewareFailure => Some("MIDDLEWARE_FAILURE"),
            RejectReason::IdGenerationError => Some("ID_GENERATION_ERROR"),
            _ => None,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code(), self.context_name()) {
            (Some(code), Some(name)) => write!(f, "{} {} ({name})", code.code(), self.message()),
            (Some(code), None) => write!(f, "{} {}", code.code(), self.message()),
            (None, _) => f.write_str("transport does not handle upgrades"),
        }
    }
}

/// How the adapter delivers a [`Rejection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// A plain HTTP response to a polling request.
    Http,
    /// A WebSocket upgrade request refused before the WebSocket handshake:
    /// write [`HttpResponse::to_http1`] on the raw connection, then destroy it.
    BeforeUpgrade,
    /// Node checks `EIO` only after the WebSocket handshake: complete it
    /// (101), then write [`HttpResponse::to_http1`] into the upgraded stream
    /// and destroy the connection.
    AfterUpgrade,
    /// Complete the WebSocket handshake, then close the WebSocket (no response bytes).
    CloseAfterUpgrade,
}

/// A refused request and exactly what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// How to deliver it.
    pub delivery: Delivery,
    /// What to write (`None` for [`Delivery::CloseAfterUpgrade`]).
    pub response: Option<HttpResponse>,
}

impl Rejection {
    fn new(reason: RejectReason, head: &RequestHead<'_>, config: &ServerConfig) -> Self {
        let delivery = if head.websocket {
            Delivery::BeforeUpgrade
        } else {
            Delivery::Http
        };
        Self::with_delivery(reason, delivery, cors_headers(config, head))
    }

    fn with_delivery(reason: RejectReason, delivery: Delivery, cors: Vec<Header>) -> Self {
        let response = match delivery {
            Delivery::Http => {
                let code = reason.code().unwrap_or(ErrorCode::BadRequest);
                let mut headers = cors;
                headers.push(("Content-Type", APPLICATION_JSON.to_owned()));
                let body = serde_json::json!({"code": code.code(), "message": reason.message()});
                Some(HttpResponse {
                    status: code.status(),
                    headers,
                    body: body.to_string().into_bytes(),
                    compression: None,
                })
            }
            Delivery::BeforeUpgrade | Delivery::AfterUpgrade => {
                // abortUpgrade: always 400, whatever the code.
                let message = reason.message().as_bytes().to_vec();
                Some(HttpResponse {
                    status: 400,
                    headers: vec![
                        ("Connection", "close".to_owned()),
                        ("Content-type", "text/html".to_owned()),
                        ("Content-Length", message.len().to_string()),
                    ],
                    body: message,
                    compression: None,
                })
            }
            Delivery::CloseAfterUpgrade => None,
        };
        Rejection {
            reason,
            delivery,
            response,
        }
    }

    /// The error code, when the reason has one.
    pub fn code(&self) -> Option<ErrorCode> {
        self.reason.code()
    }
}

/// What the verifier needs to know about an existing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionInfo {
    /// The session's current transport.
    pub transport: TransportKind,
    /// The session's protocol revision.
    pub protocol: Protocol,
}

/// A request for an existing session: hand it to that session's
/// [`ServerSession`](super::ServerSession) (`handle_request` for polling,
/// `handle_websocket` once the WebSocket handshake is done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// The session id.
    pub sid: String,
    /// The transport the request asks for.
    pub transport: TransportKind,
    /// Headers to add to the WebSocket handshake response (101), if this is one (CORS).
    pub upgrade_headers: Vec<Header>,
}

/// A new session's request that passed verification up to `allowRequest`.
///
/// The application may refuse it ([`forbid`](Self::forbid), engine.io's
/// `allowRequest`); otherwise [`accept`](Self::accept) applies the
/// protocol-version check Node runs last, and gives the [`OpenRequest`] to
/// create the session with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    transport: TransportKind,
    protocol: Protocol,
    query: Query,
    websocket: bool,
    /// `EIO` is exactly `3` or `4`.
    known_eio: bool,
    allow_eio3: bool,
    habits: NodeHabits,
    cors: Vec<Header>,
}

impl HandshakeRequest {
    /// The requested transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The protocol revision the request asks for.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The query (what Node passes to the application as `handshake.query`).
    pub fn query(&self) -> &Query {
        &self.query
    }

    fn delivery(&self, after_upgrade: bool) -> Delivery {
        match (self.websocket, after_upgrade) {
            (false, _) => Delivery::Http,
            (true, false) => Delivery::BeforeUpgrade,
            (true, true) => Delivery::AfterUpgrade,
        }
    }

    /// Refuses the handshake as `allowRequest` does: 403 with code 4 over
    /// polling (the message defaults to `Forbidden`), a raw 400 for a WebSocket.
    pub fn forbid(self, message: Option<&str>) -> Rejection {
        let reason = RejectReason::Forbidden(message.map(str::to_owned));
        let delivery = self.delivery(false);
        Rejection::with_delivery(reason, delivery, self.cors)
    }

    /// Applies the last check, the protocol version (code 5 when `EIO` is
    /// not 4 and EIO=3 is not allowed, or is neither 3 nor 4 without
    /// [`NodeHabits::read_invalid_eio_as_v3`]; over WebSocket Node only
    /// notices after the WebSocket handshake, see [`Delivery::AfterUpgrade`]).
    pub fn accept(self) -> Result<OpenRequest, Rejection> {
        let unsupported = self.protocol == Protocol::V3 && !self.allow_eio3;
        let invalid = !self.known_eio && !self.habits.read_invalid_eio_as_v3;
        if unsupported || invalid {
            let delivery = self.delivery(self.habits.check_eio_after_websocket_handshake);
            return Err(Rejection::with_delivery(
                RejectReason::UnsupportedProtocolVersion,
                delivery,
                self.cors,
            ));
        }
        let supports_binary = !self.query.b64();
        let jsonp = match self.transport {
            TransportKind::Polling => self.query.j().map(str::to_owned),
            TransportKind::WebSocket => None,
        };
        Ok(OpenRequest {
            transport: self.transport,
            protocol: self.protocol,
            supports_binary,
            jsonp,
            query: self.query,
            upgrade_headers: if self.websocket {
                self.cors.clone()
            } else {
                Vec::new()
            },
            websocket: self.websocket,
            cors: self.cors,
        })
    }
}

/// A verified handshake: create the session with
/// [`ServerSession::new`](super::ServerSession::new) and a session id of
/// your choosing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    /// The transport the session starts on.
    pub transport: TransportKind,
    /// The protocol revision.
    pub protocol: Protocol,
    /// `false` when the client asked for base64 (`b64`).
    pub supports_binary: bool,
    /// The JSONP callback index (`j`), for a JSONP polling session.
    pub jsonp: Option<String>,
    /// The request's query.
    pub query: Query,
    /// Headers to add to the WebSocket handshake response (101), for a WebSocket session (CORS).
    pub upgrade_headers: Vec<Header>,
    websocket: bool,
    cors: Vec<Header>,
}

impl OpenRequest {
    /// Refuses the handshake because no session id could be generated (code 3).
    pub fn id_generation_failed(self) -> Rejection {
        let delivery = if self.websocket {
            Delivery::AfterUpgrade
        } else {
            Delivery::Http
        };
        Rejection::with_delivery(RejectReason::IdGenerationError, delivery, self.cors)
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A CORS preflight, answered by the CORS middleware before any
    /// verification: write this 204.
    Preflight(HttpResponse),
    /// Refused.
    Reject(Rejection),
    /// A new session (no `sid`).
    Handshake(HandshakeRequest),
    /// A request for an existing session.
    Session(SessionRequest),
}

/// The request verifier of an Engine.IO server.
///
/// It holds only the configuration: sessions live with the caller, who
/// answers the verifier's one question (what is session `sid`?) through a
/// closure. Checks run in Node's order: the CORS preflight; then transport,
/// origin, and for a known `sid` transport and protocol mismatch, for a
/// handshake method and WebSocket-without-upgrade; then the application's
/// `allowRequest` and finally the protocol version
/// ([`HandshakeRequest::accept`]).
///
/// ```
/// use siospec_codec::session::engine::{Endpoint, ErrorCode, ServerConfig, Verdict};
/// use siospec_codec::session::RequestHead;
///
/// let endpoint = Endpoint::new(ServerConfig::default());
/// let no_sessions = |_: &str| None;
///
/// match endpoint.verify(&RequestHead::get("EIO=4&transport=polling"), no_sessions) {
///     Verdict::Handshake(h) => assert!(h.accept().is_ok()),
///     other => panic!("{other:?}"),
/// }
/// match endpoint.verify(&RequestHead::get("EIO=4&transport=polling&sid=x"), no_sessions) {
///     Verdict::Reject(r) => {
///         assert_eq!(r.code(), Some(ErrorCode::UnknownSid));
///         let response = r.response.unwrap();
///         assert_eq!(response.status, 400);
///         assert_eq!(response.body, br#"{"code":1,"message":"Session ID unknown"}"#);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    config: ServerConfig,
}

impl Endpoint {
    /// A verifier for this configuration.
    pub fn new(config: ServerConfig) -> Self {
        Endpoint { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Decides what to do with a request. `lookup` answers for a `sid`
    /// with the session's [`SessionInfo`], or `None` when no open session
    /// has that id (see [`ServerSession::info`](super::ServerSession::info)).
    pub fn verify<F>(&self, head: &RequestHead<'_>, lookup: F) -> Verdict
    where
        F: FnOnce(&str) -> Option<SessionInfo>,
    {
        let config = &self.config;
        if let Some(cors) = &config.cors {
            if head.method.eq_ignore_ascii_case("OPTIONS") {
                return Verdict::Preflight(cors.preflight(head));
            }
        }
        let reject = |reason| Verdict::Reject(Rejection::new(reason, head, config));
        let query = Query::parse(head.query);
        let transport = match query.transport().and_then(TransportKind::from_name) {
            Some(TransportKind::Polling) if config.transports.polling => TransportKind::Polling,
            Some(TransportKind::WebSocket) if config.transports.websocket => {
                TransportKind::WebSocket
            }
            _ => return reject(RejectReason::UnknownTransport),
        };
        if head.origin.is_some_and(invalid_header_value) {
            return reject(RejectReason::InvalidOrigin);
        }
        let protocol = Protocol::from_query(query.eio());
        if let Some(sid) = query.sid() {
            let Some(info) = lookup(sid) else {
                return reject(RejectReason::UnknownSid);
            };
            if !head.websocket && info.transport != transport {
                return reject(RejectReason::TransportMismatch);
            }
            if config.check_protocol_mismatch && info.protocol != protocol {
                return reject(RejectReason::ProtocolMismatch);
            }
            if head.websocket && transport != TransportKind::WebSocket {
                return Verdict::Reject(Rejection::with_delivery(
                    RejectReason::UpgradeNotHandled,
                    Delivery::CloseAfterUpgrade,
                    cors_headers(config, head),
                ));
            }
            return Verdict::Session(SessionRequest {
                sid: sid.to_owned(),
                transport,
                upgrade_headers: if head.websocket {
                    cors_headers(config, head)
                } else {
                    Vec::new()
                },
            });
        }
        if head.method != "GET" {
            return reject(RejectReason::BadHandshakeMethod);
        }
        if transport == TransportKind::WebSocket && !head.websocket {
            return reject(RejectReason::TransportHandshakeError);
        }
        if head.websocket && transport != TransportKind::WebSocket {
            return Verdict::Reject(Rejection::with_delivery(
                RejectReason::UpgradeNotHandled,
                Delivery::CloseAfterUpgrade,
                cors_headers(config, head),
            ));
        }
        let known_eio = matches!(query.eio(), Some("3" | "4"));
        Verdict::Handshake(HandshakeRequest {
            transport,
            protocol,
            query,
            websocket: head.websocket,
            known_eio,
            allow_eio3: config.allow_eio3,
            habits: config.habits,
            cors: cors_headers(config, head),
        })
    }

    /// The answer when one of the application's middlewares failed (code 3).
    pub fn middleware_failure(&self, head: &RequestHead<'_>) -> Rejection {
        Rejection::new(RejectReason::MiddlewareFailure, head, &self.config)
    }
}

pub(crate) fn cors_headers(config: &ServerConfig, head: &RequestHead<'_>) -> Vec<Header> {
    config
        .cors
        .as_ref()
        .map(|c| c.headers(head))
        .unwrap_or_default()
}

/// Node's `checkInvalidHeaderChar`, over the bytes Node would see (each
/// byte one latin-1 character): control characters other than tab, and DEL.
fn invalid_header_value(value: &str) -> bool {
    value.bytes().any(|b| (b < 32 && b != b'\t') || b == 127)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::http::Cors;

    fn verify(config: ServerConfig, head: RequestHead<'_>, info: Option<SessionInfo>) -> Verdict {
        Endpoint::new(config).verify(&head, |_| info)
    }

    fn rejected(v: Verdict) -> Rejection {
        match v {
            Verdict::Reject(r) => r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// A new session's request, as verified with no sessions known.
    fn handshake(config: ServerConfig, head: RequestHead<'_>) -> HandshakeRequest {
        match verify(config, head, None) {
            Verdict::Handshake(h) => h,
            other => panic!("expected a handshake, got {other:?}"),
        }
    }

    fn body(r: &Rejection) -> String {
        String::from_utf8(r.response.as_ref().unwrap().body.clone()).unwrap()
    }

    const POLLING_V4: Option<SessionInfo> = Some(SessionInfo {
        transport: TransportKind::Polling,
        protocol: Protocol::V4,
    });

    #[test]
    fn unknown_transport_is_code_0_with_its_body() {
        for q in [
            "EIO=4",
            "EIO=4&transport=abc",
            "EIO=4&transport=constructor",
            "EIO=4&transport=__proto__",
            "EIO=4&transport=webtransport",
        ] {
            let r = rejected(verify(ServerConfig::default(), RequestHead::get(q), None));
            assert_eq!(r.code(), Some(ErrorCode::UnknownTransport), "{q}");
            assert_eq!(body(&r), r#"{"code":0,"message":"Transport unknown"}"#);
            let resp = r.response.unwrap();
            assert_eq!(resp.status, 400);
            assert_eq!(resp.header("Content-Type"), Some("application/json"));
        }
    }

    #[test]
    fn disabled_transport_is_unknown() {
        let mut config = ServerConfig::default();
        config.transports.websocket = false;
        let r = rejected(verify(
            config,
            RequestHead::websocket("EIO=4&transport=websocket"),
            None,
        ));
        assert_eq!(r.code(), Some(ErrorCode::UnknownTransport));
        assert_eq!(r.delivery, Delivery::BeforeUpgrade);
    }

    #[test]
    fn transport_is_checked_before_origin_and_sid() {
        let head = RequestHead::get("EIO=4&transport=abc&sid=zzz").with_origin("a\nb");
        let r = rejected(verify(ServerConfig::default(), head, None));
        assert_eq!(r.code(), Some(ErrorCode::UnknownTransport));
    }

    #[test]
    fn invalid_origin_is_code_3_before_sid() {
        let head = RequestHead::get("EIO=4&transport=polling&sid=zzz").with_origin("a\u{7f}");
        let r = rejected(verify(ServerConfig::default(), head, None));
        assert_eq!(r.reason, RejectReason::InvalidOrigin);
        assert_eq!(body(&r), r#"{"code":3,"message":"Bad request"}"#);
        let ok = RequestHead::get("EIO=4&transport=polling").with_origin("http://é\t");
        assert!(matches!(
            verify(ServerConfig::default(), ok, None),
            Verdict::Handshake(_)
        ));
    }

    #[test]
    fn unknown_sid_is_code_1() {
        let r = rejected(verify(
            ServerConfig::default(),
            RequestHead::post("EIO=4&transport=polling&sid=nope"),
            None,
        ));
        assert_eq!(r.code(), Some(ErrorCode::UnknownSid));
        assert_eq!(body(&r), r#"{"code":1,"message":"Session ID unknown"}"#);
    }

    #[test]
    fn transport_mismatch_without_upgrade_is_code_3() {
        let ws = Some(SessionInfo {
            transport: TransportKind::WebSocket,
            protocol: Protocol::V4,
        });
        let r = rejected(verify(
            ServerConfig::default(),
            RequestHead::get("EIO=4&transport=polling&sid=s"),
            ws,
        ));
        assert_eq!(r.reason, RejectReason::TransportMismatch);
        // an upgrade request may change transport
        let v = verify(
            ServerConfig::default(),
            RequestHead::websocket("EIO=4&transport=websocket&sid=s"),
            POLLING_V4,
        );
        assert!(matches!(
            v,
            Verdict::Session(SessionRequest {
                transport: TransportKind::WebSocket,
                ..
            })
        ));
    }

    #[test]
    fn protocol_mismatch_is_code_3_and_switchable() {
        let head = RequestHead::get("EIO=3&transport=polling&sid=s");
        let r = rejected(verify(ServerConfig::default(), head, POLLING_V4));
        assert_eq!(r.reason, RejectReason::ProtocolMismatch);
        assert_eq!(body(&r), r#"{"code":3,"message":"Bad request"}"#);
        let old = ServerConfig {
            check_protocol_mismatch: false,
            ..ServerConfig::default()
        };
        assert!(matches!(verify(old, head, POLLING_V4), Verdict::Session(_)));
    }

    #[test]
    fn handshake_must_be_get() {
        for method in ["POST", "PUT", "OPTIONS", "DELETE"] {
            let r = rejected(verify(
                ServerConfig::default(),
                RequestHead::new(method, "EIO=4&transport=polling"),
                None,
            ));
            assert_eq!(r.code(), Some(ErrorCode::BadHandshakeMethod), "{method}");
            assert_eq!(body(&r), r#"{"code":2,"message":"Bad handshake method"}"#);
        }
    }

    #[test]
    fn method_check_comes_after_the_sid_check() {
        // a PUT on a known sid goes to the session (which answers 500)
        let v = verify(
            ServerConfig::default(),
            RequestHead::new("PUT", "EIO=4&transport=polling&sid=s"),
            POLLING_V4,
        );
        assert!(matches!(v, Verdict::Session(_)));
    }

    #[test]
    fn websocket_handshake_on_plain_get_is_code_3() {
        let r = rejected(verify(
            ServerConfig::default(),
            RequestHead::get("EIO=4&transport=websocket"),
            None,
        ));
        assert_eq!(r.reason, RejectReason::TransportHandshakeError);
    }

    #[test]
    fn eio_is_checked_last_and_over_websocket_after_the_upgrade() {
        for q in [
            "transport=polling",
            "EIO=abc&transport=polling",
            "EIO=3&transport=polling",
        ] {
            let h = handshake(ServerConfig::default(), RequestHead::get(q));
            let r = h.accept().unwrap_err();
            assert_eq!(r.code(), Some(ErrorCode::UnsupportedProtocolVersion));
            assert_eq!(r.delivery, Delivery::Http);
            assert_eq!(
                body(&r),
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            );
        }
        let h = handshake(
            ServerConfig::default(),
            RequestHead::websocket("transport=websocket"),
        );
        let r = h.accept().unwrap_err();
        assert_eq!(r.delivery, Delivery::AfterUpgrade);
        let raw = r.response.unwrap().to_http1();
        assert_eq!(
            raw,
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 28\r\n\r\nUnsupported protocol version"
        );
        let eio3 = ServerConfig {
            allow_eio3: true,
            ..ServerConfig::default()
        };
        let h = handshake(eio3, RequestHead::get("transport=polling"));
        assert_eq!(h.accept().unwrap().protocol, Protocol::V3);
    }

    #[test]
    fn without_node_habits_eio_is_checked_before_the_upgrade_and_must_be_3_or_4() {
        let spec = |allow_eio3| ServerConfig {
            allow_eio3,
            habits: NodeHabits::NONE,
            ..ServerConfig::default()
        };
        let h = handshake(
            spec(false),
            RequestHead::websocket("EIO=abc&transport=websocket"),
        );
        let r = h.accept().unwrap_err();
        assert_eq!(r.delivery, Delivery::BeforeUpgrade);
        assert_eq!(r.code(), Some(ErrorCode::UnsupportedProtocolVersion));
        for query in ["transport=polling", "EIO=abc&transport=polling"] {
            let h = handshake(spec(true), RequestHead::get(query));
            let r = h.accept().unwrap_err();
            assert_eq!(r.response.unwrap().status, 400, "{query}");
        }
        let h = handshake(spec(true), RequestHead::get("EIO=3&transport=polling"));
        assert_eq!(h.accept().unwrap().protocol, Protocol::V3);
    }

    #[test]
    fn forbid_is_403_over_polling_and_raw_400_over_websocket() {
        let h = handshake(
            ServerConfig::default(),
            RequestHead::get("EIO=4&transport=polling"),
        );
        let r = h.clone().forbid(None);
        assert_eq!(r.response.as_ref().unwrap().status, 403);
        assert_eq!(body(&r), r#"{"code":4,"message":"Forbidden"}"#);
        let r = h.forbid(Some("no \"way\""));
        assert_eq!(body(&r), r#"{"code":4,"message":"no \"way\""}"#);
        let h = handshake(
            ServerConfig::default(),
            RequestHead::websocket("EIO=4&transport=websocket"),
        );
        let r = h.forbid(Some("nope"));
        assert_eq!(r.delivery, Delivery::BeforeUpgrade);
        assert_eq!(r.response.unwrap().status, 400);
    }

    #[test]
    fn preflight_only_with_cors() {
        let head = RequestHead::new("OPTIONS", "EIO=4&transport=polling");
        let v = verify(ServerConfig::suite(), head, None);
        let Verdict::Preflight(r) = v else { panic!() };
        assert_eq!(r.status, 204);
        let r = rejected(verify(ServerConfig::default(), head, None));
        assert_eq!(r.code(), Some(ErrorCode::BadHandshakeMethod));
    }

    #[test]
    fn cors_headers_on_errors() {
        let r = rejected(verify(
            ServerConfig::suite(),
            RequestHead::get("EIO=4&transport=polling&sid=x"),
            None,
        ));
        let resp = r.response.unwrap();
        assert_eq!(resp.header("Access-Control-Allow-Origin"), Some("*"));
        let mut config = ServerConfig::suite();
        config.cors = Some(Cors::any());
        let h = handshake(config, RequestHead::websocket("EIO=4&transport=websocket"));
        assert_eq!(
            h.accept().unwrap().upgrade_headers,
            vec![("Access-Control-Allow-Origin", "*".to_owned())]
        );
    }

    #[test]
    fn polling_upgrade_request_is_closed_after_the_handshake() {
        let r = rejected(verify(
            ServerConfig::default(),
            RequestHead::websocket("EIO=4&transport=polling"),
            None,
        ));
        assert_eq!(r.delivery, Delivery::CloseAfterUpgrade);
        assert_eq!(r.code(), None);
    }

    #[test]
    fn websocket_verify_rejections_are_raw() {
        let r = rejected(verify(
            ServerConfig::default(),
            RequestHead::websocket("EIO=4&transport=websocket&sid=gone"),
            None,
        ));
        assert_eq!(r.delivery, Delivery::BeforeUpgrade);
        let resp = r.response.unwrap();
        assert_eq!(resp.status, 400);
        assert_eq!(resp.body, b"Session ID unknown");
    }

    #[test]
    fn id_generation_failure_is_code_3() {
        let h = handshake(
            ServerConfig::default(),
            RequestHead::get("EIO=4&transport=polling"),
        );
        let r = h.accept().unwrap().id_generation_failed();
        assert_eq!(r.reason, RejectReason::IdGenerationError);
        assert_eq!(body(&r), r#"{"code":3,"message":"Bad request"}"#);
    }

    #[test]
    fn middleware_failure_is_code_3() {
        let e = Endpoint::new(ServerConfig::default());
        let r = e.middleware_failure(&RequestHead::get("EIO=4&transport=polling"));
        assert_eq!(r.reason.context_name(), Some("MIDDLEWARE_FAILURE"));
        assert_eq!(r.code(), Some(ErrorCode::BadRequest));
    }

    #[test]
    fn jsonp_and_b64_are_read_from_the_query() {
        let h = handshake(
            ServerConfig::default(),
            RequestHead::get("EIO=4&transport=polling&j=3&b64=1"),
        );
        let open = h.accept().unwrap();
        assert_eq!(open.jsonp.as_deref(), Some("3"));
        assert!(!open.supports_binary);
    }
}
