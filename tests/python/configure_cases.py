"""Generated cases for the `configure` differential suite, and the runner that executes a
command in a throw-away HOME and snapshots what it left behind.

Every case is derived from `random.Random(f"{SEED}:{case_id}")`, so one case can be reproduced
alone (`pytest -k <case_id>`) and a change to one generator does not reshuffle the others.
AWSID_DIFF_SEED overrides the seed.
"""

from __future__ import annotations

import difflib
import os
import random
import re
import stat
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from botocore.configloader import load_config, raw_config_parse

SEED = os.environ.get("AWSID_DIFF_SEED", "awsid-configure-1")

PROFILES = ["dev", "prod", "test-1", "ci_user", "Stage"]
CREDS_ONLY = ["credsonly", "batch"]
REGIONS = ["us-east-1", "eu-west-3", "ap-south-1", "us-west-2 # prod", "eu-north-1"]
OUTPUTS = ["json", "text", "table", "json ;x", "yaml-stream"]


@dataclass
class Case:
    """One generated comparison: files, environment, arguments, and the named differences."""

    case_id: str
    kind: str  # get | set | list | malformed | writer | usage
    argv: list[str]  # after the program name, e.g. ["configure", "get", "region"]
    files: dict[str, str]  # path relative to HOME -> text (absent = not created)
    env: dict[str, str] = field(default_factory=dict)  # what awsid sees
    ref_env: dict[str, str] | None = None  # what the reference sees (v2 translation)
    ref_argv: list[str] | None = None
    differences: list[str] = field(default_factory=list)
    note: str = ""
    # For `malformed` cases: the file and the 1-based line numbers awsid may report.
    bad_file: str = ""
    bad_lines: tuple[int, ...] = ()
    # For `writer` cases: the profile and key to read back after the edit.
    check_profile: str | None = None
    check_key: str = ""
    check_value: str = ""
    # Where the two files live, relative to HOME (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE).
    config_rel: str = ".aws/config"
    creds_rel: str = ".aws/credentials"

    @property
    def test_id(self) -> str:
        diff = f"[diff={','.join(self.differences)}]" if self.differences else ""
        return f"{self.case_id}{diff}"

    def reference_env(self) -> dict[str, str]:
        return self.env if self.ref_env is None else self.ref_env

    def reference_argv(self) -> list[str]:
        return self.argv if self.ref_argv is None else self.ref_argv

    def describe(self) -> str:
        lines = [f"case {self.case_id} ({self.kind}) {self.note}".rstrip()]
        lines.append(f"  argv: {self.argv!r}")
        if self.ref_argv is not None:
            lines.append(f"  reference argv: {self.ref_argv!r}")
        lines.append(f"  env: {self.env!r}")
        if self.ref_env is not None:
            lines.append(f"  reference env: {self.ref_env!r}")
        for path, text in self.files.items():
            lines.append(f"  file ~/{path}:")
            lines.extend(f"    | {line!r}" for line in text.splitlines(keepends=True))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Running a command in a throw-away home
# ------------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What a command did: output (HOME replaced by `<HOME>`), exit status, files left behind."""

    stdout: str
    stderr: str
    code: int
    tree: dict[str, tuple[int, bytes | None]]  # relpath -> (mode bits, bytes; None for dirs)

    def summary(self) -> str:
        out = [f"    exit {self.code}", f"    stdout: {self.stdout!r}", f"    stderr: {self.stderr!r}"]
        for path, (mode, data) in sorted(self.tree.items()):
            kind = "dir " if data is None else "file"
            out.append(f"    {kind} ~/{path} mode {mode:o}")
            if data is not None:
                out.extend(f"      | {line!r}" for line in data.splitlines(keepends=True))
        return "\n".join(out)


def write_files(home: Path, files: dict[str, str]) -> None:
    """Creates `files` (paths relative to home) with mode 0600 in 0755 directories."""
    for rel, text in files.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        path.chmod(0o600)


def snapshot(home: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and directory under home (mode bits and content), ignoring `*.lock` files
    (an advisory lock file is an implementation detail, not part of the result)."""
    tree: dict[str, tuple[int, bytes | None]] = {}
    for dirpath, dirnames, filenames in os.walk(home):
        for d in dirnames:
            p = Path(dirpath) / d
            tree[str(p.relative_to(home)) + "/"] = (stat.S_IMODE(p.lstat().st_mode), None)
        for f in filenames:
            if f.endswith(".lock"):
                continue
            p = Path(dirpath) / f
            tree[str(p.relative_to(home))] = (stat.S_IMODE(p.lstat().st_mode), p.read_bytes())
    return tree


def child_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """Environment for one run: nothing AWS-related from the caller, HOME=home, no IMDS."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "BOTO_", "_AWS_")) and k not in ("PYTHONWARNINGS",)
    }
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", LC_ALL="C.UTF-8")
    env.update(extra)
    return env


