//! awsid's own client — the built `awsid` binary — against the identity plane:
//! `configure export-credentials` and `sts get-caller-identity` for the seed profiles
//! (`source_profile`, `credential_source = Ec2InstanceMetadata` and `EcsContainer`, seed 004's
//! files verbatim). Credentials awsid exports are cross-checked with the AWS SDK for Rust.
//!
//! The binary is found by `awsid_interop::awsid_bin` (`$AWSID_BIN`, else `target/debug/awsid`); the
//! test fails with instructions when it has not been built.

mod common;

use aws_credential_types::Credentials;
use awsid_interop::seed::{self, assumed, ACCOUNT, OTHER_ACCOUNT};
use awsid_interop::{expect_success, run_awsid};
use common::{arn_of, Home, Plane};

/// Runs awsid with exactly the home's variables.
fn awsid(home: &Home, args: &[&str]) -> std::process::Output {
    let vars = home.vars();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_awsid(&env, args)
}

/// `sts get-caller-identity --output json [--profile p]` → (UserId, Account, Arn).
fn caller_identity(home: &Home, profile: Option<&str>) -> (String, String, String) {
    let mut args = vec!["sts", "get-caller-identity", "--output", "json"];
    if let Some(p) = profile {
        args.extend(["--profile", p]);
    }
    let out = awsid(home, &args);
    let text = expect_success(&out, &format!("awsid {args:?}"));
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let field = |k: &str| {
        doc[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k}: {text}"))
            .to_string()
    };
    (field("UserId"), field("Account"), field("Arn"))
}

/// `configure export-credentials [--profile p]` (process format) → the credentials, checked
/// for the process-credential document's shape.
fn export_credentials(home: &Home, profile: Option<&str>) -> Credentials {
    let mut args = vec!["configure", "export-credentials"];
    if let Some(p) = profile {
        args.extend(["--profile", p]);
    }
    let out = awsid(home, &args);
    let text = expect_success(&out, &format!("awsid {args:?}"));
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e})"));
    assert_eq!(doc["Version"], 1);
    let s = |k: &str| doc[k].as_str().map(str::to_string);
    let expiration = s("Expiration").expect("temporary credentials carry an Expiration");
    // `2026-01-01T00:00:00Z`-like (v2's format), in the future.
    let expires = parse_utc(&expiration);
    assert!(expires > std::time::SystemTime::now(), "{expiration}");
    Credentials::new(
        s("AccessKeyId").expect("AccessKeyId"),
        s("SecretAccessKey").expect("SecretAccessKey"),
        s("SessionToken"),
        Some(expires),
        "awsid export-credentials",
    )
}

/// `YYYY-MM-DDTHH:MM:SS(+00:00|Z)` → time (civil-from-days, UTC only).
fn parse_utc(text: &str) -> std::time::SystemTime {
    let t = text.trim_end_matches('Z').trim_end_matches("+00:00");
    let n = |r: std::ops::Range<usize>| -> i64 {
        t.get(r.clone())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad timestamp {text:?}"))
    };
    assert_eq!(t.len(), 19, "bad timestamp {text:?}");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    let secs = days * 86400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64)
}

