//! The crate's public API (what `cargo doc` shows: the entry points of
//! lib.rs; the doc(hidden) modules are the command line's) is recorded in
//! tests/snapshots/public_api__public-api.snap. An accidental change fails
//! here; a deliberate one is accepted with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p siospec --test public_api`) and shows
//! in the commit's diff.
//!
//! rustdoc's JSON output is a nightly feature: this test needs the nightly
//! toolchain (`rustup toolchain install nightly`).

#[test]
fn the_public_api_is_the_recorded_one() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    // A folder of its own: the test's own cargo holds the workspace's.
    let target_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/public-api");
    let json = rustdoc_json::Builder::default()
        .toolchain("nightly")
        .manifest_path(manifest)
        .target_dir(target_dir)
        .package("siospec")
        .build()
        .unwrap_or_else(|e| {
            panic!(
                "rustdoc's JSON of siospec: {e}\n(this test needs the nightly toolchain: rustup toolchain install nightly)"
            )
        });
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .build()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n(public-api 0.52.1 reads rustdoc JSON format 57; a newer nightly writes another: pin public-api to the version for it in harness/Cargo.toml)",
                json.display()
            )
        });
    insta::assert_snapshot!("public-api", api.to_string());
}
