//! The unmodified AWS SDK for Rust (`aws-sdk-iam` + `aws-sdk-sts`) creates and uses a role
//! through the identity plane's IAM API: the default world's administrator creates a role
//! trusting `user1`, gives it an inline and a customer managed policy and an instance profile;
//! `user1` assumes it with STS (directly and through `aws-config`'s `AssumeRoleProvider`) and
//! the assumed credentials are that role's; refusals (IAM's AccessDenied naming the action, a
//! trust policy that does not name the caller) and every delete path are checked too.
//!
//! The server runs in-process on 127.0.0.1 (ephemeral ports) and is stopped on drop.

mod common;

use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::Region;
use awsid_interop::seed::{self, assumed, role_arn, ACCOUNT};
use common::{arn_of, describe, http_client, sts_with, Home, Plane};

const ROLE: &str = "sdk-app-role";
const PROFILE: &str = "sdk-app-profile";
const INLINE: &str = "sdk-s3-read";
const MANAGED: &str = "sdk-list-buckets";

/// An IAM client with the static long-term `key`.
fn iam_with(plane: &Plane, key: (&str, &str)) -> aws_sdk_iam::Client {
    iam_with_creds(plane, Credentials::new(key.0, key.1, None, None, "interop"))
}

/// An IAM client with `creds`, the plane's endpoint, no retries. IAM is a global service
/// signed for us-east-1.
fn iam_with_creds(plane: &Plane, creds: Credentials) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(plane.sts_url())
        .credentials_provider(creds)
        .retry_config(RetryConfig::disabled())
        .http_client(http_client())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// A readable account of an IAM error (code and message).
fn iam_error<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    format!("{}", DisplayErrorContext(e))
}

fn trust_naming(principal_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal_arn},
                       "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

