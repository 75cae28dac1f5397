//! Connection state recovery, server side (socket.io ≥ 4.6, not in the v5
//! protocol text): the sessions a server keeps for clients that went away,
//! and the packets they may have missed, as a pure value on caller-supplied
//! time.
//!
//! socket.io 4.8.4 (`socket.ts`, `namespace.ts`, socket.io-adapter's
//! `SessionAwareAdapter`): every EVENT without an ack id and not volatile
//! gets an offset as its last data element and is stored with its
//! recipients (rooms, exceptions); a socket that leaves for one of the
//! reasons [`Recovery::keeps`] names is kept for `maxDisconnectionDuration`;
//! a CONNECT whose payload carries the kept `pid` and a stored `offset` gets
//! the socket back (same sid, pid and rooms) with the stored packets after
//! the offset that were meant for it, which the server writes **before** the
//! CONNECT reply.
//!
//! One store serves one server: the adapter shares it between its
//! connections. Where socket.io keeps a session after it was restored (a
//! later CONNECT with the same pid restores it again, even after a client
//! DISCONNECT; socket.io #4880), this store forgets it, as the documented
//! rule (kept only for the listed reasons) says.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::DisconnectReason;
use crate::session::engine::CloseReason;

/// Most stored packets; older ones are dropped first (their offsets are
/// then unknown, and a client that still holds one gets a new session).
pub const MAX_STORED_PACKETS: usize = 100_000;

/// A socket kept for a client that went away.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kept {
    namespace: String,
    sid: String,
    rooms: Vec<String>,
    disconnected_at: Instant,
}

/// A stored EVENT: its JSON (the offset appended) and who it was for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    offset: String,
    namespace: String,
    /// Empty: the whole namespace.
    rooms: Vec<String>,
    except: Vec<String>,
    json: String,
    attachments: Vec<Vec<u8>>,
    emitted_at: Instant,
}

impl Stored {
    /// socket.io-adapter's `shouldIncludePacket`: in one of the rooms (or
    /// sent to everyone), and in none of the exceptions.
    fn is_for(&self, rooms: &[String]) -> bool {
        let included = self.rooms.is_empty() || rooms.iter().any(|r| self.rooms.contains(r));
        included && rooms.iter().all(|r| !self.except.contains(r))
    }
}

/// A socket given back: what the server answers the CONNECT with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The socket's id, as before.
    pub sid: String,
    /// Its private id, as before.
    pub pid: String,
    /// The rooms it was in (its own id among them).
    pub rooms: Vec<String>,
    /// The EVENTs after the client's offset that were meant for it, in
    /// order: event arrays as JSON (offsets included) and their attachments.
    /// Write them before the CONNECT reply.
    pub missed: Vec<(String, Vec<Vec<u8>>)>,
}

/// The kept sessions and stored packets of one server.
///
/// ```
/// use std::time::{Duration, Instant};
/// use siospec_codec::session::socket::{DisconnectReason, Recovery};
///
/// let t0 = Instant::now();
/// let mut store = Recovery::new(Duration::from_millis(2000));
/// let (offset, json) = store.store(t0, "/", &["s1".into()], &[], r#"["hi"]"#, Vec::new());
/// assert_eq!(json, format!(r#"["hi","{offset}"]"#));
/// let (_, missed) = store.store(t0, "/", &[], &[], r#"["news"]"#, Vec::new());
/// store.persist(t0, DisconnectReason::ForcedServerClose, "/", "s1", "p1", &["s1".into()]);
/// let back = store.restore(t0, "/", "p1", &offset).unwrap();
/// assert_eq!((back.sid.as_str(), back.missed.len()), ("s1", 1));
/// assert_eq!(back.missed[0].0, missed);
/// // Forgotten once restored, and expired after the duration.
/// assert!(store.restore(t0, "/", "p1", &offset).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Recovery {
    max_disconnection: Duration,
    sessions: BTreeMap<String, Kept>,
    packets: VecDeque<Stored>,
    next_offset: u64,
}

impl Recovery {
    /// A store keeping sessions for `max_disconnection`
    /// (`maxDisconnectionDuration`, 120 s by default in socket.io).
    pub fn new(max_disconnection: Duration) -> Self {
        Recovery {
            max_disconnection,
            sessions: BTreeMap::new(),
            packets: VecDeque::new(),
            next_offset: 0,
        }
    }

