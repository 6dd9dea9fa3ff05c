//! Table tests: every row of `docs/spec/iam-policy.md` §5 and each operator's missing-key behaviour.

use super::*;

const ACCT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/S3Reader";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

const EC2_TRUST: &str = r#"{ "Version": "2012-10-17",
  "Statement": [ { "Effect": "Allow",
                   "Principal": { "Service": "ec2.amazonaws.com" },
                   "Action": "sts:AssumeRole" } ] }"#;

const S3_READ: &str = r#"{ "Version": "2012-10-17",
  "Statement": [ { "Effect": "Allow",
                   "Action": ["s3:GetObject"],
                   "Resource": ["arn:aws:s3:::examplebucket/*"] } ] }"#;

fn trust(doc: &str) -> Policy {
    Policy::parse(doc, PolicyKind::Trust).unwrap()
}

fn identity(doc: &str) -> Policy {
    Policy::parse(doc, PolicyKind::Identity).unwrap()
}

fn alice() -> Principal {
    Principal::user(ACCT, ALICE)
}

fn instance_session() -> Principal {
    Principal::assumed_role(
        ACCT,
        "arn:aws:sts::111122223333:assumed-role/S3Reader/i-0123456789abcdef0",
        ROLE,
    )
}

fn assume(
    trust_doc: &str,
    caller: &Principal,
    action: &str,
    identity_docs: &[&str],
    ctx: &Context,
) -> Result<Evaluation, AssumeRoleDenial> {
    let t = trust(trust_doc);
    let ids: Vec<Policy> = identity_docs.iter().map(|d| identity(d)).collect();
    let id_refs: Vec<&Policy> = ids.iter().collect();
    let inputs = AssumeRoleInputs {
        trust: &t,
        identity: &id_refs,
        session: &[],
        role_account: ACCT,
    };
    authorize_assume_role(
        &inputs,
        &Request {
            principal: caller,
            action,
            resource: ROLE,
            context: ctx,
        },
    )
}

// ---- §5.1 trust decisions ----

#[test]
fn t1_ec2_service_may_assume() {
    let r = assume(
        EC2_TRUST,
        &Principal::service("ec2.amazonaws.com"),
        "sts:AssumeRole",
        &[],
        &Context::new(),
    );
    let e = r.unwrap();
    assert_eq!(e.decision, Decision::Allow);
    assert_eq!(e.decided_by, Some((0, 0, None)));
}

#[test]
fn t2_user_without_trust_is_denied() {
    let r = assume(EC2_TRUST, &alice(), "sts:AssumeRole", &[], &Context::new());
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::TrustNoAllow);
}

#[test]
fn t3_identity_allow_cannot_replace_trust() {
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}"#;
    let r = assume(
        EC2_TRUST,
        &alice(),
        "sts:AssumeRole",
        &[allow],
        &Context::new(),
    );
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::TrustNoAllow);
}

#[test]
fn t4_role_does_not_trust_itself() {
    let r = assume(
        EC2_TRUST,
        &instance_session(),
        "sts:AssumeRole",
        &[S3_READ],
        &Context::new(),
    );
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::TrustNoAllow);
}

#[test]
fn t5_other_service_is_denied() {
    let r = assume(
        EC2_TRUST,
        &Principal::service("ecs-tasks.amazonaws.com"),
        "sts:AssumeRole",
        &[],
        &Context::new(),
    );
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::TrustNoAllow);
}

#[test]
fn t6_web_identity_action_not_allowed() {
    let p = Principal::web_identity("arn:aws:iam::111122223333:oidc-provider/example.com");
    let r = assume(
        EC2_TRUST,
        &p,
        "sts:AssumeRoleWithWebIdentity",
        &[],
        &Context::new(),
    );
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::TrustNoAllow);
    // Even the ec2 service may not use the web-identity action.
    let r = assume(
        EC2_TRUST,
        &Principal::service("ec2.amazonaws.com"),
        "sts:AssumeRoleWithWebIdentity",
        &[],
        &Context::new(),
    );
    assert!(r.is_err());
}

