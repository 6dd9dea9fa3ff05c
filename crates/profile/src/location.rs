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
        let home = env.get("HOME").map(PathBuf::from);
        let config_file_setting = env
            .get("AWS_CONFIG_FILE")
            .unwrap_or(DEFAULT_CONFIG_FILE)
            .to_owned();
        let credentials_file_setting = env
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or(DEFAULT_CREDENTIALS_FILE)
            .to_owned();
        Locations {
            config_file: PathBuf::from(expand_user(&expand_vars(&config_file_setting, env), env)),
            credentials_file: PathBuf::from(expand_user(
                &expand_vars(&credentials_file_setting, env),
                env,
            )),
            config_file_setting,
            credentials_file_setting,
            home,
        }
    }

    /// The config file path `configure` writes: the one the reader reads. (The CLI's writer
    /// expands only `~` — `os.path.expanduser` in v2 `set.py` `_get_config_file` — so a
    /// setting such as `$HOME/cfg` makes it write a literal `./$HOME/cfg` that nothing reads,
    /// and the value is lost; awsid writes where it reads.)
    pub fn config_file_for_write(&self) -> PathBuf {
        self.config_file.clone()
    }

    /// The credentials file path `configure` writes: the one the reader reads (see
    /// [`Locations::config_file_for_write`]).
    pub fn credentials_file_for_write(&self) -> PathBuf {
        self.credentials_file.clone()
    }

    /// `~/.aws/cli/cache`: the assume-role / web-identity (and v2 SSO) credential cache.
    pub fn cli_cache_dir(&self) -> PathBuf {
        PathBuf::from(self.expand_home("~/.aws/cli/cache"))
    }

    /// `~/.aws/sso/cache`: the SSO token cache.
    pub fn sso_cache_dir(&self) -> PathBuf {
        PathBuf::from(self.expand_home("~/.aws/sso/cache"))
    }

    /// `os.path.expanduser` with this snapshot's `HOME`.
    pub fn expand_home(&self, path: &str) -> String {
        expand_user_with(path, self.home.as_ref().and_then(|h| h.to_str()))
    }
}

/// The reference's default config file setting.
pub const DEFAULT_CONFIG_FILE: &str = "~/.aws/config";
/// The reference's default credentials file setting.
pub const DEFAULT_CREDENTIALS_FILE: &str = "~/.aws/credentials";

/// `os.path.expandvars` (POSIX): `$NAME` and `${NAME}` with `NAME` made of ASCII word
/// characters (any text inside braces); unknown variables are left as written.
pub fn expand_vars(path: &str, env: &Env) -> String {
    if !path.contains('$') {
        return path.to_owned();
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let rest = &path[i + 1..];
            let (name, len) = if let Some(inner) = rest.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = rest
                    .bytes()
                    .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
                    .unwrap_or(rest.len());
                (&rest[..end], end)
            };
            if len > 0 {
                if let Some(value) = env.get(name) {
                    out.push_str(value);
                    i += 1 + len;
                    continue;
                }
                // Unknown: keep the reference text and continue after it.
                out.push_str(&path[i..i + 1 + len]);
                i += 1 + len;
                continue;
            }
        }
        let ch = path[i..].chars().next().unwrap_or('$');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// `os.path.expanduser` (POSIX): `~` is `HOME` (or the password database when `HOME` is
/// unset), `~user` is that user's home directory; anything else is returned unchanged.
pub fn expand_user(path: &str, env: &Env) -> String {
    expand_user_with(path, env.get("HOME"))
}

fn expand_user_with(path: &str, home: Option<&str>) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let user_home = if user.is_empty() {
        match home {
            Some(h) => h.to_owned(),
            None => match passwd_home(None) {
                Some(h) => h,
                None => return path.to_owned(),
            },
        }
    } else {
        match passwd_home(Some(user)) {
            Some(h) => h,
            None => return path.to_owned(),
        }
    };
    let joined = format!("{}{}", user_home.trim_end_matches('/'), tail);
    if joined.is_empty() {
        "/".to_owned()
    } else {
        joined
    }
}

