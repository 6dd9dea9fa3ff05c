//! Instance profiles: Create/Get/List/Delete, ListInstanceProfilesForRole, and
//! Add/RemoveRoleToInstanceProfile (one role per profile, as IAM enforces).

use http::StatusCode;

use super::*;
use crate::world::{ids, InstanceProfile, RawInstanceProfile, World};

fn profile_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:instance-profile{path}{name}",
        call.partition(),
        call.account()
    )
}

fn not_found(name: &str) -> QueryError {
    no_such(format!("Instance Profile {name} cannot be found."))
}

fn find<'w>(
    call: &Call<'_>,
    world: &'w World,
    name: &str,
) -> Result<&'w InstanceProfile, QueryError> {
    world
        .instance_profile(call.account(), name)
        .map(|i| &world.instance_profiles[i])
        .ok_or_else(|| not_found(name))
}

fn arn_of(call: &Call<'_>, name: &str) -> String {
    find(call, &call.view.world, name)
        .map(|p| p.arn.clone())
        .unwrap_or_else(|_| profile_arn(call, "/", name))
}

/// `<InstanceProfile>` (or `<member>`) with its role list.
pub(crate) fn profile_xml(x: &mut Xml, element: &str, world: &World, p: &InstanceProfile) {
    x.open(element)
        .leaf("Path", &p.path)
        .leaf("InstanceProfileName", &p.name)
        .leaf("InstanceProfileId", &p.id)
        .leaf("Arn", &p.arn)
        .leaf("CreateDate", &p.created);
    x.open("Roles");
    if let Some(r) = p.role {
        super::roles::role_xml(x, "member", &world.roles[r]);
    }
    x.close("Roles");
    x.close(element);
}

pub(super) fn create(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "InstanceProfileName")?.to_string();
    check_name(&name, "instanceProfileName", 128)?;
    let path = path_param(call)?;
    call.authorize(
        "iam:CreateInstanceProfile",
        &profile_arn(call, &path, &name),
    )?;
    let created = now(call);
    let (_, world) = call.state.live.change(|raw, world| {
        if world.instance_profile(call.account(), &name).is_some() {
            return Err(exists(format!("Instance Profile {name} already exists.")));
        }
        raw.instance_profiles.push(RawInstanceProfile {
            account: call.account().to_string(),
            name: name.clone(),
            path: (path != "/").then(|| path.clone()),
            id: ids::unique_id("AIPA"),
            created: Some(created.clone()),
            role: None,
        });
        Ok::<_, QueryError>(())
    })?;
    let p = find(call, &world, &name)?;
    ok(call, |x| profile_xml(x, "InstanceProfile", &world, p))
}

pub(super) fn get(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "InstanceProfileName")?;
    call.authorize("iam:GetInstanceProfile", &arn_of(call, name))?;
    let world = &call.view.world;
    let p = find(call, world, name)?;
    ok(call, |x| profile_xml(x, "InstanceProfile", world, p))
}

fn list_xml(call: &Call<'_>, profiles: Vec<&InstanceProfile>) -> Result<HttpResponse, QueryError> {
    let world = &call.view.world;
    paged(call, "InstanceProfiles", profiles, |x, p| {
        profile_xml(x, "member", world, p);
    })
}

pub(super) fn list(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("iam:ListInstanceProfiles", "*")?;
    let prefix = call.get("PathPrefix").unwrap_or("/");
    let profiles = call
        .view
        .world
        .instance_profiles
        .iter()
        .filter(|p| p.account == call.account() && p.path.starts_with(prefix))
        .collect();
    list_xml(call, profiles)
}

pub(super) fn list_for_role(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let role_name = required(call, "RoleName")?;
    let world = &call.view.world;
    let arn = super::roles::find(call, world, role_name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| super::roles::role_arn(call, "/", role_name));
    call.authorize("iam:ListInstanceProfilesForRole", &arn)?;
    let role = world
        .role(call.account(), role_name)
        .ok_or_else(|| no_such(format!("The role with name {role_name} cannot be found.")))?;
    let profiles = world
        .instance_profiles
        .iter()
        .filter(|p| p.role == Some(role))
        .collect();
    list_xml(call, profiles)
}

pub(super) fn delete(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "InstanceProfileName")?.to_string();
    call.authorize("iam:DeleteInstanceProfile", &arn_of(call, &name))?;
    call.state.live.change(|raw, world| {
        let p = find(call, world, &name)?;
        if p.role.is_some() {
            return Err(conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        let (acct, real) = (call.account().to_string(), p.name.clone());
        let holds = |account: &str, profile: Option<&str>| {
            account == acct && profile.is_some_and(|n| n.eq_ignore_ascii_case(&real))
        };
        if raw.instances.iter().any(|i| {
            holds(&i.account, i.instance_profile.as_deref())
                && i.state == crate::world::InstanceState::Running
        })
        {
            return Err(conflict(
                "Cannot delete entity, a running instance is associated with this instance profile.",
            ));
        }
        // Terminated instances keep no association (DescribeIamInstanceProfileAssociations
        // no longer lists them): their reference goes with the profile.
        for i in raw.instances.iter_mut() {
            if holds(&i.account, i.instance_profile.as_deref()) {
                i.instance_profile = None;
            }
        }
        raw.instance_profiles
            .retain(|x| !(x.account == acct && x.name == real));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn add_role(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "InstanceProfileName")?.to_string();
    let role_name = required(call, "RoleName")?.to_string();
    call.authorize("iam:AddRoleToInstanceProfile", &arn_of(call, &name))?;
    // Putting a role in a profile passes it to EC2 later, as IAM requires.
    let role_arn = super::roles::find(call, &call.view.world, &role_name)
        .map(|r| r.arn.clone())
        .unwrap_or_else(|_| super::roles::role_arn(call, "/", &role_name));
    call.authorize("iam:PassRole", &role_arn)?;
    call.state.live.change(|raw, world| {
        let p = find(call, world, &name)?;
        let role = super::roles::find(call, world, &role_name)?;
        if p.role.is_some() {
            return Err(QueryError::new(
                StatusCode::CONFLICT,
                "LimitExceeded",
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ));
        }
        let (acct, real) = (call.account().to_string(), p.name.clone());
        let entry = raw
            .instance_profiles
            .iter_mut()
            .find(|x| x.account == acct && x.name == real)
            .ok_or_else(|| not_found(&name))?;
        entry.role = Some(role.name.clone());
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn remove_role(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "InstanceProfileName")?.to_string();
    let role_name = required(call, "RoleName")?.to_string();
    call.authorize("iam:RemoveRoleFromInstanceProfile", &arn_of(call, &name))?;
    call.state.live.change(|raw, world| {
        let p = find(call, world, &name)?;
        let holds = p
            .role
            .is_some_and(|r| world.roles[r].name.eq_ignore_ascii_case(&role_name));
        if !holds {
            return Err(no_such(format!(
                "The role with name {role_name} cannot be found."
            )));
        }
        let (acct, real) = (call.account().to_string(), p.name.clone());
        if let Some(entry) = raw
            .instance_profiles
            .iter_mut()
            .find(|x| x.account == acct && x.name == real)
        {
            entry.role = None;
        }
        Ok::<_, QueryError>(())
    })?;
    done(call)
}
