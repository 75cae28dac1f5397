//! `siospec bench`: percentiles, the report and chart writers on made-up
//! figures, partial runs merged into the points of earlier ones, and one
//! short real run against the reference server. Nothing here judges speed.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use siospec::bench::report::{LoadSet, SCHEMA};
use siospec::bench::stats::{self, Latency, Memory};
use siospec::bench::{report, svg, Machine, Options, Point, Quiet, Run, Scenario, Transport};
use siospec::peer::Peer;
use siospec::target::Target;

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
        transport: Transport::WebSocket,
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
        generator_cpu: Some(0.8),
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
        started: "2026-05-01T10:00:00Z".to_owned(),
        command: "siospec bench".to_owned(),
    }
}

#[test]
fn report_states_ratios_and_misses() {
    let md = report::markdown(&synthetic());
    // 100,000 / 40,000 = 2.5×: the broadcast target is met.
    assert!(
        md.contains("reference ≥ 2× Node's deliveries/s: met"),
        "{md}"
    );
    assert!(md.contains("2.50×"), "{md}");
    assert!(!md.contains("Why:"), "{md}");
    assert!(md.contains("reference lower than Node: met"), "{md}");
    assert!(
        md.contains("Connect storm, reference ≥ Node at every point: met (2 of 2)"),
        "{md}"
    );
    assert!(
        md.contains("Echo, reference ahead of Node at every point: met (2 of 2)"),
        "{md}"
    );
    // 600,000 / 100,000 = 6×: every ceiling point met.
    assert!(md.contains("6 of 6 points met"), "{md}");
    // Server and generator CPU per operation: 0.97 and 0.8 of a core over 100,000 ops/s.
    assert!(
        md.contains(
            "| 1000 | rust | 100,000 | 375 µs | 750 µs | 1.50 ms | 3.00 ms | 97 % | 9.7 µs | 8.0 µs | 1000 | 0 | 0 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 1000 | rust | 10,000 KiB | 20,000 KiB | 10,240 bytes | 1000 |"),
        "{md}"
    );
    // The growth curve, by client count and server.
    assert!(
        md.contains("| clients | rust | node |\n|---:|---:|---:|\n| 10 | 1,024,000 | 1,024,000 |\n| 1000 | 10,240 | 10,240 |"),
        "{md}"
    );
    assert!(
        md.contains("at 10,000 idle connections and beyond was not measured"),
        "{md}"
    );

    // Node at 60,000: 1.67×, a miss, with its reason from the CPU per delivery.
    let mut run = synthetic();
    for p in &mut run.points {
        if p.target == "node" && p.scenario == Scenario::Broadcast {
            p.throughput = 60_000.0;
        }
    }
    let md = report::markdown(&run);
    assert!(
        md.contains("reference ≥ 2× Node's deliveries/s: missed"),
        "{md}"
    );
    assert!(
        md.contains("the reference server spent 9.7 µs of CPU and Node 16.2 µs (0.60× Node's cost): 2× Node's deliveries on one core each needs a cost per delivery under 1/2 of Node's"),
        "{md}"
    );
}

/// A later partial run: `echo` at 10 clients against every target, with
/// other figures, on another commit.
fn partial() -> Run {
    let points = ["sink", "rust", "node"]
        .into_iter()
        .map(|t| point(Scenario::Echo, t, 10, 77_777.0, 1234.0))
        .collect();
    Run {
        points,
        machine: Machine {
            cores: 2,
            commit: "abc1234".to_owned(),
            load_before: "0.50".to_owned(),
            ..Machine::default()
        },
        elapsed: Duration::from_secs(12),
        started: "2026-06-02T08:30:00Z".to_owned(),
        command: "siospec bench --scenario echo --clients 10".to_owned(),
        ..synthetic()
    }
}

fn load_json(dir: &std::path::Path) -> LoadSet {
    LoadSet::read(&dir.join("load.json"))
        .expect("load.json reads")
        .expect("load.json exists")
}

