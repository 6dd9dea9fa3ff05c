//! The login errors, worded as v2's botocore exceptions (`awscli/botocore/exceptions.py`,
//! `LoginError` and its subclasses; `docs/spec/login.md` §5).

/// Why a login, a login-session refresh or a cached login token failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// `LoginError`: an access denial the CLI has no special text for.
    #[error("An unspecified error happened when resolving AWS credentials or refreshing a login session profile.")]
    Unspecified(#[source] crate::ServiceError),
    /// `LoginRefreshTokenExpired`: the service answered `TOKEN_EXPIRED`.
    #[error("Your session has expired. Please reauthenticate using 'aws login'.")]
    RefreshTokenExpired,
    /// `LoginRefreshPasswordChanged`: the service answered `USER_CREDENTIALS_CHANGED`.
    #[error("Unable to refresh login credentials because of a change in your password. Please reauthenticate with your new password using 'aws login'.")]
    PasswordChanged,
    /// `LoginInsufficientPermissions`: the service answered `INSUFFICIENT_PERMISSIONS`.
    #[error("Unable to create or refresh login credentials due to insufficient permissions. You may be missing permission for the 'signin:CreateOAuth2Token' action.")]
    InsufficientPermissions,
    /// `LoginTokenLoadError`: the cached token is missing or incomplete.
    #[error("Error loading login session token: {0}")]
    TokenLoad(String),
    /// `LoginAuthorizationCodeError` (v2's text ends with a space).
    #[error("Error loading or redeeming a login authorization code: {0} ")]
    AuthorizationCode(String),
}

impl LoginError {
    /// The error for an `AccessDeniedException` whose `error` member is `oauth_error`, as
    /// the refresh maps it (`LoginCredentialFetcher.refresh_credentials`).
    pub(crate) fn from_refresh_denial(
        oauth_error: Option<&str>,
        source: crate::ServiceError,
    ) -> LoginError {
        match oauth_error {
            Some("TOKEN_EXPIRED") => LoginError::RefreshTokenExpired,
            Some("USER_CREDENTIALS_CHANGED") => LoginError::PasswordChanged,
            Some("INSUFFICIENT_PERMISSIONS") => LoginError::InsufficientPermissions,
            _ => LoginError::Unspecified(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_v2s() {
        assert_eq!(
            LoginError::TokenLoad("x".into()).to_string(),
            "Error loading login session token: x"
        );
        assert_eq!(
            LoginError::AuthorizationCode("Failed to retrieve an authorization code.".into())
                .to_string(),
            "Error loading or redeeming a login authorization code: Failed to retrieve an authorization code. "
        );
        let denial = crate::ServiceError {
            code: "AccessDeniedException".into(),
            message: "m".into(),
            operation: "CreateOAuth2Token".into(),
            status: 401,
            retries: 0,
            max_attempts_reached: false,
        };
        assert!(matches!(
            LoginError::from_refresh_denial(Some("TOKEN_EXPIRED"), denial.clone()),
            LoginError::RefreshTokenExpired
        ));
        let e = LoginError::from_refresh_denial(Some("SOMETHING_NEW"), denial);
        assert!(std::error::Error::source(&e).is_some());
        assert!(e.to_string().starts_with("An unspecified error"));
    }
}
