//! The merged profile view of the config and credentials files, as botocore builds it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::ini::{self, IniFile};
use crate::{shell, Locations, ParseError, Properties};
use rustc_hash::FxHashMap;

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
        // Fast path for the common `profile NAME` spelling (same result as the split).
        if let Some(rest) = name.strip_prefix("profile ") {
            let plain =
                !rest.is_empty() && !rest.contains([' ', '\t', '\r', '\n', '\'', '"', '\\']);
            if plain {
                return SectionKind::Profile(rest.to_owned());
            }
        }
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

/// One parsed file: its text and the reader's spans over it.
#[derive(Default)]
struct Doc {
    text: Box<str>,
    parsed: ini::Parsed,
}

impl std::fmt::Debug for Doc {
    // Never the text: it holds secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc")
            .field("sections", &self.parsed.sections.len())
            .finish()
    }
}

impl Doc {
    fn parse(text: String, path: &Path) -> Result<Doc, LoadError> {
        let parsed = ini::parse_spans(&text).map_err(|error| LoadError {
            path: path.to_owned(),
            error,
        })?;
        Ok(Doc {
            text: text.into_boxed_str(),
            parsed,
        })
    }

    fn section_name(&self, i: usize) -> &str {
        self.parsed.sections[i].name.get(&self.text)
    }
}

/// A section whose properties are built the first time they are asked for.
#[derive(Clone, Debug, Default)]
struct Entry {
    section: u32,
    props: OnceLock<Properties>,
}

impl Entry {
    fn new(section: usize) -> Entry {
        Entry {
            section: section as u32,
            props: OnceLock::new(),
        }
    }

    fn props(&self, doc: &Doc) -> &Properties {
        self.props
            .get_or_init(|| doc.parsed.properties(&doc.text, self.section as usize))
    }
}

/// Named sections with Python `dict` assignment semantics: re-assigning a name keeps its
/// original position and takes the later section.
#[derive(Clone, Debug, Default)]
struct Group {
    entries: Vec<Entry>,
    index: FxHashMap<Box<str>, u32>,
}

impl Group {
    fn assign(&mut self, name: String, section: usize) {
        match self.index.get(name.as_str()) {
            Some(&i) => self.entries[i as usize] = Entry::new(section),
            None => {
                self.index
                    .insert(name.into_boxed_str(), self.entries.len() as u32);
                self.entries.push(Entry::new(section));
            }
        }
    }

    fn get<'a>(&'a self, doc: &'a Doc, name: &str) -> Option<&'a Properties> {
        let &i = self.index.get(name)?;
        Some(self.entries[i as usize].props(doc))
    }
}

/// A profile of the merged view: where its settings live, and the merged copy when both
/// files have it.
#[derive(Clone, Debug)]
struct Merged {
    name: Box<str>,
    config: Option<u32>,
    credentials: Option<u32>,
    both: OnceLock<Properties>,
}

/// The full map of both files: every profile, sso-session, services and plain section by
/// name, in botocore's order. Built only when something needs more than a few lookups.
#[derive(Clone, Debug, Default)]
struct Index {
    /// Config-file profiles (`build_profile_map`), by position in `merged`'s `config`.
    config_profiles: Vec<Entry>,
    /// Credentials-file sections, by position in `merged`'s `credentials`.
    credential_sections: Vec<Entry>,
    sso_sessions: Group,
    services: Group,
    plain: Group,
    /// The merged view (`Session.full_config["profiles"]`), in botocore's order.
    merged: Vec<Merged>,
    merged_index: FxHashMap<Box<str>, u32>,
}

impl Index {
    /// `build_profile_map`, then the credentials merge.
    fn build(config: &Doc, credentials: &Doc) -> Index {
        let mut set = Index::default();
        let sections = config.parsed.sections.len() + credentials.parsed.sections.len();
        set.merged.reserve(sections);
        set.merged_index.reserve(sections);
        set.config_profiles.reserve(config.parsed.sections.len());
        for i in 0..config.parsed.sections.len() {
            match SectionKind::of_config_section(config.section_name(i)) {
                SectionKind::Profile(p) => match set.merged_index.get(p.as_str()) {
                    Some(&k) => {
                        let slot = set.merged[k as usize].config.unwrap_or_default();
                        set.config_profiles[slot as usize] = Entry::new(i);
                    }
                    None => set.push_merged(p, Some(i), None),
                },
                SectionKind::SsoSession(s) => set.sso_sessions.assign(s, i),
                SectionKind::Services(s) => set.services.assign(s, i),
                SectionKind::Plain(n) => set.plain.assign(n, i),
                SectionKind::Dropped => {}
            }
        }
        for j in 0..credentials.parsed.sections.len() {
            let name = credentials.section_name(j);
            match set.merged_index.get(name) {
                Some(&k) => {
                    let slot = set.credential_sections.len() as u32;
                    set.credential_sections.push(Entry::new(j));
                    let m = &mut set.merged[k as usize];
                    m.credentials = Some(slot);
                    m.both = OnceLock::new();
                }
                None => set.push_merged(name.to_owned(), None, Some(j)),
            }
        }
        set
    }

