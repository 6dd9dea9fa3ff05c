//! A profile's credentials as the source of a relay (`exec --server ecs|imds`,
//! `serve-credentials`): resolved through the profile's chain — so through the shared
//! `~/.aws/cli/cache` and its per-entry single flight, which makes any number of servers of one
//! profile on one machine share each refresh — and refreshed in the background before they
//! expire, so that the SDKs of a long-running program always find credentials with time left.
//!
//! When to refresh, for credentials that live `L` seconds from when they were obtained:
//!
//! * at `min(899 s, L/2)` before expiry — 899 s being just inside the CLI cache's 15-minute
//!   window, so that the resolution finds the cached entry stale and renews it (once per
//!   machine) instead of handing back the same credentials;
//! * when the source has nothing newer yet (a metadata service that has not rotated, a failed
//!   call), again after a quarter of the time left, between 1 and 60 seconds;
//! * a request that finds less than `min(300 s, L/4)` left waits for a refresh itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use awsid_credentials::Credentials;
use awsid_server::relay::{CredentialSource, RelayedCredentials, SourceError};

/// The refresh lead just inside the CLI cache's window (`CACHE_WINDOW_SECS` = 900).
const CACHE_LEAD_SECS: i64 = 899;
/// The least time left a request accepts without a refresh (and a quarter of the lifetime).
const MIN_LEFT_SECS: i64 = 300;
/// The lifetime assumed for temporary credentials whose expiry nobody states.
const UNSTATED_LIFETIME_SECS: i64 = 3600;
/// The reference's advisory refresh window (botocore `RefreshableCredentials`, 900 s).
const ADVISORY_SECS: i64 = 900;

/// Resolves the profile again (blocking): the credentials, or why not (never a secret).
pub(crate) type Fetch = Arc<dyn Fn() -> Result<Credentials, String> + Send + Sync>;

