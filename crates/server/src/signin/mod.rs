//! AWS Sign-In on the API listener, told apart by path as the real host names tell it apart
//! (`docs/spec/signin-server.md`):
//!
//! * `aws login`: the authorization page (`/v1/authorize`, where a world IAM user signs in and
//!   allows the CLI), the cross-device confirmation page (`/v1/sessions/confirmation`) and
//!   `CreateOAuth2Token` (`POST /v1/token`) with its DPoP checks, PKCE, refresh-token rotation
//!   and the service's error codes;
//! * the console federation endpoint (`/federation`: `getSigninToken`, `login`) and the
//!   landing page it signs into (`/console`).
//!
//! Codes, refresh tokens and sign-in tokens are sealed by the issuer (any replica with the key
//! opens them); what must be single-use (codes, refresh tokens, DPoP proof ids, sign-in
//! tokens) is remembered in memory, bounded, until it would have expired anyway.

mod dpop;
mod errors;
pub mod federation;
mod grants;
mod pages;
mod token;

use std::sync::Arc;

use http::Method;

use crate::http::{HttpResponse, RequestData};
use crate::policy::{Evaluation, Principal, Request};
use crate::sso::flows::Flows;
use crate::state::State;
use crate::world::User;

/// The authorization page (`AuthorizeOAuth2Access`).
pub const AUTHORIZE: &str = "/v1/authorize";
/// `CreateOAuth2Token`.
pub const TOKEN: &str = "/v1/token";
/// The cross-device flow's redirect target: the page showing the verification code.
pub const CONFIRMATION: &str = "/v1/sessions/confirmation";
/// The console federation endpoint.
pub const FEDERATION: &str = "/federation";
/// Where a federation sign-in lands.
pub const CONSOLE: &str = "/console";

/// The client id of `aws login` on the machine with the browser.
pub const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
/// The client id of `aws login --remote`.
pub const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";

/// Longest a login session lasts from sign-in (the CLI refreshes "up to 12 hours").
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// Lifetime of the credentials of one access token (the model's `expiresIn` maximum).
pub const ACCESS_TOKEN_SECONDS: i64 = 900;

/// Which Sign-In endpoint a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET|POST /v1/authorize`.
    Authorize,
    /// `POST /v1/token`.
    Token,
    /// `GET /v1/sessions/confirmation`.
    Confirmation,
    /// `GET /federation`.
    Federation,
    /// `GET /console`.
    Console,
}

impl Endpoint {
    /// The endpoint at `path`, if it is a Sign-In path.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            AUTHORIZE => Endpoint::Authorize,
            TOKEN => Endpoint::Token,
            CONFIRMATION => Endpoint::Confirmation,
            FEDERATION => Endpoint::Federation,
            CONSOLE | "/console/" => Endpoint::Console,
            _ => return None,
        })
    }

    /// The operation's name for the call counters: the API operation, or the page.
    pub fn name(self, req: &RequestData) -> &'static str {
        match self {
            Endpoint::Authorize => "AuthorizeOAuth2Access",
            Endpoint::Token => "CreateOAuth2Token",
            Endpoint::Confirmation => "ConfirmationPage",
            Endpoint::Console => "ConsolePage",
            Endpoint::Federation => {
                let q = crate::sso::query(req);
                match crate::sso::pair(&q, "Action") {
                    Some("getSigninToken") => "GetSigninToken",
                    Some("login") => "Login",
                    _ => "Federation",
                }
            }
        }
    }
}

/// Sign-In over the shared state, with its single-use memory.
#[derive(Debug)]
pub struct SigninService {
    state: Arc<State>,
    spent: Flows,
}

impl SigninService {
    /// The service over `state`.
    pub fn new(state: Arc<State>) -> SigninService {
        SigninService {
            state,
            spent: Flows::default(),
        }
    }

    /// Answers a request for `endpoint`.
    pub fn handle(&self, endpoint: Endpoint, req: &RequestData) -> HttpResponse {
        match (endpoint, &req.method) {
            (Endpoint::Authorize, &Method::GET | &Method::POST) => pages::authorize(self, req),
            (Endpoint::Confirmation, &Method::GET) => pages::confirmation(req),
            (Endpoint::Token, &Method::POST) => token::create_oauth2_token(self, req),
            (Endpoint::Federation, &Method::GET | &Method::POST) => federation::endpoint(self, req),
            (Endpoint::Console, &Method::GET) => federation::console(self, req),
            (Endpoint::Token, _) => errors::SigninError::validation(format!(
                "{} is not supported on {TOKEN}",
                req.method
            ))
            .response(),
            _ => crate::web::page(
                crate::web::Product::SignIn,
                http::StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "<p>This page does not accept that request.</p>",
            ),
        }
    }

    fn now(&self) -> i64 {
        self.state.clock.now()
    }

    /// The world user with this ARN.
    fn user_by_arn(&self, arn: &str) -> Option<User> {
        self.state
            .world()
            .users
            .iter()
            .find(|u| u.arn == arn)
            .cloned()
    }

    /// Whether `user`'s identity policies allow `action` on the public-client resource, with
    /// the statement that decided.
    fn allowed(&self, user: &User, action: &str, mfa: bool) -> Evaluation {
        let world = self.state.world();
        let settings = &world.settings;
        let resource = format!(
            "arn:{}:signin:{}:{}:oauth2/public-client/localhost",
            settings.partition, settings.region, user.account
        );
        let principal = Principal::user(&user.account, &user.arn);
        let mut ctx = crate::state::context_at(self.now());
        ctx.set("aws:PrincipalType", "User")
            .set("aws:PrincipalArn", user.arn.clone())
            .set("aws:PrincipalAccount", user.account.clone())
            .set("aws:username", user.name.clone())
            .set("aws:userid", user.id.clone())
            .set(
                "aws:MultiFactorAuthPresent",
                if mfa { "true" } else { "false" },
            );
        for (k, v) in &user.tags {
            ctx.set(format!("aws:PrincipalTag/{k}"), v.clone());
        }
        let identity: Vec<&crate::policy::Policy> = user.policies.iter().collect();
        crate::policy::authorize_action(
            &identity,
            None,
            &[],
            &Request {
                principal: &principal,
                action,
                resource: &resource,
                context: &ctx,
            },
        )
    }
}

/// What decided a denial, for the page that explains it (never a secret).
fn explain(e: &Evaluation, action: &str) -> String {
    match (&e.decision, &e.decided_by) {
        (crate::policy::Decision::ExplicitDeny, Some((p, s, sid))) => format!(
            "An explicit Deny in identity policy {} (statement {}{}) denies {action}.",
            p + 1,
            s + 1,
            sid.as_deref()
                .map(|s| format!(", Sid {s}"))
                .unwrap_or_default()
        ),
        _ => format!("No identity policy of this user allows {action}."),
    }
}

#[cfg(test)]
mod tests;
