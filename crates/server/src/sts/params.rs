//! Query-protocol parameters: form decoding, the `member.N` list encoding, and the model's
//! constraints reported as one `ValidationError` in the service's exact wording.

use std::collections::BTreeMap;

use super::xml::StsError;

/// Decoded request parameters (query string and form body together).
#[derive(Clone, Debug, Default)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub fn decode_form(text: &str, into: &mut BTreeMap<String, String>) {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            if !s.bytes().any(|b| b == b'+' || b == b'%') {
                // Nothing to decode (the common case): one copy instead of three passes.
                return s.to_owned();
            }
            let spaced = if s.contains('+') {
                std::borrow::Cow::Owned(s.replace('+', " "))
            } else {
                std::borrow::Cow::Borrowed(s)
            };
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned()
        };
        into.insert(dec(k), dec(v));
    }
}

impl Params {
    /// Parameters from a raw query string and a form body.
    pub fn parse(query: &str, form_body: Option<&str>) -> Params {
        let mut map = BTreeMap::new();
        decode_form(query, &mut map);
        if let Some(body) = form_body {
            decode_form(body, &mut map);
        }
        Params { map }
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// `Name.member.1`, `Name.member.2`, … (an empty `Name=` is an empty list).
    pub fn list(&self, name: &str) -> Vec<&str> {
        if !self.has_dotted(name) {
            // No `Name.` parameter at all (the common case): no key to format.
            return Vec::new();
        }
        (1..)
            .map_while(|i| self.get(&format!("{name}.member.{i}")))
            .collect()
    }

    /// `Name.1`, `Name.2`, … (the EC2 protocol's flattened lists).
    pub fn flat_list(&self, name: &str) -> Vec<&str> {
        (1..)
            .map_while(|i| self.get(&format!("{name}.{i}")))
            .collect()
    }

    /// Whether any parameter starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        use std::ops::Bound;
        self.map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    /// Whether any parameter is named `Name.…` (a list or structure member of `name`);
    /// checked before formatting member names, without allocating.
    fn has_dotted(&self, name: &str) -> bool {
        use std::ops::Bound;
        self.map
            .range::<str, _>((Bound::Included(name), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(name))
            .any(|(k, _)| k.as_bytes().get(name.len()) == Some(&b'.'))
    }

    /// The `field` of each structure in the list `Name` (`Name.member.N.field`), in order.
    /// A member given without its field (`Name.member.N=…` or another field only) is `None`,
    /// so the caller can report it instead of dropping it.
    pub fn struct_field(&self, name: &str, field: &str) -> Vec<Option<&str>> {
        if !self.has_dotted(name) {
            return Vec::new();
        }
        let prefix = format!("{name}.member.");
        let mut indexes: Vec<usize> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| {
                let rest = &k[prefix.len()..];
                let n = rest.split('.').next().unwrap_or(rest);
                n.parse().ok().filter(|&n: &usize| n >= 1)
            })
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        // Members are numbered from 1 without gaps; a list that skips a number ends there.
        let count = indexes
            .iter()
            .enumerate()
            .take_while(|(i, n)| **n == i + 1)
            .count();
        (1..=count)
            .map(|i| self.get(&format!("{prefix}{i}.{field}")))
            .collect()
    }

    /// Names of the parameters under `Name.` that are not `Name.member.N.field` for the members
    /// [`Params::struct_field`] returns (misspelt fields, gaps, non-numeric indexes).
    pub fn stray_members(&self, name: &str, field: &str) -> Vec<&str> {
        if !self.has_dotted(name) {
            return Vec::new();
        }
        let count = self.struct_field(name, field).len();
        let dotted = format!("{name}.");
        self.map
            .range(dotted.clone()..)
            .take_while(|(k, _)| k.starts_with(&dotted))
            .map(|(k, _)| k.as_str())
            .filter(|k| {
                let ok = (1..=count).any(|i| *k == format!("{name}.member.{i}.{field}"));
                !ok
            })
            .collect()
    }

    /// `Name.member.N.Key` / `.Value` pairs.
    pub fn tags(&self, name: &str) -> Vec<(String, String)> {
        if !self.has_dotted(name) {
            return Vec::new();
        }
        (1..)
            .map_while(|i| {
                let k = self.get(&format!("{name}.member.{i}.Key"))?;
                let v = self.get(&format!("{name}.member.{i}.Value")).unwrap_or("");
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    }
}

/// Collects constraint violations in the order found.
#[derive(Default)]
pub struct Violations(Vec<String>);

/// Character classes of the model's patterns.
#[derive(Clone, Copy)]
pub enum Pattern {
    /// `[\w+=,.@-]*`
    SessionName,
    /// `[\w+=,.@:/-]*`
    ExternalId,
    /// `[\w+=/:,.@-]*`
    Serial,
    /// `[\d]*`
    Digits,
    /// `[\w]*`
    Word,
}

impl Pattern {
    fn text(self) -> &'static str {
        match self {
            Pattern::SessionName => r"[\w+=,.@-]*",
            Pattern::ExternalId => r"[\w+=,.@:/-]*",
            Pattern::Serial => r"[\w+=/:,.@-]*",
            Pattern::Digits => r"[\d]*",
            Pattern::Word => r"[\w]*",
        }
    }

    fn matches(self, v: &str) -> bool {
        let extra: &[u8] = match self {
            Pattern::SessionName => b"+=,.@-",
            Pattern::ExternalId => b"+=,.@:/-",
            Pattern::Serial => b"+=/:,.@-",
            Pattern::Digits => return v.bytes().all(|b| b.is_ascii_digit()),
            Pattern::Word => b"",
        };
        v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b))
    }
}

