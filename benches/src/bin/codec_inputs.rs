//! Writes the benchmark inputs as JSON (for `js/bench.mjs`), after checking
//! that every Rust implementation accepts them.
//!
//! Usage: `codec-inputs [FILE]` (stdout without FILE).

fn main() -> std::io::Result<()> {
    siospec_benches::check();
    let json = serde_json::to_string(&siospec_benches::inputs_json())?;
    match std::env::args().nth(1) {
        Some(path) => std::fs::write(path, json),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}
