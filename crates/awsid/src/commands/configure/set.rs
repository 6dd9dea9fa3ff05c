//! `configure set VARNAME VALUE`: one value into the config or credentials file (v2 `set.py`).

use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::{Env, Locations, ProfileSelection};
use clap::Args;

use super::{
    load, mutually_exclusive, profile_to_section, section_header, warn_if_permissive, write_error,
    CREDENTIALS_FILE_KEYS,
};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The name of the config value to set (`region`, `profile.dev.region`,
    /// `default.s3.max_concurrent_requests`, `s3.addressing_style`, `plugins.NAME`).
    pub varname: String,
    /// The value to set, written as given.
    #[arg(allow_negative_numbers = true)]
    pub value: String,
    /// Write into the `[sso-session NAME]` section instead of a profile.
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// Write into the `[services NAME]` section instead of a profile.
    #[arg(long, value_name = "NAME")]
    pub services: Option<String>,
}

/// Where one `set` goes.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    kind: FileKind,
    section: String,
    key: String,
    value: EditValue,
}

/// Runs `configure set`.
pub(super) fn run(global: &GlobalArgs, args: SetArgs, env: &Env) -> Result<u8, CliError> {
    let selection = ProfileSelection::resolve(global.profile.as_deref(), env);
    let target = resolve(&args, &selection)?;
    let locations = Locations::from_env(env);
    // Like the reference (which reads both files at start-up), a malformed config or
    // credentials file fails every command, even when the other file is the one written.
    load(&locations)?;
    let path = match target.kind {
        FileKind::Config => locations.config_file_for_write(),
        FileKind::Credentials => locations.credentials_file_for_write(),
    };
    let edit = SectionEdit {
        section: target.section,
        values: vec![(target.key, target.value)],
    };
    update_file_as(target.kind, &path, &edit).map_err(write_error)?;
    if target.kind == FileKind::Credentials {
        warn_if_permissive(&path);
    }
    Ok(0)
}

/// Decides file, section, key and value from the arguments, as v2's `set.py` does.
fn resolve(args: &SetArgs, selection: &ProfileSelection) -> Result<Target, CliError> {
    let varname = args.varname.as_str();
    let value = args.value.clone();
    if args.sso_session.is_some() && args.services.is_some() {
        return Err(mutually_exclusive());
    }
    let subsection = [
        ("sso-session", &args.sso_session),
        ("services", &args.services),
    ]
    .into_iter()
    .find_map(|(kind, name)| name.as_deref().map(|n| (kind, n)));
    if let Some((kind, name)) = subsection {
        // v2 only checks that the name *starts* with an allowed character.
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || "_-/.%@:+".contains(c));
        if !ok {
            return Err(CliError::param_validation(format!(
                "aws: [ERROR]: Invalid value for --{kind}."
            )));
        }
        let (key, value) = match varname.split('.').collect::<Vec<_>>().as_slice() {
            [key] => ((*key).to_owned(), EditValue::Scalar(value)),
            [key, sub] => (
                (*key).to_owned(),
                EditValue::Nested(vec![((*sub).to_owned(), value)]),
            ),
            _ => {
                return Err(CliError::param_validation(
                    "Found more than two parts in the property to set. Deep nesting of properties is not supported.",
                ))
            }
        };
        return Ok(Target {
            kind: FileKind::Config,
            section: section_header(kind, name),
            key,
            value,
        });
    }

    let mut profile = selection.name.clone();
    let mut key = varname.to_owned();
    let mut value = EditValue::Scalar(value);
    if varname.contains('.') {
        let parts: Vec<&str> = varname.split('.').collect();
        if parts[0] == "default" || parts[0] == "profile" {
            let remaining = if parts[0] == "default" {
                profile = "default".to_owned();
                &parts[1..]
            } else {
                profile = parts[1].to_owned();
                &parts[2..]
            };
            let Some(first) = remaining.first() else {
                return Err(CliError::general(format!(
                    "varname ({varname}) must name a key: profile.NAME.KEY"
                )));
            };
            key = (*first).to_owned();
            if remaining.len() == 2 {
                value = nest(remaining[1], value);
            }
        } else if parts[0] != "plugins" {
            key = parts[0].to_owned();
            if parts.len() == 2 {
                value = nest(parts[1], value);
            }
        } else if parts.len() == 2 {
            profile = "plugins".to_owned();
            key = parts[1].to_owned();
        } else {
            // `plugins.a.b`: the reference writes the whole name as a key of [default].
            profile = "default".to_owned();
        }
    }
    let (kind, section) = if CREDENTIALS_FILE_KEYS.contains(&key.as_str()) {
        (FileKind::Credentials, profile)
    } else if profile == "plugins" || profile == "default" {
        (FileKind::Config, profile)
    } else {
        (FileKind::Config, profile_to_section(&profile))
    };
    Ok(Target {
        kind,
        section,
        key,
        value,
    })
}

