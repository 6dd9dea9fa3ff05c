//! Inline policies of roles and users (Put/Get/Delete/List…Policy), managed policy attachments
//! (Attach/Detach/ListAttached…Policies) and customer managed policies (Create/Get/Delete/
//! ListPolicies, GetPolicyVersion). AWS managed policies are built in and attachable.

use std::collections::BTreeMap;

use super::*;
use crate::policy::PolicyKind;
use crate::world::{ids, ManagedPolicy, RawManagedPolicy, RawWorld, World};

/// Whose policies a call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// `RoleName`.
    Role,
    /// `UserName`.
    User,
}

impl Owner {
    fn param(self) -> &'static str {
        match self {
            Owner::Role => "RoleName",
            Owner::User => "UserName",
        }
    }

    fn action(self, verb: &str) -> String {
        match self {
            Owner::Role => format!("iam:{verb}RolePolicy"),
            Owner::User => format!("iam:{verb}UserPolicy"),
        }
    }

    /// The owner's ARN (for authorization), or one built from the name when it is missing.
    fn arn(self, call: &Call<'_>, world: &World, name: &str) -> String {
        match self {
            Owner::Role => super::roles::find(call, world, name)
                .map(|r| r.arn.clone())
                .unwrap_or_else(|_| super::roles::role_arn(call, "/", name)),
            Owner::User => super::users::find(call, world, name)
                .map(|u| u.arn.clone())
                .unwrap_or_else(|_| super::users::user_arn(call, "/", name)),
        }
    }

    fn not_found(self, name: &str) -> QueryError {
        match self {
            Owner::Role => no_such(format!("The role with name {name} cannot be found.")),
            Owner::User => no_such(format!("The user with name {name} cannot be found.")),
        }
    }
}

/// The owner's inline policies (unnamed list, named map) and attachments, for changing.
struct Parts<'r> {
    list: &'r mut Vec<String>,
    named: &'r mut BTreeMap<String, String>,
    attached: &'r mut Vec<String>,
}

impl Parts<'_> {
    /// Names the world file's unnamed policies (`policy-1`, …) so they can be changed by name.
    fn migrate(&mut self) {
        for (k, doc) in self.list.drain(..).enumerate() {
            self.named.entry(format!("policy-{}", k + 1)).or_insert(doc);
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        if let Some(d) = self.named.get(name) {
            return Some(d.clone());
        }
        let k: usize = name.strip_prefix("policy-")?.parse().ok()?;
        self.list.get(k.checked_sub(1)?).cloned()
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = (1..=self.list.len())
            .map(|k| format!("policy-{k}"))
            .collect();
        v.extend(self.named.keys().cloned());
        v
    }
}

fn parts<'r>(
    call: &Call<'_>,
    owner: Owner,
    raw: &'r mut RawWorld,
    world: &World,
    name: &str,
) -> Result<Parts<'r>, QueryError> {
    match owner {
        Owner::Role => {
            let r = super::roles::raw_mut(call, raw, world, name)?;
            Ok(Parts {
                list: &mut r.policies,
                named: &mut r.inline_policies,
                attached: &mut r.managed_policies,
            })
        }
        Owner::User => {
            let account = call.account().to_string();
            let u = raw
                .users
                .iter_mut()
                .find(|u| u.account == account && u.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| owner.not_found(name))?;
            Ok(Parts {
                list: &mut u.policies,
                named: &mut u.inline_policies,
                attached: &mut u.managed_policies,
            })
        }
    }
}

