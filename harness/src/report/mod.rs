//! Reports: `index.json` (schema-versioned), one JSON and one HTML page per
//! case and target, `junit.xml`, `summary.md` and the static `report.html`
//! matrix (targets × cases, grouped by section). Several runs into the same
//! directory add their targets to the matrix, and a partial run (`--case`)
//! merges into its target's earlier results.

pub mod escape;
mod html;

pub use html::matrix_page;
pub(crate) use html::page as html_page;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::{Case, Level, Verdict};
use crate::runner::CaseResult;
use crate::suite::Suite;
use escape::{md, xml};

/// The schema name of `index.json`.
pub const SCHEMA: &str = "siospec-report/1";

/// `index.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    /// [`SCHEMA`].
    pub schema: String,
    /// `siospec <version>`.
    pub generator: String,
    /// Target name → its run.
    pub targets: BTreeMap<String, TargetRun>,
}

/// One target's run in `index.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetRun {
    /// What the target is.
    pub description: String,
    /// Start of the run (UTC, RFC 3339).
    pub started: String,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: f64,
    /// `--time-scale`.
    pub time_scale: f64,
    /// `--strict`.
    pub strict: bool,
    /// The command line that re-runs this target (without `--case` /
    /// `--exclude`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// What a probe of the server found, one line each; they head the reports.
    #[serde(default)]
    pub findings: Vec<String>,
    /// Cases per verdict.
    pub counts: BTreeMap<String, usize>,
    /// Case id → result summary.
    pub cases: BTreeMap<String, CaseSummary>,
}

impl TargetRun {
    /// Whether it is a client (its cases are the client catalogue's).
    pub fn is_client(&self) -> bool {
        self.cases.keys().any(|id| is_client_case(id))
    }

    /// Cases kept from an earlier run of the target (a partial run merged
    /// into it): their start time is not this run's.
    pub fn earlier_cases(&self) -> usize {
        self.cases
            .values()
            .filter(|c| c.started != self.started)
            .count()
    }
}

/// One case's entry in `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Overall verdict.
    pub verdict: Verdict,
    /// Behaviour verdict.
    pub behaviour: Verdict,
    /// Close verdict, for cases that judge it.
    pub close: Option<Verdict>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// What was seen, for non-OK results (behaviour, then close).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actual: String,
    /// The baseline's reason, if the baseline accepts the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
    /// Path of the case's JSON file, relative to the report directory.
    pub report: String,
    /// Start of the run that produced this result (RFC 3339); cases kept
    /// from an earlier run keep theirs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started: String,
}

/// Whether `id` is a case of the client catalogue.
pub fn is_client_case(id: &str) -> bool {
    id.starts_with("client.")
}

/// A target name usable in file names.
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "target".to_owned()
    } else {
        s
    }
}

/// Everything about one target's run that the reports need.
#[derive(Debug)]
pub struct RunInfo<'a> {
    /// Target name.
    pub name: &'a str,
    /// Target description.
    pub description: &'a str,
    /// Start time (RFC 3339).
    pub started: String,
    /// Wall time (ms).
    pub duration_ms: f64,
    /// `--time-scale`.
    pub time_scale: f64,
    /// `--strict`.
    pub strict: bool,
    /// The command line that re-runs this target's run, without any
    /// `--case` / `--exclude` (see [`rerun_command`]).
    pub command: String,
    /// What a probe of the server found, one line each; they head the reports.
    pub findings: Vec<String>,
}

/// `siospec` and the given arguments (the program name first, as
/// `std::env::args()` yields them) without `--case X`, `--case=X`,
/// `--exclude X` and `--exclude=X`, each word quoted for a POSIX shell.
pub fn rerun_command(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["siospec".to_owned()];
    let mut args = args.into_iter().skip(1);
    let mut options = true;
    while let Some(a) = args.next() {
        if options {
            if a == "--" {
                options = false;
            } else if a == "--case" || a == "--exclude" {
                args.next();
                continue;
            } else if a.starts_with("--case=") || a.starts_with("--exclude=") {
                continue;
            }
        }
        words.push(escape::shell(&a));
    }
    words.join(" ")
}

/// The command that re-runs one case: `{command} --case {id}`.
pub fn case_command(command: &str, id: &str) -> String {
    format!("{command} --case {}", escape::shell(id))
}

