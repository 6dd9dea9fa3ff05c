//! The request side of an authorization question: who asks, for what, and the context keys.

use std::borrow::Cow;

/// What kind of caller a [`Principal`] is (the `aws:PrincipalType` values plus services and
/// web-identity callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root user.
    Root,
    /// An IAM user (long-term keys or a GetSessionToken session of the user).
    User,
    /// A role session (`assumed-role/<role>/<session>`).
    AssumedRole,
    /// A GetFederationToken session.
    FederatedUser,
    /// An AWS service acting on its own behalf (`ec2.amazonaws.com`, …).
    Service,
    /// A caller holding a web-identity (OIDC) token from a federated provider.
    WebIdentity,
    /// Nobody (unsigned request).
    Anonymous,
}

/// The caller of a request, with every identifier a `Principal` element could name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The kind of caller.
    pub kind: PrincipalKind,
    /// The caller's 12-digit account, for AWS principals.
    pub account: Option<String>,
    /// The caller's own ARN: user ARN, role-session ARN, federated-user ARN, root ARN; for a
    /// service its name, for a web-identity caller the provider.
    pub arn: String,
    /// For a role session: the role's ARN (`arn:aws:iam::<acct>:role/<path><name>`).
    pub role_arn: Option<String>,
}

impl Principal {
    /// An AWS service principal such as `ec2.amazonaws.com`.
    pub fn service(name: &str) -> Principal {
        Principal {
            kind: PrincipalKind::Service,
            account: None,
            arn: name.to_string(),
            role_arn: None,
        }
    }

    /// A web-identity caller whose token came from `provider` (an `oidc-provider` ARN or a
    /// well-known provider name).
    pub fn web_identity(provider: &str) -> Principal {
        Principal {
            kind: PrincipalKind::WebIdentity,
            account: None,
            arn: provider.to_string(),
            role_arn: None,
        }
    }

    /// An IAM user.
    pub fn user(account: &str, arn: &str) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            account: Some(account.to_string()),
            arn: arn.to_string(),
            role_arn: None,
        }
    }

    /// A session of a role.
    pub fn assumed_role(account: &str, session_arn: &str, role_arn: &str) -> Principal {
        Principal {
            kind: PrincipalKind::AssumedRole,
            account: Some(account.to_string()),
            arn: session_arn.to_string(),
            role_arn: Some(role_arn.to_string()),
        }
    }

    /// Whether this is an AWS (account-owned) principal, the kind an `"AWS"` principal names.
    pub fn is_aws(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole
                | PrincipalKind::FederatedUser
        )
    }
}

/// A context key's value: one string, or a set (multi-valued keys such as `aws:TagKeys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextValue {
    /// A single value.
    Single(String),
    /// A set of values (possibly empty).
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice (one element for a single value).
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(v) => v,
        }
    }
}

/// Context keys of a request; key names are case-insensitive (ASCII).
///
/// A request has a dozen or two keys, so they are kept in a vector and found by a scan that
/// compares lengths first: no hashing, and a key named by a literal is stored without a copy.
#[derive(Clone, Debug, Default)]
pub struct Context {
    keys: Vec<(Cow<'static, str>, ContextValue)>,
}

impl PartialEq for Context {
    fn eq(&self, other: &Context) -> bool {
        self.keys.len() == other.keys.len()
            && self
                .keys
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o == v))
    }
}

impl Eq for Context {}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context with room for `n` keys (a request's base context sets about a dozen).
    pub fn with_capacity(n: usize) -> Context {
        Context {
            keys: Vec::with_capacity(n),
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.keys
            .iter()
            .position(|(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key))
    }

    fn insert(&mut self, key: Cow<'static, str>, value: ContextValue) {
        match self.position(&key) {
            Some(i) => self.keys[i] = (key, value),
            None => self.keys.push((key, value)),
        }
    }

    /// Sets a single-valued key (replacing any previous value, whatever its case).
    pub fn set(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> &mut Context {
        self.insert(key.into(), ContextValue::Single(value.into()));
        self
    }

    /// Sets a multi-valued key.
    pub fn set_multi(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        values: Vec<String>,
    ) -> &mut Context {
        self.insert(key.into(), ContextValue::Multi(values));
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> &mut Context {
        if let Some(i) = self.position(key) {
            self.keys.remove(i);
        }
        self
    }

    /// Looks a key up, ignoring case.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.position(key).map(|i| &self.keys[i].1)
    }

    /// The keys and their values, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.keys.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The single value of a key (the first of a set), for policy-variable substitution.
    pub fn single(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            ContextValue::Single(v) => Some(v),
            ContextValue::Multi(_) => None,
        }
    }
}

/// One authorization question: principal, action, resource, context.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// `service:Operation`, e.g. `sts:AssumeRole`.
    pub action: &'a str,
    /// The resource ARN (for AssumeRole: the role ARN).
    pub resource: &'a str,
    /// The context keys.
    pub context: &'a Context,
}