def run_in_home(program: str, argv: list[str], home: Path, env: dict[str, str], timeout: float = 60) -> Result:
    """Runs `program argv` with cwd=home and stdin closed; HOME's path is replaced by `<HOME>`
    in the output so runs in different homes compare equal."""
    proc = subprocess.run(
        [program, *argv],
        cwd=home,
        env=child_env(home, env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )
    h = str(home)
    return Result(
        stdout=proc.stdout.decode("utf-8", "replace").replace(h, "<HOME>"),
        stderr=proc.stderr.decode("utf-8", "replace").replace(h, "<HOME>"),
        code=proc.returncode,
        tree=snapshot(home),
    )


def tree_diff(a: dict, b: dict, a_name: str, b_name: str) -> list[str]:
    """Human-readable differences between two snapshots (missing files, modes, content)."""
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in a:
            out.append(f"  ~/{path}: only in {b_name}")
        elif path not in b:
            out.append(f"  ~/{path}: only in {a_name}")
        elif a[path] != b[path]:
            (ma, da), (mb, db) = a[path], b[path]
            if ma != mb:
                out.append(f"  ~/{path}: mode {ma:o} ({a_name}) vs {mb:o} ({b_name})")
            if da != db:
                diff = difflib.unified_diff(
                    (da or b"").decode("utf-8", "replace").splitlines(keepends=True),
                    (db or b"").decode("utf-8", "replace").splitlines(keepends=True),
                    f"{a_name}:~/{path}", f"{b_name}:~/{path}",
                )
                out.append("".join(f"    {line!r}\n" for line in diff).rstrip("\n"))
    return out


def botocore_profiles(home: Path, config_rel: str = ".aws/config",
                      creds_rel: str = ".aws/credentials") -> dict[str, dict]:
    """The merged profile view botocore builds from the two files (docs/spec/files.md §5); raises
    ConfigParseError when a file does not parse."""
    cfg = home / config_rel
    creds = home / creds_rel
    profiles = load_config(str(cfg))["profiles"] if cfg.exists() else {}
    profiles = {k: dict(v) for k, v in profiles.items()}
    if creds.exists():
        for name, values in raw_config_parse(str(creds)).items():
            profiles.setdefault(name, {}).update(values)
    return profiles


# ------------------------------------------------------------------------------------------------
# File generation (always well-formed for botocore unless the case is about malformed files)
# ------------------------------------------------------------------------------------------------


def _key_id(rng: random.Random, prefix: str = "AKIA") -> str:
    return prefix + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def _secret(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(n))


def _kv(rng: random.Random, indent: str, key: str, value: str) -> str:
    """One `key = value` line in a randomly chosen (valid) spelling."""
    style = rng.choice(
        ["{k} = {v}", "{k} = {v}", "{k} = {v}", "{k}={v}", "{k} ={v}", "{k}= {v}",
         "{k} : {v}", "{k}:{v}", "{k}  =   {v}", "{k} = {v}   "]
    )
    if value == "" and style.endswith("{v}   "):
        style = "{k} = {v}"
    return indent + style.format(k=key, v=value) + "\n"


def _comment(rng: random.Random, indent: str = "") -> str:
    text = rng.choice(
        ["# a comment", "; semicolon comment", "#", "# note: region = old",
         "# region = commented-out", ";output=json", "# ünïcødé comment"]
    )
    lead = indent if indent else rng.choice(["", "", "  ", "\t"])
    return lead + text + "\n"


@dataclass
class Section:
    """A generated profile section: its header line and body lines, and what it holds."""

    header: str
    lines: list[str]
    keys: dict[str, str] = field(default_factory=dict)  # scalar keys (lower-case) -> raw value
    nested: dict[str, dict[str, str]] = field(default_factory=dict)

    def text(self) -> str:
        return self.header + "".join(self.lines)


def gen_profile_body(rng: random.Random, *, creds: bool, allow_continuation: bool = True,
                     flat: bool = False) -> Section:
    """A section body with odd spacing, comments, a nested block and continuation lines;
    `flat` keeps every key line at column 0."""
    sec = Section(header="", lines=[])
    indent = rng.choice(["", "", "", "", "  ", "\t"])
    indent = "" if flat else indent
    entries: list[str] = []
    if creds:
        entries += ["aws_access_key_id", "aws_secret_access_key"]
        if rng.random() < 0.3:
            entries.append("aws_session_token")
        if rng.random() < 0.2:
            entries.append("region")
    else:
        pool = ["region", "output", "s3", "description", "endpoint_url", "cli_pager", "keys"]
        entries += rng.sample(pool, rng.randint(0, 5))
        if "keys" in entries:
            entries.remove("keys")
            entries[0:0] = ["aws_access_key_id", "aws_secret_access_key"]
    rng.shuffle(entries) if not creds else None
    # Keep id and secret adjacent and complete: partial credentials are a different story.
    for i, key in enumerate(entries):
        if rng.random() < 0.2:
            sec.lines.append(_comment(rng))
        if rng.random() < 0.1:
            sec.lines.append(rng.choice(["\n", "   \n"]))
        if key == "aws_access_key_id":
            value = _key_id(rng, rng.choice(["AKIA", "AKIA", "ASIA"]))
        elif key in ("aws_secret_access_key",):
            value = _secret(rng)
        elif key == "aws_session_token":
            value = _secret(rng, 60)
        elif key == "region":
            value = rng.choice(REGIONS)
        elif key == "output":
            value = rng.choice(OUTPUTS)
        elif key == "endpoint_url":
            value = "http://localhost:4566"
        elif key == "cli_pager":
            value = ""
        elif key == "description":
            # Continuation lines; never last in the section so that the writer's insertion
            # point is not inside the continued value (see docs/spec/configure-cli.md §6 rule 8).
            if not allow_continuation or i == len(entries) - 1:
                value = "plain description"
            else:
                deeper = indent + rng.choice(["  ", "    ", "\t"])
                sec.lines.append(_kv(rng, indent, key, "first line").rstrip(" \n") + "\n")
                sec.lines.append(f"{deeper}second line\n")
                if rng.random() < 0.5:
                    sec.lines.append(f"{deeper}third = line\n")
                sec.keys[key] = "first line"
                continue
        elif key == "s3":
            deeper = indent + rng.choice(["  ", "    ", "\t", "      "])
            sub = {}
            sec.lines.append(f"{indent}s3 =\n")
            for sk in rng.sample(["max_concurrent_requests", "addressing_style", "max_queue_size"], rng.randint(1, 3)):
                sv = {"max_concurrent_requests": "10", "addressing_style": "path", "max_queue_size": "1000"}[sk]
                if rng.random() < 0.15:
                    sec.lines.append(f"{deeper}# nested comment\n")
                sep = rng.choice([" = ", "=", " =", "= "])
                sec.lines.append(f"{deeper}{sk}{sep}{sv}\n")
                sub[sk] = sv
            sec.nested["s3"] = sub
            continue
        else:
            value = "x"
        sec.lines.append(_kv(rng, indent, key, value))
        sec.keys[key] = value
    if rng.random() < 0.15:
        sec.lines.append(_comment(rng))
    return sec


def header_for(name: str, rng: random.Random, *, config: bool) -> str:
    """A canonical header (the spelling the CLI writer finds), with optional trailing text."""
    if not config or name == "default":
        base = f"[{name}]"
    elif " " in name:
        base = f"[profile '{name}']"
    else:
        base = f"[profile {name}]"
    tail = rng.choice(["", "", "", "", "   ", " # main", " ; note"])
    return base + tail + "\n"


@dataclass
class Files:
    """A generated pair of files plus what they contain (for choosing targets)."""

    config: str | None
    credentials: str | None
    config_sections: dict[str, Section]
    cred_sections: dict[str, Section]

    def profiles(self) -> list[str]:
        names = list(self.config_sections)
        names += [n for n in self.cred_sections if n not in names]
        return names


def gen_files(rng: random.Random, *, extras: bool = True, allow_continuation: bool = True,
              flat: bool = False) -> Files:
    """A config and a credentials file (each sometimes absent or empty)."""
    config_sections: dict[str, Section] = {}
    cred_sections: dict[str, Section] = {}
    cfg_names = []
    if rng.random() < 0.75:
        cfg_names.append("default")
    cfg_names += rng.sample(PROFILES, rng.randint(0, 3))
    if rng.random() < 0.1:
        cfg_names.append("a b")
    rng.shuffle(cfg_names)
    parts: list[str] = []
    if rng.random() < 0.2:
        parts.append(_comment(rng, indent="") + "\n")
    for name in cfg_names:
        sec = gen_profile_body(rng, creds=False, allow_continuation=allow_continuation, flat=flat)
        sec.header = header_for(name, rng, config=True)
        config_sections[name] = sec
        parts.append(sec.text())
        if rng.random() < 0.4:
            parts.append("\n")
    if extras and rng.random() < 0.3:
        parts.append("[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://example.awsapps.com/start\n")
    if extras and rng.random() < 0.2:
        parts.append("[services local]\ns3 =\n  endpoint_url = http://localhost:4566\n")
    config = "".join(parts)
    if parts and rng.random() < 0.15:
        config = config.rstrip("\n")  # no final newline
    if not cfg_names and rng.random() < 0.5:
        config = None

    cparts: list[str] = []
    cred_names = []
    if rng.random() < 0.7:
        cred_names.append("default")
    cred_names += rng.sample([p for p in PROFILES if p not in ("Stage",)] + CREDS_ONLY, rng.randint(0, 3))
    if rng.random() < 0.1:
        cred_names.append("profile dev")  # a credentials-file profile literally named "profile dev"
    for name in cred_names:
        sec = gen_profile_body(rng, creds=True, flat=flat)
        sec.header = header_for(name, rng, config=False)
        cred_sections[name] = sec
        cparts.append(sec.text())
    credentials = "".join(cparts) if cparts or rng.random() < 0.5 else None
    return Files(config, credentials, config_sections, cred_sections)


# ------------------------------------------------------------------------------------------------
# Environment: file locations and profile selection, with the v2 translation for the reference
# ------------------------------------------------------------------------------------------------


@dataclass
class Placement:
    """Where the two files live and the env vars that point there."""

    config_rel: str
    creds_rel: str
    env: dict[str, str]


def choose_placement(rng: random.Random, *, for_set: bool) -> Placement:
    r = rng.random()
    if r < 0.65:
        return Placement(".aws/config", ".aws/credentials", {})
    env = {}
    config_rel, creds_rel = ".aws/config", ".aws/credentials"
    if rng.random() < 0.7:
        config_rel = rng.choice(["alt/config", "cfg/nested/dir/config"] if for_set else ["alt/config"])
        env["AWS_CONFIG_FILE"] = rng.choice(["~/", "<HOME>/"]) + config_rel
    if rng.random() < 0.6 or not env:
        creds_rel = rng.choice(["alt/credentials", "secret/creds"])
        env["AWS_SHARED_CREDENTIALS_FILE"] = rng.choice(["~/", "<HOME>/"]) + creds_rel
    return Placement(config_rel, creds_rel, env)


@dataclass
class Selection:
    """Profile selection as awsid sees it, and the v2-equivalent arguments for the reference."""

    args: list[str]
    env: dict[str, str]
    ref_env: dict[str, str] | None
    selected: str | None  # the v2-selected profile, None = default
    differences: list[str]


def choose_selection(rng: random.Random, names: list[str], *, allow_missing: bool = True) -> Selection:
    pool = names + (["nope"] if allow_missing else [])
    pool = pool or ["default"]
    r = rng.random()
    if r < 0.3:
        return Selection([], {}, None, None, [])
    p = rng.choice(pool)
    if r < 0.55:
        return Selection(["--profile", p], {}, None, p, [])
    if r < 0.7:
        return Selection([], {"AWS_PROFILE": p}, None, p, [])
    if r < 0.8:
        return Selection([], {"AWS_DEFAULT_PROFILE": p}, None, p, [])
    q = rng.choice(pool)
    env = {"AWS_PROFILE": p, "AWS_DEFAULT_PROFILE": q}
    if p == q:
        return Selection([], env, None, p, [])
    # v1 would pick q (AWS_DEFAULT_PROFILE first); v2 picks p. Run the reference on p.
    return Selection([], env, {"AWS_DEFAULT_PROFILE": p}, p, ["profile-env-precedence"])


def _place(files: Files, pl: Placement) -> dict[str, str]:
    out = {}
    if files.config is not None:
        out[pl.config_rel] = files.config
    if files.credentials is not None:
        out[pl.creds_rel] = files.credentials
    return out


def _finish(case_id: str, kind: str, argv: list[str], files: dict[str, str], pl: Placement,
            sel: Selection, extra_env: dict[str, str], extra_ref_env: dict[str, str] | None,
            diffs: list[str], note: str = "") -> Case:
    env = {**pl.env, **sel.env, **extra_env}
    ref_env = None
    if sel.ref_env is not None or extra_ref_env is not None:
        ref_env = {**pl.env, **(sel.ref_env if sel.ref_env is not None else sel.env),
                   **(extra_ref_env if extra_ref_env is not None else extra_env)}
    return Case(case_id, kind, argv + sel.args, files, env, ref_env, None,
                sorted(set(sel.differences + diffs)), note,
                config_rel=pl.config_rel, creds_rel=pl.creds_rel)


# ------------------------------------------------------------------------------------------------
# Generators per command
# ------------------------------------------------------------------------------------------------


def gen_get(case_id: str) -> Case:
    rng = random.Random(f"{SEED}:{case_id}")
    files = gen_files(rng)
    pl = choose_placement(rng, for_set=False)
    names = files.profiles()
    sel = choose_selection(rng, names)
    cur = sel.selected or "default"
    sec = files.config_sections.get(cur) or files.cred_sections.get(cur)
    existing = list(sec.keys) + list(sec.nested) if sec else []
    other = rng.choice(names) if names else "dev"
    choices = [
        lambda: rng.choice(existing) if existing else "region",
        lambda: rng.choice(["region", "output", "aws_access_key_id", "aws_session_token", "nosuchkey"]),
        lambda: "s3.max_concurrent_requests",
        lambda: rng.choice(["s3.addressing_style", "s3.nosuch", "region.sub"]),
        lambda: "s3",
        lambda: f"profile.{other}.{rng.choice(['region', 'output', 's3.max_concurrent_requests'])}",
        lambda: f"profile.nope.region",
        lambda: f"{other}.{rng.choice(['region', 'output', 'aws_secret_access_key'])}",
        lambda: f"default.{rng.choice(['region', 's3.max_concurrent_requests', 'output'])}",
    ]
    varname = rng.choice(choices)()
    if " " in varname.split(".")[0] or (varname.count(".") and " " in varname):
        varname = "region"
    extra_env = {}
    if rng.random() < 0.25:  # get never reads these
        extra_env[rng.choice(["AWS_DEFAULT_REGION", "AWS_REGION"])] = "env-region-1"
    if files.config is not None and rng.random() < 0.1:
        files.config = files.config.replace("\n", "\r\n")  # CRLF files read the same
    return _finish(case_id, "get", ["configure", "get", varname], _place(files, pl), pl, sel,
                   extra_env, None, [])


def _section_for_set(files: Files, name: str) -> Section | None:
    return files.config_sections.get(name)


def gen_set(case_id: str) -> Case:
    rng = random.Random(f"{SEED}:{case_id}")
    files = gen_files(rng, extras=rng.random() < 0.5)
    r = rng.random()
    if r < 0.12:
        files.config = None
    elif r < 0.2:
        files.credentials = None
    elif r < 0.25:
        files.config = files.credentials = None
    pl = choose_placement(rng, for_set=True)
    names = [n for n in files.profiles() if n != "profile dev"]
    sel = choose_selection(rng, names + ["newprof"], allow_missing=False)
    cur = sel.selected or "default"
    value = rng.choice(["eu-central-1", "42", "two words", "", "json", "http://127.0.0.1:9/x", "v=1:2"])
    forms = [
        ("region", cur), ("output", cur), ("cli_pager", cur), ("region", cur),
        ("s3.max_concurrent_requests", cur), ("s3.addressing_style", cur),
        ("aws_access_key_id", cur), ("aws_secret_access_key", cur), ("aws_session_token", cur),
    ]
    if names:
        other = rng.choice([n for n in names if " " not in n] or ["dev"])
        forms += [(f"profile.{other}.region", other), (f"profile.{other}.s3.max_queue_size", other)]
    forms += [("default.s3.max_concurrent_requests", "default"), ("default.region", "default"),
              ("profile.fresh.output", "fresh")]
    varname, target = rng.choice(forms)
    if "." in varname and varname.split(".")[-2] == "s3" or varname.startswith("s3."):
        # A nested set on a scalar `s3 = ...` is the named crash case; keep it out of here.
        sec = _section_for_set(files, target)
        if sec is not None and "s3" in sec.keys:
            varname = "region"
    if varname.startswith("aws_") and value in ("two words",):
        value = "AKIAEXAMPLENEWKEY1"
    case = _finish(case_id, "set", ["configure", "set", varname, value], _place(files, pl), pl, sel,
                   {}, None, [], note=f"(target profile {target!r})")
    key = varname.split(".")[-1] if varname.startswith(("profile.", "default.")) else varname
    if "." not in key and not (varname.startswith("profile.") and varname.count(".") > 2) and not (
            varname.startswith("default.") and varname.count(".") > 1):
        in_creds = key in CREDENTIAL_KEYS
        text = files.credentials if in_creds else files.config
        section = target if in_creds or target == "default" else (
            f"profile '{target}'" if " " in target else f"profile {target}")
        if text is not None and v1_replacement_swallows(text, section, key):
            # The reference moves the edited line to column 0 and the indented lines after it
            # become its continuation: a corrupting writer case, checked as such.
            case.kind = "writer"
            case.differences = sorted(set(case.differences) | {"writer-indented-key"})
            case.check_profile, case.check_key, case.check_value = target, key, value
    return case


CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def v1_replacement_swallows(text: str, section: str, key: str) -> bool:
    """Whether the CLI writer's replacement of `key` in `[section]` (docs/spec/configure-cli.md §6: first
    matching header from column 0, first line whose text before `=`/`:` strips to `key`, rewritten
    as `key = value` at column 0) leaves a following indented non-comment line of the same section
    to be read as a continuation of the edited value."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines)
                  if not line.lstrip().startswith(("#", ";")) and line.startswith(f"[{section}]")), None)
    if start is None:
        return False
    target = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.lstrip().startswith("["):
            return False
        if target is None:
            m = re.match(r"([^=:]*)[=:]", line)
            if m and m.group(1).strip() == key:
                if not line[:1].isspace():
                    return False
                target = i
        elif line.strip() and not line.lstrip().startswith(("#", ";")) and line[:1].isspace():
            return True
    return False


def gen_list(case_id: str) -> Case:
    rng = random.Random(f"{SEED}:{case_id}")
    files = gen_files(rng)
    pl = choose_placement(rng, for_set=False)
    names = files.profiles()
    sel = choose_selection(rng, names)
    diffs = ["list-layout"]
    if sel.env and not sel.args:
        diffs.append("list-profile-env-location")
    extra_env: dict[str, str] = {}
    extra_ref: dict[str, str] | None = None
    r = rng.random()
    if r < 0.2:
        extra_env["AWS_DEFAULT_REGION"] = "eu-south-2"
        diffs.append("list-region-env-location")
    elif r < 0.3:
        extra_env["AWS_REGION"] = "ap-east-1"
        extra_ref = {"AWS_DEFAULT_REGION": "ap-east-1"}
        diffs += ["list-region-env-location", "region-aws-region"]
    elif r < 0.4:
        extra_env.update(AWS_REGION="ap-east-1", AWS_DEFAULT_REGION="eu-south-2")
        extra_ref = {"AWS_DEFAULT_REGION": "ap-east-1"}
        diffs += ["list-region-env-location", "region-aws-region"]
    if rng.random() < 0.2:
        creds = {"AWS_ACCESS_KEY_ID": _key_id(rng), "AWS_SECRET_ACCESS_KEY": _secret(rng)}
        extra_env.update(creds)
        if extra_ref is not None:
            extra_ref.update(creds)
    return _finish(case_id, "list", ["configure", "list"], _place(files, pl), pl, sel,
                   extra_env, extra_ref, diffs)


# ------------------------------------------------------------------------------------------------
# Hand-shaped families: malformed files, corrupting writer cases, usage errors
# ------------------------------------------------------------------------------------------------

MALFORMED = {
    # name: (text, 1-based lines awsid may name)
    "dup-section": ("[default]\nregion = a\n\n[default]\noutput = json\n", (4,)),
    "dup-key": ("[default]\nregion = a\nREGION = b\n", (3,)),
    "bad-nested": ("[default]\nregion = a\ns3 =\n  max_concurrent_requests\n", (3, 4)),
    "garbage-line": ("[default]\nregion = a\nthis is not a key\n", (3,)),
}


def gen_malformed() -> list[Case]:
    cases = []
    n = 0
    for bad_name, (text, lines) in MALFORMED.items():
        for where in ("config", "credentials"):
            for cmd in (["configure", "get", "region"], ["configure", "set", "region", "zz-1"],
                        ["configure", "list"]):
                n += 1
                rel = ".aws/config" if where == "config" else ".aws/credentials"
                good = ".aws/credentials" if where == "config" else ".aws/config"
                files = {rel: text, good: "[default]\noutput = text\n"}
                diffs = ["malformed-file"]
                cases.append(Case(f"malformed-{n:03d}-{bad_name}-{where}-{cmd[1]}", "malformed", cmd,
                                  files, {}, None, None, diffs, bad_file=rel, bad_lines=lines))
    return cases


def gen_writer() -> list[Case]:
    """The reference corrupts the file (or crashes) in each of these."""
    cases = []

    def add(cid, diff, files, argv, profile, key, value, note=""):
        cases.append(Case(cid, "writer", argv, files, {}, None, None, [diff], note,
                          check_profile=profile, check_key=key, check_value=value))

    add("writer-01-indented-default", "writer-indented-header",
        {".aws/config": "  [default]\nregion = us-east-1\noutput = json\n"},
        ["configure", "set", "region", "eu-west-1"], None, "region", "eu-west-1")
    add("writer-02-indented-default-newkey", "writer-indented-header",
        {".aws/config": "# top\n   [default]\nregion = us-east-1\n[profile dev]\nregion = b\n"},
        ["configure", "set", "output", "text"], None, "output", "text")
    add("writer-03-spaced-profile", "writer-spaced-profile-header",
        {".aws/config": "[profile   x]\nregion = us-east-1\noutput = json\n"},
        ["configure", "set", "region", "eu-west-1", "--profile", "x"], "x", "region", "eu-west-1")
    add("writer-04-spaced-profile-dotted", "writer-spaced-profile-header",
        {".aws/config": "[default]\nregion = a\n[profile\tx ]\noutput = json\ncli_pager =\n"},
        ["configure", "set", "profile.x.region", "eu-west-2"], "x", "region", "eu-west-2")
    add("writer-05-quoted-profile", "writer-quoted-profile-header",
        {".aws/config": '[profile "a b"]\nregion = us-east-1\noutput = json\n'},
        ["configure", "set", "region", "eu-west-1", "--profile", "a b"], "a b", "region", "eu-west-1")
    add("writer-06-quoted-profile-env", "writer-quoted-profile-header",
        {".aws/config": '[default]\noutput = text\n[profile "a b"]\noutput = json\n'},
        ["configure", "set", "region", "eu-west-3"], "a b", "region", "eu-west-3")
    cases[-1].env = {"AWS_PROFILE": "a b"}
    add("writer-07-key-case", "writer-key-case",
        {".aws/config": "[default]\nRegion = us-east-1\noutput = json\n"},
        ["configure", "set", "region", "eu-west-1"], None, "region", "eu-west-1")
    add("writer-08-key-case-creds", "writer-key-case",
        {".aws/credentials": "[dev]\nAWS_ACCESS_KEY_ID = AKIAOLDOLDOLDOLD0000\naws_secret_access_key = s\n"},
        ["configure", "set", "aws_access_key_id", "AKIANEWNEWNEWNEW1111", "--profile", "dev"],
        "dev", "aws_access_key_id", "AKIANEWNEWNEWNEW1111")
    add("writer-09-nested-on-scalar", "writer-nested-on-scalar",
        {".aws/config": "[default]\ns3 = flat\nregion = us-east-1\n"},
        ["configure", "set", "s3.max_concurrent_requests", "20"], None, "s3.max_concurrent_requests", "20",
        note="(s3 is followed by another key: the reference writes an unreadable continuation)")
    add("writer-10-nested-on-scalar-profile", "writer-nested-on-scalar",
        {".aws/config": "[profile dev]\ns3 = flat\n"},
        ["configure", "set", "profile.dev.s3.addressing_style", "path"], "dev", "s3.addressing_style", "path",
        note="(s3 is the last line: the reference crashes)")
    add("writer-11-indented-keys", "writer-indented-key",
        {".aws/config": "[default]\n  region = us-east-1\n  output = json\n"},
        ["configure", "set", "region", "eu-west-1"], None, "region", "eu-west-1")
    add("writer-12-indented-creds", "writer-indented-key",
        {".aws/credentials": "[dev]\n\taws_access_key_id = AKIAOLDOLDOLDOLD0000\n\taws_secret_access_key = s\n"},
        ["configure", "set", "aws_access_key_id", "AKIANEWNEWNEWNEW1111", "--profile", "dev"],
        "dev", "aws_access_key_id", "AKIANEWNEWNEWNEW1111")
    add("writer-13-scalar-on-section", "writer-scalar-on-section",
        {".aws/config": "[default]\ns3 =\n  max_concurrent_requests = 10\n  addressing_style = path\nregion = a\n"},
        ["configure", "set", "s3", "flat"], None, "s3", "flat")
    add("writer-14-scalar-on-section-last", "writer-scalar-on-section",
        {".aws/config": "[profile dev]\nregion = a\ns3 =\n    max_queue_size = 1000\n"},
        ["configure", "set", "profile.dev.s3", "x"], "dev", "s3", "x")
    add("writer-15-config-file-with-var", "writer-expands-vars",
        {".aws/config": "[default]\nregion = a\n", "alt/config": "[default]\noutput = json\n"},
        ["configure", "set", "region", "eu-west-1"], None, "region", "eu-west-1")
    cases[-1].env = {"AWS_CONFIG_FILE": "$HOME/alt/config"}
    cases[-1].config_rel = "alt/config"
    add("writer-16-credentials-file-with-var", "writer-expands-vars",
        {".aws/credentials": "[default]\naws_access_key_id = AKIAOLDOLDOLDOLD0000\naws_secret_access_key = s\n"},
        ["configure", "set", "aws_secret_access_key", "newsecret"], None, "aws_secret_access_key", "newsecret")
    cases[-1].env = {"AWS_SHARED_CREDENTIALS_FILE": "${HOME}/.aws/credentials"}
    return cases


def gen_usage() -> list[Case]:
    return [
        Case("usage-01-get-no-varname", "usage", ["configure", "get"],
             {".aws/config": "[default]\nregion = a\n"}, differences=["usage-exit-code"]),
        Case("usage-02-set-no-value", "usage", ["configure", "set", "region"],
             {".aws/config": "[default]\nregion = a\n"}, differences=["usage-exit-code"]),
    ]


def gen_fixed_env() -> list[Case]:
    """Hand-picked environment cases so each env difference is covered whatever the seed."""
    cfg = {".aws/config": "[profile a]\nregion = ra\n[profile b]\nregion = rb\n",
           ".aws/credentials": "[a]\naws_access_key_id = AKIAAAAAAAAAAAAA1111\naws_secret_access_key = sa\n"
                               "[b]\naws_access_key_id = AKIABBBBBBBBBBBB2222\naws_secret_access_key = sb\n"}
    both = {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}
    return [
        Case("env-01-get-precedence", "get", ["configure", "get", "region"], cfg, both,
             {"AWS_DEFAULT_PROFILE": "a"}, differences=["profile-env-precedence"]),
        Case("env-02-set-precedence", "set", ["configure", "set", "output", "text"], cfg, both,
             {"AWS_DEFAULT_PROFILE": "a"}, differences=["profile-env-precedence"]),
        Case("env-03-list-precedence", "list", ["configure", "list"], cfg, both,
             {"AWS_DEFAULT_PROFILE": "a"},
             differences=["list-layout", "list-profile-env-location", "profile-env-precedence"]),
        Case("env-04-list-aws-region", "list", ["configure", "list"], cfg,
             {"AWS_REGION": "ap-east-1", "AWS_PROFILE": "a"},
             {"AWS_DEFAULT_REGION": "ap-east-1", "AWS_PROFILE": "a"},
             differences=["list-layout", "list-profile-env-location", "list-region-env-location",
                          "region-aws-region"]),
        Case("env-05-list-both-regions", "list", ["configure", "list", "--profile", "b"], cfg,
             {"AWS_REGION": "ap-east-1", "AWS_DEFAULT_REGION": "eu-south-2"},
             {"AWS_DEFAULT_REGION": "ap-east-1"},
             differences=["list-layout", "list-region-env-location", "region-aws-region"]),
        Case("env-06-list-missing-profile", "list", ["configure", "list", "--profile", "nope"], cfg,
             differences=["list-layout"]),
        Case("env-07-get-missing-profile", "get", ["configure", "get", "region", "--profile", "nope"], cfg),
        Case("env-08-set-missing-dirs", "set", ["configure", "set", "region", "eu-west-1"], {},
             {"AWS_CONFIG_FILE": "~/deep/er/config"}),
        Case("env-09-set-creds-missing-dirs", "set",
             ["configure", "set", "aws_session_token", "tok", "--profile", "newp"], {},
             {"AWS_SHARED_CREDENTIALS_FILE": "<HOME>/x/y/credentials"}),
        Case("env-10-get-empty-profile-env", "get", ["configure", "get", "region"], cfg,
             {"AWS_PROFILE": ""}),
        # v2 routes aws_security_token to the credentials file since 2.34.37 (as v1 always did).
        Case("env-11-set-security-token", "set", ["configure", "set", "aws_security_token", "tok"], cfg),
        Case("env-12-set-security-token-profile", "set",
             ["configure", "set", "aws_security_token", "tok2", "--profile", "b"], cfg),
    ]


def all_cases() -> list[Case]:
    """Every case of the suite, in a stable order (at least 200)."""
    cases = []
    cases += [gen_get(f"get-{i:03d}") for i in range(90)]
    cases += [gen_set(f"set-{i:03d}") for i in range(90)]
    cases += [gen_list(f"list-{i:03d}") for i in range(40)]
    cases += gen_fixed_env()
    cases += gen_malformed()
    cases += gen_writer()
    cases += gen_usage()
    return cases


def materialise_env(env: dict[str, str], home: Path) -> dict[str, str]:
    """Replaces the `<HOME>` placeholder in env values by the real home of a run."""
    return {k: v.replace("<HOME>", str(home)) for k, v in env.items()}


def run_v2_in_home(server, argv: list[str], home: Path, env: dict[str, str]) -> Result:
    """As `run_in_home`, for Debian's aws CLI v2 in a fork of `server`
    (`v2_forkserver.ForkServer`)."""
    stdout, stderr, code = server.run(argv, child_env(home, env), home, home.parent / "v2-out")
    h = str(home)
    return Result(stdout=stdout.replace(h, "<HOME>"), stderr=stderr.replace(h, "<HOME>"), code=code,
                  tree=snapshot(home))
