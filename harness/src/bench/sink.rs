//! The sink: a server that does as little as a Socket.IO server can, so
//! running a scenario against it measures the generator's own ceiling.
//!
//! It accepts the WebSocket, sends a fixed open packet, answers every
//! CONNECT with a fixed reply, turns `42<id>["message-with-ack",…]` into
//! `43<id>[…]` by slicing the text, and forwards `broadcast` to every
//! connection as one shared frame. No JSON is parsed, no session kept. It
//! runs on its own thread and single-threaded runtime, as the servers it
//! stands in for do.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::stream::StreamExt;
use futures_util::SinkExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, oneshot};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

const OPEN: &str = r#"0{"sid":"sink","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const CONNECTED: &str = r#"40{"sid":"sink"}"#;
const AUTH: &str = r#"42["auth",{}]"#;

/// A running sink; dropping it stops it.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("siospec-sink".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let (fanout, _) = broadcast::channel::<Utf8Bytes>(65_536);
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
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `host:port`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }
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

async fn serve(tcp: TcpStream, fanout: Arc<broadcast::Sender<Utf8Bytes>>) {
    let config = super::conn::ws_config();
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    if sink.send(Message::text(OPEN)).await.is_err() {
        return;
    }
    let mut subscription = fanout.subscribe();
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    match msg {
                        Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                        _ => return,
                    }
                };
                let text = text.as_str();
                let sent = if text.starts_with("40") {
                    match sink.feed(Message::text(CONNECTED)).await {
                        Ok(()) => sink.send(Message::text(AUTH)).await,
                        Err(e) => Err(e),
                    }
                } else if let Some(reply) = ack_for(text) {
                    sink.send(Message::text(reply)).await
                } else if let Some(frame) = broadcast_for(text) {
                    let _ = fanout.send(Utf8Bytes::from(frame));
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
                    let mut sent = sink.feed(Message::Text(frame)).await;
                    while let (Ok(()), Ok(more)) = (&sent, subscription.try_recv()) {
                        sent = sink.feed(Message::Text(more)).await;
                    }
                    if sent.is_err() || sink.flush().await.is_err() {
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
