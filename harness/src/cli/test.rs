//! `siospec test server`: test a server given by URL.

use clap::{Args, Subcommand};

use super::{conform, url_target, Common, UrlOptions, EXIT_HARNESS};

#[derive(Debug, Subcommand)]
pub(super) enum TestWhat {
    /// Test a server that follows harness/CONTRACT.md.
    Server(ServerArgs),
}

#[derive(Debug, Args)]
pub(super) struct ServerArgs {
    /// The server: `http://HOST:PORT` (a path in it, such as
    /// `http://HOST:PORT/socket.io/`, sets --path), or SUITE=URL to give one
    /// suite a server of its own. Repeatable.
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    /// Name of the target in reports.
    #[arg(long, default_value = "server")]
    name: String,
    #[command(flatten)]
    url_options: UrlOptions,
    #[command(flatten)]
    common: Common,
}

/// Runs `siospec test server`; returns the exit status.
pub(super) async fn server(args: ServerArgs) -> i32 {
    if args.url.is_empty() && !args.common.list {
        eprintln!("siospec: `test server` needs --url URL");
        return EXIT_HARNESS;
    }
    match url_target(&args.name, &args.url, &args.url_options) {
        Ok(t) => conform(t, args.common).await,
        Err(e) => {
            eprintln!("siospec: {e}");
            EXIT_HARNESS
        }
    }
}
