//! `aws sso login` and `aws sso logout` as the v2 CLI does them (`process-and-sso.md` §3): the
//! client registration cached in `~/.aws/sso/cache`, the device authorization flow and the
//! authorization code flow with PKCE (a loopback listener for the redirect), and the token file
//! the SSO provider ([`crate::sso`]) and other SDKs read.
//!
//! Endpoints, the HTTP transport and the cache directories come from [`Services`], exactly as
//! the SSO provider uses them. Nothing here prints or logs a token or secret.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::cache::{python_json_string, sso_token_key, PyJson};
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::services::Services;
use crate::sso::{join, rest_json_error};
use crate::{CredentialsError, ServiceError, Session};

/// The device-code grant type.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The scope the browser flow registers when none is configured.
const DEFAULT_SCOPE: &str = "sso:account:access";
/// Registrations and cached tokens count as expired this long before their end.
const EXPIRY_WINDOW_SECS: i64 = 15 * 60;
/// botocore's polling interval when the service sends none, and the slow-down increment.
const DEFAULT_INTERVAL: u64 = 5;
const SLOW_DOWN_SECS: u64 = 5;

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
    CallbackHandler(String),
    /// The OIDC service answered with an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Anything the credential layer reports (connection, response, file, region).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// What `sso login` logs into: from an `[sso-session]` section or a legacy profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginConfig {
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// The sso-session name (`None`: legacy configuration).
    pub session_name: Option<String>,
    /// `sso_registration_scopes`, parsed (`None` when not configured).
    pub scopes: Option<Vec<String>>,
}

