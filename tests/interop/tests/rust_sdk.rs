//! The unmodified AWS SDK for Rust (`aws-config` + `aws-sdk-sts`) against the identity plane:
//! STS calls with the seed credentials, the SDK's credential providers (profile assume-role
//! with `source_profile` and `credential_source`, IMDSv2, container, web identity) and the
//! parsing of the service's errors.
//!
//! Every test starts its own server on 127.0.0.1 (dropped, and so stopped, at the end) and
//! hands the SDK an explicit environment (`Home`): nothing reaches real AWS.

mod common;

use aws_config::imds;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_sdk_sts::operation::RequestId;
use awsid_interop::seed::{self, assumed, role_arn, ACCOUNT, OTHER_ACCOUNT};
use common::{arn_of, describe, is_generated_session, sts_with, Home, Plane};

// ------------------------------------------------------------------------- plain STS calls

#[tokio::test]
async fn get_caller_identity_with_seed_long_term_keys() {
    let plane = Plane::start();
    for ((key, secret), arn, user_id) in [
        (seed::USER1_KEY, seed::USER1_ARN, "AIDAUSER1EXAMPLE00001"),
        (
            seed::DEFAULT_KEY,
            seed::DEFAULT_USER_ARN,
            "AIDADEFAULTEXAMPLE001",
        ),
    ] {
        let out = sts_with(&plane, key, secret, None)
            .get_caller_identity()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {}", describe(&e)));
        assert_eq!(out.arn(), Some(arn));
        assert_eq!(out.account(), Some(ACCOUNT));
        assert_eq!(out.user_id(), Some(user_id));
        // The SDK reads the request id from ResponseMetadata.
        assert!(out.request_id().is_some_and(|id| !id.is_empty()));
    }
}

#[tokio::test]
async fn get_caller_identity_with_pre_issued_sessions() {
    let plane = Plane::start();
    for (key, secret, token, arn) in [
        // seed 004 short-term credentials file
        (
            seed::SHORT_DEFAULT_ID,
            seed::DEFAULT_KEY.1,
            seed::IQOJ_TOKEN,
            seed::DEFAULT_USER_ARN,
        ),
        (
            seed::SHORT_USER1_ID,
            seed::USER1_KEY.1,
            seed::FCZIB_TOKEN,
            seed::USER1_ARN,
        ),
        // seed 004 wizard: the long-term key id plus `aws configure set aws_session_token`
        (
            seed::DEFAULT_KEY.0,
            seed::DEFAULT_KEY.1,
            seed::FCZIB_TOKEN,
            seed::DEFAULT_USER_ARN,
        ),
    ] {
        let out = sts_with(&plane, key, secret, Some(token))
            .get_caller_identity()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {}", describe(&e)));
        assert_eq!(out.arn(), Some(arn), "{key}");
    }
}

#[tokio::test]
async fn assume_role_seed_roles_and_use_the_sessions() {
    let plane = Plane::start();
    let cases = [
        // (caller, role account, role, session name)
        (
            (seed::USER1_KEY.0, seed::USER1_KEY.1, None),
            ACCOUNT,
            "marketingadminrole",
            "interop-marketing",
        ),
        (
            (seed::DEFAULT_KEY.0, seed::DEFAULT_KEY.1, None),
            ACCOUNT,
            "defaultrole",
            "session_user1",
        ),
        // seed 004: short-term default credentials → cross-account user1role
        (
            (
                seed::SHORT_DEFAULT_ID,
                seed::DEFAULT_KEY.1,
                Some(seed::IQOJ_TOKEN),
            ),
            OTHER_ACCOUNT,
            "user1role",
            "session_user1",
        ),
    ];
    for ((key, secret, token), account, role, session) in cases {
        let before = std::time::SystemTime::now();
        let out = sts_with(&plane, key, secret, token)
            .assume_role()
            .role_arn(role_arn(account, role))
            .role_session_name(session)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{role}: {}", describe(&e)));
        let user = out.assumed_role_user().expect("AssumedRoleUser");
        assert_eq!(user.arn(), assumed(account, role, session));
        assert!(user.assumed_role_id().ends_with(&format!(":{session}")));
        let c = out.credentials().expect("Credentials");
        assert!(
            c.access_key_id().starts_with("ASIA"),
            "{}",
            c.access_key_id()
        );
        // Expiration parsed as a timestamp, about an hour away (the default duration).
        let expires = std::time::SystemTime::try_from(*c.expiration()).unwrap();
        let left = expires.duration_since(before).unwrap().as_secs();
        assert!((3500..=3700).contains(&left), "{role}: expires in {left} s");
        let who = sts_with(
            &plane,
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token()),
        )
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{role} session: {}", describe(&e)));
        assert_eq!(who.arn(), Some(assumed(account, role, session).as_str()));
        assert_eq!(who.account(), Some(account));
    }
}

