//! The iptables/ip6tables form, for hosts without nftables: a chain of awsid's own loaded
//! with `iptables-restore --noflush` (one transaction per family) and one jump to it at the
//! top of `OUTPUT`.

use crate::{marker, OsUser, METADATA_V4, METADATA_V6};

/// The chain awsid owns in the `filter` table of both families.
pub const CHAIN: &str = "AWSID-IMDS-LOCKDOWN";

/// An IP family and its tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `iptables`, IPv4.
    V4,
    /// `ip6tables`, IPv6.
    V6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The rule tool: `iptables` or `ip6tables`.
    pub fn tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    /// The restore tool: `iptables-restore` or `ip6tables-restore`.
    pub fn restore_tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }

    fn addresses(self) -> Vec<String> {
        match self {
            Family::V4 => METADATA_V4.iter().map(|a| format!("{a}/32")).collect(),
            Family::V6 => METADATA_V6.iter().map(|a| format!("{a}/128")).collect(),
        }
    }

    fn admin_prohibited(self) -> &'static str {
        match self {
            Family::V4 => "icmp-admin-prohibited",
            Family::V6 => "icmp6-adm-prohibited",
        }
    }
}

/// The `iptables-restore --noflush` input that (re)creates awsid's chain for `family`:
/// declaring the chain empties it, so loading it twice leaves one copy of each rule. As in
/// the nftables form, only a connection's first packet is judged, by the address it was
/// opened to (conntrack's original destination, before any DNAT).
pub fn restore_input(users: &[OsUser], family: Family) -> String {
    let mut out = format!("*filter\n:{CHAIN} - [0:0]\n");
    let mark = marker(users);
    for addr in family.addresses() {
        let new = format!("-m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst {addr}");
        for user in users {
            out.push_str(&format!(
                "-A {CHAIN} {new} -m owner --uid-owner {} -j RETURN\n",
                user.uid
            ));
        }
        out.push_str(&format!(
            "-A {CHAIN} {new} -p tcp -m comment --comment \"{mark}\" -j REJECT --reject-with tcp-reset\n"
        ));
        out.push_str(&format!(
            "-A {CHAIN} {new} -j REJECT --reject-with {}\n",
            family.admin_prohibited()
        ));
    }
    out.push_str("COMMIT\n");
    out
}

/// The arguments (after the tool name) that check for, insert and delete the jump from
/// `OUTPUT` to awsid's chain.
pub fn jump(action: &str) -> Vec<String> {
    let mut v = vec!["-w".to_string(), action.to_string(), "OUTPUT".to_string()];
    if action == "-I" {
        v.push("1".to_string());
    }
    v.extend(["-j".to_string(), CHAIN.to_string()]);
    v
}

/// The arguments that flush and delete awsid's chain (after its jumps are gone).
pub fn remove_chain() -> [Vec<String>; 2] {
    [
        vec!["-w".into(), "-F".into(), CHAIN.into()],
        vec!["-w".into(), "-X".into(), CHAIN.into()],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve_users;

    #[test]
    fn restore_input_v4() {
        let users = resolve_users(&["root"]).unwrap();
        let text = restore_input(&users, Family::V4);
        let expected = "*filter
:AWSID-IMDS-LOCKDOWN - [0:0]
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.169.254/32 -m owner --uid-owner 0 -j RETURN
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.169.254/32 -p tcp -m comment --comment \"awsid imds lockdown: allow uids 0\" -j REJECT --reject-with tcp-reset
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.169.254/32 -j REJECT --reject-with icmp-admin-prohibited
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.2/32 -m owner --uid-owner 0 -j RETURN
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.2/32 -p tcp -m comment --comment \"awsid imds lockdown: allow uids 0\" -j REJECT --reject-with tcp-reset
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.2/32 -j REJECT --reject-with icmp-admin-prohibited
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.23/32 -m owner --uid-owner 0 -j RETURN
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.23/32 -p tcp -m comment --comment \"awsid imds lockdown: allow uids 0\" -j REJECT --reject-with tcp-reset
-A AWSID-IMDS-LOCKDOWN -m conntrack --ctstate NEW --ctdir ORIGINAL --ctorigdst 169.254.170.23/32 -j REJECT --reject-with icmp-admin-prohibited
COMMIT
";
        assert_eq!(text, expected);
    }

    #[test]
    fn restore_input_v6_for_nobody() {
        let text = restore_input(&[], Family::V6);
        assert!(!text.contains("RETURN"));
        assert!(text.contains("--ctorigdst fd00:ec2::254/128 -p tcp"));
        assert!(text
            .contains("--ctorigdst fd00:ec2::23/128 -j REJECT --reject-with icmp6-adm-prohibited"));
        assert!(text.contains("allow uids none"));
        assert_eq!(jump("-I"), ["-w", "-I", "OUTPUT", "1", "-j", CHAIN]);
        assert_eq!(jump("-C"), ["-w", "-C", "OUTPUT", "-j", CHAIN]);
    }
}
