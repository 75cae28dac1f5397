//! The Engine.IO server's configuration.

use std::time::Duration;

use crate::session::http::{Cookie, Cors};
use crate::{Limits, Profile};

/// Which transports the server accepts (engine.io's `transports` option;
/// WebTransport does not go through HTTP and is not handled here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports {
            polling: true,
            websocket: true,
        }
    }
}

/// Configuration of an Engine.IO server; the defaults are engine.io 6.6.12's.
///
/// ```
/// use std::time::Duration;
/// use siospec_codec::session::engine::ServerConfig;
///
/// let c = ServerConfig::default();
/// assert_eq!(c.ping_interval, Duration::from_millis(25_000));
/// assert_eq!(c.max_payload, 1_000_000);
/// let suite = ServerConfig::suite();
/// assert_eq!(suite.ping_interval, Duration::from_millis(300));
/// assert!(suite.cors.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Time between two server pings (v4), or the client's expected ping
    /// period (v3). Default 25 s.
    pub ping_interval: Duration,
    /// Time the client has to answer a ping (v4); v3 times out after
    /// interval + timeout without a client ping. Default 20 s.
    pub ping_timeout: Duration,
    /// How long an upgrade may take once the WebSocket is open. Default 10 s.
    pub upgrade_timeout: Duration,
    /// `maxHttpBufferSize`: the largest POST body and WebSocket message, in
    /// bytes, reported as `maxPayload` in the handshake. Default 1,000,000.
    pub max_payload: usize,
    /// Accepted transports. Default polling and WebSocket.
    pub transports: Transports,
    /// Whether polling sessions may upgrade (`upgrades` in the handshake). Default true.
    pub allow_upgrades: bool,
    /// Accept `EIO=3` clients. Default false.
    pub allow_eio3: bool,
    /// CORS (the `cors` middleware). Default off.
    pub cors: Option<Cors>,
    /// Sticky-session cookie on the handshake. Default off.
    pub cookie: Option<Cookie>,
    /// Compress polling responses at least this long when the client
    /// accepts gzip or deflate; `None` disables. Default 1024 bytes.
    pub compression_threshold: Option<usize>,
    /// Refuse a request whose `EIO` differs from its session's with code 3
    /// (`PROTOCOL_MISMATCH`, new in engine.io 6.6.12). Default true.
    pub check_protocol_mismatch: bool,
    /// How long a server close over polling waits for the next GET to carry
    /// the close packet. Default 30 s.
    pub polling_close_timeout: Duration,
    /// Interval of the noop that releases the pending GET during an
    /// upgrade. Default 100 ms.
    pub upgrade_noop_interval: Duration,
    /// Cap each polling response at `max_payload` bytes, counted as
    /// engine.io-client counts (see [`writable_prefix`](super::writable_prefix)); packets that
    /// do not fit wait for the next GET. Node sends the whole buffer at once;
    /// this only differs for buffers above `max_payload`. Default true.
    pub bounded_polling_flush: bool,
    /// Keep the heartbeat timeout across an upgrade. Node clears the pending
    /// ping timeout when the transport changes (v4: an unanswered ping sent
    /// just before the upgrade is never timed out; v3: the session is never
    /// timed out again, protocol.md §6.3). Default false, as Node.
    pub keep_heartbeat_on_upgrade: bool,
    /// Most packets waiting to be sent (buffered plus undrained transmits);
    /// [`ServerSession::send`](super::ServerSession::send) fails beyond it. Default 10,000.
    pub max_buffered_packets: usize,
    /// Most undrained events; a session whose caller lets more pile up is
    /// closed with [`TransportError::EventQueueFull`](super::TransportError::EventQueueFull).
    /// Default 200,000 (above the packets one payload may hold).
    pub max_queued_events: usize,
    /// Decoding rules.
    pub profile: Profile,
    /// Decoding limits; `max_payload_bytes` is taken from [`max_payload`](Self::max_payload).
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: Transports::default(),
            allow_upgrades: true,
            allow_eio3: false,
            cors: None,
            cookie: None,
            compression_threshold: Some(1024),
            check_protocol_mismatch: true,
            polling_close_timeout: Duration::from_millis(30_000),
            upgrade_noop_interval: Duration::from_millis(100),
            bounded_polling_flush: true,
            keep_heartbeat_on_upgrade: false,
            max_buffered_packets: 10_000,
            max_queued_events: 200_000,
            profile: Profile::Compat,
            limits: Limits::default(),
        }
    }
}

impl ServerConfig {
    /// The official suites' server (protocol.md §5.1): ping interval 300 ms,
    /// ping timeout 200 ms, CORS origin `*`, EIO=3 refused.
    pub fn suite() -> Self {
        ServerConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            cors: Some(Cors::any()),
            ..ServerConfig::default()
        }
    }

    /// The limits decoders use: [`limits`](Self::limits) with the payload size of [`max_payload`](Self::max_payload).
    pub fn decode_limits(&self) -> Limits {
        Limits {
            max_payload_bytes: self.max_payload,
            ..self.limits
        }
    }

    /// The transports a polling session may upgrade to.
    pub fn upgrades(&self) -> Vec<String> {
        if self.allow_upgrades && self.transports.websocket {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        }
    }
}
