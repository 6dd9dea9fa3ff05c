//! `GetSessionToken` and `GetAccessKeyInfo`: the calls about a user's own keys.

use super::context::base_context;
use super::params::{Params, Pattern, Violations};
use super::xml::{self, StsError};
use super::{context::check_mfa, credentials_xml, not_authorized, Caller, CallerKind};
use crate::http::{HttpResponse, RequestData};
use crate::issuer::{SessionClaims, SessionKind};
use crate::state::View;
use http::StatusCode;

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

/// `DecodeAuthorizationMessage`: the decision inside an encoded authorization failure message
/// of this server ([`crate::authz_message`]), for a caller of the same account whose policies
/// allow `sts:DecodeAuthorizationMessage` (on `*`, the action has no resource type).
pub(super) fn decode_authorization_message(
    state: &View<'_>,
    caller: &Caller,
    p: &Params,
    req: &RequestData,
    rid: &str,
) -> Result<HttpResponse, StsError> {
    let message = p.get("EncodedMessage");
    let mut v = Violations::default();
    v.string(message, "encodedMessage", true, (1, 10240), None);
    v.finish()?;
    let ctx = base_context(state, caller, req, &caller.region);
    let action = "sts:DecodeAuthorizationMessage";
    if !crate::query::evaluate(state, caller, &ctx, action, "*").allowed {
        return Err(not_authorized(&caller.arn, action, "*"));
    }
    let decoded =
        crate::authz_message::decode(&state.issuer, message.unwrap_or(""), &caller.account)
            .map_err(|_| {
                // The message text is not documented (unverified); the code is the model's.
                StsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAuthorizationMessageException",
            "The encoded authorization message is invalid or was not issued to this account.",
        )
            })?;
    Ok(xml::success("DecodeAuthorizationMessage", rid, |x| {
        x.leaf("DecodedMessage", &decoded);
    }))
}