#[test]
fn a_partial_run_replaces_its_points_and_keeps_the_others() {
    let dir = scratch("merge");
    let full = synthetic();
    report::write(&dir, &full).expect("full run written");
    let first = load_json(&dir);
    assert_eq!(first.schema, SCHEMA);
    assert_eq!(first.runs.len(), 1);
    assert_eq!(first.points.len(), full.points.len());
    let md = std::fs::read_to_string(dir.join("load.md")).expect("load.md");
    assert!(!md.contains("earlier"), "{md}");

    report::write(&dir, &partial()).expect("partial run written");
    let merged = load_json(&dir);
    // Every point is still there, once.
    assert_eq!(merged.points.len(), full.points.len());
    assert_eq!(merged.runs.len(), 2);
    assert_eq!(merged.runs[0].machine.commit, "", "{:?}", merged.runs);
    assert_eq!(merged.runs[1].machine.commit, "abc1234");
    for s in &merged.points {
        let p = &s.point;
        let remeasured = p.scenario == Scenario::Echo && p.clients == 10;
        assert_eq!(s.run, usize::from(remeasured), "{p:?}");
        if remeasured {
            assert_eq!(p.throughput, 77_777.0, "{p:?}");
        } else {
            let old = full
                .points
                .iter()
                .find(|q| {
                    q.scenario == p.scenario && q.target == p.target && q.clients == p.clients
                })
                .expect("an earlier point");
            assert_eq!(p, old);
        }
    }
    let md = std::fs::read_to_string(dir.join("load.md")).expect("load.md");
    assert!(
        md.contains("**19 of these 22 points come from earlier runs**"),
        "{md}"
    );
    assert!(md.contains("## Earlier runs"), "{md}");
    assert!(
        md.contains(
            "| earlier (2026-05-01 10:00 UTC, commit unknown) | 2026-05-01T10:00:00Z | `siospec bench` |"
        ),
        "{md}"
    );
    // The re-measured rows are this run's, the others say where they come from.
    assert!(
        md.contains("| 10 | rust | 77,777 | 308 µs | 617 µs | 1.23 ms | 2.47 ms | 97 % | 12.5 µs | 10.3 µs | 10 | 0 | 0 | this run |"),
        "{md}"
    );
    assert!(
        md.contains("| 1000 | rust | 100,000 | 375 µs | 750 µs | 1.50 ms | 3.00 ms | 97 % | 9.7 µs | 8.0 µs | 1000 | 0 | 0 | earlier (2026-05-01 10:00 UTC, commit unknown) |"),
        "{md}"
    );
    assert!(
        md.contains("| 1000 | rust | 10,000 KiB | 20,000 KiB | 10,240 bytes | 1000 | earlier (2026-05-01 10:00 UTC, commit unknown) |"),
        "{md}"
    );
    // The broadcast goal is still judged, on the kept points, and says so.
    assert!(
        md.contains("reference ≥ 2× Node's deliveries/s: met"),
        "{md}"
    );
    assert!(
        md.contains("Measured: the reference server's figure earlier (2026-05-01 10:00 UTC, commit unknown), Node's earlier"),
        "{md}"
    );
    // The machine is the latest run's.
    assert!(md.contains("| commit | abc1234 |"), "{md}");
    let svg = std::fs::read_to_string(dir.join("load.svg")).expect("load.svg");
    assert!(
        svg.contains("abc1234); 19 of 22 points from earlier runs"),
        "{svg}"
    );
    assert!(svg.contains("idle: server memory per connection"));
    assert!(svg.contains("broadcast: throughput per client count"));

    // The same partial run again: the same 19 kept; the replaced run stays gone.
    report::write(&dir, &partial()).expect("written again");
    let again = load_json(&dir);
    assert_eq!(again.points.len(), 22);
    assert_eq!(again.runs.len(), 2);
    // A full run replaces everything: no earlier run is left.
    report::write(&dir, &full).expect("full run again");
    let last = load_json(&dir);
    assert_eq!(last.runs.len(), 1);
    assert!(last.points.iter().all(|s| s.run == 0));
    let md = std::fs::read_to_string(dir.join("load.md")).expect("load.md");
    assert!(!md.contains("earlier"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn another_transport_adds_points_and_ratios_stay_within_one() {
    let mut polling = partial();
    for p in &mut polling.points {
        p.transport = Transport::Polling;
    }
    polling.transport = Transport::Polling;
    let merged = LoadSet::merge(LoadSet::from_run(&synthetic()), LoadSet::from_run(&polling));
    assert_eq!(merged.points.len(), 25);
    let view = merged.view();
    // WebSocket has most points: the polling ones are named apart.
    assert!(view.run.points.iter().any(|p| p.target == "rust (polling)"));
    let md = report::markdown_of(&view);
    assert!(md.contains("| 10 | rust (polling) | 77,777 |"), "{md}");
    assert!(md.contains("| 10 | rust | 100,000 |"), "{md}");
    // Both echo × 10 ratios are the WebSocket ones: 100,000 / 40,000.
    assert!(md.contains("| 10 | 2.50× | 0.50× |"), "{md}");
    let svg = svg::render_of(&view);
    assert!(svg.contains(">rust (polling)</text>"), "{svg}");
}

#[test]
fn an_unreadable_load_json_is_set_aside_not_merged() {
    let dir = scratch("unreadable");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("load.json"), "{\"schema\":\"siospec-bench/99\"}").expect("written");
    report::write(&dir, &partial()).expect("written");
    assert_eq!(
        std::fs::read_to_string(dir.join("load.json.unreadable")).expect("set aside"),
        "{\"schema\":\"siospec-bench/99\"}"
    );
    let set = load_json(&dir);
    assert_eq!((set.runs.len(), set.points.len()), (1, 3));
    let err = LoadSet::read(&dir.join("load.json.unreadable")).expect_err("another schema");
    assert!(err.contains("siospec-bench/99"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
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
        targets: vec![Target::Peer(
            Peer::reference().in_dir(PathBuf::from(env!("CARGO_BIN_EXE_siospec"))),
        )],
        clients: vec![4],
        scenarios: Scenario::ALL.to_vec(),
        transport: Transport::WebSocket,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        ceiling: true,
    };
    let run = siospec::bench::run(&opts, "test".to_owned(), &mut Quiet)
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
    // Real figures survive load.json's round trip.
    let stored = load_json(&dir);
    assert_eq!(stored.runs[0].started, run.started);
    let back: Vec<Point> = stored.points.into_iter().map(|s| s.point).collect();
    assert_eq!(back, run.points);
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
        targets: vec![Target::Peer(
            Peer::reference().in_dir(PathBuf::from(env!("CARGO_BIN_EXE_siospec"))),
        )],
        clients: vec![3],
        scenarios: vec![Scenario::Echo, Scenario::Broadcast],
        transport: Transport::Polling,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        ceiling: true,
    };
    let run = runtime
        .block_on(siospec::bench::run(&opts, "test".to_owned(), &mut Quiet))
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

/// Runs `siospec bench-worker` against `authority` and returns its report
/// line and whether it exited cleanly once its stdin closed.
fn worker(authority: &str, clients: usize, first_source: usize) -> (String, bool) {
    use std::io::BufRead;
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_siospec"))
        .args(["bench-worker", "--authority", authority])
        .args(["--clients", &clients.to_string()])
        .args(["--first-source", &first_source.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("siospec bench-worker starts");
    let mut line = String::new();
    std::io::BufReader::new(worker.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the report line");
    drop(worker.stdin.take());
    let exited = worker.wait().expect("the worker ends");
    (line.trim().to_owned(), exited.success())
}

#[test]
fn a_worker_holds_its_connections_from_its_own_source_addresses_until_stdin_closes() {
    let server = common::serve(&["--mode", "socket"]);
    // 2,500: the third block of source addresses, 127.0.1.3.
    let (line, clean) = worker(&server.1, 30, 2_500);
    assert_eq!(line, "connected 30 failed 0");
    assert!(clean);
}

#[test]
fn a_worker_reports_the_connections_it_could_not_open() {
    // Nothing listens on port 1: every connection is refused at once.
    let (line, clean) = worker("127.0.0.1:1", 5, 0);
    assert_eq!(line, "connected 0 failed 5");
    assert!(clean);
}

/// `siospec bench ARGS`: exit status and stderr.
fn bench_cli(args: &[&str]) -> (i32, String) {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    let (code, _, err) = common::siospec(&all);
    (code, err)
}

/// The points load.json holds for `target`.
fn points_of(dir: &std::path::Path, target: &str) -> Vec<Point> {
    load_json(dir)
        .points
        .into_iter()
        .map(|s| s.point)
        .filter(|p| p.target == target)
        .collect()
}

#[test]
fn tls_targets_are_measured_beside_plain_ones_with_the_tls_cost() {
    let dir = scratch("tls");
    let report = dir.display().to_string();
    let (code, err) = bench_cli(&[
        "--target",
        "rust",
        "--tls",
        "--scenario",
        "connect,echo",
        "--clients",
        "4",
        "--duration",
        "0.4",
        "--no-ceiling",
        "--report-dir",
        &report,
    ]);
    assert_eq!(code, 0, "{err}");
    for target in ["rust", "rust-tls"] {
        let points = points_of(&dir, target);
        assert_eq!(points.len(), 2, "{target}: {points:?}");
        for p in points {
            assert_eq!((p.connected, p.errors), (4, 0), "{p:?}");
            assert!(p.throughput > 0.0 && p.server_cpu.is_some(), "{p:?}");
        }
    }
    let md = std::fs::read_to_string(dir.join("load.md")).expect("load.md");
    assert!(md.contains("## TLS cost per connection"), "{md}");
    assert!(md.contains("| 4 | rust |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_https_url_is_measured_over_websocket_and_polling() {
    let dir = scratch("tls-url");
    let cert = dir.join("serve-cert.pem").display().to_string();
    std::fs::create_dir_all(&dir).expect("folder");
    let tls = common::serve(&["--mode", "socket", &format!("--tls-self-signed={cert}")]);
    let plain = common::serve(&["--mode", "socket"]);
    let (https, http) = (format!("https://{}", tls.1), format!("http://{}", plain.1));
    let report = dir.join("ws").display().to_string();
    let (code, err) = bench_cli(&[
        "--url",
        &https,
        "--url",
        &http,
        "--ca",
        &cert,
        "--scenario",
        "connect",
        "--clients",
        "3",
        "--duration",
        "0.4",
        "--no-ceiling",
        "--report-dir",
        &report,
    ]);
    assert_eq!(code, 0, "{err}");
    for target in ["url", "url-tls"] {
        let points = points_of(&dir.join("ws"), target);
        assert_eq!(points.len(), 1, "{target}");
        assert_eq!(
            (points[0].connected, points[0].errors),
            (3, 0),
            "{:?}",
            points[0]
        );
    }
    let md = std::fs::read_to_string(dir.join("ws/load.md")).expect("load.md");
    assert!(md.contains("| 3 | url |"), "{md}");
    // Polling goes through the full client machine, over TLS too.
    let report = dir.join("polling").display().to_string();
    let (code, err) = bench_cli(&[
        "--url",
        &https,
        "--ca",
        &cert,
        "--transport",
        "polling",
        "--scenario",
        "echo",
        "--clients",
        "2",
        "--duration",
        "0.4",
        "--report-dir",
        &report,
    ]);
    assert_eq!(code, 0, "{err}");
    let points = points_of(&dir.join("polling"), "url-tls");
    assert_eq!(
        (points[0].connected, points[0].errors),
        (2, 0),
        "{:?}",
        points[0]
    );
    assert!(points[0].throughput > 0.0);
    // Two URLs of the same scheme are refused.
    let (code, err) = bench_cli(&["--url", &http, "--url", &http, "--report-dir", &report]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
