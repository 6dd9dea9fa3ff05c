//! What the IAM, EC2 and Auto Scaling handlers share: a signed call (the caller, its
//! parameters, one world snapshot), authorization of each action by the policy engine with the
//! deciding statement logged, and the services' AccessDenied wording.

use std::borrow::Cow;
use std::net::IpAddr;

use http::StatusCode;

use crate::decisions::{explain, Entry, Outcome};
use crate::http::RequestData;
use crate::policy::{self, Decision, Policy, PolicyKind, Request};
use crate::state::{State, View};
use crate::sts::auth::{authenticate_for, Caller, CallerKind};
use crate::sts::context::{base_context, identity_policies};
use crate::sts::params::Params;
use crate::sts::xml::StsError;

/// An error of any Query-protocol service (status, code, message).
pub type QueryError = StsError;

/// The services that share this machinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// IAM (2010-05-08).
    Iam,
    /// EC2 (2016-11-15).
    Ec2,
    /// Auto Scaling (2011-01-01).
    AutoScaling,
}

impl Service {
    /// The SigV4 signing name and IAM action prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Ec2 => "ec2",
            Service::AutoScaling => "autoscaling",
        }
    }

    /// The API version the service's requests carry.
    pub fn version(self) -> &'static str {
        match self {
            Service::Iam => "2010-05-08",
            Service::Ec2 => "2016-11-15",
            Service::AutoScaling => "2011-01-01",
        }
    }
}

impl Service {
    /// The action of a request as a metrics label: a known operation's name, else
    /// `MissingAction` or `InvalidAction` (labels come from fixed lists).
    pub fn action_name(self, params: &Params) -> &'static str {
        let known: &[&'static str] = match self {
            Service::Iam => crate::iam::ACTIONS,
            Service::Ec2 => crate::ec2::ACTIONS,
            Service::AutoScaling => crate::autoscaling::ACTIONS,
        };
        match params.get("Action") {
            None | Some("") => "MissingAction",
            Some(a) => known
                .iter()
                .find(|k| **k == a)
                .copied()
                .unwrap_or("InvalidAction"),
        }
    }
}

/// The outcome of authorizing one action.
#[derive(Clone, Debug)]
pub struct Authz {
    /// Allowed.
    pub allowed: bool,
    /// The decision (Allow, explicit or implicit deny).
    pub decision: Decision,
    /// Whether a session policy (not the identity policies) refused.
    pub by_session: bool,
    /// The deciding statement or its absence, in words.
    pub reason: String,
}

/// Evaluates `action` on `resource` for `caller`'s identity and session policies.
pub fn evaluate(
    view: &View<'_>,
    caller: &Caller,
    ctx: &crate::policy::Context,
    action: &str,
    resource: &str,
) -> Authz {
    let identity = identity_policies(view, caller);
    let who = match &caller.kind {
        CallerKind::LongTerm { user } | CallerKind::UserSession { user } => {
            let u = &view.world.users[*user];
            u.policy_sources
                .iter()
                .map(|s| format!("user/{} {s}", u.name))
                .collect::<Vec<_>>()
        }
        CallerKind::RoleSession { role } => {
            let r = &view.world.roles[*role];
            r.policy_sources
                .iter()
                .map(|s| format!("role/{} {s}", r.name))
                .collect()
        }
    };
    let session: Vec<Policy> = caller
        .session
        .as_ref()
        .and_then(|s| s.policy.as_deref())
        .and_then(|t| Policy::parse(t, PolicyKind::Identity).ok())
        .into_iter()
        .collect();
    let request = Request {
        principal: &caller.principal,
        action,
        resource,
        context: ctx,
    };
    let id_eval = policy::evaluate(&identity, &request);
    let session_refs: Vec<&Policy> = session.iter().collect();
    let s_eval = (!session.is_empty()).then(|| policy::evaluate(&session_refs, &request));
    if let Some(s) = &s_eval {
        if s.decision == Decision::ExplicitDeny
            || (s.decision != Decision::Allow && id_eval.decision != Decision::ExplicitDeny)
        {
            return Authz {
                allowed: false,
                decision: s.decision,
                by_session: true,
                reason: explain(s, &["session policy".to_string()]),
            };
        }
    }
    Authz {
        allowed: id_eval.decision == Decision::Allow,
        decision: id_eval.decision,
        by_session: false,
        reason: explain(&id_eval, &who),
    }
}

