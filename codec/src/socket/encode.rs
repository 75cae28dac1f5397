use super::{AckId, Packet};
use crate::js;

/// Encodes one packet as text, appending to `out`, as the official encoder
/// writes it: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, the
/// namespace only when it is not `/`.
///
/// ```
/// use siospec_codec::socket::{self, AckId, Json, Packet, PacketType};
///
/// let mut p = Packet::new(PacketType::Event, "/chat", Some(Json::parse(r#"["hi"]"#).unwrap()));
/// p.ack_id = Some(AckId::Exact(7));
/// let mut out = Vec::new();
/// socket::encode(&p, &mut out);
/// assert_eq!(out, br#"2/chat,7["hi"]"#);
/// ```
pub fn encode(packet: &Packet<'_>, out: &mut Vec<u8>) {
    out.push(packet.kind.digit());
    if packet.kind.is_binary() {
        write_u64(packet.attachments as u64, out);
        out.push(b'-');
    }
    if !packet.namespace.is_empty() && packet.namespace != "/" {
        out.extend_from_slice(packet.namespace.as_bytes());
        out.push(b',');
    }
    match packet.ack_id {
        Some(AckId::Exact(id)) => write_u64(id, out),
        Some(AckId::Lossy(id)) => js::write_number(id, out),
        None => {}
    }
    if let Some(payload) = packet.payload {
        out.extend_from_slice(payload.as_str().as_bytes());
    }
}

pub(crate) fn write_u64(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}
