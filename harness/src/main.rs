//! The `siospec` command: a thin command line over the `siospec` library.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("siospec: cannot start the async runtime: {e}");
            std::process::exit(cli::EXIT_HARNESS);
        }
    };
    let code = runtime.block_on(cli::main(cli));
    // Dropping the runtime would wait for blocking tasks, and a read of an
    // open standard input (`serve --exit-on-stdin-close`) never ends.
    runtime.shutdown_background();
    std::process::exit(code);
}
