//! Every case of the cross-SDK vectors `profile-parser-tests.json` and
//! `file-location-tests.json`, by position.
//!
//! The reference CLI has the last word: each parser case is first checked against botocore's
//! reading of the same input (`fixtures/parser-vectors-botocore.json`, produced by
//! `fixtures/reference_corpus.py --conformance`), then against the vector. Where the vector
//! and the CLI disagree, the case must be listed in `DISAGREEMENTS` with the reason; a listed
//! case that stops disagreeing fails too.

use std::path::PathBuf;

use awsid_profile::{Env, Locations, ProfileSelection, ProfileSet, Properties, Value};
use serde_json::{Map, Value as Json};

/// The vectors: `$AWSID_CONFORMANCE_DIR` when set (an override), else the repository's copy in
/// `tests/conformance/`. Panics (never skips) when the folder does not exist.
fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("AWSID_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/conformance"
            ))
        });
    assert!(
        dir.is_dir(),
        "conformance vectors not found at {} (AWSID_CONFORMANCE_DIR overrides the repository's \
         tests/conformance)",
        dir.display()
    );
    dir
}

fn load(name: &str) -> Json {
    let path = conformance_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read conformance vector file {}: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// The cases where the vectors (the Rust SDK's behaviour) and the AWS CLI disagree in meaning;
/// for these the test asserts the CLI's behaviour (checked against botocore above).
const DISAGREEMENTS: &[(usize, &str)] = &[
    (
        2,
        "the CLI keeps [profile foo!bar]: any name that is two shell words is a profile",
    ),
    (16, "the CLI accepts `key : value` (':' is a delimiter)"),
    (
        20,
        "no inline comments in the CLI: ` # …` stays in the value",
    ),
    (
        21,
        "no inline comments in the CLI: ` ; …` stays in the value",
    ),
    (
        22,
        "no inline comments in the CLI: ` # … ; …` stays in the value",
    ),
    (
        23,
        "no inline comments in the CLI: a trailing ` ;` stays in the value",
    ),
    (34, "the CLI rejects a duplicate section in one file"),
    (35, "the CLI rejects a duplicate key in one section"),
    (36, "the CLI rejects a duplicate section in one file"),
    (37, "the CLI rejects a duplicate section in one file"),
    (
        38,
        "the CLI lets the later of [profile default]/[default] win wholesale",
    ),
    (
        40,
        "the CLI keeps the credentials section [in valid 2] under its literal name",
    ),
    (41, "the CLI keeps keys with inner spaces (`in valid`)"),
    (47, "the CLI accepts a sub-property with an empty name"),
    (51, "the CLI rejects [profile default] twice in one file"),
    (52, "the CLI rejects [profile default] twice in one file"),
    (
        55,
        "credentials sections are literal names: [profile foo] is profile `profile foo`",
    ),
    (
        59,
        "the CLI does not trim `[   profile foo    ]`: section ` profile foo ` is dropped",
    ),
    (
        60,
        "the CLI does not trim `[   foo    ]` in the credentials file",
    ),
];

/// Sub-property cases that differ from the vectors only in representation: the CLI parses
/// `s3 =` + indented lines into a map; rendered back to the vectors' string form they agree.
const REPRESENTATION_ONLY: &[usize] = &[44, 46, 48, 49];

/// Our properties in the vectors' shape: every value a string, sub-properties rendered as
/// `"\nkey = value"` lines.
fn render(props: &Properties) -> Json {
    let mut out = Map::new();
    for (k, v) in props.iter() {
        let text = match v {
            Value::Scalar(s) => s.clone(),
            Value::Nested(items) => items
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        format!("\n{k} =")
                    } else {
                        format!("\n{k} = {v}")
                    }
                })
                .collect(),
        };
        out.insert(k.to_owned(), Json::String(text));
    }
    Json::Object(out)
}

/// Our properties in the botocore fixture's shape (ordered pairs, nested maps as objects).
fn pairs(props: &Properties) -> Json {
    Json::Array(
        props
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Scalar(s) => Json::String(s.clone()),
                    Value::Nested(items) => Json::Object(
                        items
                            .iter()
                            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                            .collect(),
                    ),
                };
                Json::Array(vec![Json::String(k.to_owned()), v])
            })
            .collect(),
    )
}

