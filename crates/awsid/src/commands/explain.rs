//! `awsid explain`: which credentials a command would use, and why — the library's
//! explanation printed as a report or as the `awsid-explain/1` JSON document (`docs/explain.md`).

use std::fmt::Write as _;
use std::io::Write as _;

use awsid_credentials::explain::{
    self, mask, CacheReport, CacheState, ExplainOptions, Explanation, Identity, MfaReport,
    OutcomeStatus, Resolution, Setting, Source, Status,
};
use awsid_credentials::{ResolveOptions, Session};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Also resolve the credentials (network calls: STS, SSO, IMDS, ECS, credential_process)
    /// and show the resulting identity (`sts get-caller-identity`).
    #[arg(long)]
    pub(crate) resolve: bool,
}

/// Runs `explain`: exit 0 with the report, whatever it says; 252 for an unknown `--output`;
/// 255 (v2's `ConfigParseError`) when a shared file cannot be parsed.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ExplainArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let json = match global.output.as_deref() {
        None | Some("text") | Some("table") => false,
        Some("json") => true,
        Some(other) => {
            return Err(crate::error::usage::argparse_error(&format!(
                "argument --output: Invalid choice '{other}' for explain, valid choices are: \
                 text, json"
            )))
        }
    };
    let session = Session::load(env, global.profile.as_deref()).map_err(CliError::configuration)?;
    let mut report = explain::explain(
        &session,
        &ExplainOptions {
            region_flag: global.region.clone(),
            now: None,
        },
    );
    if args.resolve {
        report.resolved = Some(resolve(&session, global, &report));
    }
    let text = if json {
        let mut s = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::general(format!("cannot write the report: {e}")))?;
        s.push('\n');
        s
    } else {
        render(&report)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// `--resolve`: the chain for real, then `GetCallerIdentity` with the result.
fn resolve(session: &Session, global: &GlobalArgs, report: &Explanation) -> Resolution {
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let mut r = Resolution {
        provider: None,
        access_key_id: None,
        expiration: None,
        identity: None,
        imds_region: None,
        error: None,
    };
    if report.region.value.is_none() {
        // v2's lookup can fail outright (no token while IMDSv1 is disabled).
        match session.imds_region() {
            Ok(region) => r.imds_region = region,
            Err(e) => r.error = Some(e.to_string()),
        }
    }
    match session.resolve_reporting(&options) {
        Err(e) => {
            r.provider = e.provider;
            r.error = Some(e.error.to_string());
        }
        Ok(None) => r.error = Some("no credentials found".into()),
        Ok(Some(resolved)) => {
            let c = &resolved.credentials;
            r.provider = Some(c.method);
            r.access_key_id = Some(mask(&c.access_key_id));
            r.expiration = c.expiry.map(awsid_credentials::time::format_z);
            let identity = session
                .command_sts_client(&options, global.endpoint_url.as_deref())
                .and_then(|client| client.get_caller_identity(c));
            match identity {
                Ok(id) => {
                    r.identity = Some(Identity {
                        account: id.account,
                        arn: id.arn,
                        user_id: id.user_id,
                    })
                }
                Err(e) => r.error = Some(format!("GetCallerIdentity: {e}")),
            }
        }
    }
    r
}

fn source(s: &Source) -> String {
    match s {
        Source::File {
            path,
            section,
            line,
            ..
        } => format!("{path}:{line} [{section}]"),
        Source::Env { name } => format!("env {name}"),
        Source::Flag { name } => name.clone(),
        Source::Default => "default".into(),
        Source::InstanceMetadata => "instance metadata".into(),
    }
}

fn setting_line(out: &mut String, indent: &str, s: &Setting) {
    let _ = writeln!(
        out,
        "{indent}{:<24} {:<44} {}",
        s.name,
        s.value,
        source(&s.source)
    );
}

fn cache_line(out: &mut String, indent: &str, label: &str, c: &CacheReport) {
    let state = match c.state {
        CacheState::Absent => "absent (the next use calls the service)".to_string(),
        CacheState::Fresh => format!(
            "fresh until {} ({} min left)",
            c.expiration.as_deref().unwrap_or("?"),
            c.remaining_seconds.unwrap_or(0) / 60
        ),
        CacheState::Expiring => format!(
            "expiring at {} (inside the 15-minute window: the next use refreshes it)",
            c.expiration.as_deref().unwrap_or("?")
        ),
        CacheState::Expired => format!("expired at {}", c.expiration.as_deref().unwrap_or("?")),
        CacheState::Unusable => format!("unusable: {}", c.reason.as_deref().unwrap_or("?")),
    };
    let _ = writeln!(out, "{indent}{label:<24} {state}");
    let _ = writeln!(out, "{indent}{:<24} {}", "", c.path);
}

/// How a hop gets past MFA: the code source and, with `mfa_session`, the session it uses.
fn mfa_lines(out: &mut String, m: &MfaReport) {
    let ask = match m.code_source {
        "mfa_process" => "runs mfa_process for an MFA code",
        "ykman" => "asks ykman for an MFA code",
        _ => "prompts for an MFA code on the terminal",
    };
    let Some(s) = &m.session else {
        let _ = writeln!(out, "             {ask}");
        return;
    };
    let how = match s.used {
        Some(true) => "assumed with the MFA session of this serial (mfa_session = true)",
        Some(false) => "mfa_session = true, but the source is not long-term keys: no session",
        None => "assumed with the MFA session if the source gives long-term keys",
    };
    let _ = writeln!(out, "             {how}");
    if s.used == Some(false) {
        let _ = writeln!(out, "             {ask}");
        return;
    }
    if let Some(cache) = &s.cache {
        cache_line(out, "             ", "mfa session", cache);
    }
    let fresh = s.cache.as_ref().map(|c| c.state) == Some(CacheState::Fresh);
    let _ = writeln!(
        out,
        "             {}",
        if fresh {
            "no code is asked while the session lasts".to_string()
        } else {
            let from = match m.code_source {
                "mfa_process" => "from mfa_process",
                "ykman" => "from ykman",
                _ => "typed on the terminal",
            };
            format!(
                "the next use starts a session ({} s) with one code {from}; every role of {} then uses it",
                s.duration, s.serial
            )
        }
    );
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::NotConfigured => "not configured",
        Status::Skipped => "skipped",
        Status::NoCredentials => "no credentials",
        Status::Chosen => "CHOSEN",
        Status::NeedsNetwork => "needs network",
        Status::Error => "ERROR",
        Status::NotReached => "not reached",
        Status::Unsupported => "unsupported",
    }
}

