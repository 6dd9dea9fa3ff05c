use std::path::Path;

use awsid_profile::{Env, Locations, ProfileSet};

use super::*;

/// A session over files written under a temporary HOME.
fn session(
    home: &Path,
    config: &str,
    credentials: &str,
    env: &[(&str, &str)],
    flag: Option<&str>,
) -> Session {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    std::fs::write(home.join(".aws/credentials"), credentials).unwrap();
    let mut pairs = vec![
        ("HOME", home.to_str().unwrap()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    pairs.extend_from_slice(env);
    let env = Env::from_pairs(pairs);
    let locations = Locations::from_env(&env);
    let profiles = ProfileSet::load(&locations).unwrap();
    Session::from_parts(env, locations, profiles, flag)
}

fn statuses(e: &Explanation) -> Vec<(&'static str, Status)> {
    e.providers.iter().map(|p| (p.provider, p.status)).collect()
}

#[test]
fn role_chain_hops_carry_their_lines_and_cache() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(
        dir.path(),
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = base\nexternal_id = ext\nduration_seconds = 1h\nmfa_serial = arn:aws:iam::123456789012:mfa/u\nregion = eu-west-1\n",
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = verysecretvalue/abcd\n",
        &[],
        Some("dev"),
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.status, OutcomeStatus::Chosen);
    assert_eq!(e.credentials.provider, Some("assume-role"));
    assert_eq!(e.credentials.source_profiles, vec!["dev", "base"]);
    let hop = &e.credentials.hops[0];
    assert!(
        matches!(&hop.role_arn.source, Source::File { line: 2, section, .. } if section == "profile dev")
    );
    assert_eq!(hop.external_id.as_ref().unwrap().value, "ext");
    assert_eq!(hop.duration_used, None);
    assert_eq!(hop.cache.as_ref().unwrap().state, CacheState::Absent);
    let base = e.credentials.base.as_ref().unwrap();
    assert_eq!(base.provider, "shared-credentials-file");
    assert_eq!(base.settings[1].value, "****************abcd");
    assert!(matches!(
        &e.region.source,
        Some(Source::File { line: 7, .. })
    ));
    assert!(e.warnings.iter().any(|w| w.code == "duration-ignored"));
    assert_eq!(
        &statuses(&e)[..3],
        &[
            ("env", Status::Skipped),
            ("assume-role", Status::Chosen),
            ("assume-role-with-web-identity", Status::NotReached)
        ]
    );
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("verysecretvalue"), "{json}");
}

fn codes(e: &Explanation) -> Vec<&'static str> {
    e.warnings.iter().map(|w| w.code).collect()
}

#[test]
fn environment_keys_shadow_a_profile_selected_by_aws_profile() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000001"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "envsecretvalue000000000000000000000wxyz",
        ),
        ("AWS_PROFILE", "dev"),
        ("AWS_DEFAULT_PROFILE", "other"),
    ];
    let s = session(
        dir.path(),
        "[profile dev]\nregion = us-east-1\n",
        "[dev]\naws_access_key_id = A\naws_secret_access_key = B\n",
        &env,
        None,
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.provider, Some("env"));
    assert_eq!(statuses(&e)[0], ("env", Status::Chosen));
    assert!(statuses(&e)[1..]
        .iter()
        .all(|(_, s)| *s == Status::NotReached));
    assert!(
        codes(&e).contains(&"env-keys-shadow-profile"),
        "{:?}",
        codes(&e)
    );
    assert!(codes(&e).contains(&"profile-env-disagree"));
    let base = e.credentials.base.as_ref().unwrap();
    assert_eq!(
        base.settings[0].source,
        Source::Env {
            name: "AWS_ACCESS_KEY_ID".into()
        }
    );
    assert!(base
        .settings
        .iter()
        .all(|s| s.masked && s.value.starts_with("****************")));
    assert!(!serde_json::to_string(&e)
        .unwrap()
        .contains("envsecretvalue"));

    // With --profile the environment provider is skipped and the keys are ignored.
    let s = session(
        dir.path(),
        "[profile dev]\n",
        "[dev]\naws_access_key_id = A\naws_secret_access_key = B\n",
        &env,
        Some("dev"),
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.provider, Some("shared-credentials-file"));
    assert_eq!(statuses(&e)[0].1, Status::Skipped);
    assert!(codes(&e).contains(&"env-keys-ignored"));
    // AWS_PROFILE names the same profile as --profile: no disagreement to report.
    assert!(!codes(&e).contains(&"profile-flag-overrides-env"));
}