// ------------------------------------------------------------------ error parsing

#[tokio::test]
async fn access_denied_parses_with_code_message_status_and_request_id() {
    let plane = Plane::start();
    let err = sts_with(&plane, seed::USER1_KEY.0, seed::USER1_KEY.1, None)
        .assume_role()
        .role_arn(role_arn(ACCOUNT, "my-instance-profile"))
        .role_session_name("s1")
        .send()
        .await
        .expect_err("the instance role trusts only ec2.amazonaws.com");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert!(err.request_id().is_some_and(|id| !id.is_empty()), "{err:?}");
    let service = err.into_service_error();
    // AccessDenied is none of AssumeRole's modeled errors: the SDK keeps it by its code.
    assert!(!service.is_expired_token_exception() && !service.is_region_disabled_exception());
    assert_eq!(service.code(), Some("AccessDenied"));
    assert_eq!(
        service.message(),
        Some(
            "User: arn:aws:iam::123456789012:user/user1 is not authorized to perform: \
             sts:AssumeRole on resource: arn:aws:iam::123456789012:role/my-instance-profile"
        )
    );
}

#[tokio::test]
async fn expired_token_parses_with_its_code() {
    let plane = Plane::with_extra(
        r#"
[[sessions]]
access_key_id = "ASIAEXPIREDEXAMPLE01"
secret_access_key = "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE"
session_token = "expiredSessionTokenExample"
principal = "arn:aws:iam::123456789012:user/user1"
expires = "2020-01-01T00:00:00Z"
"#,
    );
    let err = sts_with(
        &plane,
        "ASIAEXPIREDEXAMPLE01",
        "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE",
        Some("expiredSessionTokenExample"),
    )
    .get_caller_identity()
    .send()
    .await
    .expect_err("the session expired in 2020");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    let service = err.into_service_error();
    assert_eq!(service.code(), Some("ExpiredToken"));
    assert_eq!(
        service.message(),
        Some("The security token included in the request is expired")
    );
}

