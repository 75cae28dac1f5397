//! Escaping for every format the reports write: HTML (text and attribute
//! values), XML (JUnit, SVG), Markdown table cells and shell words.

/// HTML text or a double- or single-quoted attribute value.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0 text or attribute value. Characters XML 1.0 cannot hold at all
/// (control characters other than tab, LF and CR; U+FFFE, U+FFFF) are
/// written as visible `\u{..}` text instead.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// One cell of a Markdown (GitHub) table: the characters Markdown would
/// interpret are backslash-escaped, `&`, `<` and `>` become entities, and line
/// breaks become `<br>` (a table row is one line).
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// A word for a POSIX shell: unchanged when it holds only characters no shell
/// interprets, single-quoted otherwise.
pub fn shell(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | ',' | '=' | '@' | '+')
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(xml("a<b\u{1}\n\u{ffff}"), "a&lt;b\\u{1}\n\\u{ffff}");
        assert_eq!(md("a|b\r\nc_*`x`"), "a\\|b<br>c\\_\\*\\`x\\`");
        assert_eq!(md("<script>"), "&lt;script&gt;");
        assert_eq!(shell("--target"), "--target");
        assert_eq!(shell("eio4.*"), "'eio4.*'");
        assert_eq!(shell("it's"), r"'it'\''s'");
        assert_eq!(shell(""), "''");
    }
}
