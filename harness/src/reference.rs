//! [`serve`]: the reference server started inside the calling process, for
//! the tests of a client library (no subprocess, no binary to find).

use std::net::SocketAddr;
use std::time::Duration;

use crate::server::{Options, ServerThread, Serves};

/// How to start the reference server with [`serve`]: what `siospec serve`
/// takes as flags.
///
/// The server serves the Socket.IO testee contract at `/socket.io/`
/// (harness/CONTRACT.md: `echo` answered with `echo-back`, acks answered
/// with their arguments, rooms, broadcasts, namespaces `/` and `/custom`)
/// and a bare Engine.IO echo server at `/engine.io/`, on one port.
///
/// ```
/// use std::time::Duration;
///
/// let options = siospec::ServeOptions::new()
///     .ping(Duration::from_millis(300), Duration::from_millis(200))
///     .allow_eio3(true);
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until given to siospec::serve"]
pub struct ServeOptions {
    addr: SocketAddr,
    options: Options,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::new()
    }
}

impl ServeOptions {
    /// engine.io's and socket.io's defaults (pingInterval 25 s, pingTimeout
    /// 20 s, connectTimeout 45 s, maxHttpBufferSize 1 MB, no CORS), on a
    /// free port of 127.0.0.1, following the protocol text where the
    /// official server has habits of its own.
    pub fn new() -> ServeOptions {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            options: Options::standard(Serves::Both),
        }
    }

    /// The testee contract's reference configuration, the one the
    /// conformance suites are quickest against: pingInterval 300 ms,
    /// pingTimeout 200 ms, upgradeTimeout 2 s, connectTimeout 1 s, CORS
    /// origin `*` (`siospec serve --profile suite`).
    pub fn suite() -> ServeOptions {
        ServeOptions {
            options: Options::suite(Serves::Both),
            ..ServeOptions::new()
        }
    }

    /// Listens on `addr` (port 0: a free port).
    ///
    /// ```
    /// let options = siospec::ServeOptions::new().addr("127.0.0.1:0".parse().unwrap());
    /// ```
    pub fn addr(mut self, addr: SocketAddr) -> ServeOptions {
        self.addr = addr;
        self
    }

    /// The heartbeat: a PING every `interval`, and `timeout` for the PONG.
    pub fn ping(mut self, interval: Duration, timeout: Duration) -> ServeOptions {
        self.options.engine.ping_interval = interval;
        self.options.engine.ping_timeout = timeout;
        self
    }

    /// Accepts Engine.IO v3 (Socket.IO 1.x and 2.x) clients too.
    pub fn allow_eio3(mut self, allow: bool) -> ServeOptions {
        self.options.engine.allow_eio3 = allow;
        self
    }

    /// Reproduces (`true`) the official Node server where it departs from
    /// the protocol text (`siospec serve --node-habits`).
    pub fn node_habits(mut self, on: bool) -> ServeOptions {
        self.options = self.options.with_node_habits(on);
        self
    }

    /// Offers connection state recovery on the namespace `/recovery`,
    /// keeping a socket whose client went away for `max_disconnection`.
    pub fn recovery(mut self, max_disconnection: Duration) -> ServeOptions {
        self.options.recovery = Some(max_disconnection);
        self
    }

    /// Options the command line made flag by flag (`siospec serve`).
    #[doc(hidden)]
    pub fn from_options(addr: SocketAddr, options: Options) -> ServeOptions {
        ServeOptions { addr, options }
    }
}

/// The reference server [`serve`] started: it stops when dropped.
#[must_use = "the server stops when this is dropped"]
pub struct Served {
    server: ServerThread,
    tls: bool,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served").field("url", &self.url()).finish()
    }
}

impl Served {
    /// Its base URL, `http://127.0.0.1:PORT` (`https://` over TLS): what
    /// [`Conformance::server`](crate::Conformance::server) and clients take.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.server.addr())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Stops it: every session is closed, then the server's thread ends.
    pub fn stop(self) {
        self.server.stop();
    }
}

/// Starts the reference server in this process, on a thread of its own,
/// and returns once it listens.
///
/// It is the server `siospec serve` runs: the codec's session machines on
/// tokio and hyper, on a single-threaded runtime of its own, so it works
/// beside any runtime of the caller (or none).
///
/// ```
/// use std::io::{Read, Write};
///
/// let server = siospec::serve(siospec::ServeOptions::new()).unwrap();
/// let mut http = std::net::TcpStream::connect(server.addr()).unwrap();
/// http.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
/// let mut answer = String::new();
/// http.read_to_string(&mut answer).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
/// assert!(answer.contains("\"pingInterval\":25000"), "{answer}");
/// server.stop();
/// ```
pub fn serve(options: ServeOptions) -> std::io::Result<Served> {
    let tls = options.options.tls.is_some();
    let server = ServerThread::start(options.addr, options.options)?;
    Ok(Served { server, tls })
}
