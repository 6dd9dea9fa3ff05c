//! Fresh identifiers in the shapes AWS uses: IAM unique ids (`AROA…`), access keys, EC2 ids
//! (`i-…`, `iip-assoc-…`, `lt-…`), UUIDs; and the ISO 8601 timestamps IAM reports.

use rand::RngCore;

const UPPER_DIGITS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An IAM unique id: `prefix` (`AROA`, `AIDA`, `AIPA`, `ANPA`) + 17 upper-case letters/digits.
pub fn unique_id(prefix: &str) -> String {
    let mut b = [0u8; 17];
    rand::rng().fill_bytes(&mut b);
    let mut id = String::from(prefix);
    id.extend(b.iter().map(|x| UPPER_DIGITS[(x & 31) as usize] as char));
    id
}

/// A long-term access key id (`AKIA` + 16) and a 40-character secret.
pub fn access_key() -> (String, String) {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    let mut id = String::from("AKIA");
    id.extend(b.iter().map(|x| UPPER_DIGITS[(x & 31) as usize] as char));
    let mut s = [0u8; 30];
    rand::rng().fill_bytes(&mut s);
    use base64::Engine;
    let secret = base64::engine::general_purpose::STANDARD.encode(s);
    (id, secret)
}

/// An EC2-style id: `prefix-` + 17 lower-case hex digits (`i`, `iip-assoc`, `lt`, `r`).
pub fn ec2_id(prefix: &str) -> String {
    let mut b = [0u8; 9];
    rand::rng().fill_bytes(&mut b);
    let hex = hex::encode(b);
    format!("{prefix}-{}", &hex[..17])
}

/// A random UUID (v4), lower case.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A TOTP seed for a virtual MFA device: 20 random bytes in base32 (40 characters).
pub fn totp_seed() -> String {
    let mut b = [0u8; 20];
    rand::rng().fill_bytes(&mut b);
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in b {
        buffer = (buffer << 8) | byte as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(UPPER_DIGITS[((buffer >> bits) & 31) as usize] as char);
        }
    }
    out
}

/// The id an instance's profile association gets when the world file names none: stable,
/// derived from the instance id.
pub fn association_for(instance: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(instance.as_bytes());
    format!("iip-assoc-{}", &hex::encode(d)[..17])
}

/// A creation date for entries that have none: the start of 2026, fixed so exports stay stable.
pub const EPOCH_DATE: &str = "2026-01-01T00:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = unique_id("AROA");
        assert_eq!(id.len(), 21);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let (k, s) = access_key();
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert_eq!(s.len(), 40);
        let i = ec2_id("i");
        assert_eq!(i.len(), 19);
        assert!(ec2_id("iip-assoc").starts_with("iip-assoc-"));
        assert_eq!(uuid().len(), 36);
        let seed = totp_seed();
        assert_eq!(seed.len(), 32);
        assert_eq!(crate::totp::decode_base32(&seed).unwrap().len(), 20);
        assert_eq!(association_for("i-1"), association_for("i-1"));
    }
}
