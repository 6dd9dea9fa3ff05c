//! `configure sso` and `configure sso-session`: v2's wizards (`awscli/customizations/configure/
//! sso_commands.py` and `sso.py`, 2.36.7; `docs/spec/configure-sso.md`) — the same prompts,
//! defaults, account and role menus, and the same sections written through the config writer.
//!
//! Beyond v2: a flag for every answer (a run with all of them never prompts) and `--all`, one
//! profile per account and role the user can reach.

use std::io::{Read, Write};

use awsid_credentials::sso::{
    self, Account, LoginConfig, LoginError, LoginOptions, Portal, PortalError, SsoLogin,
};
use awsid_credentials::{ResolveOptions, Session};
use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::{Env, Locations, Properties};
use clap::Args;

use super::{profile_to_section, section_header, write_error};
use crate::cli::GlobalArgs;
use crate::commands::sso::{SystemBrowser, TerminalUi};
use crate::error::CliError;

/// v2's default `sso_registration_scopes`.
const DEFAULT_SCOPE: &str = "sso:account:access";
/// A cached token with less than this left is not reused (`SSOTokenFetcher._EXPIRY_WINDOW`).
const EXPIRY_WINDOW_SECS: i64 = 15 * 60;
/// The default `--profile-template` of `--all`.
const DEFAULT_TEMPLATE: &str = "{role_name}-{account_id}";

/// Options of `configure sso`: v2's two login flags, then one flag per answer.
#[derive(Debug, Args)]
pub(crate) struct SsoArgs {
    /// Use the device code flow instead of the browser (authorization code) flow.
    #[arg(long)]
    pub use_device_code: bool,
    /// Print the verification URL instead of opening it in a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// The SSO session name (an empty value writes the legacy form, without a session).
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// The SSO start URL (a new session or the legacy form).
    #[arg(long, value_name = "URL")]
    pub start_url: Option<String>,
    /// The region of the IAM Identity Center instance.
    #[arg(long, value_name = "REGION")]
    pub sso_region: Option<String>,
    /// Registration scopes of a new session, comma-separated (default sso:account:access).
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,
    /// The account to use instead of choosing one from the list.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The role to use instead of choosing one from the list.
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// The profile's `region` (the "Default client Region" answer).
    #[arg(long, value_name = "REGION")]
    pub default_region: Option<String>,
    /// The profile's `output` (the "CLI default output format" answer).
    #[arg(long, value_name = "FORMAT")]
    pub default_output: Option<String>,
    /// Write one profile per account and role the user can reach (existing profiles are left
    /// alone) instead of asking for one.
    #[arg(long)]
    pub all: bool,
    /// Profile names of `--all`: `{role_name}`, `{account_id}` and `{account_name}` are
    /// replaced.
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_TEMPLATE, requires = "all")]
    pub profile_template: String,
}

/// Options of `configure sso-session`: one flag per answer.
#[derive(Debug, Args)]
pub(crate) struct SsoSessionArgs {
    /// The SSO session name.
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// The SSO start URL.
    #[arg(long, value_name = "URL")]
    pub start_url: Option<String>,
    /// The region of the IAM Identity Center instance.
    #[arg(long, value_name = "REGION")]
    pub sso_region: Option<String>,
    /// Registration scopes, comma-separated (default sso:account:access).
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,
}

// ------------------------------------------------------------------------------------------
// The user's side

/// Where the wizard asks and tells: the terminal, or a test's script.
pub(crate) trait Ui {
    /// Writes `text` as it is.
    fn print(&mut self, text: &str) -> std::io::Result<()>;
    /// Shows `prompt` and reads one answer (`None` at the end of the input).
    fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>>;
    /// Lets the user pick one of `items` (v2's `select_menu`); `None` when it cannot be shown.
    fn select(&mut self, items: &[String]) -> std::io::Result<Option<usize>>;
    /// The writer the login instructions go to.
    fn out(&mut self) -> &mut dyn Write;
}

/// Validation of one answer: `Err(message)` refuses it.
type Validator = fn(&str, Option<&str>) -> Result<(), &'static str>;

/// `RequiredInputValidator`.
fn required(text: &str, default: Option<&str>) -> Result<(), &'static str> {
    if !text.is_empty() || default.is_some() {
        return Ok(());
    }
    Err("A value is required")
}

/// `StartUrlValidator`.
fn start_url_valid(text: &str, default: Option<&str>) -> Result<(), &'static str> {
    if text.is_empty() && default.is_some() {
        return Ok(());
    }
    if is_valid_endpoint_url(text) {
        return Ok(());
    }
    Err("Not a valid Start URL")
}

