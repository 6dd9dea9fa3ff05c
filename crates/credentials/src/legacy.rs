//! The legacy providers: `ec2-credentials-file` (`AWS_CREDENTIAL_FILE`) and `boto-config`
//! (`BOTO_CONFIG`, `/etc/boto.cfg`, `~/.boto`), `docs/spec/chain.md` §3.4–3.5.

use std::path::PathBuf;

use awsid_profile::Env;

use crate::{Credentials, CredentialsError, Provider};

fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path.strip_prefix('~'), env.get("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// `AWS_CREDENTIAL_FILE`: loose `key=value` lines with `AWSAccessKeyId` / `AWSSecretKey`.
#[derive(Clone, Debug)]
pub struct Ec2CredentialFileProvider {
    path: PathBuf,
}

impl Ec2CredentialFileProvider {
    /// A provider for the file named by `setting` (`~` expanded from `HOME`).
    pub fn new(setting: &str, env: &Env) -> Ec2CredentialFileProvider {
        Ec2CredentialFileProvider {
            path: expand_home(setting, env),
        }
    }
}

impl Provider for Ec2CredentialFileProvider {
    fn method(&self) -> &'static str {
        "ec2-credentials-file"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|_| CredentialsError::ConfigNotFound(self.path.clone()))?;
        let mut akid = None;
        let mut secret = None;
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                match k.trim() {
                    "AWSAccessKeyId" => akid = Some(v.trim().to_string()),
                    "AWSSecretKey" => secret = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let Some(akid) = akid else { return Ok(None) };
        // The reference raises a raw KeyError here; name what is missing instead.
        let Some(secret) = secret else {
            return Err(CredentialsError::partial(
                "ec2-credentials-file",
                "AWSSecretKey",
            ));
        };
        Ok(Some(Credentials::new(akid, secret, "ec2-credentials-file")))
    }
}

/// Boto2 config files, section `[Credentials]`.
#[derive(Clone, Debug)]
pub struct BotoProvider {
    paths: Vec<PathBuf>,
}

impl BotoProvider {
    /// `BOTO_CONFIG` if set, else `/etc/boto.cfg` then `~/.boto`.
    pub fn new(env: &Env) -> BotoProvider {
        let paths = match env.get("BOTO_CONFIG") {
            Some(p) => vec![expand_home(p, env)],
            None => vec![PathBuf::from("/etc/boto.cfg"), expand_home("~/.boto", env)],
        };
        BotoProvider { paths }
    }
}

impl Provider for BotoProvider {
    fn method(&self) -> &'static str {
        "boto-config"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        for path in &self.paths {
            if !path.is_file() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let ini =
                awsid_profile::ini::parse(&text).map_err(|error| awsid_profile::LoadError {
                    path: path.clone(),
                    error,
                })?;
            let Some(section) = ini.sections.iter().find(|s| s.name == "Credentials") else {
                continue;
            };
            let p = &section.properties;
            let Some(akid) = p.get_str("aws_access_key_id") else {
                continue;
            };
            let Some(secret) = p.get_str("aws_secret_access_key") else {
                return Err(CredentialsError::partial(
                    "boto-config",
                    "aws_secret_access_key",
                ));
            };
            return Ok(Some(Credentials::new(akid, secret, "boto-config")));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_credential_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c");
        std::fs::write(&f, "junk\nAWSAccessKeyId = AK\nAWSSecretKey=S=K\n").unwrap();
        let env = Env::from_pairs([("HOME", dir.path().display().to_string())]);
        let c = Ec2CredentialFileProvider::new("~/c", &env)
            .provide()
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "AK");
        assert_eq!(c.secret_access_key.expose(), "S=K");
        let e = Ec2CredentialFileProvider::new("~/missing", &env)
            .provide()
            .unwrap_err();
        assert!(
            e.to_string().starts_with("The specified config file ("),
            "{e}"
        );
    }
}
