//! The merged profile view of the config and credentials files, as botocore builds it.

use std::path::PathBuf;

use crate::{Locations, ParseError, Properties};

/// A shared file that exists but cannot be parsed; it names the file and the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse config file: {}: {error}", path.display())]
pub struct LoadError {
    /// The expanded path of the file at fault.
    pub path: PathBuf,
    /// The line and reason.
    pub error: ParseError,
}

/// Both shared files, parsed: the config file's profiles, sso-sessions, services and plain
/// sections; the credentials file's raw sections; and the merged profile map (credentials keys
/// override config keys one by one).
#[derive(Clone, Debug, Default)]
pub struct ProfileSet {
    _private: (),
}

impl ProfileSet {
    /// Reads both files; missing or unreadable files are empty; a malformed file is an error.
    pub fn load(locations: &Locations) -> Result<ProfileSet, LoadError> {
        let _ = locations;
        todo!("profile::ProfileSet::load")
    }

    /// Builds the set from file texts (`config_path`/`credentials_path` only name the files in
    /// errors).
    pub fn from_texts(
        config: &str,
        config_path: PathBuf,
        credentials: &str,
        credentials_path: PathBuf,
    ) -> Result<ProfileSet, LoadError> {
        let _ = (config, config_path, credentials, credentials_path);
        todo!("profile::ProfileSet::from_texts")
    }

    /// The merged settings of profile `name`, if it exists in either file.
    pub fn profile(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::profile")
    }

    /// Profile names in botocore's order: config profiles in file order, then
    /// credentials-only sections in file order.
    pub fn profile_names(&self) -> Vec<&str> {
        todo!("profile::ProfileSet::profile_names")
    }

    /// Profile `name` from the config file alone (`[default]`, `[profile name]`).
    pub fn config_profile(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::config_profile")
    }

    /// Section `name` of the credentials file alone (the raw section name).
    pub fn credentials_section(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::credentials_section")
    }

    /// The `[sso-session name]` section of the config file.
    pub fn sso_session(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::sso_session")
    }

    /// The `[services name]` section of the config file.
    pub fn services(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::services")
    }

    /// A plain (non-profile) config section such as `[preview]` or `[plugins]`.
    pub fn plain_section(&self, name: &str) -> Option<&Properties> {
        let _ = name;
        todo!("profile::ProfileSet::plain_section")
    }
}
