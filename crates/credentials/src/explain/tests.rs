use std::path::Path;

use awsid_profile::{Env, Locations, ProfileSet};

use super::*;

/// A session over files written under a temporary HOME.
fn session(home: &Path, config: &str, credentials: &str, env: &[(&str, &str)], flag: Option<&str>) -> Session {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    std::fs::write(home.join(".aws/credentials"), credentials).unwrap();
    let mut pairs = vec![("HOME", home.to_str().unwrap()), ("AWS_EC2_METADATA_DISABLED", "true")];
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
    assert!(matches!(&hop.role_arn.source, Source::File { line: 2, section, .. } if section == "profile dev"));
    assert_eq!(hop.external_id.as_ref().unwrap().value, "ext");
    assert_eq!(hop.duration_used, None);
    assert_eq!(hop.cache.as_ref().unwrap().state, CacheState::Absent);
    let base = e.credentials.base.as_ref().unwrap();
    assert_eq!(base.provider, "shared-credentials-file");
    assert_eq!(base.settings[1].value, "****************abcd");
    assert!(matches!(&e.region.source, Some(Source::File { line: 7, .. })));
    assert!(e.warnings.iter().any(|w| w.code == "duration-ignored"));
    assert_eq!(
        &statuses(&e)[..3],
        &[("env", Status::Skipped), ("assume-role", Status::Chosen), ("assume-role-with-web-identity", Status::NotReached)]
    );
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains("verysecretvalue"), "{json}");
}
