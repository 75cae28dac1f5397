//! [`Report`]: what a [`Conformance`](super::Conformance) run found, case
//! by case, and whether that is conformant.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::case::{Case, Verdict};
use crate::report::{self as files, RunInfo};
use crate::runner::{self, CaseResult, Outcome};

use super::Error;

/// How many trace events a case's excerpt keeps: the last ones, where a
/// case goes wrong.
const TRACE_EXCERPT: usize = 12;

/// The settings a report is judged by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) strict: bool,
    pub(super) time_scale: f64,
    pub(super) client: bool,
}

/// What a conformance run found: one [`CaseReport`] per case, and whether
/// the target conforms.
///
/// A target conforms when no case is FAILED, TIMEOUT or ERROR (nor
/// NON-STRICT with [`strict`](super::Conformance::strict)) unless a
/// baseline accepts it, and the run itself did not stop with an
/// [`Error`]. `Display` prints the summary, every other non-OK case on a
/// line, and every case that stands in the way with the requirement, what
/// was seen and the end of its trace: what
/// [`assert_conformant`](Report::assert_conformant) panics with.
#[derive(Debug, Clone)]
#[must_use = "a report says nothing until it is asserted or read"]
pub struct Report {
    target: String,
    description: String,
    findings: Vec<String>,
    started: String,
    duration: Duration,
    settings: Settings,
    cases: Vec<CaseReport>,
    results: Vec<CaseResult>,
    stale: Vec<String>,
    error: Option<Error>,
}

/// One case's result in a [`Report`].
#[derive(Debug, Clone)]
pub struct CaseReport {
    id: String,
    description: String,
    requirement: String,
    verdict: Verdict,
    seen: String,
    expected: Option<String>,
    accepted: Option<String>,
    duration: Duration,
    trace: Vec<String>,
    trace_total: usize,
}

impl CaseReport {
    fn new(result: &CaseResult, case: Option<&Case>) -> CaseReport {
        let shown = result.trace.len().saturating_sub(TRACE_EXCERPT);
        CaseReport {
            id: result.id.clone(),
            description: case.map_or_else(String::new, |c| c.description.clone()),
            requirement: case.map_or_else(String::new, |c| c.requirement.to_owned()),
            verdict: result.verdict,
            seen: match files::actual_of(result) {
                s if s.is_empty() => result.behaviour.actual.clone(),
                s => s,
            },
            expected: result.behaviour.expected.clone(),
            accepted: result.accepted.clone(),
            duration: Duration::from_secs_f64(result.duration_ms.max(0.0) / 1000.0),
            trace: result.trace[shown..].iter().map(|e| e.line()).collect(),
            trace_total: result.trace.len() + result.trace_dropped,
        }
    }

    /// The case's stable id, such as `eio4.handshake.polling.open`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the case checks, in one sentence.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The requirement it checks, quoted from the protocol's text.
    pub fn requirement(&self) -> &str {
        &self.requirement
    }

    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// What was seen (for a case not judged, why).
    pub fn seen(&self) -> &str {
        &self.seen
    }

    /// What the case expected, when it saw something else.
    pub fn expected(&self) -> Option<&str> {
        self.expected.as_deref()
    }

    /// The reason a baseline or [`accept`](super::Conformance::accept)
    /// gives, if one accepts this result.
    pub fn accepted(&self) -> Option<&str> {
        self.accepted.as_deref()
    }

    /// How long the case took.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The last events of the case's wire trace, one line each: time,
    /// connection, direction (`→` to the target, `←` from it) and what.
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    /// Whether this result makes the target not conformant.
    fn counts_against(&self, strict: bool) -> bool {
        self.accepted.is_none()
            && match self.verdict {
                Verdict::Failed | Verdict::Timeout | Verdict::Error => true,
                Verdict::NonStrict => strict,
                _ => false,
            }
    }
}

impl Report {
    pub(super) fn new(outcome: Outcome, catalogue: &[Case], settings: Settings) -> Report {
        let by_id: BTreeMap<&str, &Case> = catalogue.iter().map(|c| (c.id.as_str(), c)).collect();
        Report {
            cases: outcome
                .results
                .iter()
                .map(|r| CaseReport::new(r, by_id.get(r.id.as_str()).copied()))
                .collect(),
            target: outcome.name,
            description: outcome.description,
            findings: outcome.findings,
            started: outcome.started,
            duration: Duration::from_secs_f64(outcome.duration_ms.max(0.0) / 1000.0),
            settings,
            results: outcome.results,
            stale: outcome.stale,
            error: None,
        }
    }

    /// A run that stopped before judging anything.
    pub(super) fn stopped(target: String, settings: Settings, error: Error) -> Report {
        Report {
            target,
            description: String::new(),
            findings: Vec::new(),
            started: crate::report::now_rfc3339(),
            duration: Duration::ZERO,
            settings,
            cases: Vec::new(),
            results: Vec::new(),
            stale: Vec::new(),
            error: Some(error),
        }
    }

