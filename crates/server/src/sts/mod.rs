//! AWS STS (Query protocol, API version 2011-06-15): AssumeRole, GetCallerIdentity,
//! GetSessionToken, AssumeRoleWithWebIdentity and GetAccessKeyInfo, with SigV4 verification,
//! trust and identity policy evaluation, MFA, duration caps and the service's exact errors.

pub(crate) mod auth;
pub mod params;
pub mod xml;

#[cfg(test)]
mod tests;

use http::{Method, StatusCode};

use crate::decisions::{explain, Entry, Outcome};
use crate::http::{HttpResponse, RequestData};
use crate::issuer::{SessionClaims, SessionKind};
use crate::jwt;
use crate::policy::{
    self, AssumeRoleDenial, AssumeRoleInputs, Context, Policy, PolicyKind, Principal, Request,
};
use crate::sessions::role_claims;
use crate::state::{context_at, iso8601, State, View};
use crate::world::Role;

pub use auth::{Caller, CallerKind};
use params::{Params, Pattern, Violations};
use xml::{StsError, Xml};

/// Largest accepted STS request body.
pub const MAX_BODY: usize = 64 * 1024;

/// A fresh request id (UUID v4 text).
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Whether a request looks like an STS call (an `Action` in the query or a form body).
pub fn is_sts_request(req: &RequestData) -> bool {
    req.uri.path() == "/"
        && (req.method == Method::POST || req.uri.query().is_some_and(|q| q.contains("Action=")))
}

/// What a call tells the decision log beyond its outcome.
#[derive(Debug, Default)]
struct Note {
    action: String,
    caller: Option<String>,
    resource: Option<String>,
    reason: Option<String>,
}

/// Answers one STS request and logs the decision.
pub fn handle(state: &State, req: &RequestData) -> HttpResponse {
    let rid = request_id();
    let view = state.view();
    let mut note = Note::default();
    let result = dispatch(&view, req, &rid, &mut note);
    let (outcome, reason) = match &result {
        Ok(_) => (
            Outcome::Allowed,
            note.reason.take().unwrap_or_else(|| "authenticated".into()),
        ),
        Err(e) => (
            if e.status == StatusCode::FORBIDDEN {
                Outcome::Denied
            } else {
                Outcome::Failed
            },
            match note.reason.take() {
                Some(r) => format!("{r} ({}: {})", e.code, e.message),
                None => format!("{}: {}", e.code, e.message),
            },
        ),
    };
    state.decide(Entry::new(
        "sts",
        if note.action.is_empty() {
            "sts:?".to_string()
        } else {
            format!("sts:{}", note.action)
        },
        note.caller.unwrap_or_else(|| "anonymous".into()),
        note.resource.unwrap_or_else(|| "*".into()),
        outcome,
        reason,
    ));
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(code = %e.code, status = e.status.as_u16(), "sts error");
            e.response(&rid)
        }
    }
}

/// The form body of a POST (`application/x-www-form-urlencoded`, or no content type).
pub fn form_body(req: &RequestData) -> Option<&str> {
    let is_form = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if req.method == Method::POST && is_form {
        std::str::from_utf8(&req.body).ok()
    } else {
        None
    }
}

fn dispatch(
    state: &View<'_>,
    req: &RequestData,
    rid: &str,
    note: &mut Note,
) -> Result<HttpResponse, StsError> {
    let params = Params::parse(req.uri.query().unwrap_or(""), form_body(req));
    let action = params.get("Action").unwrap_or("");
    note.action = action.to_string();
    let signed = match action {
        "AssumeRole" | "GetCallerIdentity" | "GetSessionToken" | "GetAccessKeyInfo" => true,
        "AssumeRoleWithWebIdentity" => false,
        "" => {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "Missing Action",
            ))
        }
        other => {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            ))
        }
    };
    if let Some(v) = params.get("Version") {
        if v != "2011-06-15" {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("Could not find operation {action} for version {v}"),
            ));
        }
    }
    if !signed {
        note.resource = params.get("RoleArn").map(str::to_string);
        note.caller = Some("web identity".into());
        return assume_role_with_web_identity(state, &params, rid);
    }
    let caller = auth::authenticate(state, req)?;
    note.caller = Some(caller.arn.clone());
    match action {
        "GetCallerIdentity" => Ok(xml::success("GetCallerIdentity", rid, |x| {
            x.leaf("Arn", &caller.arn)
                .leaf("UserId", &caller.user_id)
                .leaf("Account", &caller.account);
        })),
        "AssumeRole" => {
            note.resource = params.get("RoleArn").map(str::to_string);
            assume_role(state, &caller, &params, req, rid, note)
        }
        "GetSessionToken" => get_session_token(state, &caller, &params, rid),
        "GetAccessKeyInfo" => get_access_key_info(state, &params, rid),
        _ => unreachable!("filtered above"),
    }
}