    fn push_merged(&mut self, name: String, config: Option<usize>, credentials: Option<usize>) {
        let config = config.map(|i| {
            self.config_profiles.push(Entry::new(i));
            (self.config_profiles.len() - 1) as u32
        });
        let credentials = credentials.map(|j| {
            self.credential_sections.push(Entry::new(j));
            (self.credential_sections.len() - 1) as u32
        });
        let name = name.into_boxed_str();
        self.merged_index
            .insert(name.clone(), self.merged.len() as u32);
        self.merged.push(Merged {
            name,
            config,
            credentials,
            both: OnceLock::new(),
        });
    }

    fn merged_entry(&self, name: &str) -> Option<&Merged> {
        let &k = self.merged_index.get(name)?;
        Some(&self.merged[k as usize])
    }

    fn lookup<'a>(
        &'a self,
        docs: &'a Docs,
        kind: LookupKind,
        name: &str,
    ) -> Option<&'a Properties> {
        let m = self.merged_entry(name)?;
        let config = || {
            m.config
                .map(|i| self.config_profiles[i as usize].props(&docs.config))
        };
        let credentials = || {
            m.credentials
                .map(|j| self.credential_sections[j as usize].props(&docs.credentials))
        };
        match kind {
            LookupKind::Config => config(),
            LookupKind::Credentials => credentials(),
            LookupKind::Merged => match (config(), credentials()) {
                (Some(c), None) => Some(c),
                (None, Some(k)) => Some(k),
                (Some(c), Some(k)) => Some(m.both.get_or_init(|| merge(c, k))),
                (None, None) => None,
            },
        }
    }
}

/// Config keys overridden by credentials keys one by one (`dict.update`).
fn merge(config: &Properties, credentials: &Properties) -> Properties {
    let mut merged = config.clone();
    for (k, v) in credentials.iter() {
        merged.insert(k.to_owned(), v.clone());
    }
    merged
}

/// Which view of a profile a lookup wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LookupKind {
    Merged,
    Config,
    Credentials,
}

/// Both parsed files.
#[derive(Clone, Debug, Default)]
struct Docs {
    config: Arc<Doc>,
    credentials: Arc<Doc>,
}

/// One remembered lookup made without the index: name, view, and the settings (or none).
#[derive(Clone, Debug)]
struct Slot {
    name: Box<str>,
    kind: LookupKind,
    props: Option<Properties>,
}

/// How many lookups are answered by scanning the section lists before the full index is
/// built (a command usually needs one to three).
const SLOTS: usize = 8;

/// Both shared files, parsed: the config file's profiles, sso-sessions, services and plain
/// sections; the credentials file's raw sections; and the merged profile map (credentials keys
/// override config keys one by one).
///
/// Both files are checked in full when loaded (any error anywhere fails, as in botocore), but
/// nothing else is built up front: the first few profile lookups scan the section lists, and a
/// section's properties are only built when asked for. So looking up one profile in a file of
/// 10,000 costs one parse and one profile; the full name index is built on first need.
#[derive(Default)]
pub struct ProfileSet {
    docs: Docs,
    index: OnceLock<Index>,
    slots: [OnceLock<Slot>; SLOTS],
    /// Serialises picking a free slot.
    slot_lock: Mutex<()>,
}

impl Clone for ProfileSet {
    fn clone(&self) -> ProfileSet {
        ProfileSet {
            docs: self.docs.clone(),
            index: self.index.clone(),
            slots: self.slots.clone(),
            slot_lock: Mutex::new(()),
        }
    }
}

impl std::fmt::Debug for ProfileSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileSet")
            .field("config", &self.docs.config)
            .field("credentials", &self.docs.credentials)
            .finish()
    }
}

impl ProfileSet {
    /// Reads both files; missing or unreadable files are empty; a malformed file is an error.
    pub fn load(locations: &Locations) -> Result<ProfileSet, LoadError> {
        let config = load_doc(&locations.config_file)?;
        let credentials = load_doc(&locations.credentials_file)?;
        Ok(ProfileSet::build(config, credentials))
    }

