//! TLS: where a target is (`http://` or `https://`), the connections to it,
//! and the certificates siospec's own servers present.
//!
//! * [`Origin`] is a server's `host:port` and, for `https://` and `wss://`
//!   URLs, the TLS to speak to it: rustls with the platform's root
//!   certificates, plus `--ca FILE`, or no verification with `--insecure`.
//!   Every connection the harness opens goes through [`Origin::connect`], so
//!   the cases, the probe and the load generator reach a TLS server the
//!   same way they reach a plain one; traces record what is inside the TLS.
//! * [`Handshake`] is one handshake looked at closely: version, cipher,
//!   ALPN, and what verification said about the certificate even when
//!   `--insecure` let the connection go on (the `eio4.tls.*` cases judge it).
//! * [`ServerTls`] is what `siospec serve --tls-*` and the scripted server
//!   of `test client --tls` present; [`Pki`] makes a throwaway CA and the
//!   certificates it signs (current, for the wrong name, or expired), so
//!   nothing that expires is ever committed.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The one protocol both sides offer in ALPN: Engine.IO runs over HTTP/1.1.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// How long a TLS handshake may take, on either side.
pub const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// How a client checks the certificates of `https://` servers.
///
/// ```
/// let trust = siospec::tls::Trust::default();
/// assert!(trust.ca.is_none() && !trust.insecure);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// A PEM file of CA certificates trusted besides the platform's (`--ca`).
    pub ca: Option<std::path::PathBuf>,
    /// Accept any certificate (`--insecure`): what verification would have
    /// said is still recorded, and reports say loudly that it was skipped.
    pub insecure: bool,
}

impl Trust {
    /// A client configuration: the platform's roots and `--ca`, ALPN
    /// `http/1.1`. With `insecure`, every certificate is accepted.
    pub fn client_config(&self) -> Result<ClientTls, String> {
        let (roots, described) = self.roots()?;
        let config = client_config(Arc::new(Verifier::new(roots, self.insecure)))?;
        let trust = if self.insecure {
            format!("certificates NOT verified (--insecure); trusted otherwise: {described}")
        } else {
            format!("certificates verified against {described}")
        };
        Ok(ClientTls {
            config: Arc::new(config),
            trust: self.clone(),
            described: trust,
        })
    }

    fn roots(&self) -> Result<(Arc<RootCertStore>, String), String> {
        // Read once: every https origin of a run (each suite's, each bench
        // point's) trusts the same platform roots.
        static PLATFORM: std::sync::OnceLock<Vec<CertificateDer<'static>>> =
            std::sync::OnceLock::new();
        let platform = PLATFORM.get_or_init(|| rustls_native_certs::load_native_certs().certs);
        let mut roots = RootCertStore::empty();
        let (platform, _) = roots.add_parsable_certificates(platform.iter().cloned());
        let mut described = format!("the platform's {platform} root certificates");
        if let Some(ca) = &self.ca {
            let certs = read_certificates(ca)?;
            let (added, ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "--ca {}: no usable CA certificate in it ({ignored} could not be read)",
                    ca.display()
                ));
            }
            described.push_str(&format!(" and {} ({added} from --ca)", ca.display()));
        }
        Ok((Arc::new(roots), described))
    }
}

/// A client TLS configuration, shared by every connection of a run.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    trust: Trust,
    described: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("trust", &self.trust)
            .finish()
    }
}

impl ClientTls {
    /// What is trusted, for reports: the roots, `--ca`, and whether
    /// verification is skipped.
    pub fn described(&self) -> &str {
        &self.described
    }

    /// Whether certificates go unverified (`--insecure`).
    pub fn insecure(&self) -> bool {
        self.trust.insecure
    }
}

/// Accepts what webpki accepts, or with `--insecure` anything. The
/// verifier of one inspected handshake ([`Origin::inspect`]) also keeps
/// what webpki said in `verdict`; the run's shared one keeps nothing.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    insecure: bool,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    verdict: Option<Mutex<Option<Result<(), rustls::Error>>>>,
}

