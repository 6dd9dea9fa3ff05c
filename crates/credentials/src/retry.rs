//! Retries of the AWS API calls credential resolution makes (STS, IAM, the SSO portal and
//! SSO-OIDC), as v2's botocore makes them (`awscli/botocore/retries/`, aws-cli 2.36.7;
//! `docs/spec/retries.md`):
//!
//! * **standard** (the default): up to `max_attempts` attempts (default 3). Retried: a request
//!   that got no response, HTTP 500/502/503/504, the transient error codes and the throttling
//!   codes (`retries/standard.py`). The wait before retry *n* is
//!   `rand() × min(2^(n-1), 20)` seconds. A retry quota (500 units) caps retry storms: a retry
//!   takes 5 units (10 after a timeout), a success gives 1 back, or what its own retries took.
//! * **adaptive**: standard plus a client-side rate limiter (`retries/adaptive.py`): a token
//!   bucket, off until the first throttling error, whose rate follows CUBIC — cut to 70 % of
//!   the measured send rate on each throttling error, grown back along the cubic curve.
//! * `AWS_NEW_RETRIES_2026=true`, botocore's opt-in for its 2026 behaviour: non-throttling
//!   waits scaled by 0.05, `x-amz-retry-after` honoured (at most 5 s beyond the computed
//!   wait), a retry takes 14 units (5 after a throttling error).
//!
//! One [`Retrier`] (quota and rate limiter) serves every client of one resolution
//! ([`crate::services::Services`]); botocore has one per client object.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use awsid_profile::{Env, Properties};

use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::settings::{integer, lookup};
use crate::CredentialsError;

/// `retry_mode` / `AWS_RETRY_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryMode {
    /// `standard`: bounded attempts, exponential backoff with jitter, a retry quota.
    Standard,
    /// `adaptive`: standard plus client-side rate limiting after throttling errors.
    Adaptive,
}

/// The retry settings of one resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// The mode.
    pub mode: RetryMode,
    /// Attempts per call, the first included (≥ 1).
    pub max_attempts: u32,
    /// botocore's `AWS_NEW_RETRIES_2026` behaviour.
    pub new_retries: bool,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            mode: RetryMode::Standard,
            max_attempts: 3,
            new_retries: false,
        }
    }
}

impl RetryConfig {
    /// Reads `AWS_RETRY_MODE` / `retry_mode`, `AWS_MAX_ATTEMPTS` / `max_attempts` (environment
    /// first, even empty) and `AWS_NEW_RETRIES_2026`; refuses what botocore's `Config` refuses,
    /// in its words.
    pub fn from_settings(env: &Env, props: &Properties) -> Result<RetryConfig, CredentialsError> {
        let mode = match lookup(env, props, "AWS_RETRY_MODE", "retry_mode") {
            None | Some("standard") => RetryMode::Standard,
            Some("adaptive") => RetryMode::Adaptive,
            Some(other) => {
                return Err(CredentialsError::InvalidConfig(format!(
                    "Invalid value provided to \"mode\": \"{other}\" must be one of: \"standard\" or \"adaptive\""
                )))
            }
        };
        let max_attempts = integer(env, props, "AWS_MAX_ATTEMPTS", "max_attempts", 3)?;
        if max_attempts < 1 {
            return Err(CredentialsError::InvalidConfig(format!(
                "Value provided to \"max_attempts\": {max_attempts} must be an integer greater than or equal to one."
            )));
        }
        Ok(RetryConfig {
            mode,
            max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
            new_retries: env
                .get("AWS_NEW_RETRIES_2026")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }
}

/// Error codes of throttling (`ThrottledRetryableChecker`).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];
/// Transient error codes (`TransientRetryableChecker`).
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
];
/// Transient statuses (`TransientRetryableChecker`): not every 5xx.
const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504];
/// The longest wait between attempts, in units of the backoff base (seconds).
const MAX_BACKOFF: f64 = 20.0;
/// The most `x-amz-retry-after` may add to the computed wait, in seconds.
const RETRY_AFTER_MAX_ADDITIONAL: f64 = 5.0;

/// What one attempt's outcome says for retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The standard conditions allow a retry.
    pub retryable: bool,
    /// A throttling error (the rate limiter and the new quota costs care).
    pub throttling: bool,
    /// A connect or read timeout (the legacy quota cost cares).
    pub timeout: bool,
}

