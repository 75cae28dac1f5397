//! Socket.IO v5 — events, acknowledgements and binary attachments.

use serde_json::{json, Value};
use siospec_codec::socket::{self, binary, PacketType};

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::wire::sio::{self, Got, Sio};

const S: Section = Section {
    id: "sio5.message",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Events, acknowledgements, binary",
    spec: "socket.io-protocol v5, \"Sending and receiving data\", \"Acknowledgement\", \"Packet encoding\"",
};

const REQ_EVENT: &str = "EVENT (2) carries a non-empty array, the event name first; an EVENT with an id asks for an ACK (3) carrying the same id.";
const REQ_BINARY: &str = "BINARY_EVENT (5) / BINARY_ACK (6): each binary value is replaced by {\"_placeholder\":true,\"num\":N} and sent as its own binary message after the packet, in order; the packet gives the attachment count before a dash.";

async fn binary_order(cx: Ctx, n: usize) -> Outcome {
    let mut s = Sio::connected(&cx).await?;
    let blobs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i + 1]).collect();
    // Placeholders referenced out of order, nested.
    let mut order: Vec<usize> = (0..n).rev().collect();
    order.rotate_left(n / 2);
    // The codec's encoder numbers placeholders in the order they appear,
    // so the header is built here around its placeholder writer.
    let mut json = br#"["message""#.to_vec();
    for &i in &order {
        json.extend_from_slice(format!(r#",{{"k{i}":["#).as_bytes());
        binary::write_placeholder(i, &mut json);
        json.extend_from_slice(b"]}");
    }
    json.push(b']');
    let json = String::from_utf8(json).map_err(|e| Stop::Harness(e.to_string()))?;
    let mut header = Vec::new();
    let mut packet = socket::Packet::new(
        PacketType::BinaryEvent,
        "/",
        Some(socket::Json::parse(&json).map_err(|e| Stop::Harness(e.to_string()))?),
    );
    packet.attachments = n;
    socket::encode(&packet, &mut header);
    s.send_raw(&String::from_utf8_lossy(&header)).await?;
    for b in &blobs {
        s.send_attachment(b).await?;
    }
    let want_args: Vec<Value> = order
        .iter()
        .map(|&i| json!({ format!("k{i}"): [ {"$bin": crate::trace::hex(&blobs[i])} ] }))
        .collect();
    let mut want = vec![json!("message-back")];
    want.extend(want_args);
    verify::sio::expect_content(
        &cx,
        &mut s,
        PacketType::BinaryEvent,
        None,
        Value::Array(want),
    )
    .await
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "event", "`message` with mixed arguments comes back as `message-back`")
            .official("Socket.IO protocol / message / should send a plain-text packet", None)
            .req(REQ_EVENT)
            .ok("exactly `42[\"message-back\",1,\"2\",{\"3\":[true]}]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["message",1,"2",{"3":[true]}]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back",1,"2",{"3":[true]}]"#).await?;
                Ok(Observed::ok(r#"42["message-back",1,"2",{"3":[true]}]"#))
            }),
        Case::new(S, "binary-event", "A binary event with two attachments is echoed with them, in order")
            .official("Socket.IO protocol / message / should send a packet with binary attachments", None)
            .req(REQ_BINARY)
            .ok("`452-[\"message-back\",<0>,<1>]` then binary 01 02 03 and 04 05 06")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", None, &sio::event_with("message", &[&[1, 2, 3], &[4, 5, 6]])).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let (want, attachments) = sio::encode_data(PacketType::Event, "/", None, &sio::event_with("message-back", &[&[1, 2, 3], &[4, 5, 6]]))?;
                if p.raw != want || p.attachments != attachments {
                    return Ok(Observed::not(format!("expected {want:?} + 010203, 040506; got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "ack", "An event with id 456 is acknowledged with `43456[...]`")
            .official("Socket.IO protocol / message / should send a plain-text packet with an ack", None)
            .req(REQ_EVENT)
            .ok("exactly `43456[1,\"2\",{\"3\":[false]}]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(456), r#"["message-with-ack",1,"2",{"3":[false]}]"#).await?;
                s.expect_raw(cx.ms(2000), r#"3456[1,"2",{"3":[false]}]"#).await?;
                Ok(Observed::ok(r#"43456[1,"2",{"3":[false]}]"#))
            }),
        Case::new(S, "binary-ack", "A binary event with id 789 gets a binary ack with the same attachments")
            .official("Socket.IO protocol / message / should send a packet with binary attachments and an ack", None)
            .req(REQ_BINARY)
            .ok("`462-789[<0>,<1>]` then 01 02 03 and 04 05 06")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", Some(789), &sio::event_with("message-with-ack", &[&[1, 2, 3], &[4, 5, 6]])).await?;
                let p = s.expect(cx.ms(2000), "the binary ack").await?;
                let args = binary::Value::Array(vec![binary::Value::Binary(vec![1, 2, 3]), binary::Value::Binary(vec![4, 5, 6])]);
                let (want, attachments) = sio::encode_data(PacketType::Ack, "/", Some(789), &args)?;
                if p.raw != want || p.attachments != attachments {
                    return Ok(Observed::not(format!("expected {want:?} + attachments; got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "server-ack", "A server event with an ack id is answered; the server gets the ack's arguments")
            .req(REQ_EVENT)
            .ok("`42<id>[\"emit-with-ack\",1,\"x\"]`; after `43<id>[\"r\",2]` the server emits `emit-with-ack-result` with \"r\",2")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["emit-with-ack",1,"x"]"#).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack` with an ack id").await?;
                let Some(id) = p.id else {
                    return Ok(Observed::not(format!("no ack id: {}", p.describe())));
                };
                if p.event() != Some("emit-with-ack") || p.args() != [json!(1), json!("x")] {
                    return Ok(Observed::not(p.describe()));
                }
                s.send_packet(PacketType::Ack, "/", Some(id), Some(r#"["r",2]"#)).await?;
                s.expect_raw(cx.ms(2000), r#"2["emit-with-ack-result","r",2]"#).await?;
                Ok(Observed::ok(format!("ack id {id} round trip")))
            }),
        Case::new(S, "server-binary-ack", "The client acks a server event with a binary ack")
            .req(REQ_BINARY)
            .ok("after `461-<id>[<0>]` + binary, the server emits `emit-with-ack-result` with the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["emit-with-ack"]"#).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack`").await?;
                let Some(id) = p.id else {
                    return Ok(Observed::not(format!("no ack id: {}", p.describe())));
                };
                s.send_data(PacketType::Ack, "/", Some(id), &binary::Value::Array(vec![binary::Value::Binary(vec![9, 8, 7])])).await?;
                verify::sio::expect_content(&cx, &mut s, PacketType::BinaryEvent, None, json!(["emit-with-ack-result", {"$bin": "09 08 07"}])).await
            }),
        Case::new(S, "server-binary-event-ack", "A server event carrying binary, with an ack id")
            .req(REQ_BINARY)
            .ok("`451-<id>[\"emit-with-ack\",<0>]` + the same bytes")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", None, &sio::event_with("emit-with-ack", &[&[0xca, 0xfe]])).await?;
                let p = s.expect(cx.ms(2000), "`emit-with-ack`").await?;
                if p.kind != PacketType::BinaryEvent || p.id.is_none() || p.content() != json!(["emit-with-ack", {"$bin": "ca fe"}]) {
                    return Ok(Observed::not(p.describe()));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "attachments-order", "Five attachments referenced out of order and nested keep their identity")
            .req(REQ_BINARY)
            .ok("every placeholder of the echo resolves to the bytes that were at that place")
            .run(|cx| binary_order(cx, 5)),
        Case::new(S, "attachments-ten", "Ten attachments (the reference limit) are accepted")
            .req(REQ_BINARY)
            .ok("echoed with all ten attachments in place")
            .run(|cx| binary_order(cx, 10)),
        Case::new(S, "attachments-over-limit", "Eleven attachments exceed the reference limit of ten")
            .req("The server bounds the attachments per packet (reference server: maxAttachments 10).")
            .should()
            .ok("the connection is closed")
            .outcome("accepted", Verdict::NonStrict, "accepted (no limit, or a higher one)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.text_format_only("bounds the attachments that follow a binary packet's header")?;
                let blobs: Vec<Vec<u8>> = (0..11u8).map(|i| vec![i]).collect();
                let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
                let _ = s.send_data(PacketType::Event, "/", None, &sio::event_with("message", &refs)).await;
                Ok(match s.next(cx.ms(1000)).await {
                    Got::Closed(d) => Observed::ok(d),
                    Got::Packet(p) => Observed::is("accepted", p.describe()),
                    other => Observed::not(other.describe()),
                })
            }),
        Case::new(S, "empty-attachment", "An empty binary attachment is echoed as an empty attachment")
            .req(REQ_BINARY)
            .ok("`451-[\"message-back\",<0>]` + an empty binary message")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_data(PacketType::Event, "/", None, &sio::event_with("message", &[&[]])).await?;
                verify::sio::expect_content(&cx, &mut s, PacketType::BinaryEvent, None, json!(["message-back", {"$bin": ""}])).await
            }),
        Case::new(S, "ack-empty", "An ack with no arguments is `43<id>[]`")
            .req(REQ_EVENT)
            .ok("exactly `437[]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(7), r#"["message-with-ack"]"#).await?;
                s.expect_raw(cx.ms(2000), "37[]").await?;
                Ok(Observed::ok("437[]"))
            }),
        Case::new(S, "ack-large-id", "Ack id 2^53 − 1 comes back unchanged")
            .req(REQ_EVENT)
            .ok("`439007199254740991[\"x\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", Some(9_007_199_254_740_991), r#"["message-with-ack","x"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"39007199254740991["x"]"#).await?;
                Ok(Observed::ok(r#"439007199254740991["x"]"#))
            }),
        Case::new(S, "ack-unknown-id", "An ACK for an id the server never used is ignored")
            .req("Acknowledgements answer the server's own ids; the protocol does not define other ones.")
            .should()
            .ok("ignored: the connection keeps working")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.send_packet(PacketType::Ack, "/", Some(999), Some(r#"["unexpected"]"#)).await?;
                s.still_alive(&cx).await?;
                Ok(Observed::ok("ignored"))
            }),
        Case::new(S, "custom-namespace", "Events on /custom are answered on /custom")
            .req(REQ_EVENT)
            .ok("`42/custom,[\"message-back\",\"x\"]` and `43/custom,5[\"y\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                s.emit("/custom", None, r#"["message","x"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2/custom,["message-back","x"]"#).await?;
                s.emit("/custom", Some(5), r#"["message-with-ack","y"]"#).await?;
                // The ack must come on /custom with id 5 and `y` first; further
                // arguments are the ack cases' rule (the official client passes
                // them to the callback).
                let p = s.expect(cx.ms(2000), "the ack on /custom").await?;
                let first = p.data.as_ref().and_then(|d| d.as_array()?.first().cloned());
                if p.kind != PacketType::Ack
                    || p.nsp != "/custom"
                    || p.id != Some(5)
                    || first != Some(json!("y"))
                {
                    return Err(Stop::Fail(format!(
                        r#"expected "3/custom,5["y"]" (further arguments tolerated), got {}"#,
                        p.describe()
                    )));
                }
                Ok(Observed::ok("answered on /custom"))
            }),
        Case::new(S, "no-arguments", "`42[\"message\"]` → `42[\"message-back\"]`")
            .req(REQ_EVENT)
            .ok("exactly `42[\"message-back\"]`")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, r#"["message"]"#).await?;
                s.expect_raw(cx.ms(2000), r#"2["message-back"]"#).await?;
                Ok(Observed::ok(r#"42["message-back"]"#))
            }),
        Case::new(S, "unicode", "Non-ASCII and escaped JSON strings survive the round trip")
            .req(REQ_EVENT)
            .ok("the same values come back (compared as JSON)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let args = json!(["message", "héllo €😀", "quote \" backslash \\ newline \n", {"ключ": [null, "\u{0}", "\u{1f}"]}]);
                s.emit("/", None, &args.to_string()).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let mut want = args.clone();
                want[0] = json!("message-back");
                if p.data.as_ref() != Some(&want) {
                    return Ok(Observed::not(format!("sent {args}, got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "numbers", "Numbers of every range survive the round trip")
            .req(REQ_EVENT)
            .ok("the same numbers come back (compared as JSON)")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                // Small and large integers (beyond 2^32, at 2^53 − 1, beyond
                // 2^64), negative ones and fractions: each a different
                // width in msgpack.
                let text = r#"["message",0,-1,127,-33,255,65536,4294967296,9007199254740991,-9007199254740991,1.5,-2.5e-7,1e+300]"#;
                s.emit("/", None, text).await?;
                let p = s.expect(cx.ms(2000), "`message-back`").await?;
                let mut want: serde_json::Value = serde_json::from_str(text).map_err(|e| Stop::Harness(e.to_string()))?;
                want[0] = json!("message-back");
                if p.data.as_ref() != Some(&want) {
                    return Ok(Observed::not(format!("sent {text}, got {}", p.describe())));
                }
                Ok(Observed::ok(p.describe()))
            }),
        Case::new(S, "large-event", "A 400 kB event is echoed")
            .req(REQ_EVENT)
            .ok("`message-back` with the same 400 kB string")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                let big: String = "0123456789".repeat(40_000);
                s.emit("/", None, &json!(["message", big]).to_string()).await?;
                let p = s.expect(cx.ms(3000), "`message-back`").await?;
                if p.args() != [json!(big)] {
                    return Ok(Observed::not(format!("{} bytes back", p.raw.len())));
                }
                Ok(Observed::ok(format!("{} bytes back", p.raw.len())))
            }),
        Case::new(S, "numeric-event-name", "An event whose name is a number (`42[1,2]`) is accepted")
            .req("EVENT: the first element is the event name; socket.io-parser accepts a number there.")
            .may()
            .ok("accepted: the connection keeps working")
            .outcome("closed", Verdict::Informational, "the connection is closed")
            .run(|cx| async move {
                let mut s = Sio::connected(&cx).await?;
                s.emit("/", None, "[1,2]").await?;
                Ok(match s.still_alive(&cx).await {
                    Ok(()) => Observed::ok("accepted"),
                    Err(e) => Observed::is("closed", format!("{e:?}")),
                })
            }),
    ]
}
