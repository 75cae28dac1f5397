//! Engine.IO protocol 4: WebSocket frames and `\x1e`-separated polling payloads.
//!
//! Over WebSocket a text frame is `<type digit>[<data>]` and a binary frame is
//! the raw bytes of a message. Over polling a body is packets joined by the
//! record separator `0x1E`, binary messages written as `b<base64>`.
//!
//! ```
//! use siospec_codec::engine::{v4, Packet, PacketType};
//! use siospec_codec::{Limits, Profile};
//!
//! let packets: Vec<_> = v4::decode_payload("4hello\x1ebAQIDBA==", Profile::Compat, &Limits::default())
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! assert_eq!(packets[0], Packet::text(PacketType::Message, "hello"));
//! assert_eq!(packets[1], Packet::binary(vec![1, 2, 3, 4]));
//!
//! let mut body = Vec::new();
//! v4::encode_payload(&packets, &mut body);
//! assert_eq!(body, b"4hello\x1ebAQIDBA==");
//! ```

use std::borrow::Cow;

use super::{
    check_size, decode_base64, encode_base64, Data, DecodeError, FrameKind, Packet, PacketType,
};
use crate::{Limits, Profile};

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Decodes one text packet: a WebSocket text frame, or one packet of a payload.
///
/// ```
/// use siospec_codec::engine::{v4, Packet, PacketType};
/// use siospec_codec::Profile;
///
/// assert_eq!(v4::decode_text("2probe", Profile::Compat).unwrap(), Packet::text(PacketType::Ping, "probe"));
/// assert_eq!(v4::decode_text("6", Profile::Compat).unwrap(), Packet::new(PacketType::Noop));
/// assert!(v4::decode_text("", Profile::Compat).is_err());
/// ```
pub fn decode_text(text: &str, profile: Profile) -> Result<Packet<'_>, DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty { offset: 0 });
    };
    if first == b'b' {
        return Ok(Packet::binary(decode_base64(&text[1..], 1, profile)?));
    }
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType { offset: 0 })?;
    let rest = &text[1..];
    let data = if rest.is_empty() {
        Data::None
    } else {
        Data::Text(Cow::Borrowed(rest))
    };
    Ok(Packet { kind, data })
}

/// Decodes a WebSocket binary frame: always a message carrying the frame's bytes.
///
/// ```
/// use siospec_codec::engine::{v4, Packet};
/// assert_eq!(v4::decode_binary(&[1, 2, 3]), Packet::binary(&[1, 2, 3][..]));
/// ```
pub fn decode_binary(frame: &[u8]) -> Packet<'_> {
    Packet::binary(frame)
}

/// Encodes one packet for a WebSocket frame, appending to `out`.
///
/// Binary data goes out as a binary frame when `supports_binary`, otherwise
/// as `b<base64>` text, as the official encoder does.
///
/// ```
/// use siospec_codec::engine::{v4, FrameKind, Packet, PacketType};
///
/// let mut out = Vec::new();
/// assert_eq!(v4::encode(&Packet::text(PacketType::Message, "hi"), true, &mut out), FrameKind::Text);
/// assert_eq!(out, b"4hi");
/// out.clear();
/// assert_eq!(v4::encode(&Packet::binary(&[1u8][..]), false, &mut out), FrameKind::Text);
/// assert_eq!(out, b"bAQ==");
/// ```
pub fn encode(packet: &Packet<'_>, supports_binary: bool, out: &mut Vec<u8>) -> FrameKind {
    match &packet.data {
        Data::Binary(bytes) if supports_binary => {
            out.extend_from_slice(bytes);
            FrameKind::Binary
        }
        Data::Binary(bytes) => {
            out.push(b'b');
            encode_base64(bytes, out);
            FrameKind::Text
        }
        Data::Text(text) => {
            out.push(packet.kind.digit());
            out.extend_from_slice(text.as_bytes());
            FrameKind::Text
        }
        Data::None => {
            out.push(packet.kind.digit());
            FrameKind::Text
        }
    }
}

/// Decodes a polling body lazily, packet by packet.
///
/// Like the official decoder it stops at the first bad packet: the iterator
/// yields the packets before it, then the error, then nothing.
///
/// ```
/// use siospec_codec::engine::{v4, DecodeError};
/// use siospec_codec::{Limits, Profile};
///
/// let mut it = v4::decode_payload("4a\x1e\x1e4b", Profile::Compat, &Limits::default());
/// assert!(it.next().unwrap().is_ok());
/// assert_eq!(it.next().unwrap(), Err(DecodeError::Empty { offset: 3 }));
/// assert!(it.next().is_none());
/// ```
pub fn decode_payload<'a>(body: &'a str, profile: Profile, limits: &Limits) -> PayloadDecoder<'a> {
    PayloadDecoder {
        rest: Some(body),
        offset: 0,
        count: 0,
        profile,
        max_packets: limits.max_packets_per_payload,
        pending_error: check_size(body.len(), limits).err(),
    }
}

