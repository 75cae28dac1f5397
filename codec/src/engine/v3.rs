//! Engine.IO protocol 3 (Socket.IO 1.x/2.x clients).
//!
//! Differences from v4: a binary WebSocket frame starts with the type byte;
//! base64 packets are `b<type><base64>`; text polling payloads are
//! `<length>:<packet>` with the length counted in UTF-16 code units; binary
//! polling payloads use the XHR2 framing (marker byte, length digits as bytes,
//! `0xFF`); and the JSONP transport wraps payloads in JavaScript ([`jsonp`]).
//!
//! ```
//! use siospec_codec::engine::{v3, Packet, PacketType};
//! use siospec_codec::{Limits, Profile};
//!
//! let body = "6:4hello2:4€";
//! let packets: Vec<_> = v3::decode_payload(body, Profile::Compat, &Limits::default())
//!     .map(|item| item.map(v3::Decoded::into_packet))
//!     .collect::<Result<Option<_>, _>>()
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(packets[1], Packet::text(PacketType::Message, "€"));
//! let mut out = Vec::new();
//! v3::encode_payload(&packets, &mut out);
//! assert_eq!(out, body.as_bytes());
//! ```

pub mod jsonp;

use std::borrow::Cow;

use super::{
    check_size, decode_base64, encode_base64, Data, DecodeError, FrameKind, Packet, PacketType,
};
use crate::{js, Limits, Profile};

/// What a v3 decoder yields for one packet.
///
/// Binary data names its type with a byte (a binary frame, a binary entry of
/// an XHR2 payload) or a character (`b<type><base64>`), and protocol 3's
/// official parser takes whatever that names, `undefined` included: it never
/// rejects such a packet, and engine.io ignores it. `Compat` yields those as
/// [`Decoded::Untyped`]; `Strict` rejects them with
/// [`DecodeError::UnknownType`] (or [`DecodeError::Empty`] for an empty
/// binary frame).
///
/// ```
/// use siospec_codec::engine::{v3, DecodeError, Packet};
/// use siospec_codec::Profile;
///
/// let known = v3::decode_binary(&[4, 1, 2], Profile::Compat).unwrap();
/// assert_eq!(known.into_packet(), Some(Packet::binary(&[1, 2][..])));
/// let untyped = v3::decode_binary(&[9, 1, 2], Profile::Compat).unwrap();
/// assert_eq!(untyped, v3::Decoded::Untyped((&[1, 2][..]).into()));
/// assert_eq!(v3::decode_binary(&[9, 1, 2], Profile::Strict), Err(DecodeError::UnknownType { offset: 0 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decoded<'a> {
    /// A packet of one of the seven types.
    Packet(Packet<'a>),
    /// Binary data whose type byte or character names no packet type: the
    /// official parser's `{ type: undefined, data }`. Only `Compat` yields it.
    Untyped(Cow<'a, [u8]>),
}

impl<'a> Decoded<'a> {
    /// The packet, or `None` for [`Decoded::Untyped`] data.
    ///
    /// ```
    /// use siospec_codec::engine::{v3, Packet, PacketType};
    /// use siospec_codec::Profile;
    ///
    /// let decoded = v3::decode_text("2", Profile::Compat).unwrap();
    /// assert_eq!(decoded.into_packet(), Some(Packet::new(PacketType::Ping)));
    /// assert_eq!(v3::decode_text("b", Profile::Compat).unwrap().into_packet(), None);
    /// ```
    pub fn into_packet(self) -> Option<Packet<'a>> {
        match self {
            Decoded::Packet(packet) => Some(packet),
            Decoded::Untyped(_) => None,
        }
    }

    /// The same, owning what it borrowed.
    ///
    /// ```
    /// use siospec_codec::engine::v3;
    /// use siospec_codec::Profile;
    ///
    /// let owned: v3::Decoded<'static> = v3::decode_binary(&[7, 1], Profile::Compat).unwrap().into_owned();
    /// assert_eq!(owned, v3::Decoded::Untyped(vec![1].into()));
    /// ```
    pub fn into_owned(self) -> Decoded<'static> {
        match self {
            Decoded::Packet(packet) => Decoded::Packet(packet.into_owned()),
            Decoded::Untyped(data) => Decoded::Untyped(Cow::Owned(data.into_owned())),
        }
    }
}

