//! One `sso login`: the configuration, the registration cache, the flow, the token file.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use super::config::LoginConfig;
use super::oidc::{OidcClient, RegisterRequest, Registration};
use crate::cache::PyJson;
use crate::services::Services;
use crate::{CredentialsError, ServiceError};

/// Registrations count as expired this long before their end.
const EXPIRY_WINDOW_SECS: i64 = 15 * 60;

/// Why a login or logout failed. Messages are the v2 CLI's.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The SSO configuration is missing or incomplete (`ConfigurationError`, exit 253).
    #[error("{0}")]
    Config(String),
    /// Polling ended with `ExpiredTokenException`, or the browser never came back.
    #[error("The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted.")]
    PendingAuthorizationExpired,
    /// The redirect to the loopback listener carried an error or the wrong state.
    #[error("Error loading authorization code: {0}")]
    AuthorizationCode(String),
    /// The loopback listener could not be started.
    #[error("Unable to initialize the OAuth 2.0 authorization callback handler: {0} \n You may use --use-device-code to fall back to the device code flow which does not require the callback handler.")]
    CallbackHandler(#[source] std::io::Error),
    /// The instructions could not be shown (the terminal went away).
    #[error("Error when retrieving credentials from sso: {0}")]
    Ui(#[source] std::io::Error),
    /// The OIDC service answered with an error.
    #[error(transparent)]
    Service(ServiceError),
    /// Anything else the credential layer reports (connection, response, file, region).
    #[error(transparent)]
    Credentials(CredentialsError),
}

impl From<CredentialsError> for LoginError {
    fn from(e: CredentialsError) -> LoginError {
        match e {
            CredentialsError::Service(s) => LoginError::Service(s),
            other => LoginError::Credentials(other),
        }
    }
}

/// Where the user authorizes a login, as the CLI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The page to visit: the device flow's `verificationUri`, or the authorize URL.
    pub uri: &'a str,
    /// The code to enter there (the device flow only).
    pub user_code: Option<&'a str>,
    /// The page to open in a browser: `verificationUriComplete` (the code filled in), or
    /// the authorize URL.
    pub uri_complete: &'a str,
}

/// The user's side of a login; the CLI implements it (its texts, its browser).
pub trait LoginUi {
    /// Shows the user how to authorize and opens a browser if it should; an error ends the
    /// login.
    fn authorize(&mut self, authorization: &Authorization<'_>) -> std::io::Result<()>;

    /// The HTML page the loopback listener answers the browser's redirect with.
    fn callback_page(&self) -> &str;
}

/// Options of one login.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// `--use-device-code`: the device flow even for sso-session configurations.
    pub use_device_code: bool,
    /// How long the browser flow waits for the redirect (the CLI's 10 minutes).
    pub callback_timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> LoginOptions {
        LoginOptions {
            use_device_code: false,
            callback_timeout: Duration::from_secs(600),
        }
    }
}

/// The token file written after a login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginResult {
    /// Where the token was cached.
    pub token_file: PathBuf,
    /// Its `expiresAt`.
    pub expires_at: String,
    /// Whether a refresh token came with it.
    pub refreshable: bool,
}

/// One login: configuration, services, where things are cached and how to wait.
pub struct SsoLogin<'a> {
    pub(super) services: &'a Services,
    pub(super) config: LoginConfig,
    cache_dir: PathBuf,
    pub(super) sleep: Box<dyn Fn(Duration) + 'a>,
}

