//! Shared checks used by the case catalogue, split by concern. Each returns
//! `Err(Stop::Fail)` with the expectation and what was seen instead, or an
//! [`Outcome`](crate::case::Outcome) for a whole rule that several sections
//! run against their own revision.

use crate::case::Stop;

pub mod client;
pub mod close;
pub mod handshake;
pub mod heartbeat;
pub mod http;
pub mod polling;
pub mod sio;
pub mod upgrade;
pub mod ws;

pub use self::handshake::handshake;
pub use self::http::{
    body, describe, error_json, ok_body, posted, refused, server_alive, session_gone, status,
    unknown_sid,
};
pub use self::ws::{closed, next_keeping_heartbeat, text, ws_refusal};

/// A failure with a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(msg.into()))
}

/// Shortens a text for messages.
pub fn short(s: &str) -> String {
    if s.len() <= 300 {
        s.to_owned()
    } else {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &s[..cut])
    }
}
