"""Usage errors against the v2 reference: every command line below is a usage error for both
Debian's aws CLI v2 (2.9.19) and awsid; both must exit 252 and say the same thing.

What is compared (docs/spec/cli-errors.md §2):

* the exit status (252, `ParamValidationErrorsHandler` / `UnknownArgumentErrorHandler`,
  `awscli/constants.py`, since 2.1.0);
* the argparse message (`the following arguments are required: …`, `argument --x: expected
  one argument`, `Unknown options: …`) — byte for byte;
* the usage text: v2's `USAGE` (`awscli/argparser.py`) with awsid's name and `--help` lines.

What 2.9.19 writes differently, each named with the release that changed it, and checked in
its 2.36.7 form instead:

* `layout-2.31.0` / `writer-2.34.0`: 2.9.19 writes `\\nusage: …\\n\\naws: error: <message>\\n\\n`;
  2.31.0 (aws-cli 7514322f2, cda3e42fe) put the message first, 2.34.0 (8f7bc7e9b) sends it
  through the error writer: `\\naws: [ERROR]: <message>\\n\\nusage: …`. awsid is checked
  against the 2.36.7 layout, in the `legacy` error format (the `enhanced` default adds
  `An error occurred (ParamValidation): `, checked too).
* `invalid-choice-2.31.0`: 2.9.19 lists every choice (`Invalid choice, valid choices are:`);
  since 2.31.0 (`CLIArgParser._check_value`, aws-cli 7514322f2) the text is `Found invalid
  choice '<v>'` with difflib's close matches (cutoff 0.8) — computed here with Python's own
  difflib over awsid's choices.
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import clean_env
from v2_forkserver import v2_environment

V2_USAGE = (
    "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n"
    "To see help text, you can run:\n\n"
    "  aws help\n"
    "  aws <command> help\n"
    "  aws <command> <subcommand> help\n"
)


def awsid_usage(v2_usage: str) -> str:
    """v2's usage text with awsid's name (awsid has `--help` where v2 has `help` words)."""
    return (v2_usage.replace("aws [options]", "awsid [options]")
            .replace("  aws help\n", "  awsid --help\n")
            .replace("  aws <command> help\n", "  awsid <command> --help\n")
            .replace("  aws <command> <subcommand> help\n", "  awsid <command> <subcommand> --help\n"))


@dataclass
class Case:
    case_id: str
    argv: list[str]
    # argparse (message + usage), customization (`Unknown options: a,b` alone, ParamValidationError)
    # or operation (usage first, then the message: UnknownArgumentError).
    kind: str
    # for invalid choices: (dest, value, awsid's choices); the 2.31.0 text is computed.
    choice: tuple[str, str, list[str]] | None = None


AWSID_CONFIGURE = ["export-credentials", "set", "get", "list", "list-profiles", "import",
                   "mfa-login", "sso", "sso-session"]

CASES = [
    Case("no-command", [], "argparse"),
    Case("configure-get-no-varname", ["configure", "get"], "argparse"),
    Case("configure-set-no-value", ["configure", "set", "region"], "argparse"),
    Case("configure-set-nothing", ["configure", "set"], "argparse"),
    Case("configure-import-no-csv", ["configure", "import"], "argparse"),
    Case("configure-import-csv-no-value", ["configure", "import", "--csv"], "argparse"),
    Case("export-format-no-value", ["configure", "export-credentials", "--format"], "argparse"),
    Case("sts-no-operation", ["sts"], "argparse"),
    Case("sso-no-operation", ["sso"], "argparse"),
    Case("configure-get-unknown-option", ["configure", "get", "region", "--foo", "x"], "customization"),
    Case("configure-get-extra-positional", ["configure", "get", "a", "b"], "customization"),
    Case("configure-set-extra-positional", ["configure", "set", "a", "b", "c"], "customization"),
    Case("configure-list-unknown", ["configure", "list", "--foo", "bar"], "customization"),
    Case("configure-list-profiles-unknown", ["configure", "list-profiles", "--x"], "customization"),
    Case("export-unknown", ["configure", "export-credentials", "--bogus"], "customization"),
    Case("configure-import-unknown", ["configure", "import", "--csv", "file://x.csv", "--y"],
         "customization"),
    Case("sso-login-unknown", ["sso", "login", "--bogus"], "customization"),
    Case("sso-logout-unknown", ["sso", "logout", "--bogus"], "customization"),
    Case("configure-sso-unknown", ["configure", "sso", "--bogus"], "customization"),
    Case("sts-get-caller-identity-unknown", ["sts", "get-caller-identity", "--foo", "--bar"],
         "operation"),
    Case("unknown-command", ["nosuch"], "argparse",
         choice=("command", "nosuch", ["configure", "sts", "sso"])),
    Case("unknown-configure-subcommand", ["configure", "lst"], "argparse",
         choice=("subcommand", "lst", AWSID_CONFIGURE)),
    Case("unknown-sts-operation", ["sts", "get-caller-identiti"], "argparse",
         choice=("operation", "get-caller-identiti", ["get-caller-identity"])),
    Case("export-format-invalid", ["configure", "export-credentials", "--format", "proces"], "argparse",
         choice=("--format", "proces", ["process", "env", "env-no-export", "powershell", "windows-cmd",
                                        "fish"])),
    Case("output-invalid", ["configure", "list", "--output", "jsn"], "argparse",
         choice=("--output", "jsn", ["json", "text", "table", "yaml", "yaml-stream", "off"])),
]


def v2_message(case: Case, stderr: str) -> str:
    """The message in 2.9.19's stderr, with its usage text checked against v2's `USAGE`."""
    if case.kind == "customization":
        assert stderr.startswith("\n") and stderr.endswith("\n"), repr(stderr)
        return stderr[1:-1]
    assert stderr.startswith("\n" + V2_USAGE + "\n"), f"2.9.19's usage text changed: {stderr!r}"
    rest = stderr[len("\n" + V2_USAGE + "\n"):]
    assert rest.endswith("\n\n"), repr(stderr)
    rest = rest[:-2]
    if case.kind == "operation":
        return rest
    assert rest.startswith("aws: error: "), repr(stderr)
    return rest[len("aws: error: "):]


def expected_awsid(case: Case, message: str, enhanced: bool) -> str:
    """What 2.36.7 writes for `message` (the writer of 2.34.0, the layout of 2.31.0), with
    awsid's name."""
    usage = awsid_usage(V2_USAGE)
    if case.kind == "operation":  # UnknownArgumentErrorHandler: never structured
        return f"\n{usage}\n\nawsid: [ERROR]: {message}\n"
    prefix = "An error occurred (ParamValidation): " if enhanced else ""
    if case.kind == "customization":
        return f"\nawsid: [ERROR]: {prefix}{message}\n"
    return f"\nawsid: [ERROR]: {prefix}{message}\n\n{usage}"


