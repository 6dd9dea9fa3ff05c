"""Runs Debian's aws CLI v2 (the second runnable reference) many times without paying its
start-up each time.

`/usr/bin/aws` is a script that imports `awscli.clidriver` (v2 2.9.19 under
`/usr/lib/python3/dist-packages`, with its vendored botocore) and calls
`awscli.clidriver.main()`. Importing costs ~0.8 s of CPU per run on this machine; a suite
with hundreds of cases cannot pay that. `python3 -I v2_forkserver.py --serve` imports the
CLI once (with HOME set to a placeholder) and then, per request line on stdin
(`{"argv", "env", "cwd", "stdout", "stderr"}`), forks a child that replaces its environment and
working directory, re-derives the module-level values the CLI computed from HOME at import
(`REHOMED`; the server refuses to start if any other imported value mentions the placeholder
HOME), re-applies what the imports put into the environment (`AWS_DATA_PATH`), and runs
`awscli.clidriver.main()` with `sys.argv = ["aws", *argv]` — the script's own code — with
stdout/stderr sent to the given files. It answers `{"status": <exit status>}`.

`ForkServer` is the client. The suites check on a sample that a fork gives exactly what
`/usr/bin/aws` gives (`test_v2_fork_server_matches_the_binary` in each suite). Run with the
system interpreter (`/usr/bin/python3 -I`), never the test venv, which holds awscli v1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

IMPORT_HOME = "/nonexistent/aws-v2-import-home"
SYSTEM_PYTHON = "/usr/bin/python3"


def _home_path(*parts: str) -> str:
    return os.path.expanduser(os.path.join("~", *parts))


# (module, attribute path) -> the value as the module computes it from HOME at import.
REHOMED = {
    ("awscli.customizations.assumerole", "CACHE_DIR"): lambda: _home_path(".aws", "cli", "cache"),
    ("botocore.utils", "JSONFileCache.CACHE_DIR"): lambda: _home_path(".aws", "boto", "cache"),
    ("botocore.tokens", "SSOTokenProvider._SSO_TOKEN_CACHE_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("botocore.credentials", "SSOProvider._SSO_TOKEN_CACHE_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("botocore.loaders", "Loader.CUSTOMER_DATA_PATH"): lambda: _home_path(".aws", "models"),
    ("awscli.customizations.history.constants", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.history", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.history.commands", "DEFAULT_HISTORY_FILENAME"):
        lambda: _home_path(".aws", "cli", "history", "history.db"),
    ("awscli.customizations.eks.update_kubeconfig", "DEFAULT_PATH"): lambda: _home_path(".kube", "config"),
    ("awscli.autocomplete.db", "INDEX_DIR"): lambda: _home_path(".aws", "cli", "cache"),
    ("awscli.autocomplete.db", "INDEX_FILE"):
        lambda: os.path.join(_home_path(".aws", "cli", "cache"), "%s.index" % _cli_version()),
    ("awscli.customizations.sso.utils", "SSO_TOKEN_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("awscli.customizations.sso.utils", "AWS_CREDS_CACHE_DIR"): lambda: _home_path(".aws", "cli", "cache"),
    ("awscli.customizations.sso.logout", "SSO_TOKEN_DIR"): lambda: _home_path(".aws", "sso", "cache"),
    ("awscli.customizations.sso.logout", "AWS_CREDS_CACHE_DIR"): lambda: _home_path(".aws", "cli", "cache"),
    ("awscli.customizations.sso", "AWS_CREDS_CACHE_DIR"): lambda: _home_path(".aws", "cli", "cache"),
}


def _cli_version() -> str:
    import awscli

    return awscli.__version__


def _holders_of(text: str) -> set[tuple[str, str]]:
    """(module, attribute path) of every module-level or class-level string holding `text`,
    under the module's own name and every alias (`botocore` for `awscli.botocore`)."""
    found = set()
    for name, mod in list(sys.modules.items()):
        for attr, value in list(getattr(mod, "__dict__", {}).items()):
            if isinstance(value, str) and text in value:
                found.add((name, attr))
            elif isinstance(value, type) and getattr(value, "__module__", None) in (name, getattr(mod, "__name__", None)):
                for cattr, cvalue in list(vars(value).items()):
                    if isinstance(cvalue, str) and text in cvalue:
                        found.add((name, f"{attr}.{cattr}"))
    return found


