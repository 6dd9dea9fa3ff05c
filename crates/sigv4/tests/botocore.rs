//! Real botocore-signed STS requests (fixtures made by `tests/data/gen_botocore_sts.py` with
//! the installed botocore): `verify` must accept each as sent, and signing the same request
//! must reproduce botocore's canonical request, string to sign and signature.

use awsid_sigv4::{
    check_time, parse_amz_date, parse_authorization, presign_query, sign_headers, verify, AuthForm,
    Credentials, SignableRequest, SigningParams, SigningSettings, VerifyError, VerifySettings,
};
use serde_json::Value;
use std::time::Duration;

const FIXTURE: &str = include_str!("data/botocore_sts.json");

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("fixture field {k:?} missing or not a string"))
}

fn pairs(v: &Value, k: &str) -> Vec<(String, String)> {
    v.get(k)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("fixture field {k:?} missing"))
        .iter()
        .map(|p| {
            let p = p.as_array().expect("header pair");
            (
                p[0].as_str().expect("name").to_owned(),
                p[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn cases() -> Vec<Value> {
    let v: Value = serde_json::from_str(FIXTURE).expect("botocore_sts.json is valid JSON");
    let cases = v["cases"].as_array().expect("cases").clone();
    assert_eq!(cases.len(), 6, "fixture should hold 6 cases");
    cases
}

/// Value of `name=` in an `Authorization` header or query string.
fn component<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(name)
        .unwrap_or_else(|| panic!("{name} not in {text}"))
        + name.len();
    let rest = &text[start..];
    &rest[..rest.find([',', '&']).unwrap_or(rest.len())]
}

#[test]
fn verify_accepts_botocore_requests_as_sent() {
    for case in cases() {
        let name = str_of(&case, "name");
        let headers = pairs(&case, "headers");
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let body = str_of(&case, "body").as_bytes();
        let req = SignableRequest::new(
            str_of(&case, "method"),
            str_of(&case, "path"),
            str_of(&case, "query"),
            &h,
            body,
        );
        let auth = parse_authorization(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(auth.access_key_id, str_of(&case, "access_key_id"), "{name}");
        assert_eq!(auth.scope.region, str_of(&case, "region"), "{name}");
        assert_eq!(auth.scope.service, "sts", "{name}");
        assert_eq!(
            auth.security_token.as_deref(),
            case["session_token"].as_str(),
            "{name}"
        );
        let skew = Duration::from_secs(15 * 60);
        check_time(&auth, auth.timestamp, skew).unwrap_or_else(|e| panic!("{name}: {e}"));
        let secret = str_of(&case, "secret_access_key");
        verify(&req, &auth, secret, &VerifySettings::default())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));

        // The same request with a changed body or the wrong secret must not verify.
        let mut changed = body.to_vec();
        match changed.last_mut() {
            Some(b) => *b ^= 1,
            None => changed.push(b'x'),
        }
        let bad = SignableRequest {
            body: &changed,
            ..req
        };
        assert!(
            matches!(
                verify(&bad, &auth, secret, &VerifySettings::default()),
                Err(VerifyError::SignatureMismatch { .. })
            ),
            "{name}: changed body verified"
        );
        assert!(
            verify(&req, &auth, "not-the-secret", &VerifySettings::default()).is_err(),
            "{name}: wrong secret verified"
        );
    }
}

#[test]
fn signing_reproduces_botocore() {
    for case in cases() {
        let name = str_of(&case, "name");
        let credentials = Credentials::new(
            str_of(&case, "access_key_id"),
            str_of(&case, "secret_access_key"),
            case["session_token"].as_str().map(str::to_owned),
        );
        let sent = pairs(&case, "headers");
        let host = sent
            .iter()
            .find(|(n, _)| n == "Host")
            .map(|(_, v)| v.clone())
            .expect("Host");
        // What botocore held when it signed, minus what our signer adds itself.
        let mut input = vec![("Host".to_owned(), host)];
        input.extend(
            pairs(&case, "headers_at_signing")
                .into_iter()
                .filter(|(n, _)| {
                    !n.eq_ignore_ascii_case("x-amz-date")
                        && !n.eq_ignore_ascii_case("x-amz-security-token")
                }),
        );
        let h: Vec<(&str, &str)> = input
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let sent_query = str_of(&case, "query");
        let presigned = sent_query.contains("X-Amz-Signature=");
        // A presigned URL's own operation parameters are the query it was signed over.
        let query: String = sent_query
            .split('&')
            .filter(|p| !p.starts_with("X-Amz-"))
            .collect::<Vec<_>>()
            .join("&");
        let req = SignableRequest::new(
            str_of(&case, "method"),
            str_of(&case, "path"),
            &query,
            &h,
            str_of(&case, "body").as_bytes(),
        );
        let mut settings = SigningSettings::default();
        if presigned {
            let expires: u64 = component(sent_query, "X-Amz-Expires=").parse().unwrap();
            settings.expires_in = Duration::from_secs(expires);
        }
        let params = SigningParams {
            credentials: &credentials,
            region: str_of(&case, "region"),
            service: str_of(&case, "service"),
            time: parse_amz_date(str_of(&case, "amz_date")).unwrap(),
            settings,
        };
        let want_creq = str_of(&case, "canonical_request");
        let want_sts = str_of(&case, "string_to_sign");
        if presigned {
            let out = presign_query(&req, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out.canonical_request, want_creq, "{name}");
            assert_eq!(out.string_to_sign, want_sts, "{name}");
            assert_eq!(
                out.signature,
                component(sent_query, "X-Amz-Signature="),
                "{name}"
            );
            // Parameter order differs from botocore's; the signed set is the same, so our
            // URL must verify too.
            let ours = SignableRequest {
                query: &out.query,
                ..req
            };
            let auth = parse_authorization(&ours).unwrap();
            assert_eq!(auth.form, AuthForm::Query);
            verify(
                &ours,
                &auth,
                credentials.secret_access_key(),
                &VerifySettings::default(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        } else {
            let out = sign_headers(&req, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out.canonical_request, want_creq, "{name}");
            assert_eq!(out.string_to_sign, want_sts, "{name}");
            let sent_auth = sent
                .iter()
                .find(|(n, _)| n == "Authorization")
                .map(|(_, v)| v.as_str())
                .expect("Authorization");
            assert_eq!(out.signature, component(sent_auth, "Signature="), "{name}");
            let ours = out
                .headers
                .iter()
                .find(|(n, _)| *n == "Authorization")
                .map(|(_, v)| v.as_str());
            assert_eq!(ours, Some(sent_auth), "{name}: Authorization header");
            for (n, v) in &out.headers {
                let botocore = sent.iter().find(|(sn, _)| sn.eq_ignore_ascii_case(n));
                assert_eq!(botocore.map(|(_, v)| v), Some(v), "{name}: header {n}");
            }
        }
    }
}
