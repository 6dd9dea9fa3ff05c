//! Condition operators: parsing (unknown operators are errors) and evaluation with the
//! documented missing-key rules.

use std::net::IpAddr;

use serde_json::Value;
use time::OffsetDateTime;

use super::context::{Context, ContextValue};
use super::glob;
use super::template::Template;

/// Comparison of the numeric and date families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Eq => ord == Equal,
            Cmp::Lt => ord == Less,
            Cmp::Le => ord != Greater,
            Cmp::Gt => ord == Greater,
            Cmp::Ge => ord != Less,
        }
    }
}

/// The comparison an operator performs, before negation and qualifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// `ForAnyValue:` / `ForAllValues:` set qualifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetOp {
    Any,
    All,
}

/// A parsed condition operator such as `ForAllValues:StringNotLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Operator {
    family: Family,
    negated: bool,
    if_exists: bool,
    set: Option<SetOp>,
}

impl Operator {
    /// Parses an operator name; `None` for anything not in the IAM condition language.
    pub(super) fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOp::Any), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetOp::All), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let (family, negated) = match base {
            "StringEquals" => (Family::StringEquals, false),
            "StringNotEquals" => (Family::StringEquals, true),
            "StringEqualsIgnoreCase" => (Family::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Family::StringEqualsIgnoreCase, true),
            "StringLike" => (Family::StringLike, false),
            "StringNotLike" => (Family::StringLike, true),
            "NumericEquals" => (Family::Numeric(Cmp::Eq), false),
            "NumericNotEquals" => (Family::Numeric(Cmp::Eq), true),
            "NumericLessThan" => (Family::Numeric(Cmp::Lt), false),
            "NumericLessThanEquals" => (Family::Numeric(Cmp::Le), false),
            "NumericGreaterThan" => (Family::Numeric(Cmp::Gt), false),
            "NumericGreaterThanEquals" => (Family::Numeric(Cmp::Ge), false),
            "DateEquals" => (Family::Date(Cmp::Eq), false),
            "DateNotEquals" => (Family::Date(Cmp::Eq), true),
            "DateLessThan" => (Family::Date(Cmp::Lt), false),
            "DateLessThanEquals" => (Family::Date(Cmp::Le), false),
            "DateGreaterThan" => (Family::Date(Cmp::Gt), false),
            "DateGreaterThanEquals" => (Family::Date(Cmp::Ge), false),
            "Bool" => (Family::Bool, false),
            "BinaryEquals" => (Family::Binary, false),
            "IpAddress" => (Family::Ip, false),
            "NotIpAddress" => (Family::Ip, true),
            "ArnEquals" | "ArnLike" => (Family::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
            "Null" => (Family::Null, false),
            _ => return None,
        };
        if family == Family::Null && (if_exists || set.is_some()) {
            return None;
        }
        Some(Operator {
            family,
            negated,
            if_exists,
            set,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Values {
    Templates(Vec<Template>),
    Numbers(Vec<f64>),
    Dates(Vec<OffsetDateTime>),
    Bools(Vec<bool>),
    Binary(Vec<String>),
    Cidrs(Vec<Cidr>),
}

/// One `"<Operator>": { "<key>": <values> }` entry for a single key.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    op: Operator,
    operator_name: String,
    key: String,
    values: Values,
}

/// Parses a statement's `Condition` block into one [`Condition`] per operator and key.
pub(super) fn parse_block(block: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let Value::Object(ops) = block else {
        return Err("Condition must be an object".into());
    };
    let mut out = Vec::new();
    for (name, keys) in ops {
        let op = Operator::parse(name)
            .ok_or_else(|| format!("unknown condition operator \"{name}\""))?;
        let Value::Object(keys) = keys else {
            return Err(format!("Condition \"{name}\" must map keys to values"));
        };
        if keys.is_empty() {
            return Err(format!("Condition \"{name}\" has no keys"));
        }
        for (key, raw) in keys {
            let strings =
                scalar_list(raw).map_err(|e| format!("Condition \"{name}\" key \"{key}\": {e}"))?;
            let values = parse_values(op.family, &strings, variables)
                .map_err(|e| format!("Condition \"{name}\" key \"{key}\": {e}"))?;
            out.push(Condition {
                op,
                operator_name: name.clone(),
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(out)
}

fn scalar_list(raw: &Value) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("values must be strings, numbers or booleans".to_string()),
    };
    match raw {
        Value::Array(items) if items.is_empty() => Err("empty value list".into()),
        Value::Array(items) => items.iter().map(scalar).collect(),
        v => Ok(vec![scalar(v)?]),
    }
}

fn parse_values(family: Family, strings: &[String], variables: bool) -> Result<Values, String> {
    Ok(match family {
        Family::StringEquals
        | Family::StringEqualsIgnoreCase
        | Family::StringLike
        | Family::Arn => Values::Templates(
            strings
                .iter()
                .map(|s| Template::parse(s, variables))
                .collect(),
        ),
        Family::Numeric(_) => Values::Numbers(
            strings
                .iter()
                .map(|s| parse_number(s).ok_or_else(|| format!("\"{s}\" is not a number")))
                .collect::<Result<_, _>>()?,
        ),
        Family::Date(_) => Values::Dates(
            strings
                .iter()
                .map(|s| parse_date(s).ok_or_else(|| format!("\"{s}\" is not a date")))
                .collect::<Result<_, _>>()?,
        ),
        Family::Bool | Family::Null => Values::Bools(
            strings
                .iter()
                .map(|s| parse_bool(s).ok_or_else(|| format!("\"{s}\" is not true or false")))
                .collect::<Result<_, _>>()?,
        ),
        Family::Binary => Values::Binary(strings.to_vec()),
        Family::Ip => Values::Cidrs(
            strings
                .iter()
                .map(|s| {
                    Cidr::parse(s).ok_or_else(|| format!("\"{s}\" is not an IP address or CIDR"))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses ISO 8601 (`2026-11-23T06:00:00Z`, with offset or fraction, or a bare date) or epoch
/// seconds.
pub fn parse_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return OffsetDateTime::from_unix_timestamp(s.parse().ok()?).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &date_only)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// An IPv4 or IPv6 network; a bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d[/n]` or an IPv6 address with an optional prefix.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in this network (address families never mix).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl Condition {
    /// The operator as written in the policy.
    pub fn operator_name(&self) -> &str {
        &self.operator_name
    }

    /// The (lower-cased) context key this condition tests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Evaluates the condition against the request context.
    pub fn evaluate(&self, ctx: &Context) -> bool {
        let value = ctx.get(&self.key);
        if self.op.family == Family::Null {
            let absent = match value {
                None => true,
                Some(ContextValue::Multi(v)) => v.is_empty(),
                Some(ContextValue::Single(_)) => false,
            };
            let Values::Bools(wanted) = &self.values else {
                return false;
            };
            return wanted.contains(&absent);
        }
        let request_values = match value {
            Some(v) if !v.values().is_empty() => v.values(),
            _ => return self.missing_key_result(),
        };
        let predicate = |rv: &str| self.matches_any(rv, ctx) != self.op.negated;
        match self.op.set {
            Some(SetOp::All) => request_values.iter().all(|rv| predicate(rv)),
            Some(SetOp::Any) | None => request_values.iter().any(|rv| predicate(rv)),
        }
    }

    fn missing_key_result(&self) -> bool {
        if self.op.if_exists {
            return true;
        }
        match self.op.set {
            Some(SetOp::All) => true,
            Some(SetOp::Any) => false,
            None => self.op.negated,
        }
    }

    /// Whether one request value matches at least one policy value (positive sense).
    fn matches_any(&self, rv: &str, ctx: &Context) -> bool {
        match (&self.values, self.op.family) {
            (Values::Templates(ts), Family::StringEquals) => {
                ts.iter().any(|t| t.text(ctx).is_some_and(|p| p == rv))
            }
            (Values::Templates(ts), Family::StringEqualsIgnoreCase) => ts.iter().any(|t| {
                t.text(ctx)
                    .is_some_and(|p| p.to_lowercase() == rv.to_lowercase())
            }),
            (Values::Templates(ts), Family::StringLike) => ts
                .iter()
                .any(|t| t.pattern(ctx).is_some_and(|p| glob::matches(&p, rv, false))),
            (Values::Templates(ts), Family::Arn) => ts
                .iter()
                .any(|t| t.pattern(ctx).is_some_and(|p| glob::matches_arn(&p, rv))),
            (Values::Numbers(ns), Family::Numeric(cmp)) => parse_number(rv).is_some_and(|r| {
                ns.iter()
                    .any(|n| r.partial_cmp(n).is_some_and(|o| cmp.holds(o)))
            }),
            (Values::Dates(ds), Family::Date(cmp)) => {
                parse_date(rv).is_some_and(|r| ds.iter().any(|d| cmp.holds(r.cmp(d))))
            }
            (Values::Bools(bs), Family::Bool) => parse_bool(rv).is_some_and(|r| bs.contains(&r)),
            (Values::Binary(bs), Family::Binary) => bs.iter().any(|b| b == rv),
            (Values::Cidrs(cs), Family::Ip) => rv
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| cs.iter().any(|c| c.contains(ip))),
            _ => false,
        }
    }
}
