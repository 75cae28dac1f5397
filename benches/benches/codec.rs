//! Codec micro-benchmarks: siospec-codec against socketioxide's parser
//! crates and serde_json, on the inputs of `siospec_benches` (the JavaScript
//! rows come from `js/bench.mjs`). One criterion group per case, named
//! `<family>/<case>`, one function per implementation; `codec-report` reads
//! the results back by those names.
//!
//! Run through `benches/run-codec`, which also runs the JavaScript side and
//! writes the report; `cargo bench -p siospec-benches -- <filter>` for a
//! subset.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use siospec_benches as b;
use siospec_codec::engine;
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_common::CommonParser;

/// Inputs above this size get flat sampling and 10 samples, so a full run
/// stays within minutes while each sample still holds many iterations.
const LARGE: usize = 20_000;

fn group<'c>(
    c: &'c mut Criterion,
    name: String,
    bytes: usize,
) -> BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    if bytes > LARGE {
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
    }
    g
}

fn eio(c: &mut Criterion) {
    for case in b::eio_cases() {
        let bytes = case.wire.len();
        let mut g = group(c, format!("eio_decode/{}", case.name), bytes);
        g.bench_function("siospec", |bn| {
            bn.iter(|| b::eio_decode(&case, black_box(&case.wire)).map(|p| black_box(p).kind))
        });
        let sx = b::sx_eio_input(&case);
        if let Some((version, text)) = &sx {
            g.bench_function("socketioxide", |bn| {
                bn.iter(|| b::sx_eio_decode(*version, black_box(text.clone())).is_ok())
            });
        }
        g.finish();

        let packet = b::eio_decode(&case, &case.wire).expect("valid");
        let mut g = group(c, format!("eio_encode/{}", case.name), bytes);
        let mut out = Vec::with_capacity(64);
        g.bench_function("siospec", |bn| {
            bn.iter(|| {
                out.clear();
                b::eio_encode(&case, black_box(&packet), &mut out);
                black_box(out.len())
            })
        });
        if let Some((version, text)) = &sx {
            // Bytes over static memory, so cloning the packet costs nothing.
            let sx_packet = match b::sx_eio_decode(*version, text.clone()).expect("valid") {
                engineioxide_core::Packet::Binary(d) => {
                    engineioxide_core::Packet::Binary(bytes::Bytes::from_static(d.to_vec().leak()))
                }
                engineioxide_core::Packet::BinaryV3(d) => engineioxide_core::Packet::BinaryV3(
                    bytes::Bytes::from_static(d.to_vec().leak()),
                ),
                p => p,
            };
            g.bench_function("socketioxide", |bn| {
                bn.iter(|| b::sx_eio_encode(black_box(sx_packet.clone())).len())
            });
        }
        g.finish();
    }

    let json = b::handshake_input();
    let mut g = group(c, "eio_decode/handshake".into(), json.len());
    g.bench_function("siospec", |bn| {
        bn.iter(|| b::handshake_decode(black_box(json)))
    });
    g.finish();
    let handshake = b::handshake_decode(json);
    let mut g = group(c, "eio_encode/handshake".into(), json.len());
    let mut out = Vec::with_capacity(256);
    g.bench_function("siospec", |bn| {
        bn.iter(|| {
            out.clear();
            black_box(&handshake).encode(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn payloads(c: &mut Criterion) {
    for case in b::payload_cases() {
        let bytes = case.body.len();
        let mut g = group(c, format!("payload_decode/{}", case.name), bytes);
        g.bench_function("siospec", |bn| {
            bn.iter(|| b::payload_decode(&case, black_box(case.body)))
        });
        g.finish();

        let packets: Vec<engine::Packet<'static>> = b::payload_decoded(&case);
        let mut g = group(c, format!("payload_encode/{}", case.name), bytes);
        let mut out = Vec::with_capacity(bytes);
        g.bench_function("siospec", |bn| {
            bn.iter(|| {
                out.clear();
                b::payload_encode(&case, black_box(&packets), &mut out);
                black_box(out.len())
            })
        });
        g.finish();
    }
}

fn sio(c: &mut Criterion) {
    let config = ParseConfig::default();
    for case in b::sio_cases() {
        let bytes = case.wire_len();
        let json = case.json();
        let mut g = group(c, format!("sio_decode/{}", case.name), bytes);
        let mut r = b::reassembler();
        g.bench_function("siospec", |bn| {
            bn.iter(
                || match b::sio_decode(&mut r, &case, black_box(case.text)) {
                    b::Decoded::Packet(p) => black_box(p).attachments,
                    b::Decoded::Assembled(a) => black_box(a).attachments().len(),
                },
            )
        });
        g.bench_function("siospec+value", |bn| {
            bn.iter(|| b::sio_decode_value(&mut r, &case, black_box(case.text)))
        });
        let input = b::SxInput::new(&case);
        let state = ParserState::default();
        g.bench_function("socketioxide", |bn| {
            bn.iter(|| black_box(b::sx_decode(&state, &config, black_box(&input))))
        });
        g.bench_function("socketioxide+validate", |bn| {
            bn.iter(|| b::sx_decode_validate(&state, &config, black_box(&input)))
        });
        if !case.is_binary() {
            g.bench_function("socketioxide+value", |bn| {
                bn.iter(|| black_box(b::sx_decode_value(&state, &config, black_box(&input))))
            });
        }
        g.bench_function("serde_json::IgnoredAny", |bn| {
            bn.iter(|| b::serde_ignored(black_box(json)))
        });
        g.bench_function("serde_json::RawValue", |bn| {
            bn.iter(|| b::serde_raw(black_box(json)))
        });
        g.bench_function("serde_json::Value", |bn| {
            bn.iter(|| black_box(b::serde_value(black_box(json))))
        });
        g.finish();

        let mut g = group(c, format!("sio_encode/{}", case.name), bytes);
        let enc = b::sio_encode_input(&case);
        let mut out = Vec::with_capacity(case.text.len());
        g.bench_function("siospec", |bn| {
            bn.iter(|| {
                out.clear();
                let attachments = b::sio_encode(black_box(&enc), &mut out);
                black_box(attachments.len() + out.len())
            })
        });
        let sx_in = b::sx_encode_input(&case);
        let plan = b::SxEncodePlan::new(&case);
        g.bench_function("socketioxide", |bn| {
            bn.iter(|| black_box(plan.encode(black_box(&sx_in))))
        });
        if let Some(j) = &enc.json {
            g.bench_function("serde_json::Value", |bn| {
                bn.iter(|| {
                    out.clear();
                    serde_json::to_writer(&mut out, black_box(j)).expect("write");
                    black_box(out.len())
                })
            });
        }
        if let Some(packet) = b::sx_encode_raw_input(&case) {
            let raw = b::sio_raw_packet(&case);
            g.bench_function("siospec:framing", |bn| {
                bn.iter(|| {
                    out.clear();
                    siospec_codec::socket::encode(black_box(&raw), &mut out);
                    black_box(out.len())
                })
            });
            g.bench_function("socketioxide:framing", |bn| {
                bn.iter(|| black_box(CommonParser.encode(black_box(packet.clone()))))
            });
        }
        g.finish();
    }
}

fn config() -> Criterion {
    // Defaults for a full run, trimmed so ~200 benchmarks take minutes;
    // `run-codec` and the command line can shorten them further.
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000))
        .without_plots()
}

fn checked(c: &mut Criterion) {
    // Never time an error path: every input is proved valid for every row first.
    b::check();
    eio(c);
    payloads(c);
    sio(c);
}

criterion_group! {
    name = benches;
    config = config();
    targets = checked
}
criterion_main!(benches);
