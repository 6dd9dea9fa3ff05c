//! The only mutable SSO state, kept in memory and bounded: pending device authorizations (the
//! user approves a *user code* on a page, so the approval must be remembered until the client
//! polls), spent single-use codes and refresh tokens, and sessions revoked by `Logout`.
//!
//! Everything else is in the sealed tokens. Consequences, documented in WORLD.md: a restart
//! forgets pending device approvals (the login is restarted) and spent/revoked markers (a
//! refresh token used before the restart could be used once more, a logged-out access token
//! works again until it expires); replicas behind a load balancer need sticky sessions for the
//! device flow and share no revocations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries per table; a full table (after dropping expired entries) refuses new entries.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Pending device authorizations one registered client may hold; starting another drops its
/// oldest, so a client can neither fill the table nor lock itself out.
pub const PER_CLIENT: usize = 8;

/// A pending authorization nobody polled for this long (or three poll intervals, if longer) is
/// abandoned and dropped long before its 10-minute expiry: real clients poll right away and
/// keep polling until the user decides.
pub const ABANDONED_AFTER: i64 = 60;

/// Requests this much earlier than the interval still count as on time (timer granularity).
const POLL_TOLERANCE: Duration = Duration::from_millis(100);

/// What happened to a device authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// Approved by this user; the next poll gets the tokens.
    Approved(String),
    /// Denied by the user.
    Denied,
    /// Tokens were issued (the device code is spent).
    Issued,
}

/// A pending (or decided) device authorization.
#[derive(Clone, Debug)]
pub struct Device {
    /// Id of the device code it belongs to.
    pub id: String,
    /// The registered client's name (shown on the approval page).
    pub client_name: String,
    /// Which registered client started it (the client reference of its sealed id).
    pub client: String,
    /// The instance's start URL.
    pub start_url: String,
    /// Expiry, epoch seconds.
    pub expires: i64,
    /// State.
    pub status: DeviceStatus,
    /// Auto-approve as this user after `auto_after` polls (test knob).
    pub auto: Option<(String, u32)>,
    polls: u32,
    last_poll: Option<Instant>,
    interval: Duration,
    /// When it was started (epoch seconds), for eviction order.
    started: i64,
    /// When it was started, last polled or decided (epoch seconds).
    last_seen: i64,
}

impl Device {
    /// A new pending authorization of `client` polled every `interval`.
    pub fn new(
        id: String,
        client: String,
        client_name: String,
        start_url: String,
        expires: i64,
        interval: Duration,
    ) -> Device {
        Device {
            id,
            client_name,
            client,
            start_url,
            expires,
            status: DeviceStatus::Pending,
            auto: None,
            polls: 0,
            last_poll: None,
            interval,
            started: 0,
            last_seen: 0,
        }
    }

    /// Whether it is of no use any more at `now`: expired, or pending and abandoned.
    fn is_dead(&self, now: i64) -> bool {
        let idle = ABANDONED_AFTER.max(3 * self.interval.as_secs() as i64);
        self.expires <= now
            || (self.status == DeviceStatus::Pending && now - self.last_seen >= idle)
    }
}

/// The answer to one token poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Not approved yet.
    Pending,
    /// Too fast: the interval for this code grew by 5 s.
    SlowDown,
    /// Approved by this user: issue the tokens (the code is now spent).
    Approved(String),
    /// The user denied.
    Denied,
    /// Already redeemed.
    Spent,
    /// No such authorization (never started, forgotten by a restart, or another code's id).
    Unknown,
}

