//! Socket.IO v5 — leaving a namespace, from either side.

use siospec_codec::socket::PacketType;

use crate::case::{Case, Observed, Section, Verdict};
use crate::suite::Suite;
use crate::verify::sio::reply_sid;
use crate::wire::conn::Incoming;
use crate::wire::eio;
use crate::wire::heartbeat::Heartbeat;
use crate::wire::sio::{Got, Sio};

const S: Section = Section {
    id: "sio5.disconnect",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Disconnection from a namespace",
    spec: "socket.io-protocol v5, \"Disconnection from a namespace\"",
};

const REQ: &str = "DISCONNECT (1) leaves a namespace; the server sends nothing back and the Engine.IO connection stays open for the other namespaces.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "main", "`41` leaves /: no answer, the next frame is the heartbeat")
            .waits(|c| c.ping_interval)
            .official("Socket.IO protocol / disconnect / should disconnect from the main namespace", None)
            .req(REQ)
            .ok("the next frame is the ping `2`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // The ping must reach the case: it is what comes next.
                s.set_heartbeat(Heartbeat::Manual);
                s.send_packet(PacketType::Disconnect, "/", None, None).await?;
                match s.conn.recv(cx.ms(cx.conf.ping_interval + 500)).await {
                    Some(Incoming::Packet(p)) if p == eio::ping() => Ok(Observed::ok("next frame: `2`")),
                    Some(f) => Ok(Observed::not(format!("expected the ping `2`, got {}", f.describe()))),
                    None => Ok(Observed::not("nothing, not even a ping")),
                }
            }),
        Case::new(S, "custom", "Leaving /custom keeps / working on the same connection")
            .waits(|c| c.ping_interval)
            .official("Socket.IO protocol / disconnect / should connect then disconnect from a custom namespace", None)
            .req(REQ)
            .ok("after `41/custom`, `42[\"message\",...]` on / is answered `message-back`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.sync_on_ping(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                // As the official suite writes it, without the comma.
                s.send_raw("1/custom").await?;
                s.emit("/", None, r#"["message","message to main namespace"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back","message to main namespace"]"#).await?;
                Ok(Observed::ok("main namespace unaffected"))
            }),
        Case::new(S, "rejoin", "After `41` the same Engine.IO connection can join / again, with a new sid")
            .waits(|c| c.ping_interval)
            .req(REQ)
            .ok("a new CONNECT reply with a different sid, and the `auth` event")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let a = reply_sid(&s.join(&cx, "/", None).await?)?;
                s.send_packet(PacketType::Disconnect, "/", None, None).await?;
                // engine.io-based servers finish the DISCONNECT asynchronously:
                // a CONNECT in the same read would find / still joined.
                s.sync_on_ping(&cx).await?;
                let b = reply_sid(&s.join(&cx, "/", None).await?)?;
                if a == b {
                    return Ok(Observed::not(format!("the same sid {a} again")));
                }
                Ok(Observed::ok(format!("{a} then {b}")))
            }),
        Case::new(S, "event-after-disconnect", "An event on a namespace the client has left")
            .waits(|c| c.ping_interval)
            .req("A client sends packets only to namespaces it has joined.")
            .should()
            .ok("the connection is closed (as for any packet to a namespace not joined)")
            .outcome("ignored", Verdict::Informational, "ignored; the connection stays")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_packet(PacketType::Disconnect, "/", None, None).await?;
                s.sync_on_ping(&cx).await?;
                s.emit("/", None, r#"["message","gone"]"#).await?;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Nothing => Observed::is("ignored", "nothing within 1000 ms"),
                    other => Observed::not(other.describe()),
                })
            }),
        Case::new(S, "server-side-main", "The server leaves / (`disconnect-me`): it sends `41`, the connection stays")
            .req("DISCONNECT (1) from the server ends the client's membership of the namespace.")
            .ok("exactly `41`; then `/custom` can still be joined on the same connection")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["disconnect-me"]"#).await?;
                s.expect_raw(cx.ms(2000), "1").await?;
                s.join(&cx, "/custom", None).await?;
                Ok(Observed::ok("`41`, connection kept"))
            }),
        Case::new(S, "server-side-custom", "The server leaves /custom: `41/custom,`, / unaffected")
            .req("DISCONNECT (1) from the server ends the client's membership of the namespace.")
            .ok("exactly `41/custom,`; `message` on / still answered")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                s.emit("/custom", None, r#"["disconnect-me"]"#).await?;
                let p = s.expect(cx.ms(2000), "`41/custom,`").await?;
                if p.kind != PacketType::Disconnect || p.nsp != "/custom" || p.data.is_some() {
                    return Ok(Observed::not(p.describe()));
                }
                s.still_alive(&cx).await?;
                Ok(Observed::ok(p.raw))
            }),
    ]
}
