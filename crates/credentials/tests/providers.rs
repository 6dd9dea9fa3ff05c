//! The network providers end to end against fake STS / SSO endpoints on 127.0.0.1: role
//! chains and the cache, MFA, web identity, SSO (legacy and sso-session with token refresh).

#[path = "../src/testing.rs"]
mod testing;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use awsid_credentials::cache::JsonFileCache;
use awsid_credentials::chain::ChainRunner;
use awsid_credentials::plan::plan;
use awsid_credentials::profiles::{properties, MemoryProfiles};
use awsid_credentials::services::Services;
use awsid_credentials::{CredentialsError, MfaPrompt};
use awsid_profile::{Env, Properties};
use testing::{FakeServer, Recorded, Reply};

/// A fake STS: AssumeRole returns `ASIA<role name>` keys valid `lifetime` seconds.
fn fake_sts(lifetime: i64) -> FakeServer {
    FakeServer::start(move |req: &Recorded| {
        let expiration = awsid_credentials::time::format_z(
            awsid_credentials::time::now() + time::Duration::seconds(lifetime),
        );
        let action = req.param("Action").unwrap_or_default();
        let role = req.param("RoleArn").unwrap_or_default();
        let name = role.rsplit('/').next().unwrap_or("x").to_uppercase();
        Reply::ok(format!(
            "<{action}Response><{action}Result><Credentials><AccessKeyId>ASIA{name}</AccessKeyId><SecretAccessKey>sec{name}</SecretAccessKey><SessionToken>tok{name}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:{name}</AssumedRoleId><Arn>arn:aws:sts::210987654321:assumed-role/{name}/s</Arn></AssumedRoleUser></{action}Result></{action}Response>"
        ))
    })
}

struct Fixture {
    _dir: tempfile::TempDir,
    cache_dir: std::path::PathBuf,
    sso_dir: std::path::PathBuf,
    env: Env,
}

fn fixture(extra: &[(&str, String)]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]);
    for (k, v) in extra {
        env = env.with(*k, v.clone());
    }
    Fixture {
        cache_dir: dir.path().join("cli-cache"),
        sso_dir: dir.path().join("sso-cache"),
        _dir: dir,
        env,
    }
}

fn services(f: &Fixture, profile: &Properties, mfa: Option<Arc<dyn MfaPrompt>>) -> Arc<Services> {
    let mut s = Services::new(
        f.env.clone(),
        profile.clone(),
        None,
        Some("us-east-1".into()),
    )
    .with_backoff(Duration::from_millis(1));
    s.cli_cache = Some(JsonFileCache::new(&f.cache_dir));
    s.sso_cache = Some(JsonFileCache::new(&f.sso_dir));
    if let Some(m) = mfa {
        s.mfa = m;
    }
    Arc::new(s)
}

fn resolve(
    f: &Fixture,
    data: &MemoryProfiles,
    name: &str,
    mfa: Option<Arc<dyn MfaPrompt>>,
) -> Result<awsid_credentials::Resolved, CredentialsError> {
    let p = plan(data, &f.env, name, true, true)?;
    let props = awsid_credentials::ProfileData::profile(data, name)
        .cloned()
        .unwrap_or_default();
    ChainRunner::new(services(f, &props, mfa))
        .run(&p)
        .map(|r| r.expect("credentials"))
}

fn chain_profiles() -> MemoryProfiles {
    MemoryProfiles::new()
        .config(
            "chain",
            properties([
                ("role_arn", "arn:aws:iam::1:role/chainrole"),
                ("source_profile", "role"),
            ]),
        )
        .config(
            "role",
            properties([
                ("role_arn", "arn:aws:iam::1:role/midrole"),
                ("source_profile", "base"),
            ]),
        )
        .credentials(
            "base",
            properties([
                ("aws_access_key_id", "AKIDBASE"),
                ("aws_secret_access_key", "basesecret"),
            ]),
        )
}

