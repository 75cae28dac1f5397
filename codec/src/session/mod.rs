//! Sans-I/O session machines: Engine.IO server and client sessions, and the
//! Socket.IO layer for both roles, as plain values driven by the caller.
//!
//! Nothing here reads a clock, sleeps, spawns, draws a random number or
//! touches a socket. Time comes in as an [`Instant`]
//! argument; session ids, Socket.IO ids and the reconnection jitter come in
//! as arguments; transports are opaque [`TransportId`]s the caller picks
//! (a polling request, a WebSocket connection). Every protocol rule — the
//! order of the checks, the timers, the status codes, bodies and headers —
//! lives in these machines, so an adapter (the reference server, the
//! conformance client) only moves bytes.
//!
//! # The machines
//!
//! | role | Engine.IO | Socket.IO on top |
//! |---|---|---|
//! | server | [`engine::Endpoint`] (request verifier, one per server) and [`engine::ServerSession`] (one per session) | [`socket::ServerConnection`] (wraps a `ServerSession`) |
//! | client | [`engine::ClientSession`] | [`socket::ClientConnection`] (wraps a `ClientSession`, reconnects with [`socket::Backoff`]) |
//!
//! Both server machines implement [`ServerMachine`], so one adapter drives
//! either. [`contract`] is the application siospec's conformance cases
//! expect on top of them (its testee contract).
//!
//! # Call order
//!
//! The interface follows quinn-proto: inputs are `handle_*(now, …)` calls and
//! application commands (`send`, `emit`, `close`, …); outputs are drained
//! with `poll_*`. After **every** input or command:
//!
//! 1. drain [`poll_transmit`](engine::ServerSession::poll_transmit) until it
//!    returns `None`, writing each transmit (an HTTP response, a WebSocket
//!    frame, a close);
//! 2. drain [`poll_event`](engine::ServerSession::poll_event) until `None`,
//!    handing each event to the application (which may issue commands: go
//!    back to 1);
//! 3. read [`poll_timeout`](engine::ServerSession::poll_timeout) and arm one
//!    timer for that instant; when it expires, call
//!    [`handle_timeout`](engine::ServerSession::handle_timeout) with the
//!    current time and start again at 1.
//!
//! Transmits come before events because a closing session still has things
//! to write (the `1` for a pending GET) after it reports
//! [`engine::Event::Closed`]; once that event is out and the transmits are
//! drained, the machine produces nothing more and can be dropped.
//!
//! # Time
//!
//! * Inputs must carry monotonically non-decreasing instants; an instant
//!   earlier than one already seen is treated as that one.
//! * Every `handle_*` call first fires the timers due at or before its
//!   `now`, in deadline order, each as if at its own deadline. So a session
//!   ends exactly at the instant its timers say, whatever the granularity of
//!   the caller's clock, and an input stamped exactly at a deadline sees the
//!   timer fired (the official ping-timeout case GETs at exactly
//!   interval + timeout and expects the session gone).
//! * `handle_timeout` called early is a harmless no-op.
//! * A call may leave a timer due at exactly its `now` (a zero duration,
//!   such as a `pingTimeout` of 0): `poll_timeout` then returns that
//!   instant and the next `handle_timeout` fires it. No timer is ever left
//!   due *before* the latest `now`.
//!
//! # Queues
//!
//! Every queue a machine holds is bounded, and each type documents its
//! bound: buffered outgoing messages (sending fails beyond), undrained
//! events (the session closes beyond), pending acks, buffered Socket.IO
//! emits. Incoming data is bounded by the codec's [`Limits`](crate::Limits).
//!
//! # Example: a polling session with the official suite's timings
//!
//! ```
//! use std::time::{Duration, Instant};
//! use siospec_codec::session::engine::{Endpoint, Event, ServerConfig, ServerSession, Transmit, Verdict};
//! use siospec_codec::session::{Message, RequestHead, TransportId};
//!
//! let t0 = Instant::now();
//! let endpoint = Endpoint::new(ServerConfig::suite());
//! let head = RequestHead::get("EIO=4&transport=polling");
//! let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else { unreachable!() };
//! let mut s = ServerSession::new(t0, endpoint.config().clone(), "s1", h.accept().unwrap(), TransportId(1), &head);
//! while s.poll_transmit().is_some() {} // the open packet, to request 1
//!
//! // POST 4hello: answered `ok`, the message is an event.
//! let post = RequestHead::post("EIO=4&transport=polling&sid=s1");
//! s.handle_post(t0, TransportId(2), &post, b"4hello");
//! let Some(Transmit::Http { response, .. }) = s.poll_transmit() else { unreachable!() };
//! assert_eq!(response.body, b"ok");
//! assert_eq!(s.poll_event(), Some(Event::Message(Message::Text("hello".into()))));
//!
//! // A GET waits; at 300 ms the ping answers it.
//! s.handle_request(t0, TransportId(3), &RequestHead::get("EIO=4&transport=polling&sid=s1"));
//! assert!(s.poll_transmit().is_none());
//! s.handle_timeout(t0 + Duration::from_millis(300));
//! let Some(Transmit::Http { response, .. }) = s.poll_transmit() else { unreachable!() };
//! assert_eq!(response.body, b"2");
//!
//! // Unanswered, the session is gone at exactly 500 ms.
//! s.handle_timeout(t0 + Duration::from_millis(499));
//! assert!(!s.is_closed());
//! s.handle_timeout(t0 + Duration::from_millis(500));
//! assert!(s.is_closed());
//! ```

