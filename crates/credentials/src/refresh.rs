//! Refresh in the reference's windows: advisory (900 s, a failed refresh keeps the old
//! credentials) and mandatory (600 s, the refresh must succeed), one refresh at a time within
//! a process. [`SharedCredentials`] is the blocking form the chain uses;
//! [`RefreshingCredentials`] the async form for long-running callers. Both follow the one
//! decision function [`decide`] and the same steps:
//!
//! 1. current credentials outside both windows → use them;
//! 2. another caller is refreshing → in the advisory window use the current ones, in the
//!    mandatory window wait for that refresh and use its result (refresh again only if it left
//!    the credentials inside the mandatory window);
//! 3. otherwise refresh; a failed advisory refresh keeps the old credentials.
//!
//! What awsid adds to the reference (`docs/spec/retries.md` §3):
//!
//! * **Paced re-refresh.** After a failed refresh the current credentials are used without
//!   trying again until a jittered delay has passed (7.5–15 s, doubling per failure up to
//!   2.5–5 min), so an outage is not hammered on every call; for IMDS and container sources
//!   1–2 s, so that held credentials are replaced as soon as the source is back. A mandatory
//!   refresh of a provider without static stability is always tried: its failure is the
//!   caller's error.
//! * **Static stability** for instance-metadata (`iam-role`) and container (`container-role`)
//!   credentials, as the SDKs keep IMDS credentials through an outage: a failed mandatory
//!   refresh keeps the current credentials — at most [`MAX_STALE_SECS`] past their expiry —
//!   says so on stderr (when it starts, and when an extension starts), and hands them out
//!   with an expiry extended past the reference's
//!   refresh windows (15 min + 2–10 min of jitter, botocore's IMDS extension) once the real
//!   one has passed.
//!
//! Across processes, the providers that own a file cache entry add the per-entry lock of
//! [`crate::single_flight`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use time::OffsetDateTime;

use crate::{Credentials, CredentialsError, Provider};

/// Seconds before expiry when a refresh is attempted.
pub const ADVISORY_REFRESH_SECS: i64 = 900;
/// Seconds before expiry when a refresh must succeed.
pub const MANDATORY_REFRESH_SECS: i64 = 600;
/// How long past their expiry static stability keeps credentials whose source is down.
pub const MAX_STALE_SECS: i64 = 3600;

/// Whether credentials of this provider are kept through an outage of their source.
fn statically_stable(method: &str) -> bool {
    matches!(method, "iam-role" | "container-role")
}

/// The wait before the next attempt after `failures` consecutive failed refreshes of a
/// `method` source: equal jitter around 15 s × 2^(failures-1), at most 5 min; for the local
/// statically-stable sources (IMDS, the container endpoint) 1–2 s without growth, so that
/// credentials held through an outage are replaced as soon as the source answers again (the
/// SDKs try those sources on every call; the short delay only spares a hot loop).
fn retry_delay(method: &str, failures: u32) -> time::Duration {
    let full = if statically_stable(method) {
        2.0
    } else {
        (15.0 * 2f64.powi(failures.saturating_sub(1).min(16) as i32)).min(300.0)
    };
    let secs = full / 2.0 + rand::random::<f64>() * full / 2.0;
    time::Duration::milliseconds((secs * 1000.0) as i64)
}

/// How far past now expired statically-stable credentials are handed out: botocore's IMDS
/// extension (the 900 s advisory window + 2–10 min), so that a consumer applying the same
/// windows does not refresh again at once.
fn extension() -> time::Duration {
    time::Duration::seconds(ADVISORY_REFRESH_SECS + rand::random_range(120..=600))
}

/// Where a holder stands after failed refreshes.
#[derive(Clone, Copy, Debug)]
struct Stale {
    /// Consecutive failures.
    failures: u32,
    /// No refresh is tried before this.
    retry_after: OffsetDateTime,
    /// Expired statically-stable credentials are handed out as expiring then.
    extended_until: Option<OffsetDateTime>,
    /// Static stability kept the credentials through a failed mandatory refresh: mandatory
    /// refreshes are paced too.
    stable: bool,
}

/// A clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(crate::time::now)
}