impl Verifier {
    fn new(roots: Arc<RootCertStore>, insecure: bool) -> Verifier {
        Verifier {
            // No roots at all (a bare container without --ca): every
            // certificate is then unknown, said when one is presented.
            webpki: WebPkiServerVerifier::builder(roots).build().ok(),
            insecure,
            algorithms: provider().signature_verification_algorithms,
            verdict: None,
        }
    }

    /// A verifier that accepts anything and keeps what webpki said.
    fn recording(roots: Arc<RootCertStore>) -> Verifier {
        Verifier {
            verdict: Some(Mutex::new(None)),
            ..Verifier::new(roots, true)
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(webpki) => webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ()),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        if let Some(kept) = &self.verdict {
            *kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(verdict.clone());
        }
        match verdict {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The crypto of every handshake, both sides. ring, not aws-lc-rs: it
/// builds without cmake. Its key exchange groups in the order browsers,
/// Node and OpenSSL offer them (X25519 first): rustls's ring default puts
/// P-384 first, which ring computes without assembly, a millisecond of CPU
/// a handshake on each side that no real client would ask of a server.
#[allow(deprecated)] // ring's provider lacks the post-quantum groups, which these handshakes do not test.
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::{default_provider, kx_group};
    rustls::crypto::CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        ..default_provider()
    }
}

/// A client configuration checking certificates with `verifier`, ALPN
/// `http/1.1`.
fn client_config(verifier: Arc<Verifier>) -> Result<ClientConfig, String> {
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(config)
}

/// A server to connect to: `host:port`, and TLS for `https://` / `wss://`.
///
/// ```
/// use siospec::tls::{Origin, Trust};
///
/// let plain = Origin::parse("http://127.0.0.1:3000/socket.io/", &Trust::default()).unwrap();
/// assert_eq!(plain.authority, "127.0.0.1:3000");
/// assert!(!plain.is_tls());
/// assert_eq!(plain.ws_url("/engine.io/?EIO=4"), "ws://127.0.0.1:3000/engine.io/?EIO=4");
///
/// let secure = Origin::parse("https://localhost:3443", &Trust::default()).unwrap();
/// assert!(secure.is_tls());
/// assert_eq!(secure.url(), "https://localhost:3443");
/// ```
#[derive(Debug, Clone)]
pub struct Origin {
    /// `host:port`, as in the URL.
    pub authority: String,
    /// The TLS to speak, for `https://` and `wss://`.
    pub tls: Option<ClientTls>,
}

impl PartialEq for Origin {
    fn eq(&self, other: &Origin) -> bool {
        self.authority == other.authority && self.is_tls() == other.is_tls()
    }
}

impl Eq for Origin {}

/// The schemes a URL may have, and whether they are over TLS.
const SCHEMES: [(&str, bool); 4] = [
    ("http://", false),
    ("ws://", false),
    ("https://", true),
    ("wss://", true),
];

/// A URL without its scheme, and whether the scheme is over TLS; `None`
/// for a scheme siospec does not speak.
///
/// ```
/// assert_eq!(siospec::tls::split_scheme("wss://h:1/x"), Some(("h:1/x", true)));
/// assert_eq!(siospec::tls::split_scheme("ftp://h:1"), None);
/// ```
pub fn split_scheme(url: &str) -> Option<(&str, bool)> {
    SCHEMES
        .iter()
        .find_map(|(scheme, tls)| url.strip_prefix(scheme).map(|rest| (rest, *tls)))
}

/// Whether `url` is `https://` or `wss://`.
pub fn is_tls_url(url: &str) -> bool {
    split_scheme(url).is_some_and(|(_, tls)| tls)
}

impl Origin {
    /// A plain (`http://`) server at `authority`.
    pub fn plain(authority: impl Into<String>) -> Origin {
        Origin {
            authority: authority.into(),
            tls: None,
        }
    }

