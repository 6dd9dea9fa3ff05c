"""Differential suite for the interactive `configure` wizard: the real `aws configure` (v1) and
`awsid configure`, both driven through a pseudo-terminal with pexpect on the same generated
starting files and answers (keep a value, change it, repeat it, or end input with EOF).

Compared: the transcript (everything the terminal shows, typed echo included), the exit status,
and the files left behind. The v2 differences are applied to the reference's result explicitly
and named in the test id (see `configure_differences.py`):

* wizard-login-tip: the `aws login` tip printed first when the profile has no settings;
* wizard-session-token: the session-token prompt (ASIA key ids, or a profile that has a token)
  and the removal of a stale token when a non-ASIA key id is entered;
* wizard-profile-default-section: `--profile default` writes region/output to `[default]`;
* profile-env-precedence: AWS_PROFILE beats AWS_DEFAULT_PROFILE.
"""

from __future__ import annotations

import difflib
import io
import random
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pytest

from configure_cases import (
    SEED,
    botocore_profiles,
    child_env,
    gen_files,
    materialise_env,
    run_in_home,
    snapshot,
    tree_diff,
    write_files,
)
from configure_differences import describe, legacy_stderr

TIP = (
    "\nTip: You can deliver temporary credentials to the AWS CLI using your AWS Console session "
    "by running the command 'aws login'.\n\n"
)
PROMPTS = [
    ("aws_access_key_id", "AWS Access Key ID"),
    ("aws_secret_access_key", "AWS Secret Access Key"),
    ("region", "Default region name"),
    ("output", "Default output format"),
]
EOF = object()  # an answer that closes the input instead of typing a line


def mask(value: str | None) -> str:
    """How the wizard shows a current secret: 16 stars and the last four characters."""
    return "None" if value is None else "*" * 16 + value[-4:]


@dataclass
class WizardCase:
    case_id: str
    files: dict[str, str]
    args: list[str]  # e.g. ["--profile", "dev"]
    env: dict[str, str]
    answers: list  # one per v1 prompt: str (typed line, "" = Enter) or EOF
    token_answer: object = None  # the answer to v2's session-token prompt, when it appears
    ref_args: list[str] | None = None
    ref_env: dict[str, str] | None = None
    differences: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def test_id(self) -> str:
        return self.case_id + (f"[diff={','.join(self.differences)}]" if self.differences else "")

    def describe(self) -> str:
        lines = [f"wizard case {self.case_id} {self.note}".rstrip(),
                 f"  args: {self.args!r}  env: {self.env!r}",
                 f"  answers: {[('<EOF>' if a is EOF else a) for a in self.answers]!r}"
                 f"  session-token answer: {'<EOF>' if self.token_answer is EOF else self.token_answer!r}"]
        if self.ref_args is not None or self.ref_env is not None:
            lines.append(f"  reference args: {self.ref_args!r}  reference env: {self.ref_env!r}")
        for path, text in self.files.items():
            lines.append(f"  file ~/{path}:")
            lines.extend(f"    | {line!r}" for line in text.splitlines(keepends=True))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Case generation
# ------------------------------------------------------------------------------------------------

SCENARIOS = ["fresh", "keep-all", "change-some", "repeat-current", "asia-new", "token-keep",
             "token-replace", "token-removed", "eof", "profile-default", "env-profile",
             "env-both", "spaced-profile", "creds-only-profile"]


def _profile_view(files: dict[str, str]) -> dict[str, dict]:
    """botocore's merged profiles for `files` laid out in a scratch home."""
    with tempfile.TemporaryDirectory() as tmp:
        write_files(Path(tmp), files)
        return botocore_profiles(Path(tmp))


