//! The OS user behind a local TCP connection, read from the kernel's socket tables
//! (`/proc/net/tcp`, `/proc/net/tcp6` of the reader's network namespace), and the UID
//! allow-list an IMDS listener applies with it.
//!
//! A loopback client's socket is an ordinary row of those tables: its local address is the
//! peer address the server sees, its remote address is the address the server accepted on,
//! and its `uid` column is the user that created it. Matching the whole 4-tuple picks the
//! client's row, never the server's own accepted socket (whose addresses are the other way
//! round). A peer on another host has no row, so an allow-list refuses it.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where the kernel lists IPv4 and IPv6 TCP sockets.
const TCP4_TABLE: &str = "/proc/net/tcp";
const TCP6_TABLE: &str = "/proc/net/tcp6";

/// The UID owning the socket that connected from `client` to `server`, if that socket is
/// on this host (in this network namespace). Errors only when no table can be read.
pub fn socket_owner(client: SocketAddr, server: SocketAddr) -> io::Result<Option<u32>> {
    let client = unmapped(client);
    let server = unmapped(server);
    // An IPv4 connection may come from an IPv4 socket (tcp) or a dual-stack IPv6 socket
    // using a mapped address (tcp6); an IPv6 one only from tcp6.
    let tables: &[&str] = if client.is_ipv4() && server.is_ipv4() {
        &[TCP4_TABLE, TCP6_TABLE]
    } else {
        &[TCP6_TABLE]
    };
    let mut last_err = None;
    let mut read_any = false;
    for table in tables {
        match std::fs::read_to_string(table) {
            Ok(text) => {
                read_any = true;
                if let Some(uid) = find_owner(&text, client, server) {
                    return Ok(Some(uid));
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    match (read_any, last_err) {
        (false, Some(e)) => Err(e),
        _ => Ok(None),
    }
}

/// The `uid` column of the row of a `/proc/net/tcp{,6}` table whose local address is
/// `client` and remote address is `server` (IPv4-mapped addresses compare as IPv4).
pub fn find_owner(table: &str, client: SocketAddr, server: SocketAddr) -> Option<u32> {
    let client = unmapped(client);
    let server = unmapped(server);
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let _slot = fields.next()?;
        let local = unmapped(parse_endpoint(fields.next()?)?);
        let remote = unmapped(parse_endpoint(fields.next()?)?);
        if local != client || remote != server {
            return None;
        }
        // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid.
        fields.nth(4)?.parse().ok()
    })
}

/// `0100007F:1F90` (IPv4, the address as the kernel's native-endian 32-bit word) or 32 hex
/// digits (IPv6, four such words), then the port in big-endian hex.
fn parse_endpoint(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(addr.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; other addresses unchanged.
fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

/// The OS users (by UID) allowed to use a listener; everyone else is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidAllowList {
    uids: BTreeSet<u32>,
}

/// What the allow-list decided about one connection, with the UID when it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerVerdict {
    /// The peer's socket belongs to an allowed UID.
    Allowed(u32),
    /// The peer's socket belongs to a UID not on the list.
    Refused(u32),
    /// No socket of this host matches the connection (a remote peer, or one already gone).
    Unknown,
}

impl UidAllowList {
    /// An allow-list of `uids`.
    pub fn new(uids: impl IntoIterator<Item = u32>) -> UidAllowList {
        UidAllowList {
            uids: uids.into_iter().collect(),
        }
    }

    /// The allowed UIDs, ascending.
    pub fn uids(&self) -> impl Iterator<Item = u32> + '_ {
        self.uids.iter().copied()
    }

    /// Looks the connection up in the kernel's tables and decides. A table that cannot be
    /// read refuses the connection (the list fails closed).
    pub fn check(&self, client: SocketAddr, server: SocketAddr) -> PeerVerdict {
        match socket_owner(client, server) {
            Ok(Some(uid)) if self.uids.contains(&uid) => PeerVerdict::Allowed(uid),
            Ok(Some(uid)) => PeerVerdict::Refused(uid),
            Ok(None) => PeerVerdict::Unknown,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the kernel's socket tables");
                PeerVerdict::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows as the kernel prints them (x86-64, little-endian): a listener on 127.0.0.1:8080,
    // the server's accepted socket (uid 0) and the client's socket (uid 65534).
    const TCP4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 1003 1 0000000000000000 20 4 30 10 -1
";

    // Rows whose addresses are neither 8 nor 32 hex digits (33 here) are skipped.
    const MALFORMED6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000EC2000000000000000000054020000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 000000FD0000000000000000540200000:9C40 000000FD0000000000000000540200000:0050 01 00000000:00000000 00:00000000 00000000  1000        0 2002 1 0000000000000000 20 4 30 10 -1
";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn finds_the_client_row_not_the_servers() {
        let server = addr("127.0.0.1:8080");
        let client = addr("127.0.0.1:54321");
        assert_eq!(find_owner(TCP4, client, server), Some(65534));
        // The server's accepted socket has the addresses swapped: uid 0.
        assert_eq!(find_owner(TCP4, server, client), Some(0));
        // Mapped addresses (a dual-stack listener) compare as IPv4.
        assert_eq!(
            find_owner(
                TCP4,
                addr("[::ffff:127.0.0.1]:54321"),
                addr("[::ffff:127.0.0.1]:8080")
            ),
            Some(65534)
        );
        assert_eq!(find_owner(TCP4, addr("127.0.0.1:1"), server), None);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_ipv6_words_in_native_order() {
        let ip: Ipv6Addr = "fd00:ec2::254".parse().unwrap();
        let words: String = ip
            .octets()
            .chunks_exact(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let row = format!(
            "header\n   1: {words}:9C40 {words}:0050 01 00000000:00000000 00:00000000 00000000  1000        0 2002 1\n"
        );
        let server = SocketAddr::new(IpAddr::V6(ip), 80);
        let client = SocketAddr::new(IpAddr::V6(ip), 40000);
        assert_eq!(find_owner(&row, client, server), Some(1000));
        assert_eq!(find_owner(MALFORMED6, client, server), None);
    }

    #[test]
    fn live_loopback_connection_is_owned_by_this_process_user() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let conn = std::net::TcpStream::connect(server).unwrap();
        let client = conn.local_addr().unwrap();
        let me = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self").unwrap().uid()
        };
        let owner = socket_owner(client, server).unwrap();
        assert_eq!(owner, Some(me));
        let only_me = UidAllowList::new([me]);
        assert_eq!(only_me.check(client, server), PeerVerdict::Allowed(me));
        let nobody_else = UidAllowList::new([me.wrapping_add(1)]);
        assert_eq!(nobody_else.check(client, server), PeerVerdict::Refused(me));
        // A connection that does not exist is unknown, never allowed.
        assert_eq!(
            only_me.check(addr("127.0.0.1:1"), server),
            PeerVerdict::Unknown
        );
    }
}
