//! Socket.IO v5 — malformed packets. The bad packets come from valid ones
//! built with the codec's encoder, broken one way each, plus the rejection
//! vectors of socket.io-parser. Every case checks that the connection is
//! closed and that the server still accepts a new connection.

use siospec_codec::socket::{self, PacketType, Version};
use siospec_codec::{Limits, Profile};

use crate::case::server::Ctx;
use crate::case::{Case, Level, Observed, Outcome, Section, Stop};
use crate::suite::Suite;
use crate::verify;
use crate::wire::sio::{self, Sio};

const S: Section = Section {
    id: "sio5.malformed",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Malformed packets",
    spec: "socket.io-protocol v5, \"Packet encoding\"; socket.io-parser decoder rules",
};

const REQ: &str = "A packet that cannot be decoded, or that breaks the exchange rules, is a protocol error: the server closes the connection and keeps serving other clients.";

/// What to send after joining `/`: text packets and binary attachments.
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    TextThenText(String, String),
    Binary(Vec<u8>),
    TextThenBinary(String, Vec<u8>),
}

fn encoded(kind: PacketType, nsp: &str, id: Option<u64>, json: Option<&str>) -> String {
    // Inputs are constants; a failure here is a harness bug reported by the case.
    sio::encode(kind, nsp, id, json).unwrap_or_default()
}

