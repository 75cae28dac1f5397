//! `siospec test server`: test a server given by URL. `siospec test client`:
//! test a client, started by a command for each case against a scripted
//! server.

use clap::{Args, Subcommand};
use siospec::case::client::Client;
use siospec::peer::Peer;
use siospec::target::Target;

use super::{conform, peer_target, target_names, url_target, Common, UrlOptions, EXIT_HARNESS};

#[derive(Debug, Subcommand)]
pub(super) enum TestWhat {
    /// Test a server that follows harness/CONTRACT.md.
    Server(ServerArgs),
    /// Test a client through a driver that follows harness/CLIENT-CONTRACT.md.
    ///
    /// For each case siospec starts a scripted server on a free loopback
    /// port (the codec's session machines with the case's departures), runs
    /// the driver with `{url}` replaced by the server's base URL
    /// (http://127.0.0.1:PORT) and SIOSPEC_URL set to it, plus the case's
    /// SIOSPEC_* options, and judges what the server saw and what the
    /// driver printed. The driver's exit status decides nothing; a crash or
    /// a hang is FAILED or TIMEOUT with its stderr in the report. The driver
    /// is killed (its whole process group) when the case ends. A command
    /// that makes no request at all within 10 s of a first start stops the
    /// run (exit 2) with what it printed.
    ///
    /// With --serve, nothing is started: a client siospec cannot start (a
    /// browser, an app on a device) fetches its cases from a control server
    /// one by one (harness/CLIENT-CONTRACT.md, "Serve mode"); `--target
    /// browser` does that with the official client in headless Chromium.
    ///
    /// Exit status: 0 every case OK (or accepted by --baseline), 1 FAILED or
    /// TIMEOUT, 2 usage or harness error.
    #[command(verbatim_doc_comment)]
    Client(ClientArgs),
    /// Test a cluster: the contract's rooms and broadcast events with
    /// clients spread over its nodes (a broadcast reaches every client of
    /// every node exactly once, rooms span nodes, `to-room` excludes the
    /// sender, acks answer, a restarted node's room members still
    /// receive), judged with exact delivery sets. Nodes by --url, or
    /// started by siospec with --nodes (Redis and the nodes, sharing
    /// @socket.io/redis-adapter's protocol).
    ///
    /// Exit status: 0 every case OK (the restart case is SKIPPED for nodes
    /// given by URL), 1 a case FAILED, 2 usage or harness error.
    #[command(verbatim_doc_comment)]
    Cluster(super::cluster::ClusterArgs),
}

#[derive(Debug, Args)]
pub(super) struct ServerArgs {
    /// The server: `http://HOST:PORT` (a path in it, such as
    /// `http://HOST:PORT/socket.io/`, sets --path), or SUITE=URL to give one
    /// suite a server of its own. Repeatable.
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    /// Start this server and test it instead of one given by URL: `rust`
    /// (the reference server) or a peer of harness/peers, as `run
    /// --target` does, on the settings `run` gives it.
    #[arg(long, value_name = "NAME", value_parser = target_names(), conflicts_with = "url")]
    target: Option<String>,
    /// With --target: start it over HTTPS and WSS, with a certificate of a
    /// throwaway CA the run trusts (the peer's peer.toml gives its
    /// `tls_cert` and `tls_key` flags). For a server of your own, pass an
    /// https:// --url instead.
    #[arg(long, requires = "target")]
    tls: bool,
    /// Name of the target in reports.
    #[arg(long, default_value = "server")]
    name: String,
    #[command(flatten)]
    url_options: UrlOptions,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub(super) struct ClientArgs {
    /// The driver command, run by `sh -c` for each case; `{url}` stands for
    /// the scripted server's base URL (also in SIOSPEC_URL).
    #[arg(long, value_name = "CMD", conflicts_with_all = ["target", "serve"], required_unless_present_any = ["target", "serve", "list"])]
    exec: Option<String>,
    /// Serve the cases instead of starting a client for each (browsers, apps
    /// on a device, anything siospec cannot start): a control server at
    /// --addr hands a client its cases one by one (harness/CLIENT-CONTRACT.md,
    /// "Serve mode"); the reports are written once the client has run them all.
    #[arg(long, conflicts_with = "target")]
    serve: bool,
    /// With --serve: where the control server listens.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9001",
        requires = "serve"
    )]
    addr: std::net::SocketAddr,
    /// With --serve: a folder whose files the control server also serves
    /// (`/` is its index.html): a browser driver's page.
    #[arg(long, value_name = "DIR", requires = "serve")]
    files: Option<std::path::PathBuf>,
    /// A peer's own driver (harness/peers/NAME/peer.toml's [client]): `node`
    /// (the official socket.io-client), `browser` (the same in headless
    /// Chromium, served), `python` (python-socketio), `rust_socketio`, or
    /// `rust` (siospec's own client, `siospec client`).
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// With --target: its deliberately broken driver (SIOSPEC_BREAK=FAMILY),
    /// for testing siospec itself.
    #[arg(long = "break", value_name = "FAMILY", requires = "target")]
    broken: Option<String>,
    /// Test the client over HTTPS and WSS: every case's scripted server
    /// presents a certificate of a throwaway CA, given to the client as
    /// SIOSPEC_CA (a PEM file), and the URL is https://. The client.eio4.tls
    /// cases (certificates a client must refuse) need it.
    #[arg(long)]
    tls: bool,
    /// Name of the target in reports (with --exec or --serve).
    #[arg(long, default_value = "client")]
    name: String,
    #[command(flatten)]
    common: Common,
}

/// Runs `siospec test server`; returns the exit status.
pub(super) async fn server(args: ServerArgs) -> i32 {
    if args.url.is_empty() && args.target.is_none() && !args.common.list {
        eprintln!(
            "siospec: `test server` needs --url URL (or --target NAME: a server siospec starts)"
        );
        return EXIT_HARNESS;
    }
    let target = match &args.target {
        Some(name) if args.tls => Peer::named(name).and_then(Peer::over_tls).map(Target::Peer),
        Some(name) => peer_target(name, None),
        None => url_target(&args.name, &args.url, &args.url_options),
    };
    match target {
        Ok(t) => conform(t, args.common).await,
        Err(e) => {
            eprintln!("siospec: {e}");
            EXIT_HARNESS
        }
    }
}

/// Runs `siospec test client`; returns the exit status.
pub(super) async fn client(args: ClientArgs) -> i32 {
    let client = match (&args.exec, &args.target) {
        (None, None) if args.serve => {
            let mut client = Client::served(&args.name, args.addr);
            if let Some(s) = client.serve.as_mut() {
                s.files = args.files.clone();
            }
            Ok(client)
        }
        (Some(cmd), _) => Ok(Client::exec(&args.name, cmd)),
        (None, Some(name)) => Peer::named(name).and_then(|p| p.client(args.broken.as_deref())),
        // --list alone: the catalogue needs no client.
        (None, None) => Ok(Client::exec(&args.name, "true")),
    };
    let client = match client {
        Ok(c) if args.tls => c.over_tls(),
        other => other,
    };
    match client {
        Ok(c) => conform(Target::Client(c), args.common).await,
        Err(e) => {
            eprintln!("siospec: {e}");
            EXIT_HARNESS
        }
    }
}
