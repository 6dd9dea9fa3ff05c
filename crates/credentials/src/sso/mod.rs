//! IAM Identity Center (SSO) on the client side, as the AWS CLI v2 does it
//! (`docs/spec/process-and-sso.md` §2–§3):
//!
//! * [`SsoProvider`] — the `sso` credential provider: the cached access token, its refresh
//!   through SSO-OIDC `CreateToken` (sso-session configurations), and the portal's
//!   `GetRoleCredentials`.
//! * [`SsoLogin`] — `aws sso login`: the client registration ([`oidc`]), the device
//!   authorization flow ([`device`]) or the authorization code flow with PKCE ([`pkce`]) and
//!   its loopback redirect listener ([`callback`]), then the token file the provider reads.
//! * [`logout`] — `aws sso logout`.
//! * [`Portal`] — the portal's account and role listings (`configure sso`).
//!
//! What the user sees — the instructions, the browser, the page shown after the redirect — is
//! the CLI crate's: a login talks to the user only through [`LoginUi`]. Endpoints, the HTTP
//! transport and the cache directories come from [`Services`](crate::services::Services),
//! exactly as the other providers use them. Nothing here prints or logs a token or secret.

pub mod callback;
mod config;
pub mod device;
mod login;
mod logout;
pub mod oidc;
pub mod pkce;
pub mod portal;
mod provider;
mod rest_json;
#[cfg(test)]
mod test_support;

pub use config::{parse_scopes, LoginConfig};
pub use login::{Authorization, LoginError, LoginOptions, LoginResult, LoginUi, SsoLogin};
pub use logout::{logout, logout_session, LogoutReport};
pub use portal::{Account, Portal, PortalError};
pub use provider::SsoProvider;
pub(crate) use rest_json::{join, rest_json_error};
