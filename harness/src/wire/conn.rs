//! One Engine.IO connection over either transport, HTTP long-polling or
//! WebSocket: packets are encoded and decoded by the codec, exact binary
//! frames go out only through [`Conn::send_raw_binary`], received packets come in order, and
//! the heartbeat is kept under the same [`Heartbeat`] policy on both.
//!
//! The trace is recorded below, by [`super::http`] and [`super::ws`], so a
//! case reads the same exchanges whichever layer it talks to.

use std::collections::VecDeque;
use std::time::Duration;

use siospec_codec::engine::handshake::Handshake;
use siospec_codec::engine::{v3, Data, Packet, PacketType};
use siospec_codec::Profile;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::eio::{self, Session};
use super::heartbeat::{self, Engine, Heartbeat, Policy, Screen};
use super::http::{HttpError, Response};
use super::ws::{Frame, Ws};
use crate::case::server::Ctx;
use crate::case::Stop;

/// The transport an Engine.IO connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling, never upgraded.
    Polling,
    /// A WebSocket-only session.
    WebSocket,
}

/// What [`Conn::recv`] got.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// One Engine.IO packet.
    Packet(Packet<'static>),
    /// The transport ended: the WebSocket closed or dropped, or a poll
    /// failed or was refused. Every later receive says so again.
    Closed(String),
    /// Something that is no Engine.IO packet (the connection stays usable).
    Undecodable(String),
}

impl Incoming {
    /// A short description for failure messages, the same on both transports.
    pub fn describe(&self) -> String {
        match self {
            Incoming::Packet(p) => match &p.data {
                Data::None => format!("{:?} packet", p.kind),
                Data::Text(t) => format!("{:?} packet {t:?}", p.kind),
                Data::Binary(b) => format!(
                    "{:?} packet [{}]",
                    p.kind,
                    crate::trace::hex(&b[..b.len().min(64)])
                ),
            },
            Incoming::Closed(d) => format!("connection closed ({d})"),
            Incoming::Undecodable(d) => format!("undecodable: {d}"),
        }
    }
}

/// An open Engine.IO connection.
#[derive(Debug)]
pub struct Conn {
    link: Link,
    handshake: Handshake,
    eio: u8,
}

#[derive(Debug)]
enum Link {
    Ws(Ws),
    Polling(Box<Polling>),
}

/// The client side of a polling session: packets already received and not
/// yet read, and the GET still waiting for the server, so that nothing is
/// lost when a receive gives up before the long-poll answers.
#[derive(Debug)]
struct Polling {
    cx: Ctx,
    session: Session,
    heartbeat: Policy,
    queue: VecDeque<Packet<'static>>,
    get: Option<JoinHandle<Result<Response, HttpError>>>,
    closed: Option<String>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        // A long-poll outliving its case would write into a finished trace.
        if let Some(get) = &self.get {
            get.abort();
        }
    }
}

impl Conn {
    /// Opens a session of the suite's revision over `transport` (polling
    /// as [`eio::open_polling`] opens it) and reads its open packet; the
    /// heartbeat starts under [`Heartbeat::Manual`].
    pub async fn open(cx: &Ctx, transport: Transport) -> Result<Conn, Stop> {
        let eio = cx.suite.eio();
        Ok(match transport {
            Transport::WebSocket => {
                let (ws, handshake) = eio::open_ws(cx).await?;
                Conn {
                    link: Link::Ws(ws),
                    handshake,
                    eio,
                }
            }
            Transport::Polling => {
                let (session, first) =
                    eio::open_polling_keeping(cx, eio::polling_extra(cx)).await?;
                let handshake = session.handshake.clone();
                let heartbeat = Policy::new(Engine {
                    eio,
                    ping_interval: cx.ms(cx.conf.ping_interval),
                });
                Conn {
                    link: Link::Polling(Box::new(Polling {
                        cx: cx.clone(),
                        session,
                        heartbeat,
                        queue: first.into(),
                        get: None,
                        closed: None,
                    })),
                    handshake,
                    eio,
                }
            }
        })
    }

    /// The server's handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The polling session, for a case that goes on at the request level;
    /// `None` over a WebSocket.
    pub fn session(&self) -> Option<&Session> {
        match &self.link {
            Link::Polling(p) => Some(&p.session),
            Link::Ws(_) => None,
        }
    }

