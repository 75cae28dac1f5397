//! Differential test: seeded random inputs for every layer, decoded by the
//! official parsers (a long-lived node process) and by the codec in the
//! `Compat` profile, which must agree exactly (see `support::compare`).
//!
//! `SIOSPEC_DIFF_CASES` sets the inputs per share (default 1,300, so more than
//! 14,000 per run, about 3,500 of them msgpack frames) and `SIOSPEC_DIFF_SEED` the seed (default 0). A
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

/// A msgpack length header: `width` 0 is the smallest form (as notepack
/// writes), 1–3 force the 8-, 16- and 32-bit forms where the type has them.
fn mp_head(out: &mut Vec<u8>, n: usize, fix: Option<(u8, usize)>, markers: [u8; 3], width: u8) {
    let w = match (width, fix) {
        (0, Some((_, max))) if n < max => 0,
        (0, _) if n < 0x100 && markers[0] != 0 => 1,
        (0, _) if n < 0x10000 => 2,
        (0, _) => 3,
        (1, _) if markers[0] != 0 && n < 0x100 => 1,
        (1 | 2, _) if n < 0x10000 => 2,
        _ => 3,
    };
    match (w, fix) {
        (0, Some((base, _))) => out.push(base | n as u8),
        (1, _) => out.extend_from_slice(&[markers[0], n as u8]),
        (2, _) => {
            out.push(markers[1]);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(markers[2]);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
}

fn mp_str(bytes: &[u8], width: u8) -> Vec<u8> {
    let mut out = Vec::new();
    mp_head(
        &mut out,
        bytes.len(),
        Some((0xa0, 32)),
        [0xd9, 0xda, 0xdb],
        width,
    );
    out.extend_from_slice(bytes);
    out
}

/// One msgpack value that is not a container.
fn mp_leaf() -> impl Strategy<Value = Vec<u8>> {
    let string = (
        prop::sample::select(vec![
            &b""[..],
            b"a",
            b"ev",
            b"connect",
            b"message",
            b"/",
            b"/chat",
            b"$x",
            b"0",
            b"12",
            b"__proto__",
            b"\xc3\xa9",
            b"\xff",
            b"\xed\xa0\x80",
            b"\xef\xbb\xbf",
            b"toString",
        ]),
        0u8..4,
    )
        .prop_map(|(s, w)| mp_str(s, w));
    let bytes = (
        prop::collection::vec(any::<u8>(), 0..6),
        0u8..4,
        prop::sample::select(vec![0xc4u8, 0xc7]),
    )
        .prop_map(|(b, w, kind)| {
            let mut out = Vec::new();
            let markers = if kind == 0xc4 {
                [0xc4, 0xc5, 0xc6]
            } else {
                [0xc7, 0xc8, 0xc9]
            };
            mp_head(&mut out, b.len(), None, markers, w);
            if kind == 0xc7 {
                out.push(0);
            }
            out.extend(b);
            out
        });
    let number = prop_oneof![
        any::<u8>().prop_map(|b| vec![b & 0x7f]),
        (0xe0u8..=0xff).prop_map(|b| vec![b]),
        (
            prop::sample::select(vec![0xccu8, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3]),
            any::<u64>(),
            0u32..64
        )
            .prop_map(|(m, v, shift)| {
                let width = 1usize << (m & 3);
                let v = v >> shift;
                let mut out = vec![m];
                out.extend_from_slice(&v.to_be_bytes()[8 - width..]);
                out
            }),
        prop::sample::select(vec![
            0.0f64,
            -0.0,
            1.5,
            2.0,
            0.1,
            1e21,
            f64::NAN,
            f64::INFINITY,
            9007199254740993.0
        ])
        .prop_map(|f| [&[0xcb][..], &f.to_be_bytes()].concat()),
        prop::sample::select(vec![0.0f32, 3.0, 0.1, f32::NAN]).prop_map(|f| [
            &[0xca][..],
            &f.to_be_bytes()
        ]
        .concat()),
    ];
    let ext = (
        prop::sample::select(vec![0xd4u8, 0xd5, 0xd6, 0xd7, 0xd8]),
        prop::sample::select(vec![0u8, 1, 0xff, 0x7f]),
        any::<[u8; 16]>(),
    )
        .prop_map(|(m, t, b)| [&[m, t][..], &b[..1 << (m - 0xd4)]].concat());
    prop_oneof![
        2 => prop::sample::select(vec![vec![0xc0u8], vec![0xc2], vec![0xc3], vec![0xd4, 0, 0], vec![0xc1]]),
        4 => string,
        2 => bytes,
        3 => number,
        1 => ext,
    ]
}

/// A msgpack value: leaves, arrays and maps in any width.
fn mp_value() -> impl Strategy<Value = Vec<u8>> {
    mp_leaf().prop_recursive(3, 24, 5, |inner| {
        let key = prop_oneof![
            5 => prop::sample::select(vec![&b"a"[..], b"b", b"0", b"7", b"type", b"nsp", b"data", b"id", b"$x", b"__proto__", b"_placeholder"])
                .prop_map(|k| mp_str(k, 0)),
            1 => inner.clone(),
        ];
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), 0u8..4).prop_map(|(items, w)| {
                let mut out = Vec::new();
                mp_head(&mut out, items.len(), Some((0x90, 16)), [0, 0xdc, 0xdd], w);
                out.extend(items.concat());
                out
            }),
            (prop::collection::vec((key, inner), 0..4), 0u8..4).prop_map(|(entries, w)| {
                let mut out = Vec::new();
                mp_head(&mut out, entries.len(), Some((0x80, 16)), [0, 0xde, 0xdf], w);
                for (k, v) in entries {
                    out.extend(k);
                    out.extend(v);
                }
                out
            }),
        ]
    })
}

