//! The oracles of siospec-codec's fuzz targets.
//!
//! Every public function takes arbitrary bytes and panics when the codec
//! breaks one of its promises on them. The cargo-fuzz targets in
//! `fuzz_targets/` are one-line wrappers around these functions, and the
//! stable test `codec/tests/fuzz_corpus_replay.rs` includes this very file
//! (with `#[path]`) to run every committed corpus file through the same
//! checks, so the corpus guards regressions without nightly.
//!
//! Oracles, besides "no panic" (and, under libFuzzer, no hang and no
//! oversized allocation):
//!
//! * **Strict ⊆ Compat**: whatever `Strict` accepts, `Compat` accepts with
//!   the identical result (for a payload or a stream: the packets `Strict`
//!   yields before its first error are the first packets `Compat` yields).
//! * **Limits only reject**: decoding under tight [`Limits`] gives a prefix of
//!   what the default limits give, never something different.
//! * **Round trip**: every decoded packet, encoded again, decodes to itself
//!   under both profiles (encoders only write what `Strict` accepts); where
//!   `Strict` is injective, re-encoding gives back the very input bytes.
//! * **Chunking independence**: the v4 polling `StreamDecoder` and the
//!   WebTransport `FrameDecoder` give the same items whether the input comes
//!   whole, byte by byte, or in input-chosen chunks.
//! * **Error shape**: decoders stop at their first error, and every error
//!   offset lies within the input.
//!
//! Targets whose input needs settings take them from leading bytes, and the
//! structure-aware [`roundtrip`] target draws whole packets from the bytes
//! with [`Gen`], a small deterministic reader in the spirit of
//! `arbitrary::Unstructured` (kept here so that the stable replay test reads
//! corpus files exactly as the fuzzer does, without extra dependencies).

use std::borrow::Cow;

use siospec_codec::engine::handshake::{Handshake, HandshakeError};
use siospec_codec::engine::{self, v3, v4, Data, FrameKind};
use siospec_codec::socket::binary::{self, Value};
use siospec_codec::socket::{self, msgpack, AckId, Json, Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};

/// A target's oracle: panics when the codec misbehaves on the input.
pub type Oracle = fn(&[u8]);

/// Every fuzz target: its name (the `fuzz_targets/<name>.rs` file and the
/// `corpus/<name>/` folder) and its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("eio4_packet", eio4_packet),
    ("eio4_payload", eio4_payload),
    ("eio4_payload_chunked", eio4_payload_chunked),
    ("eio3_packet", eio3_packet),
    ("eio3_payload", eio3_payload),
    ("eio3_binary_payload", eio3_binary_payload),
    ("eio3_jsonp", eio3_jsonp),
    ("webtransport", webtransport),
    ("sio_packet", sio_packet),
    ("sio_reassembly", sio_reassembly),
    ("sio_msgpack", sio_msgpack),
    ("sio_msgpack_roundtrip", sio_msgpack_roundtrip),
    ("adapter_redis", adapter_redis),
    ("roundtrip", roundtrip),
    ("session_server", session_server),
    ("session_client", session_client),
];

#[path = "session.rs"]
mod session;
pub use session::{session_client, session_server};

type EPacket = engine::Packet<'static>;
type EResult = Result<EPacket, engine::DecodeError>;
type V3Result = Result<v3::Decoded<'static>, engine::DecodeError>;

const PROFILES: [Profile; 2] = [Profile::Strict, Profile::Compat];

/// Limits small enough for short fuzz inputs to reach every limit check.
fn tight_limits() -> Limits {
    Limits {
        max_payload_bytes: 64,
        max_packets_per_payload: 3,
        max_attachments: 2,
        max_ack_id_digits: 4,
        max_namespace_len: 8,
        max_json_depth: 3,
        max_msgpack_depth: 3,
        max_container_len: 4,
    }
}

// ---------------------------------------------------------------------------
// Engine.IO targets
// ---------------------------------------------------------------------------

/// Engine.IO v4, one WebSocket frame: the input as a binary frame and as a
/// text frame (`Compat` reads invalid UTF-8 as U+FFFD, as Node does; `Strict`
/// only sees valid UTF-8). An `open` packet's data also goes through the
/// handshake decoder.
pub fn eio4_packet(data: &[u8]) {
    let binary = v4::decode_binary(data);
    assert_eq!(binary, engine::Packet::binary(data));
    let mut out = Vec::new();
    assert_eq!(v4::encode(&binary, true, &mut out), FrameKind::Binary);
    assert_eq!(out, data, "a binary frame re-encodes to itself");
    v4_frame_roundtrip(&binary.into_owned());

    let text = String::from_utf8_lossy(data);
    let compat = v4::decode_text(&text, Profile::Compat).map(engine::Packet::into_owned);
    match &compat {
        Ok(packet) => {
            v4_frame_roundtrip(packet);
            handshake_oracle(packet);
        }
        Err(err) => check_engine_error(err, text.len(), "v4 text frame"),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let strict = v4::decode_text(text, Profile::Strict).map(engine::Packet::into_owned);
        check_single_subset(&strict, &compat, "v4 text frame");
        if let Ok(packet) = &strict {
            let mut out = Vec::new();
            v4::encode(packet, false, &mut out);
            assert_eq!(out, data, "Strict accepts only canonical v4 text frames");
        }
    }
}

/// Engine.IO v4, one polling body (`\x1e`-separated packets).
pub fn eio4_payload(data: &[u8]) {
    let limits = Limits::default();
    let text = v4::body_text(data, Profile::Compat).expect("Compat reads any bytes");
    let compat = owned(v4::decode_payload(&text, Profile::Compat, &limits));
    check_stream_shape(&compat, text.len(), "v4 payload");
    let tight = owned(v4::decode_payload(&text, Profile::Compat, &tight_limits()));
    check_limits_only_reject(&tight, &compat, "v4 payload");
    match v4::body_text(data, Profile::Strict) {
        Ok(strict_text) => {
            let strict = owned(v4::decode_payload(&strict_text, Profile::Strict, &limits));
            check_stream_shape(&strict, strict_text.len(), "v4 payload (Strict)");
            check_strict_subset(&strict, &compat, "v4 payload");
            if let Some(packets) = all_ok(&strict) {
                let mut out = Vec::new();
                v4::encode_payload(&packets, &mut out);
                assert_eq!(out, data, "Strict accepts only canonical v4 payloads");
            }
        }
        Err(err) => {
            let expected = std::str::from_utf8(data)
                .expect_err("Strict only refuses invalid UTF-8")
                .valid_up_to();
            assert_eq!(err, engine::DecodeError::InvalidUtf8 { offset: expected });
        }
    }
    if let Some(packets) = all_ok(&compat) {
        v4_payload_roundtrip(&packets);
    }
}

