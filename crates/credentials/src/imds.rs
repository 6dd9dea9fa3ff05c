//! The EC2 instance metadata (IMDS) credential provider (`iam-role`): IMDSv2 token, v1 fallback
//! per `docs/spec/imds-client.md` §2, static-stability expiry extension.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use awsid_profile::{Env, Properties};
use time::OffsetDateTime;

use crate::http::{HttpClient, HttpRequest, HttpResponse, Transport, TransportError};
use crate::settings::{ensure_boolean, integer, lookup};
use crate::{Credentials, CredentialsError, Provider};

const IPV4_BASE: &str = "http://169.254.169.254/";
const IPV6_BASE: &str = "http://[fd00:ec2::254]/";
/// The most of an IMDS answer awsid reads (credentials are ~1.5 KiB, user data at most 16 KiB).
pub const METADATA_MAX_BODY: usize = 64 << 10;
/// The IMDSv2 token request's outcome.
enum Token {
    /// `Some` token (IMDSv2), `None`: fall back to IMDSv1.
    Value(Option<String>),
    /// 400: the request was refused; no credentials, no region.
    BadRequest,
}
/// The refresh window the chain passes for the expiry extension (the advisory window).
const REFRESH_WINDOW: i64 = 900;

/// IMDS settings, validated (endpoint URL and mode) when built, as the reference does when it
/// builds the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdsConfig {
    /// The base URL requests are made under.
    pub base_url: String,
    /// `AWS_EC2_METADATA_DISABLED=true`.
    pub disabled: bool,
    /// IMDSv1 fallback disabled.
    pub v1_disabled: bool,
    /// Connect/read timeout in seconds.
    pub timeout_secs: i64,
    /// Attempts per request.
    pub attempts: i64,
}

/// Code-level overrides (the SDK builder knobs of the conformance vectors; the CLI has none).
#[derive(Clone, Debug, Default)]
pub struct ImdsOverrides {
    /// Replaces the base URL outright.
    pub endpoint: Option<String>,
    /// Replaces the endpoint mode (a configured endpoint still wins).
    pub mode: Option<String>,
}

impl ImdsConfig {
    /// Reads the settings of `docs/spec/imds-client.md` §1 from the environment and the selected profile.
    pub fn from_settings(env: &Env, props: &Properties) -> Result<ImdsConfig, CredentialsError> {
        ImdsConfig::with_overrides(env, props, &ImdsOverrides::default())
    }

    /// As [`ImdsConfig::from_settings`], with code-level overrides applied.
    pub fn with_overrides(
        env: &Env,
        props: &Properties,
        overrides: &ImdsOverrides,
    ) -> Result<ImdsConfig, CredentialsError> {
        let mode = match overrides.mode.as_deref().or_else(|| {
            lookup(
                env,
                props,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                "ec2_metadata_service_endpoint_mode",
            )
        }) {
            Some(m) => {
                let lower = m.to_ascii_lowercase();
                if lower != "ipv4" && lower != "ipv6" {
                    return Err(CredentialsError::InvalidImdsEndpointMode(m.to_string()));
                }
                lower
            }
            None if ensure_boolean(lookup(env, props, "AWS_IMDS_USE_IPV6", "imds_use_ipv6")) => {
                "ipv6".into()
            }
            None => "ipv4".into(),
        };
        let custom = lookup(
            env,
            props,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "ec2_metadata_service_endpoint",
        )
        .filter(|e| !e.is_empty());
        let base_url = if let Some(e) = &overrides.endpoint {
            e.clone()
        } else if let Some(e) = custom {
            e.to_string()
        } else if mode == "ipv6" {
            IPV6_BASE.to_string()
        } else {
            IPV4_BASE.to_string()
        };
        if !is_valid_endpoint(&base_url) {
            return Err(CredentialsError::InvalidImdsEndpoint(base_url));
        }
        Ok(ImdsConfig {
            base_url,
            disabled: env
                .get("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            v1_disabled: ensure_boolean(lookup(
                env,
                props,
                "AWS_EC2_METADATA_V1_DISABLED",
                "ec2_metadata_v1_disabled",
            )),
            timeout_secs: integer(
                env,
                props,
                "AWS_METADATA_SERVICE_TIMEOUT",
                "metadata_service_timeout",
                1,
            )?,
            attempts: integer(
                env,
                props,
                "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                "metadata_service_num_attempts",
                1,
            )?,
        })
    }

    /// The URL of `path` under the base URL (a `/` is added when the base lacks one).
    pub fn url(&self, path: &str) -> String {
        if self.base_url.ends_with('/') {
            format!("{}{path}", self.base_url)
        } else {
            format!("{}/{path}", self.base_url)
        }
    }
}

