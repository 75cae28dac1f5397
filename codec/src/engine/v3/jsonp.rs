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

/// `querystring.parse`'s decoding of a key or value: `+` becomes a space;
/// then, only when a well-formed `%XX` appears, `decodeURIComponent`
/// when every escape is well formed and the escaped bytes are UTF-8;
/// otherwise Node's `unescapeBuffer`, which decodes the well-formed escapes,
/// keeps the rest, writes every UTF-16 code unit truncated to one byte, and
/// reads the bytes back as UTF-8 (invalid sequences become U+FFFD).
fn form_decode(s: &str) -> Cow<'_, str> {
    let spaced = if s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    if !has_escape(s) {
        return spaced;
    }
    match decode_uri_component(&spaced) {
        Some(decoded) => Cow::Owned(decoded),
        None => Cow::Owned(unescape_buffer(&spaced)),
    }
}

/// Node's `encodeCheck`: a `%` then two hex digits, where a `+` in between
/// neither counts nor breaks the run.
fn has_escape(s: &str) -> bool {
    let mut state = 0;
    for u in s.encode_utf16() {
        match u {
            0x2b => {}
            0x25 => state = 1,
            _ if state > 0
                && char::from_u32(u32::from(u)).is_some_and(|c| c.is_ascii_hexdigit()) =>
            {
                state += 1;
                if state == 3 {
                    return true;
                }
            }
            _ => state = 0,
        }
    }
    false
}

fn hex_pair(units: &[u16]) -> Option<u8> {
    let digit = |u: u16| char::from_u32(u32::from(u)).and_then(|c| c.to_digit(16));
    match units {
        [hi, lo, ..] => Some((digit(*hi)? * 16 + digit(*lo)?) as u8),
        _ => None,
    }
}

fn decode_uri_component(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let mut run = Vec::new();
        let mut escapes = &rest[at..];
        while let Some(tail) = escapes.strip_prefix('%') {
            let units: Vec<u16> = tail.encode_utf16().take(2).collect();
            run.push(hex_pair(&units)?);
            escapes = tail.get(2..)?;
        }
        out.push_str(std::str::from_utf8(&run).ok()?);
        rest = escapes;
    }
    out.push_str(rest);
    Some(out)
}

fn unescape_buffer(s: &str) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        if units[i] == u16::from(b'%') {
            if let Some(byte) = units.get(i + 1..).and_then(hex_pair) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(units[i] as u8);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
        assert_eq!(decode_request_body("d=%+1").as_deref(), Some("% 1"));
        assert_eq!(decode_request_body("d=%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode_request_body("d=é%26").as_deref(), Some("é&"));
        // A malformed escape sends the whole value through `unescapeBuffer`,
        // which cuts `é` (U+00E9) to the lone byte E9.
        assert_eq!(
            decode_request_body("d=é%26%").as_deref(),
            Some("\u{fffd}&%")
        );
        assert_eq!(decode_request_body("d=é%").as_deref(), Some("é%"));
        assert_eq!(
            decode_request_body("d=é%+00").as_deref(),
            Some("\u{fffd}% 00")
        );
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
