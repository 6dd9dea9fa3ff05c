//! Who the caller is, as policy evaluation sees it: the request context keys of a signed
//! call, the caller's principal tags and identity policies, and its MFA proof.

use super::xml::StsError;
use super::{Caller, CallerKind};
use crate::http::RequestData;
use crate::policy::{Context, Policy};
use crate::state::{context_at, iso8601, View};

/// The request context every policy evaluation of `caller` starts from.
pub(crate) fn base_context(
    state: &View<'_>,
    caller: &Caller,
    req: &RequestData,
    region: &str,
) -> Context {
    let now = state.clock.now();
    let mut ctx = context_at(now);
    ctx.set("aws:SecureTransport", "false")
        .set("aws:SourceIp", req.peer.ip().to_string())
        .set("aws:RequestedRegion", region)
        .set("aws:PrincipalAccount", caller.account.clone())
        .set("aws:userid", caller.user_id.clone());
    let principal_arn = caller
        .principal
        .role_arn
        .clone()
        .unwrap_or_else(|| caller.arn.clone());
    ctx.set("aws:PrincipalArn", principal_arn);
    match &caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => {
            ctx.set("aws:PrincipalType", "User")
                .set("aws:username", state.world.users[*user].name.clone());
        }
        CallerKind::RoleSession { .. } => {
            ctx.set("aws:PrincipalType", "AssumedRole");
        }
    }
    for (k, v) in caller_tags(state, caller) {
        ctx.set(format!("aws:PrincipalTag/{k}"), v);
    }
    if let Some(s) = &caller.session {
        ctx.set("aws:TokenIssueTime", iso8601(s.issued));
        match s.mfa_time {
            Some(t) => {
                ctx.set("aws:MultiFactorAuthPresent", "true")
                    .set("aws:MultiFactorAuthAge", (now - t).max(0).to_string());
            }
            None => {
                ctx.set("aws:MultiFactorAuthPresent", "false");
            }
        }
        if let Some(si) = &s.source_identity {
            ctx.set("aws:SourceIdentity", si.clone());
        }
    }
    ctx
}

/// Principal tags: the user's or role's tags, overridden by session tags (keys ignore case).
fn caller_tags(state: &View<'_>, caller: &Caller) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = match &caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => {
            state.world.users[*user].tags.clone().into_iter().collect()
        }
        CallerKind::RoleSession { role } => {
            state.world.roles[*role].tags.clone().into_iter().collect()
        }
    };
    if let Some(s) = &caller.session {
        for (k, v) in &s.tags {
            tags.retain(|(tk, _)| !tk.eq_ignore_ascii_case(k));
            tags.push((k.clone(), v.clone()));
        }
    }
    tags
}

/// The caller's identity policies.
pub(crate) fn identity_policies<'w>(state: &'w View<'_>, caller: &Caller) -> Vec<&'w Policy> {
    match &caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => {
            state.world.users[*user].policies.iter().collect()
        }
        CallerKind::RoleSession { role } => state.world.roles[*role].policies.iter().collect(),
    }
}

/// Checks `SerialNumber` + `TokenCode` against the caller's MFA devices: `Ok(Some(now))` when
/// a code was given and is right, `Ok(None)` when neither was given.
pub(super) fn check_mfa(
    state: &View<'_>,
    caller: &Caller,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<Option<i64>, StsError> {
    const BAD_CODE: &str = "MultiFactorAuthentication failed with invalid MFA one time pass code.";
    const UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(None),
        (Some(s), Some(c)) => (s, c),
        (Some(_), None) => return Err(StsError::access_denied(BAD_CODE)),
        (None, Some(_)) => return Err(StsError::access_denied(UNKNOWN_DEVICE)),
    };
    let device = match &caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => state.world.users
            [*user]
            .mfa_devices
            .iter()
            .find(|d| d.serial == serial),
        CallerKind::RoleSession { .. } => None,
    };
    let Some(device) = device else {
        return Err(StsError::access_denied(UNKNOWN_DEVICE));
    };
    let now = state.clock.now();
    if !state.mfa.verify(&device.serial, &device.secret, code, now) {
        return Err(StsError::access_denied(BAD_CODE));
    }
    Ok(Some(now))
}
