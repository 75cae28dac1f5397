//! `siospec test cluster`: the contract's rooms and broadcast events with
//! clients spread over the nodes of one cluster (servers sharing an adapter,
//! such as @socket.io/redis-adapter), judged with exact delivery sets: each
//! client that should get an event gets it exactly once, every other client
//! never.
//!
//! A case is a description, the requirement it checks, and a run function
//! over [`Members`]; ids are stable (`cluster.*`). Nodes are given by URL,
//! or started by siospec ([`nodes`]: Redis, the reference server with
//! `--redis`, the Node peer with @socket.io/redis-adapter), which is what
//! the restart case needs.

mod member;
pub mod nodes;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use member::Member;

use crate::Verdict;

/// How long every member keeps listening after an emit: what should come
/// has come by then, and what should not (a duplicate, a leak) would have.
const LISTEN: Duration = Duration::from_millis(1500);

/// Restarts node `n` of a cluster siospec started; the URL stays the same.
pub type Restart<'a> = &'a dyn Fn(usize) -> Restarting<'a>;

/// A restart under way.
pub type Restarting<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// One case.
pub struct Case {
    /// Stable id.
    pub id: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The requirement it checks.
    pub requirement: &'static str,
    run: for<'a> fn(&'a Cx<'a>) -> Pin<Box<dyn Future<Output = Seen> + 'a>>,
}

/// A case's verdict and what it saw.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The case's id.
    pub id: &'static str,
    /// OK, FAILED, SKIPPED (the restart case, for nodes given by URL) or
    /// ERROR (a client could not join, a node did not restart).
    pub verdict: Verdict,
    /// What was seen, or why it was skipped.
    pub detail: String,
    /// How long it took.
    pub millis: u64,
}

/// What a case runs against.
pub struct Cx<'a> {
    /// The nodes' URLs, A first.
    pub urls: &'a [String],
    /// Restarts a node, when siospec started them.
    pub restart: Option<Restart<'a>>,
}

/// The members of a case, by name.
pub struct Members(Vec<Member>);

impl Members {
    /// `per_node` members on every node, named `A1`, `A2`, `B1`…
    async fn join(cx: &Cx<'_>, per_node: usize) -> Result<Members, String> {
        let mut all = Vec::new();
        for (node, url) in cx.urls.iter().enumerate() {
            for i in 1..=per_node {
                let member = Member::join(url, node, format!("{}{i}", letter(node)))
                    .await
                    .map_err(|e| format!("ERROR: {e}"))?;
                all.push(member);
            }
        }
        Ok(Members(all))
    }

    fn get(&self, name: &str) -> &Member {
        self.0
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| &self.0[0])
    }

    /// Every member listens for [`LISTEN`].
    async fn listen(&mut self) {
        futures_util::future::join_all(self.0.iter_mut().map(|m| m.gather(LISTEN))).await;
    }

    /// Checks that exactly the members `expected` got `name` `args` once,
    /// and no other member got it.
    fn delivered(&self, name: &str, args: &str, expected: &[&str]) -> Seen {
        let mut wrong = Vec::new();
        let mut right = Vec::new();
        for m in &self.0 {
            let n = m.count(name, args);
            let want = usize::from(expected.contains(&m.name.as_str()));
            if n == want {
                right.push(format!("{} {n}", m.name));
            } else {
                wrong.push(format!("{} got it {n} time(s), expected {want}", m.name));
            }
        }
        if wrong.is_empty() {
            Ok(format!("`{name}` {args} received: {}", right.join(", ")))
        } else {
            Err(format!("`{name}` {args}: {}", wrong.join("; ")))
        }
    }

    /// Joins `room` with each of `names`. The case cannot be judged when a
    /// join is not acked `["ok"]`: the ack case judges that.
    async fn enter(&self, room: &str, names: &[&str]) -> Result<(), String> {
        for name in names {
            match self.get(name).emit_with_ack("join", &[room]).await {
                Ok(ack) if ack == r#"["ok"]"# => {}
                Ok(ack) => {
                    return Err(format!(
                        "SKIP: {name}'s join {room} was acked {ack}, not [\"ok\"], so the room \
                         cannot be known to be joined (see cluster.ack.answers)"
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "SKIP: {name}'s join {room} was not acked ({e}; see cluster.ack.answers)"
                    ))
                }
            }
        }
        Ok(())
    }
}

/// A case's result before its id and time are attached: `Ok` what was
/// seen, `Err` what went wrong.
type Seen = Result<String, String>;

fn letter(node: usize) -> char {
    char::from(b'A' + (node % 26) as u8)
}

/// The nodes' names in a sentence: `A and B`, `A, B and C`.
fn names_of(urls: &[String]) -> String {
    let names: Vec<String> = (0..urls.len()).map(|n| letter(n).to_string()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The catalogue, in the order it runs.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "cluster.broadcast.every-node",
            description: "A client on A emits `broadcast`; every client on every node gets `broadcast-message` once, the sender included.",
            requirement: "Broadcasting to a namespace reaches every socket of it on every node of the cluster, exactly once (socket.io: io.emit() with an adapter).",
            run: |cx| Box::pin(broadcast_every_node(cx)),
        },
        Case {
            id: "cluster.rooms.span-nodes",
            description: "A1 and B1 join a room; B2, not in it, emits `to-room`; A1 and B1 get `room-message` once, nobody else.",
            requirement: "A room's members on every node get what is sent to the room; sockets outside it never do.",
            run: |cx| Box::pin(rooms_span_nodes(cx)),
        },
        Case {
            id: "cluster.to-room.excludes-sender",
            description: "A1, A2 and B1 join a room; A1 emits `to-room`; A1 never gets it (who else does is cluster.rooms.span-nodes's rule).",
            requirement: "socket.to(room).emit() excludes the sending socket, on its node and every other.",
            run: |cx| Box::pin(to_room_excludes_sender(cx)),
        },
        Case {
            id: "cluster.ack.answers",
            description: "A client on each node emits `join` and `broadcast` with an ack; each is acked `[\"ok\"]`.",
            requirement: "Acknowledgements are answered by the node the client is connected to, in a cluster as alone.",
            run: |cx| Box::pin(ack_answers(cx)),
        },
        Case {
            id: "cluster.restart.membership-kept",
            description: "A1 joins a room; node B restarts; a new client on B emits `to-room`; A1 gets it once.",
            requirement: "A node that restarts rejoins the cluster, and the rooms kept on the other nodes still receive from it (the adapter keeps each node's membership on that node).",
            run: |cx| Box::pin(restart_membership_kept(cx)),
        },
    ]
}

