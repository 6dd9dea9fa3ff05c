//! Values with their sources: file lines through the profile set's origins, environment
//! variables, options.

use awsid_profile::{Origin, ProfileSet, SharedFile};

use super::model::{mask, FileKind, Setting, Source};
use crate::Session;

/// Looks values up in the session's files and environment, with their sources.
pub(super) struct Origins<'a> {
    session: &'a Session,
}

impl<'a> Origins<'a> {
    pub(super) fn new(session: &'a Session) -> Origins<'a> {
        Origins { session }
    }

    fn set(&self) -> &ProfileSet {
        &self.session.profiles
    }

    /// A file origin as a [`Source`] with the file's path.
    pub(super) fn file_source(&self, o: Origin) -> Source {
        let l = &self.session.locations;
        let (file, path) = match o.file {
            SharedFile::Config => (FileKind::Config, &l.config_file),
            SharedFile::Credentials => (FileKind::Credentials, &l.credentials_file),
        };
        Source::File {
            file,
            path: path.display().to_string(),
            section: o.section,
            line: o.line,
        }
    }

    fn setting(name: &str, value: &str, secret: bool, source: Source) -> Setting {
        Setting {
            name: name.to_string(),
            value: if secret {
                mask(value)
            } else {
                value.to_string()
            },
            masked: secret,
            source,
        }
    }

    /// `key` of the merged profile `profile` (credentials file first).
    pub(super) fn profile_setting(
        &self,
        profile: &str,
        key: &str,
        secret: bool,
    ) -> Option<Setting> {
        let value = self.set().profile(profile)?.get_str(key)?;
        let origin = self.set().origin(profile, key)?;
        Some(Self::setting(key, value, secret, self.file_source(origin)))
    }

    /// `key` of one file's section for `profile`.
    pub(super) fn file_setting(
        &self,
        file: SharedFile,
        profile: &str,
        key: &str,
        secret: bool,
    ) -> Option<Setting> {
        let (props, origin) = match file {
            SharedFile::Config => (
                self.set().config_profile(profile)?,
                self.set().config_origin(profile, key)?,
            ),
            SharedFile::Credentials => (
                self.set().credentials_section(profile)?,
                self.set().credentials_origin(profile, key)?,
            ),
        };
        let value = props.get_str(key)?;
        Some(Self::setting(key, value, secret, self.file_source(origin)))
    }

    /// `key` of `[sso-session name]`.
    pub(super) fn sso_session_setting(&self, name: &str, key: &str) -> Option<Setting> {
        let value = self.set().sso_session(name)?.get_str(key)?;
        let origin = self.set().sso_session_origin(name, key)?;
        Some(Self::setting(key, value, false, self.file_source(origin)))
    }

    /// Environment variable `var`, if set (even empty).
    pub(super) fn env_setting(&self, var: &str, secret: bool) -> Option<Setting> {
        let value = self.session.env.get(var)?;
        Some(Self::setting(
            var,
            value,
            secret,
            Source::Env { name: var.into() },
        ))
    }

    /// Environment variable `var` when `env_first` and set, else the profile's `key` — the
    /// lookup of settings such as `AWS_ROLE_ARN` / `role_arn`.
    pub(super) fn env_or_profile(
        &self,
        env_first: bool,
        var: &str,
        profile: &str,
        key: &str,
    ) -> Option<Setting> {
        if env_first {
            if let Some(s) = self.env_setting(var, false) {
                return Some(s);
            }
        }
        self.profile_setting(profile, key, false)
    }
}
