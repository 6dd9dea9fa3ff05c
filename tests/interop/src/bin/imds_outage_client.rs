//! `imds_outage_client awsid|chain|sdk <interval seconds> <total seconds>`: a long-lived client
//! of instance (or any profile's) credentials, asking for them every `interval` seconds for `total` seconds of real
//! time, each time also calling STS `GetCallerIdentity` with what it got (so a credential the
//! service no longer accepts shows). Run by `bench/faults/imds_outage.py` through a real
//! outage of `awsid serve`'s IMDS (set through the fault switchboard's admin API).
//!
//! * `awsid`: awsid's own refresh holder (`credentials::refresh::SharedCredentials`) over its
//!   IMDS provider (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, the default IMDS rules), notices on
//!   stderr as a program using the library gets them;
//! * `chain`: the holder awsid's own chain resolves for the environment's profile
//!   (`Session::resolve`, e.g. an `sso_session` profile: the SSO provider with its token
//!   refresh), resolved once and then asked again on every call — the long-lived form of
//!   what each awsid command does once (`bench/faults/sso_refresh_faults.py --long-lived`);
//! * `sdk`: the unmodified AWS SDK for Rust: `aws_config::defaults` (its default chain, which
//!   reaches IMDS), `provide_credentials()` on the chain, and the STS call through an SDK
//!   client with the default lazy identity cache.
//!
//! Prints one JSON line per call: `t` (epoch seconds), `ok`, `key` (the access key id, not
//! secret), `expiry` (epoch seconds of the expiry handed out), `sts` (`ok` or the error code),
//! `error`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::{Credentials as SdkCredentials, ProvideCredentials};
use aws_sdk_sts::error::ProvideErrorMetadata;

fn one_line(s: String) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn line(ok: bool, key: &str, expiry: Option<f64>, sts: &str, error: &str) {
    let out = serde_json::json!({
        "t": now_epoch(), "ok": ok, "key": key, "expiry": expiry, "sts": sts, "error": error,
    });
    println!("{out}");
}

/// `GetCallerIdentity` through `client`: `ok` or the error code (or its text).
async fn caller_identity(client: &aws_sdk_sts::Client) -> String {
    match client.get_caller_identity().send().await {
        Ok(_) => "ok".into(),
        Err(e) => e
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| one_line(aws_sdk_sts::error::DisplayErrorContext(e).to_string())),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: imds_outage_client awsid|chain|sdk <interval seconds> <total seconds>";
    let (mode, interval, total) = match args.as_slice() {
        [_, m, i, t] => (
            m.clone(),
            i.parse::<u64>().expect(usage),
            t.parse::<u64>().expect(usage),
        ),
        _ => panic!("{usage}"),
    };
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    let start = Instant::now();
    let mut next = start;
    let awsid = (mode == "awsid").then(|| {
        let env = awsid_profile::Env::from_process();
        let imds = awsid_credentials::imds::ImdsConfig::from_settings(
            &env,
            &awsid_profile::Properties::default(),
        )
        .expect("IMDS settings");
        Arc::new(awsid_credentials::refresh::SharedCredentials::deferred(
            Arc::new(awsid_credentials::imds::ImdsProvider::new(imds)),
        ))
    });
    let provider = config
        .credentials_provider()
        .expect("the default chain is a credentials provider");
    // `chain`: resolved on the first call that succeeds, then held.
    let mut chain: Option<Arc<awsid_credentials::refresh::SharedCredentials>> = None;
    while start.elapsed() < Duration::from_secs(total) {
        let mut holder = awsid.clone();
        if mode == "chain" {
            if chain.is_none() {
                let resolved = tokio::task::spawn_blocking(|| {
                    let env = awsid_profile::Env::from_process();
                    awsid_credentials::Session::load(&env, None)
                        .map_err(|e| e.to_string())?
                        .resolve(&awsid_credentials::ResolveOptions::default())
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| "no credentials".to_string())
                })
                .await
                .expect("the blocking task");
                match resolved {
                    Ok(r) => chain = Some(r.source),
                    Err(e) => line(false, "", None, "-", &one_line(e)),
                }
            }
            if chain.is_none() {
                next += Duration::from_secs(interval);
                tokio::time::sleep_until(next.into()).await;
                continue;
            }
            holder = chain.clone();
        }
        match &holder {
            Some(holder) => {
                let holder = holder.clone();
                let got = tokio::task::spawn_blocking(move || holder.get())
                    .await
                    .expect("the blocking task");
                match got {
                    Ok(c) => {
                        let creds = SdkCredentials::new(
                            c.access_key_id.clone(),
                            c.secret_access_key.expose(),
                            c.session_token.as_ref().map(|t| t.expose().to_string()),
                            None,
                            "awsid",
                        );
                        let client = aws_sdk_sts::Client::from_conf(
                            aws_sdk_sts::config::Builder::from(&config)
                                .credentials_provider(creds)
                                .build(),
                        );
                        let expiry = c.expiry.map(|e| e.unix_timestamp() as f64);
                        line(
                            true,
                            &c.access_key_id,
                            expiry,
                            &caller_identity(&client).await,
                            "",
                        );
                    }
                    Err(e) => line(false, "", None, "-", &one_line(e.to_string())),
                }
            }
            None => match provider.provide_credentials().await {
                Ok(c) => {
                    let expiry = c
                        .expiry()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map(|d| d.as_secs_f64());
                    line(
                        true,
                        c.access_key_id(),
                        expiry,
                        &caller_identity(&sts).await,
                        "",
                    );
                }
                Err(e) => line(
                    false,
                    "",
                    None,
                    &caller_identity(&sts).await,
                    &one_line(aws_sdk_sts::error::DisplayErrorContext(e).to_string()),
                ),
            },
        }
        next += Duration::from_secs(interval);
        tokio::time::sleep_until(next.into()).await;
    }
}
