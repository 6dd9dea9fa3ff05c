//! The command's environment: every variable that could select other credentials removed, then
//! the ones that deliver this profile's — the keys themselves (`--server env`), or where to
//! fetch them (`--server ecs|imds`, no secret in the environment).

use awsid_credentials::Credentials;

/// Set in the command's environment to the profile it runs with; how a nested `awsid exec`
/// knows it is nested (as aws-vault's `AWS_VAULT`).
pub(crate) const NESTING_VAR: &str = "AWSID_EXEC";

/// Variables by which an SDK or the aws CLI could pick credentials or a profile other than the
/// ones awsid hands over: removed from the command's environment in every mode.
pub(crate) const CREDENTIAL_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    // Older names some SDKs still accept (the Java SDK v1).
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
];

/// Set for `--server imds` when not already set: botocore's (and the aws CLI's) IMDS timeout
/// and attempts.
pub(crate) const IMDS_PATIENCE: &[(&str, &str)] = &[
    ("AWS_METADATA_SERVICE_TIMEOUT", "5"),
    ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3"),
];

/// How the command gets its credentials.
pub(crate) enum Delivery<'a> {
    /// `AWS_ACCESS_KEY_ID` & co. in the environment (`--server env`).
    Env(&'a Credentials),
    /// The container endpoint at `url`, asked with `token` (`--server ecs`).
    Container { url: String, token: String },
    /// The IMDSv2 endpoint at `endpoint` (`--server imds`).
    Imds { endpoint: String },
}

/// The changes to make to the inherited environment: remove, then set.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Variables to remove.
    pub(crate) remove: Vec<&'static str>,
    /// Variables to set (after the removals).
    pub(crate) set: Vec<(String, String)>,
    /// Variables to set only when the inherited environment does not have them.
    pub(crate) defaults: Vec<(&'static str, &'static str)>,
}

impl Changes {
    /// Applies the changes to a command about to be spawned.
    pub(crate) fn apply(&self, cmd: &mut std::process::Command) {
        for name in &self.remove {
            cmd.env_remove(name);
        }
        for (k, v) in &self.defaults {
            if std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
        cmd.envs(self.set.iter().map(|(k, v)| (k, v)));
    }
}

/// The changes for `delivery` of `profile`'s credentials; `region` (when known) goes into
/// `AWS_REGION` and `AWS_DEFAULT_REGION`.
pub(crate) fn changes(delivery: &Delivery<'_>, profile: &str, region: Option<&str>) -> Changes {
    let mut c = Changes {
        remove: CREDENTIAL_VARS.to_vec(),
        set: Vec::new(),
        defaults: Vec::new(),
    };
    let mut set = |k: &str, v: String| c.set.push((k.to_string(), v));
    match delivery {
        Delivery::Env(creds) => {
            set("AWS_ACCESS_KEY_ID", creds.access_key_id.clone());
            set(
                "AWS_SECRET_ACCESS_KEY",
                creds.secret_access_key.expose().to_string(),
            );
            if let Some(token) = &creds.session_token {
                set("AWS_SESSION_TOKEN", token.expose().to_string());
            }
            if let Some(expiry) = creds.expiry {
                // As `configure export-credentials --format env` writes it.
                set(
                    "AWS_CREDENTIAL_EXPIRATION",
                    awsid_credentials::time::format_iso(expiry),
                );
            }
            if let Some(account) = &creds.account_id {
                set("AWS_ACCOUNT_ID", account.clone());
            }
        }
        Delivery::Container { url, token } => {
            set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.clone());
            set("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.clone());
        }
        Delivery::Imds { endpoint } => {
            set("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.clone());
        }
    }
    if let Some(region) = region {
        set("AWS_REGION", region.to_string());
        set("AWS_DEFAULT_REGION", region.to_string());
    }
    set(NESTING_VAR, profile.to_string());
    if matches!(delivery, Delivery::Imds { .. }) {
        // The command must be able to reach the endpoint it is given.
        c.remove.push("AWS_EC2_METADATA_DISABLED");
        // botocore gives IMDS one attempt of 1 s and, when the token request times out, falls
        // back to IMDSv1 — which this endpoint refuses. The endpoint is known to be there, so
        // a busy machine gets more patience (unless the user chose otherwise).
        c.defaults = IMDS_PATIENCE.to_vec();
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(c: &'a Changes, name: &str) -> Option<&'a str> {
        c.set
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn env_mode_sets_the_keys_and_removes_every_other_source() {
        let creds = Credentials::new("ASIAEXAMPLE", "secretEXAMPLE", "assume-role")
            .with_session_token(Some("tokenEXAMPLE".into()))
            .with_expiry(Some(
                awsid_credentials::time::parse("2026-11-23T07:48:59Z").unwrap(),
            ));
        let c = changes(&Delivery::Env(&creds), "dev", Some("eu-west-1"));
        for name in [
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_SECURITY_TOKEN",
        ] {
            assert!(c.remove.contains(&name), "{name}");
        }
        assert!(!c.remove.contains(&"AWS_EC2_METADATA_DISABLED"));
        assert_eq!(value(&c, "AWS_ACCESS_KEY_ID"), Some("ASIAEXAMPLE"));
        assert_eq!(value(&c, "AWS_SECRET_ACCESS_KEY"), Some("secretEXAMPLE"));
        assert_eq!(value(&c, "AWS_SESSION_TOKEN"), Some("tokenEXAMPLE"));
        assert_eq!(
            value(&c, "AWS_CREDENTIAL_EXPIRATION"),
            Some("2026-11-23T07:48:59+00:00")
        );
        assert_eq!(value(&c, "AWS_REGION"), Some("eu-west-1"));
        assert_eq!(value(&c, "AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(value(&c, NESTING_VAR), Some("dev"));
        // Long-term keys: no token, no expiration.
        let c = changes(
            &Delivery::Env(&Credentials::new(
                "AKIAEXAMPLE",
                "s",
                "shared-credentials-file",
            )),
            "default",
            None,
        );
        assert_eq!(value(&c, "AWS_SESSION_TOKEN"), None);
        assert_eq!(value(&c, "AWS_CREDENTIAL_EXPIRATION"), None);
        assert_eq!(value(&c, "AWS_REGION"), None);
    }

    #[test]
    fn server_modes_put_no_secret_in_the_environment() {
        let c = changes(
            &Delivery::Container {
                url: "http://127.0.0.1:4000/credentials".into(),
                token: "t0ken".into(),
            },
            "dev",
            None,
        );
        let names: Vec<&str> = c.set.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                NESTING_VAR
            ]
        );
        // The token file would win over the token variable in botocore, Rust and Go.
        assert!(c.remove.contains(&"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
        let c = changes(
            &Delivery::Imds {
                endpoint: "http://127.0.0.1:4001/".into(),
            },
            "dev",
            Some("us-east-1"),
        );
        assert_eq!(
            value(&c, "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            Some("http://127.0.0.1:4001/")
        );
        assert!(c.remove.contains(&"AWS_EC2_METADATA_DISABLED"));
        assert_eq!(c.defaults, IMDS_PATIENCE);
        assert!(c.remove.contains(&"AWS_ACCESS_KEY_ID"));
        assert!(value(&c, "AWS_ACCESS_KEY_ID").is_none());
    }
}
