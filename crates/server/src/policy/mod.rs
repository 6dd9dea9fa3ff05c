//! IAM policy documents: parsing with strict validation, and pure evaluation with a
//! three-valued result and a trace of the statement that decided.
//!
//! Covers trust (resource) policies with `Principal`/`NotPrincipal` and identity/session
//! policies with `Resource`/`NotResource`; conditions support every operator family of the IAM
//! condition language, `…IfExists`, `Null`, `ForAnyValue:`/`ForAllValues:` and policy variables.

mod condition;
mod context;
pub mod glob;
mod template;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use condition::{parse_date, Cidr, Condition};
pub use context::{Context, ContextValue, Principal, PrincipalKind, Request};
use glob::Tok;
use template::Template;

/// Why a policy document was rejected: where (`Statement[0]`) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}{sep}{message}", sep = if location.is_empty() { "" } else { ": " })]
pub struct PolicyError {
    /// Path inside the document, e.g. `Statement[1]`; empty for document-level problems.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    fn doc(message: impl Into<String>) -> PolicyError {
        PolicyError {
            location: String::new(),
            message: message.into(),
        }
    }
}

/// Which kind of policy a document is; decides which elements are required or forbidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A role trust policy (resource policy): needs `Principal`/`NotPrincipal`.
    Trust,
    /// An identity, session or boundary policy: needs `Resource`/`NotResource`, no principal.
    Identity,
}

/// The policy language version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17` or no `Version`: `${…}` is literal text.
    V2008_10_17,
}

/// A statement's `Effect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// The outcome of an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A matching `Deny` statement.
    ExplicitDeny,
    /// A matching `Allow` statement and no matching `Deny`.
    Allow,
    /// Nothing matched.
    ImplicitDeny,
}

/// How a trust statement's principal matched the caller (strongest first); decides whether
/// an identity-policy Allow is also needed (`docs/spec/iam-policy.md` §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    /// The caller's own ARN (user, role session, federated user).
    Direct,
    /// A service or federated provider principal.
    ServiceOrFederated,
    /// The ARN of the role the calling session belongs to.
    RoleArn,
    /// `"*"`.
    Wildcard,
    /// The caller's account (`123456789012` / `…:root`): delegation to the account.
    Account,
    /// `NotPrincipal` that did not list the caller.
    NotPrincipal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Principals {
    any: bool,
    aws: Vec<String>,
    service: Vec<String>,
    federated: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PrincipalElement {
    Principal(Principals),
    NotPrincipal(Principals),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Matcher {
    Only(Vec<Vec<Tok>>),
    Except(Vec<Vec<Tok>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ResourceMatcher {
    Only(Vec<Template>),
    Except(Vec<Template>),
}

/// One parsed statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<PrincipalElement>,
    action: Matcher,
    resource: Option<ResourceMatcher>,
    conditions: Vec<Condition>,
}

/// A parsed, validated policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    version: Version,
    statements: Vec<Statement>,
}

/// What happened to one statement during an evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementTrace {
    /// Index in the policy's statement list.
    pub index: usize,
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
    /// `None` when the statement applied; otherwise the first element that did not match
    /// (`Principal`, `Action`, `Resource`, or `Condition <Operator> <key>`).
    pub failed: Option<String>,
}

/// The result of evaluating one or more policies: the decision, the statement that decided
/// and a per-statement trace (for logs, never for client messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// `(policy index, statement index, Sid)` of the statement that decided; `None` for an
    /// implicit deny.
    pub decided_by: Option<(usize, usize, Option<String>)>,
    /// For trust policies: the strongest principal match among the matching Allow statements.
    pub principal_match: Option<PrincipalMatch>,
    /// One entry per statement evaluated, in order (policy by policy).
    pub trace: Vec<(usize, StatementTrace)>,
}

