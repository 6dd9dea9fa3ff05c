"""Differential suite for the credential provider chain: botocore (driven exactly like the aws CLI
drives it, see `chain/driver.py`) against `awsid configure export-credentials`, on 300+ generated
profile setups, each run by both tools against the same local fake STS / IMDS / ECS endpoints
(`chain/fakes.py`) in its own throw-away HOME.

For every case the two must agree on success or failure, on the credentials and their expiry, on
the error message (v2 prints `Unable to retrieve credentials: <message>`; the inner message is
compared), on the STS calls made (action, RoleArn, RoleSessionName with the generated
`botocore-session-<epoch>` normalised, ExternalId, DurationSeconds, SerialNumber, TokenCode,
WebIdentityToken, the signing access key id and region, whether a session token was sent), on
the IMDS / ECS requests, and on the `~/.aws/cli/cache` files written (names and cached keys).
Where awsid deliberately differs, the case carries the difference's name (`chain/differences.py`)
in its test id and exactly that difference is applied. Where awsid diverges by mistake (a bug
reported to the owner of the code), the case is marked xfail with the bug's name only if its
disagreement matches that bug's exact signature (`KNOWN_BUGS`); anything else still fails, and a
fixed bug makes the case pass.

Every run also points HTTP(S)_PROXY at the fake (NO_PROXY=127.0.0.1), which refuses and records
any request for another host: nothing leaves the machine, and a case that tried fails. The
reference runs in forks of one interpreter that imported the CLI once (`driver.py --serve`;
AWSID_CHAIN_FORKSERVER=0 uses a fresh interpreter per case), checked equivalent by a test.

Also here: MFA prompts through a pseudo-terminal for both tools, and the cache-sharing check
(credentials cached by one tool are used by the other with zero STS calls).

Reproduce one case: `pytest tests/python/test_chain_differential.py -k 'role-chain-007'`; a failure
prints the case's full inputs and both results. AWSID_CHAIN_SEED changes the generated corpus.
"""

from __future__ import annotations

import json
import os
import queue
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest

from chain.cases import BUILDERS, Case, all_cases
from chain.differences import DIFFERENCES, KNOWN_BUGS
from chain.explain import SCHEMA_FILE, Explained, compare_explain, run_explain
from chain.fakes import FakeEndpoints
from chain.runner import DRIVER, UNWRAPPED_EXIT, ForkServer, Outcome, _world, child_env, prepare_home, read_cache, run_awsid, run_reference

CASES = all_cases()
WORKERS = 3  # a forked reference run costs ~60 ms of CPU, awsid ~10 ms; cases also wait on I/O
REFERENCE_VERSIONS = {"awscli": "1.45.11", "botocore": "1.43.11"}


@pytest.fixture(scope="module")
def reference_versions() -> None:
    """The driver imports awscli/botocore from this interpreter: they must be the pinned ones."""
    import awscli
    import botocore

    found = {"awscli": awscli.__version__, "botocore": botocore.__version__}
    if found != REFERENCE_VERSIONS:
        pytest.fail(f"reference versions {found}, expected {REFERENCE_VERSIONS} (run ./scripts/test)", pytrace=False)


# ------------------------------------------------------------------------------------------------
# The corpus itself
# ------------------------------------------------------------------------------------------------


def _settings(case: Case) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _, keys in case.config + case.credentials:
        for k, v in keys:
            out.setdefault(k.strip(), []).append(v)
    return out


def test_corpus_covers_the_brief():
    assert len(CASES) >= 300, len(CASES)
    assert len({c.case_id for c in CASES}) == len(CASES), "case ids must be unique"
    assert {c.kind for c in CASES} == set(BUILDERS)
    used = {d for c in CASES for d in c.differences}
    assert used == set(DIFFERENCES), f"unused: {set(DIFFERENCES) - used}, unknown: {used - set(DIFFERENCES)}"
    notes = " ".join(c.note for c in CASES)
    for depth in (1, 2, 3, 4):
        assert f"depth {depth}:" in notes, depth
    sources = {v for c in CASES for v in _settings(c).get("credential_source", [])}
    assert {"Environment", "Ec2InstanceMetadata", "EcsContainer"} <= sources, sources
    assert sources - {"Environment", "Ec2InstanceMetadata", "EcsContainer"}, "no invalid credential_source"
    for shape in ("self-keys", "self-no-keys", "both", "neither", "missing-source", "source-no-creds",
                  "missing-flag", "missing-env", "split-id-creds", "creds-id-only", "exit ", "version ",
                  "bad-json", "missing-file", "no-role-arn", "env-with-profile-flag"):
        assert shape in notes, shape
    durations = {v for c in CASES for v in _settings(c).get("duration_seconds", [])}
    assert {"abc", "600", "3600"} <= durations, durations
    assert any("external_id" in _settings(c) for c in CASES)
    assert any("role_session_name" in _settings(c) for c in CASES)
    assert any("AWS_ENDPOINT_URL_STS" in c.env for c in CASES)
    assert any(c.argv[:1] == ["--profile"] and "AWS_ACCESS_KEY_ID" in c.env for c in CASES)
    assert any("--profile" not in c.argv and "AWS_ACCESS_KEY_ID" in c.env and "AWS_PROFILE" in c.env for c in CASES)
    assert any("Expiration" in s for c in CASES for s in c.scripts.values())


