//! The fault switchboard: faults `awsid serve` injects on purpose, per endpoint (STS, IAM, the
//! SSO portal and OIDC, ECS, IMDS of every instance or of one), so that clients can be tried
//! against failing credential endpoints. Off by default; set in the world file's `[faults]`
//! table and changed at run time through the admin API ([`admin`]); every injected fault is
//! recorded in the decision log.
//!
//! A target's [`FaultSpec`] combines: added latency (fixed, uniform or log-normal), an error
//! rate answering the endpoint's real error for the chosen kind (500, 503, throttling — IMDS's
//! 429 page, STS's 400 `Throttling`, …), a connection-reset rate, a token-bucket rate
//! limit answered with the endpoint's throttling error, a scheduled outage window (connections
//! refused, reset, answered with the error, or left hanging) and credentials served already
//! expired (IMDS and ECS). The shapes and codes are in `docs/spec/faults.md`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::decisions::{Entry, Outcome};
use crate::http::{text, BodyError, Gate, Handler, HttpResponse, RequestData};
use crate::state::{iso8601, State};

pub mod console;
#[cfg(test)]
mod tests;

/// The longest latency or outage a spec may ask for.
const MAX_LATENCY_MS: u64 = 10 * 60 * 1000;
/// The longest outage window (a week).
const MAX_OUTAGE_SECONDS: u64 = 7 * 24 * 3600;
/// How far in the past credentials served "already expired" say they expired.
pub const EXPIRED_BY_SECONDS: i64 = 60;

/// Where a fault applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// STS on the API listener.
    Sts,
    /// IAM on the API listener.
    Iam,
    /// The SSO portal and SSO-OIDC on the API listener (not their browser pages).
    Sso,
    /// SSO-OIDC alone (`CreateToken`, `RegisterClient`, `StartDeviceAuthorization`): token
    /// refreshes fail while the portal answers; takes precedence over [`Target::Sso`].
    SsoOidc,
    /// The ECS container-credentials listener.
    Ecs,
    /// Every instance's IMDS (an instance's own entry takes precedence).
    Imds,
    /// One instance's IMDS, by instance id.
    Instance(String),
}

impl Target {
    /// Parses `sts`, `iam`, `sso`, `sso-oidc`, `ecs`, `imds` or `imds:<instance id>`.
    pub fn parse(s: &str) -> Result<Target, String> {
        match s {
            "sts" => Ok(Target::Sts),
            "iam" => Ok(Target::Iam),
            "sso" => Ok(Target::Sso),
            "sso-oidc" => Ok(Target::SsoOidc),
            "ecs" => Ok(Target::Ecs),
            "imds" => Ok(Target::Imds),
            _ => match s.strip_prefix("imds:") {
                Some(id)
                    if id.starts_with("i-")
                        && id.len() > 2
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
                {
                    Ok(Target::Instance(id.to_string()))
                }
                _ => Err(format!(
                    "unknown fault target \"{s}\": expected sts, iam, sso, sso-oidc, ecs, imds or imds:<instance id>"
                )),
            },
        }
    }

    /// The name [`Target::parse`] reads.
    pub fn name(&self) -> String {
        match self {
            Target::Sts => "sts".into(),
            Target::Iam => "iam".into(),
            Target::Sso => "sso".into(),
            Target::SsoOidc => "sso-oidc".into(),
            Target::Ecs => "ecs".into(),
            Target::Imds => "imds".into(),
            Target::Instance(id) => format!("imds:{id}"),
        }
    }

    /// The decision log's service name.
    fn service(&self) -> &'static str {
        match self {
            Target::Sts => "sts",
            Target::Iam => "iam",
            Target::Sso | Target::SsoOidc => "sso",
            Target::Ecs => "ecs",
            Target::Imds | Target::Instance(_) => "imds",
        }
    }

    /// Whether the target has a listener of its own (so its connections can be refused).
    fn own_listener(&self) -> bool {
        matches!(self, Target::Ecs | Target::Imds | Target::Instance(_))
    }

    /// Whether the target serves credential documents with an `Expiration`.
    fn serves_credentials(&self) -> bool {
        self.own_listener()
    }

    /// The HTTP status answering a throttled request.
    fn throttling_status(&self) -> u16 {
        match self {
            // Query protocol: `Throttling` is a 400 (docs/spec/sts-server.md §4,
            // docs/spec/faults.md §1).
            Target::Sts | Target::Iam => 400,
            _ => 429,
        }
    }
}

/// Added latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Uniform between `min` and `max` milliseconds.
    Uniform {
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Log-normal with this median and 99th percentile (milliseconds), capped at 10 minutes.
    LogNormal {
        /// Median.
        p50: u64,
        /// 99th percentile.
        p99: u64,
    },
}

impl Latency {
    fn sample(&self, rng: &mut StdRng) -> Duration {
        let ms = match *self {
            Latency::Fixed(ms) => ms as f64,
            Latency::Uniform { min, max } => rng.random_range(min as f64..=max as f64),
            Latency::LogNormal { p50, p99 } => {
                // z of the 99th percentile of the standard normal.
                const Z99: f64 = 2.326_347_874;
                let mu = (p50.max(1) as f64).ln();
                let sigma = ((p99.max(1) as f64).ln() - mu) / Z99;
                // Box–Muller.
                let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (mu + sigma * z).exp()
            }
        };
        Duration::from_millis(ms.clamp(0.0, MAX_LATENCY_MS as f64) as u64)
    }

    fn to_json(self) -> Value {
        match self {
            Latency::Fixed(ms) => json!(ms),
            Latency::Uniform { min, max } => json!({"min": min, "max": max}),
            Latency::LogNormal { p50, p99 } => json!({"p50": p50, "p99": p99}),
        }
    }
}