    /// Sets the heartbeat policy; returns the previous one. Over a
    /// WebSocket see [`Ws::set_heartbeat`]; over polling an Engine.IO 4
    /// ping is answered by a POST when a receive reads it, and no
    /// Engine.IO 3 ping is sent (no polling case outlasts the heartbeat).
    pub fn set_heartbeat(&mut self, policy: Heartbeat) -> Heartbeat {
        match &mut self.link {
            Link::Ws(ws) => ws.set_heartbeat(policy),
            Link::Polling(p) => p.heartbeat.set(policy),
        }
    }

    /// Sends one packet, encoded by the codec (over polling, a payload of
    /// that packet, whose POST must answer 200).
    pub async fn send(&mut self, packet: &Packet<'_>) -> Result<(), Stop> {
        match &mut self.link {
            Link::Ws(ws) => ws.send(packet).await,
            Link::Polling(p) => p.session.send(&p.cx, std::slice::from_ref(packet)).await,
        }
    }

    /// Sends `data` as it is in a binary frame; only a WebSocket has them.
    pub async fn send_raw_binary(&mut self, data: &[u8]) -> Result<(), Stop> {
        match &mut self.link {
            Link::Ws(ws) => eio::send_raw_binary(ws, data).await,
            Link::Polling(_) => Err(Stop::Harness(
                "a raw binary frame needs a WebSocket connection".into(),
            )),
        }
    }

    /// The next packet within `wait`, heartbeat packets treated as the
    /// policy says; `None` when nothing arrived.
    pub async fn recv(&mut self, wait: Duration) -> Option<Incoming> {
        match &mut self.link {
            Link::Ws(ws) => {
                let frame = ws.recv(wait).await?;
                Some(from_frame(self.eio, frame))
            }
            Link::Polling(p) => p.recv(wait).await,
        }
    }
}

/// A WebSocket frame as an Engine.IO packet. Binary data travels in binary
/// frames: a text frame carrying it (base64, as polling writes it) is no
/// packet of this transport.
fn from_frame(eio: u8, frame: Frame) -> Incoming {
    match frame {
        Frame::Text(t) => match heartbeat::decode_text(eio, &t) {
            Some(p) if !matches!(p.data, Data::Binary(_)) => Incoming::Packet(p.into_owned()),
            _ => Incoming::Undecodable(format!("Engine.IO frame {t:?}")),
        },
        Frame::Binary(b) if eio == 3 => match v3::decode_binary(&b, Profile::Compat) {
            Ok(v3::Decoded::Packet(
                p @ Packet {
                    kind: PacketType::Message,
                    data: Data::Binary(_),
                },
            )) => Incoming::Packet(p.into_owned()),
            _ => Incoming::Undecodable(format!(
                "EIO=3 binary frame without the message type byte: {}",
                crate::trace::hex(&b[..b.len().min(16)])
            )),
        },
        Frame::Binary(b) => Incoming::Packet(Packet::binary(b).into_owned()),
        f @ Frame::Closed { .. } => Incoming::Closed(f.describe()),
    }
}

impl Polling {
    async fn recv(&mut self, wait: Duration) -> Option<Incoming> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(d) = &self.closed {
                return Some(Incoming::Closed(d.clone()));
            }
            while let Some(packet) = self.queue.pop_front() {
                match self.heartbeat.screen_packet(&packet) {
                    Screen::Deliver => return Some(Incoming::Packet(packet)),
                    Screen::Drop => {}
                    Screen::Answer => {
                        // As over a WebSocket: a failed answer shows in the
                        // trace and, soon, as the server ending the session.
                        let beat = self.heartbeat.our_packet();
                        let _ = self.session.send(&self.cx, &[beat]).await;
                    }
                }
            }
            let get = self.get.get_or_insert_with(|| {
                let cx = self.cx.clone();
                let query = self.session.query.clone();
                tokio::spawn(async move { cx.get(&query).await })
            });
            let left = deadline.saturating_duration_since(Instant::now());
            // On time out the GET stays pending for the next receive.
            let joined = tokio::time::timeout(left, get).await.ok()?;
            self.get = None;
            let resp = match joined {
                Ok(Ok(resp)) => resp,
                Ok(Err(e)) => {
                    self.closed = Some(format!("poll failed: {e}"));
                    continue;
                }
                Err(e) => {
                    self.closed = Some(format!("poll task failed: {e}"));
                    continue;
                }
            };
            if resp.status != 200 {
                self.closed = Some(format!("poll answered {} {:?}", resp.status, resp.text()));
                continue;
            }
            match eio::decode_body(&self.cx, &resp) {
                Ok(packets) => self.queue.extend(packets),
                Err(Stop::Fail(d) | Stop::Harness(d) | Stop::Unsupported(d) | Stop::Skipped(d)) => {
                    return Some(Incoming::Undecodable(d))
                }
            }
        }
    }
}
