//! Findings: a third-party implementation's deviations, checked by hand
//! (its baseline entry says what was seen), written up as bug reports for
//! its upstream tracker. One finding per implementation, role and reason:
//! the cases one deviation trips are listed together.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{is_deviation, Implementation, Kind, MatrixIndex, Role, OFFICIAL};
use crate::baseline::Baseline;
use crate::case::{Case, Verdict};
use crate::report::{self, escape, Index};
use crate::trace::Event;

/// Most trace lines of a finding's excerpt: its first and last events.
const EXCERPT_HEAD: usize = 4;
const EXCERPT_TAIL: usize = 12;

/// Most cases of a finding whose requirement is quoted (the rest are listed).
const QUOTED_CASES: usize = 3;

/// Most characters of what was seen, per case: the case page has all of it
/// (a case that echoes a megabyte would otherwise put it in the finding).
const ACTUAL_CHARS: usize = 600;

/// `s` cut to `max` characters, saying how long it was.
fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… ({n} characters; the case page has all of it)")
}

/// One deviation of a third-party implementation, as a bug report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: the target and the first case (`python/eio4.errors.eio-missing`).
    pub id: String,
    /// The implementation's name.
    pub implementation: String,
    /// Server or client.
    pub role: Role,
    /// Its target name in the runs' report.
    pub target: String,
    /// What was tested (versions, settings).
    pub tested: String,
    /// Where to report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<String>,
    /// `interop-breaking` or `spec-only`, as its baseline entry rates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// What was seen, checked by hand: the baseline entry's reason.
    pub observed: String,
    /// The cases it makes non-OK, in catalogue order.
    pub cases: Vec<FindingCase>,
}

/// One case of a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingCase {
    /// The case id.
    pub id: String,
    /// Its verdict on the implementation.
    pub verdict: Verdict,
    /// MUST, SHOULD or MAY.
    pub level: String,
    /// The requirement, quoted.
    pub requirement: String,
    /// The protocol document and heading.
    pub spec: String,
    /// The document's address.
    pub spec_url: String,
    /// What the protocol expects, as the case's OK outcomes say it.
    pub expected: Vec<String>,
    /// The official implementation's verdict on the same case, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official: Option<Verdict>,
    /// What siospec saw (the result's one-line summary).
    pub actual: String,
    /// The case's page in the runs' report, relative to the matrix folder.
    pub page: String,
    /// The command that reproduces it.
    pub command: String,
    /// The end of its wire trace, one event per line (the first case only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
}

/// A third-party deviation no baseline entry accepts yet: not checked by
/// hand, so not a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unchecked {
    /// Its target name.
    pub target: String,
    /// The case id.
    pub case: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What siospec saw.
    pub actual: String,
}

/// The command that shows one case's deviation: the run's command for that
/// case alone, without the baseline (which would accept it) and the quick
/// form's --max-wait.
fn repro_command(command: &str, id: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut it = command.split(' ');
    while let Some(w) = it.next() {
        match w {
            // The baseline would hide it; --max-wait is the quick form's.
            "--baseline" | "--max-wait" => {
                it.next();
            }
            "--strict" => {}
            w => words.push(w),
        }
    }
    report::case_command(&words.join(" "), id)
}

/// The excerpt of a case's wire trace, from its JSON file.
fn trace_excerpt(runs_dir: &Path, report_path: &str) -> Vec<String> {
    let Some(events) = std::fs::read_to_string(runs_dir.join(report_path))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| serde_json::from_value::<Vec<Event>>(v["result"]["trace"].clone()).ok())
    else {
        return Vec::new();
    };
    if events.len() <= EXCERPT_HEAD + EXCERPT_TAIL {
        return events.iter().map(Event::line).collect();
    }
    let mut lines: Vec<String> = events[..EXCERPT_HEAD].iter().map(Event::line).collect();
    lines.push(format!(
        "         … {} events …",
        events.len() - EXCERPT_HEAD - EXCERPT_TAIL
    ));
    lines.extend(
        events[events.len() - EXCERPT_TAIL..]
            .iter()
            .map(Event::line),
    );
    lines
}

