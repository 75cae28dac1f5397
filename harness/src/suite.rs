//! The four suites and the server configuration each one expects.

use serde::{Deserialize, Serialize};

/// A suite: a protocol revision pair, served at one engine path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Engine.IO protocol 4, bare echo server at `/engine.io/`.
    Eio4,
    /// Engine.IO protocol 3, bare echo server at `/engine.io/` with EIO=3 allowed.
    Eio3,
    /// Socket.IO protocol 5 over Engine.IO 4, at `/socket.io/`.
    Sio5,
    /// Socket.IO protocol 4 over Engine.IO 3, at `/socket.io/` with EIO=3 allowed.
    Sio4,
}

/// Which server a suite talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A bare Engine.IO echo server at `/engine.io/`.
    Engine,
    /// A Socket.IO server implementing the testee contract at `/socket.io/`.
    Socket,
}

/// How a suite's server must be started: the testee contract's options.
/// One server serves both modes, each at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Whether EIO=3 clients are accepted.
    pub allow_eio3: bool,
}

impl Suite {
    /// Every suite, in run order.
    pub const ALL: [Suite; 4] = [Suite::Eio4, Suite::Eio3, Suite::Sio5, Suite::Sio4];

    /// The suite's name on the command line and in ids.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Eio4 => "eio4",
            Suite::Eio3 => "eio3",
            Suite::Sio5 => "sio5",
            Suite::Sio4 => "sio4",
        }
    }

    /// Parses a suite name.
    pub fn parse(s: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|x| x.name() == s.trim())
    }

    /// The Engine.IO protocol revision (the `EIO` query value).
    pub fn eio(self) -> u8 {
        match self {
            Suite::Eio4 | Suite::Sio5 => 4,
            Suite::Eio3 | Suite::Sio4 => 3,
        }
    }

    /// The server this suite needs: EIO=3 accepted for the protocol 3
    /// suites only, since a v4 server rightly refuses it.
    pub fn server(self) -> ServerConfig {
        ServerConfig {
            allow_eio3: self.eio() == 3,
        }
    }

    /// The mode this suite tests: the bare Engine.IO echo or the Socket.IO contract.
    pub fn mode(self) -> Mode {
        match self {
            Suite::Eio4 | Suite::Eio3 => Mode::Engine,
            Suite::Sio5 | Suite::Sio4 => Mode::Socket,
        }
    }
}

impl Mode {
    /// The path this mode is served at by default (`--path`, `--engine-path`).
    pub fn default_path(self) -> &'static str {
        match self {
            Mode::Engine => "/engine.io/",
            Mode::Socket => "/socket.io/",
        }
    }
}

/// The configuration a server runs with, in milliseconds and bytes: the
/// first three as its handshake advertises them, the last two as the user
/// says (no handshake carries them). [`Expected::default`] is the testee
/// contract's reference configuration (the official suites', `--profile suite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// `pingInterval`.
    pub ping_interval: u64,
    /// `pingTimeout`.
    pub ping_timeout: u64,
    /// `maxPayload` (`maxHttpBufferSize`).
    pub max_payload: u64,
    /// Socket.IO `connectTimeout`.
    pub connect_timeout: u64,
    /// `upgradeTimeout`.
    pub upgrade_timeout: u64,
}

impl Expected {
    /// The testee contract's reference configuration, read from the codec's
    /// [`contract::Config::reference`](siospec_codec::session::contract::Config::reference):
    /// what the reference server and the Node peer's suite profile run with.
    pub fn reference() -> Expected {
        let reference = siospec_codec::session::contract::Config::reference();
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        Expected {
            ping_interval: ms(reference.engine.ping_interval),
            ping_timeout: ms(reference.engine.ping_timeout),
            max_payload: reference.engine.max_payload as u64,
            connect_timeout: ms(reference.socket.connect_timeout),
            upgrade_timeout: ms(reference.engine.upgrade_timeout),
        }
    }

    /// The official server's defaults (engine.io 6, socket.io 4), which a
    /// server given by URL is assumed to keep for what its handshake does
    /// not advertise.
    pub const OFFICIAL_DEFAULTS: Expected = Expected {
        ping_interval: 25_000,
        ping_timeout: 20_000,
        max_payload: 1_000_000,
        connect_timeout: 45_000,
        upgrade_timeout: 10_000,
    };

    /// One heartbeat: how long a silent client lasts, `pingInterval + pingTimeout`.
    pub fn heartbeat(&self) -> u64 {
        self.ping_interval + self.ping_timeout
    }
}

impl Default for Expected {
    fn default() -> Self {
        Expected::reference()
    }
}
