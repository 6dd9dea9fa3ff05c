//! Federation sections: OIDC identity providers and pre-issued sessions.

use std::collections::HashMap;

use super::*;
use crate::policy::parse_date;

pub(super) fn oidc_providers(
    ctx: &Ctx,
    raw: Vec<RawOidcProvider>,
) -> Result<Vec<OidcProvider>, InvalidEntry> {
    let mut out = Vec::new();
    for (i, o) in raw.into_iter().enumerate() {
        let at = At::entry("oidc_providers", i, &o.url);
        ctx.known_account(&at, &o.account)?;
        let host_path = o
            .url
            .strip_prefix("https://")
            .ok_or_else(|| at.msg("url must start with https://"))?
            .trim_end_matches('/')
            .to_string();
        if host_path.is_empty() {
            return Err(at.msg("url has no host"));
        }
        if o.client_ids.is_empty() {
            return Err(at.msg("client_ids must not be empty"));
        }
        let mut keys = Vec::new();
        for (k, key) in o.keys.iter().enumerate() {
            let at = at.field(format!("keys[{k}] \"{}\"", key.kid));
            let parsed = match (&key.private_key_pem, &key.n, &key.e) {
                (Some(pem), None, None) => RsaKey::from_private_pem(&key.kid, pem),
                (None, Some(n), Some(e)) => RsaKey::from_jwk(&key.kid, n, e),
                _ => Err("give either private_key_pem or both n and e".into()),
            }
            .map_err(|m| at.msg(m))?;
            keys.push(parsed);
        }
        if keys.is_empty() {
            return Err(at.msg("keys must not be empty"));
        }
        out.push(OidcProvider {
            arn: format!(
                "arn:{}:iam::{}:oidc-provider/{host_path}",
                ctx.partition, o.account
            ),
            account: o.account,
            url: o.url,
            host_path,
            client_ids: o.client_ids,
            keys,
        });
    }
    Ok(out)
}

pub(super) fn sessions(
    raw: Vec<RawSession>,
    users: &[User],
    roles_by_arn: &HashMap<String, usize>,
) -> Result<Vec<PreIssuedSession>, InvalidEntry> {
    let mut sessions = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let at = At::entry("sessions", i, &s.access_key_id);
        if s.secret_access_key.is_empty() || s.session_token.is_empty() {
            return Err(at.msg("secret_access_key and session_token must not be empty"));
        }
        let principal = if let Some(u) = users.iter().position(|u| u.arn == s.principal) {
            SessionPrincipal::User(u)
        } else if let Some(r) = roles_by_arn.get(&s.principal) {
            let name = s
                .session_name
                .clone()
                .ok_or_else(|| at.msg("a role session needs session_name"))?;
            SessionPrincipal::Role(*r, name)
        } else {
            return Err(at.field("principal").msg(format!(
                "\"{}\" is not a user or role ARN of this world",
                s.principal
            )));
        };
        let expires = match &s.expires {
            None => None,
            Some(t) => Some(
                parse_date(t)
                    .ok_or_else(|| at.msg(format!("expires \"{t}\" is not a date")))?
                    .unix_timestamp(),
            ),
        };
        sessions.push(PreIssuedSession {
            access_key_id: s.access_key_id,
            secret: s.secret_access_key,
            session_token: s.session_token,
            principal,
            expires,
            mfa: s.mfa,
        });
    }
    Ok(sessions)
}
