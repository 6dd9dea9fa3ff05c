//! Property tests: whatever is signed verifies, and any single meaningful change to a signed
//! request makes verification fail.

use awsid_sigv4::{
    parse_authorization, presign_query, sign_headers, verify, Credentials, SessionTokenMode,
    SignableRequest, SigningParams, SigningSettings, VerifyError, VerifySettings,
};
use proptest::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An owned request plus everything needed to sign it.
#[derive(Debug, Clone)]
struct Case {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    access_key: String,
    secret: String,
    token: Option<String>,
    region: String,
    service: String,
    time: SystemTime,
    normalize: bool,
    double_encode: bool,
    payload_checksum: bool,
    token_after: bool,
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,10}".prop_filter("signer-owned names", |n| {
        let l = n.to_ascii_lowercase();
        !l.starts_with("x-amz-") && l != "authorization"
    })
}

fn header_value() -> impl Strategy<Value = String> {
    // Printable ASCII with spaces and tabs, sometimes an obs-fold continuation.
    "[ -~\t]{0,20}(\r?\n[ \t][ -~]{0,10})?"
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(("[^&=#X]{0,8}", prop::option::of("[^&#]{0,8}")), 0..5).prop_map(
        |pairs| {
            pairs
                .into_iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{n}={v}"),
                    None => n,
                })
                .collect::<Vec<_>>()
                .join("&")
        },
    )
}

prop_compose! {
    fn case()(
        method in "[A-Z]{1,7}",
        path in "(/[^/?#]{0,10}){0,5}/?",
        query in query(),
        headers in prop::collection::vec((header_name(), header_value()), 0..6),
        host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        body in prop::collection::vec(any::<u8>(), 0..64),
        access_key in "[A-Z0-9]{4,20}",
        secret in "[ -~]{1,40}",
        token in prop::option::of("[A-Za-z0-9/+=]{1,60}"),
        region in "[a-z0-9-]{1,12}",
        service in "[a-z0-9-]{1,12}",
        secs in 0u64..4_102_444_800,
        normalize in any::<bool>(),
        double_encode in any::<bool>(),
        payload_checksum in any::<bool>(),
        token_after in any::<bool>(),
    ) -> Case {
        let mut all = vec![("Host".to_owned(), host)];
        all.extend(headers);
        Case {
            method, path, query, headers: all, body, access_key, secret, token, region, service,
            time: UNIX_EPOCH + Duration::from_secs(secs),
            normalize, double_encode, payload_checksum, token_after,
        }
    }
}

impl Case {
    fn credentials(&self) -> Credentials {
        Credentials::new(&self.access_key, &self.secret, self.token.clone())
    }

    fn settings(&self) -> SigningSettings {
        SigningSettings {
            normalize_path: self.normalize,
            double_encode_path: self.double_encode,
            payload_checksum: self.payload_checksum,
            session_token_mode: if self.token_after {
                SessionTokenMode::AfterSigning
            } else {
                SessionTokenMode::Signed
            },
            expires_in: Duration::from_secs(900),
        }
    }

    fn verify_settings(&self) -> VerifySettings {
        VerifySettings {
            normalize_path: self.normalize,
            double_encode_path: self.double_encode,
            ..VerifySettings::default()
        }
    }
}

