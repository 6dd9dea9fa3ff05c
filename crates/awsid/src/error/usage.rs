//! Usage errors worded as the aws CLI v2's argparse errors (`awscli/argparser.py`,
//! `awscli/customizations/commands.py`, `awscli/clidriver.py`), with awsid's name.
//!
//! v2 raises `ArgParseException("<message>\n\n<usage>")` for parse errors (exit 252, code
//! `ParamValidation`), `ParamValidationError("Unknown options: a,b")` for leftovers of a
//! customization command (`configure …`, `sso login`), and `UnknownArgumentError("Unknown
//! options: a, b")` for leftovers of a service operation (`sts get-caller-identity`), which is
//! written after the usage text and never structured. clap finds the errors; this module
//! rewrites them. A new subcommand gets all of this for free: clap parses it, and its
//! leftovers are reported as a customization's (see [`grammar`]).

use std::collections::HashSet;
use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::difflib::get_close_matches;
use super::CliError;

/// v2's `USAGE` with awsid's name (and `--help`, since awsid has no `help` words).
pub(crate) const USAGE: &str = "awsid [options] <command> <subcommand> [<subcommand> ...] [parameters]\n\
To see help text, you can run:\n\n  awsid --help\n  awsid <command> --help\n  awsid <command> <subcommand> --help\n";

/// How v2 treats leftovers of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// A service operation (`aws sts get-caller-identity`): `UnknownArgumentError`, `, `-joined.
    Operation,
    /// A customization (`BasicCommand`: `configure …`, `sso login`, awsid's own commands):
    /// `ParamValidationError`, `,`-joined.
    Customization,
}

/// The grammar of the command at `path` (names below the program).
pub(crate) fn grammar(path: &[&str]) -> Grammar {
    match path {
        ["sts", _] => Grammar::Operation,
        _ => Grammar::Customization,
    }
}

/// argparse's name for the positional holding a command's subcommand: `command` at the top,
/// `operation` under a service (`sts`, `sso`), `subcommand` under a customization.
fn subcommand_dest(path: &[&str]) -> &'static str {
    match path {
        [] => "command",
        ["sts"] | ["sso"] => "operation",
        _ => "subcommand",
    }
}

/// An argparse error: the message, a blank line and the usage (`ArgParseException`).
pub(crate) fn argparse_error(message: &str) -> CliError {
    CliError::param_validation(format!("{message}\n\nusage: {USAGE}"))
}

/// `CLIArgParser._check_value`: `argument <dest>: Found invalid choice '<value>'` and, when
/// difflib finds close matches (cutoff 0.8), `Maybe you meant:` and a bullet per match.
pub(crate) fn invalid_choice(dest: &str, value: &str, choices: &[&str]) -> String {
    let mut parts = vec![format!("Found invalid choice '{value}'\n")];
    let close = get_close_matches(value, choices, 3, 0.8);
    if !close.is_empty() {
        parts.push("Maybe you meant:\n".to_owned());
        parts.extend(close.iter().map(|w| format!("  * {w}")));
    }
    format!("argument {dest}: {}", parts.join("\n"))
}

