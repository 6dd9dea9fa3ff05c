//! Refresh in the reference's windows: advisory (900 s, a failed refresh keeps the old
//! credentials) and mandatory (600 s, the refresh must succeed), one refresh at a time.
//! [`SharedCredentials`] is the blocking form the chain uses; [`RefreshingCredentials`] the
//! async form for long-running callers.

use std::sync::{Arc, Mutex, TryLockError};

use time::OffsetDateTime;

use crate::{Credentials, CredentialsError, Provider};

/// Seconds before expiry when a refresh is attempted.
pub const ADVISORY_REFRESH_SECS: i64 = 900;
/// Seconds before expiry when a refresh must succeed.
pub const MANDATORY_REFRESH_SECS: i64 = 600;

/// A clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(crate::time::now)
}

fn empty_refresh(method: &str) -> CredentialsError {
    CredentialsError::retrieval(
        method,
        "Credential refresh failed, response did not contain: access_key, secret_key, token, expiry_time",
    )
}

/// What the window logic decided for the current credentials.
fn needs(current: Option<&Credentials>, now: OffsetDateTime, window: i64) -> bool {
    match current {
        None => true,
        Some(c) => c.refresh_needed(now, window),
    }
}

/// Runs one refresh and applies the reference's rules to the outcome.
fn apply(
    outcome: Result<Option<Credentials>, CredentialsError>,
    method: &str,
    current: Option<Credentials>,
    mandatory: bool,
    now: OffsetDateTime,
) -> Result<(Credentials, bool), CredentialsError> {
    let fresh = match outcome {
        Ok(Some(c)) => c,
        Ok(None) => {
            let e = empty_refresh(method);
            return match current {
                Some(c) if !mandatory => {
                    tracing::warn!("advisory refresh failed: {e}");
                    Ok((c, false))
                }
                _ => Err(e),
            };
        }
        Err(e) => {
            return match current {
                Some(c) if !mandatory => {
                    tracing::warn!("advisory refresh failed: {e}");
                    Ok((c, false))
                }
                _ => Err(e),
            }
        }
    };
    if fresh.refresh_needed(now, 0) {
        return Err(CredentialsError::StillExpired);
    }
    Ok((fresh, true))
}

/// Credentials from a provider, refreshed on access in the reference's windows (blocking).
/// Created either with initial credentials or deferred (fetched on first access).
pub struct SharedCredentials {
    provider: Arc<dyn Provider>,
    current: Mutex<Option<Credentials>>,
    refresh_lock: Mutex<()>,
    clock: Clock,
}

impl SharedCredentials {
    /// Deferred: the first [`get`](Self::get) fetches.
    pub fn deferred(provider: Arc<dyn Provider>) -> SharedCredentials {
        SharedCredentials {
            provider,
            current: Mutex::new(None),
            refresh_lock: Mutex::new(()),
            clock: system_clock(),
        }
    }

    /// Starts from `initial`, refreshing through `provider` when due.
    pub fn with_initial(initial: Credentials, provider: Arc<dyn Provider>) -> SharedCredentials {
        let s = SharedCredentials::deferred(provider);
        *s.current.lock().unwrap() = Some(initial);
        s
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> SharedCredentials {
        self.clock = clock;
        self
    }

    fn snapshot(&self) -> Option<Credentials> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Current credentials, refreshing first when the windows say so.
    pub fn get(&self) -> Result<Credentials, CredentialsError> {
        let now = (self.clock)();
        let current = self.snapshot();
        if !needs(current.as_ref(), now, ADVISORY_REFRESH_SECS) {
            return Ok(current.expect("present when no refresh is needed"));
        }
        let _guard = match self.refresh_lock.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                if !needs(current.as_ref(), now, MANDATORY_REFRESH_SECS) {
                    return Ok(current.expect("present outside the mandatory window"));
                }
                let g = self.refresh_lock.lock().unwrap_or_else(|p| p.into_inner());
                let current = self.snapshot();
                if !needs(current.as_ref(), (self.clock)(), MANDATORY_REFRESH_SECS) {
                    return Ok(current.expect("refreshed by another caller"));
                }
                return self.refresh(current, true, g);
            }
        };
        let now = (self.clock)();
        let current = self.snapshot();
        if !needs(current.as_ref(), now, ADVISORY_REFRESH_SECS) {
            return Ok(current.expect("refreshed by another caller"));
        }
        let mandatory = needs(current.as_ref(), now, MANDATORY_REFRESH_SECS);
        self.refresh(current, mandatory, _guard)
    }

    fn refresh(
        &self,
        current: Option<Credentials>,
        mandatory: bool,
        _guard: std::sync::MutexGuard<'_, ()>,
    ) -> Result<Credentials, CredentialsError> {
        let outcome = self.provider.provide();
        let (creds, changed) = apply(
            outcome,
            self.provider.method(),
            current,
            mandatory,
            (self.clock)(),
        )?;
        if changed {
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(creds.clone());
        }
        Ok(creds)
    }

    /// The provider's method name.
    pub fn method(&self) -> &'static str {
        self.provider.method()
    }
}

