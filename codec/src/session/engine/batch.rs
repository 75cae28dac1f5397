//! How many buffered packets fit in one polling payload.

use crate::engine::{Data, Packet};

/// The number of leading `packets` engine.io-client 6.6 puts in one polling
/// payload under `max_payload` (`Socket#_getWritablePackets`):
///
/// * no limit (`None` or 0), or at most one packet: all of them;
/// * otherwise the size starts at 1 (the first type digit), adds the UTF-8
///   length of each text, `ceil(1.33 × len)` for binary, and 2 per further
///   packet (separator and type); the first packet whose addition passes the
///   limit, if it is not the first one, starts the next payload.
///
/// At least one packet always goes. As in JavaScript, an empty binary
/// packet makes the size `NaN`, after which everything fits.
///
/// ```
/// use siospec_codec::engine::{Packet, PacketType};
/// use siospec_codec::session::engine::writable_prefix;
///
/// let p = |s: &'static str| Packet::text(PacketType::Message, s);
/// let packets = [p("aaaa"), p("bbbb"), p("cccc")];
/// // 1 + 4 = 5; + 2 + 4 = 11; + 2 + 4 = 17
/// assert_eq!(writable_prefix(&packets, Some(11)), 2);
/// assert_eq!(writable_prefix(&packets, Some(10)), 1);
/// assert_eq!(writable_prefix(&packets, Some(1)), 1);
/// assert_eq!(writable_prefix(&packets, None), 3);
/// ```
pub fn writable_prefix<'p, 'a: 'p>(
    packets: impl IntoIterator<Item = &'p Packet<'a>>,
    max_payload: Option<u64>,
) -> usize {
    let packets: Vec<&Packet<'a>> = packets.into_iter().collect();
    let limit = match max_payload {
        Some(limit) if limit > 0 && packets.len() > 1 => limit as f64,
        _ => return packets.len(),
    };
    let mut size = 1.0f64;
    for (i, packet) in packets.iter().enumerate() {
        size += match &packet.data {
            Data::None => 0.0,
            Data::Text(t) if t.is_empty() => 0.0,
            Data::Text(t) => t.len() as f64,
            Data::Binary(b) if b.is_empty() => f64::NAN,
            Data::Binary(b) => (b.len() as f64 * 1.33).ceil(),
        };
        if i > 0 && size > limit {
            return i;
        }
        size += 2.0;
    }
    packets.len()
}

/// A running size of a polling payload, for callers that add packets one
/// at a time; the same arithmetic as [`writable_prefix`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSize {
    size: f64,
    count: usize,
}

impl Default for BatchSize {
    fn default() -> Self {
        BatchSize {
            size: 1.0,
            count: 0,
        }
    }
}

impl BatchSize {
    /// `true` when `packet` may join the payload under `limit`: always for
    /// the first packet; afterwards only while the size stays within it.
    /// When it returns `true` the packet is counted.
    pub fn try_add(&mut self, packet: &Packet<'_>, limit: u64) -> bool {
        let add = match &packet.data {
            Data::None => 0.0,
            Data::Text(t) => t.len() as f64,
            Data::Binary(b) if b.is_empty() => f64::NAN,
            Data::Binary(b) => (b.len() as f64 * 1.33).ceil(),
        };
        let next = self.size + add;
        if self.count > 0 && limit > 0 && next > limit as f64 {
            return false;
        }
        self.size = next + 2.0;
        self.count += 1;
        true
    }

    /// Packets counted so far.
    pub fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PacketType;

    #[test]
    fn binary_counts_base64_overhead() {
        let packets = [
            Packet::text(PacketType::Message, "a"),
            Packet::binary(vec![0u8; 100]),
        ];
        // 1 + 1 = 2; + 2 + ceil(133) = 137
        assert_eq!(writable_prefix(&packets, Some(137)), 2);
        assert_eq!(writable_prefix(&packets, Some(136)), 1);
    }

    #[test]
    fn empty_binary_makes_everything_fit() {
        let packets = [
            Packet::binary(Vec::new()),
            Packet::text(PacketType::Message, "x".repeat(100)),
        ];
        assert_eq!(writable_prefix(&packets, Some(10)), 2);
    }

    #[test]
    fn batch_size_matches_prefix() {
        let packets: Vec<_> = (0..10)
            .map(|i| Packet::text(PacketType::Message, "y".repeat(i * 3)))
            .collect();
        for limit in [1u64, 5, 20, 50, 200] {
            let mut b = BatchSize::default();
            let n = packets.iter().take_while(|p| b.try_add(p, limit)).count();
            assert_eq!(n, writable_prefix(&packets, Some(limit)), "limit {limit}");
        }
    }
}