/// Classifies an outcome; `code` is the service error code parsed from the response, if any;
/// `service` the signing name (`sts` retries `IDPCommunicationError`, `special.py`).
pub fn classify(
    outcome: &Result<HttpResponse, TransportError>,
    code: Option<&str>,
    service: &str,
) -> Classification {
    match outcome {
        Err(e) => Classification {
            // An oversized answer is refused, not retried (docs/spec/retries.md).
            retryable: !matches!(
                e,
                TransportError::InvalidUrl(_) | TransportError::TooLarge { .. }
            ),
            throttling: false,
            timeout: e.is_timeout(),
        },
        Ok(r) => {
            let throttling = code.is_some_and(|c| THROTTLING_CODES.contains(&c));
            let transient = code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
                || TRANSIENT_STATUSES.contains(&r.status);
            let idp = service == "sts" && code == Some("IDPCommunicationError");
            Classification {
                retryable: throttling || transient || idp,
                throttling,
                timeout: false,
            }
        }
    }
}

/// The retry quota (`retries/quota.py`): retries draw from it, successes refill it.
#[derive(Debug)]
pub struct RetryQuota {
    max: u32,
    available: Mutex<u32>,
}

impl RetryQuota {
    /// botocore's initial (and maximum) capacity.
    pub const INITIAL: u32 = 500;

    /// A full quota of `capacity` units.
    pub fn new(capacity: u32) -> RetryQuota {
        RetryQuota {
            max: capacity,
            available: Mutex::new(capacity),
        }
    }

    /// Takes `amount` units if that many are left.
    pub fn acquire(&self, amount: u32) -> bool {
        let mut a = self.available.lock().unwrap_or_else(|p| p.into_inner());
        if amount > *a {
            return false;
        }
        *a -= amount;
        true
    }

    /// Gives `amount` units back, never above the maximum.
    pub fn release(&self, amount: u32) {
        let mut a = self.available.lock().unwrap_or_else(|p| p.into_inner());
        *a = (*a + amount).min(self.max);
    }

    /// Units left.
    pub fn available(&self) -> u32 {
        *self.available.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Seconds on a monotonic scale (the rate limiter's clock; tests substitute one).
pub type Clock = Arc<dyn Fn() -> f64 + Send + Sync>;
/// Waits (tests substitute one that only records or moves a fake clock).
pub type Sleep = Arc<dyn Fn(Duration) + Send + Sync>;

/// Seconds since the first call, from the monotonic clock.
pub fn monotonic_clock() -> Clock {
    let start = std::time::Instant::now();
    Arc::new(move || start.elapsed().as_secs_f64())
}

fn real_sleep() -> Sleep {
    Arc::new(std::thread::sleep)
}

/// The token bucket of adaptive mode (`retries/bucket.py`).
#[derive(Debug)]
struct TokenBucket {
    fill_rate: f64,
    max_capacity: f64,
    current: f64,
    last: Option<f64>,
}

impl TokenBucket {
    const MIN_RATE: f64 = 0.5;

    fn new(max_rate: f64, now: f64) -> TokenBucket {
        let mut b = TokenBucket {
            fill_rate: 0.0,
            max_capacity: 1.0,
            current: 0.0,
            last: None,
        };
        b.set_max_rate(max_rate, now);
        b
    }

    fn refill(&mut self, now: f64) {
        match self.last {
            None => self.last = Some(now),
            Some(last) => {
                let filled = self.current + (now - last).max(0.0) * self.fill_rate;
                self.current = filled.min(self.max_capacity);
                self.last = Some(now);
            }
        }
    }

    fn set_max_rate(&mut self, value: f64, now: f64) {
        self.refill(now);
        self.fill_rate = value.max(TokenBucket::MIN_RATE);
        self.max_capacity = if value >= 1.0 { value } else { 1.0 };
        self.current = self.current.min(self.max_capacity);
    }

    /// Takes a token, or says how long to wait for one.
    fn try_acquire(&mut self, now: f64) -> Result<(), f64> {
        self.refill(now);
        if self.current >= 1.0 {
            self.current -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.current) / self.fill_rate)
        }
    }
}

/// CUBIC rate adjustment (`retries/throttling.py`).
#[derive(Debug)]
struct Cubic {
    w_max: f64,
    k: f64,
    last_fail: f64,
}

impl Cubic {
    const SCALE: f64 = 0.4;
    const BETA: f64 = 0.7;

