//! HTTP-level values: what a request looks like to the machines, and every
//! response they decide, ready for an adapter to write as it is.

use std::fmt;

/// One response header: a name (always one of a fixed set) and its value.
pub type Header = (&'static str, String);

/// The parts of an HTTP request (or WebSocket upgrade request) the machines
/// look at. Everything else about the request is the adapter's business.
///
/// ```
/// use siospec_codec::session::RequestHead;
///
/// let head = RequestHead::post("EIO=4&transport=polling&sid=abc").with_content_type("text/plain");
/// assert_eq!(head.method, "POST");
/// assert!(!head.websocket);
/// let ws = RequestHead::websocket("EIO=4&transport=websocket");
/// assert!(ws.websocket);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestHead<'a> {
    /// The method as sent (`GET`, `POST`, `OPTIONS`, `PUT`, …).
    pub method: &'a str,
    /// The raw query string, without the leading `?`.
    pub query: &'a str,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `User-Agent` header (old Internet Explorers get `X-XSS-Protection: 0`).
    pub user_agent: Option<&'a str>,
    /// The `Accept-Encoding` header (polling response compression).
    pub accept_encoding: Option<&'a str>,
    /// The `Access-Control-Request-Headers` header (CORS preflight).
    pub access_control_request_headers: Option<&'a str>,
    /// `true` for a WebSocket upgrade request (`Upgrade: websocket`).
    pub websocket: bool,
}

impl<'a> RequestHead<'a> {
    /// A request with this method and query and no headers.
    pub fn new(method: &'a str, query: &'a str) -> Self {
        RequestHead {
            method,
            query,
            ..RequestHead::default()
        }
    }

    /// A plain `GET`.
    pub fn get(query: &'a str) -> Self {
        Self::new("GET", query)
    }

    /// A `POST`.
    pub fn post(query: &'a str) -> Self {
        Self::new("POST", query)
    }

    /// A WebSocket upgrade request (a `GET` with `Upgrade: websocket`).
    pub fn websocket(query: &'a str) -> Self {
        RequestHead {
            websocket: true,
            ..Self::new("GET", query)
        }
    }

    /// The same request with an `Origin` header.
    pub fn with_origin(self, origin: &'a str) -> Self {
        RequestHead {
            origin: Some(origin),
            ..self
        }
    }

    /// The same request with a `Content-Type` header.
    pub fn with_content_type(self, content_type: &'a str) -> Self {
        RequestHead {
            content_type: Some(content_type),
            ..self
        }
    }

    /// The same request with an `Accept-Encoding` header.
    pub fn with_accept_encoding(self, accept_encoding: &'a str) -> Self {
        RequestHead {
            accept_encoding: Some(accept_encoding),
            ..self
        }
    }

    /// The same request with a `User-Agent` header.
    pub fn with_user_agent(self, user_agent: &'a str) -> Self {
        RequestHead {
            user_agent: Some(user_agent),
            ..self
        }
    }

    /// `true` when the body is declared binary
    /// (`Content-Type: application/octet-stream`, compared exactly as Node does).
    pub fn is_octet_stream(&self) -> bool {
        self.content_type == Some(OCTET_STREAM)
    }
}

/// `application/octet-stream`.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// The content type of text polling responses.
pub const TEXT_PLAIN_UTF8: &str = "text/plain; charset=UTF-8";
/// The content type of the `ok` answer to a POST.
pub const TEXT_HTML: &str = "text/html";
/// The content type of error bodies.
pub const APPLICATION_JSON: &str = "application/json";

/// A content coding the adapter should apply to a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// `gzip`.
    Gzip,
    /// `deflate` (zlib format, as Node's `createDeflate`).
    Deflate,
}

impl Compression {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Deflate => "deflate",
        }
    }
}

/// A complete HTTP response decided by a machine.
///
/// The adapter writes `status`, then `headers` in order, then `body`. When
/// `compression` is set the headers already carry `Content-Encoding` and no
/// `Content-Length`: the adapter compresses `body` with that coding (or, if
/// it cannot, writes it as is after replacing `Content-Encoding` with a
/// `Content-Length`).
///
/// ```
/// use siospec_codec::session::HttpResponse;
///
/// let r = HttpResponse::ok_post(Vec::new());
/// assert_eq!(r.status, 200);
/// assert_eq!(r.body, b"ok");
/// assert_eq!(r.header("content-type"), Some("text/html"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values, in the order Node writes them.
    pub headers: Vec<Header>,
    /// The body.
    pub body: Vec<u8>,
    /// A content coding to apply to `body`, when compression was negotiated.
    pub compression: Option<Compression>,
}