/// Decodes one text packet: a WebSocket text frame or one packet of a text payload.
///
/// ```
/// use siospec_codec::engine::{v3, Packet, PacketType};
/// use siospec_codec::Profile;
///
/// let decoded = v3::decode_text("b4AQIDBA==", Profile::Compat).unwrap();
/// assert_eq!(decoded, v3::Decoded::Packet(Packet::binary(vec![1, 2, 3, 4])));
/// let decoded = v3::decode_text("2", Profile::Compat).unwrap();
/// assert_eq!(decoded, v3::Decoded::Packet(Packet::new(PacketType::Ping)));
/// // A base64 packet of no known type: kept in Compat (see `Decoded`).
/// assert_eq!(v3::decode_text("b9AQID", Profile::Compat).unwrap(), v3::Decoded::Untyped(vec![1, 2, 3].into()));
/// assert!(v3::decode_text("b9AQID", Profile::Strict).is_err());
/// ```
pub fn decode_text(text: &str, profile: Profile) -> Result<Decoded<'_>, DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty { offset: 0 });
    };
    if first == b'b' {
        let kind = text
            .as_bytes()
            .get(1)
            .and_then(|&d| PacketType::from_digit(d));
        return match (kind, profile) {
            (Some(kind), _) => Ok(Decoded::Packet(Packet {
                kind,
                data: Data::Binary(decode_base64(&text[2..], 2, profile)?),
            })),
            // `Buffer.from(msg.slice(1), "base64")` after a type character
            // that is one UTF-16 code unit, whatever it is.
            (None, Profile::Compat) => Ok(Decoded::Untyped(Cow::Owned(
                js::lenient_base64_decode_after_first_unit(&text[1..]),
            ))),
            (None, Profile::Strict) => Err(DecodeError::UnknownType { offset: 1 }),
        };
    }
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType { offset: 0 })?;
    let rest = &text[1..];
    let data = if rest.is_empty() {
        Data::None
    } else {
        Data::Text(Cow::Borrowed(rest))
    };
    Ok(Decoded::Packet(Packet { kind, data }))
}

/// Decodes a binary packet: a type byte (0–6) followed by the data.
///
/// ```
/// use siospec_codec::engine::{v3, Packet};
/// use siospec_codec::Profile;
///
/// let decoded = v3::decode_binary(&[4, 1, 2], Profile::Strict).unwrap();
/// assert_eq!(decoded, v3::Decoded::Packet(Packet::binary(&[1, 2][..])));
/// assert!(v3::decode_binary(&[9, 1], Profile::Strict).is_err());
/// assert!(v3::decode_binary(&[], Profile::Strict).is_err());
/// ```
pub fn decode_binary(frame: &[u8], profile: Profile) -> Result<Decoded<'_>, DecodeError> {
    let kind = frame.first().and_then(|&t| PacketType::from_index(t));
    let data = Cow::Borrowed(frame.get(1..).unwrap_or_default());
    match (kind, profile) {
        (Some(kind), _) => Ok(Decoded::Packet(Packet {
            kind,
            data: Data::Binary(data),
        })),
        (None, Profile::Compat) => Ok(Decoded::Untyped(data)),
        (None, Profile::Strict) if frame.is_empty() => Err(DecodeError::Empty { offset: 0 }),
        (None, Profile::Strict) => Err(DecodeError::UnknownType { offset: 0 }),
    }
}

