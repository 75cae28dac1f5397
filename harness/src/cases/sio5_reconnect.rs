//! Socket.IO v5 — the transport dropped under a connection (`close-transport`),
//! and a client coming back.

use std::time::Instant;

use siospec_codec::engine::{Data, PacketType as EType};

use crate::case::{Case, Observed, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::sio::reply_sid;
use crate::wire::conn::Transport;
use crate::wire::eio;
use crate::wire::sio::{Got, Sio};

const S: Section = Section {
    id: "sio5.reconnect",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Transport loss and reconnection",
    spec: "harness/CONTRACT.md `close-transport`; socket.io-protocol v5 (a new Engine.IO session per reconnection)",
};

const REQ: &str = "Contract: `close-transport` makes the server drop the Engine.IO connection without a close packet. A client reconnects with a new Engine.IO session and a new CONNECT; the old session is gone.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "websocket", "After `close-transport` over WebSocket the connection drops; a new one gets new ids")
            .req(REQ)
            .ok("the WebSocket ends without `1`/`41`; a new session and CONNECT work, with new Engine.IO and Socket.IO sids")
            .outcome("close-packet", Verdict::NonStrict, "the server sent a close or disconnect packet first")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let sid1 = reply_sid(&s.join(&cx, "/", None).await?)?;
                let eio1 = s.handshake().sid.clone();
                s.emit("/", None, r#"["close-transport"]"#).await?;
                let mut key = "ok";
                let end = loop {
                    match s.next(cx.ms(2000)).await {
                        Got::Closed(d) => break d,
                        Got::Packet(p) if p.kind == siospec_codec::socket::PacketType::Disconnect => key = "close-packet",
                        Got::Nothing => return Err(Stop::Unsupported("nothing dropped within 2000 ms of `close-transport`: the server does not implement this part of the contract".into())),
                        other => return Ok(Observed::not(format!("expected the connection to drop, got {}", other.describe()))),
                    }
                };
                if end.contains("Engine.IO close packet") {
                    key = "close-packet";
                }
                let mut t = Sio::open(&cx).await?;
                let sid2 = reply_sid(&t.join(&cx, "/", None).await?)?;
                if sid2 == sid1 || t.handshake().sid == eio1 {
                    return Ok(Observed::not("the new connection reuses an old id"));
                }
                t.still_alive(&cx).await?;
                Ok(Observed::is(key, format!("dropped ({end}); reconnected as {} / {sid2}", t.handshake().sid)))
            }),
        Case::new(S, "polling", "After `close-transport` over polling the poll fails; the old sid is refused; a new session works")
            // At worst the old session ends at the server's heartbeat (below).
            .waits(|c| c.heartbeat())
            .req(REQ)
            .ok("the pending GET fails (connection destroyed) or ends; the old sid gets 400; a new session joins /")
            .run(|cx| async move {
                let mut s = Sio::open_over(&cx, Transport::Polling).await?;
                s.join(&cx, "/", None).await.map_err(|e| match e {
                    Stop::Fail(e) => Stop::Fail(format!("no CONNECT reply and auth event over polling: {e}")),
                    other => other,
                })?;
                // From here on the session is driven request by request: a
                // GET must be pending when the transport is dropped.
                let query = s.conn.session().map(|p| p.query.clone()).ok_or_else(|| Stop::Harness("no polling session".into()))?;
                let get = {
                    let cx = cx.clone();
                    let q = query.clone();
                    tokio::spawn(async move { cx.get(&q).await })
                };
                tokio::time::sleep(cx.ms(20)).await;
                s.emit("/", None, r#"["close-transport"]"#).await?;
                let pending = get.await.map_err(|e| Stop::Harness(e.to_string()))?;
                let how = match &pending {
                    Err(e) => format!("pending GET failed: {e}"),
                    Ok(r) => format!("pending GET answered {} {:?}", r.status, r.text()),
                };
                if let Ok(r) = &pending {
                    if r.status == 200 && eio::decode_body(&cx, r)?.iter().any(|p| p.kind == EType::Message && matches!(&p.data, Data::Text(t) if t.starts_with('1'))) {
                        return Ok(Observed::not(format!("{how}: a DISCONNECT was sent")));
                    }
                }
                // Drain: a later poll may be dropped too, or carry what was
                // queued. A server that does not see its own transport drop
                // learns of it as of a network failure, at its heartbeat.
                let deadline = Instant::now() + cx.ms(1000 + cx.conf.heartbeat());
                loop {
                    match cx.get(&query).await {
                        Ok(r) if verify::unknown_sid(&r) => break,
                        Err(e @ crate::wire::http::HttpError::Connect(_)) => return Err(e.into()),
                        Ok(_) | Err(_) if Instant::now() <= deadline => continue,
                        Ok(r) => return Ok(Observed::not(format!("{how}; the old session still answers {}", r.status))),
                        Err(e) => return Ok(Observed::not(format!("{how}; the old session's polls keep failing: {e}"))),
                    }
                }
                let mut t = Sio::connected(&cx).await?;
                t.still_alive(&cx).await?;
                Ok(Observed::ok(format!("{how}; old sid refused; reconnected")))
            }),
        Case::new(S, "custom-namespace-too", "A dropped transport takes every namespace; a new connection can rejoin both")
            .req(REQ)
            .ok("the connection drops; a new connection joins / and /custom")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                s.emit("/custom", None, r#"["close-transport"]"#).await?;
                s.expect_closed(cx.ms(2000)).await.map_err(|e| match e {
                    Stop::Fail(m) => Stop::Unsupported(format!(
                        "`close-transport` dropped nothing ({m}): the server does not implement this part of the contract"
                    )),
                    other => other,
                })?;
                let mut t = Sio::connected(&cx).await?;
                t.join(&cx, "/custom", None).await?;
                Ok(Observed::ok("rejoined / and /custom"))
            }),
    ]
}
