//! Socket.IO v5 — rooms and broadcast across ten clients (the testee
//! contract's `join`, `leave`, `to-room`, `broadcast`), with exact delivery sets.
//!
//! Absence is proved without sleeping: after the sender's ack, every client
//! does a `message` round trip; a server that sent it the broadcast did so
//! before the ack, so on the same connection it arrives before the round trip.

use std::collections::BTreeSet;

use serde_json::json;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop};
use crate::suite::Suite;
use crate::verify;
use crate::wire::sio::{self, Got, Sio};
use siospec_codec::socket::PacketType;

const S: Section = Section {
    id: "sio5.rooms",
    suite: Suite::Sio5,
    title: "Socket.IO v5 — Rooms and broadcast (testee contract)",
    spec: "harness/CONTRACT.md: join, leave, to-room, broadcast",
};

const REQ: &str = "Contract: `to-room` (room, ...args) → `room-message` to every socket of the namespace in the room except the sender; `broadcast` → `broadcast-message` to every socket of the namespace, sender included; rooms are per namespace.";

async fn clients(cx: &Ctx, n: usize) -> Result<Vec<Sio>, Stop> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(Sio::connected(cx).await?);
    }
    Ok(v)
}

/// Emits `[event, args…]` with ack id 1 on `nsp` and waits for `ok`. The
/// ack only marks a point in time here: its first argument must be `ok`,
/// further arguments are tolerated as the official client tolerates them
/// (the ack cases of sio5.message and `join-ack` judge the exact arguments).
async fn call(cx: &Ctx, s: &mut Sio, nsp: &str, args: serde_json::Value) -> Result<(), Stop> {
    s.emit(nsp, Some(1), &args.to_string()).await?;
    loop {
        let p = match s.next(cx.ms(2000)).await {
            Got::Packet(p) => p,
            // Acks on join/leave/to-room/broadcast are an optional part of the contract.
            Got::Nothing => {
                return Err(Stop::Unsupported(format!(
                    "no ack within 2000 ms for {args}: the server does not ack the contract's room events"
                )))
            }
            other => return verify::fail(format!("waiting for the ack `ok`: {}", other.describe())),
        };
        if p.kind == siospec_codec::socket::PacketType::Ack && p.id == Some(1) {
            let first = p.data.as_ref().and_then(|d| d.as_array()?.first().cloned());
            return if first == Some(json!("ok")) {
                Ok(())
            } else {
                verify::fail(format!("ack: {}", p.describe()))
            };
        }
        // Broadcasts to the sender itself may come before its ack; they are counted by `collect`.
        s.pending.push(p);
    }
}

/// For each client: how many `event` packets (on `nsp`, with `args`) it got,
/// up to its marker round trip on `/`.
async fn collect(
    cx: &Ctx,
    all: &mut [Sio],
    nsp: &str,
    event: &str,
    args: &serde_json::Value,
) -> Result<Vec<usize>, Stop> {
    let mut counts = Vec::new();
    for (i, s) in all.iter_mut().enumerate() {
        let marker = format!("marker-{i}");
        s.emit("/", None, &json!(["message", marker]).to_string())
            .await?;
        let mut n = 0;
        let mut seen: Vec<_> = std::mem::take(&mut s.pending);
        loop {
            let p = match seen.pop() {
                Some(p) => p,
                None => s.expect(cx.ms(2000), "the marker round trip").await?,
            };
            if p.nsp == "/" && p.event() == Some("message-back") && p.args() == [json!(marker)] {
                break;
            }
            if p.nsp == nsp
                && p.event() == Some(event)
                && p.args() == args.as_array().map(Vec::as_slice).unwrap_or(&[])
            {
                n += 1;
            } else {
                return verify::fail(format!("client {i}: unexpected {}", p.describe()));
            }
        }
        counts.push(n);
    }
    Ok(counts)
}