/// `ScopesValidator`.
fn scopes_valid(text: &str, default: Option<&str>) -> Result<(), &'static str> {
    if text.is_empty() && default.is_some() {
        return Ok(());
    }
    if text
        .split(',')
        .all(|s| !s.trim().contains(char::is_whitespace))
    {
        return Ok(());
    }
    Err("Scope values must be separated by commas")
}

/// botocore's `is_valid_endpoint_url`: `urlsplit` finds a host name made of DNS labels.
pub(crate) fn is_valid_endpoint_url(url: &str) -> bool {
    let rest = match url.find(':') {
        Some(i)
            if url[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && url[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            &url[i + 1..]
        }
        _ => url,
    };
    let Some(rest) = rest.strip_prefix("//") else {
        return false;
    };
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = netloc.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        return false; // an IPv6 literal never matches the label pattern
    } else {
        host.split(':').next().unwrap_or("")
    };
    let host = host.strip_suffix('.').unwrap_or(host);
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

/// One question of the wizard.
struct Question<'a> {
    /// The text before the brackets.
    text: &'a str,
    /// The whole prompt when it is not `text [current]: `.
    format: Option<String>,
    /// The current value (shown in brackets, returned for an empty answer).
    current: Option<String>,
    /// The check of the answer.
    validator: Option<Validator>,
    /// The flag that answers it in unattended runs.
    flag: &'a str,
}

/// `PTKPrompt.get_value`: the answer stripped, the current value for an empty one; a refused
/// answer is told and asked again.
fn get_value(ui: &mut dyn Ui, q: Question<'_>) -> Result<Option<String>, CliError> {
    let prompt = q
        .format
        .clone()
        .unwrap_or_else(|| format!("{} [{}]: ", q.text, q.current.as_deref().unwrap_or("None")));
    loop {
        let Some(answer) = ui.ask(&prompt)? else {
            return Err(CliError::general(format!(
                "No answer for \"{}\" (the input ended); give it with {}",
                q.text, q.flag
            )));
        };
        if let Some(check) = q.validator {
            if let Err(message) = check(&answer, q.current.as_deref()) {
                ui.print(&format!("{message}\n"))?;
                continue;
            }
        }
        let answer = answer.trim();
        if answer.is_empty() {
            return Ok(q.current);
        }
        return Ok(Some(answer.to_string()));
    }
}