/// Engine.IO v4 polling body through [`v4::StreamDecoder`]: byte 0 picks
/// the profile and limits, byte 1 seeds the chunk sizes, the rest is the
/// body. Whole, byte-by-byte and chunked decoding must agree, and agree
/// with the one-shot [`v4::decode_payload`].
pub fn eio4_payload_chunked(data: &[u8]) {
    let [config, seed, body @ ..] = data else {
        return;
    };
    let profile = if config & 1 == 0 {
        Profile::Compat
    } else {
        Profile::Strict
    };
    const MAX_PAYLOAD: [usize; 8] = [1_000_000, 0, 1, 2, 5, 16, 64, 256];
    const MAX_PACKETS: [usize; 4] = [100_000, 1, 2, 3];
    let limits = Limits {
        max_payload_bytes: MAX_PAYLOAD[usize::from((config >> 1) & 7)],
        max_packets_per_payload: MAX_PACKETS[usize::from((config >> 4) & 3)],
        ..Limits::default()
    };
    let unlimited = Limits {
        max_payload_bytes: usize::MAX,
        ..limits
    };
    let whole = stream_decode(profile, limits, [body]);
    check_stream_shape(&whole, body.len(), "v4 stream");
    let bytewise = stream_decode(profile, limits, body.chunks(1));
    let chunked = stream_decode(profile, limits, chunks(body, *seed));
    let all = stream_decode(profile, unlimited, [body]);
    if body.len() <= limits.max_payload_bytes {
        assert_eq!(
            bytewise, whole,
            "v4 stream: byte by byte differs from whole"
        );
        assert_eq!(chunked, whole, "v4 stream: chunked differs from whole");
        assert_eq!(all, whole);
    } else {
        // Whole, the body is refused outright; in chunks, the packets that
        // were complete before the limit was crossed come out first.
        assert!(
            matches!(whole[..], [Err(engine::DecodeError::TooLarge { .. })]),
            "{whole:?}"
        );
        // Either way what comes out is what an unlimited decoder gives,
        // up to an error that ends it: its own, or the limit.
        for items in [&bytewise, &chunked] {
            let (last, init) = items.split_last().expect("a failed stream reports it");
            assert!(
                init.len() < all.len()
                    && init == &all[..init.len()]
                    && last.is_err()
                    && (matches!(last, Err(engine::DecodeError::TooLarge { .. }))
                        || *last == all[init.len()]),
                "v4 stream over the limit: {items:?} vs unlimited {all:?}"
            );
        }
    }
    // The stream against the one-shot decoder of the same body.
    match v4::body_text(body, profile) {
        Ok(text) => {
            let one_shot = owned(v4::decode_payload(&text, profile, &unlimited));
            if matches!(text, Cow::Borrowed(_)) {
                assert_eq!(all, one_shot, "v4 stream differs from decode_payload");
            } else {
                // Compat turned invalid UTF-8 into U+FFFD, which moves the
                // offsets of the one-shot decoder's errors.
                assert_eq!(ok_prefix(&all), ok_prefix(&one_shot));
                assert_eq!(all.len(), one_shot.len());
            }
        }
        Err(engine::DecodeError::InvalidUtf8 { offset }) => {
            if let Some(Err(engine::DecodeError::InvalidUtf8 { offset: at })) = all.last() {
                assert_eq!(*at, offset, "v4 stream: UTF-8 error offset");
            }
        }
        Err(err) => panic!("body_text: unexpected {err:?}"),
    }
}

/// Engine.IO v3, one WebSocket frame: as a binary frame (type byte first)
/// and as a text frame.
pub fn eio3_packet(data: &[u8]) {
    let strict = v3::decode_binary(data, Profile::Strict).map(v3::Decoded::into_owned);
    let compat = v3::decode_binary(data, Profile::Compat).map(v3::Decoded::into_owned);
    check_single_subset(&strict, &compat, "v3 binary frame");
    check_strict_knows_every_type(std::slice::from_ref(&strict), "v3 binary frame");
    let known_type = matches!(data.first(), Some(&t) if t <= 6);
    match compat {
        Ok(v3::Decoded::Packet(packet)) => {
            let mut out = Vec::new();
            assert_eq!(v3::encode(&packet, true, &mut out), FrameKind::Binary);
            assert_eq!(out, data, "a v3 binary frame re-encodes to itself");
            v3_frame_roundtrip(&packet);
        }
        Ok(v3::Decoded::Untyped(rest)) => {
            assert!(!known_type, "untyped frame of a known type: {data:?}");
            assert_eq!(&rest[..], data.get(1..).unwrap_or_default());
        }
        Err(err) => panic!("Compat takes every binary frame, not {data:?}: {err:?}"),
    }
    if let Err(err) = &strict {
        check_engine_error(err, data.len(), "v3 binary frame");
        assert!(!known_type, "{err:?}");
    }
    let text = String::from_utf8_lossy(data);
    let compat = v3::decode_text(&text, Profile::Compat).map(v3::Decoded::into_owned);
    match &compat {
        Ok(v3::Decoded::Packet(packet)) => v3_frame_roundtrip(packet),
        Ok(v3::Decoded::Untyped(_)) => assert!(text.starts_with('b'), "{text:?}"),
        Err(err) => check_engine_error(err, text.len(), "v3 text frame"),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let strict = v3::decode_text(text, Profile::Strict).map(v3::Decoded::into_owned);
        check_single_subset(&strict, &compat, "v3 text frame");
        check_strict_knows_every_type(std::slice::from_ref(&strict), "v3 text frame");
        if let Ok(v3::Decoded::Packet(packet)) = &strict {
            let mut out = Vec::new();
            v3::encode(packet, false, &mut out);
            assert_eq!(out, data, "Strict accepts only canonical v3 text frames");
        }
    }
}

/// Engine.IO v3 text polling body (`<length>:<packet>`…).
pub fn eio3_payload(data: &[u8]) {
    let limits = Limits::default();
    let text = String::from_utf8_lossy(data);
    let compat = owned_v3(v3::decode_payload(&text, Profile::Compat, &limits));
    check_stream_shape(&compat, text.len(), "v3 payload");
    let tight = owned_v3(v3::decode_payload(&text, Profile::Compat, &tight_limits()));
    check_limits_only_reject(&tight, &compat, "v3 payload");
    if let Ok(text) = std::str::from_utf8(data) {
        let strict = owned_v3(v3::decode_payload(text, Profile::Strict, &limits));
        check_stream_shape(&strict, text.len(), "v3 payload (Strict)");
        check_strict_subset(&strict, &compat, "v3 payload");
        check_strict_knows_every_type(&strict, "v3 payload");
        if let Some(packets) = all_known(&strict) {
            let mut out = Vec::new();
            v3::encode_payload(&packets, &mut out);
            assert_eq!(out, data, "Strict accepts only canonical v3 payloads");
        }
    }
    if let Some(packets) = all_known(&compat) {
        v3_payload_roundtrip(&packets);
    }
}

/// Engine.IO v3 XHR2 binary polling body.
pub fn eio3_binary_payload(data: &[u8]) {
    let limits = Limits::default();
    let mut results = Vec::new();
    for profile in PROFILES {
        let items = owned_v3(v3::decode_binary_payload(data, profile, &limits));
        check_stream_shape(&items, data.len(), "v3 binary payload");
        // A malformed length rejects the whole body before any packet.
        if let Some(i) = items.iter().position(|r| {
            matches!(
                r,
                Err(engine::DecodeError::InvalidLength { .. }
                    | engine::DecodeError::Truncated { .. }
                    | engine::DecodeError::TooLarge { .. }
                    | engine::DecodeError::TooManyPackets { .. })
            )
        }) {
            assert_eq!(i, 0, "framing error after packets: {items:?}");
        }
        let tight = owned_v3(v3::decode_binary_payload(data, profile, &tight_limits()));
        check_limits_only_reject(&tight, &items, "v3 binary payload");
        results.push(items);
    }
    check_strict_subset(&results[0], &results[1], "v3 binary payload");
    check_strict_knows_every_type(&results[0], "v3 binary payload");
    if let Some(packets) = all_known(&results[1]) {
        v3_payload_roundtrip(&packets);
    }
}

/// Engine.IO v3 JSONP: the input as a form-encoded POST body (its `d` field
/// is then decoded as a v3 payload), and as both arguments of the response
/// encoder, whose output must be a JavaScript call carrying the payload as
/// a JSON string.
pub fn eio3_jsonp(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    if let Some(payload) = v3::jsonp::decode_request_body(&body) {
        let compat = owned_v3(v3::decode_payload(
            &payload,
            Profile::Compat,
            &Limits::default(),
        ));
        check_stream_shape(&compat, payload.len(), "JSONP payload");
        let strict = owned_v3(v3::decode_payload(
            &payload,
            Profile::Strict,
            &Limits::default(),
        ));
        check_strict_subset(&strict, &compat, "JSONP payload");
        check_strict_knows_every_type(&strict, "JSONP payload");
        if let Some(packets) = all_known(&compat) {
            v3_payload_roundtrip(&packets);
        }
    }
    // Any text without backslashes (which the transport's newline regexes
    // rewrite) survives being sent as the `d` field, percent-encoded or raw.
    let field = body.replace('\\', "/");
    let encoded = format!("d={}", percent_encode(&field));
    assert_eq!(
        v3::jsonp::decode_request_body(&encoded).as_deref(),
        Some(field.as_str()),
        "JSONP form field round trip"
    );
    jsonp_response_oracle(&body, &body);
}