    /// Builds the set from file texts (`config_path`/`credentials_path` only name the files in
    /// errors).
    pub fn from_texts(
        config: &str,
        config_path: PathBuf,
        credentials: &str,
        credentials_path: PathBuf,
    ) -> Result<ProfileSet, LoadError> {
        let config = Doc::parse(config.to_owned(), &config_path)?;
        let credentials = Doc::parse(credentials.to_owned(), &credentials_path)?;
        Ok(ProfileSet::build(config, credentials))
    }

    fn build(config: Doc, credentials: Doc) -> ProfileSet {
        ProfileSet {
            docs: Docs {
                config: Arc::new(config),
                credentials: Arc::new(credentials),
            },
            ..ProfileSet::default()
        }
    }

    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::build(&self.docs.config, &self.docs.credentials))
    }

    /// One profile view: from the index when it exists, else by scanning the sections and
    /// remembering the answer in a slot; when the slots run out, the index is built.
    fn lookup(&self, kind: LookupKind, name: &str) -> Option<&Properties> {
        if let Some(index) = self.index.get() {
            return index.lookup(&self.docs, kind, name);
        }
        fn remembered<'s>(
            slot: &'s OnceLock<Slot>,
            kind: LookupKind,
            name: &str,
        ) -> Option<Option<&'s Properties>> {
            slot.get()
                .filter(|s| s.kind == kind && &*s.name == name)
                .map(|s| s.props.as_ref())
        }
        let remembered = |slot| remembered(slot, kind, name);
        if let Some(found) = self.slots.iter().find_map(remembered) {
            return found;
        }
        let _guard = self.slot_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = self.slots.iter().find_map(remembered) {
            return found;
        }
        match self.slots.iter().find(|s| s.get().is_none()) {
            Some(slot) => slot
                .get_or_init(|| Slot {
                    name: name.into(),
                    kind,
                    props: self.scan(kind, name),
                })
                .props
                .as_ref(),
            None => self.index().lookup(&self.docs, kind, name),
        }
    }

    /// A profile view computed by scanning the section lists (no index).
    fn scan(&self, kind: LookupKind, name: &str) -> Option<Properties> {
        let config = &self.docs.config;
        let credentials = &self.docs.credentials;
        // The last config section that names the profile wins.
        let in_config = || {
            (0..config.parsed.sections.len())
                .rev()
                .find(|&i| names_profile(config.section_name(i), name))
                .map(|i| config.parsed.properties(&config.text, i))
        };
        let in_credentials = || {
            (0..credentials.parsed.sections.len())
                .find(|&j| credentials.section_name(j) == name)
                .map(|j| credentials.parsed.properties(&credentials.text, j))
        };
        match kind {
            LookupKind::Config => in_config(),
            LookupKind::Credentials => in_credentials(),
            LookupKind::Merged => match (in_config(), in_credentials()) {
                (Some(c), Some(k)) => Some(merge(&c, &k)),
                (c, k) => c.or(k),
            },
        }
    }

    /// The merged settings of profile `name`, if it exists in either file.
    pub fn profile(&self, name: &str) -> Option<&Properties> {
        self.lookup(LookupKind::Merged, name)
    }

    /// Profile names in botocore's order: config profiles in file order, then
    /// credentials-only sections in file order.
    pub fn profile_names(&self) -> Vec<&str> {
        self.index().merged.iter().map(|m| &*m.name).collect()
    }

    /// Profile `name` from the config file alone (`[default]`, `[profile name]`).
    pub fn config_profile(&self, name: &str) -> Option<&Properties> {
        self.lookup(LookupKind::Config, name)
    }

    /// Section `name` of the credentials file alone (the raw section name).
    pub fn credentials_section(&self, name: &str) -> Option<&Properties> {
        self.lookup(LookupKind::Credentials, name)
    }

    /// The `[sso-session name]` section of the config file.
    pub fn sso_session(&self, name: &str) -> Option<&Properties> {
        self.index().sso_sessions.get(&self.docs.config, name)
    }

    /// The `[services name]` section of the config file.
    pub fn services(&self, name: &str) -> Option<&Properties> {
        self.index().services.get(&self.docs.config, name)
    }

    /// A plain (non-profile) config section such as `[preview]` or `[plugins]`.
    pub fn plain_section(&self, name: &str) -> Option<&Properties> {
        self.index().plain.get(&self.docs.config, name)
    }
}

