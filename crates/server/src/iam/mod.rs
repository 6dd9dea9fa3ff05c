//! IAM (Query protocol, API version 2010-05-08): roles, inline and managed policies, instance
//! profiles, users and their access keys, virtual MFA devices and SimulatePrincipalPolicy.
//! Every call is SigV4-verified, authorized by the policy engine (a refusal is AccessDenied
//! naming the action) and logged; changes go through the live world in one transaction.

mod mfa;
mod policies;
mod profiles;
mod roles;
mod simulate;
mod users;

use http::StatusCode;

use crate::http::{HttpResponse, RequestData};
use crate::live::ChangeError;
use crate::query::{Call, QueryError, Service};
use crate::state::{iso8601, State};
use crate::sts::params::Params;
use crate::sts::xml::{success_in, Xml};

/// The IAM XML namespace.
pub const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

impl From<ChangeError> for QueryError {
    fn from(e: ChangeError) -> QueryError {
        tracing::error!(error = %e, "state change failed");
        QueryError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceFailure",
            format!("The change could not be stored: {e}"),
        )
    }
}

/// Answers one IAM request.
pub fn handle(state: &State, req: &RequestData, params: Params) -> HttpResponse {
    crate::query::serve(state, req, params, Service::Iam, dispatch, |e, rid, _| {
        e.response_in(NS, rid)
    })
}

/// Every action `dispatch` answers (the metrics labels).
pub const ACTIONS: &[&str] = &[
    "CreateRole",
    "GetRole",
    "ListRoles",
    "DeleteRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "ListAttachedRolePolicies",
    "PutUserPolicy",
    "GetUserPolicy",
    "DeleteUserPolicy",
    "ListUserPolicies",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "ListAttachedUserPolicies",
    "CreatePolicy",
    "GetPolicy",
    "GetPolicyVersion",
    "DeletePolicy",
    "ListPolicies",
    "CreateInstanceProfile",
    "GetInstanceProfile",
    "ListInstanceProfiles",
    "ListInstanceProfilesForRole",
    "DeleteInstanceProfile",
    "AddRoleToInstanceProfile",
    "RemoveRoleFromInstanceProfile",
    "CreateUser",
    "GetUser",
    "ListUsers",
    "DeleteUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "ListMFADevices",
    "ListVirtualMFADevices",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
    "SimulatePrincipalPolicy",
];

fn dispatch(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    match call.action.as_str() {
        "CreateRole" => roles::create(call),
        "GetRole" => roles::get(call),
        "ListRoles" => roles::list(call),
        "DeleteRole" => roles::delete(call),
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(call),
        "UpdateRole" => roles::update(call),
        "PutRolePolicy" => policies::put_inline(call, policies::Owner::Role),
        "GetRolePolicy" => policies::get_inline(call, policies::Owner::Role),
        "DeleteRolePolicy" => policies::delete_inline(call, policies::Owner::Role),
        "ListRolePolicies" => policies::list_inline(call, policies::Owner::Role),
        "AttachRolePolicy" => policies::attach(call, policies::Owner::Role),
        "DetachRolePolicy" => policies::detach(call, policies::Owner::Role),
        "ListAttachedRolePolicies" => policies::list_attached(call, policies::Owner::Role),
        "PutUserPolicy" => policies::put_inline(call, policies::Owner::User),
        "GetUserPolicy" => policies::get_inline(call, policies::Owner::User),
        "DeleteUserPolicy" => policies::delete_inline(call, policies::Owner::User),
        "ListUserPolicies" => policies::list_inline(call, policies::Owner::User),
        "AttachUserPolicy" => policies::attach(call, policies::Owner::User),
        "DetachUserPolicy" => policies::detach(call, policies::Owner::User),
        "ListAttachedUserPolicies" => policies::list_attached(call, policies::Owner::User),
        "CreatePolicy" => policies::create_managed(call),
        "GetPolicy" => policies::get_managed(call),
        "GetPolicyVersion" => policies::get_managed_version(call),
        "DeletePolicy" => policies::delete_managed(call),
        "ListPolicies" => policies::list_managed(call),
        "CreateInstanceProfile" => profiles::create(call),
        "GetInstanceProfile" => profiles::get(call),
        "ListInstanceProfiles" => profiles::list(call),
        "ListInstanceProfilesForRole" => profiles::list_for_role(call),
        "DeleteInstanceProfile" => profiles::delete(call),
        "AddRoleToInstanceProfile" => profiles::add_role(call),
        "RemoveRoleFromInstanceProfile" => profiles::remove_role(call),
        "CreateUser" => users::create(call),
        "GetUser" => users::get(call),
        "ListUsers" => users::list(call),
        "DeleteUser" => users::delete(call),
        "CreateAccessKey" => users::create_access_key(call),
        "ListAccessKeys" => users::list_access_keys(call),
        "UpdateAccessKey" => users::update_access_key(call),
        "DeleteAccessKey" => users::delete_access_key(call),
        "CreateVirtualMFADevice" => mfa::create_virtual(call),
        "EnableMFADevice" => mfa::enable(call),
        "ListMFADevices" => mfa::list(call),
        "ListVirtualMFADevices" => mfa::list_virtual(call),
        "DeactivateMFADevice" => mfa::deactivate(call),
        "DeleteVirtualMFADevice" => mfa::delete_virtual(call),
        "SimulatePrincipalPolicy" => simulate::simulate_principal_policy(call),
        other => Err(crate::query::unknown_action(other, Service::Iam)),
    }
}

