//! The portal's listing operations `configure sso` uses: `ListAccounts` and
//! `ListAccountRoles` (`GET /assignment/accounts`, `GET /assignment/roles`), every page
//! followed as botocore's paginator does (`nextToken` until it is absent or empty).

use serde_json::Value;

use super::rest_json::{join, send};
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::services::Services;
use crate::CredentialsError;

/// One account of `ListAccounts` (name and e-mail may be missing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `accountId`.
    pub id: String,
    /// `accountName`.
    pub name: Option<String>,
    /// `emailAddress`.
    pub email: Option<String>,
}

impl Account {
    /// v2's `display_account`: `name, email (id)`, fewer parts when some are missing.
    pub fn display(&self) -> String {
        match (&self.name, &self.email) {
            (Some(n), Some(e)) => format!("{n}, {e} ({})", self.id),
            (Some(n), None) => format!("{n} ({})", self.id),
            (None, Some(e)) => format!("{e} ({})", self.id),
            (None, None) => self.id.clone(),
        }
    }

    /// v2's `get_account_sorting_key`: accounts with a name or e-mail first, then by the first
    /// of name, e-mail, id, lower-cased.
    pub fn sort_key(&self) -> (bool, String) {
        let only_id = self.name.is_none() && self.email.is_none();
        let first = self
            .name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.id);
        (only_id, first.to_lowercase())
    }
}

/// Errors of the listing calls: `UnauthorizedException` is kept apart (v2 then skips the
/// account and role questions).
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The token was refused (`UnauthorizedException`).
    #[error("The SSO access token was refused: {0}")]
    Unauthorized(String),
    /// Anything else.
    #[error(transparent)]
    Other(#[from] CredentialsError),
}

/// The portal of one SSO region, called with one access token.
pub struct Portal<'a> {
    services: &'a Services,
    region: &'a str,
    token: &'a str,
}

impl std::fmt::Debug for Portal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("region", &self.region)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl<'a> Portal<'a> {
    /// The portal of `region`, called with `token`.
    pub fn new(services: &'a Services, region: &'a str, token: &'a str) -> Portal<'a> {
        Portal {
            services,
            region,
            token,
        }
    }

    /// Every account the token's user can reach, in the service's order.
    pub fn list_accounts(&self) -> Result<Vec<Account>, PortalError> {
        let items = self.pages("/assignment/accounts", &[], "ListAccounts", "accountList")?;
        Ok(items
            .iter()
            .filter_map(|a| {
                let text = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
                Some(Account {
                    id: text("accountId")?,
                    name: text("accountName"),
                    email: text("emailAddress"),
                })
            })
            .collect())
    }

    /// The role names the user has in `account_id`, in the service's order.
    pub fn list_account_roles(&self, account_id: &str) -> Result<Vec<String>, PortalError> {
        let items = self.pages(
            "/assignment/roles",
            &[("account_id", account_id)],
            "ListAccountRoles",
            "roleList",
        )?;
        Ok(items
            .iter()
            .filter_map(|r| r.get("roleName").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }

    fn pages(
        &self,
        path: &str,
        query: &[(&str, &str)],
        operation: &str,
        list: &str,
    ) -> Result<Vec<Value>, PortalError> {
        let endpoint = self.services.endpoint(Service::Sso, Some(self.region))?;
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut params: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::sts::encode(v)))
                .collect();
            if let Some(t) = &next {
                params.push(format!("next_token={}", crate::sts::encode(t)));
            }
            let mut url = join(&endpoint.url, path);
            if !params.is_empty() {
                url = format!("{url}?{}", params.join("&"));
            }
            let build = || {
                HttpRequest::new("GET", url.clone())
                    .header("x-amz-sso_bearer_token", self.token)
                    .header("User-Agent", crate::user_agent())
            };
            let resp = match send(self.services, operation, build) {
                Err(CredentialsError::Service(e)) if e.code == "UnauthorizedException" => {
                    return Err(PortalError::Unauthorized(e.message))
                }
                other => other?,
            };
            let body: Value =
                serde_json::from_slice(&resp.body).map_err(|e| CredentialsError::BadResponse {
                    url: url.clone(),
                    message: e.to_string(),
                })?;
            if let Some(items) = body.get(list).and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            next = body
                .get("nextToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if next.is_none() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: Option<&str>, email: Option<&str>) -> Account {
        Account {
            id: id.into(),
            name: name.map(Into::into),
            email: email.map(Into::into),
        }
    }

    #[test]
    fn display_and_sorting_as_v2() {
        let full = account("111122223333", Some("Dev"), Some("d@example.com"));
        assert_eq!(full.display(), "Dev, d@example.com (111122223333)");
        assert_eq!(account("1", Some("N"), None).display(), "N (1)");
        assert_eq!(account("1", None, Some("e@x")).display(), "e@x (1)");
        assert_eq!(account("1", None, None).display(), "1");
        let mut list = [
            account("9", None, None),
            account("2", Some("prod"), None),
            account("3", None, Some("Alpha@x")),
            account("1", Some("Dev"), None),
        ];
        list.sort_by_key(Account::sort_key);
        let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["3", "1", "2", "9"]);
    }
}
