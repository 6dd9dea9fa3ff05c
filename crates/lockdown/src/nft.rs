//! The nftables form: one table of awsid's own, replaced in a single `nft -f` transaction.

use crate::{marker, OsUser, METADATA_V4, METADATA_V6};

/// A new IPv4 connection opened to a metadata address.
const NEW4: &str = "ct state new ct direction original ct original ip daddr @metadata_ipv4";
/// A new IPv6 connection opened to a metadata address.
const NEW6: &str = "ct state new ct direction original ct original ip6 daddr @metadata_ipv6";

/// The family and name of the table awsid owns.
pub const TABLE: &str = "inet awsid_imds_lockdown";

/// The `nft -f` script that installs the lock-down (or replaces the one in place): the
/// `add table` + `delete table` pair makes it idempotent in one transaction, on every nft
/// release (no `destroy` needed). Allowed users' packets are accepted by this table (other
/// tables may still drop them); every other new connection to a metadata address is
/// rejected (a TCP reset, so clients fail at once instead of timing out).
///
/// Only a connection's first packet is judged (`ct state new ct direction original`): the
/// replies of a metadata server on this host (its socket belongs to the server's user) and
/// the reset itself pass. The address is the one the connection was opened to
/// (`ct original … daddr`), so a DNAT to a local agent (the ECS agent's 169.254.170.2)
/// does not hide it.
pub fn script(users: &[OsUser]) -> String {
    let v4: Vec<String> = METADATA_V4.iter().map(ToString::to_string).collect();
    let v6: Vec<String> = METADATA_V6.iter().map(ToString::to_string).collect();
    let mut out = String::new();
    out.push_str(&undo_script());
    out.push_str(&format!("table {TABLE} {{\n"));
    out.push_str(&format!(
        "\tset metadata_ipv4 {{\n\t\ttype ipv4_addr\n\t\telements = {{ {} }}\n\t}}\n",
        v4.join(", ")
    ));
    out.push_str(&format!(
        "\tset metadata_ipv6 {{\n\t\ttype ipv6_addr\n\t\telements = {{ {} }}\n\t}}\n",
        v6.join(", ")
    ));
    out.push_str("\tchain output {\n");
    out.push_str("\t\ttype filter hook output priority filter; policy accept;\n");
    if !users.is_empty() {
        let uids: Vec<String> = users.iter().map(|u| u.uid.to_string()).collect();
        let set = uids.join(", ");
        out.push_str(&format!("\t\t{NEW4} meta skuid {{ {set} }} accept\n"));
        out.push_str(&format!("\t\t{NEW6} meta skuid {{ {set} }} accept\n"));
    }
    out.push_str(&format!(
        "\t\t{NEW4} meta l4proto tcp reject with tcp reset comment \"{}\"\n",
        marker(users)
    ));
    out.push_str(&format!(
        "\t\t{NEW6} meta l4proto tcp reject with tcp reset\n"
    ));
    out.push_str(&format!("\t\t{NEW4} reject with icmpx admin-prohibited\n"));
    out.push_str(&format!("\t\t{NEW6} reject with icmpx admin-prohibited\n"));
    out.push_str("\t}\n}\n");
    out
}

/// The `nft -f` script that removes the lock-down; harmless when none is in place.
pub fn undo_script() -> String {
    format!("add table {TABLE}\ndelete table {TABLE}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve_users;

    #[test]
    fn script_for_root() {
        let users = resolve_users(&["root"]).unwrap();
        let expected = "add table inet awsid_imds_lockdown
delete table inet awsid_imds_lockdown
table inet awsid_imds_lockdown {
\tset metadata_ipv4 {
\t\ttype ipv4_addr
\t\telements = { 169.254.169.254, 169.254.170.2, 169.254.170.23 }
\t}
\tset metadata_ipv6 {
\t\ttype ipv6_addr
\t\telements = { fd00:ec2::254, fd00:ec2::23 }
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t\tct state new ct direction original ct original ip daddr @metadata_ipv4 meta skuid { 0 } accept
\t\tct state new ct direction original ct original ip6 daddr @metadata_ipv6 meta skuid { 0 } accept
\t\tct state new ct direction original ct original ip daddr @metadata_ipv4 meta l4proto tcp reject with tcp reset comment \"awsid imds lockdown: allow uids 0\"
\t\tct state new ct direction original ct original ip6 daddr @metadata_ipv6 meta l4proto tcp reject with tcp reset
\t\tct state new ct direction original ct original ip daddr @metadata_ipv4 reject with icmpx admin-prohibited
\t\tct state new ct direction original ct original ip6 daddr @metadata_ipv6 reject with icmpx admin-prohibited
\t}
}
";
        assert_eq!(script(&users), expected);
    }

    #[test]
    fn script_for_nobody_has_no_accept_rule() {
        let s = script(&[]);
        assert!(!s.contains("accept\n"), "{s}");
        assert!(s.contains("allow uids none"));
        assert!(s.starts_with(&undo_script()));
    }
}
