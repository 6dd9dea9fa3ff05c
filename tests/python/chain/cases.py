"""Generated profile setups for the credential-chain differential suite.

Every case is built from `random.Random(f"{SEED}:{case_id}")` by one of the builders below, so a
case can be reproduced alone (`pytest tests/python/test_chain_differential.py -k <case_id>`), and
editing one builder does not reshuffle the others. `AWSID_CHAIN_SEED` changes the corpus.

A case holds everything both tools see: the shared files, executable scripts
(`credential_process` programs), web identity token files, the environment, the global options
(`--profile`, `--region`) and the fakes' configuration. Texts may contain placeholders filled per
run: `{home}` (the run's HOME), `{sts}`, `{imds}`, `{ecs}` (the run's fake endpoints) and
`{closed}` (a loopback URL nothing listens on).
"""

from __future__ import annotations

import json
import os
import random
import string
from dataclasses import dataclass, field

SEED = os.environ.get("AWSID_CHAIN_SEED", "awsid-chain-1")
CLOSED_URL = "http://127.0.0.1:1"  # loopback port 1: connection refused, never leaves the host

NAMES = ["dev", "prod", "ops", "ci", "team-a", "role_x", "Admin", "base", "src", "hop", "build",
         "Audit", "data.eng", "sandbox", "web-1"]
ACCOUNTS = ["123456789012", "210987654321", "111122223333"]
ROLE_NAMES = ["deploy", "ReadOnly", "admin", "path/to/pathrole", "ci-runner", "audit.role", "x_y"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1"]
# duration_seconds as written in the profile -> what the reference sends (None: parameter omitted).
DURATIONS = {
    "3600": 3600, "1800": 1800, "7200": 7200, "43200": 43200, "1000": 1000,
    "1_800": 1800, "+3600": 3600, "abc": None, "1h": None, "3600.0": None, "0x10": None,
    "600": 600, "50000": 50000,
}
ECS_TOKEN = "ecs-auth-token"


@dataclass
class Case:
    """One generated profile setup and the named differences that apply to it."""

    case_id: str
    kind: str  # the builder: what the case is about
    config: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # header, keys
    credentials: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # other files: relpath -> text
    scripts: dict[str, str] = field(default_factory=dict)  # executables: relpath -> text
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)  # global options for both tools
    imds_mode: str = "disabled"  # disabled | ok | v1 | no-role
    imds_zone: str | None = "eu-west-2a"  # the fake instance's availability zone (None: 404)
    region_choice: str | None = None  # how region() gave the STS client a region ("none": not)
    ecs_token: str | None = ECS_TOKEN
    differences: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def test_id(self) -> str:
        diff = f"[diff={','.join(self.differences)}]" if self.differences else ""
        return f"{self.case_id}{diff}"

    # -- files ------------------------------------------------------------------------------------

    def conf(self, profile: str, *pairs: tuple[str, str]) -> None:
        """Adds keys to the config-file section of `profile` (created on first use)."""
        header = "default" if profile == "default" else f"profile {profile}"
        _add(self.config, header, pairs)

    def creds(self, profile: str, *pairs: tuple[str, str]) -> None:
        """Adds keys to the credentials-file section `profile`."""
        _add(self.credentials, profile, pairs)

    def rendered_files(self) -> dict[str, str]:
        """Every file of the case, paths relative to HOME (placeholders still in)."""
        out = dict(self.files)
        if self.config:
            out[".aws/config"] = _render(self.config)
        if self.credentials:
            out[".aws/credentials"] = _render(self.credentials)
        return out

    # -- what each tool sees ----------------------------------------------------------------------

    def reference_env(self) -> dict[str, str]:
        """The environment given to the botocore driver: the case's, translated to v2 behaviour
        by the differences that apply (see `differences.py`)."""
        env = dict(self.env)
        if "v2-profile-env-precedence" in self.differences and "AWS_PROFILE" in env:
            env.pop("AWS_DEFAULT_PROFILE", None)
        if "v2-aws-region" in self.differences and "--region" not in self.argv:
            env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
        if "v2-imds-region" in self.differences and self.imds_zone is not None:
            env["AWS_DEFAULT_REGION"] = self.imds_zone[:-1]
        return env

    def describe(self) -> str:
        """The full inputs, for failure reports."""
        lines = [f"case {self.case_id} ({self.kind}) seed {SEED!r}: {self.note}".rstrip(": ")]
        lines.append(f"  argv: {self.argv}")
        lines.append(f"  env: {json.dumps(self.env, sort_keys=True)}")
        lines.append(f"  fakes: imds={self.imds_mode} ecs_token={self.ecs_token!r}")
        if self.differences:
            lines.append(f"  differences: {self.differences}")
        for rel, text in {**self.rendered_files(), **self.scripts}.items():
            lines.append(f"  ~/{rel}:")
            lines.extend(f"    | {line}" for line in text.splitlines())
        return "\n".join(lines)


