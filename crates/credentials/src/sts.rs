//! The STS client the credential providers use: AWS Query protocol over POST, SigV4 signed
//! (or unsigned for `AssumeRoleWithWebIdentity`), XML responses, botocore-shaped errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::endpoint::Endpoint;
use crate::error::ServiceError;
use crate::http::{HttpRequest, HttpResponse, Transport};
use crate::retry::{Retrier, RetryConfig};
use crate::{Credentials, CredentialsError};

/// Characters botocore leaves unencoded in query values.
const QUERY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` as botocore does for query parameters.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_SAFE).to_string()
}

/// A flattened XML document: element paths (`A/B/C`, namespaces dropped) to their text.
#[derive(Clone, Debug, Default)]
pub struct Xml {
    values: HashMap<String, String>,
}

impl Xml {
    /// Parses `text`; the root element is not part of the paths.
    pub fn parse(text: &str) -> Result<Xml, String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        let mut stack: Vec<String> = Vec::new();
        let mut values = HashMap::new();
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Start(e) => {
                    stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let text = t.unescape().map_err(|e| e.to_string())?.into_owned();
                    if stack.len() > 1 {
                        values
                            .entry(stack[1..].join("/"))
                            .and_modify(|v: &mut String| v.push_str(&text))
                            .or_insert(text);
                    }
                }
                Event::CData(t) => {
                    let text = String::from_utf8_lossy(&t).into_owned();
                    if stack.len() > 1 {
                        values
                            .entry(stack[1..].join("/"))
                            .and_modify(|v: &mut String| v.push_str(&text))
                            .or_insert(text);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if values.is_empty() && stack.is_empty() && !text.contains('<') {
            return Err("not an XML document".into());
        }
        Ok(Xml { values })
    }

    /// The text at `path`.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.values.get(path).map(String::as_str)
    }
}

/// A request parameter as botocore's validator sees it: a string (checked by length) or an
/// integer (checked by value).
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// A string parameter.
    Text(&'a str),
    /// An integer parameter.
    Int(i64),
}

/// The STS model's minimum for `name` (length for strings, value for integers); botocore
/// checks minimums only, never maximums or patterns.
fn model_minimum(name: &str) -> Option<i64> {
    Some(match name {
        "RoleArn" => 20,
        "RoleSessionName" | "ExternalId" | "SourceIdentity" => 2,
        "SerialNumber" => 9,
        "TokenCode" => 6,
        "WebIdentityToken" | "ProviderId" => 4,
        "DurationSeconds" => 900,
        "Policy" => 1,
        _ => return None,
    })
}

/// botocore's client-side parameter validation: every value under its model minimum, reported
/// in the order given (botocore's own parameter order), before anything is sent.
pub fn validate_params(params: &[(&str, Param<'_>)]) -> Result<(), CredentialsError> {
    let errors: Vec<String> = params
        .iter()
        .filter_map(|&(name, value)| {
            let min = model_minimum(name)?;
            match value {
                Param::Text(t) => {
                    let len = t.chars().count() as i64;
                    (len < min).then(|| {
                        format!("Invalid length for parameter {name}, value: {len}, valid min length: {min}")
                    })
                }
                Param::Int(v) => (v < min).then(|| {
                    format!("Invalid value for parameter {name}, value: {v}, valid min value: {min}")
                }),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CredentialsError::ParamValidation(errors))
    }
}

/// Signs a request with SigV4; kept to one function so the signing library can change.
pub fn sign(
    request: &mut HttpRequest,
    credentials: &Credentials,
    region: &str,
    service: &str,
) -> Result<(), CredentialsError> {
    crate::signing::sign(
        request,
        credentials,
        region,
        service,
        std::time::SystemTime::now(),
    )
}

/// A Query-protocol client for one endpoint: STS by default, or another Query API
/// ([`StsClient::with_api`], IAM for `vault rotate`).
pub struct StsClient {
    endpoint: Endpoint,
    service: &'static str,
    version: &'static str,
    transport: Arc<dyn Transport>,
    retrier: Arc<Retrier>,
    user_agent: String,
}

impl StsClient {
    /// A client for `endpoint` sending through `transport`, in standard retry mode with up to
    /// `max_attempts` attempts and a quota of its own.
    pub fn new(endpoint: Endpoint, transport: Arc<dyn Transport>, max_attempts: u32) -> StsClient {
        let config = RetryConfig {
            max_attempts: max_attempts.max(1),
            ..RetryConfig::default()
        };
        StsClient::with_retrier(endpoint, transport, Arc::new(Retrier::new(config)))
    }

    /// A client for `endpoint` sending through `transport`, retrying with `retrier` (shared
    /// with the other clients of a resolution: one quota, one rate limiter).
    pub fn with_retrier(
        endpoint: Endpoint,
        transport: Arc<dyn Transport>,
        retrier: Arc<Retrier>,
    ) -> StsClient {
        StsClient {
            endpoint,
            service: "sts",
            version: "2011-06-15",
            transport,
            retrier,
            user_agent: crate::user_agent(),
        }
    }

    /// Calls another Query API: `service` is the SigV4 signing name, `version` the API
    /// version (`"iam"`, `"2010-05-08"`).
    pub fn with_api(mut self, service: &'static str, version: &'static str) -> StsClient {
        self.service = service;
        self.version = version;
        self
    }

    /// Replaces the retry backoff base (tests): a fresh retrier with the same settings whose
    /// waits are `base` × botocore's.
    pub fn with_backoff(mut self, base: Duration) -> StsClient {
        self.retrier = Arc::new(Retrier::with_parts(
            self.retrier.config(),
            base,
            crate::retry::monotonic_clock(),
            Arc::new(std::thread::sleep),
        ));
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls `action` with `params` (in order), signed with `credentials` when given; returns
    /// the `<Action>Result` subtree and the request id.
    pub fn call(
        &self,
        action: &str,
        params: &[(&str, String)],
        credentials: Option<&Credentials>,
    ) -> Result<Xml, CredentialsError> {
        let (response, retries) = self.send(action, params, credentials)?;
        self.parse(action, response, retries)
    }

    /// As [`StsClient::call`], returning the response text (for lists, which the flattened
    /// [`Xml`] cannot hold); an error response is still a [`ServiceError`].
    pub fn call_text(
        &self,
        action: &str,
        params: &[(&str, String)],
        credentials: Option<&Credentials>,
    ) -> Result<String, CredentialsError> {
        let (response, retries) = self.send(action, params, credentials)?;
        let text = response.text();
        if response.status >= 300 {
            self.parse(action, response, retries)?;
        }
        Ok(text)
    }

    /// Sends with retries; returns the final response, the number of retries made and
    /// whether the last attempt was the last one allowed.
    fn send(
        &self,
        action: &str,
        params: &[(&str, String)],
        credentials: Option<&Credentials>,
    ) -> Result<(HttpResponse, Retries), CredentialsError> {
        let mut body = format!("Action={action}&Version={}", self.version);
        for (k, v) in params {
            body.push('&');
            body.push_str(k);
            body.push('=');
            body.push_str(&encode(v));
        }
        let url = match self.endpoint.url.split_once("://") {
            Some((_, rest)) if !rest.contains('/') => format!("{}/", self.endpoint.url),
            _ => self.endpoint.url.clone(),
        };
        let attempts = self.retrier.send(
            self.transport.as_ref(),
            self.service,
            || {
                let mut req = HttpRequest::new("POST", url.clone())
                    .header(
                        "Content-Type",
                        "application/x-www-form-urlencoded; charset=utf-8",
                    )
                    .header("User-Agent", self.user_agent.clone())
                    .body(body.clone());
                if let Some(c) = credentials {
                    sign(&mut req, c, &self.endpoint.signing_region, self.service)?;
                }
                Ok(req)
            },
            error_code,
        )?;
        let retries = Retries {
            count: attempts.retries,
            max_attempts_reached: attempts.max_attempts_reached,
        };
        let response = attempts
            .outcome
            .map_err(|source| CredentialsError::transport(&url, source))?;
        Ok((response, retries))
    }

    fn parse(
        &self,
        action: &str,
        response: HttpResponse,
        retries: Retries,
    ) -> Result<Xml, CredentialsError> {
        let text = response.text();
        let xml = Xml::parse(&text);
        if response.status >= 300 {
            let xml = xml.unwrap_or_default();
            return Err(ServiceError {
                code: xml.get("Error/Code").unwrap_or("Unknown").to_string(),
                message: xml.get("Error/Message").unwrap_or("Unknown").to_string(),
                operation: action.to_string(),
                status: response.status,
                retries: retries.count,
                max_attempts_reached: retries.max_attempts_reached,
            }
            .into());
        }
        xml.map_err(|message| CredentialsError::BadResponse {
            url: self.endpoint.url.clone(),
            message,
        })
    }
}

/// How many retries a call made and whether it used every attempt allowed.
#[derive(Clone, Copy, Debug)]
struct Retries {
    count: u32,
    max_attempts_reached: bool,
}

fn error_code(r: &HttpResponse) -> Option<String> {
    if r.status < 400 {
        return None;
    }
    Xml::parse(&r.text())
        .ok()?
        .get("Error/Code")
        .map(str::to_string)
}

/// What `AssumeRole` / `AssumeRoleWithWebIdentity` returned.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    /// The credentials (`method` set by the caller), account id from the assumed role ARN.
    pub credentials: Credentials,
    /// `AssumedRoleUser.AssumedRoleId`.
    pub assumed_role_id: Option<String>,
    /// `AssumedRoleUser.Arn`.
    pub arn: Option<String>,
    /// `ResponseMetadata.RequestId`.
    pub request_id: Option<String>,
}

/// Extracts the credentials of an `<Action>Result`.
pub fn assumed_role(
    action: &str,
    xml: &Xml,
    method: &'static str,
) -> Result<AssumedRole, CredentialsError> {
    let result = format!("{action}Result");
    let get = |p: &str| xml.get(&format!("{result}/{p}")).map(str::to_string);
    let need = |p: &str| {
        get(p).ok_or_else(|| {
            CredentialsError::retrieval(method, format!("{action} response has no {p}"))
        })
    };
    let expiration = need("Credentials/Expiration")?;
    let expiry = crate::time::parse(&expiration)
        .map_err(|e| CredentialsError::retrieval(method, format!("invalid Expiration: {e}")))?;
    let arn = get("AssumedRoleUser/Arn");
    let account = arn
        .as_deref()
        .and_then(|a| a.split(':').nth(4))
        .map(str::to_string);
    Ok(AssumedRole {
        credentials: Credentials::new(
            need("Credentials/AccessKeyId")?,
            need("Credentials/SecretAccessKey")?,
            method,
        )
        .with_session_token(Some(need("Credentials/SessionToken")?))
        .with_expiry(Some(expiry))
        .with_account_id(account),
        assumed_role_id: get("AssumedRoleUser/AssumedRoleId"),
        arn,
        request_id: xml.get("ResponseMetadata/RequestId").map(str::to_string),
    })
}

/// The answer of `GetCallerIdentity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `UserId`.
    pub user_id: String,
    /// `Account`.
    pub account: String,
    /// `Arn`.
    pub arn: String,
}

