"""Differential suite: the real `aws configure get|set|list` (awscli 1.45.11) against
`awsid configure …` on the same generated files, comparing stdout, stderr, exit status and the
resulting file bytes and modes.

Each case runs in its own throw-away HOME with AWS_EC2_METADATA_DISABLED=true and no network.
Where awsid deliberately differs (v2 behaviour, or a reference that crashes or corrupts files)
the case carries the difference's name from `configure_differences.DIFFERENCES`, visible in
the test id, and the comparison applies exactly that difference and nothing else.

Reproduce one case: `pytest tests/python/test_configure_differential.py -k 'set-017'`; a failure
prints the case's inputs and both results. AWSID_DIFF_SEED changes the generated corpus.
"""

from __future__ import annotations

import difflib
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ConfigParseError

from configure_cases import (
    Case,
    Result,
    all_cases,
    botocore_profiles,
    tree_diff,
    materialise_env,
    run_in_home,
    snapshot,
    write_files,
)
from configure_differences import DIFFERENCES, describe, legacy_stderr

CASES = all_cases()
REFERENCE_WORKERS = 4  # the aws CLI spends ~0.25 s per call starting Python


def test_corpus_is_large_and_names_every_difference():
    assert len(CASES) >= 200, len(CASES)
    assert len({c.case_id for c in CASES}) == len(CASES), "case ids must be unique"
    used = {d for c in CASES for d in c.differences}
    wizard_only = {n for n in DIFFERENCES if n.startswith("wizard-")}
    assert used == set(DIFFERENCES) - wizard_only, (
        f"unused: {set(DIFFERENCES) - wizard_only - used}, unknown: {used - set(DIFFERENCES)}"
    )


# ------------------------------------------------------------------------------------------------
# Running every selected case once, references in parallel
# ------------------------------------------------------------------------------------------------


class Run:
    """Both sides of one case: the files before, the reference result and awsid's result."""

    def __init__(self, before: dict, ref: Result, got: Result, ref_home: Path, got_home: Path):
        self.before, self.ref, self.got = before, ref, got
        self.ref_home, self.got_home = ref_home, got_home


def _run_one(case: Case, base: Path, aws: str, awsid: str) -> Run:
    homes = {}
    results = {}
    before = None
    for who, program, argv, env in (
        ("ref", aws, case.reference_argv(), case.reference_env()),
        ("awsid", awsid, case.argv, case.env),
    ):
        home = base / case.case_id / who / "home"
        home.mkdir(parents=True)
        write_files(home, case.files)
        snap = snapshot(home)
        before = before or snap
        results[who] = run_in_home(program, argv, home, materialise_env(env, home))
        homes[who] = home
    return Run(before, results["ref"], results["awsid"], homes["ref"], homes["awsid"])


@pytest.fixture(scope="module")
def runs(request, aws_bin, awsid_bin, tmp_path_factory) -> dict[str, Run]:
    selected = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("case"), Case):
            selected.append(params["case"])
    base = tmp_path_factory.mktemp("configure-diff")
    with ThreadPoolExecutor(max_workers=REFERENCE_WORKERS) as pool:
        futures = {c.case_id: pool.submit(_run_one, c, base, str(aws_bin), str(awsid_bin)) for c in selected}
        return {cid: f.result() for cid, f in futures.items()}


# ------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------


def _fail(case: Case, run: Run, problems: list[str]) -> None:
    parts = [case.describe()]
    if case.differences:
        parts.append("named differences applied:\n" + describe(case.differences))
    parts.append("problems:\n" + "\n".join(f"  - {p}" for p in problems))
    parts.append("reference (aws):\n" + run.ref.summary())
    parts.append("awsid:\n" + run.got.summary())
    pytest.fail("\n".join(parts), pytrace=False)


def _compare_exact(case: Case, run: Run, *, stdout: bool = True) -> list[str]:
    problems = []
    if stdout and run.ref.stdout != run.got.stdout:
        problems.append(f"stdout differs: aws {run.ref.stdout!r} vs awsid {run.got.stdout!r}")
    # The v2 error writer (`error-writer`, configure_differences.py) applies to every case.
    if run.ref.stderr != legacy_stderr(run.got.stderr):
        problems.append(f"stderr differs: aws {run.ref.stderr!r} vs awsid {run.got.stderr!r}")
    if run.ref.code != run.got.code:
        problems.append(f"exit status differs: aws {run.ref.code} vs awsid {run.got.code}")
    tree = tree_diff(run.ref.tree, run.got.tree, "aws", "awsid")
    if tree:
        problems.append("resulting files differ:\n" + "\n".join(tree))
    return problems


