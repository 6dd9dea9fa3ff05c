//! The SSO-OIDC calls a login makes (`RegisterClient`, `StartDeviceAuthorization`,
//! `CreateToken`) and the client registration they share, cached the way the CLI caches it.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::rest_json::{join, send};
use crate::cache::python_json_string;
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::services::Services;
use crate::CredentialsError;

/// The scope the browser flow registers when none is configured.
pub const DEFAULT_SCOPE: &str = "sso:account:access";

/// An SSO-OIDC client for one region: JSON in, JSON out; a non-2xx answer is the service's
/// error ([`CredentialsError::Service`]) read as botocore reads it.
pub struct OidcClient<'a> {
    services: &'a Services,
    region: &'a str,
}

impl<'a> OidcClient<'a> {
    /// A client for the SSO-OIDC endpoint of `region`, resolved through `services`.
    pub fn new(services: &'a Services, region: &'a str) -> OidcClient<'a> {
        OidcClient { services, region }
    }

    /// The resolved endpoint URL.
    pub fn endpoint(&self) -> Result<String, CredentialsError> {
        Ok(self
            .services
            .endpoint(Service::SsoOidc, Some(self.region))?
            .url)
    }

    /// POSTs `body` to the operation at `path`; the parsed answer or the service's error.
    pub fn call(
        &self,
        path: &str,
        operation: &str,
        body: &Value,
    ) -> Result<Value, CredentialsError> {
        let url = join(&self.endpoint()?, path);
        let body = body.to_string();
        let resp = send(self.services, operation, || {
            HttpRequest::new("POST", url.clone())
                .header("Content-Type", "application/json")
                .header("User-Agent", crate::user_agent())
                .body(body.clone())
        })?;
        serde_json::from_slice(&resp.body).map_err(|e| CredentialsError::BadResponse {
            url,
            message: e.to_string(),
        })
    }

    /// `RegisterClient` for `request`; the registration to cache.
    pub fn register(
        &self,
        request: &RegisterRequest<'_>,
    ) -> Result<Registration, CredentialsError> {
        let mut body = json!({"clientName": request.client_name, "clientType": "public"});
        let scopes = match request.redirect_uri {
            Some(redirect) => {
                let scopes = request
                    .scopes
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| vec![DEFAULT_SCOPE.to_string()], <[String]>::to_vec);
                body["grantTypes"] = json!(["authorization_code", "refresh_token"]);
                body["redirectUris"] = json!([redirect]);
                body["issuerUrl"] = json!(request.issuer_url);
                body["scopes"] = json!(scopes);
                Some(scopes)
            }
            None => {
                let scopes = request
                    .scopes
                    .filter(|s| !s.is_empty())
                    .map(<[String]>::to_vec);
                if let Some(s) = &scopes {
                    body["scopes"] = json!(s);
                }
                scopes
            }
        };
        let out = self.call("/client/register", "RegisterClient", &body)?;
        let missing = |what: &str| CredentialsError::BadResponse {
            url: join(&self.endpoint().unwrap_or_default(), "/client/register"),
            message: format!("{what} is missing"),
        };
        let field = |k: &str| {
            out.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| missing(k))
        };
        let expires = out
            .get("clientSecretExpiresAt")
            .and_then(Value::as_i64)
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or_else(|| missing("clientSecretExpiresAt"))?;
        Ok(Registration {
            client_id: field("clientId")?,
            client_secret: field("clientSecret")?,
            expires_at: crate::time::format_z(expires),
            scopes,
            auth_code: request.redirect_uri.is_some(),
        })
    }
}

/// What a `RegisterClient` call asks for.
#[derive(Clone, Copy, Debug)]
pub struct RegisterRequest<'r> {
    /// `botocore-client-<session name>`, or `botocore-client-<epoch seconds>` (legacy).
    pub client_name: &'r str,
    /// The configured `sso_registration_scopes`.
    pub scopes: Option<&'r [String]>,
    /// The authorization code flow's redirect URI (`None`: the device flow).
    pub redirect_uri: Option<&'r str>,
    /// The start URL (the code flow's `issuerUrl`).
    pub issuer_url: &'r str,
}

/// A client registration, as cached in `~/.aws/sso/cache/<registration key>.json`.
#[derive(Clone)]
pub struct Registration {
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: String,
    /// When the client secret expires (`YYYY-MM-DDTHH:MM:SSZ`).
    pub expires_at: String,
    /// The scopes registered.
    pub scopes: Option<Vec<String>>,
    /// Registered for the authorization code flow (`grantTypes`).
    pub auth_code: bool,
}

impl std::fmt::Debug for Registration {
    // The client secret is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("auth_code", &self.auth_code)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// The cache file text, as botocore's `json.dumps` writes it.
    pub fn to_json(&self) -> String {
        let q = python_json_string;
        let mut s = format!(
            "{{\"clientId\": {}, \"clientSecret\": {}, \"expiresAt\": {}",
            q(&self.client_id),
            q(&self.client_secret),
            q(&self.expires_at)
        );
        let list = |items: &[String]| items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ");
        if let Some(scopes) = &self.scopes {
            s.push_str(&format!(", \"scopes\": [{}]", list(scopes)));
        }
        if self.auth_code {
            s.push_str(", \"grantTypes\": [\"authorization_code\", \"refresh_token\"]");
        }
        s.push('}');
        s
    }

    /// A cached registration; `None` when a required field is missing.
    pub fn from_json(v: &Value) -> Option<Registration> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Registration {
            client_id: s("clientId")?,
            client_secret: s("clientSecret")?,
            expires_at: s("expiresAt")?,
            scopes: v.get("scopes").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            }),
            auth_code: v
                .get("grantTypes")
                .and_then(Value::as_array)
                .is_some_and(|g| g.iter().any(|x| x == "authorization_code")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_round_trips_and_hides_its_secret() {
        let reg = Registration {
            client_id: "CID".into(),
            client_secret: "CSECRET".into(),
            expires_at: "2096-10-02T07:06:40Z".into(),
            scopes: Some(vec!["sso:account:access".into()]),
            auth_code: true,
        };
        let text = reg.to_json();
        assert_eq!(
            text,
            "{\"clientId\": \"CID\", \"clientSecret\": \"CSECRET\", \"expiresAt\": \"2096-10-02T07:06:40Z\", \"scopes\": [\"sso:account:access\"], \"grantTypes\": [\"authorization_code\", \"refresh_token\"]}"
        );
        let back = Registration::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back.to_json(), text);
        assert!(!format!("{back:?}").contains("CSECRET"));
        assert!(Registration::from_json(&json!({"clientId": "x"})).is_none());
    }
}