impl HttpResponse {
    /// A response without body: `extra` headers only (CORS headers, as
    /// Node's `res.writeHead(400); res.end()` writes).
    pub fn empty(status: u16, extra: Vec<Header>) -> Self {
        HttpResponse {
            status,
            headers: extra,
            body: Vec::new(),
            compression: None,
        }
    }

    /// The `200 ok` answer to an accepted POST.
    pub fn ok_post(extra: Vec<Header>) -> Self {
        let mut headers = extra;
        headers.push(("Content-Type", TEXT_HTML.to_owned()));
        headers.push(("Content-Length", "2".to_owned()));
        HttpResponse {
            status: 200,
            headers,
            body: b"ok".to_vec(),
            compression: None,
        }
    }

    /// The first header with this name (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, when it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The standard reason phrase of `status`.
    ///
    /// ```
    /// use siospec_codec::session::HttpResponse;
    /// assert_eq!(HttpResponse::reason_phrase(413), "Payload Too Large");
    /// ```
    pub fn reason_phrase(status: u16) -> &'static str {
        match status {
            101 => "Switching Protocols",
            200 => "OK",
            204 => "No Content",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            413 => "Payload Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            _ => "",
        }
    }

    /// The response as raw HTTP/1.1 bytes (status line, headers, blank
    /// line, body), for the rejections that Node writes straight onto the
    /// socket of a WebSocket upgrade request.
    ///
    /// ```
    /// use siospec_codec::session::HttpResponse;
    ///
    /// let r = HttpResponse::empty(400, vec![("Connection", "close".into())]);
    /// assert_eq!(r.to_http1(), b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    /// ```
    pub fn to_http1(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                self.status,
                Self::reason_phrase(self.status)
            )
            .as_bytes(),
        );
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

impl fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, String::from_utf8_lossy(&self.body))
    }
}

/// Which origins the CORS middleware allows (the `origin` option of the
/// `cors` package that engine.io uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    /// `"*"`: `Access-Control-Allow-Origin: *`.
    Any,
    /// A fixed string: always that value, plus `Vary: Origin`.
    Fixed(String),
    /// `true`: echo the request's `Origin`, plus `Vary: Origin`.
    Reflect,
    /// A list: echo the request's `Origin` when it is in the list, plus `Vary: Origin`.
    List(Vec<String>),
}

/// The CORS configuration (engine.io's `cors` option, handled by the `cors`
/// package 2.8 before any Engine.IO verification).
///
/// ```
/// use siospec_codec::session::{Cors, CorsOrigin, RequestHead};
///
/// let cors = Cors::any();
/// let preflight = cors.preflight(&RequestHead::new("OPTIONS", "EIO=4&transport=polling"));
/// assert_eq!(preflight.status, 204);
/// assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
/// assert_eq!(preflight.header("access-control-allow-methods"), Some("GET,HEAD,PUT,PATCH,POST,DELETE"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins.
    pub origin: CorsOrigin,
    /// `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `Access-Control-Allow-Methods` on preflights.
    pub methods: String,
    /// `Access-Control-Allow-Headers` on preflights; `None` reflects the
    /// request's `Access-Control-Request-Headers`.
    pub allowed_headers: Option<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Option<String>,
    /// `Access-Control-Max-Age` on preflights, in seconds.
    pub max_age: Option<u64>,
}