# ------------------------------------------------------------------------------------------------
# `configure list` tables
# ------------------------------------------------------------------------------------------------

V2_HEADER = ("NAME", "VALUE", "TYPE", "LOCATION")
V2_PROFILE_ENV = "['AWS_PROFILE', 'AWS_DEFAULT_PROFILE']"
V1_PROFILE_ENV = "['AWS_DEFAULT_PROFILE', 'AWS_PROFILE']"
V2_REGION_ENV = "['AWS_REGION', 'AWS_DEFAULT_REGION']"


def render_v2(rows: list[tuple[str, str, str, str]]) -> str:
    return "".join(f"{n:<10} : {v:<24} : {t:<16} : {loc}\n" for n, v, t, loc in [V2_HEADER, *rows])


def render_v1(rows: list[tuple[str, str, str, str]]) -> str:
    head = [("Name", "Value", "Type", "Location"), ("----", "-----", "----", "--------")]
    return "".join("%10s %24s %16s    %s\n" % row for row in [*head, *rows])


def parse_v2(text: str) -> list[tuple[str, str, str, str]]:
    """Rows of awsid's table (without the header); raises ValueError on a malformed table."""
    lines = text.splitlines(keepends=True)
    if not lines:
        raise ValueError("empty output")
    rows = []
    for line in lines:
        parts = line.rstrip("\n").split(" : ", 3)
        if len(parts) != 4:
            raise ValueError(f"not a 4-column row: {line!r}")
        rows.append(tuple(p.rstrip(" ") if i < 3 else p for i, p in enumerate(parts)))
    if rows[0] != V2_HEADER:
        raise ValueError(f"header is {rows[0]!r}, expected {V2_HEADER!r}")
    return rows[1:]


