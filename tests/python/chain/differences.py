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
            "v2-imds-region",
            "v1 has no region source after the profile's `region`: the credential STS client "
            "has no region (a custom endpoint then cannot sign).",
            "with no region configured, each credential STS client asks IMDS for the "
            "instance's zone (v2 `IMDSRegionProvider`; token PUT, then GET "
            "placement/availability-zone/). The reference runs with AWS_DEFAULT_REGION set to "
            "the fake instance's region, and those IMDS requests are left out of awsid's "
            "request log when comparing.",
            "v2 is the reference (COMPATIBILITY.md, 'Region from instance metadata').",
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


# ------------------------------------------------------------------------------------------------
# Where Debian's v2 (2.9.19) differs from the current v2 sources (2.36.7)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class V2Exception:
    """A behaviour of 2.9.19 that a later v2 release changed; awsid follows the current
    sources. `applies(case)` decides which cases carry it (shown in the test id); `check(case,
    v2, awsid)` returns None when the case did not reach the changed behaviour (everything is
    then compared as usual), else the problems (empty when the disagreement is exactly this
    one, and nothing else is compared)."""

    name: str
    release: str
    description: str
    applies: Callable
    check: Callable


NO_REGION = "You must specify a region."


def _custom_sts_endpoint(case) -> bool:
    settings = {k for _, keys in case.config for k, _ in keys}
    return bool({"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} & set(case.env)) or bool(
        {"endpoint_url", "services"} & {k.strip() for k in settings})


def _no_region(case) -> bool:
    return case.region_choice in (None, "none") and (case.imds_mode == "disabled" or case.imds_zone is None)


def _global_endpoint_check(case, v2, got):
    if got.ok or got.message != NO_REGION:
        return None  # no signed call without a region (static keys, an unsigned web identity call)
    problems = []
    if got.phase != "fetch" or got.exit_code != 253:
        problems.append(f"awsid: {NO_REGION!r} should be an unwrapped NoRegionError (253)")
    if not v2.sts_calls or any(c.get("region") not in (None, "us-east-1") for c in v2.sts_calls):
        problems.append(f"2.9.19 did not use the global endpoint: {v2.sts_calls}")
    return problems


def _container_token_file_check(case, v2, got):
    if v2.ok or "Received non 200 response (401) from ECS metadata" not in (v2.message or ""):
        return [f"2.9.19 did not fail without the token of the token file: {v2.message!r}"]
    if not (got.ok or got.phase):
        return ["awsid produced neither credentials nor an error"]
    return []


V2_EXCEPTIONS: dict[str, V2Exception] = {
    e.name: e
    for e in [
        V2Exception(
            "endpoint-url-settings",
            "2.13.0",
            "2.9.19 has no AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_STS / endpoint_url / services "
            "sections (v2 2.13.0, botocore configprovider `ignore_configured_endpoint_urls`): "
            "it calls the real STS endpoint (through the test tunnel), and without a region the "
            "global one, signed for us-east-1. With a configured endpoint and no region, the "
            "current sources (client.py `_pick_region_values`: a custom endpoint keeps the "
            "client's region, None) and awsid fail with NoRegionError.",
            lambda c: _no_region(c) and _custom_sts_endpoint(c),
            _global_endpoint_check,
        ),
        V2Exception(
            "container-token-file",
            "2.15.0",
            "2.9.19 does not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (v2 2.15.0, "
            "credentials.py `ContainerProvider`): it calls the container endpoint without the "
            "token and gets 401.",
            lambda c: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in c.env
            and "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in c.env,
            _container_token_file_check,
        ),
    ]
}


def v2_exceptions(case) -> list[str]:
    """The names of the 2.9.19 exceptions that apply to `case`."""
    return [name for name, e in V2_EXCEPTIONS.items() if e.applies(case)]