# ------------------------------------------------------------------------------------------------
# Running every selected case once, in parallel
# ------------------------------------------------------------------------------------------------


class Run:
    """Both outcomes of one case, and `awsid explain`'s document for it."""

    def __init__(self, ref: Outcome, got: Outcome, explained: Explained | None = None):
        self.ref, self.got, self.explained = ref, got, explained


@pytest.fixture(scope="module")
def fork_servers(reference_versions):
    """One driver fork server per worker (`chain/driver.py --serve`); AWSID_CHAIN_FORKSERVER=0
    runs every reference case in a fresh interpreter instead."""
    if os.environ.get("AWSID_CHAIN_FORKSERVER", "1") == "0":
        yield None
        return
    servers: queue.Queue = queue.Queue()
    started = [ForkServer() for _ in range(WORKERS)]
    for s in started:
        servers.put(s)
    yield servers
    for s in started:
        s.close()


def _run_one(case: Case, base: Path, awsid: str, servers: queue.Queue | None) -> Run:
    anchor = int(time.time())
    server = servers.get() if servers is not None else None
    try:
        ref = run_reference(case, base / case.case_id / "ref", anchor, server=server)
    finally:
        if server is not None:
            servers.put(server)
    got = run_awsid(awsid, case, base / case.case_id / "awsid", anchor)
    explained = run_explain(awsid, case, base / case.case_id / "explain", anchor)
    return Run(ref, got, explained)


@pytest.fixture(scope="module")
def runs(request, fork_servers, awsid_bin, tmp_path_factory) -> dict[str, Run]:
    selected = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("case"), Case) and params["case"] not in selected:
            selected.append(params["case"])
    base = tmp_path_factory.mktemp("chain-diff")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {c.case_id: pool.submit(_run_one, c, base, str(awsid_bin), fork_servers) for c in selected}
        return {cid: f.result() for cid, f in futures.items()}


def test_fork_server_matches_a_fresh_interpreter(reference_versions, tmp_path):
    """The fork server is only a speed-up: on the first two cases of every builder it must give
    exactly what a fresh `python driver.py` gives."""
    sample = [c for c in CASES if int(c.case_id.rsplit("-", 1)[1]) < 2]
    server = ForkServer()
    try:
        for case in sample:
            anchor = int(time.time())
            forked = run_reference(case, tmp_path / case.case_id / "forked", anchor, server=server)
            fresh = run_reference(case, tmp_path / case.case_id / "fresh", anchor)
            assert fresh.phase != "crash" and forked.phase != "crash", (fresh.summary(), forked.summary())
            for name in ("ok", "access_key", "secret_key", "token", "expiry", "message", "phase", "method",
                         "exit_code", "sts_calls", "requests", "cache"):
                assert getattr(forked, name) == getattr(fresh, name), (case.describe(), name, forked.summary(), fresh.summary())
    finally:
        server.close()


# ------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------