    /// The server of `url` (`http`, `ws`, `https` or `wss`), checking
    /// `https` certificates as `trust` says.
    pub fn parse(url: &str, trust: &Trust) -> Result<Origin, String> {
        let authority = crate::target::authority_of(url)?;
        let tls = if is_tls_url(url) {
            Some(trust.client_config()?)
        } else {
            None
        };
        Ok(Origin { authority, tls })
    }

    /// Whether connections are over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `http://host:port` or `https://host:port`.
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }

    /// The WebSocket URL of `target` (path and query) on this server.
    pub fn ws_url(&self, target: &str) -> String {
        let scheme = if self.is_tls() { "wss" } else { "ws" };
        format!("{scheme}://{}{target}", self.authority)
    }

    /// The host, without brackets or port: what SNI and the certificate name.
    pub fn host(&self) -> &str {
        let host = match self.authority.rsplit_once(':') {
            Some((host, _)) => host,
            None => &self.authority,
        };
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Opens a connection: TCP, then the TLS handshake for `https`.
    pub async fn connect(&self) -> Result<Stream, ConnectError> {
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| ConnectError::Tcp(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        self.secure(tcp).await
    }

    /// `tcp`, a connection to this server, as it is for `http`, inside a
    /// TLS handshake for `https`.
    pub async fn secure(&self, tcp: TcpStream) -> Result<Stream, ConnectError> {
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let stream = self.handshake(tcp, tls.config.clone()).await?;
        Ok(Stream::Tls(Box::new(stream)))
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
        config: Arc<ClientConfig>,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
        let name = ServerName::try_from(self.host().to_owned()).map_err(|e| {
            ConnectError::Tls(format!("{:?} is not a server name: {e}", self.host()))
        })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        match tokio::time::timeout(HANDSHAKE_WAIT, connector.connect(name, tcp)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(ConnectError::Tls(refusal(&e, &self.url()))),
            Err(_) => Err(ConnectError::Tls(format!(
                "no TLS handshake with {} within {} s: is it serving plain http://?",
                self.authority,
                HANDSHAKE_WAIT.as_secs()
            ))),
        }
    }

    /// One handshake looked at closely, on a connection of its own: what
    /// was negotiated, and what verification said of the certificate even
    /// when `--insecure` accepted it. `None` for a plain server.
    pub async fn inspect(&self) -> Option<Result<Handshake, ConnectError>> {
        let tls = self.tls.as_ref()?;
        let (roots, _) = match tls.trust.roots() {
            Ok(r) => r,
            Err(e) => return Some(Err(ConnectError::Tls(e))),
        };
        // Its own verifier, so the verdict is this handshake's.
        let verifier = Arc::new(Verifier::recording(roots));
        let config = match client_config(verifier.clone()) {
            Ok(config) => config,
            Err(e) => return Some(Err(ConnectError::Tls(e))),
        };
        Some(
            async {
                let tcp = TcpStream::connect(&self.authority)
                    .await
                    .map_err(|e| ConnectError::Tcp(e.to_string()))?;
                let stream = self.handshake(tcp, Arc::new(config)).await?;
                let mut handshake = Handshake::of(stream.get_ref().1);
                let kept = verifier
                    .verdict
                    .as_ref()
                    .and_then(|v| v.lock().unwrap_or_else(PoisonError::into_inner).take());
                handshake.verified = match kept {
                    Some(Ok(())) => Ok(()),
                    Some(Err(e)) => Err(CertificateVerdict::of(&e)),
                    None => Err(CertificateVerdict::Other(
                        "no certificate was presented".to_owned(),
                    )),
                };
                Ok(handshake)
            }
            .await,
        )
    }
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// TCP: nothing listens there, or the network refused.
    Tcp(String),
    /// The TLS handshake failed; the text says why and what to do.
    Tls(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Tcp(e) => f.write_str(e),
            ConnectError::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

/// A failed handshake in words that say what is wrong and what to do.
fn refusal(e: &io::Error, url: &str) -> String {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(c)) => {
            let verdict = CertificateVerdict::of(&rustls::Error::InvalidCertificate(c.clone()));
            format!(
                "{url} presented a certificate siospec does not accept: {verdict}. {}",
                verdict.advice()
            )
        }
        Some(rustls::Error::InvalidMessage(_)) => format!(
            "{url} did not answer in TLS ({e}): is it a plain http:// server? Use http:// in the URL"
        ),
        Some(other) => format!("handshake with {url} failed: {other}"),
        None if e.kind() == io::ErrorKind::UnexpectedEof
            || e.kind() == io::ErrorKind::ConnectionReset =>
        {
            format!("{url} closed the connection during the TLS handshake: is it serving TLS on that port?")
        }
        None => format!("handshake with {url} failed: {e}"),
    }
}

/// What certificate verification said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateVerdict {
    /// The certificate does not name the host of the URL.
    WrongName(String),
    /// The certificate is expired (or not yet valid).
    Expired(String),
    /// Not signed by a trusted authority (self-signed, private CA).
    UnknownIssuer,
    /// A CA certificate (basicConstraints CA:TRUE) presented as the
    /// server's own, as `openssl req -x509` makes them by default.
    CaAsServer,
    /// Any other reason.
    Other(String),
}

impl CertificateVerdict {
    fn of(e: &rustls::Error) -> CertificateVerdict {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    CertificateVerdict::WrongName(c.to_string())
                }
                C::Expired
                | C::ExpiredContext { .. }
                | C::NotValidYet
                | C::NotValidYetContext { .. } => CertificateVerdict::Expired(c.to_string()),
                C::UnknownIssuer => CertificateVerdict::UnknownIssuer,
                C::Other(other)
                    if other.0.downcast_ref::<webpki::Error>()
                        == Some(&webpki::Error::CaUsedAsEndEntity) =>
                {
                    CertificateVerdict::CaAsServer
                }
                other => CertificateVerdict::Other(other.to_string()),
            },
            other => CertificateVerdict::Other(other.to_string()),
        }
    }

    /// What the user can do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            CertificateVerdict::WrongName(_) => "Use the host name the certificate is for in the URL, or pass --insecure to test the rest (the eio4.tls cases then fail)",
            CertificateVerdict::Expired(_) => "Renew the certificate, or pass --insecure to test the rest (the eio4.tls cases then fail)",
            CertificateVerdict::UnknownIssuer => "Pass the CA that signed it with --ca FILE (for a self-signed certificate, the certificate itself), or --insecure",
            CertificateVerdict::CaAsServer => "Make the server's certificate without CA:TRUE (openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE), or pass --insecure",
            CertificateVerdict::Other(_) => "Pass --insecure to test the rest",
        }
    }
}

