//! Paired timings for the issue-8 figures. Two rows run in alternating
//! rounds of the same iteration count (ABBA order), so load that comes and goes on a
//! shared machine hits both alike; the ratio reported is the median of the
//! per-round ratios. Prints JSON: a list of { case, a, b, a_ns, b_ns, ratio }
//! where ratio = b_ns / a_ns.
//!
//! With `--js bench.mjs --inputs inputs.json` it also pairs the JavaScript
//! figure as well as two processes allow: node runs of the small-event cases
//! alternate with siospec timings of the same cases, and the median of the
//! per-alternation ratios is kept (b = `js`).
//!
//! Usage: `codec-figures [--quick] [--js FILE --inputs FILE]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const PAIRS: [(&str, &str, &str); 8] = [
    ("small_json", "siospec", "socketioxide+validate"),
    ("small_json", "siospec", "socketioxide"),
    ("small_json", "siospec", "serde_json::RawValue"),
    ("small_json", "siospec", "serde_json::IgnoredAny"),
    ("event", "siospec", "socketioxide+validate"),
    ("event_1mb", "siospec", "serde_json::IgnoredAny"),
    ("event_1mb", "siospec", "serde_json::RawValue"),
    ("event_1mb", "siospec", "socketioxide+validate"),
];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median ns/op of `f` over rounds of `n` iterations for `total`.
fn timed(f: &mut dyn FnMut() -> usize, total: Duration) -> f64 {
    let mut n = 1usize;
    let round = Duration::from_millis(5);
    loop {
        let t = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        if t.elapsed() >= round || n > 1 << 24 {
            break;
        }
        n *= 2;
    }
    let mut rounds = Vec::new();
    let start = Instant::now();
    while start.elapsed() < total || rounds.len() < 5 {
        let t = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        rounds.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    median(&mut rounds)
}

/// The JavaScript figure, alternated with siospec's.
fn js_pairs(script: &str, inputs: &str, quick: bool) -> Vec<serde_json::Value> {
    let names = ["small_json", "event"];
    let keys: Vec<String> = names.iter().map(|n| format!("sio_decode/{n}")).collect();
    let cases = siospec_benches::sio_cases();
    let mut rows: Vec<_> = names
        .iter()
        .map(|n| {
            let case = cases.iter().find(|c| c.name == *n).expect("case");
            siospec_benches::sio_row(case, "siospec").expect("row")
        })
        .collect();
    let (alternations, ms) = if quick { (3, 100) } else { (7, 300) };
    let mut samples: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![Default::default(); names.len()];
    for _ in 0..alternations {
        let out = std::process::Command::new("node")
            .args([
                script,
                inputs,
                "--only",
                &keys.join(","),
                "--ms",
                &ms.to_string(),
            ])
            .stderr(std::process::Stdio::null())
            .output()
            .expect("run node");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("node output");
        for (i, key) in keys.iter().enumerate() {
            let js = json["results"][key].as_f64().expect("js result");
            let rust = timed(&mut *rows[i], Duration::from_millis(ms));
            samples[i].0.push(rust);
            samples[i].1.push(js);
            samples[i].2.push(js / rust);
        }
    }
    names
        .iter()
        .zip(samples)
        .map(|(name, (mut a, mut b, mut r))| {
            let (a_ns, b_ns, ratio) = (median(&mut a), median(&mut b), median(&mut r));
            eprintln!("{name:12} siospec {a_ns:>10.1} ns  js {b_ns:>10.1} ns  ratio {ratio:.3} ({alternations} alternations)");
            serde_json::json!({
                "case": name, "a": "siospec", "b": "js", "a_ns": a_ns, "b_ns": b_ns, "ratio": ratio, "rounds": alternations,
            })
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (round, total) = if quick {
        (Duration::from_millis(2), Duration::from_millis(300))
    } else {
        (Duration::from_millis(5), Duration::from_millis(2000))
    };
    siospec_benches::check();
    let cases = siospec_benches::sio_cases();
    let mut out = Vec::new();
    for (name, a, b) in PAIRS {
        let case = cases.iter().find(|c| c.name == name).expect("case");
        let mut fa = siospec_benches::sio_row(case, a).expect("row");
        let mut fb = siospec_benches::sio_row(case, b).expect("row");
        let time = |f: &mut dyn FnMut() -> usize, n: usize| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(f());
            }
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        };
        // Warm up, and size a round to `round` of the slower row.
        let mut n = 1usize;
        loop {
            let ns = time(&mut *fa, n).max(time(&mut *fb, n));
            if ns * n as f64 >= round.as_nanos() as f64 || n > 1 << 24 {
                break;
            }
            n *= 2;
        }
        let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let start = Instant::now();
        while start.elapsed() < total || ratios.len() < 11 {
            // ABBA: neither row always runs first.
            let (x, y) = if ratios.len() % 2 == 0 {
                let x = time(&mut *fa, n);
                (x, time(&mut *fb, n))
            } else {
                let y = time(&mut *fb, n);
                (time(&mut *fa, n), y)
            };
            ta.push(x);
            tb.push(y);
            ratios.push(y / x);
        }
        let (a_ns, b_ns, ratio) = (median(&mut ta), median(&mut tb), median(&mut ratios));
        eprintln!("{name:12} {a:>10} {a_ns:>12.1} ns  {b:>24} {b_ns:>12.1} ns  ratio {ratio:.3} ({} rounds of {n})", ratios.len());
        out.push(serde_json::json!({
            "case": name, "a": a, "b": b, "a_ns": a_ns, "b_ns": b_ns, "ratio": ratio, "rounds": ratios.len(),
        }));
    }
    if let (Some(script), Some(inputs)) = (flag("--js"), flag("--inputs")) {
        out.extend(js_pairs(&script, &inputs, quick));
    }
    println!("{}", serde_json::Value::Array(out));
}