/// What the windows say about the current credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Good as they are.
    Use,
    /// Inside the advisory window: refresh if nobody else is, keep them if that fails.
    Advisory,
    /// Inside the mandatory window, or none yet: a refresh must succeed.
    Mandatory,
}

/// The window decision for `current` at `now`.
pub fn decide(current: Option<&Credentials>, now: OffsetDateTime) -> Decision {
    match current {
        None => Decision::Mandatory,
        Some(c) if c.refresh_needed(now, MANDATORY_REFRESH_SECS) => Decision::Mandatory,
        Some(c) if c.refresh_needed(now, ADVISORY_REFRESH_SECS) => Decision::Advisory,
        Some(_) => Decision::Use,
    }
}

/// Where a caller is on its way to the refresh lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before trying the lock.
    Before,
    /// The lock is held by another caller.
    Busy,
    /// Holding the lock, taken at once.
    Locked,
    /// Holding the lock after waiting for another caller's refresh.
    Waited,
}

/// The step a caller takes next.
enum Next {
    /// Return these credentials.
    Return(Credentials),
    /// Try the lock (`Before`) or wait for it (`Busy`).
    Lock,
    /// Refresh; `mandatory` says whether a failure is an error.
    Refresh(Option<Credentials>, bool),
}

/// The credentials a holder hands out while `stale`: expired statically-stable ones with
/// their extended expiry.
fn served(current: Credentials, stale: Option<&Stale>) -> Credentials {
    match stale.and_then(|s| s.extended_until) {
        Some(until) if current.expiry.is_some_and(|e| e < until) => {
            current.with_expiry(Some(until))
        }
        _ => current,
    }
}

/// The steps of the module documentation, for a caller in `phase`, with the pacing of
/// failed refreshes.
fn next(
    current: Option<Credentials>,
    stale: Option<Stale>,
    now: OffsetDateTime,
    phase: Phase,
) -> Next {
    if let (Some(c), Some(st)) = (&current, &stale) {
        let decision = decide(Some(c), now);
        let paced = now < st.retry_after
            && (decision == Decision::Advisory || (st.stable && decision == Decision::Mandatory));
        // Never hand out expired credentials while pacing: their expiry (or the extension's
        // end) passing calls for an attempt, which starts or renews the extension.
        let out = served(c.clone(), Some(st));
        if paced && out.expiry.is_none_or(|e| e > now) {
            return Next::Return(out);
        }
    }
    match (decide(current.as_ref(), now), current, phase) {
        (Decision::Use, Some(c), _) => Next::Return(c),
        (Decision::Advisory, Some(c), Phase::Busy | Phase::Waited) => Next::Return(c),
        (_, _, Phase::Before | Phase::Busy) => Next::Lock,
        (decision, current, Phase::Locked | Phase::Waited) => {
            Next::Refresh(current, decision == Decision::Mandatory)
        }
    }
}

fn empty_refresh(method: &str) -> CredentialsError {
    CredentialsError::retrieval(
        method,
        "Credential refresh failed, response did not contain: access_key, secret_key, token, expiry_time",
    )
}

/// What one refresh led to.
struct Applied {
    /// The credentials to hand out.
    credentials: Credentials,
    /// New credentials replace the current ones (and end a stale period).
    fresh: bool,
    /// The stale state after a failure that kept the current credentials.
    stale: Option<Stale>,
    /// A notice for the user (stderr).
    notice: Option<String>,
}