// ---- §5.2 permission decisions ----

fn permission(action: &str, resource: &str) -> Decision {
    let p = identity(S3_READ);
    let ctx = Context::new();
    let session = instance_session();
    authorize_action(
        &[&p],
        None,
        &[],
        &Request {
            principal: &session,
            action,
            resource,
            context: &ctx,
        },
    )
    .decision
}

#[test]
fn p1_to_p7_permission_table() {
    use Decision::*;
    let rows = [
        (
            "P1",
            "s3:GetObject",
            "arn:aws:s3:::examplebucket/photos/cat.jpg",
            Allow,
        ),
        (
            "P2",
            "S3:getobject",
            "arn:aws:s3:::examplebucket/photos/cat.jpg",
            Allow,
        ),
        (
            "P3",
            "s3:GetObject",
            "arn:aws:s3:::examplebucket",
            ImplicitDeny,
        ),
        (
            "P4",
            "s3:GetObjectVersion",
            "arn:aws:s3:::examplebucket/a",
            ImplicitDeny,
        ),
        (
            "P5",
            "s3:PutObject",
            "arn:aws:s3:::examplebucket/a",
            ImplicitDeny,
        ),
        (
            "P6",
            "s3:GetObject",
            "arn:aws:s3:::ExampleBucket/a",
            ImplicitDeny,
        ),
        (
            "P7",
            "s3:GetObject",
            "arn:aws:s3:::otherbucket/examplebucket/x",
            ImplicitDeny,
        ),
    ];
    for (name, action, resource, want) in rows {
        assert_eq!(permission(action, resource), want, "{name}");
    }
}

// ---- §5.3 variations ----

fn with_session(session_doc: &str, action: &str, resource: &str) -> Decision {
    let p = identity(S3_READ);
    let s = identity(session_doc);
    let ctx = Context::new();
    let principal = instance_session();
    authorize_action(
        &[&p],
        None,
        &[&s],
        &Request {
            principal: &principal,
            action,
            resource,
            context: &ctx,
        },
    )
    .decision
}

