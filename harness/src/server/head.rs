//! Request heads owned, so they can travel to a session's task.

use hyper::header::{self, HeaderMap};
use siospec_codec::session::RequestHead;

/// The parts of an HTTP request the session machines read.
#[derive(Debug, Clone)]
pub struct OwnedHead {
    method: String,
    query: String,
    origin: Option<String>,
    content_type: Option<String>,
    user_agent: Option<String>,
    accept_encoding: Option<String>,
    access_control_request_headers: Option<String>,
    websocket: bool,
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

impl OwnedHead {
    /// The head of `req`.
    pub fn of<B>(req: &hyper::Request<B>) -> Self {
        let headers = req.headers();
        let websocket = headers
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        OwnedHead {
            method: req.method().as_str().to_owned(),
            query: req.uri().query().unwrap_or("").to_owned(),
            origin: text(headers, header::ORIGIN),
            content_type: text(headers, header::CONTENT_TYPE),
            user_agent: text(headers, header::USER_AGENT),
            accept_encoding: text(headers, header::ACCEPT_ENCODING),
            access_control_request_headers: text(headers, header::ACCESS_CONTROL_REQUEST_HEADERS),
            websocket,
        }
    }

    /// The borrowed form the machines take.
    pub fn as_head(&self) -> RequestHead<'_> {
        RequestHead {
            method: &self.method,
            query: &self.query,
            origin: self.origin.as_deref(),
            content_type: self.content_type.as_deref(),
            user_agent: self.user_agent.as_deref(),
            accept_encoding: self.accept_encoding.as_deref(),
            access_control_request_headers: self.access_control_request_headers.as_deref(),
            websocket: self.websocket,
        }
    }
}