/// Which error an erroring request gets (the endpoint decides the code and body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 500: `InternalFailure` (STS), `InternalServerException` (SSO),
    /// `InternalServerError` (ECS), IMDS's `500 - Internal Server Error` page.
    Internal,
    /// 503: `ServiceUnavailable` (STS), `ServiceUnavailableException` (SSO),
    /// `CredentialsUninitialized` (ECS), IMDS's `503 - Service Unavailable` page.
    Unavailable,
    /// Throttling: 400 `Throttling` (STS), 429 `TooManyRequestsException` (SSO), IMDS's
    /// `429 - Too Many Requests` page, ECS's 429.
    Throttling,
}

impl ErrorKind {
    fn name(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Throttling => "throttling",
        }
    }
}

/// What an outage does to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageMode {
    /// The listener is closed: new connections are refused, requests on open connections are
    /// reset (IMDS and ECS only: the API listener is shared by STS and SSO).
    Refused,
    /// Every request's connection is reset without an answer.
    Reset,
    /// Every request is answered with the spec's error.
    Error,
    /// Requests get no answer until the window ends, then their connection is reset.
    Hang,
}

impl OutageMode {
    fn name(self) -> &'static str {
        match self {
            OutageMode::Refused => "refused",
            OutageMode::Reset => "reset",
            OutageMode::Error => "error",
            OutageMode::Hang => "hang",
        }
    }
}

/// When an outage starts, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutageStart {
    /// At this time (epoch seconds).
    At(i64),
    /// This many seconds after the spec was set.
    After(u64),
}

/// A scheduled outage window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    /// When it starts.
    pub start: OutageStart,
    /// How long it lasts.
    pub seconds: u64,
    /// What it does.
    pub mode: OutageMode,
}

/// A token bucket: `rate` requests per second, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

/// The faults of one target. The default injects nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    /// Latency added before every answer.
    pub latency: Option<Latency>,
    /// Fraction (0–1) of requests answered with `error`.
    pub error_rate: f64,
    /// The error of `error_rate` and of an `error` outage; `None` means [`ErrorKind::Internal`].
    pub error: Option<ErrorKind>,
    /// Fraction (0–1) of requests whose connection is reset without an answer.
    pub reset_rate: f64,
    /// Fraction (0–1) of requests the service carries out and whose answer is then lost (the
    /// connection is reset instead): a retry repeats an action that already happened.
    pub lost_answer_rate: f64,
    /// A scheduled outage.
    pub outage: Option<Outage>,
    /// Credential documents say they expired a minute ago (IMDS and ECS).
    pub expired_credentials: bool,
    /// Requests beyond this rate get the endpoint's throttling error.
    pub rate_limit: Option<RateLimit>,
    /// Seed of the random choices (reproducible runs); random when absent.
    pub seed: Option<u64>,
}

fn number(v: &Value, at: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| format!("{at}: expected a number, got {v}"))
}

fn whole(v: &Value, at: &str, max: u64) -> Result<u64, String> {
    match v.as_u64() {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(format!("{at}: {n} is more than the largest allowed, {max}")),
        None => Err(format!("{at}: expected a whole number ≥ 0, got {v}")),
    }
}

fn fraction(v: &Value, at: &str) -> Result<f64, String> {
    let f = number(v, at)?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{at}: {f} is not a fraction between 0 and 1"))
    }
}

fn table<'a>(v: &'a Value, at: &str, keys: &[&str]) -> Result<&'a Map<String, Value>, String> {
    let t = v
        .as_object()
        .ok_or_else(|| format!("{at}: expected a table, got {v}"))?;
    if let Some(k) = t.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!(
            "{at}: unknown key \"{k}\" (expected {})",
            keys.join(", ")
        ));
    }
    Ok(t)
}

fn parse_time(s: &str, at: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("{at}: \"{s}\" is not an RFC 3339 time such as 2026-12-07T12:00:00Z"))
}

