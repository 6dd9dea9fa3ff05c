//! Runs every case of the cross-SDK vectors in `tests/conformance/` (or
//! `$AWSID_CONFORMANCE_DIR`, which overrides it): `assume-role-tests.json` as chain plans,
//! `imds-endpoint-tests.json` as the first IMDS request URL, `ecs-tests.json` as the container
//! URL, `login-provider-test-cases.json` through the `login` provider against a scripted
//! Sign-In endpoint. Where the vectors (Rust SDK) and the AWS CLI disagree, the case asserts the CLI's
//! behaviour and says why.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use awsid_credentials::container::{endpoint, ContainerEndpoint};
use awsid_credentials::http::{HttpRequest, HttpResponse, Transport, TransportError};
use awsid_credentials::imds::{ImdsConfig, ImdsOverrides, ImdsProvider};
use awsid_credentials::plan::{plan, Base, ProfileChain, Step};
use awsid_credentials::profiles::{properties, MemoryProfiles};
use awsid_credentials::Provider;
use awsid_profile::{Env, ProfileSet, Properties};
use serde_json::{json, Map, Value};

fn conformance_dir() -> PathBuf {
    let dir = match std::env::var("AWSID_CONFORMANCE_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance"),
    };
    assert!(
        dir.is_dir(),
        "conformance vectors not found at {} (AWSID_CONFORMANCE_DIR overrides the repository's tests/conformance)",
        dir.display()
    );
    dir
}