def _add(sections: list, header: str, pairs) -> None:
    for name, keys in sections:
        if name == header:
            keys.extend(pairs)
            return
    sections.append((header, list(pairs)))


def _render(sections) -> str:
    parts = []
    for header, keys in sections:
        parts.append(f"[{header}]\n" + "".join(f"{k} = {v}\n" for k, v in keys))
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------
# Small generators
# ------------------------------------------------------------------------------------------------


def key_id(rng: random.Random, prefix: str = "AKIA") -> str:
    return prefix + "".join(rng.choices(string.ascii_uppercase + "234567", k=16))


def secret(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "/+", k=40))


def role_arn(rng: random.Random, role: str | None = None) -> str:
    return f"arn:aws:iam::{rng.choice(ACCOUNTS)}:role/{role or rng.choice(ROLE_NAMES)}"


def names(rng: random.Random, n: int) -> list[str]:
    return rng.sample(NAMES, n)


def static_keys(case: Case, rng: random.Random, profile: str, where: str | None = None) -> str:
    """Puts a full key pair for `profile` in the credentials file, the config file or both
    (different keys; the credentials file's win); returns where."""
    where = where or rng.choice(["credentials", "credentials", "config", "both"])
    for target in (["credentials", "config"] if where == "both" else [where]):
        pairs = [("aws_access_key_id", key_id(rng)), ("aws_secret_access_key", secret(rng))]
        if rng.random() < 0.2:
            pairs.append((rng.choice(["aws_session_token", "aws_security_token"]), "tok" + secret(rng)[:20]))
        (case.creds if target == "credentials" else case.conf)(profile, *pairs)
    return where


def role_keys(rng: random.Random, *, allow_invalid: bool = True, role: str | None = None) -> list[tuple[str, str]]:
    """role_arn plus random optional AssumeRole settings (`allow_invalid`: also values STS or
    botocore refuse)."""
    pairs = [("role_arn", role_arn(rng, role))]
    # One-character names are refused by botocore's parameter validation (minimum length 2),
    # before any call; so is a duration under 900.
    short = allow_invalid and rng.random() < 0.06
    if rng.random() < 0.4:
        pairs.append(("role_session_name", "a" if short else rng.choice(["sess", "alice@example.com", "ci-run.42", "a_b=c,d"])))
    if rng.random() < 0.3:
        pairs.append(("external_id", "x" if short else rng.choice(["ext-1", "Unique-ID_123", "a:b/c"])))
    if rng.random() < 0.35:
        options = list(DURATIONS) if allow_invalid else [d for d, v in DURATIONS.items() if v and 900 < v <= 43200]
        pairs.append(("duration_seconds", rng.choice(options)))
    rng.shuffle(pairs)
    return pairs