def compare(case: Case, ref: Outcome, got: Outcome) -> list[str]:
    """Every disagreement between the reference and awsid on `case`, differences applied."""
    problems = list(got.shape_problems)
    if ref.phase == "crash":
        return problems + [f"the reference driver crashed: {ref.stderr[-2000:]}"]
    for who, out in (("reference", ref), ("awsid", got)):
        escaped = [r for r in out.requests if r[0] == "proxy"]
        if escaped:
            problems.append(f"{who} tried to reach a host other than the fakes: {escaped} (generator bug)")
    if ref.ok != got.ok:
        problems.append(f"reference {'succeeded' if ref.ok else 'failed'}, awsid {'succeeded' if got.ok else 'failed'}")
    elif ref.ok:
        for name, a, b in zip(("access key", "secret key", "session token", "expiry"), ref.credentials(), got.credentials()):
            if a != b:
                problems.append(f"{name} differs: reference {a!r} vs awsid {b!r}")
    else:
        checks = [DIFFERENCES[d].messages for d in case.differences if DIFFERENCES[d].messages]
        if checks:
            for check in checks:
                problems.extend(check(ref.message or "", got.message or ""))
        elif ref.message != got.message:
            problems.append(f"error message differs:\n      reference {ref.message!r}\n      awsid     {got.message!r}")
    if not ref.ok and not got.ok:
        # v2 reports errors of the deferred fetch unwrapped, with the status of the handler
        # that catches the botocore exception; awsid must make the same split.
        if (ref.phase or "resolve") != got.phase:
            problems.append(f"error phase differs: reference {ref.phase} vs awsid {got.phase}")
        elif got.phase == "fetch" and got.exit_code != UNWRAPPED_EXIT.get(ref.method or "", 255):
            problems.append(f"exit status {got.exit_code} for an unwrapped {ref.method}, "
                            f"v2 exits {UNWRAPPED_EXIT.get(ref.method or '', 255)}")
    for d in case.differences:
        if DIFFERENCES[d].messages and (ref.ok or got.ok):
            problems.append(f"difference {d} names an error, but a tool succeeded")
    if ref.sts_calls != got.sts_calls:
        problems.append("STS calls differ")
    got_requests = got.requests
    if "v2-imds-region" in case.differences:
        # Only region lookups go to IMDS in these cases; v1 makes none.
        got_requests = [r for r in got.requests if r[0] != "imds"]
        if not any(r[2].endswith("/placement/availability-zone/") for r in got.requests):
            problems.append("difference v2-imds-region: awsid never asked IMDS for the zone")
    if ref.requests != got_requests:
        problems.append("IMDS/ECS requests differ")
    if ref.cache != got.cache:
        problems.append("~/.aws/cli/cache differs")
    return problems


