//! Reading settings the way botocore's config chain does: environment variable first (present,
//! even empty, wins), then the selected profile's merged key.

use awsid_profile::{Env, Properties};

use crate::CredentialsError;

/// The value of a setting: env var `var` if set, else profile key `key`.
pub(crate) fn lookup<'a>(
    env: &'a Env,
    props: &'a Properties,
    var: &str,
    key: &str,
) -> Option<&'a str> {
    env.get(var).or_else(|| props.get_str(key))
}

/// botocore's `ensure_boolean`: true only for the case-insensitive string `true`.
pub(crate) fn ensure_boolean(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A base-10 integer setting; an unparsable value is an error naming the setting.
pub(crate) fn integer(
    env: &Env,
    props: &Properties,
    var: &str,
    key: &str,
    default: i64,
) -> Result<i64, CredentialsError> {
    let (name, value) = match env.get(var) {
        Some(v) => (var, v),
        None => match props.get_str(key) {
            Some(v) => (key, v),
            None => return Ok(default),
        },
    };
    crate::plan::parse_python_int(value).ok_or_else(|| CredentialsError::InvalidSetting {
        setting: name.to_string(),
        message: format!("invalid literal for int() with base 10: '{value}'"),
    })
}
