//! What every handler shares: the live world, the issuer, the clock, the MFA replay guard and
//! the decision log; and [`View`], one request's consistent snapshot of it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::decisions::{DecisionLog, Entry};
use crate::issuer::Issuer;
use crate::live::LiveWorld;
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
    /// IMDS listeners reserved by launches, waiting for the server to serve them.
    pub reserved_imds: std::sync::Mutex<std::collections::HashMap<String, std::net::TcpListener>>,
    /// The address each running instance's IMDS listener is bound to.
    pub imds_endpoints: std::sync::RwLock<std::collections::BTreeMap<String, std::net::SocketAddr>>,
    /// The world, changeable through the IAM, EC2 and Auto Scaling APIs.
    pub live: LiveWorld,
    /// Every decision, for the console page.
    pub decisions: DecisionLog,
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
    /// State over a world kept in memory and an issuer, with the system clock.
    pub fn new(world: World, issuer: Arc<Issuer>) -> State {
        State::with_live(LiveWorld::in_memory(world), issuer)
    }

    /// State over a live world (e.g. one kept in a SQLite store); the fault switchboard starts
    /// with the world's `[faults]`.
    pub fn with_live(live: LiveWorld, issuer: Arc<Issuer>) -> State {
        let clock = Arc::new(Clock::system());
        let faults = crate::faults::Switchboard::default();
        for (target, spec) in &live.snapshot().faults {
            faults.set(target.clone(), spec.clone(), clock.now());
        }
        State {
            reserved_imds: Default::default(),
            imds_endpoints: Default::default(),
            live,
            decisions: DecisionLog::default(),
            issuer,
            clock,
            mfa: ReplayGuard::default(),
            signing_keys: awsid_sigv4::SigningKeyCache::new(4096),
            metrics: crate::metrics::Metrics::default(),
            faults,
        }
    }

    /// The current world snapshot.
    pub fn world(&self) -> Arc<World> {
        self.live.snapshot()
    }

    /// The current world snapshot for the length of one request ([`crate::live::LiveWorld::snapshot_guard`]).
    pub fn world_now(&self) -> arc_swap::Guard<Arc<World>> {
        self.live.snapshot_guard()
    }

    /// This request's view: the state plus one snapshot of the world, so everything the
    /// request reads is consistent.
    pub fn view(&self) -> View<'_> {
        View {
            world: self.live.snapshot_guard(),
            state: self,
        }
    }

    /// Binds a listener on 127.0.0.1 for a new instance's IMDS; the server picks it up when
    /// the instance appears in the world. Returns its address.
    pub fn reserve_imds(&self, instance: &str) -> std::io::Result<std::net::SocketAddr> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        self.reserved_imds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(instance.to_string(), l);
        Ok(addr)
    }

    /// The IMDS address of a running instance: where its listener is bound, else its
    /// configured `listen` address.
    pub fn imds_endpoint(&self, world: &World, instance: &str) -> Option<std::net::SocketAddr> {
        let bound = self
            .imds_endpoints
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(instance)
            .copied();
        bound.or_else(|| world.instance(instance)?.listen.as_deref()?.parse().ok())
    }

    /// Records a decision at the clock's now.
    pub fn decide(&self, entry: Entry) {
        self.decisions.record(self.clock.now(), entry);
    }

    /// [`State::decide`] at a time the caller already read from [`State::clock`].
    pub fn decide_at(&self, now: i64, entry: Entry) {
        self.decisions.record(now, entry);
    }
}

/// One request's view of the state: a fixed world snapshot (`view.world`) and everything else
/// of [`State`] through `Deref`.
#[derive(Debug)]
pub struct View<'a> {
    /// The world as of the start of the request.
    pub world: arc_swap::Guard<Arc<World>>,
    state: &'a State,
}

impl std::ops::Deref for View<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.state
    }
}

impl<'a> View<'a> {
    /// The shared state behind this view.
    pub fn state(&self) -> &'a State {
        self.state
    }
}

/// A policy request context holding the time keys every evaluation has: `aws:CurrentTime`
/// and `aws:EpochTime` for `now` (epoch seconds).
pub fn context_at(now: i64) -> crate::policy::Context {
    let mut ctx = crate::policy::Context::with_capacity(16);
    ctx.set("aws:CurrentTime", iso8601(now))
        .set("aws:EpochTime", now.to_string());
    ctx
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds.
pub fn iso8601(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if (0..=9999).contains(&t.year()) {
        // Every field fits its width: digits written directly (several per STS answer).
        let mut out = *b"0000-00-00T00:00:00Z";
        let fields = [
            (0, 4, t.year() as u32),
            (5, 2, u32::from(t.month() as u8)),
            (8, 2, u32::from(t.day())),
            (11, 2, u32::from(t.hour())),
            (14, 2, u32::from(t.minute())),
            (17, 2, u32::from(t.second())),
        ];
        for (at, width, mut v) in fields {
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        return String::from_utf8(out.to_vec()).expect("ASCII digits");
    }
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

    #[test]
    fn iso8601_digits_match_the_formatter() {
        let formatted = |epoch: i64| {
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
        };
        let mut epochs = vec![
            0,
            -1,
            59,
            951_782_400,
            253_402_300_799,
            253_402_300_800,
            -62_135_596_800,
            -62_135_596_801,
            i64::MAX,
            i64::MIN,
        ];
        epochs.extend((0..2000).map(|i| i * 1_234_567 - 1_000_000_000));
        for e in epochs {
            assert_eq!(super::iso8601(e), formatted(e), "{e}");
        }
    }
}
