"""Every place where `awsid configure export-credentials` deliberately differs from the
reference in the chain suite, in one table (each also in COMPATIBILITY.md, "Credentials").

Cases carry the names of the differences that apply to them (visible in the pytest id, e.g.
`process-012[diff=process-output-not-json]`); the comparison applies exactly that difference and
nothing else, and a case whose tag does not apply fails too, so tags cannot go stale.

What every failing case checks (not tagged, because it applies to all of them):

* v2's error writer (2.34.0+, `awscli/errorformat.py`): awsid writes `\\nawsid: [ERROR]: An
  error occurred (Configuration): Unable to retrieve credentials: <message>\\n` (exit 253)
  for an error of `get_credentials()`, as v2 does with its own name; `<message>` is compared.
* v2 lets an error of botocore's *deferred* fetch (the STS call itself: an error answer,
  client-side parameter validation, a missing web identity token file, no region for
  signing) escape its `try` around `get_credentials()` and reports it as the exception it is
  (`ClientError` 254, `NoRegionError` 253, `ParamValidationError` 252, others 255); awsid
  makes the same split. The driver reports the reference's phase (`fetch`) and exception, and
  the suite checks awsid's phase and exit status against them.
* `export-error-context` — awsid adds the profile and the provider that failed as v2's
  `Additional error details:` (`Profile: P`, `Provider: M`); v2 has no such details.

Differences between v1 (runnable here) and v2 that matter for the chain, and how the suite treats
them:

* `v2-profile-env-precedence`, `v2-aws-region` — tagged; the reference is run with the
  environment v2 would effectively see (below).
* STS retries (v2 standard mode: 3 attempts; v1 legacy: up to 5 on retryable errors) — the fake
  STS never answers with a retryable error (only 400/403), so both make exactly one attempt per
  call; no case exercises the difference.
* v2 file-caches SSO role credentials in `~/.aws/cli/cache` (v1: memory only) — no case uses
  SSO, so cache directories are compared as they are.
* v2 writes cache `Expiration` as ISO-8601 with offset (`cli_timestamp_format` default
  `iso8601`), v1 as sent on the wire (`…Z`) — the suite compares the cache file names and the
  cached access key ids, not the bytes; both forms are read by both tools (cache-sharing test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Difference:
    """A named divergence: what the reference does (observed), what awsid does, and why.

    `messages`, when set, checks the two error messages of a case carrying the difference
    (reference message, awsid message, HOME placeholder) instead of requiring them equal."""

    name: str
    reference: str
    awsid: str
    why: str
    messages: Callable[[str, str], list[str]] | None = None


def _expect(pattern: str, text: str, who: str) -> list[str]:
    return [] if re.fullmatch(pattern, text, re.S) else [f"{who} message {text!r} does not match {pattern!r}"]


def _process_not_json(ref: str, got: str) -> list[str]:
    return _expect(r"(Expecting .*|Extra data: .*|Unterminated string .*)\(char \d+\)", ref, "reference") + _expect(
        r"Error when retrieving credentials from custom-process: output is not valid JSON: .+", got, "awsid"
    )


def _process_not_found(ref: str, got: str) -> list[str]:
    path = "<HOME>/bin/no-such-program"
    return _expect(re.escape(f"[Errno 2] No such file or directory: '{path}'"), ref, "reference") + _expect(
        re.escape(f"Error when retrieving credentials from custom-process: unable to run {path}: ")
        + r"No such file or directory \(os error 2\)",
        got,
        "awsid",
    )


def _token_file_missing(ref: str, got: str) -> list[str]:
    path = "<HOME>/tokens/absent"
    return _expect(re.escape(f"[Errno 2] No such file or directory: '{path}'"), ref, "reference") + _expect(
        re.escape(f"Unable to read web identity token file {path}: ") + r"No such file or directory.*",
        got,
        "awsid",
    )


DIFFERENCES: dict[str, Difference] = {
    d.name: d
    for d in [
        Difference(
            "v2-profile-env-precedence",
            "v1 picks AWS_DEFAULT_PROFILE before AWS_PROFILE.",
            "AWS_PROFILE before AWS_DEFAULT_PROFILE (v2). The reference runs without "
            "AWS_DEFAULT_PROFILE when AWS_PROFILE is set, which is what v2 selects.",
            "v2 is the reference (DESIGN.md).",
        ),
        Difference(
            "v2-aws-region",
            "v1 ignores AWS_REGION (the credential STS client has no region, or "
            "AWS_DEFAULT_REGION's).",
            "AWS_REGION before AWS_DEFAULT_REGION (v2). The reference runs with "
            "AWS_DEFAULT_REGION set to AWS_REGION's value.",
            "v2 is the reference.",
        ),
        Difference(
            "process-output-not-json",
            "Raw `JSONDecodeError` text, e.g. `Expecting value: line 1 column 1 (char 0)`.",
            "`Error when retrieving credentials from custom-process: output is not valid JSON: …`.",
            "The reference leaks a Python exception (COMPATIBILITY.md table).",
            _process_not_json,
        ),
        Difference(
            "process-not-found",
            "Raw `FileNotFoundError`: `[Errno 2] No such file or directory: '<argv0>'`.",
            "`Error when retrieving credentials from custom-process: unable to run <argv0>: "
            "No such file or directory (os error 2)`.",
            "The reference leaks a Python exception (COMPATIBILITY.md table).",
            _process_not_found,
        ),
        Difference(
            "token-file-missing",
            "Raw `FileNotFoundError`: `[Errno 2] No such file or directory: '<path>'`.",
            "`Unable to read web identity token file <path>: No such file or directory …`.",
            "The reference leaks a Python exception (COMPATIBILITY.md table).",
            _token_file_missing,
        ),
    ]
}


@dataclass(frozen=True)
class KnownBug:
    """A divergence of awsid from the reference that is *not* deliberate: reported to the owner
    of the code (see the report of issue 3), recognised by its exact signature so that the case
    is marked xfail with the bug's name — any other disagreement in the same case still fails,
    and once awsid is fixed the case simply passes."""

    name: str
    description: str
    owner: str
    matches: Callable  # (case, ref Outcome, awsid Outcome) -> bool


# No known bug is open. The three found by this suite (client-side parameter validation,
# web identity needing no region for its unsigned call, no file cache for a web-identity
# source hop) were fixed in crates/credentials; their cases now pass as plain comparisons.
KNOWN_BUGS: dict[str, KnownBug] = {}