/// botocore's `is_valid_uri`: a `scheme://` URL whose host is a DNS name or an IPv6 literal.
pub(crate) fn is_valid_endpoint(url: &str) -> bool {
    let Some(host) = url_host(url) else {
        return false;
    };
    if host.starts_with('[') {
        return host.ends_with(']')
            && host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok();
    }
    let host = host.strip_suffix('.').unwrap_or(&host);
    if host.is_empty() || host.len() > 255 {
        return false;
    }
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The host part (IPv6 literals keep their brackets) of a `scheme://host[:port]/…` URL, as
/// Python's `urlsplit` finds it; `None` without a scheme and `//`.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let host = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => &hostport[..=i],
            None => return None,
        }
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        None
    } else {
        Some(host.to_ascii_lowercase())
    }
}

/// The `iam-role` provider.
pub struct ImdsProvider {
    config: ImdsConfig,
    transport: Arc<dyn Transport>,
    user_agent: String,
    /// Why the last fetch found no credentials when a request to the service failed (the
    /// last failure: the URL and the transport error or status; never a token).
    miss: Mutex<Option<String>>,
}

impl ImdsProvider {
    /// A provider for `config` using a lazily built HTTP client with the configured timeout.
    pub fn new(config: ImdsConfig) -> ImdsProvider {
        let timeout = Duration::from_secs(config.timeout_secs.max(0) as u64);
        let client = HttpClient::new(timeout, true).with_max_body(METADATA_MAX_BODY);
        ImdsProvider::with_transport(config, Arc::new(client))
    }

    /// A provider sending through `transport`.
    pub fn with_transport(config: ImdsConfig, transport: Arc<dyn Transport>) -> ImdsProvider {
        ImdsProvider {
            config,
            transport,
            user_agent: crate::user_agent(),
            miss: Mutex::new(None),
        }
    }

    /// Notes a failed request of the current fetch (reported by [`Provider::last_miss`]).
    fn failed(&self, req: &HttpRequest, outcome: Result<u16, &TransportError>) {
        let text = match outcome {
            Ok(status) => format!(
                "the instance metadata service answered {status} to {} {}",
                req.method, req.url
            ),
            Err(e) => format!(
                "the instance metadata service did not answer: {}",
                crate::http::describe_failure(&req.url, e)
            ),
        };
        *self.miss.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
    }

    /// Sends `req`; an oversized answer is an error (the real IMDS answers a few KiB), any
    /// other transport failure is the reference's retryable miss.
    fn send(
        &self,
        req: &HttpRequest,
    ) -> Result<Result<HttpResponse, TransportError>, CredentialsError> {
        match self.transport.send(req) {
            Err(TransportError::TooLarge { url, limit }) => {
                Err(CredentialsError::ResponseTooLarge { url, limit })
            }
            other => Ok(other),
        }
    }

    /// Fetches the IMDSv2 token: `Some` token, `None` fall back to v1, [`Token::BadRequest`]
    /// for the 400 answer that ends the attempt with no credentials.
    fn token(&self) -> Result<Token, CredentialsError> {
        let req = HttpRequest::new("PUT", self.config.url("latest/api/token"))
            .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
            .header("User-Agent", self.user_agent.clone());
        for _ in 0..self.config.attempts {
            match self.send(&req)? {
                Ok(r) if r.status == 200 => return Ok(Token::Value(Some(r.text()))),
                Ok(r) if matches!(r.status, 403..=405) => return Ok(Token::Value(None)),
                Ok(r) if r.status == 400 => return Ok(Token::BadRequest),
                Ok(r) => {
                    self.failed(&req, Ok(r.status));
                    continue;
                }
                Err(e @ TransportError::ReadTimeout(_)) => {
                    self.failed(&req, Err(&e));
                    return Ok(Token::Value(None));
                }
                Err(e) => {
                    tracing::debug!("IMDS token request failed: {e}");
                    self.failed(&req, Err(&e));
                    continue;
                }
            }
        }
        Ok(Token::Value(None))
    }

