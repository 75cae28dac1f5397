//! `siospec run`: start a server (or take one by URL) and test it.

use std::path::PathBuf;

use clap::Args;

use super::{conform, peer_target, run_target_names, url_target, Common, UrlOptions, EXIT_HARNESS};
use siospec::target::Target;

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Which server to start and test; `NAME-client` tests that peer's
    /// client driver through the client cases instead (as `test client
    /// --target NAME`).
    #[arg(long, value_parser = run_target_names(), default_value = "rust")]
    target: String,
    /// Test this server instead of starting one (same forms as `test server --url`).
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    #[command(flatten)]
    url_options: UrlOptions,
    /// Folder of the Node peer (default: harness/peers/node, or $SIOSPEC_NODE_PEER).
    #[arg(long, value_name = "DIR")]
    node_peer: Option<PathBuf>,
    /// Start the deliberately broken Node variant (harness/peers/node/broken)
    /// that breaks one rule family; for testing siospec itself.
    #[arg(long = "break", value_name = "FAMILY")]
    broken: Option<String>,
    /// Start the server over HTTPS and WSS with a certificate of a
    /// throwaway CA the run trusts (`test server --target NAME --tls`); a
    /// client target is tested over TLS (`test client --tls`).
    #[arg(long, conflicts_with = "url")]
    tls: bool,
    #[command(flatten)]
    common: Common,
}

/// The target `args` name: the URLs, else the peer (its broken variant, in
/// the folder given).
fn target(args: &RunArgs) -> Result<Target, String> {
    if !args.url.is_empty() {
        return url_target("server", &args.url, &args.url_options);
    }
    let target = peer_target(&args.target, args.broken.as_deref())?;
    let target = match (target, &args.node_peer, args.target.as_str()) {
        (Target::Peer(peer), Some(dir), "node") => Target::Peer(peer.in_dir(dir.clone())),
        (target, _, _) => target,
    };
    match target {
        Target::Peer(peer) if args.tls => peer.over_tls().map(Target::Peer),
        Target::Client(client) if args.tls => client.over_tls().map(Target::Client),
        target => Ok(target),
    }
}

/// Runs `siospec run`; returns the exit status.
pub(super) async fn run(args: RunArgs) -> i32 {
    match target(&args) {
        Ok(t) => conform(t, args.common).await,
        Err(e) => {
            eprintln!("siospec: {e}");
            EXIT_HARNESS
        }
    }
}