/// True when `arn` is `…:assumed-role/<role>/botocore-session-<unix seconds>` (the CLI's
/// default session name).
fn is_cli_session(arn: &str, account: &str, role: &str) -> bool {
    arn.strip_prefix(&assumed(account, role, "botocore-session-"))
        .is_some_and(|s| s.len() >= 10 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// Seed 001 verbatim (`[marketingadmin]` in the credentials file, `source_profile = user1`).
#[test]
fn marketingadmin_via_source_profile_user1() {
    let plane = Plane::start();
    let home = Home::new()
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
             [marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
             source_profile = user1\n",
            seed::USER1_KEY.0,
            seed::USER1_KEY.1
        ))
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
    let (user_id, account, arn) = caller_identity(&home, Some("marketingadmin"));
    assert!(is_cli_session(&arn, ACCOUNT, "marketingadminrole"), "{arn}");
    assert!(
        user_id.starts_with("AROAMARKETINGADMIN001:botocore-session-"),
        "{user_id}"
    );
    assert_eq!(account, ACCOUNT);

    let creds = export_credentials(&home, Some("marketingadmin"));
    assert!(creds.access_key_id().starts_with("ASIA"));
    // The exported credentials work for another client (the Rust SDK), and are the cached
    // ones: the same session as the call above.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), arn);

    // AWS_PROFILE selects the profile just as --profile does.
    let home = home.var("AWS_PROFILE", "marketingadmin");
    assert_eq!(caller_identity(&home, None).2, arn);
}

/// Seed 000 verbatim: `credential_source = Ec2InstanceMetadata` on both instances (tokens
/// optional, and IMDSv2 required).
#[test]
fn marketingadmin_via_ec2_instance_metadata() {
    let plane = Plane::start();
    for instance in [seed::OPTIONAL_INSTANCE, seed::REQUIRED_INSTANCE] {
        let home = Home::new()
            .config(
                "[profile marketingadmin]\n\
                 role_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
                 credential_source = Ec2InstanceMetadata\nregion = us-west-2\n",
            )
            .unset("AWS_REGION")
            .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
            .var(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                plane.imds_url(instance),
            );
        let (_, _, arn) = caller_identity(&home, Some("marketingadmin"));
        assert!(
            is_cli_session(&arn, ACCOUNT, "marketingadminrole"),
            "{instance}: {arn}"
        );
        let creds = export_credentials(&home, Some("marketingadmin"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(arn_of(&plane, &creds)), arn, "{instance}");
    }
}

/// The instance role itself (no profile, no keys: the chain ends at instance metadata).
#[test]
fn instance_role_is_the_default_credential() {
    let plane = Plane::start();
    let home = Home::new()
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            plane.imds_url(seed::OPTIONAL_INSTANCE),
        );
    let (user_id, _, arn) = caller_identity(&home, None);
    assert_eq!(
        arn,
        assumed(ACCOUNT, "my-instance-profile", seed::OPTIONAL_INSTANCE)
    );
    assert_eq!(
        user_id,
        format!("AROAINSTANCEEXAMPLE01:{}", seed::OPTIONAL_INSTANCE)
    );
    let creds = export_credentials(&home, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), arn);
}

/// Seed 004's long-term and short-term files verbatim; `[profile user1]` has `output=text`.
#[test]
fn seed004_long_and_short_term_files() {
    let plane = Plane::start();
    let config = "[default]\nregion=us-west-2\noutput=json\n\n[profile user1]\nregion=us-east-1\noutput=text\n";
    let long = "[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\n\
                aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n\
                [user1]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\n\
                aws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n";
    let short = format!(
        "[default]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
         aws_session_token = {}\n\
         [user1]\naws_access_key_id=ASIAI44QH8DHBEXAMPLE\n\
         aws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n\
         aws_session_token = {}\n",
        seed::IQOJ_TOKEN,
        seed::FCZIB_TOKEN
    );
    for credentials in [long.to_string(), short] {
        let home = Home::new()
            .config(config)
            .credentials(&credentials)
            .unset("AWS_REGION")
            .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
        assert_eq!(
            caller_identity(&home, None),
            (
                "AIDADEFAULTEXAMPLE001".to_string(),
                ACCOUNT.to_string(),
                seed::DEFAULT_USER_ARN.to_string()
            )
        );
        // user1's own `output = text`.
        let out = awsid(&home, &["sts", "get-caller-identity", "--profile", "user1"]);
        let text = expect_success(&out, "get-caller-identity --profile user1");
        assert_eq!(
            text,
            format!("{ACCOUNT}\t{}\tAIDAUSER1EXAMPLE00001\n", seed::USER1_ARN)
        );
    }
}