fn credentials_xml(x: &mut Xml, c: &crate::issuer::IssuedCredentials) {
    x.open("Credentials")
        .leaf("AccessKeyId", &c.access_key_id)
        .leaf("SecretAccessKey", &c.secret_access_key)
        .leaf("SessionToken", &c.session_token)
        .leaf("Expiration", &iso8601(c.expiration))
        .close("Credentials");
}

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
        CallerKind::LongTerm { user } => {
            ctx.set("aws:PrincipalType", "User")
                .set("aws:username", state.world.users[*user].name.clone());
        }
        CallerKind::UserSession { user } => {
            ctx.set("aws:PrincipalType", "User")
                .set("aws:username", state.world.users[*user].name.clone());
        }
        CallerKind::RoleSession { .. } => {
            ctx.set("aws:PrincipalType", "AssumedRole");
        }
    }
    for (k, v) in caller_tags(state, caller) {
        ctx.set(&format!("aws:PrincipalTag/{k}"), v);
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

fn check_mfa(
    state: &View<'_>,
    caller: &Caller,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<Option<i64>, StsError> {
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(None),
        (Some(s), Some(c)) => (s, c),
        (Some(_), None) => {
            return Err(StsError::access_denied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            ))
        }
        (None, Some(_)) => {
            return Err(StsError::access_denied(
                "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
            ))
        }
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
        return Err(StsError::access_denied(
            "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.",
        ));
    };
    let now = state.clock.now();
    if !state.mfa.verify(&device.serial, &device.secret, code, now) {
        return Err(StsError::access_denied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        ));
    }
    Ok(Some(now))
}

fn not_authorized(caller_arn: &str, action: &str, resource: &str) -> StsError {
    StsError::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
    ))
}

fn packed_policy_size(policy: Option<&str>, tags: &[(String, String)]) -> Option<String> {
    if policy.is_none() && tags.is_empty() {
        return None;
    }
    let tag_len: usize = tags.iter().map(|(k, v)| k.len() + v.len()).sum();
    let used = policy.map_or(0, str::len) + tag_len * 2;
    Some(((used * 100).div_ceil(2048 * 2)).max(1).to_string())
}

fn parse_session_policy(policy: Option<&str>) -> Result<Option<String>, StsError> {
    let Some(text) = policy else { return Ok(None) };
    Policy::parse(text, PolicyKind::Identity).map_err(|e| {
        StsError::new(
            StatusCode::BAD_REQUEST,
            "MalformedPolicyDocument",
            format!("Syntax errors in policy: {e}"),
        )
    })?;
    // Store the minified document in the session token.
    let minified = serde_json::from_str::<serde_json::Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_string());
    Ok(Some(minified))
}