#[tokio::test]
async fn sdk_creates_a_role_assumes_it_and_deletes_it() {
    let plane = Plane::start();
    let admin = iam_with(&plane, seed::ADMIN_KEY);

    // The role, trusting user1, with an inline policy (seed 002's S3 read).
    let role = admin
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust_naming(seed::USER1_ARN))
        .description("made by aws-sdk-iam")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateRole: {}", iam_error(&e)));
    let role = role.role().expect("Role");
    assert_eq!(role.arn(), role_arn(ACCOUNT, ROLE));
    assert!(role.role_id().starts_with("AROA"), "{}", role.role_id());
    // IAM returns the trust policy URL-encoded; the SDK hands it back as IAM sent it.
    let trust = role.assume_role_policy_document().expect("trust policy");
    let decoded = percent_decode(trust);
    assert!(decoded.contains(seed::USER1_ARN), "{decoded}");

    let s3_read = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                       "Resource": ["arn:aws:s3:::examplebucket/*"]}]
    })
    .to_string();
    admin
        .put_role_policy()
        .role_name(ROLE)
        .policy_name(INLINE)
        .policy_document(&s3_read)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutRolePolicy: {}", iam_error(&e)));
    let inline = admin
        .list_role_policies()
        .role_name(ROLE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListRolePolicies: {}", iam_error(&e)));
    assert_eq!(inline.policy_names(), [INLINE.to_string()]);

    // A customer managed policy, attached.
    let list_buckets = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]
    })
    .to_string();
    let policy = admin
        .create_policy()
        .policy_name(MANAGED)
        .policy_document(list_buckets)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreatePolicy: {}", iam_error(&e)));
    let policy_arn = policy
        .policy()
        .and_then(|p| p.arn())
        .expect("policy ARN")
        .to_string();
    assert_eq!(
        policy_arn,
        format!("arn:aws:iam::{ACCOUNT}:policy/{MANAGED}")
    );
    admin
        .attach_role_policy()
        .role_name(ROLE)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("AttachRolePolicy: {}", iam_error(&e)));
    let attached = admin
        .list_attached_role_policies()
        .role_name(ROLE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListAttachedRolePolicies: {}", iam_error(&e)));
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, [policy_arn.as_str()]);

    // The instance profile holding the role.
    profile_holding(&admin, PROFILE, ROLE).await;
    let profile = admin
        .get_instance_profile()
        .instance_profile_name(PROFILE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetInstanceProfile: {}", iam_error(&e)));
    let profile = profile.instance_profile().expect("InstanceProfile");
    assert_eq!(
        profile.arn(),
        format!("arn:aws:iam::{ACCOUNT}:instance-profile/{PROFILE}")
    );
    let held: Vec<_> = profile.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(held, [ROLE]);

    // user1 uses the role: STS AssumeRole, then GetCallerIdentity with those credentials.
    let out = sts_with(&plane, seed::USER1_KEY.0, seed::USER1_KEY.1, None)
        .assume_role()
        .role_arn(role_arn(ACCOUNT, ROLE))
        .role_session_name("sdk-session")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole: {}", describe(&e)));
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some(assumed(ACCOUNT, ROLE, "sdk-session").as_str())
    );
    let c = out.credentials().expect("Credentials");
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    );
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, ROLE, "sdk-session")
    );

    // The same through aws-config's AssumeRoleProvider (the SDK's own provider).
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(plane.sts_url())
        .credentials_provider(Credentials::new(
            seed::USER1_KEY.0,
            seed::USER1_KEY.1,
            None,
            None,
            "interop",
        ))
        .http_client(http_client())
        .load()
        .await;
    let provider = AssumeRoleProvider::builder(role_arn(ACCOUNT, ROLE))
        .session_name("sdk-provider")
        .configure(&base)
        .build()
        .await;
    let provided = provider
        .provide_credentials()
        .await
        .expect("AssumeRoleProvider credentials");
    assert_eq!(
        arn_of(&plane, &provided).await,
        assumed(ACCOUNT, ROLE, "sdk-provider")
    );

    // The role's session may not do IAM (neither policy allows it): AccessDenied naming the
    // action, as IAM words it.
    let e = iam_with_creds(&plane, creds.clone())
        .list_roles()
        .send()
        .await
        .expect_err("the role may not list roles");
    assert_eq!(e.code(), Some("AccessDenied"), "{}", iam_error(&e));
    let msg = e.message().unwrap_or_default();
    assert!(
        msg.contains("is not authorized to perform: iam:ListRoles")
            && msg.contains(&assumed(ACCOUNT, ROLE, "sdk-session")),
        "{msg}"
    );

    // A caller the trust policy does not name is refused.
    let e = sts_with(&plane, seed::DEFAULT_KEY.0, seed::DEFAULT_KEY.1, None)
        .assume_role()
        .role_arn(role_arn(ACCOUNT, ROLE))
        .role_session_name("not-trusted")
        .send()
        .await
        .expect_err("defaultuser is not trusted");
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&e),
        Some("AccessDenied"),
        "{}",
        describe(&e)
    );

    // A role still in a profile, with policies, cannot be deleted (IAM's DeleteConflict).
    let e = admin
        .delete_role()
        .role_name(ROLE)
        .send()
        .await
        .expect_err("a role in use cannot be deleted");
    assert_eq!(e.code(), Some("DeleteConflict"), "{}", iam_error(&e));

    // The delete paths, in IAM's order.
    delete_profile_holding(&admin, PROFILE, ROLE).await;
    admin
        .detach_role_policy()
        .role_name(ROLE)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DetachRolePolicy: {}", iam_error(&e)));
    admin
        .delete_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeletePolicy: {}", iam_error(&e)));
    admin
        .delete_role_policy()
        .role_name(ROLE)
        .policy_name(INLINE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteRolePolicy: {}", iam_error(&e)));
    admin
        .delete_role()
        .role_name(ROLE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteRole: {}", iam_error(&e)));
    let e = admin
        .get_role()
        .role_name(ROLE)
        .send()
        .await
        .expect_err("the role is gone");
    assert!(
        matches!(
            e.as_service_error(),
            Some(GetRoleError::NoSuchEntityException(_))
        ),
        "{}",
        iam_error(&e)
    );
    // And the role can no longer be assumed.
    let e = sts_with(&plane, seed::USER1_KEY.0, seed::USER1_KEY.1, None)
        .assume_role()
        .role_arn(role_arn(ACCOUNT, ROLE))
        .role_session_name("after-delete")
        .send()
        .await
        .expect_err("a deleted role cannot be assumed");
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&e),
        Some("AccessDenied"),
        "{}",
        describe(&e)
    );
}

#[tokio::test]
async fn iam_refuses_a_caller_without_permission_naming_the_action() {
    let plane = Plane::start();
    // user1's policies allow sts:AssumeRole only.
    let e = iam_with(&plane, seed::USER1_KEY)
        .create_role()
        .role_name("not-allowed")
        .assume_role_policy_document(trust_naming(seed::USER1_ARN))
        .send()
        .await
        .expect_err("user1 may not create roles");
    assert_eq!(e.code(), Some("AccessDenied"), "{}", iam_error(&e));
    let msg = e.message().unwrap_or_default();
    assert_eq!(
        msg,
        format!(
            "User: {} is not authorized to perform: iam:CreateRole on resource: {} because no identity-based policy allows the iam:CreateRole action",
            seed::USER1_ARN,
            role_arn(ACCOUNT, "not-allowed")
        )
    );
    // Nothing was created.
    let e = iam_with(&plane, seed::ADMIN_KEY)
        .get_role()
        .role_name("not-allowed")
        .send()
        .await
        .expect_err("no such role");
    assert!(
        matches!(
            e.as_service_error(),
            Some(GetRoleError::NoSuchEntityException(_))
        ),
        "{}",
        iam_error(&e)
    );
}