/// A successful response with a `…Result` element.
fn ok(call: &Call<'_>, result: impl FnOnce(&mut Xml)) -> Result<HttpResponse, QueryError> {
    Ok(success_in(NS, &call.action, &call.rid, Some(result)))
}

/// A successful response without output.
fn done(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    Ok(success_in(
        NS,
        &call.action,
        &call.rid,
        None::<fn(&mut Xml)>,
    ))
}

/// 404 `NoSuchEntity`.
fn no_such(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::NOT_FOUND, "NoSuchEntity", message)
}

/// 409 `EntityAlreadyExists`.
fn exists(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::CONFLICT, "EntityAlreadyExists", message)
}

/// 409 `DeleteConflict`.
fn conflict(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::CONFLICT, "DeleteConflict", message)
}

/// 400 `InvalidInput`.
fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::BAD_REQUEST, "InvalidInput", message)
}

/// 400 `ValidationError` for one member.
fn validation(value: &str, member: &str, constraint: &str) -> QueryError {
    QueryError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// A required parameter.
fn required<'c>(call: &'c Call<'_>, name: &str) -> Result<&'c str, QueryError> {
    crate::query::required(&call.params, name, Service::Iam)
}

/// Checks an IAM name parameter (`roleName`, …): 1–`max` of `[\w+=,.@-]`.
fn check_name(value: &str, member: &str, max: usize) -> Result<(), QueryError> {
    if value.is_empty() || value.len() > max {
        return Err(validation(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(validation(
            value,
            member,
            r"Member must satisfy regular expression pattern: [\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// The `Path` parameter (default `/`).
fn path_param(call: &Call<'_>) -> Result<String, QueryError> {
    let path = call.get("Path").unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
        return Err(validation(
            path,
            "path",
            r"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        ));
    }
    Ok(path.to_string())
}

/// Parses a policy document parameter, or `MalformedPolicyDocument`.
fn policy_document(
    text: &str,
    kind: crate::policy::PolicyKind,
) -> Result<crate::policy::Policy, QueryError> {
    crate::policy::Policy::parse(text, kind).map_err(|e| {
        QueryError::new(
            StatusCode::BAD_REQUEST,
            "MalformedPolicyDocument",
            format!("Syntax errors in policy. {e}"),
        )
    })
}

/// A policy document as IAM returns it: URL-encoded JSON.
fn encode_document(doc: &str) -> String {
    percent_encoding::utf8_percent_encode(doc, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `Tags.member.N` as `<Tags><member><Key/><Value/></member></Tags>`.
fn tags_xml(x: &mut Xml, tags: &std::collections::BTreeMap<String, String>) {
    if tags.is_empty() {
        return;
    }
    x.open("Tags");
    for (k, v) in tags {
        x.open("member")
            .leaf("Key", k)
            .leaf("Value", v)
            .close("member");
    }
    x.close("Tags");
}

/// A list response: the `Marker`/`MaxItems` page of `items` as `<list><member>…</member>…
/// </list>` (each written by `member`), then `IsTruncated` and the next `Marker`.
fn paged<T>(
    call: &Call<'_>,
    list: &str,
    items: Vec<T>,
    member: impl Fn(&mut Xml, &T),
) -> Result<HttpResponse, QueryError> {
    let (items, next) = page(call, items)?;
    ok(call, |x| {
        x.open(list);
        for item in &items {
            member(x, item);
        }
        x.close(list);
        x.leaf("IsTruncated", if next.is_some() { "true" } else { "false" });
        x.opt("Marker", next.as_deref());
    })
}

/// The `Marker`/`MaxItems` page of `items`: the page and the next marker.
fn page<T>(call: &Call<'_>, items: Vec<T>) -> Result<(Vec<T>, Option<String>), QueryError> {
    let size = call.get("MaxItems");
    crate::query::page(items, call.get("Marker"), size, 100, 1..=1000).map_err(|e| match e {
        crate::query::PageError::Token => invalid("Invalid Marker".to_string()),
        crate::query::PageError::Size => validation(
            size.unwrap_or_default(),
            "maxItems",
            "Member must have value between 1 and 1000",
        ),
    })
}

/// Now, ISO 8601.
fn now(call: &Call<'_>) -> String {
    iso8601(call.state.clock.now())
}

/// Tags from `Tags.member.N.Key/Value`.
fn tags_param(call: &Call<'_>) -> std::collections::BTreeMap<String, String> {
    call.params.tags("Tags").into_iter().collect()
}

#[cfg(test)]
mod actions_tests {
    /// `ACTIONS` names exactly the actions `dispatch` matches.
    #[test]
    fn actions_list_matches_dispatch() {
        let arms = crate::query::dispatch_arms(include_str!("mod.rs"));
        assert_eq!(arms, super::ACTIONS);
    }
}
