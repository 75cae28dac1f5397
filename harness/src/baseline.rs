//! The baseline file: deviations a project accepts, each with a reason.
//!
//! ```json
//! {
//!   "schema": "siospec-baseline/1",
//!   "accepted": [
//!     {"target": "node", "case": "eio4.close.websocket.client", "verdict": "NON-STRICT",
//!      "reason": "engine.io ignores a `1` received over WebSocket; the session ends at the ping timeout"}
//!   ]
//! }
//! ```
//!
//! `target` and `case` are globs (`*`, `?`; a case id without wildcards also
//! covers the ids below it). A result is accepted when an entry matches its
//! target, its case id and exactly its verdict; accepted results do not count
//! towards the exit status.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::Verdict;
use crate::runner::{id_matches, CaseResult};

/// The schema name a baseline file must declare.
pub const SCHEMA: &str = "siospec-baseline/1";

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Must be [`SCHEMA`].
    pub schema: String,
    /// The accepted deviations.
    pub accepted: Vec<Accepted>,
}

/// One accepted deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// Target glob (default `*`).
    #[serde(default = "any")]
    pub target: String,
    /// Case id glob.
    pub case: String,
    /// The verdict accepted.
    pub verdict: Verdict,
    /// Why it is accepted (required, non-empty): what was seen, checked by hand.
    pub reason: String,
    /// For a third-party implementation's deviation: how much it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// How much a deviation matters, as the matrix's findings rate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Normal use with the official client or server meets it: data lost
    /// or corrupted, a call that never completes, a session that hangs or
    /// ends late.
    InteropBreaking,
    /// Only a test (or a peer stricter than the official one) notices.
    SpecOnly,
}

impl Severity {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Severity::InteropBreaking => "interop-breaking",
            Severity::SpecOnly => "spec-only",
        }
    }
}

fn any() -> String {
    "*".to_owned()
}

impl Baseline {
    /// Reads and validates a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let b: Baseline =
            serde_json::from_str(&text).map_err(|e| format!("baseline {}: {e}", path.display()))?;
        if b.schema != SCHEMA {
            return Err(format!(
                "baseline {}: schema must be {SCHEMA:?}, got {:?}",
                path.display(),
                b.schema
            ));
        }
        if let Some(a) = b.accepted.iter().find(|a| a.reason.trim().is_empty()) {
            return Err(format!(
                "baseline {}: the entry for {} has no reason",
                path.display(),
                a.case
            ));
        }
        Ok(b)
    }

    /// The entry accepting `verdict` for `case` on `target`, if any.
    ///
    /// An entry for an implementation also accepts its run with the msgpack
    /// parser (`NAME-msgpack`): a deviation outside the parser is the same
    /// with either. Entries for `NAME-msgpack` are that run's own.
    pub fn accepts(&self, target: &str, case: &str, verdict: Verdict) -> Option<&Accepted> {
        let base = crate::runner::implementation_of(target);
        self.accepted.iter().find(|a| {
            a.verdict == verdict
                && (id_matches(&a.target, target) || base.is_some_and(|b| id_matches(&a.target, b)))
                && id_matches(&a.case, case)
        })
    }

    /// Marks every non-OK result of `target` this baseline accepts with the
    /// entry's reason. Returns, one line each, the entries for `target` that
    /// matched a case of these results but not its verdict: a deviation
    /// fixed, or changed.
    ///
    /// Only entries written for `target` itself can be stale: an
    /// implementation's entry may not apply to its msgpack run.
    pub fn apply(&self, target: &str, results: &mut [CaseResult]) -> Vec<String> {
        for r in results.iter_mut() {
            if r.verdict != Verdict::Ok {
                r.accepted = self
                    .accepts(target, &r.id, r.verdict)
                    .map(|a| a.reason.clone());
            }
        }
        let mut stale = Vec::new();
        for a in &self.accepted {
            // A case the harness could not judge this time (SKIPPED, such as
            // one that waits longer than --max-wait) says nothing about it.
            let ran: Vec<&CaseResult> = results
                .iter()
                .filter(|r| r.verdict != Verdict::Skipped || a.verdict == Verdict::Skipped)
                .filter(|r| id_matches(&a.target, target) && id_matches(&a.case, &r.id))
                .collect();
            if !ran.is_empty() && !ran.iter().any(|r| r.verdict == a.verdict) {
                stale.push(format!(
                    "baseline entry {} ({}) no longer applies: {}",
                    a.case,
                    a.verdict,
                    ran.iter()
                        .map(|r| format!("{} is {}", r.id, r.verdict))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Judged;

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            verdict,
            behaviour: Judged {
                verdict,
                outcome: None,
                expected: None,
                actual: String::new(),
            },
            close: None,
            duration_ms: 0.0,
            trace: Vec::new(),
            trace_dropped: 0,
            accepted: None,
        }
    }

    /// An entry whose case now has another verdict no longer applies; one
    /// whose case was SKIPPED (not judged this time) still does.
    #[test]
    fn a_changed_verdict_makes_an_entry_stale_and_a_skipped_case_does_not() {
        let b = Baseline {
            schema: SCHEMA.to_owned(),
            accepted: vec![Accepted {
                target: "*".to_owned(),
                case: "eio4.x".to_owned(),
                verdict: Verdict::Failed,
                reason: "seen by hand".to_owned(),
                severity: Some(Severity::SpecOnly),
            }],
        };
        let mut failed = [result("eio4.x", Verdict::Failed)];
        assert!(b.apply("t", &mut failed).is_empty());
        assert_eq!(failed[0].accepted.as_deref(), Some("seen by hand"));
        assert!(b
            .apply("t", &mut [result("eio4.x", Verdict::Skipped)])
            .is_empty());
        let stale = b.apply("t", &mut [result("eio4.x", Verdict::Ok)]);
        assert_eq!(stale.len(), 1, "{stale:?}");
        assert!(stale[0].contains("eio4.x is OK"), "{stale:?}");
    }
}