#[tokio::test]
async fn signature_key_and_validation_errors_parse() {
    let plane = Plane::start();
    let code_of = |e: aws_sdk_sts::error::SdkError<_, _>| {
        let status = e
            .raw_response()
            .map(|r: &aws_sdk_sts::config::http::HttpResponse| r.status().as_u16());
        let s: aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError =
            e.into_service_error();
        (status, s.code().map(str::to_string))
    };
    let e = sts_with(&plane, seed::USER1_KEY.0, "not-the-secret", None)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(e),
        (Some(403), Some("SignatureDoesNotMatch".into()))
    );
    let e = sts_with(&plane, "AKIAUNKNOWNEXAMPLE01", "x", None)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(e), (Some(403), Some("InvalidClientTokenId".into())));

    let e = sts_with(&plane, seed::USER1_KEY.0, seed::USER1_KEY.1, None)
        .assume_role()
        .role_arn(role_arn(ACCOUNT, "defaultrole"))
        .role_session_name("s1")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
    let s = e.into_service_error();
    assert_eq!(s.code(), Some("ValidationError"));
    assert_eq!(
        s.message(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
}

// ------------------------------------------------------------------ web identity

#[tokio::test]
async fn assume_role_with_web_identity_and_its_modeled_errors() {
    let plane = Plane::start();
    // AssumeRoleWithWebIdentity is unsigned: the client has no credentials at all.
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-west-2"))
        .endpoint_url(plane.sts_url())
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .http_client(common::http_client())
        .build();
    let client = aws_sdk_sts::Client::from_conf(conf);
    let call = |token: String| {
        client
            .assume_role_with_web_identity()
            .role_arn(role_arn(ACCOUNT, "web-identity-role"))
            .role_session_name("web")
            .web_identity_token(token)
            .send()
    };
    let out = call(plane.mint_token("alice", "sts.amazonaws.com", 3600))
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_eq!(out.subject_from_web_identity_token(), Some("alice"));
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some(assumed(ACCOUNT, "web-identity-role", "web").as_str())
    );

    // The modeled errors are recognised by their codes.
    let e = call(plane.mint_token("alice", "sts.amazonaws.com", -60))
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(e, AssumeRoleWithWebIdentityError::ExpiredTokenException(_)),
        "{e:?}"
    );
    let e = call(plane.mint_token("alice", "someone-else", 3600))
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(
            e,
            AssumeRoleWithWebIdentityError::InvalidIdentityTokenException(_)
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn web_identity_token_file_provider() {
    let plane = Plane::start();
    let home = Home::new();
    // With the trailing newline token files often have.
    let token = format!(
        "{}\n",
        plane.mint_token(
            "system:serviceaccount:default:app",
            "sts.amazonaws.com",
            3600
        )
    );
    let file = home.write("token", &token);
    let home = home
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
        .var("AWS_ROLE_ARN", role_arn(ACCOUNT, "web-identity-role"))
        .var("AWS_ROLE_SESSION_NAME", "web-session");
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert!(creds.expiry().is_some());
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "web-identity-role", "web-session")
    );
}

// ------------------------------------------------------------------ profile assume-role

/// Seed 001: `marketingadmin` assumes `marketingadminrole` with `user1`'s keys.
#[tokio::test]
async fn profile_source_profile_seed001() {
    let plane = Plane::start();
    let home = Home::new()
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
             [marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
             source_profile = user1\n",
            seed::USER1_KEY.0,
            seed::USER1_KEY.1
        ))
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var("AWS_PROFILE", "marketingadmin");
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert!(creds.access_key_id().starts_with("ASIA"));
    let arn = arn_of(&plane, &creds).await;
    assert!(
        is_generated_session(
            &arn,
            ACCOUNT,
            "marketingadminrole",
            "assume-role-from-profile-"
        ),
        "{arn}"
    );
    // The SDK's own STS client, built from the same configuration, reaches the plane through
    // AWS_ENDPOINT_URL_STS and signs with the assumed role.
    let conf = home.sdk_config().await;
    let out = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(out
        .arn()
        .unwrap()
        .starts_with(&assumed(ACCOUNT, "marketingadminrole", "")));
}

/// Seed 004 "IAM role" files verbatim: short-term `[default]`, `[profile user1]` assumes the
/// cross-account `user1role` with `role_session_name`.
#[tokio::test]
async fn profile_source_profile_seed004_cross_account() {
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
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var("AWS_PROFILE", "user1");
    let conf = home.sdk_config().await;
    assert_eq!(conf.region().map(|r| r.as_ref()), Some("us-east-1"));
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(OTHER_ACCOUNT, "user1role", "session_user1")
    );
}

/// Seeds 000/001: `credential_source = Ec2InstanceMetadata`, IMDS at
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
#[tokio::test]
async fn profile_credential_source_ec2_instance_metadata_seed000() {
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
            )
            .var("AWS_PROFILE", "marketingadmin");
        let creds = home.chain_credentials().await.unwrap_or_else(|e| {
            panic!(
                "{instance}: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            )
        });
        let arn = arn_of(&plane, &creds).await;
        assert!(
            is_generated_session(
                &arn,
                ACCOUNT,
                "marketingadminrole",
                "assume-role-from-profile-"
            ),
            "{instance}: {arn}"
        );
    }
}