impl Policy {
    /// Parses and validates a JSON policy document of the given kind.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        check_charset(document).map_err(PolicyError::doc)?;
        let value: Value = serde_json::from_str(document)
            .map_err(|e| PolicyError::doc(format!("not valid JSON: {e}")))?;
        Policy::from_value(&value, kind)
    }

    /// Validates an already parsed JSON document.
    pub fn from_value(value: &Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let Value::Object(top) = value else {
            return Err(PolicyError::doc("a policy must be a JSON object"));
        };
        for key in top.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::doc(format!("unknown element \"{key}\"")));
            }
        }
        let version = match top.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(other) => {
                return Err(PolicyError::doc(format!(
                    "Version must be \"2012-10-17\" or \"2008-10-17\", not {other}"
                )))
            }
        };
        let statements = match top.get("Statement") {
            Some(Value::Array(items)) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
            Some(Value::Array(_)) => return Err(PolicyError::doc("Statement is empty")),
            Some(obj @ Value::Object(_)) => vec![obj],
            Some(_) => return Err(PolicyError::doc("Statement must be an object or an array")),
            None => return Err(PolicyError::doc("missing Statement")),
        };
        let variables = version == Version::V2012_10_17;
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                parse_statement(s, kind, variables).map_err(|message| PolicyError {
                    location: format!("Statement[{i}]"),
                    message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            version,
            statements,
        })
    }

    /// The document's language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Evaluates this policy alone.
    pub fn evaluate(&self, request: &Request<'_>) -> Evaluation {
        evaluate(&[self], request)
    }
}

/// Characters allowed in a policy: TAB, LF, CR and U+0020–U+00FF.
pub fn check_charset(document: &str) -> Result<(), String> {
    match document
        .chars()
        .find(|c| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        Some(c) => Err(format!(
            "character U+{:04X} is not allowed in a policy",
            c as u32
        )),
        None => Ok(()),
    }
}

fn parse_statement(value: &Value, kind: PolicyKind, variables: bool) -> Result<Statement, String> {
    let Value::Object(map) = value else {
        return Err("a statement must be an object".into());
    };
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(format!("unknown element \"{key}\""));
        }
    }
    let sid = match map.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("Sid must be a string".into()),
    };
    let effect = match map.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(format!("Effect must be \"Allow\" or \"Deny\", not {other}")),
        None => return Err("missing Effect".into()),
    };
    let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => return Err("both Principal and NotPrincipal".into()),
        (Some(p), None) => Some(PrincipalElement::Principal(
            parse_principals(p).map_err(|e| format!("Principal: {e}"))?,
        )),
        (None, Some(p)) => Some(PrincipalElement::NotPrincipal(
            parse_principals(p).map_err(|e| format!("NotPrincipal: {e}"))?,
        )),
        (None, None) => None,
    };
    match kind {
        PolicyKind::Trust if principal.is_none() => {
            return Err("missing Principal (a trust policy statement needs one)".into())
        }
        PolicyKind::Identity if principal.is_some() => {
            return Err("Principal is not allowed in an identity policy".into())
        }
        _ => {}
    }
    let action = match (map.get("Action"), map.get("NotAction")) {
        (Some(_), Some(_)) => return Err("both Action and NotAction".into()),
        (Some(a), None) => Matcher::Only(parse_actions(a).map_err(|e| format!("Action: {e}"))?),
        (None, Some(a)) => {
            Matcher::Except(parse_actions(a).map_err(|e| format!("NotAction: {e}"))?)
        }
        (None, None) => return Err("missing Action".into()),
    };
    let resource = match (map.get("Resource"), map.get("NotResource")) {
        (Some(_), Some(_)) => return Err("both Resource and NotResource".into()),
        (Some(r), None) => Some(ResourceMatcher::Only(
            parse_resources(r, variables).map_err(|e| format!("Resource: {e}"))?,
        )),
        (None, Some(r)) => Some(ResourceMatcher::Except(
            parse_resources(r, variables).map_err(|e| format!("NotResource: {e}"))?,
        )),
        (None, None) => None,
    };
    if kind == PolicyKind::Identity && resource.is_none() {
        return Err("missing Resource".into());
    }
    let conditions = match map.get("Condition") {
        Some(c) => condition::parse_block(c, variables)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn string_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("expected a string, found {other}")),
            })
            .collect(),
        Value::Array(_) => Err("empty list".into()),
        other => Err(format!(
            "expected a string or a list of strings, found {other}"
        )),
    }
}