#[test]
fn role_chain_signs_each_hop_with_the_previous_and_caches_every_hop() {
    let sts = fake_sts(3600);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    let r = resolve(&f, &chain_profiles(), "chain", None).unwrap();
    assert_eq!(r.credentials.access_key_id, "ASIACHAINROLE");
    assert_eq!(r.credentials.method, "assume-role");
    assert_eq!(r.credentials.account_id.as_deref(), Some("210987654321"));
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].param("RoleArn").unwrap(),
        "arn:aws:iam::1:role/midrole"
    );
    assert!(reqs[0]
        .header("authorization")
        .unwrap()
        .contains("Credential=AKIDBASE/"));
    assert!(reqs[1]
        .header("authorization")
        .unwrap()
        .contains("Credential=ASIAMIDROLE/"));
    assert_eq!(reqs[1].header("x-amz-security-token"), Some("tokMIDROLE"));
    let session = reqs[0].param("RoleSessionName").unwrap();
    assert!(session.starts_with("botocore-session-"), "{session}");
    // One entry per hop, each with its single-flight lock file beside it.
    let mut names: Vec<String> = std::fs::read_dir(&f.cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names[0].ends_with(".json") && names[1] == format!("{}.lock", names[0]));
    assert!(names[2].ends_with(".json") && names[3] == format!("{}.lock", names[2]));

    // Everything cached: no call at all.
    let r = resolve(&f, &chain_profiles(), "chain", None).unwrap();
    assert_eq!(r.credentials.access_key_id, "ASIACHAINROLE");
    assert_eq!(sts.requests().len(), 2);

    // Only the final hop missing: one call, signed with the cached middle credentials.
    for e in std::fs::read_dir(&f.cache_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json")
            && std::fs::read_to_string(&p)
                .unwrap()
                .contains("ASIACHAINROLE")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    resolve(&f, &chain_profiles(), "chain", None).unwrap();
    let reqs = sts.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[2]
        .header("authorization")
        .unwrap()
        .contains("Credential=ASIAMIDROLE/"));
}

#[test]
fn parameters_and_corrupt_cache_entry() {
    let sts = fake_sts(3600);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    let data = MemoryProfiles::new()
        .config(
            "p",
            properties([
                ("role_arn", "arn:aws:iam::123456789012:role/myrole"),
                ("role_session_name", "mysess"),
                ("external_id", "ext-1"),
                ("duration_seconds", "1800"),
                ("source_profile", "base"),
            ]),
        )
        .credentials(
            "base",
            properties([("aws_access_key_id", "AK"), ("aws_secret_access_key", "S")]),
        );
    // A corrupt entry under this key is treated as a miss and overwritten.
    std::fs::create_dir_all(&f.cache_dir).unwrap();
    let file = f
        .cache_dir
        .join("4b997ebed5cd9a9a1e9db04b1deccbf2952c8c67.json");
    std::fs::write(&file, "{garbage").unwrap();
    resolve(&f, &data, "p", None).unwrap();
    let req = &sts.requests()[0];
    assert_eq!(
        req.text(),
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmyrole&RoleSessionName=mysess&DurationSeconds=1800&ExternalId=ext-1"
    );
    let entry = std::fs::read_to_string(&file).unwrap();
    assert!(
        entry.starts_with("{\"Credentials\": {\"AccessKeyId\": \"ASIAMYROLE\""),
        "{entry}"
    );
    assert!(!entry.ends_with('\n'));
}

#[test]
fn a_failed_cache_write_is_reported_as_a_write() {
    // The cache directory's place is taken by a file: the entry cannot be written. The error
    // says so (it used to read "Unable to read credential cache file"), naming the path that
    // failed, and the file is left as it was.
    let sts = fake_sts(3600);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    std::fs::write(&f.cache_dir, "not a directory").unwrap();
    let err = resolve(&f, &chain_profiles(), "role", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Unable to write credential cache file {}: File exists (os error 17)",
            f.cache_dir.display()
        )
    );
    assert_eq!(sts.requests().len(), 1, "STS was called once");
    assert_eq!(
        std::fs::read_to_string(&f.cache_dir).unwrap(),
        "not a directory"
    );
}