/// Seed 004's "IAM role" files verbatim: short-term `[default]` → cross-account `user1role`
/// with `role_session_name = session_user1`.
#[test]
fn seed004_iam_role_files_cross_account() {
    let plane = Plane::start();
    let home = Home::new()
        .credentials(&format!(
            "[default]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\n\
             aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
             aws_session_token = {}\n",
            seed::IQOJ_TOKEN
        ))
        .config(
            "[default]\nregion=us-west-2\noutput=json\n\n\
             [profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n\
             source_profile=default\nrole_session_name=session_user1\nregion=us-east-1\noutput=text\n",
        )
        .unset("AWS_REGION")
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
    let want = assumed(OTHER_ACCOUNT, "user1role", "session_user1");
    let (user_id, account, arn) = caller_identity(&home, Some("user1"));
    assert_eq!(
        (account.as_str(), arn.as_str()),
        (OTHER_ACCOUNT, want.as_str())
    );
    assert_eq!(user_id, "AROAUSER1ROLEEXAMPLE1:session_user1");
    let creds = export_credentials(&home, Some("user1"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), want);
}

/// Seed 004's "instance metadata" config verbatim: `[default]` → defaultrole, `[profile
/// user1]` → the cross-account user1role.
#[test]
fn seed004_instance_metadata_config() {
    let plane = Plane::start();
    let home = Home::new()
        .config(
            "[default]\nrole_arn=arn:aws:iam::123456789012:role/defaultrole\n\
             credential_source=Ec2InstanceMetadata\nregion=us-west-2\noutput=json\n\n\
             [profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n\
             credential_source=Ec2InstanceMetadata\nregion=us-east-1\noutput=text\n",
        )
        .unset("AWS_REGION")
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            plane.imds_url(seed::OPTIONAL_INSTANCE),
        );
    let (_, _, arn) = caller_identity(&home, None);
    assert!(is_cli_session(&arn, ACCOUNT, "defaultrole"), "{arn}");
    let (_, account, arn) = caller_identity(&home, Some("user1"));
    assert_eq!(account, OTHER_ACCOUNT);
    assert!(is_cli_session(&arn, OTHER_ACCOUNT, "user1role"), "{arn}");
    let creds = export_credentials(&home, Some("user1"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), arn);
}

/// Container credentials (full URI + token) directly, and as `credential_source =
/// EcsContainer` for a role that trusts the task role.
#[test]
fn ecs_container_credentials_and_credential_source() {
    let plane = Plane::with_extra(common::ECS_CHAINED_ROLE);
    let home = Home::new()
        .config(
            "[profile ecs]\nrole_arn = arn:aws:iam::123456789012:role/ecs-chained-role\n\
             credential_source = EcsContainer\n",
        )
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
        .var("AWS_CONTAINER_AUTHORIZATION_TOKEN", seed::ECS_TOKEN);
    let task = assumed(ACCOUNT, "ecs-task-role", seed::ECS_TASK);
    assert_eq!(caller_identity(&home, None).2, task);
    let creds = export_credentials(&home, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), task);

    let (_, _, arn) = caller_identity(&home, Some("ecs"));
    assert!(is_cli_session(&arn, ACCOUNT, "ecs-chained-role"), "{arn}");
    let creds = export_credentials(&home, Some("ecs"));
    assert_eq!(rt.block_on(arn_of(&plane, &creds)), arn);
}

/// A refusal from the plane reaches the user as the service's error code and message, with
/// the CLI's service-error exit status, and no secret in the output.
#[test]
fn access_denied_is_reported_with_its_code() {
    let plane = Plane::start();
    let home = Home::new()
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
             [instance-role]\nrole_arn = arn:aws:iam::123456789012:role/my-instance-profile\n\
             source_profile = user1\n",
            seed::USER1_KEY.0,
            seed::USER1_KEY.1
        ))
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
    for args in [
        &["sts", "get-caller-identity", "--profile", "instance-role"][..],
        &[
            "configure",
            "export-credentials",
            "--profile",
            "instance-role",
        ][..],
    ] {
        let out = awsid(&home, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains("AccessDenied"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not authorized to perform: sts:AssumeRole"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains(seed::USER1_KEY.1),
            "secret in the error output"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn parse_utc_reads_both_offsets() {
    let t = parse_utc("2026-01-01T00:00:00Z");
    assert_eq!(
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
        1_767_225_600
    );
    assert_eq!(
        parse_utc("2026-01-01T00:00:01+00:00"),
        t + std::time::Duration::from_secs(1)
    );
    assert_eq!(
        parse_utc("2000-02-29T12:34:56Z")
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        951_827_696
    );
}