    /// GET with retries while the status is not 200 or `accept` rejects the body.
    fn get(
        &self,
        path: &str,
        token: Option<&str>,
        accept: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, CredentialsError> {
        let mut req = HttpRequest::new("GET", self.config.url(path))
            .header("User-Agent", self.user_agent.clone());
        if let Some(t) = token {
            req = req.header("x-aws-ec2-metadata-token", t);
        }
        for _ in 0..self.config.attempts {
            match self.send(&req)? {
                Ok(r) if r.status == 200 => {
                    let text = r.text();
                    if !text.is_empty() && accept(&text) {
                        return Ok(Some(text));
                    }
                }
                Ok(r) => self.failed(&req, Ok(r.status)),
                Err(e) => {
                    tracing::debug!("IMDS request failed: {e}");
                    self.failed(&req, Err(&e));
                }
            }
        }
        Ok(None)
    }

    /// The instance's region, v2's last region source (`awscli/utils.py`
    /// `InstanceMetadataRegionFetcher.retrieve_region`, on botocore's `IMDSFetcher`): the token
    /// `PUT` (200: IMDSv2; 403/404/405, a read timeout or exhausted attempts: IMDSv1; 400: no
    /// region), then `placement/availability-zone/` (retried while not 200 or empty) minus its
    /// last character (`us-west-2a` → `us-west-2`). Disabled, unreachable or unanswered: no
    /// region. v2 lets one failure escape: no token while IMDSv1 is disabled raises its
    /// `MetadataRetrievalError` (`_assert_v1_enabled`), so that is an error here too.
    pub fn region(&self) -> Result<Option<String>, CredentialsError> {
        if self.config.disabled {
            return Ok(None);
        }
        let Token::Value(token) = self.token()? else {
            tracing::debug!("IMDS answered the token request with 400: no region");
            return Ok(None);
        };
        if token.is_none() && self.config.v1_disabled {
            return Err(CredentialsError::MetadataRetrieval(
                "Unable to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled"
                    .into(),
            ));
        }
        let Some(mut region) = self.get(
            "latest/meta-data/placement/availability-zone/",
            token.as_deref(),
            |_| true,
        )?
        else {
            tracing::debug!(
                "Max number of attempts exceeded ({}) when attempting to retrieve data from metadata service.",
                self.config.attempts
            );
            return Ok(None);
        };
        region.pop();
        Ok((!region.is_empty()).then_some(region))
    }

    fn fetch(&self, now: OffsetDateTime) -> Result<Option<Credentials>, CredentialsError> {
        *self.miss.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if self.config.disabled {
            return Ok(None);
        }
        let Token::Value(token) = self.token()? else {
            return Ok(None);
        };
        if token.is_none() && self.config.v1_disabled {
            return Err(CredentialsError::MetadataRetrieval(
                "Unable to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled"
                    .into(),
            ));
        }
        let base = "latest/meta-data/iam/security-credentials/";
        let Some(role) = self.get(base, token.as_deref(), |_| true)? else {
            return Ok(None);
        };
        let Some(body) = self.get(&format!("{base}{role}"), token.as_deref(), |t| {
            serde_json::from_str::<serde_json::Value>(t).is_ok()
        })?
        else {
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(akid), Some(secret), Some(token), Some(expiration)) = (
            field("AccessKeyId"),
            field("SecretAccessKey"),
            field("Token"),
            field("Expiration"),
        ) else {
            return Ok(None);
        };
        let expiry = extend_expiry(&expiration, now, rand::random_range(120..=600))?;
        Ok(Some(
            Credentials::new(akid, secret, "iam-role")
                .with_session_token(Some(token))
                .with_expiry(Some(expiry)),
        ))
    }
}

/// Static stability: an expiry within `900 + jitter` seconds of `now` (or past) becomes
/// `now + 900 + jitter`; only the strict `YYYY-MM-DDTHH:MM:SSZ` form is checked.
fn extend_expiry(
    expiration: &str,
    now: OffsetDateTime,
    jitter: i64,
) -> Result<OffsetDateTime, CredentialsError> {
    let strict = expiration.len() == 20 && expiration.ends_with('Z') && !expiration.contains('.');
    let parsed = crate::time::parse(expiration)
        .map_err(|e| CredentialsError::retrieval("iam-role", format!("invalid Expiration: {e}")))?;
    if !strict {
        return Ok(parsed);
    }
    let window = time::Duration::seconds(REFRESH_WINDOW + jitter);
    if now >= parsed - window {
        tracing::info!(
            "Attempting credential expiration extension due to a credential service availability issue. A refresh of these credentials will be attempted again within the next {:.0} minutes.",
            (REFRESH_WINDOW + jitter) as f64 / 60.0
        );
        // The reference formats the new expiry without a fraction.
        let extended = now + window;
        return Ok(extended.replace_nanosecond(0).unwrap_or(extended));
    }
    Ok(parsed)
}

impl Provider for ImdsProvider {
    fn method(&self) -> &'static str {
        "iam-role"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        self.fetch(crate::time::now())
    }

