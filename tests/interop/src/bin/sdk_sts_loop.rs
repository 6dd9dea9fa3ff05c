//! `sdk_sts_loop SECONDS`: the unmodified AWS SDK for Rust, configured from the environment
//! alone (`aws_config::defaults`: its default credential chain, so the container endpoint or
//! IMDS that `awsid exec --server ecs|imds` advertises), calling `sts get-caller-identity`
//! every 100 ms for SECONDS seconds with one client. Prints
//! `calls=N keys=K arn=ARN` (K: distinct access key ids the chain handed out) and exits 0, or
//! prints the first error and exits 1. Run by `tests/rust_sdk_exec.rs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::ProvideCredentials;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: sdk_sts_loop SECONDS");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let provider = config
        .credentials_provider()
        .expect("the default chain is a credentials provider");
    let sts = aws_sdk_sts::Client::new(&config);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut calls, mut keys, mut arn) = (0u32, HashSet::new(), String::new());
    while Instant::now() < deadline {
        match sts.get_caller_identity().send().await {
            Ok(out) => arn = out.arn().unwrap_or_default().to_string(),
            Err(e) => {
                println!(
                    "error after {calls} calls: {}",
                    aws_sdk_sts::error::DisplayErrorContext(e)
                );
                std::process::exit(1);
            }
        }
        calls += 1;
        match provider.provide_credentials().await {
            Ok(c) => {
                keys.insert(c.access_key_id().to_string());
            }
            Err(e) => {
                println!("error after {calls} calls: credentials: {e}");
                std::process::exit(1);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("calls={calls} keys={} arn={arn}", keys.len());
}
