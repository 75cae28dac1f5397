//! `siospec bench`: percentiles, the report and chart writers on made-up
//! figures, and one short real run against the reference server. Nothing
//! here judges speed.

use std::path::PathBuf;
use std::time::Duration;

use siospec::bench::stats::{self, Latency, Memory};
use siospec::bench::{report, svg, Machine, Options, Point, Run, Scenario, Target, Transport};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siospec-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn percentiles_of_a_known_distribution() {
    let mut h = stats::histogram();
    for v in 1..=1000u64 {
        stats::record(&mut h, v);
    }
    let l = Latency::of(&h).expect("samples");
    assert_eq!(l.count, 1000);
    // Three significant digits: every value below 1024 is exact.
    assert_eq!(l.p50, 500.0);
    assert_eq!(l.p90, 900.0);
    assert_eq!(l.p99, 990.0);
    assert_eq!(l.p999, 999.0);
    assert_eq!(l.max, 1000.0);
    assert!(Latency::of(&stats::histogram()).is_none());
    // Out of range is clamped, not dropped.
    stats::record(&mut h, 0);
    stats::record(&mut h, u64::MAX);
    assert_eq!(h.len(), 1002);
}

fn point(scenario: Scenario, target: &str, clients: usize, throughput: f64, p99: f64) -> Point {
    Point {
        scenario,
        target: target.to_owned(),
        clients,
        connected: clients,
        throughput,
        latency: Some(Latency {
            count: 100,
            p50: p99 / 4.0,
            p90: p99 / 2.0,
            p99,
            p999: p99 * 2.0,
            max: p99 * 3.0,
        }),
        server_cpu: (target != "sink").then_some(0.97),
        memory: None,
        errors: 0,
        lost: 0,
    }
}

fn synthetic() -> Run {
    let mut points = Vec::new();
    for clients in [10, 1000] {
        for s in [Scenario::Echo, Scenario::Broadcast, Scenario::Connect] {
            points.push(point(s, "sink", clients, 600_000.0, 900.0));
            points.push(point(s, "rust", clients, 100_000.0, 1500.0));
            points.push(point(s, "node", clients, 40_000.0, 3000.0));
        }
        for t in ["rust", "node"] {
            points.push(Point {
                latency: None,
                throughput: 0.0,
                memory: Some(Memory {
                    before_kib: 10_000,
                    after_kib: 20_000,
                    per_connection: 10_240_000.0 / clients as f64,
                }),
                ..point(Scenario::Idle, t, clients, 0.0, 0.0)
            });
        }
    }
    Run {
        points,
        machine: Machine {
            cores: 2,
            cpu: "Test CPU <&>".to_owned(),
            ..Machine::default()
        },
        transport: Transport::WebSocket,
        duration: Duration::from_secs(3),
        warmup: Duration::from_millis(750),
        elapsed: Duration::from_secs(90),
        command: "siospec bench".to_owned(),
    }
}

#[test]
fn report_states_ratios_and_misses() {
    let md = report::markdown(&synthetic());
    // 100,000 / 40,000: a miss, with its reason.
    assert!(md.contains("reference ≥ 5× Node: missed"), "{md}");
    assert!(md.contains("2.50×"), "{md}");
    assert!(md.contains("Why:"), "{md}");
    // Both servers busy, the reference cheaper per message: its CPU is the limit.
    assert!(
        md.contains(
            "the reference server spent 9.7 µs of CPU and Node 24.2 µs (0.40× Node's cost)"
        ),
        "{md}"
    );
    assert!(md.contains("is the CPU it was given"), "{md}");
    assert!(md.contains("reference lower than Node: met"), "{md}");
    // 600,000 / 100,000 = 6×: every ceiling point met.
    assert!(md.contains("6 of 6 points met"), "{md}");
    assert!(
        md.contains(
            "| 1000 | rust | 100,000 | 375 µs | 750 µs | 1.50 ms | 3.00 ms | 97 % | 9.7 µs | 1000 | 0 | 0 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 1000 | rust | 10,000 KiB | 20,000 KiB | 10,240 bytes | 1000 |"),
        "{md}"
    );
}

#[test]
fn chart_is_self_contained_svg() {
    let svg = svg::render(&synthetic());
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(!svg.contains("<script"));
    assert!(!svg.contains("href"));
    assert!(svg.contains("broadcast: throughput per client count"));
    assert!(svg.contains("echo: latency distribution at 1000 clients"));
    assert!(svg.contains("idle: server memory per connection"));
    assert!(svg.contains("<polyline"));
    // The machine's text is escaped wherever it lands.
    assert!(!svg.contains("<&>"));
    let open = svg.matches("<text").count();
    assert_eq!(open, svg.matches("</text>").count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_against_the_reference_server() {
    let opts = Options {
        targets: vec![Target::Rust {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_siospec")),
        }],
        clients: vec![4],
        scenarios: Scenario::ALL.to_vec(),
        transport: Transport::WebSocket,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        ceiling: true,
        bar: false,
    };
    let run = siospec::bench::run(&opts, "test".to_owned())
        .await
        .expect("the run");
    assert_eq!(run.points.len(), 3 * 2 + 1, "{:#?}", run.points);
    for p in &run.points {
        assert_eq!(p.connected, 4, "{p:?}");
        assert_eq!((p.errors, p.lost), (0, 0), "{p:?}");
        if p.scenario == Scenario::Idle {
            assert!(p.memory.is_some_and(|m| m.after_kib > 0), "{p:?}");
        } else {
            assert!(p.throughput > 0.0, "{p:?}");
            assert!(p.latency.is_some_and(|l| l.p50 > 0.0), "{p:?}");
        }
        if p.target == "rust" {
            assert!(p.server_cpu.is_some(), "{p:?}");
        }
    }
    let dir = scratch("run");
    let (md, chart) = report::write(&dir, &run).expect("written");
    let md = std::fs::read_to_string(md).expect("load.md");
    assert!(md.contains("## echo (round trips/s)"));
    assert!(std::fs::read_to_string(chart)
        .expect("load.svg")
        .contains("</svg>"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn polling_clients_work_too() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let opts = Options {
        targets: vec![Target::Rust {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_siospec")),
        }],
        clients: vec![3],
        scenarios: vec![Scenario::Echo, Scenario::Broadcast],
        transport: Transport::Polling,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        ceiling: true,
        bar: false,
    };
    let run = runtime
        .block_on(siospec::bench::run(&opts, "test".to_owned()))
        .expect("the run");
    // The sink speaks WebSocket only: no ceiling points over polling.
    assert!(run.points.iter().all(|p| p.target == "rust"));
    for p in &run.points {
        assert_eq!((p.connected, p.errors), (3, 0), "{p:?}");
        assert!(p.throughput > 0.0, "{p:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(["bench", "--scenario", "nope", "--report-dir"])
        .arg(scratch("usage"))
        .output()
        .expect("siospec");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario"));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(["bench", "--help"])
        .output()
        .expect("siospec");
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--target",
        "--url",
        "--clients",
        "--transport",
        "--scenario",
        "--duration",
        "--quick",
        "--report-dir",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
}
