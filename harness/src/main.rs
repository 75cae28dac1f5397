//! The `siospec` command.

use clap::Parser;

fn main() {
    let cli = siospec::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("siospec: cannot start the async runtime: {e}");
            std::process::exit(siospec::cli::EXIT_HARNESS);
        }
    };
    let code = runtime.block_on(siospec::cli::main(cli));
    // Dropping the runtime would wait for blocking tasks, and a read of an
    // open standard input (`serve --exit-on-stdin-close`) never ends.
    runtime.shutdown_background();
    std::process::exit(code);
}