impl FaultSpec {
    /// Reads a spec for `target` from its JSON form (the admin API's body; the world file's
    /// `[faults.<target>]` table converted to JSON); errors name the key at fault under `at`.
    pub fn from_json(target: &Target, v: &Value, at: &str) -> Result<FaultSpec, String> {
        let t = table(
            v,
            at,
            &[
                "latency_ms",
                "error_rate",
                "error",
                "reset_rate",
                "lost_answer_rate",
                "outage",
                "expired_credentials",
                "rate_limit",
                "seed",
            ],
        )?;
        let mut spec = FaultSpec::default();
        if let Some(l) = t.get("latency_ms") {
            let at = format!("{at}.latency_ms");
            spec.latency = Some(if l.is_number() {
                Latency::Fixed(whole(l, &at, MAX_LATENCY_MS)?)
            } else {
                let lt = table(l, &at, &["min", "max", "p50", "p99"])?;
                let get = |k: &str| -> Result<Option<u64>, String> {
                    lt.get(k)
                        .map(|v| whole(v, &format!("{at}.{k}"), MAX_LATENCY_MS))
                        .transpose()
                };
                match (get("min")?, get("max")?, get("p50")?, get("p99")?) {
                    (Some(min), Some(max), None, None) if min <= max => {
                        Latency::Uniform { min, max }
                    }
                    (Some(min), Some(max), None, None) => {
                        return Err(format!("{at}: min ({min}) is more than max ({max})"))
                    }
                    (None, None, Some(p50), Some(p99)) if p50 >= 1 && p50 <= p99 => {
                        Latency::LogNormal { p50, p99 }
                    }
                    (None, None, Some(p50), Some(p99)) => {
                        return Err(format!(
                            "{at}: p50 ({p50}) must be at least 1 and at most p99 ({p99})"
                        ))
                    }
                    _ => {
                        return Err(format!(
                            "{at}: expected milliseconds, {{min, max}} (uniform) or {{p50, p99}} (log-normal)"
                        ))
                    }
                }
            });
        }
        if let Some(v) = t.get("error_rate") {
            spec.error_rate = fraction(v, &format!("{at}.error_rate"))?;
        }
        if let Some(v) = t.get("reset_rate") {
            spec.reset_rate = fraction(v, &format!("{at}.reset_rate"))?;
        }
        if let Some(v) = t.get("lost_answer_rate") {
            spec.lost_answer_rate = fraction(v, &format!("{at}.lost_answer_rate"))?;
        }
        let total = spec.error_rate + spec.reset_rate + spec.lost_answer_rate;
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "{at}: error_rate + reset_rate + lost_answer_rate is {total}, more than 1"
            ));
        }
        if let Some(v) = t.get("error") {
            spec.error = Some(parse_error(target, v, &format!("{at}.error"))?);
        }
        if let Some(v) = t.get("outage") {
            let at = format!("{at}.outage");
            let o = table(v, &at, &["start", "after_seconds", "seconds", "mode"])?;
            let start = match (o.get("start"), o.get("after_seconds")) {
                (Some(s), None) => OutageStart::At(parse_time(
                    s.as_str()
                        .ok_or_else(|| format!("{at}.start: expected a time, got {s}"))?,
                    &format!("{at}.start"),
                )?),
                (None, Some(n)) => OutageStart::After(whole(
                    n,
                    &format!("{at}.after_seconds"),
                    MAX_OUTAGE_SECONDS,
                )?),
                (None, None) => OutageStart::After(0),
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: give start or after_seconds, not both"))
                }
            };
            let seconds = match o.get("seconds") {
                Some(n) => whole(n, &format!("{at}.seconds"), MAX_OUTAGE_SECONDS)?,
                None => return Err(format!("{at}: seconds (the outage's length) is required")),
            };
            if seconds == 0 {
                return Err(format!("{at}.seconds: must be at least 1"));
            }
            let mode = match o.get("mode").map(|m| m.as_str()) {
                None if target.own_listener() => OutageMode::Refused,
                None => OutageMode::Error,
                Some(Some("refused")) if target.own_listener() => OutageMode::Refused,
                Some(Some("refused")) => {
                    return Err(format!(
                        "{at}.mode: \"refused\" closes a listener, and {} shares the API listener with the other services; use reset, error or hang",
                        target.name()
                    ))
                }
                Some(Some("reset")) => OutageMode::Reset,
                Some(Some("error")) => OutageMode::Error,
                Some(Some("hang")) => OutageMode::Hang,
                Some(_) => {
                    return Err(format!(
                        "{at}.mode: expected refused, reset, error or hang, got {}",
                        o["mode"]
                    ))
                }
            };
            spec.outage = Some(Outage {
                start,
                seconds,
                mode,
            });
        }
        if let Some(v) = t.get("expired_credentials") {
            let at = format!("{at}.expired_credentials");
            spec.expired_credentials = v
                .as_bool()
                .ok_or_else(|| format!("{at}: expected true or false, got {v}"))?;
            if spec.expired_credentials && !target.serves_credentials() {
                return Err(format!(
                    "{at}: only IMDS and ECS serve credential documents with an expiry"
                ));
            }
        }
        if let Some(v) = t.get("rate_limit") {
            let at = format!("{at}.rate_limit");
            let r = table(v, &at, &["rate", "burst"])?;
            let rate = number(
                r.get("rate")
                    .ok_or_else(|| format!("{at}: rate (requests per second) is required"))?,
                &format!("{at}.rate"),
            )?;
            if rate <= 0.0 {
                return Err(format!("{at}.rate: must be more than 0"));
            }
            let burst = match r.get("burst") {
                Some(b) => whole(b, &format!("{at}.burst"), 1_000_000)?,
                None => rate.ceil() as u64,
            };
            if burst == 0 {
                return Err(format!("{at}.burst: must be at least 1"));
            }
            spec.rate_limit = Some(RateLimit {
                rate,
                burst: burst as u32,
            });
        }
        if let Some(v) = t.get("seed") {
            spec.seed = Some(whole(v, &format!("{at}.seed"), u64::MAX)?);
        }
        Ok(spec)
    }

    /// The JSON form [`FaultSpec::from_json`] reads.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(l) = self.latency {
            m.insert("latency_ms".into(), l.to_json());
        }
        if self.error_rate > 0.0 {
            m.insert("error_rate".into(), json!(self.error_rate));
        }
        if let Some(e) = self.error {
            m.insert("error".into(), json!(e.name()));
        }
        if self.reset_rate > 0.0 {
            m.insert("reset_rate".into(), json!(self.reset_rate));
        }
        if self.lost_answer_rate > 0.0 {
            m.insert("lost_answer_rate".into(), json!(self.lost_answer_rate));
        }
        if let Some(o) = &self.outage {
            let mut om = Map::new();
            match o.start {
                OutageStart::At(t) => om.insert("start".into(), json!(iso8601(t))),
                OutageStart::After(s) => om.insert("after_seconds".into(), json!(s)),
            };
            om.insert("seconds".into(), json!(o.seconds));
            om.insert("mode".into(), json!(o.mode.name()));
            m.insert("outage".into(), Value::Object(om));
        }
        if self.expired_credentials {
            m.insert("expired_credentials".into(), json!(true));
        }
        if let Some(r) = self.rate_limit {
            m.insert(
                "rate_limit".into(),
                json!({"rate": r.rate, "burst": r.burst}),
            );
        }
        if let Some(s) = self.seed {
            m.insert("seed".into(), json!(s));
        }
        Value::Object(m)
    }
}

fn parse_error(target: &Target, v: &Value, at: &str) -> Result<ErrorKind, String> {
    let throttle = target.throttling_status();
    let kind = match (v.as_str(), v.as_u64()) {
        (Some("internal"), _) | (_, Some(500)) => Some(ErrorKind::Internal),
        (Some("unavailable"), _) | (_, Some(503)) => Some(ErrorKind::Unavailable),
        (Some("throttling"), _) => Some(ErrorKind::Throttling),
        (_, Some(s)) if s == u64::from(throttle) => Some(ErrorKind::Throttling),
        _ => None,
    };
    kind.ok_or_else(|| {
        format!(
            "{at}: expected internal (500), unavailable (503) or throttling ({throttle} for {}), got {v}",
            target.name()
        )
    })
}

