//! The endpoints the chain may call (STS, the SSO portal and OIDC, instance metadata, the
//! container endpoint) and the settings that choose them.

use super::model::{EndpointReport, Source};
use super::sources::Origins;
use crate::endpoint::{EndpointSettings, Service, UrlSource};
use crate::Session;

pub(super) fn report(
    session: &Session,
    origins: &Origins<'_>,
    region: Option<&str>,
) -> Vec<EndpointReport> {
    let props = session.profile_settings();
    let name = &session.selection().name;
    let settings = EndpointSettings {
        env: &session.env,
        profile: &props,
        data: &session.profiles,
    };
    let mut out = Vec::new();
    for (service, label) in [
        (Service::Sts, "sts"),
        (Service::Sso, "sso"),
        (Service::SsoOidc, "sso-oidc"),
    ] {
        let mut notes = Vec::new();
        if let Some(setting) = settings.ignore_configured_urls() {
            notes.push(format!(
                "configured endpoint URLs are ignored ({setting} is true)"
            ));
        }
        let configured = match settings.configured(service) {
            Ok(c) => c,
            Err(e) => {
                notes.push(e.to_string());
                None
            }
        };
        let source = match &configured {
            None => Source::Default,
            Some((_, UrlSource::ServiceEnv(var))) => Source::Env { name: var.clone() },
            Some((_, UrlSource::GlobalEnv)) => Source::Env {
                name: "AWS_ENDPOINT_URL".into(),
            },
            Some((_, UrlSource::Services { section, service })) => session
                .profiles
                .services_origin(section, service, "endpoint_url")
                .map_or(Source::Default, |o| origins.file_source(o)),
            Some((_, UrlSource::Profile)) => origins
                .profile_setting(name, "endpoint_url", false)
                .map_or(Source::Default, |s| s.source),
        };
        // Only STS is computed for every profile; SSO endpoints matter only when configured.
        if service != Service::Sts && configured.is_none() {
            continue;
        }
        let url = match settings.resolve(service, region, None) {
            Ok(e) => {
                notes.push(format!("requests are signed for {}", e.signing_region));
                Some(e.url)
            }
            Err(e) => {
                notes.push(e.to_string());
                configured.map(|(u, _)| u)
            }
        };
        out.push(EndpointReport {
            service: label,
            url,
            source,
            notes,
        });
    }
    out.push(imds(session, origins, &props));
    if let Some(c) = container(session) {
        out.push(c);
    }
    out
}

fn imds(
    session: &Session,
    origins: &Origins<'_>,
    props: &awsid_profile::Properties,
) -> EndpointReport {
    let name = &session.selection().name;
    let mut notes = Vec::new();
    let config = crate::imds::ImdsConfig::from_settings(&session.env, props);
    if let Some(v) = session.env.get("AWS_EC2_METADATA_DISABLED") {
        notes.push(format!("AWS_EC2_METADATA_DISABLED={v}"));
    }
    let source = origins
        .env_or_profile(
            true,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            name,
            "ec2_metadata_service_endpoint",
        )
        .filter(|s| !s.value.is_empty())
        .map_or(Source::Default, |s| s.source);
    if let Some(mode) = origins.env_or_profile(
        true,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        name,
        "ec2_metadata_service_endpoint_mode",
    ) {
        notes.push(format!("endpoint mode {} ({})", mode.value, mode.name));
    }
    let url = match config {
        Ok(c) => {
            if c.v1_disabled {
                notes.push("IMDSv1 fallback disabled".into());
            }
            Some(c.base_url)
        }
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    };
    EndpointReport {
        service: "imds",
        url,
        source,
        notes,
    }
}

fn container(session: &Session) -> Option<EndpointReport> {
    let env = &session.env;
    let (url, var) = match crate::container::endpoint(env) {
        Ok(crate::container::ContainerEndpoint::NotConfigured) => return None,
        Ok(crate::container::ContainerEndpoint::Url(u)) => (Some(u), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let name = if env.contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    } else {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    };
    let mut notes: Vec<String> = var.into_iter().collect();
    if env.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        notes.push("authorization token read from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into());
    } else if env.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        notes.push("authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN (masked)".into());
    }
    Some(EndpointReport {
        service: "container",
        url,
        source: Source::Env { name: name.into() },
        notes,
    })
}
