//! Role sessions issued on behalf of AWS services (EC2 for IMDS, ECS for task roles): the
//! trust check and the rotation windows that keep credentials stable between rotations.

use crate::decisions::explain;
use crate::issuer::{IssuedCredentials, SessionClaims, SessionKind};
use crate::policy::{self, AssumeRoleInputs, Principal, Request};
use crate::state::{context_at, State};
use crate::world::{Role, World};

/// Claims of a session of `role` named `session_name`.
pub fn role_claims(
    role: &Role,
    session_name: &str,
    issued: i64,
    expires: i64,
    chained: bool,
) -> SessionClaims {
    let partition = role.arn.split(':').nth(1).unwrap_or("aws");
    SessionClaims {
        access_key_id: String::new(),
        kind: SessionKind::Role,
        account: role.account.clone(),
        // `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` (built by
        // concatenation: this runs on every AssumeRole).
        arn: [
            "arn:",
            partition,
            ":sts::",
            &role.account,
            ":assumed-role/",
            &role.name,
            "/",
            session_name,
        ]
        .concat(),
        user_id: [role.id.as_str(), ":", session_name].concat(),
        role_arn: Some(role.arn.clone()),
        session_name: Some(session_name.to_string()),
        issued,
        expires,
        mfa_time: None,
        chained,
        source_identity: None,
        policy: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        parent_user: None,
    }
}

/// Whether a service may assume a role, and the trust statement that decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    /// Allowed.
    pub allowed: bool,
    /// The deciding statement or its absence, in words.
    pub reason: String,
}

/// Whether `service` (e.g. `ec2.amazonaws.com`) may assume `role` per its trust policy, on
/// behalf of the resource `source_arn` (the instance or task) owned by `source_account`.
pub fn service_trust(
    state: &State,
    world: &World,
    role: &Role,
    service: &str,
    source_account: &str,
    source_arn: &str,
) -> Trust {
    let principal = Principal::service(service);
    let mut ctx = context_at(state.clock.now());
    ctx.set("aws:SourceAccount", source_account)
        .set("aws:SourceArn", source_arn)
        .set("aws:PrincipalType", "Service")
        .set("aws:RequestedRegion", world.settings.region.clone());
    let request = Request {
        principal: &principal,
        action: "sts:AssumeRole",
        resource: &role.arn,
        context: &ctx,
    };
    let inputs = AssumeRoleInputs {
        trust: &role.trust_policy,
        identity: &[],
        session: &[],
        role_account: &role.account,
    };
    let allowed = policy::authorize_assume_role(&inputs, &request).is_ok();
    let eval = role.trust_policy.evaluate(&request);
    Trust {
        allowed,
        reason: explain(&eval, &["trust policy".to_string()]),
    }
}

/// The rotation window containing `now`: credentials are issued at the window start and live
/// `lifetime` seconds, so a new set appears `margin` seconds before the old one expires and the
/// old one stays valid until its own expiry.
pub fn window(now: i64, lifetime: i64, margin: i64) -> (i64, i64, i64) {
    let period = (lifetime - margin).max(1);
    let k = now.div_euclid(period);
    let issued = k * period;
    (k, issued, issued + lifetime)
}

/// Credentials of the session `session_name` of `role`, issued by `service`, for the rotation
/// window containing now; identical for every call (and replica) within a window.
pub fn service_credentials(
    state: &State,
    role: &Role,
    session_name: &str,
    lifetime: i64,
    margin: i64,
    chained: bool,
) -> (IssuedCredentials, SessionClaims) {
    let (k, issued, expires) = window(state.clock.now(), lifetime, margin);
    let claims = role_claims(role, session_name, issued, expires, chained);
    let seed = format!("{}\n{}\n{}\n{}", role.arn, session_name, k, lifetime);
    let creds = state
        .issuer
        .issue_deterministic(seed.as_bytes(), claims.clone());
    (creds, claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_rotate_before_expiry() {
        let (lifetime, margin) = (6 * 3600, 1800);
        let (k, issued, expires) = window(1_800_000_000, lifetime, margin);
        assert!(issued <= 1_800_000_000 && expires - 1_800_000_000 >= margin);
        // Just before the window ends the same set is served; right after, a new one.
        let end = issued + (lifetime - margin);
        assert_eq!(window(end - 1, lifetime, margin).0, k);
        let (k2, issued2, _) = window(end, lifetime, margin);
        assert_eq!(k2, k + 1);
        assert_eq!(issued2, end);
        assert_eq!(
            expires - end,
            margin,
            "the old set still has `margin` seconds left"
        );
    }
}