/// Applies the reference's rules, and awsid's pacing and static stability, to the outcome of
/// one refresh.
fn apply(
    outcome: Result<Option<Credentials>, CredentialsError>,
    miss: Option<String>,
    method: &str,
    current: Option<Credentials>,
    stale: Option<Stale>,
    mandatory: bool,
    now: OffsetDateTime,
) -> Result<Applied, CredentialsError> {
    let failure = match outcome {
        Ok(Some(fresh)) if fresh.refresh_needed(now, 0) => {
            return Err(CredentialsError::StillExpired)
        }
        Ok(Some(fresh)) => {
            return Ok(Applied {
                credentials: fresh,
                fresh: true,
                stale: None,
                notice: None,
            })
        }
        Ok(None) => empty_refresh(method),
        Err(e) => e,
    };
    let Some(c) = current else {
        return Err(failure);
    };
    let failures = stale.map_or(0, |s| s.failures) + 1;
    let delay = retry_delay(method, failures);
    let retry_after = now + delay;
    if !mandatory {
        tracing::warn!("advisory refresh failed: {failure}");
        let stale = Stale {
            failures,
            retry_after,
            extended_until: stale.and_then(|s| s.extended_until),
            stable: stale.is_some_and(|s| s.stable),
        };
        return Ok(Applied {
            credentials: served(c, Some(&stale)),
            fresh: false,
            stale: Some(stale),
            notice: None,
        });
    }
    let expiry = c.expiry;
    let within_bound = expiry.is_some_and(|e| now < e + time::Duration::seconds(MAX_STALE_SECS));
    if !statically_stable(method) || !within_bound {
        if statically_stable(method) {
            if let Some(e) = expiry {
                tracing::warn!(
                    "static stability ended: the {method} credentials expired at {} and their source has been unavailable for over {} minutes",
                    crate::time::format_z(e),
                    MAX_STALE_SECS / 60
                );
            }
        }
        return Err(failure);
    }
    let extended_until = match (expiry, stale.and_then(|s| s.extended_until)) {
        // Still valid: handed out as they are.
        (Some(e), _) if now < e => None,
        // Expired: keep a current extension, or start one.
        (_, Some(until)) if now + delay < until => Some(until),
        _ => Some(now + extension()),
    };
    // Said once when static stability takes over and again when an extension starts, not on
    // every attempt of the outage.
    let announce = !stale.is_some_and(|s| s.stable)
        || (extended_until.is_some() && extended_until != stale.and_then(|s| s.extended_until));
    let stale = Stale {
        failures,
        retry_after,
        extended_until,
        stable: true,
    };
    let until = extended_until.or(expiry).unwrap_or(now);
    let notice = format!(
        "Attempting credential expiration extension due to a credential service availability issue ({}). Using the current {method} credentials (expiring {}) until {}; a refresh of these credentials will be attempted again within the next {} seconds.",
        miss.unwrap_or_else(|| failure.to_string()),
        expiry.map_or_else(|| "never".to_string(), crate::time::format_z),
        crate::time::format_z(until),
        delay.whole_seconds().max(1)
    );
    tracing::warn!("{notice}");
    Ok(Applied {
        credentials: served(c, Some(&stale)),
        fresh: false,
        stale: Some(stale),
        notice: announce.then_some(notice),
    })
}

/// Where notices for the user go (stderr unless replaced).
pub type Notices = Arc<dyn Fn(&str) + Send + Sync>;

/// Notices on stderr.
pub fn stderr_notices() -> Notices {
    Arc::new(|text: &str| eprintln!("{text}"))
}

/// The current credentials and the stale state of a holder.
#[derive(Default)]
struct Slot {
    current: Option<Credentials>,
    stale: Option<Stale>,
}

/// The state both forms share: the provider, the current credentials, the clock.
struct Core {
    provider: Arc<dyn Provider>,
    slot: Mutex<Slot>,
    clock: Clock,
    notices: Notices,
    /// Callers blocked on the refresh lock (tests wait on it instead of sleeping).
    waiting: AtomicUsize,
}

