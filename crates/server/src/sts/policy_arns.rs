//! `PolicyArns` (managed session policies) of `AssumeRole` and `AssumeRoleWithWebIdentity`:
//! the model's constraints, members that would otherwise be dropped, and the policies named.

use http::StatusCode;

use super::params::{Params, Violations};
use super::xml::StsError;
use crate::state::View;

/// Most managed session policies per request (the parameter's documentation).
const MAX_POLICY_ARNS: usize = 10;

/// Checks `PolicyArns` against the model (each `arn` 20–2048 characters, at most 10 members)
/// and reports members that would otherwise be dropped: a member without its `arn`, a
/// misspelt field, an index after a gap.
pub(super) fn validate_policy_arns(v: &mut Violations, p: &Params) {
    let arns = p.struct_field("PolicyArns", "arn");
    if arns.len() > MAX_POLICY_ARNS {
        v.other(
            &arns.len().to_string(),
            "policyArns",
            "Member must have length less than or equal to 10",
        );
    }
    for (i, arn) in arns.iter().enumerate() {
        v.string(
            *arn,
            &format!("policyArns.{}.member.arn", i + 1),
            true,
            (20, 2048),
            None,
        );
    }
    for stray in p.stray_members("PolicyArns", "arn") {
        v.other(
            p.get(stray).unwrap_or(""),
            stray,
            "Member must be PolicyArns.member.N.arn with N counting from 1",
        );
    }
}

/// Checks the managed session policies named by `PolicyArns` for a session of a role in
/// `role_account` and returns their documents. An ARN that names no managed policy of the
/// world (customer managed in the role's account, or AWS managed) is refused rather than
/// ignored: ignoring a session policy would widen the session.
pub(super) fn check_managed_session_policies(
    state: &View<'_>,
    p: &Params,
    role_account: &str,
) -> Result<Vec<String>, StsError> {
    let partition = &state.world.settings.partition;
    let arns: Vec<&str> = p
        .struct_field("PolicyArns", "arn")
        .into_iter()
        .flatten()
        .collect();
    for arn in &arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let well_formed = parts.len() == 6
            && parts[0] == "arn"
            && parts[1] == partition
            && parts[2] == "iam"
            && parts[3].is_empty()
            && (parts[4] == "aws"
                || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
            && parts[5]
                .strip_prefix("policy/")
                .is_some_and(|name| !name.is_empty() && !name.ends_with('/'));
        if !well_formed {
            return Err(StsError::validation(format!(
                "Invalid managed policy ARN {arn}: expected arn:{partition}:iam::<account id or aws>:policy/<path><name>"
            )));
        }
        if parts[4] != "aws" && parts[4] != role_account {
            return Err(StsError::validation(format!(
                "The managed policy {arn} must be in the role's account {role_account} or be an AWS managed policy"
            )));
        }
    }
    arns.iter()
        .map(|arn| {
            state
                .world
                .managed_policy(arn)
                .filter(|m| m.account.as_deref().is_none_or(|a| a == role_account))
                .map(|m| m.document.clone())
                .ok_or_else(|| {
                    StsError::new(
                        StatusCode::NOT_FOUND,
                        "NoSuchEntity",
                        format!("Policy {arn} does not exist or is not attachable."),
                    )
                })
        })
        .collect()
}

/// The session policy of a session: the inline `Policy` and the managed session policies
/// together, as one document whose statements are all of theirs (a session may do what any
/// of its session policies allows and none denies).
pub(super) fn combine(inline: Option<String>, managed: Vec<String>) -> Option<String> {
    if managed.is_empty() {
        return inline;
    }
    let mut statements = Vec::new();
    for doc in inline.iter().chain(managed.iter()) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) {
            match v.get("Statement") {
                Some(serde_json::Value::Array(items)) => statements.extend(items.iter().cloned()),
                Some(one) => statements.push(one.clone()),
                None => {}
            }
        }
    }
    Some(serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}