/// Answers one Query-protocol request of `service`: authenticates it (a refusal goes to the
/// decision log), runs `dispatch`, logs failures other than AccessDenied (already decided),
/// and renders any error with `render` (`true` for an authentication failure).
pub fn serve(
    state: &State,
    req: &RequestData,
    params: Params,
    service: Service,
    dispatch: fn(&Call<'_>) -> Result<crate::http::HttpResponse, QueryError>,
    render: fn(QueryError, &str, bool) -> crate::http::HttpResponse,
) -> crate::http::HttpResponse {
    let rid = crate::sts::request_id();
    let call = match Call::authenticate(state, req, params, service, rid.clone()) {
        Ok(c) => c,
        Err(e) => {
            let prefix = service.prefix();
            state.decide(crate::decisions::Entry::new(
                prefix,
                format!("{prefix}:?"),
                "unauthenticated",
                "*",
                crate::decisions::Outcome::Denied,
                format!("{}: {}", e.code, e.message),
            ));
            return render(e, &rid, true);
        }
    };
    match dispatch(&call) {
        Ok(r) => r,
        Err(e) => {
            if e.status != StatusCode::FORBIDDEN {
                call.log_failure(&e);
            }
            render(e, &rid, false)
        }
    }
}

/// One authenticated Query-protocol call.
pub struct Call<'a> {
    /// The shared state.
    pub state: &'a State,
    /// The world as of authentication.
    pub view: View<'a>,
    /// Who called.
    pub caller: Caller,
    /// The request parameters.
    pub params: Params,
    /// The request id.
    pub rid: String,
    /// The service.
    pub service: Service,
    /// The action name (`CreateRole`).
    pub action: String,
    /// The caller's address.
    pub peer: IpAddr,
    ctx: crate::policy::Context,
}

impl<'a> Call<'a> {
    /// Authenticates a request for `service` (SigV4 scoped to it).
    pub fn authenticate(
        state: &'a State,
        req: &RequestData,
        params: Params,
        service: Service,
        rid: String,
    ) -> Result<Call<'a>, QueryError> {
        let view = state.view();
        let caller = authenticate_for(&view, req, service.prefix())?;
        let region = caller.region.clone();
        let ctx = base_context(&view, &caller, req, &region);
        let action = params.get("Action").unwrap_or("").to_string();
        Ok(Call {
            state,
            view,
            caller,
            params,
            rid,
            service,
            action,
            peer: req.peer.ip(),
            ctx,
        })
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.caller.account
    }

    /// A parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// Evaluates `action` on `resource` without logging.
    pub fn check(&self, action: &str, resource: &str) -> Authz {
        evaluate(&self.view, &self.caller, &self.ctx, action, resource)
    }

    /// Authorizes `action` (`iam:CreateRole`) on `resource` and logs the decision; a refusal
    /// is the service's AccessDenied naming the action and resource.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), QueryError> {
        self.authorize_with(action, resource, &[])
    }

    /// [`Call::authorize`] with extra context keys (`iam:PassedToService`).
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        extra: &[(&str, &str)],
    ) -> Result<(), QueryError> {
        let extended;
        let ctx = if extra.is_empty() {
            &self.ctx
        } else {
            let mut ctx = self.ctx.clone();
            for (k, v) in extra {
                ctx.set(k.to_string(), *v);
            }
            extended = ctx;
            &extended
        };
        let a = evaluate(&self.view, &self.caller, ctx, action, resource);
        self.state.decide(Entry::new(
            self.service.prefix(),
            action,
            self.caller.arn.as_str(),
            resource,
            if a.allowed {
                Outcome::Allowed
            } else {
                Outcome::Denied
            },
            a.reason.as_str(),
        ));
        if a.allowed {
            return Ok(());
        }
        Err(self.denied(action, resource, &a, ctx))
    }

    /// The refusal of `action` on `resource` in the service's words (EC2's with the encoded
    /// message of [`crate::authz_message`], made from the request's context `ctx`).
    fn denied(
        &self,
        action: &str,
        resource: &str,
        a: &Authz,
        ctx: &crate::policy::Context,
    ) -> QueryError {
        let why = match (a.decision, a.by_session) {
            (Decision::ExplicitDeny, false) => {
                "with an explicit deny in an identity-based policy".to_string()
            }
            (Decision::ExplicitDeny, true) => {
                "with an explicit deny in a session policy".to_string()
            }
            (_, true) => format!("because no session policy allows the {action} action"),
            _ => format!("because no identity-based policy allows the {action} action"),
        };
        let core = format!(
            "User: {} is not authorized to perform: {action} on resource: {} {why}",
            self.caller.arn,
            printed_resource(self.service, action, resource)
        );
        match self.service {
            Service::Ec2 => QueryError::new(
                StatusCode::FORBIDDEN,
                "UnauthorizedOperation",
                format!(
                    "You are not authorized to perform this operation. {core}. Encoded authorization failure message: {}",
                    crate::authz_message::encode(
                        &self.state.issuer,
                        &crate::authz_message::Refusal {
                            account: &self.caller.account,
                            user_id: &self.caller.user_id,
                            arn: &self.caller.arn,
                            action,
                            resource,
                            explicit_deny: a.decision == Decision::ExplicitDeny,
                            context: ctx,
                        }
                    )
                ),
            ),
            _ => QueryError::new(StatusCode::FORBIDDEN, "AccessDenied", core),
        }
    }

    /// Logs a call that failed for a reason other than authorization.
    pub fn log_failure(&self, e: &QueryError) {
        self.state.decide(Entry::new(
            self.service.prefix(),
            format!("{}:{}", self.service.prefix(), self.action),
            self.caller.arn.as_str(),
            "*",
            Outcome::Failed,
            format!("{}: {}", e.code, e.message),
        ));
    }

    /// The partition of the world.
    pub fn partition(&self) -> &str {
        &self.view.world.settings.partition
    }

    /// The region of the request's signature scope.
    pub fn region(&self) -> &str {
        &self.caller.region
    }
}