impl Cors {
    /// `cors: { origin: "*" }`, what the official suites configure.
    pub fn any() -> Self {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".to_owned(),
            allowed_headers: None,
            exposed_headers: None,
            max_age: None,
        }
    }

    fn origin_headers(&self, head: &RequestHead<'_>, out: &mut Vec<Header>) {
        match &self.origin {
            CorsOrigin::Any => out.push(("Access-Control-Allow-Origin", "*".to_owned())),
            CorsOrigin::Fixed(origin) => {
                out.push(("Access-Control-Allow-Origin", origin.clone()));
                vary(out, "Origin");
            }
            CorsOrigin::Reflect | CorsOrigin::List(_) => {
                let allowed = match &self.origin {
                    CorsOrigin::List(list) => {
                        head.origin.is_some_and(|o| list.iter().any(|a| a == o))
                    }
                    _ => head.origin.is_some(),
                };
                if let (true, Some(origin)) = (allowed, head.origin) {
                    if !origin.is_empty() {
                        out.push(("Access-Control-Allow-Origin", origin.to_owned()));
                    }
                }
                vary(out, "Origin");
            }
        }
        if self.credentials {
            out.push(("Access-Control-Allow-Credentials", "true".to_owned()));
        }
    }

    /// The headers the middleware sets on every non-preflight response,
    /// error responses included.
    pub fn headers(&self, head: &RequestHead<'_>) -> Vec<Header> {
        let mut out = Vec::new();
        self.origin_headers(head, &mut out);
        if let Some(exposed) = self.exposed_headers.as_ref().filter(|e| !e.is_empty()) {
            out.push(("Access-Control-Expose-Headers", exposed.clone()));
        }
        out
    }

    /// The answer to a preflight (`OPTIONS`): status 204, `Content-Length: 0`.
    pub fn preflight(&self, head: &RequestHead<'_>) -> HttpResponse {
        let mut out = Vec::new();
        self.origin_headers(head, &mut out);
        out.push(("Access-Control-Allow-Methods", self.methods.clone()));
        let allowed = match &self.allowed_headers {
            Some(h) => Some(h.clone()),
            None => {
                vary(&mut out, "Access-Control-Request-Headers");
                head.access_control_request_headers.map(str::to_owned)
            }
        };
        if let Some(allowed) = allowed.filter(|a| !a.is_empty()) {
            out.push(("Access-Control-Allow-Headers", allowed));
        }
        if let Some(max_age) = self.max_age {
            out.push(("Access-Control-Max-Age", max_age.to_string()));
        }
        if let Some(exposed) = self.exposed_headers.as_ref().filter(|e| !e.is_empty()) {
            out.push(("Access-Control-Expose-Headers", exposed.clone()));
        }
        out.push(("Content-Length", "0".to_owned()));
        HttpResponse::empty(204, out)
    }
}

/// Appends `field` to the `Vary` header, as the `vary` package does.
fn vary(out: &mut Vec<Header>, field: &str) {
    if let Some((_, value)) = out.iter_mut().find(|(n, _)| *n == "Vary") {
        if !value
            .split(',')
            .any(|v| v.trim().eq_ignore_ascii_case(field))
        {
            value.push_str(", ");
            value.push_str(field);
        }
    } else {
        out.push(("Vary", field.to_owned()));
    }
}