    fn new(start: f64) -> Cubic {
        let mut c = Cubic {
            w_max: 0.0,
            k: 0.0,
            last_fail: start,
        };
        c.k = c.zero_point();
        c
    }

    fn zero_point(&self) -> f64 {
        (self.w_max * (1.0 - Cubic::BETA) / Cubic::SCALE).cbrt()
    }

    fn success(&self, now: f64) -> f64 {
        Cubic::SCALE * (now - self.last_fail - self.k).powi(3) + self.w_max
    }

    fn error(&mut self, rate: f64, now: f64) -> f64 {
        self.w_max = rate;
        self.k = self.zero_point();
        self.last_fail = now;
        rate * Cubic::BETA
    }
}

/// The measured send rate, smoothed over half-second buckets (`adaptive.py` `RateClocker`).
#[derive(Debug)]
struct RateClocker {
    measured: f64,
    last_bucket: f64,
    count: f64,
}

impl RateClocker {
    const SMOOTHING: f64 = 0.8;
    const BUCKETS_PER_SECOND: f64 = 2.0;

    fn new(now: f64) -> RateClocker {
        RateClocker {
            measured: 0.0,
            last_bucket: now.floor(),
            count: 0.0,
        }
    }

    fn record(&mut self, now: f64) -> f64 {
        let bucket =
            (now * RateClocker::BUCKETS_PER_SECOND).floor() / RateClocker::BUCKETS_PER_SECOND;
        self.count += 1.0;
        if bucket > self.last_bucket {
            let rate = self.count / (bucket - self.last_bucket);
            self.measured =
                rate * RateClocker::SMOOTHING + self.measured * (1.0 - RateClocker::SMOOTHING);
            self.count = 0.0;
            self.last_bucket = bucket;
        }
        self.measured
    }
}

/// Adaptive mode's client-side rate limiter (`adaptive.py` `ClientRateLimiter`).
#[derive(Debug)]
struct RateLimiter {
    enabled: bool,
    bucket: TokenBucket,
    cubic: Cubic,
    clocker: RateClocker,
}

impl RateLimiter {
    const MAX_RATE_ADJUST_SCALE: f64 = 2.0;

    fn new(now: f64) -> RateLimiter {
        RateLimiter {
            enabled: false,
            bucket: TokenBucket::new(1.0, now),
            cubic: Cubic::new(now),
            clocker: RateClocker::new(now),
        }
    }

    /// After every response (or failure): adjusts the send rate.
    fn on_response(&mut self, throttling: bool, now: f64) {
        let measured = self.clocker.record(now);
        let new_rate = if throttling {
            let rate = if self.enabled {
                measured.min(self.bucket.fill_rate)
            } else {
                measured
            };
            self.enabled = true;
            self.cubic.error(rate, now)
        } else {
            self.cubic.success(now)
        };
        self.bucket.set_max_rate(
            new_rate.min(RateLimiter::MAX_RATE_ADJUST_SCALE * measured),
            now,
        );
    }
}

/// The outcome of a call made with retries.
#[derive(Debug)]
pub struct Attempts {
    /// The last attempt's response or failure.
    pub outcome: Result<HttpResponse, TransportError>,
    /// Retries made (attempts − 1).
    pub retries: u32,
    /// Whether the last attempt was the last one `max_attempts` allowed (botocore's
    /// `MaxAttemptsReached`, shown as `(reached max retries: N)`).
    pub max_attempts_reached: bool,
    /// Whether a retry was wanted but the quota had no capacity left.
    pub quota_exhausted: bool,
}

/// Makes calls with the retry rules of one [`RetryConfig`]; holds the quota and the rate
/// limiter the calls share.
pub struct Retrier {
    config: RetryConfig,
    quota: RetryQuota,
    limiter: Option<Mutex<RateLimiter>>,
    backoff: Duration,
    clock: Clock,
    sleep: Sleep,
    random: Arc<dyn Fn() -> f64 + Send + Sync>,
}

impl std::fmt::Debug for Retrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrier")
            .field("config", &self.config)
            .field("quota", &self.quota.available())
            .finish()
    }
}

