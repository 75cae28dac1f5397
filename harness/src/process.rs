//! Servers started as child processes (the peers, and the reference server
//! for the load benchmark). Each announces itself with one line on stdout,
//! `listening on http://ADDR` (harness/CONTRACT.md).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::target::authority_of;

/// How long a server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A server process; killed when dropped (and it exits by itself when its
/// stdin closes, should this process die first, given
/// `--exit-on-stdin-close`).
#[derive(Debug)]
pub struct ServerProcess {
    /// `host:port` it listens on.
    pub authority: String,
    pid: u32,
    _child: Child,
    _stdin: Option<ChildStdin>,
}

impl ServerProcess {
    /// Runs `cmd` and waits for its first stdout line, `ready` followed by
    /// its URL; `what` names it in errors, which carry the start of its stderr.
    pub async fn spawn(mut cmd: Command, ready: &str, what: &str) -> Result<ServerProcess, String> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let pid = child.id().ok_or_else(|| format!("{what} exited at once"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        // Drained so the server never blocks on a full pipe; the start is kept for errors.
        let (err_tx, err_rx) = tokio::sync::oneshot::channel::<String>();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if head.len() < 8192 {
                    head.extend_from_slice(&buf[..n]);
                }
            }
            let _ = err_tx.send(String::from_utf8_lossy(&head).into_owned());
        });
        let mut lines = BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(START_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(l))) => l,
            other => {
                let _ = child.start_kill();
                let stderr_text = tokio::time::timeout(Duration::from_secs(2), err_rx)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                let why = match other {
                    Err(_) => format!("no `{}` line within 20 s", ready.trim_end()),
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(_)) => "it exited".to_owned(),
                };
                return Err(format!(
                    "{what} did not start ({why}){}",
                    if stderr_text.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", stderr_text.trim())
                    }
                ));
            }
        };
        let url = line
            .strip_prefix(ready)
            .ok_or_else(|| format!("unexpected first line from {what}: {line:?}"))?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess {
            // `listening on URL`, maybe followed by words about it.
            authority: authority_of(url.split_whitespace().next().unwrap_or(url))?,
            pid,
            _child: child,
            _stdin: stdin,
        })
    }

    /// Resident memory (VmRSS), KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    /// User plus system CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(self.pid)
    }
}

/// VmRSS of process `pid` from /proc/PID/status, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// utime + stime of process `pid` (all threads) from /proc/PID/stat, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    ticks_in(&format!("/proc/{pid}/stat"))
}

/// utime + stime of thread `tid` of process `pid`, in clock ticks.
pub fn thread_cpu_ticks(pid: u32, tid: u32) -> Option<u64> {
    ticks_in(&format!("/proc/{pid}/task/{tid}/stat"))
}

fn ticks_in(path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; the fields after its `)` are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second of /proc's CPU times. Linux has reported 100
/// (USER_HZ) on every architecture for decades; reading sysconf would need
/// unsafe code, which this crate forbids.
pub const TICKS_PER_SECOND: f64 = 100.0;

#[cfg(test)]
mod tests {
    #[test]
    fn reads_its_own_process() {
        let me = std::process::id();
        assert!(super::rss_kib(me).is_some_and(|k| k > 0));
        assert!(super::cpu_ticks(me).is_some());
    }
}
