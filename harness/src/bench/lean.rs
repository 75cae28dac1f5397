//! The generator's lean client: a Socket.IO client on a WebSocket that
//! does only what a load scenario needs, so that the generator costs less
//! per message than the servers it measures.
//!
//! Every packet is still the codec's: frames are written by its encoders
//! (the fixed ones once per scenario) and every frame received goes through
//! its borrowed decoders, Engine.IO then Socket.IO, without building a
//! `Value` or allocating. What the full client machine ([`super::conn`])
//! adds is left out: reconnection, upgrades, ack tables, timers. A server
//! ping is answered at once, and anything the scenario does not expect
//! ends the connection as an error.
//!
//! The WebSocket is tokio-websockets: measured against tokio-tungstenite on
//! the generator's own workload (see reports/bench/load.md), it costs less
//! per frame, masks client frames with a fast generator and writes every
//! frame fed before a flush in one system call.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use siospec_codec::engine::{self, v4};
use siospec_codec::socket::{self, AckId, Json, PacketType, Version};
use siospec_codec::{Limits, Profile};
use tokio::net::{TcpSocket, TcpStream};
use tokio_websockets::{ClientBuilder, Message, WebSocketStream};

use crate::tls::{Origin, Stream};

/// The Engine.IO v4 WebSocket endpoint at the default path.
const ENDPOINT: &str = "/socket.io/?EIO=4&transport=websocket";

/// A frame received, as the codec reads it.
#[derive(Debug, PartialEq)]
pub(crate) enum Incoming<'a> {
    /// An Engine.IO ping, to answer with a pong.
    Ping,
    /// A Socket.IO packet.
    Packet(socket::Packet<'a>),
    /// Any other Engine.IO packet (a noop, a pong, an open).
    Other,
}

/// Reads one text frame: Engine.IO, then Socket.IO for a message.
pub(crate) fn read(text: &str) -> Result<Incoming<'_>, String> {
    let packet = v4::decode_text(text, Profile::Compat).map_err(|e| e.to_string())?;
    match (packet.kind, packet.data) {
        (engine::PacketType::Ping, _) => Ok(Incoming::Ping),
        (engine::PacketType::Message, engine::Data::Text(std::borrow::Cow::Borrowed(data))) => {
            socket::decode(data, Version::V5, Profile::Compat, &Limits::default())
                .map(Incoming::Packet)
                .map_err(|e| e.to_string())
        }
        (engine::PacketType::Message, _) => Err("a message the generator cannot read".into()),
        (engine::PacketType::Close, _) => Err("the server closed the session".into()),
        _ => Ok(Incoming::Other),
    }
}

/// The text frame carrying `packet` in an Engine.IO message.
pub(crate) fn frame(packet: &socket::Packet<'_>) -> String {
    let mut sio = Vec::with_capacity(64);
    socket::encode(packet, &mut sio);
    // The socket encoder writes UTF-8: its input is &str and JSON text.
    let sio = String::from_utf8(sio).unwrap_or_default();
    let mut out = Vec::with_capacity(sio.len() + 1);
    v4::encode(
        &engine::Packet::text(engine::PacketType::Message, sio),
        false,
        &mut out,
    );
    String::from_utf8(out).unwrap_or_default()
}

/// An event on `/` with these JSON arguments (the event name first) and
/// ack id, as a text frame.
pub(crate) fn event_frame(args: Json<'_>, ack_id: Option<u64>) -> String {
    let mut packet = socket::Packet::new(PacketType::Event, "/", Some(args));
    packet.ack_id = ack_id.map(AckId::Exact);
    frame(&packet)
}

fn pong_frame() -> String {
    let mut out = Vec::with_capacity(1);
    v4::encode(
        &engine::Packet::new(engine::PacketType::Pong),
        false,
        &mut out,
    );
    String::from_utf8(out).unwrap_or_default()
}

/// One connection, joined to `/`.
pub(crate) struct Lean {
    ws: WebSocketStream<Stream>,
    pong: String,
}

