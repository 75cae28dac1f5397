//! Reports: `index.json` (schema-versioned), one JSON and one HTML page per
//! case and target, `junit.xml`, `summary.md` and the static `report.html`
//! matrix (targets × cases, grouped by section). Several runs into the same
//! directory add their targets to the matrix.

mod html;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::{Case, Verdict};
use crate::runner::CaseResult;

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
    /// Cases per verdict.
    pub counts: BTreeMap<String, usize>,
    /// Case id → result summary.
    pub cases: BTreeMap<String, CaseSummary>,
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

/// Writes one target's results into `dir`, merging with the targets already
/// there, and regenerates the aggregate files.
pub fn write(
    dir: &Path,
    catalogue: &[Case],
    run: &RunInfo<'_>,
    results: &[CaseResult],
) -> Result<(), String> {
    let io = |e: std::io::Error, what: &Path| format!("cannot write {}: {e}", what.display());
    let slug = slug(run.name);
    let case_dir = dir.join("cases").join(&slug);
    if case_dir.exists() {
        std::fs::remove_dir_all(&case_dir).map_err(|e| io(e, &case_dir))?;
    }
    std::fs::create_dir_all(&case_dir).map_err(|e| io(e, &case_dir))?;
    let by_id: BTreeMap<&str, &Case> = catalogue.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut cases = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
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
            let page = html::case_page(run.name, case, r);
            let html_path = case_dir.join(format!("{}.html", r.id));
            std::fs::write(&html_path, page).map_err(|e| io(e, &html_path))?;
        }
        *counts.entry(r.verdict.name().to_owned()).or_default() += 1;
        cases.insert(
            r.id.clone(),
            CaseSummary {
                verdict: r.verdict,
                behaviour: r.behaviour.verdict,
                close: r.close.as_ref().map(|c| c.verdict),
                duration_ms: r.duration_ms,
                actual: actual_of(r),
                accepted: r.accepted.clone(),
                report: format!("cases/{slug}/{}.json", r.id),
            },
        );
    }
    let index_path = dir.join("index.json");
    let mut index = std::fs::read_to_string(&index_path)
        .ok()
        .and_then(|t| serde_json::from_str::<Index>(&t).ok())
        .filter(|i| i.schema == SCHEMA)
        .unwrap_or_default();
    index.schema = SCHEMA.to_owned();
    index.generator = format!("siospec {}", env!("CARGO_PKG_VERSION"));
    index.targets.insert(
        run.name.to_owned(),
        TargetRun {
            description: run.description.to_owned(),
            started: run.started.clone(),
            duration_ms: run.duration_ms,
            time_scale: run.time_scale,
            strict: run.strict,
            counts,
            cases,
        },
    );
    let text = serde_json::to_string_pretty(&index).map_err(|e| e.to_string())?;
    std::fs::write(&index_path, text).map_err(|e| io(e, &index_path))?;
    for (name, content) in [
        ("junit.xml", junit(&index, catalogue)),
        ("summary.md", summary(&index, catalogue)),
        ("report.html", html::matrix(&index, catalogue)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, content).map_err(|e| io(e, &p))?;
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

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `junit.xml`: one testsuite per target and section.
pub fn junit(index: &Index, catalogue: &[Case]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"siospec\">\n");
    for (target, run) in &index.targets {
        let mut sections: BTreeMap<&str, Vec<(&Case, &CaseSummary)>> = BTreeMap::new();
        for case in catalogue {
            if let Some(s) = run.cases.get(&case.id) {
                sections.entry(case.section.id).or_default().push((case, s));
            }
        }
        for (section, list) in sections {
            let failures = list
                .iter()
                .filter(|(_, s)| s.accepted.is_none() && s.verdict == Verdict::Failed)
                .count();
            let errors = list
                .iter()
                .filter(|(_, s)| {
                    s.accepted.is_none() && matches!(s.verdict, Verdict::Error | Verdict::Timeout)
                })
                .count();
            let skipped = list
                .iter()
                .filter(|(_, s)| s.verdict == Verdict::Unsupported)
                .count();
            let time: f64 = list.iter().map(|(_, s)| s.duration_ms).sum::<f64>() / 1000.0;
            out.push_str(&format!(
                "  <testsuite name=\"{}/{}\" package=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
                xml(target),
                xml(section),
                xml(section),
                list.len()
            ));
            for (case, s) in list {
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
                match (s.verdict, &s.accepted) {
                    (_, Some(reason)) => out.push_str(&format!(
                        "<system-out>{} accepted by the baseline: {}</system-out>",
                        s.verdict,
                        xml(reason)
                    )),
                    (Verdict::Failed, None) => out.push_str(&format!(
                        "<failure message=\"{}\">{}</failure>",
                        xml(&s.actual),
                        xml(&detail)
                    )),
                    (Verdict::Error | Verdict::Timeout, None) => out.push_str(&format!(
                        "<error message=\"{}: {}\">{}</error>",
                        s.verdict,
                        xml(&s.actual),
                        xml(&detail)
                    )),
                    (Verdict::Unsupported, None) => {
                        out.push_str(&format!("<skipped message=\"{}\"/>", xml(&s.actual)))
                    }
                    (Verdict::Ok, None) => {}
                    (_, None) => {
                        out.push_str(&format!("<system-out>{}</system-out>", xml(&detail)))
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

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `summary.md`: counts per target and every non-OK case with its reason.
pub fn summary(index: &Index, catalogue: &[Case]) -> String {
    let mut out = String::from("# siospec conformance summary\n\n");
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
            "\n## {}\n\n{}; started {}\n\n",
            md(target),
            md(&run.description),
            run.started
        ));
        let non_ok: Vec<_> = catalogue
            .iter()
            .filter_map(|c| run.cases.get(&c.id).map(|s| (c, s)))
            .filter(|(_, s)| s.verdict != Verdict::Ok)
            .collect();
        if non_ok.is_empty() {
            out.push_str("Every case is OK.\n");
            continue;
        }
        out.push_str("| verdict | case | what was seen | baseline |\n|---|---|---|---|\n");
        for (c, s) in non_ok {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                s.verdict,
                c.id,
                md(&s.actual),
                s.accepted.as_deref().map(md).unwrap_or_default()
            ));
        }
    }
    out
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
