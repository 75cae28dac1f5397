//! The harness's own client: raw HTTP and WebSocket drivers, and thin
//! Engine.IO / Socket.IO helpers on top of `siospec-codec`.
//!
//! Nothing here hides the wire: cases send exact bytes and see exact bytes,
//! and every exchange lands in the case's trace.

pub mod eio;
pub mod http;
pub mod sio;
pub mod ws;
