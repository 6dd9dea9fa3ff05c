//! `awsid imds lockdown [USER…]` and `awsid imds status`: firewall rules that let only the
//! given OS users reach the metadata addresses (see the `awsid-lockdown` crate).

use std::io::Write;
use std::path::PathBuf;

use awsid_lockdown::system::{self, Backend, Options};
use awsid_lockdown::{describe_users, resolve_users, LockdownError};
use clap::{Args, Subcommand, ValueEnum};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// `awsid imds …`.
#[derive(Debug, Args)]
pub(crate) struct ImdsArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: ImdsCommand,
}

/// Subcommands of `imds`.
#[derive(Debug, Subcommand)]
pub(crate) enum ImdsCommand {
    /// Let only USERs reach the metadata addresses (169.254.169.254, fd00:ec2::254,
    /// 169.254.170.2, 169.254.170.23, fd00:ec2::23) over IPv4 and IPv6; nobody when no USER is
    /// given. Idempotent: running it again replaces the previous lock-down.
    Lockdown(LockdownArgs),
    /// Show the lock-down in place: allowed users, rules, where they are kept.
    Status(StatusArgs),
}

/// The firewall interface to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendChoice {
    /// nftables when `nft` is installed, else iptables.
    Auto,
    /// nftables (`nft`).
    Nft,
    /// iptables and ip6tables.
    Iptables,
}

/// Options shared by `lockdown` and `status`.
#[derive(Debug, Args)]
pub(crate) struct FirewallArgs {
    /// Firewall interface.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) backend: BackendChoice,
    /// Root of the persistence files (tests only).
    #[arg(long, hide = true, value_name = "DIR", default_value = "/")]
    pub(crate) persist_root: PathBuf,
}

/// Options of `imds lockdown`.
#[derive(Debug, Args)]
pub(crate) struct LockdownArgs {
    /// OS users (names or numeric UIDs) allowed to reach the metadata addresses.
    #[arg(value_name = "USER")]
    pub(crate) users: Vec<String>,
    /// Print the rules and files that would change, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Remove the lock-down (rules and persistence) instead.
    #[arg(long, conflicts_with = "users")]
    pub(crate) undo: bool,
    /// Do not keep the rules across reboots and firewall reloads.
    #[arg(long)]
    pub(crate) no_persist: bool,
    #[command(flatten)]
    pub(crate) firewall: FirewallArgs,
}

/// Options of `imds status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) firewall: FirewallArgs,
}

/// Runs `imds …`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ImdsArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let _ = env;
    match args.command {
        ImdsCommand::Lockdown(a) => lockdown(a),
        ImdsCommand::Status(a) => status(global, a),
    }
}

fn options(firewall: &FirewallArgs, persist: bool) -> Result<Options, CliError> {
    let backend = match firewall.backend {
        BackendChoice::Auto => system::detect().map_err(failed)?,
        BackendChoice::Nft => Backend::Nft,
        BackendChoice::Iptables => Backend::Iptables,
    };
    Ok(Options {
        backend,
        persist,
        root: firewall.persist_root.clone(),
    })
}

fn failed(e: LockdownError) -> CliError {
    let usage = matches!(e, LockdownError::UnknownUser(_));
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    if matches!(e, LockdownError::Tool { .. } | LockdownError::Spawn { .. }) && !is_root() {
        text.push_str("\n(changing firewall rules needs root: run it with sudo)");
    }
    let text = format!("awsid imds lockdown: {text}");
    if usage {
        CliError::param_validation(text)
    } else {
        CliError::general(text)
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn lockdown(args: LockdownArgs) -> Result<u8, CliError> {
    let opts = options(&args.firewall, !args.no_persist)?;
    let users = if args.undo {
        None
    } else {
        Some(resolve_users(&args.users).map_err(failed)?)
    };
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        out.write_all(system::dry_run(users.as_deref(), &opts).as_bytes())?;
        return Ok(0);
    }
    match users {
        Some(users) => {
            let report = system::apply(&users, &opts).map_err(failed)?;
            writeln!(
                out,
                "IMDS lock-down applied ({}): only {} may reach {}",
                report.backend,
                describe_users(&users),
                addresses()
            )?;
            writeln!(out, "kept across reboots: {}", report.persistence)?;
        }
        None => {
            let report = system::undo(&opts).map_err(failed)?;
            writeln!(
                out,
                "IMDS lock-down removed ({}): every user may reach the metadata addresses again",
                report.backend
            )?;
            writeln!(out, "persistence removed: {}", report.persistence)?;
        }
    }
    Ok(0)
}

fn addresses() -> String {
    awsid_lockdown::METADATA_V4
        .iter()
        .map(ToString::to_string)
        .chain(awsid_lockdown::METADATA_V6.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

fn status(global: &GlobalArgs, args: StatusArgs) -> Result<u8, CliError> {
    let opts = options(&args.firewall, true)?;
    let st = system::status(&opts).map_err(failed)?;
    let mut out = std::io::stdout().lock();
    let users: Option<Vec<String>> = st.allowed_uids.as_ref().map(|uids| {
        uids.iter()
            .map(|uid| match nix::unistd::User::from_uid((*uid).into()) {
                Ok(Some(u)) => format!("{} (uid {uid})", u.name),
                _ => format!("uid {uid}"),
            })
            .collect()
    });
    if global.output.as_deref() == Some("json") {
        let doc = serde_json::json!({
            "backend": st.backend.to_string(),
            "active": st.allowed_uids.is_some(),
            "allowed_uids": st.allowed_uids,
            "allowed_users": users,
            "addresses": addresses().split(", ").collect::<Vec<_>>(),
            "persisted": st.persisted.as_ref().map(|p| p.display().to_string()),
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
        return Ok(0);
    }
    match users {
        None => writeln!(
            out,
            "IMDS lock-down: not active ({}): every user may reach the metadata addresses",
            st.backend
        )?,
        Some(users) => {
            let who = if users.is_empty() {
                "nobody".to_string()
            } else {
                users.join(", ")
            };
            writeln!(out, "IMDS lock-down: active ({})", st.backend)?;
            writeln!(out, "allowed users: {who}")?;
            writeln!(out, "addresses: {}", addresses())?;
            match &st.persisted {
                Some(p) => writeln!(out, "kept across reboots: {}", p.display())?,
                None => writeln!(out, "kept across reboots: no")?,
            }
            writeln!(out, "rules:")?;
            for line in st.listing.lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(0)
}
