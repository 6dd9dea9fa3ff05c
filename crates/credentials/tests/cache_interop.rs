//! Cache interop with the installed AWS CLI (botocore): an entry written by awsid is used by
//! the CLI without an STS call, and an entry written by the CLI is used by awsid.

#[path = "../src/testing.rs"]
mod testing;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use awsid_credentials::{ResolveOptions, Session};
use awsid_profile::Env;
use testing::{FakeServer, Reply};

const CONFIG: &str = "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n\n[profile role]\nrole_arn = arn:aws:iam::123456789012:role/myrole\nsource_profile = base\nregion = us-east-1\n";
/// SHA-1 of `{"RoleArn": "arn:aws:iam::123456789012:role/myrole"}` (docs/spec/assume-role.md §6.2).
const CACHE_FILE: &str = "f995d6dcb70933807ce01b82b84c00a92ad7bbd1.json";

/// A fake STS answering AssumeRole with `akid` (valid one hour) and GetCallerIdentity.
fn fake_sts(akid: &'static str) -> (FakeServer, Arc<AtomicUsize>) {
    let assume_calls = Arc::new(AtomicUsize::new(0));
    let counter = assume_calls.clone();
    let server = FakeServer::start(move |req| {
        let expiration = awsid_credentials::time::format_z(
            awsid_credentials::time::now() + time::Duration::hours(1),
        );
        match req.param("Action").as_deref() {
            Some("AssumeRole") => {
                counter.fetch_add(1, Ordering::SeqCst);
                Reply::ok(format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>sec-{akid}</SecretAccessKey><SessionToken>tok-{akid}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/myrole/s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>"
                ))
                .header("Content-Type", "text/xml")
            }
            Some("GetCallerIdentity") => Reply::ok(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/myrole/s</Arn><UserId>AROAEXAMPLE:s</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            )
            .header("Content-Type", "text/xml"),
            _ => Reply::new(400, "<ErrorResponse><Error><Code>InvalidAction</Code><Message>x</Message></Error></ErrorResponse>"),
        }
    });
    (server, assume_calls)
}

fn home_with_config() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(home.path().join(".aws/config"), CONFIG).unwrap();
    home
}

fn env_for(home: &Path, sts: &FakeServer) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("AWS_ENDPOINT_URL_STS".into(), sts.url()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

/// Runs the installed `aws` CLI with only `vars` (plus PATH) in its environment.
fn aws_cli(vars: &[(String, String)], args: &[&str]) -> std::process::Output {
    // pyenv shims find their root from HOME, which the test replaces: pin it.
    let pyenv_root = std::env::var("PYENV_ROOT")
        .unwrap_or_else(|_| format!("{}/.pyenv", std::env::var("HOME").unwrap_or_default()));
    let mut cmd = Command::new("aws");
    cmd.env_clear();
    if let Ok(v) = std::env::var("PYENV_VERSION") {
        cmd.env("PYENV_VERSION", v);
    }
    let out = cmd
        .args(args)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PYENV_ROOT", pyenv_root)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("the installed aws CLI (awscli v1) is required for the cache interop test; it was not found on PATH");
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn awsid_resolve(vars: &[(String, String)]) -> awsid_credentials::Credentials {
    let env = Env::from_pairs(vars.iter().cloned());
    let session = Session::load(&env, Some("role")).unwrap();
    session
        .resolve(&ResolveOptions::default())
        .unwrap()
        .expect("credentials")
        .credentials
}

#[test]
fn botocore_uses_an_entry_written_by_awsid() {
    let home = home_with_config();
    let (sts, assume_calls) = fake_sts("ASIAAWSID1");
    let vars = env_for(home.path(), &sts);
    let creds = awsid_resolve(&vars);
    assert_eq!(creds.access_key_id, "ASIAAWSID1");
    assert_eq!(creds.method, "assume-role");
    assert_eq!(assume_calls.load(Ordering::SeqCst), 1);
    let file = home.path().join(".aws/cli/cache").join(CACHE_FILE);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    aws_cli(&vars, &["sts", "get-caller-identity", "--profile", "role"]);
    assert_eq!(
        assume_calls.load(Ordering::SeqCst),
        1,
        "the CLI called AssumeRole despite the cache entry"
    );
    let gci = sts
        .requests()
        .into_iter()
        .find(|r| r.param("Action").as_deref() == Some("GetCallerIdentity"))
        .expect("the CLI called GetCallerIdentity");
    assert!(
        gci.header("authorization")
            .unwrap_or("")
            .contains("Credential=ASIAAWSID1/"),
        "the CLI signed with other credentials"
    );
}

#[test]
fn awsid_uses_an_entry_written_by_botocore() {
    let home = home_with_config();
    let (sts, assume_calls) = fake_sts("ASIACLI1");
    let vars = env_for(home.path(), &sts);
    aws_cli(&vars, &["sts", "get-caller-identity", "--profile", "role"]);
    assert_eq!(assume_calls.load(Ordering::SeqCst), 1);
    assert!(home
        .path()
        .join(".aws/cli/cache")
        .join(CACHE_FILE)
        .is_file());

    let creds = awsid_resolve(&vars);
    assert_eq!(creds.access_key_id, "ASIACLI1");
    assert_eq!(creds.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        assume_calls.load(Ordering::SeqCst),
        1,
        "awsid called AssumeRole despite the cache entry"
    );
}