/// Rewrites a clap error for `argv` (program name first) parsed with `root`.
pub(crate) fn from_clap(err: &clap::Error, root: &clap::Command, argv: &[OsString]) -> CliError {
    let walk = Walk::new(root, argv);
    let path: Vec<&str> = walk.path.iter().skip(1).map(|c| c.get_name()).collect();
    let context_str = |kind: ContextKind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    match err.kind() {
        ErrorKind::InvalidSubcommand => {
            let value = context_str(ContextKind::InvalidSubcommand).unwrap_or_default();
            let leaf = walk.leaf();
            let choices: Vec<&str> = leaf
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name())
                .collect();
            argparse_error(&invalid_choice(subcommand_dest(&path), &value, &choices))
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            argparse_error(&format!(
                "the following arguments are required: {}",
                subcommand_dest(&path)
            ))
        }
        ErrorKind::MissingRequiredArgument => {
            let names: Vec<String> = match err.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(v)) => v.iter().map(|s| argparse_name(s)).collect(),
                Some(ContextValue::String(s)) => vec![argparse_name(s)],
                _ => walk.missing.clone(),
            };
            argparse_error(&format!(
                "the following arguments are required: {}",
                names.join(", ")
            ))
        }
        ErrorKind::UnknownArgument => {
            if walk.leaf().has_subcommands() && walk.leaf().is_subcommand_required_set() {
                return argparse_error(&format!(
                    "the following arguments are required: {}",
                    subcommand_dest(&path)
                ));
            }
            if !walk.missing.is_empty() {
                return argparse_error(&format!(
                    "the following arguments are required: {}",
                    walk.missing.join(", ")
                ));
            }
            let mut remaining = walk.remaining.clone();
            if remaining.is_empty() {
                remaining.extend(context_str(ContextKind::InvalidArg));
            }
            match grammar(&path) {
                Grammar::Operation => {
                    CliError::unknown_argument(format!("Unknown options: {}", remaining.join(", ")))
                }
                Grammar::Customization => {
                    CliError::param_validation(format!("Unknown options: {}", remaining.join(",")))
                }
            }
        }
        ErrorKind::InvalidValue => {
            let arg = context_str(ContextKind::InvalidArg).unwrap_or_default();
            let name = argparse_name(&arg);
            let value = context_str(ContextKind::InvalidValue).unwrap_or_default();
            match err.get(ContextKind::ValidValue) {
                _ if value.is_empty() => {
                    argparse_error(&format!("argument {name}: expected one argument"))
                }
                Some(ContextValue::Strings(choices)) => {
                    let choices: Vec<&str> = choices.iter().map(String::as_str).collect();
                    argparse_error(&invalid_choice(&name, &value, &choices))
                }
                _ => argparse_error(&format!("argument {name}: invalid value '{value}'")),
            }
        }
        ErrorKind::ValueValidation => {
            // argparse: `argument --x: invalid <type> value: '<v>'`; awsid keeps the reason.
            let name = argparse_name(&context_str(ContextKind::InvalidArg).unwrap_or_default());
            let value = context_str(ContextKind::InvalidValue).unwrap_or_default();
            let reason = std::error::Error::source(err)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            argparse_error(&format!(
                "argument {name}: invalid value: '{value}'{reason}"
            ))
        }
        ErrorKind::ArgumentConflict => {
            // argparse's mutually exclusive group: `argument A: not allowed with argument B`.
            let name = argparse_name(&context_str(ContextKind::InvalidArg).unwrap_or_default());
            let prior = match err.get(ContextKind::PriorArg) {
                Some(ContextValue::String(s)) => argparse_name(s),
                Some(ContextValue::Strings(v)) => v
                    .iter()
                    .map(|s| argparse_name(s))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            argparse_error(&format!(
                "argument {name}: not allowed with argument {prior}"
            ))
        }
        _ => argparse_error(&clap_message(err)),
    }
}

/// A required argument that clap cannot require (a positional that an option may stand in
/// for, like `vault add [PROFILE]` or `--profile`), missing: argparse's
/// `the following arguments are required: <names>` with the usage (252).
pub(crate) fn required(names: &[&str]) -> CliError {
    argparse_error(&format!(
        "the following arguments are required: {}",
        names.join(", ")
    ))
}

/// The first line of clap's own rendering, without its `error: ` prefix (for the rare kinds
/// argparse has no wording for).
fn clap_message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let first = text.lines().next().unwrap_or("");
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// argparse's name of an argument from clap's rendering of it: `--csv <CSV>` → `--csv`,
/// `<VARNAME>` → `varname` (argparse uses the destination of a positional).
fn argparse_name(clap_arg: &str) -> String {
    let first = clap_arg.split_whitespace().next().unwrap_or(clap_arg);
    if first.starts_with('-') {
        first.to_owned()
    } else {
        first
            .trim_start_matches('<')
            .trim_end_matches(['>', '.'])
            .trim_end_matches('>')
            .to_lowercase()
            .replace('-', "_")
    }
}

