//! The ECS/EKS container credential provider (`container-role`), `docs/spec/container-client.md`.

use std::sync::Arc;
use std::time::Duration;

use awsid_profile::Env;

use crate::http::{HttpClient, HttpRequest, Transport};
use crate::{Credentials, CredentialsError, Provider};

const ECS_HOST: &str = "169.254.170.2";
const ALLOWED_HOSTS: [&str; 4] = [
    "169.254.170.2",
    "169.254.170.23",
    "fd00:ec2::23",
    "localhost",
];
const ATTEMPTS: u32 = 3;

/// Where the provider will fetch from, decided from the environment alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerEndpoint {
    /// Neither URI variable is present: the provider does not apply.
    NotConfigured,
    /// The URL to GET.
    Url(String),
}

/// Chooses the URL: the relative URI (on 169.254.170.2) wins over the full URI; a full URI
/// must be https, loopback, or one of the allowed hosts.
pub fn endpoint(env: &Env) -> Result<ContainerEndpoint, CredentialsError> {
    if let Some(rel) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(ContainerEndpoint::Url(format!("http://{ECS_HOST}{rel}")));
    }
    let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Ok(ContainerEndpoint::NotConfigured);
    };
    let scheme = full.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if scheme.as_deref() == Some("https") {
        return Ok(ContainerEndpoint::Url(full.to_string()));
    }
    let host = crate::imds::url_host(full)
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string());
    let allowed = match &host {
        Some(h) => {
            h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
                || ALLOWED_HOSTS.contains(&h.as_str())
        }
        None => false,
    };
    if !allowed {
        return Err(CredentialsError::UnsupportedContainerHost(
            host.unwrap_or_else(|| "None".into()),
        ));
    }
    Ok(ContainerEndpoint::Url(full.to_string()))
}

/// The `container-role` provider.
pub struct ContainerProvider {
    env: Env,
    transport: Arc<dyn Transport>,
    sleep: Duration,
}

impl ContainerProvider {
    /// A provider reading `env` on every fetch, with the reference's 2 s timeout and no proxy.
    pub fn new(env: Env) -> ContainerProvider {
        ContainerProvider {
            env,
            transport: Arc::new(
                HttpClient::new(Duration::from_secs(2), false)
                    .with_max_body(crate::imds::METADATA_MAX_BODY),
            ),
            sleep: Duration::from_secs(1),
        }
    }

    /// A provider sending through `transport` instead of its own HTTP client (tests, fuzzing).
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> ContainerProvider {
        self.transport = transport;
        self
    }

    /// Replaces the 1 s pause after each failed attempt (tests).
    pub fn with_sleep(mut self, sleep: Duration) -> ContainerProvider {
        self.sleep = sleep;
        self
    }

    fn auth_token(&self) -> Result<Option<String>, CredentialsError> {
        let token = if let Some(path) = self.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Some(
                std::fs::read_to_string(path).map_err(|source| CredentialsError::File {
                    what: "container authorization token file",
                    path: path.into(),
                    source,
                })?,
            )
        } else {
            self.env
                .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(str::to_string)
        };
        if token.as_deref().is_some_and(|t| t.contains(['\r', '\n'])) {
            return Err(CredentialsError::IllegalAuthToken);
        }
        Ok(token)
    }

    fn fetch_json(&self, url: &str, token: Option<&str>) -> Result<serde_json::Value, String> {
        let mut req = HttpRequest::new("GET", url).header("Accept", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let result = match self.transport.send(&req) {
                Ok(r) if r.status != 200 => Err(format!(
                    "Received non 200 response {} from container metadata: {}",
                    r.status,
                    r.text()
                )),
                Ok(r) => serde_json::from_slice(&r.body).map_err(|_| {
                    "Unable to parse JSON returned from container metadata services".to_string()
                }),
                Err(e) => Err(format!(
                    "Received error when attempting to retrieve container metadata: {e}"
                )),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::debug!("{e}");
                    last = e;
                    std::thread::sleep(self.sleep);
                }
            }
        }
        Err(last)
    }
}

