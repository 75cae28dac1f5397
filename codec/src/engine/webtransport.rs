//! The length framing engine.io-parser uses over WebTransport streams.
//!
//! Each packet is prefixed by a header modelled on WebSocket lengths: one
//! byte for lengths below 126, `126` plus a 16-bit big-endian length below
//! 65536, else `127` plus a 64-bit big-endian length. The top bit of the
//! first byte marks binary content; text content is the packet as UTF-8.
//!
//! ```
//! use siospec_codec::engine::webtransport::{encode, FrameDecoder};
//! use siospec_codec::engine::{Packet, PacketType};
//! use siospec_codec::Profile;
//!
//! let mut wire = Vec::new();
//! encode(&Packet::text(PacketType::Message, "1€"), &mut wire);
//! assert_eq!(wire, [0x05, 0x34, 0x31, 0xe2, 0x82, 0xac]);
//!
//! let mut decoder = FrameDecoder::new(1000, Profile::Compat);
//! for byte in &wire {
//!     decoder.push(std::slice::from_ref(byte));
//! }
//! assert_eq!(decoder.next_packet().unwrap().unwrap(), Packet::text(PacketType::Message, "1€"));
//! ```

use std::collections::VecDeque;

use super::{v4, Data, DecodeError, Packet};
use crate::Profile;

const BINARY_FLAG: u8 = 0x80;
const LENGTH_16: u8 = 126;
const LENGTH_64: u8 = 127;
/// The decoder refuses 64-bit lengths whose high word is above this
/// (beyond JavaScript's safe integers).
const MAX_HIGH_WORD: u32 = (1 << 21) - 1;

/// Encodes one packet with its header, appending to `out`.
///
/// ```
/// use siospec_codec::engine::webtransport::encode;
/// use siospec_codec::engine::Packet;
///
/// let mut out = Vec::new();
/// encode(&Packet::binary(&[1u8, 2, 3][..]), &mut out);
/// assert_eq!(out, [0x83, 1, 2, 3]);
/// ```
pub fn encode(packet: &Packet<'_>, out: &mut Vec<u8>) {
    let header_at = out.len();
    out.extend_from_slice(&[0; 9]);
    let body_at = out.len();
    v4::encode(packet, true, out);
    let len = out.len() - body_at;
    let mut header = [0u8; 9];
    let header_len = if len < usize::from(LENGTH_16) {
        header[0] = len as u8;
        1
    } else if len < 65536 {
        header[0] = LENGTH_16;
        header[1..3].copy_from_slice(&(len as u16).to_be_bytes());
        3
    } else {
        header[0] = LENGTH_64;
        header[1..9].copy_from_slice(&(len as u64).to_be_bytes());
        9
    };
    if matches!(packet.data, Data::Binary(_)) {
        header[0] |= BINARY_FLAG;
    }
    out.splice(header_at..body_at, header[..header_len].iter().copied());
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Length16,
    Length64,
    Payload,
}

/// Incremental decoder for a WebTransport stream, fed in arbitrary chunks.
///
/// It mirrors `createPacketDecoderStream(maxPayload)`, including that a
/// 126 or 127 header byte is itself compared with `max_payload` before the
/// extended length is read. The first error ends the stream.
///
/// It keeps the official decoder's chunk list, so an empty chunk at the head
/// of the list is read as zero bytes (an empty write before a header corrupts
/// it) in both profiles. `Compat` drops a UTF-8 byte order mark that starts a
/// text packet, as `TextDecoder` does; `Strict` reads it as text, and so
/// rejects the packet.
///
/// ```
/// use siospec_codec::engine::webtransport::FrameDecoder;
/// use siospec_codec::engine::DecodeError;
/// use siospec_codec::Profile;
///
/// let mut d = FrameDecoder::new(10, Profile::Compat);
/// d.push(&[11]);
/// assert!(matches!(d.next_packet(), Some(Err(DecodeError::TooLarge { .. }))));
/// assert!(d.next_packet().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the head chunk already taken (kept, not drained, so that
    /// many small packets in one large chunk cost linear time).
    head: usize,
    buffered: usize,
    state: State,
    expected: u64,
    binary: bool,
    max_payload: usize,
    profile: Profile,
    consumed: usize,
    failed: bool,
}

