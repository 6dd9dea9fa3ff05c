//! A parser for the few command lines that run in hot loops (`configure get`,
//! `configure export-credentials`, `configure list`, `configure list-profiles`,
//! `sts get-caller-identity`, `credential-process`), so they do not pay for building clap's whole command tree
//! (half the instructions of a `configure export-credentials` run).
//!
//! It accepts a strict subset of the grammar and answers `None` for anything else — help,
//! version, unknown or repeated options, odd values — which then goes to clap. Whatever it
//! accepts, clap parses to the same [`Cli`]; a property test below holds it to that.

use std::ffi::OsString;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::commands::configure::{ConfigureArgs, ConfigureCommand};
use crate::commands::{credential_process, export, sts};

/// `--format` values of `configure export-credentials` (the clap value parser's list).
const EXPORT_FORMATS: [&str; 6] = [
    "process",
    "env",
    "env-no-export",
    "powershell",
    "windows-cmd",
    "fish",
];

/// Parses `argv` (program name first) when it is one of the hot command lines in its plain
/// form; `None` means "let clap decide".
pub(crate) fn parse(argv: &[OsString]) -> Option<Cli> {
    let mut global = GlobalArgs {
        profile: None,
        region: None,
        output: None,
        endpoint_url: None,
        debug: false,
        cli_error_format: None,
    };
    let mut words: Vec<&str> = Vec::with_capacity(3);
    let mut format: Option<&str> = None;
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_str()?;
        if !arg.starts_with('-') {
            words.push(arg);
            continue;
        }
        if arg == "--debug" {
            if global.debug {
                return None;
            }
            global.debug = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        let value = match inline {
            Some(v) => v,
            None => args.next()?.to_str()?,
        };
        // Empty values and values that look like options are clap's to judge.
        if value.is_empty() || value.starts_with('-') {
            return None;
        }
        let slot = match name {
            "--profile" => &mut global.profile,
            "--region" => &mut global.region,
            "--output" if crate::cli::OUTPUT_CHOICES.contains(&value) => &mut global.output,
            "--endpoint-url" => &mut global.endpoint_url,
            "--format" if words == ["configure", "export-credentials"] && format.is_none() => {
                format = Some(EXPORT_FORMATS.iter().find(|f| **f == value)?);
                continue;
            }
            _ => return None,
        };
        if slot.replace(value.to_string()).is_some() {
            return None;
        }
    }
    let command = match words.as_slice() {
        ["configure", "export-credentials"] => {
            configure(ConfigureCommand::ExportCredentials(export::ExportArgs {
                format: format.unwrap_or("process").to_string(),
            }))
        }
        _ if format.is_some() => return None,
        ["configure", "get", varname] => {
            configure(ConfigureCommand::Get(crate::commands::configure::GetArgs {
                varname: varname.to_string(),
                sso_session: None,
                services: None,
            }))
        }
        ["configure", "list"] => configure(ConfigureCommand::List(
            crate::commands::configure::ListArgs {},
        )),
        ["configure", "list-profiles"] => configure(ConfigureCommand::ListProfiles(
            crate::commands::configure::ListProfilesArgs {},
        )),
        ["sts", "get-caller-identity"] => Command::Sts(sts::StsArgs {
            command: sts::StsCommand::GetCallerIdentity,
        }),
        ["credential-process"] => {
            Command::CredentialProcess(credential_process::CredentialProcessArgs {})
        }
        _ => return None,
    };
    Some(Cli { global, command })
}