/// `sso_registration_scopes`: comma-separated, items trimmed, empty items dropped.
pub fn parse_scopes(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl LoginConfig {
    /// v2's `_get_sso_config`: `sso_session` (the flag, else the selected profile's
    /// `sso_session`) names an `[sso-session]` section holding `sso_start_url` and
    /// `sso_region`; otherwise the profile itself must hold them (legacy).
    pub fn resolve(
        session: &Session,
        sso_session: Option<&str>,
    ) -> Result<LoginConfig, LoginError> {
        let selection = session.selection();
        let profiles = session.profiles();
        let profile = profiles.profile(&selection.name);
        if profile.is_none() && selection.name != "default" {
            return Err(CredentialsError::ProfileNotFound(selection.name.clone()).into());
        }
        let empty = awsid_profile::Properties::default();
        let profile = profile.unwrap_or(&empty);
        let name = sso_session
            .map(str::to_string)
            .or_else(|| profile.get_str("sso_session").map(str::to_string))
            .filter(|n| !n.is_empty());
        let required = |props: &awsid_profile::Properties| {
            let mut missing = Vec::new();
            for key in ["sso_start_url", "sso_region"] {
                if !props.contains(key) {
                    missing.push(key);
                }
            }
            missing
        };
        let value = |props: &awsid_profile::Properties, key: &str| {
            props.get_str(key).unwrap_or_default().to_string()
        };
        match name {
            Some(name) => {
                let section = profiles.sso_session(&name).ok_or_else(|| {
                    LoginError::Config(format!(
                        "The specified sso-session does not exist: \"{name}\""
                    ))
                })?;
                let missing = required(section);
                if !missing.is_empty() {
                    // v2's text ends with a space; awsid names the section after it.
                    return Err(LoginError::Config(format!(
                        "Missing the following required SSO configuration values: {}. The [sso-session {name}] section of the config file must set them.",
                        missing.join(", ")
                    )));
                }
                Ok(LoginConfig {
                    start_url: value(section, "sso_start_url"),
                    region: value(section, "sso_region"),
                    scopes: section.get_str("sso_registration_scopes").map(parse_scopes),
                    session_name: Some(name),
                })
            }
            None => {
                let missing = required(profile);
                if !missing.is_empty() {
                    // v2's text, with the profile named in the suggested command.
                    let flag = if selection.name == "default" {
                        String::new()
                    } else {
                        format!(
                            " --profile {}",
                            awsid_profile::shell::quote(&selection.name)
                        )
                    };
                    return Err(LoginError::Config(format!(
                        "Missing the following required SSO configuration values: {}. To make sure this profile is properly configured to use SSO, please run: aws configure sso{flag}",
                        missing.join(", ")
                    )));
                }
                Ok(LoginConfig {
                    start_url: value(profile, "sso_start_url"),
                    region: value(profile, "sso_region"),
                    session_name: None,
                    scopes: None,
                })
            }
        }
    }

    /// The token cache key: SHA-1 of the session name, or of the start URL (legacy).
    pub fn token_key(&self) -> String {
        sso_token_key(self.session_name.as_deref().unwrap_or(&self.start_url))
    }

    /// The registration cache key: SHA-1 of botocore's sorted JSON of tool, start URL, region,
    /// scopes and session name.
    pub fn registration_key(&self) -> String {
        let scopes = match &self.scopes {
            None => "null".to_string(),
            Some(list) => format!(
                "[{}]",
                list.iter()
                    .map(|s| python_json_string(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let session = self
            .session_name
            .as_deref()
            .map_or_else(|| "null".to_string(), python_json_string);
        let text = format!(
            "{{\"region\": {}, \"scopes\": {scopes}, \"session_name\": {session}, \"startUrl\": {}, \"tool\": \"botocore\"}}",
            python_json_string(&self.region),
            python_json_string(&self.start_url)
        );
        hex::encode(sha1::Sha1::digest(text.as_bytes()))
    }
}

/// Opens a URL for the user.
pub trait Browser {
    /// Tries to open `url`; `false` when no browser could be started.
    fn open(&self, url: &str) -> bool;
}

/// The desktop browser: each command of `$BROWSER` (`:`-separated; `%s` is replaced by the
/// URL, else the URL is appended), then `xdg-open`. Started in the background, never waited
/// for (a browser that talks to the callback listener must not block the login).
pub struct SystemBrowser {
    browser_var: Option<String>,
}

impl SystemBrowser {
    /// The browser configured by `env`'s `BROWSER`.
    pub fn from_env(env: &awsid_profile::Env) -> SystemBrowser {
        SystemBrowser {
            browser_var: env.get_non_empty("BROWSER").map(str::to_string),
        }
    }
}

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> bool {
        let mut commands: Vec<Vec<String>> = Vec::new();
        if let Some(var) = &self.browser_var {
            for entry in var.split(':').filter(|e| !e.trim().is_empty()) {
                let Ok(mut words) = awsid_profile::shell::split(entry) else {
                    continue;
                };
                if words.iter().any(|w| w.contains("%s")) {
                    words = words.into_iter().map(|w| w.replace("%s", url)).collect();
                } else {
                    words.push(url.to_string());
                }
                commands.push(words);
            }
        }
        commands.push(vec!["xdg-open".into(), url.into()]);
        for words in commands {
            let Some((program, args)) = words.split_first() else {
                continue;
            };
            let spawned = std::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            match spawned {
                Ok(mut child) => {
                    // Reap it whenever it ends.
                    std::thread::spawn(move || child.wait());
                    return true;
                }
                Err(e) => tracing::debug!("cannot start browser {program}: {e}"),
            }
        }
        false
    }
}

/// Options of one login.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// `--use-device-code`: the device flow even for sso-session configurations.
    pub use_device_code: bool,
    /// `--no-browser`: print the URL instead of opening it.
    pub no_browser: bool,
    /// How long the browser flow waits for the redirect (the CLI's 10 minutes).
    pub callback_timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> LoginOptions {
        LoginOptions {
            use_device_code: false,
            no_browser: false,
            callback_timeout: Duration::from_secs(600),
        }
    }
}

/// A cached client registration.
#[derive(Clone)]
struct Registration {
    client_id: String,
    client_secret: String,
    expires_at: String,
    scopes: Option<Vec<String>>,
    auth_code: bool,
}

impl Registration {
    fn to_json(&self) -> String {
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

    fn from_json(v: &Value) -> Option<Registration> {
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

/// One login: configuration, services and where things are cached.
pub struct SsoLogin<'a> {
    services: &'a Services,
    config: LoginConfig,
    cache_dir: PathBuf,
    sleep: fn(Duration),
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
            sleep: std::thread::sleep,
        })
    }

    /// Replaces the poll sleep (tests).
    #[cfg(test)]
    fn with_sleep(mut self, sleep: fn(Duration)) -> SsoLogin<'a> {
        self.sleep = sleep;
        self
    }

    fn oidc_url(&self) -> Result<String, LoginError> {
        Ok(self
            .services
            .endpoint(Service::SsoOidc, Some(&self.config.region))?
            .url)
    }

    /// POSTs a JSON body to the OIDC endpoint; the parsed answer or the service's error.
    fn call(&self, path: &str, operation: &str, body: &Value) -> Result<Value, LoginError> {
        let url = join(&self.oidc_url()?, path);
        let req = HttpRequest::new("POST", url.clone())
            .header("Content-Type", "application/json")
            .header("User-Agent", crate::user_agent())
            .body(body.to_string());
        let resp = self
            .services
            .transport()
            .send(&req)
            .map_err(|_| CredentialsError::Connect { url: url.clone() })?;
        if !(200..300).contains(&resp.status) {
            return Err(rest_json_error(&resp, operation).into());
        }
        serde_json::from_slice(&resp.body).map_err(|e| {
            CredentialsError::BadResponse {
                url,
                message: e.to_string(),
            }
            .into()
        })
    }

    fn write(&self, key: &str, text: &str) -> Result<PathBuf, LoginError> {
        let path = self.cache_dir.join(format!("{key}.json"));
        awsid_profile::atomic::write_atomic(&path, text.as_bytes(), 0o600)
            .map_err(|e| CredentialsError::file_write("SSO cache file", e))?;
        Ok(path)
    }

    fn remaining(at: &str, now: OffsetDateTime) -> i64 {
        crate::time::parse(at).map_or(-1, |t| (t - now).whole_seconds())
    }

    /// The cached registration for this flow if it is still good, else a new one (cached).
    fn registration(
        &self,
        auth_code: bool,
        redirect: Option<&str>,
    ) -> Result<Registration, LoginError> {
        let key = self.config.registration_key();
        let now = crate::time::now();
        let path = self.cache_dir.join(format!("{key}.json"));
        if let Some(cached) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| Registration::from_json(&v))
        {
            if Self::remaining(&cached.expires_at, now) >= EXPIRY_WINDOW_SECS
                && cached.auth_code == auth_code
            {
                return Ok(cached);
            }
        }
        let client_name = match &self.config.session_name {
            Some(n) => format!("botocore-client-{n}"),
            None => format!("botocore-client-{}", now.unix_timestamp()),
        };
        let mut body = json!({"clientName": client_name, "clientType": "public"});
        let scopes = if auth_code {
            let s = self
                .config
                .scopes
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec![DEFAULT_SCOPE.to_string()]);
            body["grantTypes"] = json!(["authorization_code", "refresh_token"]);
            body["redirectUris"] = json!([redirect.unwrap_or_default()]);
            body["issuerUrl"] = json!(self.config.start_url);
            body["scopes"] = json!(s);
            Some(s)
        } else {
            let s = self.config.scopes.clone().filter(|s| !s.is_empty());
            if let Some(s) = &s {
                body["scopes"] = json!(s);
            }
            s
        };
        let out = self.call("/client/register", "RegisterClient", &body)?;
        let field = |k: &str| {
            out.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    LoginError::from(CredentialsError::BadResponse {
                        url: join(&self.oidc_url().unwrap_or_default(), "/client/register"),
                        message: format!("{k} is missing"),
                    })
                })
        };
        let expires = out
            .get("clientSecretExpiresAt")
            .and_then(Value::as_i64)
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or_else(|| {
                LoginError::from(CredentialsError::BadResponse {
                    url: join(&self.oidc_url().unwrap_or_default(), "/client/register"),
                    message: "clientSecretExpiresAt is missing".into(),
                })
            })?;
        let reg = Registration {
            client_id: field("clientId")?,
            client_secret: field("clientSecret")?,
            expires_at: crate::time::format_z(expires),
            scopes,
            auth_code,
        };
        self.write(&key, &reg.to_json())?;
        Ok(reg)
    }

    /// Builds and caches the token file from a CreateToken answer.
    fn save_token(&self, reg: &Registration, out: &Value) -> Result<LoginResult, LoginError> {
        let now = crate::time::now();
        let access = out
            .get("accessToken")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                LoginError::from(CredentialsError::BadResponse {
                    url: join(&self.oidc_url().unwrap_or_default(), "/token"),
                    message: "accessToken is missing".into(),
                })
            })?;
        let expires_in = out.get("expiresIn").and_then(Value::as_i64).unwrap_or(0);
        let expires_at = crate::time::format_z(now + time::Duration::seconds(expires_in));
        let mut items = vec![
            (
                "startUrl".to_string(),
                PyJson::Str(self.config.start_url.clone()),
            ),
            ("region".into(), PyJson::Str(self.config.region.clone())),
            ("accessToken".into(), PyJson::Str(access.to_string())),
            ("expiresAt".into(), PyJson::Str(expires_at.clone())),
            ("clientId".into(), PyJson::Str(reg.client_id.clone())),
            (
                "clientSecret".into(),
                PyJson::Str(reg.client_secret.clone()),
            ),
            (
                "registrationExpiresAt".into(),
                PyJson::Str(reg.expires_at.clone()),
            ),
        ];
        let refresh = out.get("refreshToken").and_then(Value::as_str);
        if let Some(r) = refresh {
            items.push(("refreshToken".into(), PyJson::Str(r.to_string())));
        }
        let token_file = self.write(&self.config.token_key(), &PyJson::Obj(items).dumps())?;
        Ok(LoginResult {
            token_file,
            expires_at,
            refreshable: refresh.is_some(),
        })
    }

    /// Logs in: the PKCE flow for sso-session configurations unless `use_device_code`, else the
    /// device flow. Instructions go to `out`; the URL is opened with `browser` unless
    /// `no_browser`.
    pub fn run(
        &self,
        options: &LoginOptions,
        browser: &dyn Browser,
        out: &mut dyn Write,
    ) -> Result<LoginResult, LoginError> {
        if self.config.session_name.is_some() && !options.use_device_code {
            self.pkce_flow(options, browser, out)
        } else {
            self.device_flow(options, browser, out)
        }
    }

    fn device_flow(
        &self,
        options: &LoginOptions,
        browser: &dyn Browser,
        out: &mut dyn Write,
    ) -> Result<LoginResult, LoginError> {
        let reg = self.registration(false, None)?;
        let auth = self.call(
            "/device_authorization",
            "StartDeviceAuthorization",
            &json!({"clientId": reg.client_id, "clientSecret": reg.client_secret,
                    "startUrl": self.config.start_url}),
        )?;
        let s = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or_default();
        let device_code = s("deviceCode").to_string();
        let mut interval = auth
            .get("interval")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_INTERVAL);
        let body = json!({"grantType": DEVICE_GRANT, "clientId": reg.client_id,
                          "clientSecret": reg.client_secret, "deviceCode": device_code});
        // One attempt before prompting: a pre-authorized client gets its token right away.
        let attempt = |interval: &mut u64| -> Result<Option<Value>, LoginError> {
            match self.call("/token", "CreateToken", &body) {
                Ok(v) => Ok(Some(v)),
                Err(LoginError::Service(e)) => match e.code.as_str() {
                    "AuthorizationPendingException" => Ok(None),
                    "SlowDownException" => {
                        *interval += SLOW_DOWN_SECS;
                        Ok(None)
                    }
                    "ExpiredTokenException" => Err(LoginError::PendingAuthorizationExpired),
                    _ => Err(e.into()),
                },
                Err(e) => Err(e),
            }
        };
        if let Some(token) = attempt(&mut interval)? {
            return self.save_token(&reg, &token);
        }
        prompt(
            out,
            browser,
            options.no_browser,
            s("verificationUri"),
            Some(s("userCode")),
            s("verificationUriComplete"),
        )?;
        loop {
            if let Some(token) = attempt(&mut interval)? {
                return self.save_token(&reg, &token);
            }
            (self.sleep)(Duration::from_secs(interval));
        }
    }

    fn pkce_flow(
        &self,
        options: &LoginOptions,
        browser: &dyn Browser,
        out: &mut dyn Write,
    ) -> Result<LoginResult, LoginError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| LoginError::CallbackHandler(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| LoginError::CallbackHandler(e.to_string()))?
            .port();
        let redirect = format!("http://127.0.0.1:{port}/oauth/callback");
        let reg = self.registration(true, Some("http://127.0.0.1/oauth/callback"))?;
        let verifier = code_verifier();
        let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
        let state = uuid4();
        let scopes = self
            .config
            .scopes
            .clone()
            .filter(|s| !s.is_empty())
            .map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.join(" "));
        // The authorize endpoint is the OIDC endpoint's scheme and host (botocore drops the
        // path of the resolved endpoint).
        let base = url::Url::parse(&self.oidc_url()?)
            .map(|u| u.origin().ascii_serialization())
            .map_err(|e| CredentialsError::InvalidSetting {
                setting: "sso_oidc endpoint".into(),
                message: e.to_string(),
            })?;
        let enc = crate::sts::encode;
        let url = format!(
            "{base}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={challenge}",
            enc(&reg.client_id),
            enc(&redirect),
            enc(&state),
            enc(&scopes),
        );
        prompt(out, browser, options.no_browser, &url, None, &url)?;
        let (code, returned_state) = wait_for_callback(&listener, options.callback_timeout)?;
        let Some(code) = code else {
            return Err(LoginError::AuthorizationCode(
                "Failed to retrieve an authorization code.".into(),
            ));
        };
        if returned_state.as_deref() != Some(state.as_str()) {
            return Err(LoginError::AuthorizationCode(
                "State parameter does not match expected value.".into(),
            ));
        }
        let token = match self.call(
            "/token",
            "CreateToken",
            &json!({"grantType": "authorization_code", "clientId": reg.client_id,
                    "clientSecret": reg.client_secret, "redirectUri": redirect,
                    "codeVerifier": verifier, "code": code}),
        ) {
            Err(LoginError::Service(e)) if e.code == "ExpiredTokenException" => {
                return Err(LoginError::PendingAuthorizationExpired)
            }
            other => other?,
        };
        self.save_token(&reg, &token)
    }
}