/// Encodes one packet for a WebSocket frame, appending to `out`: binary data
/// as the type byte plus the bytes when `supports_binary`, else `b<type><base64>`.
///
/// ```
/// use siospec_codec::engine::{v3, FrameKind, Packet};
///
/// let mut out = Vec::new();
/// assert_eq!(v3::encode(&Packet::binary(&[1u8, 2, 3, 4][..]), true, &mut out), FrameKind::Binary);
/// assert_eq!(out, [4, 1, 2, 3, 4]);
/// out.clear();
/// v3::encode(&Packet::binary(&[1u8, 2, 3, 4][..]), false, &mut out);
/// assert_eq!(out, b"b4AQIDBA==");
/// ```
pub fn encode(packet: &Packet<'_>, supports_binary: bool, out: &mut Vec<u8>) -> FrameKind {
    match &packet.data {
        Data::Binary(bytes) if supports_binary => {
            out.push(packet.kind.index());
            out.extend_from_slice(bytes);
            FrameKind::Binary
        }
        Data::Binary(bytes) => {
            out.push(b'b');
            out.push(packet.kind.digit());
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

/// Decodes a text polling payload (`<length>:<packet>`…) lazily.
///
/// The length counts UTF-16 code units, as JavaScript's `string.length` does.
/// `Compat` reads the length with JavaScript's `Number` (so ` 6`, `0x6` and
/// `6.0` all mean 6) and skips empty `0:` entries; `Strict` wants plain
/// decimal digits. Like the official decoder, packets before a bad one are
/// yielded, then the error.
///
/// ```
/// use siospec_codec::engine::v3;
/// use siospec_codec::{Limits, Profile};
///
/// // "😀" is two UTF-16 code units.
/// let n = v3::decode_payload("3:4😀", Profile::Compat, &Limits::default()).count();
/// assert_eq!(n, 1);
/// assert!(v3::decode_payload("2:4😀", Profile::Compat, &Limits::default()).any(|p| p.is_err()));
/// ```
pub fn decode_payload<'a>(body: &'a str, profile: Profile, limits: &Limits) -> PayloadDecoder<'a> {
    let pending_error = match check_size(body.len(), limits) {
        Err(err) => Some(err),
        Ok(()) if body.is_empty() => Some(DecodeError::Empty { offset: 0 }),
        Ok(()) => None,
    };
    PayloadDecoder {
        body,
        pos: 0,
        count: 0,
        profile,
        max_packets: limits.max_packets_per_payload,
        pending_error,
        done: false,
    }
}

/// Where a v3 length ends short of the packet it announces.
enum Cut {
    /// Inside the astral character at this byte offset.
    Surrogate { at: usize },
    /// Past the end of the body.
    Short,
}

/// Iterator over a v3 text payload; see [`decode_payload`].
#[derive(Debug, Clone)]
pub struct PayloadDecoder<'a> {
    body: &'a str,
    pos: usize,
    count: usize,
    profile: Profile,
    max_packets: usize,
    pending_error: Option<DecodeError>,
    done: bool,
}

impl<'a> PayloadDecoder<'a> {
    fn fail(&mut self, err: DecodeError) -> Option<Result<Decoded<'a>, DecodeError>> {
        self.done = true;
        Some(Err(err))
    }

    /// The byte length of the first `units` UTF-16 code units of `text`.
    fn byte_len_of_units(text: &str, units: usize) -> Result<usize, Cut> {
        let mut seen = 0;
        for (i, c) in text.char_indices() {
            if seen == units {
                return Ok(i);
            }
            seen += c.len_utf16();
            if seen > units {
                return Err(Cut::Surrogate { at: i });
            }
        }
        if seen == units {
            Ok(text.len())
        } else {
            Err(Cut::Short)
        }
    }

    /// A base64 packet whose length ends inside the astral character at
    /// `split_at`: the official decoder reads its text with the character's
    /// high surrogate, which base64 decoding takes as a Latin-1 byte, then
    /// fails on the next length, which starts with the low surrogate.
    fn split_base64_packet(
        &mut self,
        before_split: &str,
        split_at: usize,
    ) -> Option<Result<Decoded<'a>, DecodeError>> {
        if self.count == self.max_packets {
            return self.fail(DecodeError::TooManyPackets {
                limit: self.max_packets,
            });
        }
        self.count += 1;
        let high_surrogate = self.body[split_at..]
            .encode_utf16()
            .next()
            .unwrap_or_default();
        let units: Vec<u16> = before_split
            .encode_utf16()
            .chain(std::iter::once(high_surrogate))
            .collect();
        let kind = units
            .get(1)
            .and_then(|&unit| u8::try_from(unit).ok())
            .and_then(PacketType::from_digit);
        let base64 = units.get(2..).unwrap_or_default();
        let data = Cow::Owned(js::lenient_base64_decode_units(
            base64.len(),
            base64.iter().map(|&unit| unit as u8),
        ));
        self.pending_error = Some(DecodeError::InvalidLength { offset: split_at });
        self.pos = self.body.len();
        Some(Ok(match kind {
            Some(kind) => Decoded::Packet(Packet {
                kind,
                data: Data::Binary(data),
            }),
            None => Decoded::Untyped(data),
        }))
    }

    fn length_prefix(&self, digits: &str) -> Option<usize> {
        match self.profile {
            Profile::Compat => {
                let n = js::string_to_number(digits);
                (!digits.is_empty() && n >= 0.0 && n.fract() == 0.0 && n <= self.body.len() as f64)
                    .then_some(n as usize)
            }
            Profile::Strict => {
                let canonical = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                canonical.then(|| digits.parse().ok()).flatten()
            }
        }
    }
}