fn parse_actions(value: &Value) -> Result<Vec<Vec<Tok>>, String> {
    string_list(value)?
        .into_iter()
        .map(|a| {
            if a != "*" && !a.contains(':') {
                return Err(format!("\"{a}\" is not of the form service:action"));
            }
            if a.split(':').next().is_some_and(|s| s.is_empty()) {
                return Err(format!("\"{a}\" has an empty service prefix"));
            }
            Ok(glob::compile(&a.to_lowercase()))
        })
        .collect()
}

fn parse_resources(value: &Value, variables: bool) -> Result<Vec<Template>, String> {
    string_list(value)?
        .into_iter()
        .map(|r| {
            if r != "*" && !r.starts_with("arn:") {
                return Err(format!("\"{r}\" is not an ARN or \"*\""));
            }
            Ok(Template::parse(&r, variables))
        })
        .collect()
}

fn parse_principals(value: &Value) -> Result<Principals, String> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals {
            any: true,
            ..Principals::default()
        }),
        Value::Object(map) if !map.is_empty() => {
            let mut out = Principals::default();
            for (kind, ids) in map {
                let ids = string_list(ids).map_err(|e| format!("{kind}: {e}"))?;
                match kind.as_str() {
                    "AWS" => {
                        for id in ids {
                            if id == "*" {
                                out.any = true;
                            } else if is_account_id(&id) || id.starts_with("arn:") {
                                if id.contains('*') || id.contains('?') {
                                    return Err(format!(
                                        "AWS: \"{id}\": wildcards are not allowed in principals"
                                    ));
                                }
                                out.aws.push(id);
                            } else {
                                return Err(format!(
                                    "AWS: \"{id}\" is not an account id, an ARN or \"*\""
                                ));
                            }
                        }
                    }
                    "Service" => out
                        .service
                        .extend(ids.into_iter().map(|s| s.to_lowercase())),
                    "Federated" => out.federated.extend(ids),
                    "CanonicalUser" => {}
                    other => return Err(format!("unknown principal type \"{other}\"")),
                }
            }
            Ok(out)
        }
        other => Err(format!("expected \"*\" or an object, found {other}")),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account of a root ARN `arn:<partition>:iam::<acct>:root`.
fn root_account(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (acct, tail) = rest.split_once(':')?;
    (tail == "root" && is_account_id(acct)).then_some(acct)
}

impl Principals {
    /// The strongest way one of these principals names the caller.
    fn best_match(&self, p: &Principal) -> Option<PrincipalMatch> {
        let mut best: Option<PrincipalMatch> = None;
        let mut offer = |m: PrincipalMatch| {
            if best.is_none_or(|b| m < b) {
                best = Some(m);
            }
        };
        if self.any {
            offer(PrincipalMatch::Wildcard);
        }
        match p.kind {
            PrincipalKind::Service
                if self.service.iter().any(|s| s.eq_ignore_ascii_case(&p.arn)) =>
            {
                offer(PrincipalMatch::ServiceOrFederated);
            }
            PrincipalKind::WebIdentity if self.federated.contains(&p.arn) => {
                offer(PrincipalMatch::ServiceOrFederated);
            }
            _ if p.is_aws() => {
                for id in &self.aws {
                    if *id == p.arn {
                        offer(PrincipalMatch::Direct);
                    } else if p.role_arn.as_deref() == Some(id.as_str()) {
                        offer(PrincipalMatch::RoleArn);
                    } else if let Some(acct) = p.account.as_deref() {
                        if id == acct || root_account(id) == Some(acct) {
                            offer(PrincipalMatch::Account);
                        }
                    }
                }
            }
            _ => {}
        }
        best
    }
}