impl std::fmt::Display for CertificateVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateVerdict::WrongName(e) | CertificateVerdict::Expired(e) => f.write_str(e),
            CertificateVerdict::UnknownIssuer => {
                f.write_str("it is not signed by a trusted certificate authority")
            }
            CertificateVerdict::CaAsServer => f.write_str(
                "it is a CA certificate (basicConstraints CA:TRUE), which webpki does not accept \
                 as a server's",
            ),
            CertificateVerdict::Other(e) => f.write_str(e),
        }
    }
}

/// One TLS handshake: what was negotiated and what verification said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The key exchange group, e.g. `X25519`.
    pub group: String,
    /// The ALPN protocol the server chose, if any.
    pub alpn: Option<String>,
    /// Verification of the certificate against the trusted roots and the
    /// URL's host, at the time of the handshake.
    pub verified: Result<(), CertificateVerdict>,
    /// When the server's certificate expires (its notAfter), in seconds
    /// since the Unix epoch, when it could be read.
    pub not_after: Option<i64>,
}

impl Handshake {
    fn of(conn: &rustls::ClientConnection) -> Handshake {
        Handshake {
            version: conn
                .protocol_version()
                .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}")),
            cipher: conn
                .negotiated_cipher_suite()
                .map_or_else(|| "unknown".to_owned(), |c| format!("{:?}", c.suite())),
            group: conn
                .negotiated_key_exchange_group()
                .map_or_else(|| "unknown".to_owned(), |g| format!("{:?}", g.name())),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            verified: Ok(()),
            not_after: conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| x509_parser::parse_x509_certificate(leaf).ok())
                .map(|(_, cert)| cert.validity().not_after.timestamp()),
        }
    }

    /// `TLSv1_3, TLS13_AES_256_GCM_SHA384, X25519, ALPN http/1.1`.
    pub fn negotiated(&self) -> String {
        let alpn = self
            .alpn
            .as_deref()
            .map_or_else(|| "no ALPN".to_owned(), |a| format!("ALPN {a}"));
        format!("{}, {}, {}, {alpn}", self.version, self.cipher, self.group)
    }
}

