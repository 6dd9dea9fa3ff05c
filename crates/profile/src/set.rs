//! The merged profile view of the config and credentials files, as botocore builds it.

use std::path::{Path, PathBuf};

use crate::fxhash::FxHashMap;
use crate::ini::{self, IniFile, Section};
use crate::{shell, Locations, ParseError, Properties};

/// A shared file that exists but cannot be parsed; it names the file and the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse config file: {}: {error}", path.display())]
pub struct LoadError {
    /// The expanded path of the file at fault.
    pub path: PathBuf,
    /// The line and reason.
    pub error: ParseError,
}

/// What a config-file section name means to botocore's `build_profile_map`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// `[default]` or `[profile NAME]` (any name starting with `profile` that splits into
    /// exactly two shell words).
    Profile(String),
    /// `[sso-session NAME]`.
    SsoSession(String),
    /// `[services NAME]`.
    Services(String),
    /// Any other section (`[plugins]`, `[preview]`, `[Default]`), by its raw name.
    Plain(String),
    /// A `profile…`/`sso-session…`/`services…` name that is not exactly two shell words:
    /// botocore silently drops it.
    Dropped,
}

impl SectionKind {
    /// Classifies a raw config-file section name exactly as `build_profile_map` does.
    pub fn of_config_section(name: &str) -> SectionKind {
        let second_word = || match shell::split(name) {
            Ok(mut words) if words.len() == 2 => words.pop(),
            _ => None,
        };
        if name.starts_with("profile") {
            second_word().map_or(SectionKind::Dropped, SectionKind::Profile)
        } else if name.starts_with("sso-session") {
            second_word().map_or(SectionKind::Dropped, SectionKind::SsoSession)
        } else if name.starts_with("services") {
            second_word().map_or(SectionKind::Dropped, SectionKind::Services)
        } else if name == "default" {
            SectionKind::Profile("default".to_owned())
        } else {
            SectionKind::Plain(name.to_owned())
        }
    }
}

/// An insertion-ordered map with Python `dict` assignment semantics: re-assigning a key keeps
/// its original position.
#[derive(Clone, Debug, Default)]
struct OrderedMap {
    entries: Vec<(String, Properties)>,
    index: FxHashMap<String, usize>,
}

impl OrderedMap {
    /// Sets `key`; returns the entry's position.
    fn assign(&mut self, key: String, value: Properties) -> usize {
        match self.index.get(&key) {
            Some(&i) => {
                self.entries[i].1 = value;
                i
            }
            None => {
                let i = self.entries.len();
                self.index.insert(key.clone(), i);
                self.entries.push((key, value));
                i
            }
        }
    }

    fn get(&self, key: &str) -> Option<&Properties> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }
}

/// Where a merged profile's settings live: only one file (no copy), or both (merged copy).
#[derive(Clone, Debug)]
enum Merged {
    Config(usize),
    Credentials(usize),
    Both(Properties),
}

/// Both shared files, parsed: the config file's profiles, sso-sessions, services and plain
/// sections; the credentials file's raw sections; and the merged profile map (credentials keys
/// override config keys one by one).
#[derive(Clone, Debug, Default)]
pub struct ProfileSet {
    /// Config-file profiles (`build_profile_map`).
    config_profiles: OrderedMap,
    sso_sessions: OrderedMap,
    services: OrderedMap,
    plain: OrderedMap,
    /// Credentials-file sections by raw name.
    credentials: OrderedMap,
    /// The merged view (`Session.full_config["profiles"]`), in botocore's order.
    merged: Vec<(String, Merged)>,
    merged_index: FxHashMap<String, usize>,
}

impl ProfileSet {
    /// Reads both files; missing or unreadable files are empty; a malformed file is an error.
    pub fn load(locations: &Locations) -> Result<ProfileSet, LoadError> {
        let config = read_shared_file(&locations.config_file)?;
        let credentials = read_shared_file(&locations.credentials_file)?;
        Ok(ProfileSet::from_files(config, credentials))
    }

