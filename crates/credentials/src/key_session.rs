//! Sessions of long-term keys (`GetSessionToken` without MFA), for callers that must hand out
//! temporary credentials only — `awsid exec --server ecs|imds` with a profile of plain keys, as
//! aws-vault does. Cached 0600 in `~/.aws/cli/cache` under the cross-process single flight, so
//! any number of servers of one key share each session and each refresh.

use crate::cache::{sts_entry, PyJson};
use crate::services::Services;
use crate::single_flight::Refresh;
use crate::{Credentials, CredentialsError};

/// The `method` of the session's credentials.
pub const METHOD: &str = "session-token";

/// The cache key of the session of `access_key_id` lasting `duration` seconds (never one of
/// the CLI's keys: those name a `RoleArn`).
pub fn cache_key(access_key_id: &str, duration: i64) -> String {
    let json = PyJson::Obj(vec![
        ("KeySession".into(), PyJson::Str("GetSessionToken".into())),
        ("AccessKeyId".into(), PyJson::Str(access_key_id.into())),
        ("DurationSeconds".into(), PyJson::Str(duration.to_string())),
    ]);
    crate::cache::sha1_key(&json)
}

/// A session of the long-term keys `keys` lasting `duration` seconds: the cached one while it
/// has at least 15 minutes left, else a new `GetSessionToken` signed with `keys`, stored under
/// the single flight (other processes wait for it and read it).
pub fn session(
    services: &Services,
    keys: &Credentials,
    duration: i64,
) -> Result<Credentials, CredentialsError> {
    let key = cache_key(&keys.access_key_id, duration);
    let fetch = || -> Result<Credentials, CredentialsError> {
        let sts = services.sts()?;
        let mut result = sts.get_session_token(keys, Some(duration), None, METHOD)?;
        result.credentials.account_id = keys.account_id.clone();
        if let Some(cache) = &services.cli_cache {
            let entry = sts_entry(
                &result.credentials,
                None,
                None,
                result.request_id.as_deref(),
            );
            cache.store(&key, &entry)?;
        }
        Ok(result.credentials)
    };
    match &services.cli_cache {
        Some(cache) => {
            cache.single_flight(&key, METHOD, Refresh::Network.wait(services.env()), fetch)
        }
        None => fetch(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_key_and_duration() {
        let a = cache_key("AKIAEXAMPLE", 3600);
        assert_eq!(a, cache_key("AKIAEXAMPLE", 3600));
        assert_ne!(a, cache_key("AKIAEXAMPLE", 7200));
        assert_ne!(a, cache_key("AKIAOTHER", 3600));
        assert_eq!(a.len(), 40);
    }
}