/// Iterator over the packets of a v4 polling body; see [`decode_payload`].
#[derive(Debug, Clone)]
pub struct PayloadDecoder<'a> {
    rest: Option<&'a str>,
    offset: usize,
    count: usize,
    profile: Profile,
    max_packets: usize,
    pending_error: Option<DecodeError>,
}

impl<'a> Iterator for PayloadDecoder<'a> {
    type Item = Result<Packet<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.pending_error.take() {
            self.rest = None;
            return Some(Err(err));
        }
        let rest = self.rest?;
        if self.count == self.max_packets {
            self.rest = None;
            return Some(Err(DecodeError::TooManyPackets {
                limit: self.max_packets,
            }));
        }
        self.count += 1;
        let (segment, tail) = match memchr::memchr(SEPARATOR, rest.as_bytes()) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let at = self.offset;
        self.offset += segment.len() + 1;
        match decode_text(segment, self.profile) {
            Ok(packet) => {
                self.rest = tail;
                Some(Ok(packet))
            }
            Err(err) => {
                self.rest = None;
                Some(Err(err.shifted(at)))
            }
        }
    }
}

/// Encodes packets as one polling body, appending to `out`: each packet as
/// text (binary as `b<base64>`), joined by [`SEPARATOR`].
///
/// ```
/// use siospec_codec::engine::{v4, Packet, PacketType};
///
/// let mut out = Vec::new();
/// v4::encode_payload(&[Packet::new(PacketType::Ping), Packet::text(PacketType::Message, "x")], &mut out);
/// assert_eq!(out, b"2\x1e4x");
/// ```
pub fn encode_payload<'p, 'a: 'p>(
    packets: impl IntoIterator<Item = &'p Packet<'a>>,
    out: &mut Vec<u8>,
) {
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        encode(packet, false, out);
    }
}

/// Decodes a polling body given as bytes. `Compat` reads invalid UTF-8 as
/// U+FFFD, as Node's `Buffer#toString` does; `Strict` rejects it.
///
/// ```
/// use siospec_codec::engine::v4;
/// use siospec_codec::Profile;
///
/// assert_eq!(v4::body_text(b"4\xff", Profile::Compat).unwrap(), "4\u{fffd}");
/// assert!(v4::body_text(b"4\xff", Profile::Strict).is_err());
/// ```
pub fn body_text(body: &[u8], profile: Profile) -> Result<Cow<'_, str>, DecodeError> {
    match profile {
        Profile::Compat => Ok(String::from_utf8_lossy(body)),
        Profile::Strict => {
            std::str::from_utf8(body)
                .map(Cow::Borrowed)
                .map_err(|e| DecodeError::InvalidUtf8 {
                    offset: e.valid_up_to(),
                })
        }
    }
}

/// Incremental decoder for a polling body that arrives in chunks.
///
/// It yields exactly what [`decode_payload`] yields for the whole body, as
/// soon as each packet is complete, holding at most
/// [`Limits::max_payload_bytes`] bytes.
///
/// ```
/// use siospec_codec::engine::{v4, Packet, PacketType};
/// use siospec_codec::{Limits, Profile};
///
/// let mut d = v4::StreamDecoder::new(Profile::Compat, Limits::default());
/// d.push(b"4he");
/// assert!(d.next_packet().is_none());
/// d.push(b"llo\x1e2");
/// assert_eq!(d.next_packet().unwrap().unwrap(), Packet::text(PacketType::Message, "hello"));
/// assert!(d.next_packet().is_none());
/// let last: Vec<_> = d.finish().collect();
/// assert_eq!(last, [Ok(Packet::new(PacketType::Ping))]);
/// ```
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    buffer: Vec<u8>,
    consumed: usize,
    /// Where the search for the next separator resumes: bytes before it are
    /// known not to hold one, so pushes in small chunks cost linear time.
    scanned: usize,
    total: usize,
    count: usize,
    profile: Profile,
    limits: Limits,
    failed: bool,
}

impl StreamDecoder {
    /// A decoder for one body.
    pub fn new(profile: Profile, limits: Limits) -> Self {
        StreamDecoder {
            buffer: Vec::new(),
            consumed: 0,
            scanned: 0,
            total: 0,
            count: 0,
            profile,
            limits,
            failed: false,
        }
    }

