//! The sink: a server that does as little as a Socket.IO server can, so
//! running a scenario against it measures the generator's own ceiling.
//!
//! It accepts the WebSocket, sends a fixed open packet, answers every
//! CONNECT with a fixed reply, turns `42<id>["message-with-ack",…]` into
//! `43<id>[…]` by slicing the text, and forwards `broadcast` to every
//! connection as one shared frame. No JSON is parsed, no session kept. It
//! runs on its own thread and single-threaded runtime, as the servers it
//! stands in for do, and speaks WebSocket through the same crate as the
//! generator (tokio-websockets), the cheaper per frame of the two measured.

use std::net::SocketAddr;
use std::sync::Arc;

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use futures_util::stream::StreamExt;
use futures_util::SinkExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, oneshot};
use tokio_websockets::{Message, ServerBuilder};

const OPEN: &str = r#"0{"sid":"sink","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const CONNECTED: &str = r#"40{"sid":"sink"}"#;
const AUTH: &str = r#"42["auth",{}]"#;

/// A running sink; dropping it stops it.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    /// Its thread's id, for its CPU time (0 until the thread has started).
    tid: Arc<AtomicU32>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Starts a sink on a free loopback port.
    pub fn start() -> std::io::Result<Sink> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let tid = Arc::new(AtomicU32::new(0));
        let its_tid = tid.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("siospec-sink".into())
            .spawn(move || {
                its_tid.store(thread_id().unwrap_or(0), Ordering::SeqCst);
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let (fanout, _) = broadcast::channel::<Bytes>(65_536);
                    let fanout = Arc::new(fanout);
                    let accept = async {
                        while let Ok((tcp, _)) = listener.accept().await {
                            let _ = tcp.set_nodelay(true);
                            tokio::spawn(serve(tcp, fanout.clone()));
                        }
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Sink {
            addr,
            tid,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Its thread's CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Option<u64> {
        match self.tid.load(Ordering::SeqCst) {
            0 => Some(0),
            tid => crate::process::thread_cpu_ticks(std::process::id(), tid),
        }
    }
}

/// This thread's id, from /proc/thread-self (a link to `PID/task/TID`).
fn thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `43<id>[args…]` for `42<id>["message-with-ack",args…]`.
fn ack_for(text: &str) -> Option<String> {
    let rest = text.strip_prefix("42")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (id, json) = rest.split_at(digits);
    let args = json.strip_prefix("[\"message-with-ack\",")?;
    Some(format!("43{id}[{args}"))
}

/// `42["broadcast-message",args…]` for `42["broadcast",args…]` (with or without an ack id).
fn broadcast_for(text: &str) -> Option<String> {
    let rest = text.strip_prefix("42")?;
    let json = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let args = json.strip_prefix("[\"broadcast\",")?;
    Some(format!("42[\"broadcast-message\",{args}"))
}

async fn serve(tcp: TcpStream, fanout: Arc<broadcast::Sender<Bytes>>) {
    let Ok((_, mut ws)) = ServerBuilder::new().accept(tcp).await else {
        return;
    };
    if ws.send(Message::text(OPEN)).await.is_err() {
        return;
    }
    let mut subscription = fanout.subscribe();
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else {
                    return;
                };
                if msg.is_close() {
                    return;
                }
                let Some(text) = msg.as_text() else {
                    continue;
                };
                let sent = if text.starts_with("40") {
                    match ws.feed(Message::text(CONNECTED)).await {
                        Ok(()) => ws.send(Message::text(AUTH)).await,
                        Err(e) => Err(e),
                    }
                } else if let Some(reply) = ack_for(text) {
                    ws.send(Message::text(reply)).await
                } else if let Some(frame) = broadcast_for(text) {
                    let _ = fanout.send(Bytes::from(frame));
                    Ok(())
                } else {
                    Ok(())
                };
                if sent.is_err() {
                    return;
                }
            }
            frame = subscription.recv() => match frame {
                Ok(frame) => {
                    // One flush (one write) for every frame already waiting.
                    let mut sent = ws.feed(Message::text(frame)).await;
                    while let (Ok(()), Ok(more)) = (&sent, subscription.try_recv()) {
                        sent = ws.feed(Message::text(more)).await;
                    }
                    if sent.is_err() || ws.flush().await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ack_for, broadcast_for};

    #[test]
    fn slices_replies_without_parsing() {
        assert_eq!(
            ack_for(r#"427["message-with-ack","hi",1]"#).as_deref(),
            Some(r#"437["hi",1]"#)
        );
        assert_eq!(ack_for(r#"42["message-with-ack","hi"]"#), None);
        assert_eq!(
            broadcast_for(r#"42["broadcast",5]"#).as_deref(),
            Some(r#"42["broadcast-message",5]"#)
        );
        assert_eq!(broadcast_for(r#"42["message",5]"#), None);
    }
}