/// The human report.
pub(crate) fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let p = &e.profile;
    let _ = writeln!(
        out,
        "Profile      {}  (selected by {}{})",
        p.name,
        source(&p.selected_by),
        if p.exists { "" } else { "; not in either file" }
    );
    for s in &p.sections {
        let _ = writeln!(out, "             {}", source(s));
    }
    for (label, f) in [
        ("Config", &e.files.config),
        ("Credentials", &e.files.credentials),
    ] {
        let _ = writeln!(
            out,
            "{label:<12} {}  ({}{})",
            f.path,
            source(&f.source),
            match &f.mode {
                Some(m) => format!(", mode {m}"),
                None => ", absent".into(),
            }
        );
    }
    out.push('\n');
    render_outcome(&mut out, e);
    out.push_str("\nProviders, in the order the aws CLI tries them:\n");
    for r in &e.providers {
        let _ = writeln!(
            out,
            "  {:<30} {:<15} {}",
            r.provider,
            status_word(r.status),
            r.reason
        );
    }
    out.push('\n');
    match (&e.region.value, &e.region.source) {
        (Some(v), Some(s)) => {
            let _ = writeln!(out, "Region       {v}  ({})", source(s));
        }
        _ => {
            let _ = writeln!(
                out,
                "Region       none. {}",
                e.region.note.as_deref().unwrap_or("")
            );
        }
    }
    out.push_str("Endpoints\n");
    for ep in &e.endpoints {
        let _ = writeln!(
            out,
            "  {:<10} {}  ({}){}",
            ep.service,
            ep.url.as_deref().unwrap_or("-"),
            source(&ep.source),
            if ep.notes.is_empty() {
                String::new()
            } else {
                format!("; {}", ep.notes.join("; "))
            }
        );
    }
    if !e.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in &e.warnings {
            let _ = writeln!(out, "  ! {} [{}]", w.message, w.code);
        }
    }
    if let Some(r) = &e.resolved {
        out.push_str("\nResolved (--resolve)\n");
        if let Some(p) = r.provider {
            let _ = writeln!(out, "  provider     {p}");
        }
        if let Some(k) = &r.access_key_id {
            let _ = writeln!(out, "  access key   {k}");
        }
        if let Some(x) = &r.expiration {
            let _ = writeln!(out, "  expires      {x}");
        }
        if let Some(i) = &r.identity {
            let _ = writeln!(
                out,
                "  account      {}\n  arn          {}",
                i.account, i.arn
            );
        }
        if let Some(region) = &r.imds_region {
            let _ = writeln!(out, "  region       {region} (from instance metadata)");
        }
        if let Some(err) = &r.error {
            let _ = writeln!(out, "  error        {err}");
        }
    }
    out
}

