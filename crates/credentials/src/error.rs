//! Errors of credential resolution, worded like botocore's exceptions (`docs/spec/chain.md` §8).

use std::path::PathBuf;

/// An error answered by an AWS service (STS, SSO): botocore's `ClientError` shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "An error occurred ({code}) when calling the {operation} operation{}: {message}",
    retry_suffix(*.retries, *.max_attempts_reached)
)]
pub struct ServiceError {
    /// The error code (`AccessDenied`, `ExpiredToken`…), `Unknown` when absent.
    pub code: String,
    /// The service's message, `Unknown` when absent.
    pub message: String,
    /// The operation name (`AssumeRole`, `GetCallerIdentity`…).
    pub operation: String,
    /// HTTP status of the last attempt.
    pub status: u16,
    /// Retries made before giving up (0 when the first answer was final).
    pub retries: u32,
    /// Whether the last attempt was the last `max_attempts` allowed: botocore then says
    /// `(reached max retries: N)` — for any error, even one not retried, and not when the
    /// retry quota stopped the retries (`retries/standard.py` `MaxAttemptsChecker`).
    pub max_attempts_reached: bool,
}

fn retry_suffix(retries: u32, reached: bool) -> String {
    if reached {
        format!(" (reached max retries: {retries})")
    } else {
        String::new()
    }
}

