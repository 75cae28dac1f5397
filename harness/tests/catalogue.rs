//! The catalogue's shape: ids, coverage of the official suites, metadata.

use std::collections::{BTreeMap, BTreeSet};

use siospec::case::Origin;
use siospec::runner::id_matches;

#[test]
fn ids_are_unique_hierarchical_and_under_their_section() {
    let all = siospec::cases::all();
    let mut seen = BTreeSet::new();
    for c in &all {
        assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
        assert!(
            c.id.starts_with(&format!("{}.", c.section.id)),
            "{} outside {}",
            c.id,
            c.section.id
        );
        assert!(
            c.id.starts_with(c.suite().name()),
            "{} not in suite {}",
            c.id,
            c.suite().name()
        );
        assert!(
            c.id.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '-'),
            "id {}",
            c.id
        );
        assert!(!c.requirement.is_empty(), "{} has no requirement", c.id);
        assert!(!c.description.is_empty(), "{} has no description", c.id);
        assert!(!c.expect.is_empty(), "{} has no expected outcome", c.id);
    }
}

#[test]
fn client_ids_are_unique_and_every_client_case_judges_a_client() {
    let all = siospec::client_cases::all();
    let server_ids: BTreeSet<String> = siospec::cases::all().into_iter().map(|c| c.id).collect();
    let mut seen = BTreeSet::new();
    for c in &all {
        assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
        assert!(!server_ids.contains(&c.id), "{} is also a server id", c.id);
        assert!(
            c.id.starts_with(&format!("{}.", c.section.id))
                && c.id.starts_with(&format!("client.{}.", c.suite().name())),
            "{} outside client.{} / {}",
            c.id,
            c.suite().name(),
            c.section.id
        );
        assert!(c.judges_client(), "{} has a server run function", c.id);
        assert!(!c.requirement.is_empty(), "{} has no requirement", c.id);
        assert!(!c.expect.is_empty(), "{} has no expected outcome", c.id);
    }
    assert!(siospec::cases::all().iter().all(|c| !c.judges_client()));
}

#[test]
fn catalogue_size_and_official_coverage() {
    let all = siospec::cases::all();
    assert!(all.len() >= 150, "{} cases", all.len());
    let mut official: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &all {
        if let Origin::Official { .. } = c.origin {
            *official.entry(c.suite().name()).or_default() += 1;
        }
    }
    // engine.io-protocol v4: 24, engine.io-protocol v3: 24 (one skipped upstream,
    // run here), socket.io-protocol v5: 32.
    assert_eq!(official.get("eio4"), Some(&24), "{official:?}");
    assert_eq!(official.get("eio3"), Some(&24), "{official:?}");
    assert_eq!(official.get("sio5"), Some(&32), "{official:?}");
}

#[test]
fn case_order_is_stable() {
    let a: Vec<String> = siospec::cases::all().into_iter().map(|c| c.id).collect();
    let b: Vec<String> = siospec::cases::all().into_iter().map(|c| c.id).collect();
    assert_eq!(a, b);
}

#[test]
fn globs() {
    assert!(id_matches("eio4.handshake", "eio4.handshake.polling.open"));
    assert!(!id_matches("eio4.hand", "eio4.handshake.polling.open"));
    assert!(id_matches("eio4.*.open", "eio4.handshake.polling.open"));
    assert!(id_matches("*", "sio5.connect.main"));
    assert!(id_matches("sio?.connect.main", "sio5.connect.main"));
    assert!(!id_matches("sio5.connect.mai", "sio5.connect.main"));
}

/// Every committed baseline reads, each entry matches a case of its
/// catalogue, and a third-party implementation's deviations are rated (the
/// matrix's findings show the severity).
#[test]
fn committed_baselines_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
    let ids: BTreeSet<String> = siospec::cases::all()
        .into_iter()
        .chain(siospec::client_cases::all())
        .map(|c| c.id)
        .collect();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("baselines/") {
        let path = entry.expect("entry").path();
        let b = siospec::baseline::Baseline::load(&path).expect("loads");
        files += 1;
        let target = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let peer = target.strip_suffix("-client").unwrap_or(target);
        let third_party = siospec::peer::Peer::named(peer)
            .map(|p| p.issues().is_some())
            .unwrap_or(false);
        for a in &b.accepted {
            assert!(
                ids.iter().any(|id| id_matches(&a.case, id)),
                "{}: entry {} matches no case",
                path.display(),
                a.case
            );
            if third_party && siospec::matrix::is_deviation(a.verdict) {
                assert!(
                    a.severity.is_some(),
                    "{}: entry {} ({}) has no severity",
                    path.display(),
                    a.case,
                    a.verdict
                );
            }
        }
    }
    assert!(files >= 5, "{files} baseline files");
}

#[test]
fn baseline_requires_reasons_and_schema() {
    let dir = std::env::temp_dir().join(format!("siospec-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("b.json");
    std::fs::write(&p, r#"{"schema":"siospec-baseline/1","accepted":[{"case":"x","verdict":"FAILED","reason":" "}]}"#).unwrap();
    assert!(siospec::baseline::Baseline::load(&p)
        .unwrap_err()
        .contains("no reason"));
    std::fs::write(&p, r#"{"schema":"other","accepted":[]}"#).unwrap();
    assert!(siospec::baseline::Baseline::load(&p).is_err());
    std::fs::write(&p, r#"{"schema":"siospec-baseline/1","accepted":[{"case":"eio4.*","verdict":"NON-STRICT","reason":"r"}]}"#).unwrap();
    let b = siospec::baseline::Baseline::load(&p).unwrap();
    assert!(b
        .accepts(
            "node",
            "eio4.close.websocket.client",
            siospec::case::Verdict::NonStrict
        )
        .is_some());
    assert!(b
        .accepts(
            "node",
            "eio4.close.websocket.client",
            siospec::case::Verdict::Failed
        )
        .is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// CONTRACT.md shows the minimal Python adapter; the copy must be the file.
#[test]
fn contract_shows_the_minimal_adapter_as_it_is() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = std::fs::read_to_string(root.join("CONTRACT.md")).expect("CONTRACT.md");
    let adapter =
        std::fs::read_to_string(root.join("peers/python/minimal.py")).expect("minimal.py");
    assert!(
        contract.contains(&format!("```python\n{adapter}```")),
        "CONTRACT.md's Python block differs from peers/python/minimal.py"
    );
}