/// Prints the instructions (the CLI's two handlers) and opens the browser unless told not to.
fn prompt(
    out: &mut dyn Write,
    browser: &dyn Browser,
    no_browser: bool,
    uri: &str,
    user_code: Option<&str>,
    uri_complete: &str,
) -> Result<(), LoginError> {
    let io = |e: std::io::Error| {
        LoginError::Credentials(CredentialsError::retrieval("sso", e.to_string()))
    };
    if no_browser {
        write!(
            out,
            "Browser will not be automatically opened.\nPlease visit the following URL:\n\n{uri}\n"
        )
        .map_err(io)?;
        if let Some(code) = user_code {
            write!(out, "\nThen enter the code:\n\n{code}\n\nAlternatively, you may visit the following URL which will autofill the code upon loading:\n{uri_complete}\n").map_err(io)?;
        }
        out.flush().map_err(io)?;
        return Ok(());
    }
    write!(out, "Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n{uri}\n").map_err(io)?;
    if let Some(code) = user_code {
        write!(out, "\nThen enter the code:\n\n{code}\n").map_err(io)?;
    }
    out.flush().map_err(io)?;
    if !browser.open(uri_complete) {
        tracing::debug!("no browser could be opened");
    }
    Ok(())
}

/// The page the browser shows after the redirect.
const CALLBACK_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>awsid sso login</title></head>\
<body><h1>Request processed</h1><p>You can close this window and return to the terminal.</p></body></html>";