impl<'a> Iterator for PayloadDecoder<'a> {
    type Item = Result<Decoded<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(err) = self.pending_error.take() {
            return self.fail(err);
        }
        loop {
            let rest = &self.body[self.pos..];
            if rest.is_empty() {
                self.done = true;
                return None;
            }
            let start = self.pos;
            let Some(colon) = memchr::memchr(b':', rest.as_bytes()) else {
                return self.fail(DecodeError::InvalidLength { offset: start });
            };
            let Some(units) = self.length_prefix(&rest[..colon]) else {
                return self.fail(DecodeError::InvalidLength { offset: start });
            };
            let after = &rest[colon + 1..];
            let packet_at = start + colon + 1;
            let len = match Self::byte_len_of_units(after, units) {
                Ok(len) => len,
                Err(Cut::Short) => return self.fail(DecodeError::InvalidLength { offset: start }),
                Err(Cut::Surrogate { at })
                    if self.profile == Profile::Compat && after.starts_with('b') =>
                {
                    return self.split_base64_packet(&after[..at], packet_at + at);
                }
                Err(Cut::Surrogate { .. }) => {
                    return self.fail(DecodeError::SplitSurrogate { offset: start })
                }
            };
            self.pos = packet_at + len;
            if len == 0 {
                if self.profile == Profile::Strict {
                    return self.fail(DecodeError::Empty { offset: packet_at });
                }
                continue;
            }
            if self.count == self.max_packets {
                return self.fail(DecodeError::TooManyPackets {
                    limit: self.max_packets,
                });
            }
            self.count += 1;
            return match decode_text(&after[..len], self.profile) {
                Ok(packet) => Some(Ok(packet)),
                Err(err) => self.fail(err.shifted(packet_at)),
            };
        }
    }
}

/// Encodes packets as a v3 text payload, appending to `out`; an empty list
/// is written `0:`, as the official encoder does.
///
/// ```
/// use siospec_codec::engine::{v3, Packet, PacketType};
///
/// let mut out = Vec::new();
/// v3::encode_payload(&[Packet::text(PacketType::Message, "hello"), Packet::binary(&[1u8, 2, 3, 4][..])], &mut out);
/// assert_eq!(out, b"6:4hello10:b4AQIDBA==");
/// out.clear();
/// v3::encode_payload(&[], &mut out);
/// assert_eq!(out, b"0:");
/// ```
pub fn encode_payload<'p, 'a: 'p>(
    packets: impl IntoIterator<Item = &'p Packet<'a>>,
    out: &mut Vec<u8>,
) {
    let mut any = false;
    let mut scratch = Vec::new();
    for packet in packets {
        any = true;
        scratch.clear();
        encode(packet, false, &mut scratch);
        let units = match std::str::from_utf8(&scratch) {
            Ok(text) => js::utf16_len(text),
            Err(_) => scratch.len(),
        };
        out.extend_from_slice(units.to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(&scratch);
    }
    if !any {
        out.extend_from_slice(b"0:");
    }
}

/// The XHR2 marker byte of a text packet in a binary payload.
const MARKER_TEXT: u8 = 0;
/// The XHR2 marker byte of a binary packet.
const MARKER_BINARY: u8 = 1;
/// Ends the length digits in a binary payload.
const LENGTH_END: u8 = 0xff;
/// The official decoder gives up on length strings longer than this.
const MAX_LENGTH_CHARS: usize = 310;

/// Decodes an XHR2 binary polling payload lazily.
///
/// Each entry is a marker byte (0: text, else binary), the length written as
/// one byte per decimal digit, `0xFF`, then the packet. `Compat` reproduces the
/// official decoder's arithmetic exactly, including how it misreads length
/// bytes above 9; `Strict` accepts only markers 0/1, digit bytes 0–9 and
/// lengths that fit. A malformed length rejects the whole body before any
/// packet is yielded, as the official decoder does.
///
/// ```
/// use siospec_codec::engine::{v3, Packet, PacketType};
/// use siospec_codec::{Limits, Profile};
///
/// let body = [0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xff, 4, 1, 2, 3, 4];
/// let packets: Vec<_> = v3::decode_binary_payload(&body, Profile::Compat, &Limits::default())
///     .map(|item| item.map(v3::Decoded::into_packet))
///     .collect::<Result<Option<_>, _>>()
///     .unwrap()
///     .unwrap();
/// assert_eq!(packets, [Packet::text(PacketType::Message, "hello"), Packet::binary(&[1u8, 2, 3, 4][..])]);
/// let mut out = Vec::new();
/// v3::encode_binary_payload(&packets, &mut out);
/// assert_eq!(out, body);
/// ```
pub fn decode_binary_payload<'a>(
    body: &'a [u8],
    profile: Profile,
    limits: &Limits,
) -> BinaryPayloadDecoder<'a> {
    let pending_error = check_size(body.len(), limits).err().or_else(|| {
        let mut entries = BinaryEntries {
            body,
            pos: 0,
            profile,
        };
        let mut count = 0usize;
        loop {
            match entries.next() {
                None => break None,
                Some(Err(err)) => break Some(err),
                Some(Ok(_)) if count == limits.max_packets_per_payload => {
                    break Some(DecodeError::TooManyPackets {
                        limit: limits.max_packets_per_payload,
                    })
                }
                Some(Ok(_)) => count += 1,
            }
        }
    });
    BinaryPayloadDecoder {
        entries: BinaryEntries {
            body,
            pos: 0,
            profile,
        },
        pending_error,
        done: false,
    }
}