impl FrameDecoder {
    /// A decoder that refuses packets longer than `max_payload` bytes.
    pub fn new(max_payload: usize, profile: Profile) -> Self {
        FrameDecoder {
            chunks: VecDeque::new(),
            head: 0,
            buffered: 0,
            state: State::Header,
            expected: 0,
            binary: false,
            max_payload,
            profile,
            consumed: 0,
            failed: false,
        }
    }

    /// Appends received bytes; they are held until decoded, so call
    /// [`next_packet`](Self::next_packet) until it returns `None` after each push.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        self.buffered += chunk.len();
        self.chunks.push_back(chunk.to_vec());
    }

    /// The next complete packet, if one has arrived.
    pub fn next_packet(&mut self) -> Option<Result<Packet<'static>, DecodeError>> {
        loop {
            if self.failed {
                return None;
            }
            let at = self.consumed;
            match self.state {
                State::Header => {
                    if self.buffered < 1 {
                        return None;
                    }
                    let header = self.take(1)[0];
                    self.binary = header & BINARY_FLAG != 0;
                    self.expected = u64::from(header & !BINARY_FLAG);
                    self.state = match header & !BINARY_FLAG {
                        LENGTH_16 => State::Length16,
                        LENGTH_64 => State::Length64,
                        _ => State::Payload,
                    };
                }
                State::Length16 => {
                    if self.buffered < 2 {
                        return None;
                    }
                    let b = self.take(2);
                    self.expected = u64::from(u16::from_be_bytes([b[0], b[1]]));
                    self.state = State::Payload;
                }
                State::Length64 => {
                    if self.buffered < 8 {
                        return None;
                    }
                    let b = self.take(8);
                    let high = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                    let low = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                    if high > MAX_HIGH_WORD {
                        return Some(self.fail(DecodeError::InvalidLength { offset: at }));
                    }
                    self.expected = (u64::from(high) << 32) | u64::from(low);
                    self.state = State::Payload;
                }
                State::Payload => {
                    if (self.buffered as u64) < self.expected {
                        return None;
                    }
                    let body = self.take(self.expected as usize);
                    self.state = State::Header;
                    return Some(self.decode_body(body, at));
                }
            }
            if self.expected == 0 {
                return Some(self.fail(DecodeError::InvalidLength { offset: at }));
            }
            if self.expected > self.max_payload as u64 {
                let limit = self.max_payload;
                return Some(self.fail(DecodeError::TooLarge {
                    limit,
                    actual: self.expected,
                }));
            }
        }
    }

    /// `concatChunks(chunks, n)`: `n` bytes from the head of the chunk list,
    /// where an empty head chunk yields zero bytes and is never dropped.
    fn take(&mut self, n: usize) -> Vec<u8> {
        self.consumed += n;
        if self
            .chunks
            .front()
            .is_some_and(|c| c.len() - self.head == n)
        {
            self.buffered -= n;
            let mut chunk = self.chunks.pop_front().unwrap_or_default();
            chunk.drain(..self.head);
            self.head = 0;
            return chunk;
        }
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some(head) = self.chunks.front() else {
                break;
            };
            if head.is_empty() {
                break;
            }
            let end = head.len().min(self.head + n - out.len());
            out.extend_from_slice(&head[self.head..end]);
            self.buffered -= end - self.head;
            self.head = end;
            if self.head == head.len() {
                self.chunks.pop_front();
                self.head = 0;
            }
        }
        out.resize(n, 0);
        out
    }

    fn decode_body(&mut self, body: Vec<u8>, at: usize) -> Result<Packet<'static>, DecodeError> {
        if self.binary {
            return Ok(Packet::binary(body));
        }
        let text = match self.profile {
            Profile::Compat => {
                let without_bom = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&body);
                String::from_utf8_lossy(without_bom).into_owned()
            }
            Profile::Strict => match String::from_utf8(body) {
                Ok(text) => text,
                Err(e) => {
                    let offset = at + e.utf8_error().valid_up_to();
                    return self.fail(DecodeError::InvalidUtf8 { offset });
                }
            },
        };
        match v4::decode_text(&text, self.profile) {
            Ok(packet) => Ok(packet.into_owned()),
            Err(err) => self.fail(err.shifted(at)),
        }
    }

    fn fail<T>(&mut self, err: DecodeError) -> Result<T, DecodeError> {
        self.failed = true;
        self.chunks.clear();
        self.head = 0;
        self.buffered = 0;
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PacketType;

    fn decode_all(chunks: &[&[u8]], max: usize) -> Vec<Result<Packet<'static>, DecodeError>> {
        let mut d = FrameDecoder::new(max, Profile::Compat);
        let mut out = Vec::new();
        for chunk in chunks {
            d.push(chunk);
            while let Some(p) = d.next_packet() {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn official_header_vectors() {
        let mut out = Vec::new();
        encode(&Packet::binary(vec![0u8; 12345]), &mut out);
        assert_eq!(out[..3], [0xfe, 0x30, 0x39]);
        out.clear();
        encode(&Packet::binary(vec![0u8; 123456789]), &mut out);
        assert_eq!(out[..9], [0xff, 0, 0, 0, 0, 0x07, 0x5b, 0xcd, 0x15]);
        out.clear();
        encode(&Packet::binary(&[1u8, 0, 2, 0, 1, 1][..]), &mut out);
        assert_eq!(out, [0x86, 1, 0, 2, 0, 1, 1]);
    }

    #[test]
    fn decodes_byte_by_byte_and_whole_alike() {
        let wire = [0x05, 0x34, 0x31, 0xe2, 0x82, 0xac, 0x01, 0x32, 0x01, 0x33];
        let whole = decode_all(&[&wire], 100);
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(decode_all(&bytes, 100), whole);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[1], Ok(Packet::new(PacketType::Ping)));
    }

    #[test]
    fn an_empty_chunk_before_a_header_corrupts_it() {
        let chunks: [&[u8]; 4] = [&[], &[0x05], &[], &[0x34, 0x31, 0xe2, 0x82, 0xac]];
        assert_eq!(
            decode_all(&chunks, 100),
            [Err(DecodeError::InvalidLength { offset: 0 })]
        );
        let before_payload: [&[u8]; 3] = [&[0x05], &[], &[0x34, 0x31, 0xe2, 0x82, 0xac]];
        assert_eq!(
            decode_all(&before_payload, 100),
            [Err(DecodeError::UnknownType { offset: 1 })]
        );
        let trailing: [&[u8]; 3] = [&[0x05], &[0x34, 0x31, 0xe2, 0x82, 0xac], &[]];
        assert_eq!(
            decode_all(&trailing, 100),
            [Ok(Packet::text(PacketType::Message, "1€"))]
        );
    }

    #[test]
    fn a_leading_bom_is_dropped_in_compat() {
        assert_eq!(
            decode_all(&[&[0x04, 0xef, 0xbb, 0xbf, 0x34]], 100),
            [Ok(Packet::new(PacketType::Message))]
        );
        assert_eq!(
            decode_all(&[&[0x03, 0xef, 0xbb, 0xbf]], 100),
            [Err(DecodeError::Empty { offset: 1 })]
        );
    }

    #[test]
    fn official_error_vectors() {
        assert_eq!(
            decode_all(&[&[11]], 10),
            [Err(DecodeError::TooLarge {
                limit: 10,
                actual: 11
            })]
        );
        assert_eq!(
            decode_all(&[&[0]], 10),
            [Err(DecodeError::InvalidLength { offset: 0 })]
        );
        let huge = [0x7f, 1, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_all(&[&huge], 10),
            [Err(DecodeError::TooLarge {
                limit: 10,
                actual: 127
            })]
        );
        assert_eq!(
            decode_all(&[&huge], 1 << 30),
            [Err(DecodeError::InvalidLength { offset: 1 })]
        );
    }
}
