//! Minimal regression tests for bugs the fuzz targets found (fuzz/README.md
//! lists them). The crashing inputs are also in the fuzz corpus, which
//! `fuzz_corpus_replay.rs` replays through the full oracles.

use std::time::{Duration, Instant};

use siospec_codec::engine::{v3, v4, webtransport, DecodeError, Packet, PacketType};
use siospec_codec::session::engine::{Endpoint, ServerConfig, ServerSession, Transmit, Verdict};
use siospec_codec::session::{Frame, RequestHead, TransportId};
use siospec_codec::socket::binary::Value;
use siospec_codec::socket::{Reassembler, Step, Version};
use siospec_codec::{Limits, Profile};

/// fuzz target `eio3_binary_payload`, input `40 43 fd ff`: the length bytes
/// 0x43 and 0xFD read as the five characters "67253", so the packet is
/// looked for past the end of the body, and the empty packet's error
/// reported offset 5 in a 4-byte body. Offsets now stay within the input.
/// (An empty binary entry has since become data of no known type, as the
/// official decoder reads it; the same lengths before an empty text entry
/// still give the error.)
#[test]
fn xhr2_error_offsets_stay_within_the_body() {
    let limits = Limits::default();
    let text_entry = [0x00, 0x43, 0xfd, 0xff];
    let items: Vec<_> = v3::decode_binary_payload(&text_entry, Profile::Compat, &limits).collect();
    assert_eq!(items, [Err(DecodeError::Empty { offset: 4 })]);
    let binary_entry = [0x40, 0x43, 0xfd, 0xff];
    let items: Vec<_> =
        v3::decode_binary_payload(&binary_entry, Profile::Compat, &limits).collect();
    assert_eq!(items, [Ok(v3::Decoded::Untyped(Vec::new().into()))]);
}

/// fuzz target `roundtrip`: serde_json's default float parsing is not
/// correctly rounded, so a number in the data of a binary packet came back
/// one unit in the last place off (1.0410273767909544e-42 for
/// 1.0410273767909543e-42), unlike `JSON.parse`. The codec now enables
/// serde_json's `float_roundtrip`.
#[test]
fn numbers_in_attachment_data_read_as_json_parse_reads_them() {
    let text = "1.0410273767909543e-42";
    let header = format!(r#"51-["a",{text},{{"_placeholder":true,"num":0}}]"#);
    for profile in [Profile::Strict, Profile::Compat] {
        let mut r = Reassembler::new(Version::V5, profile, Limits::default());
        assert_eq!(r.push_text(&header), Ok(Step::NeedsAttachments(1)));
        let value = r
            .push_binary(vec![7])
            .unwrap()
            .unwrap()
            .into_value()
            .unwrap();
        let Value::Array(items) = value else {
            panic!("{value:?}")
        };
        let Value::Number(n) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(n.as_f64(), Some(text.parse::<f64>().unwrap()));
    }
}

/// Found reviewing the chunking oracle of `eio4_payload_chunked` (fuzz
/// inputs are too short to show it): `StreamDecoder::next_packet` searched
/// for the separator from the start of the pending packet after every push,
/// so a body pushed in small chunks cost quadratic time (1 MB in 1-byte
/// pushes: 6 s in release). The search now resumes where it stopped: 3 MB
/// take 0.1 s here, against about a minute with the quadratic search.
#[test]
fn v4_stream_decoder_is_linear_in_small_pushes() {
    let started = Instant::now();
    let limits = Limits {
        max_payload_bytes: 3_000_000,
        ..Limits::default()
    };
    let mut d = v4::StreamDecoder::new(Profile::Compat, limits);
    let body = vec![b'4'; 3_000_000];
    for byte in body.chunks(1) {
        d.push(byte);
        assert!(d.next_packet().is_none());
    }
    let packets: Vec<_> = d.finish().collect();
    assert_eq!(packets.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Found reviewing the chunking oracle of `webtransport`: taking a packet
/// out of a large chunk drained the chunk's remaining bytes to its front,
/// so one chunk holding many small packets cost quadratic time (1 MB of
/// 2-byte packets: 7 s in release). The decoder now keeps an offset into
/// the head chunk: 3 MB take 0.1 s here, against about a minute before.
#[test]
fn webtransport_decoder_is_linear_in_packets_per_chunk() {
    let started = Instant::now();
    let wire = [0x01, b'2'].repeat(1_500_000);
    let mut d = webtransport::FrameDecoder::new(1_000_000, Profile::Compat);
    d.push(&wire);
    let mut n = 0;
    while let Some(packet) = d.next_packet() {
        assert_eq!(packet, Ok(Packet::new(PacketType::Ping)));
        n += 1;
    }
    assert_eq!(n, 1_500_000);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// fuzz target `session_server`: the application closes a polling session
/// (the close waits for the next GET), a POST then starts, and a WebSocket
/// upgrades with `5` before the POST's body ends. The upgrade dropped the
/// polling state with the POST in it, so the POST was never answered nor
/// aborted: the adapter was left holding the request. The upgrade now
/// aborts it.
#[test]
fn a_post_in_progress_when_an_upgrade_completes_is_aborted() {
    let t0 = Instant::now();
    let config = ServerConfig::suite();
    let head = RequestHead::get("EIO=4&transport=polling");
    let Verdict::Handshake(h) = Endpoint::new(config.clone()).verify(&head, |_| None) else {
        panic!("handshake refused")
    };
    let mut s = ServerSession::new(t0, config, "s", h.accept().unwrap(), TransportId(0), &head);
    while s.poll_transmit().is_some() {}
    s.close(t0);
    s.handle_request(
        t0,
        TransportId(1),
        &RequestHead::post("EIO=4&transport=polling&sid=s"),
    );
    s.handle_body(t0, TransportId(1), b"4a");
    s.handle_websocket(
        t0,
        TransportId(2),
        &RequestHead::websocket("EIO=4&transport=websocket&sid=s"),
    );
    s.handle_frame(t0, TransportId(2), Frame::Text("5".into()));
    let transmits: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
    assert!(s.is_closed());
    assert!(
        transmits.contains(&Transmit::HttpAbort { id: TransportId(1) }),
        "{transmits:?}"
    );
}