impl Violations {
    fn push(&mut self, value: Option<&str>, member: &str, constraint: String) {
        let shown = match value {
            Some(v) => format!("Value '{v}'"),
            None => "Value null".to_string(),
        };
        self.0.push(format!(
            "{shown} at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Checks a string parameter: presence, length in characters and pattern.
    pub fn string(
        &mut self,
        value: Option<&str>,
        member: &str,
        required: bool,
        len: (usize, usize),
        pattern: Option<Pattern>,
    ) {
        let Some(v) = value else {
            if required {
                self.push(None, member, "Member must not be null".into());
            }
            return;
        };
        let n = v.chars().count();
        if n < len.0 {
            self.push(
                Some(v),
                member,
                format!("Member must have length greater than or equal to {}", len.0),
            );
        }
        if n > len.1 {
            self.push(
                Some(v),
                member,
                format!("Member must have length less than or equal to {}", len.1),
            );
        }
        if let Some(p) = pattern {
            if !p.matches(v) {
                self.push(
                    Some(v),
                    member,
                    format!(
                        "Member must satisfy regular expression pattern: {}",
                        p.text()
                    ),
                );
            }
        }
    }

    /// Checks an integer parameter against a range; returns the value when it is an integer.
    pub fn integer(&mut self, value: Option<&str>, member: &str, range: (i64, i64)) -> Option<i64> {
        let v = value?;
        let Ok(n) = v.trim().parse::<i64>() else {
            self.push(Some(v), member, "Member must be an integer".into());
            return None;
        };
        if n < range.0 {
            self.push(
                Some(v),
                member,
                format!(
                    "Member must have value greater than or equal to {}",
                    range.0
                ),
            );
        } else if n > range.1 {
            self.push(
                Some(v),
                member,
                format!("Member must have value less than or equal to {}", range.1),
            );
        }
        Some(n)
    }

    /// Adds a free-form violation.
    pub fn other(&mut self, value: &str, member: &str, constraint: &str) {
        self.push(Some(value), member, constraint.to_string());
    }

    /// `Err(ValidationError)` listing every violation, or `Ok`.
    pub fn finish(self) -> Result<(), StsError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(StsError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(StsError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let mut m = BTreeMap::new();
        decode_form(
            "Plain=abc&Plus=a+b&Pct=a%2Bb%20c&Both=x+%2F+y&Bad=%FF%41&Key%3D=v&Empty=&NoEq&&",
            &mut m,
        );
        let get = |k: &str| m.get(k).map(String::as_str);
        assert_eq!(get("Plain"), Some("abc"));
        assert_eq!(get("Plus"), Some("a b"));
        assert_eq!(get("Pct"), Some("a+b c"));
        assert_eq!(get("Both"), Some("x / y"));
        assert_eq!(get("Bad"), Some("\u{fffd}A"));
        assert_eq!(get("Key="), Some("v"));
        assert_eq!(get("Empty"), Some(""));
        assert_eq!(get("NoEq"), Some(""));
        assert_eq!(m.len(), 8);
    }

    #[test]
    fn observed_message_format() {
        let mut v = Violations::default();
        v.string(
            Some("PowerUser/hjacobs"),
            "roleSessionName",
            true,
            (2, 64),
            Some(Pattern::SessionName),
        );
        assert_eq!(
            v.finish().unwrap_err().message,
            r"1 validation error detected: Value 'PowerUser/hjacobs' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        );
        let mut v = Violations::default();
        v.string(None, "roleArn", true, (20, 2048), None);
        v.integer(Some("100"), "durationSeconds", (900, 43200));
        assert_eq!(
            v.finish().unwrap_err().message,
            "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
    }

    #[test]
    fn form_and_member_lists() {
        let p = Params::parse(
            "Action=AssumeRole",
            Some("RoleSessionName=a+b%2Fc&Tags.member.1.Key=k&Tags.member.1.Value=v&TransitiveTagKeys.member.1=k&PolicyArns="),
        );
        assert_eq!(p.get("Action"), Some("AssumeRole"));
        assert_eq!(p.get("RoleSessionName"), Some("a b/c"));
        assert_eq!(p.tags("Tags"), vec![("k".to_string(), "v".to_string())]);
        assert_eq!(p.list("TransitiveTagKeys"), vec!["k"]);
        assert!(p.list("PolicyArns").is_empty());
    }

    #[test]
    fn structure_lists_report_what_they_drop() {
        let p = Params::parse(
            "",
            Some("PolicyArns.member.1.arn=a&PolicyArns.member.2=b&PolicyArns.member.2.Arn=c&PolicyArns.member.4.arn=d&PolicyArns.member.x.arn=e&PolicyArns=f"),
        );
        assert_eq!(p.struct_field("PolicyArns", "arn"), vec![Some("a"), None]);
        assert_eq!(
            p.stray_members("PolicyArns", "arn"),
            vec![
                "PolicyArns.member.2",
                "PolicyArns.member.2.Arn",
                "PolicyArns.member.4.arn",
                "PolicyArns.member.x.arn"
            ]
        );
        let empty = Params::parse("", Some("PolicyArns="));
        assert!(empty.struct_field("PolicyArns", "arn").is_empty());
        assert!(empty.stray_members("PolicyArns", "arn").is_empty());
    }
}