/// Home directory of `user` (or of the current user) from `/etc/passwd`.
fn passwd_home(user: Option<&str>) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    #[cfg(unix)]
    let uid = {
        use std::os::unix::fs::MetadataExt;
        // The owner of /proc/self is the effective user; avoids an unsafe getuid() call.
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    };
    #[cfg(not(unix))]
    let uid: Option<u32> = None;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 {
            return None;
        }
        let matches = match user {
            Some(u) => fields[0] == u,
            None => uid.is_some_and(|id| fields[2].parse::<u32>().ok() == Some(id)),
        };
        matches.then(|| fields[5].to_owned())
    })
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
        let (name, source) = if let Some(name) = flag {
            (name, ProfileSource::Flag)
        } else if let Some(name) = env.get("AWS_PROFILE") {
            (name, ProfileSource::AwsProfile)
        } else if let Some(name) = env.get("AWS_DEFAULT_PROFILE") {
            (name, ProfileSource::AwsDefaultProfile)
        } else {
            ("default", ProfileSource::Default)
        };
        ProfileSelection {
            name: name.to_owned(),
            source,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_and_overrides() {
        let l = Locations::from_env(&env(&[("HOME", "/home/u")]));
        assert_eq!(l.config_file, PathBuf::from("/home/u/.aws/config"));
        assert_eq!(
            l.credentials_file,
            PathBuf::from("/home/u/.aws/credentials")
        );
        assert_eq!(l.config_file_setting, "~/.aws/config");
        assert_eq!(l.cli_cache_dir(), PathBuf::from("/home/u/.aws/cli/cache"));
        assert_eq!(l.sso_cache_dir(), PathBuf::from("/home/u/.aws/sso/cache"));

        let l = Locations::from_env(&env(&[("HOME", "/h"), ("AWS_CONFIG_FILE", "")]));
        assert_eq!(l.config_file, PathBuf::from(""));
    }

    #[test]
    fn the_writer_writes_where_the_reader_reads() {
        let e = env(&[
            ("HOME", "/h"),
            ("X", "/x"),
            ("AWS_CONFIG_FILE", "$X/cfg"),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/${X}c"),
        ]);
        let l = Locations::from_env(&e);
        assert_eq!(l.config_file, PathBuf::from("/x/cfg"));
        assert_eq!(l.config_file_for_write(), PathBuf::from("/x/cfg"));
        assert_eq!(l.credentials_file, PathBuf::from("/h//xc"));
        assert_eq!(l.credentials_file_for_write(), PathBuf::from("/h//xc"));
    }

    #[test]
    fn expandvars_like_python() {
        let e = env(&[("A", "1"), ("A_B", "2")]);
        assert_eq!(
            expand_vars("$A/$A_B/${A}x/$NOPE/${NOPE}/${}/$/$-", &e),
            "1/2/1x/$NOPE/${NOPE}/${}/$/$-"
        );
        assert_eq!(expand_vars("${A", &e), "${A");
    }

    #[test]
    fn expanduser_like_python() {
        let e = env(&[("HOME", "/home/u/")]);
        assert_eq!(expand_user("~", &e), "/home/u");
        assert_eq!(expand_user("~/x", &e), "/home/u/x");
        assert_eq!(expand_user("a/~", &e), "a/~");
        assert_eq!(expand_user("~/x", &env(&[("HOME", "/")])), "/x");
        assert_eq!(expand_user("~", &env(&[("HOME", "")])), "/");
        assert_eq!(expand_user("~root/x", &e), "/root/x");
        assert_eq!(
            expand_user("~no_such_user_here/x", &e),
            "~no_such_user_here/x"
        );
    }

    #[test]
    fn selection_follows_v2_order() {
        let both = env(&[("AWS_PROFILE", "a"), ("AWS_DEFAULT_PROFILE", "b")]);
        assert_eq!(ProfileSelection::resolve(None, &both).name, "a");
        assert_eq!(
            ProfileSelection::resolve(Some("f"), &both).source,
            ProfileSource::Flag
        );
        let only_default = env(&[("AWS_DEFAULT_PROFILE", "b")]);
        assert_eq!(
            ProfileSelection::resolve(None, &only_default).source,
            ProfileSource::AwsDefaultProfile
        );
        let none = ProfileSelection::resolve(None, &Env::default());
        assert_eq!((none.name.as_str(), none.is_selected()), ("default", false));
        assert_eq!(
            ProfileSelection::resolve(None, &env(&[("AWS_PROFILE", "")])).name,
            ""
        );
    }
}
