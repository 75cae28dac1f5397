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

/// Habits of the official server (engine.io 6.6.12, measured: protocol.md
/// §6) that the protocol text contradicts or does not state. Each field
/// `true` reproduces the habit; [`NodeHabits::NODE`] has them all (the
/// default, for fidelity to Node), [`NodeHabits::NONE`] none (what the
/// protocol text asks for).
///
/// ```
/// use siospec_codec::session::engine::{NodeHabits, ServerConfig};
///
/// assert_eq!(ServerConfig::default().habits, NodeHabits::NODE);
/// let spec = ServerConfig { habits: NodeHabits::NONE, ..ServerConfig::suite() };
/// assert!(!spec.habits.ignore_close_over_websocket);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeHabits {
    /// A POST whose body cannot be decoded is answered `200 ok` (the
    /// session is closed all the same). Otherwise `400` with code 3
    /// (`Bad request`), as a protocol error.
    pub ok_on_undecodable_post: bool,
    /// A close packet `1` received over WebSocket is ignored: the session
    /// ends at the heartbeat timeout. Otherwise it closes the session.
    pub ignore_close_over_websocket: bool,
    /// A WebSocket handshake whose `EIO` is refused is answered 101 first,
    /// then with the HTTP 400 inside the upgraded stream
    /// ([`Delivery::AfterUpgrade`](super::Delivery::AfterUpgrade)).
    /// Otherwise the 400 comes before any upgrade.
    pub check_eio_after_websocket_handshake: bool,
    /// With [`allow_eio3`](ServerConfig::allow_eio3), a missing or invalid
    /// `EIO` is read as 3. Otherwise only `EIO=3` opens a v3 session and
    /// anything but 3 and 4 is refused with code 5.
    pub read_invalid_eio_as_v3: bool,
    /// The pending ping timeout is cleared when the transport changes (v4:
    /// an unanswered ping sent just before the upgrade is never timed out;
    /// v3: the session is never timed out again, protocol.md §6.3).
    /// Otherwise the heartbeat carries over the upgrade.
    pub clear_heartbeat_on_upgrade: bool,
    /// On a v3 WebSocket session, `2probe` is answered with a plain `3`.
    /// Otherwise with `3probe`, as every other ping with data.
    pub drop_v3_ping_data: bool,
    /// An upgrade completes on `5` even without the `2probe`/`3probe`
    /// exchange. Otherwise `5` before the probe aborts the upgrade.
    pub upgrade_without_probe: bool,
}

impl NodeHabits {
    /// Every habit, as the official server.
    pub const NODE: NodeHabits = NodeHabits {
        ok_on_undecodable_post: true,
        ignore_close_over_websocket: true,
        check_eio_after_websocket_handshake: true,
        read_invalid_eio_as_v3: true,
        clear_heartbeat_on_upgrade: true,
        drop_v3_ping_data: true,
        upgrade_without_probe: true,
    };
    /// No habit: what the protocol text asks for.
    pub const NONE: NodeHabits = NodeHabits {
        ok_on_undecodable_post: false,
        ignore_close_over_websocket: false,
        check_eio_after_websocket_handshake: false,
        read_invalid_eio_as_v3: false,
        clear_heartbeat_on_upgrade: false,
        drop_v3_ping_data: false,
        upgrade_without_probe: false,
    };
}

impl Default for NodeHabits {
    fn default() -> Self {
        NodeHabits::NODE
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
    /// Which of the official server's habits to reproduce where the
    /// protocol text says otherwise or nothing. Default: all of them.
    pub habits: NodeHabits,
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
            habits: NodeHabits::NODE,
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