/// A request as the server would receive it.
#[derive(Debug, Clone)]
struct Wire {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn check(w: &Wire, secret: &str, vs: &VerifySettings) -> Result<(), VerifyError> {
    let h: Vec<(&str, &str)> = w
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = SignableRequest::new(&w.method, &w.path, &w.query, &h, &w.body);
    let auth = parse_authorization(&req)?;
    verify(&req, &auth, secret, vs)
}

/// Signs `c` in the header form (`presign == false`) or the query form.
fn signed(c: &Case, presign: bool) -> Wire {
    let h: Vec<(&str, &str)> = c
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = SignableRequest::new(&c.method, &c.path, &c.query, &h, &c.body);
    let creds = c.credentials();
    let params = SigningParams {
        credentials: &creds,
        region: &c.region,
        service: &c.service,
        time: c.time,
        settings: c.settings(),
    };
    if presign {
        let out = presign_query(&req, &params).expect("presign");
        Wire {
            method: c.method.clone(),
            path: c.path.clone(),
            query: out.query,
            headers: c.headers.clone(),
            body: c.body.clone(),
        }
    } else {
        let out = sign_headers(&req, &params).expect("sign");
        let mut headers: Vec<(String, String)> = c
            .headers
            .iter()
            .filter(|(n, _)| !out.headers.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)))
            .cloned()
            .collect();
        headers.extend(
            out.headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone())),
        );
        Wire {
            method: c.method.clone(),
            path: c.path.clone(),
            query: c.query.clone(),
            headers,
            body: c.body.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Signature,
    Method,
    Path,
    Query,
    SignedHeader(usize),
    Body,
    Secret,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Signature),
        Just(Mutation::Method),
        Just(Mutation::Path),
        Just(Mutation::Query),
        (0usize..8).prop_map(Mutation::SignedHeader),
        Just(Mutation::Body),
        Just(Mutation::Secret),
    ]
}

/// Applies `m` and returns the error kinds verification may legitimately report.
fn apply(w: &mut Wire, secret: &mut String, m: Mutation, presign: bool) -> &'static str {
    match m {
        Mutation::Signature => {
            let flip = |s: &mut String, marker: &str| {
                let i = s.find(marker).expect("signature present") + marker.len();
                let mut b = std::mem::take(s).into_bytes();
                b[i] = if b[i] == b'0' { b'1' } else { b'0' };
                *s = String::from_utf8(b).unwrap();
            };
            if presign {
                flip(&mut w.query, "X-Amz-Signature=");
            } else {
                let auth = w
                    .headers
                    .iter_mut()
                    .find(|(n, _)| n == "Authorization")
                    .unwrap();
                flip(&mut auth.1, "Signature=");
            }
        }
        Mutation::Method => w.method.push('X'),
        // Appending a byte to the last segment changes the canonical URI under every
        // normalisation (it turns "", "." or ".." into a real segment, or alters one).
        Mutation::Path => w.path.push('x'),
        Mutation::Query => {
            if !w.query.is_empty() {
                w.query.push('&');
            }
            w.query.push_str("zz=1");
        }
        Mutation::SignedHeader(k) => {
            let auth = {
                let h: Vec<(&str, &str)> = w
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let req = SignableRequest::new(&w.method, &w.path, &w.query, &h, &w.body);
                parse_authorization(&req).expect("signed request parses")
            };
            // x-amz-date is left alone: changing it breaks the date, not the signature.
            let names: Vec<&str> = auth
                .signed_header_names()
                .filter(|n| *n != "x-amz-date")
                .collect();
            let name = names[k % names.len()].to_owned();
            let (_, v) = w
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .expect("signed header present");
            // A non-space byte at the end survives trimming and folding.
            v.push('x');
            if name == "x-amz-content-sha256" {
                return "content";
            }
        }
        Mutation::Body => {
            match w.body.last_mut() {
                Some(b) => *b ^= 0x01,
                None => w.body.push(b'x'),
            }
            if w.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
            {
                return "content";
            }
        }
        Mutation::Secret => secret.push('x'),
    }
    "signature"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_form_round_trips(c in case()) {
        let w = signed(&c, false);
        prop_assert_eq!(check(&w, &c.secret, &c.verify_settings()), Ok(()));
    }

    #[test]
    fn query_form_round_trips(c in case()) {
        let w = signed(&c, true);
        prop_assert_eq!(check(&w, &c.secret, &c.verify_settings()), Ok(()));
    }

    #[test]
    fn any_single_mutation_fails(c in case(), m in mutation(), presign in any::<bool>()) {
        let mut w = signed(&c, presign);
        let mut secret = c.secret.clone();
        let expect = apply(&mut w, &mut secret, m, presign);
        let got = check(&w, &secret, &c.verify_settings());
        match expect {
            "content" => prop_assert_eq!(got, Err(VerifyError::ContentSha256Mismatch)),
            _ => prop_assert!(
                matches!(got, Err(VerifyError::SignatureMismatch { .. })),
                "mutation {:?} gave {:?}", m, got
            ),
        }
    }
}