/// `%XX` decoding of IAM's URL-encoded policy documents.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 policy")
}

/// The unmodified SDK on an instance launched with a role made through `aws-sdk-iam`: its
/// default credential chain (no keys, no profile) reaches the instance's metadata address
/// (the `awsid:imds-endpoint` tag) and gets the role's session. There is no `aws-sdk-ec2` here
/// (it would multiply the build), so the EC2 calls are Query requests signed by the SDK's own
/// `aws-sigv4` signer.
#[tokio::test]
async fn sdk_on_an_instance_gets_the_role_made_with_aws_sdk_iam() {
    let plane = Plane::start();
    let admin = iam_with(&plane, seed::ADMIN_KEY);
    let ec2_trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]
    })
    .to_string();
    admin
        .create_role()
        .role_name("sdk-instance-role")
        .assume_role_policy_document(ec2_trust)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateRole: {}", iam_error(&e)));
    profile_holding(&admin, "sdk-instance-profile", "sdk-instance-role").await;

    let (status, body) = ec2_call(
        &plane,
        &[
            ("Action", "RunInstances"),
            ("Version", "2016-11-15"),
            ("ImageId", "ami-baba68d3"),
            ("InstanceType", "m1.small"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("IamInstanceProfile.Name", "sdk-instance-profile"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let instance = between(&body, "<instanceId>", "</instanceId>").to_string();
    let (status, body) = ec2_call(
        &plane,
        &[
            ("Action", "DescribeInstances"),
            ("Version", "2016-11-15"),
            ("InstanceId.1", &instance),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let tag = body
        .split("<item>")
        .find(|item| item.contains("<key>awsid:imds-endpoint</key>"))
        .map(|item| between(item, "<value>", "</value>").to_string())
        .unwrap_or_else(|| panic!("no awsid:imds-endpoint tag: {body}"));
    assert!(tag.starts_with("http://127.0.0.1:"), "{tag}");

    // On the instance: the SDK's default chain, with only the metadata endpoint set.
    let home = Home::new().var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &tag);
    let creds = home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)));
    assert!(creds.expiry().is_some());
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "sdk-instance-role", &instance)
    );

    // Terminated, its metadata service is gone, and the profile and role can be deleted.
    let (status, body) = ec2_call(
        &plane,
        &[
            ("Action", "TerminateInstances"),
            ("Version", "2016-11-15"),
            ("InstanceId.1", &instance),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert!(Home::new()
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &tag)
        .chain_credentials()
        .await
        .is_err());
    delete_profile_holding(&admin, "sdk-instance-profile", "sdk-instance-role").await;
    admin
        .delete_role()
        .role_name("sdk-instance-role")
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteRole: {}", iam_error(&e)));
}

/// CreateInstanceProfile `profile`, then AddRoleToInstanceProfile `role`.
async fn profile_holding(admin: &aws_sdk_iam::Client, profile: &str, role: &str) {
    admin
        .create_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateInstanceProfile: {}", iam_error(&e)));
    admin
        .add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .unwrap_or_else(|e| panic!("AddRoleToInstanceProfile: {}", iam_error(&e)));
}

/// RemoveRoleFromInstanceProfile `role`, then DeleteInstanceProfile `profile`.
async fn delete_profile_holding(admin: &aws_sdk_iam::Client, profile: &str, role: &str) {
    admin
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .unwrap_or_else(|e| panic!("RemoveRoleFromInstanceProfile: {}", iam_error(&e)));
    admin
        .delete_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteInstanceProfile: {}", iam_error(&e)));
}

/// An EC2 Query request as the administrator, signed with `aws-sigv4` (us-west-2, `ec2`), over
/// plain HTTP/1.1 to the plane: the status and body.
fn ec2_call(plane: &Plane, params: &[(&str, &str)]) -> (u16, String) {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    use std::io::{Read, Write};

    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let addr = plane.server.bound.api.expect("API listener");
    let host = addr.to_string();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity =
        Credentials::new(seed::ADMIN_KEY.0, seed::ADMIN_KEY.1, None, None, "interop").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-west-2")
        .name("ec2")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let headers = [("host", host.as_str()), ("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        format!("http://{host}/"),
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .expect("a signable request");
    let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in instructions.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the plane");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `application/x-www-form-urlencoded` value encoding (RFC 3986 unreserved kept).
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text between the first `start` and the next `end` in `s`.
fn between<'s>(s: &'s str, start: &str, end: &str) -> &'s str {
    let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
    let len = s[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end} in {s}"));
    &s[from..from + len]
}
