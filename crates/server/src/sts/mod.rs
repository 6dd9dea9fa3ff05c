//! AWS STS (Query protocol, API version 2011-06-15): AssumeRole, GetCallerIdentity,
//! GetSessionToken, GetFederationToken, AssumeRoleWithWebIdentity and GetAccessKeyInfo, with SigV4 verification,
//! trust and identity policy evaluation, MFA, duration caps and the service's exact errors.

mod assume_role;
pub(crate) mod auth;
pub(crate) mod context;
mod federation_token;
pub mod params;
mod policy_arns;
mod session_token;
mod web_identity;
pub mod xml;

#[cfg(test)]
mod tests;

use http::{Method, StatusCode};

use crate::decisions::{Entry, Outcome};
use crate::http::{HttpResponse, RequestData};
use crate::policy::{Policy, PolicyKind};
use crate::state::{iso8601, State, View};

use assume_role::assume_role;
pub use auth::{Caller, CallerKind};
use federation_token::get_federation_token;
use params::Params;
use session_token::{decode_authorization_message, get_access_key_info, get_session_token};
use web_identity::assume_role_with_web_identity;
use xml::{StsError, Xml};

/// Largest accepted STS request body.
pub const MAX_BODY: usize = 64 * 1024;

/// A fresh request id (UUID v4 text).
pub fn request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Whether a request looks like an STS call (an `Action` in the query or a form body).
pub fn is_sts_request(req: &RequestData) -> bool {
    req.uri.path() == "/"
        && (req.method == Method::POST || req.uri.query().is_some_and(|q| q.contains("Action=")))
}

/// The action of an STS request as a metrics label: a known operation's name, else
/// `MissingAction` or `InvalidAction`.
pub fn action_name(req: &RequestData) -> &'static str {
    action_label(&request_params(req))
}

/// The parameters of an STS request: its query string and form body together.
pub fn request_params(req: &RequestData) -> Params {
    Params::parse(req.uri.query().unwrap_or(""), form_body(req).as_deref())
}

/// [`action_name`] of parameters already parsed.
pub fn action_label(params: &Params) -> &'static str {
    match params.get("Action") {
        Some("AssumeRole") => "AssumeRole",
        Some("AssumeRoleWithWebIdentity") => "AssumeRoleWithWebIdentity",
        Some("GetCallerIdentity") => "GetCallerIdentity",
        Some("GetSessionToken") => "GetSessionToken",
        Some("GetAccessKeyInfo") => "GetAccessKeyInfo",
        Some("GetFederationToken") => "GetFederationToken",
        Some("DecodeAuthorizationMessage") => "DecodeAuthorizationMessage",
        None | Some("") => "MissingAction",
        Some(_) => "InvalidAction",
    }
}

/// What a call tells the decision log beyond its outcome.
#[derive(Debug, Default)]
struct Note {
    // Built as the log's shared strings directly (no intermediate `String` copy).
    caller: Option<std::sync::Arc<str>>,
    resource: Option<std::sync::Arc<str>>,
    reason: Option<String>,
}

/// The decision log's action for an STS call's `Action` parameter: `sts:<Action>`, or `sts:?`
/// when there is none. The known operations' names are built once per thread, not per call,
/// and not shared between threads (whose reference counts would then bounce between cores).
fn logged_action(action: &str) -> std::sync::Arc<str> {
    use std::sync::Arc;
    const KNOWN: [&str; 7] = [
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
        "GetCallerIdentity",
        "GetSessionToken",
        "GetAccessKeyInfo",
        "GetFederationToken",
        "DecodeAuthorizationMessage",
    ];
    thread_local! {
        static NAMES: [Arc<str>; 7] = KNOWN.map(|a| Arc::from(format!("sts:{a}")));
    }
    if action.is_empty() {
        return Arc::from("sts:?");
    }
    match KNOWN.iter().position(|k| *k == action) {
        Some(i) => NAMES.with(|names| names[i].clone()),
        None => Arc::from(format!("sts:{action}")),
    }
}

/// Answers one STS request (on one snapshot of the world) and logs the decision.
pub fn handle(state: &State, req: &RequestData) -> HttpResponse {
    handle_params(state, req, &request_params(req))
}