def v2_rows_as_v1(case: Case, rows: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """What v1 prints for the same settings: undo exactly the named location differences."""
    out = []
    for name, value, typ, loc in rows:
        if name == "profile" and typ == "env" and "list-profile-env-location" in case.differences:
            loc = V1_PROFILE_ENV if loc == V2_PROFILE_ENV else f"<unexpected {loc!r}>"
        if name == "region" and typ == "env" and "list-region-env-location" in case.differences:
            loc = "AWS_DEFAULT_REGION" if loc == V2_REGION_ENV else f"<unexpected {loc!r}>"
        out.append((name, value, typ, loc))
    return out


def check_list(case: Case, run: Run) -> list[str]:
    problems = _compare_exact(case, run, stdout=False)
    try:
        rows = parse_v2(run.got.stdout)
    except ValueError as e:
        return problems + [f"awsid's table is not the v2 layout: {e}"]
    if render_v2(rows) != run.got.stdout:
        problems.append(
            f"awsid's table is not exactly the v2 layout:\n    got      {run.got.stdout!r}\n"
            f"    expected {render_v2(rows)!r}"
        )
    expected_v1 = render_v1(v2_rows_as_v1(case, rows))
    if expected_v1 != run.ref.stdout:
        problems.append(
            "rows differ (awsid's rows rendered in the v1 layout vs aws):\n"
            + "".join(f"    {line}\n" for line in difflib.unified_diff(
                run.ref.stdout.splitlines(), expected_v1.splitlines(), "aws", "awsid-as-v1", lineterm=""))
        )
    return problems


# ------------------------------------------------------------------------------------------------
# Malformed files, corrupting writer cases, usage errors
# ------------------------------------------------------------------------------------------------


def check_malformed(case: Case, run: Run) -> list[str]:
    problems = []
    marker = f"ConfigParseError: Unable to parse config file: <HOME>/{case.bad_file}"
    if not (run.ref.code == 1 and "Traceback" in run.ref.stderr and marker in run.ref.stderr):
        problems.append(f"reference no longer dies with a traceback ending in {marker!r} (exit 1)")
    if run.ref.tree != run.before:
        problems.append("the reference changed a file")
    if run.got.code != 255:
        problems.append(f"awsid exit status {run.got.code}, expected 255")
    wanted = f"Unable to parse config file: <HOME>/{case.bad_file}"
    if wanted not in run.got.stderr:
        problems.append(f"awsid's stderr does not contain {wanted!r}")
    lines = {int(n) for n in re.findall(r"\bline (\d+)", run.got.stderr)}
    if not lines & set(case.bad_lines):
        problems.append(f"awsid's stderr names no line among {case.bad_lines} (found {sorted(lines)})")
    if "Traceback" in run.got.stderr:
        problems.append("awsid printed a traceback")
    if case.argv[1] in ("get", "set") and run.got.stdout:
        problems.append(f"awsid printed on stdout: {run.got.stdout!r}")
    if run.got.tree != run.before:
        problems.append("awsid changed a file:\n" + "\n".join(tree_diff(run.before, run.got.tree, "before", "awsid")))
    return problems


def _lookup(view: dict, profile: str, key: str):
    value = view.get(profile, {})
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def check_writer(case: Case, run: Run, aws_bin: Path) -> list[str]:
    problems = []
    diff = next(d for d in case.differences if d.startswith("writer-"))
    profile = case.check_profile or "default"

    def view(home: Path) -> dict:
        return botocore_profiles(home, case.config_rel, case.creds_rel)

    # The view of the files before the edit, from a pristine copy.
    pristine = run.ref_home.parent.parent / "pristine"
    if not pristine.exists():
        pristine.mkdir()
        write_files(pristine, case.files)
    original = view(pristine)

    # 1. The reference's corruption, as observed.
    if diff in ("writer-indented-header", "writer-key-case"):
        try:
            view(run.ref_home)
            problems.append("reference's file still parses: the corruption this case names is gone")
        except ConfigParseError:
            pass
    elif diff in ("writer-spaced-profile-header", "writer-quoted-profile-header"):
        after = view(run.ref_home)
        lost = [k for k in original.get(profile, {}) if k != case.check_key and k not in after.get(profile, {})]
        if not lost:
            problems.append("reference lost no key: the corruption this case names is gone")
    elif diff == "writer-nested-on-scalar":
        crashed = run.ref.code == 255 and "current_indent" in run.ref.stderr and run.ref.tree == run.before
        unreadable = run.ref.code == 0 and _lookup(view(run.ref_home), profile, case.check_key) is None
        if not (crashed or unreadable):
            problems.append("reference neither crashes (current_indent) nor writes an unreadable value")
    elif diff == "writer-scalar-on-section":
        if _lookup(view(run.ref_home), profile, case.check_key) in (None, case.check_value):
            problems.append("reference reads back the asked value: the corruption this case names is gone")
    elif diff == "writer-expands-vars":
        literal = [p for p in run.ref.tree if p.startswith("$")]
        if run.ref.code != 0 or not literal:
            problems.append("reference did not write a literal `$HOME/…` file: the loss this case names is gone")
    elif diff == "writer-indented-key":
        try:
            after = view(run.ref_home)
            intact = _lookup(after, profile, case.check_key) == case.check_value and all(
                after.get(profile, {}).get(k) == v for k, v in original.get(profile, {}).items()
                if k != case.check_key)
        except ConfigParseError:
            intact = False
        if intact:
            problems.append("reference's edit reads back intact: the corruption this case names is gone")

    # 2. awsid: the right edit, or (nested on scalar only) a clean refusal; a scalar on a
    # section is always refused.
    if diff == "writer-scalar-on-section":
        if run.got.code != 255 or "Cannot set " + case.check_key + " to a value: it holds a section" not in run.got.stderr:
            problems.append(f"awsid must refuse (exit 255), got {run.got.code} {run.got.stderr!r}")
        if run.got.tree != run.before:
            problems.append("awsid changed a file although it refused the edit")
        return problems
    if diff == "writer-nested-on-scalar" and run.got.code != 0:
        if run.got.code != 255 or not run.got.stderr.strip() or "Traceback" in run.got.stderr:
            problems.append(f"awsid must fail cleanly (exit 255 with a message), got {run.got.code}")
        if "current_indent" in run.got.stderr:
            problems.append("awsid copied the reference's internal error text")
        if run.got.tree != run.before:
            problems.append("awsid changed a file although it refused the edit")
        return problems
    if run.got.code != 0 or run.got.stdout or run.got.stderr:
        problems.append(f"awsid: exit {run.got.code}, stdout {run.got.stdout!r}, stderr {run.got.stderr!r}")
        return problems
    try:
        after = view(run.got_home)
    except ConfigParseError as e:
        return problems + [f"botocore cannot parse awsid's result: {e}"]
    expected = {k: v for k, v in original.get(profile, {}).items()}
    top = case.check_key.split(".")[0]
    for k, v in expected.items():
        if k != top and after.get(profile, {}).get(k) != v:
            problems.append(f"awsid lost or changed key {k!r} of profile {profile!r}")
    if _lookup(after, profile, case.check_key) != case.check_value:
        problems.append(f"botocore reads {case.check_key}={_lookup(after, profile, case.check_key)!r} "
                        f"in profile {profile!r}, expected {case.check_value!r}")
    for other, values in original.items():
        if other != profile and after.get(other) != values:
            problems.append(f"awsid changed profile {other!r}")
    # And the reference CLI itself reads the new value back from awsid's files.
    argv = ["configure", "get", case.check_key]
    if case.check_profile is not None:
        argv += ["--profile", case.check_profile]
    env = {k: v for k, v in case.env.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    back = run_in_home(str(aws_bin), argv, run.got_home, materialise_env(env, run.got_home))
    if back.code != 0 or back.stdout != case.check_value + "\n":
        problems.append(f"`aws {' '.join(argv)}` on awsid's files: exit {back.code}, stdout {back.stdout!r}")
    return problems


def check_usage(case: Case, run: Run) -> list[str]:
    problems = []
    if run.ref.code != 2:
        problems.append(f"reference exit status {run.ref.code}, expected the argparse 2")
    if run.got.code != 252:
        problems.append(f"awsid exit status {run.got.code}, expected 252 (v2 usage error)")
    if not run.got.stderr.strip():
        problems.append("awsid printed no usage message")
    if run.got.stdout:
        problems.append(f"awsid printed on stdout: {run.got.stdout!r}")
    if run.got.tree != run.before:
        problems.append("awsid changed a file")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_configure_matches_reference(case: Case, runs: dict[str, Run], aws_bin: Path):
    run = runs[case.case_id]
    if case.kind in ("get", "set"):
        problems = _compare_exact(case, run)
    elif case.kind == "list":
        problems = check_list(case, run)
    elif case.kind == "malformed":
        problems = check_malformed(case, run)
    elif case.kind == "writer":
        problems = check_writer(case, run, aws_bin)
    elif case.kind == "usage":
        problems = check_usage(case, run)
    else:
        raise AssertionError(f"unknown case kind {case.kind}")
    if problems:
        _fail(case, run, problems)


# ------------------------------------------------------------------------------------------------
# The comparison helpers themselves
# ------------------------------------------------------------------------------------------------


def test_list_table_round_trip():
    rows = [("profile", "<not set>", "None", "None"),
            ("access_key", "****************MPLE", "shared-credentials-file", ""),
            ("region", "us-west-2 # prod", "config-file", "~/.aws/config")]
    text = render_v2(rows)
    assert text.splitlines()[0] == "NAME       : VALUE                    : TYPE             : LOCATION"
    assert text.splitlines(keepends=True)[2] == (
        "access_key : ****************MPLE     : shared-credentials-file : \n")
    assert parse_v2(text) == rows
    assert render_v1(rows).splitlines()[4] == "    region         us-west-2 # prod      config-file    ~/.aws/config"
    with pytest.raises(ValueError):
        parse_v2("      Name                    Value             Type    Location\n")


# ------------------------------------------------------------------------------------------------
# The second reference: Debian's aws CLI v2 (2.9.19)
# ------------------------------------------------------------------------------------------------
#
# Every case also runs through the real `aws configure …` of Debian's v2 package (forks of
# `v2_forkserver.py`, checked against `/usr/bin/aws` on a sample below). awsid must agree with it
# as with v1, minus the v1-vs-v2 differences (2.9.19 is a v2) and plus the named exceptions where
# 2.9.19 differs from the current v2 sources (`configure_differences.V2_EXCEPTIONS`, each with
# the release that changed the behaviour).

import queue  # noqa: E402

from configure_cases import run_v2_in_home  # noqa: E402
from configure_differences import V2_EXCEPTIONS, v2_exceptions, v2_unparse_line  # noqa: E402
from v2_forkserver import ForkServer as V2ForkServer  # noqa: E402
from v2_forkserver import run_binary  # noqa: E402

V2_WORKERS = 3


def _run_one_v2(case: Case, base: Path, awsid: str, servers: queue.Queue) -> Run:
    results, homes, before = {}, {}, None
    for who in ("v2", "awsid"):
        home = base / case.case_id / who / "home"
        home.mkdir(parents=True)
        write_files(home, case.files)
        snap = snapshot(home)
        before = before or snap
        env = materialise_env(case.env, home)
        if who == "v2":
            server = servers.get()
            try:
                results[who] = run_v2_in_home(server, case.argv, home, env)
            finally:
                servers.put(server)
        else:
            results[who] = run_in_home(awsid, case.argv, home, env)
        homes[who] = home
    return Run(before, results["v2"], results["awsid"], homes["v2"], homes["awsid"])


@pytest.fixture(scope="module")
def v2_runs(request, aws_v2_bin, awsid_bin, tmp_path_factory) -> dict[str, Run]:
    selected = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("v2case"), Case):
            selected.append(params["v2case"])
    base = tmp_path_factory.mktemp("configure-v2")
    servers: queue.Queue = queue.Queue()
    started = [V2ForkServer() for _ in range(V2_WORKERS)] if selected else []
    for s in started:
        servers.put(s)
    try:
        with ThreadPoolExecutor(max_workers=V2_WORKERS) as pool:
            futures = {c.case_id: pool.submit(_run_one_v2, c, base, str(awsid_bin), servers) for c in selected}
            return {cid: f.result() for cid, f in futures.items()}
    finally:
        for s in started:
            s.close()


def check_v2(case: Case, run: Run, aws_bin: Path) -> list[str]:
    """Every disagreement between 2.9.19 and awsid on `case`, the named exceptions applied."""
    for name in v2_exceptions(case):
        check = V2_EXCEPTIONS[name].check
        verdict = check(case, run) if check is not None else None
        if verdict is not None:
            return verdict
    if case.kind in ("get", "set"):
        return _compare_exact(case, run)
    if case.kind == "list":
        problems = _compare_exact(case, run, stdout=False)
        try:
            rows = parse_v2(run.got.stdout)
        except ValueError as e:
            return problems + [f"awsid's table is not the v2 layout: {e}"]
        # 2.9.19 prints the table in the layout before 2.31.0 (exception `list-layout`).
        if render_v1(rows) != run.ref.stdout:
            problems.append("rows differ:\n" + "".join(f"    {line}\n" for line in difflib.unified_diff(
                run.ref.stdout.splitlines(), render_v1(rows).splitlines(), "aws v2", "awsid-as-2.9", lineterm="")))
        return problems
    if case.kind == "malformed":
        problems = []
        if (run.ref.code, run.ref.stdout) != (run.got.code, run.got.stdout):
            problems.append(f"exit/stdout: v2 {run.ref.code} {run.ref.stdout!r}, awsid {run.got.code} {run.got.stdout!r}")
        if run.ref.stderr != v2_unparse_line(legacy_stderr(run.got.stderr)):
            problems.append(f"stderr: v2 {run.ref.stderr!r}, awsid {run.got.stderr!r}")
        if run.got.tree != run.before or run.ref.tree != run.before:
            problems.append("a file was changed")
        return problems
    if case.kind == "writer":
        return check_writer(case, run, aws_bin)
    if case.kind == "usage":
        problems = []
        if (run.ref.code, run.got.code) != (252, 252):
            problems.append(f"exit status: v2 {run.ref.code}, awsid {run.got.code} (both must be 252)")
        if run.got.tree != run.before:
            problems.append("awsid changed a file")
        return problems
    raise AssertionError(case.kind)


V2_CASES = [(c, v2_exceptions(c)) for c in CASES]


@pytest.mark.parametrize("v2case", [c for c, _ in V2_CASES],
                         ids=[c.case_id + (f"[v2-exception={','.join(e)}]" if e else "") for c, e in V2_CASES])
def test_configure_matches_v2(v2case: Case, v2_runs: dict[str, Run], aws_bin: Path):
    run = v2_runs[v2case.case_id]
    problems = check_v2(v2case, run, aws_bin)
    if problems:
        parts = [v2case.describe()]
        for name in v2_exceptions(v2case):
            e = V2_EXCEPTIONS[name]
            parts.append(f"2.9.19 exception {name} ({e.release}): {e.description}")
        parts.append("problems:\n" + "\n".join(f"  - {p}" for p in problems))
        parts.append("Debian's aws v2 (2.9.19):\n" + run.ref.summary())
        parts.append("awsid:\n" + run.got.summary())
        pytest.fail("\n".join(parts), pytrace=False)


def test_v2_fork_server_matches_the_binary(aws_v2_bin, tmp_path):
    """The fork server is only a speed-up: on a sample of every kind it gives exactly what
    `/usr/bin/aws` gives (output, status, files)."""
    sample = [c for c in CASES if c.case_id.endswith("-000") or c.case_id.endswith("-001")]
    server = V2ForkServer()
    try:
        for case in sample:
            results = []
            for way in ("fork", "binary"):
                home = tmp_path / case.case_id / way / "home"
                home.mkdir(parents=True)
                write_files(home, case.files)
                env = materialise_env(case.env, home)
                if way == "fork":
                    results.append(run_v2_in_home(server, case.argv, home, env))
                else:
                    from configure_cases import child_env as run_env
                    out, err, code = run_binary(aws_v2_bin, case.argv, run_env(home, env), home)
                    h = str(home)
                    results.append(Result(out.replace(h, "<HOME>"), err.replace(h, "<HOME>"), code, snapshot(home)))
            fork, binary = results
            assert (fork.stdout, fork.stderr, fork.code, fork.tree) == (binary.stdout, binary.stderr, binary.code, binary.tree), (
                case.describe(), fork.summary(), binary.summary())
    finally:
        server.close()


def test_v2_profile_named_like_part_of_plugins(aws_v2_bin, aws_bin, awsid_bin, tmp_path):
    """v2's `PREDEFINED_SECTION_NAMES` is the string `'plugins'` (2.36.7 and 2.9.19
    `configure/__init__.py`), so `profile in PREDEFINED_SECTION_NAMES` is a substring test:
    `set --profile gin` writes `[gin]`, which the reader does not take for the profile — the
    value is lost (COMPATIBILITY.md). v1's tuple does not have it; awsid writes `[profile gin]`,
    which 2.9.19 itself reads back."""
    from configure_cases import child_env as run_env

    for name in ("gin", "s"):
        homes = {}
        for who in ("v2", "v1", "awsid"):
            home = tmp_path / name / who
            home.mkdir(parents=True)
            write_files(home, {".aws/config": "[default]\n"})
            argv = ["configure", "set", "region", "eu-west-1", "--profile", name]
            if who == "v2":
                out, err, code = run_binary(aws_v2_bin, argv, run_env(home, {}), home)
            else:
                r = run_in_home(str(aws_bin if who == "v1" else awsid_bin), argv, home, {})
                out, err, code = r.stdout, r.stderr, r.code
            assert (code, out, err) == (0, "", ""), (who, name, err)
            homes[who] = home
        config = {who: (h / ".aws" / "config").read_text() for who, h in homes.items()}
        assert config["v2"] == f"[default]\n[{name}]\nregion = eu-west-1\n", config
        assert config["v1"] == config["awsid"] == f"[default]\n[profile {name}]\nregion = eu-west-1\n", config
        get = ["configure", "get", "region", "--profile", name]
        out, err, code = run_binary(aws_v2_bin, get, run_env(homes["v2"], {}), homes["v2"])
        assert (code, f"The config profile ({name}) could not be found" in err) == (255, True), err
        out, err, code = run_binary(aws_v2_bin, get, run_env(homes["awsid"], {}), homes["awsid"])
        assert (code, out) == (0, "eu-west-1\n"), err