fn nest(sub: &str, value: EditValue) -> EditValue {
    match value {
        EditValue::Scalar(v) => EditValue::Nested(vec![(sub.to_owned(), v)]),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;
    use awsid_profile::ProfileSource;

    fn target(varname: &str, profile: Option<&str>) -> Target {
        let args = SetArgs {
            varname: varname.to_owned(),
            value: "v".to_owned(),
            sso_session: None,
            services: None,
        };
        let selection = ProfileSelection {
            name: profile.unwrap_or("default").to_owned(),
            source: if profile.is_some() {
                ProfileSource::Flag
            } else {
                ProfileSource::Default
            },
        };
        resolve(&args, &selection).unwrap()
    }

    fn t(kind: FileKind, section: &str, key: &str, value: EditValue) -> Target {
        Target {
            kind,
            section: section.to_owned(),
            key: key.to_owned(),
            value,
        }
    }

    fn scalar() -> EditValue {
        EditValue::Scalar("v".into())
    }

    fn nested(sub: &str) -> EditValue {
        EditValue::Nested(vec![(sub.into(), "v".into())])
    }

    #[test]
    fn varname_forms() {
        use FileKind::*;
        assert_eq!(
            target("region", None),
            t(Config, "default", "region", scalar())
        );
        assert_eq!(
            target("region", Some("dev")),
            t(Config, "profile dev", "region", scalar())
        );
        assert_eq!(
            target("region", Some("my prof")),
            t(Config, "profile 'my prof'", "region", scalar())
        );
        assert_eq!(
            target("default.region", Some("dev")),
            t(Config, "default", "region", scalar())
        );
        assert_eq!(
            target("default.s3.x", None),
            t(Config, "default", "s3", nested("x"))
        );
        assert_eq!(
            target("profile.dev.region", None),
            t(Config, "profile dev", "region", scalar())
        );
        assert_eq!(
            target("profile.dev.s3.x", None),
            t(Config, "profile dev", "s3", nested("x"))
        );
        assert_eq!(
            target("profile.dev.a.b.c", None),
            t(Config, "profile dev", "a", scalar())
        );
        assert_eq!(
            target("s3.x", Some("dev")),
            t(Config, "profile dev", "s3", nested("x"))
        );
        assert_eq!(target("a.b.c", None), t(Config, "default", "a", scalar()));
        assert_eq!(
            target("plugins.cli_legacy", None),
            t(Config, "plugins", "cli_legacy", scalar())
        );
        assert_eq!(
            target("plugins.a.b", None),
            t(Config, "default", "plugins.a.b", scalar())
        );
        assert_eq!(
            target("preview.x", None),
            t(Config, "default", "preview", nested("x"))
        );
        assert_eq!(
            target("aws_access_key_id", Some("my prof")),
            t(Credentials, "my prof", "aws_access_key_id", scalar())
        );
        assert_eq!(
            target("profile.dev.aws_session_token", None),
            t(Credentials, "dev", "aws_session_token", scalar())
        );
        assert_eq!(
            target("aws_security_token", Some("dev")),
            t(Credentials, "dev", "aws_security_token", scalar())
        );
    }

    #[test]
    fn subsections() {
        let args = |sso: Option<&str>, services: Option<&str>, varname: &str| SetArgs {
            varname: varname.to_owned(),
            value: "v".to_owned(),
            sso_session: sso.map(str::to_owned),
            services: services.map(str::to_owned),
        };
        let sel = ProfileSelection {
            name: "default".into(),
            source: ProfileSource::Default,
        };
        assert_eq!(
            resolve(&args(Some("my-sso"), None, "sso_region"), &sel).unwrap(),
            t(
                FileKind::Config,
                "sso-session my-sso",
                "sso_region",
                scalar()
            )
        );
        assert_eq!(
            resolve(&args(None, Some("svc"), "s3.endpoint_url"), &sel).unwrap(),
            t(
                FileKind::Config,
                "services svc",
                "s3",
                nested("endpoint_url")
            )
        );
        assert_eq!(
            resolve(&args(None, Some("svc"), "a.b.c"), &sel)
                .unwrap_err()
                .kind(),
            ExitKind::Usage
        );
        assert_eq!(
            resolve(&args(Some("!x"), None, "a"), &sel)
                .unwrap_err()
                .kind(),
            ExitKind::Usage
        );
        assert_eq!(
            resolve(&args(Some("a"), Some("b"), "a"), &sel)
                .unwrap_err()
                .kind(),
            ExitKind::Usage
        );
    }
}
