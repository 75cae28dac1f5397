//! The applications the reference server runs on top of the session
//! machines: the codec's testee contract ([`contract`], harness/CONTRACT.md),
//! echo in engine mode and [`Contract`] in socket mode. This module only
//! carries out what reaches beyond one session: relaying emits to other
//! sessions' tasks, and dropping the transport.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use siospec_codec::session::contract::{self, Contract, Effect, Emit, Rooms};
use siospec_codec::session::engine::ServerSession;
use siospec_codec::session::socket::ServerConnection;
use tokio::sync::mpsc;

use super::session::{Application, Input, Registry};

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
}

impl Socket {
    /// The contract for a session whose task reads `inbox`; relayed emits go
    /// to the other sessions of `registry`.
    pub fn new(
        rooms: Arc<Mutex<Rooms>>,
        registry: Arc<Registry>,
        inbox: mpsc::Sender<Input>,
    ) -> Self {
        Socket {
            contract: Contract::default(),
            rooms,
            registry,
            inbox,
        }
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
                Some(Effect::Relay { to, emit }) => {
                    let emit = Arc::new(emit);
                    for sid in to {
                        if let Some(handle) = self.registry.get(&sid) {
                            let _ = handle.tx.try_send(Input::Relay(emit.clone()));
                        }
                    }
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
}
