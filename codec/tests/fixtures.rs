//! The codec in the `Compat` profile against every vector recorded from the
//! official JavaScript parsers (fixtures/*.jsonl): the same decision (accept
//! or reject, and the error class), the same decoded structure, and the
//! official encoder's exact bytes for the same structure.

mod support;

#[test]
fn compat_agrees_with_the_official_parsers() {
    let mut disagreements = Vec::new();
    let mut deviations = Vec::new();
    let mut summary = Vec::new();
    for layer in support::LAYERS {
        let vectors = support::load(layer);
        let mut encodings = 0;
        let mut unencodable = 0;
        for v in &vectors {
            let id = v["id"].as_str().unwrap_or("?");
            let verdict = support::compare(
                layer,
                &v["input"],
                &v["options"],
                &v["outcome"],
                v.get("encoded"),
            );
            encodings += verdict.encodings;
            unencodable += verdict.unencodable;
            deviations.extend(verdict.deviations.iter().map(|d| format!("{id}: {d}")));
            if let Some(why) = verdict.disagreement {
                disagreements.push(format!(
                    "{id} ({}): {why}",
                    v["note"].as_str().unwrap_or("")
                ));
            }
        }
        summary.push(format!(
            "{layer:<22} {:>5} vectors {encodings:>5} encodings \
             ({unencodable} official encodings of untyped data not compared)",
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