    /// Whether a socket that left for `reason` is kept (socket.io's
    /// `RECOVERABLE_DISCONNECT_REASONS`: transport error, transport close,
    /// forced close, ping timeout, server shutting down, forced server
    /// close). A DISCONNECT from either side, and a parse error, end it.
    pub fn keeps(reason: DisconnectReason) -> bool {
        match reason {
            DisconnectReason::ClientNamespaceDisconnect
            | DisconnectReason::ServerNamespaceDisconnect => false,
            DisconnectReason::ForcedServerClose => true,
            DisconnectReason::Engine(close) => !matches!(close, CloseReason::ParseError),
        }
    }

    /// Stores an EVENT without ack for `rooms` (empty: the whole namespace)
    /// but not `except`, and gives it an offset, appended to the event array
    /// `json`; returns the offset and the JSON to send.
    pub fn store(
        &mut self,
        now: Instant,
        namespace: &str,
        rooms: &[String],
        except: &[String],
        json: &str,
        attachments: Vec<Vec<u8>>,
    ) -> (String, String) {
        self.expire(now);
        // Opaque and unique for the server's life; socket.io's are
        // time-based (yeast), which a client must not rely on either.
        let offset = format!("o{:x}", self.next_offset);
        self.next_offset += 1;
        let json = with_offset(json, &offset);
        if self.packets.len() >= MAX_STORED_PACKETS {
            self.packets.pop_front();
        }
        self.packets.push_back(Stored {
            offset: offset.clone(),
            namespace: namespace.to_owned(),
            rooms: rooms.to_vec(),
            except: except.to_vec(),
            json: json.clone(),
            attachments,
            emitted_at: now,
        });
        (offset, json)
    }

    /// Keeps the socket `sid` (private id `pid`, in `rooms`) that left
    /// `namespace` for `reason`, if [`keeps`](Self::keeps) says so; `true`
    /// when kept.
    pub fn persist(
        &mut self,
        now: Instant,
        reason: DisconnectReason,
        namespace: &str,
        sid: &str,
        pid: &str,
        rooms: &[String],
    ) -> bool {
        self.expire(now);
        if !Self::keeps(reason) {
            return false;
        }
        self.sessions.insert(
            pid.to_owned(),
            Kept {
                namespace: namespace.to_owned(),
                sid: sid.to_owned(),
                rooms: rooms.to_vec(),
                disconnected_at: now,
            },
        );
        true
    }

    /// The CONNECT payload's `pid` and `offset` on `namespace`: the socket
    /// back with what it missed, or `None` (unknown or expired pid, another
    /// namespace, an offset not stored): a new session.
    pub fn restore(
        &mut self,
        now: Instant,
        namespace: &str,
        pid: &str,
        offset: &str,
    ) -> Option<Restored> {
        self.expire(now);
        if self.sessions.get(pid)?.namespace != namespace {
            return None;
        }
        let index = self
            .packets
            .iter()
            .position(|p| p.offset == offset && p.namespace == namespace)?;
        let kept = self.sessions.remove(pid)?;
        let missed = self
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| p.namespace == namespace && p.is_for(&kept.rooms))
            .map(|p| (p.json.clone(), p.attachments.clone()))
            .collect();
        Some(Restored {
            sid: kept.sid,
            pid: pid.to_owned(),
            rooms: kept.rooms,
            missed,
        })
    }

    /// How many sessions are kept.
    pub fn kept(&self) -> usize {
        self.sessions.len()
    }

    /// Forgets the sessions and packets older than the duration.
    fn expire(&mut self, now: Instant) {
        let max = self.max_disconnection;
        let alive = |at: Instant| now.saturating_duration_since(at) <= max;
        self.sessions.retain(|_, k| alive(k.disconnected_at));
        while self.packets.front().is_some_and(|p| !alive(p.emitted_at)) {
            self.packets.pop_front();
        }
    }
}