def _canonical(name: str) -> str:
    return name[len("awscli."):] if name.startswith("awscli.botocore") else name


def _rehome() -> None:
    for (module, path), value in REHOMED.items():
        if value is None:
            continue
        for name in (module, "awscli." + module):
            mod = sys.modules.get(name)
            if mod is None:
                continue
            *owners, attr = path.split(".")
            target = mod
            for owner in owners:
                target = getattr(target, owner)
            setattr(target, attr, value())


def _check_rehomed() -> None:
    unknown = {h for h in _holders_of(IMPORT_HOME) if (_canonical(h[0]), h[1]) not in REHOMED}
    unknown = {h for h in unknown if h[1] not in ("IMPORT_HOME",) and h[0] != "__main__"}
    if unknown:
        raise SystemExit(f"v2_forkserver: values computed from HOME at import are not re-homed: {sorted(unknown)}")


def _child(request: dict, import_env: dict[str, str]) -> int:
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    clash = set(import_env) & set(request["env"])
    if clash:
        raise RuntimeError(f"the run sets {sorted(clash)}, which the CLI's import changes")
    os.environ.clear()
    os.environ.update({**request["env"], **import_env})
    # /usr/bin/aws's own preamble.
    if os.environ.get("LC_CTYPE", "") == "UTF-8":
        os.environ["LC_CTYPE"] = "en_US.UTF-8"
    _rehome()
    import awscli.clidriver

    sys.argv = ["aws", *request["argv"]]
    return awscli.clidriver.main()


def serve() -> int:
    os.environ["HOME"] = IMPORT_HOME
    before = dict(os.environ)
    import awscli.clidriver  # noqa: F401 - the expensive imports, once
    import awscli.customizations.assumerole  # noqa: F401
    import awscli.customizations.configure.configure  # noqa: F401
    import awscli.customizations.configure.exportcreds  # noqa: F401
    import awscli.handlers  # noqa: F401
    import botocore.credentials  # noqa: F401
    import botocore.session  # noqa: F401

    # Build one driver so that lazily imported modules are loaded too, then check HOME.
    awscli.clidriver.create_clidriver()
    _check_rehomed()
    import_env = {k: v for k, v in os.environ.items() if before.get(k) != v and k != "HOME"}
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                code = _child(request, import_env)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException as exc:  # noqa: BLE001 - report, never return into the loop
                sys.stderr.write(f"v2 fork child failed: {exc!r}\n")
                code = 70
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code if isinstance(code, int) else 1)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()
    return 0


class ForkServer:
    """Client of `v2_forkserver.py --serve` (one request at a time; one server per worker)."""

    def __init__(self) -> None:
        # No AWS_* from the test process: importing awscli v1 there sets AWS_DATA_PATH to v1's
        # data, which v2's import would put first on its own data path.
        env = {k: v for k, v in v2_environment(dict(os.environ)).items() if not k.startswith("AWS_")}
        self._proc = subprocess.Popen([SYSTEM_PYTHON, "-I", str(Path(__file__)), "--serve"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env=env)
        self._lock = threading.Lock()

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, outdir: Path) -> tuple[str, str, int]:
        """Runs `aws ARGV` in `env`/`cwd`; returns (stdout, stderr, exit status)."""
        outdir.mkdir(parents=True, exist_ok=True)
        out, err = outdir / "aws-v2.stdout", outdir / "aws-v2.stderr"
        request = {"argv": argv, "env": v2_environment(env), "cwd": str(cwd), "stdout": str(out),
                   "stderr": str(err)}
        with self._lock:
            assert self._proc.stdin and self._proc.stdout
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"v2 fork server exited with status {self._proc.wait()}")
        return out.read_text(), err.read_text(), json.loads(line)["status"]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def v2_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` without the Python settings that would make /usr/bin/python3 import the test
    venv's awscli v1 (scripts/test may set PYTHONPATH)."""
    return {k: v for k, v in env.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "AWS_DATA_PATH")}


def run_binary(aws_v2: Path, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[str, str, int]:
    """The binary itself, for the equivalence checks."""
    proc = subprocess.run([str(aws_v2), *argv], env=v2_environment(env), cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    return proc.stdout, proc.stderr, proc.returncode


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    sys.exit(f"usage: {SYSTEM_PYTHON} -I {sys.argv[0]} --serve")