/// Seed 004 "instance metadata" config file verbatim: `[default]` → defaultrole, `[profile
/// user1]` → the cross-account user1role, both from the instance role.
#[tokio::test]
async fn profile_credential_source_ec2_seed004() {
    let plane = Plane::start();
    let config = "[default]\nrole_arn=arn:aws:iam::123456789012:role/defaultrole\n\
                  credential_source=Ec2InstanceMetadata\nregion=us-west-2\noutput=json\n\n\
                  [profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n\
                  credential_source=Ec2InstanceMetadata\nregion=us-east-1\noutput=text\n";
    for (profile, account, role) in [
        ("default", ACCOUNT, "defaultrole"),
        ("user1", OTHER_ACCOUNT, "user1role"),
    ] {
        let home = Home::new()
            .config(config)
            .unset("AWS_REGION")
            .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
            .var(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                plane.imds_url(seed::OPTIONAL_INSTANCE),
            )
            .var("AWS_PROFILE", profile);
        let creds = home.chain_credentials().await.unwrap_or_else(|e| {
            panic!("{profile}: {}", aws_sdk_sts::error::DisplayErrorContext(&e))
        });
        let arn = arn_of(&plane, &creds).await;
        assert!(
            is_generated_session(&arn, account, role, "assume-role-from-profile-"),
            "{profile}: {arn}"
        );
    }
}

/// `credential_source = EcsContainer` with the full-URI container endpoint: a role that trusts
/// the task role works; one that does not fails with STS's refusal.
#[tokio::test]
async fn profile_credential_source_ecs_container() {
    let plane = Plane::with_extra(common::ECS_CHAINED_ROLE);
    let home = |role: &str| {
        Home::new()
            .config(&format!(
                "[profile ecs]\nrole_arn = arn:aws:iam::123456789012:role/{role}\n\
                 credential_source = EcsContainer\n"
            ))
            .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
            .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
            .var("AWS_CONTAINER_AUTHORIZATION_TOKEN", seed::ECS_TOKEN)
            .var("AWS_PROFILE", "ecs")
    };
    let creds = home("ecs-chained-role")
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    let arn = arn_of(&plane, &creds).await;
    assert!(
        is_generated_session(
            &arn,
            ACCOUNT,
            "ecs-chained-role",
            "assume-role-from-profile-"
        ),
        "{arn}"
    );

    // marketingadminrole trusts user1 and the instance role, not the task role.
    let err = home("marketingadminrole")
        .chain_credentials()
        .await
        .expect_err("marketingadminrole does not trust ecs-task-role");
    let text = format!("{}", aws_sdk_sts::error::DisplayErrorContext(&err));
    assert!(text.contains("AccessDenied"), "{text}");
    assert!(
        text.contains("assumed-role/ecs-task-role/"),
        "the refusal names the task role session: {text}"
    );
}

/// The `AssumeRoleProvider` of `aws_config::sts`, configured from an `SdkConfig` whose STS
/// endpoint comes from `AWS_ENDPOINT_URL_STS`.
#[tokio::test]
async fn sts_assume_role_provider() {
    let plane = Plane::start();
    let home = Home::new()
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .var("AWS_ACCESS_KEY_ID", seed::USER1_KEY.0)
        .var("AWS_SECRET_ACCESS_KEY", seed::USER1_KEY.1);
    let conf = home.sdk_config().await;
    let provider = AssumeRoleProvider::builder(role_arn(ACCOUNT, "marketingadminrole"))
        .session_name("provider-session")
        .configure(&conf)
        .build()
        .await;
    let creds = provider
        .provide_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "marketingadminrole", "provider-session")
    );
}

// ------------------------------------------------------------------ IMDS and container

