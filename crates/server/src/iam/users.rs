//! Users and their long-term access keys: Create/Get/List/DeleteUser, Create/List/Update/
//! DeleteAccessKey (at most two keys per user, as IAM allows). Keys persist in the store.

use http::StatusCode;

use super::*;
use crate::sts::auth::CallerKind;
use crate::world::{ids, RawAccessKey, RawUser, RawWorld, User, World};

/// The ARN a user `name` with `path` has in the caller's account.
pub(super) fn user_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:user{path}{name}",
        call.partition(),
        call.account()
    )
}

/// The caller's account's user `name`, or NoSuchEntity.
pub(super) fn find<'w>(
    call: &Call<'_>,
    world: &'w World,
    name: &str,
) -> Result<&'w User, QueryError> {
    world
        .users
        .iter()
        .find(|u| u.account == call.account() && u.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| no_such(format!("The user with name {name} cannot be found.")))
}

/// The `UserName` parameter, or the calling user when it is absent (as IAM does).
pub(super) fn user_param(call: &Call<'_>) -> Result<String, QueryError> {
    if let Some(n) = call.get("UserName") {
        return Ok(n.to_string());
    }
    match call.caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => {
            Ok(call.view.world.users[user].name.clone())
        }
        CallerKind::RoleSession { .. } => Err(QueryError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

fn arn_of(call: &Call<'_>, name: &str) -> String {
    find(call, &call.view.world, name)
        .map(|u| u.arn.clone())
        .unwrap_or_else(|_| user_arn(call, "/", name))
}

fn raw_user<'r>(
    call: &Call<'_>,
    raw: &'r mut RawWorld,
    name: &str,
) -> Result<&'r mut RawUser, QueryError> {
    let acct = call.account().to_string();
    raw.users
        .iter_mut()
        .find(|u| u.account == acct && u.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| no_such(format!("The user with name {name} cannot be found.")))
}

fn user_xml(x: &mut Xml, element: &str, u: &User) {
    x.open(element)
        .leaf("Path", &u.path)
        .leaf("UserName", &u.name)
        .leaf("UserId", &u.id)
        .leaf("Arn", &u.arn)
        .leaf("CreateDate", &u.created);
    tags_xml(x, &u.tags);
    x.close(element);
}

pub(super) fn create(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "UserName")?.to_string();
    check_name(&name, "userName", 64)?;
    let path = path_param(call)?;
    call.authorize("iam:CreateUser", &user_arn(call, &path, &name))?;
    let tags = tags_param(call);
    let created = now(call);
    let (_, world) = call.state.live.change(|raw, world| {
        if world.user(call.account(), &name).is_some()
            || world
                .users
                .iter()
                .any(|u| u.account == call.account() && u.name.eq_ignore_ascii_case(&name))
        {
            return Err(exists(format!("User with name {name} already exists.")));
        }
        raw.users.push(RawUser {
            account: call.account().to_string(),
            name: name.clone(),
            path: (path != "/").then(|| path.clone()),
            id: ids::unique_id("AIDA"),
            created: Some(created.clone()),
            policies: Vec::new(),
            inline_policies: Default::default(),
            managed_policies: Vec::new(),
            tags: tags.clone(),
            access_keys: Vec::new(),
            mfa_devices: Vec::new(),
        });
        Ok::<_, QueryError>(())
    })?;
    let u = find(call, &world, &name)?;
    ok(call, |x| user_xml(x, "User", u))
}

pub(super) fn get(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = user_param(call)?;
    call.authorize("iam:GetUser", &arn_of(call, &name))?;
    let u = find(call, &call.view.world, &name)?;
    ok(call, |x| user_xml(x, "User", u))
}

pub(super) fn list(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("iam:ListUsers", "*")?;
    let prefix = call.get("PathPrefix").unwrap_or("/");
    let users: Vec<&User> = call
        .view
        .world
        .users
        .iter()
        .filter(|u| u.account == call.account() && u.path.starts_with(prefix))
        .collect();
    paged(call, "Users", users, |x, u| {
        user_xml(x, "member", u);
    })
}