async fn broadcast_every_node(cx: &Cx<'_>) -> Seen {
    let mut m = Members::join(cx, 2).await?;
    m.get("A1").emit("broadcast", &["cluster-1"]).await?;
    m.listen().await;
    let everyone: Vec<String> = m.0.iter().map(|x| x.name.clone()).collect();
    let everyone: Vec<&str> = everyone.iter().map(String::as_str).collect();
    m.delivered("broadcast-message", r#"["cluster-1"]"#, &everyone)
}

async fn rooms_span_nodes(cx: &Cx<'_>) -> Seen {
    let mut m = Members::join(cx, 2).await?;
    m.enter("span", &["A1", "B1"]).await?;
    m.get("B2").emit("to-room", &["span", "cluster-2"]).await?;
    m.listen().await;
    m.delivered("room-message", r#"["cluster-2"]"#, &["A1", "B1"])
}

async fn to_room_excludes_sender(cx: &Cx<'_>) -> Seen {
    let mut m = Members::join(cx, 2).await?;
    m.enter("except", &["A1", "A2", "B1"]).await?;
    m.get("A1")
        .emit("to-room", &["except", "cluster-3"])
        .await?;
    m.listen().await;
    // The rule is the sender's: who else got it is the rooms case's.
    let counts: Vec<String> =
        m.0.iter()
            .map(|x| format!("{} {}", x.name, x.count("room-message", r#"["cluster-3"]"#)))
            .collect();
    match m.get("A1").count("room-message", r#"["cluster-3"]"#) {
        0 => Ok(format!(
            "the sender A1 did not get `room-message` [\"cluster-3\"] (received: {})",
            counts.join(", ")
        )),
        n => Err(format!(
            "the sender A1 got its own `room-message` [\"cluster-3\"] {n} time(s) (received: {})",
            counts.join(", ")
        )),
    }
}

async fn ack_answers(cx: &Cx<'_>) -> Seen {
    let m = Members::join(cx, 1).await?;
    let mut seen = Vec::new();
    for member in &m.0 {
        let asks: [(&str, &[&str]); 2] = [("join", &["acks"]), ("broadcast", &["cluster-4"])];
        for (event, args) in asks {
            let ack = member.emit_with_ack(event, args).await?;
            if ack != r#"["ok"]"# {
                return Err(format!("{}'s `{event}` was acked {ack}", member.name));
            }
            seen.push(format!("{} {event}", member.name));
        }
    }
    Ok(format!("acked [\"ok\"]: {}", seen.join(", ")))
}

async fn restart_membership_kept(cx: &Cx<'_>) -> Seen {
    let Some(restart) = cx.restart else {
        return Err(SKIP_RESTART.to_owned());
    };
    let a1 = Member::join(&cx.urls[0], 0, "A1".to_owned())
        .await
        .map_err(|e| format!("ERROR: {e}"))?;
    let mut m = Members(vec![a1]);
    m.enter("kept", &["A1"]).await?;
    restart(1)
        .await
        .map_err(|e| format!("ERROR: node B did not restart: {e}"))?;
    let b = Member::join(&cx.urls[1], 1, "B1".to_owned()).await?;
    m.0.push(b);
    m.get("B1").emit("to-room", &["kept", "cluster-5"]).await?;
    m.listen().await;
    m.delivered("room-message", r#"["cluster-5"]"#, &["A1"])
}

/// Why the restart case is skipped when the nodes are given by URL.
const SKIP_RESTART: &str = "SKIP: the nodes were given by URL; siospec restarts only nodes it starts (`siospec test cluster --nodes rust,node`)";

/// Runs every case against the nodes of `cx` (at least two), telling
/// `progress` about each as it ends.
pub async fn run<'a>(cx: &'a Cx<'a>, progress: &dyn Fn(&Case, &Outcome)) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for case in cases() {
        let started = Instant::now();
        let result = (case.run)(cx).await;
        let (verdict, detail) = match result {
            Ok(seen) => (Verdict::Ok, seen),
            Err(why) if why.starts_with("SKIP: ") => (Verdict::Skipped, why[6..].to_owned()),
            Err(why) if why.starts_with("ERROR: ") => (Verdict::Error, why[7..].to_owned()),
            Err(why) => (Verdict::Failed, why),
        };
        let outcome = Outcome {
            id: case.id,
            verdict,
            detail,
            millis: started.elapsed().as_millis() as u64,
        };
        progress(&case, &outcome);
        outcomes.push(outcome);
    }
    outcomes
}

/// The nodes in a heading: `A http://… and B http://…`.
pub fn describe(urls: &[String]) -> String {
    let listed: Vec<String> = urls
        .iter()
        .enumerate()
        .map(|(n, u)| format!("{} {u}", letter(n)))
        .collect();
    format!("{} ({})", names_of(urls), listed.join(", "))
}
