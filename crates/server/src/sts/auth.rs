//! SigV4 authentication of STS requests (header and presigned-query forms) and resolution of
//! the caller: long-term user keys, pre-issued sessions, and credentials minted by the issuer.

use std::time::{Duration, UNIX_EPOCH};

use awsid_sigv4::AuthInfo;

use http::StatusCode;
use subtle::ConstantTimeEq;

use super::xml::StsError;
use crate::http::RequestData;
use crate::issuer::{SessionClaims, SessionKind};
use crate::policy::Principal;
use crate::state::View;
use crate::world::SessionPrincipal;

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// An IAM user's long-term access key (index into the world's users).
    LongTerm {
        /// The user.
        user: usize,
    },
    /// A session acting as an IAM user (GetSessionToken or a pre-issued user session).
    UserSession {
        /// The user.
        user: usize,
    },
    /// A role session.
    RoleSession {
        /// The role.
        role: usize,
    },
}

/// The authenticated caller of a signed request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The policy principal.
    pub principal: Principal,
    /// Account.
    pub account: String,
    /// Caller ARN (user ARN or assumed-role session ARN).
    pub arn: String,
    /// `UserId` as GetCallerIdentity reports it.
    pub user_id: String,
    /// How it authenticated.
    pub kind: CallerKind,
    /// Session claims for temporary credentials.
    pub session: Option<SessionClaims>,
    /// The region of the credential scope.
    pub region: String,
}

/// Maps a SigV4 verification failure to the STS error the real service returns.
fn verify_error(e: awsid_sigv4::VerifyError) -> StsError {
    use awsid_sigv4::VerifyError as V;
    let message = e.to_string();
    match e {
        V::MissingAuthentication => {
            StsError::new(StatusCode::FORBIDDEN, "MissingAuthenticationToken", message)
        }
        V::BothForms => StsError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message),
        V::UnsupportedAlgorithm(_)
        | V::IncompleteSignature { .. }
        | V::MalformedAuthorization(_)
        | V::MalformedScope(_)
        | V::InvalidDate(_) => {
            StsError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", message)
        }
        V::InvalidExpires(_) => StsError::new(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            message,
        ),
        V::PresignedExpired { .. } => StsError::access_denied(message),
        V::SignatureMismatch { .. }
        | V::ScopeDateMismatch { .. }
        | V::HostNotSigned
        | V::SignedHeaderMissing(_)
        | V::ContentSha256Mismatch
        | V::SignatureExpired { .. }
        | V::SignatureNotYetCurrent { .. } => StsError::signature(message),
    }
}

/// Whether `r` looks like a region: at least three `-`-separated parts, the first two
/// letters, every part but the last lowercase letters, the last digits (`us-east-1`). Checked
/// on every signed request, so without collecting the parts.
fn is_region(r: &str) -> bool {
    let Some((head, last)) = r.rsplit_once('-') else {
        return false;
    };
    if last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut parts = 0;
    for (i, p) in head.split('-').enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_lowercase()) || (i == 0 && p.len() != 2) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

