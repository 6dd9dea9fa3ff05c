//! SimulatePrincipalPolicy: evaluates a user's or role's identity policies (plus any
//! `PolicyInputList` documents) for each action and resource, answering `allowed`,
//! `explicitDeny` or `implicitDeny` with the statement that decided.

use super::*;
use crate::policy::{self, Decision, Policy, PolicyKind, Principal, Request};
use crate::world::PolicySource;

struct Source {
    id: String,
    kind: &'static str,
}

pub(super) fn simulate_principal_policy(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let source_arn = required(call, "PolicySourceArn")?.to_string();
    call.authorize("iam:SimulatePrincipalPolicy", &source_arn)?;
    let actions = call.params.list("ActionNames");
    if actions.is_empty() {
        return Err(
            crate::query::required(&call.params, "ActionNames.member.1", Service::Iam)
                .err()
                .unwrap_or_else(|| invalid("ActionNames must not be empty")),
        );
    }
    let mut resources: Vec<&str> = call.params.list("ResourceArns");
    if resources.is_empty() {
        resources.push("*");
    }
    let world = &call.view.world;
    let (principal, mut policies, mut sources): (Principal, Vec<Policy>, Vec<Source>) =
        if let Some(u) = world.users.iter().find(|u| u.arn == source_arn) {
            (
                Principal::user(&u.account, &u.arn),
                u.policies.clone(),
                u.policy_sources
                    .iter()
                    .map(|s| source_of(s, "user"))
                    .collect(),
            )
        } else if let Some(i) = world.role_by_arn(&source_arn) {
            let r = &world.roles[i];
            let session = format!(
                "arn:{}:sts::{}:assumed-role/{}/simulation",
                world.settings.partition, r.account, r.name
            );
            (
                Principal::assumed_role(&r.account, &session, &r.arn),
                r.policies.clone(),
                r.policy_sources
                    .iter()
                    .map(|s| source_of(s, "role"))
                    .collect(),
            )
        } else {
            return Err(no_such(format!(
                "Could not find principal with ARN {source_arn}."
            )));
        };
    for (k, doc) in call.params.list("PolicyInputList").iter().enumerate() {
        policies.push(Policy::parse(doc, PolicyKind::Identity).map_err(|e| {
            QueryError::new(
                http::StatusCode::BAD_REQUEST,
                "MalformedPolicyDocument",
                format!("Syntax errors in policy. PolicyInputList.{}: {e}", k + 1),
            )
        })?);
        sources.push(Source {
            id: format!("PolicyInputList.{}", k + 1),
            kind: "none",
        });
    }
    let mut ctx = crate::state::context_at(call.state.clock.now());
    ctx.set("aws:PrincipalArn", source_arn.clone());
    for i in 1.. {
        let Some(key) = call.get(&format!("ContextEntries.member.{i}.ContextKeyName")) else {
            break;
        };
        let values = call
            .params
            .list(&format!("ContextEntries.member.{i}.ContextKeyValues"));
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        let is_list = call
            .get(&format!("ContextEntries.member.{i}.ContextKeyType"))
            .is_some_and(|t| t.ends_with("List"));
        if is_list || values.len() > 1 {
            ctx.set_multi(key.to_string(), values);
        } else if let Some(v) = values.into_iter().next() {
            ctx.set(key.to_string(), v);
        }
    }
    let refs: Vec<&Policy> = policies.iter().collect();
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let eval = policy::evaluate(
                &refs,
                &Request {
                    principal: &principal,
                    action,
                    resource,
                    context: &ctx,
                },
            );
            results.push((action.to_string(), resource.to_string(), eval));
        }
    }
    paged(
        call,
        "EvaluationResults",
        results,
        |x, (action, resource, eval)| {
            x.open("member")
                .leaf("EvalActionName", action)
                .leaf("EvalResourceName", resource)
                .leaf(
                    "EvalDecision",
                    match eval.decision {
                        Decision::Allow => "allowed",
                        Decision::ExplicitDeny => "explicitDeny",
                        Decision::ImplicitDeny => "implicitDeny",
                    },
                );
            x.open("MatchedStatements");
            if let Some((p, _, _)) = &eval.decided_by {
                if let Some(s) = sources.get(*p) {
                    x.open("member")
                        .leaf("SourcePolicyId", &s.id)
                        .leaf("SourcePolicyType", s.kind)
                        .close("member");
                }
            }
            x.close("MatchedStatements");
            x.open("MissingContextValues").close("MissingContextValues");
            x.close("member");
        },
    )
}

fn source_of(s: &PolicySource, owner: &'static str) -> Source {
    match s {
        PolicySource::Inline(n) => Source {
            id: n.clone(),
            kind: owner,
        },
        PolicySource::Managed(arn) => Source {
            id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            kind: if arn.contains(":iam::aws:policy/") {
                "aws-managed"
            } else {
                "user-managed"
            },
        },
    }
}
