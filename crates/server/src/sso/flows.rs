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
}

impl Device {
    /// A new pending authorization polled every `interval`.
    pub fn new(
        id: String,
        client_name: String,
        start_url: String,
        expires: i64,
        interval: Duration,
    ) -> Device {
        Device {
            id,
            client_name,
            start_url,
            expires,
            status: DeviceStatus::Pending,
            auto: None,
            polls: 0,
            last_poll: None,
            interval,
        }
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

    /// Records a new authorization under `user_code`; `Ok(false)` when the code is taken.
    pub fn start(&self, user_code: &str, device: Device, now: i64) -> Result<bool, Full> {
        let mut map = self.devices.lock().expect("flows lock");
        make_room(&mut map, self.capacity, |d| d.expires, now)?;
        if map.get(user_code).is_some_and(|d| d.expires > now) {
            return Ok(false);
        }
        map.insert(user_code.to_string(), device);
        Ok(true)
    }

    /// The authorization behind `user_code` (for the approval page).
    pub fn device(&self, user_code: &str) -> Option<Device> {
        self.devices
            .lock()
            .expect("flows lock")
            .get(user_code)
            .cloned()
    }

    /// A token poll for the device code `id` whose user code is `user_code`, at `at`. The first
    /// two polls are never too fast: the CLI polls once before it prints the instructions and
    /// once right after.
    pub fn poll(&self, user_code: &str, id: &str, at: Instant) -> Poll {
        let mut map = self.devices.lock().expect("flows lock");
        let Some(d) = map.get_mut(user_code).filter(|d| d.id == id) else {
            return Poll::Unknown;
        };
        d.polls += 1;
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
        if d.expires <= now {
            return Err(DecideError::Expired);
        }
        if d.status != DeviceStatus::Pending {
            return Err(DecideError::Decided);
        }
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
        Device::new(
            id.into(),
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
        assert_eq!(f.poll("ABCD-EFGH", "d1", t0), Poll::Pending);
        assert_eq!(f.poll("ABCD-EFGH", "d1", t0), Poll::Pending);
        // Then the interval applies; too fast grows it by 5 s.
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t0 + Duration::from_millis(300)),
            Poll::SlowDown
        );
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t1 + Duration::from_secs(2)),
            Poll::SlowDown,
            "now 6 s"
        );
        let t2 = t1 + Duration::from_secs(2);
        // The interval is 11 s now.
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t2 + Duration::from_secs(10)),
            Poll::SlowDown
        );
        let t3 = t2 + Duration::from_secs(10);
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t3 + Duration::from_secs(16)),
            Poll::Pending
        );
        assert_eq!(
            f.poll("ABCD-EFGH", "other", t2),
            Poll::Unknown,
            "another code's id"
        );
        assert_eq!(f.poll("ZZZZ-ZZZZ", "d1", t2), Poll::Unknown);
        // Approval: the next poll gets the tokens, the one after finds the code spent.
        assert!(f.decide("ABCD-EFGH", Some("alice".into()), 0).is_ok());
        assert_eq!(
            f.decide("ABCD-EFGH", None, 0).unwrap_err(),
            DecideError::Decided
        );
        assert_eq!(
            f.poll("ABCD-EFGH", "d1", t2),
            Poll::Approved("alice".into())
        );
        assert_eq!(f.poll("ABCD-EFGH", "d1", t2), Poll::Spent);
        // Denial.
        f.start("BBBB-CCCC", device("d3", 100), 0).unwrap();
        f.decide("BBBB-CCCC", None, 0).unwrap();
        assert_eq!(f.poll("BBBB-CCCC", "d3", t0), Poll::Denied);
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
        assert_eq!(f.poll("AAAA-BBBB", "d", t), Poll::Pending);
        assert_eq!(f.poll("AAAA-BBBB", "d", t), Poll::Pending);
        assert_eq!(f.poll("AAAA-BBBB", "d", t), Poll::Approved("bob".into()));
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
        assert_eq!(f.start("X", device("x", 5), 0), Ok(true));
        assert_eq!(f.start("Y", device("y", 5), 0), Ok(true));
        assert_eq!(f.start("Z", device("z", 5), 0), Err(Full));
        assert_eq!(f.start("Z", device("z", 50), 6), Ok(true));
    }
}
