//! The Socket.IO layer on top of the Engine.IO machines: namespaces,
//! CONNECT / CONNECT_ERROR, acks, binary attachments and, for clients,
//! reconnection.
//!
//! [`ServerConnection`] wraps a server [`ServerSession`](super::engine::ServerSession),
//! [`ClientConnection`] a [`ClientSession`](super::engine::ClientSession);
//! both take the same `handle_*` inputs as the session they wrap and follow
//! the [call order of the parent module](super#call-order).

mod ack;
mod backoff;
mod client;
mod data;
mod parser;
mod recovery;
mod server;

pub use ack::AckTable;
pub use backoff::Backoff;
pub use client::{
    ClientConnection, ClientDisconnectReason, ClientEvent, ClientOptions, ConnectError,
    CONNECT_WITHOUT_SID,
};
pub(crate) use data::{check_event_json, encode_raw};
pub use data::{DataError, Payload};
pub use parser::{msgpack_from_text, msgpack_to_text, Parser, TextForm};
pub use recovery::{Recovery, Restored, MAX_STORED_PACKETS};
pub use server::{ServerConnection, ServerEvent, ServerOptions};

use std::fmt;

use super::engine::CloseReason;
use crate::socket::{DecodeError, PacketType};

/// Why a namespace was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT. Node: `client namespace disconnect`.
    ClientNamespaceDisconnect,
    /// The server sent DISCONNECT. Node: `server namespace disconnect`.
    ServerNamespaceDisconnect,
    /// The server closed the whole connection over a protocol violation or
    /// the connect timeout. Node: `forced server close`.
    ForcedServerClose,
    /// The Engine.IO session ended (Node gives its reason: `transport close`,
    /// `ping timeout`, …).
    Engine(CloseReason),
}

impl DisconnectReason {
    /// The reason string Node's `disconnect` event carries.
    ///
    /// ```
    /// use siospec_codec::session::socket::DisconnectReason;
    /// use siospec_codec::session::engine::CloseReason;
    /// assert_eq!(DisconnectReason::ClientNamespaceDisconnect.node_reason(), "client namespace disconnect");
    /// assert_eq!(DisconnectReason::Engine(CloseReason::PingTimeout).node_reason(), "ping timeout");
    /// ```
    pub fn node_reason(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::Engine(r) => r.node_reason(),
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node_reason())
    }
}

/// A rule the peer broke, which closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The decoder refused a packet (or a binary frame arrived out of place).
    Decode(DecodeError),
    /// An Engine.IO message without data (`4`): Node's decoder throws on it.
    EmptyMessage,
    /// A text message on a connection that speaks the msgpack parser, which
    /// reads binary messages only.
    TextOnMsgpack,
    /// A packet other than CONNECT for a namespace not joined (events sent
    /// after DISCONNECT, or before the CONNECT reply).
    NotJoined {
        /// The namespace.
        namespace: String,
        /// The packet type.
        kind: PacketType,
    },
    /// A CONNECT for a namespace already joined.
    AlreadyJoined {
        /// The namespace.
        namespace: String,
    },
    /// The client sent CONNECT_ERROR.
    ClientConnectError {
        /// The namespace.
        namespace: String,
    },
    /// No namespace joined within the connect timeout.
    ConnectTimeout,
    /// More pending CONNECTs or joined namespaces than the bounds allow (a
    /// siospec bound, not a Node rule).
    TooManyNamespaces,
    /// Client side: the server sent something the client cannot take (an
    /// unexpected CONNECT, an unknown namespace…).
    Unexpected {
        /// What.
        what: &'static str,
    },
}

/// Splits an EIO=3 client's namespace into path and auth, as socket.io
/// 4.8 does with `new URL(nsp, "https://socket.io")`: the path before `?`
/// (a `#` fragment dropped), and the query as a JSON object of strings.
#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod server_tests;

pub(crate) fn legacy_namespace(nsp: &str) -> (String, String) {
    let nsp = nsp.split('#').next().unwrap_or("");
    let (path, query) = nsp.split_once('?').unwrap_or((nsp, ""));
    let path = if path.is_empty() { "/" } else { path };
    let q = super::Query::parse(query);
    // Object.fromEntries order: first position, last value.
    let mut entries: Vec<(&str, &str)> = Vec::new();
    for (k, v) in q.pairs() {
        match entries.iter_mut().find(|(key, _)| *key == k) {
            Some(e) => e.1 = v,
            None => entries.push((k, v)),
        }
    }
    let mut json = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&serde_json::Value::String((*k).to_owned()).to_string());
        json.push(':');
        json.push_str(&serde_json::Value::String((*v).to_owned()).to_string());
    }
    json.push('}');
    (path.to_owned(), json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_namespaces_carry_auth_in_the_query() {
        assert_eq!(
            legacy_namespace("/admin?token=1234"),
            ("/admin".to_owned(), r#"{"token":"1234"}"#.to_owned())
        );
        assert_eq!(legacy_namespace("/"), ("/".to_owned(), "{}".to_owned()));
        assert_eq!(
            legacy_namespace("?a=1#x"),
            ("/".to_owned(), r#"{"a":"1"}"#.to_owned())
        );
    }
}