impl Retrier {
    /// A retrier with a full quota, the real clock and sleep, and a 1 s backoff base.
    pub fn new(config: RetryConfig) -> Retrier {
        Retrier::with_parts(
            config,
            Duration::from_secs(1),
            monotonic_clock(),
            real_sleep(),
        )
    }

    /// A retrier whose waits are `backoff` × botocore's (tests shorten them), reading time
    /// from `clock` and waiting with `sleep`.
    pub fn with_parts(
        config: RetryConfig,
        backoff: Duration,
        clock: Clock,
        sleep: Sleep,
    ) -> Retrier {
        let limiter =
            (config.mode == RetryMode::Adaptive).then(|| Mutex::new(RateLimiter::new(clock())));
        Retrier {
            config,
            quota: RetryQuota::new(RetryQuota::INITIAL),
            limiter,
            backoff,
            clock,
            sleep,
            random: Arc::new(rand::random::<f64>),
        }
    }

    /// Replaces the source of `rand()` in the backoff (tests).
    pub fn with_random(mut self, random: Arc<dyn Fn() -> f64 + Send + Sync>) -> Retrier {
        self.random = random;
        self
    }

    /// The settings.
    pub fn config(&self) -> RetryConfig {
        self.config
    }

    /// The quota's units left.
    pub fn quota_available(&self) -> u32 {
        self.quota.available()
    }

