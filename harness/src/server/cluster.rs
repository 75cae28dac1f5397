//! The reference server as a node of a cluster (`siospec serve --redis
//! URL`): broadcasts shared with the other nodes through Redis pub/sub in
//! @socket.io/redis-adapter's wire protocol, so that Rust and Node nodes
//! can share one cluster. The protocol is the codec's
//! ([`siospec_codec::adapter`]); this module subscribes, publishes and hands
//! what arrives to the local sessions.
//!
//! What the adapter shares is what the testee contract needs: broadcasts to
//! a namespace, to rooms, with excepted rooms. Requests between nodes
//! (`fetchSockets`, `serverSideEmit`, broadcasts with acks) are not
//! answered; a Node node asking one waits for its timeout, as it would for
//! a node that went away.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use siospec_codec::adapter::{self, Channels, Node, Received};
use siospec_codec::session::contract::{Emit, Rooms, NAMESPACES};
use siospec_codec::Limits;
use tokio::sync::{mpsc, watch};

use super::app;
use super::session::Registry;

/// Which Redis and which channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `redis://HOST:PORT`.
    pub redis: String,
    /// The channel prefix (the adapter's `key`): [`adapter::DEFAULT_KEY`]
    /// unless the cluster's applications set another.
    pub key: String,
}

impl ClusterOptions {
    /// The cluster on the Redis server at `url`, with the default key.
    pub fn new(url: &str) -> ClusterOptions {
        ClusterOptions {
            redis: url.to_owned(),
            key: adapter::DEFAULT_KEY.to_owned(),
        }
    }
}

/// Messages waiting to be published; beyond this, a broadcast is dropped
/// for the other nodes, as a volatile one would be.
const PUBLISH_QUEUE: usize = 4096;

/// This node's side of the cluster.
pub(crate) struct Cluster {
    uid: String,
    channels: Channels,
    out: mpsc::Sender<(String, Vec<u8>)>,
}

impl Cluster {
    /// Connects to Redis, subscribes to the contract's namespaces and starts
    /// the tasks that publish and deliver; returns once the subscriptions
    /// are confirmed, so that a broadcast published after it reaches this
    /// node.
    pub(crate) async fn join(
        options: &ClusterOptions,
        rooms: Arc<Mutex<Rooms>>,
        registry: Arc<Registry>,
        shared_frames: bool,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<Arc<Cluster>> {
        let failed = |what: &str, e: redis::RedisError| {
            std::io::Error::other(format!("{what} {}: {e}", options.redis))
        };
        let client =
            redis::Client::open(options.redis.as_str()).map_err(|e| failed("cannot use", e))?;
        let mut publisher = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| failed("cannot connect to", e))?;
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| failed("cannot subscribe at", e))?;
        let channels = Channels::new(&options.key);
        for namespace in NAMESPACES {
            pubsub
                .psubscribe(channels.pattern(namespace))
                .await
                .map_err(|e| failed("cannot subscribe at", e))?;
        }
        let (out, mut queue) = mpsc::channel::<(String, Vec<u8>)>(PUBLISH_QUEUE);
        let cluster = Arc::new(Cluster {
            uid: node_id(),
            channels: channels.clone(),
            out,
        });
        let mut publisher_stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    next = queue.recv() => {
                        let Some((channel, message)) = next else { return };
                        let published: redis::RedisResult<i64> =
                            redis::cmd("PUBLISH").arg(channel).arg(message).query_async(&mut publisher).await;
                        if let Err(e) = published {
                            eprintln!("siospec serve: cluster: publish failed: {e}");
                        }
                    }
                    _ = publisher_stop.changed() => return,
                }
            }
        });
        let node = cluster.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            loop {
                tokio::select! {
                    next = messages.next() => {
                        let Some(msg) = next else {
                            eprintln!("siospec serve: cluster: the Redis subscription ended");
                            return;
                        };
                        node.deliver(msg.get_channel_name(), msg.get_payload_bytes(), &rooms, &registry, shared_frames);
                    }
                    _ = stop.changed() => return,
                }
            }
        });
        Ok(cluster)
    }

    /// Publishes `emit` to the other nodes, for `rooms` but not `except`.
    pub(crate) fn publish(&self, emit: &Emit, rooms: &[String], except: &[String]) {
        let Some(broadcast) = emit.broadcast(&self.uid, rooms, except) else {
            return;
        };
        let mut message = Vec::new();
        adapter::encode_broadcast(&broadcast, &mut message);
        let _ = self
            .out
            .try_send((self.channels.publish_on(&broadcast), message));
    }

    /// A message from the pattern subscriptions, for whichever of the
    /// contract's namespaces its channel names.
    fn deliver(
        &self,
        channel: &str,
        message: &[u8],
        rooms: &Mutex<Rooms>,
        registry: &Registry,
        shared_frames: bool,
    ) {
        for namespace in NAMESPACES {
            let node = Node {
                channels: self.channels.clone(),
                namespace: namespace.to_owned(),
                uid: self.uid.clone(),
            };
            let lock = || rooms.lock().unwrap_or_else(PoisonError::into_inner);
            let received = adapter::receive(
                &node,
                channel,
                message,
                |room| lock().has_room(namespace, room),
                &Limits::default(),
            );
            match received {
                Ok(Received::Deliver(broadcast)) => {
                    let Some(emit) = Emit::from_broadcast(&broadcast) else {
                        return;
                    };
                    let to = lock().reached(&broadcast);
                    app::relay(registry, &to, emit, shared_frames, None);
                    return;
                }
                Ok(Received::Ignore(_)) => {}
                Err(e) => {
                    eprintln!("siospec serve: cluster: unreadable message on {channel}: {e}");
                    return;
                }
            }
        }
    }
}

/// A node id like the official adapter's `uid2(6)`: six characters drawn
/// from the 62 alphanumerics.
fn node_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    // No entropy: the process id and the time still tell nodes apart.
    if getrandom::fill(&mut bytes).is_err() {
        let seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        bytes = seed.to_le_bytes()[..6].try_into().unwrap_or_default();
    }
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}
