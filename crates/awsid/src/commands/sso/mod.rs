//! `awsid sso login` and `awsid sso logout`: the v2 CLI's IAM Identity Center login (device
//! code or browser + PKCE) and logout, writing the token cache the SSO provider reads.

mod browser;
mod prompt;
mod status;

pub(crate) use browser::{Browser, SystemBrowser};
pub(crate) use prompt::TerminalUi;

use std::io::Write;

use awsid_credentials::sso::{self, LoginConfig, LoginError, LoginOptions, SsoLogin};
use awsid_credentials::{ResolveOptions, Session};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// `sso` and its subcommand.
#[derive(Debug, Args)]
pub(crate) struct SsoArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: SsoCommand,
}

/// `sso` operations.
#[derive(Debug, Subcommand)]
pub(crate) enum SsoCommand {
    /// Retrieve and cache an IAM Identity Center access token for the profile or sso-session.
    Login(LoginArgs),
    /// Remove every cached IAM Identity Center access token and the credentials fetched with
    /// them (logging the tokens out at the portal first); `--sso-session S`: only that one.
    Logout(LogoutArgs),
    /// Show each configured SSO session (and legacy start URL): its start URL, whether a token
    /// is cached, until when, and whether it can be refreshed without a new login.
    Status,
}

/// Options of `sso logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// Log out of this `[sso-session NAME]` only (the token and the role credentials of the
    /// profiles that use it); other sessions stay logged in.
    #[arg(long, value_name = "NAME",
          add = clap_complete::engine::ArgValueCandidates::new(
              crate::commands::completion::sso_session_candidates))]
    pub sso_session: Option<String>,
}

/// Options of `sso login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The `[sso-session NAME]` to log into (default: the profile's `sso_session`).
    #[arg(long, value_name = "NAME",
          add = clap_complete::engine::ArgValueCandidates::new(
              crate::commands::completion::sso_session_candidates))]
    pub sso_session: Option<String>,
    /// Use the device code flow instead of the browser (authorization code) flow.
    #[arg(long)]
    pub use_device_code: bool,
    /// Print the verification URL instead of opening it in a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// Runs `sso …`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: SsoArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let services = session.services(&options);
    match args.command {
        SsoCommand::Login(a) => {
            let config =
                LoginConfig::resolve(&session, a.sso_session.as_deref()).map_err(login_error)?;
            let start_url = config.start_url.clone();
            let login = SsoLogin::new(&services, config).map_err(login_error)?;
            let options = LoginOptions {
                use_device_code: a.use_device_code,
                ..Default::default()
            };
            let mut out = std::io::stdout().lock();
            let browser = SystemBrowser::from_env(env);
            login
                .run(
                    &options,
                    &mut TerminalUi::new(&mut out, &browser, a.no_browser),
                )
                .map_err(login_error)?;
            writeln!(out, "Successfully logged into Start URL: {start_url}")?;
            out.flush()?;
            Ok(0)
        }
        SsoCommand::Logout(LogoutArgs { sso_session: None }) => {
            sso::logout(&services).map_err(login_error)?;
            Ok(0)
        }
        SsoCommand::Logout(LogoutArgs {
            sso_session: Some(name),
        }) => {
            let profiles = session.profiles();
            if profiles.sso_session(&name).is_none() {
                return Err(CliError::configuration(format!(
                    "The specified sso-session does not exist: \"{name}\""
                )));
            }
            let pairs: Vec<(String, String)> = profiles
                .profile_names()
                .into_iter()
                .filter_map(|p| profiles.profile(p))
                .filter(|p| p.get_str("sso_session") == Some(name.as_str()))
                .filter_map(|p| {
                    Some((
                        p.get_str("sso_account_id")?.to_string(),
                        p.get_str("sso_role_name")?.to_string(),
                    ))
                })
                .collect();
            let report = sso::logout_session(&services, &name, &pairs).map_err(login_error)?;
            let mut out = std::io::stdout().lock();
            if report.tokens.is_empty() {
                writeln!(out, "SSO session {name} was not logged in.")?;
            } else {
                writeln!(
                    out,
                    "Logged out of SSO session {name} ({} cached role credential(s) removed).",
                    report.credentials.len()
                )?;
            }
            Ok(0)
        }
        SsoCommand::Status => status::run(global, &session, &services),
    }
}