/// A non-OK summary line for a result.
pub fn actual_of(r: &CaseResult) -> String {
    let mut parts = Vec::new();
    if r.behaviour.verdict != Verdict::Ok {
        parts.push(r.behaviour.actual.clone());
    }
    if let Some(c) = &r.close {
        if c.verdict != Verdict::Ok {
            parts.push(format!("close: {}", c.actual));
        }
    }
    parts.join("; ")
}

/// Writes one target's results into `dir`, merging with what is already
/// there, and regenerates the aggregate files from the merged index.
///
/// Other targets are kept. When `index.json` already holds this target, the
/// results of cases not run this time are kept (a partial run, `--case`),
/// those run again are replaced, and the counts are recomputed; results of
/// ids no longer in the catalogue are dropped. Per-case files are only
/// written for the cases run; files of cases the merged index no longer
/// lists are removed.
pub fn write(
    dir: &Path,
    catalogue: &[Case],
    run: &RunInfo<'_>,
    results: &[CaseResult],
) -> Result<(), String> {
    let io = |e: std::io::Error, what: &Path| format!("cannot write {}: {e}", what.display());
    let slug = slug(run.name);
    let case_dir = dir.join("cases").join(&slug);
    std::fs::create_dir_all(&case_dir).map_err(|e| io(e, &case_dir))?;
    let index_path = dir.join("index.json");
    let mut index = std::fs::read_to_string(&index_path)
        .ok()
        .and_then(|t| serde_json::from_str::<Index>(&t).ok())
        .filter(|i| i.schema == SCHEMA)
        .unwrap_or_default();
    let by_id: BTreeMap<&str, &Case> = catalogue.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut cases = index
        .targets
        .remove(run.name)
        .map(|t| t.cases)
        .unwrap_or_default();
    cases.retain(|id, _| by_id.contains_key(id.as_str()));
    for r in results {
        let json_path = case_dir.join(format!("{}.json", r.id));
        let case = by_id.get(r.id.as_str()).copied();
        let doc = serde_json::json!({
            "schema": SCHEMA,
            "target": run.name,
            "case": case.map(case_meta),
            "result": r,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&json_path, text).map_err(|e| io(e, &json_path))?;
        if let Some(case) = case {
            let page = html::case_page(run, case, r);
            let html_path = case_dir.join(format!("{}.html", r.id));
            std::fs::write(&html_path, page).map_err(|e| io(e, &html_path))?;
        }
        cases.insert(r.id.clone(), case_summary(run, &slug, r));
    }
    remove_orphans(&case_dir, &cases).map_err(|e| io(e, &case_dir))?;
    index.schema = SCHEMA.to_owned();
    index.generator = format!("siospec {}", env!("CARGO_PKG_VERSION"));
    index
        .targets
        .insert(run.name.to_owned(), target_run(run, cases));
    let text = serde_json::to_string_pretty(&index).map_err(|e| e.to_string())?;
    std::fs::write(&index_path, text).map_err(|e| io(e, &index_path))?;
    // The folder's pages show every target in it, servers and clients side
    // by side, each against its own catalogue: the cases some target ran.
    let shown: Vec<Case> = crate::cases::all()
        .into_iter()
        .chain(crate::client_cases::all())
        .filter(|c| index.targets.values().any(|t| t.cases.contains_key(&c.id)))
        .collect();
    for (name, content) in [
        ("junit.xml", junit(&index, &shown)),
        ("summary.md", summary(&index, &shown)),
        ("report.html", html::matrix(&index, &shown)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, content).map_err(|e| io(e, &p))?;
    }
    Ok(())
}

/// A result's entry in `index.json`.
fn case_summary(run: &RunInfo<'_>, slug: &str, r: &CaseResult) -> CaseSummary {
    CaseSummary {
        verdict: r.verdict,
        behaviour: r.behaviour.verdict,
        close: r.close.as_ref().map(|c| c.verdict),
        duration_ms: r.duration_ms,
        actual: actual_of(r),
        accepted: r.accepted.clone(),
        report: format!("cases/{slug}/{}.json", r.id),
        started: run.started.clone(),
    }
}

/// A target's entry in `index.json`, its counts made from `cases`.
fn target_run(run: &RunInfo<'_>, cases: BTreeMap<String, CaseSummary>) -> TargetRun {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in cases.values() {
        *counts.entry(s.verdict.name().to_owned()).or_default() += 1;
    }
    TargetRun {
        description: run.description.to_owned(),
        started: run.started.clone(),
        duration_ms: run.duration_ms,
        time_scale: run.time_scale,
        strict: run.strict,
        command: run.command.clone(),
        findings: run.findings.clone(),
        counts,
        cases,
    }
}