    /// The target's name in reports.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Why the run stopped without judging its target, if it did.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// What the probe of a server found before the cases ran (versions,
    /// transports, timings, TLS), one line each.
    pub fn findings(&self) -> &[String] {
        &self.findings
    }

    /// Every case run, in catalogue order.
    pub fn cases(&self) -> &[CaseReport] {
        &self.cases
    }

    /// How many cases got `verdict` (accepted ones included).
    pub fn count(&self, verdict: Verdict) -> usize {
        self.cases.iter().filter(|c| c.verdict == verdict).count()
    }

    /// The cases that make the target not conformant.
    pub fn failures(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|c| c.counts_against(self.settings.strict))
    }

    /// The accepted deviations (baseline entries, [`accept`](super::Conformance::accept)
    /// calls) that matched a case of the run but not its verdict: a
    /// deviation fixed or changed, one line each.
    pub fn stale_acceptances(&self) -> &[String] {
        &self.stale
    }

    /// How long the run took, starting the target included.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The command line's exit status for this report: 0 conformant, 1
    /// conformance failures, 2 the run or a case could not be carried out.
    pub fn exit_code(&self) -> i32 {
        match self.error {
            Some(_) => runner::EXIT_HARNESS,
            None => runner::exit_status(&self.results, self.settings.strict),
        }
    }

    /// Whether the target conforms: [`exit_code`](Report::exit_code) 0.
    pub fn is_conformant(&self) -> bool {
        self.exit_code() == runner::EXIT_OK
    }

    /// Panics, with this report's summary and every case in the way, unless
    /// the target conforms.
    #[track_caller]
    pub fn assert_conformant(&self) {
        if !self.is_conformant() {
            panic!("{self}");
        }
    }

    /// Writes the run as JUnit XML (one testsuite per section; a case is a
    /// failure or an error exactly when it makes the target not conformant).
    pub fn write_junit(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let catalogue = self.catalogue();
        let xml = files::junit_of(&self.info(String::new()), &catalogue, &self.results);
        std::fs::write(path, xml)
    }

    /// The results as the harness keeps them (the command line's summary).
    #[doc(hidden)]
    pub fn results(&self) -> &[CaseResult] {
        &self.results
    }

    /// Writes the report files into `dir`, merging with what is there.
    pub(super) fn write(
        &self,
        dir: &Path,
        catalogue: &[Case],
        command: String,
    ) -> Result<(), String> {
        files::write(dir, catalogue, &self.info(command), &self.results)
    }

    fn info(&self, command: String) -> RunInfo<'_> {
        RunInfo {
            name: &self.target,
            description: &self.description,
            started: self.started.clone(),
            duration_ms: self.duration.as_secs_f64() * 1000.0,
            time_scale: self.settings.time_scale,
            strict: self.settings.strict,
            command,
            findings: self.findings.clone(),
        }
    }

    fn catalogue(&self) -> Vec<Case> {
        if self.settings.client {
            crate::client_cases::all()
        } else {
            crate::cases::all()
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.error {
            return write!(f, "siospec could not test {}: {error}", self.target);
        }
        let failures: Vec<&CaseReport> = self.failures().collect();
        let verdict = if failures.is_empty() {
            "conformant"
        } else {
            "NOT conformant"
        };
        writeln!(
            f,
            "siospec: {} ({}) is {verdict}: {} case(s) in {:.1} s",
            self.target,
            self.description,
            self.cases.len(),
            self.duration.as_secs_f64()
        )?;
        let counts: Vec<String> = Verdict::ALL
            .into_iter()
            .map(|v| (v, self.count(v)))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {v}"))
            .collect();
        writeln!(f, "  {}", counts.join(", "))?;
        let accepted = self.cases.iter().filter(|c| c.accepted.is_some()).count();
        if accepted > 0 {
            writeln!(f, "  {accepted} non-OK result(s) accepted")?;
        }
        for line in &self.stale {
            writeln!(f, "  {line}")?;
        }
        // The other non-OK results, one line each: what a reader checks
        // before calling the target conformant.
        let others: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| c.verdict != Verdict::Ok && !c.counts_against(self.settings.strict))
            .collect();
        if !others.is_empty() {
            writeln!(f)?;
            writeln!(f, "not counted against it:")?;
            for case in others {
                match &case.accepted {
                    Some(reason) => {
                        writeln!(f, "  {:<13} {} (accepted: {reason})", case.verdict, case.id)?
                    }
                    None => writeln!(f, "  {:<13} {}: {}", case.verdict, case.id, case.seen)?,
                }
            }
        }
        for case in failures {
            writeln!(f)?;
            writeln!(f, "{} {} — {}", case.verdict, case.id, case.description)?;
            writeln!(f, "  requirement: {}", case.requirement)?;
            if let Some(expected) = &case.expected {
                writeln!(f, "  expected:    {expected}")?;
            }
            writeln!(f, "  seen:        {}", case.seen)?;
            if !case.trace.is_empty() {
                writeln!(
                    f,
                    "  trace (last {} of {} events):",
                    case.trace.len(),
                    case.trace_total
                )?;
                for line in &case.trace {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        Ok(())
    }
}
