//! Servers under load run as processes of their own, so the CPU time and
//! resident memory read from /proc belong to the server alone.

use std::path::Path;

use tokio::process::Command;

use crate::process::{node_peer_command, ServerProcess, NODE_PEER};

const SERVE_ARGS: [&str; 5] = [
    "--mode",
    "socket",
    "--addr",
    "127.0.0.1:0",
    "--exit-on-stdin-close",
];

/// `exe serve --mode socket` (the reference server, engine.io's default
/// timings), `exe` being a siospec binary.
pub async fn start_rust(exe: &Path) -> Result<ServerProcess, String> {
    let mut cmd = Command::new(exe);
    cmd.arg("serve").args(SERVE_ARGS);
    ServerProcess::spawn(cmd, "the reference server").await
}

/// `node server.js --mode socket` in the peer folder `dir` (the official
/// Node server, engine.io's default timings). Not the runner's
/// [`start_node_peer`](crate::target::start_node_peer): that one applies
/// the suite profile, whose 300 ms heartbeat would make a thousand idle
/// clients a ping storm.
pub async fn start_node(dir: &Path) -> Result<ServerProcess, String> {
    let mut cmd = node_peer_command(dir)?;
    cmd.arg("server.js").args(SERVE_ARGS);
    ServerProcess::spawn(cmd, NODE_PEER).await
}
