//! Runs one Socket.IO row in a loop, for instruction-level profiles that a
//! shared, noisy machine cannot disturb:
//!
//! ```sh
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!   target/release/codec-profile small_json siospec 10000
//! callgrind_annotate /tmp/cg.out | head -40
//! ```
//!
//! Rows: those of `siospec_benches::sio_row` (`siospec`, `siospec+value`,
//! `decode`, `encode`, `socketioxide`, `socketioxide+validate`,
//! `serde_json::IgnoredAny`, `serde_json::RawValue`, `Json::parse`). Subtract a run with 0
//! iterations to get the cost per operation (`codec-report` does).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(name), Some(row)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: codec-profile CASE ROW [ITERATIONS]");
        std::process::exit(2);
    };
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let case = siospec_benches::sio_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let mut f = siospec_benches::sio_row(&case, row).unwrap_or_else(|| panic!("no row {row}"));
    let mut sum = 0usize;
    for _ in 0..n {
        sum = sum.wrapping_add(f());
    }
    println!("{sum}");
}