/// Converts a TOML value to JSON (datetimes become their RFC 3339 text).
pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => json!(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::Datetime(d) => json!(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Reads the world file's `[faults]` table: one sub-table per target. Errors name
/// `faults.<target>.<key>`.
pub fn parse_table(v: &toml::Value) -> Result<Vec<(Target, FaultSpec)>, String> {
    let t = v
        .as_table()
        .ok_or_else(|| "faults: expected a table of targets".to_string())?;
    let mut out = Vec::new();
    for (name, spec) in t {
        let target = Target::parse(name).map_err(|e| format!("faults: {e}"))?;
        let spec = FaultSpec::from_json(&target, &toml_to_json(spec), &format!("faults.{name}"))?;
        out.push((target, spec));
    }
    Ok(out)
}

/// Counters of injected faults, by kind.
#[derive(Debug, Default)]
struct Counts {
    latency: AtomicU64,
    error: AtomicU64,
    reset: AtomicU64,
    lost: AtomicU64,
    throttled: AtomicU64,
    hung: AtomicU64,
    expired: AtomicU64,
    closed: AtomicU64,
}

/// One target's spec in force, with its resolved outage window and random state.
#[derive(Debug)]
struct Active {
    spec: FaultSpec,
    /// `[start, end)` in epoch seconds of the server clock.
    window: Option<(i64, i64)>,
    rng: Mutex<StdRng>,
    /// Tokens and the instant they were counted.
    bucket: Mutex<(f64, Instant)>,
    counts: Counts,
    /// Whether the listener is closed for the outage now (logged on each change).
    closed: AtomicBool,
}

impl Active {
    fn new(spec: FaultSpec, now: i64) -> Active {
        let window = spec.outage.as_ref().map(|o| {
            let start = match o.start {
                OutageStart::At(t) => t,
                OutageStart::After(s) => now.saturating_add(s as i64),
            };
            (start, start.saturating_add(o.seconds as i64))
        });
        let rng = match spec.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::seed_from_u64(rand::random()),
        };
        let burst = spec.rate_limit.map(|r| f64::from(r.burst)).unwrap_or(0.0);
        Active {
            window,
            rng: Mutex::new(rng),
            bucket: Mutex::new((burst, Instant::now())),
            counts: Counts::default(),
            closed: AtomicBool::new(false),
            spec,
        }
    }

    fn in_outage(&self, now: i64) -> Option<(OutageMode, i64)> {
        let (start, end) = self.window?;
        let mode = self.spec.outage.as_ref()?.mode;
        (start <= now && now < end).then_some((mode, end))
    }

    /// Takes a token; false when the bucket is empty.
    fn take_token(&self, limit: RateLimit) -> bool {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.1).as_secs_f64() * limit.rate;
        b.0 = (b.0 + refill).min(f64::from(limit.burst));
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the switchboard does to one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Answer normally.
    Proceed,
    /// Answer with the endpoint's error of this kind.
    Error(ErrorKind),
    /// Reset the connection without an answer.
    Reset,
    /// Let the service carry the request out, then reset the connection instead of answering.
    LostAnswer,
    /// Give no answer for this long, then reset the connection.
    Hang(Duration),
}

/// The switchboard's decision for one request, and why (for the decision log).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The target whose spec applied.
    pub target: Target,
    /// Latency to add first.
    pub delay: Option<Duration>,
    /// Then what.
    pub action: Action,
    /// Whether a credentials document is served already expired.
    pub expired_credentials: bool,
    /// Why, in words.
    pub reasons: Vec<String>,
}

/// One injected fault (or a change of the switchboard), as logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// Epoch seconds.
    pub time: i64,
    /// `sts`, `iam`, `sso`, `ecs`, `imds`, or `awsid` for changes of the switchboard.
    pub service: &'static str,
    /// `fault:error`, `fault:throttling`, `fault:reset`, `fault:hang`, `fault:latency`,
    /// `fault:expired-credentials`, `fault:listener-closed`, `fault:listener-reopened`,
    /// `faults:set`, `faults:clear`.
    pub action: String,
    /// The peer's address, or `-`.
    pub caller: String,
    /// The request (`GET /path`) or the target.
    pub resource: String,
    /// Why, in words.
    pub reason: String,
}

/// How many injected faults [`Switchboard::recent`] keeps.
const RECENT: usize = 500;

/// The switchboard: the specs in force, by target.
#[derive(Debug, Default)]
pub struct Switchboard {
    specs: RwLock<BTreeMap<Target, Arc<Active>>>,
    /// Whether any spec is set (the fast path of every request when none is).
    any: AtomicBool,
    /// The last [`RECENT`] injected faults and changes, oldest first.
    log: Mutex<std::collections::VecDeque<Injected>>,
    /// The console form's anti-forgery token (random, per process).
    form_token: std::sync::OnceLock<String>,
}

impl Switchboard {
    /// The token the console's fault form carries (random, made on first use, never logged):
    /// a page elsewhere cannot read it, so it cannot post the form.
    pub fn form_token(&self) -> &str {
        self.form_token
            .get_or_init(|| hex::encode(rand::random::<[u8; 16]>()))
    }

