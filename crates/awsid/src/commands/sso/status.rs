//! `awsid sso status` (awsid's own): each `[sso-session]` and each legacy start URL of the
//! config file with the state of its cached token — expiry only, never the token.

use std::io::Write;

use awsid_credentials::cache::sso_token_key;
use awsid_credentials::services::Services;
use awsid_credentials::Session;
use serde_json::{json, Value};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// One session's line of the report.
struct Entry {
    sso_session: Option<String>,
    start_url: String,
    region: String,
    token_file: Option<std::path::PathBuf>,
    state: &'static str,
    expires_at: Option<String>,
    seconds_left: Option<i64>,
    refreshable: bool,
}

/// Runs `sso status` (text, or JSON with `--output json`).
pub(super) fn run(
    global: &GlobalArgs,
    session: &Session,
    services: &Services,
) -> Result<u8, CliError> {
    let profiles = session.profiles();
    let now = awsid_credentials::time::now();
    let dir = services.sso_cache.as_ref().map(|c| c.dir().to_path_buf());
    let mut targets: Vec<(Option<String>, String, String)> = Vec::new();
    for name in profiles.sso_session_names() {
        let Some(s) = profiles.sso_session(name) else {
            continue;
        };
        let get = |k: &str| s.get_str(k).unwrap_or_default().to_string();
        targets.push((
            Some(name.to_string()),
            get("sso_start_url"),
            get("sso_region"),
        ));
    }
    for name in profiles.profile_names() {
        let Some(p) = profiles.profile(name) else {
            continue;
        };
        if p.contains("sso_session") {
            continue;
        }
        if let Some(url) = p.get_str("sso_start_url") {
            let region = p.get_str("sso_region").unwrap_or_default().to_string();
            if !targets.iter().any(|(s, u, _)| s.is_none() && u == url) {
                targets.push((None, url.to_string(), region));
            }
        }
    }
    let entries: Vec<Entry> = targets
        .into_iter()
        .map(|(name, start_url, region)| {
            let key = sso_token_key(name.as_deref().unwrap_or(&start_url));
            let file = dir.as_ref().map(|d| d.join(format!("{key}.json")));
            let token: Option<Value> = file
                .as_ref()
                .and_then(|f| std::fs::read(f).ok())
                .and_then(|b| serde_json::from_slice(&b).ok());
            let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let left = |t: &str| {
                awsid_credentials::time::parse(t)
                    .ok()
                    .map(|e| (e - now).whole_seconds())
            };
            let (state, expires_at, seconds_left, refreshable) = match &token {
                Some(t) if t.get("accessToken").is_some() => {
                    let expires = text(t, "expiresAt");
                    let secs = expires.as_deref().and_then(left);
                    let refreshable = t.get("refreshToken").is_some()
                        && text(t, "registrationExpiresAt")
                            .as_deref()
                            .and_then(left)
                            .is_some_and(|s| s > 0);
                    let state = if secs.is_some_and(|s| s > 0) {
                        "valid"
                    } else {
                        "expired"
                    };
                    (state, expires, secs, refreshable)
                }
                _ => ("not-logged-in", None, None, false),
            };
            Entry {
                sso_session: name,
                start_url,
                region,
                token_file: file.filter(|_| token.is_some()),
                state,
                expires_at,
                seconds_left,
                refreshable,
            }
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if global.output.as_deref() == Some("json") {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "sso_session": e.sso_session,
                    "start_url": e.start_url,
                    "sso_region": e.region,
                    "state": e.state,
                    "expires_at": e.expires_at,
                    "seconds_left": e.seconds_left,
                    "refreshable": e.refreshable,
                    "token_file": e.token_file.as_ref().map(|p| p.display().to_string()),
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        )?;
        return Ok(0);
    }
    if entries.is_empty() {
        writeln!(out, "No SSO sessions or SSO start URLs are configured.")?;
        return Ok(0);
    }
    for e in &entries {
        let name = match &e.sso_session {
            Some(n) => format!("sso-session {n}"),
            None => "legacy".to_string(),
        };
        let state = match (e.state, &e.expires_at, e.seconds_left) {
            ("valid", Some(at), Some(s)) => format!("logged in until {at} ({} min left)", s / 60),
            ("expired", Some(at), _) => format!("expired at {at}"),
            ("expired", None, _) => "token without a valid expiresAt".to_string(),
            _ => "not logged in".to_string(),
        };
        let refresh = if e.state == "not-logged-in" {
            String::new()
        } else if e.refreshable {
            ", refreshable".to_string()
        } else {
            ", not refreshable (run sso login again when it expires)".to_string()
        };
        writeln!(
            out,
            "[{name}] {} ({}): {state}{refresh}",
            e.start_url, e.region
        )?;
    }
    Ok(0)
}