impl Statement {
    /// Evaluates applicability; returns the principal match (for trust statements) or the
    /// name of the first element that did not match.
    fn applies(
        &self,
        req: &Request<'_>,
        action_lower: &str,
    ) -> Result<Option<PrincipalMatch>, String> {
        let principal_match = match &self.principal {
            None => None,
            Some(PrincipalElement::Principal(ps)) => {
                Some(ps.best_match(req.principal).ok_or("Principal")?)
            }
            Some(PrincipalElement::NotPrincipal(ps)) => {
                if ps.best_match(req.principal).is_some() {
                    return Err("NotPrincipal".into());
                }
                Some(PrincipalMatch::NotPrincipal)
            }
        };
        let action_hit =
            |pats: &[Vec<Tok>]| pats.iter().any(|p| glob::matches(p, action_lower, false));
        match &self.action {
            Matcher::Only(p) if !action_hit(p) => return Err("Action".into()),
            Matcher::Except(p) if action_hit(p) => return Err("NotAction".into()),
            _ => {}
        }
        let resource_hit = |ts: &[Template]| {
            ts.iter().any(|t| {
                t.pattern(req.context)
                    .is_some_and(|p| glob::matches_arn(&p, req.resource))
            })
        };
        match &self.resource {
            Some(ResourceMatcher::Only(ts)) if !resource_hit(ts) => return Err("Resource".into()),
            Some(ResourceMatcher::Except(ts)) if resource_hit(ts) => {
                return Err("NotResource".into())
            }
            _ => {}
        }
        for c in &self.conditions {
            if !c.evaluate(req.context) {
                return Err(format!("Condition {} {}", c.operator_name(), c.key()));
            }
        }
        Ok(principal_match)
    }
}

/// Evaluates several policies together: any matching Deny wins, else any matching Allow,
/// else an implicit deny.
pub fn evaluate(policies: &[&Policy], request: &Request<'_>) -> Evaluation {
    evaluate_lower(policies, request, &request.action.to_lowercase())
}

/// [`evaluate`] with the request's action already lowercased (several evaluations of one
/// request share it).
fn evaluate_lower(policies: &[&Policy], request: &Request<'_>, action_lower: &str) -> Evaluation {
    let mut trace = Vec::new();
    let mut deny = None;
    let mut allow = None;
    let mut principal_match: Option<PrincipalMatch> = None;
    for (pi, policy) in policies.iter().enumerate() {
        for (si, st) in policy.statements.iter().enumerate() {
            let (pm, failed) = match st.applies(request, action_lower) {
                Ok(pm) => (Some(pm), None),
                Err(element) => (None, Some(element)),
            };
            trace.push((
                pi,
                StatementTrace {
                    index: si,
                    sid: st.sid.clone(),
                    failed,
                },
            ));
            let Some(pm) = pm else { continue };
            match st.effect {
                Effect::Deny => {
                    if deny.is_none() {
                        deny = Some((pi, si, st.sid.clone()));
                    }
                }
                Effect::Allow => {
                    if allow.is_none() {
                        allow = Some((pi, si, st.sid.clone()));
                    }
                    if let Some(m) = pm {
                        if principal_match.is_none_or(|b| m < b) {
                            principal_match = Some(m);
                        }
                    }
                }
            }
        }
    }
    let (decision, decided_by) = match (deny, allow) {
        (Some(d), _) => (Decision::ExplicitDeny, Some(d)),
        (None, Some(a)) => (Decision::Allow, Some(a)),
        (None, None) => (Decision::ImplicitDeny, None),
    };
    Evaluation {
        decision,
        decided_by,
        principal_match: if decision == Decision::Allow {
            principal_match
        } else {
            None
        },
        trace,
    }
}

