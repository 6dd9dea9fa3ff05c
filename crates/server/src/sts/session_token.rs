//! `GetSessionToken` and `GetAccessKeyInfo`: the calls about a user's own keys.

use super::params::{Params, Pattern, Violations};
use super::xml::{self, StsError};
use super::{context::check_mfa, credentials_xml, Caller, CallerKind};
use crate::http::HttpResponse;
use crate::issuer::{SessionClaims, SessionKind};
use crate::state::View;

/// Answers `GetSessionToken`: long-term user keys only, 12 hours by default.
pub(super) fn get_session_token(
    state: &View<'_>,
    caller: &Caller,
    p: &Params,
    rid: &str,
) -> Result<HttpResponse, StsError> {
    let mut v = Violations::default();
    let duration = v.integer(p.get("DurationSeconds"), "durationSeconds", (900, 129600));
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
    v.finish()?;
    let CallerKind::LongTerm { user } = caller.kind else {
        return Err(StsError::access_denied(
            "Cannot call GetSessionToken with session credentials",
        ));
    };
    let mfa_now = check_mfa(state, caller, p.get("SerialNumber"), p.get("TokenCode"))?;
    let user = &state.world.users[user];
    let now = state.clock.now();
    let claims = SessionClaims {
        access_key_id: String::new(),
        kind: SessionKind::User,
        account: user.account.clone(),
        arn: user.arn.clone(),
        user_id: user.id.clone(),
        role_arn: None,
        session_name: None,
        issued: now,
        expires: state
            .world
            .settings
            .session_expiry(now, duration.unwrap_or(43200)),
        mfa_time: mfa_now,
        // AssumeRole with these credentials is capped at one hour like role chaining.
        chained: true,
        source_identity: None,
        policy: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        parent_user: None,
    };
    let creds = state.issuer.issue(claims);
    Ok(xml::success("GetSessionToken", rid, |x| {
        credentials_xml(x, &creds)
    }))
}

/// Answers `GetAccessKeyInfo`: the account of a world key or a pre-issued session key.
pub(super) fn get_access_key_info(
    state: &View<'_>,
    p: &Params,
    rid: &str,
) -> Result<HttpResponse, StsError> {
    let key = p.get("AccessKeyId");
    let mut v = Violations::default();
    v.string(key, "accessKeyId", true, (16, 128), Some(Pattern::Word));
    v.finish()?;
    let key = key.unwrap_or("");
    let account = if let Some((user, _)) = state.world.access_key(key) {
        Some(user.account.clone())
    } else {
        state
            .world
            .pre_issued(key)
            .next()
            .map(|s| match &s.principal {
                crate::world::SessionPrincipal::User(u) => state.world.users[*u].account.clone(),
                crate::world::SessionPrincipal::Role(r, _) => state.world.roles[*r].account.clone(),
            })
    };
    // Keys minted by the issuer do not encode their account; only the token does.
    let account = account.ok_or_else(StsError::invalid_client_token)?;
    Ok(xml::success("GetAccessKeyInfo", rid, |x| {
        x.leaf("Account", &account);
    }))
}
