"""Every place where `awsid configure` deliberately differs from the runnable reference (aws CLI
v1, awscli 1.45.11), in one table.

awsid follows the aws CLI **v2** where v1 and v2 differ, and does the right thing where the
reference crashes or corrupts a file. The differential suites tag each generated case with the
differences that apply to it; the tag shows in the pytest id (`...[diff=profile-env-precedence]`)
and in the failure report, so a difference is never hidden inside a comparison. Observed v1
behaviour below was produced with the installed CLI in throw-away homes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    """One named divergence: what v1 does (observed), what awsid does, and why."""

    name: str
    reference: str
    awsid: str
    why: str


DIFFERENCES: dict[str, Difference] = {
    d.name: d
    for d in [
        Difference(
            "list-layout",
            "`configure list` prints `%10s %24s %16s    %s` rows with a `Name/Value/Type/Location` "
            "header and a dashes row.",
            "v2.31+ layout: `{:<10} : {:<24} : {:<16} : {}` rows, header "
            "`NAME / VALUE / TYPE / LOCATION`, no dashes row.",
            "v2 is the reference; the suite parses both tables and compares the rows.",
        ),
        Difference(
            "list-profile-env-location",
            "profile taken from the environment shows location "
            "`['AWS_DEFAULT_PROFILE', 'AWS_PROFILE']`.",
            "`['AWS_PROFILE', 'AWS_DEFAULT_PROFILE']` (v2 order of lookup).",
            "v2 reversed the profile variables' precedence and prints them in that order.",
        ),
        Difference(
            "list-region-env-location",
            "region from the environment shows location `AWS_DEFAULT_REGION`.",
            "`['AWS_REGION', 'AWS_DEFAULT_REGION']`.",
            "v2 reads AWS_REGION first, then AWS_DEFAULT_REGION.",
        ),
        Difference(
            "profile-env-precedence",
            "AWS_DEFAULT_PROFILE beats AWS_PROFILE when both are set.",
            "AWS_PROFILE beats AWS_DEFAULT_PROFILE (v2). The reference is run with the "
            "v2-selected profile as AWS_DEFAULT_PROFILE to produce the expectation.",
            "v2 behaviour.",
        ),
        Difference(
            "region-aws-region",
            "AWS_REGION is ignored.",
            "AWS_REGION is honoured before AWS_DEFAULT_REGION (v2). The reference is run with "
            "AWS_DEFAULT_REGION set to the v2-selected value to produce the expectation.",
            "v2 behaviour.",
        ),
        Difference(
            "usage-exit-code",
            "argparse usage error: exit 2.",
            "exit 252 (v2 parameter-validation status); the message text is not compared.",
            "v2 exit codes.",
        ),
        Difference(
            "malformed-file",
            "a config/credentials file botocore cannot parse (duplicate section or key, bad nested "
            "block, garbage line) makes every command die with a Python traceback ending in "
            "`ConfigParseError: Unable to parse config file: <path>`, exit 1.",
            "`Unable to parse config file: <path>` plus the line and the reason on stderr, exit "
            "255, and the file is never written.",
            "a traceback is not an error message; v2 reports ConfigParseError as exit 255.",
        ),
        Difference(
            "writer-indented-header",
            "`  [default]` (indented header) is not found by the writer: `set` appends a second "
            "`[default]`, after which the file no longer parses (duplicate section).",
            "edits the section the reader sees (the indented header); the file still parses.",
            "the reference corrupts the file.",
        ),
        Difference(
            "writer-spaced-profile-header",
            "`[profile   x]` is not matched by `[profile x]`: `set --profile x` appends a second "
            "section, which wins on read, so the first section's keys are lost.",
            "edits the section the reader maps to profile x; no key is lost.",
            "the reference silently loses settings.",
        ),
        Difference(
            "writer-quoted-profile-header",
            "`[profile \"a b\"]` is not matched by the generated `[profile 'a b']`: a second "
            "section is appended and the first one's keys are lost.",
            "edits the section the reader maps to profile `a b`; no key is lost.",
            "the reference silently loses settings.",
        ),
        Difference(
            "writer-key-case",
            "`Region = x` is not matched by `region`: `set region` adds a second line, after "
            "which the file no longer parses (duplicate option).",
            "updates the existing key (keys are case-insensitive for the reader).",
            "the reference corrupts the file.",
        ),
        Difference(
            "writer-indented-key",
            "replacing an indented key line (`  region = a`) rewrites it at column 0; the "
            "indented key lines after it in the section then read as continuation lines of the "
            "edited value, so those keys are lost and the new value is wrong.",
            "edits the key so that the file reads back with the new value and every other key "
            "intact (e.g. keeping the line's indentation).",
            "the reference corrupts the file.",
        ),
        Difference(
            "writer-nested-on-scalar",
            "`set s3.max_concurrent_requests 10` when `s3 = flat` is the section's last line "
            "crashes with `cannot access local variable 'current_indent' ...`, exit 255, file "
            "untouched; when another key follows, it writes an indented line under `s3 = flat` "
            "that the reader takes as part of the scalar, so the new value cannot be read back "
            "(exit 0).",
            "either a clean error (exit 255, file untouched) or a correct nested edit that "
            "botocore reads back.",
            "the reference crashes with an internal error.",
        ),
        Difference(
            "writer-scalar-on-section",
            "`set s3 flat` when `s3` holds a nested section (`s3 =` and indented `key = value` "
            "lines) rewrites only the `s3` line: the sub-key lines stay and the reader takes them "
            "as continuation lines of the new value, so `s3` reads back as `flat\\n"
            "max_concurrent_requests = 10…`, not `flat`.",
            "refuses with `Cannot set s3 to a value: it holds a section (<sub-keys>); set its "
            "keys as s3.KEY, or remove them first` (exit 255), file untouched: replacing the "
            "block would silently lose its sub-keys.",
            "the reference writes a value other than the one asked for; the alternative loses "
            "settings.",
        ),
        Difference(
            "writer-expands-vars",
            "the reader expands `$VAR` in AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE but the "
            "writer only `~` (v2 `set.py` `_get_config_file`): `set` writes a literal "
            "`./$HOME/…` file under the current directory and the value is lost.",
            "writes the file the reader reads.",
            "the reference reports success and loses the value.",
        ),
        Difference(
            "wizard-login-tip",
            "no tip.",
            "v2 prints `\\nTip: You can deliver temporary credentials to the AWS CLI using your "
            "AWS Console session by running the command 'aws login'.\\n\\n` before the first "
            "prompt when the profile has no settings.",
            "v2 behaviour (aws-cli PR #10144; text as printed by v2.34).",
        ),
        Difference(
            "wizard-session-token",
            "never prompts for a session token.",
            "v2 prompts `AWS Session Token [<masked>]: ` after the secret when the new key id "
            "starts with ASIA, or the profile has a token and the key id was kept; the token goes "
            "to the credentials file. A new non-ASIA key id removes an existing token.",
            "v2 behaviour (aws-cli PR #9590).",
        ),
        Difference(
            "wizard-profile-default-section",
            "`configure --profile default` writes region/output to `[profile default]`, which "
            "then hides an earlier `[default]` wholesale.",
            "writes them to `[default]` (v2).",
            "v2 behaviour; the v1 result loses keys.",
        ),
    ]
}


def describe(names: list[str]) -> str:
    """A human-readable paragraph per named difference (for failure reports)."""
    out = []
    for name in names:
        d = DIFFERENCES[name]
        out.append(f"  [{d.name}] reference: {d.reference}\n    awsid: {d.awsid}\n    why: {d.why}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# Applied to every case rather than tagged (every failing case has it)
# ------------------------------------------------------------------------------------------------
#
# `error-writer` — since v2 2.34.0 (also what separates the 2.9.19 reference from the sources) every error goes through one writer (`awscli/errorformat.py`
# `write_error`, `awscli/errorhandler.py`): `\naws: [ERROR]: <message>\n`, and the errors v2
# structures (ParamValidation, Configuration, NoRegion, NoCredentials) read `An error occurred
# (<Code>): <message>` in the default `cli_error_format` (enhanced). awsid writes its own name
# (`awsid: [ERROR]:`, `awsid: [WARNING]:`). v1, and v2 before 2.34.0, write `\n<message>\n`.
# The suites turn awsid's lines back into that form and compare everything else exactly.

_ERROR_LINE = re.compile(
    r"^awsid: \[ERROR\]:(?: |$)(?:An error occurred \((?:ParamValidation|Configuration|NoRegion|NoCredentials)\): )?",
    re.M,
)


def legacy_stderr(text: str) -> str:
    """awsid's stderr in the pre-2.34 form the v1 reference (and v2 2.9.19) writes."""
    return _ERROR_LINE.sub("", text).replace("awsid: [WARNING]: ", "aws: [WARNING]: ")