/// A socket.io-msgpack-parser frame: a packet map with likely and unlikely
/// fields, sometimes cut, extended or with bytes changed.
fn msgpack_frame() -> impl Strategy<Value = Vec<u8>> {
    let field = |name: &'static [u8], value: BoxedStrategy<Vec<u8>>| {
        prop::option::weighted(0.9, value)
            .prop_map(move |v| v.map(|v| [mp_str(name, 0), v].concat()))
    };
    let kind = prop_oneof![
        6 => (0u8..7).prop_map(|t| vec![t]),
        1 => mp_leaf(),
    ]
    .boxed();
    let nsp = prop_oneof![
        6 => prop::sample::select(vec![&b"/"[..], b"/", b"/chat", b"", b"x"]).prop_map(|n| mp_str(n, 0)),
        1 => mp_leaf(),
    ]
    .boxed();
    let data = prop_oneof![
        3 => (prop::sample::select(vec![&b"ev"[..], b"connect", b"1"]), prop::collection::vec(mp_value(), 0..4)).prop_map(|(name, rest)| {
            let mut out = Vec::new();
            mp_head(&mut out, rest.len() + 1, Some((0x90, 16)), [0, 0xdc, 0xdd], 0);
            out.extend(mp_str(name, 0));
            out.extend(rest.concat());
            out
        }),
        2 => mp_value(),
    ]
    .boxed();
    let id = prop_oneof![
        3 => (0u32..100_000).prop_map(|n| {
            let mut out = Vec::new();
            out.push(0xce);
            out.extend_from_slice(&n.to_be_bytes());
            out
        }),
        1 => mp_leaf(),
    ]
    .boxed();
    let packet = (
        field(b"type", kind),
        field(b"nsp", nsp),
        field(b"data", data),
        prop::option::weighted(0.4, id).prop_map(|v| v.map(|v| [mp_str(b"id", 0), v].concat())),
        prop::option::weighted(
            0.15,
            (mp_value(), mp_value()).prop_map(|(k, v)| [k, v].concat()),
        ),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(|(t, n, d, i, extra, reversed, width)| {
            let mut fields: Vec<Vec<u8>> = [t, n, d, i, extra].into_iter().flatten().collect();
            if reversed {
                fields.reverse();
            }
            let mut out = Vec::new();
            mp_head(
                &mut out,
                fields.len(),
                Some((0x80, 16)),
                [0, 0xde, 0xdf],
                width,
            );
            out.extend(fields.concat());
            out
        });
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0u8..4);
    (packet, prop::collection::vec(edit, 0..3))
        .prop_map(|(mut frame, edits)| {
            for (at, byte, op) in edits {
                match op {
                    0 if !frame.is_empty() => {
                        let i = at.index(frame.len());
                        frame[i] = byte;
                    }
                    1 if !frame.is_empty() => frame.truncate(at.index(frame.len())),
                    2 => frame.push(byte),
                    _ => {}
                }
            }
            frame
        })
        // notepack allocates and fills an ArrayBuffer of an ext 32's declared
        // length before it notices the frame ends: gigabytes for a stray `c9`.
        .prop_filter("ext 32 declaring a huge length", |frame| {
            frame
                .windows(5)
                .all(|w| w[0] != 0xc9 || u32::from_be_bytes([w[1], w[2], w[3], w[4]]) <= 0x10000)
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
        5 => msgpack_frame().prop_map(|b| ("sio5.msgpack", json!({ "binary": hex(&b) }), Value::Null)),
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
    // Eleven shares of the case weights: about 3,000 inputs for each of the
    // two Socket.IO layers (weights 4 and 5 of 19) and 750 for each other layer.
    let cases = env_number("SIOSPEC_DIFF_CASES", 1_300) as u32 * 11;
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