    /// Whether `token` is the form token (compared in constant time).
    pub fn form_token_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(self.form_token().as_bytes().ct_eq(token.as_bytes()))
    }

    /// Records an injected fault or a change (the switchboard's log, and `tracing`).
    pub fn note(&self, entry: Injected) {
        tracing::info!(
            service = entry.service,
            action = %entry.action,
            caller = %entry.caller,
            resource = %entry.resource,
            "{}",
            entry.reason
        );
        let mut q = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == RECENT {
            q.pop_front();
        }
        q.push_back(entry);
    }

    /// The last injected faults and changes, oldest first.
    pub fn recent(&self) -> Vec<Injected> {
        let q = self.log.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }

    /// Whether any fault is set.
    pub fn is_on(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Sets (replaces) the spec of `target`; `now` (epoch seconds) anchors `after_seconds`.
    pub fn set(&self, target: Target, spec: FaultSpec, now: i64) {
        let mut m = self.specs.write().unwrap_or_else(|p| p.into_inner());
        m.insert(target, Arc::new(Active::new(spec, now)));
        self.any.store(true, Ordering::Release);
    }

    /// Removes the spec of `target`; whether there was one.
    pub fn clear(&self, target: &Target) -> bool {
        let mut m = self.specs.write().unwrap_or_else(|p| p.into_inner());
        let had = m.remove(target).is_some();
        self.any.store(!m.is_empty(), Ordering::Release);
        had
    }

    /// Removes every spec; how many there were.
    pub fn clear_all(&self) -> usize {
        let mut m = self.specs.write().unwrap_or_else(|p| p.into_inner());
        let n = m.len();
        m.clear();
        self.any.store(false, Ordering::Release);
        n
    }

    /// The spec in force for the first of `targets` that has one.
    fn lookup(&self, targets: &[Target]) -> Option<(Target, Arc<Active>)> {
        let m = self.specs.read().unwrap_or_else(|p| p.into_inner());
        targets
            .iter()
            .find_map(|t| m.get(t).map(|a| (t.clone(), a.clone())))
    }

    /// Decides what happens to a request for the first of `targets` with a spec (most
    /// specific first); `None` when no spec applies or it injects nothing this time.
    pub fn plan(&self, targets: &[Target], now: i64) -> Option<Plan> {
        if !self.is_on() {
            return None;
        }
        let (target, a) = self.lookup(targets)?;
        let spec = &a.spec;
        let kind = spec.error.unwrap_or(ErrorKind::Internal);
        let mut reasons = Vec::new();
        let mut rng = a.rng.lock().unwrap_or_else(|p| p.into_inner());
        let delay = spec.latency.map(|l| l.sample(&mut rng));
        if let Some(d) = delay {
            a.counts.latency.fetch_add(1, Ordering::Relaxed);
            reasons.push(format!("latency {} ms", d.as_millis()));
        }
        let action = if let Some((mode, end)) = a.in_outage(now) {
            reasons.push(format!("outage ({}) until {}", mode.name(), iso8601(end)));
            match mode {
                OutageMode::Refused | OutageMode::Reset => Action::Reset,
                OutageMode::Error => Action::Error(kind),
                OutageMode::Hang => Action::Hang(Duration::from_secs((end - now).max(1) as u64)),
            }
        } else if spec.rate_limit.is_some_and(|r| !a.take_token(r)) {
            let r = spec.rate_limit.expect("checked");
            reasons.push(format!("rate limit {}/s, burst {}", r.rate, r.burst));
            Action::Error(ErrorKind::Throttling)
        } else {
            let roll: f64 =
                if spec.error_rate > 0.0 || spec.reset_rate > 0.0 || spec.lost_answer_rate > 0.0 {
                    rng.random()
                } else {
                    1.0
                };
            if roll < spec.error_rate {
                reasons.push(format!("error_rate {}", spec.error_rate));
                Action::Error(kind)
            } else if roll < spec.error_rate + spec.reset_rate {
                reasons.push(format!("reset_rate {}", spec.reset_rate));
                Action::Reset
            } else if roll < spec.error_rate + spec.reset_rate + spec.lost_answer_rate {
                reasons.push(format!("lost_answer_rate {}", spec.lost_answer_rate));
                Action::LostAnswer
            } else {
                Action::Proceed
            }
        };
        match &action {
            Action::Proceed => {}
            Action::Error(ErrorKind::Throttling) => {
                a.counts.throttled.fetch_add(1, Ordering::Relaxed);
            }
            Action::Error(_) => {
                a.counts.error.fetch_add(1, Ordering::Relaxed);
            }
            Action::Reset => {
                a.counts.reset.fetch_add(1, Ordering::Relaxed);
            }
            Action::LostAnswer => {
                a.counts.lost.fetch_add(1, Ordering::Relaxed);
            }
            Action::Hang(_) => {
                a.counts.hung.fetch_add(1, Ordering::Relaxed);
            }
        }
        let expired_credentials = spec.expired_credentials && action == Action::Proceed;
        if expired_credentials {
            reasons.push("credentials served already expired".into());
        }
        if delay.is_none() && action == Action::Proceed && !expired_credentials {
            return None;
        }
        Some(Plan {
            target,
            delay,
            action,
            expired_credentials,
            reasons,
        })
    }

    /// Whether the listener of the first of `targets` with a spec should be closed now (a
    /// `refused` outage); logs each opening and closing through `log`.
    pub fn gate(&self, targets: &[Target], now: i64, log: impl FnOnce(&Target, bool)) -> Gate {
        if !self.is_on() {
            return Gate::Open;
        }
        let Some((target, a)) = self.lookup(targets) else {
            return Gate::Open;
        };
        let Some(o) = &a.spec.outage else {
            return Gate::Open;
        };
        if o.mode != OutageMode::Refused {
            return Gate::Open;
        }
        let closed = a.in_outage(now).is_some();
        if a.closed.swap(closed, Ordering::AcqRel) != closed {
            if closed {
                a.counts.closed.fetch_add(1, Ordering::Relaxed);
            }
            log(&target, closed);
        }
        if closed {
            Gate::Closed
        } else {
            Gate::Watch
        }
    }

    /// Notes an expired-credentials document actually served.
    fn count_expired(&self, target: &Target) {
        if let Some((_, a)) = self.lookup(std::slice::from_ref(target)) {
            a.counts.expired.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every spec in force with its outage window and the faults injected so far.
    pub fn to_json(&self, now: i64) -> Value {
        let m = self.specs.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Map::new();
        for (t, a) in m.iter() {
            let c = &a.counts;
            let mut entry = Map::new();
            entry.insert("spec".into(), a.spec.to_json());
            if let Some((start, end)) = a.window {
                entry.insert(
                    "outage_window".into(),
                    json!({
                        "start": iso8601(start),
                        "end": iso8601(end),
                        "active": start <= now && now < end,
                    }),
                );
            }
            entry.insert(
                "injected".into(),
                json!({
                    "latency": c.latency.load(Ordering::Relaxed),
                    "error": c.error.load(Ordering::Relaxed),
                    "reset": c.reset.load(Ordering::Relaxed),
                    "lost_answer": c.lost.load(Ordering::Relaxed),
                    "throttled": c.throttled.load(Ordering::Relaxed),
                    "hung": c.hung.load(Ordering::Relaxed),
                    "expired_credentials": c.expired.load(Ordering::Relaxed),
                    "listener_closed": c.closed.load(Ordering::Relaxed),
                }),
            );
            out.insert(t.name(), Value::Object(entry));
        }
        Value::Object(out)
    }
}

/// The error an endpoint answers for one [`ErrorKind`]: status, code (the service's error
/// code, or what identifies the answer where the service has none) and message
/// (`docs/spec/faults.md` §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorShape {
    /// HTTP status.
    pub status: StatusCode,
    /// The error code (`Throttling`, `ServiceFailure`, …); for IMDS the page's title, for
    /// ECS's rate limiter `text/plain`.
    pub code: &'static str,
    /// The message.
    pub message: &'static str,
}

impl ErrorShape {
    /// `400 Throttling`; IMDS's pages by their title alone (`503 - Service Unavailable`).
    pub fn describe(&self) -> String {
        let status = self.status.as_u16().to_string();
        if self.code.starts_with(&status) {
            self.code.to_string()
        } else {
            format!("{status} {}", self.code)
        }
    }
}

/// The [`ErrorShape`] of `target` for `kind` (SSO's portal and OIDC share their shapes; OIDC
/// adds an `error` member, see [`error_response`]).
pub fn error_shape(target: &Target, kind: ErrorKind) -> ErrorShape {
    let shape = |status, code, message| ErrorShape {
        status,
        code,
        message,
    };
    match (target, kind) {
        (Target::Sts, ErrorKind::Internal) => shape(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        // IAM's own 500 (`ServiceFailureException` in v2's IAM model).
        (Target::Iam, ErrorKind::Internal) => shape(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (Target::Sts | Target::Iam, ErrorKind::Unavailable) => shape(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        (Target::Sts | Target::Iam, ErrorKind::Throttling) => {
            shape(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
        }
        (Target::Sso | Target::SsoOidc, ErrorKind::Internal) => shape(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal error occurred",
        ),
        (Target::Sso | Target::SsoOidc, ErrorKind::Unavailable) => shape(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "The service is unavailable",
        ),
        (Target::Sso | Target::SsoOidc, ErrorKind::Throttling) => shape(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Too many requests",
        ),
        (Target::Ecs, ErrorKind::Internal) => shape(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        (Target::Ecs, ErrorKind::Unavailable) => shape(
            StatusCode::SERVICE_UNAVAILABLE,
            "CredentialsUninitialized",
            "CredentialsV2Request: Credentials uninitialized for ID",
        ),
        // The agent's rate limiter (tollbooth's default message), plain text.
        (Target::Ecs, ErrorKind::Throttling) => shape(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain",
            "You have reached maximum request limit.",
        ),
        (Target::Imds | Target::Instance(_), kind) => {
            let status = match kind {
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Throttling => StatusCode::TOO_MANY_REQUESTS,
            };
            let title = match kind {
                ErrorKind::Internal => "500 - Internal Server Error",
                ErrorKind::Unavailable => "503 - Service Unavailable",
                ErrorKind::Throttling => "429 - Too Many Requests",
            };
            shape(status, title, title)
        }
    }
}

/// Whether a request on the API listener is for SSO-OIDC (not the portal).
fn is_oidc(req: &RequestData) -> bool {
    crate::sso::Endpoint::from_path(req.uri.path()).is_some_and(|e| e.service_name() == "sso-oidc")
}

/// The error answer of `target` for `kind`, as the real endpoint shapes it
/// (`docs/spec/faults.md`).
pub fn error_response(target: &Target, kind: ErrorKind, req: &RequestData) -> HttpResponse {
    use crate::sso::errors::SsoError;
    use crate::sts::xml::StsError;
    let oidc = is_oidc(req);
    let e = error_shape(target, kind);
    match target {
        Target::Sts => {
            StsError::new(e.status, e.code, e.message).response(&crate::sts::request_id())
        }
        Target::Iam => StsError::new(e.status, e.code, e.message)
            .response_in(crate::iam::NS, &crate::sts::request_id()),
        Target::Sso | Target::SsoOidc => {
            let err = if oidc {
                let code = match kind {
                    ErrorKind::Internal => "server_error",
                    ErrorKind::Unavailable => "temporarily_unavailable",
                    ErrorKind::Throttling => "slow_down",
                };
                SsoError::oidc(e.status, e.code, code, e.message)
            } else {
                SsoError::portal(e.status, e.code, e.message)
            };
            err.response(&crate::sts::request_id())
        }
        Target::Ecs if kind == ErrorKind::Throttling => {
            text(e.status, "text/plain; charset=utf-8", e.message)
        }
        Target::Ecs => ecs_error(e.status, e.code, e.message),
        Target::Imds | Target::Instance(_) => crate::imds::error_page(e.status),
    }
}

fn ecs_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    text(
        status,
        "application/json",
        json!({ "code": code, "message": message }).to_string(),
    )
}

/// A credentials document (`{"…", "Expiration": "…"}`) with its `Expiration` replaced by a
/// time [`EXPIRED_BY_SECONDS`] before `now`, the rest byte for byte (IMDS's `" : "` spacing
/// included); other responses give `None`.
fn expire(resp: &HttpResponse, now: i64) -> Option<Bytes> {
    use http_body_util::BodyExt as _;
    if resp.status() != StatusCode::OK {
        return None;
    }
    // `Full` is ready at once; its frame is the whole body.
    let bytes = futures_now(resp.body().clone().collect())?.ok()?.to_bytes();
    let body = std::str::from_utf8(&bytes).ok()?;
    if !body.trim_start().starts_with('{') {
        return None;
    }
    let key = body.find("\"Expiration\"")? + "\"Expiration\"".len();
    let colon = key + body[key..].find(':')?;
    let open = colon + 1 + body[colon + 1..].find('"')?;
    if !body[colon + 1..open].trim().is_empty() {
        return None;
    }
    let close = open + 1 + body[open + 1..].find('"')?;
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..=open]);
    out.push_str(&iso8601(now - EXPIRED_BY_SECONDS));
    out.push_str(&body[close..]);
    Some(Bytes::from(out))
}

/// Polls a future that is ready at once (a `Full` body's collection).
fn futures_now<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// Records an injected fault or a change of the switchboard in the switchboard's own list
/// (the admin API's `recent`) and in the decision log the console shows (outcome
/// [`Outcome::Injected`]; a request that went on after latency logs its own decision too).
pub fn record(state: &State, entry: Injected) {
    state.decisions.record(
        entry.time,
        Entry::new(
            entry.service,
            entry.action.as_str(),
            entry.caller.as_str(),
            entry.resource.as_str(),
            Outcome::Injected,
            entry.reason.as_str(),
        ),
    );
    state.faults.note(entry);
}

/// Which listener a [`Faulty`] handler serves.
#[derive(Clone, Debug)]
pub enum Listener {
    /// The API listener: STS and SSO requests are subject to faults; the admin API and
    /// Sign-In are not.
    Api,
    /// The ECS listener.
    Ecs,
    /// The IMDS listener of this instance.
    Imds(String),
}

/// A handler with the switchboard in front of it.
pub struct Faulty<H> {
    inner: H,
    state: Arc<State>,
    listener: Listener,
}

impl<H: Handler> Faulty<H> {
    /// `inner`, subject to the switchboard of `state` as `listener`.
    pub fn new(inner: H, state: Arc<State>, listener: Listener) -> Faulty<H> {
        Faulty {
            inner,
            state,
            listener,
        }
    }

    /// The targets of a request, most specific first.
    fn targets(&self, req: &RequestData) -> Vec<Target> {
        use crate::api::Route;
        use crate::sso::Endpoint;
        match &self.listener {
            Listener::Api => match crate::api::route(req) {
                Route::Sts => vec![Target::Sts],
                Route::Query(crate::query::Service::Iam) => vec![Target::Iam],
                Route::Sso(Endpoint::Authorize | Endpoint::DevicePage) => vec![],
                Route::Sso(e) if e.service_name() == "sso-oidc" => {
                    vec![Target::SsoOidc, Target::Sso]
                }
                Route::Sso(_) => vec![Target::Sso],
                _ => vec![],
            },
            Listener::Ecs => vec![Target::Ecs],
            Listener::Imds(id) => vec![Target::Instance(id.clone()), Target::Imds],
        }
    }

    fn listener_targets(&self) -> Vec<Target> {
        match &self.listener {
            Listener::Api => vec![],
            Listener::Ecs => vec![Target::Ecs],
            Listener::Imds(id) => vec![Target::Instance(id.clone()), Target::Imds],
        }
    }

    fn log(&self, plan: &Plan, caller: &str, resource: &str) {
        let what = match plan.action {
            Action::Proceed if plan.expired_credentials => "expired-credentials",
            Action::Proceed => "latency",
            Action::Error(ErrorKind::Throttling) => "throttling",
            Action::Error(_) => "error",
            Action::Reset => "reset",
            Action::LostAnswer => "lost-answer",
            Action::Hang(_) => "hang",
        };
        let status = match plan.action {
            Action::Error(kind) => {
                format!(": answered {}", error_shape(&plan.target, kind).describe())
            }
            Action::Reset => ": connection reset, no answer".into(),
            Action::LostAnswer => {
                ": carried out, then the connection reset instead of the answer".into()
            }
            Action::Hang(_) => ": no answer, then the connection reset".into(),
            Action::Proceed => String::new(),
        };
        record(
            &self.state,
            Injected {
                time: self.state.clock.now(),
                service: plan.target.service(),
                action: format!("fault:{what}"),
                caller: caller.to_string(),
                resource: resource.to_string(),
                reason: format!(
                    "injected by the fault switchboard ({}){status}: {}",
                    plan.target.name(),
                    plan.reasons.join("; ")
                ),
            },
        );
    }
}

impl<H: Handler> Handler for Faulty<H> {
    fn wants_body(&self) -> bool {
        self.inner.wants_body()
    }

    fn admit(&self, peer: std::net::SocketAddr, local: std::net::SocketAddr) -> bool {
        self.inner.admit(peer, local)
    }

    fn refused(&self, uri: &http::Uri) -> HttpResponse {
        self.inner.refused(uri)
    }

    fn body_error(&self, err: BodyError) -> HttpResponse {
        self.inner.body_error(err)
    }

    fn gate(&self) -> Gate {
        let sb = &self.state.faults;
        if !sb.is_on() {
            return Gate::Open;
        }
        let targets = self.listener_targets();
        let now = self.state.clock.now();
        sb.gate(&targets, now, |t, closed| {
            record(&self.state, Injected {
                time: now,
                service: t.service(),
                action: if closed {
                    "fault:listener-closed".into()
                } else {
                    "fault:listener-reopened".into()
                },
                caller: "-".into(),
                resource: t.name(),
                reason: if closed {
                    "injected by the fault switchboard: outage (refused): the listener is closed, connections are refused".into()
                } else {
                    "the outage window ended: the listener accepts connections again".into()
                },
            });
        })
    }

    async fn handle(&self, req: RequestData) -> HttpResponse {
        let sb = &self.state.faults;
        if !sb.is_on() {
            return self.inner.handle(req).await;
        }
        let targets = self.targets(&req);
        let Some(plan) = sb.plan(&targets, self.state.clock.now()) else {
            return self.inner.handle(req).await;
        };
        let caller = req.peer.ip().to_string();
        let resource = format!("{} {}", req.method, req.uri.path());
        // Credentials served expired are logged once a credentials document was rewritten
        // (not for the token or listing requests around it); added latency at once.
        let deferred = plan.action == Action::Proceed && plan.expired_credentials;
        if !deferred {
            self.log(&plan, &caller, &resource);
        } else if plan.delay.is_some() {
            let latency = Plan {
                expired_credentials: false,
                reasons: plan
                    .reasons
                    .iter()
                    .filter(|r| r.starts_with("latency"))
                    .cloned()
                    .collect(),
                ..plan.clone()
            };
            self.log(&latency, &caller, &resource);
        }
        if let Some(d) = plan.delay {
            tokio::time::sleep(d).await;
        }
        match plan.action {
            Action::Proceed => {
                let resp = self.inner.handle(req).await;
                if !plan.expired_credentials {
                    return resp;
                }
                match expire(&resp, self.state.clock.now()) {
                    Some(body) => {
                        sb.count_expired(&plan.target);
                        let expired = Plan {
                            delay: None,
                            reasons: vec!["credentials served already expired".into()],
                            ..plan
                        };
                        self.log(&expired, &caller, &resource);
                        let (mut parts, _) = resp.into_parts();
                        parts.headers.remove(http::header::CONTENT_LENGTH);
                        if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
                            parts.headers.insert(http::header::CONTENT_LENGTH, v);
                        }
                        http::Response::from_parts(parts, http_body_util::Full::new(body))
                    }
                    None => resp,
                }
            }
            Action::Error(kind) => error_response(&plan.target, kind, &req),
            Action::Reset => {
                req.ttl.reset_connection();
                text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "")
            }
            Action::LostAnswer => {
                let ttl = req.ttl.clone();
                drop(self.inner.handle(req).await);
                ttl.reset_connection();
                text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "")
            }
            Action::Hang(d) => {
                tokio::time::sleep(d).await;
                req.ttl.reset_connection();
                text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "")
            }
        }
    }
}

