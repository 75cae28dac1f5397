//! The case model, the same whichever role the harness plays: sections,
//! cases, levels, expected outcomes and their verdicts, what a case
//! observed on the behaviour and close axes, and why it stopped. What a
//! case runs against is its role's context: [`server::Ctx`] when the
//! harness judges a server, [`client::Ctx`] when it judges a client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use siospec_codec::session::socket::Parser;

use crate::suite::{Expected, Suite};
use crate::wire::http::HttpError;
use crate::wire::ws::Refused;

pub mod client;
pub mod remote;
pub mod server;

pub use crate::verdict::Verdict;

/// One acceptable outcome of a case and the verdict it earns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expect {
    /// The key the run function reports when it sees this outcome.
    pub key: &'static str,
    /// The verdict this outcome earns.
    pub verdict: Verdict,
    /// What the outcome is, in prose.
    pub text: String,
}

/// How strongly the protocol states what a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// A MUST: an unexpected outcome is FAILED.
    #[serde(rename = "MUST")]
    Must,
    /// A SHOULD, or the reference configuration's habits: unexpected is NON-STRICT.
    #[serde(rename = "SHOULD")]
    Should,
    /// The protocol is silent: every outcome is recorded as INFORMATIONAL.
    #[serde(rename = "MAY")]
    May,
}

impl Level {
    fn otherwise(self) -> Verdict {
        match self {
            Level::Must => Verdict::Failed,
            Level::Should => Verdict::NonStrict,
            Level::May => Verdict::Informational,
        }
    }
}

/// A spec section: one file of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Id prefix of every case in the section (`eio4.handshake`).
    pub id: &'static str,
    /// The suite the section belongs to.
    pub suite: Suite,
    /// Title shown in reports.
    pub title: &'static str,
    /// The specification text the section follows (document and heading).
    pub spec: &'static str,
}

/// What a case saw on one axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Obs {
    /// One of the declared outcomes, with what was seen.
    Is {
        /// The outcome's key.
        key: &'static str,
        /// What was seen.
        actual: String,
    },
    /// None of the declared outcomes; what was seen instead.
    Not(String),
}

/// What a case saw: the message behaviour and, for cases that judge it,
/// the close behaviour (who ended the session, how).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The behaviour axis.
    pub behaviour: Obs,
    /// The close axis.
    pub close: Option<Obs>,
}

impl Observed {
    /// The outcome `ok` was seen.
    pub fn ok(actual: impl Into<String>) -> Observed {
        Observed::is("ok", actual)
    }

    /// The outcome `key` was seen.
    pub fn is(key: &'static str, actual: impl Into<String>) -> Observed {
        Observed {
            behaviour: Obs::Is {
                key,
                actual: actual.into(),
            },
            close: None,
        }
    }

    /// No declared outcome was seen on the behaviour axis.
    pub fn not(actual: impl Into<String>) -> Observed {
        Observed {
            behaviour: Obs::Not(actual.into()),
            close: None,
        }
    }

    /// Adds the close axis: outcome `key`.
    pub fn close_is(mut self, key: &'static str, actual: impl Into<String>) -> Observed {
        self.close = Some(Obs::Is {
            key,
            actual: actual.into(),
        });
        self
    }

    /// Adds the close axis: no declared outcome.
    pub fn close_not(mut self, actual: impl Into<String>) -> Observed {
        self.close = Some(Obs::Not(actual.into()));
        self
    }
}

/// Why a run function stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The server did something no declared outcome allows.
    Fail(String),
    /// The server lacks an optional part of the testee contract the case
    /// needs (CONTRACT.md's table of optional features): UNSUPPORTED.
    Unsupported(String),
    /// The harness could not do its part (target unreachable, …).
    Harness(String),
    /// What the case's rule needs first did not happen, for a reason
    /// another case judges (a client that does not multiplex cannot show
    /// what a DISCONNECT of one namespace leaves of the others): SKIPPED,
    /// not a second FAILED for the same deviation.
    Skipped(String),
}

impl From<HttpError> for Stop {
    fn from(e: HttpError) -> Stop {
        match e {
            HttpError::Connect(_) => Stop::Harness(e.to_string()),
            _ => Stop::Fail(e.to_string()),
        }
    }
}

impl From<Refused> for Stop {
    fn from(e: Refused) -> Stop {
        match e {
            Refused::Connect(_) => Stop::Harness(e.to_string()),
            _ => Stop::Fail(e.to_string()),
        }
    }
}

/// What a run function returns.
pub type Outcome = Result<Observed, Stop>;

/// A boxed run future.
pub type RunFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A server case's run function.
pub type RunFn = Arc<dyn Fn(server::Ctx) -> RunFuture + Send + Sync>;

/// A client case's run function.
pub type ClientRunFn = Arc<dyn Fn(client::Ctx) -> RunFuture + Send + Sync>;

/// What a case runs, by the role the harness plays.
#[derive(Clone)]
pub enum Runs {
    /// It judges a server: it is the client.
    Server(RunFn),
    /// It judges a client: it is the (scripted) server.
    Client(ClientRunFn),
}

/// Where the official suites had a case of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Origin {
    /// A case of an official suite, reproduced natively; the mocha title path.
    Official {
        /// `describe` / `it` titles joined with ` / `.
        title: &'static str,
        /// What the native version fixes, if anything.
        #[serde(skip_serializing_if = "Option::is_none")]
        fixes: Option<&'static str>,
    },
    /// A case the official suites lack.
    Added,
}

