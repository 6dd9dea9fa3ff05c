//! `awsid login [--remote]` and `awsid logout [--all]`: v2's `aws login` / `aws logout`
//! (`awscli/customizations/login/`, 2.32.0+; `docs/spec/login.md`) — console credentials for
//! a `login_session` profile, cached where the aws CLI and botocore read them.

use std::io::{BufRead, Write};
use std::time::Duration;

use awsid_credentials::login::flow::{parse_verification_code, AuthorizationRequest, LoginType};
use awsid_credentials::login::{cache_key, DpopKey, LoginCache, LoginError, SigninClient};
use awsid_credentials::sso::callback::{CallbackListener, Redirect};
use awsid_credentials::{CredentialsError, ResolveOptions, Session};
use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::Env;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::sso::{Browser, SystemBrowser};
use crate::error::CliError;

/// The region offered when none is configured (`DEFAULT_REGION_FOR_PROMPT`).
const DEFAULT_REGION: &str = "us-east-1";
/// How long the browser flow waits for the redirect (`AuthCodeFetcher`, 10 minutes).
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(600);
/// The page the browser shows after the redirect.
const CALLBACK_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>awsid login</title></head>\
<body><h1>Request processed</h1><p>You can close this window and return to the terminal.</p></body></html>";

/// Options of `login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// No local callback: print the URL and read the authorization code the browser shows
    /// (for a remote host without a browser).
    #[arg(long)]
    pub remote: bool,
}

/// Options of `logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// Remove the cached credentials of every `aws login` session, not only the profile's.
    #[arg(long)]
    pub all: bool,
}

/// Runs `login` on the terminal.
pub(crate) fn run_login(global: &GlobalArgs, args: LoginArgs, env: &Env) -> Result<u8, CliError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let browser = SystemBrowser::from_env(env);
    login(global, &args, env, &mut input, &mut out, &browser)
}

