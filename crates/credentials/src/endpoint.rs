//! Endpoint and region selection for the credential clients (STS, SSO portal, SSO-OIDC),
//! `docs/spec/assume-role.md` §9 and `docs/spec/process-and-sso.md` §2.5.

use awsid_profile::{Env, Properties};

use crate::profiles::ProfileData;
use crate::settings::{ensure_boolean, lookup};
use crate::CredentialsError;

/// A service the credential system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// AWS STS.
    Sts,
    /// The IAM Identity Center portal (`GetRoleCredentials`).
    Sso,
    /// SSO-OIDC (`CreateToken`).
    SsoOidc,
    /// IAM (`vault rotate`: the access-key calls); a global service signed for `us-east-1`
    /// (`cn-north-1` in China).
    Iam,
    /// AWS Sign-In (`aws login`: `CreateOAuth2Token`, the authorization pages).
    Signin,
}

impl Service {
    /// The services-section key and `AWS_ENDPOINT_URL_<X>` suffix.
    fn ids(self) -> (&'static str, &'static str) {
        match self {
            Service::Sts => ("sts", "STS"),
            Service::Sso => ("sso", "SSO"),
            Service::SsoOidc => ("sso_oidc", "SSO_OIDC"),
            Service::Iam => ("iam", "IAM"),
            Service::Signin => ("signin", "SIGNIN"),
        }
    }
}

/// Where to send requests and which region to sign for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL (no trailing slash added or removed).
    pub url: String,
    /// The SigV4 signing region.
    pub signing_region: String,
}

/// Which setting a configured endpoint URL comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSource {
    /// `AWS_ENDPOINT_URL_<SERVICE>` (the variable's name).
    ServiceEnv(String),
    /// `AWS_ENDPOINT_URL`.
    GlobalEnv,
    /// `endpoint_url` under `service =` in `[services section]`.
    Services {
        /// The services section's name.
        section: String,
        /// The service key (`sts`, `sso`, `sso_oidc`).
        service: &'static str,
    },
    /// The selected profile's `endpoint_url`.
    Profile,
}

/// Settings that pick an endpoint: the environment and the selected profile.
#[derive(Clone, Copy)]
pub struct EndpointSettings<'a> {
    /// Environment snapshot.
    pub env: &'a Env,
    /// The selected profile's merged settings.
    pub profile: &'a Properties,
    /// For `[services NAME]` lookups.
    pub data: &'a dyn ProfileData,
}