/// [`handle`] with the request's parameters already parsed ([`request_params`]).
pub fn handle_params(state: &State, req: &RequestData, params: &Params) -> HttpResponse {
    let rid = request_id();
    let view = state.view();
    let mut note = Note::default();
    let result = dispatch(&view, req, params, &rid, &mut note);
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
        logged_action(params.get("Action").unwrap_or("")),
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

/// The form body as text. Bytes that are not UTF-8 are replaced (U+FFFD) rather than losing the
/// whole body, so the action is still found and the parameter at fault fails its validation
/// (a non-UTF-8 byte used to drop every parameter and answer `MissingAction`).
pub fn form_body(req: &RequestData) -> Option<std::borrow::Cow<'_, str>> {
    let is_form = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            const FORM: &str = "application/x-www-form-urlencoded";
            ct.get(..FORM.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(FORM))
        });
    if req.method == Method::POST && is_form {
        Some(String::from_utf8_lossy(&req.body))
    } else {
        None
    }
}

fn dispatch(
    state: &View<'_>,
    req: &RequestData,
    params: &Params,
    rid: &str,
    note: &mut Note,
) -> Result<HttpResponse, StsError> {
    let action = params.get("Action").unwrap_or("");
    let signed = match action {
        "AssumeRole"
        | "GetCallerIdentity"
        | "GetSessionToken"
        | "GetAccessKeyInfo"
        | "GetFederationToken"
        | "DecodeAuthorizationMessage" => true,
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
        note.resource = params.get("RoleArn").map(Into::into);
        note.caller = Some("web identity".into());
        return assume_role_with_web_identity(state, params, rid);
    }
    let caller = auth::authenticate(state, req)?;
    note.caller = Some(caller.arn.as_str().into());
    let federated = caller
        .session
        .as_ref()
        .is_some_and(|s| s.kind == crate::issuer::SessionKind::Federated);
    if federated && action != "GetCallerIdentity" {
        // Federated users may call no STS operation but GetCallerIdentity.
        return Err(not_authorized(
            &caller.arn,
            &format!("sts:{action}"),
            &caller.arn,
        ));
    }
    match action {
        "GetCallerIdentity" => Ok(xml::success("GetCallerIdentity", rid, |x| {
            x.leaf("Arn", &caller.arn)
                .leaf("UserId", &caller.user_id)
                .leaf("Account", &caller.account);
        })),
        "AssumeRole" => {
            note.resource = params.get("RoleArn").map(Into::into);
            assume_role(state, &caller, params, req, rid, note)
        }
        "GetSessionToken" => get_session_token(state, &caller, params, rid),
        "GetFederationToken" => get_federation_token(state, &caller, params, req, rid),
        "GetAccessKeyInfo" => get_access_key_info(state, params, rid),
        "DecodeAuthorizationMessage" => {
            decode_authorization_message(state, &caller, params, req, rid)
        }
        _ => unreachable!("filtered above"),
    }
}

/// The `<Credentials>` element of a successful answer.
fn credentials_xml(x: &mut Xml, c: &crate::issuer::IssuedCredentials) {
    x.open("Credentials")
        .leaf("AccessKeyId", &c.access_key_id)
        .leaf("SecretAccessKey", &c.secret_access_key)
        .leaf("SessionToken", &c.session_token)
        .leaf("Expiration", &iso8601(c.expiration))
        .close("Credentials");
}

/// The `AccessDenied` of a call the caller may not make.
fn not_authorized(caller_arn: &str, action: &str, resource: &str) -> StsError {
    StsError::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
    ))
}

/// `PackedPolicySize`: the share (percent) of the packed-policy limit that the session policy
/// and tags use; `None` when there are neither.
fn packed_policy_size(policy: Option<&str>, tags: &[(String, String)]) -> Option<String> {
    if policy.is_none() && tags.is_empty() {
        return None;
    }
    let tag_len: usize = tags.iter().map(|(k, v)| k.len() + v.len()).sum();
    let used = policy.map_or(0, str::len) + tag_len * 2;
    Some(((used * 100).div_ceil(2048 * 2)).max(1).to_string())
}

/// Checks a session policy document; `Some(minified JSON)` to store in the session.
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
