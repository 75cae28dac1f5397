//! The decoded form of every example in the protocol documents
//! (shared/reference/protocol.md §1–§5), as reviewed insta snapshots.

use siospec_codec::engine::{handshake::Handshake, v3, v4};
use siospec_codec::socket::{self, Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};

#[test]
fn engine_io_v4_examples() {
    let frames = [
        "0",
        "1",
        "2",
        "2probe",
        "3probe",
        "4hello",
        "5",
        "6",
        "bAQIDBA==",
    ];
    let decoded: Vec<_> = frames
        .iter()
        .map(|f| (f, v4::decode_text(f, Profile::Strict)))
        .collect();
    insta::assert_debug_snapshot!(decoded);
    let payloads = [
        "4hello\u{1e}2\u{1e}4world",
        "4hello\u{1e}bAQIDBA==",
        "4test1\u{1e}4test2\u{1e}4test3",
        "abc",
        "4hello\u{1e}",
    ];
    let decoded: Vec<_> = payloads
        .iter()
        .map(|p| {
            (
                p,
                v4::decode_payload(p, Profile::Strict, &Limits::default()).collect::<Vec<_>>(),
            )
        })
        .collect();
    insta::assert_debug_snapshot!(decoded);
}

#[test]
fn engine_io_v3_examples() {
    let payloads = [
        "6:4hello6:4world",
        "2:4€",
        "10:b4AQIDBA==",
        "1:2",
        "1:6",
        "6:4test16:4test26:4test3",
    ];
    let decoded: Vec<_> = payloads
        .iter()
        .map(|p| {
            (
                p,
                v3::decode_payload(p, Profile::Strict, &Limits::default()).collect::<Vec<_>>(),
            )
        })
        .collect();
    insta::assert_debug_snapshot!(decoded);
    let xhr2 = [
        0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xff, 4, 1, 2, 3, 4,
    ];
    let decoded: Vec<_> =
        v3::decode_binary_payload(&xhr2, Profile::Strict, &Limits::default()).collect();
    insta::assert_debug_snapshot!(decoded);
}

#[test]
fn handshake_examples() {
    let open = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;
    insta::assert_debug_snapshot!(Handshake::decode(open, Profile::Strict));
}

#[test]
fn socket_io_v5_examples() {
    let packets = [
        "0",
        r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
        r#"4{"message":"Not authorized"}"#,
        r#"2["foo"]"#,
        r#"2/admin,["bar"]"#,
        "1",
        "1/admin,",
        r#"212["foo"]"#,
        r#"3/admin,13["bar"]"#,
        r#"0{"token":"123"}"#,
        "0/custom,",
        r#"4/random,{"message":"Invalid namespace"}"#,
        r#"2["message",1,"2",{"3":[true]}]"#,
        r#"2456["message-with-ack",1,"2",{"3":[false]}]"#,
        "abc",
        "2{}",
        r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#,
    ];
    let decoded: Vec<_> = packets
        .iter()
        .map(|p| {
            (
                p,
                socket::decode(p, Version::V5, Profile::Strict, &Limits::default()),
            )
        })
        .collect();
    insta::assert_debug_snapshot!(decoded);
}

#[test]
fn socket_io_binary_examples() {
    let mut r = Reassembler::new(Version::V5, Profile::Strict, Limits::default());
    let header = r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(r.push_text(header), Ok(Step::NeedsAttachments(2)));
    assert_eq!(r.push_binary(vec![1, 2, 3]), Ok(None));
    let done = r.push_binary(vec![4, 5, 6]).unwrap().unwrap();
    insta::assert_debug_snapshot!((done.packet(), done.clone().into_value()));
    let header = r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(r.push_text(header), Ok(Step::NeedsAttachments(2)));
    r.push_binary(vec![1, 2, 3]).unwrap();
    let done = r.push_binary(vec![4, 5, 6]).unwrap().unwrap();
    insta::assert_debug_snapshot!((done.packet(), done.clone().into_value()));
}
