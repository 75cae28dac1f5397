//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`)
//! through the oracles of its fuzz target, on the stable toolchain.
//!
//! The oracles are not copied: this test includes `fuzz/src/lib.rs`, the
//! file the cargo-fuzz targets call, so a corpus entry checks here exactly
//! what it checks under libFuzzer.

#[path = "../../fuzz/src/lib.rs"]
mod oracles;

use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn names_in(dir: &Path, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .filter_map(|name| name.to_str()?.strip_suffix(suffix).map(str::to_owned))
        .collect()
}

#[test]
fn every_corpus_file_passes_its_oracles() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (target, oracle) in oracles::TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} has no corpus", dir.display());
        for file in files {
            let data = std::fs::read(&file).expect("corpus file");
            total += 1;
            if let Err(cause) = panic::catch_unwind(AssertUnwindSafe(|| oracle(&data))) {
                let message = cause
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {message}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} corpus files fail their oracles:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn targets_corpora_and_fuzz_targets_match() {
    let listed: BTreeSet<String> = oracles::TARGETS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(names_in(&fuzz_dir().join("fuzz_targets"), ".rs"), listed);
    assert_eq!(names_in(&fuzz_dir().join("corpus"), ""), listed);
}
