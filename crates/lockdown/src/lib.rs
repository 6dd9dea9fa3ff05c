//! `awsid imds lockdown`: firewall rules that let only the given OS users reach the
//! metadata addresses AWS SDKs use (EC2 IMDS, ECS task credentials, EKS Pod Identity), over
//! IPv4 and IPv6, or nobody when no user is given.
//!
//! The rules are generated as text first ([`nft::script`], [`iptables::restore_input`]) so
//! that `--dry-run` prints exactly what is applied, then loaded in one transaction each
//! ([`system`]). Everything lives in objects awsid owns (the nftables table
//! `inet awsid_imds_lockdown`, the iptables chain `AWSID-IMDS-LOCKDOWN`), so applying twice
//! changes nothing, and undoing removes only what awsid added.

pub mod iptables;
pub mod nft;
pub mod persist;
pub mod system;

use std::net::{Ipv4Addr, Ipv6Addr};

/// The IPv4 metadata addresses: EC2 IMDS, the ECS container credentials endpoint and the EKS
/// Pod Identity agent.
pub const METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
];

/// The IPv6 metadata addresses: EC2 IMDS (`fd00:ec2::254`) and the EKS Pod Identity agent
/// (`fd00:ec2::23`).
pub const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
];

/// An OS user allowed through: the name given and the UID it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsUser {
    /// The name (or the number) as given on the command line.
    pub name: String,
    /// The UID.
    pub uid: u32,
}

impl std::fmt::Display for OsUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name == self.uid.to_string() {
            write!(f, "uid {}", self.uid)
        } else {
            write!(f, "{} (uid {})", self.name, self.uid)
        }
    }
}

/// Why a lock-down could not be planned, applied, undone or read.
#[derive(Debug, thiserror::Error)]
pub enum LockdownError {
    /// A user name that the system's user database does not know.
    #[error("unknown user '{0}': not in the system's user database (give a name from /etc/passwd or a numeric UID)")]
    UnknownUser(String),
    /// The user database could not be read.
    #[error("cannot look up user '{name}'")]
    UserLookup {
        /// The name looked up.
        name: String,
        /// The OS error.
        #[source]
        source: nix::Error,
    },
    /// Neither nftables nor iptables is installed.
    #[error("neither 'nft' (nftables) nor 'iptables' and 'ip6tables' were found on PATH; install nftables (apt-get install nftables)")]
    NoFirewall,
    /// The firewall tool could not be started.
    #[error("cannot run {tool}")]
    Spawn {
        /// The program.
        tool: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The firewall tool refused the rules.
    #[error("{tool} failed (exit status {status}): {stderr}")]
    Tool {
        /// The command line.
        tool: String,
        /// Its exit status (-1: killed by a signal).
        status: i32,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A persistence file could not be read or written.
    #[error("cannot update {}", path.display())]
    Persist {
        /// The file at fault.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Resolves user names (or numeric UIDs) through the system's user database (NSS, so LDAP
/// and systemd-homed users count); duplicates are dropped, order kept.
pub fn resolve_users<S: AsRef<str>>(names: &[S]) -> Result<Vec<OsUser>, LockdownError> {
    let mut out: Vec<OsUser> = Vec::new();
    for name in names {
        let name = name.as_ref();
        let uid = match name.parse::<u32>() {
            Ok(uid) => uid,
            Err(_) => nix::unistd::User::from_name(name)
                .map_err(|source| LockdownError::UserLookup {
                    name: name.to_string(),
                    source,
                })?
                .ok_or_else(|| LockdownError::UnknownUser(name.to_string()))?
                .uid
                .as_raw(),
        };
        if !out.iter().any(|u| u.uid == uid) {
            out.push(OsUser {
                name: name.to_string(),
                uid,
            });
        }
    }
    Ok(out)
}

/// A one-line description of who may pass: `root (uid 0), www-data (uid 33)` or `nobody`.
pub fn describe_users(users: &[OsUser]) -> String {
    if users.is_empty() {
        return "nobody (every user is refused)".to_string();
    }
    users
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The marker awsid writes into its rules (an nftables/iptables comment) so that `status`
/// can tell which UIDs a lock-down in place allows: `awsid imds lockdown: allow uids 0,33`.
pub fn marker(users: &[OsUser]) -> String {
    let uids: Vec<String> = users.iter().map(|u| u.uid.to_string()).collect();
    if uids.is_empty() {
        "awsid imds lockdown: allow uids none".to_string()
    } else {
        format!("awsid imds lockdown: allow uids {}", uids.join(","))
    }
}

/// The UIDs named by a [`marker`] found in a rule listing (`Some(vec![])` for `none`).
pub fn parse_marker(listing: &str) -> Option<Vec<u32>> {
    let start = listing.find("awsid imds lockdown: allow uids ")? + 32;
    let rest = &listing[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == ','))
        .unwrap_or(rest.len());
    let list = &rest[..end];
    if list == "none" {
        return Some(Vec::new());
    }
    list.split(',').map(|u| u.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_by_name_or_number_without_duplicates() {
        let users = resolve_users(&["root", "0", "65534"]).unwrap();
        assert_eq!(
            users,
            vec![
                OsUser {
                    name: "root".into(),
                    uid: 0
                },
                OsUser {
                    name: "65534".into(),
                    uid: 65534
                }
            ]
        );
        assert_eq!(describe_users(&users), "root (uid 0), uid 65534");
        let err = resolve_users(&["no-such-user-awsid"]).unwrap_err();
        assert!(err
            .to_string()
            .contains("unknown user 'no-such-user-awsid'"));
        assert_eq!(describe_users(&[]), "nobody (every user is refused)");
    }

    #[test]
    fn marker_round_trips() {
        let users = resolve_users(&["0", "33"]).unwrap();
        let m = marker(&users);
        assert_eq!(m, "awsid imds lockdown: allow uids 0,33");
        assert_eq!(
            parse_marker(&format!("... comment \"{m}\"\n")),
            Some(vec![0, 33])
        );
        assert_eq!(parse_marker(&marker(&[])), Some(vec![]));
        assert_eq!(parse_marker("nothing here"), None);
    }

    #[test]
    fn metadata_addresses_are_the_sdk_defaults() {
        let v4: Vec<String> = METADATA_V4.iter().map(ToString::to_string).collect();
        let v6: Vec<String> = METADATA_V6.iter().map(ToString::to_string).collect();
        assert_eq!(v4, ["169.254.169.254", "169.254.170.2", "169.254.170.23"]);
        assert_eq!(v6, ["fd00:ec2::254", "fd00:ec2::23"]);
    }
}