#[test]
fn configuration_errors_name_the_provider_that_raises_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(
        dir.path(),
        "[profile p]\nrole_arn = r\nsource_profile = nosuch\n",
        "",
        &[],
        Some("p"),
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.status, OutcomeStatus::Error);
    let err = e.error.as_ref().unwrap();
    assert_eq!(err.provider, Some("assume-role"));
    assert_eq!(
        err.message,
        "The source_profile \"nosuch\" referenced in the profile \"p\" does not exist."
    );
    let s = session(
        dir.path(),
        "",
        "[p]\naws_access_key_id = A\n",
        &[],
        Some("p"),
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(
        e.error.as_ref().unwrap().provider,
        Some("shared-credentials-file")
    );
    assert_eq!(statuses(&e)[4], ("shared-credentials-file", Status::Error));
    let s = session(dir.path(), "", "", &[], Some("nosuch"));
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.error.as_ref().unwrap().provider, None);
    assert!(codes(&e).contains(&"profile-not-found"));
}

#[test]
fn nothing_configured_is_none_or_needs_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path(), "", "", &[], None);
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.status, OutcomeStatus::None);
    assert_eq!(statuses(&e)[11], ("iam-role", Status::Skipped));
    assert_eq!(statuses(&e)[9], ("boto-config", Status::NoCredentials));
    // IMDS enabled: undetermined, and the endpoint is named but not contacted.
    let s = session(
        dir.path(),
        "",
        "",
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/"),
        ],
        None,
    );
    let e = explain(&s, &ExplainOptions::default());
    assert_eq!(e.credentials.status, OutcomeStatus::Undetermined);
    assert_eq!(e.credentials.candidates, vec!["iam-role"]);
    assert_eq!(statuses(&e)[11], ("iam-role", Status::NeedsNetwork));
    let imds = e.endpoints.iter().find(|x| x.service == "imds").unwrap();
    assert_eq!(imds.url.as_deref(), Some("http://127.0.0.1:1/"));
    assert_eq!(
        imds.source,
        Source::Env {
            name: "AWS_EC2_METADATA_SERVICE_ENDPOINT".into()
        }
    );
}

#[test]
fn cache_entries_and_sso_tokens_report_expiry_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = s\nrole_session_name = me\n[profile s]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://corp.awsapps.com/start\n";
    let s = session(dir.path(), config, "", &[], Some("r"));
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let key = crate::cache::role_cache_key(&crate::cache::RoleKeyParams {
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        role_session_name: Some("me".into()),
        ..Default::default()
    });
    let cache = dir.path().join(".aws/cli/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join(format!("{key}.json")),
        r#"{"Credentials": {"AccessKeyId": "ASIACACHED", "SecretAccessKey": "cachedsecret", "SessionToken": "cachedtoken", "Expiration": "2023-11-14T23:00:00Z"}}"#,
    )
    .unwrap();
    let sso = dir.path().join(".aws/sso/cache");
    std::fs::create_dir_all(&sso).unwrap();
    std::fs::write(
        sso.join(format!("{}.json", crate::cache::sso_token_key("corp"))),
        r#"{"accessToken": "ssotokenvalue", "expiresAt": "2023-11-15T00:00:00Z"}"#,
    )
    .unwrap();
    let e = explain(
        &s,
        &ExplainOptions {
            now: Some(now),
            ..Default::default()
        },
    );
    let hop = &e.credentials.hops[0];
    let c = hop.cache.as_ref().unwrap();
    assert_eq!(
        (c.state, c.expiration.as_deref()),
        (CacheState::Fresh, Some("2023-11-14T23:00:00Z"))
    );
    assert_eq!(c.remaining_seconds, Some(2_800));
    let base = e.credentials.base.as_ref().unwrap();
    assert_eq!(base.provider, "sso");
    assert_eq!(e.credentials.source_profiles, vec!["r", "s"]);
    let token = base.token_cache.as_ref().unwrap();
    assert_eq!(token.state, CacheState::Fresh);
    let region = base
        .settings
        .iter()
        .find(|s| s.name == "sso_region")
        .unwrap();
    assert!(
        matches!(&region.source, Source::File { section, line: 10, .. } if section == "sso-session corp")
    );
    let json = serde_json::to_string(&e).unwrap();
    for secret in ["cachedsecret", "cachedtoken", "ssotokenvalue"] {
        assert!(!json.contains(secret), "{secret} leaked");
    }
}