fn exact(counts: &[usize], want: &BTreeSet<usize>) -> Outcome {
    let got: BTreeSet<usize> = counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, _)| i)
        .collect();
    if counts.iter().any(|&n| n > 1) {
        return Ok(Observed::not(format!(
            "delivered more than once: counts {counts:?}"
        )));
    }
    if &got != want {
        return Ok(Observed::not(format!(
            "delivered to {got:?}, expected exactly {want:?}"
        )));
    }
    Ok(Observed::ok(format!("delivered exactly to {got:?}")))
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            S,
            "broadcast",
            "`broadcast` reaches all ten clients of /, sender included, once each",
        )
        .req(REQ)
        .exclusive()
        .ok("each of the 10 clients gets `broadcast-message` exactly once")
        .run(|cx| async move {
            let mut all = clients(&cx, 10).await?;
            let args = json!(["hello all", 10]);
            call(&cx, &mut all[0], "/", json!(["broadcast", "hello all", 10])).await?;
            let counts = collect(&cx, &mut all, "/", "broadcast-message", &args).await?;
            exact(&counts, &(0..10).collect())
        }),
        Case::new(
            S,
            "broadcast-namespace",
            "`broadcast` on / does not reach sockets of /custom",
        )
        .req(REQ)
        .exclusive()
        .ok("the /custom sockets get nothing; the / sockets get it")
        .run(|cx| async move {
            // Clients 2 and 3 join only /custom, as the official client does
            // for io("/custom"): no DISCONNECT needed to leave /.
            let mut all = clients(&cx, 2).await?;
            for _ in 0..2 {
                let mut s = Sio::open(&cx).await?;
                s.join(&cx, "/custom", None).await?;
                all.push(s);
            }
            call(&cx, &mut all[0], "/", json!(["broadcast", "only main"])).await?;
            let args = json!(["only main"]);
            let (main, custom) = all.split_at_mut(2);
            let counts = collect(&cx, main, "/", "broadcast-message", &args).await?;
            for (i, s) in custom.iter_mut().enumerate() {
                s.emit("/custom", None, r#"["message","m"]"#).await?;
                let p = s.expect(cx.ms(2000), "the /custom round trip").await?;
                if p.raw != r#"2/custom,["message-back","m"]"# {
                    return Ok(Observed::not(format!(
                        "/custom client {}: {}",
                        i + 2,
                        p.describe()
                    )));
                }
            }
            exact(&counts, &[0, 1].into())
        }),
        Case::new(
            S,
            "to-room",
            "`to-room` from a non-member reaches exactly the five members",
        )
        .req(REQ)
        .exclusive()
        .ok("clients 1, 3, 5, 7, 9 get `room-message` once; 0, 2, 4, 6, 8 nothing")
        .run(|cx| async move {
            let mut all = clients(&cx, 10).await?;
            for i in (1..10).step_by(2) {
                call(&cx, &mut all[i], "/", json!(["join", "odd"])).await?;
            }
            call(&cx, &mut all[0], "/", json!(["to-room", "odd", "hi odd"])).await?;
            let counts = collect(&cx, &mut all, "/", "room-message", &json!(["hi odd"])).await?;
            exact(&counts, &[1, 3, 5, 7, 9].into())
        }),
        Case::new(
            S,
            "to-room-from-member",
            "`to-room` from a member excludes the sender",
        )
        .req(REQ)
        .exclusive()
        .ok("members 3, 5, 7, 9 get it; the sender 1 does not")
        .run(|cx| async move {
            let mut all = clients(&cx, 10).await?;
            for i in (1..10).step_by(2) {
                call(&cx, &mut all[i], "/", json!(["join", "odd"])).await?;
            }
            call(&cx, &mut all[1], "/", json!(["to-room", "odd", "from 1"])).await?;
            let counts = collect(&cx, &mut all, "/", "room-message", &json!(["from 1"])).await?;
            exact(&counts, &[3, 5, 7, 9].into())
        }),
        Case::new(
            S,
            "leave",
            "After `leave`, a client no longer gets the room's messages",
        )
        .req(REQ)
        .exclusive()
        .ok("with 3 and 7 gone, only 1, 5, 9 get it")
        .run(|cx| async move {
            let mut all = clients(&cx, 10).await?;
            for i in (1..10).step_by(2) {
                call(&cx, &mut all[i], "/", json!(["join", "odd"])).await?;
            }
            call(&cx, &mut all[3], "/", json!(["leave", "odd"])).await?;
            call(&cx, &mut all[7], "/", json!(["leave", "odd"])).await?;
            call(
                &cx,
                &mut all[0],
                "/",
                json!(["to-room", "odd", "after leave"]),
            )
            .await?;
            let counts =
                collect(&cx, &mut all, "/", "room-message", &json!(["after leave"])).await?;
            exact(&counts, &[1, 5, 9].into())
        }),
        Case::new(
            S,
            "room-per-namespace",
            "A room of /custom is not the room of the same name on /",
        )
        .req(REQ)
        .exclusive()
        .ok("only the / members get it")
        .run(|cx| async move {
            let mut all = clients(&cx, 4).await?;
            call(&cx, &mut all[1], "/", json!(["join", "r"])).await?;
            all[2].join(&cx, "/custom", None).await?;
            call(&cx, &mut all[2], "/custom", json!(["join", "r"])).await?;
            call(&cx, &mut all[0], "/", json!(["to-room", "r", "main r"])).await?;
            let counts = collect(&cx, &mut all, "/", "room-message", &json!(["main r"])).await?;
            exact(&counts, &[1].into())
        }),
        Case::new(
            S,
            "broadcast-binary",
            "A broadcast with a binary argument reaches every client with the bytes",
        )
        .req(REQ)
        .exclusive()
        .ok("each of the 10 clients gets `broadcast-message` with the same bytes")
        .run(|cx| async move {
            let mut all = clients(&cx, 10).await?;
            all[0]
                .send_data(
                    PacketType::Event,
                    "/",
                    Some(1),
                    &sio::event_with("broadcast", &[&[0xde, 0xad]]),
                )
                .await?;
            let mut got = 0;
            for (i, s) in all.iter_mut().enumerate() {
                loop {
                    let p = s.expect(cx.ms(2000), "the binary broadcast").await?;
                    if p.event() == Some("broadcast-message") {
                        if p.attachments != [vec![0xde, 0xad]] {
                            return Ok(Observed::not(format!("client {i}: {}", p.describe())));
                        }
                        got += 1;
                        break;
                    }
                    if !(i == 0 && p.id == Some(1)) {
                        return Ok(Observed::not(format!(
                            "client {i}: unexpected {}",
                            p.describe()
                        )));
                    }
                }
            }
            Ok(Observed::ok(format!("{got} clients got the bytes")))
        }),
        Case::new(
            S,
            "join-ack",
            "`join` with an ack id is acknowledged `[\"ok\"]`",
        )
        .req(REQ)
        .exclusive()
        .ok("exactly `439[\"ok\"]`")
        .run(|cx| async move {
            let mut s = Sio::connected(&cx).await?;
            s.emit("/", Some(9), r#"["join","x"]"#).await?;
            s.expect_raw(cx.ms(2000), r#"39["ok"]"#).await?;
            Ok(Observed::ok(r#"439["ok"]"#))
        }),
    ]
}