/// Serves the loopback listener until a request carries `error`, or `code` and `state`; each
/// request gets the closing page. `(None, None)` for an error redirect.
fn wait_for_callback(
    listener: &TcpListener,
    timeout: Duration,
) -> Result<(Option<String>, Option<String>), LoginError> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let (stream, _) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(LoginError::CallbackHandler(e.to_string())),
        };
        if let Some(result) = handle_callback(stream) {
            return Ok(result);
        }
    }
    Err(LoginError::PendingAuthorizationExpired)
}

fn handle_callback(mut stream: TcpStream) -> Option<(Option<String>, Option<String>)> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.lines().next()?.split(' ').nth(1)?.to_string();
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{CALLBACK_PAGE}",
            CALLBACK_PAGE.len()
        )
        .as_bytes(),
    );
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("error").is_some() {
        return Some((None, None));
    }
    match (get("code"), get("state")) {
        (Some(c), Some(s)) => Some((Some(c), Some(s))),
        _ => None,
    }
}

/// 64 random characters of `A–Z a–z 0–9 - . _ ~` (RFC 7636's verifier alphabet).
fn code_verifier() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A random UUID (version 4) in its text form.
fn uuid4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Unpadded base64url (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// What `sso logout` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutReport {
    /// Token files deleted from `~/.aws/sso/cache`.
    pub tokens: Vec<PathBuf>,
    /// SSO credential files deleted from `~/.aws/cli/cache`.
    pub credentials: Vec<PathBuf>,
}

