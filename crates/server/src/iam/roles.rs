//! Roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateRole, UpdateAssumeRolePolicy.

use http::StatusCode;

use super::*;
use crate::policy::PolicyKind;
use crate::world::{ids, RawRole, RawWorld, Role, World};

/// The ARN a role `name` with `path` has in the caller's account.
pub(super) fn role_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:role{path}{name}",
        call.partition(),
        call.account()
    )
}

/// The caller's account's role `name`, or NoSuchEntity.
pub(super) fn find<'w>(
    call: &Call<'_>,
    world: &'w World,
    name: &str,
) -> Result<&'w Role, QueryError> {
    world
        .role(call.account(), name)
        .map(|i| &world.roles[i])
        .ok_or_else(|| no_such(format!("The role with name {name} cannot be found.")))
}

/// The file form of the caller's role `name`, for changing it.
pub(super) fn raw_mut<'r>(
    call: &Call<'_>,
    raw: &'r mut RawWorld,
    world: &World,
    name: &str,
) -> Result<&'r mut RawRole, QueryError> {
    let role = find(call, world, name)?;
    if role.reserved {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "UnmodifiableEntity",
            format!(
                "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                role.name
            ),
        ));
    }
    let account = call.account().to_string();
    raw.roles
        .iter_mut()
        .find(|r| r.account == account && r.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| no_such(format!("The role with name {name} cannot be found.")))
}

/// `<Role>` (or `<member>`) members of a role.
pub(super) fn role_xml(x: &mut Xml, element: &str, role: &Role) {
    x.open(element)
        .leaf("Path", &role.path)
        .leaf("RoleName", &role.name)
        .leaf("RoleId", &role.id)
        .leaf("Arn", &role.arn)
        .leaf("CreateDate", &role.created)
        .leaf(
            "AssumeRolePolicyDocument",
            &encode_document(&role.trust_document),
        )
        .opt("Description", role.description.as_deref())
        .leaf("MaxSessionDuration", &role.max_session_duration.to_string());
    tags_xml(x, &role.tags);
    x.close(element);
}

fn max_session(call: &Call<'_>) -> Result<Option<i64>, QueryError> {
    match call.get("MaxSessionDuration") {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (3600..=43200).contains(n))
            .map(Some)
            .ok_or_else(|| {
                validation(
                    v,
                    "maxSessionDuration",
                    "Member must have value less than or equal to 43200",
                )
            }),
    }
}

pub(super) fn create(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "RoleName")?.to_string();
    check_name(&name, "roleName", 64)?;
    let doc = required(call, "AssumeRolePolicyDocument")?.to_string();
    let path = path_param(call)?;
    let max = max_session(call)?;
    let description = call.get("Description").map(str::to_string);
    let arn = role_arn(call, &path, &name);
    call.authorize("iam:CreateRole", &arn)?;
    policy_document(&doc, PolicyKind::Trust)?;
    let tags = tags_param(call);
    let created = now(call);
    let (_, world) = call.state.live.change(|raw, world| {
        if world.role(call.account(), &name).is_some() {
            return Err(exists(format!("Role with name {name} already exists.")));
        }
        raw.roles.push(RawRole {
            account: call.account().to_string(),
            name: name.clone(),
            path: (path != "/").then(|| path.clone()),
            id: ids::unique_id("AROA"),
            description: description.clone(),
            created: Some(created.clone()),
            max_session_duration: max,
            trust_policy: doc.clone(),
            policies: Vec::new(),
            inline_policies: Default::default(),
            managed_policies: Vec::new(),
            tags: tags.clone(),
        });
        Ok::<_, QueryError>(())
    })?;
    let role = find(call, &world, &name)?;
    ok(call, |x| role_xml(x, "Role", role))
}

pub(super) fn get(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "RoleName")?;
    let arn = find(call, &call.view.world, name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| role_arn(call, "/", name));
    call.authorize("iam:GetRole", &arn)?;
    let role = find(call, &call.view.world, name)?;
    ok(call, |x| role_xml(x, "Role", role))
}

pub(super) fn list(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("iam:ListRoles", "*")?;
    let prefix = call.get("PathPrefix").unwrap_or("/");
    let roles: Vec<&Role> = call
        .view
        .world
        .roles
        .iter()
        .filter(|r| r.account == call.account() && r.path.starts_with(prefix))
        .collect();
    paged(call, "Roles", roles, |x, r| {
        role_xml(x, "member", r);
    })
}

pub(super) fn delete(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "RoleName")?.to_string();
    let arn = find(call, &call.view.world, &name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| role_arn(call, "/", &name));
    call.authorize("iam:DeleteRole", &arn)?;
    call.state.live.change(|raw, world| {
        let r = raw_mut(call, raw, world, &name)?;
        let real = r.name.clone();
        if !r.policies.is_empty() || !r.inline_policies.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !r.managed_policies.is_empty() {
            return Err(conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        let account = call.account().to_string();
        if raw
            .instance_profiles
            .iter()
            .any(|p| p.account == account && p.role.as_deref() == Some(real.as_str()))
        {
            return Err(conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        if raw
            .ecs_tasks
            .iter()
            .any(|t| t.account == account && t.role == real)
        {
            return Err(conflict(
                "Cannot delete entity, an ECS task of this world uses the role.",
            ));
        }
        raw.roles
            .retain(|r| !(r.account == account && r.name == real));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn update_assume_role_policy(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "RoleName")?.to_string();
    let doc = required(call, "PolicyDocument")?.to_string();
    let arn = find(call, &call.view.world, &name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| role_arn(call, "/", &name));
    call.authorize("iam:UpdateAssumeRolePolicy", &arn)?;
    policy_document(&doc, PolicyKind::Trust)?;
    call.state.live.change(|raw, world| {
        raw_mut(call, raw, world, &name)?.trust_policy = doc.clone();
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn update(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "RoleName")?.to_string();
    let arn = find(call, &call.view.world, &name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| role_arn(call, "/", &name));
    call.authorize("iam:UpdateRole", &arn)?;
    let max = max_session(call)?;
    let description = call.get("Description").map(str::to_string);
    call.state.live.change(|raw, world| {
        let r = raw_mut(call, raw, world, &name)?;
        if max.is_some() {
            r.max_session_duration = max;
        }
        if description.is_some() {
            r.description = description.clone();
        }
        Ok::<_, QueryError>(())
    })?;
    ok(call, |_| {})
}