/// One entry of an XHR2 payload: whether it is text, its bytes, and where it starts.
struct Entry<'a> {
    is_text: bool,
    bytes: &'a [u8],
    offset: usize,
}

/// Splits an XHR2 payload into entries, as the official decoder's first pass does.
struct BinaryEntries<'a> {
    body: &'a [u8],
    pos: usize,
    profile: Profile,
}

impl<'a> BinaryEntries<'a> {
    /// The official decoder appends `String(byte)` for each length byte (and
    /// `"undefined"` past the end), then skips as many bytes as that string
    /// has characters and reads the length with `parseInt`.
    fn compat_length(&self, start: usize) -> Result<(usize, f64), DecodeError> {
        let mut chars = 0usize;
        let mut value = 0f64;
        let mut digits_valid = true;
        let mut any_digit = false;
        for i in start + 1.. {
            let byte = self.body.get(i).copied();
            if byte == Some(LENGTH_END) {
                break;
            }
            if chars > MAX_LENGTH_CHARS {
                return Err(DecodeError::InvalidLength { offset: start });
            }
            match byte {
                Some(b) => {
                    let text = b.to_string();
                    chars += text.len();
                    if digits_valid {
                        for d in text.bytes() {
                            value = value * 10.0 + f64::from(d - b'0');
                        }
                        any_digit = true;
                    }
                }
                None => {
                    chars += "undefined".len();
                    digits_valid = false;
                }
            }
        }
        Ok((chars, if any_digit { value } else { f64::NAN }))
    }

    fn strict_length(&self, start: usize) -> Result<(usize, f64), DecodeError> {
        let invalid = DecodeError::InvalidLength { offset: start };
        let mut value = 0usize;
        for (count, &b) in self
            .body
            .get(start + 1..)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if b == LENGTH_END {
                return if count == 0 {
                    Err(invalid)
                } else {
                    Ok((count, value as f64))
                };
            }
            if b > 9 || count > MAX_LENGTH_CHARS {
                return Err(invalid);
            }
            value = value.saturating_mul(10).saturating_add(usize::from(b));
        }
        Err(invalid)
    }
}

impl<'a> Iterator for BinaryEntries<'a> {
    type Item = Result<Entry<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let &marker = self.body.get(start)?;
        let length = match self.profile {
            Profile::Compat => self.compat_length(start),
            Profile::Strict if marker > MARKER_BINARY => {
                Err(DecodeError::UnknownType { offset: start })
            }
            Profile::Strict => self.strict_length(start),
        };
        let (chars, length) = match length {
            Ok(found) => found,
            Err(err) => {
                self.pos = self.body.len();
                return Some(Err(err));
            }
        };
        let tail_at = (start + chars + 1).min(self.body.len());
        let tail = &self.body[tail_at..];
        // `tail.slice(1, length + 1)`, then `tail.slice(length + 1)`, with
        // JavaScript's clamping of NaN and out-of-range indices.
        let len = if length.is_nan() {
            0.0
        } else {
            length.min(tail.len() as f64)
        };
        let end = (len as usize).saturating_add(1).min(tail.len());
        let bytes = tail.get(1..end).unwrap_or_default();
        self.pos = tail_at + if length.is_nan() { 0 } else { end };
        if self.profile == Profile::Strict && length > bytes.len() as f64 {
            self.pos = self.body.len();
            return Some(Err(DecodeError::Truncated { offset: start }));
        }
        Some(Ok(Entry {
            is_text: marker == MARKER_TEXT,
            bytes,
            // Past the end when the misread lengths skip the whole tail.
            offset: (tail_at + 1).min(self.body.len()),
        }))
    }
}

/// Iterator over an XHR2 binary payload; see [`decode_binary_payload`].
pub struct BinaryPayloadDecoder<'a> {
    entries: BinaryEntries<'a>,
    pending_error: Option<DecodeError>,
    done: bool,
}