/// The answer of a flag, checked as the prompt would check it.
fn flag_value(
    value: &str,
    validator: Option<Validator>,
    flag: &str,
) -> Result<Option<String>, CliError> {
    if let Some(check) = validator {
        if let Err(message) = check(value, None) {
            return Err(CliError::param_validation(format!("{flag}: {message}")));
        }
    }
    let v = value.trim();
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// An insertion-ordered string map (the dictionaries v2 hands to its config writer).
#[derive(Clone, Debug, Default)]
struct Values(Vec<(String, String)>);

impl Values {
    fn set(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn from_properties(p: &Properties) -> Values {
        Values(
            p.iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string())))
                .collect(),
        )
    }

    fn edit(&self, section: String) -> SectionEdit {
        SectionEdit {
            section,
            values: self
                .0
                .iter()
                .map(|(k, v)| (k.clone(), EditValue::Scalar(v.clone())))
                .collect(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// configure sso-session

/// Runs `configure sso-session` on the terminal.
pub(super) fn run_session(
    global: &GlobalArgs,
    args: SsoSessionArgs,
    env: &Env,
) -> Result<u8, CliError> {
    let mut ui = Terminal::new();
    session_wizard(global, &args, env, &mut ui)
}

fn session_wizard(
    _global: &GlobalArgs,
    args: &SsoSessionArgs,
    env: &Env,
    ui: &mut dyn Ui,
) -> Result<u8, CliError> {
    let locations = Locations::from_env(env);
    let set = super::load(&locations)?;
    let name = match &args.sso_session {
        Some(v) => flag_value(v, Some(required), "--sso-session")?,
        None => get_value(
            ui,
            Question {
                text: "SSO session name",
                format: Some("SSO session name: ".into()),
                current: None,
                validator: Some(required),
                flag: "--sso-session",
            },
        )?,
    }
    .ok_or_else(|| CliError::param_validation("--sso-session: A value is required"))?;
    let mut config = set
        .sso_session(&name)
        .map(Values::from_properties)
        .unwrap_or_default();
    let start_url = answer(
        ui,
        &args.start_url,
        "SSO start URL",
        config.get("sso_start_url"),
        start_url_valid,
        "--start-url",
    )?;
    if let Some(v) = start_url {
        config.set("sso_start_url", v);
    }
    let region = answer(
        ui,
        &args.sso_region,
        "SSO region",
        config.get("sso_region"),
        required,
        "--sso-region",
    )?;
    if let Some(v) = region {
        config.set("sso_region", v);
    }
    if config.get("sso_registration_scopes").is_none() {
        config.set("sso_registration_scopes", DEFAULT_SCOPE.into());
    }
    let scopes = answer(
        ui,
        &args.scopes,
        "SSO registration scopes",
        config.get("sso_registration_scopes"),
        scopes_valid,
        "--scopes",
    )?;
    if let Some(v) = scopes {
        config.set("sso_registration_scopes", v);
    }
    let path = locations.config_file_for_write();
    update_file_as(
        FileKind::Config,
        &path,
        &config.edit(section_header("sso-session", &name)),
    )
    .map_err(write_error)?;
    ui.print(&format!(
        "\nCompleted configuring SSO session: {name}\nRun the following to login and refresh access token for this session:\n\naws sso login --sso-session {name}\n"
    ))?;
    Ok(0)
}

/// A flag's answer, else the prompt's.
fn answer(
    ui: &mut dyn Ui,
    flag: &Option<String>,
    text: &str,
    current: Option<&str>,
    validator: Validator,
    flag_name: &str,
) -> Result<Option<String>, CliError> {
    match flag {
        Some(v) => Ok(flag_value(v, Some(validator), flag_name)?.or(current.map(str::to_string))),
        None => get_value(
            ui,
            Question {
                text,
                format: None,
                current: current.map(str::to_string),
                validator: Some(validator),
                flag: flag_name,
            },
        ),
    }
}

// ------------------------------------------------------------------------------------------
// configure sso

/// Runs `configure sso` on the terminal.
pub(super) fn run(global: &GlobalArgs, args: SsoArgs, env: &Env) -> Result<u8, CliError> {
    let mut ui = Terminal::new();
    wizard(global, &args, env, &mut ui)
}

/// The start URL and region answers, stored into `values` (the session's or, legacy, the
/// profile's): v2's `_prompt_for_sso_start_url_and_sso_region`.
fn start_url_and_region(
    ui: &mut dyn Ui,
    args: &SsoArgs,
    values: &mut Values,
) -> Result<(String, String), CliError> {
    let start_url = answer(
        ui,
        &args.start_url,
        "SSO start URL",
        values.get("sso_start_url"),
        start_url_valid,
        "--start-url",
    )?
    .unwrap_or_default();
    values.set("sso_start_url", start_url.clone());
    let region = answer(
        ui,
        &args.sso_region,
        "SSO region",
        values.get("sso_region"),
        required,
        "--sso-region",
    )?
    .unwrap_or_default();
    values.set("sso_region", region.clone());
    Ok((start_url, region))
}

/// The access token: the cached one when it has 15 minutes left and no refresh is forced
/// (`SSOTokenFetcher.fetch_token`), else a login (browser or device flow, as `sso login`).
fn access_token(
    ui: &mut dyn Ui,
    services: &awsid_credentials::services::Services,
    env: &Env,
    args: &SsoArgs,
    config: &LoginConfig,
    force_refresh: bool,
) -> Result<String, CliError> {
    let cache_dir = services
        .sso_cache
        .as_ref()
        .map(|c| c.dir().to_path_buf())
        .ok_or_else(|| {
            CliError::configuration("Cannot find the SSO token cache: HOME is not set")
        })?;
    let path = cache_dir.join(format!("{}.json", config.token_key()));
    // The token and the seconds it has left.
    let read = |path: &std::path::Path| -> Option<(String, Option<i64>)> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let token = v.get("accessToken")?.as_str()?.to_string();
        let expires = v
            .get("expiresAt")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| awsid_credentials::time::parse(t).ok())
            .map(|e| (e - awsid_credentials::time::now()).whole_seconds());
        Some((token, expires))
    };
    if !force_refresh {
        if let Some((token, Some(left))) = read(&path) {
            if left >= EXPIRY_WINDOW_SECS {
                return Ok(token);
            }
        }
    }
    let login = SsoLogin::new(services, config.clone()).map_err(login_error)?;
    let options = LoginOptions {
        use_device_code: args.use_device_code,
        ..Default::default()
    };
    let browser = SystemBrowser::from_env(env);
    let result = login
        .run(
            &options,
            &mut TerminalUi::new(ui.out(), &browser, args.no_browser),
        )
        .map_err(login_error)?;
    read(&result.token_file)
        .map(|(t, _)| t)
        .ok_or_else(|| CliError::general("The SSO token file written by the login is unreadable"))
}

/// `sso login`'s exit statuses for login errors.
fn login_error(e: LoginError) -> CliError {
    match e {
        LoginError::Credentials(c) => CliError::from_credentials(c),
        LoginError::Config(_) => CliError::configuration(&e).caused_by(&e),
        LoginError::Service(ref s) => CliError::service(s),
        _ => CliError::general(&e).caused_by(&e),
    }
}

fn portal_error(e: PortalError) -> CliError {
    match e {
        PortalError::Other(c) => CliError::from_credentials(c),
        PortalError::Unauthorized(_) => CliError::general(&e),
    }
}

/// v2's `_prompt_for_account`: none is an error, one is taken, several are sorted and
/// offered in the menu (or `--account-id`).
fn choose_account(
    ui: &mut dyn Ui,
    portal: &Portal<'_>,
    flag: Option<&str>,
) -> Result<String, PickError> {
    let mut accounts = portal.list_accounts()?;
    if accounts.is_empty() {
        return Err(pick_failed("No AWS accounts are available to you.".into()));
    }
    let id = if let Some(id) = flag {
        if !accounts.iter().any(|a| a.id == id) {
            return Err(pick_failed(format!(
                "--account-id: the account {id} is not available to you"
            )));
        }
        id.to_string()
    } else if accounts.len() == 1 {
        let id = accounts[0].id.clone();
        ui.print(&format!("The only AWS account available to you is: {id}\n"))?;
        id
    } else {
        ui.print(&format!(
            "There are {} AWS accounts available to you.\n",
            accounts.len()
        ))?;
        accounts.sort_by_key(Account::sort_key);
        let shown: Vec<String> = accounts.iter().map(Account::display).collect();
        let i = ui
            .select(&shown)?
            .ok_or_else(|| no_menu("an AWS account", "--account-id"))?;
        accounts[i].id.clone()
    };
    ui.print(&format!("Using the account ID {id}\n"))?;
    Ok(id)
}

/// v2's `_prompt_for_role`, like [`choose_account`].
fn choose_role(
    ui: &mut dyn Ui,
    portal: &Portal<'_>,
    account: &str,
    flag: Option<&str>,
) -> Result<String, PickError> {
    let mut roles = portal.list_account_roles(account)?;
    if roles.is_empty() {
        return Err(pick_failed(format!(
            "No roles are available for the account {account}"
        )));
    }
    let role = if let Some(r) = flag {
        if !roles.iter().any(|x| x == r) {
            return Err(pick_failed(format!(
                "--role-name: the role {r} is not available in the account {account}"
            )));
        }
        r.to_string()
    } else if roles.len() == 1 {
        let r = roles[0].clone();
        ui.print(&format!("The only role available to you is: {r}\n"))?;
        r
    } else {
        ui.print(&format!(
            "There are {} roles available to you.\n",
            roles.len()
        ))?;
        roles.sort_by_key(|r| r.to_lowercase());
        let i = ui
            .select(&roles)?
            .ok_or_else(|| no_menu("a role", "--role-name"))?;
        roles[i].clone()
    };
    ui.print(&format!("Using the role name \"{role}\"\n"))?;
    Ok(role)
}

/// Why no account or role was chosen: the token was refused (v2 then skips the question), or
/// an error that ends the command.
enum PickError {
    Unauthorized,
    Fail(CliError),
}

impl From<PortalError> for PickError {
    fn from(e: PortalError) -> PickError {
        match e {
            PortalError::Unauthorized(_) => PickError::Unauthorized,
            other => PickError::Fail(portal_error(other)),
        }
    }
}

impl From<std::io::Error> for PickError {
    fn from(e: std::io::Error) -> PickError {
        PickError::Fail(e.into())
    }
}

fn pick_failed(message: String) -> PickError {
    PickError::Fail(CliError::general(message))
}

fn no_menu(what: &str, flag: &str) -> PickError {
    pick_failed(format!(
        "Choosing {what} needs a terminal (stdin and stdout); give it with {flag}"
    ))
}

/// A profile answer: the flag's, else the prompt's (current value from the profile).
fn profile_answer(
    ui: &mut dyn Ui,
    flag: &Option<String>,
    text: &str,
    current: Option<String>,
    flag_name: &str,
) -> Result<Option<String>, CliError> {
    match flag {
        Some(v) => Ok(flag_value(v, None, flag_name)?.or(current)),
        None => get_value(
            ui,
            Question {
                text,
                format: None,
                current,
                validator: None,
                flag: flag_name,
            },
        ),
    }
}

fn wizard(global: &GlobalArgs, args: &SsoArgs, env: &Env, ui: &mut dyn Ui) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let locations = Locations::from_env(env);
    let set = session.profiles();
    let selection = session.selection().clone();
    // v2: `session.profile` (the flag or AWS_PROFILE) names the profile without a prompt; its
    // settings (the default profile's when none is selected) are the current values.
    let original_profile = selection.is_selected().then(|| selection.name.clone());
    let empty = Properties::default();
    let profile_config = set.profile(&selection.name).unwrap_or(&empty);
    let current = |k: &str| profile_config.get_str(k).map(str::to_string);

    let mut profile_values = Values::default();
    let mut session_values: Option<Values> = None;
    // `SSOSessionConfigurationPrompter.sso_session`: the profile's session is the default.
    let current_session = current("sso_session");
    let session_name = match &args.sso_session {
        Some(v) => {
            let v = v.trim();
            (!v.is_empty()).then(|| v.to_string())
        }
        None => get_value(
            ui,
            Question {
                text: "SSO session name",
                format: current_session
                    .is_none()
                    .then(|| "SSO session name (Recommended): ".into()),
                current: current_session.clone(),
                validator: None,
                flag: "--sso-session",
            },
        )?,
    };

    let (config, force_refresh) = match &session_name {
        None => {
            ui.print(
                "\x1b[1mWARNING: Configuring using legacy format (e.g. without an SSO session).\n\
                 Consider re-running \"configure sso\" command and providing a session name.\n\x1b[0m",
            )?;
            // The session prompter's answers go straight into the profile.
            if let Some(v) = current("sso_start_url") {
                profile_values.set("sso_start_url", v);
            }
            if let Some(v) = current("sso_region") {
                profile_values.set("sso_region", v);
            }
            let (start_url, region) = start_url_and_region(ui, args, &mut profile_values)?;
            let config = LoginConfig {
                start_url,
                region,
                session_name: None,
                scopes: None,
            };
            (config, false)
        }
        Some(name) => {
            profile_values.set("sso_session", name.clone());
            if let Some(existing) = set.sso_session(name) {
                let values = Values::from_properties(existing);
                let (Some(start_url), Some(region)) = (
                    values.get("sso_start_url").map(str::to_string),
                    values.get("sso_region").map(str::to_string),
                ) else {
                    return Err(CliError::configuration(format!(
                        "Missing the following required SSO configuration values: sso_start_url, sso_region. The [sso-session {name}] section of the config file must set them."
                    )));
                };
                let config = LoginConfig {
                    start_url,
                    region,
                    session_name: Some(name.clone()),
                    scopes: values.get("sso_registration_scopes").map(sso::parse_scopes),
                };
                session_values = Some(values);
                (config, false)
            } else {
                let mut values = Values::default();
                if let Some(v) = current("sso_start_url") {
                    values.set("sso_start_url", v);
                }
                if let Some(v) = current("sso_region") {
                    values.set("sso_region", v);
                }
                let (start_url, region) = start_url_and_region(ui, args, &mut values)?;
                if values.get("sso_registration_scopes").is_none() {
                    values.set("sso_registration_scopes", DEFAULT_SCOPE.into());
                }
                let raw = answer(
                    ui,
                    &args.scopes,
                    "SSO registration scopes",
                    values.get("sso_registration_scopes"),
                    scopes_valid,
                    "--scopes",
                )?
                .unwrap_or_default();
                values.set("sso_registration_scopes", raw.clone());
                let config = LoginConfig {
                    start_url,
                    region,
                    session_name: Some(name.clone()),
                    scopes: Some(sso::parse_scopes(&raw)),
                };
                session_values = Some(values);
                (config, true)
            }
        }
    };

    // v2 unsets the session's profile first: a --profile that does not exist yet must not
    // stop the login or the listings.
    let unset = Session::from_parts(
        env.clone(),
        locations.clone(),
        set.clone(),
        Some(original_profile.as_deref().unwrap_or("default")),
    );
    let services = unset.services(&ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    });
    let token = access_token(ui, &services, env, args, &config, force_refresh)?;
    let portal = Portal::new(&services, &config.region, &token);

    if args.all {
        return write_all(
            ui,
            args,
            &locations,
            set,
            &portal,
            &config,
            session_name.as_deref(),
            session_values,
        );
    }

    let chosen = match choose_account(ui, &portal, args.account_id.as_deref()) {
        Ok(account) => match choose_role(ui, &portal, &account, args.role_name.as_deref()) {
            Ok(role) => Some((account, role)),
            Err(PickError::Unauthorized) => None,
            Err(PickError::Fail(e)) => return Err(e),
        },
        Err(PickError::Unauthorized) => None,
        Err(PickError::Fail(e)) => return Err(e),
    };
    match &chosen {
        Some((account, role)) => {
            profile_values.set("sso_account_id", account.clone());
            profile_values.set("sso_role_name", role.clone());
        }
        None => ui.print(
            "Unable to list AWS accounts and/or roles. Skipping configuring AWS credential provider for profile.\n",
        )?,
    }

    if let Some(v) = profile_answer(
        ui,
        &args.default_region,
        "Default client Region",
        current("region"),
        "--default-region",
    )? {
        profile_values.set("region", v);
    }
    if let Some(v) = profile_answer(
        ui,
        &args.default_output,
        "CLI default output format (json if not specified)",
        current("output"),
        "--default-output",
    )? {
        profile_values.set("output", v);
    }

    let profile_name = match &original_profile {
        Some(p) => p.clone(),
        None => {
            let default = chosen.as_ref().map(|(a, r)| format!("{r}-{a}"));
            get_value(
                ui,
                Question {
                    text: "Profile name",
                    format: None,
                    current: default,
                    validator: Some(required),
                    flag: "--profile",
                },
            )?
            .unwrap_or_default()
        }
    };

    let path = locations.config_file_for_write();
    if !profile_values.0.is_empty() {
        update_file_as(
            FileKind::Config,
            &path,
            &profile_values.edit(profile_to_section(&profile_name)),
        )
        .map_err(write_error)?;
    }
    if let (Some(name), Some(values)) = (&session_name, &session_values) {
        update_file_as(
            FileKind::Config,
            &path,
            &values.edit(section_header("sso-session", name)),
        )
        .map_err(write_error)?;
    }

    if chosen.is_some() {
        if profile_name.eq_ignore_ascii_case("default") {
            ui.print(
                "The AWS CLI is now configured to use the default profile.\n\
                 Run the following command to verify your configuration:\n\n\
                 aws sts get-caller-identity\n",
            )?;
        } else {
            ui.print(&format!(
                "To use this profile, specify the profile name using --profile, as shown:\n\n\
                 aws sts get-caller-identity --profile {profile_name}\n"
            ))?;
        }
    } else {
        ui.print(&format!(
            "Successfully configured SSO for profile: {profile_name}\n"
        ))?;
    }
    Ok(0)
}