def check_value_message(dest: str, value: str, choices: list[str]) -> str:
    """`CLIArgParser._check_value` of 2.36.7 (since 2.31.0), with Python's difflib."""
    msg = [f"Found invalid choice '{value}'\n"]
    possible = difflib.get_close_matches(value, choices, cutoff=0.8)
    if possible:
        msg.append("Maybe you meant:\n")
        msg.extend(f"  * {w}" for w in possible)
    return f"argument {dest}: " + "\n".join(msg)


def run(program: Path, argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    e = v2_environment(clean_env(home, **env))
    return subprocess.run([str(program), *argv], env=e, cwd=home, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", CASES, ids=[c.case_id for c in CASES])
def test_usage_error_matches_v2(case: Case, aws_v2_bin: Path, awsid_bin: Path, tmp_path: Path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\n")
    before = (home / ".aws" / "config").read_text()
    # v2 loads `file://` parameters before it rejects leftovers (`BasicCommand.__call__`):
    # the file exists so that the leftover is the only error.
    (home / "x.csv").write_text("User name,Access key ID,Secret access key\n")

    ref = run(aws_v2_bin, case.argv, home)
    assert ref.returncode == 252, f"2.9.19 exit {ref.returncode}: {ref.stderr!r}"
    assert ref.stdout == ""
    message = v2_message(case, ref.stderr)
    if case.choice is not None:
        dest, value, choices = case.choice
        # invalid-choice-2.31.0: 2.9.19 lists the choices; check its prefix, expect 2.36.7's text.
        assert message.startswith(f"argument {dest}: Invalid choice, valid choices are:"), message
        message = check_value_message(dest, value, choices)

    for enhanced in (False, True):
        env = {} if enhanced else {"AWS_CLI_ERROR_FORMAT": "legacy"}
        got = run(awsid_bin, case.argv, home, **env)
        want = expected_awsid(case, message, enhanced)
        assert (got.returncode, got.stdout, got.stderr) == (252, "", want), (
            f"awsid {' '.join(case.argv)} ({'enhanced' if enhanced else 'legacy'}):\n"
            f"  2.9.19 said: {ref.stderr!r}\n  expected:    {want!r}\n  awsid said:  {got.stderr!r}")
    assert (home / ".aws" / "config").read_text() == before
    assert sorted(p.name for p in (home / ".aws").iterdir()) == ["config"]