def v2_unparse_line(text: str) -> str:
    """awsid's parse error without what it adds to v2's `Unable to parse config file: <path>`
    (`: line <n>: <reason>`, COMPATIBILITY.md)."""
    return re.sub(r"^(Unable to parse config file: .*?): line \d+: .*$", r"\1", text, flags=re.M)


# ------------------------------------------------------------------------------------------------
# Where Debian's v2 (2.9.19) differs from the current v2 sources (2.36.7)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class V2Exception:
    """A behaviour of 2.9.19 that a later v2 release changed; awsid follows the current
    sources. `applies(case)` decides which cases carry it (shown in the test id); `check(case,
    run)` returns None when the case did not reach the changed behaviour (the case is then
    compared as usual), else the problems (empty when the disagreement is exactly this one)."""

    name: str
    release: str
    description: str
    applies: object
    check: object


def _security_token_routing(case, run):
    key = "aws_security_token"
    v2_cfg = (run.ref.tree.get(case.config_rel, (0, b""))[1] or b"").decode()
    got_creds = (run.got.tree.get(case.creds_rel, (0, b""))[1] or b"").decode()
    problems = []
    if key not in v2_cfg:
        problems.append("2.9.19 did not write aws_security_token to the config file")
    if key not in got_creds:
        problems.append("awsid did not write aws_security_token to the credentials file")
    if (run.ref.code, run.got.code) != (0, 0):
        problems.append(f"exit status: v2 {run.ref.code}, awsid {run.got.code}")
    return problems


V2_EXCEPTIONS: dict[str, V2Exception] = {
    e.name: e
    for e in [
        V2Exception(
            "list-layout",
            "2.31.0",
            "2.9.19 prints `configure list` as `%10s %24s %16s    %s` rows under a "
            "Name/Value/Type/Location header and a dashes row; since 2.31.0 (`list.py`, "
            "aws-cli 31722f988) `{:<10} : {:<24} : {:<16} : {}` under NAME/VALUE/TYPE/LOCATION. "
            "awsid's rows are compared in the old layout.",
            lambda c: c.kind == "list",
            None,
        ),
        V2Exception(
            "security-token-routing",
            "2.34.37",
            "2.9.19 writes `configure set aws_security_token` into the config file; since "
            "2.34.37 (`set.py` `_WRITE_TO_CREDS_FILE`, aws-cli d122d84f1) it goes to the "
            "credentials file, as in v1 and awsid.",
            lambda c: c.kind == "set" and "aws_security_token" in c.argv,
            _security_token_routing,
        ),
    ]
}


def v2_exceptions(case) -> list[str]:
    """The names of the 2.9.19 exceptions that apply to `case`."""
    return [name for name, e in V2_EXCEPTIONS.items() if e.applies(case)]
