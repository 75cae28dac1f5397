//! `siospec matrix`: every implementation in every role it has, one run
//! after another, then the matrix's pages.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{execute_and_report, EXIT_HARNESS, EXIT_OK};
use siospec::baseline::Baseline;
use siospec::matrix::{self, Role, RUNS_DIR};
use siospec::runner::{self, Options, Run, Selection, EXIT_FAILED};

/// Where `matrix` writes unless told: ignored by the repository
/// (harness/scripts/matrix regenerates the committed reports/matrix).
const DEFAULT_MATRIX_DIR: &str = "siospec-reports/matrix";

#[derive(Debug, Args)]
pub(super) struct MatrixArgs {
    /// The quick form, for CI (minutes): a case that would wait longer than
    /// 5 s on an implementation's own timers (python-socketio's defaults:
    /// 25 s + 20 s) is SKIPPED, and a SKIPPED case is compared with nothing.
    #[arg(long)]
    quick: bool,
    /// Only this implementation (a peer name such as `python`, or one role
    /// of it: `python-client`); the others already in the folder are kept.
    /// Repeatable.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Write here (the runs go into its runs/ folder). Default:
    /// siospec-reports/matrix.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Multiply every wait and time limit by F (e.g. 2 on a slow machine).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// List the runs the matrix would make, with their commands, and exit.
    #[arg(long)]
    list: bool,
}

/// Runs `siospec matrix`; returns the exit status.
pub(super) async fn matrix(args: MatrixArgs) -> i32 {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        eprintln!("siospec: --time-scale must be a positive number");
        return EXIT_HARNESS;
    }
    let entries = match matrix::entries(&args.only) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("siospec: {e}");
            return EXIT_HARNESS;
        }
    };
    if args.list {
        for e in &entries {
            println!("{} as a {}: {}", e.implementation, e.role.name(), e.command);
        }
        return EXIT_OK;
    }
    let dir = args
        .report_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MATRIX_DIR));
    let runs_dir = dir.join(RUNS_DIR);
    // A whole matrix starts afresh: an implementation removed since the
    // last one must not linger in it. `--only` adds to what is there.
    if args.only.is_empty() && runs_dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&runs_dir) {
            eprintln!("siospec: cannot clear {}: {e}", runs_dir.display());
            return EXIT_HARNESS;
        }
    }
    let max_wait_s = if args.quick {
        matrix::QUICK_MAX_WAIT_S
    } else {
        runner::DEFAULT_MAX_WAIT_S
    };
    let clock = Instant::now();
    let mut status = EXIT_OK;
    let total = entries.len();
    for (n, entry) in entries.into_iter().enumerate() {
        eprintln!(
            "siospec: matrix [{}/{total}] {} as a {}{} ({:.0} s so far)",
            n + 1,
            entry.implementation,
            entry.role.name(),
            match entry.parser {
                siospec_codec::session::socket::Parser::Default => String::new(),
                other => format!(", {other} parser"),
            },
            clock.elapsed().as_secs_f64()
        );
        let baseline = match entry.baseline.as_deref().map(Baseline::load).transpose() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("siospec: {e}");
                return EXIT_HARNESS;
            }
        };
        let run = Run {
            target: entry.target,
            selection: Selection::default(),
            options: Options {
                scale: args.time_scale,
                jobs: entry.jobs,
                max_wait_ms: max_wait_s * 1000,
                parser: entry.parser,
            },
            baseline,
        };
        let catalogue = match entry.role {
            Role::Server => siospec::cases::all(),
            Role::Client => siospec::client_cases::all(),
        };
        let selected = match run.cases(&catalogue) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("siospec: {e}");
                return EXIT_HARNESS;
            }
        };
        let command = if args.quick {
            format!("{} --max-wait {max_wait_s}", entry.command)
        } else {
            entry.command.clone()
        };
        match execute_and_report(&run, &selected, &catalogue, &runs_dir, command, true).await {
            Ok(outcome) => {
                let s = runner::exit_status(&outcome.results, true);
                eprintln!(
                    "siospec: {} as a {}: {} case(s) in {:.1} s, {}",
                    entry.implementation,
                    entry.role.name(),
                    outcome.results.len(),
                    outcome.duration_ms / 1000.0,
                    match s {
                        EXIT_OK if outcome.stale.is_empty() =>
                            "every deviation accepted by its baseline",
                        EXIT_OK => "a baseline entry no longer applies (a verdict changed)",
                        _ => "deviations its baseline does not accept",
                    }
                );
                if !outcome.stale.is_empty() {
                    status = status.max(EXIT_FAILED);
                }
                status = status.max(s);
            }
            Err(e) => {
                eprintln!(
                    "siospec: {} as a {} did not run: {e}",
                    entry.implementation,
                    entry.role.name()
                );
                status = EXIT_HARNESS;
            }
        }
    }
    if status == EXIT_HARNESS {
        eprintln!("siospec: scripts/install-peers installs every implementation the matrix runs");
    }
    if !runs_dir.join("index.json").exists() {
        eprintln!("siospec: nothing ran, so no matrix was written");
        return EXIT_HARNESS;
    }
    let elapsed_ms = clock.elapsed().as_secs_f64() * 1000.0;
    match matrix::write(&dir, args.quick) {
        Ok(m) => {
            println!("{}", matrix::summary_table(&m));
            println!(
                "{} finding(s), {} unchecked non-OK verdict(s); matrix in {:.0} s",
                m.findings.len(),
                m.unchecked.len(),
                elapsed_ms / 1000.0
            );
            eprintln!(
                "siospec: matrix in {} (matrix.html, matrix.md, findings.md)",
                dir.display()
            );
        }
        Err(e) => {
            eprintln!("siospec: {e}");
            return EXIT_HARNESS;
        }
    }
    status
}