/// A connection to a server, plain or inside TLS.
pub enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Stream::Plain",
            Stream::Tls(_) => "Stream::Tls",
        })
    }
}

impl Stream {
    /// What the handshake negotiated, for traces; `None` when plain.
    pub fn negotiated(&self) -> Option<String> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(tls) => Some(Handshake::of(tls.get_ref().1).negotiated()),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The certificates every PEM block of `path` holds.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

/// What one of siospec's servers presents over TLS.
#[derive(Clone)]
pub struct ServerTls {
    /// The rustls configuration (ALPN `http/1.1`).
    pub config: Arc<ServerConfig>,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// SHA-256 of the certificate, colon-separated hex.
    pub fingerprint: String,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl ServerTls {
    /// From a certificate chain and its private key, both PEM files
    /// (`--tls-cert`, `--tls-key`).
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, String> {
        use rustls::pki_types::pem::PemObject;
        let chain = read_certificates(cert)?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("{}: no usable private key: {e}", key.display()))?;
        let pem = std::fs::read_to_string(cert)
            .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
        ServerTls::new(chain, key, pem)
    }

    /// From a certificate chain and its private key, both PEM text.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ServerTls, String> {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        if chain.is_empty() {
            return Err("no certificate in the PEM text".to_owned());
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("no usable private key: {e}"))?;
        ServerTls::new(chain, key, cert_pem.to_owned())
    }

    /// A self-signed certificate for `names` (DNS names or IP addresses),
    /// made now (`--tls-self-signed`).
    ///
    /// ```
    /// let tls = siospec::tls::ServerTls::self_signed(&["localhost".to_owned()]).unwrap();
    /// assert!(tls.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    /// assert_eq!(tls.fingerprint.len(), 32 * 3 - 1);
    /// ```
    pub fn self_signed(names: &[String]) -> Result<ServerTls, String> {
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "siospec serve (self-signed)");
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        ServerTls::from_generated(&cert, &key)
    }

    fn from_generated(
        cert: &rcgen::Certificate,
        key: &rcgen::KeyPair,
    ) -> Result<ServerTls, String> {
        let der = PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|e| format!("the generated key: {e}"))?;
        ServerTls::new(vec![cert.der().clone()], der, cert.pem())
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        certificate_pem: String,
    ) -> Result<ServerTls, String> {
        let fingerprint = fingerprint(&chain[0]);
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("certificate and key do not go together: {e}"))?;
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(ServerTls {
            config: Arc::new(config),
            certificate_pem,
            fingerprint,
        })
    }

    /// Accepts TLS on `tcp`, within [`HANDSHAKE_WAIT`].
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.clone());
        tokio::time::timeout(HANDSHAKE_WAIT, acceptor.accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

/// SHA-256 of a certificate, as `AB:CD:…`.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a certificate [`Pki`] signs is valid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From yesterday for a year.
    Current,
    /// Expired: valid for a day, years ago.
    Expired,
}

/// A throwaway certificate authority: the TLS cases and tests make their
/// own, so nothing that expires is committed.
///
/// ```
/// use siospec::tls::{Pki, Validity};
///
/// let pki = Pki::new().unwrap();
/// let (cert_pem, key_pem) = pki.issue(&["localhost".to_owned()], Validity::Current).unwrap();
/// assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(key_pem.contains("PRIVATE KEY"));
/// ```
pub struct Pki {
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pki")
    }
}

