//! `aws login` on the client side, as the AWS CLI v2 (2.32.0+) does it
//! (`docs/spec/login.md`):
//!
//! * [`LoginProvider`] — the `login` credential provider of profiles with `login_session`: the
//!   cached access token's credentials, refreshed through AWS Sign-In's `CreateOAuth2Token`
//!   with a DPoP proof when fewer than five minutes remain, the rotated refresh token written
//!   back under the per-entry lock of [`crate::single_flight`].
//! * [`LoginCache`] / [`LoginToken`] — the token files in `~/.aws/login/cache` (or
//!   `AWS_LOGIN_CACHE_DIRECTORY`), named by the SHA-256 of the session ARN, in the CLI's layout.
//! * [`DpopKey`] — the P-256 key a login session is bound to and its ES256 DPoP proofs
//!   (RFC 9449), stored in the token file as a SEC1 PEM.
//! * [`flow`] — the login itself: the authorization request (PKCE), the code exchange and
//!   the cross-device verification code. What the user sees is the caller's.
//!
//! Nothing here prints or logs a key, token or secret.

mod cache;
mod client;
mod dpop;
mod error;
pub mod flow;
mod provider;

pub use cache::{cache_dir, cache_key, LoginCache, LoginToken, CACHE_DIR_VARIABLE};
pub use client::{SigninClient, SigninError};
pub use dpop::DpopKey;
pub use error::LoginError;
pub use provider::{LoginProvider, REFRESH_THRESHOLD_SECS};
