//! What the SSO tests share: a session over a config file, a scripted SSO-OIDC and a user who
//! only reads the instructions.

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;

use super::login::{Authorization, LoginUi};
use crate::testing::{FakeServer, Recorded, Reply};
use crate::Session;

pub(super) const START: &str = "https://my-sso-portal.awsapps.com/start";

pub(super) const SSO_SESSION_CONFIG: &str = "[default]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = readOnly\n\n[profile legacy]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\n\n[profile broken]\nsso_start_url = x\n\n[profile ghost]\nsso_session = nope\n\n[sso-session my-sso]\nsso_region = us-east-1\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_registration_scopes = sso:account:access\n\n[sso-session half]\nsso_start_url = x\n";

/// A session with `config` as `~/.aws/config` in `home`, the extra environment and profile.
pub(super) fn session(
    home: &Path,
    config: &str,
    extra: &[(&str, &str)],
    profile: Option<&str>,
) -> Session {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    let mut env = vec![("HOME".to_string(), home.display().to_string())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Session::load(&awsid_profile::Env::from_pairs(env), profile).unwrap()
}

/// A scripted SSO-OIDC: registration, device authorization, then the token answers of
/// `polls` in order (a status and an error type, or 200).
pub(super) fn fake_oidc(polls: Vec<(u16, &'static str)>) -> FakeServer {
    let polls = Mutex::new(polls.into_iter());
    // Endpoint URLs with a path prefix put it before the operation's path.
    FakeServer::start(move |r: &Recorded| {
        match r.path.trim_start_matches("/some/path") {
            "/client/register" => Reply::ok(
                json!({"clientId": "CID", "clientSecret": "CSECRET", "clientIdIssuedAt": 1_800_000_000i64,
                       "clientSecretExpiresAt": 4_000_000_000i64}).to_string(),
            ),
            "/device_authorization" => Reply::ok(
                json!({"deviceCode": "DEV", "userCode": "BCDF-GHJK", "verificationUri": "http://v/device",
                       "verificationUriComplete": "http://v/device?user_code=BCDF-GHJK",
                       "expiresIn": 600, "interval": 1}).to_string(),
            ),
            "/token" => match polls.lock().unwrap().next() {
                Some((200, _)) | None => Reply::ok(
                    json!({"accessToken": "ACCESS", "tokenType": "Bearer", "expiresIn": 3600,
                           "refreshToken": "REFRESH"}).to_string(),
                ),
                Some((status, shape)) => Reply::new(status, json!({"error": "x", "error_description": "why"}).to_string())
                    .header("x-amzn-ErrorType", &format!("{shape}:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/")),
            },
            _ => Reply::new(404, ""),
        }
    })
}

/// A user who reads the instructions and does nothing: records `(uri, user code, complete
/// uri)` of each authorization shown.
#[derive(Default)]
pub(super) struct RecordingUi {
    pub(super) shown: Vec<(String, Option<String>, String)>,
}

impl LoginUi for RecordingUi {
    fn authorize(&mut self, a: &Authorization<'_>) -> std::io::Result<()> {
        self.shown.push((
            a.uri.to_string(),
            a.user_code.map(str::to_string),
            a.uri_complete.to_string(),
        ));
        Ok(())
    }

    fn callback_page(&self) -> &str {
        ""
    }
}