/// Inputs of an `sts:AssumeRole*` authorization (`docs/spec/iam-policy.md` §4.3).
#[derive(Clone, Copy, Debug)]
pub struct AssumeRoleInputs<'a> {
    /// The role's trust policy.
    pub trust: &'a Policy,
    /// The caller's identity policies (empty for services and web-identity callers).
    pub identity: &'a [&'a Policy],
    /// The calling session's session policies (empty when none were passed).
    pub session: &'a [&'a Policy],
    /// The account that owns the role.
    pub role_account: &'a str,
}

/// Why an AssumeRole authorization failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssumeRoleDenial {
    /// The trust policy has a matching Deny.
    TrustExplicitDeny,
    /// No trust statement allows this caller.
    TrustNoAllow,
    /// An identity or session policy of the caller has a matching Deny.
    IdentityExplicitDeny,
    /// The caller's identity policies do not allow the call (needed cross-account or when the
    /// trust policy only names the account).
    IdentityNoAllow,
    /// The caller's session policies do not allow the call.
    SessionNoAllow,
}

/// Decides an `sts:AssumeRole*` request: the trust policy must allow; the caller's own
/// policies must allow where the trust grant alone does not suffice; any Deny wins.
pub fn authorize_assume_role(
    inputs: &AssumeRoleInputs<'_>,
    request: &Request<'_>,
) -> Result<Evaluation, AssumeRoleDenial> {
    let action_lower = request.action.to_lowercase();
    let trust = evaluate_lower(&[inputs.trust], request, &action_lower);
    match trust.decision {
        Decision::ExplicitDeny => return Err(AssumeRoleDenial::TrustExplicitDeny),
        Decision::ImplicitDeny => return Err(AssumeRoleDenial::TrustNoAllow),
        Decision::Allow => {}
    }
    let principal = request.principal;
    if !principal.is_aws() {
        // Services and web-identity callers have no identity side.
        return Ok(trust);
    }
    let identity = evaluate_lower(inputs.identity, request, &action_lower);
    let session = evaluate_lower(inputs.session, request, &action_lower);
    if identity.decision == Decision::ExplicitDeny || session.decision == Decision::ExplicitDeny {
        return Err(AssumeRoleDenial::IdentityExplicitDeny);
    }
    let same_account = principal.account.as_deref() == Some(inputs.role_account);
    let how = trust.principal_match.unwrap_or(PrincipalMatch::Account);
    let (needs_identity, needs_session) = if !same_account {
        (true, true)
    } else {
        match how {
            // A same-account `"*"` grant is treated like a direct grant (§4.3).
            PrincipalMatch::Direct | PrincipalMatch::Wildcard => (false, false),
            PrincipalMatch::RoleArn | PrincipalMatch::ServiceOrFederated => (false, true),
            PrincipalMatch::Account | PrincipalMatch::NotPrincipal => (true, true),
        }
    };
    if needs_identity && identity.decision != Decision::Allow {
        return Err(AssumeRoleDenial::IdentityNoAllow);
    }
    if needs_session && !inputs.session.is_empty() && session.decision != Decision::Allow {
        return Err(AssumeRoleDenial::SessionNoAllow);
    }
    Ok(trust)
}

/// Decides whether a principal may perform an action with its identity policies, its
/// permissions boundary (if any) and its session policies (if any): Deny wins; identity needs
/// an Allow; a boundary or session policy that is present needs an Allow too.
pub fn authorize_action(
    identity: &[&Policy],
    boundary: Option<&Policy>,
    session: &[&Policy],
    request: &Request<'_>,
) -> Evaluation {
    let id = evaluate(identity, request);
    let b = boundary.map(|b| b.evaluate(request));
    let s = (!session.is_empty()).then(|| evaluate(session, request));
    for e in [Some(&id), b.as_ref(), s.as_ref()].into_iter().flatten() {
        if e.decision == Decision::ExplicitDeny {
            return e.clone();
        }
    }
    for e in [b.as_ref(), s.as_ref()].into_iter().flatten() {
        if e.decision != Decision::Allow {
            return Evaluation {
                decision: Decision::ImplicitDeny,
                ..e.clone()
            };
        }
    }
    id
}