/// Wall-clock seconds (replaceable in tests).
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Where notices for the user go (stderr as awsid's warnings unless replaced in tests).
pub(crate) type Notices = Arc<dyn Fn(&str) + Send + Sync>;

/// A profile's refreshing credentials; clones share them.
#[derive(Clone)]
pub(crate) struct ProfileSource {
    inner: Arc<Inner>,
}

struct Inner {
    profile: String,
    role_arn: Option<String>,
    fetch: Fetch,
    clock: Clock,
    held: Mutex<Held>,
    refresh: tokio::sync::Mutex<()>,
    /// A failed refresh was written to stderr since the last successful one: the failures of
    /// one stale period are reported once (as the holder's static-stability notice), however
    /// their text varies; the period ends with newer credentials.
    reported: AtomicBool,
    notices: Notices,
}

#[derive(Clone)]
struct Held {
    relayed: Arc<RelayedCredentials>,
    /// From an instance-metadata or container source (`iam-role`, `container-role`), whose
    /// provider moves an expiry less than 15 min + 2–10 min away to that far ahead
    /// (`docs/spec/faults.md` §4): the stated expiry can lie well past the real one, so these
    /// are refreshed in the reference's advisory window of the stated expiry
    /// ([`ADVISORY_SECS`]) rather than half-way through a lifetime that is not theirs.
    extended: bool,
}

impl Held {
    fn new(relayed: RelayedCredentials, method: &str) -> Held {
        Held {
            relayed: Arc::new(relayed),
            extended: matches!(method, "iam-role" | "container-role"),
        }
    }

    /// When the background loop refreshes these credentials.
    fn due(&self) -> i64 {
        if self.extended {
            (self.expiry() - ADVISORY_SECS).max(self.obtained() + 1)
        } else {
            refresh_at(self.obtained(), self.expiry())
        }
    }

    fn expiry(&self) -> i64 {
        self.relayed.expiration
    }
    fn obtained(&self) -> i64 {
        self.relayed.obtained
    }
}

/// When credentials obtained at `obtained` and expiring at `expiry` are refreshed.
pub(crate) fn refresh_at(obtained: i64, expiry: i64) -> i64 {
    let lifetime = (expiry - obtained).max(0);
    (expiry - CACHE_LEAD_SECS.min(lifetime / 2)).max(obtained + 1)
}

/// Whether credentials are still good to hand out at `now` without a refresh first.
pub(crate) fn usable(now: i64, obtained: i64, expiry: i64) -> bool {
    let lifetime = (expiry - obtained).max(0);
    expiry - now > MIN_LEFT_SECS.min(lifetime / 4)
}

/// How long to wait before asking again when the source had nothing newer: a quarter of the
/// time left, at most 10 s (a source can answer with the same credentials for a while — IMDS
/// before its rotation, a holder keeping credentials through an outage of their source — and
/// the relay must notice the new ones soon after they exist; a minute's wait left refused
/// credentials in use for 35 s after a real-time IMDS outage, RELIABILITY.md).
pub(crate) fn retry_after(now: i64, expiry: i64) -> i64 {
    ((expiry - now) / 4).clamp(1, 10)
}

/// How long to wait before trying again after a failed refresh (the source unreachable):
/// short, so that the relay hands out fresh credentials within seconds of the source's
/// return (a minute's wait left refused credentials in use for 90 s after a real-time IMDS
/// outage; RELIABILITY.md).
const FAILED_RETRY_SECS: i64 = 5;

impl ProfileSource {
    /// A source starting from `initial` (already resolved) that refreshes with `fetch`.
    /// `role_arn` is the role the credentials are a session of, when the profile names one.
    pub(crate) fn new(
        profile: &str,
        role_arn: Option<String>,
        initial: &Credentials,
        fetch: Fetch,
        clock: Clock,
    ) -> Result<ProfileSource, String> {
        let now = clock();
        let relayed = relayed(initial, role_arn.as_deref(), now, None)?;
        Ok(ProfileSource {
            inner: Arc::new(Inner {
                profile: profile.to_string(),
                role_arn,
                fetch,
                clock,
                held: Mutex::new(Held::new(relayed, initial.method)),
                refresh: tokio::sync::Mutex::new(()),
                reported: AtomicBool::new(false),
                notices: Arc::new(crate::error::warn),
            }),
        })
    }

    /// Sends the refresh-failure notices to `notices` instead of stderr (tests).
    #[cfg(test)]
    fn with_notices(mut self, notices: Notices) -> ProfileSource {
        Arc::get_mut(&mut self.inner)
            .expect("not shared yet")
            .notices = notices;
        self
    }

    fn held(&self) -> Held {
        self.inner
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current access key id (not secret).
    #[cfg(test)]
    fn access_key_id(&self) -> String {
        self.held().relayed.access_key_id.clone()
    }

    /// Refreshes unless someone else did since `seen` (by expiry); `Ok(true)` when newer
    /// credentials are held afterwards.
    async fn refresh(&self, seen: &Held) -> Result<bool, SourceError> {
        let _guard = self.inner.refresh.lock().await;
        let current = self.held();
        if current.expiry() > seen.expiry()
            || current.relayed.access_key_id != seen.relayed.access_key_id
        {
            return Ok(true);
        }
        let fetch = self.inner.fetch.clone();
        let outcome = tokio::task::spawn_blocking(move || fetch())
            .await
            .unwrap_or_else(|e| Err(format!("the refresh task failed: {e}")));
        let now = (self.inner.clock)();
        let fresh = outcome.and_then(|c| {
            relayed(
                &c,
                self.inner.role_arn.as_deref(),
                now,
                Some(&current.relayed),
            )
            .map(|r| Held::new(r, c.method))
        });
        match fresh {
            // Newer: a later expiry, or other credentials altogether — a source hands out its
            // current ones, and an extended expiry (IMDS, containers) can make the new key's
            // look earlier than the old one's.
            Ok(fresh)
                if fresh.expiry() > current.expiry()
                    || fresh.relayed.access_key_id != current.relayed.access_key_id =>
            {
                tracing::debug!(
                    profile = %self.inner.profile,
                    access_key_id = %fresh.relayed.access_key_id,
                    expires = fresh.expiry(),
                    "credential relay: refreshed"
                );
                *self.inner.held.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
                self.inner.reported.store(false, Ordering::SeqCst);
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(message) => {
                let message = format!(
                    "cannot refresh the credentials of profile {}: {message}",
                    self.inner.profile
                );
                self.report(&message, current.expiry(), now);
                Err(SourceError(message))
            }
        }
    }

    /// Writes a refresh failure to stderr, once per stale period (from the first failure to
    /// the next newer credentials), with what the relay does meanwhile.
    fn report(&self, message: &str, expiry: i64, now: i64) {
        tracing::warn!("{message}");
        if self.inner.reported.swap(true, Ordering::SeqCst) {
            return;
        }
        let expiring = awsid_credentials::time::format_z(
            time::OffsetDateTime::from_unix_timestamp(expiry)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        );
        let meanwhile = if expiry > now {
            format!(
                "the current credentials (expiring {expiring}) are served until they expire; \
                 a refresh is tried again within {FAILED_RETRY_SECS} s and this is not repeated \
                 until one succeeds"
            )
        } else {
            format!(
                "the current credentials expired at {expiring}; requests fail until a \
                 refresh, tried again within {FAILED_RETRY_SECS} s, succeeds"
            )
        };
        (self.inner.notices)(&format!(
            "{}. Meanwhile {meanwhile}.",
            message.trim_end_matches('.')
        ));
    }

    /// Keeps the credentials fresh until dropped (run it as a task).
    pub(crate) async fn refresh_loop(self) {
        loop {
            let held = self.held();
            let now = (self.inner.clock)();
            let due = held.due();
            if now < due {
                tokio::time::sleep(Duration::from_secs((due - now) as u64)).await;
                continue;
            }
            let wait = match self.refresh(&held).await {
                Ok(true) => continue,
                Ok(false) => retry_after((self.inner.clock)(), held.expiry()),
                Err(_) => retry_after((self.inner.clock)(), held.expiry()).min(FAILED_RETRY_SECS),
            };
            tokio::time::sleep(Duration::from_secs(wait as u64)).await;
        }
    }
}

impl CredentialSource for ProfileSource {
    async fn credentials(&self) -> Result<Arc<RelayedCredentials>, SourceError> {
        let held = self.held();
        let now = (self.inner.clock)();
        if usable(now, held.obtained(), held.expiry()) {
            return Ok(held.relayed);
        }
        match self.refresh(&held).await {
            Ok(true) => Ok(self.held().relayed),
            // Nothing newer, or the refresh failed: what is held, while it is valid at all.
            Ok(false) | Err(_) if held.expiry() > (self.inner.clock)() => Ok(held.relayed),
            Ok(false) => Err(SourceError(format!(
                "the credentials of profile {} have expired and the source has no newer ones",
                self.inner.profile
            ))),
            Err(e) => Err(e),
        }
    }
}

/// The relay's form of `c`: temporary credentials with an expiry (stated, or
/// [`UNSTATED_LIFETIME_SECS`] from now). Unchanged credentials keep the time they were first
/// obtained at, so their lifetime is not mistaken for a short one.
fn relayed(
    c: &Credentials,
    role_arn: Option<&str>,
    now: i64,
    previous: Option<&RelayedCredentials>,
) -> Result<RelayedCredentials, String> {
    let Some(token) = &c.session_token else {
        return Err(format!(
            "{} gave long-term keys ({}); the metadata servers hand out temporary credentials only",
            c.method, c.access_key_id
        ));
    };
    let same = previous.filter(|p| p.access_key_id == c.access_key_id);
    let expiration = match (c.expiry, same) {
        (Some(e), _) => e.unix_timestamp(),
        (None, Some(p)) => p.expiration.max(now + CACHE_LEAD_SECS + 1),
        (None, None) => now + UNSTATED_LIFETIME_SECS,
    };
    let obtained = match same {
        Some(p) if p.expiration == expiration => p.obtained,
        _ => now,
    };
    let account_id = c
        .account_id
        .clone()
        .or_else(|| role_arn.and_then(arn_account));
    Ok(RelayedCredentials {
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.expose().to_string(),
        session_token: token.expose().to_string(),
        expiration,
        obtained,
        account_id,
        role_arn: role_arn.map(str::to_string),
    })
}

/// The account of an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
fn arn_account(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    const T0: i64 = 1_800_000_000;

    #[test]
    fn refresh_points() {
        // An hour-long role session: just inside the cache's 15-minute window.
        assert_eq!(refresh_at(T0, T0 + 3600), T0 + 3600 - 899);
        // Short ones: half-way.
        assert_eq!(refresh_at(T0, T0 + 60), T0 + 30);
        assert_eq!(refresh_at(T0, T0 + 1), T0 + 1);
        assert!(usable(T0 + 3000, T0, T0 + 3600));
        assert!(!usable(T0 + 3300, T0, T0 + 3600));
        assert!(usable(T0 + 44, T0, T0 + 60));
        assert!(!usable(T0 + 45, T0, T0 + 60));
        assert_eq!(retry_after(T0, T0 + 3600), 10);
        assert_eq!(retry_after(T0, T0 + 20), 5);
        assert_eq!(retry_after(T0, T0 - 5), 1);
        assert_eq!(
            arn_account("arn:aws:iam::123456789012:role/x").as_deref(),
            Some("123456789012")
        );
        assert_eq!(arn_account("nope"), None);
    }

    /// A fetch that returns credentials living `lifetime` seconds from the fake clock, a new
    /// key each call, or fails while `fail` is set.
    struct Fake {
        calls: Arc<AtomicUsize>,
        now: Arc<AtomicI64>,
        fail: Arc<std::sync::atomic::AtomicBool>,
    }

    fn setup(lifetime: i64) -> (ProfileSource, Fake) {
        let now = Arc::new(AtomicI64::new(T0));
        let calls = Arc::new(AtomicUsize::new(0));
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let make = {
            let (now, calls, fail) = (now.clone(), calls.clone(), fail.clone());
            move || -> Result<Credentials, String> {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if fail.load(Ordering::SeqCst) {
                    return Err("STS is unreachable".into());
                }
                let t = now.load(Ordering::SeqCst);
                Ok(Credentials::new(format!("ASIAKEY{n}"), "s", "assume-role")
                    .with_session_token(Some("t".into()))
                    .with_expiry(Some(
                        time::OffsetDateTime::from_unix_timestamp(t + lifetime).unwrap(),
                    )))
            }
        };
        let initial = make().unwrap();
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let source = ProfileSource::new(
            "dev",
            Some("arn:aws:iam::123456789012:role/dev".into()),
            &initial,
            Arc::new(make),
            clock,
        )
        .unwrap();
        (source, Fake { calls, now, fail })
    }

    #[tokio::test]
    async fn hands_out_held_credentials_until_they_run_short() {
        let (source, fake) = setup(3600);
        let c = source.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "ASIAKEY0");
        assert_eq!(c.account_id.as_deref(), Some("123456789012"));
        assert_eq!(
            c.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/dev")
        );
        fake.now.store(T0 + 3000, Ordering::SeqCst);
        assert_eq!(
            source.credentials().await.unwrap().access_key_id,
            "ASIAKEY0"
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "no refresh yet");
        // Less than five minutes left: the request refreshes first.
        fake.now.store(T0 + 3400, Ordering::SeqCst);
        assert_eq!(
            source.credentials().await.unwrap().access_key_id,
            "ASIAKEY1"
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_credentials_and_reports_expired_ones() {
        let (source, fake) = setup(3600);
        fake.fail.store(true, Ordering::SeqCst);
        fake.now.store(T0 + 3400, Ordering::SeqCst);
        assert_eq!(
            source.credentials().await.unwrap().access_key_id,
            "ASIAKEY0"
        );
        fake.now.store(T0 + 3600, Ordering::SeqCst);
        let e = source.credentials().await.unwrap_err();
        assert_eq!(
            e.0,
            "cannot refresh the credentials of profile dev: STS is unreachable"
        );
        fake.fail.store(false, Ordering::SeqCst);
        assert!(source
            .credentials()
            .await
            .unwrap()
            .access_key_id
            .starts_with("ASIAKEY"));
    }

    #[tokio::test]
    async fn a_failure_is_reported_once_per_stale_period_with_what_is_served() {
        // Each failure has its own text (the cause, a port, a time): reported once until a
        // refresh succeeds, then once again for the next outage.
        let now = Arc::new(AtomicI64::new(T0));
        let calls = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fetch: Fetch = {
            let (now, calls, down) = (now.clone(), calls.clone(), down.clone());
            Arc::new(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if down.load(Ordering::SeqCst) {
                    return Err(format!(
                        "Unable to locate credentials: the instance metadata service could not be reached (attempt {n})"
                    ));
                }
                let t = now.load(Ordering::SeqCst);
                Ok(Credentials::new(format!("ASIAKEY{n}"), "s", "iam-role")
                    .with_session_token(Some("t".into()))
                    .with_expiry(Some(
                        time::OffsetDateTime::from_unix_timestamp(t + 3600).unwrap(),
                    )))
            })
        };
        let initial = fetch().unwrap();
        let notices = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = notices.clone();
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let source = ProfileSource::new("default", None, &initial, fetch, clock)
            .unwrap()
            .with_notices(Arc::new(move |n: &str| sink.lock().unwrap().push(n.into())));
        down.store(true, Ordering::SeqCst);
        for step in 0..10 {
            now.store(T0 + 3400 + step * 5, Ordering::SeqCst);
            assert_eq!(
                source.credentials().await.unwrap().access_key_id,
                "ASIAKEY0"
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            11,
            "every call tried the source"
        );
        assert_eq!(
            notices.lock().unwrap().clone(),
            [
                "cannot refresh the credentials of profile default: Unable to locate credentials: \
              the instance metadata service could not be reached (attempt 1). Meanwhile the \
              current credentials (expiring 2027-01-15T09:00:00Z) are served until they expire; \
              a refresh is tried again within 5 s and this is not repeated until one succeeds."
            ]
        );
        // Past the expiry the requests fail, still without another notice.
        now.store(T0 + 3600, Ordering::SeqCst);
        assert!(source.credentials().await.is_err());
        assert_eq!(notices.lock().unwrap().len(), 1);
        // Back: fresh credentials end the stale period; the next outage is reported again.
        down.store(false, Ordering::SeqCst);
        assert_eq!(
            source.credentials().await.unwrap().access_key_id,
            "ASIAKEY12"
        );
        down.store(true, Ordering::SeqCst);
        now.store(T0 + 3600 + 3400, Ordering::SeqCst);
        assert_eq!(
            source.credentials().await.unwrap().access_key_id,
            "ASIAKEY12"
        );
        let notices = notices.lock().unwrap().clone();
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[1].contains("(attempt 13)"), "{}", notices[1]);
    }

    #[tokio::test]
    async fn other_credentials_replace_held_ones_even_with_an_earlier_stated_expiry() {
        // IMDS credentials extended at fetch time (now + 15 min + 2–10 min of jitter): the
        // next key's stated expiry can be earlier than the held key's, and it is the one STS
        // accepts — the held key may be past its real expiry.
        let now = Arc::new(AtomicI64::new(T0));
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch: Fetch = {
            let (now, calls) = (now.clone(), calls.clone());
            Arc::new(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst) as i64;
                // The first key extended by 10 min of jitter, the later ones by 2.
                let jitter = if n == 0 { 600 } else { 120 };
                let t = now.load(Ordering::SeqCst);
                Ok(Credentials::new(format!("ASIAKEY{n}"), "s", "iam-role")
                    .with_session_token(Some("t".into()))
                    .with_expiry(Some(
                        time::OffsetDateTime::from_unix_timestamp(t + 900 + jitter).unwrap(),
                    )))
            })
        };
        let initial = fetch().unwrap();
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let source = ProfileSource::new("default", None, &initial, fetch, clock).unwrap();
        // Refreshed in the advisory window of the stated expiry (T0 + 1500 - 900), not half-way
        // through the 25 minutes the extension states (T0 + 750).
        assert_eq!(source.held().due(), T0 + 600);
        // A refresh at T0 + 400 gets a key stated to expire at T0 + 1420, before T0 + 1500.
        now.store(T0 + 400, Ordering::SeqCst);
        let held = source.held();
        assert!(source.refresh(&held).await.unwrap());
        assert_eq!(
            source.access_key_id(),
            "ASIAKEY1",
            "the new key, stated to expire earlier"
        );
        assert_eq!(source.held().expiry(), T0 + 400 + 1020);
    }

    #[tokio::test]
    async fn long_term_keys_are_refused() {
        let e = ProfileSource::new(
            "dev",
            None,
            &Credentials::new("AKIAEXAMPLE", "s", "shared-credentials-file"),
            Arc::new(|| Err("unused".into())),
            Arc::new(|| T0),
        )
        .err()
        .unwrap();
        assert!(e.contains("long-term keys (AKIAEXAMPLE)"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_refreshes_before_expiry() {
        let (source, fake) = setup(60);
        let task = tokio::spawn(source.clone().refresh_loop());
        // Due at T0 + 30: the paused clock jumps there; the fake clock follows by hand.
        fake.now.store(T0 + 30, Ordering::SeqCst);
        for _ in 0..100 {
            if fake.calls.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        assert_eq!(source.access_key_id(), "ASIAKEY1");
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_retries_a_failed_refresh_within_seconds() {
        let (source, fake) = setup(3600);
        let task = tokio::spawn(source.clone().refresh_loop());
        // Due at T0 + 2701 with the source down: the loop tries, fails, and tries again every
        // few seconds rather than once a minute.
        fake.fail.store(true, Ordering::SeqCst);
        fake.now.store(T0 + 2701, Ordering::SeqCst);
        for _ in 0..100 {
            if fake.calls.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "the first attempt");
        // The source is back: within FAILED_RETRY_SECS (the paused clock advances by itself
        // only while every task sleeps), fresh credentials.
        fake.fail.store(false, Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        while source.access_key_id() == "ASIAKEY0" {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(
                started.elapsed() <= Duration::from_secs(FAILED_RETRY_SECS as u64 + 1),
                "not refreshed {FAILED_RETRY_SECS} s after the source came back"
            );
        }
        task.abort();
    }
}