/// The v2 exit statuses: configuration errors 253, service errors 254, the rest 255.
fn login_error(e: LoginError) -> CliError {
    match e {
        LoginError::Credentials(c) => CliError::from_credentials(c),
        LoginError::Config(_) => CliError::configuration(&e).caused_by(&e),
        LoginError::Service(ref s) => CliError::service(s),
        _ => CliError::general(&e).caused_by(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::browser::Browser;
    use super::*;
    use crate::error::ExitKind;
    use awsid_credentials::CredentialsError;
    use std::io::Read;
    use std::net::{SocketAddr, TcpStream};
    use std::path::Path;

    const START: &str = "https://my-sso-portal.awsapps.com/start";
    const USER: &str = "sso-user@example.com";
    /// Seed 004's IAM Identity Center config file, verbatim.
    const SEED_CONFIG: &str = "[default]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = readOnly\nregion = us-west-2\noutput = text\n\n[profile user1]\nsso_session = my-sso\nsso_account_id = 444455556666\nsso_role_name = readOnly\nregion = us-east-1\noutput = json\n\n[sso-session my-sso]\nsso_region = us-east-1\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_registration_scopes = sso:account:access\n";
    /// Seed 004's legacy IAM Identity Center config file, verbatim.
    const SEED_LEGACY: &str = "[default]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = readOnly\nregion = us-west-2\noutput = text\n\n[profile user1]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 444455556666\nsso_role_name = readOnly\nregion = us-east-1\noutput = json\n";

    fn env(home: &Path, api: SocketAddr) -> awsid_profile::Env {
        let url = format!("http://{api}/");
        awsid_profile::Env::from_pairs([
            ("HOME", home.display().to_string()),
            ("AWS_ENDPOINT_URL_SSO", url.clone()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", url.clone()),
            ("AWS_ENDPOINT_URL_STS", url),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ])
    }

    fn write_config(home: &Path, text: &str) {
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(home.join(".aws/config"), text).unwrap();
    }

    /// Minimal HTTP/1.1 exchange (the test browser): status, `Location`, body.
    fn http(
        addr: SocketAddr,
        method: &str,
        target: &str,
        body: &str,
    ) -> (u16, Option<String>, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let location = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .map(str::to_string);
        (status, location, body.to_string())
    }

    fn enc(s: &str) -> String {
        awsid_credentials::sts::encode(s)
    }

    /// A browser whose user approves: the device page's form for a device URL (before the
    /// login polls again), the authorize page's form (then the redirect to the CLI's
    /// listener, which only listens once the browser was opened) for an authorize URL.
    struct ApprovingBrowser {
        api: SocketAddr,
        action: &'static str,
    }

    impl Browser for ApprovingBrowser {
        fn open(&self, url: &str) -> bool {
            let (api, action) = (self.api, self.action);
            let target = url.split_once(&api.to_string()).unwrap().1.to_string();
            let (path, query) = target.split_once('?').unwrap();
            if path == "/device" {
                let code = query.strip_prefix("user_code=").unwrap();
                let form = format!("user_code={code}&action={action}&user={}", enc(USER));
                let (status, _, body) = http(api, "POST", "/device", &form);
                assert_eq!(status, 200, "{body}");
                return true;
            }
            let query = query.to_string();
            std::thread::spawn(move || {
                let (status, _, page) = http(api, "GET", &target, "");
                assert_eq!(status, 200, "{page}");
                let form = format!("{query}&action={action}&user={}", enc(USER));
                let (status, location, _) = http(api, "POST", "/authorize", &form);
                assert_eq!(status, 302);
                let location = location.unwrap();
                let rest = location.strip_prefix("http://").unwrap();
                let (authority, target) = rest.split_at(rest.find('/').unwrap());
                let (status, _, _) = http(authority.parse().unwrap(), "GET", target, "");
                assert_eq!(status, 200);
            });
            true
        }
    }

    /// `sso login` against `server`, the user acting through [`ApprovingBrowser`]. Waits
    /// between device-code polls move the server's clock instead of sleeping.
    fn login(
        server: &awsid_server::LocalServer,
        home: &Path,
        profile: Option<&str>,
        device: bool,
        action: &'static str,
    ) -> Result<sso::LoginResult, LoginError> {
        let api = server.bound.api.unwrap();
        let env = env(home, api);
        let session = Session::load(&env, profile).unwrap();
        let services = session.services(&ResolveOptions::default());
        let config = LoginConfig::resolve(&session, None)?;
        let clock = server.state.clock.clone();
        let login = SsoLogin::new(&services, config)?
            .with_sleep(move |d| clock.advance(d.as_secs() as i64));
        let options = LoginOptions {
            use_device_code: device,
            ..Default::default()
        };
        let browser = ApprovingBrowser { api, action };
        login.run(&options, &mut TerminalUi::new(Vec::new(), &browser, false))
    }

    /// The caller ARN of `profile` through the SSO provider and the server's STS.
    fn caller_arn(home: &Path, api: SocketAddr, profile: &str) -> Result<String, CredentialsError> {
        let env = env(home, api);
        let session = Session::load(&env, Some(profile))?;
        let options = ResolveOptions::default();
        let resolved = session.resolve(&options)?.expect("credentials");
        assert_eq!(resolved.credentials.method, "sso");
        let sts = session.command_sts_client(&options, None)?;
        Ok(sts.get_caller_identity(&resolved.credentials)?.arn)
    }

    fn role_name(server: &awsid_server::LocalServer, account: &str, set: &str) -> String {
        let w = &server.state.world();
        let inst = w.sso_instance(START).unwrap();
        w.roles[inst.assignment(0, account, set).unwrap().role]
            .name
            .clone()
    }

    #[test]
    fn seed_sso_session_config_device_and_browser_flows() {
        let server = awsid_server::spawn_local(awsid_server::World::default_world()).unwrap();
        let api = server.bound.api.unwrap();
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), SEED_CONFIG);
        let result = login(&server, home.path(), Some("user1"), true, "approve").unwrap();
        assert!(result.refreshable);
        assert!(result
            .token_file
            .ends_with("0ad374308c5a4e22f723adf10145eafad7c4031c.json"));
        let readonly = role_name(&server, "444455556666", "readOnly");
        assert!(readonly.starts_with("AWSReservedSSO_readOnly_"));
        assert_eq!(
            caller_arn(home.path(), api, "user1").unwrap(),
            format!("arn:aws:sts::444455556666:assumed-role/{readonly}/{USER}")
        );
        assert_eq!(
            caller_arn(home.path(), api, "default").unwrap(),
            format!(
                "arn:aws:sts::111122223333:assumed-role/{}/{USER}",
                role_name(&server, "111122223333", "readOnly")
            )
        );
        // The browser (PKCE) flow, the default for an sso-session.
        std::fs::remove_file(&result.token_file).unwrap();
        let result = login(&server, home.path(), None, false, "approve").unwrap();
        assert!(result.token_file.exists());
        assert!(caller_arn(home.path(), api, "user1").is_ok());
        // A denial ends the browser flow with the CLI's error.
        let err = login(&server, home.path(), None, false, "deny").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error loading authorization code: Failed to retrieve an authorization code."
        );
        // And the device flow with AccessDeniedException.
        let err = login(&server, home.path(), None, true, "deny").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "An error occurred (AccessDeniedException) when calling the CreateToken operation"
            ),
            "{err}"
        );
    }

    #[test]
    fn seed_legacy_config_and_logout() {
        let server = awsid_server::spawn_local(awsid_server::World::default_world()).unwrap();
        let api = server.bound.api.unwrap();
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), SEED_LEGACY);
        // Legacy profiles always use the device flow and get no refresh token.
        let result = login(&server, home.path(), Some("user1"), false, "approve").unwrap();
        assert!(!result.refreshable);
        assert!(result
            .token_file
            .ends_with("c7aaaf71fcc8777ae2475525ed049d39fe16c484.json"));
        assert!(caller_arn(home.path(), api, "default")
            .unwrap()
            .starts_with("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_readOnly_"));
        // Logout revokes the token at the portal and deletes the file.
        let saved = std::fs::read(&result.token_file).unwrap();
        let env = env(home.path(), api);
        let session = Session::load(&env, None).unwrap();
        let report = sso::logout(&session.services(&ResolveOptions::default())).unwrap();
        assert_eq!(report.tokens, std::slice::from_ref(&result.token_file));
        let err = caller_arn(home.path(), api, "default").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Error loading SSO Token: Token for {START} does not exist")
        );
        // A copy of the revoked token is refused by the portal: the session has expired.
        std::fs::write(&result.token_file, saved).unwrap();
        let err = caller_arn(home.path(), api, "default").unwrap_err();
        assert!(
            matches!(err, CredentialsError::UnauthorizedSsoToken),
            "{err}"
        );
    }

    #[test]
    fn sso_session_tokens_are_refreshed_near_expiry() {
        let server = awsid_server::spawn_local(awsid_server::World::default_world()).unwrap();
        let api = server.bound.api.unwrap();
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), SEED_CONFIG);
        let result = login(&server, home.path(), None, true, "approve").unwrap();
        // Make the cached token expire in 5 minutes: the provider refreshes it with CreateToken.
        let mut token: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&result.token_file).unwrap()).unwrap();
        let old_access = token["accessToken"].clone();
        let old_refresh = token["refreshToken"].clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let soon = awsid_server::state::iso8601(now + 300);
        token["expiresAt"] = soon.clone().into();
        std::fs::write(&result.token_file, token.to_string()).unwrap();
        assert!(caller_arn(home.path(), api, "user1").is_ok());
        let fresh: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&result.token_file).unwrap()).unwrap();
        assert_ne!(fresh["accessToken"], old_access);
        assert_ne!(fresh["refreshToken"], old_refresh, "rotated");
        assert_ne!(fresh["expiresAt"], soon.as_str());
    }

    #[test]
    fn configuration_errors_exit_253() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), "[profile p]\nregion = us-east-1\n");
        let env = awsid_profile::Env::from_pairs([("HOME", home.path().display().to_string())]);
        let global = GlobalArgs {
            profile: Some("p".into()),
            region: None,
            output: None,
            endpoint_url: None,
            debug: false,
            cli_error_format: None,
        };
        let args = SsoArgs {
            command: SsoCommand::Login(LoginArgs {
                sso_session: None,
                use_device_code: true,
                no_browser: true,
            }),
        };
        let err = run(&global, args, &env).unwrap_err();
        assert_eq!(err.kind(), ExitKind::Configuration);
        let args = SsoArgs {
            command: SsoCommand::Login(LoginArgs {
                sso_session: Some("nope".into()),
                use_device_code: true,
                no_browser: true,
            }),
        };
        assert_eq!(
            run(&global, args, &env).unwrap_err().kind(),
            ExitKind::Configuration
        );
        // Logout with nothing cached succeeds.
        let args = SsoArgs {
            command: SsoCommand::Logout(LogoutArgs { sso_session: None }),
        };
        assert_eq!(run(&global, args, &env).unwrap(), 0);
    }
}