/// Why credentials could not be resolved. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// `--profile` (or the environment) names a profile that is in neither file.
    #[error("The config profile ({0}) could not be found")]
    ProfileNotFound(String),
    /// A provider found some but not all of its keys.
    #[error("Partial credentials found in {provider}, missing: {missing}")]
    PartialCredentials {
        /// Provider name (`env`, `shared-credentials-file`, `assume-role`…).
        provider: String,
        /// What is missing.
        missing: String,
    },
    /// A provider was configured but failed.
    #[error("Error when retrieving credentials from {provider}: {message}")]
    Retrieval {
        /// Provider name.
        provider: String,
        /// Why.
        message: String,
    },
    /// A configuration error (botocore `InvalidConfigError`), message verbatim.
    #[error("{0}")]
    InvalidConfig(String),
    /// A `source_profile` cycle.
    #[error(
        "Infinite loop in credential configuration detected. Attempting to load from profile {profile} which has already been visited. Visited profiles: {}",
        python_list(visited)
    )]
    InfiniteLoop {
        /// The profile that was reached again.
        profile: String,
        /// Profiles visited so far, in order.
        visited: Vec<String>,
    },
    /// IMDS could not be used at all (v1 disabled and no token).
    #[error("Error retrieving metadata: {0}")]
    MetadataRetrieval(String),
    /// No MFA code could be had (no terminal to ask on, a failing `mfa_process`…).
    #[error("Cannot get an MFA code for {serial}: {reason}")]
    MfaCode {
        /// The device (`mfa_serial`).
        serial: String,
        /// Why, and what to do about it.
        reason: String,
    },
    /// A refresh of credentials obtained with an MFA code.
    #[error("Cannot refresh credentials: MFA token required.")]
    RefreshWithMfaUnsupported,
    /// The SSO access token is expired or was rejected.
    #[error("The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.")]
    UnauthorizedSsoToken,
    /// The SSO token cache entry is missing or invalid.
    #[error("Error loading SSO Token: {0}")]
    SsoTokenLoad(String),
    /// A token provider failed.
    #[error("Error when retrieving token from {provider}: {message}")]
    TokenRetrieval {
        /// Provider name (`sso`).
        provider: String,
        /// Why.
        message: String,
    },
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint` is not a URL.
    #[error("Invalid endpoint EC2 Instance Metadata endpoint: {0}")]
    InvalidImdsEndpoint(String),
    /// The IMDS endpoint mode is neither ipv4 nor ipv6.
    #[error("Invalid EC2 Instance Metadata endpoint mode: {0} Valid endpoint modes (case-insensitive): ('ipv4', 'ipv6').")]
    InvalidImdsEndpointMode(String),
    /// A region is required (custom STS endpoint without a region).
    #[error("You must specify a region.")]
    NoRegion,
    /// A region that is not a valid host label.
    #[error("Provided region_name '{0}' doesn't match a supported format.")]
    InvalidRegion(String),
    /// Refreshed credentials are already expired.
    #[error("Credentials were refreshed, but the refreshed credentials are still expired.")]
    StillExpired,
    /// The legacy `AWS_CREDENTIAL_FILE` names a missing file.
    #[error("The specified config file ({}) could not be found.", .0.display())]
    ConfigNotFound(PathBuf),
    /// A shared file could not be parsed.
    #[error(transparent)]
    Load(#[from] awsid_profile::LoadError),
    /// A setting has a value that cannot be used; names the setting.
    #[error("Invalid value for {setting}: {message}")]
    InvalidSetting {
        /// Env var or profile key.
        setting: String,
        /// Why.
        message: String,
    },
    /// A file a provider needs could not be read.
    #[error("Unable to read {what} {}: {source}", path.display())]
    File {
        /// What the file is for (`web identity token file`…).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A cache file could not be written (the old one, if any, is left as it was).
    #[error("Unable to write {what} {}: {source}", path.display())]
    FileWrite {
        /// What the file is for (`credential cache file`…).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The service answered with an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No response from the endpoint, worded as botocore's `EndpointConnectionError`,
    /// `ConnectTimeoutError`, `ReadTimeoutError` or `ConnectionClosedError` by the kind of
    /// failure.
    #[error("{}", endpoint_error_text(url, source))]
    Connect {
        /// The URL.
        url: String,
        /// What the transport reported (shown by `--debug`, not in the message).
        #[source]
        source: crate::http::TransportError,
    },
    /// The endpoint answered with a longer body than awsid reads (the real endpoints answer a
    /// few KiB; the rest is never read, so an endless answer cannot exhaust memory).
    #[error("The response from the endpoint URL \"{url}\" is larger than {limit} bytes; refusing to read more")]
    ResponseTooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The service answered with something that is not the expected document.
    #[error("Unable to parse response from {url}: {message}")]
    BadResponse {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// Parameters below the STS model's minimums, refused before sending like botocore's
    /// `ParamValidationError` (one line per violation).
    #[error("Parameter validation failed:\n{}", .0.join("\n"))]
    ParamValidation(Vec<String>),
    /// The container provider's full URI is not allowed (botocore's raw `ValueError` text).
    #[error("Unsupported host '{0}'.  Can only retrieve metadata from a loopback address or one of these hosts: 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost")]
    UnsupportedContainerHost(String),
    /// The container authorization token contains CR or LF.
    #[error("Auth token value is not a legal header value")]
    IllegalAuthToken,
    /// An `aws login` session could not be loaded or refreshed (v2's `LoginError` family).
    #[error(transparent)]
    Login(#[from] crate::login::LoginError),
    /// The recursion guard of `export-credentials` tripped.
    #[error("{0}")]
    Recursion(String),
}

impl CredentialsError {
    /// A request to `url` that got no usable response: an oversized body names the limit,
    /// anything else is worded by its kind as botocore words it (see [`CredentialsError::Connect`]).
    pub fn transport(
        url: impl Into<String>,
        source: crate::http::TransportError,
    ) -> CredentialsError {
        let url = url.into();
        match source {
            crate::http::TransportError::TooLarge { limit, .. } => {
                CredentialsError::ResponseTooLarge { url, limit }
            }
            source => CredentialsError::Connect { url, source },
        }
    }

    /// A `CredentialRetrievalError` from `provider`.
    pub fn retrieval(provider: impl Into<String>, message: impl Into<String>) -> CredentialsError {
        CredentialsError::Retrieval {
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// A `PartialCredentialsError` from `provider`.
    pub fn partial(provider: impl Into<String>, missing: impl Into<String>) -> CredentialsError {
        CredentialsError::PartialCredentials {
            provider: provider.into(),
            missing: missing.into(),
        }
    }

    /// A failed write of the cache file `what` (see [`awsid_profile::atomic`]).
    pub fn file_write(what: &'static str, e: awsid_profile::atomic::FileError) -> CredentialsError {
        CredentialsError::FileWrite {
            what,
            path: e.path,
            source: e.source,
        }
    }
}

/// botocore's text for a request that got no response from `url`.
fn endpoint_error_text(url: &str, source: &crate::http::TransportError) -> String {
    use crate::http::TransportError as T;
    match source {
        T::ConnectTimeout(_) => format!("Connect timeout on endpoint URL: \"{url}\""),
        T::ReadTimeout(_) => format!("Read timeout on endpoint URL: \"{url}\""),
        T::Closed(_) => format!(
            "Connection was closed before we received a valid response from endpoint URL: \"{url}\"."
        ),
        T::TooLarge { limit, .. } => format!(
            "The response from the endpoint URL \"{url}\" is larger than {limit} bytes; refusing to read more"
        ),
        T::Connect(_) | T::InvalidUrl(_) | T::Other(_) => {
            format!("Could not connect to the endpoint URL: \"{url}\"")
        }
    }
}

/// Python's `repr()` of a list of strings: `['a', 'b']`.
pub(crate) fn python_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| awsid_profile::py::repr(s)).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_loop_text_matches_botocore() {
        let e = CredentialsError::InfiniteLoop {
            profile: "a".into(),
            visited: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            "Infinite loop in credential configuration detected. Attempting to load from profile a which has already been visited. Visited profiles: ['a', 'b']"
        );
    }

    #[test]
    fn python_repr_picks_quotes() {
        assert_eq!(awsid_profile::py::repr("it's"), "\"it's\"");
        assert_eq!(awsid_profile::py::repr("a'b\"c"), "'a\\'b\"c'");
    }

    #[test]
    fn service_error_shape() {
        let e = ServiceError {
            code: "AccessDenied".into(),
            message: "nope".into(),
            operation: "AssumeRole".into(),
            status: 403,
            retries: 0,
            max_attempts_reached: false,
        };
        assert_eq!(
            e.to_string(),
            "An error occurred (AccessDenied) when calling the AssumeRole operation: nope"
        );
        let e = ServiceError {
            retries: 2,
            max_attempts_reached: true,
            ..e
        };
        assert!(e
            .to_string()
            .contains("operation (reached max retries: 2): nope"));
        // The quota stopped the retries: no suffix; one attempt allowed: "0".
        let stopped = ServiceError {
            max_attempts_reached: false,
            ..e.clone()
        };
        assert!(stopped.to_string().contains("operation: nope"));
        let single = ServiceError {
            retries: 0,
            max_attempts_reached: true,
            ..e
        };
        assert!(single
            .to_string()
            .contains("operation (reached max retries: 0): nope"));
    }

    #[test]
    fn no_response_texts_follow_the_failure_kind() {
        use crate::http::TransportError as T;
        let text = |source| {
            CredentialsError::Connect {
                url: "https://sts.example".into(),
                source,
            }
            .to_string()
        };
        assert_eq!(
            text(T::Connect("refused".into())),
            "Could not connect to the endpoint URL: \"https://sts.example\""
        );
        assert_eq!(
            text(T::ConnectTimeout("t".into())),
            "Connect timeout on endpoint URL: \"https://sts.example\""
        );
        assert_eq!(
            text(T::ReadTimeout("t".into())),
            "Read timeout on endpoint URL: \"https://sts.example\""
        );
        assert_eq!(
            text(T::Closed("reset".into())),
            "Connection was closed before we received a valid response from endpoint URL: \"https://sts.example\"."
        );
    }
}
