//! `siospec test cluster`: the cluster cases (src/cluster) against nodes
//! given by URL, or a cluster siospec starts (Redis and the nodes).

use std::path::PathBuf;

use clap::Args;
use siospec::cluster::{self, nodes, Cx};
use siospec::Verdict;
use tokio::sync::Mutex;

use super::{EXIT_HARNESS, EXIT_OK};

/// Where the cluster report goes unless told.
const DEFAULT_REPORT_DIR: &str = "siospec-reports/cluster";

#[derive(Debug, Args)]
pub(super) struct ClusterArgs {
    /// A node of the cluster: http://HOST:PORT (its Socket.IO server at
    /// /socket.io/, following harness/CONTRACT.md). Two or three; the first
    /// is A.
    #[arg(long, value_name = "URL", required_unless_present = "nodes")]
    url: Vec<String>,
    /// Start the cluster instead: Debian's redis-server on a free port and
    /// one node of each kind listed, sharing it through
    /// @socket.io/redis-adapter's protocol: `rust` (the reference server,
    /// `siospec serve --redis`), `node` (harness/peers/node with
    /// @socket.io/redis-adapter). E.g. `--nodes rust,node` for a mixed
    /// cluster.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "KINDS",
        conflicts_with = "url"
    )]
    nodes: Vec<String>,
    /// Folder of the Node peer (default: harness/peers/node, or
    /// $SIOSPEC_NODE_PEER).
    #[arg(long, value_name = "DIR")]
    node_peer: Option<PathBuf>,
    /// Write cluster.json here.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    report_dir: PathBuf,
}

/// Runs `siospec test cluster`; returns the exit status: 0 every case OK
/// (or SKIPPED), 1 a case FAILED, 2 usage or harness error.
pub(super) async fn cluster(args: ClusterArgs) -> i32 {
    let started;
    let urls;
    let mut kinds = Vec::new();
    let restart_fn;
    let outcomes = if args.nodes.is_empty() {
        if !(2..=3).contains(&args.url.len()) {
            eprintln!("siospec test cluster: give two or three --url, one per node");
            return EXIT_HARNESS;
        }
        urls = args.url.clone();
        // A node that is not there is a usage error, not five failed cases.
        for (n, url) in urls.iter().enumerate() {
            if let Err(e) = cluster::Member::join(url, n, "a client".to_owned()).await {
                eprintln!(
                    "siospec test cluster: {e}. Each --url must be a node's Socket.IO server \
                     (http://HOST:PORT, following harness/CONTRACT.md)."
                );
                return EXIT_HARNESS;
            }
        }
        eprintln!(
            "siospec: cluster cases against {}",
            cluster::describe(&urls)
        );
        let cx = Cx {
            urls: &urls,
            restart: None,
        };
        cluster::run(&cx, &print_progress).await
    } else {
        let peer = args
            .node_peer
            .clone()
            .unwrap_or_else(siospec::peer::node_peer_dir);
        started = match nodes::Cluster::start(&args.nodes, peer).await {
            Ok(c) => Mutex::new(c),
            Err(e) => {
                eprintln!("siospec test cluster: {e}");
                return EXIT_HARNESS;
            }
        };
        {
            let c = started.lock().await;
            urls = c.urls();
            kinds = c.kinds();
            eprintln!(
                "siospec: cluster cases against {} over {} ({})",
                cluster::describe(&urls),
                c.redis.url,
                kinds.join(", ")
            );
        }
        let running = &started;
        restart_fn = move |n: usize| -> cluster::Restarting<'_> {
            Box::pin(async move { running.lock().await.restart(n).await })
        };
        let cx = Cx {
            urls: &urls,
            restart: Some(&restart_fn),
        };
        cluster::run(&cx, &print_progress).await
    };
    let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
    println!(
        "\n{} OK, {} FAILED, {} SKIPPED, {} ERROR",
        count(Verdict::Ok),
        count(Verdict::Failed),
        count(Verdict::Skipped),
        count(Verdict::Error)
    );
    let report = serde_json::json!({
        "schema": "siospec-cluster/1",
        "nodes": urls,
        "kinds": kinds,
        "cases": outcomes,
    });
    let written = std::fs::create_dir_all(&args.report_dir).and_then(|()| {
        std::fs::write(
            args.report_dir.join("cluster.json"),
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        )
    });
    if let Err(e) = written {
        eprintln!(
            "siospec test cluster: cannot write {}: {e}",
            args.report_dir.display()
        );
        return EXIT_HARNESS;
    }
    if count(Verdict::Error) > 0 {
        EXIT_HARNESS
    } else if count(Verdict::Failed) > 0 {
        1
    } else {
        EXIT_OK
    }
}

fn print_progress(case: &cluster::Case, outcome: &cluster::Outcome) {
    println!(
        "{:<8} {} ({} ms)",
        outcome.verdict.to_string(),
        case.id,
        outcome.millis
    );
    if outcome.verdict != Verdict::Ok {
        println!("         {}", case.requirement);
    }
    println!("         {}", outcome.detail);
}