/// The SDK's IMDS client (always IMDSv2: token PUT with a TTL header, then GET) and the
/// IMDS credentials provider of the default chain, on both instances (tokens optional and
/// required). The provider is reached through the chain because only the chain can be handed
/// an environment without `AWS_EC2_METADATA_DISABLED` from the test process.
#[tokio::test]
async fn imds_client_and_default_chain_imdsv2() {
    let plane = Plane::start();
    for instance in [seed::OPTIONAL_INSTANCE, seed::REQUIRED_INSTANCE] {
        let client = imds::Client::builder()
            .configure(
                &aws_config::provider_config::ProviderConfig::without_region()
                    .with_http_client(common::http_client()),
            )
            .endpoint(plane.imds_url(instance))
            .unwrap()
            .build();
        let id = client
            .get("/latest/meta-data/instance-id")
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{instance}: {}",
                    aws_sdk_sts::error::DisplayErrorContext(&e)
                )
            });
        assert_eq!(id.as_ref(), instance);
        let role = client
            .get("/latest/meta-data/iam/security-credentials/")
            .await
            .unwrap();
        assert_eq!(role.as_ref(), "my-instance-profile");

        // No keys, no profile: the default chain falls through to instance metadata.
        let home = Home::new().var(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            plane.imds_url(instance),
        );
        let creds = home.chain_credentials().await.unwrap_or_else(|e| {
            panic!(
                "{instance}: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            )
        });
        assert!(creds.expiry().is_some());
        assert_eq!(
            arn_of(&plane, &creds).await,
            assumed(ACCOUNT, "my-instance-profile", instance)
        );
    }
}

#[tokio::test]
async fn container_provider_full_uri_with_token_and_token_file() {
    let plane = Plane::start();
    let home = Home::new()
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
        .var("AWS_CONTAINER_AUTHORIZATION_TOKEN", seed::ECS_TOKEN);
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert!(creds.expiry().is_some());
    let task_arn = assumed(ACCOUNT, "ecs-task-role", seed::ECS_TASK);
    assert_eq!(arn_of(&plane, &creds).await, task_arn);

    // The token file form (EKS Pod Identity style). The file is used verbatim: like botocore
    // (docs/spec/container-client.md §2), the SDK refuses a token file ending with a newline.
    let home = Home::new();
    let file = home.write("ecs-token", seed::ECS_TOKEN);
    let home = home
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
        .var(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            file.to_str().unwrap(),
        );
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert_eq!(arn_of(&plane, &creds).await, task_arn);
    let home = Home::new();
    let file = home.write("ecs-token", &format!("{}\n", seed::ECS_TOKEN));
    let home = home
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
        .var(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            file.to_str().unwrap(),
        );
    let err = home
        .chain_credentials()
        .await
        .expect_err("newline in the token");
    assert!(
        matches!(err, CredentialsError::InvalidConfiguration(_)),
        "{err:?}"
    );

    // A wrong token: the provider fails (and the chain stops there, as in the CLI).
    let home = Home::new()
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI", plane.ecs_url())
        .var("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token");
    let err = home.chain_credentials().await.expect_err("wrong token");
    assert!(
        matches!(
            err,
            CredentialsError::ProviderError(_) | CredentialsError::CredentialsNotLoaded(_)
        ),
        "{err:?}"
    );
}

// ------------------------------------------------------------------ more of the STS surface

