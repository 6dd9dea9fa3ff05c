//! What `sso login` logs into, resolved from the config file as v2's `_get_sso_config` does
//! it, and the cache keys the CLI files the token and the registration under.

use sha1::{Digest, Sha1};

use super::login::LoginError;
use crate::cache::{python_json_string, sso_token_key};
use crate::{CredentialsError, Session};

/// What `sso login` logs into: from an `[sso-session]` section or a legacy profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginConfig {
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// The sso-session name (`None`: legacy configuration).
    pub session_name: Option<String>,
    /// `sso_registration_scopes`, parsed (`None` when not configured).
    pub scopes: Option<Vec<String>>,
}

/// `sso_registration_scopes`: comma-separated, items trimmed, empty items dropped.
pub fn parse_scopes(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The required keys `props` lacks, in the CLI's order.
fn missing_keys(props: &awsid_profile::Properties) -> Vec<&'static str> {
    ["sso_start_url", "sso_region"]
        .into_iter()
        .filter(|key| !props.contains(key))
        .collect()
}

fn value(props: &awsid_profile::Properties, key: &str) -> String {
    props.get_str(key).unwrap_or_default().to_string()
}

impl LoginConfig {
    /// v2's `_get_sso_config`: `sso_session` (the flag, else the selected profile's
    /// `sso_session`) names an `[sso-session]` section holding `sso_start_url` and
    /// `sso_region`; otherwise the profile itself must hold them (legacy).
    pub fn resolve(
        session: &Session,
        sso_session: Option<&str>,
    ) -> Result<LoginConfig, LoginError> {
        let selection = session.selection();
        let profiles = session.profiles();
        let profile = profiles.profile(&selection.name);
        if profile.is_none() && selection.name != "default" {
            return Err(CredentialsError::ProfileNotFound(selection.name.clone()).into());
        }
        let empty = awsid_profile::Properties::default();
        let profile = profile.unwrap_or(&empty);
        let name = sso_session
            .map(str::to_string)
            .or_else(|| profile.get_str("sso_session").map(str::to_string))
            .filter(|n| !n.is_empty());
        match name {
            Some(name) => {
                let section = profiles.sso_session(&name).ok_or_else(|| {
                    LoginError::Config(format!(
                        "The specified sso-session does not exist: \"{name}\""
                    ))
                })?;
                let missing = missing_keys(section);
                if !missing.is_empty() {
                    // v2's text ends with a space; awsid names the section after it.
                    return Err(LoginError::Config(format!(
                        "Missing the following required SSO configuration values: {}. The [sso-session {name}] section of the config file must set them.",
                        missing.join(", ")
                    )));
                }
                Ok(LoginConfig {
                    start_url: value(section, "sso_start_url"),
                    region: value(section, "sso_region"),
                    scopes: section.get_str("sso_registration_scopes").map(parse_scopes),
                    session_name: Some(name),
                })
            }
            None => {
                let missing = missing_keys(profile);
                if !missing.is_empty() {
                    // v2's text, with the profile named in the suggested command.
                    let flag = if selection.name == "default" {
                        String::new()
                    } else {
                        format!(
                            " --profile {}",
                            awsid_profile::shell::quote(&selection.name)
                        )
                    };
                    return Err(LoginError::Config(format!(
                        "Missing the following required SSO configuration values: {}. To make sure this profile is properly configured to use SSO, please run: aws configure sso{flag}",
                        missing.join(", ")
                    )));
                }
                Ok(LoginConfig {
                    start_url: value(profile, "sso_start_url"),
                    region: value(profile, "sso_region"),
                    session_name: None,
                    scopes: None,
                })
            }
        }
    }

    /// The token cache key: SHA-1 of the session name, or of the start URL (legacy).
    pub fn token_key(&self) -> String {
        sso_token_key(self.session_name.as_deref().unwrap_or(&self.start_url))
    }