    /// Builds the set from file texts (`config_path`/`credentials_path` only name the files in
    /// errors).
    pub fn from_texts(
        config: &str,
        config_path: PathBuf,
        credentials: &str,
        credentials_path: PathBuf,
    ) -> Result<ProfileSet, LoadError> {
        let config = ini::parse(config).map_err(|error| LoadError {
            path: config_path,
            error,
        })?;
        let credentials = ini::parse(credentials).map_err(|error| LoadError {
            path: credentials_path,
            error,
        })?;
        Ok(ProfileSet::from_files(config, credentials))
    }

    /// Builds the set from parsed files: `build_profile_map`, then the credentials merge.
    pub fn from_files(config: IniFile, credentials: IniFile) -> ProfileSet {
        let mut set = ProfileSet::default();
        for Section {
            name, properties, ..
        } in config.sections
        {
            match SectionKind::of_config_section(&name) {
                SectionKind::Profile(p) => {
                    set.config_profiles.assign(p, properties);
                }
                SectionKind::SsoSession(s) => {
                    set.sso_sessions.assign(s, properties);
                }
                SectionKind::Services(s) => {
                    set.services.assign(s, properties);
                }
                SectionKind::Plain(n) => {
                    set.plain.assign(n, properties);
                }
                SectionKind::Dropped => {}
            }
        }
        for (i, (name, _)) in set.config_profiles.entries.iter().enumerate() {
            set.merged_index.insert(name.clone(), set.merged.len());
            set.merged.push((name.clone(), Merged::Config(i)));
        }
        for Section {
            name, properties, ..
        } in credentials.sections
        {
            let j = set.credentials.assign(name.clone(), properties);
            let creds = &set.credentials.entries[j].1;
            match set.merged_index.get(&name) {
                Some(&k) => {
                    let mut merged = match &set.merged[k].1 {
                        Merged::Config(i) => set.config_profiles.entries[*i].1.clone(),
                        Merged::Credentials(c) => set.credentials.entries[*c].1.clone(),
                        Merged::Both(p) => p.clone(),
                    };
                    for (key, value) in creds.iter() {
                        merged.insert(key.to_owned(), value.clone());
                    }
                    set.merged[k].1 = Merged::Both(merged);
                }
                None => {
                    set.merged_index.insert(name.clone(), set.merged.len());
                    set.merged.push((name, Merged::Credentials(j)));
                }
            }
        }
        set
    }

    /// The merged settings of profile `name`, if it exists in either file.
    pub fn profile(&self, name: &str) -> Option<&Properties> {
        let &k = self.merged_index.get(name)?;
        Some(match &self.merged[k].1 {
            Merged::Config(i) => &self.config_profiles.entries[*i].1,
            Merged::Credentials(j) => &self.credentials.entries[*j].1,
            Merged::Both(p) => p,
        })
    }