/// `--all`: one profile per account and role, named from the template; profiles that exist
/// are left as they are. The session section is written as for one profile.
#[allow(clippy::too_many_arguments)]
fn write_all(
    ui: &mut dyn Ui,
    args: &SsoArgs,
    locations: &Locations,
    set: &awsid_profile::ProfileSet,
    portal: &Portal<'_>,
    config: &LoginConfig,
    session_name: Option<&str>,
    session_values: Option<Values>,
) -> Result<u8, CliError> {
    let mut accounts = portal.list_accounts().map_err(portal_error)?;
    accounts.sort_by_key(Account::sort_key);
    let path = locations.config_file_for_write();
    let (mut written, mut kept) = (0usize, 0usize);
    for account in &accounts {
        let mut roles = portal
            .list_account_roles(&account.id)
            .map_err(portal_error)?;
        roles.sort_by_key(|r| r.to_lowercase());
        for role in roles {
            let name = args
                .profile_template
                .replace("{role_name}", &role)
                .replace("{account_id}", &account.id)
                .replace(
                    "{account_name}",
                    account.name.as_deref().unwrap_or(&account.id),
                );
            if set.profile(&name).is_some() {
                ui.print(&format!("Kept the existing profile {name}\n"))?;
                kept += 1;
                continue;
            }
            let mut values = Values::default();
            match session_name {
                Some(s) => values.set("sso_session", s.to_string()),
                None => {
                    values.set("sso_start_url", config.start_url.clone());
                    values.set("sso_region", config.region.clone());
                }
            }
            values.set("sso_account_id", account.id.clone());
            values.set("sso_role_name", role.clone());
            if let Some(r) = &args.default_region {
                values.set("region", r.clone());
            }
            if let Some(o) = &args.default_output {
                values.set("output", o.clone());
            }
            update_file_as(
                FileKind::Config,
                &path,
                &values.edit(profile_to_section(&name)),
            )
            .map_err(write_error)?;
            ui.print(&format!("Wrote the profile {name}\n"))?;
            written += 1;
        }
    }
    if let (Some(name), Some(values)) = (session_name, &session_values) {
        update_file_as(
            FileKind::Config,
            &path,
            &values.edit(section_header("sso-session", name)),
        )
        .map_err(write_error)?;
    }
    ui.print(&format!(
        "{written} profile(s) written, {kept} existing profile(s) left alone.\n"
    ))?;
    Ok(0)
}

