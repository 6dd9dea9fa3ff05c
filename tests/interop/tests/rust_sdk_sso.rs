//! The Rust SDK's SSO credential provider (`aws-config` with the `sso` feature) on the token
//! cache `awsid sso login` writes, against the identity plane's portal, SSO-OIDC and STS: seed
//! 004's two IAM Identity Center config files, and the SDK's refresh of an sso-session token
//! close to expiry.
//!
//! The plane's instance auto-approves logins (world knob `auto_approve`), so the built `awsid`
//! binary logs in without a browser.

mod common;

use awsid_interop::{expect_success, run_awsid};
use common::{arn_of, Home, Plane};

const USER: &str = "sso-user@example.com";

const SEED_SSO_CONFIG: &str = "[default]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = readOnly\nregion = us-west-2\noutput = text\n\n[profile user1]\nsso_session = my-sso\nsso_account_id = 444455556666\nsso_role_name = readOnly\nregion = us-east-1\noutput = json\n\n[sso-session my-sso]\nsso_region = us-east-1\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_registration_scopes = sso:account:access\n";

const SEED_LEGACY_CONFIG: &str = "[default]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = readOnly\nregion = us-west-2\noutput = text\n\n[profile user1]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 444455556666\nsso_role_name = readOnly\nregion = us-east-1\noutput = json\n";

/// The default world with its Identity Center instance approving every login as its user.
fn plane() -> Plane {
    let text = awsid_interop::default_world_text();
    let anchor = "start_url = \"https://my-sso-portal.awsapps.com/start\"\n";
    assert!(
        text.contains(anchor),
        "the default world's SSO instance moved"
    );
    Plane::from_text(&text.replace(anchor, &format!("{anchor}auto_approve = \"{USER}\"\n")))
}

fn home(plane: &Plane, config: &str, profile: &str) -> Home {
    let url = plane.sts_url();
    Home::new()
        .var("AWS_ENDPOINT_URL_STS", url.clone())
        .var("AWS_ENDPOINT_URL_SSO", url.clone())
        .var("AWS_ENDPOINT_URL_SSO_OIDC", url)
        .var("AWS_PROFILE", profile)
        .unset("AWS_REGION")
        .config(config)
}

fn login(home: &Home) {
    let vars = home.vars();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = run_awsid(&env, &["sso", "login", "--use-device-code", "--no-browser"]);
    let stdout = expect_success(&out, "awsid sso login");
    assert!(
        stdout.ends_with(
            "Successfully logged into Start URL: https://my-sso-portal.awsapps.com/start\n"
        ),
        "{stdout}"
    );
}

fn reserved_readonly(plane: &Plane, account: &str) -> String {
    let w = &plane.server.state.world();
    let inst = w
        .sso_instance("https://my-sso-portal.awsapps.com/start")
        .expect("the seed instance");
    let user = inst.user(USER).expect("the seed user");
    let a = inst
        .assignment(user, account, "readOnly")
        .expect("assigned");
    format!(
        "arn:aws:sts::{account}:assumed-role/{}/{USER}",
        w.roles[a.role].name
    )
}

#[tokio::test]
async fn sdk_uses_the_token_of_an_sso_session_login() {
    let plane = plane();
    for (profile, account) in [("user1", "444455556666"), ("default", "111122223333")] {
        let home = home(&plane, SEED_SSO_CONFIG, profile);
        login(&home);
        let creds = home
            .chain_credentials()
            .await
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert!(creds.expiry().is_some());
        assert_eq!(
            arn_of(&plane, &creds).await,
            reserved_readonly(&plane, account)
        );
    }
}

#[tokio::test]
async fn sdk_uses_the_token_of_a_legacy_login() {
    let plane = plane();
    let home = home(&plane, SEED_LEGACY_CONFIG, "user1");
    login(&home);
    let token = home
        .dir
        .path()
        .join(".aws/sso/cache/c7aaaf71fcc8777ae2475525ed049d39fe16c484.json");
    assert!(token.is_file());
    let creds = home
        .chain_credentials()
        .await
        .expect("legacy SSO credentials");
    assert_eq!(
        arn_of(&plane, &creds).await,
        reserved_readonly(&plane, "444455556666")
    );
}

#[tokio::test]
async fn sdk_refreshes_an_sso_session_token_close_to_expiry() {
    let plane = plane();
    let home = home(&plane, SEED_SSO_CONFIG, "user1");
    login(&home);
    let path = home
        .dir
        .path()
        .join(".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json");
    let mut token: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let before = token.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let soon = awsid_server::state::iso8601(now + 120);
    token["expiresAt"] = soon.clone().into();
    std::fs::write(&path, token.to_string()).unwrap();
    let creds = home
        .chain_credentials()
        .await
        .expect("refreshed SSO credentials");
    assert_eq!(
        arn_of(&plane, &creds).await,
        reserved_readonly(&plane, "444455556666")
    );
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_ne!(
        after["accessToken"], before["accessToken"],
        "the SDK refreshed the token"
    );
    assert_ne!(
        after["refreshToken"], before["refreshToken"],
        "and stored the rotated one"
    );
    assert_ne!(after["expiresAt"], soon.as_str());
}