/// `aws sso logout`: every token file (a JSON object with `accessToken`) in the SSO cache is
/// logged out at the portal of its `region` (best effort) and deleted; every
/// `"ProviderType": "sso"` file in the CLI cache is deleted.
pub fn logout(services: &Services) -> Result<LogoutReport, LoginError> {
    let mut report = LogoutReport::default();
    let json_files = |dir: &std::path::Path| -> Vec<(PathBuf, Value)> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        files
            .into_iter()
            .filter(|p| p.is_file())
            .filter_map(|p| {
                let v = serde_json::from_slice::<Value>(&std::fs::read(&p).ok()?).ok()?;
                Some((p, v))
            })
            .collect()
    };
    if let Some(cache) = &services.sso_cache {
        for (path, v) in json_files(cache.dir()) {
            let Some(token) = v.get("accessToken") else {
                continue;
            };
            if let (Some(region), Some(token)) = (
                v.get("region")
                    .and_then(Value::as_str)
                    .filter(|r| !r.is_empty()),
                token.as_str(),
            ) {
                portal_logout(services, region, token);
            }
            remove(&path)?;
            report.tokens.push(path);
        }
    }
    if let Some(cache) = &services.cli_cache {
        for (path, v) in json_files(cache.dir()) {
            if v.get("ProviderType").and_then(Value::as_str) == Some("sso") {
                remove(&path)?;
                report.credentials.push(path);
            }
        }
    }
    Ok(report)
}

