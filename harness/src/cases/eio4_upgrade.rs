//! Engine.IO v4 — upgrading a polling session to WebSocket.

use std::time::Instant;

use siospec_codec::engine::{Data, Packet, PacketType};

use crate::case::{Case, Observed, Section, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::upgrade::{polling_after_upgrade, second_websocket, upgrade};
use crate::wire::eio;
use crate::wire::ws::Frame;

const S: Section = Section {
    id: "eio4.upgrade",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Upgrade",
    spec: "engine.io-protocol v4, \"Upgrade\"",
};

const REQ_UPGRADE: &str = "The client opens a WebSocket with the sid, sends a `2probe` PING and expects `3probe`; the server sends a `6` NOOP to end the pending polling request; the client sends `5` UPGRADE and from then on uses only the WebSocket.";

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(S, "probe", "Probe, noop on the pending poll, upgrade, then messages over WebSocket")
            .echo()
            .official("upgrade / successfully upgrades from HTTP long-polling to WebSocket", None)
            .req(REQ_UPGRADE)
            .ok("`3probe`; the GET gets 200 `6`; after `5`, `4hello` is echoed over WebSocket")
            .run(|cx| upgrade(cx, true, true)),
        Case::new(S, "polling-after-upgrade", "After the upgrade, polling requests with the sid get 400")
            .echo()
            .official("upgrade / ignores HTTP requests with same sid after upgrade", None)
            .req(REQ_UPGRADE)
            .ok("`4hello` echoed over WebSocket after `5`; then a GET gets 400")
            .run(|cx| polling_after_upgrade(cx, true)),
        Case::new(S, "second-websocket", "After the upgrade, a second WebSocket with the same sid is closed")
            .echo()
            .official("upgrade / ignores WebSocket connection with same sid after upgrade", None)
            .req(REQ_UPGRADE)
            .ok("the second WebSocket is refused or closed; the first still echoes")
            .run(|cx| second_websocket(cx, true)),
        Case::new(S, "noop-every-poll", "While an upgrade is pending every poll is answered with `6` at once")
            .req(REQ_UPGRADE)
            .should()
            .ok("successive GETs each answered within 500 ms: `6`, three times (pings in between answered)")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let _ws = eio::probe(&cx, &s).await?;
                let mut times = Vec::new();
                let mut noops = 0;
                while noops < 3 {
                    let t = Instant::now();
                    let g = s.get(&cx).await?;
                    verify::status(&g, 200, "GET during the upgrade")?;
                    match g.text().as_str() {
                        "6" => noops += 1,
                        // The heartbeat goes on meanwhile.
                        "2" => verify::posted(&s.post(&cx, "3").await?, "POST 3")?,
                        other => return verify::fail(format!("GET during the upgrade: expected `6`, got {other:?}")),
                    }
                    times.push(t.elapsed().as_millis());
                }
                if times.iter().any(|&ms| ms > cx.ms(500).as_millis()) {
                    return Ok(Observed::not(format!("noops after {times:?} ms")));
                }
                Ok(Observed::ok(format!("noops after {times:?} ms")))
            }),
        Case::new(S, "post-after-upgrade", "After the upgrade, a POST with the sid gets 400")
            .req(REQ_UPGRADE)
            .ok("POST 400")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = eio::probe(&cx, &s).await?;
                ws.send(&eio::upgrade()).await?;
                // The rule is about a POST after the upgrade: nothing
                // acknowledges `5`, so give the server a margin to take it
                // before the POST (on another connection, which could
                // otherwise overtake it).
                tokio::time::sleep(cx.ms(100)).await;
                let r = s.post(&cx, "4late").await?;
                verify::status(&r, 400, "POST after the upgrade")?;
                Ok(Observed::ok("400"))
            }),
        Case::new(S, "binary-after-upgrade", "Binary messages travel as binary frames after the upgrade")
            .echo()
            .req(REQ_UPGRADE)
            .ok("binary 01 02 03 echoed as a binary frame")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = eio::probe(&cx, &s).await?;
                ws.send(&eio::upgrade()).await?;
                eio::send_raw_binary(&mut ws, &[1, 2, 3]).await?;
                match verify::next_keeping_heartbeat(&mut ws, cx.ms(2000)).await {
                    Some(Frame::Binary(b)) if b == [1, 2, 3] => Ok(Observed::ok("binary echo")),
                    Some(f) => Ok(Observed::not(f.describe())),
                    None => Ok(Observed::not("no echo")),
                }
            }),
        Case::new(S, "no-message-lost", "A message posted between probe and `5` is delivered exactly once")
            .echo()
            .req(REQ_UPGRADE)
            .ok("the echo of `4during` arrives once, on the poll or on the WebSocket")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = eio::probe(&cx, &s).await?;
                verify::posted(&s.post(&cx, "4during").await?, "POST during the upgrade")?;
                let mut seen = 0;
                let g = s.get(&cx).await?;
                if g.status == 200 {
                    for p in eio::decode_body(&cx, &g)? {
                        if p.kind == PacketType::Message && p.data == Data::Text("during".into()) {
                            seen += 1;
                        }
                    }
                }
                ws.send(&eio::upgrade()).await?;
                ws.send(&eio::msg("marker")).await?;
                loop {
                    match verify::next_keeping_heartbeat(&mut ws, cx.ms(2000)).await {
                        Some(Frame::Text(t)) if t == "4during" => seen += 1,
                        Some(Frame::Text(t)) if t == "4marker" => break,
                        Some(Frame::Text(t)) if t == "6" => {}
                        Some(f) => return Ok(Observed::not(format!("unexpected {}", f.describe()))),
                        None => return Ok(Observed::not("no `4marker` echo")),
                    }
                }
                if seen == 1 { Ok(Observed::ok("delivered once")) } else { Ok(Observed::not(format!("delivered {seen} times"))) }
            }),
        Case::new(S, "invalid-probe", "A WebSocket that sends something else than `2probe` is dropped; polling continues")
            .echo()
            .req(REQ_UPGRADE)
            .should()
            .ok("the WebSocket is closed and the polling session still works")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = cx.ws(&s.ws_query(&cx)).await?;
                ws.send(&Packet::text(PacketType::Ping, "notprobe")).await?;
                let f = match ws.wait_closed(cx.ms(1000)).await {
                    Some(f) => f,
                    None => return Ok(Observed::not("the WebSocket stays open")),
                };
                verify::posted(&s.post(&cx, "4still").await?, "POST after the failed upgrade")?;
                let packets = s.poll(&cx).await?;
                // Any message shows the session works; its content is the echo cases' rule.
                if !packets.iter().any(|p| p.kind == PacketType::Message) {
                    return Ok(Observed::not(format!("the polling session did not echo: {packets:?}")));
                }
                Ok(Observed::ok(format!("WebSocket {}; polling works", f.describe())))
            }),
        Case::new(S, "stalled", "A probed WebSocket that never sends `5` is reclaimed; polling continues")
            .echo()
            .req("The server abandons an upgrade that does not complete (engine.io: upgradeTimeout, 10000 ms by default; 2000 ms in the contract's reference configuration).")
            .should()
            .ok("the WebSocket is closed within upgradeTimeout + 1 s and the polling session still answers")
            .waits(|c| c.ping_interval + c.upgrade_timeout)
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                // The first PING answered before the probe, so that the
                // stall is judged on its own: a server that sends its first
                // PING at once (the first-ping case's rule) may otherwise
                // hold it back for the upgrade and time the session out.
                let first = s.get(&cx).await?;
                verify::status(&first, 200, "first GET")?;
                if eio::decode_body(&cx, &first)?.contains(&eio::ping()) {
                    verify::posted(&s.post(&cx, eio::encode_body(&cx, &[eio::pong()])).await?, "POST 3")?;
                }
                let mut ws = eio::probe(&cx, &s).await?;
                let t = Instant::now();
                // Keep the polling session alive meanwhile: poll and answer its pings.
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let keep = {
                    let cx = cx.clone();
                    let s = s.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                            match s.get(&cx).await {
                                Ok(r) if r.status == 200 => {
                                    if eio::decode_body(&cx, &r).is_ok_and(|ps| ps.contains(&eio::ping())) && s.post(&cx, eio::encode_body(&cx, &[eio::pong()])).await.is_err() {
                                        break;
                                    }
                                }
                                _ => break,
                            }
                        }
                    })
                };
                let closed = ws.wait_closed(cx.ms(cx.conf.upgrade_timeout + 1000)).await;
                let ms = t.elapsed().as_millis();
                // Let the keeper finish its pending GET (aborting it would drop the poll).
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = keep.await;
                match closed {
                    None => Ok(Observed::not(format!("still open after {ms} ms"))),
                    Some(f) => {
                        let alive = s.post(&cx, "4after").await?;
                        if alive.status != 200 {
                            return Ok(Observed::not(format!("WebSocket closed after {ms} ms, but the polling session is gone too ({})", alive.status)));
                        }
                        Ok(Observed::ok(format!("WebSocket {} after {ms} ms; polling session alive", f.describe())))
                    }
                }
            }),
        Case::new(S, "noop-over-websocket", "After the upgrade, no NOOP comes over the WebSocket")
            .req("The server sends a `6` NOOP to end the pending polling request; the NOOP's purpose is the poll cycle, so after `5` the WebSocket needs none (the official client ignores one; every other case skips it).")
            .may()
            .ok("no `6` over the WebSocket within 500 ms of `5`")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = eio::probe(&cx, &s).await?;
                let _ = s.get(&cx).await?;
                ws.send(&eio::upgrade()).await?;
                let deadline = Instant::now() + cx.ms(500);
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match ws.recv(left).await {
                        Some(Frame::Text(t)) if t == "6" => {
                            return Ok(Observed::not("a `6` NOOP over the WebSocket after `5`"))
                        }
                        Some(Frame::Text(t)) if t == "2" => ws.send(&eio::pong()).await?,
                        Some(f @ Frame::Closed { .. }) => return verify::fail(format!("the WebSocket ended: {}", f.describe())),
                        Some(_) => {}
                        None => return Ok(Observed::ok("none")),
                    }
                }
            }),
        Case::new(S, "without-probe", "`5` sent on the new WebSocket without a probe")
            .req(REQ_UPGRADE)
            .may()
            .ok("the upgrade is refused (WebSocket closed) or completes; either way nothing is lost")
            .outcome("upgraded", Verdict::Informational, "the upgrade completes without a probe")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                let mut ws = cx.ws(&s.ws_query(&cx)).await?;
                ws.send(&eio::upgrade()).await?;
                let _ = ws.send(&eio::msg("x")).await;
                Ok(match verify::next_keeping_heartbeat(&mut ws, cx.ms(1000)).await {
                    Some(Frame::Text(t)) if t == "4x" => Observed::is("upgraded", "`4x` echoed over WebSocket"),
                    Some(f @ Frame::Closed { .. }) => Observed::ok(f.describe()),
                    Some(Frame::Text(t)) if t == "6" => Observed::is("upgraded", "noop, upgrade in progress"),
                    Some(f) => Observed::not(f.describe()),
                    None => Observed::ok("ignored"),
                })
            }),
    ]
}
