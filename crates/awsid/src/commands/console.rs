//! `awsid console`: a console sign-in URL for the profile's credentials through the federation
//! endpoint (`getSigninToken`, then `login`) — an IAM user's long-term keys first become a
//! federated-user session (`GetFederationToken`), temporary credentials (a role session, an
//! `aws login` or SSO session) are used as they are (`docs/spec/signin-server.md` §4).

use std::io::Write;

use awsid_credentials::http::HttpRequest;
use awsid_credentials::login::SigninClient;
use awsid_credentials::sts::encode;
use awsid_credentials::{ResolveOptions, Session};
use clap::Args;
use serde_json::{json, Value};

use crate::cli::GlobalArgs;
use crate::commands::sso::{Browser, SystemBrowser};
use crate::error::CliError;

/// The session policy of a federated user: everything the user itself may do (the
/// effective permissions are the intersection).
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Options of `console`.
#[derive(Debug, Args)]
pub(crate) struct ConsoleArgs {
    /// Open the URL in the browser ($BROWSER, else xdg-open) instead of only printing it.
    #[arg(long)]
    pub open: bool,
    /// The federated user's name for IAM user credentials (GetFederationToken `Name`).
    #[arg(long, value_name = "NAME", default_value = "awsid-console")]
    pub federated_name: String,
    /// How long the console session lasts, in seconds (role sessions: 900–43200, sent as
    /// SessionDuration; IAM users: the GetFederationToken DurationSeconds).
    #[arg(long, value_name = "SECONDS")]
    pub duration_seconds: Option<i64>,
    /// Where the sign-in lands (default: the sign-in endpoint's /console page).
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
}

/// Runs `console`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ConsoleArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let Some(resolved) = session
        .resolve(&options)
        .map_err(CliError::from_credentials)?
    else {
        return Err(CliError::no_credentials());
    };
    let services = session.services(&options);
    let mut credentials = resolved.credentials;
    let mut duration = args.duration_seconds;
    if credentials.session_token.is_none() {
        let client = session
            .command_sts_client(&options, None)
            .map_err(CliError::from_credentials)?;
        let federated = client
            .get_federation_token(
                &credentials,
                &args.federated_name,
                args.duration_seconds,
                Some(ALLOW_ALL),
                "federation",
            )
            .map_err(CliError::from_credentials)?;
        credentials = federated.credentials;
        duration = None;
    }
    let region = services
        .region
        .clone()
        .unwrap_or_else(|| "us-east-1".to_string());
    let signin = SigninClient::for_region(&services, &region, global.endpoint_url.as_deref())
        .map_err(CliError::from_credentials)?;
    let base = signin.base_url().map_err(CliError::from_credentials)?;
    let federation = format!("{base}/federation");
    let session_json = json!({
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key.expose(),
        "sessionToken": credentials.session_token.as_ref().map(|t| t.expose()).unwrap_or_default(),
    })
    .to_string();
    let duration = duration
        .map(|d| format!("&SessionDuration={d}"))
        .unwrap_or_default();
    let url = format!(
        "{federation}?Action=getSigninToken{duration}&Session={}",
        encode(&session_json)
    );
    let resp = services
        .transport()
        .send(&HttpRequest::new("GET", url).header("User-Agent", awsid_credentials::user_agent()))
        .map_err(|e| {
            CliError::general(format!(
                "Unable to reach the federation endpoint {federation}: {e}"
            ))
        })?;
    if resp.status != 200 {
        return Err(CliError::general(format!(
            "The federation endpoint {federation} refused the credentials ({}): {}",
            resp.status,
            String::from_utf8_lossy(&resp.body).trim()
        )));
    }
    let token = serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| {
            v.get("SigninToken")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            CliError::general(format!(
                "The federation endpoint {federation} sent no SigninToken"
            ))
        })?;
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| format!("{base}/console"));
    let login = format!(
        "{federation}?Action=login&Issuer=awsid&Destination={}&SigninToken={}",
        encode(&destination),
        encode(&token)
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{login}")?;
    out.flush()?;
    if args.open && !SystemBrowser::from_env(env).open(&login) {
        crate::error::warn("no browser could be opened; open the URL above");
    }
    Ok(0)
}
