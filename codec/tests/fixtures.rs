//! The codec in the `Compat` profile against every vector recorded from the
//! official JavaScript parsers (fixtures/*.jsonl): the same decision (accept
//! or reject, and the error class), the same decoded structure, and the
//! official encoder's exact bytes for the same structure.

mod support;

use serde_json::Value;
use siospec_codec::Profile;
use support::js_value::canon;

/// Vectors where the codec departs from the official parser on purpose,
/// as the crate docs list ("Where `Compat` departs from the official parsers").
fn documented_deviation(layer: &str, expected: &Value, ours: &Value) -> Option<&'static str> {
    let undefined_type = expected["decoded"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i.get("type") == Some(&Value::Null)));
    if layer.starts_with("eio3") && undefined_type && ours["error"]["class"] == "parser error" {
        return Some("v3 packet of undefined type: rejected instead of ignored");
    }
    let split_surrogate = expected["decoded"].to_string().contains("text_utf16");
    if layer == "eio3.payload" && split_surrogate && ours["error"]["class"] == "parser error" {
        return Some("v3 length cutting a surrogate pair: rejected at that packet");
    }
    None
}

/// The official encoder assigns each key of a copied object, and assigning
/// `__proto__` sets the prototype instead: such a key vanishes from its output.
fn official_encoder_drops_proto_key(item: &Value) -> bool {
    item.to_string().contains(r#"["__proto__","#)
}

fn expected_outcome(vector: &Value) -> Value {
    let mut outcome = vector["outcome"].clone();
    if let Some(error) = outcome.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("message");
    }
    outcome
}

#[test]
fn compat_agrees_with_the_official_parsers() {
    let mut disagreements = Vec::new();
    let mut deviations = Vec::new();
    let mut summary = Vec::new();
    for layer in support::LAYERS {
        let vectors = support::load(layer);
        let mut encodings = 0;
        for v in &vectors {
            let id = v["id"].as_str().unwrap_or("?");
            let mut ours = support::run(layer, &v["input"], &v["options"], Profile::Compat);
            ours.outcome = support::without_detail(&ours.outcome);
            let expected = expected_outcome(v);
            if canon(&ours.outcome) != canon(&expected) {
                match documented_deviation(layer, &expected, &ours.outcome) {
                    Some(why) => deviations.push(format!("{id}: {why}")),
                    None => disagreements.push(format!(
                        "{id} ({}): input {}\n    official {}\n    ours     {}",
                        v["note"].as_str().unwrap_or(""),
                        v["input"],
                        expected,
                        ours.outcome
                    )),
                }
                continue;
            }
            if layer == "sio5.packet" {
                let items = expected["decoded"].as_array().cloned().unwrap_or_default();
                let frames = v["encoded"]["packets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for (item, official) in items.iter().zip(&frames) {
                    if official_encoder_drops_proto_key(item) {
                        deviations.push(format!(
                            "{id}: `__proto__` key kept where the official encoder loses it"
                        ));
                        continue;
                    }
                    if let Some(ours) = support::encode_sio_item(item) {
                        encodings += 1;
                        if Value::Array(ours.clone()) != *official {
                            disagreements.push(format!("{id}: encoding of {item}\n    official {official}\n    ours     {ours:?}"));
                        }
                    }
                }
            } else if let (Some(official), Some(ours)) = (v.get("encoded"), &ours.encoded) {
                encodings += 1;
                if official != ours {
                    disagreements.push(format!(
                        "{id}: encoding\n    official {official}\n    ours     {ours}"
                    ));
                }
            }
        }
        summary.push(format!(
            "{layer:<22} {:>5} vectors {encodings:>5} encodings",
            vectors.len()
        ));
    }
    println!("{}", summary.join("\n"));
    println!("documented deviations: {}", deviations.len());
    for d in &deviations {
        println!("  {d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
