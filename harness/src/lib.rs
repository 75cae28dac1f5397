//! siospec tests whether a Socket.IO / Engine.IO server or client speaks the
//! protocol: what Autobahn|Testsuite is to WebSocket and h2spec to HTTP/2.
//! This crate is its library, for a project's own `cargo test`; the
//! `siospec` command line is a thin layer over the same calls.
//!
//! It runs a catalogue of cases, each about one rule of the protocol with a
//! stable id (`eio4.handshake.polling.open`), against a server at a URL or a
//! client started by a command, and reports a [`Verdict`] per case with what
//! was seen and a trace of the wire. It does not fix, mock or proxy anything:
//! the target is a real implementation on real sockets (loopback or not).
//!
//! # Test a server
//!
//! Start your server on a free port, then run the suites against it.
//! [`Report::assert_conformant`] fails the test with every case in the way:
//! its id, the requirement, what was seen and the end of its trace. Here
//! the server is siospec's own reference server; yours would take its place.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//!
//! let server = siospec::serve(siospec::ServeOptions::suite()).unwrap();
//! let report = siospec::Conformance::server(server.url())
//!     .suites(["sio5", "eio4"])
//!     // What no handshake advertises: how the server is configured.
//!     .connect_timeout(Duration::from_secs(1))
//!     .upgrade_timeout(Duration::from_secs(2))
//!     .case("eio4.handshake")
//!     .case("sio5.connect")
//!     .run()
//!     .await;
//! report.assert_conformant();
//! assert!(report.count(siospec::Verdict::Ok) > 10);
//! # }
//! ```
//!
//! Known deviations are accepted with a reason, so that the test passes
//! today and fails the day one of them changes:
//! [`Conformance::accept`] inline, or [`Conformance::baseline`] from a file.
//!
//! # Test a client
//!
//! Give the command that starts your client's driver
//! (harness/CLIENT-CONTRACT.md): it is started for each case, with `{url}`
//! replaced by the URL of a scripted server that plays the case. Here, the
//! official JavaScript client's driver (`npm ci` in harness/peers/node):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let report = siospec::Conformance::client("node peers/node/client-driver.mjs {url}")
//!     .case("client.eio4.handshake")
//!     .run()
//!     .await;
//! report.assert_conformant();
//! assert!(report.cases().iter().all(|c| c.id().starts_with("client.eio4.handshake")));
//! # }
//! ```
//!
//! # Use the reference server in your tests
//!
//! [`serve`] starts the reference server inside the test's process, on a
//! thread of its own, and stops it when dropped: a client library can test
//! against it without a subprocess. It serves the testee contract
//! (harness/CONTRACT.md) at `/socket.io/` and a bare Engine.IO echo server
//! at `/engine.io/`.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let server = siospec::serve(siospec::ServeOptions::new()).unwrap();
//! let mut http = std::net::TcpStream::connect(server.addr()).unwrap();
//! http.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! http.read_to_string(&mut answer).unwrap();
//! assert!(answer.contains(r#""upgrades":["websocket"]"#), "{answer}");
//! ```
//!
//! Everything else the crate holds (the catalogue's modules, the runner,
//! the wire drivers) is the command line's and may change in any release.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod conformance;
mod reference;
mod verdict;

pub use conformance::{CaseReport, Conformance, Error, Report};
pub use reference::{serve, ServeOptions, Served};
pub use verdict::Verdict;

#[doc(hidden)]
pub mod baseline;
#[doc(hidden)]
pub mod bench;
#[doc(hidden)]
pub mod case;
#[doc(hidden)]
pub mod cases;
#[doc(hidden)]
pub mod client_cases;
#[doc(hidden)]
pub mod cluster;
#[doc(hidden)]
pub mod doctor;
#[doc(hidden)]
pub mod matrix;
#[doc(hidden)]
pub mod peer;
pub(crate) mod probe;
pub(crate) mod process;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod target;
#[doc(hidden)]
pub mod tls;
#[doc(hidden)]
pub mod trace;
pub(crate) mod verify;
pub(crate) mod wire;
