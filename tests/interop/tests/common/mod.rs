//! Helpers of the SDK tests: an in-process identity plane, the SDK's plain-HTTP client, and a
//! per-test environment (HOME, config files, variables) handed to `aws-config` directly.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::HashMap;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::Region;
use aws_smithy_http_client::Builder as HttpClientBuilder;
use aws_types::os_shim_internal::Env;
use awsid_server::{LocalServer, World};

/// A world extension: a role the ECS task role may assume (no role of the default world
/// trusts the task role), for `credential_source = EcsContainer`.
pub(crate) const ECS_CHAINED_ROLE: &str = r#"
[[roles]]
account = "123456789012"
name = "ecs-chained-role"
id = "AROAECSCHAINEDROLE001"
trust_policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::123456789012:role/ecs-task-role"}, "Action": "sts:AssumeRole"}]}'''
"#;

/// The identity plane on 127.0.0.1 (ephemeral ports, random master key), stopped on drop.
pub(crate) struct Plane {
    pub server: LocalServer,
    pub world: World,
}

impl Plane {
    /// The embedded default world.
    pub(crate) fn start() -> Plane {
        Plane::from_text(&awsid_interop::default_world_text())
    }

    /// The default world plus `extra` TOML.
    pub(crate) fn with_extra(extra: &str) -> Plane {
        Plane::from_text(&format!("{}\n{extra}", awsid_interop::default_world_text()))
    }

    /// The world in `text` (parsed twice: the server owns one copy, the test keeps the other
    /// to mint tokens with the dev OIDC key).
    pub(crate) fn from_text(text: &str) -> Plane {
        let parse = || World::parse(text, "interop-world.toml").expect("a valid world");
        let server = awsid_server::spawn_local(parse()).expect("start the identity plane");
        Plane {
            server,
            world: parse(),
        }
    }

    /// `http://<api>/` — what `AWS_ENDPOINT_URL_STS` is set to.
    pub(crate) fn sts_url(&self) -> String {
        format!("http://{}/", self.server.bound.api.expect("API listener"))
    }

    /// `http://<imds of instance>/`.
    pub(crate) fn imds_url(&self, instance: &str) -> String {
        let (_, addr) = self
            .server
            .bound
            .imds
            .iter()
            .find(|(id, _)| id == instance)
            .unwrap_or_else(|| panic!("no IMDS listener for {instance}"));
        format!("http://{addr}/")
    }

    /// The full-URI container-credentials endpoint.
    pub(crate) fn ecs_url(&self) -> String {
        format!(
            "http://{}{}",
            self.server.bound.ecs.expect("ECS listener"),
            awsid_server::ecs::FULL_URI_PATH
        )
    }

    /// A web-identity token for the default world's dev OIDC provider, lifetime `expires_in`
    /// seconds (negative: already expired), audience `aud`.
    pub(crate) fn mint_token(&self, sub: &str, aud: &str, expires_in: i64) -> String {
        let provider = &self.world.oidc_providers[0];
        let key = provider
            .keys
            .iter()
            .find(|k| k.can_sign())
            .expect("the dev OIDC provider has a private key");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let claims = serde_json::json!({
            "iss": provider.url, "sub": sub, "aud": aud,
            "iat": now, "nbf": now, "exp": now + expires_in,
        });
        key.sign(&claims).expect("sign the token")
    }
}

/// The SDK's hyper client without TLS: everything here is plain HTTP on loopback, and the
/// TLS-enabled builders pull a TLS stack the tests do not need.
pub(crate) fn http_client() -> aws_sdk_sts::config::SharedHttpClient {
    HttpClientBuilder::new().build_http()
}

/// An STS client with explicit static credentials (`token` makes them session credentials),
/// region `us-west-2`, the plane's endpoint and no retries (errors surface at once).
pub(crate) fn sts_with(
    plane: &Plane,
    key: &str,
    secret: &str,
    token: Option<&str>,
) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(plane.sts_url())
        .credentials_provider(Credentials::new(
            key,
            secret,
            token.map(str::to_string),
            None,
            "interop",
        ))
        .retry_config(RetryConfig::disabled())
        .http_client(http_client())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// An STS client using `creds`.
