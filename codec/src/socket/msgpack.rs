//! TEMPORARY STUB (replaced by the msgpack helper's module at merge).
#![allow(missing_docs)]
use super::binary::Value;
use super::{AckId, DecodeError, PacketType};
use crate::{Limits, Profile};

#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    pub namespace: String,
    pub ack_id: Option<AckId>,
    pub data: Option<Value>,
}

struct R<'a> {
    b: &'a [u8],
    i: usize,
}
fn bad() -> DecodeError {
    DecodeError::IllegalPlaceholder
}
impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.i.checked_add(n).ok_or_else(bad)?;
        let s = self.b.get(self.i..end).ok_or_else(bad)?;
        self.i = end;
        Ok(s)
    }
    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }
    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > 100 {
            return Err(bad());
        }
        let m = self.take(1)?[0];
        let num = |f: f64| Value::Number(serde_json::Number::from_f64(f).unwrap_or(0.into()));
        Ok(match m {
            0x00..=0x7f => Value::Number(u64::from(m).into()),
            0xe0..=0xff => Value::Number(i64::from(m as i8).into()),
            0x80..=0x8f => self.map(usize::from(m & 15), depth)?,
            0x90..=0x9f => self.arr(usize::from(m & 15), depth)?,
            0xa0..=0xbf => self.str(usize::from(m & 31))?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.uint(1 << (m - 0xc4))? as usize;
                Value::Binary(self.take(n)?.to_vec())
            }
            0xc7..=0xc9 => {
                let n = self.uint(1 << (m - 0xc7))? as usize;
                let _t = self.take(1)?;
                Value::Binary(self.take(n)?.to_vec())
            }
            0xca => num(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => num(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::Number(self.uint(1 << (m - 0xcc))?.into()),
            0xd0 => Value::Number(i64::from(self.uint(1)? as u8 as i8).into()),
            0xd1 => Value::Number(i64::from(self.uint(2)? as u16 as i16).into()),
            0xd2 => Value::Number(i64::from(self.uint(4)? as u32 as i32).into()),
            0xd3 => Value::Number((self.uint(8)? as i64).into()),
            0xd4 => {
                self.take(2)?;
                Value::Null
            }
            0xd9..=0xdb => {
                let n = self.uint(1 << (m - 0xd9))? as usize;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.uint(2 << (m - 0xdc))? as usize;
                self.arr(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.uint(2 << (m - 0xde))? as usize;
                self.map(n, depth)?
            }
            _ => return Err(bad()),
        })
    }
    fn str(&mut self, n: usize) -> Result<Value, DecodeError> {
        Ok(Value::String(
            std::str::from_utf8(self.take(n)?)
                .map_err(|_| bad())?
                .to_owned(),
        ))
    }
    fn arr(&mut self, n: usize, d: usize) -> Result<Value, DecodeError> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.value(d + 1)?);
        }
        Ok(Value::Array(v))
    }
    fn map(&mut self, n: usize, d: usize) -> Result<Value, DecodeError> {
        let mut v = Vec::new();
        for _ in 0..n {
            let Value::String(k) = self.value(d + 1)? else {
                return Err(bad());
            };
            v.push((k, self.value(d + 1)?));
        }
        Ok(Value::Object(v))
    }
}

pub fn decode(frame: &[u8], _profile: Profile, _limits: &Limits) -> Result<Packet, DecodeError> {
    let mut r = R { b: frame, i: 0 };
    let Value::Object(entries) = r.value(0)? else {
        return Err(bad());
    };
    let get = |k: &str| entries.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let kind = match get("type") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|t| *t <= 4)
            .map(|t| PacketType::ALL[t as usize])
            .ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let Some(Value::String(namespace)) = get("nsp") else {
        return Err(bad());
    };
    let ack_id = match get("id") {
        None => None,
        Some(Value::Number(n)) => Some(AckId::Exact(n.as_u64().ok_or_else(bad)?)),
        _ => return Err(bad()),
    };
    Ok(Packet {
        kind,
        namespace,
        ack_id,
        data: get("data"),
    })
}

fn wlen(out: &mut Vec<u8>, fix: u8, fixmax: usize, m8: Option<u8>, m16: u8, n: usize) {
    if n <= fixmax {
        out.push(fix | n as u8);
    } else if let (Some(m), true) = (m8, n < 256) {
        out.extend([m, n as u8]);
    } else if n < 65536 {
        out.push(m16);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(m16 + 1);
        out.extend((n as u32).to_be_bytes());
    }
}
fn wstr(s: &str, out: &mut Vec<u8>) {
    wlen(out, 0xa0, 31, Some(0xd9), 0xda, s.len());
    out.extend(s.as_bytes());
}
fn wval(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u < 128 {
                    out.push(u as u8)
                } else {
                    out.push(0xcf);
                    out.extend(u.to_be_bytes())
                }
            } else if let Some(i) = n.as_i64() {
                out.push(0xd3);
                out.extend(i.to_be_bytes())
            } else {
                out.push(0xcb);
                out.extend(n.as_f64().unwrap_or(0.0).to_bits().to_be_bytes())
            }
        }
        Value::String(s) => wstr(s, out),
        Value::Array(a) => {
            wlen(out, 0x90, 15, None, 0xdc, a.len());
            a.iter().for_each(|x| wval(x, out));
        }
        Value::Object(o) => {
            wlen(out, 0x80, 15, None, 0xde, o.len());
            for (k, x) in o {
                wstr(k, out);
                wval(x, out);
            }
        }
        Value::Binary(b) => {
            if b.len() < 256 {
                out.extend([0xc4, b.len() as u8]);
            } else if b.len() < 65536 {
                out.push(0xc5);
                out.extend((b.len() as u16).to_be_bytes());
            } else {
                out.push(0xc6);
                out.extend((b.len() as u32).to_be_bytes());
            }
            out.extend(b);
        }
    }
}

pub fn encode(
    kind: PacketType,
    namespace: &str,
    ack_id: Option<AckId>,
    data: Option<&Value>,
    out: &mut Vec<u8>,
) {
    let n = 2 + usize::from(data.is_some()) + usize::from(ack_id.is_some());
    out.push(0x80 | n as u8);
    wstr("type", out);
    out.push(kind as u8);
    wstr("nsp", out);
    wstr(namespace, out);
    if let Some(d) = data {
        wstr("data", out);
        wval(d, out);
    }
    if let Some(AckId::Exact(id)) = ack_id {
        wstr("id", out);
        wval(&Value::Number(id.into()), out);
    }
}
