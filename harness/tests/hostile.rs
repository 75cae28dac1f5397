//! A hostile server must give FAILED / ERROR / TIMEOUT verdicts, never crash
//! the runner and never earn an OK: servers that answer every connection
//! with garbage, close at once, send an endless stream, or never answer.

use std::collections::BTreeMap;

use siospec::case::Verdict;
use siospec::runner::{run_all, Endpoint, Options, Plan, Quiet, Selection};
use siospec::suite::Suite;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Copy)]
enum Behaviour {
    Garbage,
    Close,
    Flood,
    Silent,
}

async fn serve(b: Behaviour) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ =
                    tokio::time::timeout(std::time::Duration::from_millis(50), s.read(&mut buf))
                        .await;
                match b {
                    Behaviour::Garbage => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n\x00\xff\x1e\x1e4").await;
                    }
                    Behaviour::Close => {}
                    Behaviour::Silent => {
                        tokio::time::sleep(std::time::Duration::from_secs(30)).await
                    }
                    Behaviour::Flood => {
                        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").await;
                        let chunk = [0x81u8, 0x01, b'2'].repeat(1000);
                        for _ in 0..200 {
                            if s.write_all(&chunk).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn check(b: Behaviour, name: &str) {
    let authority = serve(b).await;
    let catalogue = siospec::cases::all();
    // Everything but the slow stalled-upgrade case, at a quarter of the waits.
    let selection = Selection {
        exclude: vec!["eio4.upgrade.stalled".into()],
        ..Selection::default()
    };
    let cases = selection.apply(&catalogue);
    // The probe would refuse these servers: plan every suite at its
    // default path directly, as if it had found the contract's two modes.
    let endpoints: BTreeMap<Suite, Plan> = Suite::ALL
        .iter()
        .map(|&s| {
            let path = s.mode().default_path();
            (
                s,
                Plan::At(Endpoint::new(
                    siospec::tls::Origin::plain(authority.clone()),
                    path,
                    true,
                )),
            )
        })
        .collect();
    let opts = Options {
        scale: if matches!(b, Behaviour::Silent) {
            0.05
        } else {
            0.25
        },
        jobs: 16,
        ..Options::default()
    };
    let results = run_all(&cases, &endpoints, &opts, &mut Quiet).await;
    assert_eq!(results.len(), cases.len());
    let ok: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Ok)
        .map(|r| format!("{}: {}", r.id, r.behaviour.actual))
        .collect();
    assert!(
        ok.is_empty(),
        "{name} server earned OK on:\n{}",
        ok.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_server() {
    check(Behaviour::Garbage, "garbage").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_server() {
    check(Behaviour::Close, "closing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flooding_server() {
    check(Behaviour::Flood, "flooding").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server() {
    check(Behaviour::Silent, "silent").await;
}