def _report(case: Case, run: Run, problems: list[str]) -> None:
    parts = [case.describe()]
    for d in case.differences:
        diff = DIFFERENCES[d]
        parts.append(f"difference {d}: reference: {diff.reference} awsid: {diff.awsid}")
    if not run.ref.ok and run.ref.phase == "fetch":
        parts.append("the reference failed in the deferred fetch (v2 prints such errors unwrapped, "
                     "as awsid must); the messages are compared")
    parts.append("problems:\n" + "\n".join(f"  - {p}" for p in problems))
    parts.append("reference (botocore as the aws CLI):\n" + run.ref.summary())
    parts.append("awsid:\n" + run.got.summary())
    pytest.fail("\n".join(parts), pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_chain_matches_reference(case: Case, runs: dict[str, Run]):
    run = runs[case.case_id]
    problems = compare(case, run.ref, run.got)
    if not problems:
        return
    bugs = [b for b in KNOWN_BUGS.values() if b.matches(case, run.ref, run.got)]
    if bugs and not run.got.shape_problems:
        pytest.xfail(f"known awsid bug {bugs[0].name} ({bugs[0].owner}): {'; '.join(problems)}")
    _report(case, run, problems)


# ------------------------------------------------------------------------------------------------
# awsid explain on the same corpus: the provider and source profile chain botocore used, no call
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def explain_schema():
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("case", CASES, ids=[f"explain-{c.test_id}" for c in CASES])
def test_explain_matches_reference(case: Case, runs: dict[str, Run], explain_schema):
    """`awsid explain --output json`, made with every endpoint pointed at the fakes (which record
    anything that reaches them), names the provider botocore used (or that failed), the same
    source profile chain and base provider, reaches no endpoint, and is valid against
    docs/explain.schema.json."""
    run = runs[case.case_id]
    problems = compare_explain(case, run.ref, run.explained)
    if run.explained.doc is not None:
        problems += [f"schema: {e.message} at {list(e.absolute_path)}"
                     for e in explain_schema.iter_errors(run.explained.doc)]
    if problems:
        pytest.fail("\n".join([case.describe(), "problems:", *[f"  - {p}" for p in problems],
                               "reference (botocore as the aws CLI):", run.ref.summary(),
                               f"    trace: tried={run.ref.tried} visited={run.ref.visited} base={run.ref.base}",
                               "awsid explain:", run.explained.summary()]), pytrace=False)


# ------------------------------------------------------------------------------------------------
# MFA through a pseudo-terminal
# ------------------------------------------------------------------------------------------------
#
# MFA cases are not in the generated corpus: the prompt needs a terminal (both tools read the
# code from /dev/tty), so each runs here under pexpect, once per tool, answering the prompt
# `Enter MFA code for <serial>: ` and comparing the same things as the corpus.

MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice"


def _mfa_case(shape: str) -> Case:
    case = Case(case_id=f"mfa-{shape}", kind="mfa")
    case.creds("base", ("aws_access_key_id", "AKIAMFABASEEXAMPLE00"), ("aws_secret_access_key", "mfa/base/secret"))
    if shape == "outer":
        case.conf("mfa", ("role_arn", "arn:aws:iam::123456789012:role/mfa-role"), ("mfa_serial", MFA_SERIAL),
                  ("source_profile", "base"), ("external_id", "ext-mfa"))
    else:  # the MFA role is an intermediate hop
        case.conf("inner", ("role_arn", "arn:aws:iam::123456789012:role/mfa-role"), ("mfa_serial", MFA_SERIAL),
                  ("source_profile", "base"))
        case.conf("mfa", ("role_arn", "arn:aws:iam::210987654321:role/second"), ("source_profile", "inner"),
                  ("role_session_name", "after-mfa"))
    case.env = {"AWS_ENDPOINT_URL_STS": "{sts}", "AWS_DEFAULT_REGION": "us-west-2"}
    case.argv = ["--profile", "mfa"]
    return case


def _run_with_pty(argv: list[str], case: Case, home: Path, anchor: int, code: str, env_for: str) -> tuple[Outcome, str]:
    from chain.runner import parse_awsid, parse_reference

    with FakeEndpoints(_world(case, anchor)) as fake:
        prepare_home(case, home, fake)
        env = child_env(case.reference_env() if env_for == "ref" else case.env, case, home, fake)
        child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(home), encoding="utf-8", timeout=60)
        child.expect_exact(f"Enter MFA code for {MFA_SERIAL}: ")
        prompt_line = child.before + child.after
        child.sendline(code)
        child.expect(pexpect.EOF)
        child.close()
        text = child.before.replace("\r\n", "\n").lstrip("\n")
        exit_code = child.exitstatus if child.exitstatus is not None else -1
        text = text.replace(str(home), "<HOME>").replace(fake.base_url, "<FAKE>")
        if env_for == "ref":
            out = parse_reference(text, "", exit_code)
        elif exit_code == 0:
            out = parse_awsid(text[text.index("{"):], "", exit_code)
        else:
            out = parse_awsid("", text if text.startswith("\n") else "\n" + text, exit_code)
        out.sts_calls = [c.comparable() for c in fake.world.sts_calls]
        out.cache = read_cache(home)
        return out, prompt_line


@pytest.mark.parametrize("shape,code", [("outer", "123456"), ("inner", "123456"), ("outer", "000000")])
def test_mfa_prompt_through_a_pty(shape, code, reference_versions, awsid_bin, tmp_path):
    case = _mfa_case(shape)
    anchor = int(time.time())
    ref, ref_prompt = _run_with_pty([sys.executable, str(DRIVER), *case.argv], case, tmp_path / "ref", anchor, code, "ref")
    got, got_prompt = _run_with_pty([str(awsid_bin), "configure", "export-credentials", *case.argv], case,
                                    tmp_path / "awsid", anchor, code, "awsid")
    problems = compare(case, ref, got)
    assert ref_prompt.endswith(f"Enter MFA code for {MFA_SERIAL}: ") and got_prompt.endswith(f"Enter MFA code for {MFA_SERIAL}: ")
    mfa_calls = [c for c in ref.sts_calls if "SerialNumber" in c]
    assert len(mfa_calls) == 1 and mfa_calls[0]["TokenCode"] == code, ref.sts_calls
    if problems:
        _report(case, Run(ref, got), problems)


# ------------------------------------------------------------------------------------------------
# Cache sharing: what one tool cached, the other uses without calling STS
# ------------------------------------------------------------------------------------------------