/// The sticky-session cookie engine.io sets on the handshake response
/// (its `cookie` option; defaults name `io`, path `/`, HttpOnly, SameSite=Lax).
///
/// ```
/// use siospec_codec::session::Cookie;
/// assert_eq!(Cookie::default().serialize("abc"), "io=abc; Path=/; HttpOnly; SameSite=Lax");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie name.
    pub name: String,
    /// `Path`.
    pub path: Option<String>,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Max-Age`, seconds.
    pub max_age: Option<u64>,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `SameSite` (`Lax`, `Strict`, `None`).
    pub same_site: Option<String>,
    /// `Secure`.
    pub secure: bool,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: "io".to_owned(),
            path: Some("/".to_owned()),
            domain: None,
            max_age: None,
            http_only: true,
            same_site: Some("Lax".to_owned()),
            secure: false,
        }
    }
}

impl Cookie {
    /// The `Set-Cookie` value for session `sid`, attributes in the order the
    /// `cookie` package writes them.
    pub fn serialize(&self, sid: &str) -> String {
        let mut s = format!("{}={}", self.name, sid);
        if let Some(max_age) = self.max_age {
            s.push_str(&format!("; Max-Age={max_age}"));
        }
        if let Some(domain) = &self.domain {
            s.push_str(&format!("; Domain={domain}"));
        }
        if let Some(path) = &self.path {
            s.push_str(&format!("; Path={path}"));
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        if let Some(same_site) = &self.same_site {
            s.push_str(&format!("; SameSite={same_site}"));
        }
        if self.secure {
            s.push_str("; Secure");
        }
        s
    }
}

/// The coding Node's `accepts(req).encodings(["gzip", "deflate"])` picks:
/// highest quality first, then the order in the header, then gzip before
/// deflate; `*` matches both; `q=0` refuses.
///
/// ```
/// use siospec_codec::session::{negotiate_compression, Compression};
///
/// assert_eq!(negotiate_compression("gzip, deflate"), Some(Compression::Gzip));
/// assert_eq!(negotiate_compression("deflate, gzip"), Some(Compression::Deflate));
/// assert_eq!(negotiate_compression("gzip;q=0.5, deflate"), Some(Compression::Deflate));
/// assert_eq!(negotiate_compression("identity"), None);
/// ```
pub fn negotiate_compression(accept_encoding: &str) -> Option<Compression> {
    // (quality in thousandths, specificity, position in header, provided index)
    let mut best: Option<(u32, u8, usize, usize, Compression)> = None;
    for (provided_index, coding) in [Compression::Gzip, Compression::Deflate]
        .into_iter()
        .enumerate()
    {
        let mut candidate: Option<(u32, u8, usize)> = None;
        for (pos, spec) in accept_encoding.split(',').enumerate().take(64) {
            let mut parts = spec.split(';');
            let name = parts.next().unwrap_or("").trim();
            if name.is_empty() {
                continue;
            }
            let mut q = 1000u32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim() == "q" {
                        q = parse_quality(v.trim());
                    }
                }
            }
            let specificity = if name.eq_ignore_ascii_case(coding.token()) {
                1
            } else if name == "*" {
                0
            } else {
                continue;
            };
            let better = match candidate {
                None => true,
                Some((cq, cs, cp)) => {
                    (q, specificity, std::cmp::Reverse(pos)) > (cq, cs, std::cmp::Reverse(cp))
                }
            };
            if better {
                candidate = Some((q, specificity, pos));
            }
        }
        if let Some((q, s, pos)) = candidate.filter(|c| c.0 > 0) {
            let key = (q, s, pos, provided_index, coding);
            best = match best {
                None => Some(key),
                Some(b) => {
                    let ord = q
                        .cmp(&b.0)
                        .then(s.cmp(&b.1))
                        .then(b.2.cmp(&pos))
                        .then(b.3.cmp(&provided_index));
                    if ord == std::cmp::Ordering::Greater {
                        Some(key)
                    } else {
                        Some(b)
                    }
                }
            };
        }
    }
    best.map(|b| b.4)
}

fn parse_quality(v: &str) -> u32 {
    match v.parse::<f64>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u32,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_reflect_and_list() {
        let mut cors = Cors::any();
        cors.origin = CorsOrigin::Reflect;
        cors.credentials = true;
        let head = RequestHead::get("").with_origin("http://a");
        let h = cors.headers(&head);
        assert_eq!(
            h,
            vec![
                ("Access-Control-Allow-Origin", "http://a".to_owned()),
                ("Vary", "Origin".to_owned()),
                ("Access-Control-Allow-Credentials", "true".to_owned())
            ]
        );
        cors.origin = CorsOrigin::List(vec!["http://b".into()]);
        let h = cors.headers(&head);
        assert_eq!(h[0], ("Vary", "Origin".to_owned()));
        let mut pre = RequestHead::new("OPTIONS", "");
        pre.access_control_request_headers = Some("x-a");
        let p = cors.preflight(&pre);
        assert_eq!(
            p.header("vary"),
            Some("Origin, Access-Control-Request-Headers")
        );
        assert_eq!(p.header("access-control-allow-headers"), Some("x-a"));
        assert_eq!(p.header("content-length"), Some("0"));
    }

    #[test]
    fn fixed_origin_adds_vary() {
        let mut cors = Cors::any();
        cors.origin = CorsOrigin::Fixed("http://x".into());
        let h = cors.headers(&RequestHead::get(""));
        assert_eq!(h[0].1, "http://x");
        assert_eq!(h[1], ("Vary", "Origin".to_owned()));
    }

    #[test]
    fn compression_negotiation() {
        assert_eq!(negotiate_compression("*"), Some(Compression::Gzip));
        assert_eq!(negotiate_compression("gzip;q=0"), None);
        assert_eq!(negotiate_compression(""), None);
        assert_eq!(
            negotiate_compression("br, deflate;q=0.9"),
            Some(Compression::Deflate)
        );
    }

    #[test]
    fn raw_http1_with_body() {
        let r = HttpResponse {
            status: 400,
            headers: vec![("Content-Length", "3".into())],
            body: b"abc".to_vec(),
            compression: None,
        };
        assert_eq!(
            r.to_http1(),
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nabc".to_vec()
        );
    }
}
