//! What `run` and `test server` print: progress as cases end, the
//! selection (`--list`) and the summary.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use siospec::case::{Case, Verdict};
use siospec::report;
use siospec::runner::{CaseResult, Observer};
use siospec::target::Prepared;
use siospec::Report;

/// The terminal's view of a run: a progress bar on stderr when it is a
/// terminal, one plain line per case on stdout otherwise.
pub(super) struct Progress {
    /// `None`: plain lines.
    bar: Option<ProgressBar>,
    /// The cases running, oldest first.
    running: Vec<String>,
    non_ok: usize,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub(super) fn auto() -> Progress {
        Progress {
            bar: std::io::stderr().is_terminal().then(|| {
                let bar = ProgressBar::hidden();
                if let Ok(style) = ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} ETA {eta} {msg}",
                ) {
                    bar.set_style(style);
                }
                bar
            }),
            running: Vec::new(),
            non_ok: 0,
        }
    }
}

impl Observer for Progress {
    fn prepared(&mut self, cases: usize, target: &Prepared) {
        eprintln!(
            "siospec: {} case(s) against {} ({})",
            cases, target.name, target.description
        );
        for line in &target.findings {
            eprintln!("siospec: probe: {line}");
        }
        if let Some(bar) = &self.bar {
            bar.set_length(cases as u64);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn case_started(&mut self, id: &str) {
        self.running.push(id.to_owned());
    }

    fn case_done(&mut self, done: usize, total: usize, result: &CaseResult) {
        self.running.retain(|id| *id != result.id);
        self.non_ok += usize::from(result.verdict != Verdict::Ok);
        match &self.bar {
            Some(bar) => {
                let shown =
                    self.running
                        .first()
                        .map_or(String::new(), |first| match self.running.len() {
                            1 => format!(" · running {first}"),
                            k => format!(" · running {first} and {} more", k - 1),
                        });
                bar.set_message(format!("{} non-OK{shown}", self.non_ok));
                bar.inc(1);
            }
            None => println!(
                "[{done:>4}/{total}] {:<13} {} ({:.0} ms)",
                result.verdict.name(),
                result.id,
                result.duration_ms
            ),
        }
    }

    fn finished(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `--list`: the selected cases, one line each, and their number.
pub(super) fn list(selected: &[Case]) {
    for c in selected {
        println!(
            "{:<58} {:<6} {}",
            c.id,
            format!("{:?}", c.level).to_uppercase(),
            c.description
        );
    }
    println!("{} case(s)", selected.len());
}

/// The summary table, the cases not judged grouped by reason, and every
/// other non-OK case with what was seen.
pub(super) fn summary(report: &Report) {
    let (name, results) = (report.target(), report.results());
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for r in results {
        *counts.entry(r.verdict).or_default() += 1;
    }
    println!();
    println!("{:<14} {:>6}", "verdict", name);
    for v in Verdict::ALL {
        println!(
            "{:<14} {:>6}",
            v.name(),
            counts.get(&v).copied().unwrap_or(0)
        );
    }
    println!(
        "{:<14} {:>6}   ({:.1} s)",
        "total",
        results.len(),
        report.duration().as_secs_f64()
    );
    // The level (MUST, SHOULD) each case is at, from either catalogue.
    let catalogue: Vec<Case> = siospec::cases::all()
        .into_iter()
        .chain(siospec::client_cases::all())
        .collect();
    let by_id: BTreeMap<&str, &Case> = catalogue.iter().map(|c| (c.id.as_str(), c)).collect();
    // Cases not judged share their reason: one paragraph per reason.
    let not_judged = |r: &&CaseResult| {
        matches!(r.verdict, Verdict::Skipped | Verdict::Unsupported) && r.trace.is_empty()
    };
    let mut by_reason: BTreeMap<(Verdict, String), Vec<&str>> = BTreeMap::new();
    for r in results.iter().filter(not_judged) {
        by_reason
            .entry((r.verdict, report::actual_of(r)))
            .or_default()
            .push(&r.id);
    }
    for ((verdict, reason), ids) in &by_reason {
        println!(
            "\n{} ×{}: {reason}\n              {}",
            verdict.name(),
            ids.len(),
            ids.join(", ")
        );
    }
    let non_ok: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Ok && !not_judged(r))
        .collect();
    if !non_ok.is_empty() {
        println!();
        for r in non_ok {
            let level = by_id
                .get(r.id.as_str())
                .map(|c| format!("{:?}", c.level).to_uppercase())
                .unwrap_or_default();
            println!(
                "{:<13} {:<6} {}{}\n              {}",
                r.verdict.name(),
                level,
                r.id,
                if r.accepted.is_some() {
                    "  [accepted by the baseline]"
                } else {
                    ""
                },
                report::actual_of(r)
            );
        }
    }
}