// ------------------------------------------------------------------------------------------
// The terminal

/// The process's terminal: answers are lines of stdin (through the terminal's line editor);
/// the menu reads keys with echo and line editing off.
pub(crate) struct Terminal {
    out: std::io::Stdout,
    pending: Vec<u8>,
}

impl Terminal {
    fn new() -> Terminal {
        Terminal {
            out: std::io::stdout(),
            pending: Vec::new(),
        }
    }

    /// More input bytes (`false` at the end of the input).
    fn fill(&mut self) -> std::io::Result<bool> {
        let mut buf = [0u8; 256];
        let n = std::io::stdin().lock().read(&mut buf)?;
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n > 0)
    }
}

impl Ui for Terminal {
    fn print(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
        self.print(prompt)?;
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n' || b == b'\r') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                if line.last() == Some(&b'\r') && self.pending.first() == Some(&b'\n') {
                    self.pending.remove(0);
                }
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                return Ok(Some(text));
            }
            if !self.fill()? {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
                return Ok(Some(text));
            }
        }
    }

    fn select(&mut self, items: &[String]) -> std::io::Result<Option<usize>> {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            return Ok(None);
        }
        let _raw = RawMode::enter()?;
        let mut menu = Menu::new(items.len());
        let mut shown = 0;
        loop {
            let frame = menu.render(items, shown);
            shown = menu.height();
            self.print(&frame)?;
            let key = loop {
                if let Some((key, used)) = parse_key(&self.pending) {
                    self.pending.drain(..used);
                    break key;
                }
                if !self.fill()? {
                    break Key::Eof;
                }
            };
            match key {
                Key::Up => menu.move_by(-1),
                Key::Down => menu.move_by(1),
                Key::Enter => {
                    self.print(&Menu::erase(shown))?;
                    return Ok(Some(menu.selection));
                }
                Key::Interrupt | Key::Eof => {
                    self.print(&Menu::erase(shown))?;
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        "the selection was cancelled",
                    ));
                }
                Key::Other => {}
            }
        }
    }

    fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }
}

