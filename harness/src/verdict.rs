//! [`Verdict`]: what a case makes of what it saw, in one word.

use serde::{Deserialize, Serialize};

/// A case's verdict: what the protocol's requirement makes of what was
/// seen. FAILED, TIMEOUT and ERROR (and NON-STRICT, when strict) make a
/// target not conformant unless a baseline accepts them.
///
/// ```
/// assert_eq!(siospec::Verdict::Failed.to_string(), "FAILED");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Verdict {
    /// The behaviour is what the protocol requires.
    #[serde(rename = "OK")]
    Ok,
    /// Recorded behaviour the protocol leaves open; reported because it
    /// interests implementors.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// An optional feature the server does not offer.
    #[serde(rename = "UNSUPPORTED")]
    Unsupported,
    /// The harness cannot judge the case against this target (it needs an
    /// endpoint the server does not offer, or would wait longer than
    /// `--max-wait`); the reason says which.
    #[serde(rename = "SKIPPED")]
    Skipped,
    /// A SHOULD is not followed, or a reference-server habit the protocol
    /// does not state differs. Still conformant (a failure with `--strict`).
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// A MUST is not followed.
    #[serde(rename = "FAILED")]
    Failed,
    /// The case did not finish within its time limit.
    #[serde(rename = "TIMEOUT")]
    Timeout,
    /// The harness could not run the case (target unreachable, harness bug).
    #[serde(rename = "ERROR")]
    Error,
}

impl Verdict {
    /// Every verdict, best first (the harness's: a fixed-size array is not
    /// for an enum that may grow).
    #[doc(hidden)]
    pub const ALL: [Verdict; 8] = [
        Verdict::Ok,
        Verdict::Informational,
        Verdict::Unsupported,
        Verdict::Skipped,
        Verdict::NonStrict,
        Verdict::Failed,
        Verdict::Timeout,
        Verdict::Error,
    ];

    /// The name used in reports (`OK`, `NON-STRICT`, …).
    ///
    /// ```
    /// assert_eq!(siospec::Verdict::NonStrict.name(), "NON-STRICT");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unsupported => "UNSUPPORTED",
            Verdict::Skipped => "SKIPPED",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Failed => "FAILED",
            Verdict::Timeout => "TIMEOUT",
            Verdict::Error => "ERROR",
        }
    }

    /// Parses a report name, in any case.
    ///
    /// ```
    /// use siospec::Verdict;
    ///
    /// assert_eq!(Verdict::parse("non-strict"), Some(Verdict::NonStrict));
    /// assert_eq!(Verdict::parse("passed"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}
