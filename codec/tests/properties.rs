//! Properties of the codec: encode→decode is the identity for every packet
//! type × protocol version × profile; no byte sequence makes a decoder panic;
//! chunked decoding equals whole decoding; v3 lengths count UTF-16 units.

use proptest::prelude::*;
use siospec_codec::engine::{self, v3, v4, webtransport, Data, PacketType as EioType};
use siospec_codec::socket::{self, binary, AckId, Json, PacketType, Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};

const PROFILES: [Profile; 2] = [Profile::Compat, Profile::Strict];

fn eio_type() -> impl Strategy<Value = EioType> {
    prop::sample::select(EioType::ALL.to_vec())
}

/// Text that may hold anything, astral characters included.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z0-9 :€😀\u{1e}]{0,12}"]
}

fn eio_packet(
    text: impl Strategy<Value = String>,
) -> impl Strategy<Value = engine::Packet<'static>> {
    prop_oneof![
        eio_type().prop_map(engine::Packet::new),
        (eio_type(), text.prop_filter("non-empty", |t| !t.is_empty()))
            .prop_map(|(k, t)| engine::Packet::text(k, t)),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(engine::Packet::binary),
    ]
}

proptest! {
    #[test]
    fn v4_frames_round_trip(p in eio_packet(any_text())) {
        for profile in PROFILES {
            let mut frame = Vec::new();
            let decoded = match v4::encode(&p, true, &mut frame) {
                engine::FrameKind::Binary => v4::decode_binary(&frame).into_owned(),
                engine::FrameKind::Text => v4::decode_text(std::str::from_utf8(&frame).unwrap(), profile).unwrap().into_owned(),
            };
            prop_assert_eq!(&decoded, &p);
            let mut text = Vec::new();
            v4::encode(&p, false, &mut text);
            prop_assert_eq!(v4::decode_text(std::str::from_utf8(&text).unwrap(), profile).unwrap(), p.clone());
        }
    }

    #[test]
    fn v4_payloads_round_trip(packets in prop::collection::vec(eio_packet("[^\u{1e}]{1,8}"), 1..6)) {
        let mut body = Vec::new();
        v4::encode_payload(&packets, &mut body);
        let body = String::from_utf8(body).unwrap();
        for profile in PROFILES {
            let decoded: Vec<_> = v4::decode_payload(&body, profile, &Limits::default()).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&decoded, &packets);
        }
    }

    #[test]
    fn v3_frames_and_payloads_round_trip(packets in prop::collection::vec(eio_packet(any_text()), 1..6)) {
        for profile in PROFILES {
            for p in &packets {
                let mut frame = Vec::new();
                let decoded = match v3::encode(p, true, &mut frame) {
                    engine::FrameKind::Binary => v3::decode_binary(&frame, profile).unwrap().into_owned(),
                    engine::FrameKind::Text => v3::decode_text(std::str::from_utf8(&frame).unwrap(), profile).unwrap().into_owned(),
                };
                // A binary v3 frame keeps its type; text frames carry what was sent.
                prop_assert_eq!(decoded, v3::Decoded::Packet(p.clone()));
            }
            let mut text = Vec::new();
            v3::encode_payload(&packets, &mut text);
            let text = String::from_utf8(text).unwrap();
            let known: Vec<_> = packets.iter().cloned().map(v3::Decoded::Packet).collect();
            let decoded: Vec<_> = v3::decode_payload(&text, profile, &Limits::default()).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&decoded, &known);
            let mut bin = Vec::new();
            v3::encode_binary_payload(&packets, &mut bin);
            let decoded: Vec<_> = v3::decode_binary_payload(&bin, profile, &Limits::default()).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&decoded, &known);
        }
    }

    #[test]
    fn v3_lengths_count_utf16_units(data in "[😀𐍈a€]{1,10}") {
        let p = engine::Packet::text(EioType::Message, data.clone());
        let mut out = Vec::new();
        v3::encode_payload(std::slice::from_ref(&p), &mut out);
        let units = 1 + data.encode_utf16().count();
        let prefix = format!("{units}:");
        prop_assert!(out.starts_with(prefix.as_bytes()));
        let body = String::from_utf8(out).unwrap();
        let decoded: Vec<_> = v3::decode_payload(&body, Profile::Strict, &Limits::default()).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(decoded, vec![v3::Decoded::Packet(p)]);
    }

    #[test]
    fn chunked_v4_bodies_decode_as_whole(
        packets in prop::collection::vec(eio_packet("[^\u{1e}]{1,8}"), 1..6),
        cuts in prop::collection::vec(0usize..64, 0..8),
        noise in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let mut body = Vec::new();
        v4::encode_payload(&packets, &mut body);
        body.extend(noise);
        for profile in PROFILES {
            let whole: Vec<_> = match v4::body_text(&body, profile) {
                Ok(text) => v4::decode_payload(&text, profile, &Limits::default()).map(|r| r.map(engine::Packet::into_owned)).collect(),
                Err(e) => vec![Err(e)],
            };
            let mut d = v4::StreamDecoder::new(profile, Limits::default());
            let mut streamed = Vec::new();
            let mut rest: &[u8] = &body;
            for cut in &cuts {
                let at = (*cut).min(rest.len());
                d.push(&rest[..at]);
                rest = &rest[at..];
                streamed.extend(std::iter::from_fn(|| d.next_packet()));
            }
            d.push(rest);
            streamed.extend(d.finish());
            let ok = |v: &[Result<engine::Packet<'static>, engine::DecodeError>]| v.iter().filter(|r| r.is_ok()).cloned().collect::<Vec<_>>();
            // Invalid UTF-8 is judged per packet when streaming and per body when whole,
            // so only bodies that are text compare packet for packet.
            if std::str::from_utf8(&body).is_ok() {
                prop_assert_eq!(&streamed, &whole);
            } else {
                prop_assert!(ok(&streamed).len() >= ok(&whole).len());
            }
        }
    }

    #[test]
    fn chunked_webtransport_decodes_as_whole(
        // An empty binary message has length 0, which the framing (like the
        // official decoder) refuses, so it cannot cross WebTransport.
        packets in prop::collection::vec(
            eio_packet(any_text()).prop_filter("empty binary", |p| !matches!(&p.data, Data::Binary(b) if b.is_empty())),
            1..5,
        ),
        cuts in prop::collection::vec(1usize..16, 0..8),
    ) {
        let mut wire = Vec::new();
        for p in &packets {
            webtransport::encode(p, &mut wire);
        }
        for profile in PROFILES {
            let mut whole = webtransport::FrameDecoder::new(1 << 20, profile);
            whole.push(&wire);
            let whole: Vec<_> = std::iter::from_fn(|| whole.next_packet()).collect();
            let mut d = webtransport::FrameDecoder::new(1 << 20, profile);
            let mut streamed = Vec::new();
            let mut rest: &[u8] = &wire;
            for cut in &cuts {
                let at = (*cut).min(rest.len());
                d.push(&rest[..at]);
                rest = &rest[at..];
                streamed.extend(std::iter::from_fn(|| d.next_packet()));
            }
            d.push(rest);
            streamed.extend(std::iter::from_fn(|| d.next_packet()));
            prop_assert_eq!(&streamed, &whole);
            let decoded: Vec<_> = whole.into_iter().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&decoded, &packets);
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i32>().prop_map(|n| serde_json::json!(n)),
        "[a-z€😀\"\\\\]{0,6}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A packet every profile and version accepts, with its payload text.
fn socket_packet() -> impl Strategy<Value = (PacketType, String, Option<u64>, Option<String>)> {
    let namespace = prop_oneof![Just("/".to_owned()), "/[a-z?=é]{1,8}"];
    let event = (
        prop_oneof![
            "[a-z-]{1,8}"
                .prop_filter("not reserved", |n| !socket::RESERVED_EVENTS
                    .contains(&n.as_str()))
                .prop_map(serde_json::Value::String),
            any::<u16>().prop_map(|n| serde_json::json!(n))
        ],
        prop::collection::vec(json_value(), 0..3),
    )
        .prop_map(|(name, args)| {
            serde_json::Value::Array(std::iter::once(name).chain(args).collect()).to_string()
        });
    let object = || {
        prop::collection::btree_map("[a-z]{1,4}", json_value(), 0..3)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()).to_string())
    };
    let array = prop::collection::vec(json_value(), 0..3)
        .prop_map(|v| serde_json::Value::Array(v).to_string());
    let id = 0u64..(1 << 53);
    prop_oneof![
        (namespace.clone(), prop::option::of(object())).prop_map(|(n, p)| (
            PacketType::Connect,
            n,
            None,
            p
        )),
        namespace
            .clone()
            .prop_map(|n| (PacketType::Disconnect, n, None, None)),
        (namespace.clone(), prop::option::of(id.clone()), event).prop_map(|(n, i, p)| (
            PacketType::Event,
            n,
            i,
            Some(p)
        )),
        (namespace.clone(), id, array).prop_map(|(n, i, p)| (PacketType::Ack, n, Some(i), Some(p))),
        (namespace, object()).prop_map(|(n, p)| (PacketType::ConnectError, n, None, Some(p))),
    ]
}

