//! `awsconfig-peer [PROFILE]`: resolves credentials with the AWS SDK for Rust's default chain
//! (`aws_config::defaults(...).load()` then the shared credentials provider), for PROFILE when
//! given (like `--profile`), and prints the access key id. Exit status 1 with the SDK's error
//! on stderr when resolution fails.

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http());
    if let Some(profile) = std::env::args().nth(1) {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    let Some(provider) = config.credentials_provider() else {
        eprintln!("awsconfig-peer: no credentials provider");
        std::process::exit(1);
    };
    match provider.provide_credentials().await {
        Ok(creds) => println!("{}", creds.access_key_id()),
        Err(e) => {
            eprintln!("awsconfig-peer: {}", error_chain(&e));
            std::process::exit(1);
        }
    }
}

/// The error and its sources on one line (the SDK's `Display` alone names only the outer layer).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
