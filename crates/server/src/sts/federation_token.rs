//! `GetFederationToken`: temporary credentials of a federated user
//! (`arn:aws:sts::<account>:federated-user/<Name>`) made by an IAM user with its long-term
//! keys. The session acts within the user's permissions intersected with the session policy;
//! without one it has none (it may still call `GetCallerIdentity` and sign into the console).

use super::context::{base_context, identity_policies};
use super::params::{Params, Pattern, Violations};
use super::policy_arns::{check_managed_session_policies, validate_policy_arns};
use super::xml::{self, StsError};
use super::{
    credentials_xml, not_authorized, packed_policy_size, parse_session_policy, Caller, CallerKind,
};
use crate::http::{HttpResponse, RequestData};
use crate::issuer::{SessionClaims, SessionKind};
use crate::policy::{self, Request};
use crate::state::View;

/// Answers `GetFederationToken`.
pub(super) fn get_federation_token(
    state: &View<'_>,
    caller: &Caller,
    p: &Params,
    req: &RequestData,
    rid: &str,
) -> Result<HttpResponse, StsError> {
    let name = p.get("Name");
    let tags = p.tags("Tags");
    let mut v = Violations::default();
    v.string(name, "name", true, (2, 32), Some(Pattern::SessionName));
    let duration = v.integer(p.get("DurationSeconds"), "durationSeconds", (900, 129600));
    if let Some(pol) = p.get("Policy") {
        v.string(Some(pol), "policy", false, (1, usize::MAX), None);
        if policy::check_charset(pol).is_err() {
            v.other(
                pol,
                "policy",
                r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
            );
        }
    }
    super::assume_role::validate_tags(&mut v, &tags, &[]);
    validate_policy_arns(&mut v, p);
    v.finish()?;
    if p.get("Policy").is_some_and(|pol| pol.len() > 2048) {
        return Err(StsError::new(
            http::StatusCode::BAD_REQUEST,
            "PackedPolicyTooLarge",
            "Packed size of consumed policies exceeds 100% of limit.",
        ));
    }
    let session_policy = parse_session_policy(p.get("Policy"))?;
    let CallerKind::LongTerm { user } = caller.kind else {
        return Err(StsError::access_denied(
            "Cannot call GetFederationToken with session credentials",
        ));
    };
    let user = &state.world.users[user];
    check_managed_session_policies(state, p, &user.account)?;
    let name = name.unwrap_or("");
    let arn = format!(
        "arn:{}:sts::{}:federated-user/{name}",
        state.world.settings.partition, user.account
    );
    let ctx = base_context(state, caller, req, &caller.region);
    let identity = identity_policies(state, caller);
    let decision = policy::authorize_action(
        &identity,
        None,
        &[],
        &Request {
            principal: &caller.principal,
            action: "sts:GetFederationToken",
            resource: &arn,
            context: &ctx,
        },
    );
    if decision.decision != policy::Decision::Allow {
        return Err(not_authorized(&caller.arn, "sts:GetFederationToken", &arn));
    }
    let now = state.clock.now();
    let user_id = format!("{}:{name}", user.account);
    let claims = SessionClaims {
        access_key_id: String::new(),
        kind: SessionKind::Federated,
        account: user.account.clone(),
        arn: arn.clone(),
        user_id: user_id.clone(),
        role_arn: None,
        session_name: Some(name.to_string()),
        issued: now,
        expires: state
            .world
            .settings
            .session_expiry(now, duration.unwrap_or(43200)),
        mfa_time: None,
        chained: true,
        source_identity: None,
        policy: session_policy.clone(),
        tags: tags.clone(),
        transitive_tag_keys: Vec::new(),
        parent_user: Some(user.arn.clone()),
    };
    let creds = state.issuer.issue(claims);
    let packed = packed_policy_size(session_policy.as_deref(), &tags);
    Ok(xml::success("GetFederationToken", rid, |x| {
        credentials_xml(x, &creds);
        x.open("FederatedUser")
            .leaf("FederatedUserId", &user_id)
            .leaf("Arn", &arn)
            .close("FederatedUser");
        if let Some(size) = &packed {
            x.leaf("PackedPolicySize", size);
        }
    }))
}