    /// Profile names in botocore's order: config profiles in file order, then
    /// credentials-only sections in file order.
    pub fn profile_names(&self) -> Vec<&str> {
        self.merged.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Profile `name` from the config file alone (`[default]`, `[profile name]`).
    pub fn config_profile(&self, name: &str) -> Option<&Properties> {
        self.config_profiles.get(name)
    }

    /// Section `name` of the credentials file alone (the raw section name).
    pub fn credentials_section(&self, name: &str) -> Option<&Properties> {
        self.credentials.get(name)
    }

    /// The `[sso-session name]` section of the config file.
    pub fn sso_session(&self, name: &str) -> Option<&Properties> {
        self.sso_sessions.get(name)
    }

    /// The `[services name]` section of the config file.
    pub fn services(&self, name: &str) -> Option<&Properties> {
        self.services.get(name)
    }

    /// A plain (non-profile) config section such as `[preview]` or `[plugins]`.
    pub fn plain_section(&self, name: &str) -> Option<&Properties> {
        self.plain.get(name)
    }
}

/// Reads one shared file as `raw_config_parse` does: a path that is not a regular file, or a
/// file that cannot be opened, is empty; undecodable or malformed text is an error.
pub fn read_shared_file(path: &Path) -> Result<IniFile, LoadError> {
    match read_if_file(path) {
        Some(bytes) => ini::parse_bytes(&bytes).map_err(|error| LoadError {
            path: path.to_owned(),
            error,
        }),
        None => Ok(IniFile::default()),
    }
}

/// The bytes of `path` if it is a regular file (following symlinks) that can be read.
pub(crate) fn read_if_file(path: &Path) -> Option<Vec<u8>> {
    if path.as_os_str().is_empty() {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    std::fs::read(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn set(config: &str, credentials: &str) -> ProfileSet {
        ProfileSet::from_texts(config, "c".into(), credentials, "k".into()).unwrap()
    }

    fn get<'a>(s: &'a ProfileSet, profile: &str, key: &str) -> Option<&'a str> {
        s.profile(profile)?.get_str(key)
    }

    #[test]
    fn classification() {
        use SectionKind::*;
        assert_eq!(
            SectionKind::of_config_section("profile foo"),
            Profile("foo".into())
        );
        assert_eq!(
            SectionKind::of_config_section("profiles foo"),
            Profile("foo".into())
        );
        assert_eq!(
            SectionKind::of_config_section("profile \"a b\""),
            Profile("a b".into())
        );
        assert_eq!(SectionKind::of_config_section("profile a b"), Dropped);
        assert_eq!(SectionKind::of_config_section("profilefoo"), Dropped);
        assert_eq!(SectionKind::of_config_section("profile 'x"), Dropped);
        assert_eq!(
            SectionKind::of_config_section("sso-session s"),
            SsoSession("s".into())
        );
        assert_eq!(
            SectionKind::of_config_section("services x"),
            Services("x".into())
        );
        assert_eq!(
            SectionKind::of_config_section("default"),
            Profile("default".into())
        );
        assert_eq!(
            SectionKind::of_config_section("Default"),
            Plain("Default".into())
        );
    }

    #[test]
    fn later_header_wins_wholesale_and_keeps_position() {
        let s = set(
            "[default]\nregion = B\noutput = json\n[profile a]\n[profile default]\nregion = A\n",
            "",
        );
        assert_eq!(get(&s, "default", "region"), Some("A"));
        assert_eq!(get(&s, "default", "output"), None);
        assert_eq!(s.profile_names(), ["default", "a"]);
    }

    #[test]
    fn credentials_merge_per_key() {
        let s = set(
            "[default]\nregion = a\noutput = json\n[profile a]\n[sso-session s]\n[services x]\n[plugins]\n",
            "[default]\nregion = b\naws_access_key_id = K\n[b]\n[profile c]\n",
        );
        assert_eq!(get(&s, "default", "region"), Some("b"));
        assert_eq!(get(&s, "default", "output"), Some("json"));
        assert_eq!(s.profile_names(), ["default", "a", "b", "profile c"]);
        assert_eq!(
            s.config_profile("default").unwrap().get_str("region"),
            Some("a")
        );
        assert_eq!(
            s.credentials_section("default").unwrap().get_str("region"),
            Some("b")
        );
        assert!(s.sso_session("s").is_some());
        assert!(s.services("x").is_some());
        assert!(s.plain_section("plugins").is_some());
        assert!(s.profile("c").is_none());
    }

    #[test]
    fn nested_values_survive_the_merge() {
        let s = set("[profile d]\ns3 =\n  a = 1\n", "");
        assert_eq!(
            s.profile("d").unwrap().get("s3"),
            Some(&Value::Nested(vec![("a".into(), "1".into())]))
        );
    }

    #[test]
    fn errors_name_the_file() {
        let e =
            ProfileSet::from_texts("[a]\n[a]\n", "/x/config".into(), "", "k".into()).unwrap_err();
        assert_eq!(e.path, PathBuf::from("/x/config"));
        assert_eq!(e.error.line, 2);
        assert!(e
            .to_string()
            .starts_with("Unable to parse config file: /x/config"));
    }

    #[test]
    fn load_treats_missing_and_directories_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let env = crate::Env::from_pairs([
            ("AWS_CONFIG_FILE", dir.path().to_str().unwrap().to_owned()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("nope").to_str().unwrap().to_owned(),
            ),
        ]);
        let s = ProfileSet::load(&Locations::from_env(&env)).unwrap();
        assert!(s.profile_names().is_empty());
    }
}
