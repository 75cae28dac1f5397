//! siospec: a conformance toolkit for Engine.IO / Socket.IO servers — to
//! Socket.IO what Autobahn|Testsuite is to WebSocket and h2spec to HTTP/2.
//!
//! * [`cases`]: the catalogue, one module per spec section; every case has a
//!   stable hierarchical id, the requirement it checks, its expected
//!   outcomes each mapped to a [`Verdict`](case::Verdict), and a short run
//!   function over the shared checks in `verify`.
//! * `wire`: the harness's own HTTP / WebSocket / Engine.IO / Socket.IO
//!   drivers on `siospec-codec`, tracing every exchange ([`trace`]).
//! * [`runner`] runs cases against a [`target`] (a URL or a [`peer`] it
//!   starts), [`report`] writes the reports, [`baseline`] reads accepted
//!   deviations; the `siospec` binary's command line is a thin layer over
//!   [`runner::Run`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod baseline;
pub mod bench;
pub mod case;
pub mod cases;
pub mod client_cases;
pub mod matrix;
pub mod peer;
pub(crate) mod probe;
pub(crate) mod process;
pub mod report;
pub mod runner;
pub mod server;
pub mod suite;
pub mod target;
pub mod tls;
pub mod trace;
pub(crate) mod verify;
pub(crate) mod wire;