/// WebTransport framing: byte 0 picks `max_payload`, byte 1 seeds the chunk
/// sizes, the rest is the stream. Both profiles, whole, byte by byte and
/// chunked; then the decoded packets are framed again and decoded back.
pub fn webtransport(data: &[u8]) {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    const MAX_PAYLOAD: [usize; 16] = [
        1_000_000,
        0,
        1,
        5,
        10,
        100,
        125,
        126,
        127,
        130,
        200,
        1000,
        65_535,
        65_536,
        1 << 40,
        usize::MAX,
    ];
    let max = MAX_PAYLOAD[usize::from(config & 15)];
    let mut results = Vec::new();
    for profile in PROFILES {
        let whole = frame_decode(max, profile, [stream]);
        check_stream_shape(&whole, stream.len(), "WebTransport");
        let bytewise = frame_decode(max, profile, stream.chunks(1));
        assert_eq!(
            bytewise, whole,
            "WebTransport: byte by byte differs from whole"
        );
        let chunked = frame_decode(max, profile, chunks(stream, *seed));
        assert_eq!(chunked, whole, "WebTransport: chunked differs from whole");
        results.push(whole);
    }
    check_strict_subset(&results[0], &results[1], "WebTransport");
    // An empty binary message frames as length 0, which every decoder (the
    // official one included) refuses: it cannot travel over WebTransport.
    let packets: Vec<EPacket> = ok_prefix(&results[1])
        .into_iter()
        .filter(|p| !matches!(&p.data, Data::Binary(b) if b.is_empty()))
        .cloned()
        .collect();
    webtransport_roundtrip(&packets, *seed);
}

// ---------------------------------------------------------------------------
// Socket.IO targets
// ---------------------------------------------------------------------------

/// One Socket.IO text packet, decoded as v4 and v5 in both profiles and
/// under default and tight limits.
pub fn sio_packet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    for version in [Version::V4, Version::V5] {
        let compat = socket::decode(&text, version, Profile::Compat, &limits);
        let strict = socket::decode(&text, version, Profile::Strict, &limits);
        if let Ok(packet) = &strict {
            assert!(
                same_sio(&compat, packet),
                "Strict ⊆ Compat: {text:?} {version:?}: {compat:?} vs {packet:?}"
            );
        }
        for (profile, result) in [(Profile::Compat, &compat), (Profile::Strict, &strict)] {
            let tight = socket::decode(&text, version, profile, &tight_limits());
            if let Ok(packet) = &tight {
                assert!(
                    same_sio(result, packet),
                    "limits only reject: {result:?} vs {packet:?}"
                );
            }
            match result {
                Ok(packet) => {
                    let _ = packet.event_name();
                    if let Some(payload) = packet.payload {
                        let _ = payload.to_value();
                    }
                    sio_roundtrip(packet, version, profile);
                }
                Err(err) => check_sio_error(err, text.len()),
            }
        }
    }
}

/// socket.io-msgpack-parser, one binary frame: Strict ⊆ Compat; tight
/// limits only reject; a decoded packet encoded again decodes, and encodes
/// to the same bytes (decode → encode → decode is stable).
pub fn sio_msgpack(data: &[u8]) {
    let limits = Limits::default();
    let compat = msgpack::decode(data, Profile::Compat, &limits);
    let strict = msgpack::decode(data, Profile::Strict, &limits);
    if let Ok(packet) = &strict {
        assert_eq!(compat.as_ref(), Ok(packet), "Strict ⊆ Compat: {data:02x?}");
    }
    for (profile, result) in [(Profile::Compat, &compat), (Profile::Strict, &strict)] {
        if let Ok(packet) = msgpack::decode(data, profile, &tight_limits()) {
            assert_eq!(
                result.as_ref(),
                Ok(&packet),
                "limits only reject: {data:02x?}"
            );
        }
        match result {
            Ok(packet) => msgpack_stable(packet, profile),
            Err(err) => check_sio_error(err, data.len()),
        }
    }
}

/// Whether every number in `v` is below 2^53 in magnitude: notepack (and
/// the codec with it) writes a 64-bit integer from a double's 32-bit halves,
/// which wraps beyond, so round trips are checked below only.
fn exact(v: &Value) -> bool {
    match v {
        Value::Number(n) => n
            .as_f64()
            .is_some_and(|f| f.abs() < 9_007_199_254_740_992.0),
        Value::Array(items) => items.iter().all(exact),
        Value::Object(entries) => entries.iter().all(|(_, v)| exact(v)),
        _ => true,
    }
}

/// A cluster node's view of a Redis message (the first byte picks the
/// channel: the namespace's, a room's, another namespace's; the rest is the
/// message): no panic; tighter limits only reject; a delivered broadcast,
/// encoded as a node publishes it, decodes to itself (numbers beyond 2^53
/// left out, as for msgpack packets).
pub fn adapter_redis(data: &[u8]) {
    use siospec_codec::adapter::{self, Channels, Node, Received};
    let Some((&pick, message)) = data.split_first() else {
        return;
    };
    let node = Node {
        channels: Channels::new(adapter::DEFAULT_KEY),
        namespace: "/".to_owned(),
        uid: "fuzzer".to_owned(),
    };
    let channel = ["socket.io#/#", "socket.io#/#r#", "socket.io#/other#"][usize::from(pick % 3)];
    let has_room = |room: &str| pick & 4 != 0 && room == "r";
    let got = adapter::receive(&node, channel, message, has_room, &Limits::default());
    if let Ok(tight) = adapter::receive(&node, channel, message, has_room, &tight_limits()) {
        assert_eq!(got.as_ref(), Ok(&tight), "limits only reject: {data:02x?}");
    }
    let Ok(Received::Deliver(broadcast)) = got else {
        return;
    };
    if !broadcast.packet.data.as_ref().is_none_or(exact) || !exact(&broadcast.flags) {
        return;
    }
    let mut out = Vec::new();
    adapter::encode_broadcast(&broadcast, &mut out);
    let again = adapter::decode_broadcast(&out, &Limits::default());
    assert_eq!(again, Ok(Some(broadcast)), "stable: {data:02x?}");
}

/// `packet` encoded, decoded under `profile` and encoded again gives the same
/// bytes. Numbers beyond 2^53 are left out: notepack (and the codec with it)
/// writes a 64-bit integer from a double's 32-bit halves, which wraps.
fn msgpack_stable(packet: &msgpack::Packet, profile: Profile) {
    if matches!(packet.ack_id, Some(AckId::Lossy(id)) if id.abs() >= 9_007_199_254_740_992.0)
        || !packet.data.as_ref().is_none_or(exact)
    {
        return;
    }
    let mut first = Vec::new();
    msgpack::encode(
        packet.kind,
        &packet.namespace,
        packet.ack_id,
        packet.data.as_ref(),
        &mut first,
    );
    let again = msgpack::decode(&first, profile, &Limits::default())
        .unwrap_or_else(|e| panic!("msgpack re-decode ({profile:?}): {e}: {first:02x?}"));
    let mut second = Vec::new();
    msgpack::encode(
        again.kind,
        &again.namespace,
        again.ack_id,
        again.data.as_ref(),
        &mut second,
    );
    assert_eq!(
        first, second,
        "msgpack decode → encode → decode unstable ({profile:?})"
    );
}

/// Structure-aware: a packet drawn by [`Gen`] (data with bytes, `undefined`,
/// integer-like keys) as JavaScript would hold it (integer-like keys first,
/// numbers as doubles within 2^53, `-0` as `0`), encoded with
/// [`msgpack::encode`], decodes to itself under both profiles (Strict only
/// where the packet is Strict-valid).
pub fn sio_msgpack_roundtrip(data: &[u8]) {
    use socket::PacketType as T;
    let mut g = Gen::new(data);
    let kind = T::ALL[g.below(5)];
    let namespace = gen_namespace(&mut g);
    let mut binaries = g.below(6);
    let (data, ack_id, strict_ok) = match kind {
        T::Connect => (g.bool().then(|| g.object(2, &mut binaries)), None, true),
        T::Disconnect => (None, None, true),
        T::ConnectError => {
            if g.bool() {
                (Some(Value::String(g.string(12))), None, false)
            } else {
                (Some(g.object(2, &mut binaries)), None, true)
            }
        }
        T::Event => {
            let id = g.bool().then(|| gen_ack_id(&mut g, false));
            (Some(gen_event_data(&mut g, &mut binaries)), id, true)
        }
        _ => {
            let mut items: Vec<Value> =
                (0..g.below(5)).map(|_| g.value(3, &mut binaries)).collect();
            if g.bool() {
                items.push(Value::Undefined);
            }
            (
                Some(Value::Array(items)),
                Some(gen_ack_id(&mut g, false)),
                true,
            )
        }
    };
    // Numbers beyond 2^53 are cut first: the encoder wraps them as
    // notepack does, which `msgpack_stable` leaves out as well.
    let data = data.as_ref().map(as_javascript);
    let mut frame = Vec::new();
    msgpack::encode(kind, &namespace, ack_id, data.as_ref(), &mut frame);
    let expected = msgpack::Packet {
        kind,
        namespace,
        ack_id,
        data,
    };
    for profile in PROFILES {
        if profile == Profile::Strict && !strict_ok {
            continue;
        }
        let back = msgpack::decode(&frame, profile, &Limits::default());
        assert_eq!(
            back.as_ref(),
            Ok(&expected),
            "msgpack round trip ({profile:?}): {frame:02x?}"
        );
    }
}