/// One conformance case.
#[derive(Clone)]
pub struct Case {
    /// Stable hierarchical id, never renumbered (`eio4.handshake.polling.open`).
    pub id: String,
    /// The section (spec heading, file) it belongs to.
    pub section: Section,
    /// The requirement, quoted from the specification (or the reference
    /// configuration for contract cases).
    pub requirement: &'static str,
    /// How strongly the requirement is stated.
    pub level: Level,
    /// One line: what the case does.
    pub description: String,
    /// Official or added.
    pub origin: Origin,
    /// The acceptable behaviour outcomes.
    pub expect: Vec<Expect>,
    /// The acceptable close outcomes (empty: the close axis is not judged).
    pub close: Vec<Expect>,
    /// Time limit of the whole case, in milliseconds (scaled by `--time-scale`).
    pub limit_ms: u64,
    /// Runs alone on its server even with `--jobs N` (it broadcasts to, or
    /// counts, every client of a namespace there).
    pub exclusive: bool,
    /// Needs the bare Engine.IO echo of engine mode: through a Socket.IO
    /// server the messages it sends would be Socket.IO packets.
    pub needs_echo: bool,
    /// How long the case waits on the server's own timers (heartbeat,
    /// connect or upgrade timeout) or in a window of its own, in
    /// milliseconds before scaling, for the configuration the server
    /// advertised. Added to the time limit; a case that would wait longer
    /// than `--max-wait` is SKIPPED; the longest cases of a run start first.
    pub waits: fn(&Expected) -> u64,
    /// Keeps a session that joins no Socket.IO namespace for the whole of
    /// its waits: through a Socket.IO server, whose connectTimeout ends such
    /// sessions, it can only be judged when the waits end before that.
    pub unjoined: bool,
    /// Only selected when the cases speak this parser (`--parser`): a rule
    /// of that parser's wire format.
    pub parser: Option<Parser>,
    /// The run function, for its role.
    pub run: Runs,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("id", &self.id).finish()
    }
}

impl Case {
    /// A MUST case `section.local`.
    pub fn new(section: Section, local: &str, description: impl Into<String>) -> Case {
        Case {
            id: format!("{}.{local}", section.id),
            section,
            requirement: "",
            level: Level::Must,
            description: description.into(),
            origin: Origin::Added,
            expect: Vec::new(),
            close: Vec::new(),
            limit_ms: 10_000,
            exclusive: false,
            needs_echo: false,
            waits: |_| 0,
            unjoined: false,
            parser: None,
            run: Runs::Server(Arc::new(|_| {
                Box::pin(async { Err(Stop::Harness("case has no run function".into())) })
            })),
        }
    }

    /// The suite the case belongs to.
    pub fn suite(&self) -> Suite {
        self.section.suite
    }

    /// Sets the quoted requirement.
    pub fn req(mut self, requirement: &'static str) -> Case {
        self.requirement = requirement;
        self
    }

    /// A SHOULD-level case.
    pub fn should(mut self) -> Case {
        self.level = Level::Should;
        self
    }

    /// An informational case.
    pub fn may(mut self) -> Case {
        self.level = Level::May;
        self
    }

    /// Marks it as a native version of an official case.
    pub fn official(mut self, title: &'static str, fixes: Option<&'static str>) -> Case {
        self.origin = Origin::Official { title, fixes };
        self
    }

    /// Adds the outcome `ok` (verdict OK).
    pub fn ok(self, text: impl Into<String>) -> Case {
        self.outcome("ok", Verdict::Ok, text)
    }

    /// Adds a behaviour outcome.
    pub fn outcome(mut self, key: &'static str, verdict: Verdict, text: impl Into<String>) -> Case {
        self.expect.push(Expect {
            key,
            verdict,
            text: text.into(),
        });
        self
    }

    /// Adds a close outcome.
    pub fn close(mut self, key: &'static str, verdict: Verdict, text: impl Into<String>) -> Case {
        self.close.push(Expect {
            key,
            verdict,
            text: text.into(),
        });
        self
    }

    /// Selects the case only with `parser` (see [`Case::parser`]).
    pub fn only_with(mut self, parser: Parser) -> Case {
        self.parser = Some(parser);
        self
    }

    /// Marks the case as one that must run alone on its server.
    pub fn exclusive(mut self) -> Case {
        self.exclusive = true;
        self
    }

    /// Marks the case as one that needs engine mode's echo.
    pub fn echo(mut self) -> Case {
        self.needs_echo = true;
        self
    }

    /// Sets how long the case waits on the server's timers (see [`Case::waits`]).
    pub fn waits(mut self, waits: fn(&Expected) -> u64) -> Case {
        self.waits = waits;
        self
    }

    /// Marks the case as one whose session joins no namespace (see [`Case::unjoined`]).
    pub fn unjoined(mut self) -> Case {
        self.unjoined = true;
        self
    }

    /// Sets the time limit (ms, before scaling).
    pub fn limit(mut self, ms: u64) -> Case {
        self.limit_ms = ms;
        self
    }

    /// Sets the run function of a server case.
    pub fn run<F, Fut>(mut self, f: F) -> Case
    where
        F: Fn(server::Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.run = Runs::Server(Arc::new(move |cx| Box::pin(f(cx))));
        self
    }

    /// Sets the run function of a client case.
    pub fn run_client<F, Fut>(mut self, f: F) -> Case
    where
        F: Fn(client::Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.run = Runs::Client(Arc::new(move |cx| Box::pin(f(cx))));
        self
    }

    /// Whether it judges a client.
    pub fn judges_client(&self) -> bool {
        matches!(self.run, Runs::Client(_))
    }

    /// The verdict for an unexpected outcome.
    pub fn otherwise(&self) -> Verdict {
        self.level.otherwise()
    }
}
