//! The wire: the harness's one connection layer for HTTP long-polling and
//! WebSocket, and the Engine.IO / Socket.IO helpers on top of it.
//!
//! [`conn::Conn`] is one Engine.IO connection over either transport, and
//! [`sio::Sio`] the Socket.IO client on it; the request-level pieces
//! ([`http`], [`ws`], [`eio::Session`]) stay open to the cases that judge
//! single requests and frames.
//!
//! Protocol packets and payloads are encoded and decoded by `siospec-codec`
//! only; bytes a case wants on the wire exactly as written (malformed input,
//! raw HTTP) go through the explicitly raw calls ([`ws::Ws::send_raw`],
//! [`conn::Conn::send_raw_binary`], [`sio::Sio::send_raw`], [`http::Http::raw`]). Nothing here hides the
//! wire: every exchange lands in the case's trace ([`crate::trace`]). The
//! heartbeat is one policy per connection ([`heartbeat::Heartbeat`]).

pub mod conn;
pub mod eio;
pub mod heartbeat;
pub mod http;
pub mod sio;
pub mod ws;