/// A value as notepack hands it to JavaScript and back: numbers as doubles
/// (integers up to 2^53 kept as integers; larger ones cut to 53 bits here,
/// since the official encoder wraps them), `-0` as `0`, integer-like keys
/// first in ascending order.
fn as_javascript(v: &Value) -> Value {
    const TWO_53: f64 = 9_007_199_254_740_992.0;
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            let f = if f.fract() == 0.0 && f.abs() > TWO_53 {
                f % TWO_53
            } else {
                f
            };
            if f.fract() == 0.0 {
                Value::Number(if f >= 0.0 {
                    (f as u64).into()
                } else {
                    (f as i64).into()
                })
            } else {
                Value::Number(serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()))
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(as_javascript).collect()),
        Value::Object(entries) => {
            let index = |k: &str| -> Option<u32> {
                let n: u32 = k.parse().ok()?;
                (n != u32::MAX && n.to_string() == k).then_some(n)
            };
            let mut ints: Vec<(u32, (String, Value))> = Vec::new();
            let mut rest = Vec::new();
            for (k, v) in entries {
                let entry = (k.clone(), as_javascript(v));
                match index(k) {
                    Some(i) => ints.push((i, entry)),
                    None => rest.push(entry),
                }
            }
            ints.sort_by_key(|(i, _)| *i);
            Value::Object(ints.into_iter().map(|(_, e)| e).chain(rest).collect())
        }
        other => other.clone(),
    }
}

/// A sequence of Socket.IO messages through [`Reassembler`]: byte 0 picks
/// the version and limits; the rest is split at every `0xFF` byte into
/// frames, a frame starting with `B` being a binary attachment (the bytes
/// after the `B`) and any other a text packet. Strict and Compat run side by
/// side; every completed binary packet is rebuilt, re-encoded and
/// reassembled again.
pub fn sio_reassembly(data: &[u8]) {
    let [config, rest @ ..] = data else {
        return;
    };
    let version = if config & 1 == 0 {
        Version::V5
    } else {
        Version::V4
    };
    const MAX_ATTACHMENTS: [usize; 8] = [10, 0, 1, 2, 3, 11, 12, 100];
    let limits = Limits {
        max_attachments: MAX_ATTACHMENTS[usize::from((config >> 1) & 7)],
        max_json_depth: if config & 0x10 == 0 { 1000 } else { 4 },
        ..Limits::default()
    };
    let frames: Vec<Frame<'_>> = rest
        .split(|&b| b == 0xff)
        .map(|f| match f.split_first() {
            Some((b'B', attachment)) => Frame::Binary(attachment),
            _ => Frame::Text(String::from_utf8_lossy(f)),
        })
        .collect();
    let strict = reassemble(&frames, version, Profile::Strict, limits);
    let compat = reassemble(&frames, version, Profile::Compat, limits);
    for (s, c) in strict.iter().zip(&compat) {
        match s {
            Err(_) => break,
            Ok(s) => assert_eq!(Ok(s), c.as_ref(), "Strict ⊆ Compat in reassembly"),
        }
    }
}

// ---------------------------------------------------------------------------
// The structure-aware round trip
// ---------------------------------------------------------------------------

