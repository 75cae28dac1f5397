//! The layering guard: Engine.IO and Socket.IO are encoded and decoded by
//! `siospec-codec` only, and case files never import one another.
//!
//! It scans `harness/src` line by line for the obvious forms of protocol
//! written by hand:
//!
//! * a `format!` string that starts with a packet type and builds the rest
//!   of a packet: `format!("4{text}")`, `format!(r#"3{id}[...]"#)`,
//!   `format!("61-{id}[...]")`, `format!("2/nsp,...")`;
//! * a payload split on the record separator (`split('\x1e')`, `\u{1e}`);
//! * binary placeholders written or read by hand (`{"_placeholder"`,
//!   `get("_placeholder")`);
//! * UTF-16 lengths counted by hand (`encode_utf16().count()`, `len_utf16`);
//! * a literal Socket.IO packet in an Engine.IO message handed to a send
//!   or POST (`post(&cx, "40")`, `send_raw(r#"42[...]"#)`);
//! * `use crate::cases::` in a case file (`use crate::client_cases::` in a
//!   client case file).
//!
//! Exempt: the malformed-input sections (`cases/*malformed*.rs`), whose
//! point is bytes the codec would never write, sent through the raw calls;
//! the probe (`probe.rs`), which sniffs an unknown server before a revision
//! is chosen; and the server and load generator, which are not clients.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read harness/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The format strings of the `format!(` calls on `line` (from their first character on).
fn format_strings(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("format!(") {
        rest = &rest[i + "format!(".len()..];
        let s = rest
            .trim_start()
            .trim_start_matches('r')
            .trim_start_matches('#');
        if let Some(s) = s.strip_prefix('"') {
            found.push(s);
        }
    }
    found
}

/// Whether a format string starts with a packet type and goes on building a packet.
fn builds_packet(s: &str) -> bool {
    let mut chars = s.chars();
    if !chars.next().is_some_and(|c| ('0'..='6').contains(&c)) {
        return false;
    }
    let after: String = chars.collect();
    let digits = after.trim_start_matches(|c: char| c.is_ascii_digit());
    after.starts_with('{')
        || after.starts_with('[')
        || after.starts_with('/')
        || digits.starts_with('-')
}

/// A literal Socket.IO packet (`4` + a Socket.IO type) as the first string
/// argument of a send or POST call.
fn sends_literal_packet(line: &str) -> bool {
    ["post(", "send_raw(", "send(", "post_packets("]
        .iter()
        .any(|call| {
            line.match_indices(call).any(|(i, _)| {
                let args = &line[i + call.len()..];
                let args = args.split(')').next().unwrap_or("");
                args.split('"').nth(1).is_some_and(|s| {
                    s.len() >= 2 && s.starts_with('4') && s.as_bytes()[1].is_ascii_digit()
                })
            })
        })
}

fn violations(rel: &str, text: &str) -> Vec<String> {
    let exempt = rel.contains("malformed")
        || rel == "probe.rs"
        || rel.starts_with("server/")
        || rel.starts_with("bench/");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut hit = |what: &str| out.push(format!("{rel}:{}: {what}: {}", n + 1, code));
        if rel.starts_with("cases/") && code.contains("use crate::cases::") {
            hit("a case file imports another case file (shared helpers live in verify/)");
        }
        if rel.starts_with("client_cases/") && code.contains("use crate::client_cases::") {
            hit("a client case file imports another case file (shared helpers live in verify/)");
        }
        if exempt {
            continue;
        }
        if format_strings(code).into_iter().any(builds_packet) {
            hit("a packet built by hand in format! (encode with the codec)");
        }
        if code.contains("split") && (code.contains("\\x1e") || code.contains("\\u{1e}")) {
            hit("a payload split by hand (decode it with the codec)");
        }
        if code.contains("{\"_placeholder\"") || code.contains("(\"_placeholder\")") {
            hit("a binary placeholder by hand (socket::binary in the codec)");
        }
        if code.contains("encode_utf16().count()") || code.contains("len_utf16") {
            hit("a UTF-16 length counted by hand (the codec's v3 payload coder counts it)");
        }
        if sends_literal_packet(code) {
            hit("a literal Socket.IO packet sent (encode with wire::sio)");
        }
    }
    out
}

#[test]
fn no_protocol_by_hand_outside_the_codec() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(
        files.len() > 20,
        "harness/src not found at {}",
        root.display()
    );
    let mut all = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).expect("read source");
        all.extend(violations(&rel, &text));
    }
    assert!(
        all.is_empty(),
        "protocol written outside the codec:\n{}",
        all.join("\n")
    );
}

/// The guard catches the forms it is meant to catch (each of these lines
/// was in the harness before the codec took them over) and lets the
/// exempt files and ordinary strings through.
#[test]
fn the_guard_catches_the_old_forms() {
    let old = [
        r##"        eio::send(&mut self.ws, &format!("4{text}")).await"##,
        r##"                s.send(&format!(r#"3{id}["r",2]"#)).await?;"##,
        r##"                send_binary(&mut s, &format!("61-{id}[{}]", ph(0)), &[&[9, 8, 7]]).await?;"##,
        r##"        Value::Object(m) if m.get("_placeholder") == Some(&Value::Bool(true)) => {"##,
        r##"    format!(r#"{{"_placeholder":true,"num":{n}}}"#)"##,
        r##"                if len != content.encode_utf16().count().to_string() {"##,
        r##"                    if r.text().split('\u{1e}').any(|p| p == "2") {"##,
        r##"                verify::posted(&s.post(&cx, "40").await?, "POST 40")?;"##,
        r##"use crate::cases::sio5_connect::reply_sid;"##,
    ];
    for line in old {
        assert_eq!(
            violations("cases/x.rs", line).len(),
            1,
            "not caught: {line}"
        );
    }
    assert_eq!(
        violations(
            "client_cases/x.rs",
            "use crate::client_cases::sio5_event::text_args;"
        )
        .len(),
        1,
        "a client case importing another is caught"
    );
    let fine = [
        r##"        "400 with body {{\"code\":{},\"message\":\"{}\"}}","##,
        r##"                Ok(Observed::ok(r#"42["message-back"]"#))"##,
        r##"const REQ: &str = "each binary value is replaced by {\"_placeholder\":true,\"num\":N}";"##,
    ];
    for line in fine {
        assert!(
            violations("cases/x.rs", line).is_empty(),
            "false positive: {line}"
        );
    }
    assert!(violations(
        "cases/sio5_malformed.rs",
        r##"s.send_raw(r#"51-["message",{"_placeholder":true,"num":5}]"#)"##
    )
    .is_empty());
}