/// `junit.xml` of one run alone, without touching any report folder.
pub fn junit_of(run: &RunInfo<'_>, catalogue: &[Case], results: &[CaseResult]) -> String {
    let slug = slug(run.name);
    let cases = results
        .iter()
        .map(|r| (r.id.clone(), case_summary(run, &slug, r)))
        .collect();
    let mut index = Index::default();
    index
        .targets
        .insert(run.name.to_owned(), target_run(run, cases));
    junit(&index, catalogue)
}

/// Removes the `<id>.json` / `<id>.html` files of a target's case folder
/// whose id the merged index does not list.
fn remove_orphans(case_dir: &Path, cases: &BTreeMap<String, CaseSummary>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(case_dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let id = name
            .strip_suffix(".json")
            .or_else(|| name.strip_suffix(".html"));
        if let Some(id) = id {
            if !cases.contains_key(id) {
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// A case's static description, as written into its JSON file.
pub fn case_meta(case: &Case) -> serde_json::Value {
    serde_json::json!({
        "id": case.id,
        "suite": case.suite(),
        "section": {"id": case.section.id, "title": case.section.title, "spec": case.section.spec},
        "requirement": case.requirement,
        "level": case.level,
        "description": case.description,
        "origin": case.origin,
        "expect": case.expect,
        "expect_close": case.close,
    })
}

/// How `junit.xml` shows a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JunitKind {
    /// A plain passed test case.
    Passed,
    /// Passed, with the verdict and what was seen in `<system-out>`
    /// (INFORMATIONAL, NON-STRICT without `--strict`, anything the baseline
    /// accepts).
    Note,
    /// `<failure>`: the verdict makes the exit status 1.
    Failure,
    /// `<error>`: the verdict makes the exit status 2.
    Error,
    /// `<skipped>`: the case could not be judged.
    Skipped,
}

/// The JUnit form of a verdict. It agrees with the exit status
/// ([`crate::runner::exit_status`]): a case is a failure or an error exactly
/// when it makes the status non-zero.
pub fn junit_kind(verdict: Verdict, accepted: bool, strict: bool) -> JunitKind {
    match verdict {
        Verdict::Ok => JunitKind::Passed,
        Verdict::Informational => JunitKind::Note,
        Verdict::NonStrict | Verdict::Failed | Verdict::Timeout | Verdict::Error if accepted => {
            JunitKind::Note
        }
        Verdict::NonStrict if strict => JunitKind::Failure,
        Verdict::NonStrict => JunitKind::Note,
        Verdict::Failed | Verdict::Timeout => JunitKind::Failure,
        Verdict::Error => JunitKind::Error,
        Verdict::Unsupported | Verdict::Skipped => JunitKind::Skipped,
    }
}

/// `junit.xml`: one testsuite per target and section.
pub fn junit(index: &Index, catalogue: &[Case]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"siospec\">\n");
    for (target, run) in &index.targets {
        let mut sections: BTreeMap<&str, Vec<(&Case, &CaseSummary, JunitKind)>> = BTreeMap::new();
        for case in catalogue {
            if let Some(s) = run.cases.get(&case.id) {
                let kind = junit_kind(s.verdict, s.accepted.is_some(), run.strict);
                sections
                    .entry(case.section.id)
                    .or_default()
                    .push((case, s, kind));
            }
        }
        for (section, list) in sections {
            let count = |k: JunitKind| list.iter().filter(|(_, _, kind)| *kind == k).count();
            let time: f64 = list.iter().map(|(_, s, _)| s.duration_ms).sum::<f64>() / 1000.0;
            out.push_str(&format!(
                "  <testsuite name=\"{}/{}\" package=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">\n",
                xml(target),
                xml(section),
                xml(section),
                list.len(),
                count(JunitKind::Failure),
                count(JunitKind::Error),
                count(JunitKind::Skipped),
            ));
            for (case, s, kind) in list {
                out.push_str(&format!(
                    "    <testcase name=\"{}\" classname=\"{}.{}\" time=\"{:.3}\">",
                    xml(&case.id),
                    xml(target),
                    xml(section),
                    s.duration_ms / 1000.0
                ));
                let detail = format!(
                    "{} — {}\nRequirement: {}\nActual: {}",
                    s.verdict, case.description, case.requirement, s.actual
                );
                let message = format!("{}: {}", s.verdict, s.actual);
                match (kind, &s.accepted) {
                    (JunitKind::Passed, _) => {}
                    (JunitKind::Note, Some(reason)) => out.push_str(&format!(
                        "<system-out>{} accepted by the baseline: {}</system-out>",
                        s.verdict,
                        xml(reason)
                    )),
                    (JunitKind::Note, None) => {
                        out.push_str(&format!("<system-out>{}</system-out>", xml(&detail)))
                    }
                    (JunitKind::Failure, _) => out.push_str(&format!(
                        "<failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml(&message),
                        s.verdict,
                        xml(&detail)
                    )),
                    (JunitKind::Error, _) => out.push_str(&format!(
                        "<error message=\"{}\" type=\"{}\">{}</error>",
                        xml(&message),
                        s.verdict,
                        xml(&detail)
                    )),
                    (JunitKind::Skipped, _) => {
                        out.push_str(&format!("<skipped message=\"{}\"/>", xml(&message)))
                    }
                }
                out.push_str("</testcase>\n");
            }
            out.push_str("  </testsuite>\n");
        }
    }
    out.push_str("</testsuites>\n");
    out
}

/// A Markdown code span holding `s`.
fn md_code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {} ``", s.replace('\n', " "))
    } else {
        format!("`{}`", s.replace('\n', " "))
    }
}

