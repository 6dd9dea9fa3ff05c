//! The Rust SDK's `credential_process` support (`aws-config`, feature `credentials-process`) with
//! `credential_process = awsid credential-process --profile P`: a two-hop role profile resolved
//! by the built `awsid` binary against the identity plane, the credentials used for an STS call
//! by the SDK, and a second resolution answered from awsid's cache (no new AssumeRole).
//!
//! The SDK runs the command with `sh -c` in the test process's environment, so the command line
//! names the home and endpoint awsid must use (`env -i …`).

mod common;

use awsid_interop::seed::{assumed, ACCOUNT, USER1_KEY};
use common::{arn_of, Home, Plane};

const ROLES: &str = "[profile user1]\nregion = us-east-1\n\n\
    [profile hop1]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
    source_profile = user1\nregion = us-east-1\n\n\
    [profile hop2]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
    source_profile = hop1\nrole_session_name = via-awsid\nregion = us-east-1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_process_is_awsid() {
    let plane = Plane::start();
    let awsid = awsid_interop::awsid_bin();
    // awsid's own files: the roles and user1's keys, in a home of their own.
    let awsid_home = Home::new().config(ROLES).credentials(&format!(
        "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        USER1_KEY.0, USER1_KEY.1
    ));
    let root = awsid_home.dir.path().display().to_string();
    let command = format!(
        "env -i PATH=/usr/bin:/bin HOME={root} AWS_ENDPOINT_URL_STS={} {} credential-process --profile hop2",
        plane.sts_url(),
        awsid.display()
    );
    // The SDK's files: one profile whose credentials come from awsid.
    let sdk_home = Home::new()
        .config(&format!(
            "[profile cp]\ncredential_process = {command}\nregion = us-east-1\n"
        ))
        .var("AWS_PROFILE", "cp")
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());

    let creds = sdk_home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("the SDK's profile provider: {e}"));
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert!(creds.session_token().is_some());
    assert!(
        creds.expiry().is_some(),
        "the Expiration awsid prints is read"
    );
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "defaultrole", "via-awsid")
    );
    let assumed_once = plane.server.state.metrics.count("sts", "AssumeRole");
    assert_eq!(assumed_once, 2, "one AssumeRole per hop");

    // A second SDK resolution runs awsid again, which answers from its cache.
    let again = sdk_home.chain_credentials().await.expect("cached");
    assert_eq!(again.access_key_id(), creds.access_key_id());
    assert_eq!(plane.server.state.metrics.count("sts", "AssumeRole"), 2);
}