fn load(name: &str) -> Value {
    let path = conformance_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read conformance file {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn props(v: &Value) -> Properties {
    let pairs: Vec<(String, String)> = v
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    properties(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The vectors' JSON shape of a profile chain.
fn chain_json(chain: &ProfileChain) -> Value {
    let mut steps = Vec::new();
    let opt = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    steps.push(match &chain.base {
        Base::Static(k) => {
            let mut m = Map::new();
            m.insert("access_key_id".into(), json!(k.access_key_id));
            m.insert(
                "secret_access_key".into(),
                json!(k.secret_access_key.expose()),
            );
            opt(&mut m, "account_id", &k.account_id);
            json!({ "AccessKey": m })
        }
        Base::Named(n) => json!({ "NamedSource": n.name() }),
        Base::WebIdentity(w) => {
            let mut m = Map::new();
            m.insert("role_arn".into(), json!(w.role_arn));
            m.insert("web_identity_token_file".into(), json!(w.token_file));
            opt(&mut m, "role_session_name", &w.role_session_name);
            json!({ "WebIdentityToken": m })
        }
        Base::Sso(s) => {
            let mut m = Map::new();
            m.insert("sso_region".into(), json!(s.region));
            m.insert("sso_start_url".into(), json!(s.start_url));
            opt(&mut m, "sso_session", &s.session_name);
            m.insert("sso_account_id".into(), json!(s.account_id));
            m.insert("sso_role_name".into(), json!(s.role_name));
            json!({ "Sso": m })
        }
        Base::Process(p) => {
            let mut m = Map::new();
            m.insert("command".into(), json!(p.command));
            opt(&mut m, "account_id", &p.account_id);
            json!({ "CredentialProcess": m })
        }
        // Not a shape of these vectors (the login vectors have their own runner below).
        Base::Login(l) => json!({ "LoginSession": l.session }),
    });
    for r in &chain.roles {
        let mut m = Map::new();
        m.insert("role_arn".into(), json!(r.role_arn));
        opt(&mut m, "external_id", &r.external_id);
        opt(&mut m, "role_session_name", &r.role_session_name);
        steps.push(json!({ "AssumeRole": m }));
    }
    Value::Array(steps)
}

/// Cases where the CLI differs from the vectors, by index, with the CLI's behaviour.
fn assume_role_difference(index: usize) -> Option<&'static str> {
    match index {
        // The CLI has no "no credentials in profile" error: the profile providers all skip and
        // the chain goes on to the container/IMDS providers (here: nothing is found).
        11 => {
            Some("profile without credential keys: CLI falls through to container/IMDS, no error")
        }
        // The CLI triggers SSO only on sso_account_id or sso_role_name; this profile has
        // neither, so no profile provider applies and there is no error.
        25 => Some("sso_session + sso_region only: CLI does not trigger SSO, falls through"),
        // Same trigger rule: a profile with only sso_session does not use SSO in the CLI.
        26 => Some("sso_session only: CLI does not trigger SSO, no profile chain"),
        // Same trigger rule: the missing sso-session is never looked up by the CLI.
        27 => {
            Some("sso_session naming a missing section, no account/role: CLI does not trigger SSO")
        }
        _ => None,
    }
}

#[test]
fn assume_role_vectors_as_plans() {
    let cases = load("assume-role-tests.json");
    let cases = cases
        .as_array()
        .expect("assume-role-tests.json is an array");
    assert_eq!(cases.len(), 28, "case count changed");
    let env = Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]);
    let mut checked = 0;
    for (i, case) in cases.iter().enumerate() {
        let docs = case["docs"].as_str().unwrap_or("");
        let input = &case["input"];
        let mut data = MemoryProfiles::new();
        for (name, p) in input["profiles"].as_object().unwrap() {
            data = data.config(name, props(p));
        }
        if let Some(sessions) = input["sso_sessions"].as_object() {
            for (name, p) in sessions {
                data = data.sso_session(name, props(p));
            }
        }
        let selected = input["selected_profile"].as_str().unwrap();
        let result = plan(&data, &env, selected, true, true);
        if let Some(why) = assume_role_difference(i) {
            let plan = result.unwrap_or_else(|e| panic!("case {i} ({docs}): {why}; got error {e}"));
            assert!(
                plan.profile_chain().is_none(),
                "case {i} ({docs}): {why}; got {:?}",
                plan.steps
            );
            assert!(
                plan.steps.contains(&Step::BotoConfig),
                "case {i}: falls through"
            );
            checked += 1;
            continue;
        }
        match (&case["output"]["ProfileChain"], &case["output"]["Error"]) {
            (Value::Array(_), _) => {
                let plan =
                    result.unwrap_or_else(|e| panic!("case {i} ({docs}): unexpected error {e}"));
                let chain = plan
                    .profile_chain()
                    .unwrap_or_else(|| panic!("case {i} ({docs}): no profile chain"));
                assert_eq!(
                    chain_json(chain),
                    case["output"]["ProfileChain"],
                    "case {i} ({docs})"
                );
            }
            (_, Value::String(fragment)) => {
                // Error texts are the CLI's, not the Rust SDK's: only the failure is compared.
                assert!(
                    result.is_err(),
                    "case {i} ({docs}): expected an error like {fragment:?}, got {:?}",
                    result.map(|p| p.steps)
                );
            }
            other => panic!("case {i}: unknown expectation {other:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
}

/// Records requests and answers none, so the first request URL can be read.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Transport for Recorder {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.lock().unwrap().push(request.url.clone());
        Err(TransportError::Connect("recorder answers nothing".into()))
    }
}

#[test]
fn imds_endpoint_vectors_first_request() {
    let doc = load("imds-endpoint-tests.json");
    let cases = doc["tests"].as_array().unwrap();
    assert_eq!(cases.len(), 14, "case count changed");
    for (i, case) in cases.iter().enumerate() {
        let docs = case["docs"].as_str().unwrap_or("");
        let env_map = case["env"].as_object().unwrap();
        let env = Env::from_pairs(
            env_map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
        // The virtual file system: the config file named by AWS_CONFIG_FILE.
        let config_text = env
            .get("AWS_CONFIG_FILE")
            .and_then(|p| case["fs"][p].as_str())
            .unwrap_or("");
        let set = ProfileSet::from_texts(config_text, "config".into(), "", "credentials".into())
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        let profile = set.profile("default").cloned().unwrap_or_default();
        // endpoint_override / mode_override are SDK builder settings; the CLI has no such
        // knob, so they map to the test-only override hook.
        let overrides = ImdsOverrides {
            endpoint: case["endpoint_override"].as_str().map(str::to_string),
            mode: case["mode_override"].as_str().map(str::to_string),
        };
        let config = ImdsConfig::with_overrides(&env, &profile, &overrides);
        match (&case["result"]["Ok"], &case["result"]["Err"]) {
            (Value::String(url), _) => {
                let config = config.unwrap_or_else(|e| panic!("case {i} ({docs}): {e}"));
                let recorder = Arc::new(Recorder::default());
                let provider = ImdsProvider::with_transport(config, recorder.clone());
                let _ = provider.provide();
                let first = recorder.0.lock().unwrap().first().cloned();
                assert_eq!(first.as_deref(), Some(url.as_str()), "case {i} ({docs})");
            }
            (_, Value::String(fragment)) => {
                assert!(
                    config.is_err(),
                    "case {i} ({docs}): expected an error like {fragment:?}"
                );
            }
            other => panic!("case {i}: unknown expectation {other:?}"),
        }
    }
}

#[test]
fn ecs_vectors_urls() {
    let doc = load("ecs-tests.json");
    let cases = doc["tests"].as_array().unwrap();
    assert_eq!(cases.len(), 11, "case count changed");
    for (i, case) in cases.iter().enumerate() {
        let docs = case["docs"].as_str().unwrap_or("");
        let env = Env::from_pairs(
            case["env"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
        let result = endpoint(&env);
        match (&case["result"]["Ok"], &case["result"]["ErrorContains"]) {
            (Value::String(url), _) => {
                assert_eq!(
                    result.unwrap_or_else(|e| panic!("case {i} ({docs}): {e}")),
                    ContainerEndpoint::Url(url.clone()),
                    "case {i} ({docs})"
                );
            }
            (_, Value::String(fragment)) if env.iter().next().is_none() => {
                // Difference: the Rust SDK errors ("No environment variables were set…"); in
                // the CLI the container provider is simply not applicable.
                assert_eq!(
                    result.unwrap(),
                    ContainerEndpoint::NotConfigured,
                    "case {i} ({docs}) vs {fragment:?}"
                );
            }
            (_, Value::String(fragment)) => {
                assert!(
                    result.is_err(),
                    "case {i} ({docs}): expected an error like {fragment:?}"
                );
            }
            other => panic!("case {i}: unknown expectation {other:?}"),
        }
    }
}

/// Answers `CreateOAuth2Token` with a case's mock (the body is the `tokenOutput` member, as
/// rest-json puts a payload member), checking the request's `tokenInput` and that it carries
/// a DPoP proof.
struct SigninMock {
    call: Option<Value>,
    calls: Mutex<usize>,
}

impl Transport for SigninMock {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        *self.calls.lock().unwrap() += 1;
        let call = self.call.as_ref().expect("no call expected");
        assert!(request.url.ends_with("/v1/token"), "{}", request.url);
        assert!(request
            .headers
            .iter()
            .any(|(k, v)| k == "DPoP" && v.split('.').count() == 3));
        let sent: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent, call["request"]["tokenInput"], "tokenInput");
        if let Some(status) = call["responseCode"].as_u64() {
            return Ok(HttpResponse {
                status: status as u16,
                headers: vec![("x-amzn-ErrorType".into(), "ValidationException".into())],
                body: br#"{"error": "INVALID_REQUEST", "message": "refused by the test"}"#.to_vec(),
            });
        }
        Ok(HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: call["response"]["tokenOutput"].to_string().into_bytes(),
        })
    }
}

#[test]
fn login_provider_vectors() {
    use awsid_credentials::login::{LoginCache, LoginProvider};
    use awsid_credentials::refresh::SharedCredentials;
    use awsid_credentials::services::Services;
    use time::OffsetDateTime;

    let doc = load("login-provider-test-cases.json");
    let cases = doc.as_array().unwrap();
    assert_eq!(cases.len(), 8, "case count changed");
    // The upstream runner's fixed clock (tests/conformance/README.md).
    let now = OffsetDateTime::from_unix_timestamp(1_763_510_400).unwrap();
    let clock: awsid_credentials::refresh::Clock = Arc::new(move || now);
    let mut outcomes = (0, 0, 0);
    for (i, case) in cases.iter().enumerate() {
        let what = format!("case {i} ({})", case["documentation"].as_str().unwrap());
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aws/login/cache")).unwrap();
        std::fs::write(
            home.path().join(".aws/config"),
            case["configContents"].as_str().unwrap(),
        )
        .unwrap();
        for (name, content) in case["cacheContents"].as_object().unwrap() {
            std::fs::write(
                home.path().join(".aws/login/cache").join(name),
                content.to_string(),
            )
            .unwrap();
        }
        let env = Env::from_pairs([
            ("HOME", home.path().display().to_string()),
            ("AWS_ENDPOINT_URL_SIGNIN", "http://signin.test".to_string()),
        ]);
        let profiles = ProfileSet::load(&awsid_profile::Locations::from_env(&env)).unwrap();
        let planned = plan(&profiles, &env, "signin", true, true).unwrap();
        let Some(Step::Profile(ProfileChain {
            base: Base::Login(step),
            roles,
        })) = planned.steps.first()
        else {
            panic!("{what}: not planned as a login step: {planned:?}");
        };
        assert!(roles.is_empty());
        let mock = Arc::new(SigninMock {
            call: case["mockApiCalls"]
                .as_array()
                .and_then(|c| c.first())
                .cloned(),
            calls: Mutex::new(0),
        });
        let services = Services::new(
            env.clone(),
            Properties::default(),
            None,
            Some("us-east-2".into()),
        )
        .with_transport(mock.clone());
        let provider = Arc::new(
            LoginProvider::new(step.clone(), Arc::new(services))
                .with_cache(LoginCache::new(home.path().join(".aws/login/cache")))
                .with_clock(clock.clone()),
        );
        // The chain's path: the cached credentials first, refreshed on use when due.
        let result = provider.load_cached().and_then(|initial| {
            SharedCredentials::with_initial(initial, provider.clone())
                .with_clock(clock.clone())
                .get()
        });
        for outcome in case["outcomes"].as_array().unwrap() {
            match outcome["result"].as_str().unwrap() {
                "credentials" => {
                    outcomes.0 += 1;
                    let c = result.as_ref().unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(c.access_key_id, outcome["accessKeyId"], "{what}");
                    assert_eq!(
                        c.secret_access_key.expose(),
                        outcome["secretAccessKey"],
                        "{what}"
                    );
                    assert_eq!(
                        c.session_token.as_ref().unwrap().expose(),
                        outcome["sessionToken"],
                        "{what}"
                    );
                    assert_eq!(
                        c.account_id.as_deref(),
                        outcome["accountId"].as_str(),
                        "{what}"
                    );
                    // Stricter than the upstream runner: the expiry too.
                    assert_eq!(
                        awsid_credentials::time::format_z(c.expiry.unwrap()),
                        outcome["expiresAt"].as_str().unwrap(),
                        "{what}"
                    );
                }
                "error" => {
                    outcomes.1 += 1;
                    assert!(result.is_err(), "{what}: expected an error");
                }
                "cacheContents" => {
                    outcomes.2 += 1;
                    for (name, expected) in outcome.as_object().unwrap() {
                        if name == "result" {
                            continue;
                        }
                        let path = home.path().join(".aws/login/cache").join(name);
                        let written: Value =
                            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                        // Stricter than the upstream runner: the whole file, not two fields.
                        assert_eq!(&written, expected, "{what}: {name}");
                    }
                }
                other => panic!("{what}: unknown outcome {other}"),
            }
        }
        // Each mocked call is made exactly once; cases without one make none.
        let expected_calls = case["mockApiCalls"].as_array().map_or(0, Vec::len);
        assert_eq!(*mock.calls.lock().unwrap(), expected_calls, "{what}: calls");
    }
    assert_eq!(outcomes, (2, 6, 1), "outcome counts changed");
}