def sts_endpoint(case: Case, rng: random.Random, selected: str | None) -> None:
    """Points the credential STS client at the fake, by one of the overrides the CLI honours."""
    choice = rng.choices(
        ["env-sts", "env-generic", "env-both", "profile", "services"], weights=[14, 2, 2, 2, 1]
    )[0]
    if choice in ("profile", "services") and selected is None:
        choice = "env-sts"
    if choice == "env-sts":
        case.env["AWS_ENDPOINT_URL_STS"] = "{sts}"
    elif choice == "env-generic":
        case.env["AWS_ENDPOINT_URL"] = "{sts}"
    elif choice == "env-both":  # the service-specific variable wins over the generic one
        case.env["AWS_ENDPOINT_URL"] = "{closed}"
        case.env["AWS_ENDPOINT_URL_STS"] = "{sts}"
    elif choice == "profile":
        case.conf(selected, ("endpoint_url", "{sts}"))
    else:
        case.conf(selected, ("services", "fake-sts"))
        case.config.append(("services fake-sts", [("sts", ""), ("  endpoint_url", "{sts}")]))
    case.note += f" sts-endpoint={choice}"


def region(case: Case, rng: random.Random, selected: str | None, *, allow_none: bool = False) -> None:
    """Gives the STS client a region: `--region`, AWS_DEFAULT_REGION, AWS_REGION (v2), or the
    selected profile's `region`."""
    options = ["flag", "env-default", "env-default", "profile", "profile", "aws-region"]
    if allow_none:
        options.append("none")
    choice = rng.choice(options)
    if choice == "profile" and selected is None:
        choice = "env-default"
    case.region_choice = choice
    r = rng.choice(REGIONS)
    if choice == "flag":
        case.argv += ["--region", r]
    elif choice == "env-default":
        case.env["AWS_DEFAULT_REGION"] = r
    elif choice == "profile":
        case.conf(selected, ("region", r))
    elif choice == "aws-region":
        case.env["AWS_REGION"] = r
        if rng.random() < 0.5:
            case.env["AWS_DEFAULT_REGION"] = rng.choice([x for x in REGIONS if x != r])
        case.differences.append("v2-aws-region")


def select(case: Case, rng: random.Random, profile: str, *, env_ok: bool = True) -> None:
    """Selects `profile`: `--profile`, AWS_PROFILE or AWS_DEFAULT_PROFILE (`default` may also be
    selected implicitly). With `env_ok=False` only `--profile` (or implicit default) is used."""
    if profile == "default":
        choice = rng.choice(["implicit", "implicit", "flag"] + (["env"] if env_ok else []))
    else:
        choice = rng.choice(["flag", "flag"] + (["env", "env-default"] if env_ok else []))
    if choice == "flag":
        case.argv += ["--profile", profile]
    elif choice == "env":
        case.env["AWS_PROFILE"] = profile
    elif choice == "env-default":
        case.env["AWS_DEFAULT_PROFILE"] = profile


def script(case: Case, name: str, *, stdout: str = "", stderr: str = "", code: int = 0) -> str:
    """A `/bin/sh` credential_process program; returns its command line (with `{home}`)."""
    body = "#!/bin/sh\n"
    if stdout:
        body += f"cat <<'__AWSID_EOF__'\n{stdout}\n__AWSID_EOF__\n"
    if stderr:
        body += f"printf '%s\\n' '{stderr}' >&2\n"
    body += f"exit {code}\n"
    rel = f"bin/{name}"
    case.scripts[rel] = body
    return "{home}/" + rel


def process_document(rng: random.Random, *, expiration: bool | None = None) -> dict:
    doc: dict = {"Version": 1, "AccessKeyId": key_id(rng, "ASIA"), "SecretAccessKey": secret(rng)}
    if rng.random() < 0.5:
        doc["SessionToken"] = "ptok" + secret(rng)[:24]
    if expiration is None:
        expiration = rng.random() < 0.5
    if expiration:
        doc["Expiration"] = rng.choice(
            ["2099-01-01T00:00:00Z", "2098-06-30T12:34:56+02:00", "2097-03-04T05:06:07.250000Z"]
        )
    return doc


def rotate(i: int, options: list):
    """The `i`-th option, cycling: every shape of a builder is used once it has enough cases."""
    return options[i % len(options)]