impl EndpointSettings<'_> {
    /// The configured endpoint URL for `service`, if any: `AWS_ENDPOINT_URL_<X>` >
    /// `AWS_ENDPOINT_URL` > `[services]` sub-key > profile `endpoint_url`, unless ignored.
    pub fn configured_url(&self, service: Service) -> Result<Option<String>, CredentialsError> {
        Ok(self.configured(service)?.map(|(url, _)| url))
    }

    /// Whether `ignore_configured_endpoint_urls` is in force, and the setting that says so
    /// (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` or the profile key).
    pub fn ignore_configured_urls(&self) -> Option<&'static str> {
        const VAR: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
        const KEY: &str = "ignore_configured_endpoint_urls";
        ensure_boolean(lookup(self.env, self.profile, VAR, KEY)).then(|| {
            if self.env.contains(VAR) {
                VAR
            } else {
                KEY
            }
        })
    }

    /// As [`configured_url`](Self::configured_url), with the setting the URL came from.
    pub fn configured(
        &self,
        service: Service,
    ) -> Result<Option<(String, UrlSource)>, CredentialsError> {
        if self.ignore_configured_urls().is_some() {
            return Ok(None);
        }
        let (key, suffix) = service.ids();
        let var = format!("AWS_ENDPOINT_URL_{suffix}");
        if let Some(u) = self.env.get_non_empty(&var) {
            return Ok(Some((u.to_string(), UrlSource::ServiceEnv(var))));
        }
        if let Some(u) = self.env.get_non_empty("AWS_ENDPOINT_URL") {
            return Ok(Some((u.to_string(), UrlSource::GlobalEnv)));
        }
        if let Some(name) = self.profile.get_str("services") {
            let Some(section) = self.data.services(name) else {
                return Err(CredentialsError::InvalidConfig(format!(
                    "The profile is configured to use the services section but the \"{name}\" services configuration does not exist."
                )));
            };
            if let Some(u) = section.get(key).and_then(|v| v.sub("endpoint_url")) {
                return Ok(Some((
                    u.to_string(),
                    UrlSource::Services {
                        section: name.to_string(),
                        service: key,
                    },
                )));
            }
        }
        Ok(self
            .profile
            .get_str("endpoint_url")
            .map(|u| (u.to_string(), UrlSource::Profile)))
    }

    fn flag(&self, var: &str, key: &str) -> bool {
        ensure_boolean(lookup(self.env, self.profile, var, key))
    }

    /// The endpoint for `service` in `region` (`None`: no region configured). `explicit_url`
    /// (a command's `--endpoint-url`) beats every configured URL.
    pub fn resolve(
        &self,
        service: Service,
        region: Option<&str>,
        explicit_url: Option<&str>,
    ) -> Result<Endpoint, CredentialsError> {
        if let Some(r) = region {
            validate_region(r)?;
        }
        let custom = match explicit_url {
            Some(u) => Some(u.to_string()),
            None => self.configured_url(service)?,
        };
        if let (Some(url), Service::Iam) = (&custom, service) {
            // IAM is global: its client signs for the partition's region, not the profile's.
            return Ok(Endpoint {
                url: url.clone(),
                signing_region: iam_region(region).into(),
            });
        }
        if let Some(url) = custom {
            let Some(region) = region.filter(|r| !r.is_empty()) else {
                return Err(CredentialsError::NoRegion);
            };
            return Ok(Endpoint {
                url,
                signing_region: region.to_string(),
            });
        }
        let fips = self.flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint");
        let dualstack = self.flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint");
        let region = region.filter(|r| !r.is_empty());
        match service {
            Service::Sts => {
                let r = match region {
                    None | Some("aws-global") if !fips && !dualstack => {
                        return Ok(Endpoint {
                            url: "https://sts.amazonaws.com".into(),
                            signing_region: "us-east-1".into(),
                        })
                    }
                    None => "aws-global",
                    Some(r) => r,
                };
                let host = if fips { "sts-fips" } else { "sts" };
                Ok(Endpoint {
                    url: format!("https://{host}.{r}.{}", dns_suffix(r, dualstack)),
                    signing_region: if r == "aws-global" {
                        "us-east-1".into()
                    } else {
                        r.into()
                    },
                })
            }
            Service::Iam => {
                let signing = iam_region(region);
                let url = match (signing, fips) {
                    ("cn-north-1", _) => "https://iam.cn-north-1.amazonaws.com.cn".to_string(),
                    (_, true) => "https://iam-fips.amazonaws.com".to_string(),
                    _ => "https://iam.amazonaws.com".to_string(),
                };
                Ok(Endpoint {
                    url,
                    signing_region: signing.into(),
                })
            }
            Service::Signin => {
                let Some(r) = region else {
                    return Err(CredentialsError::NoRegion);
                };
                // v2 `signin` endpoint-rule-set-1.json (2023-01-01).
                let url = match (fips, dualstack) {
                    (false, false) if r.starts_with("cn-") => {
                        format!("https://{r}.signin.amazonaws.cn")
                    }
                    (false, false) if r.starts_with("us-gov-") => {
                        format!("https://{r}.signin.amazonaws-us-gov.com")
                    }
                    (false, false) => format!("https://{r}.signin.aws.amazon.com"),
                    (true, _) => format!("https://signin-fips.{r}.{}", dns_suffix(r, dualstack)),
                    (false, true) => format!("https://signin.{r}.{}", dns_suffix(r, true)),
                };
                Ok(Endpoint {
                    url,
                    signing_region: r.into(),
                })
            }
            Service::Sso | Service::SsoOidc => {
                let Some(r) = region else {
                    return Err(CredentialsError::NoRegion);
                };
                let host = match (service, fips) {
                    (Service::Sso, false) => "portal.sso",
                    (Service::Sso, true) => "portal.sso-fips",
                    (_, false) => "oidc",
                    (_, true) => "oidc-fips",
                };
                Ok(Endpoint {
                    url: format!("https://{host}.{r}.{}", dns_suffix(r, dualstack)),
                    signing_region: r.into(),
                })
            }
        }
    }
}

/// IAM's signing region: `cn-north-1` for the China partition, else `us-east-1`.
fn iam_region(region: Option<&str>) -> &'static str {
    if region.is_some_and(|r| r.starts_with("cn-")) {
        "cn-north-1"
    } else {
        "us-east-1"
    }
}

fn dns_suffix(region: &str, dualstack: bool) -> &'static str {
    match (region.starts_with("cn-"), dualstack) {
        (true, false) => "amazonaws.com.cn",
        (true, true) => "api.amazonwebservices.com.cn",
        (false, false) => "amazonaws.com",
        (false, true) => "api.aws",
    }
}

/// botocore's region check: a host label (`[A-Za-z0-9-]{1,63}`, not all digits, no leading or
/// trailing `-`).
pub fn validate_region(region: &str) -> Result<(), CredentialsError> {
    if region.is_empty() {
        return Ok(());
    }
    let ok = region.len() <= 63
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
        && !region.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(CredentialsError::InvalidRegion(region.to_string()))
    }
}

