//! Differential test: seeded random inputs for every layer, decoded by the
//! official parsers (a long-lived node process) and by the codec in the
//! `Compat` profile, which must agree exactly (see `support::compare`).
//!
//! `SIOSPEC_DIFF_CASES` sets the inputs per layer (default 1,300, so more than
//! 10,000 per run) and `SIOSPEC_DIFF_SEED` the seed (default 0). A
//! disagreement is printed with its input: add that input to the generator's
//! lists in fixtures/gen/gen.mjs so it becomes a permanent vector.

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Characters that matter to some parser, plus ordinary and exotic text.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "0", "1", "2", "3", "4", "5", "6", "7", "9", "b", "-", "/", ",", ":", "[", "]", "{", "}", "\"",
            " ", "\t", "\u{a0}", "\u{3000}", "\u{feff}", "\u{1e}", "\\", "=", "+", ".", "e", "x", "é", "€",
            "😀", "A", "Q", "I", "D", "%", "&", "d", "n", "probe",
        ]).prop_map(str::to_owned),
        1 => "[a-zA-Z0-9+/=]{1,8}",
        1 => any::<char>().prop_map(String::from),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..max).prop_map(|t| t.concat())
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "1e400",
            "-0",
            "0.5",
            "1.0",
            "12345678901234567890",
            "1E2",
            "-1e-7"
        ])
        .prop_map(str::to_owned),
        prop::sample::select(vec![
            "\"message\"",
            "\"connect\"",
            "\"disconnect\"",
            "\"\\u0063onnect\"",
            "\"\\ud800\"",
            "\"é\"",
            "\"a\\\"b\"",
            "\"newListener\"",
            "\"\"",
            "\"x,y\"",
        ])
        .prop_map(str::to_owned),
        (0u32..4).prop_map(|n| format!("{{\"_placeholder\":true,\"num\":{n}}}")),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z_]{0,3}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> =
                    v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn sio_header() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec!["0", "1", "2", "3", "4", "5", "6", "7", " ", "", "x"]);
    let attachments =
        prop::sample::select(vec!["", "1-", "2-", "3-", "0-", "0x1-", "11-", "a-", "1"]);
    let namespace = prop::sample::select(vec![
        "", "", "/", "/admin,", "/admin", "/é,", "/x?y=1,", "/,",
    ]);
    let ack = prop::sample::select(vec![
        "",
        "",
        "0",
        "1",
        "12",
        " ",
        "9007199254740993",
        "1 2",
        "01",
    ]);
    let payload = prop_oneof![3 => json_text(), 1 => text(6), 1 => Just(String::new())];
    (kind, attachments, namespace, ack, payload).prop_map(|(k, a, n, i, p)| {
        let a = if k == "5" || k == "6" { a } else { "" };
        format!("{k}{a}{n}{i}{p}")
    })
}

fn sio_frames() -> impl Strategy<Value = Value> {
    let binary =
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|b| json!({ "binary": hex(&b) }));
    let frame = prop_oneof![3 => sio_header().prop_map(|t| json!({ "text": t })), 1 => binary];
    (sio_header(), prop::collection::vec(frame, 0..4)).prop_map(|(first, rest)| {
        let mut frames = vec![json!({ "text": first })];
        frames.extend(rest);
        json!({ "frames": frames })
    })
}

fn eio_packet_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["0", "1", "2", "3", "4", "5", "6", "7", "b", "", "x"]),
        text(6),
    )
        .prop_map(|(t, body)| format!("{t}{body}"))
}

fn v3_payload() -> impl Strategy<Value = String> {
    let entry = (
        eio_packet_text(),
        -1i32..=1,
        prop::sample::select(vec!["", " ", "0x", "+", "0"]),
    )
        .prop_map(|(packet, off, prefix)| {
            let units = packet.encode_utf16().count() as i32 + off;
            let len = if prefix == "0x" {
                format!("0x{:x}", units.max(0))
            } else {
                format!("{prefix}{}", units.max(0))
            };
            format!("{len}:{packet}")
        });
    prop::collection::vec(entry, 0..4).prop_map(|e| e.concat())
}