pub mod contract;
pub mod engine;
mod http;
mod machine;
mod query;
pub mod socket;

pub use http::{
    negotiate_compression, Compression, Cookie, Cors, CorsOrigin, Header, HttpResponse,
    RequestHead, APPLICATION_JSON, OCTET_STREAM, TEXT_HTML, TEXT_PLAIN_UTF8,
};
pub use machine::ServerMachine;
pub use query::{Query, MAX_QUERY_PAIRS};

use std::fmt;
use std::time::{Duration, Instant};

use crate::engine::{Packet, PacketType};

/// `at + d`, or `None` (never) when that instant cannot be represented: a
/// peer's handshake may announce absurd timings, and adding them must not panic.
pub(crate) fn later(at: Instant, d: Duration) -> Option<Instant> {
    at.checked_add(d)
}

/// An opaque transport identifier chosen by the caller: one polling HTTP
/// request, or one WebSocket connection. The machines only compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(pub u64);

impl fmt::Display for TransportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Application data carried by an Engine.IO message packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// Text (`4hello`).
    Text(String),
    /// Bytes (a binary frame, or `b<base64>` over polling).
    Binary(Vec<u8>),
    /// A message packet without data (`4` alone).
    Empty,
}

impl Message {
    pub(crate) fn into_packet(self) -> Packet<'static> {
        match self {
            Message::Text(t) => Packet::text(PacketType::Message, t),
            Message::Binary(b) => Packet::binary(b),
            Message::Empty => Packet::new(PacketType::Message),
        }
    }

    /// The size of the data in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            Message::Empty => 0,
        }
    }

    /// `true` when there is no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One WebSocket message (the adapter reassembles fragmented frames).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Frame {
    /// The payload size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// `true` for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, for a text frame.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Frame::Text(t) => Some(t),
            Frame::Binary(_) => None,
        }
    }
}

/// Why an application command could not be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// The session or namespace is closing or closed.
    Closed,
    /// The bounded queue is full; drain transmits (or wait for the client) and retry.
    Full,
    /// The namespace is not connected.
    NotConnected,
    /// The ack was already sent, or was never asked for.
    UnknownAck,
    /// The data cannot be sent as asked (an event without a name, a reserved name…).
    Invalid,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "closed",
            SendError::Full => "queue full",
            SendError::NotConnected => "namespace not connected",
            SendError::UnknownAck => "no such ack pending",
            SendError::Invalid => "invalid data",
        })
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrepresentable_deadlines_are_never() {
        let now = Instant::now();
        assert_eq!(later(now, Duration::MAX), None);
        assert_eq!(
            later(now, Duration::from_millis(5)),
            Some(now + Duration::from_millis(5))
        );
    }
}
