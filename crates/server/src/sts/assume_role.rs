//! `AssumeRole`: the parameters and their model constraints, the trust and identity policy
//! decision, then the session the new credentials carry.

use http::StatusCode;

use super::context::{base_context, check_mfa, identity_policies};
use super::params::{Params, Pattern, Violations};
use super::policy_arns::{check_managed_session_policies, combine, validate_policy_arns};
use super::xml::{self, StsError};
use super::{credentials_xml, not_authorized, packed_policy_size, parse_session_policy, Caller};
use crate::decisions::explain;
use crate::http::{HttpResponse, RequestData};
use crate::issuer::SessionClaims;
use crate::policy::AssumeRoleDenial;
use crate::policy::{self, AssumeRoleInputs, Policy, PolicyKind, Request};
use crate::sessions::role_claims;
use crate::state::View;
use crate::world::Role;

/// One `AssumeRole` call's parameters, checked against the model.
struct AssumeRoleRequest<'p> {
    role_arn: &'p str,
    session_name: &'p str,
    duration: Option<i64>,
    external_id: Option<&'p str>,
    serial_number: Option<&'p str>,
    token_code: Option<&'p str>,
    source_identity: Option<&'p str>,
    /// The session policy, minified.
    policy: Option<String>,
    tags: Vec<(String, String)>,
    transitive: Vec<&'p str>,
}

impl<'p> AssumeRoleRequest<'p> {
    /// The parameters of `p`: every model violation in one `ValidationError`, then the
    /// service's own checks in its order.
    fn parse(p: &'p Params) -> Result<AssumeRoleRequest<'p>, StsError> {
        let role_arn = p.get("RoleArn");
        let session_name = p.get("RoleSessionName");
        let tags = p.tags("Tags");
        let transitive = p.list("TransitiveTagKeys");
        let mut v = Violations::default();
        v.string(role_arn, "roleArn", true, (20, 2048), None);
        v.string(
            session_name,
            "roleSessionName",
            true,
            (2, 64),
            Some(Pattern::SessionName),
        );
        let duration = v.integer(p.get("DurationSeconds"), "durationSeconds", (900, 43200));
        v.string(
            p.get("ExternalId"),
            "externalId",
            false,
            (2, 1224),
            Some(Pattern::ExternalId),
        );
        v.string(
            p.get("SerialNumber"),
            "serialNumber",
            false,
            (9, 256),
            Some(Pattern::Serial),
        );
        v.string(
            p.get("TokenCode"),
            "tokenCode",
            false,
            (6, 6),
            Some(Pattern::Digits),
        );
        v.string(
            p.get("SourceIdentity"),
            "sourceIdentity",
            false,
            (2, 64),
            Some(Pattern::SessionName),
        );
        if let Some(pol) = p.get("Policy") {
            v.string(Some(pol), "policy", false, (1, usize::MAX), None);
            if policy::check_charset(pol).is_err() {
                v.other(pol, "policy", r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+");
            }
        }
        validate_tags(&mut v, &tags, &transitive);
        validate_policy_arns(&mut v, p);
        v.finish()?;
        if let Some(si) = p.get("SourceIdentity") {
            if si.to_ascii_lowercase().starts_with("aws:") {
                return Err(StsError::validation(
                    "SourceIdentity cannot start with the prefix 'aws:'",
                ));
            }
        }
        if p.get("Policy").is_some_and(|pol| pol.len() > 2048) {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "PackedPolicyTooLarge",
                "Packed size of consumed policies exceeds 100% of limit.",
            ));
        }
        Ok(AssumeRoleRequest {
            role_arn: role_arn.unwrap_or(""),
            session_name: session_name.unwrap_or(""),
            duration,
            external_id: p.get("ExternalId"),
            serial_number: p.get("SerialNumber"),
            token_code: p.get("TokenCode"),
            source_identity: p.get("SourceIdentity"),
            policy: parse_session_policy(p.get("Policy"))?,
            tags,
            transitive,
        })
    }

    /// The actions the call needs: `sts:AssumeRole`, plus `sts:TagSession` when it passes
    /// tags and `sts:SetSourceIdentity` when it sets a source identity.
    fn actions(&self) -> Vec<&'static str> {
        let mut actions = vec!["sts:AssumeRole"];
        if !self.tags.is_empty() || !self.transitive.is_empty() {
            actions.push("sts:TagSession");
        }
        if self.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        actions
    }
}

