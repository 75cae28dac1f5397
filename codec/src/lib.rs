//! The pure protocol core of siospec: Engine.IO v3/v4 and Socket.IO v4/v5
//! packets, payloads and binary attachments.
//!
//! This crate never does I/O, never spawns, never reads a clock and never
//! draws a random number: bytes come in as arguments and go out into buffers
//! the caller owns. Decoders borrow from their input, check every
//! [`Limits`] bound before allocating, and report bad input as a typed error
//! with the byte offset where it went wrong; no input makes them panic.
//!
//! Layers follow the protocol: [`engine`] (Engine.IO packets and payloads for
//! each transport), [`socket`] (Socket.IO packets, JSON payloads, binary
//! attachments), and [`adapter`] (the messages of a cluster's nodes, as
//! @socket.io/redis-adapter writes them).
//!
//! ```
//! use siospec_codec::engine::{self, v4};
//! use siospec_codec::socket::{self, PacketType, Version};
//! use siospec_codec::{Limits, Profile};
//!
//! let limits = Limits::default();
//! // A WebSocket text frame carrying a Socket.IO event with an ack id.
//! let frame = r#"42/chat,17["message","hello"]"#;
//! let eio = v4::decode_text(frame, Profile::Compat).unwrap();
//! assert_eq!(eio.kind, engine::PacketType::Message);
//! let engine::Data::Text(text) = eio.data else { unreachable!() };
//! let sio = socket::decode(&text, Version::V5, Profile::Compat, &limits).unwrap();
//! assert_eq!(sio.kind, PacketType::Event);
//! assert_eq!(sio.namespace, "/chat");
//! assert_eq!(sio.payload.unwrap().as_str(), r#"["message","hello"]"#);
//! ```
//!
//! # Profiles
//!
//! [`Profile::Compat`] accepts and rejects exactly what the official
//! JavaScript parsers do; [`Profile::Strict`] accepts only what the protocol
//! documents allow. Whatever `Strict` accepts, `Compat` accepts with the same
//! result. Inputs the two profiles treat differently:
//!
//! | input | `Compat` (as the official parsers) | `Strict` |
//! |---|---|---|
//! | Socket.IO: empty string, or a white-space first character | `CONNECT` to `/` | unknown type |
//! | Socket.IO: white space in the ack-id position (`2 ["a"]`) | part of the ack id, read with `Number` (id 0) | not an ack id, so invalid JSON |
//! | Socket.IO: ack ids beyond 2^53 − 1, or with inner white space | [`socket::AckId::Lossy`], written back as JavaScript prints the number | rejected |
//! | Socket.IO: ack id with leading zeros, or on `CONNECT`/`DISCONNECT`/`CONNECT_ERROR` | accepted | rejected |
//! | Socket.IO: `ACK` without an id; `EVENT`/`ACK` without a payload (`42`) | accepted | rejected |
//! | Socket.IO: attachment count `0x2`, ` 2`, `2.0`, `2e0`, `+2` | read with `Number` | only plain decimal |
//! | Socket.IO v5: `CONNECT_ERROR` with a string payload | accepted | object only |
//! | Socket.IO v4: `ERROR` payload | any JSON | string or object |
//! | Socket.IO: placeholder `num` that is not an integer (`0.5`) | `null` (JavaScript's `undefined`) | rejected |
//! | Socket.IO msgpack: strings that are not UTF-8 | U+FFFD, as `Buffer#toString` | rejected |
//! | Socket.IO msgpack: map keys that are not strings; a key given twice; a `__proto__` key | converted with JavaScript's `String`; the last value kept at the first position; sets the object's prototype | rejected |
//! | Socket.IO msgpack: ext types other than 0 (`d4 00 00` is `undefined`) | the array `[type, bytes]`, as notepack makes it | rejected |
//! | Socket.IO msgpack: NaN and ±Infinity | `null` (see below) | rejected |
//! | Socket.IO msgpack: `type` or `id` written as a float; ids below 0 or beyond 2^53 − 1 | accepted when integral (`Number.isInteger`); [`socket::AckId::Lossy`] | rejected |
//! | Socket.IO msgpack: `nsp` without a leading `/`; an id on `CONNECT` / `DISCONNECT` / `CONNECT_ERROR`; `ACK` without id; `CONNECT_ERROR` with a string; `EVENT` data not starting with a string or number, or naming a reserved event | accepted | rejected |
//! | Engine.IO: base64 with noise, missing padding, base64url characters | decoded as Node's `Buffer.from(s, "base64")` does | canonical padded base64 only |
//! | Engine.IO: invalid UTF-8 in text (polling bodies, WebTransport) | U+FFFD, as Node's decoders do | rejected |
//! | Engine.IO v3: length prefixes ` 6`, `0x6`, `6.0`; empty `0:` entries | read with `Number`; skipped | plain decimal; rejected |
//! | Engine.IO v3 XHR2: length bytes above 9, marker bytes other than 0/1, lengths past the end | the official decoder's arithmetic, including its misreadings | rejected |
//! | Engine.IO v3: binary data whose type byte or character names no type (`b9AQID`, a frame `07 aa`, an empty binary frame) | [`engine::v3::Decoded::Untyped`]: the official `{ type: undefined }`, which the server ignores | rejected |
//! | Engine.IO v3: a length prefix that ends inside an astral character of a base64 packet (`3:b0😀`) | the packet read up to the high surrogate, then an error at the next length | rejected |
//!
//! # Where `Compat` departs from the official parsers
//!
//! * Explicit [`Limits`]: payload size, packets per payload, attachments
//!   (the official default, 10), ack-id length, namespace length, and the
//!   JSON depth of binary packets (default 1000; the official decoder's
//!   recursive placeholder walk stops at the JavaScript stack's depth).
//! * A v3 length prefix that ends inside an astral character of a text
//!   packet (`2:4😀`) is rejected at that packet
//!   ([`engine::DecodeError::SplitSurrogate`]); the official decoder first
//!   delivers the packet with a lone high surrogate, which a Rust string
//!   cannot hold, then fails on the next length. Both reject the payload.
//! * Reconstructed [`socket::binary::Value`] objects keep keys in document
//!   order; JavaScript moves integer-like keys first.
//! * [`socket::binary::encode`] writes a `__proto__` key like any other; the
//!   official encoder copies objects key by key, and assigning `__proto__`
//!   sets the copy's prototype, so that key vanishes from its output.
//! * msgpack ([`socket::msgpack`]): NaN and ±Infinity are read as `null`,
//!   since [`socket::binary::Value`] (like JSON) has no such numbers; the
//!   official decoder hands them to the application.
//! * msgpack: a `Date` (`fixext 8`, type 0) in the data, or as a map key, is
//!   refused ([`socket::MsgpackError::Date`]): the data model has no dates,
//!   and a `Date` key's string depends on the time zone.
//! * msgpack: nesting beyond [`Limits::max_msgpack_depth`] (default 1000;
//!   notepack's recursive reader stops at the JavaScript stack's depth) and
//!   arrays or maps beyond [`Limits::max_container_len`] are refused.
//! * msgpack: of the prototypes a `__proto__` key can set, the codec models
//!   what decides the packet (inherited `type` / `nsp` / `data` / `id`, the
//!   `[object ArrayBuffer]` tag, typed-array and accessor assignment rules, an
//!   array prototype's `join` for a key's string) but refuses a map key whose
//!   string would come from a `Date` or `Buffer` prototype's `toString`, or
//!   from `join` / `length` keys over an array prototype.
//! * msgpack: [`socket::msgpack::encode`] writes an integer beyond what 64
//!   bits hold (2^64 and up, below −2^63) as a float 64; notepack writes it
//!   as a 64-bit integer whose words wrap, so that 1e300 arrives as 0.
//! * msgpack: [`socket::msgpack::encode`] writes bytes as `bin`, as the Node
//!   build does for a `Buffer`; an `ArrayBuffer` the official encoder would
//!   write as ext type 0, and the data model has one kind of bytes.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod adapter;
pub mod engine;
mod js;
mod limits;
pub mod session;
pub mod socket;

pub use limits::{Limits, Profile};
