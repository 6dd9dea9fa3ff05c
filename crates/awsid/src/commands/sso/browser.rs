//! Opening a URL in the user's browser, as `sso login` does it.

/// Opens a URL for the user.
pub(crate) trait Browser {
    /// Tries to open `url`; `false` when no browser could be started.
    fn open(&self, url: &str) -> bool;
}

/// The desktop browser: each command of `$BROWSER` (`:`-separated; `%s` is replaced by the
/// URL, else the URL is appended), then `xdg-open`. Started in the background, never waited
/// for (a browser that talks to the callback listener must not block the login).
pub(crate) struct SystemBrowser {
    browser_var: Option<String>,
}

impl SystemBrowser {
    /// The browser configured by `env`'s `BROWSER`.
    pub(crate) fn from_env(env: &awsid_profile::Env) -> SystemBrowser {
        SystemBrowser {
            browser_var: env.get_non_empty("BROWSER").map(str::to_string),
        }
    }

    /// The command lines to try, in order.
    fn commands(&self, url: &str) -> Vec<Vec<String>> {
        let mut commands: Vec<Vec<String>> = Vec::new();
        if let Some(var) = &self.browser_var {
            for entry in var.split(':').filter(|e| !e.trim().is_empty()) {
                let Ok(mut words) = awsid_profile::shell::split(entry) else {
                    continue;
                };
                if words.iter().any(|w| w.contains("%s")) {
                    words = words.into_iter().map(|w| w.replace("%s", url)).collect();
                } else {
                    words.push(url.to_string());
                }
                commands.push(words);
            }
        }
        commands.push(vec!["xdg-open".into(), url.into()]);
        commands
    }
}

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> bool {
        for words in self.commands(url) {
            let Some((program, args)) = words.split_first() else {
                continue;
            };
            let spawned = std::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            match spawned {
                Ok(mut child) => {
                    // Reap it whenever it ends.
                    std::thread::spawn(move || child.wait());
                    return true;
                }
                Err(e) => tracing::debug!("cannot start browser {program}: {e}"),
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable_commands_then_xdg_open() {
        let env = awsid_profile::Env::from_pairs([("BROWSER", "firefox --new-tab:lynx '%s' -x:")]);
        assert_eq!(
            SystemBrowser::from_env(&env).commands("http://u"),
            [
                vec!["firefox", "--new-tab", "http://u"],
                vec!["lynx", "http://u", "-x"],
                vec!["xdg-open", "http://u"],
            ]
        );
        let none = SystemBrowser::from_env(&awsid_profile::Env::from_pairs([("BROWSER", "")]));
        assert_eq!(none.commands("u"), [vec!["xdg-open", "u"]]);
    }
}
