//! Closing a session from the client, shared by the eio4, eio3 and
//! sio5.engine sections.

use std::time::Instant;

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Stop, Verdict};
use crate::verify;
use crate::wire::eio;

/// GET pending + POST close: the GET ends with noop, the session is gone (shared).
pub async fn polling_close(cx: Ctx, close: &'static str, noop: &'static str) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let get = {
        let cx = cx.clone();
        let s = s.clone();
        tokio::spawn(async move { s.get_keeping_heartbeat(&cx).await })
    };
    // Margin for the GET to reach the server (after a PING it answers at
    // once, its PONG and the next GET).
    tokio::time::sleep(cx.ms(100)).await;
    let post = s.post(&cx, close).await?;
    let g = get.await.map_err(|e| Stop::Harness(e.to_string()))??;
    let actual = format!(
        "POST {} {:?}; pending GET {} {:?}",
        post.status,
        post.text(),
        g.status,
        g.text()
    );
    let o = if g.status == 200 && g.text() == noop {
        Observed::ok(actual)
    } else if g.status == 200 || g.status == 400 {
        Observed::is("other-end", actual)
    } else {
        Observed::not(actual)
    };
    Ok(match verify::session_gone(&cx, &s.query).await {
        Ok(_) => o.close_is("closed", "next GET: 400"),
        Err(Stop::Fail(m)) => o.close_not(m),
        Err(h) => return Err(h),
    })
}

/// The outcomes of [`polling_close`]: the pending GET ends with `noop`.
pub fn polling_close_case(case: Case, noop: &str) -> Case {
    case.ok(format!(
        "the pending GET completes with 200 `{noop}` (noop)"
    ))
    .outcome(
        "other-end",
        Verdict::NonStrict,
        "the pending GET ends otherwise (another body, or 400)",
    )
    .close(
        "closed",
        Verdict::Ok,
        "the session is gone: the next GET gets 400",
    )
}

/// WebSocket `1`: does the server close promptly (shared).
pub async fn ws_close(cx: Ctx) -> Outcome {
    let (mut ws, _) = eio::open_ws(&cx).await?;
    ws.send(&eio::close()).await?;
    let start = Instant::now();
    let prompt = cx.ms(cx.conf.ping_interval / 2);
    if let Some(f) = ws.wait_closed(prompt).await {
        return Ok(Observed::ok(format!(
            "closed after {} ms: {}",
            start.elapsed().as_millis(),
            f.describe()
        )));
    }
    match ws
        .wait_closed(cx.ms(cx.conf.ping_interval + cx.conf.ping_timeout + 500))
        .await
    {
        Some(f) => Ok(Observed::is(
            "at-heartbeat",
            format!(
                "closed only after {} ms (heartbeat timeout): {}",
                start.elapsed().as_millis(),
                f.describe()
            ),
        )),
        None => Ok(Observed::not("the connection stays open")),
    }
}

/// The outcomes of [`ws_close`].
pub fn ws_close_case(case: Case) -> Case {
    case.ok("the server closes the connection promptly (within pingInterval/2)")
        .outcome(
            "at-heartbeat",
            Verdict::NonStrict,
            "the `1` is ignored; the connection ends only at the heartbeat timeout (engine.io ignores a close packet received over WebSocket)",
        )
}