#[test]
fn short_sessions_call_sts_on_every_access() {
    let sts = fake_sts(900);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    let r = resolve(&f, &chain_profiles(), "role", None).unwrap();
    assert_eq!(sts.requests().len(), 1);
    r.source.get().unwrap();
    r.source.get().unwrap();
    assert_eq!(sts.requests().len(), 3);
}

struct FixedPrompt {
    serials: Mutex<Vec<String>>,
}

impl MfaPrompt for FixedPrompt {
    fn code(&self, serial: &str) -> Result<String, CredentialsError> {
        self.serials.lock().unwrap().push(serial.to_string());
        Ok("123456".into())
    }
}

#[test]
fn mfa_code_is_prompted_once_and_refresh_is_refused() {
    let sts = fake_sts(900);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    let data = MemoryProfiles::new()
        .config(
            "mfa",
            properties([
                ("role_arn", "arn:aws:iam::123456789012:role/mfarole"),
                ("mfa_serial", "arn:aws:iam::123456789012:mfa/user"),
                ("source_profile", "base"),
            ]),
        )
        .credentials(
            "base",
            properties([("aws_access_key_id", "AK"), ("aws_secret_access_key", "S")]),
        );
    let prompt = Arc::new(FixedPrompt {
        serials: Mutex::new(Vec::new()),
    });
    let r = resolve(&f, &data, "mfa", Some(prompt.clone())).unwrap();
    assert_eq!(r.credentials.access_key_id, "ASIAMFAROLE");
    assert_eq!(
        *prompt.serials.lock().unwrap(),
        vec!["arn:aws:iam::123456789012:mfa/user".to_string()]
    );
    let req = &sts.requests()[0];
    assert_eq!(
        req.param("SerialNumber").as_deref(),
        Some("arn:aws:iam::123456789012:mfa/user")
    );
    assert_eq!(req.param("TokenCode").as_deref(), Some("123456"));
    // 900 s sessions are due for refresh at once: the refresh must not prompt again.
    assert_eq!(
        r.source.get().map(|c| c.access_key_id).unwrap(),
        "ASIAMFAROLE",
        "advisory window: the refusal is logged and the old credentials kept"
    );
    assert_eq!(prompt.serials.lock().unwrap().len(), 1);
    assert_eq!(sts.requests().len(), 1);
}

#[test]
fn web_identity_is_unsigned_and_sends_the_token_verbatim() {
    let sts = fake_sts(3600);
    let f = fixture(&[("AWS_ENDPOINT_URL_STS", sts.url())]);
    let token = f._dir.path().join("token.jwt");
    std::fs::write(&token, "header.payload.sig\n").unwrap();
    let data = MemoryProfiles::new().config(
        "web",
        properties([
            ("role_arn", "arn:aws:iam::123456789012:role/webrole"),
            ("web_identity_token_file", token.to_str().unwrap()),
        ]),
    );
    let r = resolve(&f, &data, "web", None).unwrap();
    assert_eq!(r.credentials.method, "assume-role-with-web-identity");
    let req = &sts.requests()[0];
    assert_eq!(
        req.param("Action").as_deref(),
        Some("AssumeRoleWithWebIdentity")
    );
    assert_eq!(
        req.param("WebIdentityToken").as_deref(),
        Some("header.payload.sig\n")
    );
    assert_eq!(req.header("authorization"), None);
    assert!(f
        .cache_dir
        .join("c24255179c195b11f9a17672ae05d29ebf3fa3ca.json")
        .is_file());
}

