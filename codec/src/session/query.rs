//! Query strings, parsed as Node's `new URL(...).searchParams` does.

/// Most pairs kept from one query string; later pairs are ignored.
pub const MAX_QUERY_PAIRS: usize = 1000;

/// A parsed query string: `application/x-www-form-urlencoded` pairs, `+` as
/// space, `%XX` decoded (malformed escapes kept as they are), invalid UTF-8
/// as U+FFFD. Like `Object.fromEntries(searchParams)`, the last value of a
/// repeated key wins. At most [`MAX_QUERY_PAIRS`] pairs are kept.
///
/// ```
/// use siospec_codec::session::Query;
///
/// let q = Query::parse("EIO=4&transport=polling&t=a%20b&sid=x&sid=y&flag");
/// assert_eq!(q.get("EIO"), Some("4"));
/// assert_eq!(q.get("t"), Some("a b"));
/// assert_eq!(q.get("sid"), Some("y"));
/// assert_eq!(q.get("flag"), Some(""));
/// assert_eq!(q.get("j"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: &str) -> Self {
        let raw = raw.strip_prefix('?').unwrap_or(raw);
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .take(MAX_QUERY_PAIRS)
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        Query { pairs }
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order, repeated keys included.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `EIO`.
    pub fn eio(&self) -> Option<&str> {
        self.get("EIO")
    }

    /// `transport`.
    pub fn transport(&self) -> Option<&str> {
        self.get("transport")
    }

    /// `sid`, when present and not empty (Node tests it for truthiness).
    pub fn sid(&self) -> Option<&str> {
        self.get("sid").filter(|s| !s.is_empty())
    }

    /// `true` when `b64` is present and not empty: the client cannot take
    /// binary, so binary data goes out base64-encoded.
    pub fn b64(&self) -> bool {
        self.get("b64").is_some_and(|s| !s.is_empty())
    }

    /// `j`, the JSONP callback index; present (even empty) means JSONP.
    pub fn j(&self) -> Option<&str> {
        self.get("j")
    }
}

/// Percent-decoding with `+` as space.
pub(crate) fn form_decode(s: &str) -> String {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component (everything but unreserved characters).
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_escapes_stay() {
        assert_eq!(Query::parse("a=%zz%4").get("a"), Some("%zz%4"));
        assert_eq!(Query::parse("a=%E2%82%AC").get("a"), Some("€"));
        assert_eq!(Query::parse("a=%ff").get("a"), Some("\u{fffd}"));
        assert_eq!(Query::parse("?a=1").get("a"), Some("1"));
    }

    #[test]
    fn empty_sid_and_b64_are_absent() {
        let q = Query::parse("sid=&b64=");
        assert_eq!(q.sid(), None);
        assert!(!q.b64());
        assert!(Query::parse("b64=1").b64());
        assert_eq!(Query::parse("j=").j(), Some(""));
    }

    #[test]
    fn pairs_are_bounded() {
        let raw = "a=1&".repeat(MAX_QUERY_PAIRS + 10);
        assert_eq!(Query::parse(&raw).pairs().count(), MAX_QUERY_PAIRS);
    }

    #[test]
    fn encode_round_trips() {
        let s = "a b/€&=";
        assert_eq!(form_decode(&form_encode(s)), s);
    }
}
