//! The device authorization flow (RFC 8628) as botocore polls it: one attempt before the
//! user is prompted, then one every `interval` seconds, 5 s more after each `slow_down`.

use std::time::Duration;

use serde_json::{json, Value};

use super::login::{Authorization, LoginError, LoginResult, LoginUi, SsoLogin};

/// The device-code grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// botocore's polling interval when the service sends none.
const DEFAULT_INTERVAL: u64 = 5;
/// How much `SlowDownException` adds to the interval.
const SLOW_DOWN_SECS: u64 = 5;

/// Runs the device flow for `login`.
pub(super) fn run(login: &SsoLogin<'_>, ui: &mut dyn LoginUi) -> Result<LoginResult, LoginError> {
    let oidc = login.oidc();
    let reg = login.registration(None)?;
    let auth = oidc.call(
        "/device_authorization",
        "StartDeviceAuthorization",
        &json!({"clientId": reg.client_id, "clientSecret": reg.client_secret,
                "startUrl": login.config.start_url}),
    )?;
    let s = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut interval = auth
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_INTERVAL);
    let body = json!({"grantType": DEVICE_GRANT, "clientId": reg.client_id,
                      "clientSecret": reg.client_secret, "deviceCode": s("deviceCode")});
    // `Some(token)`, or `None` to poll again (the interval may have grown).
    let attempt = |interval: &mut u64| -> Result<Option<Value>, LoginError> {
        match oidc
            .call("/token", "CreateToken", &body)
            .map_err(LoginError::from)
        {
            Ok(v) => Ok(Some(v)),
            Err(LoginError::Service(e)) => match e.code.as_str() {
                "AuthorizationPendingException" => Ok(None),
                "SlowDownException" => {
                    *interval += SLOW_DOWN_SECS;
                    Ok(None)
                }
                "ExpiredTokenException" => Err(LoginError::PendingAuthorizationExpired),
                _ => Err(LoginError::Service(e)),
            },
            Err(e) => Err(e),
        }
    };
    // One attempt before prompting: a pre-authorized client gets its token right away.
    if let Some(token) = attempt(&mut interval)? {
        return login.save_token(&reg, &token);
    }
    ui.authorize(&Authorization {
        uri: s("verificationUri"),
        user_code: Some(s("userCode")),
        uri_complete: s("verificationUriComplete"),
    })
    .map_err(LoginError::Ui)?;
    loop {
        if let Some(token) = attempt(&mut interval)? {
            return login.save_token(&reg, &token);
        }
        (login.sleep)(Duration::from_secs(interval));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::super::test_support::{fake_oidc, session, RecordingUi, SSO_SESSION_CONFIG, START};
    use super::super::{LoginConfig, LoginOptions};
    use super::*;
    use crate::ResolveOptions;

    #[test]
    fn device_flow_polls_slows_down_and_writes_the_token() {
        let fake = fake_oidc(vec![
            (400, "AuthorizationPendingException"),
            (400, "AuthorizationPendingException"),
            (400, "SlowDownException"),
            (400, "AuthorizationPendingException"),
            (200, ""),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let config = LoginConfig::resolve(&s, None).unwrap();
        // The injected clock: waits are recorded, never slept.
        let slept = RefCell::new(Vec::new());
        let login = SsoLogin::new(&services, config)
            .unwrap()
            .with_sleep(|d| slept.borrow_mut().push(d.as_secs()));
        let mut ui = RecordingUi::default();
        let options = LoginOptions {
            use_device_code: true,
            ..Default::default()
        };
        let result = login.run(&options, &mut ui).unwrap();
        assert_eq!(
            ui.shown,
            [(
                "http://v/device".to_string(),
                Some("BCDF-GHJK".to_string()),
                "http://v/device?user_code=BCDF-GHJK".to_string()
            )]
        );
        // Attempt, prompt, attempt (pending), sleep 1, attempt (slow down: 6), sleep 6,
        // attempt (pending), sleep 6, attempt (token).
        assert_eq!(*slept.borrow(), [1, 6, 6]);
        let reqs = fake.requests();
        let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/client/register",
                "/device_authorization",
                "/token",
                "/token",
                "/token",
                "/token",
                "/token"
            ]
        );
        let reg: Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            reg,
            json!({"clientName": "botocore-client-my-sso", "clientType": "public", "scopes": ["sso:account:access"]})
        );
        let poll: Value = serde_json::from_slice(&reqs[2].body).unwrap();
        assert_eq!(
            poll,
            json!({"grantType": DEVICE_GRANT, "clientId": "CID", "clientSecret": "CSECRET", "deviceCode": "DEV"})
        );
        // The token file: the CLI's name, field order, mode 0600.
        let token_path = dir
            .path()
            .join(".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json");
        assert_eq!(result.token_file, token_path);
        let text = std::fs::read_to_string(&token_path).unwrap();
        let expected = format!(
            "{{\"startUrl\": \"{START}\", \"region\": \"us-east-1\", \"accessToken\": \"ACCESS\", \"expiresAt\": \"{}\", \"clientId\": \"CID\", \"clientSecret\": \"CSECRET\", \"registrationExpiresAt\": \"2096-10-02T07:06:40Z\", \"refreshToken\": \"REFRESH\"}}",
            result.expires_at
        );
        assert_eq!(text, expected);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let reg_file = dir
            .path()
            .join(".aws/sso/cache/c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json");
        assert_eq!(
            std::fs::read_to_string(reg_file).unwrap(),
            "{\"clientId\": \"CID\", \"clientSecret\": \"CSECRET\", \"expiresAt\": \"2096-10-02T07:06:40Z\", \"scopes\": [\"sso:account:access\"]}"
        );
        // A second login reuses the cached registration.
        login.run(&options, &mut RecordingUi::default()).unwrap();
        let again = fake.requests();
        assert_eq!(
            again
                .iter()
                .filter(|r| r.path == "/client/register")
                .count(),
            1
        );
    }

    #[test]
    fn expired_authorization_and_service_errors_end_the_login() {
        let fake = fake_oidc(vec![
            (400, "AuthorizationPendingException"),
            (400, "ExpiredTokenException"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL", &fake.url())],
            Some("legacy"),
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap())
            .unwrap()
            .with_sleep(|_| panic!("the first poll after the prompt ends the login"));
        let mut ui = RecordingUi::default();
        let err = login.run(&LoginOptions::default(), &mut ui).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted."
        );
        assert_eq!(ui.shown.len(), 1, "legacy profiles use the device flow");
        // Legacy registrations have a timestamp name and no scopes.
        let reg: Value = serde_json::from_slice(&fake.requests()[0].body).unwrap();
        let stamp: i64 = reg["clientName"].as_str().unwrap()["botocore-client-".len()..]
            .parse()
            .unwrap();
        assert!((stamp - crate::time::now().unix_timestamp()).abs() < 60);
        assert!(reg.get("scopes").is_none());
        // Other errors abort with the service's code and description.
        let fake = fake_oidc(vec![(400, "AccessDeniedException")]);
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            Some("legacy"),
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let err = login
            .run(&LoginOptions::default(), &mut RecordingUi::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "An error occurred (AccessDeniedException) when calling the CreateToken operation: why"
        );
        assert!(matches!(err, LoginError::Service(_)));
    }

    #[test]
    fn a_failing_prompt_ends_the_login_with_its_cause() {
        struct BrokenTerminal;
        impl LoginUi for BrokenTerminal {
            fn authorize(&mut self, _: &Authorization<'_>) -> std::io::Result<()> {
                Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "closed",
                ))
            }
            fn callback_page(&self) -> &str {
                ""
            }
        }
        let fake = fake_oidc(vec![(400, "AuthorizationPendingException")]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            Some("legacy"),
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let err = login
            .run(&LoginOptions::default(), &mut BrokenTerminal)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error when retrieving credentials from sso: closed"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