def gen_wizard(case_id: str, scenario: str) -> WizardCase:
    rng = random.Random(f"{SEED}:{case_id}")
    # Key lines at column 0: replacing an indented key is a named writer case of the set suite.
    f = gen_files(rng, extras=rng.random() < 0.3, allow_continuation=False, flat=True)
    files = {}
    if f.config is not None:
        files[".aws/config"] = f.config.replace("ASIA", "AKIA")
    if f.credentials is not None:
        files[".aws/credentials"] = re.sub(r"(?m)^.*aws_session_token.*\n", "", f.credentials).replace("ASIA", "AKIA")
    args: list[str] = []
    env: dict[str, str] = {}
    ref_args = ref_env = None
    diffs: list[str] = []
    profile = None
    if scenario == "fresh":
        files = {}
    elif scenario in ("token-keep", "token-replace", "token-removed"):
        profile = "tok"
        creds = files.get(".aws/credentials", "")
        if creds and not creds.endswith("\n"):
            creds += "\n"
        files[".aws/credentials"] = (creds + "[tok]\naws_access_key_id = ASIAOLDOLDOLDOLD1111\n"
                                     "aws_secret_access_key = oldsecret\naws_session_token = oldtokenvalue9876\n")
        args = ["--profile", "tok"]
    elif scenario == "profile-default":
        args = ["--profile", "default"]
        ref_args = []
        diffs.append("wizard-profile-default-section")
    elif scenario == "env-profile":
        profile = rng.choice(f.profiles() or ["dev"])
        env = {rng.choice(["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]): profile}
    elif scenario == "env-both":
        profile = "dev"
        env = {"AWS_PROFILE": "dev", "AWS_DEFAULT_PROFILE": "prod"}
        ref_env = {"AWS_DEFAULT_PROFILE": "dev"}
        diffs.append("profile-env-precedence")
    elif scenario == "spaced-profile":
        profile = "my prof"
        args = ["--profile", "my prof"]
    elif scenario == "creds-only-profile":
        profile = "credsonly"
        creds = files.get(".aws/credentials", "")
        if "[credsonly]" not in creds:
            if creds and not creds.endswith("\n"):
                creds += "\n"
            files[".aws/credentials"] = creds + "[credsonly]\naws_access_key_id = AKIACREDSONLY0000001\naws_secret_access_key = cs\n"
        args = ["--profile", "credsonly"]
    elif rng.random() < 0.4 and f.profiles():
        profile = rng.choice([p for p in f.profiles() if p != "profile dev"] or ["default"])
        args = ["--profile", profile]

    view = _profile_view(files).get(profile or "default", {})
    cur = {k: view.get(k) for k, _ in PROMPTS}
    new_key = "AKIANEWNEWNEWNEW" + str(rng.randint(1000, 9999))
    answers: list = []
    for key, _ in PROMPTS:
        new = {"aws_access_key_id": new_key, "aws_secret_access_key": "newSecret/" + str(rng.randint(10, 99)),
               "region": rng.choice(["eu-west-1", "ap-southeast-2"]), "output": rng.choice(["json", "text"])}[key]
        if scenario == "keep-all":
            answers.append("")
        elif scenario == "repeat-current":
            answers.append(cur[key] if isinstance(cur[key], str) and key != "aws_access_key_id" else "")
        elif scenario in ("fresh", "profile-default", "spaced-profile"):
            answers.append(new)
        else:
            answers.append(rng.choice([new, "", new]))
    token_answer = None
    if scenario == "asia-new":
        answers[0] = "ASIANEWNEWNEWNEW" + str(rng.randint(1000, 9999))
        token_answer = "newtoken" + str(rng.randint(100, 999))
    elif scenario == "token-keep":
        answers[0] = ""
        token_answer = ""
    elif scenario == "token-replace":
        answers[0] = rng.choice(["", "ASIAREPLREPLREPL2222"])
        token_answer = "replacedtoken42"
    elif scenario == "token-removed":
        answers[0] = "AKIAPERMPERMPERM3333"
    elif scenario == "eof":
        at = rng.randrange(len(answers))
        answers = answers[:at] + [EOF]
    # Which v2 differences apply follows from the starting state and the answers.
    if not view:
        diffs.append("wizard-login-tip")
    if token_answer is not None or scenario == "token-removed":
        diffs.append("wizard-session-token")
    return WizardCase(case_id, files, args, env, answers, token_answer, ref_args, ref_env,
                      sorted(set(diffs)), note=f"({scenario})")


def all_wizard_cases() -> list[WizardCase]:
    cases = []
    n = 0
    for rep in range(3):
        for scenario in SCENARIOS:
            if rep and scenario in ("fresh", "profile-default", "spaced-profile", "env-both"):
                continue
            n += 1
            cases.append(gen_wizard(f"wizard-{n:02d}-{scenario}", scenario))
    return cases


CASES = all_wizard_cases()


# ------------------------------------------------------------------------------------------------
# Driving a wizard through a pseudo-terminal
# ------------------------------------------------------------------------------------------------


@dataclass
class Transcript:
    text: str  # what the terminal showed, CRLF folded to LF
    code: int | None
    tree: dict


def drive(program: str, args: list[str], answers: list, home: Path, env: dict[str, str]) -> Transcript:
    """Runs `program configure ARGS` on a pty, answering each `...]: ` prompt in turn."""
    log = io.StringIO()
    child = pexpect.spawn(program, ["configure", *args], env=child_env(home, env), cwd=str(home),
                          encoding="utf-8", timeout=15, dimensions=(24, 200))
    child.logfile_read = log
    try:
        for answer in answers:
            child.expect(r"\]: ")
            if answer is EOF:
                child.sendeof()
                break
            child.sendline(answer)
        child.expect(pexpect.EOF)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pass  # the transcript shows where it stopped
    child.close(force=True)
    code = child.exitstatus if child.exitstatus is not None else -(child.signalstatus or 0)
    return Transcript(log.getvalue().replace("\r\n", "\n").replace(str(home), "<HOME>"), code, snapshot(home))


def _remove_key(text: str, section: str, key: str) -> str:
    """Deletes `key` lines from `[section]` (the v2 wizard's removal of a stale session token)."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped[: stripped.find("]") + 1] == f"[{section}]"
        if inside and re.split(r"[=:]", stripped, maxsplit=1)[0].strip() == key:
            continue
        out.append(line)
    return "".join(out)


@dataclass
class WizardRun:
    ref: Transcript
    expected_text: str
    expected_tree: dict
    got: Transcript
    v1_profile_default: Transcript | None = None


def _run_case(case: WizardCase, base: Path, aws: str, awsid: str) -> WizardRun:
    root = base / case.case_id
    homes = {}
    for who in ("ref", "awsid", "v1"):
        homes[who] = root / who / "home"
        homes[who].mkdir(parents=True)
        write_files(homes[who], case.files)
    ref_args = case.args if case.ref_args is None else case.ref_args
    ref_env = case.env if case.ref_env is None else case.ref_env
    ref = drive(aws, ref_args, case.answers, homes["ref"], materialise_env(ref_env, homes["ref"]))

    # The profile the reference wizard edits (v1 selection rules on the translated inputs).
    profile = ref_args[1] if ref_args[:1] == ["--profile"] else None
    profile = profile or ref_env.get("AWS_DEFAULT_PROFILE") or ref_env.get("AWS_PROFILE")
    view = _profile_view(case.files).get(profile or "default", {})
    text = ref.text
    # v2: the session-token prompt follows the secret-key line when it applies.
    awsid_answers = list(case.answers)
    if case.token_answer is not None and len(case.answers) >= 2 and case.answers[1] is not EOF:
        secret_prompt = f"AWS Secret Access Key [{mask(view.get('aws_secret_access_key'))}]: "
        start = text.index(secret_prompt)
        end = text.index("\n", start) + 1
        shown = "" if case.token_answer is EOF else case.token_answer
        token_line = f"AWS Session Token [{mask(view.get('aws_session_token'))}]: {shown}\n"
        text = text[:end] + token_line + text[end:]
        awsid_answers.insert(2, case.token_answer)
    if "wizard-login-tip" in case.differences:
        text = TIP + text
    # Expected files: the reference's, plus the v2 token edits made with the reference's own writer.
    if ref.code == 0 and case.token_answer not in (None, "", EOF) and case.token_answer != view.get("aws_session_token"):
        sel = ["--profile", profile] if profile else []
        res = run_in_home(aws, ["configure", "set", "aws_session_token", case.token_answer, *sel],
                          homes["ref"], {})
        assert res.code == 0, res.stderr
    if ref.code == 0 and "wizard-session-token" in case.differences and case.token_answer is None:
        creds = homes["ref"] / ".aws" / "credentials"
        creds.write_text(_remove_key(creds.read_text(), profile or "default", "aws_session_token"))
    expected_tree = snapshot(homes["ref"])
    got = drive(awsid, case.args, awsid_answers, homes["awsid"], materialise_env(case.env, homes["awsid"]))
    v1_default = None
    if "wizard-profile-default-section" in case.differences:
        v1_default = drive(aws, case.args, case.answers, homes["v1"], materialise_env(case.env, homes["v1"]))
    return WizardRun(ref, text, expected_tree, got, v1_default)


@pytest.fixture(scope="module")
def wizard_runs(request, aws_bin, awsid_bin, tmp_path_factory) -> dict[str, WizardRun]:
    selected = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("wcase"), WizardCase):
            selected.append(params["wcase"])
    base = tmp_path_factory.mktemp("configure-wizard")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {c.case_id: pool.submit(_run_case, c, base, str(aws_bin), str(awsid_bin)) for c in selected}
        return {cid: fut.result() for cid, fut in futures.items()}


def test_wizard_corpus_covers_every_scenario_and_difference():
    assert {c.note.strip("()") for c in CASES} == set(SCENARIOS)
    used = {d for c in CASES for d in c.differences}
    assert {"wizard-login-tip", "wizard-session-token", "wizard-profile-default-section",
            "profile-env-precedence"} <= used, used


@pytest.mark.parametrize("wcase", CASES, ids=[c.test_id for c in CASES])
def test_wizard_matches_reference(wcase: WizardCase, wizard_runs: dict[str, WizardRun]):
    run = wizard_runs[wcase.case_id]
    problems = []
    eof = any(a is EOF for a in wcase.answers)
    if eof and run.ref.code != 255:
        problems.append(f"reference exit {run.ref.code} after EOF, expected 255")
    if not eof and run.ref.code != 0:
        problems.append(f"reference failed: exit {run.ref.code}")
    # v2's error writer (`error-writer` in configure_differences.py) applies to every case.
    got_text = legacy_stderr(run.got.text)
    if got_text != run.expected_text:
        problems.append("transcript differs:\n" + "".join(
            f"    {line!r}\n" for line in difflib.unified_diff(
                run.expected_text.splitlines(keepends=True), got_text.splitlines(keepends=True),
                "expected (aws + v2 differences)", "awsid")))
    if run.got.code != run.ref.code:
        problems.append(f"exit status: expected {run.ref.code}, awsid {run.got.code}")
    tree = tree_diff(run.expected_tree, run.got.tree, "expected", "awsid")
    if tree:
        problems.append("resulting files differ:\n" + "\n".join(tree))
    if run.v1_profile_default is not None:
        cfg = run.v1_profile_default.tree.get(".aws/config", (0, b""))[1] or b""
        if b"[profile default]" not in cfg:
            problems.append("the v1 reference no longer writes `[profile default]` for --profile default")
    if problems:
        parts = [wcase.describe()]
        if wcase.differences:
            parts.append("named differences applied:\n" + describe(wcase.differences))
        parts.append("problems:\n" + "\n".join(f"  - {p}" for p in problems))
        parts.append(f"reference transcript (exit {run.ref.code}): {run.ref.text!r}")
        parts.append(f"awsid transcript (exit {run.got.code}): {run.got.text!r}")
        pytest.fail("\n".join(parts), pytrace=False)


def test_remove_key_only_touches_the_named_section():
    text = "[a]\naws_session_token = x\n[tok]\nregion = r\naws_session_token : y\n"
    assert _remove_key(text, "tok", "aws_session_token") == "[a]\naws_session_token = x\n[tok]\nregion = r\n"