pub(super) fn delete(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "UserName")?.to_string();
    call.authorize("iam:DeleteUser", &arn_of(call, &name))?;
    call.state.live.change(|raw, _| {
        let u = raw_user(call, raw, &name)?;
        if !u.access_keys.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must delete access keys first.",
            ));
        }
        if !u.mfa_devices.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must delete MFA device first.",
            ));
        }
        if !u.policies.is_empty() || !u.inline_policies.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !u.managed_policies.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        let (acct, real) = (u.account.clone(), u.name.clone());
        let arn = user_arn(call, u.path.as_deref().unwrap_or("/"), &real);
        if raw.sessions.iter().any(|s| s.principal == arn) {
            return Err(conflict(
                "Cannot delete entity, a pre-issued session of this world authenticates as it.",
            ));
        }
        raw.users.retain(|x| !(x.account == acct && x.name == real));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

fn key_xml(x: &mut Xml, element: &str, user: &str, k: &RawAccessKey, secret: bool) {
    x.open(element)
        .leaf("UserName", user)
        .leaf("AccessKeyId", &k.id)
        .leaf("Status", &k.status);
    if secret {
        x.leaf("SecretAccessKey", &k.secret);
    }
    x.leaf(
        "CreateDate",
        k.created
            .as_deref()
            .unwrap_or(crate::world::ids::EPOCH_DATE),
    )
    .close(element);
}

pub(super) fn create_access_key(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = user_param(call)?;
    call.authorize("iam:CreateAccessKey", &arn_of(call, &name))?;
    let (id, secret) = ids::access_key();
    let created = now(call);
    let (key, _) = call.state.live.change(|raw, _| {
        let u = raw_user(call, raw, &name)?;
        if u.access_keys.len() >= 2 {
            return Err(QueryError::new(
                StatusCode::CONFLICT,
                "LimitExceeded",
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ));
        }
        let k = RawAccessKey {
            id: id.clone(),
            secret: secret.clone(),
            status: "Active".into(),
            created: Some(created.clone()),
        };
        u.access_keys.push(k.clone());
        Ok::<_, QueryError>((k, u.name.clone()))
    })?;
    let (k, user) = key;
    ok(call, |x| key_xml(x, "AccessKey", &user, &k, true))
}

pub(super) fn list_access_keys(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = user_param(call)?;
    call.authorize("iam:ListAccessKeys", &arn_of(call, &name))?;
    let mut raw = call.view.world.raw.clone();
    let u = raw_user(call, &mut raw, &name)?;
    let user = u.name.clone();
    let keys = u.access_keys.clone();
    paged(call, "AccessKeyMetadata", keys, |x, k| {
        key_xml(x, "member", &user, k, false);
    })
}

pub(super) fn update_access_key(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = user_param(call)?;
    let id = required(call, "AccessKeyId")?.to_string();
    let status = required(call, "Status")?.to_string();
    if status != "Active" && status != "Inactive" {
        return Err(validation(
            &status,
            "status",
            "Member must satisfy enum value set: [Active, Inactive]",
        ));
    }
    call.authorize("iam:UpdateAccessKey", &arn_of(call, &name))?;
    call.state.live.change(|raw, _| {
        let u = raw_user(call, raw, &name)?;
        let k = u
            .access_keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| no_such(format!("The Access Key with id {id} cannot be found.")))?;
        k.status = status.clone();
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn delete_access_key(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = user_param(call)?;
    let id = required(call, "AccessKeyId")?.to_string();
    call.authorize("iam:DeleteAccessKey", &arn_of(call, &name))?;
    call.state.live.change(|raw, _| {
        let u = raw_user(call, raw, &name)?;
        let before = u.access_keys.len();
        u.access_keys.retain(|k| k.id != id);
        if u.access_keys.len() == before {
            return Err(no_such(format!(
                "The Access Key with id {id} cannot be found."
            )));
        }
        let key_id = id.clone();
        raw.sessions
            .retain(|s| s.access_key_id != key_id || !s.principal.contains(":user/"));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}