/// The model's limits on session tags and transitive tag keys.
pub(super) fn validate_tags(v: &mut Violations, tags: &[(String, String)], transitive: &[&str]) {
    if tags.len() > 50 {
        v.other(
            &format!("{}", tags.len()),
            "tags",
            "Member must have length less than or equal to 50",
        );
    }
    let ok_char = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    for (i, (k, val)) in tags.iter().enumerate() {
        let kn = k.chars().count();
        if kn == 0 || kn > 128 || !k.chars().all(ok_char) {
            v.other(
                k,
                &format!("tags.{}.member.key", i + 1),
                r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
            );
        }
        if val.chars().count() > 256 || !val.chars().all(ok_char) {
            v.other(
                val,
                &format!("tags.{}.member.value", i + 1),
                r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*",
            );
        }
    }
    if transitive.len() > 50 {
        v.other(
            &format!("{}", transitive.len()),
            "transitiveTagKeys",
            "Member must have length less than or equal to 50",
        );
    }
}

/// Answers `AssumeRole` for `caller`.
pub(super) fn assume_role(
    state: &View<'_>,
    caller: &Caller,
    p: &Params,
    req: &RequestData,
    rid: &str,
    note: &mut super::Note,
) -> Result<HttpResponse, StsError> {
    let r = AssumeRoleRequest::parse(p)?;
    let denied = || not_authorized(&caller.arn, "sts:AssumeRole", r.role_arn);
    let Some(role_idx) = state.world.role_by_arn(r.role_arn) else {
        note.reason = Some("no role has this ARN".into());
        return Err(denied());
    };
    let role: &Role = &state.world.roles[role_idx];
    let managed = check_managed_session_policies(state, p, &role.account)?;
    let mfa_now = check_mfa(state, caller, r.serial_number, r.token_code)?;
    match authorized(state, caller, req, &r, role, mfa_now.is_some()) {
        Ok(why) => note.reason = Some(why),
        Err(why) => {
            note.reason = Some(why);
            return Err(denied());
        }
    }
    let mut claims = session_claims(state, caller, &r, role, mfa_now)?;
    claims.policy = combine(claims.policy.take(), managed);
    // The three fields the answer needs, taken before the claims move into the token
    // (instead of a copy of every claim).
    let (user_id, arn, source_identity) = (
        claims.user_id.clone(),
        claims.arn.clone(),
        claims.source_identity.clone(),
    );
    let creds = state.issuer.issue(claims);
    let packed = packed_policy_size(r.policy.as_deref(), &r.tags);
    Ok(xml::success("AssumeRole", rid, |x| {
        credentials_xml(x, &creds);
        x.open("AssumedRoleUser")
            .leaf("AssumedRoleId", &user_id)
            .leaf("Arn", &arn)
            .close("AssumedRoleUser");
        x.opt("PackedPolicySize", packed.as_deref());
        x.opt("SourceIdentity", source_identity.as_deref());
    }))
}

/// Whether the role's trust policy and the caller's identity (and session) policies allow
/// every action of the call (`docs/spec/iam-policy.md` §4.3); the deciding statement (or the
/// refusal) in words, for the decision log.
fn authorized(
    state: &View<'_>,
    caller: &Caller,
    req: &RequestData,
    r: &AssumeRoleRequest<'_>,
    role: &Role,
    with_mfa: bool,
) -> Result<String, String> {
    let mut ctx = base_context(state, caller, req, &caller.region);
    if with_mfa {
        ctx.set("aws:MultiFactorAuthPresent", "true")
            .set("aws:MultiFactorAuthAge", "0");
    }
    ctx.set("sts:RoleSessionName", r.session_name);
    if let Some(e) = r.external_id {
        ctx.set("sts:ExternalId", e);
    }
    if let Some(si) = r.source_identity {
        ctx.set("sts:SourceIdentity", si);
    }
    if !r.tags.is_empty() {
        for (k, val) in &r.tags {
            ctx.set(format!("aws:RequestTag/{k}"), val.clone());
        }
        ctx.set_multi(
            "aws:TagKeys",
            r.tags.iter().map(|(k, _)| k.clone()).collect(),
        );
    }
    if !r.transitive.is_empty() {
        ctx.set_multi(
            "sts:TransitiveTagKeys",
            r.transitive.iter().map(|s| s.to_string()).collect(),
        );
    }
    let identity = identity_policies(state, caller);
    let session_policies: Vec<Policy> = caller
        .session
        .as_ref()
        .and_then(|s| s.policy.as_deref())
        .and_then(|t| Policy::parse(t, PolicyKind::Identity).ok())
        .into_iter()
        .collect();
    let session_refs: Vec<&Policy> = session_policies.iter().collect();
    let inputs = AssumeRoleInputs {
        trust: &role.trust_policy,
        identity: &identity,
        session: &session_refs,
        role_account: &role.account,
    };
    let mut reason = String::new();
    for action in r.actions() {
        let decision = policy::authorize_assume_role(
            &inputs,
            &Request {
                principal: &caller.principal,
                action,
                resource: &role.arn,
                context: &ctx,
            },
        );
        match decision {
            Err(why) => {
                tracing::debug!(?why, action, role = %role.arn, caller = %caller.arn, "AssumeRole denied");
                return Err(denial_reason(&why, role, action));
            }
            Ok(trust) if reason.is_empty() => {
                reason = explain(&trust, &[["trust policy of ", &role.name].concat()]);
            }
            Ok(_) => {}
        }
    }
    Ok(reason)
}

