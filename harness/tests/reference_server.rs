//! The whole catalogue against the embedded reference server, over TLS as
//! the matrix runs it (so that the eio4.tls cases judge it too; tests/tls.rs
//! holds the verdicts over http the same): nothing FAILED, and every
//! deviation is one baselines/rust.json lists with a reason.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_catalogue_against_the_reference_server() {
    common::whole_catalogue(
        &common::peer_over_tls("rust"),
        "rust",
        "baselines/rust.json",
    )
    .await;
}