/// `summary.md`: each target's probe findings first, then the counts per
/// target and every non-OK case with its reason.
pub fn summary(index: &Index, catalogue: &[Case]) -> String {
    let mut out = String::from("# siospec conformance summary\n\n");
    for (target, run) in &index.targets {
        if run.findings.is_empty() {
            continue;
        }
        out.push_str(&format!("**{}** — found by the probe:\n\n", md(target)));
        for f in &run.findings {
            out.push_str(&format!("- {}\n", md(f)));
        }
        out.push('\n');
    }
    out.push_str("| target | cases |");
    for v in Verdict::ALL {
        out.push_str(&format!(" {} |", v.name()));
    }
    out.push_str(" duration |\n|---|---|");
    for _ in Verdict::ALL {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for (target, run) in &index.targets {
        out.push_str(&format!("| {} | {} |", md(target), run.cases.len()));
        for v in Verdict::ALL {
            out.push_str(&format!(
                " {} |",
                run.counts.get(v.name()).copied().unwrap_or(0)
            ));
        }
        out.push_str(&format!(" {:.1} s |\n", run.duration_ms / 1000.0));
    }
    for (target, run) in &index.targets {
        out.push_str(&format!(
            "\n## {}\n\n{}; started {}{}\n\n",
            md(target),
            md(&run.description),
            run.started,
            if run.strict { "; --strict" } else { "" }
        ));
        let kept = run.earlier_cases();
        if kept > 0 {
            out.push_str(&format!(
                "{} case(s) from this run, {kept} kept from earlier runs.\n\n",
                run.cases.len() - kept
            ));
        }
        if !run.command.is_empty() {
            out.push_str(&format!("Re-run: {}\n\n", md_code(&run.command)));
        }
        let non_ok: Vec<_> = catalogue
            .iter()
            .filter_map(|c| run.cases.get(&c.id).map(|s| (c, s)))
            .filter(|(_, s)| s.verdict != Verdict::Ok)
            .collect();
        if non_ok.is_empty() {
            out.push_str("Every case is OK.\n");
            continue;
        }
        out.push_str(
            "| verdict | level | case | what was seen | baseline |\n|---|---|---|---|---|\n",
        );
        for (c, s) in non_ok {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                s.verdict,
                level_name(c.level),
                md_code(&c.id),
                md(&s.actual),
                s.accepted.as_deref().map(md).unwrap_or_default()
            ));
        }
    }
    out
}

/// `MUST`, `SHOULD` or `MAY`.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
        Level::May => "MAY",
    }
}

/// The protocol document a suite follows: its title and address.
pub fn spec_document(suite: Suite) -> (&'static str, &'static str) {
    match suite {
        Suite::Eio4 => (
            "Engine.IO protocol (revision 4)",
            "https://socket.io/docs/v4/engine-io-protocol/",
        ),
        Suite::Sio5 => (
            "Socket.IO protocol (revision 5)",
            "https://socket.io/docs/v4/socket-io-protocol/",
        ),
        Suite::Eio3 => (
            "Engine.IO protocol, revision 3 (branch v3)",
            "https://github.com/socketio/engine.io-protocol/tree/v3",
        ),
        Suite::Sio4 => (
            "Socket.IO protocol, revision 4 (branch v4)",
            "https://github.com/socketio/socket.io-protocol/tree/v4",
        ),
    }
}

/// The current UTC time as RFC 3339 (seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