/// Echo, line editing and signal keys off on stdin until dropped.
struct RawMode {
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).map_err(std::io::Error::from)?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).map_err(std::io::Error::from)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

/// A key of the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Up,
    Down,
    Enter,
    Interrupt,
    Eof,
    Other,
}

/// The first key in `bytes` and how many bytes it took (`None`: incomplete).
fn parse_key(bytes: &[u8]) -> Option<(Key, usize)> {
    match bytes {
        [] => None,
        [0x1b] | [0x1b, b'[' | b'O'] => None,
        [0x1b, b'[' | b'O', b'A', ..] => Some((Key::Up, 3)),
        [0x1b, b'[' | b'O', b'B', ..] => Some((Key::Down, 3)),
        [0x1b, b'[' | b'O', _, ..] => Some((Key::Other, 3)),
        [b'\r' | b'\n', ..] => Some((Key::Enter, 1)),
        [0x03, ..] => Some((Key::Interrupt, 1)),
        [0x04, ..] => Some((Key::Eof, 1)),
        [_, ..] => Some((Key::Other, 1)),
    }
}

/// v2's `select_menu`: at most ten lines, the current one marked `>`, wrapping around.
struct Menu {
    len: usize,
    selection: usize,
    top: usize,
}

const MENU_HEIGHT: usize = 10;

