//! The profile data the chain reads, as a trait so plans can be built from a [`ProfileSet`] or
//! from in-memory maps (conformance vectors, unit tests).

use std::collections::BTreeMap;

use awsid_profile::{ProfileSet, Properties, Value};

/// Read access to the shared files as the chain needs it (see `docs/spec/files.md` §5 for who reads what).
pub trait ProfileData {
    /// Merged settings of profile `name` (credentials keys override config keys).
    fn profile(&self, name: &str) -> Option<&Properties>;
    /// Profile `name` from the config file alone.
    fn config_profile(&self, name: &str) -> Option<&Properties>;
    /// Section `name` of the credentials file alone.
    fn credentials_section(&self, name: &str) -> Option<&Properties>;
    /// The `[sso-session name]` section.
    fn sso_session(&self, name: &str) -> Option<&Properties>;
    /// The `[services name]` section.
    fn services(&self, name: &str) -> Option<&Properties>;
}

impl ProfileData for ProfileSet {
    fn profile(&self, name: &str) -> Option<&Properties> {
        ProfileSet::profile(self, name)
    }
    fn config_profile(&self, name: &str) -> Option<&Properties> {
        ProfileSet::config_profile(self, name)
    }
    fn credentials_section(&self, name: &str) -> Option<&Properties> {
        ProfileSet::credentials_section(self, name)
    }
    fn sso_session(&self, name: &str) -> Option<&Properties> {
        ProfileSet::sso_session(self, name)
    }
    fn services(&self, name: &str) -> Option<&Properties> {
        ProfileSet::services(self, name)
    }
}

/// Profiles held in memory: each profile lives in the config file, the credentials file, or
/// both; the merged view is computed like botocore's.
#[derive(Clone, Debug, Default)]
pub struct MemoryProfiles {
    config: BTreeMap<String, Properties>,
    credentials: BTreeMap<String, Properties>,
    merged: BTreeMap<String, Properties>,
    sso_sessions: BTreeMap<String, Properties>,
    services: BTreeMap<String, Properties>,
}

/// Builds a [`Properties`] from string pairs.
pub fn properties<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Properties {
    let mut p = Properties::default();
    for (k, v) in pairs {
        p.insert(k.to_string(), Value::Scalar(v.to_string()));
    }
    p
}

impl MemoryProfiles {
    /// An empty set.
    pub fn new() -> MemoryProfiles {
        MemoryProfiles::default()
    }

    /// Adds (replaces) profile `name` of the config file.
    pub fn config(mut self, name: &str, props: Properties) -> MemoryProfiles {
        self.config.insert(name.to_string(), props);
        self.remerge();
        self
    }

    /// Adds (replaces) section `name` of the credentials file.
    pub fn credentials(mut self, name: &str, props: Properties) -> MemoryProfiles {
        self.credentials.insert(name.to_string(), props);
        self.remerge();
        self
    }

    /// Adds an `[sso-session name]` section.
    pub fn sso_session(mut self, name: &str, props: Properties) -> MemoryProfiles {
        self.sso_sessions.insert(name.to_string(), props);
        self
    }

    /// Adds a `[services name]` section.
    pub fn services(mut self, name: &str, props: Properties) -> MemoryProfiles {
        self.services.insert(name.to_string(), props);
        self
    }

    fn remerge(&mut self) {
        let mut merged = self.config.clone();
        for (name, props) in &self.credentials {
            let entry = merged.entry(name.clone()).or_default();
            for (k, v) in props.iter() {
                entry.insert(k.to_string(), v.clone());
            }
        }
        self.merged = merged;
    }
}

impl ProfileData for MemoryProfiles {
    fn profile(&self, name: &str) -> Option<&Properties> {
        self.merged.get(name)
    }
    fn config_profile(&self, name: &str) -> Option<&Properties> {
        self.config.get(name)
    }
    fn credentials_section(&self, name: &str) -> Option<&Properties> {
        self.credentials.get(name)
    }
    fn sso_session(&self, name: &str) -> Option<&Properties> {
        self.sso_sessions.get(name)
    }
    fn services(&self, name: &str) -> Option<&Properties> {
        self.services.get(name)
    }
}