#[test]
fn session_policies_intersect() {
    let all_s3 =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    assert_eq!(
        with_session(
            all_s3,
            "s3:GetObject",
            "arn:aws:s3:::examplebucket/photos/cat.jpg"
        ),
        Decision::Allow
    );
    assert_eq!(
        with_session(all_s3, "s3:PutObject", "arn:aws:s3:::examplebucket/a"),
        Decision::ImplicitDeny
    );
    let public = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::examplebucket/public/*"}}"#;
    assert_eq!(
        with_session(
            public,
            "s3:GetObject",
            "arn:aws:s3:::examplebucket/photos/cat.jpg"
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        with_session(
            public,
            "s3:GetObject",
            "arn:aws:s3:::examplebucket/public/x"
        ),
        Decision::Allow
    );
}

#[test]
fn explicit_deny_wins() {
    let p = identity(S3_READ);
    let deny = identity(
        r#"{"Version":"2012-10-17","Statement":{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::examplebucket/secret/*"}}"#,
    );
    let ctx = Context::new();
    let principal = instance_session();
    let e = authorize_action(
        &[&p, &deny],
        None,
        &[],
        &Request {
            principal: &principal,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::examplebucket/secret/k",
            context: &ctx,
        },
    );
    assert_eq!(e.decision, Decision::ExplicitDeny);
    assert_eq!(e.decided_by, Some((1, 0, Some("NoSecrets".into()))));
}

#[test]
fn account_principal_delegates_to_identity_policies() {
    let root_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;
    let r = assume(root_trust, &alice(), "sts:AssumeRole", &[], &Context::new());
    assert_eq!(r.unwrap_err(), AssumeRoleDenial::IdentityNoAllow);
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/S3Reader"}}"#;
    let e = assume(
        root_trust,
        &alice(),
        "sts:AssumeRole",
        &[allow],
        &Context::new(),
    )
    .unwrap();
    assert_eq!(e.principal_match, Some(PrincipalMatch::Account));
    // The bare account id form behaves the same.
    let acct_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}"#;
    assert!(assume(acct_trust, &alice(), "sts:AssumeRole", &[], &Context::new()).is_err());
    assert!(assume(
        acct_trust,
        &alice(),
        "sts:AssumeRole",
        &[allow],
        &Context::new()
    )
    .is_ok());
}

#[test]
fn named_user_needs_no_identity_policy() {
    let user_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#;
    let e = assume(user_trust, &alice(), "sts:AssumeRole", &[], &Context::new()).unwrap();
    assert_eq!(e.principal_match, Some(PrincipalMatch::Direct));
    // An identity Deny still wins.
    let deny =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"sts:*","Resource":"*"}}"#;
    assert_eq!(
        assume(
            user_trust,
            &alice(),
            "sts:AssumeRole",
            &[deny],
            &Context::new()
        )
        .unwrap_err(),
        AssumeRoleDenial::IdentityExplicitDeny
    );
}

#[test]
fn cross_account_needs_both_sides() {
    let trust_doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/bob"},"Action":"sts:AssumeRole"}]}"#;
    let bob = Principal::user("444455556666", "arn:aws:iam::444455556666:user/bob");
    assert_eq!(
        assume(trust_doc, &bob, "sts:AssumeRole", &[], &Context::new()).unwrap_err(),
        AssumeRoleDenial::IdentityNoAllow
    );
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/*"}}"#;
    assert!(assume(trust_doc, &bob, "sts:AssumeRole", &[allow], &Context::new()).is_ok());
}

#[test]
fn role_arn_principal_matches_its_sessions() {
    let t = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/S3Reader"},"Action":"sts:AssumeRole"}]}"#;
    let e = assume(
        t,
        &instance_session(),
        "sts:AssumeRole",
        &[],
        &Context::new(),
    )
    .unwrap();
    assert_eq!(e.principal_match, Some(PrincipalMatch::RoleArn));
    let s = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/S3Reader/i-0123456789abcdef0"},"Action":"sts:AssumeRole"}]}"#;
    let e = assume(
        s,
        &instance_session(),
        "sts:AssumeRole",
        &[],
        &Context::new(),
    )
    .unwrap();
    assert_eq!(e.principal_match, Some(PrincipalMatch::Direct));
}

#[test]
fn external_id_condition() {
    let t = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"42"}}}]}"#;
    let mut ctx = Context::new();
    assert!(assume(t, &alice(), "sts:AssumeRole", &[], &ctx).is_err());
    ctx.set("sts:ExternalId", "41");
    assert!(assume(t, &alice(), "sts:AssumeRole", &[], &ctx).is_err());
    ctx.set("sts:ExternalId", "42");
    assert!(assume(t, &alice(), "sts:AssumeRole", &[], &ctx).is_ok());
}

#[test]
fn mfa_condition_and_if_exists() {
    let t = |op: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:user/alice"}},"Action":"sts:AssumeRole","Condition":{{"{op}":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
        )
    };
    let none = Context::new();
    assert!(assume(&t("Bool"), &alice(), "sts:AssumeRole", &[], &none).is_err());
    let mut mfa = Context::new();
    mfa.set("aws:MultiFactorAuthPresent", "true");
    assert!(assume(&t("Bool"), &alice(), "sts:AssumeRole", &[], &mfa).is_ok());
    assert!(assume(&t("BoolIfExists"), &alice(), "sts:AssumeRole", &[], &none).is_ok());
    let mut no = Context::new();
    no.set("aws:MultiFactorAuthPresent", "false");
    assert!(assume(&t("BoolIfExists"), &alice(), "sts:AssumeRole", &[], &no).is_err());
}

#[test]
fn wildcard_principal_and_not_principal() {
    let any = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#;
    let e = assume(any, &alice(), "sts:AssumeRole", &[], &Context::new()).unwrap();
    assert_eq!(e.principal_match, Some(PrincipalMatch::Wildcard));
    let deny_except = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#;
    assert!(assume(
        deny_except,
        &alice(),
        "sts:AssumeRole",
        &[],
        &Context::new()
    )
    .is_ok());
    let bob = Principal::user(ACCT, "arn:aws:iam::111122223333:user/bob");
    assert_eq!(
        assume(deny_except, &bob, "sts:AssumeRole", &[], &Context::new()).unwrap_err(),
        AssumeRoleDenial::TrustExplicitDeny
    );
}

#[test]
fn trace_names_the_failing_element() {
    let t = trust(
        r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},
        {"Sid":"B","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}]}"#,
    );
    let ctx = Context::new();
    let p = Principal::service("ec2.amazonaws.com");
    let e = t.evaluate(&Request {
        principal: &p,
        action: "sts:AssumeRole",
        resource: ROLE,
        context: &ctx,
    });
    assert_eq!(e.decision, Decision::ImplicitDeny);
    assert_eq!(e.trace[0].1.failed.as_deref(), Some("Principal"));
    assert_eq!(
        e.trace[1].1.failed.as_deref(),
        Some("Condition StringEquals aws:sourceaccount")
    );
}

// ---- parsing ----

#[test]
fn string_and_array_forms_are_equivalent() {
    let a = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::examplebucket/*"}}"#,
    );
    let b = identity(S3_READ);
    assert_eq!(a, b);
}

#[test]
fn malformed_documents_are_rejected_with_location() {
    let cases = [
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}]}"#,
            "Statement[0]: unknown condition operator \"StringEqual\"",
        ),
        (r#"{"Version":"2012-10-17"}"#, "missing Statement"),
        (
            r#"{"Version":"2012-10-18","Statement":[]}"#,
            "Version must be",
        ),
        (
            r#"{"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}"#,
            "Statement[0]: Effect must be",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            "Statement[0]: missing Action",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*"}}"#,
            "Statement[0]: missing Resource",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:x","Resource":"*"}}"#,
            "both Action and NotAction",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
            "service:action",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}}"#,
            "Principal is not allowed",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"k":"abc"}}}}"#,
            "is not a number",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"k":"tomorrow"}}}}"#,
            "is not a date",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"k":"300.1.1.1"}}}}"#,
            "not an IP",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"k":"yes"}}}}"#,
            "not true or false",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}}"#,
            "unknown condition operator",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}}"#,
            "unknown element \"Foo\"",
        ),
        ("[1]", "must be a JSON object"),
        ("{", "not valid JSON"),
    ];
    for (doc, want) in cases {
        let err = Policy::parse(doc, PolicyKind::Identity)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{doc}: got {err:?}, want {want:?}");
    }
    let trust_cases = [
        (
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            "missing Principal",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:AssumeRole"}}"#,
            "wildcards are not allowed",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"sts:AssumeRole"}}"#,
            "unknown principal type",
        ),
    ];
    for (doc, want) in trust_cases {
        let err = Policy::parse(doc, PolicyKind::Trust)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{doc}: got {err:?}, want {want:?}");
    }
    assert!(Policy::parse("{\"Statement\":{\"Sid\":\"\u{4e2d}\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}", PolicyKind::Identity).is_err());
}

// ---- operators: matching and missing-key behaviour ----

/// Evaluates `{"<op>": {"k": <values>}}` with the given context value of `k`.
fn cond(op: &str, values: &str, value: Option<ContextValue>) -> bool {
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"k":{values}}}}}}}}}"#
    );
    let p = identity(&doc);
    let mut ctx = Context::new();
    match value {
        Some(ContextValue::Single(v)) => {
            ctx.set("K", v);
        }
        Some(ContextValue::Multi(v)) => {
            ctx.set_multi("k", v);
        }
        None => {}
    }
    let principal = alice();
    p.evaluate(&Request {
        principal: &principal,
        action: "s3:x",
        resource: "arn:aws:s3:::b",
        context: &ctx,
    })
    .decision
        == Decision::Allow
}

fn one(v: &str) -> Option<ContextValue> {
    Some(ContextValue::Single(v.to_string()))
}

fn many(v: &[&str]) -> Option<ContextValue> {
    Some(ContextValue::Multi(
        v.iter().map(|s| s.to_string()).collect(),
    ))
}

#[test]
fn operator_table() {
    // (operator, policy values, request value, expected)
    let rows: Vec<(&str, &str, Option<ContextValue>, bool)> = vec![
        ("StringEquals", r#""abc""#, one("abc"), true),
        ("StringEquals", r#""abc""#, one("ABC"), false),
        ("StringEquals", r#"["x","abc"]"#, one("abc"), true),
        ("StringEquals", r#""a*""#, one("abc"), false),
        ("StringNotEquals", r#""abc""#, one("abc"), false),
        ("StringNotEquals", r#"["x","y"]"#, one("abc"), true),
        ("StringEqualsIgnoreCase", r#""abc""#, one("ABC"), true),
        ("StringNotEqualsIgnoreCase", r#""abc""#, one("ABC"), false),
        ("StringLike", r#""a*c""#, one("abbc"), true),
        ("StringLike", r#""a?c""#, one("abbc"), false),
        ("StringNotLike", r#""a*""#, one("abc"), false),
        ("StringNotLike", r#""x*""#, one("abc"), true),
        ("NumericEquals", r#""10""#, one("10.0"), true),
        ("NumericNotEquals", r#""10""#, one("11"), true),
        ("NumericLessThan", r#""3600""#, one("100"), true),
        ("NumericLessThan", r#""3600""#, one("3600"), false),
        ("NumericLessThanEquals", r#"3600"#, one("3600"), true),
        ("NumericGreaterThan", r#""5""#, one("6"), true),
        ("NumericGreaterThanEquals", r#""5""#, one("4"), false),
        ("NumericEquals", r#""10""#, one("ten"), false),
        (
            "DateEquals",
            r#""2026-11-23T06:00:00Z""#,
            one("1795413600"),
            true,
        ),
        (
            "DateNotEquals",
            r#""2026-11-23T06:00:00Z""#,
            one("2026-11-23T06:00:01Z"),
            true,
        ),
        (
            "DateLessThan",
            r#""2026-11-23T06:00:00Z""#,
            one("2026-11-23T05:59:59Z"),
            true,
        ),
        (
            "DateLessThanEquals",
            r#""2026-11-23""#,
            one("2026-11-23T00:00:00Z"),
            true,
        ),
        (
            "DateGreaterThan",
            r#""2026-11-23T06:00:00Z""#,
            one("2026-11-23T06:00:00+01:00"),
            false,
        ),
        (
            "DateGreaterThanEquals",
            r#""1795413600""#,
            one("2026-11-23T06:00:00Z"),
            true,
        ),
        ("Bool", r#""true""#, one("TRUE"), true),
        ("Bool", "true", one("false"), false),
        ("Bool", r#""false""#, one("false"), true),
        ("BinaryEquals", r#""QmluYXJ5""#, one("QmluYXJ5"), true),
        ("BinaryEquals", r#""QmluYXJ5""#, one("QmluYXJ6"), false),
        ("IpAddress", r#""203.0.113.0/24""#, one("203.0.113.7"), true),
        (
            "IpAddress",
            r#""203.0.113.0/24""#,
            one("203.0.114.7"),
            false,
        ),
        ("IpAddress", r#""2001:db8::/32""#, one("2001:db8::1"), true),
        ("IpAddress", r#""203.0.113.7""#, one("203.0.113.7"), true),
        (
            "IpAddress",
            r#""203.0.113.0/24""#,
            one("2001:db8::1"),
            false,
        ),
        (
            "NotIpAddress",
            r#""203.0.113.0/24""#,
            one("198.51.100.1"),
            true,
        ),
        (
            "NotIpAddress",
            r#""203.0.113.0/24""#,
            one("203.0.113.1"),
            false,
        ),
        (
            "ArnEquals",
            r#""arn:aws:iam::111122223333:role/*""#,
            one("arn:aws:iam::111122223333:role/x"),
            true,
        ),
        (
            "ArnLike",
            r#""arn:aws:iam::*:role/x""#,
            one("arn:aws:iam::111122223333:role/x"),
            true,
        ),
        (
            "ArnLike",
            r#""arn:aws:ec2:*:store/abc:x""#,
            one("arn:aws:ec2:us-east-1:999999999999:store/abc:x"),
            false,
        ),
        (
            "ArnNotEquals",
            r#""arn:aws:iam::111122223333:role/x""#,
            one("arn:aws:iam::111122223333:role/y"),
            true,
        ),
        (
            "ArnNotLike",
            r#""arn:aws:iam::*:role/x""#,
            one("arn:aws:iam::111122223333:role/x"),
            false,
        ),
        ("Null", r#""true""#, one("x"), false),
        ("Null", r#""false""#, one("x"), true),
        (
            "ForAnyValue:StringEquals",
            r#"["a","b"]"#,
            many(&["x", "b"]),
            true,
        ),
        (
            "ForAnyValue:StringEquals",
            r#"["a","b"]"#,
            many(&["x", "y"]),
            false,
        ),
        (
            "ForAllValues:StringEquals",
            r#"["a","b"]"#,
            many(&["a", "b"]),
            true,
        ),
        (
            "ForAllValues:StringEquals",
            r#"["a","b"]"#,
            many(&["a", "c"]),
            false,
        ),
        (
            "ForAllValues:StringLike",
            r#""team-*""#,
            many(&["team-a", "team-b"]),
            true,
        ),
        (
            "ForAnyValue:StringNotEquals",
            r#""a""#,
            many(&["a", "b"]),
            true,
        ),
        (
            "ForAllValues:StringNotEquals",
            r#""a""#,
            many(&["a", "b"]),
            false,
        ),
        // A single-valued operator against a multi-valued key behaves like ForAnyValue.
        ("StringEquals", r#""b""#, many(&["a", "b"]), true),
    ];
    for (op, values, value, want) in rows {
        let shown = format!("{op} {values} {value:?}");
        assert_eq!(cond(op, values, value), want, "{shown}");
    }
}

#[test]
fn missing_key_behaviour_of_every_operator() {
    let positive = [
        ("StringEquals", r#""a""#),
        ("StringEqualsIgnoreCase", r#""a""#),
        ("StringLike", r#""*""#),
        ("NumericEquals", r#""1""#),
        ("NumericLessThan", r#""1""#),
        ("NumericLessThanEquals", r#""1""#),
        ("NumericGreaterThan", r#""1""#),
        ("NumericGreaterThanEquals", r#""1""#),
        ("DateEquals", r#""2026-01-01T00:00:00Z""#),
        ("DateLessThan", r#""2026-01-01T00:00:00Z""#),
        ("DateLessThanEquals", r#""2026-01-01T00:00:00Z""#),
        ("DateGreaterThan", r#""2026-01-01T00:00:00Z""#),
        ("DateGreaterThanEquals", r#""2026-01-01T00:00:00Z""#),
        ("Bool", r#""true""#),
        ("BinaryEquals", r#""QQ==""#),
        ("IpAddress", r#""10.0.0.0/8""#),
        ("ArnEquals", r#""arn:aws:iam::1:x""#),
        ("ArnLike", r#""arn:*""#),
    ];
    let negated = [
        ("StringNotEquals", r#""a""#),
        ("StringNotEqualsIgnoreCase", r#""a""#),
        ("StringNotLike", r#""*""#),
        ("NumericNotEquals", r#""1""#),
        ("DateNotEquals", r#""2026-01-01T00:00:00Z""#),
        ("NotIpAddress", r#""10.0.0.0/8""#),
        ("ArnNotEquals", r#""arn:aws:iam::1:x""#),
        ("ArnNotLike", r#""arn:*""#),
    ];
    for (op, v) in positive {
        assert!(!cond(op, v, None), "{op}: missing key must be false");
        assert!(
            cond(&format!("{op}IfExists"), v, None),
            "{op}IfExists: missing key must be true"
        );
        assert!(
            !cond(&format!("ForAnyValue:{op}"), v, None),
            "ForAnyValue:{op}"
        );
        assert!(
            !cond(&format!("ForAnyValue:{op}"), v, many(&[])),
            "ForAnyValue:{op} empty"
        );
        assert!(
            cond(&format!("ForAllValues:{op}"), v, None),
            "ForAllValues:{op}"
        );
        assert!(
            cond(&format!("ForAllValues:{op}"), v, many(&[])),
            "ForAllValues:{op} empty"
        );
    }
    for (op, v) in negated {
        assert!(cond(op, v, None), "{op}: missing key must be true");
        assert!(cond(&format!("{op}IfExists"), v, None), "{op}IfExists");
    }
    assert!(cond("Null", r#""true""#, None));
    assert!(!cond("Null", r#""false""#, None));
}

#[test]
fn deny_with_not_equals_if_exists_denies_on_missing_key() {
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}}]}"#,
    );
    let ctx = Context::new();
    let a = alice();
    let e = p.evaluate(&Request {
        principal: &a,
        action: "s3:x",
        resource: "arn:aws:s3:::b",
        context: &ctx,
    });
    assert_eq!(e.decision, Decision::ExplicitDeny);
}

#[test]
fn policy_variables_in_resources_and_conditions() {
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject",
        "Resource":"arn:aws:s3:::home/${aws:username}/*",
        "Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}}}"#,
    );
    let a = alice();
    let mut ctx = Context::new();
    ctx.set("aws:username", "alice")
        .set("s3:prefix", "alice/docs");
    let req = |res: &'static str, ctx: &Context| {
        p.evaluate(&Request {
            principal: &a,
            action: "s3:GetObject",
            resource: res,
            context: ctx,
        })
        .decision
    };
    assert_eq!(req("arn:aws:s3:::home/alice/x", &ctx), Decision::Allow);
    assert_eq!(req("arn:aws:s3:::home/bob/x", &ctx), Decision::ImplicitDeny);
    let mut no_user = Context::new();
    no_user.set("s3:prefix", "alice/docs");
    assert_eq!(
        req("arn:aws:s3:::home/alice/x", &no_user),
        Decision::ImplicitDeny,
        "absent variable never matches"
    );
    // The old language keeps `${…}` literal.
    let old = identity(
        r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}}"#,
    );
    assert_eq!(old.version(), Version::V2008_10_17);
    let e = |res: &'static str| {
        old.evaluate(&Request {
            principal: &a,
            action: "s3:GetObject",
            resource: res,
            context: &ctx,
        })
        .decision
    };
    assert_eq!(e("arn:aws:s3:::home/alice/x"), Decision::ImplicitDeny);
    assert_eq!(e("arn:aws:s3:::home/${aws:username}/x"), Decision::Allow);
}

#[test]
fn not_action_and_not_resource() {
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::private/*"}}"#,
    );
    let a = alice();
    let ctx = Context::new();
    let d = |action: &str, res: &str| {
        p.evaluate(&Request {
            principal: &a,
            action,
            resource: res,
            context: &ctx,
        })
        .decision
    };
    assert_eq!(d("s3:GetObject", "arn:aws:s3:::public/x"), Decision::Allow);
    assert_eq!(
        d("IAM:CreateUser", "arn:aws:s3:::public/x"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        d("s3:GetObject", "arn:aws:s3:::private/x"),
        Decision::ImplicitDeny
    );
}
