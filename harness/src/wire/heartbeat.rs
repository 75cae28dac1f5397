//! The one heartbeat policy of a connection (WebSocket or long-polling),
//! chosen per case, and the one place that recognises heartbeat packets
//! (through the codec).
//!
//! Engine.IO 4 servers ping and clients answer; under Engine.IO 3 the client
//! pings and the server answers. A case either wants the heartbeat kept
//! without seeing it, wants to see and answer it itself, or plays a client
//! that went quiet.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use siospec_codec::engine::{v3, v4, Packet, PacketType};
use siospec_codec::Profile;

/// How a connection treats the Engine.IO heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Kept alive as the official client keeps it, and never shown to the
    /// case: Engine.IO 4 pings are answered as they arrive (over polling,
    /// by a POST when the case reads); under Engine.IO 3 the pongs are
    /// dropped and, over a WebSocket, a ping goes out every half
    /// `pingInterval`.
    AutoPong,
    /// Every heartbeat packet reaches the case, which answers (or not) itself.
    Manual,
    /// A client that stopped answering: Engine.IO 4 pings are neither
    /// answered nor shown, and Engine.IO 3 pings are no longer sent.
    Silent,
}

impl Heartbeat {
    fn code(self) -> u8 {
        match self {
            Heartbeat::AutoPong => 0,
            Heartbeat::Manual => 1,
            Heartbeat::Silent => 2,
        }
    }

    fn of(code: u8) -> Heartbeat {
        match code {
            0 => Heartbeat::AutoPong,
            2 => Heartbeat::Silent,
            _ => Heartbeat::Manual,
        }
    }
}

/// The Engine.IO side of a connection: the revision it speaks and the
/// heartbeat period the server advertised (scaled), which Engine.IO 3
/// clients ping at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine {
    /// The Engine.IO protocol revision (3 or 4).
    pub eio: u8,
    /// The server's `pingInterval`.
    pub ping_interval: Duration,
}

/// What to do with a received text frame under the current policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Hand it to the case.
    Deliver,
    /// Drop it (it is still in the trace).
    Drop,
    /// Answer it with a pong and drop it.
    Answer,
}

/// The policy a connection is under, shared with its reader task.
#[derive(Debug)]
pub(crate) struct Policy {
    engine: Engine,
    current: AtomicU8,
}

impl Policy {
    pub(crate) fn new(engine: Engine) -> Policy {
        Policy {
            engine,
            current: AtomicU8::new(Heartbeat::Manual.code()),
        }
    }

    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }

    pub(crate) fn get(&self) -> Heartbeat {
        Heartbeat::of(self.current.load(Ordering::SeqCst))
    }

    /// Sets the policy; returns the previous one.
    pub(crate) fn set(&self, policy: Heartbeat) -> Heartbeat {
        Heartbeat::of(self.current.swap(policy.code(), Ordering::SeqCst))
    }

    /// What to do with the text frame `text`.
    pub(crate) fn screen(&self, text: &str) -> Screen {
        match decode_text(self.engine.eio, text) {
            Some(packet) => self.screen_packet(&packet),
            None => Screen::Deliver,
        }
    }

    /// What to do with a received packet (a WebSocket frame or one packet
    /// of a polling payload: the policy is the same on both transports).
    pub(crate) fn screen_packet(&self, packet: &Packet<'_>) -> Screen {
        let policy = self.get();
        if policy == Heartbeat::Manual {
            return Screen::Deliver;
        }
        // The heartbeat flows from server to client under 4, the other way under 3.
        let (theirs, answer) = if self.engine.eio == 3 {
            (PacketType::Pong, Screen::Drop)
        } else {
            (PacketType::Ping, Screen::Answer)
        };
        if *packet != Packet::new(theirs) {
            return Screen::Deliver;
        }
        match policy {
            Heartbeat::AutoPong => answer,
            _ => Screen::Drop,
        }
    }

    /// The frame this side sends in the heartbeat (see [`Policy::our_packet`]).
    pub(crate) fn our_beat(&self) -> String {
        encode_text(self.engine.eio, &self.our_packet())
    }

    /// The packet this side sends in the heartbeat: a pong under
    /// Engine.IO 4, a ping under 3.
    pub(crate) fn our_packet(&self) -> Packet<'static> {
        Packet::new(if self.engine.eio == 3 {
            PacketType::Ping
        } else {
            PacketType::Pong
        })
    }
}

/// Decodes a WebSocket text frame of revision `eio`; `None` when it is no
/// Engine.IO packet (or, under 3, base64 data of no known type).
pub(crate) fn decode_text(eio: u8, text: &str) -> Option<Packet<'_>> {
    if eio == 3 {
        v3::decode_text(text, Profile::Compat)
            .ok()
            .and_then(v3::Decoded::into_packet)
    } else {
        v4::decode_text(text, Profile::Compat).ok()
    }
}

/// Encodes a packet without binary data as a text frame of revision `eio`.
pub(crate) fn encode_text(eio: u8, packet: &Packet<'_>) -> String {
    let mut out = Vec::new();
    if eio == 3 {
        v3::encode(packet, false, &mut out);
    } else {
        v4::encode(packet, false, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}