fn render_outcome(out: &mut String, e: &Explanation) {
    let c = &e.credentials;
    match c.status {
        OutcomeStatus::Chosen => {
            let _ = writeln!(
                out,
                "Credentials  {}{}",
                c.provider.unwrap_or("?"),
                if c.hops.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  ({} role hop(s): {})",
                        c.hops.len(),
                        c.source_profiles.join(" <- ")
                    )
                }
            );
        }
        OutcomeStatus::Undetermined => {
            let _ = writeln!(
                out,
                "Credentials  undetermined without the network: {} may have them (--resolve)",
                c.candidates.join(", ")
            );
        }
        OutcomeStatus::None => {
            let _ = writeln!(out, "Credentials  none: no provider has credentials");
        }
        OutcomeStatus::Error => {
            let _ = writeln!(out, "Credentials  none: the configuration is rejected");
        }
    }
    if let Some(err) = &e.error {
        let _ = writeln!(
            out,
            "  error      {}{}",
            err.message,
            err.provider
                .map(|p| format!("  (provider {p})"))
                .unwrap_or_default()
        );
    }
    if let Some(b) = &c.base {
        let _ = writeln!(
            out,
            "  source     {}{}",
            b.provider,
            b.profile
                .as_ref()
                .map(|p| format!("  profile {p}"))
                .unwrap_or_default()
        );
        for s in &b.settings {
            setting_line(out, "             ", s);
        }
        if let Some(t) = &b.token_cache {
            cache_line(out, "             ", "sso token", t);
        }
        if let Some(cache) = &b.cache {
            cache_line(out, "             ", "cache", cache);
        }
        for n in &b.notes {
            let _ = writeln!(out, "             {n}");
        }
    }
    for (i, h) in c.hops.iter().enumerate() {
        let _ = writeln!(
            out,
            "  hop {}      assume {}  profile {}",
            i + 1,
            h.role_arn.value,
            h.profile
        );
        for s in [Some(&h.role_arn), Some(&h.source)]
            .into_iter()
            .chain([
                h.role_session_name.as_ref(),
                h.external_id.as_ref(),
                h.mfa_serial.as_ref(),
                h.duration_seconds.as_ref(),
            ])
            .flatten()
        {
            setting_line(out, "             ", s);
        }
        if h.role_session_name.is_none() {
            let _ = writeln!(
                out,
                "             {:<24} botocore-session-<epoch> (generated)",
                "role_session_name"
            );
        }
        let written = h.duration_seconds.as_ref().map(|s| s.value.trim());
        if let (Some(d), Some(used)) =
            (written.and_then(|v| v.parse::<i64>().ok()), h.duration_used)
        {
            if used < d {
                let _ = writeln!(
                    out,
                    "             DurationSeconds {used} is asked (STS caps a role assumed with an MFA session at one hour)"
                );
            }
        }
        if let Some(cache) = &h.cache {
            cache_line(out, "             ", "cache", cache);
        }
        if let Some(m) = &h.mfa {
            mfa_lines(out, m);
        }
    }
}