impl Provider for ContainerProvider {
    fn method(&self) -> &'static str {
        "container-role"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let url = match endpoint(&self.env)? {
            ContainerEndpoint::NotConfigured => return Ok(None),
            ContainerEndpoint::Url(u) => u,
        };
        let token = self.auth_token()?;
        let json = self.fetch_json(&url, token.as_deref()).map_err(|e| {
            CredentialsError::retrieval("container-role", format!("Error retrieving metadata: {e}"))
        })?;
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let mut missing = Vec::new();
        for k in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
            if field(k).is_none() {
                missing.push(k);
            }
        }
        if let Some(k) = missing.first() {
            // The reference dies with a raw KeyError here; name the field and the endpoint.
            return Err(CredentialsError::retrieval(
                "container-role",
                format!("response from {url} is missing '{k}'"),
            ));
        }
        let expiration = field("Expiration").unwrap_or_default();
        let expiry = crate::time::parse(&expiration).map_err(|e| {
            CredentialsError::retrieval("container-role", format!("invalid Expiration: {e}"))
        })?;
        Ok(Some(
            Credentials::new(
                field("AccessKeyId").unwrap_or_default(),
                field("SecretAccessKey").unwrap_or_default(),
                "container-role",
            )
            .with_session_token(field("Token"))
            .with_expiry(Some(expiry))
            .with_account_id(field("AccountId")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeServer, Reply};

    const BODY: &str = r#"{"AccessKeyId":"ASIAECS","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z","AccountId":"123456789012","RoleArn":"x"}"#;

    #[test]
    fn full_uri_with_auth_token() {
        let server = FakeServer::start(|_| Reply::ok(BODY));
        let env = Env::from_pairs([
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{}/creds", server.url()),
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "Bearer abc".to_string(),
            ),
        ]);
        let c = ContainerProvider::new(env).provide().unwrap().unwrap();
        assert_eq!(c.access_key_id, "ASIAECS");
        assert_eq!(c.account_id.as_deref(), Some("123456789012"));
        assert_eq!(c.method, "container-role");
        let r = &server.requests()[0];
        assert_eq!(r.path, "/creds");
        assert_eq!(r.header("authorization"), Some("Bearer abc"));
        assert_eq!(r.header("accept"), Some("application/json"));
    }

    #[test]
    fn token_file_wins_and_must_not_end_with_newline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "abc\n").unwrap();
        let env = Env::from_pairs([
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/x".to_string(),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fine".to_string()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                f.display().to_string(),
            ),
        ]);
        assert_eq!(
            ContainerProvider::new(env)
                .provide()
                .unwrap_err()
                .to_string(),
            "Auth token value is not a legal header value"
        );
    }

    #[test]
    fn three_attempts_then_error() {
        let server = FakeServer::start(|_| Reply::new(500, "boom"));
        let env = Env::from_pairs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url())]);
        let e = ContainerProvider::new(env)
            .with_sleep(Duration::from_millis(1))
            .provide()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response 500 from container metadata: boom"
        );
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn host_rules() {
        let ok = |u: &str| {
            endpoint(&Env::from_pairs([(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                u,
            )]))
        };
        assert!(ok("http://127.0.0.2:99/x").is_ok());
        assert!(ok("http://[::1]/x").is_ok());
        assert!(ok("https://example.com/x").is_ok());
        assert_eq!(
            ok("http://example.com/x").unwrap_err().to_string(),
            "Unsupported host 'example.com'.  Can only retrieve metadata from a loopback address or one of these hosts: 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost"
        );
        let both = Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost/x"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/rel"),
        ]);
        assert_eq!(
            endpoint(&both).unwrap(),
            ContainerEndpoint::Url("http://169.254.170.2/rel".into())
        );
    }
}