    /// The wait before the retry that follows attempt `attempt` (1-based).
    fn delay(&self, attempt: u32, class: Classification, response: Option<&HttpResponse>) -> f64 {
        let scale = if self.config.new_retries && !class.throttling {
            0.05
        } else {
            1.0
        };
        let exp = 2f64.powi(attempt.saturating_sub(1).min(64) as i32);
        let t = (self.random)() * (scale * exp).min(MAX_BACKOFF);
        if !self.config.new_retries {
            return t;
        }
        let retry_after = response.and_then(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-retry-after"))
                .and_then(|(_, v)| v.trim().parse::<i64>().ok())
                .filter(|ms| *ms >= 0)
                .map(|ms| ms as f64 / 1000.0)
        });
        match retry_after {
            Some(after) => t.max(after.min(RETRY_AFTER_MAX_ADDITIONAL + t)),
            None => t,
        }
    }

    fn quota_cost(&self, class: Classification) -> u32 {
        match (self.config.new_retries, class.throttling, class.timeout) {
            (true, true, _) => 5,
            (true, false, _) => 14,
            (false, _, true) => 10,
            (false, _, false) => 5,
        }
    }

    /// Waits for the rate limiter's token (adaptive mode, once a throttling error engaged it).
    fn before_send(&self) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        loop {
            let wait = {
                let mut l = limiter.lock().unwrap_or_else(|p| p.into_inner());
                if !l.enabled {
                    return;
                }
                match l.bucket.try_acquire((self.clock)()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            // At least a millisecond: a wait shorter than the clock's resolution would spin.
            (self.sleep)(Duration::from_secs_f64(wait.clamp(0.001, 60.0)));
        }
    }

    fn after_response(&self, class: Classification) {
        if let Some(limiter) = &self.limiter {
            let mut l = limiter.lock().unwrap_or_else(|p| p.into_inner());
            l.on_response(class.throttling, (self.clock)());
        }
    }

    /// Sends the request `build` makes (built again, so signed again, for every attempt)
    /// through `transport` until it succeeds, fails in a way not retried, runs out of attempts
    /// or of quota. `code` reads a service error code from a response; `service` is the
    /// signing name.
    pub fn send(
        &self,
        transport: &dyn Transport,
        service: &str,
        mut build: impl FnMut() -> Result<HttpRequest, CredentialsError>,
        code: impl Fn(&HttpResponse) -> Option<String>,
    ) -> Result<Attempts, CredentialsError> {
        let mut attempt = 0u32;
        let mut acquired: Option<u32> = None;
        loop {
            attempt += 1;
            let request = build()?;
            self.before_send();
            let outcome = transport.send(&request);
            let error_code = match &outcome {
                Ok(r) if r.status >= 300 => code(r),
                _ => None,
            };
            let class = classify(&outcome, error_code.as_deref(), service);
            self.after_response(class);
            if matches!(&outcome, Ok(r) if (200..300).contains(&r.status)) {
                self.quota.release(acquired.unwrap_or(1));
                return Ok(Attempts {
                    outcome,
                    retries: attempt - 1,
                    max_attempts_reached: false,
                    quota_exhausted: false,
                });
            }
            let reached = attempt >= self.config.max_attempts;
            let mut quota_exhausted = false;
            if class.retryable && !reached {
                let cost = self.quota_cost(class);
                if self.quota.acquire(cost) {
                    acquired = Some(cost);
                    let wait = self.delay(attempt, class, outcome.as_ref().ok());
                    tracing::debug!(
                        attempt,
                        wait_seconds = wait,
                        "retrying {service} request after a retryable failure"
                    );
                    (self.sleep)(self.backoff.mul_f64(wait));
                    continue;
                }
                tracing::debug!("retry needed but the retry quota is exhausted, not retrying");
                quota_exhausted = true;
            }
            return Ok(Attempts {
                outcome,
                retries: attempt - 1,
                max_attempts_reached: reached,
                quota_exhausted,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn response(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Answers from a script, then repeats its last answer; counts the sends.
    struct Script {
        answers: Vec<Result<HttpResponse, TransportError>>,
        sent: AtomicUsize,
    }

    impl Script {
        fn new(answers: Vec<Result<HttpResponse, TransportError>>) -> Script {
            Script {
                answers,
                sent: AtomicUsize::new(0),
            }
        }
    }

    impl Transport for Script {
        fn send(&self, _: &HttpRequest) -> Result<HttpResponse, TransportError> {
            let n = self.sent.fetch_add(1, Ordering::SeqCst);
            self.answers[n.min(self.answers.len() - 1)].clone()
        }
    }

    /// A retrier on a fake clock whose sleeps move the clock and are recorded.
    fn retrier(config: RetryConfig) -> (Retrier, Arc<Mutex<Vec<f64>>>) {
        let now = Arc::new(Mutex::new(0.0f64));
        let slept = Arc::new(Mutex::new(Vec::new()));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || *now.lock().unwrap())
        };
        let sleep: Sleep = {
            let (now, slept) = (now.clone(), slept.clone());
            Arc::new(move |d: Duration| {
                *now.lock().unwrap() += d.as_secs_f64();
                slept.lock().unwrap().push(d.as_secs_f64());
            })
        };
        let r = Retrier::with_parts(config, Duration::from_secs(1), clock, sleep)
            .with_random(Arc::new(|| 1.0));
        (r, slept)
    }

    fn code_of(r: &HttpResponse) -> Option<String> {
        let text = String::from_utf8_lossy(&r.body).into_owned();
        text.strip_prefix("code:").map(str::to_string)
    }

    fn with_code(status: u16, code: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: format!("code:{code}").into_bytes(),
        }
    }

    fn run(r: &Retrier, t: &Script) -> Attempts {
        r.send(
            t,
            "sts",
            || Ok(HttpRequest::new("POST", "http://x/")),
            code_of,
        )
        .unwrap()
    }

    #[test]
    fn settings_and_botocore_refusals() {
        let env = Env::from_pairs([("AWS_RETRY_MODE", "adaptive"), ("AWS_MAX_ATTEMPTS", "5")]);
        let c = RetryConfig::from_settings(&env, &Properties::default()).unwrap();
        assert_eq!((c.mode, c.max_attempts), (RetryMode::Adaptive, 5));
        let c = RetryConfig::from_settings(&Env::default(), &Properties::default()).unwrap();
        assert_eq!(c, RetryConfig::default());
        let e = RetryConfig::from_settings(
            &Env::from_pairs([("AWS_RETRY_MODE", "legacy")]),
            &Properties::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value provided to \"mode\": \"legacy\" must be one of: \"standard\" or \"adaptive\""
        );
        let e = RetryConfig::from_settings(
            &Env::from_pairs([("AWS_MAX_ATTEMPTS", "0")]),
            &Properties::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Value provided to \"max_attempts\": 0 must be an integer greater than or equal to one."
        );
        let e = RetryConfig::from_settings(
            &Env::from_pairs([("AWS_MAX_ATTEMPTS", "three")]),
            &Properties::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("AWS_MAX_ATTEMPTS"), "{e}");
    }

    #[test]
    fn what_standard_mode_retries() {
        let class = |o: Result<HttpResponse, TransportError>, code: Option<&str>| {
            classify(&o, code, "sts").retryable
        };
        for status in [500, 502, 503, 504] {
            assert!(class(Ok(response(status)), None), "{status}");
        }
        // Not every 5xx, and no 4xx without a retryable code.
        assert!(!class(Ok(response(501)), None));
        assert!(!class(Ok(response(429)), None));
        assert!(!class(Ok(response(403)), Some("AccessDenied")));
        assert!(class(Ok(response(400)), Some("Throttling")));
        assert!(class(Ok(response(400)), Some("RequestTimeout")));
        assert!(class(Ok(response(400)), Some("IDPCommunicationError")));
        assert!(!classify(&Ok(response(400)), Some("IDPCommunicationError"), "sso").retryable);
        assert!(class(Err(TransportError::Connect("refused".into())), None));
        assert!(class(Err(TransportError::Closed("reset".into())), None));
        assert!(class(Err(TransportError::ReadTimeout("t".into())), None));
        assert!(!class(Err(TransportError::InvalidUrl("u".into())), None));
        assert!(!class(
            Err(TransportError::TooLarge {
                url: "u".into(),
                limit: 1
            }),
            None
        ));
    }

    #[test]
    fn standard_backoff_and_the_max_attempts_flag() {
        let (r, slept) = retrier(RetryConfig::default());
        let t = Script::new(vec![Ok(with_code(400, "Throttling"))]);
        let a = run(&r, &t);
        assert_eq!((a.retries, a.max_attempts_reached), (2, true));
        // rand() = 1: 1 s, then 2 s.
        assert_eq!(*slept.lock().unwrap(), vec![1.0, 2.0]);
        // The cap: attempt 7's wait would be 64 s.
        let (r, slept) = retrier(RetryConfig {
            max_attempts: 7,
            ..RetryConfig::default()
        });
        run(&r, &Script::new(vec![Ok(response(503))]));
        assert_eq!(*slept.lock().unwrap(), vec![1.0, 2.0, 4.0, 8.0, 16.0, 20.0]);
        // Not retryable: one attempt, and the flag only when it was the last allowed.
        let (r, _) = retrier(RetryConfig::default());
        let a = run(&r, &Script::new(vec![Ok(with_code(403, "AccessDenied"))]));
        assert_eq!((a.retries, a.max_attempts_reached), (0, false));
        let (r, _) = retrier(RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        });
        let a = run(&r, &Script::new(vec![Ok(with_code(403, "AccessDenied"))]));
        assert_eq!((a.retries, a.max_attempts_reached), (0, true));
        // A success after a failure.
        let (r, _) = retrier(RetryConfig::default());
        let t = Script::new(vec![
            Err(TransportError::Closed("reset".into())),
            Ok(response(200)),
        ]);
        let a = run(&r, &t);
        assert_eq!((a.retries, a.outcome.unwrap().status), (1, 200));
    }

    #[test]
    fn the_quota_stops_retry_storms_and_successes_refill_it() {
        let (r, _) = retrier(RetryConfig::default());
        let failing = Script::new(vec![Ok(response(500))]);
        // 500 units, 5 per retry, 2 retries per call: 50 calls empty it.
        for _ in 0..50 {
            assert!(!run(&r, &failing).quota_exhausted);
        }
        assert_eq!(r.quota_available(), 0);
        let sent = failing.sent.load(Ordering::SeqCst);
        let a = run(&r, &failing);
        assert!(a.quota_exhausted && !a.max_attempts_reached);
        assert_eq!(failing.sent.load(Ordering::SeqCst), sent + 1, "no retry");
        // A success without retries gives 1 back; one after a retry gives back its cost.
        run(&r, &Script::new(vec![Ok(response(200))]));
        assert_eq!(r.quota_available(), 1);
        // Timeouts cost 10 (legacy costs).
        let (r, _) = retrier(RetryConfig::default());
        let t = Script::new(vec![
            Err(TransportError::ReadTimeout("t".into())),
            Ok(response(200)),
        ]);
        run(&r, &t);
        assert_eq!(r.quota_available(), 500);
        let t = Script::new(vec![Err(TransportError::ReadTimeout("t".into()))]);
        run(&r, &t);
        assert_eq!(r.quota_available(), 480);
    }

    #[test]
    fn new_retries_scale_waits_and_honour_retry_after() {
        let config = RetryConfig {
            new_retries: true,
            ..RetryConfig::default()
        };
        let (r, slept) = retrier(config);
        run(&r, &Script::new(vec![Ok(response(503))]));
        let waits = slept.lock().unwrap().clone();
        assert!(
            (waits[0] - 0.05).abs() < 1e-9 && (waits[1] - 0.1).abs() < 1e-9,
            "{waits:?}"
        );
        assert_eq!(r.quota_available(), 500 - 28);
        let (r, slept) = retrier(config);
        let mut throttled = with_code(400, "Throttling");
        throttled
            .headers
            .push(("x-amz-retry-after".into(), "3500".into()));
        run(&r, &Script::new(vec![Ok(throttled)]));
        // max(t, min(3.5, 5 + t)) with t = 1, then 2.
        assert_eq!(*slept.lock().unwrap(), vec![3.5, 3.5]);
        assert_eq!(r.quota_available(), 490);
    }

    #[test]
    fn adaptive_mode_limits_the_rate_after_throttling() {
        let (r, slept) = retrier(RetryConfig {
            mode: RetryMode::Adaptive,
            max_attempts: 1,
            ..RetryConfig::default()
        });
        // Before any throttling error the limiter is off: no waits at all.
        let ok = Script::new(vec![Ok(response(200))]);
        for _ in 0..20 {
            run(&r, &ok);
        }
        assert!(slept.lock().unwrap().is_empty());
        // A throttling error engages it; the next sends wait for tokens.
        run(&r, &Script::new(vec![Ok(with_code(400, "Throttling"))]));
        for _ in 0..5 {
            run(&r, &ok);
        }
        let waited: f64 = slept.lock().unwrap().iter().sum();
        assert!(waited > 0.0, "the rate limiter never made a send wait");
    }

    #[test]
    fn cubic_and_the_rate_clock_match_botocores_vectors() {
        // botocore tests/unit/retries/test_throttling.py and test_adaptive.py.
        let mut c = Cubic {
            w_max: 10.0,
            k: 0.0,
            last_fail: 0.0,
        };
        c.k = c.zero_point();
        assert!((c.k - 1.9574338205844317).abs() < 1e-12);
        assert!((c.success(c.k) - 10.0).abs() < 1e-9);
        assert!(c.success(c.k / 2.0) <= 10.0 && c.success(c.k * 2.0) >= 10.0);
        assert!((c.error(8.0, 1.0) - 5.6).abs() < 1e-12);
        assert!((c.k - 1.8171205928321397).abs() < 1e-12);
        assert_eq!((c.w_max, c.last_fail), (8.0, 1.0));
        let mut clock = RateClocker::new(0.0);
        assert_eq!(clock.record(1.0), 0.8);
        let mut clock = RateClocker::new(0.0);
        for t in 1..=20 {
            clock.record(t as f64);
        }
        assert!((clock.measured - 1.0).abs() < 1e-6);
        // The limiter never lets the rate exceed twice the measured one.
        let mut l = RateLimiter::new(0.0);
        l.on_response(true, 1.0);
        assert!(l.enabled);
        assert!(l.bucket.fill_rate <= 2.0 * l.clocker.measured + TokenBucket::MIN_RATE);
    }

    #[test]
    fn token_bucket_refills_at_its_rate() {
        let mut b = TokenBucket::new(1.0, 0.0);
        assert_eq!(b.try_acquire(0.0), Err(1.0));
        assert_eq!(b.try_acquire(1.0), Ok(()));
        b.set_max_rate(10.0, 1.0);
        assert_eq!(b.try_acquire(1.5), Ok(()));
        // Never more than max_capacity tokens.
        b.refill(100.0);
        assert_eq!(b.current, 10.0);
        // The rate floor is 0.5 tokens a second.
        b.set_max_rate(0.1, 100.0);
        assert_eq!((b.fill_rate, b.max_capacity), (0.5, 1.0));
    }
}