/// Structure-aware round trips: byte 0 picks a family, and [`Gen`] draws
/// packets of that family from the other bytes. Each is encoded with the
/// codec's encoders, and must decode back to itself under both profiles
/// (under Compat only, for the inputs only the official parsers' looseness
/// allows).
pub fn roundtrip(data: &[u8]) {
    let mut g = Gen::new(data);
    match g.byte() % 6 {
        0 => {
            let packets: Vec<EPacket> = (0..g.below(8)).map(|_| gen_v4_packet(&mut g)).collect();
            for packet in &packets {
                v4_frame_roundtrip(packet);
            }
            if !packets.is_empty() {
                v4_payload_roundtrip(&packets);
            }
            let seed = g.byte();
            let frameable: Vec<EPacket> = packets
                .into_iter()
                .filter(|p| !matches!(&p.data, Data::Binary(b) if b.is_empty()))
                .collect();
            webtransport_roundtrip(&frameable, seed);
        }
        1 => {
            let packets: Vec<EPacket> = (0..g.below(8)).map(|_| gen_v3_packet(&mut g)).collect();
            for packet in &packets {
                v3_frame_roundtrip(packet);
            }
            v3_payload_roundtrip(&packets);
            let mut body = Vec::new();
            v3::encode_payload(&packets, &mut body);
            let body = String::from_utf8(body).expect("v3 payloads are UTF-8");
            let j = g.string(8);
            jsonp_response_oracle(&j, &body);
            if !body.contains('\\') {
                let request = format!("d={}", percent_encode(&body));
                assert_eq!(
                    v3::jsonp::decode_request_body(&request).as_deref(),
                    Some(body.as_str())
                );
            }
        }
        2 => {
            for _ in 0..=g.below(4) {
                gen_sio_roundtrip(&mut g);
            }
        }
        3 => {
            for _ in 0..=g.below(2) {
                gen_binary_roundtrip(&mut g);
            }
        }
        4 => {
            for _ in 0..=g.below(2) {
                gen_handshake_roundtrip(&mut g);
            }
        }
        _ => {
            for _ in 0..=g.below(4) {
                gen_number_roundtrip(&mut g);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------

fn owned<'a>(
    items: impl IntoIterator<Item = Result<engine::Packet<'a>, engine::DecodeError>>,
) -> Vec<EResult> {
    items
        .into_iter()
        .map(|r| r.map(engine::Packet::into_owned))
        .collect()
}

fn owned_v3<'a>(
    items: impl IntoIterator<Item = Result<v3::Decoded<'a>, engine::DecodeError>>,
) -> Vec<V3Result> {
    items
        .into_iter()
        .map(|r| r.map(v3::Decoded::into_owned))
        .collect()
}

/// The items before the first error.
fn ok_prefix<T>(items: &[Result<T, engine::DecodeError>]) -> Vec<&T> {
    items.iter().map_while(|r| r.as_ref().ok()).collect()
}

/// The packets, when there is no error.
fn all_ok(items: &[EResult]) -> Option<Vec<EPacket>> {
    items.iter().map(|r| r.as_ref().ok().cloned()).collect()
}

/// The packets, when there is no error and every one has a known type.
fn all_known(items: &[V3Result]) -> Option<Vec<EPacket>> {
    items
        .iter()
        .map(|r| r.as_ref().ok().cloned().and_then(v3::Decoded::into_packet))
        .collect()
}

/// Data of no known type is the official v3 parser's looseness: `Strict`
/// never yields it.
fn check_strict_knows_every_type(strict: &[V3Result], what: &str) {
    assert!(
        !strict
            .iter()
            .any(|r| matches!(r, Ok(v3::Decoded::Untyped(_)))),
        "{what}: Strict yielded data of no known type: {strict:?}"
    );
}

fn as_results(packets: &[EPacket]) -> Vec<EResult> {
    packets.iter().cloned().map(Ok).collect()
}

fn check_engine_error(err: &engine::DecodeError, input_len: usize, what: &str) {
    assert!(!err.to_string().is_empty());
    if let Some(offset) = err.offset() {
        assert!(
            offset <= input_len,
            "{what}: error offset {offset} beyond the input ({input_len} bytes): {err:?}"
        );
    }
}

/// Decoders stop at their first error; its offset lies within the input.
fn check_stream_shape<T: std::fmt::Debug>(
    items: &[Result<T, engine::DecodeError>],
    input_len: usize,
    what: &str,
) {
    if let Some(i) = items.iter().position(Result::is_err) {
        assert_eq!(
            i + 1,
            items.len(),
            "{what}: items after an error: {items:?}"
        );
        if let Err(err) = &items[i] {
            check_engine_error(err, input_len, what);
        }
    }
}

fn check_single_subset<T: std::fmt::Debug + PartialEq>(
    strict: &Result<T, engine::DecodeError>,
    compat: &Result<T, engine::DecodeError>,
    what: &str,
) {
    if let Ok(packet) = strict {
        assert_eq!(compat.as_ref(), Ok(packet), "{what}: Strict ⊆ Compat");
    }
}

/// What Strict yields before its first error, Compat yields first; when
/// Strict accepts everything, Compat gives exactly the same.
fn check_strict_subset<T: std::fmt::Debug + PartialEq>(
    strict: &[Result<T, engine::DecodeError>],
    compat: &[Result<T, engine::DecodeError>],
    what: &str,
) {
    let s = ok_prefix(strict);
    let c = ok_prefix(compat);
    assert!(
        c.len() >= s.len() && c[..s.len()] == s[..],
        "{what}: Strict ⊆ Compat: strict {strict:?}, compat {compat:?}"
    );
    if strict.iter().all(Result::is_ok) {
        assert_eq!(strict, compat, "{what}: Strict accepted everything");
    }
}

fn check_limits_only_reject<T: std::fmt::Debug + PartialEq>(
    tight: &[Result<T, engine::DecodeError>],
    full: &[Result<T, engine::DecodeError>],
    what: &str,
) {
    let t = ok_prefix(tight);
    let f = ok_prefix(full);
    assert!(
        f.len() >= t.len() && f[..t.len()] == t[..],
        "{what}: tight limits changed a result: {tight:?} vs {full:?}"
    );
    if tight.iter().all(Result::is_ok) {
        assert_eq!(tight, full, "{what}: no limit hit, yet a different result");
    }
}

/// Encoded both ways, a v4 packet decodes back to itself under both profiles.
fn v4_frame_roundtrip(packet: &EPacket) {
    for supports_binary in [true, false] {
        let mut out = Vec::new();
        let back = match v4::encode(packet, supports_binary, &mut out) {
            FrameKind::Binary => v4::decode_binary(&out).into_owned(),
            FrameKind::Text => {
                let text = std::str::from_utf8(&out).expect("v4 text frames are UTF-8");
                let strict = v4::decode_text(text, Profile::Strict).map(engine::Packet::into_owned);
                let compat = v4::decode_text(text, Profile::Compat).map(engine::Packet::into_owned);
                assert_eq!(strict, compat, "v4 frame {text:?}");
                strict.unwrap_or_else(|e| panic!("v4 frame {text:?} does not decode: {e:?}"))
            }
        };
        assert_eq!(&back, packet, "v4 frame round trip");
    }
}

fn v3_frame_roundtrip(packet: &EPacket) {
    for supports_binary in [true, false] {
        let mut out = Vec::new();
        let back = match v3::encode(packet, supports_binary, &mut out) {
            FrameKind::Binary => {
                let strict = v3::decode_binary(&out, Profile::Strict).map(v3::Decoded::into_owned);
                let compat = v3::decode_binary(&out, Profile::Compat).map(v3::Decoded::into_owned);
                assert_eq!(strict, compat, "v3 frame {out:?}");
                strict
            }
            FrameKind::Text => {
                let text = std::str::from_utf8(&out).expect("v3 text frames are UTF-8");
                let strict = v3::decode_text(text, Profile::Strict).map(v3::Decoded::into_owned);
                let compat = v3::decode_text(text, Profile::Compat).map(v3::Decoded::into_owned);
                assert_eq!(strict, compat, "v3 frame {text:?}");
                strict
            }
        };
        assert_eq!(
            back,
            Ok(v3::Decoded::Packet(packet.clone())),
            "v3 frame round trip"
        );
    }
}

/// `packets` (none empty text, none with `\x1e` in text, binary only as
/// messages) as a v4 polling body, one-shot and streamed.
fn v4_payload_roundtrip(packets: &[EPacket]) {
    let mut body = Vec::new();
    v4::encode_payload(packets, &mut body);
    let text = std::str::from_utf8(&body).expect("v4 payloads are UTF-8");
    let expected = as_results(packets);
    for profile in PROFILES {
        let back = owned(v4::decode_payload(text, profile, &Limits::default()));
        assert_eq!(
            back, expected,
            "v4 payload round trip ({profile:?}): {text:?}"
        );
        let streamed = stream_decode(profile, Limits::default(), chunks(&body, body.len() as u8));
        assert_eq!(streamed, expected, "v4 stream round trip ({profile:?})");
    }
}

/// `packets` as a v3 text payload and as an XHR2 binary payload.
fn v3_payload_roundtrip(packets: &[EPacket]) {
    let limits = Limits::default();
    let expected: Vec<V3Result> = packets
        .iter()
        .cloned()
        .map(|p| Ok(v3::Decoded::Packet(p)))
        .collect();
    let mut body = Vec::new();
    v3::encode_payload(packets, &mut body);
    let text = std::str::from_utf8(&body).expect("v3 payloads are UTF-8");
    for profile in PROFILES {
        // The empty payload is written `0:`, which only Compat reads.
        if packets.is_empty() && profile == Profile::Strict {
            continue;
        }
        let back = owned_v3(v3::decode_payload(text, profile, &limits));
        assert_eq!(
            back, expected,
            "v3 payload round trip ({profile:?}): {text:?}"
        );
    }
    body.clear();
    v3::encode_binary_payload(packets, &mut body);
    for profile in PROFILES {
        let back = owned_v3(v3::decode_binary_payload(&body, profile, &limits));
        assert_eq!(
            back, expected,
            "XHR2 payload round trip ({profile:?}): {body:?}"
        );
    }
}

fn webtransport_roundtrip(packets: &[EPacket], seed: u8) {
    let mut wire = Vec::new();
    for packet in packets {
        engine::webtransport::encode(packet, &mut wire);
    }
    let expected = as_results(packets);
    for profile in PROFILES {
        assert_eq!(
            frame_decode(usize::MAX, profile, [&wire[..]]),
            expected,
            "WebTransport round trip ({profile:?}): {wire:?}"
        );
        assert_eq!(
            frame_decode(usize::MAX, profile, chunks(&wire, seed)),
            expected,
            "WebTransport chunked round trip ({profile:?})"
        );
    }
}

fn handshake_oracle(packet: &EPacket) {
    let (engine::PacketType::Open, Data::Text(text)) = (packet.kind, &packet.data) else {
        return;
    };
    let compat = Handshake::decode(text, Profile::Compat);
    let strict = Handshake::decode(text, Profile::Strict);
    if let Ok(h) = &strict {
        assert_eq!(compat.as_ref(), Ok(h), "handshake: Strict ⊆ Compat");
    }
    if let Ok(h) = &compat {
        handshake_roundtrip(h);
    }
}

fn handshake_roundtrip(h: &Handshake) {
    let mut out = Vec::new();
    h.encode(&mut out);
    let text = std::str::from_utf8(&out).expect("handshake JSON is UTF-8");
    assert_eq!(
        Handshake::decode(text, Profile::Compat).as_ref(),
        Ok(h),
        "{text}"
    );
    let strict = Handshake::decode(text, Profile::Strict);
    if h.max_payload.is_some() {
        assert_eq!(strict.as_ref(), Ok(h), "{text}");
    } else {
        assert_eq!(strict, Err(HandshakeError::UnexpectedKeys), "{text}");
    }
}

fn jsonp_response_oracle(j: &str, payload: &str) {
    let mut out = Vec::new();
    v3::jsonp::encode_response(j, payload, &mut out);
    let out = String::from_utf8(out).expect("JSONP responses are UTF-8");
    let digits: String = j.chars().filter(char::is_ascii_digit).collect();
    let prefix = format!("___eio[{digits}](");
    assert!(
        out.starts_with(&prefix) && out.ends_with(");"),
        "JSONP response shape: {out:?}"
    );
    let literal = &out[prefix.len()..out.len() - 2];
    assert!(
        !literal.contains(['\u{2028}', '\u{2029}']),
        "U+2028/9 must be escaped in a script: {literal:?}"
    );
    let back: String = serde_json::from_str(literal)
        .unwrap_or_else(|e| panic!("JSONP response literal {literal:?} is not a JSON string: {e}"));
    assert_eq!(back, payload, "JSONP response round trip");
}

fn check_sio_error(err: &socket::DecodeError, input_len: usize) {
    assert!(!err.official_message().is_empty());
    assert!(!err.to_string().is_empty());
    if let Some(offset) = err.offset() {
        assert!(
            offset <= input_len,
            "offset {offset} beyond {input_len}: {err:?}"
        );
    }
}

/// A decoded Socket.IO packet, encoded again, decodes to itself.
fn sio_roundtrip(packet: &socket::Packet<'_>, version: Version, profile: Profile) {
    // A lossy ack id is written as JavaScript prints the number (`NaN`,
    // `4.3e+21`), which the official decoder cannot read back either.
    if matches!(packet.ack_id, Some(AckId::Lossy(_))) {
        return;
    }
    let mut out = Vec::new();
    socket::encode(packet, &mut out);
    let text = std::str::from_utf8(&out).expect("Socket.IO packets are UTF-8");
    let back = socket::decode(text, version, profile, &Limits::default());
    assert_eq!(
        back.as_ref(),
        Ok(packet),
        "Socket.IO round trip ({version:?}, {profile:?}): {text:?}"
    );
}

fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Chunk sizes from a seed: mostly small, sometimes large, never empty (an
/// empty WebTransport chunk is data for the official decoder's quirks).
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed).wrapping_mul(0x9e37_79b9) | 1;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = if state % 7 == 0 {
            1 + (state >> 8) as usize % 400
        } else {
            1 + (state >> 8) as usize % 23
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

fn stream_decode<'c>(
    profile: Profile,
    limits: Limits,
    chunks: impl IntoIterator<Item = &'c [u8]>,
) -> Vec<EResult> {
    let mut decoder = v4::StreamDecoder::new(profile, limits);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(item) = decoder.next_packet() {
            out.push(item);
        }
    }
    out.extend(decoder.finish());
    out
}

fn frame_decode<'c>(
    max_payload: usize,
    profile: Profile,
    chunks: impl IntoIterator<Item = &'c [u8]>,
) -> Vec<EResult> {
    let mut decoder = engine::webtransport::FrameDecoder::new(max_payload, profile);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(item) = decoder.next_packet() {
            out.push(item);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reassembly
// ---------------------------------------------------------------------------

enum Frame<'a> {
    Text(Cow<'a, str>),
    Binary(&'a [u8]),
}

/// `result` holds the same packet as `packet` (a `NaN` ack id equals itself).
fn same_sio(
    result: &Result<socket::Packet<'_>, socket::DecodeError>,
    packet: &socket::Packet<'_>,
) -> bool {
    matches!(result, Ok(p) if OwnedPacket::of(p) == OwnedPacket::of(packet))
}

/// A Socket.IO packet that owns its parts, to compare across reassemblers.
#[derive(Debug, Clone)]
struct OwnedPacket {
    kind: socket::PacketType,
    namespace: String,
    ack_id: Option<AckId>,
    attachments: usize,
    payload: Option<String>,
}

impl PartialEq for OwnedPacket {
    fn eq(&self, other: &Self) -> bool {
        let ack = |a: Option<AckId>| match a {
            Some(AckId::Exact(n)) => Some((false, n)),
            Some(AckId::Lossy(v)) => Some((true, v.to_bits())),
            None => None,
        };
        (self.kind, &self.namespace, self.attachments, &self.payload)
            == (
                other.kind,
                &other.namespace,
                other.attachments,
                &other.payload,
            )
            && ack(self.ack_id) == ack(other.ack_id)
    }
}

impl OwnedPacket {
    fn of(p: &socket::Packet<'_>) -> Self {
        OwnedPacket {
            kind: p.kind,
            namespace: p.namespace.to_owned(),
            ack_id: p.ack_id,
            attachments: p.attachments,
            payload: p.payload.map(|j| j.as_str().to_owned()),
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Packet(OwnedPacket),
    NeedsAttachments(usize),
    Waiting,
    Done {
        packet: OwnedPacket,
        attachments: Vec<Vec<u8>>,
        value: Value,
    },
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Packet(a), Outcome::Packet(b)) => a == b,
            (Outcome::NeedsAttachments(a), Outcome::NeedsAttachments(b)) => a == b,
            (Outcome::Waiting, Outcome::Waiting) => true,
            (
                Outcome::Done {
                    packet: p1,
                    attachments: a1,
                    value: v1,
                },
                Outcome::Done {
                    packet: p2,
                    attachments: a2,
                    value: v2,
                },
            ) => p1 == p2 && a1 == a2 && js_eq(v1, v2),
            _ => false,
        }
    }
}

fn reassemble(
    frames: &[Frame<'_>],
    version: Version,
    profile: Profile,
    limits: Limits,
) -> Vec<Result<Outcome, socket::DecodeError>> {
    let mut r = Reassembler::new(version, profile, limits);
    let mut out = Vec::new();
    for frame in frames {
        let was_pending = r.is_pending();
        let result = match frame {
            Frame::Text(text) => match r.push_text(text) {
                Ok(Step::Packet(packet)) => {
                    assert!(!packet.kind.is_binary());
                    sio_roundtrip(&packet, version, profile);
                    Ok(Outcome::Packet(OwnedPacket::of(&packet)))
                }
                Ok(Step::NeedsAttachments(n)) => {
                    assert!(r.is_pending());
                    assert!((1..=limits.max_attachments).contains(&n), "{n} attachments");
                    Ok(Outcome::NeedsAttachments(n))
                }
                Err(err) => {
                    check_sio_error(&err, text.len());
                    if was_pending {
                        assert_eq!(err, socket::DecodeError::TextWhileReassembling);
                        assert!(r.is_pending(), "a stray text packet keeps the pending one");
                    }
                    Err(err)
                }
            },
            Frame::Binary(bytes) => match r.push_binary(bytes.to_vec()) {
                Ok(None) => {
                    assert!(r.is_pending());
                    Ok(Outcome::Waiting)
                }
                Ok(Some(assembled)) => {
                    assert!(!r.is_pending());
                    Ok(assembled_oracle(assembled, version, profile, limits))
                }
                Err(err) => {
                    check_sio_error(&err, 0);
                    assert_eq!(
                        was_pending,
                        err != socket::DecodeError::BinaryWithoutHeader,
                        "{err:?}"
                    );
                    assert!(!r.is_pending());
                    Err(err)
                }
            },
        };
        out.push(result);
    }
    out
}

fn assembled_oracle(
    assembled: socket::Assembled,
    version: Version,
    profile: Profile,
    limits: Limits,
) -> Outcome {
    let header = assembled.packet();
    assert!(header.kind.is_binary());
    assert_eq!(assembled.attachments().len(), header.attachments);
    let packet = OwnedPacket::of(&header);
    let attachments = assembled.attachments().to_vec();
    let (header_text, parts) = assembled.clone().into_parts();
    assert_eq!(parts, attachments);
    let again = socket::decode(&header_text, version, profile, &limits)
        .unwrap_or_else(|e| panic!("the stored header {header_text:?} no longer decodes: {e:?}"));
    assert_eq!(OwnedPacket::of(&again), packet);
    // Placeholders were checked when the last attachment came in, so
    // rebuilding the data cannot fail.
    let value = assembled
        .into_value()
        .unwrap_or_else(|e| panic!("into_value of a completed packet failed: {e:?}"));
    assembled_roundtrip(&packet, &value, version, profile, limits);
    Outcome::Done {
        packet,
        attachments,
        value,
    }
}

/// The rebuilt data, encoded again with `binary::encode`, reassembles to
/// the same data.
fn assembled_roundtrip(
    packet: &OwnedPacket,
    value: &Value,
    version: Version,
    profile: Profile,
    limits: Limits,
) {
    if packet.payload.is_none() {
        assert_eq!(*value, Value::Null);
        return;
    }
    if matches!(packet.ack_id, Some(AckId::Lossy(_))) {
        return;
    }
    // A number beyond the f64 range is JavaScript's Infinity, which JSON
    // writes as null: as an event name it does not survive, in the official
    // parser either.
    let is_event = packet.kind == socket::PacketType::BinaryEvent;
    if is_event && matches!(value, Value::Array(items) if items.first() == Some(&Value::Null)) {
        return;
    }
    let mut header = Vec::new();
    let attachments = binary::encode(
        packet.kind,
        &packet.namespace,
        packet.ack_id,
        value,
        &mut header,
    );
    let header = std::str::from_utf8(&header).expect("headers are UTF-8");
    // Re-encoding may repeat an attachment that several placeholders shared.
    let limits = Limits {
        max_attachments: usize::MAX,
        ..limits
    };
    check_binary_decode(
        header,
        &attachments,
        packet,
        value,
        version,
        profile,
        limits,
    );
}

/// `header` and `attachments` (written by `binary::encode` for `value`)
/// reassemble into `packet` carrying `value`.
fn check_binary_decode(
    header: &str,
    attachments: &[&[u8]],
    packet: &OwnedPacket,
    value: &Value,
    version: Version,
    profile: Profile,
    limits: Limits,
) {
    let mut r = Reassembler::new(version, profile, limits);
    let step = r
        .push_text(header)
        .unwrap_or_else(|e| panic!("re-encoded header {header:?} ({profile:?}): {e:?}"));
    if attachments.is_empty() {
        let Step::Packet(p) = step else {
            panic!("{header:?} without attachments: {step:?}");
        };
        let plain = match packet.kind {
            socket::PacketType::BinaryEvent => socket::PacketType::Event,
            socket::PacketType::BinaryAck => socket::PacketType::Ack,
            other => other,
        };
        assert_eq!(
            (p.kind, p.namespace, p.ack_id),
            (plain, packet.namespace.as_str(), packet.ack_id)
        );
        let mut json = Vec::new();
        binary::write_json(value, &mut json, &mut Vec::new());
        assert_eq!(
            p.payload.map(|j| j.as_str().as_bytes()),
            Some(&json[..]),
            "{header:?}"
        );
        return;
    }
    assert_eq!(
        step,
        Step::NeedsAttachments(attachments.len()),
        "{header:?}"
    );
    for (i, attachment) in attachments.iter().enumerate() {
        let done = r
            .push_binary(attachment.to_vec())
            .unwrap_or_else(|e| panic!("{header:?}: attachment {i}: {e:?}"));
        if i + 1 < attachments.len() {
            assert!(done.is_none());
            continue;
        }
        let done = done.expect("the last attachment completes the packet");
        let p = done.packet();
        assert_eq!(
            (p.kind, p.namespace, p.ack_id, p.attachments),
            (
                packet.kind,
                packet.namespace.as_str(),
                packet.ack_id,
                attachments.len()
            )
        );
        let back = done
            .into_value()
            .unwrap_or_else(|e| panic!("{header:?}: {e:?}"));
        assert!(
            js_eq(&back, value),
            "binary round trip ({profile:?}) of {header:?}: {back:?} != {value:?}"
        );
    }
}

/// Equality of data as JavaScript holds it: numbers are doubles.
fn js_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| js_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && js_eq(va, vb))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// Draws values from fuzz input bytes, deterministically; once the bytes
/// run out every draw is zero (the smallest choice).
pub struct Gen<'a> {
    data: &'a [u8],
}

const SPECIAL_CHARS: &[char] = &[
    '"', '\\', '/', ',', ':', '[', ']', '{', '}', '-', '+', '.', ' ', '\t', '\n', '\r', '\0',
    '\u{1e}', '\u{7f}', '\u{a0}', 'é', '€', '\u{2028}', '\u{2029}', '\u{3000}', '\u{feff}',
    '\u{fffd}', '😀', 'b', '0', '4', 'e', 'E', 'x', '_', 'n',
];

impl<'a> Gen<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Gen { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        u64::from_le_bytes(bytes)
    }

    /// A number in `0..n` (`n` ≤ 256).
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1).min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken.to_vec()
    }

    fn char(&mut self) -> char {
        let b = self.byte();
        match b {
            0..=95 => char::from(b' ' + b),
            96..=191 => SPECIAL_CHARS[usize::from(b) % SPECIAL_CHARS.len()],
            192..=223 => char::from(b - 192),
            _ => {
                let code = u32::from_le_bytes([self.byte(), self.byte(), b & 0x1f, 0]);
                char::from_u32(code % 0x11_0000).unwrap_or('\u{fffd}')
            }
        }
    }

    fn string(&mut self, max: usize) -> String {
        (0..self.below(max + 1)).map(|_| self.char()).collect()
    }

    fn number(&mut self) -> serde_json::Number {
        match self.below(4) {
            0 => serde_json::Number::from(self.u64() % 1000),
            1 => serde_json::Number::from(-((self.u64() >> 4) as i64)),
            2 => serde_json::Number::from(self.u64()),
            _ => serde_json::Number::from_f64(f64::from_bits(self.u64()))
                .unwrap_or_else(|| serde_json::Number::from(0)),
        }
    }

    /// JSON data; `binaries` leaves may be bytes (counted down).
    fn value(&mut self, depth: usize, binaries: &mut usize) -> Value {
        let choice = self.below(if depth == 0 { 5 } else { 8 });
        match choice {
            0 => Value::Null,
            1 => Value::Bool(self.bool()),
            2 => Value::Number(self.number()),
            3 => Value::String(self.string(12)),
            4 if *binaries > 0 => {
                *binaries -= 1;
                Value::Binary(self.bytes(16))
            }
            4 => Value::String(self.string(4)),
            5 | 6 => Value::Array(
                (0..self.below(4))
                    .map(|_| self.value(depth - 1, binaries))
                    .collect(),
            ),
            _ => self.object(depth - 1, binaries),
        }
    }

    /// An object with distinct keys, none `_placeholder` (which would make
    /// it a placeholder).
    fn object(&mut self, depth: usize, binaries: &mut usize) -> Value {
        let mut entries: Vec<(String, Value)> = Vec::new();
        for _ in 0..self.below(4) {
            let key = self.string(6);
            let value = self.value(depth, binaries);
            if key != "_placeholder" && entries.iter().all(|(k, _)| *k != key) {
                entries.push((key, value));
            }
        }
        Value::Object(entries)
    }
}