fn matches_botocore(
    ours: &Result<ProfileSet, awsid_profile::LoadError>,
    reference: &Json,
) -> Result<(), String> {
    match (ours, reference.get("error")) {
        (Err(e), Some(which)) if e.path.to_str() == which.as_str() => Ok(()),
        (Err(e), Some(which)) => Err(format!("we fail on {:?}, botocore on {which}", e.path)),
        (Err(e), None) => Err(format!("we fail ({e}), botocore parses")),
        (Ok(_), Some(which)) => Err(format!("we parse, botocore fails on {which}")),
        (Ok(set), None) => {
            let names: Vec<&str> = reference["profiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[0].as_str().unwrap())
                .collect();
            if names != set.profile_names() {
                return Err(format!(
                    "profiles {:?} vs botocore {names:?}",
                    set.profile_names()
                ));
            }
            for p in reference["profiles"].as_array().unwrap() {
                let ours = pairs(set.profile(p[0].as_str().unwrap()).unwrap());
                if ours != p[1] {
                    return Err(format!("profile {}: {ours} vs botocore {}", p[0], p[1]));
                }
            }
            for s in reference["sso_sessions"].as_array().unwrap() {
                let ours = set.sso_session(s[0].as_str().unwrap()).map(pairs);
                if ours.as_ref() != Some(&s[1]) {
                    return Err(format!(
                        "sso-session {}: {ours:?} vs botocore {}",
                        s[0], s[1]
                    ));
                }
            }
            Ok(())
        }
    }
}

fn matches_vector(
    ours: &Result<ProfileSet, awsid_profile::LoadError>,
    output: &Json,
) -> Result<(), String> {
    if let Some(fragment) = output.get("errorContaining") {
        return match ours {
            Err(_) => Ok(()),
            Ok(_) => Err(format!("vector expects an error ({fragment}), we parse")),
        };
    }
    let set = ours
        .as_ref()
        .map_err(|e| format!("vector expects a result, we fail: {e}"))?;
    let config = &output["config"];
    let mut profiles = Map::new();
    for name in set.profile_names() {
        profiles.insert(name.to_owned(), render(set.profile(name).unwrap()));
    }
    if Json::Object(profiles.clone()) != config["profiles"] {
        return Err(format!(
            "profiles {} vs vector {}",
            Json::Object(profiles),
            config["profiles"]
        ));
    }
    let expected_sessions = config
        .get("sso_sessions")
        .cloned()
        .unwrap_or(Json::Object(Map::new()));
    for (name, props) in expected_sessions.as_object().unwrap() {
        let ours = set.sso_session(name).map(render);
        if ours.as_ref() != Some(props) {
            return Err(format!("sso-session {name}: {ours:?} vs vector {props}"));
        }
    }
    Ok(())
}

#[test]
fn profile_parser_vectors() {
    let vectors = load("profile-parser-tests.json");
    let tests = vectors["tests"].as_array().unwrap();
    let fixture: Json =
        serde_json::from_str(include_str!("fixtures/parser-vectors-botocore.json")).unwrap();
    let fixture = fixture.as_array().unwrap();
    assert_eq!(
        tests.len(),
        65,
        "profile-parser-tests.json changed: expected 65 cases"
    );
    assert_eq!(
        fixture.len(),
        tests.len(),
        "botocore fixture out of date; regenerate it"
    );
    let mut failures = Vec::new();
    let mut disagreeing = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let config = t["input"]
            .get("configFile")
            .and_then(Json::as_str)
            .unwrap_or("");
        let creds = t["input"]
            .get("credentialsFile")
            .and_then(Json::as_str)
            .unwrap_or("");
        let reference = &fixture[i];
        assert_eq!(
            (
                reference["config"].as_str(),
                reference["credentials"].as_str()
            ),
            (Some(config), Some(creds)),
            "case {i}: botocore fixture out of date; regenerate it"
        );
        let ours = ProfileSet::from_texts(config, "config".into(), creds, "credentials".into());
        if let Err(why) = matches_botocore(&ours, &reference["reference"]) {
            failures.push(format!(
                "case {i} ({}): differs from botocore: {why}",
                t["name"]
            ));
            continue;
        }
        if REPRESENTATION_ONLY.contains(&i) {
            let set = ours.as_ref().unwrap();
            let s3 = set.profile("foo").and_then(|p| p.get("s3"));
            assert!(
                matches!(s3, Some(Value::Nested(_))),
                "case {i}: the CLI's form is a map"
            );
        }
        let listed = DISAGREEMENTS.iter().find(|(idx, _)| *idx == i);
        match (matches_vector(&ours, &t["output"]), listed) {
            (Ok(()), None) => {}
            (Err(_), Some(_)) => disagreeing.push(i),
            (Err(why), None) => failures.push(format!("case {i} ({}): {why}", t["name"])),
            (Ok(()), Some((_, reason))) => failures.push(format!(
                "case {i} ({}) is listed as a CLI disagreement ({reason}) but now agrees with the vector",
                t["name"]
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The conformance README counts 23: 19 in meaning plus 4 in representation only.
    assert_eq!(disagreeing.len(), DISAGREEMENTS.len());
    assert_eq!(DISAGREEMENTS.len() + REPRESENTATION_ONLY.len(), 23);
}

#[test]
fn file_location_vectors() {
    let vectors = load("file-location-tests.json");
    let tests = vectors["tests"].as_array().unwrap();
    assert_eq!(
        tests.len(),
        9,
        "file-location-tests.json changed: expected 9 cases"
    );
    let mut checked_home = 0;
    for (i, t) in tests.iter().enumerate() {
        let env = Env::from_pairs(
            t["environment"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
        );
        let locations = Locations::from_env(&env);
        if let Some(profile) = t.get("profile") {
            assert_eq!(
                ProfileSelection::resolve(None, &env).name,
                profile.as_str().unwrap(),
                "case {i}: profile"
            );
        }
        let expected = |key: &str| PathBuf::from(t[key].as_str().unwrap());
        if t["platform"] == "windows" {
            // awsid runs on Unix: Windows home lookup (USERPROFILE, HOMEDRIVE+HOMEPATH) and `\`
            // separators do not apply. An explicit file override is still used as written.
            for (var, key, ours) in [
                ("AWS_CONFIG_FILE", "configLocation", &locations.config_file),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    "credentialsLocation",
                    &locations.credentials_file,
                ),
            ] {
                if env.contains(var) {
                    assert_eq!(*ours, expected(key), "case {i}: {var} override");
                }
            }
            continue;
        }
        assert_eq!(
            locations.config_file,
            expected("configLocation"),
            "case {i}: config"
        );
        assert_eq!(
            locations.credentials_file,
            expected("credentialsLocation"),
            "case {i}: credentials"
        );
        checked_home += 1;
    }
    assert_eq!(checked_home, 4, "expected 4 non-Windows cases");
}
