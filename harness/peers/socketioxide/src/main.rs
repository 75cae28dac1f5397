//! The socketioxide peer's program (harness/CONTRACT.md's start flags):
//! the contract server of `src/lib.rs` on the address given.
//!
//! stdout carries one line, `listening on http://ADDR`; everything else goes
//! to stderr.

use std::net::SocketAddr;

use siospec_socketioxide_server::{start, Config};
use tokio::io::AsyncReadExt;

const USAGE: &str = "usage: server [--addr HOST:PORT] [--profile suite|default] [--allow-eio3] [--parser default|msgpack] [--exit-on-stdin-close]

  --addr HOST:PORT       listen address (default 127.0.0.1:0; port 0 = a free port)
  --profile suite        the suites' reference configuration (pingInterval 300 ms,
                         pingTimeout 200 ms, maxPayload 1e6, upgradeTimeout 2000 ms,
                         connectTimeout 1000 ms, CORS origin *); default: socketioxide's
  --allow-eio3           also serve Engine.IO 3 / Socket.IO 4 (refused with code 5 otherwise)
  --parser msgpack       socketioxide's msgpack parser (ParserConfig::msgpack) instead of the common one
  --exit-on-stdin-close  also exit when standard input reaches EOF";

struct Options {
    addr: SocketAddr,
    config: Config,
    exit_on_stdin_close: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        addr: ([127, 0, 0, 1], 0).into(),
        config: Config::default(),
        exit_on_stdin_close: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let v = args.next().ok_or("--addr needs HOST:PORT")?;
                o.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--profile" => match args.next().as_deref() {
                Some("suite") => o.config.suite = true,
                Some("default") => o.config.suite = false,
                other => return Err(format!("--profile {other:?}: suite or default")),
            },
            "--allow-eio3" => o.config.allow_eio3 = true,
            "--parser" => match args.next().as_deref() {
                Some("msgpack") => o.config.msgpack = true,
                Some("default") => o.config.msgpack = false,
                other => return Err(format!("--parser {other:?}: default or msgpack")),
            },
            "--exit-on-stdin-close" => o.exit_on_stdin_close = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(o)
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("server: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let served = runtime.block_on(async {
        let running = start(options.addr, options.config).await?;
        println!("listening on http://{}", running.addr);
        stop(options.exit_on_stdin_close).await;
        Ok::<_, String>(())
    });
    if let Err(e) = served {
        eprintln!("server: {e}");
        std::process::exit(1);
    }
    // Open sessions are dropped with the runtime, without waiting.
    runtime.shutdown_background();
}

/// SIGINT, SIGTERM, or standard input's EOF when asked.
async fn stop(stdin: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("server: cannot install signal handlers");
        return;
    };
    let eof = async {
        if !stdin {
            return std::future::pending().await;
        }
        let mut buf = [0u8; 256];
        let mut input = tokio::io::stdin();
        while input.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        () = eof => {}
    }
}
