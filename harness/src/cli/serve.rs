//! `siospec serve`: the reference server as a process of its own.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use siospec::tls::ServerTls;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::{EXIT_HARNESS, EXIT_OK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeMode {
    /// Both of the below, on one port.
    Both,
    /// Socket.IO at /socket.io/ with the testee contract (harness/CONTRACT.md).
    Socket,
    /// A bare Engine.IO echo server at /engine.io/.
    Engine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServeProfile {
    /// The testee contract's reference configuration: pingInterval 300 ms,
    /// pingTimeout 200 ms, maxPayload 1000000, CORS origin `*`,
    /// upgradeTimeout 2000 ms, connectTimeout 1000 ms.
    Suite,
}

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
    /// What to serve.
    #[arg(long, value_enum, default_value_t = ServeMode::Both)]
    mode: ServeMode,
    /// Start from a named configuration; without it, engine.io's defaults
    /// (pingInterval 25000, pingTimeout 20000, connectTimeout 45000, no CORS).
    /// The flags below override it.
    #[arg(long, value_enum)]
    profile: Option<ServeProfile>,
    /// Milliseconds between server pings.
    #[arg(long, value_name = "MS")]
    ping_interval: Option<u64>,
    /// Milliseconds the client has to answer a ping.
    #[arg(long, value_name = "MS")]
    ping_timeout: Option<u64>,
    /// Milliseconds an upgrade may take once its WebSocket is open.
    #[arg(long, value_name = "MS")]
    upgrade_timeout: Option<u64>,
    /// Milliseconds a Socket.IO client has to join a namespace.
    #[arg(long, value_name = "MS")]
    connect_timeout: Option<u64>,
    /// Largest POST body and WebSocket message, in bytes (maxHttpBufferSize).
    #[arg(long, value_name = "BYTES")]
    max_payload: Option<usize>,
    /// Accept Engine.IO v3 (Socket.IO 1.x/2.x) clients.
    #[arg(long)]
    allow_eio3: bool,
    /// Answer CORS requests from this origin (`*` for any).
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Option<String>,
    /// Accepted transports (comma separated): polling, websocket.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    transports: Vec<String>,
    /// Offer connection state recovery on the namespace /recovery, keeping
    /// a socket whose client went away this many milliseconds
    /// (maxDisconnectionDuration; harness/CONTRACT.md, "Connection state
    /// recovery"). The other namespaces stay without it.
    #[arg(long, value_name = "MS")]
    recovery: Option<u64>,
    /// Be a node of a cluster: share broadcasts with the other nodes through
    /// the Redis server at URL (redis://HOST:PORT), in
    /// @socket.io/redis-adapter's protocol, so that Node servers with that
    /// adapter can be nodes of the same cluster. Ready (the `listening on`
    /// line) once the subscriptions are in place.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// The channel prefix of --redis (the adapter's `key` option).
    #[arg(long, value_name = "KEY", default_value = siospec_codec::adapter::DEFAULT_KEY, requires = "redis")]
    redis_key: String,
    /// Also stop when standard input closes (for a parent process that may die).
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// Reproduce the official Node server where it departs from the
    /// protocol text: an undecodable POST answered 200 `ok`, `1` over
    /// WebSocket ignored, EIO checked after the WebSocket handshake, an
    /// invalid EIO read as 3 (with --allow-eio3), the heartbeat dropped on
    /// upgrade, `2probe` on a v3 WebSocket answered `3`, an upgrade without
    /// probe, and the v5 CONNECT_ERROR object sent to protocol 4 clients.
    /// Default: follow the protocol text.
    #[arg(long)]
    node_habits: bool,
    /// The Socket.IO parser: `default` (socket.io-parser, text packets with
    /// binary attachments) or `msgpack` (socket.io-msgpack-parser, one
    /// binary message per packet). Clients must use the same one.
    #[arg(long, default_value = "default", value_name = "PARSER")]
    parser: siospec_codec::session::socket::Parser,
    /// Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS and WSS with a certificate made at start for localhost,
    /// 127.0.0.1, ::1 and the --addr host. It is written to FILE (default:
    /// a file in the temporary folder), named on the `listening on
    /// https://…` line with its SHA-256 fingerprint; pass that file to the
    /// client's `--ca`. The file goes when the server stops.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        conflicts_with_all = ["tls_cert", "tls_key"]
    )]
    tls_self_signed: Option<Option<PathBuf>>,
}

/// The certificate `serve` presents, if it serves TLS, and the file a
/// self-signed one was written to.
fn serve_tls(args: &ServeArgs) -> Result<Option<(ServerTls, Option<PathBuf>)>, String> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        return Ok(Some((ServerTls::from_files(cert, key)?, None)));
    }
    let Some(file) = &args.tls_self_signed else {
        return Ok(None);
    };
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
    let host = args.addr.ip();
    if !host.is_unspecified() && !names.contains(&host.to_string()) {
        names.push(host.to_string());
    }
    let tls = ServerTls::self_signed(&names)?;
    let file = file.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("siospec-serve-{}.pem", std::process::id()))
    });
    std::fs::write(&file, &tls.certificate_pem)
        .map_err(|e| format!("cannot write the certificate to {}: {e}", file.display()))?;
    Ok(Some((tls, Some(file))))
}