    fn last_miss(&self) -> Option<String> {
        self.miss.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeServer, Reply};

    fn config(base: &str, extra: &[(&str, &str)]) -> ImdsConfig {
        let mut env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", base)]);
        for (k, v) in extra {
            env = env.with(*k, *v);
        }
        ImdsConfig::from_settings(&env, &Properties::default()).unwrap()
    }

    fn creds_json(exp: &str) -> String {
        format!(
            r#"{{"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"s","Token":"t","Expiration":"{exp}"}}"#
        )
    }

    fn happy(token_status: u16) -> FakeServer {
        FakeServer::start(move |req| match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token") => Reply::new(token_status, "TOKEN123"),
            ("GET", "/latest/meta-data/iam/security-credentials/") => Reply::ok("myrole"),
            ("GET", "/latest/meta-data/iam/security-credentials/myrole") => {
                Reply::ok(creds_json("2099-01-01T00:00:00Z"))
            }
            _ => Reply::new(404, ""),
        })
    }

    #[test]
    fn a_failed_fetch_says_which_request_failed_and_how() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        drop(listener);
        let p = ImdsProvider::new(config(&closed, &[]));
        assert!(p.provide().unwrap().is_none());
        let miss = p.last_miss().unwrap();
        assert!(
            miss.starts_with(&format!("the instance metadata service did not answer: Could not connect to the endpoint URL: \"{closed}latest/meta-data/iam/security-credentials/\" (")),
            "{miss}"
        );
        // The holder's static-stability notice names it instead of the empty refresh.
        let now = crate::time::now();
        let notices = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = notices.clone();
        let held = crate::refresh::SharedCredentials::with_initial(
            Credentials::new("ASIAOLD", "s", "iam-role")
                .with_session_token(Some("t".into()))
                .with_expiry(Some(now + time::Duration::seconds(300))),
            Arc::new(p),
        )
        .with_notices(Arc::new(move |n: &str| sink.lock().unwrap().push(n.into())));
        assert_eq!(held.get().unwrap().access_key_id, "ASIAOLD");
        let notices = notices.lock().unwrap();
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].starts_with("Attempting credential expiration extension due to a credential service availability issue (the instance metadata service did not answer: Could not connect to the endpoint URL: "),
            "{}",
            notices[0]
        );

        // An answer with an error status: the status and the request; a good fetch clears it.
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let failing = fail.clone();
        let server = FakeServer::start(move |req| {
            if failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Reply::new(500, "");
            }
            match req.path.as_str() {
                "/latest/api/token" => Reply::ok("TOKEN"),
                "/latest/meta-data/iam/security-credentials/" => Reply::ok("myrole"),
                _ => Reply::ok(creds_json("2099-01-01T00:00:00Z")),
            }
        });
        let p = ImdsProvider::new(config(&server.url(), &[]));
        assert!(p.provide().unwrap().is_none());
        assert_eq!(
            p.last_miss().unwrap(),
            format!(
                "the instance metadata service answered 500 to GET {}/latest/meta-data/iam/security-credentials/",
                server.url()
            )
        );
        fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(p.provide().unwrap().is_some());
        assert_eq!(p.last_miss(), None);
    }

    #[test]
    fn happy_path_uses_the_token() {
        let server = happy(200);
        let p = ImdsProvider::new(config(&server.url(), &[]));
        let c = p.provide().unwrap().unwrap();
        assert_eq!(c.access_key_id, "ASIAIMDS");
        assert_eq!(c.method, "iam-role");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        assert_eq!(
            reqs[0].header("x-aws-ec2-metadata-token-ttl-seconds"),
            Some("21600")
        );
        assert_eq!(reqs[1].header("x-aws-ec2-metadata-token"), Some("TOKEN123"));
        assert_eq!(reqs[2].header("x-aws-ec2-metadata-token"), Some("TOKEN123"));
    }

    #[test]
    fn region_is_the_zone_minus_its_letter() {
        let server = FakeServer::start(|req| match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token") => Reply::ok("TOKEN123"),
            ("GET", "/latest/meta-data/placement/availability-zone/") => Reply::ok("eu-west-3b"),
            _ => Reply::new(404, ""),
        });
        let p = ImdsProvider::new(config(&server.url(), &[]));
        assert_eq!(p.region().unwrap().as_deref(), Some("eu-west-3"));
        let reqs = server.requests();
        assert_eq!(reqs[1].header("x-aws-ec2-metadata-token"), Some("TOKEN123"));
        // No zone, a 400 on the token, or IMDS disabled: no region and no error.
        let p = ImdsProvider::new(config(&happy(200).url(), &[]));
        assert_eq!(p.region().unwrap(), None);
        let p = ImdsProvider::new(config(&happy(400).url(), &[]));
        assert_eq!(p.region().unwrap(), None);
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_EC2_METADATA_DISABLED", "true")],
        ));
        assert_eq!(p.region().unwrap(), None);
    }

    #[test]
    fn region_lookup_follows_v2s_fetcher() {
        // 403/404/405 on the token: IMDSv1, the zone is asked without a token.
        for status in [403, 404, 405] {
            let server = FakeServer::start(move |req| match req.method.as_str() {
                "PUT" => Reply::new(status, ""),
                _ => Reply::ok("ap-south-1a"),
            });
            let p = ImdsProvider::new(config(&server.url(), &[]));
            assert_eq!(p.region().unwrap().as_deref(), Some("ap-south-1"));
            let reqs = server.requests();
            assert_eq!(reqs.len(), 2);
            assert_eq!(reqs[1].header("x-aws-ec2-metadata-token"), None);
        }
        // ... unless IMDSv1 is disabled: v2's MetadataRetrievalError escapes the lookup.
        let server = FakeServer::start(|req| match req.method.as_str() {
            "PUT" => Reply::new(404, ""),
            _ => Reply::ok("ap-south-1a"),
        });
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_EC2_METADATA_V1_DISABLED", "true")],
        ));
        assert_eq!(
            p.region().unwrap_err().to_string(),
            "Error retrieving metadata: Unable to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled"
        );
        assert_eq!(server.requests().len(), 1);
        // 500s are retried `metadata_service_num_attempts` times, for the token and the zone.
        let server = FakeServer::start(|req| match req.method.as_str() {
            "PUT" => Reply::new(500, ""),
            _ => Reply::new(500, ""),
        });
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2")],
        ));
        assert_eq!(p.region().unwrap(), None);
        let methods: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
        assert_eq!(methods, ["PUT", "PUT", "GET", "GET"]);
        // Nothing listening: no region (and no error), after the configured attempts.
        let p = ImdsProvider::new(config("http://127.0.0.1:1/", &[]));
        assert_eq!(p.region().unwrap(), None);
    }

    #[test]
    fn token_403_falls_back_to_v1() {
        for status in [403, 404, 405] {
            let server = happy(status);
            let p = ImdsProvider::new(config(&server.url(), &[]));
            assert!(p.provide().unwrap().is_some());
            let reqs = server.requests();
            assert_eq!(reqs.len(), 3);
            assert_eq!(reqs[1].header("x-aws-ec2-metadata-token"), None);
        }
    }

    #[test]
    fn token_500_retries_then_v1() {
        let server = happy(500);
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3")],
        ));
        assert!(p.provide().unwrap().is_some());
        let puts = server
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .count();
        assert_eq!(puts, 3);
    }

    #[test]
    fn token_read_timeout_falls_back_to_v1_at_once() {
        let server = FakeServer::start(|req| match (req.method.as_str(), req.path.as_str()) {
            ("PUT", _) => Reply::ok("LATE").delayed(std::time::Duration::from_millis(2500)),
            (_, "/latest/meta-data/iam/security-credentials/") => Reply::ok("myrole"),
            _ => Reply::ok(creds_json("2099-01-01T00:00:00Z")),
        });
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3")],
        ));
        assert!(p.provide().unwrap().is_some());
        let reqs = server.requests();
        assert_eq!(reqs.iter().filter(|r| r.method == "PUT").count(), 1);
        assert_eq!(reqs[1].header("x-aws-ec2-metadata-token"), None);
    }

    #[test]
    fn token_400_means_no_credentials() {
        let server = happy(400);
        let p = ImdsProvider::new(config(&server.url(), &[]));
        assert!(p.provide().unwrap().is_none());
        assert_eq!(server.requests().len(), 1);
    }

    #[test]
    fn v1_disabled_without_token_aborts() {
        let server = happy(403);
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_EC2_METADATA_V1_DISABLED", "true")],
        ));
        assert_eq!(
            p.provide().unwrap_err().to_string(),
            "Error retrieving metadata: Unable to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled"
        );
    }

    #[test]
    fn missing_fields_mean_no_credentials_without_retry() {
        let server = FakeServer::start(|req| match req.path.as_str() {
            "/latest/api/token" => Reply::ok("T"),
            "/latest/meta-data/iam/security-credentials/" => Reply::ok("r"),
            _ => Reply::ok(r#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"x"}"#),
        });
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3")],
        ));
        assert!(p.provide().unwrap().is_none());
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn disabled_sends_nothing() {
        let server = happy(200);
        let p = ImdsProvider::new(config(
            &server.url(),
            &[("AWS_EC2_METADATA_DISABLED", "TRUE")],
        ));
        assert!(p.provide().unwrap().is_none());
        assert!(server.requests().is_empty());
    }

    #[test]
    fn expired_credentials_are_extended() {
        let server = FakeServer::start(|req| match req.path.as_str() {
            "/latest/api/token" => Reply::ok("T"),
            "/latest/meta-data/iam/security-credentials/" => Reply::ok("r"),
            _ => Reply::ok(creds_json("2020-01-01T00:00:00Z")),
        });
        let p = ImdsProvider::new(config(&server.url(), &[]));
        let before = crate::time::now();
        let c = p.provide().unwrap().unwrap();
        let left = (c.expiry.unwrap() - before).whole_seconds();
        assert!((1019..=1501).contains(&left), "{left}");
    }

    #[test]
    fn extension_window() {
        let now = crate::time::parse("2026-01-01T00:00:00Z").unwrap();
        // 20 minutes left, window 15 + 2 minutes: unchanged.
        let e = extend_expiry("2026-01-01T00:20:00Z", now, 120).unwrap();
        assert_eq!(crate::time::format_z(e), "2026-01-01T00:20:00Z");
        // 16 minutes left, window 17 minutes: extended to now + 17 min.
        let e = extend_expiry("2026-01-01T00:16:00Z", now, 120).unwrap();
        assert_eq!(crate::time::format_z(e), "2026-01-01T00:17:00Z");
        // Not the strict form: left alone.
        let e = extend_expiry("2026-01-01T00:01:00+00:00", now, 120).unwrap();
        assert_eq!(crate::time::format_z(e), "2026-01-01T00:01:00Z");
    }

    #[test]
    fn endpoint_validation_texts() {
        for bad in ["bogus", "not a url", "169.254.169.254"] {
            let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", bad)]);
            let e = ImdsConfig::from_settings(&env, &Properties::default()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("Invalid endpoint EC2 Instance Metadata endpoint: {bad}")
            );
        }
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5")]);
        assert_eq!(
            ImdsConfig::from_settings(&env, &Properties::default()).unwrap_err().to_string(),
            "Invalid EC2 Instance Metadata endpoint mode: ipv5 Valid endpoint modes (case-insensitive): ('ipv4', 'ipv6')."
        );
    }

    #[test]
    fn timeout_must_be_an_integer() {
        let env = Env::from_pairs([("AWS_METADATA_SERVICE_TIMEOUT", "1.5")]);
        let e = ImdsConfig::from_settings(&env, &Properties::default()).unwrap_err();
        assert!(
            e.to_string().contains("AWS_METADATA_SERVICE_TIMEOUT"),
            "{e}"
        );
    }

    #[test]
    fn url_keeps_base_path() {
        let c = config("http://h/foo", &[]);
        assert_eq!(c.url("latest/api/token"), "http://h/foo/latest/api/token");
    }
}