/// A role whose trust allows tagging and source identities (no default-world role does), for
/// an external id.
const TAGGABLE_ROLE: &str = r#"
[[roles]]
account = "123456789012"
name = "taggable-role"
id = "AROATAGGABLEROLE00001"
trust_policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::123456789012:user/user1"},
  "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
  "Condition": {"StringEquals": {"sts:ExternalId": "awsid-example-external-id"}}}]}'''
"#;

/// The serialisations the SDK uses for AssumeRole's optional members: `Policy`,
/// `PolicyArns.member.N.arn`, `Tags.member.N.Key/Value`, `TransitiveTagKeys.member.N`,
/// `SourceIdentity`, `ExternalId`, `DurationSeconds`.
#[tokio::test]
async fn assume_role_with_every_optional_member() {
    use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
    let plane = Plane::with_extra(TAGGABLE_ROLE);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let call = |role: &str| {
        sts_with(&plane, seed::USER1_KEY.0, seed::USER1_KEY.1, None)
            .assume_role()
            .role_arn(role_arn(ACCOUNT, role))
            .role_session_name("everything")
            .external_id("awsid-example-external-id")
            .duration_seconds(900)
            .policy(policy)
            .policy_arns(
                PolicyDescriptorType::builder()
                    .arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                    .build(),
            )
            .tags(Tag::builder().key("team").value("interop").build().unwrap())
            .tags(
                Tag::builder()
                    .key("project")
                    .value("awsid")
                    .build()
                    .unwrap(),
            )
            .transitive_tag_keys("team")
            .source_identity("alice")
            .send()
    };
    let out = call("taggable-role")
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_eq!(out.source_identity(), Some("alice"));
    // PackedPolicySize is what the plane reports; the 2026 STS model deprecates it in favour
    // of SessionTokenUtilization/SessionTokenSize, which the plane does not send (the SDK then
    // leaves them None — see COMPATIBILITY.md, Interop).
    #[allow(deprecated)]
    let packed = out.packed_policy_size();
    assert!(packed.is_some_and(|n| n > 0), "{out:?}");
    let c = out.credentials().unwrap();
    let expires = std::time::SystemTime::try_from(*c.expiration()).unwrap();
    let left = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs();
    assert!(
        (850..=900).contains(&left),
        "DurationSeconds 900 honoured: {left}"
    );

    // thirdpartyrole's trust allows sts:AssumeRole only: with tags (sts:TagSession) and a
    // source identity (sts:SetSourceIdentity) the call is refused, as by the real service.
    let err = call("thirdpartyrole").await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("AccessDenied"));
}

/// GetSessionToken with an MFA code, then an MFA-only role from that session; and
/// GetAccessKeyInfo.
#[tokio::test]
async fn get_session_token_with_mfa_and_get_access_key_info() {
    let plane = Plane::start();
    let secret = awsid_server::totp::decode_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let client = sts_with(&plane, seed::DEFAULT_KEY.0, seed::DEFAULT_KEY.1, None);
    let out = client
        .get_session_token()
        .serial_number("arn:aws:iam::123456789012:mfa/defaultuser")
        .token_code(awsid_server::totp::code_at(&secret, now))
        .duration_seconds(900)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let c = out.credentials().unwrap();
    let session = sts_with(
        &plane,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    );
    let who = session.get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some(seed::DEFAULT_USER_ARN));
    let role = session
        .assume_role()
        .role_arn(role_arn(ACCOUNT, "mfarole"))
        .role_session_name("via-gst")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_eq!(
        role.assumed_role_user().map(|u| u.arn()),
        Some(assumed(ACCOUNT, "mfarole", "via-gst").as_str())
    );

    let info = client
        .get_access_key_info()
        .access_key_id(seed::USER1_KEY.0)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_eq!(info.account(), Some(ACCOUNT));
}

/// Profile settings the SDK's assume-role provider reads: a role chain (role → role),
/// `external_id`, `role_session_name`.
#[tokio::test]
async fn profile_role_chain_and_external_id() {
    let plane = Plane::start();
    let home = Home::new()
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            seed::USER1_KEY.0,
            seed::USER1_KEY.1
        ))
        .config(
            "[profile marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
             source_profile = user1\n\n\
             [profile chained]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
             source_profile = marketingadmin\nrole_session_name = chained-session\n\n\
             [profile thirdparty]\nrole_arn = arn:aws:iam::123456789012:role/thirdpartyrole\n\
             source_profile = user1\nexternal_id = awsid-example-external-id\n\
             role_session_name = third\n",
        )
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
    let chained = home.var("AWS_PROFILE", "chained");
    let creds = chained
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "defaultrole", "chained-session")
    );

    let third = chained.var("AWS_PROFILE", "thirdparty");
    let creds = third
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "thirdpartyrole", "third")
    );
    // No assertion on the lifetime: aws-config 1.x does not read `duration_seconds` from a
    // profile (it always asks for the default hour), unlike the CLI and botocore.
}

/// The SDK takes its region from instance metadata when nothing else sets one.
#[tokio::test]
async fn region_from_instance_metadata() {
    let plane = Plane::start();
    let home = Home::new().unset("AWS_REGION").var(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        plane.imds_url(seed::REQUIRED_INSTANCE),
    );
    let conf = home.sdk_config().await;
    let want = plane
        .world
        .instances
        .iter()
        .find(|i| i.id == seed::REQUIRED_INSTANCE)
        .and_then(|i| i.metadata.get("placement/region"))
        .cloned()
        .expect("the world derives placement/region");
    assert_eq!(conf.region().map(|r| r.as_ref().to_string()), Some(want));
}
