use crate::testutil::get;
use crate::world::World;

const ID: &str = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d";

#[test]
fn relative_uri_form() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let a = s.bound.ecs.unwrap();
    let r = get(a, &format!("/v2/credentials/{ID}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        doc["RoleArn"],
        "arn:aws:iam::123456789012:role/ecs-task-role"
    );
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    for k in ["SecretAccessKey", "Token", "Expiration"] {
        assert!(doc[k].is_string(), "{k}");
    }
    assert_eq!(
        get(a, &format!("/v2/credentials/{ID}"), &[]).body,
        r.body,
        "stable until rotation"
    );
    assert_eq!(
        get(a, &format!("/v1/credentials?id={ID}"), &[]).body,
        r.body
    );
    let none = get(a, "/v2/credentials/", &[]);
    assert_eq!(none.status, 400);
    let e: serde_json::Value = serde_json::from_str(&none.body).unwrap();
    assert_eq!(
        e,
        serde_json::json!({"code": "NoIdInRequest", "message": "CredentialsV2Request: No Credential ID in the request", "HTTPErrorCode": 400})
    );
    // The agent's whole ErrorMessage struct, in its field order (docs/spec/container-client.md §5).
    let bad = get(a, "/v2/credentials/nope", &[]);
    assert_eq!(
        (bad.status, bad.header("content-type"), bad.body.as_str()),
        (
            400,
            Some("application/json"),
            r#"{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}"#
        )
    );
    assert_eq!(get(a, "/v1/credentials", &[]).status, 400);
}

#[test]
fn full_uri_form_needs_the_token() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let a = s.bound.ecs.unwrap();
    // The EKS Pod Identity Agent's plain-text refusals (docs/spec/container-client.md §5).
    let none = get(a, "/credentials", &[]);
    assert_eq!(
        (none.status, none.header("content-type"), none.body.as_str()),
        (
            400,
            Some("text/plain; charset=utf-8"),
            "Service account token cannot be empty\n"
        )
    );
    let wrong = get(a, "/credentials", &[("Authorization", "nope")]);
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.body.starts_with('[')
            && wrong.body.ends_with(
                "]: (InvalidTokenException): The authorization token is not valid, fault: client\n"
            ),
        "{}",
        wrong.body
    );
    let ok = get(
        a,
        "/credentials",
        &[("Authorization", "awsid-dev-container-token")],
    );
    assert_eq!(ok.status, 200);
    let doc: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(doc["AccountId"], "123456789012");
    let (claims, _) = s
        .state
        .issuer
        .open(
            doc["AccessKeyId"].as_str().unwrap(),
            doc["Token"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(
        claims.arn,
        "arn:aws:sts::123456789012:assumed-role/ecs-task-role/0f3c5e7a9b1d4c2e8a6f4b2d0c9e7a51"
    );
}

#[test]
fn trust_is_checked_against_ecs_tasks() {
    let text = crate::world::DEFAULT_WORLD.replace(
        r#""Principal": { "Service": "ecs-tasks.amazonaws.com" }"#,
        r#""Principal": { "Service": "ec2.amazonaws.com" }"#,
    );
    let s = crate::spawn_local(World::parse(&text, "t").unwrap()).unwrap();
    let r = get(s.bound.ecs.unwrap(), &format!("/v2/credentials/{ID}"), &[]);
    assert_eq!(r.status, 403);
    assert!(r.body.contains("AccessDenied"));
}

#[test]
fn trust_conditions_see_the_source_account_and_arn() {
    let with = |cond: &str| {
        let text = crate::world::DEFAULT_WORLD.replace(
            r#""Principal": { "Service": "ecs-tasks.amazonaws.com" }, "Action": "sts:AssumeRole" }"#,
            &format!(r#""Principal": {{ "Service": "ecs-tasks.amazonaws.com" }}, "Action": "sts:AssumeRole", "Condition": {cond} }}"#),
        );
        assert_ne!(
            text,
            crate::world::DEFAULT_WORLD,
            "the replacement must apply"
        );
        let s = crate::spawn_local(World::parse(&text, "t").unwrap()).unwrap();
        get(s.bound.ecs.unwrap(), &format!("/v2/credentials/{ID}"), &[]).status
    };
    assert_eq!(
        with(r#"{ "StringEquals": { "aws:SourceAccount": "123456789012" } }"#),
        200
    );
    assert_eq!(
        with(r#"{ "StringEquals": { "aws:SourceAccount": "999999999999" } }"#),
        403
    );
    assert_eq!(
        with(r#"{ "ArnLike": { "aws:SourceArn": "arn:aws:ecs:*:123456789012:*" } }"#),
        200
    );
}