/// What argparse's `parse_known_args` would make of the command line: the command path, the
/// leftovers (unknown options and surplus positionals, in order) and the required arguments
/// of the final command that were not given.
struct Walk<'a> {
    path: Vec<&'a clap::Command>,
    remaining: Vec<String>,
    missing: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(root: &'a clap::Command, argv: &[OsString]) -> Walk<'a> {
        let mut path = vec![root];
        let mut remaining = Vec::new();
        let mut given: HashSet<&str> = HashSet::new();
        let mut positionals = 0;
        let mut only_positionals = false;
        let tokens: Vec<String> = argv
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut i = 0;
        while i < tokens.len() {
            let tok = &tokens[i];
            i += 1;
            if !only_positionals && tok == "--" {
                only_positionals = true;
                continue;
            }
            let leaf = *path.last().expect("the root is always there");
            if !only_positionals && tok.starts_with('-') && tok.len() > 1 {
                let (name, inline) = match tok.split_once('=') {
                    Some((n, _)) => (n, true),
                    None => (tok.as_str(), false),
                };
                let found = find_option(&path, name);
                match found {
                    Some(arg) => {
                        given.insert(arg.get_id().as_str());
                        if arg.get_action().takes_values() && !inline {
                            i += 1;
                        }
                    }
                    None => remaining.push(tok.clone()),
                }
                continue;
            }
            if positionals == 0 {
                if let Some(sub) = leaf.find_subcommand(tok) {
                    path.push(sub);
                    continue;
                }
            }
            let slots: Vec<&clap::Arg> = leaf.get_positionals().collect();
            match slots.get(positionals) {
                // A trailing positional (`exec`'s COMMAND) takes this word and every later
                // one, options included: they are the command's, not leftovers.
                Some(arg) if arg.is_trailing_var_arg_set() => {
                    given.insert(arg.get_id().as_str());
                    break;
                }
                Some(arg) => {
                    given.insert(arg.get_id().as_str());
                    positionals += 1;
                }
                None => remaining.push(tok.clone()),
            }
        }
        let leaf = *path.last().expect("the root is always there");
        let missing = leaf
            .get_arguments()
            .filter(|a| a.is_required_set() && !given.contains(a.get_id().as_str()))
            .map(|a| {
                if a.is_positional() {
                    a.get_id().as_str().to_owned()
                } else {
                    format!("--{}", a.get_long().unwrap_or(a.get_id().as_str()))
                }
            })
            .collect();
        Walk {
            path,
            remaining,
            missing,
        }
    }

    fn leaf(&self) -> &'a clap::Command {
        self.path.last().expect("the root is always there")
    }
}