impl Menu {
    fn new(len: usize) -> Menu {
        Menu {
            len,
            selection: 0,
            top: 0,
        }
    }

    fn height(&self) -> usize {
        self.len.min(MENU_HEIGHT)
    }

    fn move_by(&mut self, delta: isize) {
        let len = self.len as isize;
        self.selection = (self.selection as isize + delta).rem_euclid(len) as usize;
        if self.selection < self.top {
            self.top = self.selection;
        } else if self.selection >= self.top + MENU_HEIGHT {
            self.top = self.selection + 1 - MENU_HEIGHT;
        }
    }

    /// The visible lines (after erasing the `previous` ones), padded as v2 pads them.
    fn render(&self, items: &[String], previous: usize) -> String {
        let mut out = Menu::erase(previous);
        let width = items.iter().map(|i| i.chars().count()).max().unwrap_or(0);
        for (i, item) in items.iter().enumerate().skip(self.top).take(self.height()) {
            let cursor = if i == self.selection { '>' } else { ' ' };
            let pad = width - item.chars().count();
            // Output processing (ONLCR) stays on: `\n` reaches the terminal as CR LF.
            out.push_str(&format!("{cursor} {item}{}  \n", " ".repeat(pad)));
        }
        out
    }

    /// Moves up over `lines` printed lines and clears them.
    fn erase(lines: usize) -> String {
        if lines == 0 {
            return String::new();
        }
        format!("\x1b[{lines}A\r\x1b[J")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_urls_as_botocore_checks_them() {
        for ok in [
            "https://my-sso-portal.awsapps.com/start",
            "http://127.0.0.1:8080/start",
            "https://d-1234567890.awsapps.com/start#/",
            "https://user@host.example/x",
        ] {
            assert!(is_valid_endpoint_url(ok), "{ok}");
        }
        for bad in [
            "",
            "my-sso-portal.awsapps.com/start",
            "https://-bad.example",
            "https://",
            "https://a b.example",
            "https://[::1]/",
        ] {
            assert!(!is_valid_endpoint_url(bad), "{bad}");
        }
    }

    #[test]
    fn validators_allow_an_empty_answer_only_with_a_default() {
        assert_eq!(required("", None), Err("A value is required"));
        assert_eq!(required("", Some("x")), Ok(()));
        assert_eq!(start_url_valid("", Some("https://x")), Ok(()));
        assert_eq!(start_url_valid("nope", None), Err("Not a valid Start URL"));
        assert_eq!(scopes_valid("a, b,c", None), Ok(()));
        assert_eq!(
            scopes_valid("a b", None),
            Err("Scope values must be separated by commas")
        );
    }

    #[test]
    fn keys_and_menu_movement() {
        assert_eq!(parse_key(b"\x1b[B\r"), Some((Key::Down, 3)));
        assert_eq!(parse_key(b"\x1bOA"), Some((Key::Up, 3)));
        assert_eq!(parse_key(b"\x1b["), None);
        assert_eq!(parse_key(b"\r"), Some((Key::Enter, 1)));
        assert_eq!(parse_key(b"\x03"), Some((Key::Interrupt, 1)));
        let mut m = Menu::new(12);
        m.move_by(-1);
        assert_eq!((m.selection, m.top), (11, 2), "wraps to the last, scrolled");
        m.move_by(1);
        assert_eq!((m.selection, m.top), (0, 0));
        let items = vec!["ReadOnly".to_string(), "FullAccess".to_string()];
        let m = Menu::new(2);
        assert_eq!(m.render(&items, 0), "> ReadOnly    \n  FullAccess  \n");
        assert_eq!(Menu::erase(2), "\x1b[2A\r\x1b[J");
    }

    /// A scripted user: answers in order, menu choices by the shown text.
    struct Script {
        answers: Vec<&'static str>,
        picks: Vec<&'static str>,
        shown: String,
        sink: std::io::Sink,
    }

    impl Ui for Script {
        fn print(&mut self, text: &str) -> std::io::Result<()> {
            self.shown.push_str(text);
            Ok(())
        }
        fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
            self.shown.push_str(prompt);
            if self.answers.is_empty() {
                return Ok(None);
            }
            let a = self.answers.remove(0);
            self.shown.push_str(a);
            self.shown.push('\n');
            Ok(Some(a.to_string()))
        }
        fn select(&mut self, items: &[String]) -> std::io::Result<Option<usize>> {
            let pick = self.picks.remove(0);
            Ok(items.iter().position(|i| i.contains(pick)))
        }
        fn out(&mut self) -> &mut dyn Write {
            &mut self.sink
        }
    }