fn serve_options(args: &ServeArgs) -> Result<siospec::server::Options, String> {
    use siospec::server::{Mode, Options, Serves};
    use siospec_codec::session::{Cors, CorsOrigin};
    use std::time::Duration;
    let mode = match args.mode {
        ServeMode::Both => Serves::Both,
        ServeMode::Socket => Serves::Only(Mode::Socket),
        ServeMode::Engine => Serves::Only(Mode::Engine),
    };
    let options = match args.profile {
        Some(ServeProfile::Suite) => Options::suite(mode),
        None => Options::standard(mode),
    };
    let mut options = options.with_node_habits(args.node_habits);
    options.socket.parser = args.parser;
    let ms = Duration::from_millis;
    if let Some(v) = args.ping_interval {
        options.engine.ping_interval = ms(v);
    }
    if let Some(v) = args.ping_timeout {
        options.engine.ping_timeout = ms(v);
    }
    if let Some(v) = args.upgrade_timeout {
        options.engine.upgrade_timeout = ms(v);
    }
    if let Some(v) = args.connect_timeout {
        options.socket.connect_timeout = ms(v);
    }
    if let Some(v) = args.max_payload {
        options.engine.max_payload = v;
    }
    options.engine.allow_eio3 |= args.allow_eio3;
    options.recovery = args.recovery.map(ms);
    options.cluster = args
        .redis
        .as_ref()
        .map(|url| siospec::server::ClusterOptions {
            redis: url.clone(),
            key: args.redis_key.clone(),
        });
    if let Some(origin) = &args.cors_origin {
        let mut cors = Cors::any();
        if origin != "*" {
            cors.origin = CorsOrigin::Fixed(origin.clone());
        }
        options.engine.cors = Some(cors);
    }
    if !args.transports.is_empty() {
        let mut transports = siospec_codec::session::engine::Transports {
            polling: false,
            websocket: false,
        };
        for t in &args.transports {
            match t.trim() {
                "polling" => transports.polling = true,
                "websocket" => transports.websocket = true,
                other => {
                    return Err(format!(
                        "unknown transport {other:?} (known: polling, websocket)"
                    ))
                }
            }
        }
        options.engine.transports = transports;
    }
    Ok(options)
}

/// Runs `siospec serve`; returns the exit status.
pub(super) async fn serve(args: ServeArgs) -> i32 {
    let (mut options, tls) = match serve_options(&args).and_then(|o| Ok((o, serve_tls(&args)?))) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("siospec serve: {e}");
            return EXIT_HARNESS;
        }
    };
    let certificate_file = tls.as_ref().and_then(|(_, file)| file.clone());
    options.tls = tls.map(|(tls, _)| tls);
    // What follows the address on the `listening on` line.
    let (scheme, presented) = match (&options.tls, &certificate_file) {
        (None, _) => ("http", String::new()),
        (Some(tls), None) => (
            "https",
            format!(" (certificate SHA-256 {})", tls.fingerprint),
        ),
        (Some(tls), Some(file)) => (
            "https",
            format!(
                " (self-signed certificate {}, SHA-256 {}; clients: --ca {0})",
                file.display(),
                tls.fingerprint
            ),
        ),
    };
    let addr = args.addr;
    let server = match tokio::task::spawn_blocking(move || {
        siospec::serve(siospec::ServeOptions::from_options(addr, options))
    })
    .await
    {
        Ok(Ok(server)) => server,
        Ok(Err(e)) => {
            eprintln!("siospec serve: cannot start on {addr}: {e}");
            return EXIT_HARNESS;
        }
        Err(e) => {
            eprintln!("siospec serve: {e}");
            return EXIT_HARNESS;
        }
    };
    // The handlers are in place before the line that says we are ready: a
    // parent may send SIGTERM the moment it reads it.
    let mut stop_signals =
        [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| signal(kind).ok());
    println!("listening on {scheme}://{}{presented}", server.addr());
    let stdin_closed = async {
        if args.exit_on_stdin_close {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 512];
            while matches!(tokio::io::AsyncReadExt::read(&mut stdin, &mut buf).await, Ok(n) if n > 0)
            {
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    let [interrupted, terminated] = &mut stop_signals;
    tokio::select! {
        () = received(interrupted) => {}
        () = received(terminated) => {}
        () = stdin_closed => {}
    }
    eprintln!("siospec serve: shutting down");
    let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    if let Some(file) = certificate_file {
        let _ = std::fs::remove_file(file);
    }
    EXIT_OK
}

/// Resolves when `signal` arrives; never, when its handler could not be installed.
async fn received(signal: &mut Option<Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