/// Which shared file a setting is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SharedFile {
    /// The config file (`~/.aws/config`, `AWS_CONFIG_FILE`).
    Config,
    /// The credentials file (`~/.aws/credentials`, `AWS_SHARED_CREDENTIALS_FILE`).
    Credentials,
}

/// Where a setting is written: the file, the raw section name and the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: SharedFile,
    /// The raw section name (`profile dev`, `default`, `sso-session s`).
    pub section: String,
    /// The 1-based line of the key (or of the nested sub-key).
    pub line: usize,
}

impl ProfileSet {
    /// Where the merged view of profile `profile` gets `key`: the credentials file's section
    /// when it sets the key (its keys override the config file's), else the config file's.
    pub fn origin(&self, profile: &str, key: &str) -> Option<Origin> {
        self.credentials_origin(profile, key)
            .or_else(|| self.config_origin(profile, key))
    }

    /// Where the config file's profile `profile` (the last section naming it) sets `key`.
    pub fn config_origin(&self, profile: &str, key: &str) -> Option<Origin> {
        let doc = &self.docs.config;
        let i = (0..doc.parsed.sections.len())
            .rev()
            .find(|&i| names_profile(doc.section_name(i), profile))?;
        key_origin(doc, SharedFile::Config, i, key, None)
    }

    /// Where credentials-file section `profile` sets `key`.
    pub fn credentials_origin(&self, profile: &str, key: &str) -> Option<Origin> {
        let doc = &self.docs.credentials;
        let i = (0..doc.parsed.sections.len()).find(|&j| doc.section_name(j) == profile)?;
        key_origin(doc, SharedFile::Credentials, i, key, None)
    }

    /// Where `[sso-session name]` sets `key`.
    pub fn sso_session_origin(&self, name: &str, key: &str) -> Option<Origin> {
        self.kind_origin(SectionKind::SsoSession(name.to_owned()), key, None)
    }

    /// Where `[services name]` sets sub-key `sub` of `service` (`sts =` + `endpoint_url = …`).
    pub fn services_origin(&self, name: &str, service: &str, sub: &str) -> Option<Origin> {
        self.kind_origin(SectionKind::Services(name.to_owned()), service, Some(sub))
    }

    /// The 1-based header line of the config file's profile `profile` and of the credentials
    /// file's section `profile`, when they exist.
    pub fn section_lines(&self, profile: &str) -> (Option<Origin>, Option<Origin>) {
        let header = |doc: &Doc, file, i: usize| Origin {
            file,
            section: doc.section_name(i).to_owned(),
            line: doc.parsed.sections[i].line(),
        };
        let config = &self.docs.config;
        let credentials = &self.docs.credentials;
        (
            (0..config.parsed.sections.len())
                .rev()
                .find(|&i| names_profile(config.section_name(i), profile))
                .map(|i| header(config, SharedFile::Config, i)),
            (0..credentials.parsed.sections.len())
                .find(|&j| credentials.section_name(j) == profile)
                .map(|j| header(credentials, SharedFile::Credentials, j)),
        )
    }

    /// Names of the `[sso-session NAME]` sections, in file order.
    pub fn sso_session_names(&self) -> Vec<&str> {
        let mut names: Vec<(u32, &str)> = self
            .index()
            .sso_sessions
            .index
            .iter()
            .map(|(n, &i)| (i, &**n))
            .collect();
        names.sort_unstable();
        names.into_iter().map(|(_, n)| n).collect()
    }

    fn kind_origin(&self, kind: SectionKind, key: &str, sub: Option<&str>) -> Option<Origin> {
        let doc = &self.docs.config;
        let i = (0..doc.parsed.sections.len())
            .rev()
            .find(|&i| SectionKind::of_config_section(doc.section_name(i)) == kind)?;
        key_origin(doc, SharedFile::Config, i, key, sub)
    }
}

fn key_origin(
    doc: &Doc,
    file: SharedFile,
    i: usize,
    key: &str,
    sub: Option<&str>,
) -> Option<Origin> {
    let line = doc.parsed.key_line(&doc.text, i, key, sub)?;
    Some(Origin {
        file,
        section: doc.section_name(i).to_owned(),
        line,
    })
}