impl Provider for SharedCredentials {
    fn method(&self) -> &'static str {
        self.provider.method()
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        self.get().map(Some)
    }
}

/// Async credentials for long-running callers: however many tasks call [`get`](Self::get)
/// concurrently, at most one refresh runs; in the mandatory window the others wait for it and
/// share its result, in the advisory window they keep using the current credentials.
pub struct RefreshingCredentials {
    provider: Arc<dyn Provider>,
    current: Mutex<Option<Credentials>>,
    refresh_lock: tokio::sync::Mutex<()>,
    clock: Clock,
}

impl RefreshingCredentials {
    /// Deferred: the first `get` fetches.
    pub fn deferred(provider: Arc<dyn Provider>) -> RefreshingCredentials {
        RefreshingCredentials {
            provider,
            current: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            clock: system_clock(),
        }
    }

    /// Starts from `initial`.
    pub fn with_initial(
        initial: Credentials,
        provider: Arc<dyn Provider>,
    ) -> RefreshingCredentials {
        let s = RefreshingCredentials::deferred(provider);
        *s.current.lock().unwrap() = Some(initial);
        s
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> RefreshingCredentials {
        self.clock = clock;
        self
    }

    fn snapshot(&self) -> Option<Credentials> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Current credentials, refreshing (on a blocking thread) when the windows say so.
    pub async fn get(&self) -> Result<Credentials, CredentialsError> {
        let current = self.snapshot();
        if !needs(current.as_ref(), (self.clock)(), ADVISORY_REFRESH_SECS) {
            return Ok(current.expect("present"));
        }
        let guard = match self.refresh_lock.try_lock() {
            Ok(g) => g,
            Err(_) => {
                if !needs(current.as_ref(), (self.clock)(), MANDATORY_REFRESH_SECS) {
                    return Ok(current.expect("present outside the mandatory window"));
                }
                let g = self.refresh_lock.lock().await;
                let current = self.snapshot();
                if !needs(current.as_ref(), (self.clock)(), MANDATORY_REFRESH_SECS) {
                    return Ok(current.expect("refreshed by another caller"));
                }
                return self.refresh(current, true, g).await;
            }
        };
        let now = (self.clock)();
        let current = self.snapshot();
        if !needs(current.as_ref(), now, ADVISORY_REFRESH_SECS) {
            return Ok(current.expect("refreshed by another caller"));
        }
        let mandatory = needs(current.as_ref(), now, MANDATORY_REFRESH_SECS);
        self.refresh(current, mandatory, guard).await
    }

    async fn refresh(
        &self,
        current: Option<Credentials>,
        mandatory: bool,
        _guard: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<Credentials, CredentialsError> {
        let provider = self.provider.clone();
        let outcome = tokio::task::spawn_blocking(move || provider.provide())
            .await
            .unwrap_or_else(|e| {
                Err(CredentialsError::retrieval(
                    self.provider.method(),
                    format!("refresh task failed: {e}"),
                ))
            });
        let (creds, changed) = apply(
            outcome,
            self.provider.method(),
            current,
            mandatory,
            (self.clock)(),
        )?;
        if changed {
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(creds.clone());
        }
        Ok(creds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts calls; each call returns credentials valid for `lifetime` seconds from the fake
    /// clock, after `delay`, or fails when `fail` is set.
    struct Counting {
        calls: AtomicUsize,
        lifetime: i64,
        delay: Duration,
        fail: bool,
        clock: Arc<AtomicI64>,
    }

    impl Provider for Counting {
        fn method(&self) -> &'static str {
            "counting"
        }
        fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
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

    fn setup(lifetime: i64, delay_ms: u64, fail: bool) -> (Arc<Counting>, Arc<AtomicI64>, Clock) {
        let t = Arc::new(AtomicI64::new(1_700_000_000));
        let p = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            delay: Duration::from_millis(delay_ms),
            fail,
            clock: t.clone(),
        });
        let t2 = t.clone();
        let clock: Clock = Arc::new(move || {
            OffsetDateTime::from_unix_timestamp(t2.load(Ordering::SeqCst)).unwrap()
        });
        (p, t, clock)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_refresh_for_many_concurrent_callers() {
        let (p, _t, clock) = setup(3600, 200, false);
        let creds = Arc::new(RefreshingCredentials::deferred(p.clone()).with_clock(clock));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let c = creds.clone();
            tasks.push(tokio::spawn(
                async move { c.get().await.unwrap().access_key_id },
            ));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "AK0");
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn windows() {
        let (p, t, clock) = setup(3600, 0, false);
        let creds = RefreshingCredentials::deferred(p.clone()).with_clock(clock);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK0");
        // 20 minutes left: no refresh.
        t.fetch_add(3600 - 1200, Ordering::SeqCst);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK0");
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
        // 14 minutes left: advisory refresh.
        t.fetch_add(360, Ordering::SeqCst);
        assert_eq!(creds.get().await.unwrap().access_key_id, "AK1");
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn advisory_failure_keeps_old_mandatory_failure_raises() {
        let (p, t, clock) = setup(3600, 0, true);
        let initial = Credentials::new("OLD", "s", "counting").with_expiry(Some(
            OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst) + 800).unwrap(),
        ));
        let creds = RefreshingCredentials::with_initial(initial, p.clone()).with_clock(clock);
        assert_eq!(creds.get().await.unwrap().access_key_id, "OLD");
        t.fetch_add(300, Ordering::SeqCst); // 500 s left: mandatory
        assert_eq!(
            creds.get().await.unwrap_err().to_string(),
            "Error when retrieving credentials from counting: boom"
        );
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn advisory_callers_do_not_wait_while_a_refresh_runs() {
        let (p, t, clock) = setup(3600, 300, false);
        let initial = Credentials::new("OLD", "s", "counting").with_expiry(Some(
            OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst) + 800).unwrap(),
        ));
        let creds =
            Arc::new(RefreshingCredentials::with_initial(initial, p.clone()).with_clock(clock));
        let c2 = creds.clone();
        let refresher = tokio::spawn(async move { c2.get().await.unwrap().access_key_id });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert_eq!(creds.get().await.unwrap().access_key_id, "OLD");
        assert!(started.elapsed() < Duration::from_millis(250));
        assert_eq!(refresher.await.unwrap(), "AK0");
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn still_expired_after_refresh() {
        let (p, _t, clock) = setup(-10, 0, false);
        let creds = SharedCredentials::deferred(p).with_clock(clock);
        assert_eq!(
            creds.get().unwrap_err().to_string(),
            "Credentials were refreshed, but the refreshed credentials are still expired."
        );
    }

    #[test]
    fn blocking_form_shares_one_refresh() {
        let (p, _t, clock) = setup(3600, 200, false);
        let creds = Arc::new(SharedCredentials::deferred(p.clone()).with_clock(clock));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let c = creds.clone();
                std::thread::spawn(move || c.get().unwrap().access_key_id)
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "AK0");
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    }
}