fn validate_tags(v: &mut Violations, tags: &[(String, String)], transitive: &[&str]) {
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

fn assume_role(
    state: &View<'_>,
    caller: &Caller,
    p: &Params,
    req: &RequestData,
    rid: &str,
    note: &mut Note,
) -> Result<HttpResponse, StsError> {
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
    v.finish()?;
    let (role_arn, session_name) = (role_arn.unwrap_or(""), session_name.unwrap_or(""));
    if let Some(si) = p.get("SourceIdentity") {
        if si.to_ascii_lowercase().starts_with("aws:") {
            return Err(StsError::validation(
                "SourceIdentity cannot start with the prefix 'aws:'",
            ));
        }
    }
    if let Some(pol) = p.get("Policy") {
        if pol.len() > 2048 {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "PackedPolicyTooLarge",
                "Packed size of consumed policies exceeds 100% of limit.",
            ));
        }
    }
    let session_policy = parse_session_policy(p.get("Policy"))?;
    let denied = || not_authorized(&caller.arn, "sts:AssumeRole", role_arn);
    let role_idx = state.world.role_by_arn(role_arn).ok_or_else(denied)?;
    let role: &Role = &state.world.roles[role_idx];

    let mfa_now = check_mfa(state, caller, p.get("SerialNumber"), p.get("TokenCode"))?;
    let region = caller.region.clone();
    let mut ctx = base_context(state, caller, req, &region);
    if mfa_now.is_some() {
        ctx.set("aws:MultiFactorAuthPresent", "true")
            .set("aws:MultiFactorAuthAge", "0");
    }
    ctx.set("sts:RoleSessionName", session_name);
    if let Some(e) = p.get("ExternalId") {
        ctx.set("sts:ExternalId", e);
    }
    if let Some(si) = p.get("SourceIdentity") {
        ctx.set("sts:SourceIdentity", si);
    }
    if !tags.is_empty() {
        for (k, val) in &tags {
            ctx.set(&format!("aws:RequestTag/{k}"), val.clone());
        }
        ctx.set_multi("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect());
    }
    if !transitive.is_empty() {
        ctx.set_multi(
            "sts:TransitiveTagKeys",
            transitive.iter().map(|s| s.to_string()).collect(),
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
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() || !transitive.is_empty() {
        actions.push("sts:TagSession");
    }
    if p.get("SourceIdentity").is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    for action in actions {
        let r = policy::authorize_assume_role(
            &inputs,
            &Request {
                principal: &caller.principal,
                action,
                resource: &role.arn,
                context: &ctx,
            },
        );
        match r {
            Err(why) => {
                tracing::debug!(?why, action, role = %role.arn, caller = %caller.arn, "AssumeRole denied");
                note.reason = Some(denial_reason(&why, role, action));
                return Err(denied());
            }
            Ok(trust) if action == "sts:AssumeRole" => {
                note.reason = Some(explain(&trust, &[format!("trust policy of {}", role.name)]));
            }
            Ok(_) => {}
        }
    }

    let chained = caller.session.as_ref().is_some_and(|s| s.chained);
    let duration = duration.unwrap_or(3600);
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
    if let (Some(old), Some(new)) = (&inherited_si, p.get("SourceIdentity")) {
        if old != new {
            return Err(StsError::access_denied(
                "The source identity of a role session cannot be changed by role chaining.",
            ));
        }
    }
    let now = state.clock.now();
    let mut claims = role_claims(role, session_name, now, now + duration, true);
    claims.mfa_time = mfa_now.or_else(|| caller.session.as_ref().and_then(|s| s.mfa_time));
    claims.source_identity = p.get("SourceIdentity").map(str::to_string).or(inherited_si);
    claims.policy = session_policy.clone();
    // Session tags: transitive tags of the calling session, then the passed tags.
    if let Some(s) = &caller.session {
        for k in &s.transitive_tag_keys {
            if let Some((tk, tv)) = s.tags.iter().find(|(tk, _)| tk.eq_ignore_ascii_case(k)) {
                if tags.iter().any(|(nk, _)| nk.eq_ignore_ascii_case(tk)) {
                    return Err(StsError::validation(format!(
                        "The session tag key {tk} is transitive and cannot be changed by role chaining."
                    )));
                }
                claims.tags.push((tk.clone(), tv.clone()));
                claims.transitive_tag_keys.push(tk.clone());
            }
        }
    }
    claims.tags.extend(tags.iter().cloned());
    claims
        .transitive_tag_keys
        .extend(transitive.iter().map(|s| s.to_string()));
    let creds = state.issuer.issue(claims.clone());
    let packed = packed_policy_size(session_policy.as_deref(), &tags);
    Ok(xml::success("AssumeRole", rid, |x| {
        credentials_xml(x, &creds);
        x.open("AssumedRoleUser")
            .leaf("AssumedRoleId", &claims.user_id)
            .leaf("Arn", &claims.arn)
            .close("AssumedRoleUser");
        x.opt("PackedPolicySize", packed.as_deref());
        x.opt("SourceIdentity", claims.source_identity.as_deref());
    }))
}

/// Words for an AssumeRole refusal, for the decision log (never for the client).
fn denial_reason(why: &AssumeRoleDenial, role: &Role, action: &str) -> String {
    match why {
        AssumeRoleDenial::TrustExplicitDeny => {
            format!("explicitly denied by a Deny statement of the trust policy of {}", role.name)
        }
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
        AssumeRoleDenial::SessionNoAllow => {
            format!("implicit deny: the session policy of the calling session does not allow {action}")
        }
    }
}

fn get_session_token(
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
        expires: now + duration.unwrap_or(43200),
        mfa_time: mfa_now,
        // AssumeRole with these credentials is capped at one hour like role chaining.
        chained: true,
        source_identity: None,
        policy: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
    };
    let creds = state.issuer.issue(claims);
    Ok(xml::success("GetSessionToken", rid, |x| {
        credentials_xml(x, &creds)
    }))
}

fn get_access_key_info(state: &View<'_>, p: &Params, rid: &str) -> Result<HttpResponse, StsError> {
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

fn assume_role_with_web_identity(
    state: &View<'_>,
    p: &Params,
    rid: &str,
) -> Result<HttpResponse, StsError> {
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
    v.finish()?;
    let (role_arn, session_name, token) = (
        role_arn.unwrap_or(""),
        session_name.unwrap_or(""),
        token.unwrap_or(""),
    );
    let session_policy = parse_session_policy(p.get("Policy"))?;
    let denied =
        || StsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    let role = &state.world.roles[state.world.role_by_arn(role_arn).ok_or_else(denied)?];
    let invalid = |m: &str| StsError::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", m);
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
    let now = state.clock.now();
    match claims.exp {
        None => return Err(invalid("The ID Token is missing the exp claim")),
        Some(exp) if exp <= now => {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "ExpiredTokenException",
                format!(
                "Token expired: current date/time {} must be before the expiration date/time {}",
                iso8601(now),
                iso8601(exp)
            ),
            ))
        }
        Some(_) => {}
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + 300) {
        return Err(invalid("The ID Token is not yet valid"));
    }
    let principal = Principal::web_identity(&provider.arn);
    let mut ctx = context_at(now);
    let hp = &provider.host_path;
    ctx.set("aws:FederatedProvider", provider.arn.clone())
        .set("aws:PrincipalType", "WebIdentityUser")
        .set("sts:RoleSessionName", session_name)
        .set(&format!("{hp}:aud"), audience.clone())
        .set(&format!("{hp}:sub"), claims.sub.clone());
    if let Some(azp) = &claims.azp {
        ctx.set(&format!("{hp}:azp"), azp.clone());
    }
    if !claims.amr.is_empty() {
        ctx.set_multi(&format!("{hp}:amr"), claims.amr.clone());
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
    .map_err(|_| denied())?;
    let duration = duration.unwrap_or(3600);
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let mut session = role_claims(role, session_name, now, now + duration, true);
    session.policy = session_policy.clone();
    let creds = state.issuer.issue(session.clone());
    let packed = packed_policy_size(session_policy.as_deref(), &[]);
    Ok(xml::success("AssumeRoleWithWebIdentity", rid, |x| {
        x.leaf("SubjectFromWebIdentityToken", &claims.sub)
            .leaf("Audience", &audience);
        x.open("AssumedRoleUser")
            .leaf("Arn", &session.arn)
            .leaf("AssumedRoleId", &session.user_id)
            .close("AssumedRoleUser");
        credentials_xml(x, &creds);
        x.leaf("Provider", &peeked.iss);
        x.opt("PackedPolicySize", packed.as_deref());
    }))
}
