//! Engine.IO session machines: the server's request verifier
//! ([`Endpoint`]), one [`ServerSession`] per session, and the
//! [`ClientSession`].
//!
//! See the [parent module](super) for the call order shared by every machine.

mod batch;
mod client;
mod config;
mod endpoint;
mod server;

pub use batch::{writable_prefix, BatchSize};
pub use client::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSession, ClientTransmit, HttpMethod,
    HttpRequest,
};
pub use config::{NodeHabits, ServerConfig, Transports};
pub use endpoint::{
    Delivery, Endpoint, ErrorCode, HandshakeRequest, OpenRequest, RejectReason, Rejection,
    SessionInfo, SessionRequest, Verdict,
};
pub(crate) use server::encode_frame;
pub use server::{ServerSession, Transmit};

use std::fmt;

use crate::engine::{v3, DecodeError, Packet};

/// The Engine.IO protocol revision of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `EIO=3` (Socket.IO 1.x/2.x clients): client-driven heartbeat,
    /// length-prefixed payloads.
    V3,
    /// `EIO=4`: server-driven heartbeat, `\x1e`-separated payloads.
    V4,
}

impl Protocol {
    /// The revision a request asks for, as Node computes it: `EIO=4` is 4,
    /// anything else (missing, `3`, `abc`) is 3.
    ///
    /// ```
    /// use siospec_codec::session::engine::Protocol;
    /// assert_eq!(Protocol::from_query(Some("4")), Protocol::V4);
    /// assert_eq!(Protocol::from_query(Some("abc")), Protocol::V3);
    /// assert_eq!(Protocol::from_query(None), Protocol::V3);
    /// ```
    pub fn from_query(eio: Option<&str>) -> Self {
        if eio == Some("4") {
            Protocol::V4
        } else {
            Protocol::V3
        }
    }

    /// The `EIO` query value.
    pub fn query_value(self) -> &'static str {
        match self {
            Protocol::V3 => "3",
            Protocol::V4 => "4",
        }
    }
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// HTTP long-polling (XHR, or JSONP when the request has `j`).
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The `transport` query value.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// The transport a `transport` query value names, among those two.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a transport failed, for [`CloseReason::TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// A second polling GET while one was pending ("overlap from client").
    PollOverlap,
    /// A second POST while one was being received ("data request overlap from client").
    DataOverlap,
    /// A POST with `Content-Type: application/octet-stream` on a v4 session ("invalid content").
    InvalidContent,
    /// A heartbeat packet in the wrong direction (client `2` on v4, client `3` on v3).
    InvalidHeartbeatDirection,
    /// The pending GET's connection closed before it was answered.
    PollClosedPrematurely,
    /// The POST's connection closed before its body was complete.
    DataClosedPrematurely,
    /// A WebSocket message above the payload limit (the connection is closed with 1009).
    MessageTooBig,
    /// The WebSocket connection reported an error.
    WebSocket,
    /// The caller did not drain the machine's event queue (a siospec bound,
    /// not a Node behaviour).
    EventQueueFull,
    /// The server failed the client's poll (client side: a non-200 answer
    /// to a GET, or a GET that could not be sent).
    RequestFailed,
    /// The same for the client's POST.
    PostFailed,
}

impl TransportError {
    /// The description Node gives the error.
    pub fn description(self) -> &'static str {
        match self {
            TransportError::PollOverlap => "overlap from client",
            TransportError::DataOverlap => "data request overlap from client",
            TransportError::InvalidContent => "invalid content",
            TransportError::InvalidHeartbeatDirection => "invalid heartbeat direction",
            TransportError::PollClosedPrematurely => "poll connection closed prematurely",
            TransportError::DataClosedPrematurely => "data request connection closed prematurely",
            TransportError::MessageTooBig => "Max payload size exceeded",
            TransportError::WebSocket => "websocket error",
            TransportError::EventQueueFull => "event queue full",
            TransportError::RequestFailed => "xhr poll error",
            TransportError::PostFailed => "xhr post error",
        }
    }
}

/// Why a server session ended.
///
/// [`CloseReason::node_reason`] gives the reason string the Node server
/// reports for the same cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client sent a close packet (`1`) over polling. Node: `transport close`.
    ClientClose,
    /// The application closed the session ([`ServerSession::close`]). Node: `forced close`.
    ServerClose,
    /// The session was discarded at once ([`ServerSession::shutdown`], a
    /// server shutting down). Node: `forced close`.
    ForcedClose,
    /// The transport closed under the session (the WebSocket went away). Node: `transport close`.
    TransportClose,
    /// The transport misbehaved. Node: `transport error`.
    TransportError(TransportError),
    /// A packet could not be decoded. Node: `parse error`.
    ParseError,
    /// The heartbeat was not answered in time. Node: `ping timeout`.
    PingTimeout,
}

impl CloseReason {
    /// The reason string Node's `close` event carries.
    ///
    /// ```
    /// use siospec_codec::session::engine::CloseReason;
    /// assert_eq!(CloseReason::ClientClose.node_reason(), "transport close");
    /// assert_eq!(CloseReason::PingTimeout.node_reason(), "ping timeout");
    /// ```
    pub fn node_reason(self) -> &'static str {
        match self {
            CloseReason::ClientClose | CloseReason::TransportClose => "transport close",
            CloseReason::ServerClose | CloseReason::ForcedClose => "forced close",
            CloseReason::TransportError(_) => "transport error",
            CloseReason::ParseError => "parse error",
            CloseReason::PingTimeout => "ping timeout",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::TransportError(e) => write!(f, "transport error ({})", e.description()),
            other => f.write_str(other.node_reason()),
        }
    }
}

/// Why an upgrade attempt was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpgradeFailure {
    /// The new transport sent something other than the probe or `5`.
    UnexpectedPacket,
    /// `upgradeTimeout` passed without `5`.
    Timeout,
    /// The new transport closed or failed.
    TransportClosed,
}

/// What a server session tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the client.
    Message(super::Message),
    /// A heartbeat went through (v4: a pong arrived; v3: a ping arrived).
    Heartbeat,
    /// The probe arrived on the new transport and was answered.
    Upgrading {
        /// The WebSocket being upgraded to.
        transport: super::TransportId,
    },
    /// The session now runs over this WebSocket.
    Upgraded {
        /// The new transport.
        transport: super::TransportId,
    },
    /// An upgrade attempt was given up; the session goes on over polling.
    UpgradeFailed {
        /// The WebSocket that was closed.
        transport: super::TransportId,
        /// Why.
        reason: UpgradeFailure,
    },
    /// The session ended; it will produce nothing more once its transmits are drained.
    Closed(CloseReason),
}

/// A v3 decoder's item as the machines handle it: a packet, or `None` for
/// data of no known type ([`v3::Decoded::Untyped`]), which engine.io ignores.
pub(crate) fn known_v3(
    item: Result<v3::Decoded<'_>, DecodeError>,
) -> Result<Option<Packet<'_>>, DecodeError> {
    item.map(v3::Decoded::into_packet)
}

/// A v4 decoder's item in the shape of [`known_v3`].
pub(crate) fn known_v4(
    item: Result<Packet<'_>, DecodeError>,
) -> Result<Option<Packet<'_>>, DecodeError> {
    item.map(Some)
}

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod server_tests;