fn xhr2_payload() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        0u8..3,
        eio_packet_text(),
        prop::collection::vec(any::<u8>(), 0..5),
        -1i32..=1,
    )
        .prop_map(|(marker, text, bytes, off)| {
            let body = if marker == 0 {
                text.into_bytes()
            } else {
                [vec![4u8], bytes].concat()
            };
            let len = (body.len() as i32 + off).max(0) as usize;
            let mut out = vec![marker];
            out.extend(len.to_string().bytes().map(|d| d - b'0'));
            out.push(0xff);
            out.extend(body);
            out
        });
    prop_oneof![
        4 => prop::collection::vec(entry, 0..4).prop_map(|e| e.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn webtransport_input() -> impl Strategy<Value = (Value, Value)> {
    let frame = (
        any::<bool>(),
        eio_packet_text(),
        prop::collection::vec(any::<u8>(), 0..6),
    )
        .prop_map(|(bin, t, b)| {
            let body = if bin { b } else { t.into_bytes() };
            let mut out = vec![(body.len() as u8 & 0x7f) | if bin { 0x80 } else { 0 }];
            out.extend(body);
            out
        });
    let stream = prop_oneof![
        4 => prop::collection::vec(frame, 1..4).prop_map(|f| f.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ];
    let max = prop::sample::select(vec![1_000_000u64, 10, 126, 127, 200]);
    (stream, prop::collection::vec(0usize..6, 0..4), max).prop_map(|(bytes, cuts, max)| {
        let mut chunks = Vec::new();
        let mut rest: &[u8] = &bytes;
        for cut in cuts {
            let at = cut.min(rest.len());
            chunks.push(hex(&rest[..at]));
            rest = &rest[at..];
        }
        chunks.push(hex(rest));
        let options = if max == 1_000_000 {
            Value::Null
        } else {
            json!({ "maxPayload": max })
        };
        (json!({ "chunks": chunks }), options)
    })
}

fn jsonp_body() -> impl Strategy<Value = String> {
    (
        v3_payload(),
        prop::sample::select(vec!["d=", "x=1&d=", "d=a&d=", ""]),
        any::<bool>(),
    )
        .prop_map(|(p, prefix, encode)| {
            let p = if encode {
                p.bytes().map(|b| format!("%{b:02X}")).collect()
            } else {
                p.replace('&', "%26")
            };
            format!("{prefix}{p}")
        })
}

/// `(layer, input, options)` for one random case.
fn case() -> impl Strategy<Value = (&'static str, Value, Value)> {
    prop_oneof![
        1 => eio_packet_text().prop_map(|t| ("eio4.packet", json!({ "text": t }), Value::Null)),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| ("eio4.packet", json!({ "binary": hex(&b) }), Value::Null)),
        1 => prop::collection::vec(eio_packet_text(), 1..4)
            .prop_map(|p| ("eio4.payload", json!({ "text": p.join("\u{1e}") }), Value::Null)),
        1 => prop::collection::vec(any::<u8>(), 0..10).prop_map(|b| ("eio4.payload", json!({ "text_hex": hex(&b) }), Value::Null)),
        1 => eio_packet_text().prop_map(|t| ("eio3.packet", json!({ "text": t }), Value::Null)),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| ("eio3.packet", json!({ "binary": hex(&b) }), Value::Null)),
        1 => v3_payload().prop_map(|t| ("eio3.payload", json!({ "text": t }), Value::Null)),
        1 => xhr2_payload().prop_map(|b| ("eio3.binary_payload", json!({ "binary": hex(&b) }), Value::Null)),
        1 => jsonp_body().prop_map(|t| ("eio3.jsonp", json!({ "text": t }), Value::Null)),
        1 => webtransport_input().prop_map(|(input, options)| ("webtransport", input, options)),
        4 => sio_frames().prop_map(|f| ("sio5.packet", f, Value::Null)),
    ]
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn compat_agrees_with_the_official_parsers_on_random_input() {
    let cases = env_number("SIOSPEC_DIFF_CASES", 1_300) as u32 * 8;
    let seed = env_number("SIOSPEC_DIFF_SEED", 0);
    let reference = RefCell::new(support::reference::Reference::start());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    // Per layer: inputs, documented deviations, official encodings of data
    // of no known type.
    let per_layer = RefCell::new(BTreeMap::<&str, (u64, u64, u64)>::new());
    let result = runner.run(&case(), |(layer, input, options)| {
        let (outcome, encoded) = reference.borrow_mut().ask(layer, &input, &options);
        let verdict = support::compare(layer, &input, &options, &outcome, encoded.as_ref());
        let mut per_layer = per_layer.borrow_mut();
        let counts = per_layer.entry(layer).or_default();
        counts.0 += 1;
        counts.1 += verdict.deviations.len() as u64;
        counts.2 += verdict.unencodable as u64;
        match verdict.disagreement {
            None => Ok(()),
            Some(why) => Err(TestCaseError::fail(format!("{layer}: {why}"))),
        }
    });
    let per_layer = per_layer.into_inner();
    for (layer, (n, deviations, unencodable)) in &per_layer {
        println!(
            "{layer:<22} {n:>6} inputs checked, {deviations} documented deviations, \
             {unencodable} official encodings of untyped data not compared"
        );
    }
    println!(
        "total {} inputs (seed {seed})",
        per_layer.values().map(|c| c.0).sum::<u64>()
    );
    if let Err(e) = result {
        panic!("the codec and the official parsers disagree (add the input to fixtures/gen): {e}");
    }
}