fn json_text(value: &Value) -> String {
    let mut out = Vec::new();
    binary::write_json(value, &mut out, &mut Vec::new());
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// A v4 packet as a decoder can produce it: no empty text, no `\x1e` in
/// text (a payload would split there), binary data only on messages.
fn gen_v4_packet(g: &mut Gen<'_>) -> EPacket {
    let kind = engine::PacketType::ALL[g.below(7)];
    match g.below(3) {
        0 => engine::Packet::new(kind),
        1 if kind == engine::PacketType::Message => engine::Packet::binary(g.bytes(24)),
        _ => {
            let text: String = g.string(24).replace('\u{1e}', "");
            if text.is_empty() {
                engine::Packet::new(kind)
            } else {
                engine::Packet::text(kind, text)
            }
        }
    }
}

/// A v3 packet: binary data may come with any type.
fn gen_v3_packet(g: &mut Gen<'_>) -> EPacket {
    let kind = engine::PacketType::ALL[g.below(7)];
    match g.below(3) {
        0 => engine::Packet::new(kind),
        1 => engine::Packet {
            kind,
            data: Data::Binary(Cow::Owned(g.bytes(24))),
        },
        _ => {
            let text = g.string(24);
            if text.is_empty() {
                engine::Packet::new(kind)
            } else {
                engine::Packet::text(kind, text)
            }
        }
    }
}

fn gen_namespace(g: &mut Gen<'_>) -> String {
    if g.bool() {
        "/".to_owned()
    } else {
        format!("/{}", g.string(12).replace(',', ""))
    }
}

/// An exact ack id, or (Compat only) one beyond 2^53 that JavaScript still
/// prints as plain digits.
fn gen_ack_id(g: &mut Gen<'_>, lossy: bool) -> AckId {
    const MAX_SAFE: u64 = (1 << 53) - 1;
    if lossy {
        // Every u64 above 2^53 prints as plain digits (below 1e21).
        AckId::Lossy((MAX_SAFE + 1 + g.u64() % (u64::MAX - MAX_SAFE)) as f64)
    } else if g.bool() {
        AckId::Exact(u64::from(g.byte()))
    } else {
        AckId::Exact(g.u64() & MAX_SAFE)
    }
}

/// An event's data: a string name (never a reserved one) or a number, then
/// arguments.
fn gen_event_data(g: &mut Gen<'_>, binaries: &mut usize) -> Value {
    let name = if g.below(4) == 0 {
        Value::Number(g.number())
    } else {
        let name = g.string(10);
        if socket::RESERVED_EVENTS.contains(&name.as_str()) {
            Value::String(format!("{name}!"))
        } else {
            Value::String(name)
        }
    };
    let mut items = vec![name];
    for _ in 0..g.below(4) {
        items.push(g.value(3, binaries));
    }
    Value::Array(items)
}

fn gen_sio_roundtrip(g: &mut Gen<'_>) {
    use socket::PacketType as T;
    let version = if g.bool() { Version::V5 } else { Version::V4 };
    let kind = T::ALL[g.below(7)];
    let namespace = gen_namespace(g);
    // Draws that only the official parsers' looseness accepts.
    let loose = g.below(4) == 0;
    let mut no_binary = 0;
    let mut ack_id = None;
    let payload = match kind {
        T::Connect => g.bool().then(|| g.object(3, &mut no_binary)),
        T::Disconnect => None,
        T::Event | T::BinaryEvent => {
            if g.bool() || loose {
                let lossy = loose && g.bool();
                ack_id = Some(gen_ack_id(g, lossy));
            }
            (!loose || g.bool()).then(|| gen_event_data(g, &mut no_binary))
        }
        T::Ack | T::BinaryAck => {
            if !loose || g.bool() {
                let lossy = loose && g.bool();
                ack_id = Some(gen_ack_id(g, lossy));
            }
            (!loose || g.bool()).then(|| match g.value(3, &mut no_binary) {
                array @ Value::Array(_) => array,
                other => Value::Array(vec![other]),
            })
        }
        T::ConnectError => Some(match (version, loose) {
            (Version::V5, false) => g.object(3, &mut no_binary),
            (Version::V4, false) if g.bool() => g.object(3, &mut no_binary),
            (Version::V5, true) | (Version::V4, _) if !loose || g.bool() => {
                Value::String(g.string(12))
            }
            (Version::V5, _) => Value::String(g.string(12)),
            // Compat v4 takes any JSON; a leading digit would read as an ack id.
            (Version::V4, _) => match g.value(3, &mut no_binary) {
                Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0) => Value::Null,
                other => other,
            },
        }),
    };
    if loose && ack_id.is_none() && matches!(kind, T::Connect | T::Disconnect | T::ConnectError) {
        ack_id = Some(gen_ack_id(g, false));
    }
    let attachments = if kind.is_binary() { 1 + g.below(10) } else { 0 };
    let json = payload.as_ref().map(json_text);
    let packet = socket::Packet {
        kind,
        namespace: &namespace,
        ack_id,
        attachments,
        payload: json
            .as_deref()
            .map(|j| Json::parse(j).expect("generated JSON is valid")),
    };
    let mut out = Vec::new();
    socket::encode(&packet, &mut out);
    let text = std::str::from_utf8(&out).expect("Socket.IO packets are UTF-8");
    let limits = Limits::default();
    let compat = socket::decode(text, version, Profile::Compat, &limits);
    assert_eq!(
        compat.as_ref(),
        Ok(&packet),
        "Compat round trip of {text:?}"
    );
    let strict = socket::decode(text, version, Profile::Strict, &limits);
    if !loose {
        assert_eq!(
            strict.as_ref(),
            Ok(&packet),
            "Strict round trip of {text:?}"
        );
    }
}