impl<'a> SsoLogin<'a> {
    /// A login for `config` through `services` (whose SSO cache directory must be known).
    pub fn new(services: &'a Services, config: LoginConfig) -> Result<SsoLogin<'a>, LoginError> {
        let cache_dir = services
            .sso_cache
            .as_ref()
            .map(|c| c.dir().to_path_buf())
            .ok_or_else(|| {
                LoginError::Config("Cannot find the SSO token cache: HOME is not set".into())
            })?;
        Ok(SsoLogin {
            services,
            config,
            cache_dir,
            sleep: Box::new(std::thread::sleep),
        })
    }

    /// Replaces how the device flow waits between polls (tests move a fake clock instead of
    /// sleeping).
    pub fn with_sleep(mut self, sleep: impl Fn(Duration) + 'a) -> SsoLogin<'a> {
        self.sleep = Box::new(sleep);
        self
    }

    /// Logs in: the PKCE flow for sso-session configurations unless `use_device_code`, else the
    /// device flow. The user is told what to do through `ui`.
    pub fn run(
        &self,
        options: &LoginOptions,
        ui: &mut dyn LoginUi,
    ) -> Result<LoginResult, LoginError> {
        if self.config.session_name.is_some() && !options.use_device_code {
            super::pkce::run(self, options, ui)
        } else {
            super::device::run(self, ui)
        }
    }

    pub(super) fn oidc(&self) -> OidcClient<'_> {
        OidcClient::new(self.services, &self.config.region)
    }

    fn write(&self, key: &str, text: &str) -> Result<PathBuf, LoginError> {
        let path = self.cache_dir.join(format!("{key}.json"));
        awsid_profile::atomic::write_atomic(&path, text.as_bytes(), 0o600)
            .map_err(|e| CredentialsError::file_write("SSO cache file", e))?;
        Ok(path)
    }

    /// The cached registration for this flow if it is still good, else a new one (cached).
    /// `redirect_uri` is the code flow's; `None` registers for the device flow.
    pub(super) fn registration(
        &self,
        redirect_uri: Option<&str>,
    ) -> Result<Registration, LoginError> {
        let auth_code = redirect_uri.is_some();
        let key = self.config.registration_key();
        let now = crate::time::now();
        let path = self.cache_dir.join(format!("{key}.json"));
        if let Some(cached) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| Registration::from_json(&v))
        {
            if remaining(&cached.expires_at, now) >= EXPIRY_WINDOW_SECS
                && cached.auth_code == auth_code
            {
                return Ok(cached);
            }
        }
        let client_name = match &self.config.session_name {
            Some(n) => format!("botocore-client-{n}"),
            None => format!("botocore-client-{}", now.unix_timestamp()),
        };
        let reg = self.oidc().register(&RegisterRequest {
            client_name: &client_name,
            scopes: self.config.scopes.as_deref(),
            redirect_uri,
            issuer_url: &self.config.start_url,
        })?;
        self.write(&key, &reg.to_json())?;
        Ok(reg)
    }

    /// Builds and caches the token file from a CreateToken answer, in the CLI's field order.
    pub(super) fn save_token(
        &self,
        reg: &Registration,
        out: &Value,
    ) -> Result<LoginResult, LoginError> {
        let now = crate::time::now();
        let access = out
            .get("accessToken")
            .and_then(Value::as_str)
            .ok_or_else(|| CredentialsError::BadResponse {
                url: super::join(&self.oidc().endpoint().unwrap_or_default(), "/token"),
                message: "accessToken is missing".into(),
            })?;
        let expires_in = out.get("expiresIn").and_then(Value::as_i64).unwrap_or(0);
        let expires_at = crate::time::format_z(now + time::Duration::seconds(expires_in));
        let text = |s: &str| PyJson::Str(s.to_string());
        let mut items = vec![
            ("startUrl".to_string(), text(&self.config.start_url)),
            ("region".into(), text(&self.config.region)),
            ("accessToken".into(), text(access)),
            ("expiresAt".into(), text(&expires_at)),
            ("clientId".into(), text(&reg.client_id)),
            ("clientSecret".into(), text(&reg.client_secret)),
            ("registrationExpiresAt".into(), text(&reg.expires_at)),
        ];
        let refresh = out.get("refreshToken").and_then(Value::as_str);
        if let Some(r) = refresh {
            items.push(("refreshToken".into(), text(r)));
        }
        let token_file = self.write(&self.config.token_key(), &PyJson::Obj(items).dumps())?;
        Ok(LoginResult {
            token_file,
            expires_at,
            refreshable: refresh.is_some(),
        })
    }
}

/// Whole seconds from `now` to the timestamp `at` (-1 when it does not parse).
fn remaining(at: &str, now: OffsetDateTime) -> i64 {
    crate::time::parse(at).map_or(-1, |t| (t - now).whole_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_stay_service_errors() {
        let e = LoginError::from(CredentialsError::Service(ServiceError {
            code: "AccessDeniedException".into(),
            message: "why".into(),
            operation: "CreateToken".into(),
            status: 400,
            retries: 0,
            max_attempts_reached: false,
        }));
        assert!(matches!(e, LoginError::Service(_)));
        let e = LoginError::from(CredentialsError::NoRegion);
        assert!(matches!(e, LoginError::Credentials(_)));
        let e = LoginError::CallbackHandler(std::io::Error::other("port in use"));
        assert_eq!(
            e.to_string(),
            "Unable to initialize the OAuth 2.0 authorization callback handler: port in use \n You may use --use-device-code to fall back to the device code flow which does not require the callback handler."
        );
        assert!(std::error::Error::source(&e).is_some());
    }
}