impl Lean {
    /// Connects to `origin` (inside TLS for `https`), from `source` when
    /// given (an address of 127.0.0.0/8, so that one address's ephemeral
    /// ports do not bound the connection count), and joins `/`.
    pub(crate) async fn connect(origin: &Origin, source: Option<IpAddr>) -> Result<Lean, String> {
        let authority = &origin.authority;
        let addr: SocketAddr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| format!("{authority} has no address"))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| e.to_string())?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("cannot bind {ip}: {e}"))?;
        }
        let tcp = socket.connect(addr).await.map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        // Closing first, the generator would otherwise leave its ports in
        // TIME_WAIT and run out of them in a connect storm.
        let _ = linger_zero(&tcp);
        let stream = origin.secure(tcp).await.map_err(|e| e.to_string())?;
        let uri = origin.ws_url(ENDPOINT);
        let (ws, _) = ClientBuilder::new()
            .uri(&uri)
            .map_err(|e| e.to_string())?
            .connect_on(stream)
            .await
            .map_err(|e| e.to_string())?;
        let mut lean = Lean {
            ws,
            pong: pong_frame(),
        };
        let open = lean.next_frame().await?;
        match open.as_text().map(|t| v4::decode_text(t, Profile::Compat)) {
            Some(Ok(p)) if p.kind == engine::PacketType::Open => {}
            _ => return Err("the first frame is not an Engine.IO open packet".into()),
        }
        let connect = frame(&socket::Packet::new(PacketType::Connect, "/", None));
        lean.send(connect).await?;
        loop {
            let joined = lean
                .next_packet(|incoming| match incoming {
                    Incoming::Packet(p) if p.kind == PacketType::Connect && p.namespace == "/" => {
                        Some(Ok(()))
                    }
                    Incoming::Packet(p) if p.kind == PacketType::ConnectError => {
                        Some(Err(format!(
                            "CONNECT refused: {:.80}",
                            p.payload.map_or("", |json| json.as_str())
                        )))
                    }
                    _ => None,
                })
                .await?;
            if let Some(joined) = joined {
                return joined.map(|()| lean);
            }
        }
    }

    /// The next frame of the server that is not a ping, as the codec reads
    /// it (a binary frame is [`Incoming::Other`]), handed to `f`; pings are
    /// answered on the way. Every frame is decoded once, here. Cancel-safe
    /// while it waits for a frame.
    pub(crate) async fn next_packet<R>(
        &mut self,
        f: impl FnOnce(Incoming<'_>) -> R,
    ) -> Result<R, String> {
        loop {
            let message = self.next_frame().await?;
            let Some(text) = message.as_text() else {
                return Ok(f(Incoming::Other));
            };
            match read(text)? {
                Incoming::Ping => {
                    let pong = self.pong.clone();
                    self.send(pong).await?;
                }
                incoming => return Ok(f(incoming)),
            }
        }
    }

    /// The next text or binary frame; `Err` once the connection ends.
    async fn next_frame(&mut self) -> Result<Message, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(m)) if m.is_close() => return Err("closed by the server".into()),
                Some(Ok(m)) if m.is_text() || m.is_binary() => return Ok(m),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("connection closed".into()),
            }
        }
    }

    /// Sends one text frame now.
    pub(crate) async fn send(&mut self, text: String) -> Result<(), String> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    /// Queues one text frame; [`Lean::flush`] writes every queued frame in one go.
    pub(crate) async fn feed(&mut self, text: String) -> Result<(), String> {
        self.ws
            .feed(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    /// Writes what [`Lean::feed`] queued.
    pub(crate) async fn flush(&mut self) -> Result<(), String> {
        self.ws.flush().await.map_err(|e| e.to_string())
    }
}

#[allow(deprecated)]
fn linger_zero(tcp: &TcpStream) -> std::io::Result<()> {
    // Deprecated because a non-zero linger blocks in close; zero never does.
    tcp.set_linger(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_the_codecs() {
        assert_eq!(
            frame(&socket::Packet::new(PacketType::Connect, "/", None)),
            "40"
        );
        assert_eq!(
            event_frame(Json::parse(r#"["message-with-ack","x"]"#).unwrap(), Some(7)),
            r#"427["message-with-ack","x"]"#
        );
        assert_eq!(pong_frame(), "3");
    }

    #[test]
    fn reads_pings_and_packets() {
        assert_eq!(read("2").unwrap(), Incoming::Ping);
        assert_eq!(read("6").unwrap(), Incoming::Other);
        let Incoming::Packet(p) = read(r#"431["x"]"#).unwrap() else {
            panic!("not a packet");
        };
        assert_eq!((p.kind, p.ack_id), (PacketType::Ack, Some(AckId::Exact(1))));
        assert!(read("4{").is_err());
        assert!(read("1").is_err());
    }
}