/// Words for an AssumeRole refusal, for the decision log (never for the client).
fn denial_reason(why: &AssumeRoleDenial, role: &Role, action: &str) -> String {
    match why {
        AssumeRoleDenial::TrustExplicitDeny => format!(
            "explicitly denied by a Deny statement of the trust policy of {}",
            role.name
        ),
        AssumeRoleDenial::TrustNoAllow => format!(
            "implicit deny: no statement of the trust policy of {} allows this caller to {action}",
            role.name
        ),
        AssumeRoleDenial::IdentityExplicitDeny => {
            format!("explicitly denied by an identity or session policy of the caller ({action})")
        }
        AssumeRoleDenial::IdentityNoAllow => format!(
            "the trust policy of {} trusts the caller's account only (or the caller is in another account), and no identity policy of the caller allows {action} on it",
            role.name
        ),
        AssumeRoleDenial::SessionNoAllow => format!(
            "implicit deny: the session policy of the calling session does not allow {action}"
        ),
    }
}

/// The new session: duration caps (role maximum, one hour when chained), the source identity
/// (inherited, never changed), MFA time, session policy and tags (the calling session's
/// transitive tags first, then the passed ones).
fn session_claims(
    state: &View<'_>,
    caller: &Caller,
    r: &AssumeRoleRequest<'_>,
    role: &Role,
    mfa_now: Option<i64>,
) -> Result<SessionClaims, StsError> {
    let chained = caller.session.as_ref().is_some_and(|s| s.chained);
    let duration = r.duration.unwrap_or(3600);
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    if chained && duration > 3600 {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let inherited_si = caller
        .session
        .as_ref()
        .and_then(|s| s.source_identity.clone());
    if let (Some(old), Some(new)) = (&inherited_si, r.source_identity) {
        if old != new {
            return Err(StsError::access_denied(
                "The source identity of a role session cannot be changed by role chaining.",
            ));
        }
    }
    let now = state.clock.now();
    let expires = state.world.settings.session_expiry(now, duration);
    let mut claims = role_claims(role, r.session_name, now, expires, true);
    claims.mfa_time = mfa_now.or_else(|| caller.session.as_ref().and_then(|s| s.mfa_time));
    claims.source_identity = r.source_identity.map(str::to_string).or(inherited_si);
    claims.policy = r.policy.clone();
    if let Some(s) = &caller.session {
        for k in &s.transitive_tag_keys {
            if let Some((tk, tv)) = s.tags.iter().find(|(tk, _)| tk.eq_ignore_ascii_case(k)) {
                if r.tags.iter().any(|(nk, _)| nk.eq_ignore_ascii_case(tk)) {
                    return Err(StsError::validation(format!(
                        "The session tag key {tk} is transitive and cannot be changed by role chaining."
                    )));
                }
                claims.tags.push((tk.clone(), tv.clone()));
                claims.transitive_tag_keys.push(tk.clone());
            }
        }
    }
    claims.tags.extend(r.tags.iter().cloned());
    claims
        .transitive_tag_keys
        .extend(r.transitive.iter().map(|s| s.to_string()));
    Ok(claims)
}