impl StsClient {
    /// `GetSessionToken` signed with `credentials` (long-term keys), with botocore's
    /// client-side validation in its parameter order (duration, serial, code); the result's
    /// credentials carry method `method`.
    pub fn get_session_token(
        &self,
        credentials: &Credentials,
        duration_seconds: Option<i64>,
        serial_and_code: Option<(&str, &str)>,
        method: &'static str,
    ) -> Result<AssumedRole, CredentialsError> {
        let mut checks = Vec::new();
        let mut params = Vec::new();
        if let Some(d) = duration_seconds {
            checks.push(("DurationSeconds", Param::Int(d)));
            params.push(("DurationSeconds", d.to_string()));
        }
        if let Some((serial, code)) = serial_and_code {
            checks.push(("SerialNumber", Param::Text(serial)));
            checks.push(("TokenCode", Param::Text(code)));
            params.push(("SerialNumber", serial.to_string()));
            params.push(("TokenCode", code.to_string()));
        }
        validate_params(&checks)?;
        let xml = self.call("GetSessionToken", &params, Some(credentials))?;
        assumed_role("GetSessionToken", &xml, method)
    }

    /// `GetFederationToken` signed with `credentials` (an IAM user's long-term keys): the
    /// session of the federated user `name`, `arn` its `FederatedUser/Arn`.
    pub fn get_federation_token(
        &self,
        credentials: &Credentials,
        name: &str,
        duration_seconds: Option<i64>,
        policy: Option<&str>,
        method: &'static str,
    ) -> Result<AssumedRole, CredentialsError> {
        let mut params = vec![("Name", name.to_string())];
        if let Some(d) = duration_seconds {
            params.push(("DurationSeconds", d.to_string()));
        }
        if let Some(p) = policy {
            params.push(("Policy", p.to_string()));
        }
        let xml = self.call("GetFederationToken", &params, Some(credentials))?;
        let mut out = assumed_role("GetFederationToken", &xml, method)?;
        out.arn = xml
            .get("GetFederationTokenResult/FederatedUser/Arn")
            .map(str::to_string);
        out.assumed_role_id = xml
            .get("GetFederationTokenResult/FederatedUser/FederatedUserId")
            .map(str::to_string);
        Ok(out)
    }

