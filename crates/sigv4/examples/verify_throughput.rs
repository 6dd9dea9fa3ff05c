//! Rough verification throughput: parse + time check + cached key + verify of a botocore-
//! shaped STS request (header form, signed session token), on 1 and 2 threads.
//!
//! Run with `cargo run -p awsid-sigv4 --release --example verify_throughput [iterations]`.
//! Numbers are indicative only; nothing asserts on them.

use awsid_sigv4::{
    check_time, parse_authorization, sign_headers, verify, verify_with_key, Credentials,
    SignableRequest, SigningKeyCache, SigningParams, SigningSettings, VerifySettings,
};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=s&DurationSeconds=900";

fn signed_headers() -> Vec<(String, String)> {
    let creds = Credentials::new("ASIAEXAMPLEEXAMPLE01", SECRET, Some("T".repeat(600)));
    let base = [
        ("Host", "127.0.0.1:4566"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
    ];
    let req = SignableRequest::new("POST", "/", "", &base, BODY);
    let params = SigningParams {
        credentials: &creds,
        region: "us-east-1",
        service: "sts",
        time: UNIX_EPOCH + Duration::from_secs(1_715_934_645),
        settings: SigningSettings::default(),
    };
    let out = sign_headers(&req, &params).expect("sign");
    let mut h: Vec<(String, String)> = base
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    h.extend(out.headers.into_iter().map(|(n, v)| (n.to_owned(), v)));
    h.push(("Content-Length".into(), BODY.len().to_string()));
    h
}

fn run(headers: &[(String, String)], cache: Option<&SigningKeyCache>, n: u64) {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let settings = VerifySettings::default();
    for _ in 0..n {
        let req = SignableRequest::new("POST", "/", "", &h, BODY);
        let auth = parse_authorization(&req).expect("parse");
        check_time(&auth, auth.timestamp, Duration::from_secs(900)).expect("time");
        match cache {
            Some(c) => {
                let key = c.key_for(SECRET, &auth.scope);
                verify_with_key(&req, &auth, &key, &settings).expect("verify");
            }
            None => verify(&req, &auth, SECRET, &settings).expect("verify"),
        }
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let headers = Arc::new(signed_headers());

    let t = Instant::now();
    run(&headers, None, n);
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("1 thread, key derived per request: {rate:>10.0} verifications/s");

    let cache = Arc::new(SigningKeyCache::new(4096));
    let t = Instant::now();
    run(&headers, Some(&cache), n);
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("1 thread, cached key:              {rate:>10.0} verifications/s");

    let t = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (h, c) = (headers.clone(), cache.clone());
            std::thread::spawn(move || run(&h, Some(&c), n))
        })
        .collect();
    for th in threads {
        th.join().expect("thread");
    }
    let rate = (2 * n) as f64 / t.elapsed().as_secs_f64();
    println!("2 threads, shared cache:           {rate:>10.0} verifications/s");
}
