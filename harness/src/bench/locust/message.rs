//! Locust's RPC message: the msgpack array `[type, data, node_id]`
//! (locust/rpc/protocol.py, `Message.serialize`), one ZeroMQ frame each.

use rmpv::Value;

/// Largest message read from the master; a spawn message is well under
/// 64 kB even with every parsed option.
pub(super) const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Message {
    /// `client_ready`, `spawn`, `stats`, `heartbeat`…
    pub kind: String,
    /// The payload (`nil` when none).
    pub data: Value,
    /// The worker's id (also on the master's messages to it).
    pub node_id: String,
}

impl Message {
    pub fn new(kind: &str, data: Value, node_id: &str) -> Message {
        Message {
            kind: kind.to_owned(),
            data,
            node_id: node_id.to_owned(),
        }
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let value = Value::Array(vec![
            Value::from(self.kind.as_str()),
            self.data.clone(),
            Value::from(self.node_id.as_str()),
        ]);
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut out, &value);
        out
    }

    /// Reads a frame; `Err` says what is wrong with it.
    pub fn decode(frame: &[u8]) -> Result<Message, String> {
        if frame.len() > MAX_MESSAGE {
            return Err(format!(
                "a message of {} bytes (at most {MAX_MESSAGE})",
                frame.len()
            ));
        }
        let mut reader = frame;
        // Depth-limited: msgpack from the network never recurses without bound.
        let value = rmpv::decode::read_value_with_max_depth(&mut reader, 64)
            .map_err(|e| format!("not msgpack: {e}"))?;
        if !reader.is_empty() {
            return Err(format!("{} bytes after the message", reader.len()));
        }
        let Value::Array(items) = value else {
            return Err("not an array [type, data, node_id]".to_owned());
        };
        let [kind, data, node_id]: [Value; 3] = items
            .try_into()
            .map_err(|_| "not an array of three [type, data, node_id]".to_owned())?;
        let text = |v: Value, what: &str| match v {
            Value::String(s) => s
                .into_str()
                .ok_or_else(|| format!("the {what} is not UTF-8")),
            Value::Nil => Ok(String::new()),
            _ => Err(format!("the {what} is not a string")),
        };
        Ok(Message {
            kind: text(kind, "type")?,
            data,
            node_id: text(node_id, "node id")?,
        })
    }
}

/// The value under `key` of a msgpack map.
pub(super) fn get<'v>(map: &'v Value, key: &str) -> Option<&'v Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A map with string keys.
pub(super) fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips() {
        let m = Message::new("heartbeat", map([("state", Value::from("ready"))]), "w1");
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn bad_frames_are_refused() {
        assert!(Message::decode(b"\xc1").is_err());
        assert!(Message::decode(b"\x92\xa1a\xc0").is_err());
        assert!(Message::decode(b"\x80").is_err());
        let mut deep = vec![0x91; 100];
        deep.push(0xc0);
        assert!(Message::decode(&deep).is_err());
    }
}
