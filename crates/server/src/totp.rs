//! RFC 6238 TOTP (SHA-1, 30-second steps, 6 digits) for virtual MFA devices, with a ±1 step
//! window and replay protection.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Step length in seconds.
pub const STEP: i64 = 30;

/// Decodes RFC 4648 base32 (upper or lower case, `=` padding and spaces ignored).
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0u32);
    for c in text.chars().filter(|c| !matches!(c, '=' | ' ')) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The 6-digit code for time step `counter` (RFC 4226 HOTP over SHA-1).
pub fn code_at_step(secret: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The code valid at `unix_time`.
pub fn code_at(secret: &[u8], unix_time: i64) -> String {
    code_at_step(secret, (unix_time.max(0) / STEP) as u64)
}

/// Remembers the last accepted step per device so that a code cannot be used twice.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    last_step: Mutex<HashMap<String, u64>>,
}

impl ReplayGuard {
    /// Checks `code` for the device `serial` at `unix_time` (±1 step). Accepts it only if its
    /// step is later than the last accepted one for this device, and records it.
    pub fn verify(&self, serial: &str, secret: &[u8], code: &str, unix_time: i64) -> bool {
        let now = (unix_time.max(0) / STEP) as u64;
        let mut matched = None;
        for step in [now.saturating_sub(1), now, now + 1] {
            let expected = code_at_step(secret, step);
            if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into() {
                matched = Some(step);
            }
        }
        let Some(step) = matched else { return false };
        let mut last = self.last_step.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(serial) {
            Some(prev) if *prev >= step => false,
            _ => {
                last.insert(serial.to_string(), step);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", last 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1111111109), "081804");
        assert_eq!(code_at(secret, 1234567890), "005924");
        assert_eq!(code_at(secret, 2000000000), "279037");
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(
            decode_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            b"12345678901234567890"
        );
        assert_eq!(decode_base32("mzxw6===").unwrap(), b"foo");
        assert!(decode_base32("not base32!").is_none());
    }

    #[test]
    fn window_and_replay() {
        let secret = b"12345678901234567890";
        let guard = ReplayGuard::default();
        let t = 1_800_000_000;
        let previous = code_at(secret, t - 30);
        let next = code_at(secret, t + 30);
        let far = code_at(secret, t - 90);
        assert!(
            !guard.verify("dev", secret, &far, t),
            "two steps old is refused"
        );
        assert!(guard.verify("dev", secret, &previous, t));
        assert!(
            !guard.verify("dev", secret, &previous, t),
            "replay is refused"
        );
        assert!(guard.verify("dev", secret, &next, t));
        assert!(
            !guard.verify("dev", secret, &code_at(secret, t), t),
            "an older step after a newer one is refused"
        );
        assert!(!guard.verify("dev", secret, "000000x", t));
    }
}