# ------------------------------------------------------------------------------------------------
# Builders: each makes one case of its kind from the rng
# ------------------------------------------------------------------------------------------------


def build_static(case: Case, rng: random.Random, i: int) -> None:
    """Static keys in the credentials file, the config file or both."""
    p = rng.choice(NAMES + ["default"])
    where = static_keys(case, rng, p)
    case.note = f"keys in {where}"
    if rng.random() < 0.5:  # other, unrelated profiles around it
        for other in names(rng, 2):
            if other != p:
                static_keys(case, rng, other)
    select(case, rng, p)
    region(case, rng, p if where != "credentials" else None, allow_none=True)
    if rng.random() < 0.3:
        case.imds_mode = "ok"


def build_partial(case: Case, rng: random.Random, i: int) -> None:
    """Partial static keys: one key of the pair, or the pair split across the two files."""
    p = rng.choice(NAMES + ["default"])
    shape = rotate(i, ["creds-id-only", "config-id-only", "split-id-creds", "split-id-config",
                        "creds-secret-only", "empty-values"])
    kid, sec = ("aws_access_key_id", key_id(rng)), ("aws_secret_access_key", secret(rng))
    if shape == "creds-id-only":
        case.creds(p, kid)
    elif shape == "config-id-only":
        case.conf(p, kid)
    elif shape == "split-id-creds":
        case.creds(p, kid)
        case.conf(p, sec)
    elif shape == "split-id-config":  # secret-only section in credentials is no trigger
        case.conf(p, kid)
        case.creds(p, sec)
    elif shape == "creds-secret-only":
        case.creds(p, sec)
        if rng.random() < 0.5:
            case.conf(p, ("aws_access_key_id", key_id(rng)), ("aws_secret_access_key", secret(rng)))
    else:
        case.creds(p, ("aws_access_key_id", ""), ("aws_secret_access_key", ""))
    case.note = shape
    select(case, rng, p)


def build_role_chain(case: Case, rng: random.Random, i: int) -> None:
    """A chain of 1–4 roles via source_profile down to static keys."""
    depth = i % 4 + 1
    chain = names(rng, depth + 1)
    base = chain[-1]
    static_keys(case, rng, base)
    if rng.random() < 0.2:  # a source with both keys and a role: its keys are used
        case.conf(base, ("role_arn", role_arn(rng)), ("source_profile", rng.choice(chain)))
        case.note += " base-has-role"
    for i in range(depth - 1, -1, -1):
        case.conf(chain[i], *role_keys(rng), ("source_profile", chain[i + 1]))
    rng.shuffle(case.config)
    select(case, rng, chain[0])
    region(case, rng, chain[0], allow_none=rng.random() < 0.2)
    sts_endpoint(case, rng, chain[0])
    case.note = f"depth {depth}:" + "->".join(chain) + case.note


def build_role_denied(case: Case, rng: random.Random, i: int) -> None:
    """A chain where one hop's AssumeRole is refused by STS (AccessDenied)."""
    depth = rng.randint(1, 3)
    chain = names(rng, depth + 1)
    static_keys(case, rng, chain[-1])
    bad = rng.randrange(depth)
    for i in range(depth):
        role = "denied-" + rng.choice(["x", "ops"]) if i == bad else None
        case.conf(chain[i], *role_keys(rng, allow_invalid=False, role=role), ("source_profile", chain[i + 1]))
    select(case, rng, chain[0])
    region(case, rng, chain[0])
    sts_endpoint(case, rng, chain[0])
    case.note = f"hop {bad} of {'->'.join(chain)} denied"