/// The event array `json` with `offset` as its last element.
fn with_offset(json: &str, offset: &str) -> String {
    let body = json.trim_end();
    let body = body.strip_suffix(']').unwrap_or(body);
    let offset = serde_json::Value::String(offset.to_owned());
    format!("{body},{offset}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::engine::TransportError;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn missed_packets_follow_the_rooms_and_exceptions() {
        let t0 = Instant::now();
        let mut r = Recovery::new(Duration::from_secs(2));
        let (o1, _) = r.store(t0, "/r", &s(&["a"]), &[], r#"["own"]"#, Vec::new());
        r.persist(
            t0,
            DisconnectReason::Engine(CloseReason::TransportClose),
            "/r",
            "a",
            "p",
            &s(&["a", "room"]),
        );
        r.store(
            t0,
            "/r",
            &s(&["room"]),
            &s(&["b"]),
            r#"["to-room"]"#,
            Vec::new(),
        );
        r.store(
            t0,
            "/r",
            &s(&["other"]),
            &[],
            r#"["elsewhere"]"#,
            Vec::new(),
        );
        r.store(
            t0,
            "/r",
            &s(&["room"]),
            &s(&["a"]),
            r#"["not-me"]"#,
            Vec::new(),
        );
        r.store(t0, "/x", &[], &[], r#"["other-ns"]"#, vec![vec![1]]);
        r.store(
            t0,
            "/r",
            &[],
            &[],
            r#"["all",{"_placeholder":true,"num":0}]"#,
            vec![vec![7]],
        );
        let back = r.restore(t0, "/r", "p", &o1).expect("restored");
        let names: Vec<&str> = back.missed.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            names,
            [
                r#"["to-room","o1"]"#,
                r#"["all",{"_placeholder":true,"num":0},"o5"]"#
            ]
        );
        assert_eq!(back.missed[1].1, vec![vec![7]]);
        assert_eq!((back.sid.as_str(), back.rooms), ("a", s(&["a", "room"])));
    }

    #[test]
    fn only_the_recoverable_reasons_keep_a_session() {
        use DisconnectReason::*;
        for (reason, kept) in [
            (ClientNamespaceDisconnect, false),
            (ServerNamespaceDisconnect, false),
            (ForcedServerClose, true),
            (Engine(CloseReason::TransportClose), true),
            (Engine(CloseReason::ClientClose), true),
            (
                Engine(CloseReason::TransportError(TransportError::WebSocket)),
                true,
            ),
            (Engine(CloseReason::PingTimeout), true),
            (Engine(CloseReason::ForcedClose), true),
            (Engine(CloseReason::ServerClose), true),
            (Engine(CloseReason::ParseError), false),
        ] {
            let mut r = Recovery::new(Duration::from_secs(1));
            assert_eq!(
                r.persist(Instant::now(), reason, "/", "s", "p", &[]),
                kept,
                "{reason}"
            );
            assert_eq!(r.kept(), usize::from(kept));
        }
    }

    #[test]
    fn unknown_pid_offset_namespace_or_expired_give_nothing() {
        let t0 = Instant::now();
        let max = Duration::from_millis(1000);
        let mut r = Recovery::new(max);
        let (o, _) = r.store(t0, "/", &[], &[], r#"["x"]"#, Vec::new());
        let close = DisconnectReason::Engine(CloseReason::PingTimeout);
        r.persist(t0, close, "/", "s", "p", &s(&["s"]));
        assert!(r.restore(t0, "/", "other", &o).is_none());
        assert!(r.restore(t0, "/", "p", "o999").is_none());
        assert!(r.restore(t0, "/c", "p", &o).is_none());
        // Still kept after the failed attempts, until the duration is over.
        assert!(r.restore(t0 + max, "/", "p", &o).is_some());
        r.persist(t0 + max, close, "/", "s", "p", &s(&["s"]));
        let (o2, _) = r.store(t0 + max, "/", &[], &[], r#"["y"]"#, Vec::new());
        assert!(r
            .restore(t0 + max * 2 + Duration::from_millis(1), "/", "p", &o2)
            .is_none());
        assert_eq!(r.kept(), 0);
    }

    #[test]
    fn restoring_again_after_a_second_disconnection_works() {
        let t0 = Instant::now();
        let mut r = Recovery::new(Duration::from_secs(5));
        let close = DisconnectReason::Engine(CloseReason::TransportClose);
        let (mut offset, _) = r.store(t0, "/", &[], &[], r#"["x"]"#, Vec::new());
        for round in 0..3 {
            r.persist(t0, close, "/", "s", "p", &s(&["s"]));
            let (_, missed) = r.store(t0, "/", &[], &[], &format!(r#"["m{round}"]"#), Vec::new());
            let back = r.restore(t0, "/", "p", &offset).expect("restored again");
            assert_eq!(back.missed, vec![(missed, Vec::new())]);
            offset = format!("o{:x}", round + 1);
        }
    }
}