#[test]
fn credential_source_without_credentials() {
    let f = fixture(&[]);
    let data = MemoryProfiles::new().config(
        "p",
        properties([
            ("role_arn", "arn:aws:iam::1:role/r"),
            ("credential_source", "Ec2InstanceMetadata"),
        ]),
    );
    assert_eq!(
        resolve(&f, &data, "p", None).unwrap_err().to_string(),
        "Error when retrieving credentials from Ec2InstanceMetadata: No credentials found in credential_source referenced in profile p"
    );
    let data = MemoryProfiles::new().config(
        "p",
        properties([
            ("role_arn", "arn:aws:iam::1:role/r"),
            ("credential_source", "Environment"),
        ]),
    );
    assert_eq!(
        resolve(&f, &data, "p", None).unwrap_err().to_string(),
        "Error when retrieving credentials from Environment: No credentials found in credential_source referenced in profile p"
    );
}

fn sso_server(calls: Arc<AtomicUsize>) -> FakeServer {
    FakeServer::start(move |req: &Recorded| {
        if req.path == "/token" {
            calls.fetch_add(1, Ordering::SeqCst);
            return Reply::ok(
                r#"{"accessToken":"NEWACCESS","expiresIn":28800,"refreshToken":"NEWREFRESH","tokenType":"Bearer"}"#,
            );
        }
        if req.header("x-amz-sso_bearer_token") == Some("EXPIREDONSERVER") {
            return Reply::new(401, r#"{"message":"Session token not found or invalid"}"#).header(
                "x-amzn-errortype",
                "UnauthorizedException:http://internal.amazon.com/",
            );
        }
        let ms = (awsid_credentials::time::now().unix_timestamp() + 3600) * 1000;
        Reply::ok(format!(
            r#"{{"roleCredentials":{{"accessKeyId":"ASIASSO","secretAccessKey":"s","sessionToken":"t","expiration":{ms}}}}}"#
        ))
    })
}

/// `profiles` plus the `modern` profile (Admin in 123456789012) through the `my-sso` session.
fn with_modern_sso(profiles: MemoryProfiles) -> MemoryProfiles {
    profiles
        .config(
            "modern",
            properties([
                ("sso_session", "my-sso"),
                ("sso_account_id", "123456789012"),
                ("sso_role_name", "Admin"),
            ]),
        )
        .sso_session(
            "my-sso",
            properties([
                ("sso_start_url", "https://my-sso-portal.awsapps.com/start"),
                ("sso_region", "us-east-1"),
            ]),
        )
}

