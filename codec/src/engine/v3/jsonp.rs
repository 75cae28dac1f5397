//! The JSONP polling transport of protocol 3: form-encoded request bodies
//! and script-wrapped responses.
//!
//! ```
//! use siospec_codec::engine::v3::jsonp;
//!
//! assert_eq!(jsonp::decode_request_body("d=6%3A4hello").as_deref(), Some("6:4hello"));
//! let mut out = Vec::new();
//! jsonp::encode_response("0", "6:4hello", &mut out);
//! assert_eq!(out, b"___eio[0](\"6:4hello\");");
//! ```

use std::borrow::Cow;

use crate::js;

/// Node's `querystring.parse` reads at most this many pairs.
const MAX_KEYS: usize = 1000;

/// The payload carried by a JSONP POST body (`application/x-www-form-urlencoded`
/// with the payload in field `d`), or `None` when the body has no single `d`
/// field, in which case the official server ignores the request.
///
/// As the official transport does, an escaped newline `\n` (backslash, `n`)
/// becomes a newline and an escaped backslash before `n` is kept as `\n`.
///
/// ```
/// use siospec_codec::engine::v3::jsonp;
///
/// assert_eq!(jsonp::decode_request_body("d=1%3A2").as_deref(), Some("1:2"));
/// assert_eq!(jsonp::decode_request_body("x=1"), None);
/// assert_eq!(jsonp::decode_request_body("d=a&d=b"), None);
/// assert_eq!(jsonp::decode_request_body("d=a%5Cnb").as_deref(), Some("a\nb"));
/// ```
pub fn decode_request_body(body: &str) -> Option<Cow<'_, str>> {
    let mut found = None;
    let mut seen_d = 0;
    for pair in body.split('&').filter(|p| !p.is_empty()).take(MAX_KEYS) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key) == "d" {
            seen_d += 1;
            found = Some(value);
        }
    }
    if seen_d != 1 {
        return None;
    }
    let data = form_decode(found?);
    let unescaped = unescape_newlines(&data);
    Some(Cow::Owned(collapse_escaped_newlines(&unescaped)))
}

/// `+` as space and `%XX` percent-decoding; malformed escapes stay as they
/// are, and bytes that are not UTF-8 become U+FFFD.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `data.replace(/(\\)?\\n/g, (m, slashes) => slashes ? m : "\n")`.
fn unescape_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if rest.starts_with("\\\\n") {
            out.push_str("\\\\n");
            rest = &rest[3..];
        } else if rest.starts_with("\\n") {
            out.push('\n');
            rest = &rest[2..];
        } else if let Some(c) = rest.chars().next() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `data.replace(/\\\\n/g, "\\n")`.
fn collapse_escaped_newlines(s: &str) -> String {
    s.replace("\\\\n", "\\n")
}

/// Wraps a text payload as the JSONP script the official server sends:
/// `___eio[<j>]("<payload as a JSON string>");`, where `<j>` keeps only the
/// digits of the request's `j` parameter and U+2028/U+2029 are escaped.
///
/// ```
/// use siospec_codec::engine::v3::jsonp;
///
/// let mut out = Vec::new();
/// jsonp::encode_response("1x2", "1:\u{2028}", &mut out);
/// assert_eq!(String::from_utf8(out).unwrap(), "___eio[12](\"1:\\u2028\");");
/// ```
pub fn encode_response(j: &str, payload: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"___eio[");
    out.extend(j.bytes().filter(u8::is_ascii_digit));
    out.extend_from_slice(b"](");
    let start = out.len();
    js::write_json_string(payload, out);
    let quoted = out.split_off(start);
    let quoted = String::from_utf8(quoted).unwrap_or_default();
    out.extend_from_slice(
        quoted
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
            .as_bytes(),
    );
    out.extend_from_slice(b");");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_escapes_follow_the_official_regexes() {
        assert_eq!(decode_request_body("d=a%5C%5Cnb").as_deref(), Some("a\\nb"));
        assert_eq!(
            decode_request_body("d=a%5C%5C%5Cnb").as_deref(),
            Some("a\\\\nb")
        );
        assert_eq!(decode_request_body("d=a+b").as_deref(), Some("a b"));
        assert_eq!(decode_request_body("d=%zz").as_deref(), Some("%zz"));
        assert_eq!(decode_request_body("d").as_deref(), Some(""));
    }

    #[test]
    fn responses_escape_like_json_stringify() {
        let mut out = Vec::new();
        encode_response("", "a\"\\\n\u{1}", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "___eio[](\"a\\\"\\\\\\n\\u0001\");"
        );
    }
}