def build_self_reference(case: Case, rng: random.Random, i: int) -> None:
    """source_profile naming the profile itself (allowed only with static keys) or a longer way
    back to a profile with keys."""
    p, q = names(rng, 2)
    shape = rotate(i, ["self-keys", "self-keys", "self-no-keys", "back-to-keyed"])
    if shape == "self-keys":
        static_keys(case, rng, p)
        case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", p))
    elif shape == "self-no-keys":
        case.conf(p, *role_keys(rng), ("source_profile", p))
    else:  # p (keys + role) -> q (role) -> p: p was visited and is not q's own name
        static_keys(case, rng, p)
        case.conf(p, ("role_arn", role_arn(rng)), ("source_profile", q))
        case.conf(q, ("role_arn", role_arn(rng)), ("source_profile", p))
    case.note = shape
    select(case, rng, p)
    region(case, rng, p)
    sts_endpoint(case, rng, p)


def build_cycle(case: Case, rng: random.Random, i: int) -> None:
    """source_profile cycles of length 2–4, entered at the start or further down."""
    n = rng.randint(2, 4)
    ring = names(rng, n)
    lead = names(rng, 1)[0] if rng.random() < 0.4 else None
    for i, name in enumerate(ring):
        case.conf(name, ("role_arn", role_arn(rng)), ("source_profile", ring[(i + 1) % n]))
    start = ring[0]
    if lead and lead not in ring:
        case.conf(lead, ("role_arn", role_arn(rng)), ("source_profile", ring[0]))
        start = lead
    if rng.random() < 0.3:  # keys on a ring member other than the start do not break the loop
        static_keys(case, rng, ring[-1] if n > 1 else ring[0], "credentials")
    case.note = f"ring {'->'.join(ring)} from {start}"
    select(case, rng, start)
    region(case, rng, start)
    sts_endpoint(case, rng, start)


def build_source_errors(case: Case, rng: random.Random, i: int) -> None:
    """The assume-role validation errors of docs/spec/assume-role.md §3–4."""
    p, s = names(rng, 2)
    shape = rotate(i, ["both", "neither", "bad-source", "missing-source", "source-no-creds",
                        "source-region-only", "source-empty"])
    arn = ("role_arn", role_arn(rng))
    if shape == "both":
        static_keys(case, rng, s)
        case.conf(p, arn, ("source_profile", s), ("credential_source", "Environment"))
    elif shape == "neither":
        case.conf(p, arn)
    elif shape == "bad-source":
        case.conf(p, arn, ("credential_source", rng.choice(["environment", "Ec2", "ECSContainer", "Env", ""])))
    elif shape == "missing-source":
        case.conf(p, arn, ("source_profile", "nosuch"))
    elif shape == "source-no-creds":
        case.conf(s, ("output", "json"))
        case.conf(p, arn, ("source_profile", s))
    elif shape == "source-region-only":
        case.creds(s, ("region", "us-east-1"))
        case.conf(p, arn, ("source_profile", s))
    else:
        case.conf(p, arn, ("source_profile", s))
        case.config.append(("profile " + s, []))
    case.note = shape
    select(case, rng, p)
    region(case, rng, p)
    sts_endpoint(case, rng, p)


