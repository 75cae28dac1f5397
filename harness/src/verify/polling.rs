//! Long-polling rules shared by the eio4 and eio3 sections: echo,
//! invalid POST, duplicate GET.

use crate::case::server::Ctx;
use crate::case::{Case, Observed, Outcome, Verdict};
use crate::verify;
use crate::wire::eio;

/// POST `body`, expect 200, GET, expect exactly `want` (shared with eio3).
pub async fn echo(cx: &Ctx, body: &[u8], want: &[u8]) -> Outcome {
    let s = eio::open_polling(cx).await?;
    let r = s.post(cx, body.to_vec()).await?;
    verify::posted(&r, "POST")?;
    let g = s.get_keeping_heartbeat(cx).await?;
    verify::status(&g, 200, "GET")?;
    verify::body(&g, want, "GET")?;
    Ok(Observed::ok(format!(
        "POST ok; GET {:?}",
        verify::short(&g.text())
    )))
}

/// An invalid POST: the status (behaviour axis) and whether the session is closed (close axis).
pub async fn invalid_post(cx: Ctx, body: &'static [u8]) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let r = cx.post(&s.query, body.to_vec()).await;
    let behaviour = match &r {
        Ok(resp) if resp.status == 400 => Observed::ok("POST answered 400"),
        Ok(resp) if resp.status == 200 => Observed::is(
            "accepted-200",
            format!("POST answered 200 {:?}", resp.text()),
        ),
        Err(e) => Observed::is("dropped", format!("POST: {e}")),
        Ok(resp) => Observed::not(format!("POST answered {} {:?}", resp.status, resp.text())),
    };
    Ok(match verify::session_gone(&cx, &s.query).await {
        Ok(_) => behaviour.close_is("closed", "next GET: 400"),
        Err(crate::case::Stop::Fail(m)) => behaviour.close_not(m),
        Err(h) => return Err(h),
    })
}

/// The outcomes of [`invalid_post`].
pub fn invalid_post_case(case: Case) -> Case {
    case.ok("the POST is answered 400")
        .outcome(
            "accepted-200",
            Verdict::NonStrict,
            "the POST is answered 200 `ok` and the session is closed anyway (engine.io's habit)",
        )
        .outcome(
            "dropped",
            Verdict::NonStrict,
            "the connection is dropped without a response",
        )
        .close(
            "closed",
            Verdict::Ok,
            "the session is closed: the next GET gets 400",
        )
}

/// Two concurrent GETs (shared with eio3).
pub async fn duplicate_get(cx: Ctx, close_body: &'static str) -> Outcome {
    let s = eio::open_polling(&cx).await?;
    let first = {
        let cx = cx.clone();
        let s = s.clone();
        tokio::spawn(async move { s.get_keeping_heartbeat(&cx).await })
    };
    // Margin for the first GET to reach the server (after a PING it answers
    // at once, its PONG and the next GET); it stays pending for a ping interval.
    tokio::time::sleep(cx.ms(100)).await;
    let second = cx.get(&format!("{}&t=burst", s.query)).await?;
    let first = first
        .await
        .map_err(|e| crate::case::Stop::Harness(e.to_string()))?;
    let first = first?;
    let actual = format!(
        "first GET {} {:?}; second GET {}",
        first.status,
        first.text(),
        second.status
    );
    let mut o = if first.status == 200
        && first.text() == close_body
        && matches!(second.status, 400 | 500)
    {
        Observed::ok(actual)
    } else if matches!(second.status, 400 | 500) {
        Observed::is("second-refused", actual)
    } else {
        Observed::not(actual)
    };
    o = match verify::session_gone(&cx, &s.query).await {
        Ok(_) => o.close_is("closed", "a further GET: 400"),
        Err(crate::case::Stop::Fail(m)) => o.close_not(m),
        Err(h) => return Err(h),
    };
    Ok(o)
}