    /// `GetCallerIdentity` signed with `credentials`.
    pub fn get_caller_identity(
        &self,
        credentials: &Credentials,
    ) -> Result<CallerIdentity, CredentialsError> {
        let xml = self.call("GetCallerIdentity", &[], Some(credentials))?;
        let get = |k: &str| {
            xml.get(&format!("GetCallerIdentityResult/{k}"))
                .unwrap_or_default()
                .to_string()
        };
        Ok(CallerIdentity {
            user_id: get("UserId"),
            account: get("Account"),
            arn: get("Arn"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpClient;
    use crate::testing::{FakeServer, Reply};

    pub(crate) const ASSUME_OK: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAROLE</AccessKeyId>
      <SecretAccessKey>rolesecret</SecretAccessKey>
      <SessionToken>roletoken</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROA123:s</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

    fn client(server: &FakeServer, attempts: u32) -> StsClient {
        StsClient::new(
            Endpoint {
                url: server.url(),
                signing_region: "us-east-1".into(),
            },
            Arc::new(HttpClient::new(Duration::from_secs(5), false)),
            attempts,
        )
        .with_backoff(Duration::from_millis(1))
    }

    #[test]
    fn assume_role_round_trip() {
        let server = FakeServer::start(|_| Reply::ok(ASSUME_OK));
        let c = client(&server, 3);
        let src = Credentials::new("AKIDSRC", "srcsecret", "env");
        let xml = c
            .call(
                "AssumeRole",
                &[
                    ("RoleArn", "arn:aws:iam::1:role/r".into()),
                    ("RoleSessionName", "a b/c".into()),
                ],
                Some(&src),
            )
            .unwrap();
        let r = assumed_role("AssumeRole", &xml, "assume-role").unwrap();
        assert_eq!(r.credentials.access_key_id, "ASIAROLE");
        assert_eq!(r.credentials.account_id.as_deref(), Some("123456789012"));
        assert_eq!(r.request_id.as_deref(), Some("req-1"));
        let req = &server.requests()[0];
        assert_eq!(req.path, "/");
        assert_eq!(
            req.text(),
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=a%20b%2Fc"
        );
        assert!(req
            .header("authorization")
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDSRC/"));
        assert!(!req.header("authorization").unwrap().contains("srcsecret"));
    }

    #[test]
    fn error_shape_and_retries() {
        let server = FakeServer::start(|_| {
            Reply::new(
                403,
                r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error></ErrorResponse>"#,
            )
        });
        let e = client(&server, 3)
            .call("AssumeRole", &[], None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "An error occurred (AccessDenied) when calling the AssumeRole operation: not allowed"
        );
        assert_eq!(server.requests().len(), 1);
        let server = FakeServer::start(|_| {
            Reply::new(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error></ErrorResponse>")
        });
        let e = client(&server, 3)
            .call("AssumeRole", &[], None)
            .unwrap_err();
        assert_eq!(e.to_string(), "An error occurred (ServiceUnavailable) when calling the AssumeRole operation (reached max retries: 2): busy");
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn parameter_minimums_as_botocore_words_them() {
        let err = validate_params(&[
            ("RoleSessionName", Param::Text("a")),
            ("ExternalId", Param::Text("ok")),
            ("DurationSeconds", Param::Int(600)),
            ("RoleArn", Param::Text("arn:aws:iam::1:role/r")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Parameter validation failed:\n\
             Invalid length for parameter RoleSessionName, value: 1, valid min length: 2\n\
             Invalid value for parameter DurationSeconds, value: 600, valid min value: 900"
        );
        // Minimums only: long values and patterns are the service's business.
        assert!(validate_params(&[
            ("DurationSeconds", Param::Int(900_000)),
            ("RoleSessionName", Param::Text("has/slash")),
            ("TokenCode", Param::Text("123456")),
        ])
        .is_ok());
        // Lengths count characters, as Python's len() does.
        assert!(validate_params(&[("ExternalId", Param::Text("é"))]).is_err());
        assert!(validate_params(&[("ExternalId", Param::Text("éé"))]).is_ok());
    }

    #[test]
    fn connection_refused() {
        let url = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
        };
        let c = StsClient::new(
            Endpoint {
                url: url.clone(),
                signing_region: "us-east-1".into(),
            },
            Arc::new(HttpClient::new(Duration::from_secs(1), false)),
            1,
        );
        assert_eq!(
            c.call("GetCallerIdentity", &[], None)
                .unwrap_err()
                .to_string(),
            format!("Could not connect to the endpoint URL: \"{url}/\"")
        );
    }
}