fn configure(command: ConfigureCommand) -> Command {
    Command::Configure(ConfigureArgs {
        command: Some(command),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("awsid")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn clap_parse(args: &[OsString]) -> Option<Cli> {
        Cli::try_parse_from(args).ok()
    }

    #[test]
    fn hot_command_lines_take_the_fast_path() {
        for words in [
            &["configure", "get", "region", "--profile", "pLAST"][..],
            &[
                "--profile",
                "p",
                "configure",
                "export-credentials",
                "--format",
                "env",
            ],
            &["configure", "--region=eu-west-1", "export-credentials"],
            &["configure", "list", "--debug"],
            &["configure", "list-profiles"],
            &[
                "sts",
                "get-caller-identity",
                "--endpoint-url",
                "http://127.0.0.1:1/",
            ],
            &["credential-process", "--profile", "dev"],
            &["--profile=dev", "credential-process"],
        ] {
            let args = argv(words);
            let fast = parse(&args).unwrap_or_else(|| panic!("{words:?} not on the fast path"));
            let clap = clap_parse(&args).expect("clap accepts it");
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{words:?}");
        }
    }

    #[test]
    fn everything_else_goes_to_clap() {
        for words in [
            &["configure", "get"][..],
            &["configure", "get", "region", "extra"],
            &["configure", "get", "--help"],
            &["--version"],
            &["configure", "export-credentials", "--format", "yaml"],
            &["configure", "--format", "env", "export-credentials"],
            &["configure", "list", "--format", "env"],
            &["--profile", "a", "--profile", "b", "configure", "list"],
            &["--profile=", "configure", "list"],
            &["--profile", "-x", "configure", "list"],
            &["configure", "set", "region", "x"],
            &["configure"],
            &["serve"],
            &["configure", "get", "region", "--sso-session", "s"],
            &["credential-process", "extra"],
            &["credential-process", "--format", "process"],
            &["credential-process", "--help"],
        ] {
            assert!(parse(&argv(words)).is_none(), "{words:?}");
        }
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("configure".to_string()),
            Just("get".to_string()),
            Just("list".to_string()),
            Just("list-profiles".to_string()),
            Just("export-credentials".to_string()),
            Just("sts".to_string()),
            Just("get-caller-identity".to_string()),
            Just("credential-process".to_string()),
            Just("set".to_string()),
            Just("region".to_string()),
            Just("--profile".to_string()),
            Just("--region".to_string()),
            Just("--output".to_string()),
            Just("--endpoint-url".to_string()),
            Just("--debug".to_string()),
            Just("--format".to_string()),
            Just("--".to_string()),
            Just("-h".to_string()),
            Just("--help".to_string()),
            Just("-x".to_string()),
            Just("env".to_string()),
            Just("fish".to_string()),
            Just("--profile=a".to_string()),
            Just("--format=env".to_string()),
            Just("--format=bogus".to_string()),
            Just("--output=text".to_string()),
            Just("--output=bogus".to_string()),
            Just("json".to_string()),
            Just("--region=".to_string()),
            "[a-z.=-]{0,6}",
        ]
    }

    /// A hot command line with random tokens inserted: mostly fast-path hits and near misses.
    fn near_hot_line() -> impl Strategy<Value = Vec<String>> {
        let bases = prop_oneof![
            Just(vec!["configure", "get", "region"]),
            Just(vec!["configure", "export-credentials"]),
            Just(vec!["configure", "list"]),
            Just(vec!["configure", "list-profiles"]),
            Just(vec!["sts", "get-caller-identity"]),
            Just(vec!["credential-process"]),
        ];
        let inserts = proptest::collection::vec((0usize..4, token(), token()), 0..4);
        (bases, inserts).prop_map(|(base, inserts)| {
            let mut words: Vec<String> = base.iter().map(|w| w.to_string()).collect();
            for (at, a, b) in inserts {
                let at = at.min(words.len());
                // Options usually come with a value; pair each inserted token with the next.
                words.insert(at, b);
                words.insert(at, a);
            }
            words
        })
    }

    #[test]
    fn the_agreement_test_exercises_the_fast_path() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let hits = (0..2000)
            .filter(|_| {
                let words = near_hot_line().new_tree(&mut runner).unwrap().current();
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                parse(&argv(&words)).is_some()
            })
            .count();
        assert!(
            hits > 300,
            "only {hits} of 2000 generated lines took the fast path"
        );
    }

    /// Whatever the fast path accepts, clap accepts with the same meaning.
    fn agrees_with_clap(words: &[String]) -> Result<(), TestCaseError> {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let args = argv(&words);
        if let Some(fast) = parse(&args) {
            let clap = clap_parse(&args);
            prop_assert!(clap.is_some(), "clap refuses {:?}", words);
            prop_assert_eq!(format!("{:?}", fast), format!("{:?}", clap.unwrap()));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Whatever the fast path accepts, clap accepts with the same meaning.
        #[test]
        fn fast_path_agrees_with_clap(words in proptest::collection::vec(token(), 0..8)) {
            agrees_with_clap(&words)?;
        }

        /// The same, on hot command lines with options and noise inserted.
        #[test]
        fn fast_path_agrees_with_clap_near_hot_lines(words in near_hot_line()) {
            agrees_with_clap(&words)?;
        }
    }
}