def build_credential_source(case: Case, rng: random.Random, i: int) -> None:
    """credential_source = Environment | Ec2InstanceMetadata | EcsContainer, found or not."""
    p = rng.choice(NAMES)
    source = rotate(i, ["Environment", "Ec2InstanceMetadata", "EcsContainer"])
    case.conf(p, *role_keys(rng, allow_invalid=False), ("credential_source", source))
    state = "present"
    if source == "Environment":
        state = rng.choice(["present", "present", "absent", "partial"])
        if state != "absent":
            case.env["AWS_ACCESS_KEY_ID"] = key_id(rng)
        if state == "present":
            case.env["AWS_SECRET_ACCESS_KEY"] = secret(rng)
            if rng.random() < 0.4:
                case.env[rng.choice(["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])] = "envtok" + secret(rng)[:10]
    elif source == "Ec2InstanceMetadata":
        state = rng.choice(["ok", "ok", "v1", "no-role", "disabled"])
        case.imds_mode = state
    else:
        state = rng.choice(["present", "present", "present", "absent", "token-file"])
        if state != "absent":
            case.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "{ecs}"
        if state == "present":
            case.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = ECS_TOKEN
        elif state == "token-file":
            case.files["ecs-token"] = ECS_TOKEN
            case.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "{home}/ecs-token"
    case.note = f"{source} {state}"
    # The env provider runs first unless --profile: env keys would win over the role.
    select(case, rng, p, env_ok=source != "Environment" or rng.random() < 0.3)
    region(case, rng, p)
    sts_endpoint(case, rng, p)


def build_process(case: Case, rng: random.Random, i: int) -> None:
    """credential_process: success (with and without Expiration), failures of every kind, as the
    profile's own provider or as a role's source."""
    outcome = rotate(i, ["ok", "ok", "ok", "exit", "exit-quiet", "bad-json", "version", "missing-key"])
    shape = rotate(i, ["own", "own-credentials-file", "with-config-keys", "with-credentials-keys",
                       "as-source"])
    doc = process_document(rng)
    if outcome == "ok":
        cmd = script(case, "proc.sh", stdout=json.dumps(doc))
    elif outcome == "exit":
        cmd = script(case, "proc.sh", stdout=json.dumps(doc), stderr=rng.choice(["boom", "token expired: run login"]), code=rng.choice([1, 2, 255]))
    elif outcome == "exit-quiet":
        cmd = script(case, "proc.sh", code=3)
    elif outcome == "bad-json":
        cmd = script(case, "proc.sh", stdout=rng.choice(["not json", "{\"Version\": 1,", ""]))
        if shape != "with-credentials-keys":  # there the keys win and the process never runs
            case.differences.append("process-output-not-json")
    elif outcome == "version":
        doc["Version"] = rng.choice([2, "1", None, 1.0, True, 0])
        if doc["Version"] is None:
            del doc["Version"]
        cmd = script(case, "proc.sh", stdout=json.dumps(doc))
    else:
        del doc[rng.choice(["AccessKeyId", "SecretAccessKey"])]
        cmd = script(case, "proc.sh", stdout=json.dumps(doc))
    if rng.random() < 0.3:
        cmd += " --profile 'quoted arg' \"x y\""
    p, target = names(rng, 2)
    if shape == "own":
        case.conf(p, ("credential_process", cmd))
    elif shape == "own-credentials-file":
        case.creds(p, ("credential_process", cmd))
    elif shape == "with-config-keys":  # the process comes before the config file's keys
        case.conf(p, ("credential_process", cmd))
        static_keys(case, rng, p, "config")
    elif shape == "with-credentials-keys":  # the credentials file's keys come first
        case.conf(p, ("credential_process", cmd))
        static_keys(case, rng, p, "credentials")
    else:
        case.conf(target, ("credential_process", cmd))
        case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", target))
    case.note = f"{outcome} {shape}"
    select(case, rng, p)
    region(case, rng, p)
    sts_endpoint(case, rng, p)


def build_process_missing(case: Case, rng: random.Random, i: int) -> None:
    """credential_process naming a program that does not exist."""
    p = rng.choice(NAMES)
    case.conf(p, ("credential_process", "{home}/bin/no-such-program --flag"))
    case.differences.append("process-not-found")
    select(case, rng, p)


def build_web_identity(case: Case, rng: random.Random, i: int) -> None:
    """Web identity from the profile or the environment; as the profile's provider or a source."""
    token = rng.choice(["eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.sig", "eyJ0eXAi.payload.sig\n"])
    case.files["tokens/web-token"] = token
    shape = rotate(i, ["profile", "profile", "env", "env-with-profile-flag", "as-source",
                        "no-role-arn", "missing-file", "denied"])
    p, s = names(rng, 2)
    session = [("role_session_name", "web-sess")] if rng.random() < 0.4 else []
    path = "{home}/tokens/web-token"
    if shape in ("profile", "missing-file", "denied"):
        role = "denied-web" if shape == "denied" else None
        file_path = "{home}/tokens/absent" if shape == "missing-file" else path
        case.conf(p, ("web_identity_token_file", file_path), ("role_arn", role_arn(rng, role)), *session)
    elif shape in ("env", "env-with-profile-flag"):
        case.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = path
        case.env["AWS_ROLE_ARN"] = role_arn(rng)
        if session:
            case.env["AWS_ROLE_SESSION_NAME"] = "env-sess"
        static_keys(case, rng, p)  # with --profile the env is ignored and these keys are used
    elif shape == "as-source":
        case.conf(s, ("web_identity_token_file", path), ("role_arn", role_arn(rng)), *session)
        case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", s))
    else:
        case.conf(p, ("web_identity_token_file", path), *session)
    if shape == "missing-file":
        case.differences.append("token-file-missing")
    case.note = shape
    selected: str | None = p
    if shape == "env-with-profile-flag":
        case.argv += ["--profile", p]
    elif shape == "env":
        if rng.random() < 0.5:
            case.env["AWS_PROFILE"] = p
        else:
            selected = None  # the implicit default profile, which does not exist
    else:
        select(case, rng, p)
    # Without a region the unsigned web identity call still works in botocore.
    if i % 6 == 1:
        case.note += " no-region"
    else:
        region(case, rng, selected)
    sts_endpoint(case, rng, selected)


def build_env(case: Case, rng: random.Random, i: int) -> None:
    """Environment credentials against profiles selected by `--profile` or AWS_PROFILE."""
    p, s = names(rng, 2)
    shape = rotate(i, ["keys", "keys-token", "both-tokens", "partial", "expiration",
                        "empty-id", "secret-only"])
    if shape not in ("empty-id", "secret-only"):
        case.env["AWS_ACCESS_KEY_ID"] = key_id(rng)
    if shape == "empty-id":
        case.env["AWS_ACCESS_KEY_ID"] = ""
    if shape != "partial":
        case.env["AWS_SECRET_ACCESS_KEY"] = secret(rng)
    if shape == "keys-token":
        case.env[rng.choice(["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])] = "envtok" + secret(rng)[:12]
    if shape == "both-tokens":  # AWS_SECURITY_TOKEN is read first; an empty one is skipped
        case.env["AWS_SECURITY_TOKEN"] = rng.choice(["", "security-tok"])
        case.env["AWS_SESSION_TOKEN"] = "session-tok"
    if shape == "expiration":
        case.env["AWS_SESSION_TOKEN"] = "envtok"
        case.env["AWS_CREDENTIAL_EXPIRATION"] = rng.choice(["2099-01-01T00:00:00Z", "2098-02-03T04:05:06+01:00"])
    # The profile the selection names: a role (assumed only when env keys are not used).
    static_keys(case, rng, s)
    case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", s))
    how = rng.choice(["flag", "env", "none"])
    if how == "flag":
        case.argv += ["--profile", p]
    elif how == "env":
        case.env["AWS_PROFILE"] = p
    case.note = f"{shape} profile-by-{how}"
    selected = None if how == "none" else p
    region(case, rng, selected)
    sts_endpoint(case, rng, selected)


def build_selection(case: Case, rng: random.Random, i: int) -> None:
    """Which profile is used: missing profiles, AWS_PROFILE vs AWS_DEFAULT_PROFILE, implicit
    default, nothing configured (no credentials, or IMDS last)."""
    p, q = names(rng, 2)
    shape = rotate(i, ["missing-flag", "missing-env", "missing-default-env", "both-env",
                        "both-env-same", "implicit-default-absent", "nothing", "default-vs-profile-default"])
    static_keys(case, rng, p)
    static_keys(case, rng, q)
    if shape == "missing-flag":
        case.argv += ["--profile", "nosuch"]
    elif shape == "missing-env":
        case.env["AWS_PROFILE"] = "nosuch"
    elif shape == "missing-default-env":
        case.env["AWS_DEFAULT_PROFILE"] = "nosuch"
    elif shape == "both-env":
        case.env["AWS_PROFILE"] = p
        case.env["AWS_DEFAULT_PROFILE"] = q
        case.differences.append("v2-profile-env-precedence")
    elif shape == "both-env-same":
        case.env["AWS_PROFILE"] = p
        case.env["AWS_DEFAULT_PROFILE"] = p
    elif shape == "default-vs-profile-default":  # both spellings of default: the later wins
        case.conf("default", ("aws_access_key_id", key_id(rng)), ("aws_secret_access_key", secret(rng)))
        case.config.append(("profile default", [("aws_access_key_id", key_id(rng)), ("aws_secret_access_key", secret(rng))]))
    elif shape == "nothing":
        case.config.clear()
        case.credentials.clear()
    case.imds_mode = rng.choice(["disabled", "disabled", "ok"])
    case.note = shape


def build_endpoint(case: Case, rng: random.Random, i: int) -> None:
    """The STS endpoint overrides and the region of the credential STS client."""
    p, s = names(rng, 2)
    static_keys(case, rng, s)
    case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", s))
    select(case, rng, p)
    region(case, rng, p, allow_none=True)
    sts_endpoint(case, rng, p)


def build_imds_region(case: Case, rng: random.Random, i: int) -> None:
    """No region anywhere: v2 asks the instance metadata service for the region of every
    credential STS client it creates (one lookup per hop), in each IMDS mode; or IMDS has no
    zone, and there is no region."""
    shape = rotate(i, ["chain-1", "chain-2", "chain-3", "web-identity", "web-as-source", "v1",
                        "v2-only", "no-role", "no-zone", "no-zone-web"])
    case.imds_mode = {"v1": "v1", "v2-only": "v2-only", "no-role": "no-role"}.get(shape, "ok")
    if shape.startswith("no-zone"):
        case.imds_zone = None
    if shape.startswith("web") or shape == "no-zone-web":
        case.files["tokens/web-token"] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.sig"
        p, s = names(rng, 2)
        web = [("web_identity_token_file", "{home}/tokens/web-token"), ("role_arn", role_arn(rng))]
        if shape == "web-as-source":
            case.conf(s, *web)
            case.conf(p, *role_keys(rng, allow_invalid=False), ("source_profile", s))
        else:
            case.conf(p, *web)
        chain = [p]
    else:
        depth = {"chain-2": 2, "chain-3": 3}.get(shape, 1)
        chain = names(rng, depth + 1)
        static_keys(case, rng, chain[-1], "credentials")
        for k in range(depth - 1, -1, -1):
            case.conf(chain[k], *role_keys(rng, allow_invalid=False), ("source_profile", chain[k + 1]))
    select(case, rng, chain[0])
    case.region_choice = "none"
    sts_endpoint(case, rng, chain[0])
    case.differences.append("v2-imds-region")
    case.note = f"imds-region {shape}"


BUILDERS = {
    "static": (build_static, 30),
    "partial": (build_partial, 18),
    "role-chain": (build_role_chain, 50),
    "role-denied": (build_role_denied, 8),
    "self-reference": (build_self_reference, 16),
    "cycle": (build_cycle, 14),
    "source-errors": (build_source_errors, 24),
    "credential-source": (build_credential_source, 30),
    "process": (build_process, 40),
    "process-missing": (build_process_missing, 3),
    "web-identity": (build_web_identity, 30),
    "env": (build_env, 26),
    "selection": (build_selection, 20),
    "endpoint": (build_endpoint, 16),
    "imds-region": (build_imds_region, 20),
}


def make_case(kind: str, index: int) -> Case:
    """The case `<kind>-<index>` (deterministic in SEED)."""
    case_id = f"{kind}-{index:03d}"
    rng = random.Random(f"{SEED}:{case_id}")
    case = Case(case_id=case_id, kind=kind)
    BUILDERS[kind][0](case, rng, index)
    case.note = case.note.strip()
    return case


def all_cases() -> list[Case]:
    """The whole corpus, in a stable order."""
    return [make_case(kind, i) for kind, (_, n) in BUILDERS.items() for i in range(n)]
