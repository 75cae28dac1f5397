//! `siospec doctor URL`: the deployment diagnosis (src/doctor).

use std::path::PathBuf;

use clap::Args;
use siospec::doctor::{self, Options, DEFAULT_REPORT_DIR};
use siospec::tls::Trust;

use super::EXIT_HARNESS;

#[derive(Debug, Args)]
pub(super) struct DoctorArgs {
    /// The deployed endpoint: http(s)://host[:port][/path/]. Without a
    /// path, --path (default /socket.io/); without a port, 80 or 443.
    #[arg(value_name = "URL")]
    url: String,
    /// The Socket.IO path, when the URL names none.
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// Check CORS for a page at this origin (https://your.app): the
    /// handshake's Access-Control-Allow-Origin, credentials, the preflight.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Requests of one polling session, each on a new connection, sent
    /// through the balancer in the stickiness check (rounds of 3 for
    /// Socket.IO: join, read the reply, leave).
    #[arg(long, value_name = "N", default_value_t = doctor::DEFAULT_ROUNDS)]
    rounds: usize,
    /// Keep the idle connections 65 s (past the 60 s default read timeouts
    /// of nginx and AWS load balancers), not only pingInterval +
    /// pingTimeout + 2 s.
    #[arg(long)]
    long: bool,
    /// Print the diagnosis as JSON (schema siospec-doctor/1) instead of text.
    #[arg(long)]
    json: bool,
    /// Write doctor.html and doctor.json here.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    report_dir: PathBuf,
    /// Also trust the CA certificates in FILE (PEM) for https:// URLs.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Do not verify certificates (what verification says is still reported).
    #[arg(long)]
    insecure: bool,
}

/// Runs `siospec doctor`; returns the exit status.
pub(super) async fn doctor(args: DoctorArgs) -> i32 {
    let options = Options {
        url: args.url,
        path: args.path,
        trust: Trust {
            ca: args.ca,
            insecure: args.insecure,
        },
        origin: args.origin,
        rounds: args.rounds,
        long: args.long,
    };
    let progress = |line: &str| eprintln!("siospec doctor: {line}");
    let diagnosis = match doctor::diagnose(&options, &progress).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("siospec doctor: {e}");
            return EXIT_HARNESS;
        }
    };
    if args.json {
        println!("{}", diagnosis.json());
    } else {
        print!("{}", diagnosis.text());
    }
    match doctor::write_report(&diagnosis, &args.report_dir) {
        Ok(page) => eprintln!("siospec doctor: report in {}", page.display()),
        Err(e) => {
            eprintln!(
                "siospec doctor: cannot write the report to {}: {e}",
                args.report_dir.display()
            );
            return EXIT_HARNESS;
        }
    }
    diagnosis.exit_code()
}