/// The findings and the unchecked deviations of every third-party target.
pub(super) fn collect(
    runs: &Index,
    runs_dir: &Path,
    implementations: &[Implementation],
    baselines: &BTreeMap<String, Baseline>,
    catalogue: &[Case],
) -> (Vec<Finding>, Vec<Unchecked>) {
    let mut findings: Vec<Finding> = Vec::new();
    let mut unchecked = Vec::new();
    for imp in implementations
        .iter()
        .filter(|i| i.kind == Kind::ThirdParty)
    {
        let run = &runs.targets[&imp.target];
        let official = runs.targets.get(&super::target_name(OFFICIAL, imp.role));
        // Grouped by reason, in catalogue order.
        let mut by_reason: Vec<(String, Vec<FindingCase>, Option<String>)> = Vec::new();
        for case in catalogue {
            let Some(summary) = run.cases.get(&case.id) else {
                continue;
            };
            if !is_deviation(summary.verdict) {
                continue;
            }
            let Some(reason) = &summary.accepted else {
                unchecked.push(Unchecked {
                    target: imp.target.clone(),
                    case: case.id.clone(),
                    verdict: summary.verdict,
                    actual: clip(&summary.actual, ACTUAL_CHARS),
                });
                continue;
            };
            let accepted_by = baselines
                .get(&imp.target)
                .and_then(|b| b.accepts(&imp.target, &case.id, summary.verdict));
            // A msgpack run's deviation that its implementation's own entry
            // accepts, and that the default-parser run showed too, is that
            // run's finding already: listed once.
            let base = crate::runner::implementation_of(&imp.target);
            let shown_by_base = base.is_some_and(|base| {
                accepted_by.is_some_and(|a| a.target != imp.target)
                    && runs
                        .targets
                        .get(base)
                        .and_then(|r| r.cases.get(&case.id))
                        .is_some_and(|c| c.verdict == summary.verdict && c.accepted.is_some())
            });
            if shown_by_base {
                continue;
            }
            let severity = accepted_by
                .and_then(|a| a.severity)
                .map(|s| s.name().to_owned());
            let (doc, url) = report::spec_document(case.section.suite);
            let page = format!(
                "{}/{}",
                super::RUNS_DIR,
                summary.report.replace(".json", ".html")
            );
            let entry = FindingCase {
                id: case.id.clone(),
                verdict: summary.verdict,
                level: report::level_name(case.level).to_owned(),
                requirement: case.requirement.to_owned(),
                spec: format!("{doc}, {}", case.section.spec),
                spec_url: url.to_owned(),
                expected: case
                    .expect
                    .iter()
                    .filter(|e| e.verdict == Verdict::Ok)
                    .map(|e| e.text.clone())
                    .collect(),
                official: official
                    .and_then(|o| o.cases.get(&case.id))
                    .map(|c| c.verdict),
                actual: clip(&summary.actual, ACTUAL_CHARS),
                page,
                command: repro_command(&imp.command, &case.id),
                trace: Vec::new(),
            };
            match by_reason.iter_mut().find(|(r, _, _)| r == reason) {
                Some((_, cases, _)) => cases.push(entry),
                None => by_reason.push((reason.clone(), vec![entry], severity)),
            }
        }
        for (reason, mut cases, severity) in by_reason {
            let report = run.cases.get(&cases[0].id).map(|c| c.report.clone());
            if let (Some(first), Some(report)) = (cases.first_mut(), report) {
                first.trace = trace_excerpt(runs_dir, &report);
            }
            findings.push(Finding {
                id: format!("{}/{}", imp.target, cases[0].id),
                implementation: imp.name.clone(),
                role: imp.role,
                target: imp.target.clone(),
                tested: imp.tested.clone(),
                issues: imp.issues.clone(),
                severity,
                observed: reason,
                cases,
            });
        }
    }
    (findings, unchecked)
}

