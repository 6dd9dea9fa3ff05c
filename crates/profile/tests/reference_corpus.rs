//! Replays `fixtures/reference-corpus.json` — what the installed botocore reader and AWS CLI
//! writer did on a seeded corpus (regenerate with `fixtures/reference_corpus.py`) — against
//! the profile crate.
//!
//! * Reader: every case must agree exactly (errors, profile order, keys, values, nesting).
//! * Writer: where the CLI's edit is faithful (the file still parses and exactly the requested
//!   values changed), our bytes must equal the CLI's. Where the CLI corrupts the file, ours
//!   must be a faithful edit or a clean refusal — those cases are the documented divergences.

use awsid_profile::set::SectionKind;
use awsid_profile::writer::{apply_to, EditValue, FileKind, SectionEdit};
use awsid_profile::{ini, ProfileSet, Properties, Value};
use serde_json::Value as Json;

fn corpus() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference-corpus.json"
    );
    let text = std::fs::read_to_string(path).expect("reference corpus fixture missing");
    serde_json::from_str(&text).unwrap()
}

fn props_json(props: &Properties) -> Json {
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

fn named(entries: &Json, get: impl Fn(&str) -> Option<Json>) -> Result<(), String> {
    for entry in entries.as_array().unwrap() {
        let name = entry[0].as_str().unwrap();
        match get(name) {
            Some(ours) if ours == entry[1] => {}
            ours => {
                return Err(format!(
                    "section {name:?}: ours {ours:?}, reference {}",
                    entry[1]
                ))
            }
        }
    }
    Ok(())
}

#[test]
fn reader_matches_botocore_on_every_case() {
    let corpus = corpus();
    let cases = corpus["reader"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let id = &case["id"];
        let reference = &case["reference"];
        let ours = ProfileSet::from_texts(
            case["config"].as_str().unwrap(),
            "config".into(),
            case["credentials"].as_str().unwrap(),
            "credentials".into(),
        );
        let result = match (ours, reference.get("error")) {
            (Err(e), Some(which)) => {
                if e.path.to_str() == which.as_str() {
                    Ok(())
                } else {
                    Err(format!("error in {:?}, reference in {which}", e.path))
                }
            }
            (Err(e), None) => Err(format!("we fail ({e}), botocore parses")),
            (Ok(_), Some(which)) => Err(format!("we parse, botocore fails on {which}")),
            (Ok(set), None) => {
                // Look every profile up before anything builds the name index: the first
                // lookups are answered by scanning, the later ones by the index.
                let by_lookup = named(&reference["profiles"], |n| set.profile(n).map(props_json));
                let names: Vec<Json> = reference["profiles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p[0].clone())
                    .collect();
                let ours: Vec<Json> = set.profile_names().iter().map(|n| Json::from(*n)).collect();
                if names != ours {
                    Err(format!("profile order: ours {ours:?}, reference {names:?}"))
                } else if let Err(why) = by_lookup {
                    Err(format!("before the index: {why}"))
                } else {
                    named(&reference["profiles"], |n| set.profile(n).map(props_json))
                        .and(named(&reference["sso_sessions"], |n| {
                            set.sso_session(n).map(props_json)
                        }))
                        .and(named(&reference["services"], |n| {
                            set.services(n).map(props_json)
                        }))
                        .and(named(&reference["plain"], |n| {
                            set.plain_section(n).map(props_json)
                        }))
                }
            }
        };
        if let Err(why) = result {
            failures.push(format!("reader case {id}: {why}"));
        }
    }
    assert!(cases.len() >= 500, "corpus too small");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn writer_matches_the_cli_where_the_cli_is_faithful() {
    let corpus = corpus();
    let cases = corpus["writer"].as_array().unwrap();
    let mut failures = Vec::new();
    let (mut identical, mut divergent_ok, mut divergent_refused) = (0, 0, 0);
    for case in cases {
        let id = &case["id"];
        let kind = match case["kind"].as_str().unwrap() {
            "config" => FileKind::Config,
            _ => FileKind::Credentials,
        };
        let values = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                let key = kv[0].as_str().unwrap().to_owned();
                let value = match &kv[1] {
                    Json::String(s) => EditValue::Scalar(s.clone()),
                    Json::Object(m) => EditValue::Nested(
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                            .collect(),
                    ),
                    other => panic!("bad value {other}"),
                };
                (key, value)
            })
            .collect();
        let edit = SectionEdit {
            section: case["section"].as_str().unwrap().to_owned(),
            values,
        };
        let text = case["text"].as_str().unwrap();
        let ours = apply_to(kind, Some(text), &edit);
        let reference = &case["reference"];
        // The CLI matches headers literally: when the reader already maps another spelling
        // (`[profile\ta]`, `[profile default]`) to the target, the CLI appends a second section.
        // That is only harmless while the first one is empty; we edit the section the reader
        // uses instead, so those cases count as divergences, not as byte comparisons.
        let duplicated = reference["result"].as_str().is_some_and(|out| {
            headers_for(kind, &edit.section, out) > headers_for(kind, &edit.section, text).max(1)
        });
        let faithful = reference["faithful"].as_bool() == Some(true) && !duplicated;
        match (faithful, ours) {
            (true, Ok(out)) if out == reference["result"].as_str().unwrap() => identical += 1,
            (true, Ok(out)) => failures.push(format!(
                "writer case {id}: bytes differ\n--- input\n{text:?}\n--- cli\n{:?}\n--- ours\n{out:?}",
                reference["result"].as_str().unwrap()
            )),
            (true, Err(e)) => failures.push(format!("writer case {id}: we refuse ({e}), the CLI edits faithfully")),
            // apply_to re-reads its own result, so Ok here is a faithful edit.
            (false, Ok(_)) => divergent_ok += 1,
            (false, Err(_)) => divergent_refused += 1,
        }
    }
    eprintln!(
        "writer corpus: {identical} byte-identical, {divergent_ok} corrected where the CLI corrupts, \
         {divergent_refused} refused where the CLI corrupts"
    );
    assert!(identical > 400, "too few comparable cases: {identical}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// How many headers of `text` the reader maps to `section`.
fn headers_for(kind: FileKind, section: &str, text: &str) -> usize {
    let Ok(file) = ini::parse(text) else { return 0 };
    file.sections
        .iter()
        .filter(|s| match kind {
            FileKind::Credentials => s.name == section,
            FileKind::Config => {
                SectionKind::of_config_section(&s.name) == SectionKind::of_config_section(section)
            }
        })
        .count()
}

#[test]
fn shell_split_matches_python_shlex() {
    let corpus = corpus();
    let cases = corpus["shlex"].as_array().unwrap();
    assert!(cases.len() >= 400);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let ours = awsid_profile::shell::split(text);
        match (&ours, case.get("words"), case.get("error")) {
            (Ok(words), Some(expected), _) => {
                let expected: Vec<&str> = expected
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap())
                    .collect();
                assert_eq!(words, &expected, "shlex.split({text:?})");
            }
            (Err(e), None, Some(message)) => {
                assert_eq!(e.to_string(), message.as_str().unwrap(), "{text:?}")
            }
            _ => panic!("shlex.split({text:?}): ours {ours:?}, python {case}"),
        }
    }
}
