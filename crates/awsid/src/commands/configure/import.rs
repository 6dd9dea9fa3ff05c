//! `configure import --csv CSV`: access keys from an IAM console CSV into the credentials file
//! (v2 `importer.py`).

use std::io::Write;

use awsid_profile::location::{expand_user, expand_vars};
use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::{Env, Locations};
use clap::Args;

use super::{load, write_error};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CSV text from the IAM console (normally `file://credentials.csv`); it must have
    /// the "User name", "Access key ID" and "Secret access key" columns.
    #[arg(long)]
    pub csv: String,
    /// Skip rows that lack a value instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// A prefix for every imported profile name.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    pub profile_prefix: String,
}

/// One imported row: profile name, access key id, secret access key.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    user: String,
    access_key_id: String,
    secret_access_key: String,
}

/// The three columns the importer needs, as the reference names them in errors.
const HEADERS: [&str; 3] = ["User Name", "Access Key ID", "Secret Access key"];

/// Runs `configure import`.
pub(super) fn run(_global: &GlobalArgs, args: ImportArgs, env: &Env) -> Result<u8, CliError> {
    // Like every command, refuse to run on a malformed config or credentials file.
    load(&Locations::from_env(env))?;
    let csv = load_param(&args.csv, env)?;
    let rows = parse_csv(&csv, !args.skip_invalid).map_err(CliError::general)?;
    let path = Locations::from_env(env).credentials_file_for_write();
    for row in &rows {
        let edit = SectionEdit {
            section: format!("{}{}", args.profile_prefix, row.user),
            values: vec![
                (
                    "aws_access_key_id".to_owned(),
                    EditValue::Scalar(row.access_key_id.clone()),
                ),
                (
                    "aws_secret_access_key".to_owned(),
                    EditValue::Scalar(row.secret_access_key.clone()),
                ),
            ],
        };
        update_file_as(FileKind::Credentials, &path, &edit).map_err(write_error)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "Successfully imported {} profile(s)", rows.len())?;
    out.flush()?;
    Ok(0)
}

/// The CLI's parameter files: `file://PATH` is replaced by the file's text.
fn load_param(raw: &str, env: &Env) -> Result<String, CliError> {
    let Some(path) = raw.strip_prefix("file://") else {
        return Ok(raw.to_owned());
    };
    let expanded = expand_vars(&expand_user(path, env), env);
    std::fs::read_to_string(&expanded).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("[Errno 2] No such file or directory: '{expanded}'")
            }
            _ => e.to_string(),
        };
        CliError::param_validation(format!(
            "Error parsing parameter '--csv': Unable to load paramfile {raw}: {reason}"
        ))
    })
}

/// `CSVCredentialParser.parse_credentials`: naive comma splitting, headers matched
/// case-insensitively, rows numbered from 1.
fn parse_csv(csv: &str, strict: bool) -> Result<Vec<Row>, String> {
    if csv.trim_matches(char::is_whitespace).is_empty() {
        return Err("Provided CSV contains no contents".to_owned());
    }
    let lines = awsid_profile::py::splitlines(csv);
    let format = |h: &str| {
        h.strip_prefix('\u{feff}')
            .unwrap_or(h)
            .to_lowercase()
            .trim()
            .to_owned()
    };
    let headers: Vec<String> = lines[0].split(',').map(format).collect();
    let mut indices = [0usize; 3];
    for (slot, header) in indices.iter_mut().zip(HEADERS) {
        let wanted = format(header);
        *slot = headers
            .iter()
            .position(|h| *h == wanted)
            .ok_or_else(|| format!("Expected header \"{header}\" not found"))?;
    }
    let mut rows = Vec::new();
    for (n, line) in lines[1..].iter().enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        let mut values = Vec::with_capacity(3);
        let mut missing = None;
        for (&index, header) in indices.iter().zip(HEADERS) {
            let value = cols.get(index).map(|c| c.trim()).unwrap_or("");
            if value.is_empty() {
                missing = Some(header);
                break;
            }
            values.push(value.to_owned());
        }
        if let Some(header) = missing {
            if strict {
                return Err(format!(
                    "Failed to parse entry #{}: Row missing value for header \"{header}\"",
                    n + 1
                ));
            }
            continue;
        }
        let mut values = values.into_iter();
        rows.push(Row {
            user: values.next().unwrap_or_default(),
            access_key_id: values.next().unwrap_or_default(),
            secret_access_key: values.next().unwrap_or_default(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_csv() {
        let csv = "\u{feff}User name,Password,Access key ID,Secret access key,Console login link\r\nalice,pw,AKIA1,S1,https://x\r\nbob,pw,AKIA2,S2,https://x\r\n";
        let rows = parse_csv(csv, true).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            Row {
                user: "bob".into(),
                access_key_id: "AKIA2".into(),
                secret_access_key: "S2".into()
            }
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_csv("  \n", true).unwrap_err(),
            "Provided CSV contains no contents"
        );
        assert_eq!(
            parse_csv("User Name,Access Key ID\nx,y\n", true).unwrap_err(),
            "Expected header \"Secret Access key\" not found"
        );
        let csv = "User Name,Access Key ID,Secret Access Key\na,AK,SK\nb,,SK\n";
        assert_eq!(
            parse_csv(csv, true).unwrap_err(),
            "Failed to parse entry #2: Row missing value for header \"Access Key ID\""
        );
        assert_eq!(parse_csv(csv, false).unwrap().len(), 1);
    }
}
