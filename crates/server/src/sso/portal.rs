//! The AWS access portal API: GetRoleCredentials, ListAccounts, ListAccountRoles, Logout
//! (`docs/spec/sso-server.md` §2). Every call carries the access token in
//! `x-amz-sso_bearer_token`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Value};

use super::errors::{Service, SsoError};
use super::model::SsoInstance;
use super::tokens::{self, Grant, Kind};
use super::{pair, query, SsoService};
use crate::http::RequestData;

/// Page size when `max_result` is absent.
const DEFAULT_PAGE: usize = 20;

/// The caller: instance, user index and the token's claims.
struct Caller {
    world: std::sync::Arc<crate::world::World>,
    inst: usize,
    user: usize,
    grant: Grant,
}

impl Caller {
    fn inst(&self) -> &SsoInstance {
        &self.world.sso_instances[self.inst]
    }
}

/// The access token of the request, valid, unexpired and not logged out (401 otherwise).
fn authenticate(svc: &SsoService, req: &RequestData) -> Result<Caller, SsoError> {
    let token = req
        .headers
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(SsoError::unauthorized)?;
    let grant: Grant =
        tokens::open(&svc.state.issuer, Kind::Access, token).ok_or_else(SsoError::unauthorized)?;
    if grant.expires <= svc.now() || svc.flows.is_revoked(&grant.sid) {
        return Err(SsoError::unauthorized());
    }
    let world = svc.state.world();
    let inst = world
        .sso_instances
        .iter()
        .position(|i| i.matches_start_url(&grant.start_url))
        .ok_or_else(SsoError::unauthorized)?;
    let user = world.sso_instances[inst]
        .user(&grant.user)
        .ok_or_else(SsoError::unauthorized)?;
    Ok(Caller {
        world,
        inst,
        user,
        grant,
    })
}

fn bad_request(message: impl Into<String>) -> SsoError {
    SsoError::invalid_request(Service::Portal, message)
}

/// One page of `items` per `next_token` / `max_result`; the token is the opaque offset.
fn page<T: Clone>(items: &[T], req: &RequestData) -> Result<(Vec<T>, Option<String>), SsoError> {
    let q = query(req);
    let size = match pair(&q, "max_result") {
        None => DEFAULT_PAGE,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| bad_request("max_result must be an integer from 1 to 100"))?,
    };
    let start = match pair(&q, "next_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("awsid-page:")?.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| bad_request("Invalid next_token"))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| URL_SAFE_NO_PAD.encode(format!("awsid-page:{end}")));
    Ok((items[start..end].to_vec(), next))
}

/// `GET /federation/credentials?role_name=…&account_id=…`.
pub(super) fn get_role_credentials(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    let caller = authenticate(svc, req)?;
    let q = query(req);
    let role_name = pair(&q, "role_name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("role_name is required"))?;
    let account = pair(&q, "account_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("account_id is required"))?;
    let a = caller
        .inst()
        .assignment(caller.user, account, role_name)
        .ok_or_else(|| {
            SsoError::portal(StatusCode::FORBIDDEN, "ForbiddenException", "No access")
        })?;
    let set = &caller.inst().permission_sets[a.permission_set];
    let role = &caller.world.roles[a.role];
    let now = svc.now();
    let claims = crate::sessions::role_claims(
        role,
        &caller.inst().users[caller.user].name,
        now,
        now + set.session_duration,
        true,
    );
    let creds = svc.state.issuer.issue(claims);
    Ok(json!({
        "roleCredentials": {
            "accessKeyId": creds.access_key_id,
            "secretAccessKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
            "expiration": creds.expiration * 1000,
        }
    }))
}

/// `GET /assignment/accounts`: the accounts where the user has an assignment.
pub(super) fn list_accounts(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    let caller = authenticate(svc, req)?;
    let mut accounts: Vec<&str> = Vec::new();
    for a in caller
        .inst()
        .assignments
        .iter()
        .filter(|a| a.user == caller.user)
    {
        if !accounts.contains(&a.account.as_str()) {
            accounts.push(&a.account);
        }
    }
    let (items, next) = page(&accounts, req)?;
    let list: Vec<Value> = items
        .iter()
        .map(|id| {
            let info = svc.state.world().account_info(id);
            json!({
                "accountId": id,
                "accountName": info.name.unwrap_or_else(|| id.to_string()),
                "emailAddress": info.email.unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({"nextToken": next, "accountList": list}))
}

/// `GET /assignment/roles?account_id=…`: the user's permission sets in that account (empty for
/// an account without assignments).
pub(super) fn list_account_roles(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    let caller = authenticate(svc, req)?;
    let q = query(req);
    let account = pair(&q, "account_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request("account_id is required"))?;
    let roles: Vec<&str> = caller
        .inst()
        .assignments
        .iter()
        .filter(|a| a.user == caller.user && a.account == account)
        .map(|a| {
            caller.inst().permission_sets[a.permission_set]
                .name
                .as_str()
        })
        .collect();
    let (items, next) = page(&roles, req)?;
    let list: Vec<Value> = items
        .iter()
        .map(|r| json!({"roleName": r, "accountId": account}))
        .collect();
    Ok(json!({"nextToken": next, "roleList": list}))
}

/// `POST /logout`: revokes the token's login session (its refresh tokens too). Role credentials
/// already issued stay valid until they expire.
pub(super) fn logout(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    let caller = authenticate(svc, req)?;
    // Refresh tokens of the session can live as long as the registration: remember the
    // revocation that long (the access token's registration end is not in it, so use the
    // longest registration lifetime).
    let until = caller.grant.issued + super::oidc::REGISTRATION_LIFETIME;
    svc.flows
        .revoke(&caller.grant.sid, until, svc.now())
        .map_err(|_| SsoError::busy(Service::Portal))?;
    Ok(Value::Null)
}