def _cache_case(shape: str) -> Case:
    case = Case(case_id=f"cache-{shape}", kind="cache")
    case.creds("base", ("aws_access_key_id", "AKIACACHEBASEEXAMPL0"), ("aws_secret_access_key", "cache/base/secret"))
    if shape == "chain":
        case.conf("mid", ("role_arn", "arn:aws:iam::123456789012:role/mid"), ("source_profile", "base"))
        case.conf("target", ("role_arn", "arn:aws:iam::210987654321:role/path/target"), ("source_profile", "mid"),
                  ("role_session_name", "shared"), ("external_id", "ext-9"), ("duration_seconds", "7200"))
    else:
        case.files["tokens/web"] = "eyJ.web.token\n"
        case.conf("target", ("web_identity_token_file", "{home}/tokens/web"),
                  ("role_arn", "arn:aws:iam::123456789012:role/webrole"))
    case.env = {"AWS_ENDPOINT_URL_STS": "{sts}", "AWS_DEFAULT_REGION": "eu-west-1"}
    case.argv = ["--profile", "target"]
    return case


@pytest.mark.parametrize("first", ["botocore", "awsid"])
@pytest.mark.parametrize("shape", ["chain", "web-identity"])
def test_cache_is_shared(first, shape, reference_versions, awsid_bin, tmp_path):
    case = _cache_case(shape)
    home = tmp_path / "home"
    anchor = int(time.time())
    run = {
        "botocore": lambda fresh: run_reference(case, home, anchor, fresh=fresh),
        "awsid": lambda fresh: run_awsid(str(awsid_bin), case, home, anchor, fresh=fresh),
    }
    second = "awsid" if first == "botocore" else "botocore"
    a = run[first](True)
    b = run[second](False)
    assert a.ok and b.ok, (a.summary(), b.summary())
    assert len(a.sts_calls) == (2 if shape == "chain" else 1), a.summary()
    assert b.sts_calls == [], f"{second} called STS although {first} had cached every hop:\n{b.summary()}"
    assert a.credentials() == b.credentials(), (a.summary(), b.summary())
    assert set(b.cache) == set(a.cache) and len(a.cache) == len(a.sts_calls), (a.cache, b.cache)


def test_fake_sts_derives_credentials_from_the_request():
    """The fake's answers depend on what the suite compares (a fake that ignored them would let
    disagreements through)."""
    from chain.fakes import issued_credentials

    base = ("AssumeRole", "arn:aws:iam::123456789012:role/x", "s", "-", "-", "-", "AKIA1")
    one = issued_credentials(*base, lifetime=3600, anchor=0)
    assert one == issued_credentials(*base, lifetime=3600, anchor=0)
    for i in range(1, len(base)):
        changed = list(base)
        changed[i] += "x"
        assert issued_credentials(*changed, lifetime=3600, anchor=0)["AccessKeyId"] != one["AccessKeyId"]
    assert re.fullmatch(r"ASIA[0-9A-F]{16}", one["AccessKeyId"])
    assert json.dumps(one)  # plain strings only


# ------------------------------------------------------------------------------------------------
# The second reference: Debian's aws CLI v2 (2.9.19)
# ------------------------------------------------------------------------------------------------
#
# Every case also runs through the real `aws configure export-credentials` of Debian's v2
# package (forks of `v2_forkserver.py`, checked against the binary on a sample below), whose
# STS calls reach the fake through the TLS tunnel. awsid must agree with it exactly — output,
# error text and phase, exit status, STS calls, IMDS/ECS requests, cache — except where 2.9.19
# differs from the current v2 sources: those cases carry the name of the exception
# (`chain/differences.py` `V2_EXCEPTIONS`, each with the release that changed the behaviour).

from chain.differences import V2_EXCEPTIONS, v2_exceptions  # noqa: E402
from chain.runner import parse_v2, run_v2  # noqa: E402
from v2_forkserver import ForkServer as V2ForkServer  # noqa: E402

V2_CASES = [(c, v2_exceptions(c)) for c in CASES]


@pytest.fixture(scope="module")
def v2_fork_servers(aws_v2_bin):
    servers: queue.Queue = queue.Queue()
    started = [V2ForkServer() for _ in range(WORKERS)]
    for s in started:
        servers.put(s)
    yield servers
    for s in started:
        s.close()


def _run_one_v2(case: Case, base: Path, awsid: str, servers: queue.Queue) -> Run:
    anchor = int(time.time())
    server = servers.get()
    try:
        v2 = run_v2(case, base / case.case_id / "v2", anchor, server=server)
    finally:
        servers.put(server)
    got = run_awsid(awsid, case, base / case.case_id / "awsid", anchor)
    return Run(v2, got)


