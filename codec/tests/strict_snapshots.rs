//! Every fixture vector decoded in the `Strict` profile. The committed
//! snapshots list each vector where Strict decides differently from the
//! official parsers (which `Compat` reproduces), with Strict's reason, so
//! every difference between the profiles is reviewed. The test also checks
//! Strict ⊆ Compat: whatever Strict accepts, Compat accepts identically.

mod support;

use serde_json::{json, Value};
use siospec_codec::Profile;
use support::js_value::canon;

#[test]
fn strict_differences_are_reviewed() {
    insta::glob!("../../fixtures", "*.jsonl", |path| {
        let layer = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("layer name");
        let mut differences = Vec::new();
        for v in support::load(layer) {
            let strict = support::run(layer, &v["input"], &v["options"], Profile::Strict);
            let compat = support::run(layer, &v["input"], &v["options"], Profile::Compat);
            if strict.outcome["error"].is_null() {
                assert_eq!(
                    canon(&strict.outcome),
                    canon(&compat.outcome),
                    "{}: Strict accepted with a different result than Compat",
                    v["id"]
                );
            }
            if canon(&support::without_detail(&strict.outcome))
                != canon(&support::without_detail(&compat.outcome))
            {
                differences.push(json!({
                    "id": v["id"],
                    "input": v["input"],
                    "strict": strict.outcome["error"].get("detail").cloned().unwrap_or(Value::Null),
                    "strict_decoded": strict.outcome["decoded"].as_array().map_or(0, Vec::len),
                }));
            }
        }
        insta::assert_json_snapshot!(differences);
    });
}