fn remove(path: &std::path::Path) -> Result<(), LoginError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CredentialsError::File {
            what: "SSO cache file",
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// Portal `Logout`; failures are logged and ignored (the token may already be invalid).
fn portal_logout(services: &Services, region: &str, token: &str) {
    let endpoint = match services.endpoint(Service::Sso, Some(region)) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("no SSO portal endpoint for {region}: {e}");
            return;
        }
    };
    let req = HttpRequest::new("POST", join(&endpoint.url, "/logout"))
        .header("x-amz-sso_bearer_token", token)
        .header("User-Agent", crate::user_agent());
    match services.transport().send(&req) {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => tracing::debug!("Logout answered {}", rest_json_error(&r, "Logout")),
        Err(e) => tracing::debug!("Logout failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeServer, Recorded, Reply};
    use crate::ResolveOptions;
    use std::cell::RefCell;
    use std::sync::{Arc, Mutex};

    const START: &str = "https://my-sso-portal.awsapps.com/start";

    fn session(
        home: &std::path::Path,
        config: &str,
        extra: &[(&str, &str)],
        profile: Option<&str>,
    ) -> Session {
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(home.join(".aws/config"), config).unwrap();
        let mut env = vec![("HOME".to_string(), home.display().to_string())];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Session::load(&awsid_profile::Env::from_pairs(env), profile).unwrap()
    }

    const SSO_SESSION_CONFIG: &str = "[default]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = readOnly\n\n[profile legacy]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\n\n[profile broken]\nsso_start_url = x\n\n[profile ghost]\nsso_session = nope\n\n[sso-session my-sso]\nsso_region = us-east-1\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_registration_scopes = sso:account:access\n\n[sso-session half]\nsso_start_url = x\n";

    #[test]
    fn cache_keys_match_the_cli() {
        let c = LoginConfig {
            start_url: START.into(),
            region: "us-east-1".into(),
            session_name: Some("my-sso".into()),
            scopes: Some(vec!["sso:account:access".into()]),
        };
        assert_eq!(
            c.registration_key(),
            "c5cfae6e3e4f067423a532368c8b514b6a4b0ace"
        );
        assert_eq!(c.token_key(), "0ad374308c5a4e22f723adf10145eafad7c4031c");
        let legacy = LoginConfig {
            session_name: None,
            scopes: None,
            ..c
        };
        assert_eq!(
            legacy.token_key(),
            "c7aaaf71fcc8777ae2475525ed049d39fe16c484"
        );
        // Python: json.dumps({"tool": "botocore", "startUrl": START, "region": "us-east-1",
        // "scopes": None, "session_name": None}, sort_keys=True)
        let text = format!("{{\"region\": \"us-east-1\", \"scopes\": null, \"session_name\": null, \"startUrl\": \"{START}\", \"tool\": \"botocore\"}}");
        assert_eq!(
            legacy.registration_key(),
            hex::encode(sha1::Sha1::digest(text.as_bytes()))
        );
        assert_eq!(parse_scopes(" a, ,b ,"), ["a", "b"]);
    }

    #[test]
    fn configuration_errors_name_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path();
        let c = LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], None), None).unwrap();
        assert_eq!(c.session_name.as_deref(), Some("my-sso"));
        assert_eq!(c.scopes, Some(vec!["sso:account:access".to_string()]));
        assert_eq!(
            (c.start_url.as_str(), c.region.as_str()),
            (START, "us-east-1")
        );
        let c = LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], Some("legacy")), None)
            .unwrap();
        assert_eq!((c.session_name, c.scopes), (None, None));
        // --sso-session wins over the profile.
        let c = LoginConfig::resolve(
            &session(h, SSO_SESSION_CONFIG, &[], Some("legacy")),
            Some("my-sso"),
        )
        .unwrap();
        assert_eq!(c.session_name.as_deref(), Some("my-sso"));
        let err = |profile: Option<&str>, flag: Option<&str>| {
            LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], profile), flag)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(Some("broken"), None),
            "Missing the following required SSO configuration values: sso_region. To make sure this profile is properly configured to use SSO, please run: aws configure sso --profile broken"
        );
        assert_eq!(
            err(Some("ghost"), None),
            "The specified sso-session does not exist: \"nope\""
        );
        assert_eq!(
            err(None, Some("half")),
            "Missing the following required SSO configuration values: sso_region. The [sso-session half] section of the config file must set them."
        );
        assert_eq!(
            err(Some("missing"), None),
            "The config profile (missing) could not be found"
        );
        let empty = LoginConfig::resolve(&session(h, "", &[], None), None).unwrap_err();
        assert_eq!(
            empty.to_string(),
            "Missing the following required SSO configuration values: sso_start_url, sso_region. To make sure this profile is properly configured to use SSO, please run: aws configure sso"
        );
    }

    /// A scripted SSO-OIDC: registration, device authorization, then the token answers of
    /// `polls` in order (a status and an error type, or 200).
    fn fake_oidc(polls: Vec<(u16, &'static str)>) -> FakeServer {
        let polls = Mutex::new(polls.into_iter());
        // Endpoint URLs with a path prefix put it before the operation's path.
        FakeServer::start(move |r: &Recorded| {
            match r.path.trim_start_matches("/some/path") {
            "/client/register" => Reply::ok(
                json!({"clientId": "CID", "clientSecret": "CSECRET", "clientIdIssuedAt": 1_800_000_000i64,
                       "clientSecretExpiresAt": 4_000_000_000i64}).to_string(),
            ),
            "/device_authorization" => Reply::ok(
                json!({"deviceCode": "DEV", "userCode": "BCDF-GHJK", "verificationUri": "http://v/device",
                       "verificationUriComplete": "http://v/device?user_code=BCDF-GHJK",
                       "expiresIn": 600, "interval": 1}).to_string(),
            ),
            "/token" => match polls.lock().unwrap().next() {
                Some((200, _)) | None => Reply::ok(
                    json!({"accessToken": "ACCESS", "tokenType": "Bearer", "expiresIn": 3600,
                           "refreshToken": "REFRESH"}).to_string(),
                ),
                Some((status, shape)) => Reply::new(status, json!({"error": "x", "error_description": "why"}).to_string())
                    .header("x-amzn-ErrorType", &format!("{shape}:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/")),
            },
            _ => Reply::new(404, ""),
        }
        })
    }

    struct NoBrowser(RefCell<Vec<String>>);

    impl Browser for NoBrowser {
        fn open(&self, url: &str) -> bool {
            self.0.borrow_mut().push(url.to_string());
            false
        }
    }

    thread_local! {
        static SLEPT: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }

    fn record_sleep(d: Duration) {
        SLEPT.with(|s| s.borrow_mut().push(d.as_secs()));
    }

    #[test]
    fn device_flow_polls_slows_down_and_writes_the_token() {
        let fake = fake_oidc(vec![
            (400, "AuthorizationPendingException"),
            (400, "AuthorizationPendingException"),
            (400, "SlowDownException"),
            (400, "AuthorizationPendingException"),
            (200, ""),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let config = LoginConfig::resolve(&s, None).unwrap();
        let login = SsoLogin::new(&services, config)
            .unwrap()
            .with_sleep(record_sleep);
        let browser = NoBrowser(RefCell::new(Vec::new()));
        let mut out = Vec::new();
        let options = LoginOptions {
            use_device_code: true,
            ..Default::default()
        };
        SLEPT.with(|s| s.borrow_mut().clear());
        let result = login.run(&options, &browser, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Attempting to automatically open the SSO authorization page in your default browser.\n\
             If the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\
             \nhttp://v/device\n\nThen enter the code:\n\nBCDF-GHJK\n"
        );
        assert_eq!(*browser.0.borrow(), ["http://v/device?user_code=BCDF-GHJK"]);
        // Attempt, prompt, attempt (pending), sleep 1, attempt (slow down: 6), sleep 6,
        // attempt (pending), sleep 6, attempt (token).
        SLEPT.with(|s| assert_eq!(*s.borrow(), [1, 6, 6]));
        let reqs = fake.requests();
        let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/client/register",
                "/device_authorization",
                "/token",
                "/token",
                "/token",
                "/token",
                "/token"
            ]
        );
        let reg: Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            reg,
            json!({"clientName": "botocore-client-my-sso", "clientType": "public", "scopes": ["sso:account:access"]})
        );
        let poll: Value = serde_json::from_slice(&reqs[2].body).unwrap();
        assert_eq!(
            poll,
            json!({"grantType": DEVICE_GRANT, "clientId": "CID", "clientSecret": "CSECRET", "deviceCode": "DEV"})
        );
        // The token file: the CLI's name, field order, mode 0600.
        let token_path = dir
            .path()
            .join(".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json");
        assert_eq!(result.token_file, token_path);
        let text = std::fs::read_to_string(&token_path).unwrap();
        let expected = format!(
            "{{\"startUrl\": \"{START}\", \"region\": \"us-east-1\", \"accessToken\": \"ACCESS\", \"expiresAt\": \"{}\", \"clientId\": \"CID\", \"clientSecret\": \"CSECRET\", \"registrationExpiresAt\": \"2096-10-02T07:06:40Z\", \"refreshToken\": \"REFRESH\"}}",
            result.expires_at
        );
        assert_eq!(text, expected);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let reg_file = dir
            .path()
            .join(".aws/sso/cache/c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json");
        assert_eq!(
            std::fs::read_to_string(reg_file).unwrap(),
            "{\"clientId\": \"CID\", \"clientSecret\": \"CSECRET\", \"expiresAt\": \"2096-10-02T07:06:40Z\", \"scopes\": [\"sso:account:access\"]}"
        );
        // A second login reuses the cached registration.
        let mut out = Vec::new();
        login.run(&options, &browser, &mut out).unwrap();
        let again = fake.requests();
        assert_eq!(
            again
                .iter()
                .filter(|r| r.path == "/client/register")
                .count(),
            1
        );
    }

    #[test]
    fn no_browser_text_and_expired_authorization() {
        let fake = fake_oidc(vec![
            (400, "AuthorizationPendingException"),
            (400, "ExpiredTokenException"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL", &fake.url())],
            Some("legacy"),
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap())
            .unwrap()
            .with_sleep(record_sleep);
        let browser = NoBrowser(RefCell::new(Vec::new()));
        let mut out = Vec::new();
        let options = LoginOptions {
            no_browser: true,
            ..Default::default()
        };
        let err = login.run(&options, &browser, &mut out).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted."
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Browser will not be automatically opened.\nPlease visit the following URL:\n\nhttp://v/device\n\n\
             Then enter the code:\n\nBCDF-GHJK\n\nAlternatively, you may visit the following URL which will autofill the code upon loading:\n\
             http://v/device?user_code=BCDF-GHJK\n"
        );
        assert!(browser.0.borrow().is_empty(), "--no-browser opens nothing");
        // Legacy registrations have a timestamp name and no scopes.
        let reg: Value = serde_json::from_slice(&fake.requests()[0].body).unwrap();
        let stamp: i64 = reg["clientName"].as_str().unwrap()["botocore-client-".len()..]
            .parse()
            .unwrap();
        assert!((stamp - crate::time::now().unix_timestamp()).abs() < 60);
        assert!(reg.get("scopes").is_none());
        // Other errors abort with the service's code and description.
        let fake = fake_oidc(vec![(400, "AccessDeniedException")]);
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            Some("legacy"),
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let err = login.run(&options, &browser, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "An error occurred (AccessDeniedException) when calling the CreateToken operation: why"
        );
        assert!(matches!(err, LoginError::Service(_)));
    }

    /// A browser that approves: requests the redirect URI with a code and the given state.
    struct Approving {
        state: Option<&'static str>,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Browser for Approving {
        fn open(&self, url: &str) -> bool {
            self.seen.lock().unwrap().push(url.to_string());
            let parsed = url::Url::parse(url).unwrap();
            let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).unwrap().1.clone();
            let redirect = get("redirect_uri");
            let state = self.state.map_or_else(|| get("state"), str::to_string);
            std::thread::spawn(move || {
                let u = url::Url::parse(&redirect).unwrap();
                let mut s = TcpStream::connect(("127.0.0.1", u.port().unwrap())).unwrap();
                // A stray request first (browsers ask for icons), then the redirect.
                write!(s, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
                let mut s = TcpStream::connect(("127.0.0.1", u.port().unwrap())).unwrap();
                write!(
                    s,
                    "GET {}?code=THECODE&state={state} HTTP/1.1\r\nHost: x\r\n\r\n",
                    u.path()
                )
                .unwrap();
                let _ = s.read_to_end(&mut sink);
            });
            true
        }
    }

    #[test]
    fn pkce_flow_sends_the_verifier_of_the_challenge() {
        let fake = fake_oidc(vec![]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[(
                "AWS_ENDPOINT_URL_SSO_OIDC",
                &format!("{}/some/path/", fake.url()),
            )],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let browser = Approving {
            state: None,
            seen: seen.clone(),
        };
        let mut out = Vec::new();
        login
            .run(&LoginOptions::default(), &browser, &mut out)
            .unwrap();
        let url = seen.lock().unwrap()[0].clone();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!("Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n{url}\n")
        );
        // The authorize URL: the endpoint's origin, botocore's parameter order and encoding.
        let prefix = format!(
            "{}/authorize?response_type=code&client_id=CID&redirect_uri=http%3A%2F%2F127.0.0.1%3A",
            fake.url()
        );
        assert!(url.starts_with(&prefix), "{url}");
        assert!(url.contains("%2Foauth%2Fcallback&state="), "{url}");
        assert!(
            url.contains(
                "&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge="
            ),
            "{url}"
        );
        let challenge = url.rsplit_once("code_challenge=").unwrap().1;
        assert_eq!(challenge.len(), 43);
        let reqs = fake.requests();
        let reg: Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            reg,
            json!({"clientName": "botocore-client-my-sso", "clientType": "public",
            "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": ["http://127.0.0.1/oauth/callback"],
            "issuerUrl": START, "scopes": ["sso:account:access"]})
        );
        assert_eq!(reqs[0].path, "/some/path/client/register");
        assert_eq!(reqs[1].path, "/some/path/token");
        let token: Value = serde_json::from_slice(&reqs[1].body).unwrap();
        assert_eq!(token["grantType"], "authorization_code");
        assert_eq!(token["code"], "THECODE");
        let verifier = token["codeVerifier"].as_str().unwrap();
        assert_eq!(verifier.len(), 64);
        assert_eq!(base64url(&Sha256::digest(verifier.as_bytes())), challenge);
        let redirect = token["redirectUri"].as_str().unwrap();
        assert!(url.contains(&crate::sts::encode(redirect)));
        // The PKCE registration is cached with its grant types; the device flow does not reuse it.
        let reg_file = dir
            .path()
            .join(".aws/sso/cache/c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json");
        let cached: Value = serde_json::from_slice(&std::fs::read(reg_file).unwrap()).unwrap();
        assert_eq!(
            cached["grantTypes"],
            json!(["authorization_code", "refresh_token"])
        );
        let options = LoginOptions {
            use_device_code: true,
            no_browser: true,
            ..Default::default()
        };
        login.run(&options, &browser, &mut Vec::new()).unwrap();
        assert_eq!(
            fake.requests()
                .iter()
                .filter(|r| r.path.ends_with("/client/register"))
                .count(),
            2
        );
    }

    #[test]
    fn pkce_state_mismatch_and_timeout() {
        let fake = fake_oidc(vec![]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let browser = Approving {
            state: Some("forged"),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let err = login
            .run(&LoginOptions::default(), &browser, &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error loading authorization code: State parameter does not match expected value."
        );
        assert!(
            !fake.requests().iter().any(|r| r.path == "/token"),
            "no token request"
        );
        let options = LoginOptions {
            no_browser: true,
            callback_timeout: Duration::from_millis(200),
            ..Default::default()
        };
        let err = login
            .run(
                &options,
                &NoBrowser(RefCell::new(Vec::new())),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(matches!(err, LoginError::PendingAuthorizationExpired));
    }

    #[test]
    fn logout_sweeps_both_caches() {
        let portal = FakeServer::start(|_| Reply::ok(""));
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            "",
            &[("AWS_ENDPOINT_URL_SSO", &portal.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let sso = dir.path().join(".aws/sso/cache");
        let cli = dir.path().join(".aws/cli/cache");
        std::fs::create_dir_all(&sso).unwrap();
        std::fs::create_dir_all(&cli).unwrap();
        std::fs::write(
            sso.join("a.json"),
            r#"{"accessToken": "TOKEN-A", "region": "us-east-1"}"#,
        )
        .unwrap();
        std::fs::write(sso.join("b.json"), r#"{"accessToken": "TOKEN-B"}"#).unwrap();
        std::fs::write(
            sso.join("reg.json"),
            r#"{"clientId": "c", "clientSecret": "s", "expiresAt": "x"}"#,
        )
        .unwrap();
        std::fs::write(sso.join("junk.json"), "not json").unwrap();
        std::fs::write(
            cli.join("s.json"),
            r#"{"ProviderType": "sso", "Credentials": {}}"#,
        )
        .unwrap();
        std::fs::write(cli.join("r.json"), r#"{"Credentials": {}}"#).unwrap();
        let report = logout(&services).unwrap();
        assert_eq!(report.tokens, [sso.join("a.json"), sso.join("b.json")]);
        assert_eq!(report.credentials, [cli.join("s.json")]);
        for kept in [
            sso.join("reg.json"),
            sso.join("junk.json"),
            cli.join("r.json"),
        ] {
            assert!(kept.exists(), "{}", kept.display());
        }
        let calls = portal.requests();
        assert_eq!(
            calls.len(),
            1,
            "only tokens with a region are logged out at the portal"
        );
        assert_eq!(
            (calls[0].method.as_str(), calls[0].path.as_str()),
            ("POST", "/logout")
        );
        assert_eq!(calls[0].header("x-amz-sso_bearer_token"), Some("TOKEN-A"));
        // Nothing left: a second logout does nothing.
        assert_eq!(logout(&services).unwrap(), LogoutReport::default());
    }

    #[test]
    fn base64url_matches_rfc4648() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        // RFC 7636 appendix B.
        assert_eq!(
            base64url(&Sha256::digest(
                b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            )),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let v = code_verifier();
        assert_eq!(v.len(), 64);
    }
}
