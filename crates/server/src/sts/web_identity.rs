//! `AssumeRoleWithWebIdentity`: an unsigned call whose proof is an OIDC ID token, verified
//! against the role account's OIDC provider, then the role's trust policy.

use http::StatusCode;

use super::params::{Params, Pattern, Violations};
use super::policy_arns::{check_managed_session_policies, combine, validate_policy_arns};
use super::xml::{self, StsError};
use super::{credentials_xml, packed_policy_size, parse_session_policy};
use crate::http::HttpResponse;
use crate::jwt;
use crate::policy::{self, AssumeRoleInputs, Principal, Request};
use crate::sessions::role_claims;
use crate::state::{context_at, iso8601, View};
use crate::world::{OidcProvider, Role};

/// One call's parameters, checked against the model.
struct WebIdentityRequest<'p> {
    role_arn: &'p str,
    session_name: &'p str,
    token: &'p str,
    duration: Option<i64>,
    /// The session policy, minified.
    policy: Option<String>,
}

impl<'p> WebIdentityRequest<'p> {
    fn parse(p: &'p Params) -> Result<WebIdentityRequest<'p>, StsError> {
        let role_arn = p.get("RoleArn");
        let session_name = p.get("RoleSessionName");
        let token = p.get("WebIdentityToken");
        let mut v = Violations::default();
        v.string(role_arn, "roleArn", true, (20, 2048), None);
        v.string(
            session_name,
            "roleSessionName",
            true,
            (2, 64),
            Some(Pattern::SessionName),
        );
        v.string(token, "webIdentityToken", true, (4, 20000), None);
        let duration = v.integer(p.get("DurationSeconds"), "durationSeconds", (900, 43200));
        v.string(p.get("ProviderId"), "providerId", false, (4, 2048), None);
        v.string(p.get("Policy"), "policy", false, (1, 2048), None);
        validate_policy_arns(&mut v, p);
        v.finish()?;
        Ok(WebIdentityRequest {
            role_arn: role_arn.unwrap_or(""),
            session_name: session_name.unwrap_or(""),
            token: token.unwrap_or(""),
            duration,
            policy: parse_session_policy(p.get("Policy"))?,
        })
    }
}

/// What a verified ID token proves.
struct VerifiedToken<'w> {
    provider: &'w OidcProvider,
    /// `iss`, as the token states it.
    issuer: String,
    claims: jwt::Claims,
    /// The `aud` (or `azp`) that matched one of the provider's client ids.
    audience: String,
}

fn invalid(message: &str) -> StsError {
    StsError::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", message)
}

/// Verifies `token` for `role`: its issuer is an OIDC provider of the role's account, the
/// signature is one of its keys, the audience one of its client ids, and it is current.
fn verify_token<'w>(
    state: &'w View<'_>,
    role: &Role,
    token: &str,
    now: i64,
) -> Result<VerifiedToken<'w>, StsError> {
    let peeked = jwt::peek(token).map_err(|_| invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"))?;
    let provider = state
        .world
        .oidc_provider(&role.account, &peeked.iss)
        .ok_or_else(|| {
            invalid(&format!(
                "No OpenIDConnect provider found in your account for {}",
                peeked.iss
            ))
        })?;
    let claims = jwt::verify(token, &provider.keys).map_err(|e| match e {
        jwt::JwtError::BadSignature => {
            invalid("The signature of the ID Token could not be verified")
        }
        other => invalid(&other.to_string()),
    })?;
    let audience = claims
        .aud
        .iter()
        .find(|a| provider.client_ids.contains(a))
        .or_else(|| {
            claims
                .azp
                .as_ref()
                .filter(|a| provider.client_ids.contains(a))
        })
        .cloned()
        .ok_or_else(|| invalid("Incorrect token audience"))?;
    let exp = claims
        .exp
        .ok_or_else(|| invalid("The ID Token is missing the exp claim"))?;
    if exp <= now {
        let message = format!(
            "Token expired: current date/time {} must be before the expiration date/time {}",
            iso8601(now),
            iso8601(exp)
        );
        return Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            message,
        ));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + 300) {
        return Err(invalid("The ID Token is not yet valid"));
    }
    Ok(VerifiedToken {
        provider,
        issuer: peeked.iss,
        claims,
        audience,
    })
}

/// Whether the role's trust policy lets the token's federated principal in, with the
/// provider's `aud`/`sub`/`azp`/`amr` condition keys.
fn trusted(role: &Role, session_name: &str, t: &VerifiedToken<'_>, now: i64) -> bool {
    let principal = Principal::web_identity(&t.provider.arn);
    let mut ctx = context_at(now);
    let hp = &t.provider.host_path;
    ctx.set("aws:FederatedProvider", t.provider.arn.clone())
        .set("aws:PrincipalType", "WebIdentityUser")
        .set("sts:RoleSessionName", session_name)
        .set(format!("{hp}:aud"), t.audience.clone())
        .set(format!("{hp}:sub"), t.claims.sub.clone());
    if let Some(azp) = &t.claims.azp {
        ctx.set(format!("{hp}:azp"), azp.clone());
    }
    if !t.claims.amr.is_empty() {
        ctx.set_multi(format!("{hp}:amr"), t.claims.amr.clone());
    }
    let inputs = AssumeRoleInputs {
        trust: &role.trust_policy,
        identity: &[],
        session: &[],
        role_account: &role.account,
    };
    policy::authorize_assume_role(
        &inputs,
        &Request {
            principal: &principal,
            action: "sts:AssumeRoleWithWebIdentity",
            resource: &role.arn,
            context: &ctx,
        },
    )
    .is_ok()
}

/// Answers `AssumeRoleWithWebIdentity`.
pub(super) fn assume_role_with_web_identity(
    state: &View<'_>,
    p: &Params,
    rid: &str,
) -> Result<HttpResponse, StsError> {
    let r = WebIdentityRequest::parse(p)?;
    let denied =
        || StsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    let role = &state.world.roles[state.world.role_by_arn(r.role_arn).ok_or_else(denied)?];
    let managed = check_managed_session_policies(state, p, &role.account)?;
    let now = state.clock.now();
    let token = verify_token(state, role, r.token, now)?;
    if !trusted(role, r.session_name, &token, now) {
        return Err(denied());
    }
    let duration = r.duration.unwrap_or(3600);
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let expires = state.world.settings.session_expiry(now, duration);
    let mut session = role_claims(role, r.session_name, now, expires, true);
    session.policy = combine(r.policy.clone(), managed);
    let creds = state.issuer.issue(session.clone());
    let packed = packed_policy_size(r.policy.as_deref(), &[]);
    Ok(xml::success("AssumeRoleWithWebIdentity", rid, |x| {
        x.leaf("SubjectFromWebIdentityToken", &token.claims.sub)
            .leaf("Audience", &token.audience);
        x.open("AssumedRoleUser")
            .leaf("Arn", &session.arn)
            .leaf("AssumedRoleId", &session.user_id)
            .close("AssumedRoleUser");
        credentials_xml(x, &creds);
        x.leaf("Provider", &token.issuer);
        x.opt("PackedPolicySize", packed.as_deref());
    }))
}