/// An option by `--long` or `-s` name: the final command's own, or a global one of the path.
fn find_option<'a>(path: &[&'a clap::Command], name: &str) -> Option<&'a clap::Arg> {
    let leaf = path.last()?;
    let matches = |a: &&clap::Arg| {
        if let Some(long) = name.strip_prefix("--") {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|al| al.contains(&long))
        } else {
            let mut chars = name.chars().skip(1);
            match (chars.next(), chars.next()) {
                (Some(c), None) => a.get_short() == Some(c),
                _ => false,
            }
        }
    };
    if let Some(a) = leaf.get_arguments().find(matches) {
        return Some(a);
    }
    path.iter()
        .rev()
        .flat_map(|c| c.get_arguments())
        .filter(|a| a.is_global_set())
        .find(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_choice_text() {
        assert_eq!(
            invalid_choice("--format", "x", &["process", "env"]),
            "argument --format: Found invalid choice 'x'\n"
        );
        assert_eq!(
            invalid_choice("--format", "proces", &["process", "env"]),
            "argument --format: Found invalid choice 'proces'\n\nMaybe you meant:\n\n  * process"
        );
    }

    /// Every visible command below the root, as its path of names (clap's `help` left out).
    fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            command_paths(sub, &path, out);
        }
    }

    /// The legacy rendering of parsing `words` (awsid's name first) as an error, with its
    /// exit status; panics when the command line parses.
    fn usage_error(words: &[String]) -> (u8, String) {
        let argv: Vec<OsString> = std::iter::once("awsid".to_owned())
            .chain(words.iter().cloned())
            .map(OsString::from)
            .collect();
        match crate::cli::parse(argv) {
            Ok(_) => panic!("`awsid {}` parsed; expected a usage error", words.join(" ")),
            Err(e) => (e.kind().code(), e.render(crate::error::ErrorFormat::Legacy)),
        }
    }

    /// What v2's `ArgParseException` handler writes for `message` (legacy form).
    fn argparse_text(message: &str) -> String {
        format!("\nawsid: [ERROR]: {message}\n\nusage: {USAGE}")
    }

    /// Every command and subcommand answers a usage error the way v2's argparse does, exit
    /// 252, with awsid's name: a missing or unknown subcommand, missing required arguments,
    /// an unknown option, an option without its value, a value outside its choices.
    #[test]
    fn every_command_has_v2_usage_errors() {
        let mut root = crate::cli::command();
        root.build();
        let mut paths = Vec::new();
        command_paths(&root, &[], &mut paths);
        assert!(paths.len() > 25, "the tree: {paths:?}");
        let mut checked = 0;
        for path in &paths {
            let mut cmd = &root;
            for name in path {
                cmd = cmd.find_subcommand(name).expect("a path of the tree");
            }
            let names: Vec<&str> = path.iter().map(String::as_str).collect();
            let at = |what: &str| format!("`awsid {}`: {what}", path.join(" "));
            if cmd.has_subcommands() {
                let dest = subcommand_dest(&names);
                if cmd.is_subcommand_required_set() {
                    let got = usage_error(path);
                    let want =
                        argparse_text(&format!("the following arguments are required: {dest}"));
                    assert_eq!(got, (252, want), "{}", at("no subcommand"));
                }
                let mut words = path.clone();
                words.push("no-such-subcommand".into());
                let got = usage_error(&words);
                let want = argparse_text(&format!(
                    "argument {dest}: Found invalid choice 'no-such-subcommand'\n"
                ));
                assert_eq!(got, (252, want), "{}", at("unknown subcommand"));
                checked += 2;
                continue;
            }
            // The command line with every required argument given a valid value.
            let mut base = path.clone();
            let mut required = Vec::new();
            let first_value = |a: &clap::Arg| {
                a.get_possible_values()
                    .first()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_else(|| "x".to_owned())
            };
            for a in cmd.get_arguments().filter(|a| a.is_required_set()) {
                if a.is_positional() {
                    required.push(a.get_id().as_str().to_owned());
                    base.push(first_value(a));
                } else {
                    let long = format!("--{}", a.get_long().expect("a long name"));
                    required.push(long.clone());
                    base.push(long);
                    base.push(first_value(a));
                }
            }
            if !required.is_empty() {
                let got = usage_error(path);
                let want = argparse_text(&format!(
                    "the following arguments are required: {}",
                    required.join(", ")
                ));
                assert_eq!(got, (252, want), "{}", at("missing required arguments"));
                checked += 1;
            }
            let mut words = base.clone();
            words.push("--no-such-option".into());
            let got = usage_error(&words);
            let want = match grammar(&names) {
                Grammar::Operation => format!(
                    "\nusage: {USAGE}\n\nawsid: [ERROR]: Unknown options: --no-such-option\n"
                ),
                Grammar::Customization => {
                    "\nawsid: [ERROR]: Unknown options: --no-such-option\n".to_owned()
                }
            };
            assert_eq!(got, (252, want), "{}", at("unknown option"));
            checked += 1;
            let options = cmd.get_arguments().filter(|a| {
                !a.is_positional() && !a.is_global_set() && a.get_action().takes_values()
            });
            for a in options {
                let long = format!("--{}", a.get_long().expect("a long name"));
                let mut words = base.clone();
                words.push(long.clone());
                let got = usage_error(&words);
                let want = argparse_text(&format!("argument {long}: expected one argument"));
                assert_eq!(
                    got,
                    (252, want),
                    "{}",
                    at(&format!("{long} without a value"))
                );
                checked += 1;
                if !a.get_possible_values().is_empty() {
                    words.push("no-such-value".into());
                    let got = usage_error(&words);
                    let want = argparse_text(&format!(
                        "argument {long}: Found invalid choice 'no-such-value'\n"
                    ));
                    assert_eq!(got, (252, want), "{}", at(&format!("{long} no-such-value")));
                    checked += 1;
                }
            }
        }
        assert!(checked > 60, "{checked} usage errors checked");
    }

    #[test]
    fn global_output_takes_v2s_choices() {
        let words: Vec<String> = ["sts", "get-caller-identity", "--output", "jsn"]
            .map(String::from)
            .to_vec();
        let got = usage_error(&words);
        let want = argparse_text(
            "argument --output: Found invalid choice 'jsn'\n\nMaybe you meant:\n\n  * json",
        );
        assert_eq!(got, (252, want));
    }

    #[test]
    fn conflicts_and_bad_values_read_like_argparse() {
        let words: Vec<String> = ["vault", "add", "--env", "--from-profile", "a"]
            .map(String::from)
            .to_vec();
        let (code, text) = usage_error(&words);
        assert_eq!(code, 252);
        assert!(
            text.contains(
                "\nawsid: [ERROR]: argument --from-profile: not allowed with argument --env\n"
            ) || text.contains(
                "\nawsid: [ERROR]: argument --env: not allowed with argument --from-profile\n"
            ),
            "{text}"
        );
        let words: Vec<String> = ["serve", "--api", "nonsense"].map(String::from).to_vec();
        let (code, text) = usage_error(&words);
        assert_eq!(code, 252);
        assert!(
            text.starts_with("\nawsid: [ERROR]: argument --api: invalid value: 'nonsense' ("),
            "{text}"
        );
    }

    /// `exec`'s COMMAND takes every word from the command's name on, hyphens included, but an
    /// unknown option before it is a usage error, not a command to run (issue 13).
    #[test]
    fn exec_unknown_option_before_the_command_is_a_usage_error() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (code, text) = usage_error(&words(&["exec", "--typo"]));
        assert_eq!(
            (code, text.as_str()),
            (252, "\nawsid: [ERROR]: Unknown options: --typo\n")
        );
        // The words after the command's name are the command's, not leftovers.
        let (code, text) = usage_error(&words(&["exec", "--typo", "cmd", "-x", "--flag"]));
        assert_eq!(
            (code, text.as_str()),
            (252, "\nawsid: [ERROR]: Unknown options: --typo\n")
        );
        let parsed = |w: &[&str]| {
            let argv = std::iter::once("awsid").chain(w.iter().copied());
            match crate::cli::parse(argv.map(OsString::from)) {
                Ok(crate::cli::Cli {
                    command: crate::cli::Command::Exec(args),
                    global,
                }) => (args.command, global.profile),
                Ok(other) => panic!("not exec: {other:?}"),
                Err(e) => panic!("`{w:?}`: {}", e.render(crate::error::ErrorFormat::Legacy)),
            }
        };
        let os = |w: &[&str]| w.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            parsed(&["exec", "--", "--weird-cmd", "-x"]),
            (os(&["--weird-cmd", "-x"]), None)
        );
        assert_eq!(
            parsed(&["exec", "cmd", "--flag", "--profile", "p"]),
            (os(&["cmd", "--flag", "--profile", "p"]), None)
        );
        assert_eq!(
            parsed(&["exec", "--profile", "p", "--server", "ecs", "cmd", "-x"]),
            (os(&["cmd", "-x"]), Some("p".to_owned()))
        );
        assert_eq!(parsed(&["exec"]), (Vec::new(), None));
    }

    #[test]
    fn names() {
        assert_eq!(argparse_name("--csv <CSV>"), "--csv");
        assert_eq!(argparse_name("<VARNAME>"), "varname");
        assert_eq!(argparse_name("--debug"), "--debug");
    }
}