#[test]
fn sso_legacy_and_sso_session_with_refresh() {
    let oidc_calls = Arc::new(AtomicUsize::new(0));
    let server = sso_server(oidc_calls.clone());
    let f = fixture(&[
        ("AWS_ENDPOINT_URL_SSO", server.url()),
        ("AWS_ENDPOINT_URL_SSO_OIDC", server.url()),
    ]);
    std::fs::create_dir_all(&f.sso_dir).unwrap();
    let future = awsid_credentials::time::format_z(
        awsid_credentials::time::now() + time::Duration::hours(2),
    );
    let soon = awsid_credentials::time::format_z(
        awsid_credentials::time::now() + time::Duration::minutes(5),
    );
    // Legacy: token file named after the start URL.
    std::fs::write(
        f.sso_dir.join("c7aaaf71fcc8777ae2475525ed049d39fe16c484.json"),
        format!(r#"{{"startUrl": "https://my-sso-portal.awsapps.com/start", "region": "us-east-1", "accessToken": "LEGACY", "expiresAt": "{future}"}}"#),
    )
    .unwrap();
    let data = with_modern_sso(MemoryProfiles::new().config(
        "legacy",
        properties([
            ("sso_start_url", "https://my-sso-portal.awsapps.com/start"),
            ("sso_region", "us-east-1"),
            ("sso_account_id", "123456789012"),
            ("sso_role_name", "ReadOnly"),
        ]),
    ));
    let r = resolve(&f, &data, "legacy", None).unwrap();
    assert_eq!(r.credentials.access_key_id, "ASIASSO");
    assert_eq!(r.credentials.method, "sso");
    assert_eq!(r.credentials.account_id.as_deref(), Some("123456789012"));
    let req = &server.requests()[0];
    assert_eq!(
        req.path,
        "/federation/credentials?role_name=ReadOnly&account_id=123456789012"
    );
    assert_eq!(req.header("x-amz-sso_bearer_token"), Some("LEGACY"));
    assert!(f
        .cache_dir
        .join("107af63d78e24f5ce0fbb60ccb8244f20f6e19e6.json")
        .is_file());

    // sso-session: the token has 5 minutes left and refresh data, so it is refreshed first.
    let token_file = f
        .sso_dir
        .join("0ad374308c5a4e22f723adf10145eafad7c4031c.json");
    std::fs::write(
        &token_file,
        format!(r#"{{"startUrl": "https://my-sso-portal.awsapps.com/start", "region": "us-east-1", "accessToken": "OLD", "expiresAt": "{soon}", "clientId": "CID", "clientSecret": "CSECRET", "registrationExpiresAt": "{future}", "refreshToken": "OLDREFRESH"}}"#),
    )
    .unwrap();
    resolve(&f, &data, "modern", None).unwrap();
    assert_eq!(oidc_calls.load(Ordering::SeqCst), 1);
    let reqs = server.requests();
    let create = reqs.iter().find(|r| r.path == "/token").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["grantType"], "refresh_token");
    assert_eq!(body["refreshToken"], "OLDREFRESH");
    assert_eq!(
        reqs.last().unwrap().header("x-amz-sso_bearer_token"),
        Some("NEWACCESS")
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["accessToken"], "NEWACCESS");
    assert_eq!(saved["refreshToken"], "NEWREFRESH");
}

#[test]
fn sso_errors() {
    let server = sso_server(Arc::new(AtomicUsize::new(0)));
    let f = fixture(&[("AWS_ENDPOINT_URL_SSO", server.url())]);
    std::fs::create_dir_all(&f.sso_dir).unwrap();
    let data = MemoryProfiles::new().config(
        "p",
        properties([
            ("sso_start_url", "https://nope"),
            ("sso_region", "us-east-1"),
            ("sso_account_id", "1"),
            ("sso_role_name", "r"),
        ]),
    );
    assert_eq!(
        resolve(&f, &data, "p", None).unwrap_err().to_string(),
        "Error loading SSO Token: Token for https://nope does not exist"
    );
    let file = f
        .sso_dir
        .join(awsid_credentials::cache::sso_token_key("https://nope") + ".json");
    std::fs::write(
        &file,
        r#"{"accessToken": "X", "expiresAt": "2020-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert!(matches!(
        resolve(&f, &data, "p", None),
        Err(CredentialsError::UnauthorizedSsoToken)
    ));
    let future = awsid_credentials::time::format_z(
        awsid_credentials::time::now() + time::Duration::hours(2),
    );
    std::fs::write(
        &file,
        format!(r#"{{"accessToken": "EXPIREDONSERVER", "expiresAt": "{future}"}}"#),
    )
    .unwrap();
    assert!(matches!(
        resolve(&f, &data, "p", None),
        Err(CredentialsError::UnauthorizedSsoToken)
    ));
}

/// An address on 127.0.0.1 nothing listens on (connections refused).
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn the_chain_says_why_the_instance_metadata_service_gave_nothing() {
    // Unreachable: no credentials, as the reference (`Unable to locate credentials`), and the
    // runner says which endpoint failed and how.
    let endpoint = closed_endpoint();
    let f = fixture(&[
        ("AWS_EC2_METADATA_DISABLED", "false".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.clone()),
    ]);
    let data = MemoryProfiles::new();
    let p = plan(&data, &f.env, "default", false, false).unwrap();
    let runner = ChainRunner::new(services(&f, &Properties::default(), None));
    assert!(runner.run(&p).unwrap().is_none());
    let misses = runner.misses();
    assert_eq!(misses.len(), 1, "{misses:?}");
    let expected = format!(
        "the instance metadata service did not answer: Could not connect to the endpoint URL: \"{endpoint}latest/meta-data/iam/security-credentials/\" ("
    );
    assert!(misses[0].starts_with(&expected), "{}", misses[0]);
    assert!(
        misses[0].to_lowercase().contains("refused"),
        "{}",
        misses[0]
    );

    // Reachable but erring: the status and the request.
    let server = FakeServer::start(|req: &Recorded| match req.path.as_str() {
        "/latest/api/token" => Reply::new(200, "TOKEN"),
        _ => Reply::new(503, "busy"),
    });
    let f = fixture(&[
        ("AWS_EC2_METADATA_DISABLED", "false".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url()),
    ]);
    let p = plan(&data, &f.env, "default", false, false).unwrap();
    let runner = ChainRunner::new(services(&f, &Properties::default(), None));
    assert!(runner.run(&p).unwrap().is_none());
    let base = server.url();
    let base = base.trim_end_matches('/');
    assert_eq!(
        runner.misses(),
        [format!(
            "the instance metadata service answered 503 to GET {base}/latest/meta-data/iam/security-credentials/"
        )]
    );
    // Nothing failed: nothing to say (a disabled service, no credentials anywhere).
    let f = fixture(&[]);
    let p = plan(&data, &f.env, "default", false, false).unwrap();
    let runner = ChainRunner::new(services(&f, &Properties::default(), None));
    assert!(runner.run(&p).unwrap().is_none());
    assert!(runner.misses().is_empty());
}

#[test]
fn the_chain_says_why_an_sso_token_refresh_failed() {
    // The token expired, its refresh (CreateToken) unreachable: the reference's error, and
    // the runner says why the refresh failed.
    let portal = sso_server(Arc::new(AtomicUsize::new(0)));
    let oidc = closed_endpoint();
    let f = fixture(&[
        ("AWS_ENDPOINT_URL_SSO", portal.url()),
        ("AWS_ENDPOINT_URL_SSO_OIDC", oidc.clone()),
    ]);
    std::fs::create_dir_all(&f.sso_dir).unwrap();
    let now = awsid_credentials::time::now();
    let past = awsid_credentials::time::format_z(now - time::Duration::minutes(1));
    let future = awsid_credentials::time::format_z(now + time::Duration::hours(2));
    std::fs::write(
        f.sso_dir.join("0ad374308c5a4e22f723adf10145eafad7c4031c.json"),
        format!(r#"{{"startUrl": "https://my-sso-portal.awsapps.com/start", "region": "us-east-1", "accessToken": "OLD", "expiresAt": "{past}", "clientId": "CID", "clientSecret": "CSECRET", "registrationExpiresAt": "{future}", "refreshToken": "OLDREFRESH"}}"#),
    )
    .unwrap();
    let data = with_modern_sso(MemoryProfiles::new());
    let p = plan(&data, &f.env, "modern", true, true).unwrap();
    let props = awsid_credentials::ProfileData::profile(&data, "modern")
        .cloned()
        .unwrap_or_default();
    let runner = ChainRunner::new(services(&f, &props, None));
    let e = runner.run(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Error when retrieving token from sso: Token has expired and refresh failed"
    );
    let misses = runner.misses();
    assert_eq!(misses.len(), 1, "{misses:?}");
    let expected = format!(
        "refreshing the SSO token failed: Could not connect to the endpoint URL: \"{oidc}token\""
    );
    assert!(misses[0].starts_with(&expected), "{}", misses[0]);
    assert!(!misses[0].contains("OLDREFRESH") && !misses[0].contains("CSECRET"));
}