pub(crate) fn sts_with_creds(plane: &Plane, creds: &Credentials) -> aws_sdk_sts::Client {
    sts_with(
        plane,
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
    )
}

/// A throw-away home: `HOME`, `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` point into a
/// temporary directory, `AWS_ENDPOINT_URL` at loopback; nothing of the test process's
/// environment is visible to the SDK (or to awsid, which runs with exactly these variables).
pub(crate) struct Home {
    pub dir: tempfile::TempDir,
    vars: HashMap<String, String>,
}

impl Home {
    /// An empty home (no files), region `us-west-2`.
    pub(crate) fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vars = HashMap::new();
        let root = dir.path().to_str().expect("utf-8 temp path").to_string();
        vars.insert("HOME".into(), root.clone());
        vars.insert("AWS_CONFIG_FILE".into(), format!("{root}/.aws/config"));
        vars.insert(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            format!("{root}/.aws/credentials"),
        );
        vars.insert("AWS_REGION".into(), "us-west-2".into());
        // A safety net: a test that forgets AWS_ENDPOINT_URL_STS reaches the loopback discard
        // port (and fails), never the real service.
        vars.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9/".into());
        Home { dir, vars }
    }

    /// Sets a variable.
    pub(crate) fn var(mut self, key: &str, value: impl Into<String>) -> Home {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Removes a variable.
    pub(crate) fn unset(mut self, key: &str) -> Home {
        self.vars.remove(key);
        self
    }

    /// Writes `~/.aws/config`.
    pub(crate) fn config(self, text: &str) -> Home {
        self.write(".aws/config", text);
        self
    }

    /// Writes `~/.aws/credentials`.
    pub(crate) fn credentials(self, text: &str) -> Home {
        self.write(".aws/credentials", text);
        self
    }

    /// Writes a file below the home and returns its path.
    pub(crate) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The variables as they are now (for awsid's own client).
    pub(crate) fn vars(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self.vars.clone().into_iter().collect();
        v.sort();
        v
    }

    /// `aws_config::defaults(latest)` with this environment and the plain-HTTP client: the
    /// SDK's own provider chain, region and endpoint resolution, unmodified.
    pub(crate) async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .env(Env::from(self.vars.clone()))
            .http_client(http_client())
            .load()
            .await
    }

    /// The credentials the default chain of [`Home::sdk_config`] resolves.
    pub(crate) async fn chain_credentials(
        &self,
    ) -> Result<Credentials, aws_credential_types::provider::error::CredentialsError> {
        let conf = self.sdk_config().await;
        conf.credentials_provider()
            .expect("the default chain is configured")
            .provide_credentials()
            .await
    }
}

/// `GetCallerIdentity` with `creds` → the ARN.
pub(crate) async fn arn_of(plane: &Plane, creds: &Credentials) -> String {
    let out = sts_with_creds(plane, creds)
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetCallerIdentity: {}", describe(&e)));
    out.arn().expect("Arn").to_string()
}

/// A readable one-line account of an SDK error (code and message), never a secret.
pub(crate) fn describe<E, R>(e: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::DisplayErrorContext;
    format!("{}", DisplayErrorContext(e))
}

/// True when `arn` is `…:assumed-role/<role>/<prefix><digits>` (an SDK-generated session
/// name such as `assume-role-from-profile-1700000000000`).
pub(crate) fn is_generated_session(arn: &str, account: &str, role: &str, prefix: &str) -> bool {
    let head = awsid_interop::seed::assumed(account, role, prefix);
    arn.strip_prefix(&head)
        .is_some_and(|millis| millis.len() >= 13 && millis.bytes().all(|b| b.is_ascii_digit()))
}