    fn no_globals() -> GlobalArgs {
        GlobalArgs {
            profile: None,
            region: None,
            output: None,
            endpoint_url: None,
            debug: false,
            cli_error_format: None,
        }
    }

    fn env_in(dir: &std::path::Path) -> Env {
        Env::from_pairs([
            ("HOME", dir.to_str().unwrap()),
            ("AWS_CONFIG_FILE", dir.join("config").to_str().unwrap()),
        ])
    }

    #[test]
    fn sso_session_wizard_writes_v2s_section() {
        let dir = tempfile::tempdir().unwrap();
        let mut ui = Script {
            answers: vec![
                "my-sso",
                "https://my-sso-portal.awsapps.com/start",
                "bad region ok",
                "",
            ],
            picks: vec![],
            shown: String::new(),
            sink: std::io::sink(),
        };
        let global = no_globals();
        let args = SsoSessionArgs {
            sso_session: None,
            start_url: None,
            sso_region: None,
            scopes: None,
        };
        assert_eq!(
            session_wizard(&global, &args, &env_in(dir.path()), &mut ui).unwrap(),
            0
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config")).unwrap(),
            "[sso-session my-sso]\nsso_start_url = https://my-sso-portal.awsapps.com/start\n\
             sso_region = bad region ok\nsso_registration_scopes = sso:account:access\n"
        );
        assert!(ui.shown.starts_with(
            "SSO session name: my-sso\nSSO start URL [None]: https://my-sso-portal.awsapps.com/start\n\
             SSO region [None]: bad region ok\nSSO registration scopes [sso:account:access]: \n"
        ), "{}", ui.shown);
        assert!(ui.shown.ends_with("aws sso login --sso-session my-sso\n"));
    }

    #[test]
    fn a_refused_answer_is_asked_again_and_the_end_of_input_names_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let mut ui = Script {
            answers: vec!["s", "not a url"],
            picks: vec![],
            shown: String::new(),
            sink: std::io::sink(),
        };
        let args = SsoSessionArgs {
            sso_session: None,
            start_url: None,
            sso_region: None,
            scopes: None,
        };
        let e = session_wizard(&no_globals(), &args, &env_in(dir.path()), &mut ui).unwrap_err();
        assert!(ui
            .shown
            .contains("not a url\nNot a valid Start URL\nSSO start URL [None]: "));
        assert!(format!("{e:?}").contains("--start-url"), "{e:?}");
        assert!(!dir.path().join("config").exists(), "nothing written");
    }
}
