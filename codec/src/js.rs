//! The handful of JavaScript coercions the official parsers rely on.
//!
//! The `Compat` profile must reproduce `Number(string)`, `Number.prototype.toString`
//! and Node's forgiving base64 decoder, because the official parsers decide with them.

/// `true` for the characters ECMAScript's `StringToNumber` trims
/// (WhiteSpace and LineTerminator).
pub(crate) fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// ECMAScript `Number(s)` for a string argument.
pub(crate) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return integer_in_radix(digits, radix);
        }
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'+' => (1.0, &t[1..]),
        b'-' => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return sign * f64::INFINITY;
    }
    if !is_unsigned_decimal_literal(body) {
        return f64::NAN;
    }
    body.parse::<f64>().map_or(f64::NAN, |v| sign * v)
}

fn integer_in_radix(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut value = 0.0f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => value = value * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    value
}

/// `StrUnsignedDecimalLiteral` without `Infinity`: `1`, `1.`, `.5`, `1.5e-3`.
fn is_unsigned_decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&b[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(&b[i..]);
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&b[i..]);
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `true` when `value` is an integer JavaScript represents exactly
/// (`Number.isSafeInteger`).
pub(crate) fn is_safe_integer(value: f64) -> bool {
    value.is_finite() && value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER as f64
}

/// `Number.MAX_SAFE_INTEGER`, 2^53 − 1.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// ECMAScript `Number::toString(10)`, appended to `out`.
pub(crate) fn write_number(value: f64, out: &mut Vec<u8>) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value == 0.0 {
        out.push(b'0');
        return;
    }
    if value < 0.0 {
        out.push(b'-');
    }
    if value.is_infinite() {
        out.extend_from_slice(b"Infinity");
        return;
    }
    // `{:e}` prints the shortest digits that round-trip, as ECMAScript requires.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-n) as usize));
        out.extend_from_slice(&digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if n - 1 < 0 { b'-' } else { b'+' });
        out.extend_from_slice((n - 1).unsigned_abs().to_string().as_bytes());
    }
}

/// Node's `Buffer.from(s, "base64")`: characters outside the base64 and
/// base64url alphabets are skipped, decoding stops at the first `=`, and a
/// trailing group of two or three characters still yields its whole bytes.
/// Node reads each UTF-16 code unit through a `uint8_t` cast, so characters
/// above U+00FF alias a Latin-1 one.
pub(crate) fn lenient_base64_decode(s: &str) -> Vec<u8> {
    // An ASCII string's UTF-16 code units are its bytes: no need to walk
    // its characters (the common case, and the cheaper by far).
    if s.is_ascii() {
        return lenient_base64_decode_latin1(s.as_bytes());
    }
    lenient_base64_decode_units(s.len(), s.encode_utf16().map(|unit| unit as u8))
}

/// [`lenient_base64_decode`] of `s.slice(1)`: from the second UTF-16 code
/// unit, so after an astral first character its low surrogate is read too.
pub(crate) fn lenient_base64_decode_after_first_unit(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        return lenient_base64_decode_latin1(s.as_bytes().get(1..).unwrap_or_default());
    }
    lenient_base64_decode_units(s.len(), s.encode_utf16().skip(1).map(|unit| unit as u8))
}

/// [`lenient_base64_decode`] over a Latin-1 string given as its bytes.
pub(crate) fn lenient_base64_decode_latin1(bytes: &[u8]) -> Vec<u8> {
    lenient_base64_decode_units(bytes.len(), bytes.iter().copied())
}

/// [`lenient_base64_decode`] over UTF-16 code units already cast to bytes.
pub(crate) fn lenient_base64_decode_units(len: usize, units: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(len / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in units {
        if c == b'=' {
            break;
        }
        let Some(v) = base64_value(c) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// `JSON.stringify(s)` for a string, appended to `out`.
pub(crate) fn write_json_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Number of UTF-16 code units in `s` (JavaScript's `string.length`).
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: f64) -> String {
        let mut out = Vec::new();
        write_number(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn string_to_number_follows_ecmascript() {
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number(" \u{3000}"), 0.0);
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number("0x1f"), 31.0);
        assert_eq!(string_to_number("0b11"), 3.0);
        assert_eq!(string_to_number("1e2"), 100.0);
        assert_eq!(string_to_number("+1"), 1.0);
        assert_eq!(string_to_number(".5"), 0.5);
        assert_eq!(string_to_number("5."), 5.0);
        assert_eq!(string_to_number("-Infinity"), f64::NEG_INFINITY);
        for nan in [
            "1 2", "abc", "inf", "nan", "-0x1", "0x", "1e", "+", ".", "infinity",
        ] {
            assert!(string_to_number(nan).is_nan(), "{nan:?}");
        }
    }

    #[test]
    fn number_to_string_follows_ecmascript() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(123.0), "123");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(4.3e21), "4.3e+21");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(2f64.powi(60)), "1152921504606847000");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(-2.5e-10), "-2.5e-10");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "Infinity");
    }

    #[test]
    fn lenient_base64_skips_noise_and_stops_at_padding() {
        assert_eq!(lenient_base64_decode("AQIDBA=="), [1, 2, 3, 4]);
        assert_eq!(lenient_base64_decode("AQID"), [1, 2, 3]);
        assert_eq!(lenient_base64_decode("AQIDBA"), [1, 2, 3, 4]);
        assert!(lenient_base64_decode("!!!").is_empty());
        assert_eq!(lenient_base64_decode("A Q\nI D"), [1, 2, 3]);
        assert_eq!(lenient_base64_decode("AQ==AQ=="), [1]);
        assert_eq!(lenient_base64_decode("-_-_"), lenient_base64_decode("+/+/"));
    }
}
