//! Engine.IO v4 — closing a session from the client side.

use std::time::Instant;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Section, Stop, Verdict};
use crate::suite::Suite;
use crate::verify;
use crate::verify::close::{polling_close, polling_close_case, ws_close, ws_close_case};
use crate::wire::eio;
use crate::wire::http::Response;

const S: Section = Section {
    id: "eio4.close",
    suite: Suite::Eio4,
    title: "Engine.IO v4 — Close",
    spec: "engine.io-protocol v4, \"Packet types: close\"",
};

const REQ_CLOSE: &str = "close (1): used to indicate that a transport can be closed.";

pub fn cases() -> Vec<Case> {
    vec![
        polling_close_case(
            Case::new(S, "polling.client", "POST `1` while a GET is pending ends the GET with `6` and the session")
                .official("close / HTTP long-polling / forcefully closes the session", None)
                .req(REQ_CLOSE),
            "6",
        )
        .run(|cx| polling_close(cx, "1", "6")),
        ws_close_case(
            Case::new(S, "websocket.client", "Sending `1` over WebSocket closes the session")
                .official("close / WebSocket / forcefully closes the session", Some("the duration is judged: an ignored `1` closed only by the heartbeat is reported"))
                .req(REQ_CLOSE),
        )
        .run(ws_close),
        Case::new(S, "polling.client-no-get", "POST `1` with no GET pending closes the session")
            .req(REQ_CLOSE)
            .ok("POST `ok`; the next GET gets 400 (or a final `6`/`1` and then 400)")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                verify::posted(&s.post(&cx, "1").await?, "POST 1")?;
                let g = s.get(&cx).await?;
                if g.status == 400 {
                    return Ok(Observed::ok("next GET: 400"));
                }
                let first = verify::describe(&Ok(g));
                verify::session_gone(&cx, &s.query).await?;
                Ok(Observed::ok(format!("next GET: {first}; then 400")))
            }),
        Case::new(S, "polling.post-after-close", "After the session is closed, a POST gets 400 code 1")
            .req("Requests on a closed session are answered 400 {\"code\":1,\"message\":\"Session ID unknown\"}.")
            .ok("400 with code 1")
            .outcome("other-body", Verdict::NonStrict, "400 with another body")
            .run(|cx| async move {
                let s = eio::open_polling(&cx).await?;
                verify::posted(&s.post(&cx, "1").await?, "POST 1")?;
                let _ = s.get(&cx).await?;
                let r = s.post(&cx, "4late").await?;
                verify::status(&r, 400, "POST after close")?;
                Ok(match verify::error_json(&r, 1, "Session ID unknown") {
                    Ok(()) => Observed::ok(r.text()),
                    Err(_) => Observed::is("other-body", r.text()),
                })
            }),
        Case::new(S, "websocket.sid-gone", "A WebSocket-only session closed by a close frame is unknown afterwards")
            .req("A closed session is forgotten: requests with its sid are refused as unknown (400 code 1), not as a live WebSocket session's transport mismatch (code 3). The body's shape is judged by eio4.errors.sid-unknown-get.")
            .ok("once the close handshake is over, within 1 s a polling GET with the old sid gets 400, no longer the live session's answer")
            .run(|cx| async move {
                let (mut ws, h) = eio::open_ws(&cx).await?;
                let live = live_answer(&cx, &h.sid).await?;
                ws.send_close(1000).await.map_err(Stop::Fail)?;
                let _ = ws.wait_closed(cx.ms(1000)).await;
                drop(ws);
                forgotten_within_a_second(&cx, &h.sid, &live).await
            }),
        Case::new(S, "websocket.drop", "Dropping the TCP connection ends a WebSocket session")
            .req("A transport error closes the session.")
            .ok("within 1 s a polling GET with the old sid gets 400, no longer the live session's answer")
            .run(|cx| async move {
                let (ws, h) = eio::open_ws(&cx).await?;
                let live = live_answer(&cx, &h.sid).await?;
                drop(ws);
                forgotten_within_a_second(&cx, &h.sid, &live).await
            }),
    ]
}

/// How a polling GET with `sid` is answered while its WebSocket session is
/// alive (engine.io: 400 code 3, transport mismatch), to tell a forgotten
/// session apart whatever the server's error bodies look like.
async fn live_answer(cx: &Ctx, sid: &str) -> Result<Response, Stop> {
    Ok(cx
        .get(&eio::polling_query(cx, &format!("&sid={sid}")))
        .await?)
}

/// Within 1 s, a polling GET with `sid` is answered 400 and no longer as
/// while the session was alive (`live`). The error body's shape is the
/// eio4.errors cases' rule, not this one's.
async fn forgotten_within_a_second(cx: &Ctx, sid: &str, live: &Response) -> Outcome {
    let q = eio::polling_query(cx, &format!("&sid={sid}"));
    let deadline = Instant::now() + cx.ms(1000);
    loop {
        let r = cx.get(&q).await?;
        // The code-1 body says the sid is unknown whatever the status (the
        // eio4.errors cases judge the status); a server with bodies of its
        // own shows it by a 400 unlike the live session's answer.
        let unknown = verify::error_json(&r, 1, "Session ID unknown").is_ok();
        if unknown || (r.status == 400 && r.body != live.body) {
            return Ok(Observed::ok(format!(
                "{} {:?} (while alive: {} {:?})",
                r.status,
                verify::short(&r.text()),
                live.status,
                verify::short(&live.text())
            )));
        }
        if Instant::now() > deadline {
            return Ok(Observed::not(format!(
                "still known after 1000 ms: {} {:?}, as while the session was alive",
                r.status,
                r.text()
            )));
        }
        tokio::time::sleep(cx.ms(50)).await;
    }
}
