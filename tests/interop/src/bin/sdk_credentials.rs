//! `sdk_credentials [iam]`: the unmodified AWS SDK for Rust, configured from the environment
//! alone (`aws_config::defaults`: its default credential chain, retry settings and endpoints),
//! resolving credentials once; with `iam`, then calling IAM `ListRoles` with them. Prints
//! `OK <expiration epoch seconds or ->` or `ERR <error, one line>` and exits 0 either way.
//! Run by `bench/faults/switchboard_faults.py` against `awsid serve` under faults.

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::ProvideCredentials;

fn one_line(s: String) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iam = std::env::args().nth(1).as_deref() == Some("iam");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let provider = config
        .credentials_provider()
        .expect("the default chain is a credentials provider");
    let creds = match provider.provide_credentials().await {
        Ok(c) => c,
        Err(e) => {
            println!(
                "ERR {}",
                one_line(aws_sdk_sts::error::DisplayErrorContext(e).to_string())
            );
            return;
        }
    };
    if iam {
        match aws_sdk_iam::Client::new(&config).list_roles().send().await {
            Ok(_) => println!("OK -"),
            Err(e) => println!(
                "ERR {}",
                one_line(aws_sdk_iam::error::DisplayErrorContext(e).to_string())
            ),
        }
        return;
    }
    let expiry = creds
        .expiry()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs().to_string())
        .unwrap_or_else(|| "-".into());
    println!("OK {expiry}");
}