/// The resource as a refusal prints it: IAM names an existing role or user `role NAME` /
/// `user NAME` (GetRole, UpdateRole, DeleteRole, PutRolePolicy, AttachRolePolicy, GetUser,
/// CreateAccessKey… in users' transcripts, docs/spec/world-apis.md), while one being created
/// and a passed role keep the full ARN (CreateRole, iam:PassRole); other services print the ARN.
fn printed_resource<'r>(service: Service, action: &str, resource: &'r str) -> Cow<'r, str> {
    if service != Service::Iam
        || matches!(action, "iam:CreateRole" | "iam:CreateUser" | "iam:PassRole")
    {
        return Cow::Borrowed(resource);
    }
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let Some(rest) = resource.splitn(6, ':').nth(5) else {
        return Cow::Borrowed(resource);
    };
    match rest.split_once('/') {
        Some((kind @ ("role" | "user"), path_and_name)) => match path_and_name.rsplit('/').next() {
            Some(name) if !name.is_empty() => Cow::Owned(format!("{kind} {name}")),
            _ => Cow::Borrowed(resource),
        },
        _ => Cow::Borrowed(resource),
    }
}

/// The service's answer to a missing (`""`) or unknown `Action`.
pub fn unknown_action(action: &str, service: Service) -> QueryError {
    let (code, message) = match (service, action) {
        (Service::Ec2, "") => (
            "MissingAction",
            "The request must contain the parameter Action".to_string(),
        ),
        (Service::Ec2, other) => (
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        ),
        (_, "") => ("MissingAction", "Missing Action".to_string()),
        (_, other) => (
            "InvalidAction",
            format!(
                "Could not find operation {other} for version {}",
                service.version()
            ),
        ),
    };
    QueryError::new(StatusCode::BAD_REQUEST, code, message)
}

/// The action names a service's `fn dispatch(call…)` matches, read from its source `src`
/// (for the tests that keep each service's `ACTIONS` list equal to its dispatch).
#[cfg(test)]
pub(crate) fn dispatch_arms(src: &str) -> Vec<&str> {
    let body = &src[src.find("fn dispatch(call").expect("a dispatch function")..];
    let body = &body[..body.find("\n}\n").expect("the end of dispatch")];
    body.lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.split_once("\" =>"))
        .map(|(name, _)| name)
        .collect()
}

/// Why a page could not be cut: the page size or the token the client sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PageError {
    /// The page size is not a number within the action's range.
    Size,
    /// The token is not one this server handed out for this listing.
    Token,
}

/// One page of `items`: at most `size` (given or `default`, within `range`) from the offset a
/// previous page's token names (`token`), and the token of the next page when more remain.
/// Tokens are plain offsets, as IAM's `Marker` here has always been.
pub(crate) fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    size: Option<&str>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(Vec<T>, Option<String>), PageError> {
    let start: usize = match token {
        None => 0,
        // An offset past the end (items deleted since) is an empty last page.
        Some(t) => t.parse().map_err(|_| PageError::Token)?,
    };
    let max: usize = match size {
        None => default,
        Some(m) => m
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(PageError::Size)?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + max < total).then(|| (start + max).to_string());
    Ok((out, next))
}

/// A required parameter, or the service's missing-parameter error.
pub fn required<'p>(
    params: &'p Params,
    name: &str,
    service: Service,
) -> Result<&'p str, QueryError> {
    match params.get(name) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(match service {
            Service::Ec2 => QueryError::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            ),
            _ => QueryError::new(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_first(name)
                ),
            ),
        }),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{unknown_action, Service};

    /// Each service answers a missing or unknown action in its own words: EC2's
    /// `InvalidAction` names the action, IAM's and Auto Scaling's name the API version too.
    #[test]
    fn unknown_actions_in_each_services_words() {
        let answer = |a: &str, s: Service| {
            let e = unknown_action(a, s);
            (e.status.as_u16(), e.code.to_string(), e.message.to_string())
        };
        assert_eq!(
            answer("", Service::Ec2),
            (
                400,
                "MissingAction".into(),
                "The request must contain the parameter Action".into()
            )
        );
        assert_eq!(
            answer("Frobnicate", Service::Ec2),
            (
                400,
                "InvalidAction".into(),
                "The action Frobnicate is not valid for this web service.".into()
            )
        );
        for (s, version) in [
            (Service::Iam, "2010-05-08"),
            (Service::AutoScaling, "2011-01-01"),
        ] {
            assert_eq!(
                answer("", s),
                (400, "MissingAction".into(), "Missing Action".into())
            );
            assert_eq!(
                answer("Frobnicate", s),
                (
                    400,
                    "InvalidAction".into(),
                    format!("Could not find operation Frobnicate for version {version}")
                )
            );
        }
    }
}
