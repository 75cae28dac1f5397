//! The codec in the `Compat` profile against every vector recorded from the
//! official JavaScript parsers (fixtures/*.jsonl): the same decision (accept
//! or reject, and the error class), the same decoded structure, and the
//! official encoder's exact bytes for the same structure.

mod support;

#[test]
fn compat_agrees_with_the_official_parsers() {
    let mut disagreements = Vec::new();
    let mut deviations = Vec::new();
    let mut summary = Vec::new();
    for layer in support::LAYERS {
        let vectors = support::load(layer);
        let mut encodings = 0;
        let mut unencodable = 0;
        for v in &vectors {
            let id = v["id"].as_str().unwrap_or("?");
            let verdict = support::compare(
                layer,
                &v["input"],
                &v["options"],
                &v["outcome"],
                v.get("encoded"),
            );
            encodings += verdict.encodings;
            unencodable += verdict.unencodable;
            deviations.extend(verdict.deviations.iter().map(|d| format!("{id}: {d}")));
            if let Some(why) = verdict.disagreement {
                disagreements.push(format!(
                    "{id} ({}): {why}",
                    v["note"].as_str().unwrap_or("")
                ));
            }
        }
        summary.push(format!(
            "{layer:<22} {:>5} vectors {encodings:>5} encodings \
             ({unencodable} official encodings of untyped data not compared)",
            vectors.len()
        ));
    }
    println!("{}", summary.join("\n"));
    println!("documented deviations: {}", deviations.len());
    for d in &deviations {
        println!("  {d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// The cluster adapter's messages (fixtures/cluster/redis-adapter.jsonl,
/// recorded from @socket.io/redis-adapter 8.3.0): the same bytes on the
/// same channel for what a node publishes, and the same decision and
/// structure for what it receives.
#[test]
fn the_adapter_agrees_with_the_official_redis_adapter() {
    use serde_json::{json, Value as Json};
    use siospec_codec::adapter::{self, Broadcast, BroadcastPacket, Channels, Node, Received};
    use siospec_codec::socket::binary::Value;
    use siospec_codec::socket::PacketType;
    use siospec_codec::Limits;

    fn value(j: &Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(value).collect()),
            Json::Object(o) if o.get("$binary").is_some() => {
                Value::Binary(support::unhex(o["$binary"].as_str().unwrap_or("")))
            }
            Json::Object(o) if o.get("$undefined").is_some() => Value::Undefined,
            Json::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), value(v))).collect())
            }
        }
    }
    fn json(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => json!(s),
            Value::Array(items) => Json::Array(items.iter().map(json).collect()),
            Value::Object(entries) => {
                Json::Object(entries.iter().map(|(k, v)| (k.clone(), json(v))).collect())
            }
            Value::Binary(b) => {
                json!({ "$binary": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
            }
            Value::Undefined => json!({ "$undefined": true }),
        }
    }
    let strings = |j: &Json| -> Vec<String> {
        j.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let channels = Channels::new(adapter::DEFAULT_KEY);
    let path = support::fixtures_dir().join("cluster/redis-adapter.jsonl");
    let text = std::fs::read_to_string(&path).expect("fixtures/cluster/redis-adapter.jsonl");
    let (mut publish, mut receive) = (0, 0);
    let mut disagreements = Vec::new();
    for line in text.lines() {
        let v: Json = serde_json::from_str(line).expect("a JSON line");
        let id = v["id"].as_str().unwrap_or("?");
        let input = &v["input"];
        if v["kind"] == "publish" {
            publish += 1;
            let packet = &input["packet"];
            let b = Broadcast {
                uid: input["uid"].as_str().unwrap_or("").to_owned(),
                packet: BroadcastPacket {
                    kind: PacketType::ALL[packet["type"].as_u64().unwrap_or(0) as usize],
                    namespace: input["nsp"].as_str().unwrap_or("").to_owned(),
                    data: packet.get("data").map(value),
                    id: packet.get("id").and_then(Json::as_u64),
                },
                rooms: strings(&input["rooms"]),
                except: strings(&input["except"]),
                flags: input.get("flags").map_or(Value::Undefined, value),
            };
            let mut out = Vec::new();
            adapter::encode_broadcast(&b, &mut out);
            let ours = json!({
                "channel": channels.publish_on(&b),
                "message": out.iter().map(|x| format!("{x:02x}")).collect::<String>(),
            });
            if ours != v["published"] {
                disagreements.push(format!("{id}: {ours} != {}", v["published"]));
            }
        } else {
            receive += 1;
            let node = Node {
                channels: channels.clone(),
                namespace: input["node"]["nsp"].as_str().unwrap_or("").to_owned(),
                uid: input["node"]["uid"].as_str().unwrap_or("").to_owned(),
            };
            let rooms = strings(&input["node"]["rooms"]);
            let message = support::unhex(input["message"].as_str().unwrap_or(""));
            let got = adapter::receive(
                &node,
                input["channel"].as_str().unwrap_or(""),
                &message,
                |r| rooms.iter().any(|x| x == r),
                &Limits::default(),
            );
            let ours = match got {
                Ok(Received::Deliver(b)) => {
                    let mut packet =
                        json!({ "type": b.packet.kind as u8, "nsp": b.packet.namespace });
                    if let Some(data) = &b.packet.data {
                        packet["data"] = json(data);
                    }
                    if let Some(id) = b.packet.id {
                        packet["id"] = json!(id);
                    }
                    let mut d = json!({
                        "uid": b.uid, "packet": packet, "rooms": b.rooms, "except": b.except,
                    });
                    if b.flags != Value::Undefined {
                        d["flags"] = json(&b.flags);
                    }
                    json!({ "deliver": d })
                }
                Ok(Received::Ignore(_)) => json!({ "ignored": true }),
                Err(e) => json!({ "error": e.to_string() }),
            };
            let agree = match (&ours.get("error"), &v["outcome"].get("error")) {
                (Some(_), Some(_)) => true,
                _ => ours == v["outcome"],
            };
            if !agree {
                disagreements.push(format!("{id}: {ours} != {}", v["outcome"]));
            }
        }
    }
    println!(
        "cluster/redis-adapter  {:>5} vectors ({publish} published messages, {receive} received)",
        publish + receive
    );
    assert!(
        publish > 0 && receive > 0,
        "no vectors in {}",
        path.display()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