fn check_scope_and_time(state: &View<'_>, a: &AuthInfo, service: &str) -> Result<(), StsError> {
    let allowed = &state.world.settings.allowed_regions;
    let region = &a.scope.region;
    if !is_region(region) || (!allowed.is_empty() && !allowed.contains(region)) {
        return Err(StsError::signature(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }
    if a.scope.service != service {
        return Err(StsError::signature(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    let now = UNIX_EPOCH + Duration::from_secs(state.clock.now().max(0) as u64);
    let skew = Duration::from_secs(state.world.settings.sts_clock_skew_seconds as u64);
    awsid_sigv4::check_time(a, now, skew).map_err(verify_error)
}

fn expired() -> StsError {
    StsError::new(
        StatusCode::FORBIDDEN,
        "ExpiredToken",
        "The security token included in the request is expired",
    )
}

/// Finds who owns the key (and token) and the secret the request must be signed with.
fn resolve(state: &View<'_>, a: &AuthInfo) -> Result<(Caller, String), StsError> {
    let world = &state.world;
    let now = state.clock.now();
    let user_caller = |user: usize, session: Option<SessionClaims>| {
        let u = &world.users[user];
        Caller {
            principal: Principal::user(&u.account, &u.arn),
            account: u.account.clone(),
            arn: u.arn.clone(),
            user_id: u.id.clone(),
            kind: if session.is_some() {
                CallerKind::UserSession { user }
            } else {
                CallerKind::LongTerm { user }
            },
            session,
            region: a.scope.region.clone(),
        }
    };
    let Some(token) = &a.security_token else {
        let (user, key) = world
            .access_key(&a.access_key_id)
            .ok_or_else(StsError::invalid_client_token)?;
        if !key.active {
            return Err(StsError::invalid_client_token());
        }
        let idx = world.access_key_owner(&key.id).expect("key has an owner");
        let _ = user;
        return Ok((user_caller(idx, None), key.secret.clone()));
    };
    // Pre-issued sessions (documentation example credentials).
    for s in world.pre_issued(&a.access_key_id) {
        if bool::from(s.session_token.as_bytes().ct_eq(token.as_bytes())) {
            if s.expires.is_some_and(|e| e <= now) {
                return Err(expired());
            }
            let issued = 0;
            let expires = s.expires.unwrap_or(i64::MAX);
            let caller = match &s.principal {
                SessionPrincipal::User(u) => {
                    let user = &world.users[*u];
                    let claims = SessionClaims {
                        access_key_id: s.access_key_id.clone(),
                        kind: SessionKind::User,
                        account: user.account.clone(),
                        arn: user.arn.clone(),
                        user_id: user.id.clone(),
                        role_arn: None,
                        session_name: None,
                        issued,
                        expires,
                        mfa_time: s.mfa.then_some(now),
                        chained: true,
                        source_identity: None,
                        policy: None,
                        tags: Vec::new(),
                        transitive_tag_keys: Vec::new(),
                        parent_user: None,
                    };
                    user_caller(*u, Some(claims))
                }
                SessionPrincipal::Role(r, name) => {
                    let role = &world.roles[*r];
                    let mut claims =
                        crate::sessions::role_claims(role, name, issued, expires, true);
                    claims.access_key_id = s.access_key_id.clone();
                    claims.mfa_time = s.mfa.then_some(now);
                    role_caller(*r, claims, &a.scope.region, state)
                }
            };
            return Ok((caller, s.secret.clone()));
        }
    }
    let (claims, secret) = state
        .issuer
        .open(&a.access_key_id, token)
        .map_err(|_| StsError::invalid_client_token())?;
    if claims.expires <= now {
        return Err(expired());
    }
    let caller = match claims.kind {
        SessionKind::User => {
            let user = world
                .users
                .iter()
                .position(|u| u.arn == claims.arn)
                .ok_or_else(StsError::invalid_client_token)?;
            user_caller(user, Some(claims))
        }
        SessionKind::Federated => {
            // A federated user acts within its parent user's permissions (and the session
            // policy); it is not the user, so it is named by its own ARN and id.
            let user = claims
                .parent_user
                .as_deref()
                .and_then(|p| world.users.iter().position(|u| u.arn == p))
                .ok_or_else(StsError::invalid_client_token)?;
            let u = &world.users[user];
            Caller {
                principal: Principal::user(&u.account, &claims.arn),
                account: u.account.clone(),
                arn: claims.arn.clone(),
                user_id: claims.user_id.clone(),
                kind: CallerKind::UserSession { user },
                session: Some(claims),
                region: a.scope.region.clone(),
            }
        }
        SessionKind::Role => {
            let role = claims
                .role_arn
                .as_deref()
                .and_then(|r| world.role_by_arn(r))
                .ok_or_else(StsError::invalid_client_token)?;
            role_caller(role, claims, &a.scope.region, state)
        }
    };
    Ok((caller, secret))
}

fn role_caller(role: usize, claims: SessionClaims, region: &str, state: &View<'_>) -> Caller {
    let r = &state.world.roles[role];
    Caller {
        principal: Principal::assumed_role(&r.account, &claims.arn, &r.arn),
        account: r.account.clone(),
        arn: claims.arn.clone(),
        user_id: claims.user_id.clone(),
        kind: CallerKind::RoleSession { role },
        session: Some(claims),
        region: region.to_string(),
    }
}

/// Verifies the request's SigV4 signature (scoped to STS) and returns the caller.
pub(super) fn authenticate(state: &View<'_>, req: &RequestData) -> Result<Caller, StsError> {
    authenticate_for(state, req, "sts")
}

/// Verifies the request's SigV4 signature, scoped to `service` (`sts`, `iam`, `ec2`,
/// `autoscaling`), and returns the caller.
pub(crate) fn authenticate_for(
    state: &View<'_>,
    req: &RequestData,
    service: &str,
) -> Result<Caller, StsError> {
    // An Authorization header outside printable ASCII is a malformed signature, not a missing
    // one (it used to be dropped below and answered MissingAuthenticationToken).
    if req
        .headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .any(|v| {
            !v.as_bytes()
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        })
    {
        return Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "The Authorization header must contain only printable ASCII characters.",
        ));
    }
    // Other header values are signed as the client's text: UTF-8 (botocore signs `str`s), with
    // invalid bytes replaced, so such a request fails the signature check instead of losing
    // the header.
    // When every value is valid UTF-8 (the common case) the pairs borrow the request's own
    // text; otherwise the replaced copies are kept in `owned`.
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(req.headers.len());
    let mut all_utf8 = true;
    for (n, v) in &req.headers {
        match std::str::from_utf8(v.as_bytes()) {
            Ok(t) => headers.push((n.as_str(), t)),
            Err(_) => {
                all_utf8 = false;
                break;
            }
        }
    }
    let owned: Vec<(&str, String)> = if all_utf8 {
        Vec::new()
    } else {
        req.headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    };
    if !all_utf8 {
        headers = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
    }
    let signable = awsid_sigv4::SignableRequest::new(
        req.method.as_str(),
        req.uri.path(),
        req.uri.query().unwrap_or(""),
        &headers,
        &req.body,
    );
    let auth = awsid_sigv4::parse_authorization(&signable).map_err(verify_error)?;
    check_scope_and_time(state, &auth, service)?;
    let (caller, secret) = resolve(state, &auth)?;
    let key = state.signing_keys.key_for(&secret, &auth.scope);
    awsid_sigv4::verify_with_key(
        &signable,
        &auth,
        &key,
        &awsid_sigv4::VerifySettings::default(),
    )
    .map_err(|e| {
        if let awsid_sigv4::VerifyError::SignatureMismatch {
            canonical_request, ..
        } = &e
        {
            tracing::debug!(%canonical_request, "signature mismatch");
        }
        verify_error(e)
    })?;
    Ok(caller)
}

#[cfg(test)]
mod region_tests {
    use super::is_region;

    #[test]
    fn regions_are_recognised_as_before() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-2",
            "us-gov-west-1",
            "cn-north-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "us-1",
            "use-east-1",
            "us-East-1",
            "us--1",
            "us-east-",
            "-east-1",
            "us-east-1a",
            "u-east-1",
            "us-east-1-",
            "us-ea5t-1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