proptest! {
    #[test]
    fn socket_packets_round_trip((kind, namespace, id, payload) in socket_packet()) {
        let packet = socket::Packet {
            kind,
            namespace: &namespace,
            ack_id: id.map(AckId::Exact),
            attachments: 0,
            payload: payload.as_deref().map(|p| Json::parse(p).unwrap()),
        };
        let mut out = Vec::new();
        socket::encode(&packet, &mut out);
        let text = String::from_utf8(out).unwrap();
        for version in [Version::V4, Version::V5] {
            for profile in PROFILES {
                let decoded = socket::decode(&text, version, profile, &Limits::default());
                prop_assert_eq!(decoded, Ok(packet), "{} {:?} {:?}", text, version, profile);
            }
        }
    }

    #[test]
    fn binary_events_round_trip(
        args in prop::collection::vec(prop_oneof![json_value().prop_map(binary::Value::from), prop::collection::vec(any::<u8>(), 0..8).prop_map(binary::Value::Binary)], 0..12),
        id in prop::option::of(0u64..1000),
        ack in any::<bool>(),
    ) {
        let data = binary::Value::Array(std::iter::once(binary::Value::String("upload".into())).chain(args).collect());
        let kind = if ack { PacketType::Ack } else { PacketType::Event };
        let id = if ack { Some(id.unwrap_or(0)) } else { id };
        let mut header = Vec::new();
        let attachments: Vec<Vec<u8>> = binary::encode(kind, "/files", id.map(AckId::Exact), &data, &mut header).into_iter().map(<[u8]>::to_vec).collect();
        let limits = Limits { max_attachments: 12, ..Limits::default() };
        for profile in PROFILES {
            let mut r = Reassembler::new(Version::V5, profile, limits);
            let header = std::str::from_utf8(&header).unwrap();
            let value = match r.push_text(header).unwrap() {
                Step::Packet(p) => {
                    prop_assert!(attachments.is_empty());
                    let json = p.payload.unwrap().to_value().unwrap();
                    binary::Value::from(json)
                }
                Step::NeedsAttachments(n) => {
                    prop_assert_eq!(n, attachments.len());
                    let mut done = None;
                    for a in &attachments {
                        done = r.push_binary(a.clone()).unwrap();
                    }
                    done.unwrap().into_value().unwrap()
                }
            };
            prop_assert_eq!(value, data.clone());
        }
    }

    #[test]
    fn no_input_makes_a_decoder_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), cut in 0usize..64) {
        let limits = Limits::default();
        let text = String::from_utf8_lossy(&bytes);
        for profile in PROFILES {
            let _ = v4::decode_text(&text, profile);
            let _ = v4::decode_payload(&text, profile, &limits).count();
            let _ = v4::body_text(&bytes, profile);
            let _ = v3::decode_text(&text, profile);
            let _ = v3::decode_binary(&bytes, profile);
            let _ = v3::decode_payload(&text, profile, &limits).count();
            let _ = v3::decode_binary_payload(&bytes, profile, &limits).count();
            let _ = v3::jsonp::decode_request_body(&text);
            let _ = engine::handshake::Handshake::decode(&text, profile);
            let mut wt = webtransport::FrameDecoder::new(16, profile);
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            wt.push(a);
            wt.push(b);
            while wt.next_packet().is_some() {}
            for version in [Version::V4, Version::V5] {
                let _ = socket::decode(&text, version, profile, &limits);
                let mut r = Reassembler::new(version, profile, limits);
                let _ = r.push_text(&text);
                let _ = r.push_binary(bytes.clone()).map(|done| done.map(|a| a.into_value()));
                let _ = r.push_text(&text);
            }
        }
    }
}