/// The region for credential clients (v2 order): `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// the selected profile's `region`. Empty values count as unset here.
pub fn session_region(flag: Option<&str>, env: &Env, profile: &Properties) -> Option<String> {
    flag.filter(|r| !r.is_empty())
        .or_else(|| env.get_non_empty("AWS_REGION"))
        .or_else(|| env.get_non_empty("AWS_DEFAULT_REGION"))
        .or_else(|| profile.get_str("region").filter(|r| !r.is_empty()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::{properties, MemoryProfiles};

    fn resolve(
        env: &[(&str, &str)],
        profile: &[(&str, &str)],
        region: Option<&str>,
    ) -> Result<Endpoint, CredentialsError> {
        let env = Env::from_pairs(env.iter().copied());
        let props = properties(profile.iter().copied());
        let mut services = Properties::default();
        services.insert(
            "sts".into(),
            awsid_profile::Value::Nested(vec![(
                "endpoint_url".into(),
                "http://services-sts".into(),
            )]),
        );
        let data = MemoryProfiles::new().services("svc", services);
        EndpointSettings {
            env: &env,
            profile: &props,
            data: &data,
        }
        .resolve(Service::Sts, region, None)
    }

    #[test]
    fn default_endpoints() {
        assert_eq!(
            resolve(&[], &[], None).unwrap().url,
            "https://sts.amazonaws.com"
        );
        assert_eq!(resolve(&[], &[], None).unwrap().signing_region, "us-east-1");
        assert_eq!(
            resolve(&[], &[], Some("us-east-1")).unwrap().url,
            "https://sts.us-east-1.amazonaws.com"
        );
        assert_eq!(
            resolve(&[], &[], Some("eu-west-1")).unwrap().url,
            "https://sts.eu-west-1.amazonaws.com"
        );
        let fips = [("AWS_USE_FIPS_ENDPOINT", "true")];
        assert_eq!(
            resolve(&fips, &[], None).unwrap().url,
            "https://sts-fips.aws-global.amazonaws.com"
        );
        assert_eq!(
            resolve(&fips, &[], Some("eu-west-1")).unwrap().url,
            "https://sts-fips.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn override_precedence() {
        let all = [
            ("AWS_ENDPOINT_URL_STS", "http://a"),
            ("AWS_ENDPOINT_URL", "http://b"),
        ];
        let prof = [("services", "svc"), ("endpoint_url", "http://d")];
        let r = Some("us-west-2");
        assert_eq!(resolve(&all, &prof, r).unwrap().url, "http://a");
        assert_eq!(resolve(&all[1..], &prof, r).unwrap().url, "http://b");
        assert_eq!(resolve(&[], &prof, r).unwrap().url, "http://services-sts");
        assert_eq!(resolve(&[], &prof[1..], r).unwrap().url, "http://d");
        let ignore = [
            ("AWS_ENDPOINT_URL_STS", "http://a"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ];
        assert_eq!(
            resolve(&ignore, &prof, r).unwrap().url,
            "https://sts.us-west-2.amazonaws.com"
        );
        assert_eq!(
            resolve(&[("AWS_ENDPOINT_URL_STS", "http://a")], &[], None)
                .unwrap_err()
                .to_string(),
            "You must specify a region."
        );
        assert!(resolve(&[], &[("services", "nope")], r)
            .unwrap_err()
            .to_string()
            .contains("\"nope\" services configuration does not exist"));
    }

    #[test]
    fn iam_is_global() {
        let iam = |env: &[(&str, &str)], region: Option<&str>| {
            let env = Env::from_pairs(env.iter().copied());
            let props = properties([]);
            let data = MemoryProfiles::new();
            EndpointSettings {
                env: &env,
                profile: &props,
                data: &data,
            }
            .resolve(Service::Iam, region, None)
            .unwrap()
        };
        let e = iam(&[], Some("eu-west-1"));
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://iam.amazonaws.com", "us-east-1")
        );
        let e = iam(&[], Some("cn-northwest-1"));
        assert_eq!(e.signing_region, "cn-north-1");
        // A custom endpoint needs no region: IAM signs for us-east-1.
        let e = iam(&[("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9/")], None);
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("http://127.0.0.1:9/", "us-east-1")
        );
        let e = iam(
            &[
                ("AWS_ENDPOINT_URL", "http://x/"),
                ("AWS_ENDPOINT_URL_STS", "http://s/"),
            ],
            None,
        );
        assert_eq!(e.url, "http://x/");
    }

    #[test]
    fn region_validation() {
        assert!(validate_region("us-east-1").is_ok());
        assert_eq!(
            validate_region("us east").unwrap_err().to_string(),
            "Provided region_name 'us east' doesn't match a supported format."
        );
        assert!(validate_region("123").is_err());
    }
}