@pytest.fixture(scope="module")
def v2_runs(request, v2_fork_servers, awsid_bin, tmp_path_factory) -> dict[str, Run]:
    selected = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("v2case"), Case):
            selected.append(params["v2case"])
    base = tmp_path_factory.mktemp("chain-v2")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {c.case_id: pool.submit(_run_one_v2, c, base, str(awsid_bin), v2_fork_servers) for c in selected}
        return {cid: f.result() for cid, f in futures.items()}


def compare_v2(case: Case, v2: Outcome, got: Outcome) -> list[str]:
    """Every disagreement between 2.9.19 and awsid on `case`, the named exceptions applied."""
    problems = list(got.shape_problems)
    escaped = [r for r in v2.requests + got.requests if r[0] == "proxy"]
    if escaped:
        problems.append(f"a request for another host: {escaped}")
    for name in v2_exceptions(case):
        verdict = V2_EXCEPTIONS[name].check(case, v2, got)
        if verdict is not None:
            return problems + verdict
    if v2.ok != got.ok:
        problems.append(f"v2 {'succeeded' if v2.ok else 'failed'}, awsid {'succeeded' if got.ok else 'failed'}")
    elif v2.ok:
        for name, a, b in zip(("access key", "secret key", "session token", "expiry"), v2.credentials(), got.credentials()):
            if a != b:
                problems.append(f"{name} differs: v2 {a!r} vs awsid {b!r}")
    else:
        # awsid's deliberate differences from every reference (a leaked Python exception)
        # apply here too.
        checks = [DIFFERENCES[d].messages for d in case.differences if DIFFERENCES[d].messages]
        for check in checks:
            problems.extend(check(v2.message or "", got.message or ""))
        if not checks and v2.message != got.message:
            problems.append(f"error differs:\n      v2    ({v2.phase}) {v2.message!r}\n      awsid ({got.phase}) {got.message!r}")
        if v2.phase != got.phase:
            problems.append(f"error phase differs: v2 {v2.phase}, awsid {got.phase}")
        if v2.exit_code != got.exit_code:
            problems.append(f"exit status: v2 {v2.exit_code}, awsid {got.exit_code}")
    if v2.sts_calls != got.sts_calls:
        problems.append("STS calls differ")
    if v2.requests != got.requests:
        problems.append("IMDS/ECS requests differ")
    if v2.cache != got.cache:
        problems.append("~/.aws/cli/cache differs")
    return problems


@pytest.mark.parametrize("v2case", [c for c, _ in V2_CASES],
                         ids=[c.case_id + (f"[v2-exception={','.join(e)}]" if e else "") for c, e in V2_CASES])
def test_chain_matches_v2(v2case: Case, v2_runs: dict[str, Run]):
    run = v2_runs[v2case.case_id]
    problems = compare_v2(v2case, run.ref, run.got)
    if problems:
        parts = [v2case.describe()]
        for name in v2_exceptions(v2case):
            parts.append(f"2.9.19 exception {name}: {V2_EXCEPTIONS[name].description}")
        parts.append("problems:\n" + "\n".join(f"  - {p}" for p in problems))
        parts.append("Debian's aws v2 (2.9.19):\n" + run.ref.summary())
        parts.append("awsid:\n" + run.got.summary())
        pytest.fail("\n".join(parts), pytrace=False)


def test_v2_fork_server_matches_the_binary(aws_v2_bin, tmp_path):
    """The fork server is only a speed-up: on the first case of every builder it must give
    exactly what `/usr/bin/aws` gives."""
    sample = [c for c in CASES if int(c.case_id.rsplit("-", 1)[1]) == 0]
    server = V2ForkServer()
    try:
        for case in sample:
            anchor = int(time.time())
            forked = run_v2(case, tmp_path / case.case_id / "forked", anchor, server=server)
            fresh = run_v2(case, tmp_path / case.case_id / "fresh", anchor, aws_v2=aws_v2_bin)
            for name in ("ok", "access_key", "secret_key", "token", "expiry", "message", "phase",
                         "exit_code", "stderr", "sts_calls", "requests", "cache"):
                assert getattr(forked, name) == getattr(fresh, name), (case.describe(), name, forked.summary(), fresh.summary())
    finally:
        server.close()


def test_v2_output_parser():
    assert parse_v2("", "\nUnable to retrieve credentials: boom\n\n", 253).message == "boom"
    out = parse_v2("", '\nYou must specify a region. You can also configure your region by running "aws configure".\n', 253)
    assert (out.phase, out.message) == ("fetch", "You must specify a region.")