    /// Appends the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        self.total = self.total.saturating_add(chunk.len());
        if self.total <= self.limits.max_payload_bytes {
            self.buffer.extend_from_slice(chunk);
        }
    }

    /// The next complete packet, if one has arrived.
    pub fn next_packet(&mut self) -> Option<Result<Packet<'static>, DecodeError>> {
        if self.failed {
            return None;
        }
        if let Err(err) = check_size(self.total, &self.limits) {
            return Some(self.fail(err));
        }
        let from = self.scanned.max(self.consumed);
        let Some(found) = memchr::memchr(SEPARATOR, &self.buffer[from..]) else {
            self.scanned = self.buffer.len();
            return None;
        };
        let start = self.consumed;
        self.consumed = from + found + 1;
        Some(self.decode_segment(start, from + found))
    }

    /// Ends the body and yields whatever packets and error remain.
    pub fn finish(mut self) -> impl Iterator<Item = Result<Packet<'static>, DecodeError>> {
        let mut out = Vec::new();
        while let Some(item) = self.next_packet() {
            out.push(item);
        }
        if !self.failed {
            let start = self.consumed;
            out.push(self.decode_segment(start, self.buffer.len()));
        }
        out.into_iter()
    }

    fn decode_segment(&mut self, start: usize, end: usize) -> Result<Packet<'static>, DecodeError> {
        if self.count == self.limits.max_packets_per_payload {
            return self.fail(DecodeError::TooManyPackets {
                limit: self.limits.max_packets_per_payload,
            });
        }
        self.count += 1;
        let text = match body_text(&self.buffer[start..end], self.profile) {
            Ok(text) => text,
            Err(err) => return self.fail(err.shifted(start)),
        };
        match decode_text(&text, self.profile) {
            Ok(packet) => Ok(packet.into_owned()),
            Err(err) => self.fail(err.shifted(start)),
        }
    }

    fn fail<T>(&mut self, err: DecodeError) -> Result<T, DecodeError> {
        self.failed = true;
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &str) -> Vec<Result<Packet<'_>, DecodeError>> {
        decode_payload(body, Profile::Compat, &Limits::default()).collect()
    }

    #[test]
    fn spec_payload_decodes_every_type() {
        let got = all("0\x1e1\x1e2probe\x1e3probe\x1e4test");
        let kinds: Vec<_> = got.iter().map(|p| p.as_ref().unwrap().kind).collect();
        assert_eq!(
            kinds,
            [
                PacketType::Open,
                PacketType::Close,
                PacketType::Ping,
                PacketType::Pong,
                PacketType::Message
            ]
        );
    }

    #[test]
    fn payload_stops_at_first_bad_packet() {
        assert_eq!(all("4a\x1e7\x1e4b").len(), 2);
        assert_eq!(
            all("4hello\x1e"),
            [
                Ok(Packet::text(PacketType::Message, "hello")),
                Err(DecodeError::Empty { offset: 7 })
            ]
        );
        assert_eq!(all(""), [Err(DecodeError::Empty { offset: 0 })]);
        assert_eq!(all("abc"), [Err(DecodeError::UnknownType { offset: 0 })]);
    }

    #[test]
    fn empty_binary_and_lenient_base64() {
        assert_eq!(all("4test\x1eb")[1], Ok(Packet::binary(vec![])));
        assert_eq!(
            decode_text("b!!!", Profile::Compat).unwrap(),
            Packet::binary(vec![])
        );
        assert_eq!(
            decode_text("bAQID", Profile::Compat).unwrap(),
            Packet::binary(vec![1, 2, 3])
        );
        assert_eq!(
            decode_text("bAQID", Profile::Strict).unwrap(),
            Packet::binary(vec![1, 2, 3])
        );
        assert_eq!(
            decode_text("b!!!", Profile::Strict),
            Err(DecodeError::InvalidBase64 { offset: 1 })
        );
        assert_eq!(
            decode_text("bAQ", Profile::Strict),
            Err(DecodeError::InvalidBase64 { offset: 1 })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_payload_bytes: 4,
            max_packets_per_payload: 2,
            ..Limits::default()
        };
        let too_big: Vec<_> = decode_payload("4hello", Profile::Compat, &limits).collect();
        assert_eq!(
            too_big,
            [Err(DecodeError::TooLarge {
                limit: 4,
                actual: 6
            })]
        );
        let too_many: Vec<_> = decode_payload(
            "2\x1e2\x1e2",
            Profile::Compat,
            &Limits {
                max_payload_bytes: 10,
                ..limits
            },
        )
        .collect();
        assert_eq!(
            too_many.last(),
            Some(&Err(DecodeError::TooManyPackets { limit: 2 }))
        );
    }

    #[test]
    fn binary_frame_is_a_message() {
        assert_eq!(decode_binary(&[]), Packet::binary(&[][..]));
        let mut out = Vec::new();
        assert_eq!(
            encode(&decode_binary(&[1, 2, 3, 4]), true, &mut out),
            FrameKind::Binary
        );
        assert_eq!(out, [1, 2, 3, 4]);
    }

    #[test]
    fn stream_decoder_rejects_oversize_bodies_without_buffering_them() {
        let mut d = StreamDecoder::new(
            Profile::Compat,
            Limits {
                max_payload_bytes: 3,
                ..Limits::default()
            },
        );
        d.push(b"4hello");
        assert_eq!(d.buffer.len(), 0);
        assert_eq!(
            d.next_packet(),
            Some(Err(DecodeError::TooLarge {
                limit: 3,
                actual: 6
            }))
        );
        assert!(d.next_packet().is_none());
    }
}