impl<'a> Iterator for BinaryPayloadDecoder<'a> {
    type Item = Result<Decoded<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(err) = self.pending_error.take() {
            self.done = true;
            return Some(Err(err));
        }
        let entry = match self.entries.next()? {
            Ok(entry) => entry,
            Err(err) => {
                self.done = true;
                return Some(Err(err));
            }
        };
        let decoded = if entry.is_text {
            decode_latin1_utf8_packet(entry.bytes, self.entries.profile)
        } else {
            decode_binary(entry.bytes, self.entries.profile)
        };
        if decoded.is_err() {
            self.done = true;
        }
        Some(decoded.map_err(|err| err.shifted(entry.offset)))
    }
}

/// A text entry of an XHR2 payload: `b` entries are base64 over the raw
/// bytes; anything else is UTF-8, where `Compat` turns encoded surrogates into
/// U+FFFD as the bundled utf8.js does.
fn decode_latin1_utf8_packet(bytes: &[u8], profile: Profile) -> Result<Decoded<'_>, DecodeError> {
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::Empty { offset: 0 });
    };
    if first == b'b' {
        let kind = bytes.get(1).and_then(|&d| PacketType::from_digit(d));
        let base64 = bytes.get(2..).unwrap_or_default();
        let data = match (kind, profile) {
            (_, Profile::Compat) => Cow::Owned(js::lenient_base64_decode_latin1(base64)),
            (None, Profile::Strict) => return Err(DecodeError::UnknownType { offset: 1 }),
            (Some(_), Profile::Strict) => {
                let text = std::str::from_utf8(base64)
                    .map_err(|_| DecodeError::InvalidBase64 { offset: 2 })?;
                decode_base64(text, 2, profile)?
            }
        };
        return Ok(match kind {
            Some(kind) => Decoded::Packet(Packet {
                kind,
                data: Data::Binary(data),
            }),
            None => Decoded::Untyped(data),
        });
    }
    let text = utf8_with_surrogates(bytes, profile)?;
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType { offset: 0 })?;
    let data = match text {
        Cow::Borrowed(t) if t.len() > 1 => Data::Text(Cow::Borrowed(&t[1..])),
        Cow::Owned(t) if t.len() > 1 => Data::Text(Cow::Owned(t[1..].to_owned())),
        _ => Data::None,
    };
    Ok(Decoded::Packet(Packet { kind, data }))
}

fn utf8_with_surrogates(bytes: &[u8], profile: Profile) -> Result<Cow<'_, str>, DecodeError> {
    let mut rest = bytes;
    let mut owned = String::new();
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) if owned.is_empty() && rest.len() == bytes.len() => {
                return Ok(Cow::Borrowed(valid))
            }
            Ok(valid) => {
                owned.push_str(valid);
                return Ok(Cow::Owned(owned));
            }
            Err(e) => {
                let at = e.valid_up_to();
                let surrogate =
                    matches!(rest.get(at..at + 3), Some([0xed, 0xa0..=0xbf, 0x80..=0xbf]));
                if profile == Profile::Strict || !surrogate {
                    return Err(DecodeError::InvalidUtf8 {
                        offset: bytes.len() - rest.len() + at,
                    });
                }
                owned.push_str(std::str::from_utf8(&rest[..at]).unwrap_or_default());
                owned.push('\u{fffd}');
                rest = &rest[at + 3..];
            }
        }
    }
}