fn gen_binary_roundtrip(g: &mut Gen<'_>) {
    use socket::PacketType as T;
    let version = if g.bool() { Version::V5 } else { Version::V4 };
    let namespace = gen_namespace(g);
    let mut binaries = 1 + g.below(10);
    let (kind, ack_id, value) = if g.bool() {
        let ack_id = g.bool().then(|| gen_ack_id(g, false));
        (T::Event, ack_id, gen_event_data(g, &mut binaries))
    } else {
        let items = (0..g.below(5)).map(|_| g.value(3, &mut binaries)).collect();
        (T::Ack, Some(gen_ack_id(g, false)), Value::Array(items))
    };
    let mut header = Vec::new();
    let attachments = binary::encode(kind, &namespace, ack_id, &value, &mut header);
    let header = std::str::from_utf8(&header).expect("headers are UTF-8");
    let binary_kind = match (kind, attachments.is_empty()) {
        (T::Event, false) => T::BinaryEvent,
        (T::Ack, false) => T::BinaryAck,
        (kind, _) => kind,
    };
    let packet = OwnedPacket {
        kind: binary_kind,
        namespace,
        ack_id,
        attachments: attachments.len(),
        payload: None,
    };
    for profile in PROFILES {
        check_binary_decode(
            header,
            &attachments,
            &packet,
            &value,
            version,
            profile,
            Limits::default(),
        );
    }
}