/// Why a page could not decide an authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecideError {
    /// No pending authorization has this user code.
    Unknown,
    /// It expired.
    Expired,
    /// It was already approved or denied.
    Decided,
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// The mutable SSO state.
#[derive(Debug)]
pub struct Flows {
    devices: Mutex<HashMap<String, Device>>,
    spent: Mutex<HashMap<String, i64>>,
    revoked: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl Default for Flows {
    fn default() -> Flows {
        Flows::with_capacity(DEFAULT_CAPACITY)
    }
}

/// Makes room for one more entry: drops expired entries when the table is full.
fn make_room<V>(
    map: &mut HashMap<String, V>,
    capacity: usize,
    expires: impl Fn(&V) -> i64,
    now: i64,
) -> Result<(), Full> {
    if map.len() >= capacity {
        map.retain(|_, v| expires(v) > now);
    }
    if map.len() >= capacity {
        Err(Full)
    } else {
        Ok(())
    }
}

impl Flows {
    /// Tables of at most `capacity` entries each.
    pub fn with_capacity(capacity: usize) -> Flows {
        Flows {
            devices: Mutex::new(HashMap::new()),
            spent: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Records a new authorization under `user_code` at `now`; `Ok(false)` when the code is
    /// taken. Drops the client's oldest authorization beyond [`PER_CLIENT`]; a full table first
    /// drops dead entries, then the oldest never-polled one, and only then refuses.
    pub fn start(&self, user_code: &str, mut device: Device, now: i64) -> Result<bool, Full> {
        let mut map = self.devices.lock().expect("flows lock");
        if map.get(user_code).is_some_and(|d| !d.is_dead(now)) {
            return Ok(false);
        }
        let mine: Vec<(i64, String)> = map
            .iter()
            .filter(|(_, d)| d.client == device.client && d.status == DeviceStatus::Pending)
            .map(|(code, d)| (d.started, code.clone()))
            .collect();
        if mine.len() >= PER_CLIENT {
            let mut mine = mine;
            mine.sort();
            for (_, code) in &mine[..=mine.len() - PER_CLIENT] {
                map.remove(code);
            }
        }
        if map.len() >= self.capacity {
            map.retain(|_, d| !d.is_dead(now));
        }
        if map.len() >= self.capacity {
            let never_polled = map
                .iter()
                .filter(|(_, d)| d.polls == 0 && d.status == DeviceStatus::Pending)
                .min_by_key(|(_, d)| d.started)
                .map(|(code, _)| code.clone());
            match never_polled {
                Some(code) => {
                    map.remove(&code);
                }
                None => return Err(Full),
            }
        }
        device.started = now;
        device.last_seen = now;
        map.insert(user_code.to_string(), device);
        Ok(true)
    }

    /// The live authorization behind `user_code` at `now` (for the approval page).
    pub fn device(&self, user_code: &str, now: i64) -> Option<Device> {
        self.devices
            .lock()
            .expect("flows lock")
            .get(user_code)
            .filter(|d| !d.is_dead(now))
            .cloned()
    }

    /// A token poll for the device code `id` whose user code is `user_code`, at `at` (epoch
    /// `now`). The first two polls are never too fast: the CLI polls once before it prints the
    /// instructions and once right after.
    pub fn poll(&self, user_code: &str, id: &str, at: Instant, now: i64) -> Poll {
        let mut map = self.devices.lock().expect("flows lock");
        let Some(d) = map
            .get_mut(user_code)
            .filter(|d| d.id == id && !d.is_dead(now))
        else {
            return Poll::Unknown;
        };
        d.polls += 1;
        d.last_seen = now;
        if let (DeviceStatus::Pending, Some((user, after))) = (&d.status, &d.auto) {
            if d.polls > *after {
                d.status = DeviceStatus::Approved(user.clone());
            }
        }
        match std::mem::replace(&mut d.status, DeviceStatus::Issued) {
            DeviceStatus::Approved(user) => return Poll::Approved(user),
            DeviceStatus::Issued => return Poll::Spent,
            other => d.status = other,
        }
        if d.status == DeviceStatus::Denied {
            return Poll::Denied;
        }
        let early = d.polls > 2
            && d.last_poll.is_some_and(|last| {
                at.saturating_duration_since(last) + POLL_TOLERANCE < d.interval
            });
        d.last_poll = Some(at);
        if early {
            d.interval += Duration::from_secs(5);
            Poll::SlowDown
        } else {
            Poll::Pending
        }
    }

    /// Approves (`Some(user)`) or denies (`None`) the pending authorization of `user_code`.
    pub fn decide(
        &self,
        user_code: &str,
        user: Option<String>,
        now: i64,
    ) -> Result<Device, DecideError> {
        let mut map = self.devices.lock().expect("flows lock");
        let d = map.get_mut(user_code).ok_or(DecideError::Unknown)?;
        if d.is_dead(now) {
            return Err(DecideError::Expired);
        }
        if d.status != DeviceStatus::Pending {
            return Err(DecideError::Decided);
        }
        d.last_seen = now;
        d.status = match user {
            Some(u) => DeviceStatus::Approved(u),
            None => DeviceStatus::Denied,
        };
        Ok(d.clone())
    }

    /// Marks the single-use item `id` (valid until `expires`) as used; `Ok(false)` if it was.
    pub fn spend(&self, id: &str, expires: i64, now: i64) -> Result<bool, Full> {
        let mut map = self.spent.lock().expect("flows lock");
        if map.contains_key(id) {
            return Ok(false);
        }
        make_room(&mut map, self.capacity, |e| *e, now)?;
        map.insert(id.to_string(), expires);
        Ok(true)
    }

    /// Revokes the login session `sid` whose tokens live until `expires` at most.
    pub fn revoke(&self, sid: &str, expires: i64, now: i64) -> Result<(), Full> {
        let mut map = self.revoked.lock().expect("flows lock");
        if map.contains_key(sid) {
            return Ok(());
        }
        make_room(&mut map, self.capacity, |e| *e, now)?;
        map.insert(sid.to_string(), expires);
        Ok(())
    }

    /// Whether the login session `sid` was revoked.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked.lock().expect("flows lock").contains_key(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, expires: i64) -> Device {
        client_device("client", id, expires)
    }

    fn client_device(client: &str, id: &str, expires: i64) -> Device {
        Device::new(
            id.into(),
            client.into(),
            "c".into(),
            "u".into(),
            expires,
            Duration::from_secs(1),
        )
    }

    #[test]
    fn polling_state_machine() {
        let f = Flows::default();
        assert_eq!(f.start("ABCD-EFGH", device("d1", 100), 0), Ok(true));
        assert_eq!(
            f.start("ABCD-EFGH", device("d2", 100), 0),
            Ok(false),
            "code taken"
        );
        let t0 = Instant::now();
        // The CLI's first two polls come back to back: both merely pending.
        assert_eq!(f.poll("ABCD-EFGH", "d1", t0, 0), Poll::Pending);
        assert_eq!(f.poll("ABCD-EFGH", "d1", t0, 0), Poll::Pending);
        // Then the interval applies; too fast grows it by 5 s.
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t0 + Duration::from_millis(300), 0),
            Poll::SlowDown
        );
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t1 + Duration::from_secs(2), 0),
            Poll::SlowDown,
            "now 6 s"
        );
        let t2 = t1 + Duration::from_secs(2);
        // The interval is 11 s now.
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t2 + Duration::from_secs(10), 0),
            Poll::SlowDown
        );
        let t3 = t2 + Duration::from_secs(10);
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t3 + Duration::from_secs(16), 0),
            Poll::Pending
        );
        assert_eq!(
            f.poll("ABCD-EFGH", "other", t2, 0),
            Poll::Unknown,
            "another code's id"
        );
        assert_eq!(f.poll("ZZZZ-ZZZZ", "d1", t2, 0), Poll::Unknown);
        // Approval: the next poll gets the tokens, the one after finds the code spent.
        assert!(f.decide("ABCD-EFGH", Some("alice".into()), 0).is_ok());
        assert_eq!(
            f.decide("ABCD-EFGH", None, 0).unwrap_err(),
            DecideError::Decided
        );
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t2, 0),
            Poll::Approved("alice".into())
        );
        assert_eq!(f.poll("ABCD-EFGH", "d1", t2, 0), Poll::Spent);
        // Denial.
        f.start("BBBB-CCCC", device("d3", 100), 0).unwrap();
        f.decide("BBBB-CCCC", None, 0).unwrap();
        assert_eq!(f.poll("BBBB-CCCC", "d3", t0, 0), Poll::Denied);
        assert_eq!(
            f.decide("BBBB-CCCC", None, 0).unwrap_err(),
            DecideError::Decided
        );
        // Expired codes cannot be decided.
        f.start("DDDD-FFFF", device("d4", 10), 0).unwrap();
        assert_eq!(
            f.decide("DDDD-FFFF", None, 10).unwrap_err(),
            DecideError::Expired
        );
        assert_eq!(
            f.decide("GGGG-HHHH", None, 0).unwrap_err(),
            DecideError::Unknown
        );
    }

    #[test]
    fn auto_approval_after_polls() {
        let f = Flows::default();
        let mut d = device("d", 100);
        d.auto = Some(("bob".into(), 2));
        f.start("AAAA-BBBB", d, 0).unwrap();
        let t = Instant::now();
        assert_eq!(f.poll("AAAA-BBBB", "d", t, 0), Poll::Pending);
        assert_eq!(f.poll("AAAA-BBBB", "d", t, 0), Poll::Pending);
        assert_eq!(f.poll("AAAA-BBBB", "d", t, 0), Poll::Approved("bob".into()));
    }

    #[test]
    fn tables_are_bounded() {
        let f = Flows::with_capacity(2);
        assert_eq!(f.spend("a", 10, 0), Ok(true));
        assert_eq!(f.spend("a", 10, 0), Ok(false), "single use");
        assert_eq!(f.spend("b", 20, 0), Ok(true));
        assert_eq!(f.spend("c", 20, 0), Err(Full), "full of live entries");
        // Once "a" expired, its slot is reused.
        assert_eq!(f.spend("c", 20, 10), Ok(true));
        f.revoke("s1", 5, 0).unwrap();
        f.revoke("s2", 5, 0).unwrap();
        assert_eq!(f.revoke("s3", 5, 0), Err(Full));
        assert!(f.is_revoked("s1") && !f.is_revoked("s3"));
        // Device authorizations of different clients: a full table of polled entries refuses.
        let t = Instant::now();
        assert_eq!(f.start("X", client_device("a", "x", 500), 0), Ok(true));
        assert_eq!(f.start("Y", client_device("b", "y", 500), 0), Ok(true));
        assert_eq!(f.poll("X", "x", t, 1), Poll::Pending);
        assert_eq!(f.poll("Y", "y", t, 1), Poll::Pending);
        assert_eq!(f.start("Z", client_device("c", "z", 500), 2), Err(Full));
        // Expired entries make room.
        let f = Flows::with_capacity(2);
        f.start("X", device("x", 5), 0).unwrap();
        f.start("Y", device("y", 5), 0).unwrap();
        assert_eq!(f.start("Z", device("z", 50), 6), Ok(true));
    }

    #[test]
    fn one_client_cannot_fill_the_device_table() {
        // Regression: one local client could fill all 65,536 slots and block `sso login` for
        // everyone for the codes' 10 minutes.
        let f = Flows::with_capacity(64);
        for i in 0..1000 {
            let code = format!("ATTK-{i:04}");
            assert_eq!(
                f.start(&code, client_device("attacker", &code, 600), 0),
                Ok(true)
            );
        }
        // The client keeps only its newest PER_CLIENT.
        assert!(f.device("ATTK-0991", 0).is_none());
        assert!(f.device("ATTK-0992", 0).is_some());
        assert_eq!(f.devices.lock().unwrap().len(), PER_CLIENT);
        // Many clients (registration is free) that never poll: a full table drops the oldest
        // never-polled entry, never a polled one.
        let t = Instant::now();
        f.start("GOOD-0001", client_device("user", "good", 600), 0)
            .unwrap();
        assert_eq!(f.poll("GOOD-0001", "good", t, 0), Poll::Pending);
        for i in 0..1000 {
            let code = format!("MANY-{i:04}");
            let client = format!("c{i}");
            assert_eq!(
                f.start(&code, client_device(&client, &code, 600), 0),
                Ok(true)
            );
        }
        assert_eq!(f.devices.lock().unwrap().len(), 64);
        assert!(
            f.device("GOOD-0001", 0).is_some(),
            "the polled entry survives"
        );
        assert!(f.decide("GOOD-0001", Some("alice".into()), 1).is_ok());
        assert_eq!(
            f.poll("GOOD-0001", "good", t, 2),
            Poll::Approved("alice".into())
        );
    }

    #[test]
    fn abandoned_authorizations_expire_early() {
        let f = Flows::default();
        f.start("AAAA-AAAA", device("a", 600), 0).unwrap();
        let t = Instant::now();
        // Polled within the minute: alive; then silent for a minute: gone long before 600 s.
        assert_eq!(f.poll("AAAA-AAAA", "a", t, 50), Poll::Pending);
        assert!(f.device("AAAA-AAAA", 109).is_some());
        assert!(f.device("AAAA-AAAA", 110).is_none());
        assert_eq!(f.poll("AAAA-AAAA", "a", t, 110), Poll::Unknown);
        assert_eq!(
            f.decide("AAAA-AAAA", Some("u".into()), 110).unwrap_err(),
            DecideError::Expired
        );
        // Its user code can be handed out again.
        assert_eq!(f.start("AAAA-AAAA", device("b", 700), 110), Ok(true));
    }
}