/// Encodes packets as an XHR2 binary payload, appending to `out`.
///
/// ```
/// use siospec_codec::engine::{v3, Packet, PacketType};
///
/// let mut out = Vec::new();
/// v3::encode_binary_payload(&[Packet::text(PacketType::Message, "hello")], &mut out);
/// assert_eq!(out, [0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o']);
/// ```
pub fn encode_binary_payload<'p, 'a: 'p>(
    packets: impl IntoIterator<Item = &'p Packet<'a>>,
    out: &mut Vec<u8>,
) {
    for packet in packets {
        let (marker, len) = match &packet.data {
            Data::Binary(bytes) => (MARKER_BINARY, bytes.len() + 1),
            Data::Text(text) => (MARKER_TEXT, text.len() + 1),
            Data::None => (MARKER_TEXT, 1),
        };
        out.push(marker);
        out.extend(len.to_string().bytes().map(|d| d - b'0'));
        out.push(LENGTH_END);
        encode(packet, true, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_payload(body: &str, profile: Profile) -> Vec<Result<Decoded<'_>, DecodeError>> {
        decode_payload(body, profile, &Limits::default()).collect()
    }

    fn binary_payload(body: &[u8], profile: Profile) -> Vec<Result<Decoded<'_>, DecodeError>> {
        decode_binary_payload(body, profile, &Limits::default()).collect()
    }

    fn known(packet: Packet<'_>) -> Result<Decoded<'_>, DecodeError> {
        Ok(Decoded::Packet(packet))
    }

    #[test]
    fn suite_payloads_decode() {
        let got = text_payload("6:4test16:4test26:4test3", Profile::Strict);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(Result::is_ok));
        assert_eq!(
            text_payload("1:6", Profile::Strict),
            [known(Packet::new(PacketType::Noop))]
        );
        assert_eq!(
            text_payload("10:b4AQIDBA==", Profile::Strict),
            [known(Packet::binary(vec![1, 2, 3, 4]))]
        );
    }

    #[test]
    fn compat_reads_lengths_with_javascript_number() {
        for body in [
            " 6:4hello",
            "0x6:4hello",
            "6.0:4hello",
            "+6:4hello",
            "6e0:4hello",
        ] {
            assert_eq!(
                text_payload(body, Profile::Compat),
                [known(Packet::text(PacketType::Message, "hello"))],
                "{body}"
            );
            assert!(text_payload(body, Profile::Strict)[0].is_err(), "{body}");
        }
        assert_eq!(text_payload("0:", Profile::Compat), []);
        assert_eq!(
            text_payload("0:", Profile::Strict),
            [Err(DecodeError::Empty { offset: 2 })]
        );
    }

    #[test]
    fn bad_lengths_fail_after_the_good_packets() {
        let got = text_payload("1:21:", Profile::Compat);
        assert_eq!(
            got,
            [
                known(Packet::new(PacketType::Ping)),
                Err(DecodeError::InvalidLength { offset: 3 })
            ]
        );
        assert_eq!(
            text_payload("", Profile::Compat),
            [Err(DecodeError::Empty { offset: 0 })]
        );
        assert_eq!(
            text_payload("2:2", Profile::Compat),
            [Err(DecodeError::InvalidLength { offset: 0 })]
        );
        assert_eq!(
            text_payload("1:2x", Profile::Compat)[1],
            Err(DecodeError::InvalidLength { offset: 3 })
        );
        assert_eq!(
            text_payload("1.5:2", Profile::Compat),
            [Err(DecodeError::InvalidLength { offset: 0 })]
        );
        assert_eq!(
            text_payload("1:9", Profile::Compat),
            [Err(DecodeError::UnknownType { offset: 2 })]
        );
    }

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(
            text_payload("3:4😀", Profile::Strict),
            [known(Packet::text(PacketType::Message, "😀"))]
        );
        assert!(text_payload("2:4😀", Profile::Compat)[0].is_err());
        let mut out = Vec::new();
        encode_payload(&[Packet::text(PacketType::Message, "😀")], &mut out);
        assert_eq!(out, "3:4😀".as_bytes());
    }

    #[test]
    fn xhr2_payload_of_the_suite() {
        let body = [
            0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xff, 4, 1, 2, 3, 4,
        ];
        assert_eq!(binary_payload(&body, Profile::Strict).len(), 2);
    }

    #[test]
    fn xhr2_length_strings_longer_than_310_reject_the_whole_body() {
        let mut body = vec![0, 1, 0xff, b'2'];
        body.push(0);
        body.extend(std::iter::repeat_n(1, 400));
        body.push(0xff);
        assert_eq!(
            binary_payload(&body, Profile::Compat),
            [Err(DecodeError::InvalidLength { offset: 4 })]
        );
    }

    #[test]
    fn xhr2_unterminated_length_rejects() {
        assert!(binary_payload(&[0, 1], Profile::Compat)[0].is_err());
        assert!(binary_payload(&[0, 1], Profile::Strict)[0].is_err());
    }

    #[test]
    fn xhr2_multi_digit_length_bytes_are_misread_in_compat() {
        // Byte 12 becomes the two characters "12": the decoder then skips two
        // bytes (the 12 and the 0xFF) and reads a 12-byte packet.
        let mut body = vec![0, 12, 0xff, b'x', b'4'];
        body.extend_from_slice(b"hello world");
        assert_eq!(
            binary_payload(&body, Profile::Compat),
            [known(Packet::text(PacketType::Message, "hello world"))]
        );
        assert!(binary_payload(&body, Profile::Strict)[0].is_err());
    }

    #[test]
    fn xhr2_text_entries_are_utf8_with_lenient_surrogates() {
        let body = [0, 4, 0xff, b'4', 0xed, 0xa0, 0x80];
        assert_eq!(
            binary_payload(&body, Profile::Compat),
            [known(Packet::text(PacketType::Message, "\u{fffd}"))]
        );
        assert!(binary_payload(&body, Profile::Strict)[0].is_err());
        assert!(binary_payload(&[0, 2, 0xff, b'4', 0xff], Profile::Compat)[0].is_err());
    }

    #[test]
    fn binary_frames_carry_the_type_byte() {
        assert_eq!(
            decode_binary(&[2], Profile::Strict),
            known(Packet {
                kind: PacketType::Ping,
                data: Data::Binary(Cow::Borrowed(&[]))
            })
        );
        assert_eq!(
            decode_binary(&[], Profile::Strict),
            Err(DecodeError::Empty { offset: 0 })
        );
        assert_eq!(
            decode_binary(&[7, 0xaa], Profile::Strict),
            Err(DecodeError::UnknownType { offset: 0 })
        );
    }

    #[test]
    fn binary_frames_of_no_known_type_are_untyped_in_compat() {
        assert_eq!(
            decode_binary(&[], Profile::Compat),
            Ok(Decoded::Untyped(Cow::Borrowed(&[])))
        );
        assert_eq!(
            decode_binary(&[7, 0xaa, 0xbb], Profile::Compat),
            Ok(Decoded::Untyped(Cow::Borrowed(&[0xaa, 0xbb])))
        );
    }

    #[test]
    fn base64_packets_carry_the_type_digit() {
        assert_eq!(
            decode_text("b4", Profile::Strict),
            known(Packet::binary(vec![]))
        );
        for text in ["b", "b9AQ==", "b€AQ=="] {
            assert_eq!(
                decode_text(text, Profile::Strict),
                Err(DecodeError::UnknownType { offset: 1 }),
                "{text}"
            );
        }
    }

    #[test]
    fn base64_packets_of_no_known_type_are_untyped_in_compat() {
        let untyped = |text| decode_text(text, Profile::Compat);
        assert_eq!(untyped("b"), Ok(Decoded::Untyped(vec![].into())));
        assert_eq!(
            untyped("b9AQID"),
            Ok(Decoded::Untyped(vec![1, 2, 3].into()))
        );
        // The type is one UTF-16 code unit: the rest of "€" is gone, but an
        // astral character leaves its low surrogate, U+DC41, read as `A`.
        assert_eq!(
            untyped("b€AQID"),
            Ok(Decoded::Untyped(vec![1, 2, 3].into()))
        );
        assert_eq!(
            untyped("b\u{10041}QID"),
            Ok(Decoded::Untyped(vec![1, 2, 3].into()))
        );
    }

    #[test]
    fn a_length_inside_an_astral_character_of_a_base64_packet() {
        // "3:b0😀": the packet is `b0` and the high surrogate U+D83D, whose
        // low byte `=` ends the base64; the low surrogate starts a length.
        assert_eq!(
            text_payload("3:b0😀", Profile::Compat),
            [
                known(Packet {
                    kind: PacketType::Open,
                    data: Data::Binary(Cow::Borrowed(&[]))
                }),
                Err(DecodeError::InvalidLength { offset: 4 })
            ]
        );
        assert_eq!(
            text_payload("3:b0😀", Profile::Strict),
            [Err(DecodeError::SplitSurrogate { offset: 0 })]
        );
        // U+10041 is D800 DC41: with the type character split, the packet
        // has no type and no data.
        assert_eq!(
            text_payload("2:b\u{10041}", Profile::Compat),
            [
                Ok(Decoded::Untyped(vec![].into())),
                Err(DecodeError::InvalidLength { offset: 3 })
            ]
        );
        // Text packets cannot hold the lone surrogate.
        assert_eq!(
            text_payload("2:4😀", Profile::Compat),
            [Err(DecodeError::SplitSurrogate { offset: 0 })]
        );
    }

    #[test]
    fn payloads_carry_untyped_packets_in_compat_only() {
        assert_eq!(
            text_payload("6:b9AQID1:2", Profile::Compat),
            [
                Ok(Decoded::Untyped(vec![1, 2, 3].into())),
                known(Packet::new(PacketType::Ping))
            ]
        );
        assert_eq!(
            text_payload("6:b9AQID1:2", Profile::Strict),
            [Err(DecodeError::UnknownType { offset: 3 })]
        );
        let body = [1, 3, 0xff, 9, 0xaa, 0xbb, 0, 1, 0xff, b'2'];
        assert_eq!(
            binary_payload(&body, Profile::Compat),
            [
                Ok(Decoded::Untyped(Cow::Borrowed(&[0xaa, 0xbb]))),
                known(Packet::new(PacketType::Ping))
            ]
        );
        assert!(binary_payload(&body, Profile::Strict)[0].is_err());
    }
}
