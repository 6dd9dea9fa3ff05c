//! What every handler shares: the world, the issuer, the clock and the MFA replay guard.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::issuer::Issuer;
use crate::totp::ReplayGuard;
use crate::world::World;

/// Wall-clock seconds, with an offset tests can move.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in epoch seconds.
    pub fn now(&self) -> i64 {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.offset.load(Ordering::Relaxed)
    }

    /// A monotonic instant for measuring intervals (device-code polling), moved by
    /// [`Clock::advance`] like [`Clock::now`], so tests wait without sleeping.
    pub fn instant(&self) -> std::time::Instant {
        let now = std::time::Instant::now();
        let offset = self.offset.load(Ordering::Relaxed);
        let by = std::time::Duration::from_secs(offset.unsigned_abs());
        if offset >= 0 {
            now + by
        } else {
            now.checked_sub(by).unwrap_or(now)
        }
    }

    /// Moves the clock by `seconds` (tests of expiry, rotation and polling intervals).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// Shared server state.
#[derive(Debug)]
pub struct State {
    /// The world.
    pub world: Arc<World>,
    /// The credential issuer.
    pub issuer: Arc<Issuer>,
    /// The clock.
    pub clock: Arc<Clock>,
    /// One-time-code replay protection.
    pub mfa: ReplayGuard,
    /// SigV4 signing keys by (secret, date, region, service); holds no secret.
    pub signing_keys: awsid_sigv4::SigningKeyCache,
    /// Calls answered, per service and action.
    pub metrics: crate::metrics::Metrics,
    /// Faults injected on purpose (off unless the world's `[faults]` or the admin API set
    /// some).
    pub faults: crate::faults::Switchboard,
}

impl State {
    /// State over a world and issuer with the system clock.
    pub fn new(world: Arc<World>, issuer: Arc<Issuer>) -> State {
        let clock = Arc::new(Clock::system());
        let faults = crate::faults::Switchboard::default();
        for (target, spec) in &world.faults {
            faults.set(target.clone(), spec.clone(), clock.now());
        }
        State {
            world,
            issuer,
            clock,
            mfa: ReplayGuard::default(),
            signing_keys: awsid_sigv4::SigningKeyCache::new(4096),
            metrics: crate::metrics::Metrics::default(),
            faults,
        }
    }
}

/// A policy request context holding the time keys every evaluation has: `aws:CurrentTime`
/// and `aws:EpochTime` for `now` (epoch seconds).
pub fn context_at(now: i64) -> crate::policy::Context {
    let mut ctx = crate::policy::Context::new();
    ctx.set("aws:CurrentTime", iso8601(now))
        .set("aws:EpochTime", now.to_string());
    ctx
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds.
pub fn iso8601(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601_has_no_fraction() {
        assert_eq!(super::iso8601(1_795_413_600), "2026-11-23T06:00:00Z");
    }
}