/// Whether config section `section` is profile `name` for `build_profile_map`, without
/// allocating for the usual `[profile NAME]` / `[default]` spellings.
fn names_profile(section: &str, name: &str) -> bool {
    if let Some(rest) = section.strip_prefix("profile ") {
        let plain = !rest.is_empty() && !rest.contains([' ', '\t', '\r', '\n', '\'', '"', '\\']);
        if plain {
            return rest == name;
        }
    }
    if !section.starts_with("profile") {
        return section == "default" && name == "default";
    }
    SectionKind::of_config_section(section) == SectionKind::Profile(name.to_owned())
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

/// One shared file for the merged view: absent, unreadable or not a regular file is empty.
fn load_doc(path: &Path) -> Result<Doc, LoadError> {
    let Some(bytes) = read_if_file(path) else {
        return Ok(Doc::default());
    };
    let text = String::from_utf8(bytes).map_err(|e| LoadError {
        path: path.to_owned(),
        error: ini::decode(e.as_bytes())
            .err()
            .unwrap_or_else(|| ParseError {
                line: 1,
                message: "the file is not valid UTF-8".to_owned(),
            }),
    })?;
    Doc::parse(text, path)
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
    fn lookups_before_and_after_the_index_agree() {
        let mut config = String::from("[default]\nregion = d\n[profile \"q r\"]\nregion = q\n");
        let mut creds = String::new();
        for i in 0..20 {
            config.push_str(&format!("[profile p{i}]\nregion = r{i}\n"));
            creds.push_str(&format!("[p{i}]\naws_access_key_id = K{i}\n"));
        }
        creds.push_str("[only-creds]\nregion = c\n");
        let scanned = set(&config, &creds);
        let indexed = set(&config, &creds);
        let _ = indexed.profile_names();
        let mut names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        names.extend(["default", "q r", "only-creds", "missing"].map(String::from));
        for name in &names {
            for _ in 0..2 {
                assert_eq!(scanned.profile(name), indexed.profile(name), "{name}");
                assert_eq!(
                    scanned.config_profile(name),
                    indexed.config_profile(name),
                    "{name}"
                );
                assert_eq!(
                    scanned.credentials_section(name),
                    indexed.credentials_section(name),
                    "{name}"
                );
            }
        }
        assert_eq!(get(&scanned, "p3", "aws_access_key_id"), Some("K3"));
        assert_eq!(get(&scanned, "q r", "region"), Some("q"));
        assert!(
            scanned.index.get().is_some(),
            "more than {SLOTS} lookups build the index"
        );
        let fresh = set(&config, &creds);
        assert_eq!(get(&fresh, "p19", "region"), Some("r19"));
        assert!(fresh.index.get().is_none(), "one lookup needs no index");
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
    fn origins_name_file_section_and_line() {
        let config = "# c\n[default]\nregion = us-east-1\n\n[profile dev]\nrole_arn = r\n  continued\nREGION = eu-west-1\n[sso-session s]\nsso_region = us-east-1\n[services x]\nsts =\n  endpoint_url = http://a\n  endpoint_url = http://b\n[profile 'dev']\nregion = ap-south-1\n";
        let credentials = "[dev]\r\naws_access_key_id = A\r\naws_secret_access_key = S\r\n";
        let s = set(config, credentials);
        let at = |o: Option<Origin>| o.map(|o| (o.file, o.section, o.line));
        // The later [profile dev] wins wholesale.
        assert_eq!(
            at(s.origin("dev", "region")),
            Some((SharedFile::Config, "profile 'dev'".into(), 16))
        );
        assert_eq!(at(s.origin("dev", "role_arn")), None);
        assert_eq!(
            at(s.origin("dev", "aws_secret_access_key")),
            Some((SharedFile::Credentials, "dev".into(), 3))
        );
        assert_eq!(
            at(s.origin("default", "region")),
            Some((SharedFile::Config, "default".into(), 3))
        );
        assert_eq!(
            at(s.sso_session_origin("s", "sso_region")).map(|o| o.2),
            Some(10)
        );
        assert_eq!(
            at(s.services_origin("x", "sts", "endpoint_url")).map(|o| o.2),
            Some(14)
        );
        assert_eq!(s.sso_session_names(), vec!["s"]);
        let (c, k) = s.section_lines("dev");
        assert_eq!((c.unwrap().line, k.unwrap().line), (15, 1));
        // [DEFAULT] inheritance (the eager reader) and continuation lines.
        let s = set(
            "[DEFAULT]\nregion = x\n[profile p]\nrole_arn = a\n  b\noutput = json\n",
            "",
        );
        assert_eq!(at(s.origin("p", "region")).map(|o| o.2), Some(2));
        assert_eq!(at(s.origin("p", "output")).map(|o| o.2), Some(6));
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
