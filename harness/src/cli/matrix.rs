//! `siospec matrix`: every implementation in every role it has, one run
//! after another, then the matrix's pages.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::print::Progress;
use super::{EXIT_HARNESS, EXIT_OK};
use siospec::matrix::{self, RUNS_DIR};
use siospec::runner::{self, EXIT_FAILED};
use siospec::{Conformance, Error};

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
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = super::parse_time_scale)]
    time_scale: f64,
    /// List the runs the matrix would make, with their commands, and exit.
    #[arg(long)]
    list: bool,
}

/// Runs `siospec matrix`; returns the exit status.
pub(super) async fn matrix(args: MatrixArgs) -> i32 {
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
        let command = if args.quick {
            format!("{} --max-wait {max_wait_s}", entry.command)
        } else {
            entry.command.clone()
        };
        let mut run = Conformance::of(entry.target)
            .strict(true)
            .time_scale(args.time_scale)
            .jobs(entry.jobs)
            .max_wait(Duration::from_secs(max_wait_s))
            .parser(entry.parser)
            .report_dir(&runs_dir)
            .rerun_command(command);
        if let Some(path) = entry.baseline {
            run = run.baseline(path);
        }
        let report = run.run_observed(&mut Progress::auto()).await;
        for line in report.stale_acceptances() {
            eprintln!("siospec: {line}");
        }
        match report.error() {
            Some(e @ Error::Baseline(_)) => {
                eprintln!("siospec: {e}");
                return EXIT_HARNESS;
            }
            Some(e) => {
                eprintln!(
                    "siospec: {} as a {} did not run: {e}",
                    entry.implementation,
                    entry.role.name()
                );
                status = EXIT_HARNESS;
            }
            None => {
                let s = report.exit_code();
                let stale = !report.stale_acceptances().is_empty();
                eprintln!(
                    "siospec: {} as a {}: {} case(s) in {:.1} s, {}",
                    entry.implementation,
                    entry.role.name(),
                    report.cases().len(),
                    report.duration().as_secs_f64(),
                    match s {
                        EXIT_OK if !stale => "every deviation accepted by its baseline",
                        EXIT_OK => "a baseline entry no longer applies (a verdict changed)",
                        _ => "deviations its baseline does not accept",
                    }
                );
                if stale {
                    status = status.max(EXIT_FAILED);
                }
                status = status.max(s);
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
