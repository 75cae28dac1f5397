//! [`ServerMachine`]: the inputs and outputs an Engine.IO
//! [`ServerSession`] and a Socket.IO [`ServerConnection`] share, so that one
//! adapter drives either.

use std::time::Instant;

use super::engine::{ServerSession, SessionInfo, Transmit};
use super::socket::ServerConnection;
use super::{Frame, RequestHead, TransportId};

/// One server-side session as an adapter sees it: the transport inputs, the
/// transmits and the timer, whether the machine is a bare Engine.IO
/// [`ServerSession`] or a Socket.IO [`ServerConnection`] on top of one.
///
/// Every method does what the machine's inherent method of the same name
/// does (see [`ServerSession`] for each); the call order of the
/// [module documentation](super) applies. Events are left out on purpose:
/// they differ per layer ([`engine::Event`](super::engine::Event),
/// [`socket::ServerEvent`](super::socket::ServerEvent)) and belong to the
/// application, which knows which machine it runs on. That keeps the trait
/// object-safe, so a server may hold machines of both layers side by side as
/// `Box<dyn ServerMachine>`, and a wrapper can sit between
/// [`poll_transmit`](Self::poll_transmit) and the network (to record, drop
/// or rewrite frames) by implementing this trait over another one.
///
/// # Example
///
/// One function serves a polling handshake for either layer:
///
/// ```
/// use std::time::Instant;
/// use siospec_codec::session::engine::{Endpoint, ServerConfig, ServerSession, Transmit, Verdict};
/// use siospec_codec::session::socket::{ServerConnection, ServerOptions};
/// use siospec_codec::session::{RequestHead, ServerMachine, TransportId};
///
/// fn first_answer(machine: &mut dyn ServerMachine) -> Vec<u8> {
///     match machine.poll_transmit() {
///         Some(Transmit::Http { response, .. }) => response.body,
///         other => panic!("{other:?}"),
///     }
/// }
///
/// let t0 = Instant::now();
/// let endpoint = Endpoint::new(ServerConfig::suite());
/// let head = RequestHead::get("EIO=4&transport=polling");
/// let open = |sid: &str| {
///     let Verdict::Handshake(h) = endpoint.verify(&head, |_| None) else { unreachable!() };
///     ServerSession::new(t0, endpoint.config().clone(), sid, h.accept().unwrap(), TransportId(1), &head)
/// };
///
/// let mut engine = open("e1");
/// let mut socket = ServerConnection::new(t0, open("s1"), ServerOptions::default());
/// assert!(first_answer(&mut engine).starts_with(br#"0{"sid":"e1""#));
/// assert!(first_answer(&mut socket).starts_with(br#"0{"sid":"s1""#));
/// assert_eq!(socket.engine().sid(), "s1");
/// ```
pub trait ServerMachine {
    /// The Engine.IO session (the machine itself, or the one a Socket.IO
    /// connection wraps).
    fn engine(&self) -> &ServerSession;
    /// A polling request or a WebSocket upgrade request for this session.
    fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>);
    /// Part of a POST body.
    fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]);
    /// The end of a POST body.
    fn handle_body_end(&mut self, now: Instant, id: TransportId);
    /// A whole POST: the request, its body and its end.
    fn handle_post(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>, body: &[u8]);
    /// A request closed before its answer.
    fn handle_request_closed(&mut self, now: Instant, id: TransportId);
    /// A WebSocket opened for this session.
    fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>);
    /// A WebSocket message.
    fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame);
    /// A WebSocket message over the size limit, which the adapter refused to buffer.
    fn handle_frame_too_big(&mut self, now: Instant, id: TransportId);
    /// The WebSocket closed.
    fn handle_websocket_closed(&mut self, now: Instant, id: TransportId);
    /// The WebSocket failed.
    fn handle_websocket_error(&mut self, now: Instant, id: TransportId);
    /// A timer expired.
    fn handle_timeout(&mut self, now: Instant);
    /// The application closes the session.
    fn close(&mut self, now: Instant);
    /// The server shuts down.
    fn shutdown(&mut self, now: Instant);
    /// The next transmit.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// `true` once the session has ended.
    fn is_closed(&self) -> bool;

    /// What a request verifier needs to know about the session
    /// ([`ServerSession::info`]).
    fn info(&self) -> Option<SessionInfo> {
        self.engine().info()
    }

    /// `true` once the session has ended and every transmit is drained:
    /// the machine will produce nothing more and can be dropped.
    fn is_finished(&self) -> bool {
        self.is_closed() && self.engine().queued_transmits() == 0
    }
}

/// Implements the trait by calling the inherent methods, which have the
/// same names and signatures on both machines.
macro_rules! inherent {
    ($machine:ty, |$self_:ident| $engine:expr) => {
        impl ServerMachine for $machine {
            fn engine(&$self_) -> &ServerSession {
                $engine
            }
            fn handle_request(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
                <$machine>::handle_request(self, now, id, head)
            }
            fn handle_body(&mut self, now: Instant, id: TransportId, chunk: &[u8]) {
                <$machine>::handle_body(self, now, id, chunk)
            }
            fn handle_body_end(&mut self, now: Instant, id: TransportId) {
                <$machine>::handle_body_end(self, now, id)
            }
            fn handle_post(
                &mut self,
                now: Instant,
                id: TransportId,
                head: &RequestHead<'_>,
                body: &[u8],
            ) {
                <$machine>::handle_post(self, now, id, head, body)
            }
            fn handle_request_closed(&mut self, now: Instant, id: TransportId) {
                <$machine>::handle_request_closed(self, now, id)
            }
            fn handle_websocket(&mut self, now: Instant, id: TransportId, head: &RequestHead<'_>) {
                <$machine>::handle_websocket(self, now, id, head)
            }
            fn handle_frame(&mut self, now: Instant, id: TransportId, frame: Frame) {
                <$machine>::handle_frame(self, now, id, frame)
            }
            fn handle_frame_too_big(&mut self, now: Instant, id: TransportId) {
                <$machine>::handle_frame_too_big(self, now, id)
            }
            fn handle_websocket_closed(&mut self, now: Instant, id: TransportId) {
                <$machine>::handle_websocket_closed(self, now, id)
            }
            fn handle_websocket_error(&mut self, now: Instant, id: TransportId) {
                <$machine>::handle_websocket_error(self, now, id)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$machine>::handle_timeout(self, now)
            }
            fn close(&mut self, now: Instant) {
                <$machine>::close(self, now)
            }
            fn shutdown(&mut self, now: Instant) {
                <$machine>::shutdown(self, now)
            }
            fn poll_transmit(&mut self) -> Option<Transmit> {
                <$machine>::poll_transmit(self)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$machine>::poll_timeout(self)
            }
            fn is_closed(&self) -> bool {
                <$machine>::is_closed(self)
            }
        }
    };
}

inherent!(ServerSession, |self| self);
inherent!(ServerConnection, |self| ServerConnection::engine(self));