fn table() -> Vec<(String, String, Input, Level)> {
    use Input::*;
    let event = encoded(PacketType::Event, "/", None, Some(r#"["message","x"]"#));
    let mut rows: Vec<(String, String, Input, Level)> = vec![
        (
            "unknown-type".into(),
            "`4abc`: not a packet type".into(),
            Text("abc".into()),
            Level::Must,
        ),
        (
            "payload-object".into(),
            "`42{}`: EVENT payload not an array".into(),
            Text("2{}".into()),
            Level::Must,
        ),
        (
            "ack-id-letters".into(),
            "`42abc[...]`: non-numeric ack id makes the JSON invalid".into(),
            Text(r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#.into()),
            Level::Must,
        ),
    ];
    for d in ['7', '8', '9'] {
        rows.push((
            format!("type-{d}"),
            format!("EVENT re-typed as {d}"),
            Text(format!("{d}{}", &event[1..])),
            Level::Must,
        ));
    }
    rows.push((
        "truncated-json".into(),
        "EVENT whose JSON is cut short".into(),
        Text(event[..event.len() - 2].to_owned()),
        Level::Must,
    ));
    for (name, payload) in [
        ("string", r#""invalid""#),
        ("null", "null"),
        ("empty-array", "[]"),
        ("number-true-name", r#"[true,"foo"]"#),
        ("null-name", r#"[null,"bar"]"#),
        ("object-name", r#"[{"toString":"foo"}]"#),
    ] {
        rows.push((
            format!("event-{name}"),
            format!("EVENT with payload {payload}"),
            Text(format!("2{payload}")),
            Level::Must,
        ));
    }
    for r in socket::RESERVED_EVENTS {
        rows.push((
            format!("reserved-{}", r.to_ascii_lowercase().replace('_', "-")),
            format!("EVENT named `{r}` (reserved)"),
            Text(encoded(
                PacketType::Event,
                "/",
                None,
                Some(&format!(r#"["{r}"]"#)),
            )),
            Level::Should,
        ));
    }
    rows.extend([
        (
            "connect-array".into(),
            "CONNECT with an array payload `40[]`".into(),
            Text("0[]".into()),
            Level::Must,
        ),
        (
            "connect-string".into(),
            "CONNECT with a string payload".into(),
            Text(r#"0"x""#.into()),
            Level::Must,
        ),
        (
            "disconnect-payload".into(),
            "DISCONNECT with a payload `41{}`".into(),
            Text("1{}".into()),
            Level::Must,
        ),
        (
            "client-connect-error".into(),
            "CONNECT_ERROR sent by the client".into(),
            Text(r#"4{"message":"x"}"#.into()),
            Level::Should,
        ),
        (
            "namespace-not-joined".into(),
            "EVENT for a namespace not joined".into(),
            Text(encoded(
                PacketType::Event,
                "/custom",
                None,
                Some(r#"["message","x"]"#),
            )),
            Level::Must,
        ),
        (
            "attachments-missing-dash".into(),
            "BINARY_EVENT `451[...]` without the dash".into(),
            Text(r#"51["message"]"#.into()),
            Level::Must,
        ),
        (
            "attachments-letters".into(),
            "BINARY_EVENT with attachment count `a`".into(),
            Text(r#"5a-["message"]"#.into()),
            Level::Must,
        ),
        (
            "attachments-fraction".into(),
            "BINARY_EVENT with attachment count `1.5`".into(),
            Text(r#"51.5-["message"]"#.into()),
            Level::Must,
        ),
        (
            "attachments-zero".into(),
            "BINARY_EVENT announcing 0 attachments".into(),
            Text(r#"50-["message"]"#.into()),
            Level::Should,
        ),
        (
            "text-while-reassembling".into(),
            "a text packet while an attachment is awaited".into(),
            TextThenText(
                r#"51-["message",{"_placeholder":true,"num":0}]"#.to_owned(),
                r#"2["message","x"]"#.into(),
            ),
            Level::Must,
        ),
        (
            "binary-without-header".into(),
            "a binary message with no binary packet pending".into(),
            Binary(vec![1, 2, 3]),
            Level::Must,
        ),
        (
            "placeholder-out-of-range".into(),
            "placeholder num 5 with one attachment".into(),
            TextThenBinary(
                r#"51-["message",{"_placeholder":true,"num":5}]"#.into(),
                vec![1],
            ),
            Level::Must,
        ),
        (
            "empty-engine-message".into(),
            "an empty Engine.IO message `4`".into(),
            Text(String::new()),
            Level::Should,
        ),
    ]);
    rows
}

async fn run(cx: Ctx, input: Input) -> Outcome {
    // Inputs that are text must be rejected by the codec (Compat, as socket.io-parser).
    if let Input::Text(t) = &input {
        let codec_rejects =
            socket::decode(t, Version::V5, Profile::Compat, &Limits::default()).is_err();
        let rule_breach = t.starts_with("2/custom") || t.starts_with('4') || t.is_empty();
        if !codec_rejects && !rule_breach {
            return Err(Stop::Harness(format!(
                "the codec decodes {t:?}: not a malformed input"
            )));
        }
    }
    let mut s = Sio::connected(&cx).await?;
    match input {
        Input::Text(t) => s.send_raw(&t).await?,
        Input::TextThenText(a, b) => {
            s.send_raw(&a).await?;
            s.send_raw(&b).await?;
        }
        Input::Binary(b) => s.send_attachment(&b).await?,
        Input::TextThenBinary(t, b) => {
            s.send_raw(&t).await?;
            s.send_attachment(&b).await?;
        }
    }
    let o = Observed::ok("a new connection still works");
    Ok(
        match verify::sio::closed_and_still_serving(&cx, &mut s).await? {
            Ok(d) => o.close_is("closed", d),
            Err(m) => o.close_not(m),
        },
    )
}

pub fn cases() -> Vec<Case> {
    table()
        .into_iter()
        .map(|(name, what, input, level)| {
            let mut c = Case::new(S, &name, format!("Send {what}"))
                .req(REQ)
                .ok("the server survives: a new connection and CONNECT still work")
                .close("closed", crate::case::Verdict::Ok, "the server closes the connection");
            c.level = level;
            match name.as_str() {
                "unknown-type" => c = c.official("Socket.IO protocol / message / should close the connection upon invalid format (unknown packet type)", Some("also checks that the server survives")),
                "payload-object" => c = c.official("Socket.IO protocol / message / should close the connection upon invalid format (invalid payload format)", Some("also checks that the server survives")),
                "ack-id-letters" => c = c.official("Socket.IO protocol / message / should close the connection upon invalid format (invalid ack id)", Some("also checks that the server survives")),
                _ => {}
            }
            c.run(move |cx| run(cx, input.clone()))
        })
        .collect()
}