/// Reads an owner's parts from a copy of the world's file form.
fn read_parts<T>(
    call: &Call<'_>,
    owner: Owner,
    name: &str,
    f: impl FnOnce(&Parts<'_>) -> T,
) -> Result<T, QueryError> {
    let world = &call.view.world;
    let mut raw = world.raw.clone();
    let p = parts(call, owner, &mut raw, world, name)?;
    Ok(f(&p))
}

pub(super) fn put_inline(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let policy_name = required(call, "PolicyName")?.to_string();
    check_name(&policy_name, "policyName", 128)?;
    let doc = required(call, "PolicyDocument")?.to_string();
    call.authorize(
        &owner.action("Put"),
        &owner.arn(call, &call.view.world, &name),
    )?;
    policy_document(&doc, PolicyKind::Identity)?;
    call.state.live.change(|raw, world| {
        let mut p = parts(call, owner, raw, world, &name)?;
        p.migrate();
        p.named.insert(policy_name.clone(), doc.clone());
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn get_inline(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let policy_name = required(call, "PolicyName")?.to_string();
    call.authorize(
        &owner.action("Get"),
        &owner.arn(call, &call.view.world, &name),
    )?;
    let doc = read_parts(call, owner, &name, |p| p.get(&policy_name))?.ok_or_else(|| {
        no_such(match owner {
            Owner::Role => format!("The role policy with name {policy_name} cannot be found."),
            Owner::User => format!("The user policy with name {policy_name} cannot be found."),
        })
    })?;
    ok(call, |x| {
        x.leaf(owner.param(), &name)
            .leaf("PolicyName", &policy_name)
            .leaf("PolicyDocument", &encode_document(&doc));
    })
}

pub(super) fn delete_inline(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let policy_name = required(call, "PolicyName")?.to_string();
    call.authorize(
        &owner.action("Delete"),
        &owner.arn(call, &call.view.world, &name),
    )?;
    call.state.live.change(|raw, world| {
        let mut p = parts(call, owner, raw, world, &name)?;
        p.migrate();
        p.named.remove(&policy_name).ok_or_else(|| {
            no_such(match owner {
                Owner::Role => format!("The role policy with name {policy_name} cannot be found."),
                Owner::User => format!("The user policy with name {policy_name} cannot be found."),
            })
        })?;
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn list_inline(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let action = match owner {
        Owner::Role => "iam:ListRolePolicies",
        Owner::User => "iam:ListUserPolicies",
    };
    call.authorize(action, &owner.arn(call, &call.view.world, &name))?;
    let names = read_parts(call, owner, &name, |p| p.names())?;
    paged(call, "PolicyNames", names, |x, n| {
        x.leaf("member", n);
    })
}

/// The managed policy `arn`, attachable by the caller's account.
fn attachable<'w>(
    call: &Call<'_>,
    world: &'w World,
    arn: &str,
) -> Result<&'w ManagedPolicy, QueryError> {
    world
        .managed_policy(arn)
        .filter(|p| p.account.as_deref().is_none_or(|a| a == call.account()))
        .ok_or_else(|| no_such(format!("Policy {arn} does not exist or is not attachable.")))
}

pub(super) fn attach(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let arn = required(call, "PolicyArn")?.to_string();
    let action = match owner {
        Owner::Role => "iam:AttachRolePolicy",
        Owner::User => "iam:AttachUserPolicy",
    };
    call.authorize(action, &owner.arn(call, &call.view.world, &name))?;
    call.state.live.change(|raw, world| {
        attachable(call, world, &arn)?;
        let p = parts(call, owner, raw, world, &name)?;
        if !p.attached.contains(&arn) {
            p.attached.push(arn.clone());
        }
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn detach(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let arn = required(call, "PolicyArn")?.to_string();
    let action = match owner {
        Owner::Role => "iam:DetachRolePolicy",
        Owner::User => "iam:DetachUserPolicy",
    };
    call.authorize(action, &owner.arn(call, &call.view.world, &name))?;
    call.state.live.change(|raw, world| {
        let p = parts(call, owner, raw, world, &name)?;
        let before = p.attached.len();
        p.attached.retain(|a| *a != arn);
        if p.attached.len() == before {
            return Err(no_such(format!("Policy {arn} was not found.")));
        }
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn list_attached(call: &Call<'_>, owner: Owner) -> Result<HttpResponse, QueryError> {
    let name = required(call, owner.param())?.to_string();
    let action = match owner {
        Owner::Role => "iam:ListAttachedRolePolicies",
        Owner::User => "iam:ListAttachedUserPolicies",
    };
    call.authorize(action, &owner.arn(call, &call.view.world, &name))?;
    let arns = read_parts(call, owner, &name, |p| p.attached.clone())?;
    let world = &call.view.world;
    paged(call, "AttachedPolicies", arns, |x, arn| {
        let n = world
            .managed_policy(arn)
            .map(|p| p.name.as_str())
            .unwrap_or("");
        x.open("member")
            .leaf("PolicyName", n)
            .leaf("PolicyArn", arn)
            .close("member");
    })
}

fn attachment_count(world: &World, arn: &str) -> usize {
    world
        .raw
        .roles
        .iter()
        .map(|r| &r.managed_policies)
        .chain(world.raw.users.iter().map(|u| &u.managed_policies))
        .filter(|m| m.iter().any(|a| a == arn))
        .count()
}

fn policy_xml(x: &mut Xml, element: &str, world: &World, p: &ManagedPolicy) {
    x.open(element)
        .leaf("PolicyName", &p.name)
        .leaf("PolicyId", &p.id)
        .leaf("Arn", &p.arn)
        .leaf("Path", &p.path)
        .leaf("DefaultVersionId", "v1")
        .leaf(
            "AttachmentCount",
            &attachment_count(world, &p.arn).to_string(),
        )
        .leaf("PermissionsBoundaryUsageCount", "0")
        .leaf("IsAttachable", "true")
        .opt("Description", p.description.as_deref())
        .leaf("CreateDate", &p.created)
        .leaf("UpdateDate", &p.created)
        .close(element);
}

pub(super) fn create_managed(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "PolicyName")?.to_string();
    check_name(&name, "policyName", 128)?;
    let doc = required(call, "PolicyDocument")?.to_string();
    let path = path_param(call)?;
    let arn = format!(
        "arn:{}:iam::{}:policy{path}{name}",
        call.partition(),
        call.account()
    );
    call.authorize("iam:CreatePolicy", &arn)?;
    policy_document(&doc, PolicyKind::Identity)?;
    let created = now(call);
    let description = call.get("Description").map(str::to_string);
    let (_, world) = call.state.live.change(|raw, world| {
        if world.managed_policy(&arn).is_some()
            || raw
                .managed_policies
                .iter()
                .any(|p| p.account == call.account() && p.name == name)
        {
            return Err(exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        raw.managed_policies.push(RawManagedPolicy {
            account: call.account().to_string(),
            name: name.clone(),
            path: (path != "/").then(|| path.clone()),
            id: ids::unique_id("ANPA"),
            description: description.clone(),
            created: Some(created.clone()),
            document: doc.clone(),
        });
        Ok::<_, QueryError>(())
    })?;
    let p = world.managed_policy(&arn).expect("just created");
    ok(call, |x| policy_xml(x, "Policy", &world, p))
}

pub(super) fn get_managed(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let arn = required(call, "PolicyArn")?.to_string();
    call.authorize("iam:GetPolicy", &arn)?;
    let world = &call.view.world;
    let p = attachable(call, world, &arn)
        .map_err(|_| no_such(format!("Policy {arn} was not found.")))?;
    ok(call, |x| policy_xml(x, "Policy", world, p))
}

pub(super) fn get_managed_version(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let arn = required(call, "PolicyArn")?.to_string();
    let version = required(call, "VersionId")?.to_string();
    call.authorize("iam:GetPolicyVersion", &arn)?;
    let world = &call.view.world;
    let p = attachable(call, world, &arn)
        .map_err(|_| no_such(format!("Policy {arn} was not found.")))?;
    if version != "v1" {
        return Err(no_such(format!(
            "Policy {arn} version {version} does not exist or is not attachable."
        )));
    }
    ok(call, |x| {
        x.open("PolicyVersion")
            .leaf("Document", &encode_document(&p.document))
            .leaf("VersionId", "v1")
            .leaf("IsDefaultVersion", "true")
            .leaf("CreateDate", &p.created)
            .close("PolicyVersion");
    })
}

pub(super) fn delete_managed(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let arn = required(call, "PolicyArn")?.to_string();
    call.authorize("iam:DeletePolicy", &arn)?;
    call.state.live.change(|raw, world| {
        let p = world
            .managed_policy(&arn)
            .filter(|p| p.account.as_deref() == Some(call.account()))
            .ok_or_else(|| no_such(format!("Policy {arn} was not found.")))?;
        if attachment_count(world, &arn) > 0 {
            return Err(conflict("Cannot delete a policy attached to entities."));
        }
        let (acct, name) = (call.account().to_string(), p.name.clone());
        raw.managed_policies
            .retain(|m| !(m.account == acct && m.name == name));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

pub(super) fn list_managed(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("iam:ListPolicies", "*")?;
    let scope = call.get("Scope").unwrap_or("All");
    let only_attached = call.get("OnlyAttached") == Some("true");
    let prefix = call.get("PathPrefix").unwrap_or("/");
    let world = &call.view.world;
    let items: Vec<&ManagedPolicy> = world
        .managed_policies
        .iter()
        .filter(|p| match (&p.account, scope) {
            (Some(a), "All" | "Local") => a == call.account(),
            (None, "All" | "AWS") => true,
            _ => false,
        })
        .filter(|p| p.path.starts_with(prefix))
        .filter(|p| !only_attached || attachment_count(world, &p.arn) > 0)
        .collect();
    paged(call, "Policies", items, |x, p| {
        policy_xml(x, "member", world, p);
    })
}
