//! Socket.IO v4 (Socket.IO 1.x/2.x clients, over Engine.IO 3).

use serde_json::json;
use siospec_codec::socket::PacketType;

use crate::case::{Case, Observed, Section, Verdict};
use crate::suite::Suite;
use crate::verify::sio::expect_content;
use crate::wire::conn::Transport;
use crate::wire::sio::{self, Got, Sio};

const S: Section = Section {
    id: "sio4.protocol",
    suite: Suite::Sio4,
    title: "Socket.IO v4 — over Engine.IO 3",
    spec: "socket.io-protocol v4 (branch v4)",
};

const REQ: &str = "Protocol 4: the client is connected to / implicitly (the server sends CONNECT `0`); other namespaces are joined with CONNECT, auth travels in the namespace's query string; packet 4 is ERROR.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "connect.implicit-main", "On an EIO=3 connection the server joins / by itself")
            .req(REQ)
            .ok("`40` then `42[\"auth\",{}]` without any CONNECT from the client")
            .outcome("with-sid", Verdict::NonStrict, "a CONNECT with a v5 `{\"sid\":...}` payload")
            .run(|cx| async move {
                let mut s = Sio::open(&cx).await?;
                let p = s.expect(cx.ms(2000), "CONNECT").await?;
                if p.kind != PacketType::Connect || p.nsp != "/" {
                    return Ok(Observed::not(p.describe()));
                }
                s.expect_raw(cx.ms(2000), r#"2["auth",{}]"#).await?;
                Ok(if p.raw == "0" { Observed::ok("`40`, auth {}") } else { Observed::is("with-sid", p.describe()) })
            }),
        Case::new(S, "connect.custom-query-auth", "`40/custom?token=abc` joins /custom; the query becomes the auth")
            .req(REQ)
            .ok("`40/custom,` then `42/custom,[\"auth\",{\"token\":\"abc\"}]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // As the official suite writes it, without the comma.
                s.send_raw("0/custom?token=abc").await?;
                let p = s.expect(cx.ms(2000), "CONNECT /custom").await?;
                if p.kind != PacketType::Connect || p.nsp != "/custom" {
                    return Ok(Observed::not(p.describe()));
                }
                s.expect_raw(cx.ms(2000), r#"2/custom,["auth",{"token":"abc"}]"#).await?;
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "connect.invalid-namespace", "`40/random` is refused with ERROR \"Invalid namespace\"")
            .req("Protocol 4: ERROR (4) carries the error as a string.")
            .ok("`44/random,\"Invalid namespace\"`")
            .outcome("v5-object", Verdict::NonStrict, "`44/random,{\"message\":\"Invalid namespace\"}`: the v5 CONNECT_ERROR object on a v4 connection (socket.io 4 encodes every client alike)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_packet(PacketType::Connect, "/random", None, None).await?;
                let p = s.expect(cx.ms(2000), "ERROR").await?;
                Ok(match p.raw.as_str() {
                    r#"4/random,"Invalid namespace""# => Observed::ok(p.raw),
                    r#"4/random,{"message":"Invalid namespace"}"# => Observed::is("v5-object", p.raw),
                    _ => Observed::not(p.describe()),
                })
            }),
        Case::new(S, "event.echo", "`message` → `message-back` on an EIO=3 connection")
            .req(REQ)
            .ok("exactly `42[\"message-back\",1,\"2\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["message",1,"2"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back",1,"2"]"#).await?;
                Ok(Observed::ok("echoed"))
            }),
        Case::new(S, "event.ack", "An event with an id is acknowledged")
            .req(REQ)
            .ok("exactly `431[1]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(1), r#"["message-with-ack",1]"#).await?;
                s.expect_raw(cx.ms(2000), "31[1]").await?;
                Ok(Observed::ok("431[1]"))
            }),
        Case::new(S, "event.binary", "A binary event (attachment framed with the v3 type byte) is echoed")
            .req("Protocol 4 over Engine.IO 3: attachments are binary messages whose first byte is the message type 4.")
            .ok("`451-[\"message-back\",<0>]` + binary 04 01 02 03")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", None, &sio::event_with("message", &[&[1, 2, 3]])).await?;
                expect_content(&cx, &mut s, PacketType::BinaryEvent, None, json!(["message-back", {"$bin": "01 02 03"}])).await
            }),
        Case::new(S, "event.binary-ack", "A binary event with an id gets a binary ack")
            .req("Protocol 4 introduced BINARY_ACK (6).")
            .ok("`461-7[<0>]` + the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", Some(7), &sio::event_with("message-with-ack", &[&[5, 6]])).await?;
                expect_content(&cx, &mut s, PacketType::BinaryAck, Some(7), json!([{"$bin": "05 06"}])).await
            }),
        Case::new(S, "event.custom-namespace", "Events on /custom are answered on /custom")
            .req(REQ)
            .ok("`42/custom,[\"message-back\",\"x\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // As the official suite writes it, without the comma.
                s.send_raw("0/custom").await?;
                s.expect(cx.ms(2000), "CONNECT /custom").await?;
                s.expect(cx.ms(2000), "auth on /custom").await?;
                s.emit("/custom", None, r#"["message","x"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2/custom,["message-back","x"]"#).await?;
                Ok(Observed::ok("answered on /custom"))
            }),
        Case::new(S, "event.heartbeat", "A connected v4 client that pings keeps its connection past pingInterval + pingTimeout")
            .req("Protocol 3 heartbeat: the client pings every pingInterval.")
            .ok("`message` still answered after pingInterval + pingTimeout + 300 ms of client pings")
            .waits(|c| c.heartbeat() + 300)
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                match s.next(cx.ms(cx.conf.heartbeat() + 300)).await {
                    Got::Nothing => {}
                    other => return Ok(Observed::not(format!("while pinging: {}", other.describe()))),
                }
                s.still_alive(&cx).await?;
                Ok(Observed::ok("alive"))
            }),
        Case::new(S, "disconnect.main", "`41` from a v4 client")
            .req("Protocol 4: a DISCONNECT for / ends the client's connection.")
            .may()
            .ok("the connection is closed")
            .outcome("kept", Verdict::Informational, "the Engine.IO connection stays open")
            .waits(|_| 1000)
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_packet(PacketType::Disconnect, "/", None, None).await?;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Nothing => Observed::is("kept", "still open after 1000 ms"),
                    other => Observed::not(other.describe()),
                })
            }),
        Case::new(S, "malformed.unknown-type", "`4abc` on a v4 connection closes it")
            .req("A packet that cannot be decoded closes the connection.")
            .ok("closed")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_raw("abc").await?;
                Ok(Observed::ok(s.expect_closed(cx.ms(1000)).await?))
            }),
        Case::new(S, "connect.polling", "Over EIO=3 polling (b64), the implicit CONNECT and `auth` come with the first polls")
            .req(REQ)
            .ok("`2:40` and `auth` within the handshake response and the next GETs")
            .run(|cx| async move {
                // The first two packets, as they come: no CONNECT sent, and
                // the CONNECT must come before the `auth` event.
                let mut s = Sio::open_over(&cx, Transport::Polling).await?;
                let connect = s.expect(cx.ms(2000), "the implicit CONNECT").await?;
                let auth = s.expect(cx.ms(2000), "the `auth` event").await?;
                let msgs = [connect.raw, auth.raw];
                match &msgs {
                    [c, a] if c == "0" && a == r#"2["auth",{}]"# => Ok(Observed::ok(format!("{msgs:?}"))),
                    _ => Ok(Observed::not(format!("messages {msgs:?}"))),
                }
            }),
        Case::new(S, "malformed.eio4-frame-binary", "A v4-style binary attachment (no type byte) on an EIO=3 connection")
            .req("Protocol 3 binary frames start with the packet type byte.")
            .may()
            .ok("the connection is closed or the bytes are misread; the server survives")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let data = sio::event_with("message", &[&[1, 2, 3]]);
                for attachment in s.send_header(PacketType::Event, "/", None, &data).await? {
                    // Without the type byte a protocol 3 binary frame starts with.
                    s.conn.send_raw_binary(&attachment).await?;
                }
                let got = s.next(cx.ms(1000)).await.describe();
                Sio::connected(&cx).await?;
                Ok(Observed::ok(format!("{got}; server alive")))
            }),
    ]
}
