//! The whole catalogue against the embedded reference server: nothing
//! FAILED, and every deviation is one baselines/rust.json lists with a reason.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_catalogue_against_the_reference_server() {
    common::whole_catalogue(&common::peer("rust"), "rust", "baselines/rust.json").await;
}
