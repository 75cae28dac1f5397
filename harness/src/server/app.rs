//! The applications the reference server runs on top of the session
//! machines: the codec's testee contract ([`contract`], harness/CONTRACT.md),
//! echo in engine mode and [`Contract`] in socket mode. This module only
//! carries out what reaches beyond one session: relaying emits to other
//! sessions' tasks, and dropping the transport.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use siospec_codec::session::contract::{self, Contract, Effect, Emit, Rooms, RECOVERY_NAMESPACE};
use siospec_codec::session::engine::{Protocol, ServerSession, TransportKind};
use siospec_codec::session::socket::ServerConnection;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::cluster::Cluster;
use super::session::{Application, Input, Registry, WsOut};

/// Engine mode: every message goes back to the session it came from.
pub struct Echo;

impl Application<ServerSession> for Echo {
    fn react(&mut self, session: &mut ServerSession, now: Instant) {
        while let Some(event) = session.poll_event() {
            contract::echo(session, now, &event);
        }
    }

    /// Engine mode has no rooms, so nothing is ever relayed to it.
    fn relay(&mut self, _session: &mut ServerSession, _now: Instant, _emit: &Emit) {}
}

/// Socket mode: the testee contract on one connection, with the rooms every
/// socket-mode session of the server shares.
pub struct Socket {
    contract: Contract,
    rooms: Arc<Mutex<Rooms>>,
    registry: Arc<Registry>,
    inbox: mpsc::Sender<Input>,
    /// Whether relayed emits may be encoded once and written straight to
    /// the recipients' WebSocket writers: the server's parser is the
    /// default one, whose frames are the same for every recipient.
    shared_frames: bool,
    /// The other nodes, when the server is a node of a cluster.
    cluster: Option<Arc<Cluster>>,
}

impl Socket {
    /// The contract for a session whose task reads `inbox`; relayed emits go
    /// to the other sessions of `registry`, encoded once for all of them
    /// when `shared_frames` (see [`relay`]), and to the other nodes of
    /// `cluster`.
    pub fn new(
        rooms: Arc<Mutex<Rooms>>,
        registry: Arc<Registry>,
        inbox: mpsc::Sender<Input>,
        shared_frames: bool,
        cluster: Option<Arc<Cluster>>,
    ) -> Self {
        Socket {
            contract: Contract::default(),
            rooms,
            registry,
            inbox,
            shared_frames,
            cluster,
        }
    }
}

/// Emits `emit` on the sessions `to`. A recipient whose task publishes its
/// WebSocket writer ([`Application::takes_direct`]) gets the frame encoded
/// once for all ([`Emit::websocket_text`]) when `shared_frames`, in its
/// writer's queue behind what its task wrote before; the others (and the
/// session whose task reads `own`, whose published state predates the input
/// it is handling) get the emit through their task, which encodes it. The
/// recovery namespace's emits always take that way, so that its bookkeeping
/// stays with each connection's machine.
pub(super) fn relay(
    registry: &Registry,
    to: &[String],
    emit: Emit,
    shared_frames: bool,
    own: Option<&mpsc::Sender<Input>>,
) {
    let shareable = shared_frames && emit.namespace != RECOVERY_NAMESPACE;
    // The frame for each protocol met so far (None: not one frame).
    let mut frames: Vec<(Protocol, Option<Arc<Utf8Bytes>>)> = Vec::new();
    let mut through_task: Vec<mpsc::Sender<Input>> = Vec::new();
    registry.each(to, |handle| {
        let sent = shareable
            && !own.is_some_and(|own| handle.tx.same_channel(own))
            && handle.state.lock().is_ok_and(|state| {
                let (Some(out), Some(info)) = (&state.direct, state.info) else {
                    return false;
                };
                let frame = match frames.iter().find(|(p, _)| *p == info.protocol) {
                    Some((_, frame)) => frame.clone(),
                    None => {
                        let frame = emit
                            .websocket_text(info.protocol)
                            .map(|text| Arc::new(Utf8Bytes::from(text)));
                        frames.push((info.protocol, frame.clone()));
                        frame
                    }
                };
                // A full or closed queue: the task decides (it closes
                // a WebSocket whose client does not read).
                frame.is_some_and(|frame| out.try_send(WsOut::Shared(frame)).is_ok())
            });
        if !sent {
            through_task.push(handle.tx.clone());
        }
    });
    if through_task.is_empty() {
        return;
    }
    let emit = Arc::new(emit);
    for tx in through_task {
        let _ = tx.try_send(Input::Relay(emit.clone()));
    }
}

impl Application<ServerConnection> for Socket {
    fn react(&mut self, connection: &mut ServerConnection, now: Instant) {
        while let Some(event) = connection.poll_event() {
            let effect = {
                // A panic elsewhere leaves the rooms as consistent as any
                // single update does, so a poisoned lock is still usable.
                let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
                self.contract.handle(connection, &mut rooms, now, &event)
            };
            match effect {
                Some(Effect::Relay {
                    to,
                    emit,
                    rooms,
                    except,
                }) => {
                    if let Some(cluster) = &self.cluster {
                        cluster.publish(&emit, &rooms, &except);
                    }
                    relay(
                        &self.registry,
                        &to,
                        emit,
                        self.shared_frames,
                        Some(&self.inbox),
                    );
                }
                // Through the queue, so the inputs already waiting come first.
                Some(Effect::DropTransport) => {
                    let _ = self.inbox.try_send(Input::DropTransport);
                }
                None => {}
            }
        }
    }

    fn relay(&mut self, connection: &mut ServerConnection, now: Instant, emit: &Emit) {
        emit.apply(connection, now);
    }

    fn takes_direct(&self, connection: &ServerConnection) -> bool {
        let engine = connection.engine();
        engine.transport() == TransportKind::WebSocket
            && !engine.is_upgrading()
            && !engine.is_closing()
            && !engine.is_closed()
            && engine.buffered() == 0
            && engine.queued_transmits() == 0
            && !connection.is_closed()
    }
}