impl Core {
    fn new(provider: Arc<dyn Provider>, initial: Option<Credentials>) -> Core {
        Core {
            provider,
            slot: Mutex::new(Slot {
                current: initial,
                stale: None,
            }),
            clock: system_clock(),
            notices: stderr_notices(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn snapshot(&self) -> (Option<Credentials>, Option<Stale>) {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        (slot.current.clone(), slot.stale)
    }

    fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    fn next(&self, phase: Phase) -> Next {
        let (current, stale) = self.snapshot();
        next(current, stale, self.now(), phase)
    }

    fn finish(
        &self,
        outcome: Result<Option<Credentials>, CredentialsError>,
        current: Option<Credentials>,
        mandatory: bool,
    ) -> Result<Credentials, CredentialsError> {
        let stale = self.snapshot().1;
        // An empty answer from a source that failed: the notice names the failure.
        let miss = match &outcome {
            Ok(None) => self.provider.last_miss(),
            _ => None,
        };
        let applied = match apply(
            outcome,
            miss,
            self.provider.method(),
            current,
            stale,
            mandatory,
            self.now(),
        ) {
            Ok(applied) => applied,
            Err(e) => {
                // A failure that is the caller's (past static stability's bound, or no
                // stability at all) ends any stale period: the next call tries again.
                if mandatory {
                    self.slot.lock().unwrap_or_else(|p| p.into_inner()).stale = None;
                }
                return Err(e);
            }
        };
        {
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            if applied.fresh {
                slot.current = Some(applied.credentials.clone());
            }
            slot.stale = applied.stale;
        }
        if let Some(n) = &applied.notice {
            (self.notices)(n);
        }
        Ok(applied.credentials)
    }
}

/// Credentials from a provider, refreshed on access in the reference's windows (blocking).
/// Created either with initial credentials or deferred (fetched on first access).
pub struct SharedCredentials {
    core: Core,
    refresh_lock: Mutex<()>,
}

impl SharedCredentials {
    /// Deferred: the first [`get`](Self::get) fetches.
    pub fn deferred(provider: Arc<dyn Provider>) -> SharedCredentials {
        SharedCredentials {
            core: Core::new(provider, None),
            refresh_lock: Mutex::new(()),
        }
    }

    /// Starts from `initial`, refreshing through `provider` when due.
    pub fn with_initial(initial: Credentials, provider: Arc<dyn Provider>) -> SharedCredentials {
        SharedCredentials {
            core: Core::new(provider, Some(initial)),
            refresh_lock: Mutex::new(()),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> SharedCredentials {
        self.core.clock = clock;
        self
    }

    /// Sends notices (static stability) to `notices` instead of stderr.
    pub fn with_notices(mut self, notices: Notices) -> SharedCredentials {
        self.core.notices = notices;
        self
    }

    /// Current credentials, refreshing first when the windows say so.
    pub fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Next::Return(c) = self.core.next(Phase::Before) {
            return Ok(c);
        }
        let (guard, phase) = match self.refresh_lock.try_lock() {
            Ok(g) => (g, Phase::Locked),
            Err(TryLockError::Poisoned(p)) => (p.into_inner(), Phase::Locked),
            Err(TryLockError::WouldBlock) => {
                if let Next::Return(c) = self.core.next(Phase::Busy) {
                    return Ok(c);
                }
                self.core.waiting.fetch_add(1, Ordering::SeqCst);
                let g = self.refresh_lock.lock().unwrap_or_else(|p| p.into_inner());
                self.core.waiting.fetch_sub(1, Ordering::SeqCst);
                (g, Phase::Waited)
            }
        };
        match self.core.next(phase) {
            Next::Return(c) => Ok(c),
            Next::Refresh(current, mandatory) => {
                let outcome = self.core.provider.provide();
                let result = self.core.finish(outcome, current, mandatory);
                drop(guard);
                result
            }
            Next::Lock => unreachable!("the lock is held"),
        }
    }

    /// The provider's method name.
    pub fn method(&self) -> &'static str {
        self.core.provider.method()
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.core.waiting.load(Ordering::SeqCst)
    }
}

impl Provider for SharedCredentials {
    fn method(&self) -> &'static str {
        self.core.provider.method()
    }

    fn last_miss(&self) -> Option<String> {
        self.core.provider.last_miss()
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        self.get().map(Some)
    }
}

/// Async credentials for long-running callers (servers handing credentials out): however many
/// tasks call [`get`](Self::get) concurrently, at most one refresh runs, on a blocking thread;
/// in the mandatory window the others wait for it and share its result, in the advisory
/// window they keep using the current credentials.
pub struct RefreshingCredentials {
    core: Arc<Core>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl RefreshingCredentials {
    /// Deferred: the first `get` fetches.
    pub fn deferred(provider: Arc<dyn Provider>) -> RefreshingCredentials {
        RefreshingCredentials {
            core: Arc::new(Core::new(provider, None)),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Starts from `initial`.
    pub fn with_initial(
        initial: Credentials,
        provider: Arc<dyn Provider>,
    ) -> RefreshingCredentials {
        RefreshingCredentials {
            core: Arc::new(Core::new(provider, Some(initial))),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(self, clock: Clock) -> RefreshingCredentials {
        let mut core = Arc::into_inner(self.core).expect("not shared before use");
        core.clock = clock;
        RefreshingCredentials {
            core: Arc::new(core),
            refresh_lock: self.refresh_lock,
        }
    }

    /// Sends notices (static stability) to `notices` instead of stderr.
    pub fn with_notices(self, notices: Notices) -> RefreshingCredentials {
        let mut core = Arc::into_inner(self.core).expect("not shared before use");
        core.notices = notices;
        RefreshingCredentials {
            core: Arc::new(core),
            refresh_lock: self.refresh_lock,
        }
    }

    /// Current credentials, refreshing (on a blocking thread) when the windows say so.
    pub async fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Next::Return(c) = self.core.next(Phase::Before) {
            return Ok(c);
        }
        let (guard, phase) = match self.refresh_lock.try_lock() {
            Ok(g) => (g, Phase::Locked),
            Err(_) => {
                if let Next::Return(c) = self.core.next(Phase::Busy) {
                    return Ok(c);
                }
                self.core.waiting.fetch_add(1, Ordering::SeqCst);
                let g = self.refresh_lock.lock().await;
                self.core.waiting.fetch_sub(1, Ordering::SeqCst);
                (g, Phase::Waited)
            }
        };
        match self.core.next(phase) {
            Next::Return(c) => Ok(c),
            Next::Refresh(current, mandatory) => {
                let core = self.core.clone();
                let outcome = tokio::task::spawn_blocking(move || core.provider.provide())
                    .await
                    .unwrap_or_else(|e| {
                        Err(CredentialsError::retrieval(
                            self.core.provider.method(),
                            format!("refresh task failed: {e}"),
                        ))
                    });
                let result = self.core.finish(outcome, current, mandatory);
                drop(guard);
                result
            }
            Next::Lock => unreachable!("the lock is held"),
        }
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.core.waiting.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::sync::mpsc;

    const T0: i64 = 1_700_000_000;
    /// Turns a hang (a regression) into a failure; no test waits this long when it passes.
    const HANG: std::time::Duration = std::time::Duration::from_secs(300);

    /// Counts calls; each call returns credentials valid for `lifetime` seconds from the fake
    /// clock, or fails when `fail` is set. With a gate, a call first reports that it started
    /// and then blocks until the test opens the gate — no test waits on the wall clock.
    struct Counting {
        calls: AtomicUsize,
        lifetime: i64,
        fail: bool,
        clock: Arc<AtomicI64>,
        gate: Option<Gate>,
    }

    struct Gate {
        started: Mutex<mpsc::Sender<()>>,
        open: Mutex<mpsc::Receiver<()>>,
    }

    /// The test's side of a gate: learn that a call started, then let it finish.
    struct GateKeeper {
        started: mpsc::Receiver<()>,
        open: mpsc::Sender<()>,
    }

    impl Provider for Counting {
        fn method(&self) -> &'static str {
            "counting"
        }
        fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(g) = &self.gate {
                g.started.lock().unwrap().send(()).unwrap();
                g.open
                    .lock()
                    .unwrap()
                    .recv_timeout(HANG)
                    .expect("the test never opened the gate: a caller blocked that must not");
            }
            if self.fail {
                return Err(CredentialsError::retrieval("counting", "boom"));
            }
            let now =
                OffsetDateTime::from_unix_timestamp(self.clock.load(Ordering::SeqCst)).unwrap();
            Ok(Some(
                Credentials::new(format!("AK{n}"), "s", "counting")
                    .with_expiry(Some(now + time::Duration::seconds(self.lifetime))),
            ))
        }
    }

    struct Setup {
        provider: Arc<Counting>,
        time: Arc<AtomicI64>,
        clock: Clock,
        keeper: Option<GateKeeper>,
    }

    fn setup(lifetime: i64, fail: bool, gated: bool) -> Setup {
        let time = Arc::new(AtomicI64::new(T0));
        let (gate, keeper) = if gated {
            let (started_tx, started_rx) = mpsc::channel();
            let (open_tx, open_rx) = mpsc::channel();
            (
                Some(Gate {
                    started: Mutex::new(started_tx),
                    open: Mutex::new(open_rx),
                }),
                Some(GateKeeper {
                    started: started_rx,
                    open: open_tx,
                }),
            )
        } else {
            (None, None)
        };
        let provider = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            fail,
            clock: time.clone(),
            gate,
        });
        let t = time.clone();
        let clock: Clock = Arc::new(move || {
            OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst)).unwrap()
        });
        Setup {
            provider,
            time,
            clock,
            keeper,
        }
    }

    fn expiring_in(secs: i64) -> Credentials {
        Credentials::new("OLD", "s", "counting").with_expiry(Some(
            OffsetDateTime::from_unix_timestamp(T0 + secs).unwrap(),
        ))
    }

    /// Spins (yielding) until `f` holds: a readiness wait, never a timed sleep.
    fn until(f: impl Fn() -> bool) {
        while !f() {
            std::thread::yield_now();
        }
    }

    #[test]
    fn the_decision_follows_the_windows() {
        let now = OffsetDateTime::from_unix_timestamp(T0).unwrap();
        assert_eq!(decide(None, now), Decision::Mandatory);
        assert_eq!(decide(Some(&expiring_in(901)), now), Decision::Use);
        assert_eq!(decide(Some(&expiring_in(899)), now), Decision::Advisory);
        assert_eq!(decide(Some(&expiring_in(600)), now), Decision::Advisory);
        assert_eq!(decide(Some(&expiring_in(599)), now), Decision::Mandatory);
        assert_eq!(
            decide(Some(&Credentials::new("A", "s", "static")), now),
            Decision::Use
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_refresh_for_many_concurrent_callers() {
        let s = setup(3600, false, true);
        let keeper = s.keeper.unwrap();
        let creds =
            Arc::new(RefreshingCredentials::deferred(s.provider.clone()).with_clock(s.clock));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let c = creds.clone();
            tasks.push(tokio::spawn(
                async move { c.get().await.unwrap().access_key_id },
            ));
        }
        // One task is inside the provider and the 63 others wait for it before it finishes.
        tokio::task::spawn_blocking(move || {
            keeper.started.recv_timeout(HANG).unwrap();
            until(|| creds.waiting() == 63);
            keeper.open.send(()).unwrap();
        })
        .await
        .unwrap();
        for t in tasks {
            assert_eq!(t.await.unwrap(), "AK0");
        }
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn windows() {
        let s = setup(3600, false, false);
        let creds = RefreshingCredentials::deferred(s.provider.clone()).with_clock(s.clock);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK0");
        // 20 minutes left: no refresh.
        s.time.fetch_add(3600 - 1200, Ordering::SeqCst);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK0");
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 1);
        // 14 minutes left: advisory refresh.
        s.time.fetch_add(360, Ordering::SeqCst);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK1");
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn advisory_failure_keeps_old_mandatory_failure_raises() {
        let s = setup(3600, true, false);
        let creds = RefreshingCredentials::with_initial(expiring_in(800), s.provider.clone())
            .with_clock(s.clock);
        assert_eq!(creds.get().await.unwrap().access_key_id, "OLD");
        s.time.fetch_add(300, Ordering::SeqCst); // 500 s left: mandatory
        assert_eq!(
            creds.get().await.unwrap_err().to_string(),
            "Error when retrieving credentials from counting: boom"
        );
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn advisory_callers_do_not_wait_while_a_refresh_runs() {
        let s = setup(3600, false, true);
        let keeper = s.keeper.unwrap();
        let creds = Arc::new(
            RefreshingCredentials::with_initial(expiring_in(800), s.provider.clone())
                .with_clock(s.clock),
        );
        let c2 = creds.clone();
        let refresher = tokio::spawn(async move { c2.get().await.unwrap().access_key_id });
        let keeper = tokio::task::spawn_blocking(move || {
            keeper.started.recv_timeout(HANG).unwrap();
            keeper
        })
        .await
        .unwrap();
        // The refresh is blocked inside the provider; an advisory caller gets the old
        // credentials at once (were it to wait, the gate would never open and the test hang).
        assert_eq!(creds.get().await.unwrap().access_key_id, "OLD");
        keeper.open.send(()).unwrap();
        assert_eq!(refresher.await.unwrap(), "AK0");
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK0");
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mandatory_callers_share_the_running_refresh() {
        let s = setup(3600, false, true);
        let keeper = s.keeper.unwrap();
        let creds = Arc::new(
            RefreshingCredentials::with_initial(expiring_in(500), s.provider.clone())
                .with_clock(s.clock),
        );
        let c2 = creds.clone();
        let first = tokio::spawn(async move { c2.get().await.unwrap().access_key_id });
        let c3 = creds.clone();
        let waiter = tokio::spawn(async move {
            // Starts once the first caller is inside the provider.
            c3.get().await.unwrap().access_key_id
        });
        let c4 = creds.clone();
        tokio::task::spawn_blocking(move || {
            keeper.started.recv_timeout(HANG).unwrap();
            until(|| c4.waiting() == 1);
            keeper.open.send(()).unwrap();
        })
        .await
        .unwrap();
        assert_eq!(first.await.unwrap(), "AK0");
        assert_eq!(waiter.await.unwrap(), "AK0");
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn still_expired_after_refresh() {
        let s = setup(-10, false, false);
        let creds = SharedCredentials::deferred(s.provider).with_clock(s.clock);
        assert_eq!(
            creds.get().unwrap_err().to_string(),
            "Credentials were refreshed, but the refreshed credentials are still expired."
        );
    }

    #[test]
    fn blocking_form_shares_one_refresh() {
        let s = setup(3600, false, true);
        let keeper = s.keeper.unwrap();
        let creds = Arc::new(SharedCredentials::deferred(s.provider.clone()).with_clock(s.clock));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let c = creds.clone();
                std::thread::spawn(move || c.get().unwrap().access_key_id)
            })
            .collect();
        keeper.started.recv_timeout(HANG).unwrap();
        until(|| creds.waiting() == 15);
        keeper.open.send(()).unwrap();
        for h in handles {
            assert_eq!(h.join().unwrap(), "AK0");
        }
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn blocking_form_advisory_failure_keeps_the_old_credentials() {
        let s = setup(3600, true, false);
        let creds = SharedCredentials::with_initial(expiring_in(800), s.provider.clone())
            .with_clock(s.clock);
        assert_eq!(creds.get().unwrap().access_key_id, "OLD");
        s.time.fetch_add(300, Ordering::SeqCst);
        assert!(creds.get().is_err());
        assert_eq!(s.provider.calls.load(Ordering::SeqCst), 2);
    }

    /// A source that can go down: `method` decides whether static stability applies.
    struct Outage {
        method: &'static str,
        up: std::sync::atomic::AtomicBool,
        calls: AtomicUsize,
        clock: Arc<AtomicI64>,
    }

    impl Provider for Outage {
        fn method(&self) -> &'static str {
            self.method
        }
        fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if !self.up.load(Ordering::SeqCst) {
                return Err(CredentialsError::retrieval(self.method, "source down"));
            }
            let now =
                OffsetDateTime::from_unix_timestamp(self.clock.load(Ordering::SeqCst)).unwrap();
            Ok(Some(
                Credentials::new(format!("NEW{n}"), "s", self.method)
                    .with_expiry(Some(now + time::Duration::hours(6))),
            ))
        }
    }

    struct OutageSetup {
        source: Arc<Outage>,
        time: Arc<AtomicI64>,
        creds: SharedCredentials,
        notices: Arc<Mutex<Vec<String>>>,
    }

    /// A holder of credentials expiring in `left` seconds whose source (`method`) is down.
    fn outage(method: &'static str, left: i64) -> OutageSetup {
        let time = Arc::new(AtomicI64::new(T0));
        let source = Arc::new(Outage {
            method,
            up: std::sync::atomic::AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            clock: time.clone(),
        });
        let t = time.clone();
        let clock: Clock = Arc::new(move || {
            OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst)).unwrap()
        });
        let notices = Arc::new(Mutex::new(Vec::new()));
        let sink = notices.clone();
        let creds = SharedCredentials::with_initial(expiring_in(left), source.clone())
            .with_clock(clock)
            .with_notices(Arc::new(move |n: &str| {
                sink.lock().unwrap().push(n.to_string())
            }));
        OutageSetup {
            source,
            time,
            creds,
            notices,
        }
    }

    #[test]
    fn static_stability_keeps_instance_credentials_through_an_outage() {
        let s = outage("iam-role", 800);
        let now = |s: &OutageSetup| {
            OffsetDateTime::from_unix_timestamp(s.time.load(Ordering::SeqCst)).unwrap()
        };
        // Advisory window, source down: the current credentials, quietly.
        assert_eq!(s.creds.get().unwrap().access_key_id, "OLD");
        assert_eq!(s.source.calls.load(Ordering::SeqCst), 1);
        assert!(s.notices.lock().unwrap().is_empty());
        // Calls right after a failure do not try again (paced re-refresh).
        for _ in 0..10 {
            s.creds.get().unwrap();
        }
        assert_eq!(s.source.calls.load(Ordering::SeqCst), 1);
        // Mandatory window: kept, with a notice; the real expiry while it is ahead.
        s.time.fetch_add(300, Ordering::SeqCst);
        let c = s.creds.get().unwrap();
        assert_eq!(c.access_key_id, "OLD");
        assert_eq!(c.expiry, expiring_in(800).expiry);
        assert_eq!(s.source.calls.load(Ordering::SeqCst), 2);
        let notice = s.notices.lock().unwrap()[0].clone();
        assert!(
            notice.starts_with("Attempting credential expiration extension due to a credential service availability issue (Error when retrieving credentials from iam-role: source down)"),
            "{notice}"
        );
        // Ten minutes of outage, calls every 10 s: past the real expiry the credentials are
        // handed out with an expiry beyond the refresh windows, and never fail.
        let mut attempts_before = s.source.calls.load(Ordering::SeqCst);
        for _ in 0..60 {
            s.time.fetch_add(10, Ordering::SeqCst);
            let c = s.creds.get().unwrap();
            assert_eq!(c.access_key_id, "OLD");
            assert!(c.expiry.unwrap() > now(&s), "handed out as expired");
            if now(&s) > expiring_in(800).expiry.unwrap() {
                assert!(!c.refresh_needed(now(&s), ADVISORY_REFRESH_SECS));
            }
        }
        // A local source is tried again on every call 1–2 s after the last failure (each of
        // the 60), and the outage is announced once plus once per extension, not per attempt.
        let attempts = s.source.calls.load(Ordering::SeqCst) - attempts_before;
        assert_eq!(attempts, 60, "{attempts} attempts in 10 min");
        let announced = s.notices.lock().unwrap().len();
        assert!((2..=3).contains(&announced), "{announced} notices");
        // The source is back: fresh credentials within one retry delay (≤ 2 s).
        s.source.up.store(true, Ordering::SeqCst);
        attempts_before = s.source.calls.load(Ordering::SeqCst);
        let mut waited = 0;
        while s.creds.get().unwrap().access_key_id == "OLD" {
            s.time.fetch_add(1, Ordering::SeqCst);
            waited += 1;
            assert!(waited <= 2, "not refreshed 2 s after the source came back");
        }
        assert_eq!(s.source.calls.load(Ordering::SeqCst), attempts_before + 1);
        let notices = s.notices.lock().unwrap().len();
        s.time.fetch_add(60, Ordering::SeqCst);
        assert!(s.creds.get().unwrap().access_key_id.starts_with("NEW"));
        assert_eq!(
            s.notices.lock().unwrap().len(),
            notices,
            "no notice once fresh"
        );
    }

    #[test]
    fn static_stability_is_bounded_and_only_for_instance_and_container_sources() {
        // An hour past the expiry the failure is the caller's again.
        let s = outage("container-role", 100);
        assert_eq!(s.creds.get().unwrap().access_key_id, "OLD");
        s.time
            .fetch_add(100 + MAX_STALE_SECS - 400, Ordering::SeqCst);
        assert_eq!(s.creds.get().unwrap().access_key_id, "OLD");
        s.time.fetch_add(400, Ordering::SeqCst);
        assert_eq!(
            s.creds.get().unwrap_err().to_string(),
            "Error when retrieving credentials from container-role: source down"
        );
        // Other sources: a failed mandatory refresh is an error at once, and each call tries.
        let s = outage("assume-role", 500);
        assert!(s.creds.get().is_err());
        assert!(s.creds.get().is_err());
        assert_eq!(s.source.calls.load(Ordering::SeqCst), 2);
        assert!(s.notices.lock().unwrap().is_empty());
    }
}
