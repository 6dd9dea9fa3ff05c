//! AWS Sign-In's `CreateOAuth2Token` (rest-json, unsigned, `POST /v1/token`, the body is the
//! `tokenInput` member itself), with the DPoP proof header (`docs/spec/login.md` §3–§4).

use serde_json::Value;

use super::DpopKey;
use crate::endpoint::{Endpoint, EndpointSettings, Service};
use crate::http::HttpRequest;
use crate::services::Services;
use crate::sso::join;
use crate::{CredentialsError, ServiceError};

/// A `CreateOAuth2Token` failure: the service's error with its OAuth `error` member, or
/// anything else the credential layer reports (connection, response).
#[derive(Debug, thiserror::Error)]
pub enum SigninError {
    /// The service answered with an error.
    #[error("{error}")]
    Service {
        /// botocore's `ClientError` view (`AccessDeniedException`, `ValidationException`…).
        #[source]
        error: ServiceError,
        /// The modeled `error` member (`TOKEN_EXPIRED`, `AUTHCODE_EXPIRED`, `INVALID_REQUEST`…).
        oauth_error: Option<String>,
    },
    /// Connection, endpoint or response problems.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl From<SigninError> for CredentialsError {
    fn from(e: SigninError) -> CredentialsError {
        match e {
            SigninError::Service { error, .. } => CredentialsError::Service(error),
            SigninError::Credentials(c) => c,
        }
    }
}

/// A Sign-In client for one endpoint.
pub struct SigninClient<'a> {
    services: &'a Services,
    endpoint: Endpoint,
}

impl<'a> SigninClient<'a> {
    /// The client for `region` (a region is required, as botocore's endpoint rules require
    /// one); `explicit_url` (`--endpoint-url`) beats the configured endpoint URLs.
    pub fn new(
        services: &'a Services,
        settings: EndpointSettings<'_>,
        region: Option<&str>,
        explicit_url: Option<&str>,
    ) -> Result<SigninClient<'a>, CredentialsError> {
        let endpoint = settings.resolve(Service::Signin, region, explicit_url)?;
        Ok(SigninClient { services, endpoint })
    }

    /// The client of a resolution's services (the profile's settings and region).
    pub fn for_services(services: &'a Services) -> Result<SigninClient<'a>, CredentialsError> {
        let endpoint = services.endpoint(Service::Signin, services.region.as_deref())?;
        Ok(SigninClient { services, endpoint })
    }

    /// The client for `region` with the resolution's endpoint settings; `explicit_url`
    /// (`--endpoint-url`) first (`aws login`).
    pub fn for_region(
        services: &'a Services,
        region: &str,
        explicit_url: Option<&str>,
    ) -> Result<SigninClient<'a>, CredentialsError> {
        let endpoint = services.endpoint_with_url(Service::Signin, Some(region), explicit_url)?;
        Ok(SigninClient { services, endpoint })
    }

    /// `POST /v1/token` on the endpoint: the URL the DPoP proof's `htu` names.
    pub fn token_url(&self) -> String {
        join(&self.endpoint.url, "/v1/token")
    }

    /// The endpoint's scheme and authority (botocore's `get_base_sign_in_uri`): where
    /// `/v1/authorize` and `/v1/sessions/confirmation` are.
    pub fn base_url(&self) -> Result<String, CredentialsError> {
        url::Url::parse(&self.endpoint.url)
            .map(|u| u.origin().ascii_serialization())
            .map_err(|e| CredentialsError::InvalidSetting {
                setting: "signin endpoint".into(),
                message: e.to_string(),
            })
    }

    /// `CreateOAuth2Token` with `input` as the body and a fresh DPoP proof by `key`; the
    /// `tokenOutput` (the answer's body) or the service's error.
    pub fn create_oauth2_token(&self, input: &Value, key: &DpopKey) -> Result<Value, SigninError> {
        let url = self.token_url();
        let proof = key.proof(
            &url,
            crate::time::now().unix_timestamp(),
            &crate::sso::pkce::uuid4(),
        );
        let req = HttpRequest::new("POST", url.clone())
            .header("Content-Type", "application/json")
            .header("User-Agent", crate::user_agent())
            .header("DPoP", proof)
            .body(input.to_string());
        let resp = self
            .services
            .transport()
            .send(&req)
            .map_err(|source| CredentialsError::transport(&url, source))?;
        if !(200..300).contains(&resp.status) {
            let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
            return Err(SigninError::Service {
                error: crate::sso::rest_json_error(&resp, "CreateOAuth2Token"),
                oauth_error: body
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        match serde_json::from_slice::<Value>(&resp.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(CredentialsError::BadResponse {
                url,
                message: "the answer is not a JSON object".into(),
            }
            .into()),
            Err(e) => Err(CredentialsError::BadResponse {
                url,
                message: e.to_string(),
            }
            .into()),
        }
    }
}
