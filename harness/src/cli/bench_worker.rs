//! `siospec bench-worker`: one process of the load generator's scale runs
//! (hidden; `siospec bench` starts it).

use clap::Args;

use super::EXIT_OK;

#[derive(Debug, Args)]
pub(super) struct BenchWorkerArgs {
    /// The server, `host:port`.
    #[arg(long)]
    authority: String,
    /// Connections to open and keep.
    #[arg(long)]
    clients: usize,
    /// The index of this worker's first connection among all workers'
    /// (which source addresses of 127.0.0.0/8 it uses).
    #[arg(long, default_value_t = 0)]
    first_source: usize,
}

/// Opens the connections, prints `connected N failed M` on stdout once every
/// attempt ended, keeps them until standard input closes, then exits.
pub(super) async fn bench_worker(args: BenchWorkerArgs) -> i32 {
    siospec::bench::worker(&args.authority, args.clients, args.first_source).await;
    EXIT_OK
}