/// The official implementation's verdicts on a finding's cases, in words:
/// "the official server (node) is OK on all 3 cases".
pub fn official_words(f: &Finding) -> String {
    let name = match f.role {
        Role::Server => "the official server",
        Role::Client => "the official client",
    };
    let verdicts: Vec<Verdict> = f.cases.iter().filter_map(|c| c.official).collect();
    if verdicts.is_empty() {
        return format!("{name} was not in this matrix");
    }
    if verdicts.len() == f.cases.len() && verdicts.iter().all(|v| *v == Verdict::Ok) {
        return format!(
            "{name} ({OFFICIAL}) is OK on {}",
            if f.cases.len() == 1 {
                "this case".to_owned()
            } else {
                format!("all {} cases", f.cases.len())
            }
        );
    }
    let each: Vec<String> = f
        .cases
        .iter()
        .map(|c| format!("{}: {}", c.id, c.official.map_or("not run", |v| v.name())))
        .collect();
    format!("{name} ({OFFICIAL}): {}", each.join(", "))
}

/// `findings.md`: every finding as a bug report, implementation by
/// implementation, then the unchecked deviations.
pub(super) fn markdown(m: &MatrixIndex) -> String {
    let mut s = String::from("# siospec findings\n\n");
    s.push_str(super::FINDINGS_NOTE);
    s.push_str("\n\n");
    if m.findings.is_empty() {
        s.push_str("No findings.\n");
    }
    let mut current = String::new();
    for (n, f) in m.findings.iter().enumerate() {
        if f.target != current {
            current = f.target.clone();
            s.push_str(&format!(
                "## {} as a {}\n\n{}{}\n\n",
                escape::md(&f.implementation),
                f.role.name(),
                escape::md(&f.tested),
                match &f.issues {
                    Some(url) => format!(" — report upstream: <{url}>"),
                    None => String::new(),
                }
            ));
        }
        let first = &f.cases[0];
        s.push_str(&format!(
            "### F{}. `{}`{}\n\n",
            n + 1,
            f.id,
            match &f.severity {
                Some(sev) => format!(" — {sev}"),
                None => " — not rated".to_owned(),
            }
        ));
        s.push_str(&format!(
            "**What {} does** (checked by hand): {}\n\n",
            escape::md(&f.implementation),
            escape::md(&f.observed)
        ));
        s.push_str("**What the protocol says:**\n\n");
        for c in f.cases.iter().take(QUOTED_CASES) {
            s.push_str(&format!(
                "> {}\n>\n> — [{}]({}) ({}; case `{}`)\n\n",
                c.requirement.replace('\n', "\n> "),
                escape::md(&c.spec),
                c.spec_url,
                c.level,
                c.id
            ));
        }
        if let Some(expected) = first.expected.first() {
            s.push_str(&format!(
                "**Expected** (`{}`): {}\n\n",
                first.id,
                escape::md(expected)
            ));
        }
        s.push_str(&format!(
            "**What the official implementation does:** {}.\n\n",
            official_words(f)
        ));
        s.push_str("**Cases:**\n\n");
        for c in &f.cases {
            s.push_str(&format!(
                "- `{}` — {}: {} ([trace]({}))\n",
                c.id,
                c.verdict.name(),
                escape::md(&c.actual),
                c.page
            ));
        }
        if !first.trace.is_empty() {
            s.push_str(&format!(
                "\n**Wire trace** (`{}`; → to the implementation, ← from it):\n\n```\n{}\n```\n",
                first.id,
                first.trace.join("\n")
            ));
        }
        s.push_str(&format!(
            "\n**Reproduce** (with siospec's repository, after `scripts/test` has installed the peers):\n\n```sh\n{}\n```\n\n",
            first.command
        ));
    }
    if !m.unchecked.is_empty() {
        s.push_str("## Not yet checked by hand\n\nNon-OK verdicts of third-party implementations that no baseline entry accepts: they are listed here, and not as findings, until someone checks them on the wire.\n\n");
        for u in &m.unchecked {
            s.push_str(&format!(
                "- `{}` on {}: {} — {}\n",
                u.case,
                escape::md(&u.target),
                u.verdict.name(),
                escape::md(&u.actual)
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reproducing_command_drops_what_would_hide_the_deviation() {
        assert_eq!(
            repro_command(
                "siospec run --target python --baseline harness/baselines/python.json --strict --max-wait 5",
                "eio4.errors.eio-missing"
            ),
            "siospec run --target python --case eio4.errors.eio-missing"
        );
    }
}
