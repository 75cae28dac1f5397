//! What is negotiated and advertised, judged against what common proxies
//! do: compression (reported, not judged) and the heartbeat timings.

use std::sync::Arc;
use std::time::Duration;

use super::{Ctx, Outcome};
use crate::trace::Trace;

/// The shortest idle timeout among common proxies' defaults: Heroku's
/// router (55 s); nginx's proxy_read_timeout and AWS ALB's idle timeout
/// are 60 s.
const SHORTEST_PROXY_IDLE_MS: u64 = 55_000;

pub(super) async fn compression(cx: &Ctx, websocket: bool, trace: Arc<Trace>) -> Outcome {
    let mut found = Vec::new();
    if websocket {
        // A raw upgrade request that offers permessage-deflate: tungstenite
        // does not negotiate extensions, so read the 101's headers ourselves.
        let http = crate::wire::http::Http::new(&cx.origin, trace.clone());
        let request = format!(
            "GET {}?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \
             dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; \
             client_max_window_bits\r\n\r\n",
            cx.path, cx.origin.authority
        );
        match http.raw(request.as_bytes(), Duration::from_secs(1)).await {
            Ok(bytes) => {
                let head = String::from_utf8_lossy(&bytes);
                let head = head.split("\r\n\r\n").next().unwrap_or("");
                let extension = head.lines().find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-extensions"))
                        .map(|(_, v)| v.trim().to_owned())
                });
                found.push(match extension {
                    Some(e) if e.contains("permessage-deflate") => {
                        format!("WebSocket: permessage-deflate negotiated ({e})")
                    }
                    _ => "WebSocket: no permessage-deflate (the default of socket.io ≥ 3, \
                          which saves memory per connection)"
                        .to_owned(),
                });
            }
            Err(e) => found.push(format!("WebSocket: the raw handshake failed ({e})")),
        }
    }
    if cx.offer.polling {
        let client = cx.client(&trace);
        let opened = client
            .open_polling(vec![("accept-encoding", "gzip, deflate, br".to_owned())])
            .await;
        found.push(match opened {
            Ok(s) => match s.opened.header("content-encoding") {
                Some(enc) => format!("polling: the handshake came {enc}-encoded"),
                None => "polling: the handshake came unencoded (engine.io compresses polling \
                         bodies of 1 KB and more only)"
                    .to_owned(),
            },
            Err(e) => format!("polling: {e}"),
        });
    }
    if found.is_empty() {
        return Outcome::skipped("neither transport opens");
    }
    Outcome::info(found.join("; "))
}

pub(super) fn timings(cx: &Ctx) -> Outcome {
    let h = &cx.handshake;
    let advertised = format!(
        "pingInterval {} ms, pingTimeout {} ms, maxPayload {}",
        h.ping_interval,
        h.ping_timeout,
        h.max_payload
            .map_or("not advertised".to_owned(), |m| format!("{m} bytes"))
    );
    // The longest silence on a healthy connection is one pingInterval: the
    // server pings, the client answers at once.
    if h.ping_interval >= SHORTEST_PROXY_IDLE_MS {
        return Outcome::warning(
            format!(
                "{advertised}: a connection is silent for up to pingInterval, longer than the \
                 idle timeouts of common proxies (Heroku 55 s, nginx and AWS ALB 60 s)"
            ),
            format!(
                "lower pingInterval below 55 s (socket.io's default is 25000 ms), or raise the \
                 proxy's timeout above {} s (nginx `proxy_read_timeout`)",
                (h.ping_interval + h.ping_timeout).div_ceil(1000) + 5
            ),
        );
    }
    Outcome::ok(format!(
        "{advertised}: a healthy connection is never silent for longer than pingInterval, \
         within the idle timeouts of common proxies (55 s and more)"
    ))
}