    /// The registration cache key: SHA-1 of botocore's sorted JSON of tool, start URL, region,
    /// scopes and session name.
    pub fn registration_key(&self) -> String {
        let scopes = match &self.scopes {
            None => "null".to_string(),
            Some(list) => format!(
                "[{}]",
                list.iter()
                    .map(|s| python_json_string(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let session = self
            .session_name
            .as_deref()
            .map_or_else(|| "null".to_string(), python_json_string);
        let text = format!(
            "{{\"region\": {}, \"scopes\": {scopes}, \"session_name\": {session}, \"startUrl\": {}, \"tool\": \"botocore\"}}",
            python_json_string(&self.region),
            python_json_string(&self.start_url)
        );
        hex::encode(Sha1::digest(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{session, SSO_SESSION_CONFIG, START};
    use super::*;

    #[test]
    fn cache_keys_match_the_cli() {
        let c = LoginConfig {
            start_url: START.into(),
            region: "us-east-1".into(),
            session_name: Some("my-sso".into()),
            scopes: Some(vec!["sso:account:access".into()]),
        };
        assert_eq!(
            c.registration_key(),
            "c5cfae6e3e4f067423a532368c8b514b6a4b0ace"
        );
        assert_eq!(c.token_key(), "0ad374308c5a4e22f723adf10145eafad7c4031c");
        let legacy = LoginConfig {
            session_name: None,
            scopes: None,
            ..c
        };
        assert_eq!(
            legacy.token_key(),
            "c7aaaf71fcc8777ae2475525ed049d39fe16c484"
        );
        // Python: json.dumps({"tool": "botocore", "startUrl": START, "region": "us-east-1",
        // "scopes": None, "session_name": None}, sort_keys=True)
        let text = format!("{{\"region\": \"us-east-1\", \"scopes\": null, \"session_name\": null, \"startUrl\": \"{START}\", \"tool\": \"botocore\"}}");
        assert_eq!(
            legacy.registration_key(),
            hex::encode(Sha1::digest(text.as_bytes()))
        );
        assert_eq!(parse_scopes(" a, ,b ,"), ["a", "b"]);
    }

    #[test]
    fn configuration_errors_name_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path();
        let c = LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], None), None).unwrap();
        assert_eq!(c.session_name.as_deref(), Some("my-sso"));
        assert_eq!(c.scopes, Some(vec!["sso:account:access".to_string()]));
        assert_eq!(
            (c.start_url.as_str(), c.region.as_str()),
            (START, "us-east-1")
        );
        let c = LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], Some("legacy")), None)
            .unwrap();
        assert_eq!((c.session_name, c.scopes), (None, None));
        // --sso-session wins over the profile.
        let c = LoginConfig::resolve(
            &session(h, SSO_SESSION_CONFIG, &[], Some("legacy")),
            Some("my-sso"),
        )
        .unwrap();
        assert_eq!(c.session_name.as_deref(), Some("my-sso"));
        let err = |profile: Option<&str>, flag: Option<&str>| {
            LoginConfig::resolve(&session(h, SSO_SESSION_CONFIG, &[], profile), flag)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(Some("broken"), None),
            "Missing the following required SSO configuration values: sso_region. To make sure this profile is properly configured to use SSO, please run: aws configure sso --profile broken"
        );
        assert_eq!(
            err(Some("ghost"), None),
            "The specified sso-session does not exist: \"nope\""
        );
        assert_eq!(
            err(None, Some("half")),
            "Missing the following required SSO configuration values: sso_region. The [sso-session half] section of the config file must set them."
        );
        assert_eq!(
            err(Some("missing"), None),
            "The config profile (missing) could not be found"
        );
        let empty = LoginConfig::resolve(&session(h, "", &[], None), None).unwrap_err();
        assert_eq!(
            empty.to_string(),
            "Missing the following required SSO configuration values: sso_start_url, sso_region. To make sure this profile is properly configured to use SSO, please run: aws configure sso"
        );
    }
}