impl Pki {
    /// A new CA.
    pub fn new() -> Result<Pki, String> {
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "siospec throwaway CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(params, key).map_err(|e| e.to_string())?;
        Ok(Pki { ca })
    }

    /// The CA certificate, PEM: what a client is given to trust.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A server certificate for `names`, signed by this CA: (certificate
    /// PEM, private key PEM).
    pub fn issue(&self, names: &[String], validity: Validity) -> Result<(String, String), String> {
        let (cert, key) = self.sign(names, validity)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A server configuration presenting a certificate for `names`.
    pub fn server(&self, names: &[String], validity: Validity) -> Result<ServerTls, String> {
        let (cert, key) = self.sign(names, validity)?;
        ServerTls::from_generated(&cert, &key)
    }

    fn sign(
        &self,
        names: &[String],
        validity: Validity,
    ) -> Result<(rcgen::Certificate, rcgen::KeyPair), String> {
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
        let now = rcgen::date_time_ymd(1970, 1, 1)
            + Duration::from_secs(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
        let day = Duration::from_secs(86_400);
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (now - day, now + 365 * day),
            Validity::Expired => (now - 3 * 365 * day, now - 2 * 365 * day),
        };
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().map_or("siospec", String::as_str),
        );
        let issuer: &rcgen::Issuer<'_, rcgen::KeyPair> = &self.ca;
        let cert = params.signed_by(&key, issuer).map_err(|e| e.to_string())?;
        Ok((cert, key))
    }
}

/// A throwaway CA and a current certificate it signed for `localhost` and
/// `127.0.0.1`, written as PEM files to a folder of their own that goes
/// when this is dropped: what a server siospec starts over TLS presents,
/// and what the harness trusts to reach it.
pub struct TlsFiles {
    dir: std::path::PathBuf,
    pki: Pki,
    /// The CA certificate: `--ca` for the clients.
    pub ca: std::path::PathBuf,
    /// The server's certificate (`--tls-cert`).
    pub cert: std::path::PathBuf,
    /// Its private key (`--tls-key`).
    pub key: std::path::PathBuf,
    /// The same certificate for a server of this process.
    pub server: ServerTls,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles").field("dir", &self.dir).finish()
    }
}

impl PartialEq for TlsFiles {
    fn eq(&self, other: &TlsFiles) -> bool {
        self.dir == other.dir
    }
}

impl Eq for TlsFiles {}

/// The names the certificates of [`TlsFiles`] are for.
pub const LOOPBACK_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

impl TlsFiles {
    /// A new CA and certificate, written under the system's temporary folder.
    pub fn new() -> Result<TlsFiles, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pki = Pki::new()?;
        let names = LOOPBACK_NAMES.map(String::from);
        let (cert_pem, key_pem) = pki.issue(&names, Validity::Current)?;
        let dir = std::env::temp_dir().join(format!(
            "siospec-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let files = TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            server: ServerTls::from_pem(&cert_pem, &key_pem)?,
            dir,
            pki,
        };
        let write = || -> io::Result<()> {
            std::fs::create_dir_all(&files.dir)?;
            std::fs::write(&files.ca, files.pki.ca_pem())?;
            std::fs::write(&files.cert, &cert_pem)?;
            std::fs::write(&files.key, &key_pem)
        };
        write()
            .map_err(|e| format!("cannot write certificates to {}: {e}", files.dir.display()))?;
        Ok(files)
    }

    /// Another certificate of the same CA, for `names`: a server that a
    /// client trusting [`TlsFiles::ca`] must still refuse (a wrong name,
    /// an expired certificate).
    pub fn server_for(&self, names: &[&str], validity: Validity) -> Result<ServerTls, String> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.pki.server(&names, validity)
    }

    /// How a client trusts the certificate: `--ca` the CA file.
    pub fn trust(&self) -> Trust {
        Trust {
            ca: Some(self.ca.clone()),
            insecure: false,
        }
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
