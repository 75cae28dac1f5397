//! The whole catalogue against the official Node server, over TLS as the
//! matrix runs it (tests/tls.rs holds the verdicts over http the same): no
//! false FAILED, and every deviation is one the committed baseline lists
//! with a reason.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_catalogue_against_node() {
    let target = common::peer_over_tls("node");
    let (cases, results) = common::whole_catalogue(&target, "node", "baselines/node.json").await;

    // The reports are complete and parse.
    let dir = std::env::temp_dir().join(format!("siospec-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let info = siospec::report::RunInfo {
        name: "node",
        description: "test run",
        started: siospec::report::now_rfc3339(),
        duration_ms: 1.0,
        time_scale: 1.0,
        strict: true,
        command: "siospec run --target node".into(),
        findings: Vec::new(),
    };
    let catalogue = siospec::cases::all();
    siospec::report::write(&dir, &catalogue, &info, &results).expect("reports written");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schema"], siospec::report::SCHEMA);
    assert_eq!(
        index["targets"]["node"]["cases"].as_object().unwrap().len(),
        cases.len()
    );
    for c in &cases {
        let per_case: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("cases/node/{}.json", c.id))).unwrap(),
        )
        .unwrap();
        assert!(
            !per_case["result"]["trace"].as_array().unwrap().is_empty(),
            "{} has a trace",
            c.id
        );
        assert!(dir.join(format!("cases/node/{}.html", c.id)).is_file());
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), cases.len());
    assert!(std::fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .contains("eio4.handshake.polling.open"));
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .unwrap()
        .contains("| node |"));
    let _ = std::fs::remove_dir_all(&dir);
}