#[test]
fn mfa_sessions_are_reported_with_their_cache_entry() {
    let dir = tempfile::tempdir().unwrap();
    let serial = "arn:aws:iam::123456789012:mfa/u";
    let s = session(
        dir.path(),
        &format!(
            "[profile s1]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = base\n\
             mfa_serial = {serial}\nmfa_session = true\nduration_seconds = 7200\n\n\
             [profile s2]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = s1\n\
             mfa_serial = {serial}\nmfa_session = true\nmfa_process = echo 123456\n\n\
             [profile plain]\nrole_arn = arn:aws:iam::123456789012:role/c\nsource_profile = base\n\
             mfa_serial = {serial}\nmfa_prompt = ykman\n"
        ),
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = verysecretvalue/abcd\n",
        &[],
        Some("s2"),
    );
    // The session of `serial`, cached with two hours left.
    let expires = crate::time::now() + time::Duration::hours(2);
    let cache = dir.path().join(".aws/cli/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join(format!("{}.json", crate::mfa::session_cache_key(serial))),
        serde_json::json!({"Credentials": {
            "AccessKeyId": "ASIASESSIONEXAMPLE01",
            "SecretAccessKey": "sessionsecretvalue",
            "SessionToken": "sessiontokenvalue",
            "Expiration": crate::time::format_z(expires),
        }})
        .to_string(),
    )
    .unwrap();
    let e = explain(&s, &ExplainOptions::default());
    let [first, second] = &e.credentials.hops[..] else {
        panic!("two hops: {:?}", e.credentials.hops)
    };
    // Hop 1 starts from base's long-term keys: assumed with the cached session, one hour at most.
    let m = first.mfa.as_ref().unwrap();
    assert_eq!(m.code_source, "terminal");
    let sess = m.session.as_ref().unwrap();
    assert_eq!(
        (sess.serial.as_str(), sess.duration, sess.used),
        (serial, 43_200, Some(true))
    );
    let c = sess.cache.as_ref().unwrap();
    assert_eq!(c.state, CacheState::Fresh);
    assert_eq!(
        c.expiration.as_deref(),
        Some(crate::time::format_z(expires).as_str())
    );
    assert_eq!(first.duration_used, Some(3600));
    // Hop 2's source is hop 1's role session: no MFA session, a code from mfa_process.
    let m = second.mfa.as_ref().unwrap();
    assert_eq!(m.code_source, "mfa_process");
    assert_eq!(m.session.as_ref().unwrap().used, Some(false));
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("sessionsecretvalue") && !json.contains("sessiontokenvalue"));
    // No mfa_session: a code per role, from ykman here.
    let s = session(dir.path(), &std::fs::read_to_string(dir.path().join(".aws/config")).unwrap(),
        "[base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = verysecretvalue/abcd\n",
        &[], Some("plain"));
    let e = explain(&s, &ExplainOptions::default());
    let m = e.credentials.hops[0].mfa.as_ref().unwrap();
    assert_eq!((m.code_source, m.session.is_none()), ("ykman", true));
}
