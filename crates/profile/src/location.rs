//! Where the files are, and which profile is selected.

use std::path::PathBuf;

use crate::Env;

/// The paths of the shared files, as the reader and the writer compute them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locations {
    /// Config file path as the reader sees it (`$VAR` expansion, then `~`).
    pub config_file: PathBuf,
    /// Credentials file path as the reader sees it.
    pub credentials_file: PathBuf,
    /// Config file setting before expansion (`~/.aws/config` or the `AWS_CONFIG_FILE` text);
    /// `configure list` prints this.
    pub config_file_setting: String,
    /// Credentials file setting before expansion.
    pub credentials_file_setting: String,
    /// The home directory (`HOME`), if known.
    pub home: Option<PathBuf>,
}

impl Locations {
    /// Locations from `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` and `HOME`; a variable set
    /// to the empty string is a value (an empty path), not a fall-back to the default.
    pub fn from_env(env: &Env) -> Locations {
        let _ = env;
        todo!("profile::Locations::from_env")
    }

    /// The config file path as the writer sees it (`~` expansion only, no `$VAR`).
    pub fn config_file_for_write(&self) -> PathBuf {
        todo!("profile::Locations::config_file_for_write")
    }

    /// The credentials file path as the writer sees it (`~` expansion only, no `$VAR`).
    pub fn credentials_file_for_write(&self) -> PathBuf {
        todo!("profile::Locations::credentials_file_for_write")
    }

    /// `~/.aws/cli/cache`: the assume-role / web-identity (and v2 SSO) credential cache.
    pub fn cli_cache_dir(&self) -> PathBuf {
        todo!("profile::Locations::cli_cache_dir")
    }

    /// `~/.aws/sso/cache`: the SSO token cache.
    pub fn sso_cache_dir(&self) -> PathBuf {
        todo!("profile::Locations::sso_cache_dir")
    }
}

/// Where the selected profile name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileSource {
    /// The `--profile` option.
    Flag,
    /// `AWS_PROFILE` (v2 checks it first).
    AwsProfile,
    /// `AWS_DEFAULT_PROFILE`.
    AwsDefaultProfile,
    /// Nothing selected: the name is `default`.
    Default,
}

/// The selected profile: `--profile`, else `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE` (v2
/// order), else `default`. An empty variable selects the empty name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSelection {
    /// The profile name (`default` when nothing was selected).
    pub name: String,
    /// Where it came from.
    pub source: ProfileSource,
}

impl ProfileSelection {
    /// Resolves the selection from the `--profile` value and the environment.
    pub fn resolve(flag: Option<&str>, env: &Env) -> ProfileSelection {
        let _ = (flag, env);
        todo!("profile::ProfileSelection::resolve")
    }

    /// Whether the profile was given explicitly (`--profile`), which disables env credentials.
    pub fn is_explicit(&self) -> bool {
        self.source == ProfileSource::Flag
    }

    /// Whether any profile was selected (flag or environment).
    pub fn is_selected(&self) -> bool {
        self.source != ProfileSource::Default
    }
}