/// The admin API on the API listener: `GET /awsid/faults` lists the specs in force with what
/// they injected; `PUT /awsid/faults/<target>` (a JSON spec) sets one; `DELETE
/// /awsid/faults/<target>` clears one, `DELETE /awsid/faults` all. Loopback peers naming a
/// loopback `Host` only (no DNS rebinding; an `Origin`, if sent, must be the `Host`'s); `PUT`
/// needs `Content-Type: application/json` (a page in a browser cannot send it cross-site
/// without a preflight the server never answers).
pub mod admin {
    use super::*;

    /// The path prefix.
    pub const PATH: &str = "/awsid/faults";

    /// Whether a request is for the admin API.
    pub fn is_admin(req: &RequestData) -> bool {
        let p = req.uri.path();
        p == PATH || p.strip_prefix(PATH).is_some_and(|r| r.starts_with('/'))
    }

    fn reply(status: StatusCode, v: Value) -> HttpResponse {
        let mut r = text(status, "application/json", format!("{v:#}\n"));
        r.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        r
    }

    fn refuse(status: StatusCode, message: impl Into<String>) -> HttpResponse {
        reply(status, json!({ "error": message.into() }))
    }

    /// Answers an admin request.
    pub fn handle(state: &State, req: &RequestData) -> HttpResponse {
        if let Some(why) = super::console::forbidden(req) {
            return refuse(StatusCode::FORBIDDEN, why);
        }
        let rest = req.uri.path()[PATH.len()..].trim_start_matches('/');
        let target = if rest.is_empty() {
            None
        } else {
            match Target::parse(rest) {
                Ok(t) => Some(t),
                Err(e) => return refuse(StatusCode::NOT_FOUND, e),
            }
        };
        let now = state.clock.now();
        let log = |action: &str, resource: String, reason: String| {
            record(
                state,
                Injected {
                    time: now,
                    service: "awsid",
                    action: format!("faults:{action}"),
                    caller: req.peer.ip().to_string(),
                    resource,
                    reason,
                },
            );
        };
        match (&req.method, target) {
            (&http::Method::GET, None) => reply(
                StatusCode::OK,
                json!({
                    "now": iso8601(now),
                    "faults": state.faults.to_json(now),
                    "recent": state.faults.recent().iter().rev().take(100).map(|e| json!({
                        "time": iso8601(e.time),
                        "service": e.service,
                        "action": e.action,
                        "caller": e.caller,
                        "resource": e.resource,
                        "reason": e.reason,
                    })).collect::<Vec<_>>(),
                }),
            ),
            (&http::Method::GET, Some(t)) => {
                let all = state.faults.to_json(now);
                match all.get(t.name()) {
                    Some(v) => reply(StatusCode::OK, v.clone()),
                    None => refuse(
                        StatusCode::NOT_FOUND,
                        format!("no faults set for {}", t.name()),
                    ),
                }
            }
            (&http::Method::PUT, Some(t)) => {
                let json_body = req
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if !json_body {
                    return refuse(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "send the spec as Content-Type: application/json",
                    );
                }
                let v: Value = match serde_json::from_slice(&req.body) {
                    Ok(v) => v,
                    Err(e) => {
                        return refuse(StatusCode::BAD_REQUEST, format!("body: not JSON: {e}"))
                    }
                };
                match FaultSpec::from_json(&t, &v, &t.name()) {
                    Ok(spec) => {
                        let shown = spec.to_json();
                        state.faults.set(t.clone(), spec, now);
                        log("set", t.name(), shown.to_string());
                        let all = state.faults.to_json(now);
                        reply(
                            StatusCode::OK,
                            all.get(t.name()).cloned().unwrap_or(Value::Null),
                        )
                    }
                    Err(e) => refuse(StatusCode::BAD_REQUEST, e),
                }
            }
            (&http::Method::DELETE, Some(t)) => {
                if state.faults.clear(&t) {
                    log("clear", t.name(), "faults cleared".into());
                    reply(StatusCode::OK, json!({ "cleared": t.name() }))
                } else {
                    refuse(
                        StatusCode::NOT_FOUND,
                        format!("no faults set for {}", t.name()),
                    )
                }
            }
            (&http::Method::DELETE, None) => {
                let n = state.faults.clear_all();
                log("clear", "*".into(), format!("{n} targets cleared"));
                reply(StatusCode::OK, json!({ "cleared": n }))
            }
            _ => refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET or DELETE /awsid/faults; GET, PUT or DELETE /awsid/faults/<target>",
            ),
        }
    }
}