fn gen_handshake_roundtrip(g: &mut Gen<'_>) {
    let h = Handshake {
        sid: g.string(20),
        upgrades: (0..g.below(3)).map(|_| g.string(10)).collect(),
        ping_interval: g.u64(),
        ping_timeout: g.u64(),
        max_payload: g.bool().then(|| g.u64()),
    };
    handshake_roundtrip(&h);
}

/// Ack ids written back as JavaScript prints numbers (`Number#toString`):
/// the text must read back as the same double; digits from a `u64` read
/// back exactly when JavaScript represents them exactly.
fn gen_number_roundtrip(g: &mut Gen<'_>) {
    let value = f64::from_bits(g.u64());
    let packet = socket::Packet {
        kind: socket::PacketType::Event,
        namespace: "/",
        ack_id: Some(AckId::Lossy(value)),
        attachments: 0,
        payload: None,
    };
    let mut out = Vec::new();
    socket::encode(&packet, &mut out);
    let printed = std::str::from_utf8(&out[1..]).expect("numbers are ASCII");
    check_js_number_syntax(printed);
    let back: f64 = printed
        .parse()
        .unwrap_or_else(|e| panic!("{value:e} printed as {printed:?}: {e}"));
    if value.is_nan() {
        assert_eq!(printed, "NaN");
    } else if value == 0.0 {
        assert_eq!(printed, "0");
    } else {
        assert_eq!(
            back.to_bits(),
            value.to_bits(),
            "{value:e} printed as {printed:?}"
        );
    }

    let n = g.u64();
    let text = format!("2{n}[\"a\"]");
    let p = socket::decode(&text, Version::V5, Profile::Compat, &Limits::default())
        .unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
    let expected = if n < 1 << 53 {
        AckId::Exact(n)
    } else {
        AckId::Lossy(n as f64)
    };
    assert_eq!(p.ack_id, Some(expected), "{text:?}");
}

/// The shapes `Number#toString` produces: `NaN`, `[-]Infinity`, digits with
/// an optional fraction, or one digit, optional fraction, `e±` exponent.
fn check_js_number_syntax(s: &str) {
    let body = s.strip_prefix('-').unwrap_or(s);
    if s == "NaN" || body == "Infinity" {
        return;
    }
    let (mantissa, exponent) = match body.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    assert!(digits(int), "{s:?}");
    assert!(int == "0" || !int.starts_with('0'), "{s:?}");
    if let Some(frac) = frac {
        assert!(digits(frac) && !frac.ends_with('0'), "{s:?}");
    }
    if let Some(exponent) = exponent {
        assert_eq!(int.len(), 1, "{s:?}");
        let e = exponent
            .strip_prefix(['+', '-'])
            .unwrap_or_else(|| panic!("exponent without sign: {s:?}"));
        assert!(digits(e), "{s:?}");
    }
}
