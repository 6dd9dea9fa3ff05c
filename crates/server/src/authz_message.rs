//! The encoded authorization failure message of EC2's `UnauthorizedOperation` and its
//! decoding by STS `DecodeAuthorizationMessage`.
//!
//! The message is the decision in the shape `DecodeAuthorizationMessage` returns (`allowed`,
//! `explicitDeny`, `matchedStatements`, `failures`, and the request's `context`: principal,
//! action, resource and condition keys), sealed with the world's master key
//! ([`Issuer::seal_blob`]) so only the server can read it, and written in unpadded base64url.
//! The sealed blob also names the account, since only that account may decode it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::issuer::Issuer;
use crate::policy::Context;

/// The purpose the messages are sealed for (a blob sealed for another purpose never opens).
const PURPOSE: &str = "authorization-message";

/// What a refused request was.
pub struct Refusal<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The caller's `UserId` (`AIDA…`, `AROA…:session`).
    pub user_id: &'a str,
    /// The caller's ARN.
    pub arn: &'a str,
    /// The action (`ec2:RunInstances`).
    pub action: &'a str,
    /// The resource evaluated.
    pub resource: &'a str,
    /// Whether an explicit deny decided.
    pub explicit_deny: bool,
    /// The request's condition keys.
    pub context: &'a Context,
}

/// The encoded message of `refusal`, as EC2 appends it to `UnauthorizedOperation`.
pub fn encode(issuer: &Issuer, refusal: &Refusal<'_>) -> String {
    let mut principal = json!({"id": refusal.user_id, "arn": refusal.arn});
    if let Some((_, name)) = refusal.arn.split_once(":user/") {
        let name = name.rsplit('/').next().unwrap_or(name);
        principal["name"] = Value::from(name);
    }
    let conditions: Vec<Value> = refusal
        .context
        .iter()
        .map(|(key, value)| {
            let values: Vec<Value> = value
                .values()
                .iter()
                .map(|v| json!({ "value": v }))
                .collect();
            json!({"key": key, "values": {"items": values}})
        })
        .collect();
    let decoded = json!({
        "allowed": false,
        "explicitDeny": refusal.explicit_deny,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": principal,
            "action": refusal.action,
            "resource": refusal.resource,
            "conditions": {"items": conditions},
        },
    });
    let sealed = json!({"account": refusal.account, "decoded": decoded.to_string()});
    URL_SAFE_NO_PAD.encode(issuer.seal_blob(PURPOSE, sealed.to_string().as_bytes()))
}

/// Why a message cannot be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not a message this server sealed (or altered, or sealed by a key it no longer has).
    Invalid,
    /// A message of another account's request.
    OtherAccount,
}

/// The decoded message (a JSON document) of `encoded`, for a caller of `account`.
pub fn decode(issuer: &Issuer, encoded: &str, account: &str) -> Result<String, DecodeError> {
    let sealed = URL_SAFE_NO_PAD
        .decode(encoded.trim())
        .map_err(|_| DecodeError::Invalid)?;
    let opened = issuer
        .open_blob(PURPOSE, &sealed)
        .ok_or(DecodeError::Invalid)?;
    let v: Value = serde_json::from_slice(&opened).map_err(|_| DecodeError::Invalid)?;
    if v["account"].as_str() != Some(account) {
        return Err(DecodeError::OtherAccount);
    }
    v["decoded"]
        .as_str()
        .map(str::to_string)
        .ok_or(DecodeError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal<'a>(ctx: &'a Context, arn: &'a str) -> Refusal<'a> {
        Refusal {
            account: "123456789012",
            user_id: "AIDAEXAMPLE",
            arn,
            action: "ec2:RunInstances",
            resource: "arn:aws:ec2:us-east-1:123456789012:instance/*",
            explicit_deny: false,
            context: ctx,
        }
    }

    #[test]
    fn a_message_decodes_for_its_account_only_and_names_the_request() {
        let issuer = Issuer::new([7u8; 32], &[]);
        let mut ctx = Context::new();
        ctx.set("aws:username", "bob")
            .set_multi("aws:TagKeys", vec!["a".into(), "b".into()]);
        let arn = "arn:aws:iam::123456789012:user/team/bob";
        let encoded = encode(&issuer, &refusal(&ctx, arn));
        assert!(!encoded.contains("RunInstances"), "opaque");
        let decoded: Value =
            serde_json::from_str(&decode(&issuer, &encoded, "123456789012").unwrap()).unwrap();
        assert_eq!(decoded["allowed"], false);
        assert_eq!(decoded["explicitDeny"], false);
        assert_eq!(decoded["context"]["action"], "ec2:RunInstances");
        assert_eq!(decoded["context"]["principal"]["arn"], arn);
        assert_eq!(decoded["context"]["principal"]["name"], "bob");
        assert_eq!(decoded["context"]["principal"]["id"], "AIDAEXAMPLE");
        assert_eq!(
            decoded["context"]["conditions"]["items"][1],
            json!({"key": "aws:TagKeys", "values": {"items": [{"value": "a"}, {"value": "b"}]}})
        );
        assert_eq!(
            decode(&issuer, &encoded, "210987654321"),
            Err(DecodeError::OtherAccount)
        );
        // Another server's key, a changed character, garbage: all invalid.
        assert_eq!(
            decode(&Issuer::new([8u8; 32], &[]), &encoded, "123456789012"),
            Err(DecodeError::Invalid)
        );
        let mut changed = encoded.clone().into_bytes();
        changed[30] = if changed[30] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(
            decode(&issuer, &changed, "123456789012"),
            Err(DecodeError::Invalid)
        );
        for bad in ["", "not base64 !", "QUJD"] {
            assert_eq!(
                decode(&issuer, bad, "123456789012"),
                Err(DecodeError::Invalid)
            );
        }
    }

    #[test]
    fn a_role_session_has_no_name() {
        let issuer = Issuer::new([7u8; 32], &[]);
        let ctx = Context::new();
        let arn = "arn:aws:sts::123456789012:assumed-role/r/s";
        let encoded = encode(&issuer, &refusal(&ctx, arn));
        let decoded: Value =
            serde_json::from_str(&decode(&issuer, &encoded, "123456789012").unwrap()).unwrap();
        assert!(decoded["context"]["principal"].get("name").is_none());
    }
}
