//! "My server": what a project ships. Here, a socketioxide server that
//! follows siospec's testee contract (harness/CONTRACT.md), from
//! harness/peers/socketioxide; its tests (tests/conformance.rs) run siospec's
//! conformance suites against it.

use std::net::SocketAddr;

pub use siospec_socketioxide_server::Running;

/// Starts the server on a free port of 127.0.0.1, on the current tokio
/// runtime, with the timings the conformance suites run quickest against
/// (pingInterval 300 ms, pingTimeout 200 ms, connectTimeout 1 s); it serves
/// until the returned handle is dropped.
pub async fn start_on_free_port() -> Running {
    let config = siospec_socketioxide_server::Config {
        suite: true,
        allow_eio3: false,
        msgpack: false,
    };
    siospec_socketioxide_server::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("a free port of 127.0.0.1")
}

/// The URL clients and siospec take: `http://127.0.0.1:PORT`.
pub fn url_of(server: &Running) -> String {
    format!("http://{}", server.addr)
}
