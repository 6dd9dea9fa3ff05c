"""The botocore side of the chain suite: resolve credentials the way the aws CLI does and print
the result as one JSON line.

Usage: `python driver.py [--profile NAME] [--region REGION]` (the CLI's global options), or
`python driver.py --serve` (the fork server, below).

The session is the CLI's own: `awscli.clidriver.create_clidriver()`, the global options parsed
by the CLI's parser and applied by `_handle_top_level_args`, then the `session-initialized`
event, whose handlers give the assume-role and web-identity providers their `JSONFileCache` on
`~/.aws/cli/cache` (`awscli.customizations.assumerole`) exactly as in `aws …`. Then it does what
v2's `aws configure export-credentials` does (`awscli/customizations/configure/exportcreds.py`):
`session.get_credentials()` — an error there is wrapped by v2 as
`Unable to retrieve credentials: <message>` —, then `get_frozen_credentials()` (the deferred
fetch; v2 lets its errors escape unwrapped) and the expiry from `_expiry_time.isoformat()`.

Printed: `{"ok": true, "method", "access_key", "secret_key", "token", "expiry"}` or
`{"ok": false, "phase": "resolve"|"fetch", "type", "message"}` (message stripped, as v2 does).

Fork server: importing awscli costs ~0.35 s of CPU per process, most of a case's cost on this
shared 2-core machine. `--serve` imports the CLI once and then, per request line on stdin
(`{"argv", "env", "cwd", "stdout", "stderr"}`), forks a child that replaces its environment and
working directory, re-derives the few module-level values the CLI computed from HOME at import
(`REHOMED`; a scan at start-up fails the server if any other imported value mentions the
import-time HOME) and the variables the imports set (`AWS_DATA_PATH`), and runs exactly the code above with stdout/stderr sent to the given files.
The server answers `{"status": <exit status>}` per request. The suite checks that this gives the
same results as a fresh interpreter (`test_fork_server_matches_a_fresh_interpreter`).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

MARKER = "CHAIN-DRIVER-RESULT "
# The HOME the server imports the CLI under; nothing imported may keep it (see `_check_rehomed`).
IMPORT_HOME = "/nonexistent/chain-driver-import-home"


def _error(phase: str, exc: BaseException) -> dict:
    return {"ok": False, "phase": phase, "type": type(exc).__name__, "message": str(exc).strip()}


def resolve(argv: list[str]) -> dict:
    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    try:
        parser = driver._create_parser(driver._get_command_table())
        # Any command will do: only the global options matter, and nothing is run.
        parsed, remaining = parser.parse_known_args([*argv, "sts", "get-caller-identity"])
        driver._handle_top_level_args(parsed, remaining)
        driver._emit_session_event(parsed)
        trace = _trace(driver.session)
        creds = driver.session.get_credentials()
    except Exception as exc:  # noqa: BLE001 - every failure is a result to compare
        return {**_error("resolve", exc), **_traced(locals().get("trace"))}
    if creds is None:
        return {"ok": False, "phase": "resolve", "type": "None", "message": "no credentials found",
                **_traced(trace)}
    try:
        frozen = creds.get_frozen_credentials()
    except Exception as exc:  # noqa: BLE001
        return {**_error("fetch", exc), **_traced(trace)}
    expiry = getattr(creds, "_expiry_time", None)
    return {
        "ok": True,
        "method": creds.method,
        "access_key": frozen.access_key,
        "secret_key": frozen.secret_key,
        "token": frozen.token,
        "expiry": expiry.isoformat() if isinstance(expiry, datetime) else None,
        **_traced(trace),
    }


def _trace(session) -> dict:
    """Records what the chain did, for the explain suite (it changes nothing the chain does):
    `tried` — the top-level providers whose `load` ran, in order (the last one gave the
    credentials or raised); `visited` — the assume-role provider's `_visited_profiles` (the
    source_profile walk); `base` — the method of the innermost source credentials of a role
    chain. Building the resolver here is what `get_credentials()` does first anyway."""
    trace: dict = {"tried": [], "visited": None, "base": None, "depth": 0}
    resolver = session.get_component("credential_provider")
    for provider in resolver.providers:
        def load(provider=provider, original=provider.load):
            # A provider used as a credential_source (the same instances) is not top-level.
            if trace["depth"]:
                return original()
            trace["tried"].append(provider.METHOD)
            trace["depth"] += 1
            try:
                return original()
            finally:
                trace["depth"] -= 1
                if provider.METHOD == "assume-role" and trace.get("entered"):
                    trace["visited"] = list(provider._visited_profiles)
        provider.load = load
        if provider.METHOD == "assume-role":
            def source(role_config, profile_name, original=provider._resolve_source_credentials):
                trace["entered"] = True
                creds = original(role_config, profile_name)
                if trace["base"] is None:
                    trace["base"] = getattr(creds, "method", None)
                return creds
            provider._resolve_source_credentials = source
    return trace


def _traced(trace: dict | None) -> dict:
    if trace is None:
        return {"tried": [], "visited": None, "base": None}
    return {"tried": trace["tried"], "visited": trace["visited"], "base": trace["base"]}


def main(argv: list[str]) -> int:
    result = resolve(argv)
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


# ------------------------------------------------------------------------------------------------
# Fork server
# ------------------------------------------------------------------------------------------------


def _home_path(*parts: str) -> str:
    return os.path.expanduser(os.path.join("~", *parts))


# (module, attribute path) -> the value as the module computes it from HOME at import.
REHOMED = {
    ("awscli.customizations.assumerole", "CACHE_DIR"): lambda: _home_path(".aws", "cli", "cache"),
    ("botocore.utils", "JSONFileCache.CACHE_DIR"): lambda: _home_path(".aws", "boto", "cache"),
    ("botocore.tokens", "SSOTokenProvider._SSO_TOKEN_CACHE_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("botocore.credentials", "SSOProvider._SSO_TOKEN_CACHE_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("awscli.customizations.history.constants", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.history", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.history.commands", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.eks.update_kubeconfig", "DEFAULT_PATH"): lambda: _home_path(".kube", "config"),
    ("botocore.loaders", "Loader.CUSTOMER_DATA_PATH"): lambda: _home_path(".aws", "models"),
}


def _rehome() -> None:
    for (module, path), value in REHOMED.items():
        mod = sys.modules.get(module)
        if mod is None:
            continue
        *owners, attr = path.split(".")
        target = mod
        for owner in owners:
            target = getattr(target, owner)
        setattr(target, attr, value())


def _holders_of(text: str) -> set[tuple[str, str]]:
    """(module, attribute path) of every module-level or class-level string holding `text`."""
    found = set()
    for name, mod in list(sys.modules.items()):
        for attr, value in list(getattr(mod, "__dict__", {}).items()):
            if isinstance(value, str) and text in value:
                found.add((name, attr))
            elif isinstance(value, type) and value.__module__ == name:
                for cattr, cvalue in list(vars(value).items()):
                    if isinstance(cvalue, str) and text in cvalue:
                        found.add((name, f"{attr}.{cattr}"))
    return found


def _check_rehomed() -> None:
    unknown = {h for h in _holders_of(IMPORT_HOME) - set(REHOMED) if h[1] != "IMPORT_HOME"}
    if unknown:
        raise SystemExit(f"driver --serve: values computed from HOME at import are not re-homed: {sorted(unknown)}")


def _child(request: dict) -> None:
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    os.environ.clear()
    os.environ.update(request["env"])
    _rehome()
    main(request["argv"])


def serve() -> int:
    os.environ["HOME"] = IMPORT_HOME
    before = dict(os.environ)
    import awscli.clidriver  # noqa: F401 - the expensive imports, once
    import awscli.customizations.assumerole  # noqa: F401
    import awscli.handlers  # noqa: F401
    import botocore.credentials  # noqa: F401
    import botocore.tokens  # noqa: F401

    _check_rehomed()
    # Variables the imports set (awscli puts its data directory in AWS_DATA_PATH): a fresh
    # interpreter would set them again, so every child gets them on top of its environment.
    import_env = {k: v for k, v in os.environ.items() if before.get(k) != v}
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                clash = set(import_env) & set(request["env"])
                if clash:
                    raise RuntimeError(f"the case sets {sorted(clash)}, which the CLI's import changes")
                request["env"] = {**request["env"], **import_env}
                _child(request)
            except BaseException as exc:  # noqa: BLE001 - report, never return into the loop
                sys.stderr.write(f"driver child failed: {exc!r}\n")
                code = 70
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    sys.exit(main(sys.argv[1:]))