fn ask(
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    prompt: &str,
) -> Result<Option<String>, CliError> {
    write!(out, "{prompt}")?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

fn login_error(e: impl Into<CredentialsError>) -> CliError {
    CliError::from_credentials(e.into())
}

fn login(
    global: &GlobalArgs,
    args: &LoginArgs,
    env: &Env,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    browser: &dyn Browser,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let selection = session.selection().clone();
    let profile = if selection.is_selected() {
        selection.name.clone()
    } else {
        "default".to_string()
    };
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let services = session.services(&options);
    let (region, prompted) = match services.region.clone().filter(|r| !r.is_empty()) {
        Some(r) => (r, false),
        None => {
            write!(
                out,
                "No AWS region has been configured. The AWS region is the geographic location of your AWS resources.\n\n\
                 If you have used AWS before and already have resources in your account, specify which region they were created in. \
                 If you have not created resources in your account before, you can pick the region closest to you: \
                 https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html.\n\n\
                 You are able to change the region in the CLI at any time with the command \"aws configure set region NEW_REGION\".\n"
            )?;
            let answer =
                ask(input, out, &format!("AWS Region [{DEFAULT_REGION}]: "))?.ok_or_else(|| {
                    CliError::general(
                        "No answer for \"AWS Region\" (the input ended); give it with --region",
                    )
                })?;
            let answer = answer.trim();
            (
                if answer.is_empty() {
                    DEFAULT_REGION
                } else {
                    answer
                }
                .to_string(),
                true,
            )
        }
    };

    // v2: a profile with another kind of credentials would still win over login_session.
    let config = session.profiles().config_profile(&profile);
    if let Some(p) = config {
        let style = if p.contains("web_identity_token_file") {
            Some("Web Identity")
        } else if p.contains("sso_role_name") || p.contains("sso_account_id") {
            Some("SSO")
        } else if p.contains("aws_access_key_id") {
            Some("Access Key")
        } else if p.contains("role_arn") {
            Some("Assume Role")
        } else if p.contains("credential_process") {
            Some("Credential Process")
        } else {
            None
        };
        if let Some(style) = style {
            return Err(CliError::configuration(format!(
                "Profile '{profile}' is already configured with {style} credentials.\n\n\
                 You may run 'aws login --profile new-profile-name' to create a new profile with the specified name. \
                 Otherwise you must first manually remove the existing credentials from '{profile}'.\n"
            )));
        }
    }

    let client = SigninClient::for_region(&services, &region, global.endpoint_url.as_deref())
        .map_err(CliError::from_credentials)?;
    let base = client.base_url().map_err(CliError::from_credentials)?;
    let key = DpopKey::generate();
    let (request, code, state) = if args.remote {
        let request = AuthorizationRequest::new(&base, LoginType::CrossDevice, None);
        write!(
            out,
            "Browser will not be automatically opened.\nPlease visit the following URL:\n\n{}\n",
            request.url
        )?;
        let pasted = ask(
            input,
            out,
            "\nEnter the authorization code displayed in your browser: ",
        )?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            login_error(LoginError::AuthorizationCode(
                "Failed to retrieve an authorization code.".into(),
            ))
        })?;
        let (code, state) = parse_verification_code(pasted.trim()).map_err(login_error)?;
        (request, code, state)
    } else {
        let listener = CallbackListener::bind().map_err(|e| CliError::general(&e).caused_by(&e))?;
        let request =
            AuthorizationRequest::new(&base, LoginType::SameDevice, Some(&listener.redirect_uri()));
        write!(
            out,
            "Attempting to open your default browser. If the browser does not open, open the following URL.\n\
             If you are unable to open the URL on this device, run this command again with the '--remote' option.\n\n{}\n\n",
            request.url
        )?;
        out.flush()?;
        if !browser.open(&request.url) {
            tracing::debug!("no browser could be opened");
        }
        match listener
            .wait(CALLBACK_PAGE, CALLBACK_TIMEOUT)
            .map_err(|e| CliError::general(&e).caused_by(&e))?
        {
            Redirect::Code { code, state } => (request, code, state),
            Redirect::Error => {
                return Err(login_error(LoginError::AuthorizationCode(
                    "Failed to retrieve an authorization code.".into(),
                )))
            }
        }
    };
    request.check_state(&state).map_err(login_error)?;
    let outcome = request
        .exchange(&client, &key, &code)
        .map_err(CliError::from_credentials)?;

    // A profile already bound to another session is changed only when the user agrees.
    if let Some(existing) = config.and_then(|p| p.get_str("login_session")) {
        if existing != outcome.session {
            let question = format!(
                "\nProfile {profile} is already configured to use session {existing}. Do you want to overwrite it to use {} instead? (y/n): ",
                outcome.session
            );
            loop {
                match ask(input, out, &question)?.map(|a| a.trim().to_lowercase()) {
                    Some(a) if a == "y" || a == "yes" => break,
                    Some(a) if a == "n" || a == "no" => return Ok(0),
                    None => return Ok(0),
                    Some(_) => continue,
                }
            }
        }
    }

    let cache = LoginCache::from_env(env).ok_or_else(|| {
        CliError::configuration("Cannot find the login token cache: HOME is not set")
    })?;
    cache
        .save(&outcome.session, &outcome.token)
        .map_err(CliError::from_credentials)?;
    let mut values = vec![(
        "login_session".to_string(),
        EditValue::Scalar(outcome.session.clone()),
    )];
    if prompted {
        values.push(("region".into(), EditValue::Scalar(region.clone())));
    }
    let section = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    let path = awsid_profile::Locations::from_env(env).config_file_for_write();
    update_file_as(FileKind::Config, &path, &SectionEdit { section, values })
        .map_err(|e| CliError::general(&e).caused_by(&e))?;
    write!(
        out,
        "\nUpdated profile {profile} to use {} credentials.\n",
        outcome.session
    )?;
    if profile != "default" {
        writeln!(
            out,
            "Use \"--profile {profile}\" to use the new credentials, such as \"aws sts get-caller-identity --profile {profile}\""
        )?;
    }
    out.flush()?;
    Ok(0)
}

/// Runs `logout`: the profile's cached token (or, `--all`, every login token) is deleted.
pub(crate) fn run_logout(global: &GlobalArgs, args: LogoutArgs, env: &Env) -> Result<u8, CliError> {
    let cache = LoginCache::from_env(env).ok_or_else(|| {
        CliError::configuration("Cannot find the login token cache: HOME is not set")
    })?;
    let mut out = std::io::stdout().lock();
    if args.all {
        let mut deleted = 0usize;
        for path in cache.tokens() {
            if std::fs::remove_file(&path).is_ok() {
                deleted += 1;
            }
        }
        if deleted > 0 {
            let plural = if deleted == 1 { "" } else { "s" };
            writeln!(
                out,
                "Removed {deleted} cached login credential{plural}. Note, any local developer tools that have already loaded access tokens may continue to use them until their expiration. Access tokens expire in 15 minutes."
            )?;
        } else {
            writeln!(out, "No cached login session tokens found.")?;
        }
        return Ok(0);
    }
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let selection = session.selection();
    let profile = if selection.is_selected() {
        selection.name.as_str()
    } else {
        "default"
    };
    let Some(id) = session
        .profiles()
        .config_profile(profile)
        .and_then(|p| p.get_str("login_session"))
    else {
        eprintln!("warning: no login session found for profile '{profile}'");
        return Ok(0);
    };
    let path = cache.dir().join(format!("{}.json", cache_key(id)));
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CliError::general(format!(
                "Unable to remove {}: {e}",
                path.display()
            )))
        }
    }
    writeln!(
        out,
        "Removed cached login credentials for profile '{profile}'. Note, any local developer tools that have already loaded the access token may continue to use it until its expiration. Access tokens expire in 15 minutes."
    )?;
    Ok(0)
}
