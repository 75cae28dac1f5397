//! The probe refuses what cannot be tested, within seconds, with exit 2 and
//! a message saying what was found and what to check; and it reads what a
//! real server offers.

mod common;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Runs `siospec ARGS`; exit status, stdout, stderr and how long it took.
async fn siospec(args: &[&str]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(args)
        .output()
        .await
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

/// `test server --url http://ADDR` plus `extra`, which the probe must refuse:
/// exit 2, quickly, no case run, and stderr holding every one of `says`.
async fn refused(addr: &str, extra: &[&str], says: &[&str]) {
    let url = format!("http://{addr}");
    let mut args = vec!["test", "server", "--url", url.as_str()];
    args.extend_from_slice(extra);
    let (code, out, err, took) = siospec(&args).await;
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(!out.contains("OK "), "no case ran: {out}");
    for s in says {
        assert!(err.contains(s), "stderr lacks {s:?}:\n{err}");
    }
}

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = l.local_addr().expect("address").to_string();
    (l, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_listening() {
    let (l, addr) = listener().await;
    drop(l);
    refused(&addr, &[], &["nothing is listening", "Start the server"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_http() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        }
    });
    refused(&addr, &[], &["does not answer HTTP"]).await;
}

/// Answers every request with an HTML page and status 404, keeping nothing open.
async fn plain_http(l: TcpListener) {
    while let Ok((mut s, _)) = l.accept().await {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            let body = "<!DOCTYPE html><html><body>Not here</body></html>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_server() {
    let (l, addr) = listener().await;
    tokio::spawn(plain_http(l));
    refused(
        &addr,
        &[],
        &["no Engine.IO server", "an HTML page (HTTP 404)", "--path"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_websocket_server() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                // Upgrades any request; echoes frames, as a plain WebSocket echo server does.
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    refused(&addr, &[], &["a plain WebSocket server, not Engine.IO"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_path_names_the_right_one() {
    let server = common::serve(&["--mode", "socket"]);
    refused(
        &server.1,
        &["--path", "/sockets/"],
        &[
            "/sockets/",
            "Engine.IO answers at /socket.io/ instead: pass `--path /socket.io/`",
        ],
    )
    .await;
}

/// A server on engine.io's default timings, EIO=3 refused, no engine mode:
/// the report's head says so, the protocol 3 suites are UNSUPPORTED with one
/// reason, the echo cases SKIPPED, and the timings come from the handshake.
#[tokio::test(flavor = "multi_thread")]
async fn findings_of_a_default_socket_io_server() {
    let server = common::serve(&["--mode", "socket"]);
    let url = format!("http://{}", server.1);
    let (code, out, err, _) = siospec(&[
        "test",
        "server",
        "--url",
        &url,
        "--case",
        "eio4.polling.message.text",
        "--case",
        "eio4.handshake.polling.open",
        "--case",
        "eio3.handshake.polling.open",
        "--case",
        "sio4.protocol.connect.implicit-main",
        "--case",
        "eio4.heartbeat.polling.ping-pong",
        "--case",
        "eio4.heartbeat.polling.timeout",
        "--max-wait",
        "30",
    ])
    .await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for s in [
        "/socket.io/: Socket.IO; EIO=4; transports polling, websocket; pingInterval 25000 ms, pingTimeout 20000 ms, maxPayload 1000000 bytes",
        "EIO=3 refused",
        "/engine.io/: no bare Engine.IO echo server",
        "eio3: every case UNSUPPORTED",
        "sio4: every case UNSUPPORTED",
        "timings: the server advertises pingInterval 25000 ms",
    ] {
        assert!(err.contains(s), "stderr lacks {s:?}:\n{err}");
    }
    let verdict = |id: &str| {
        out.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} not in the output:\n{out}"))
            .to_owned()
    };
    assert!(verdict("eio4.handshake.polling.open").contains("OK"));
    assert!(verdict("eio4.polling.message.text").contains("SKIPPED"));
    assert!(verdict("eio3.handshake.polling.open").contains("UNSUPPORTED"));
    assert!(verdict("sio4.protocol.connect.implicit-main").contains("UNSUPPORTED"));
    // Three pings 25 s apart outlast connectTimeout (45 s) of a session
    // that joins no namespace.
    assert!(verdict("eio4.heartbeat.polling.ping-pong").contains("SKIPPED"));
    assert!(out.contains("ends at connectTimeout (45000 ms)"), "{out}");
    // 25 s + 20 s is more than --max-wait 30 s.
    assert!(verdict("eio4.heartbeat.polling.timeout").contains("SKIPPED"));
    assert!(out.contains("`--max-wait 50` lets it run"), "{out}");
}

/// A server that speaks the other parser: the probe names the parser it
/// found, the sio5 cases are UNSUPPORTED with the flag to pass, and a run
/// with that flag judges it.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_of_the_other_parser_is_named_and_its_flag_given() {
    let msgpack = common::serve(&["--mode", "socket", "--parser", "msgpack"]);
    let url = format!("http://{}", msgpack.1);
    let (_, out, err, _) = siospec(&[
        "test",
        "server",
        "--url",
        &url,
        "--case",
        "sio5.connect.main",
    ])
    .await;
    for s in [
        "/socket.io/: Socket.IO with the msgpack parser;",
        "sio5: every case UNSUPPORTED: the server at /socket.io/ speaks the msgpack parser",
        "run with --parser msgpack",
    ] {
        assert!(
            err.contains(s),
            "`{s}` missing:\nstdout:\n{out}\nstderr:\n{err}"
        );
    }
    let (code, out, err, _) = siospec(&[
        "test",
        "server",
        "--url",
        &url,
        "--parser",
        "msgpack",
        "--case",
        "sio5.connect.main",
    ])
    .await;
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let default = common::serve(&["--mode", "socket"]);
    let url = format!("http://{}", default.1);
    let (_, out, err, _) = siospec(&[
        "test",
        "server",
        "--url",
        &url,
        "--parser",
        "msgpack",
        "--case",
        "sio5.connect.main",
    ])
    .await;
    assert!(
        err.contains(
            "speaks the default parser (it answered the text CONNECT `40`), not the msgpack one"
        ),
        "stdout:\n{out}\nstderr:\n{err}"
    );
}
