"""`awsid completion bash` in a real interactive bash through a pseudo-terminal: the script is
sourced, then TAB completes subcommands, options and profile names — the names read from the
shared files the environment of the shell selects at that moment (`AWS_CONFIG_FILE`,
`AWS_SHARED_CREDENTIALS_FILE`, `HOME`). Each completed line is then run, so the test sees the
exact words completion produced (a wrong completion runs a wrong command).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pexpect
import pytest

PROMPT = "PROMPT> "
ANSI = re.compile(r"\x1b\[[?0-9;]*[A-Za-z]")

CONFIG = """[default]
region = eu-north-1

[profile marketingadmin]
region = us-west-2

[profile mobile-team]
region = ap-southeast-2

[sso-session corporate]
sso_region = us-east-1
sso_start_url = https://example.awsapps.com/start
"""
CREDENTIALS = "[credsonly]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n"
OTHER_CONFIG = "[profile otherfile]\nregion = sa-east-1\n"


@pytest.fixture
def bash(awsid_bin, tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(CONFIG)
    (home / ".aws" / "credentials").write_text(CREDENTIALS)
    (tmp_path / "other-config").write_text(OTHER_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(HOME=str(home), PS1=PROMPT, TERM="dumb", LC_ALL="C.UTF-8", INPUTRC="/dev/null",
               PATH=f"{Path(awsid_bin).parent}:{env['PATH']}", AWS_EC2_METADATA_DISABLED="true")
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env, cwd=str(tmp_path),
                          encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect_exact(PROMPT)
    child.sendline("source <(awsid completion bash) && echo sourced-ok")
    child.expect_exact("sourced-ok")
    child.expect_exact(PROMPT)
    yield child, tmp_path
    child.sendline("exit")
    child.expect(pexpect.EOF)


def run_line(child, typed: str) -> str:
    """Types `typed` (TABs included), presses Enter, returns what the command printed."""
    child.send(typed)
    child.send("\r")
    child.expect_exact(PROMPT)
    out = ANSI.sub("", child.before).replace("\r\n", "\n").replace("\r", "")
    return out.split("\n", 1)[1] if "\n" in out else ""


def test_subcommands_and_options_complete(bash):
    child, _ = bash
    # `conf<TAB>` -> configure, `list-p<TAB>` -> list-profiles: the command runs.
    out = run_line(child, "awsid conf\tlist-p\t")
    assert out.split() == ["default", "marketingadmin", "mobile-team", "credsonly"], out
    # `--prof<TAB>` -> --profile, `mark<TAB>` -> marketingadmin (from ~/.aws/config).
    out = run_line(child, "awsid configure get region --prof\tmark\t")
    assert out.strip() == "us-west-2", out


def test_profile_names_follow_the_environment(bash):
    child, tmp = bash
    out = run_line(child, "awsid configure get region --profile mo\t")
    assert out.strip() == "ap-southeast-2", out
    out = run_line(child, "awsid configure get region --profile creds\t; echo done")
    assert out.strip() == "done", out  # credsonly (credentials file) has no region: nothing printed
    run_line(child, f"export AWS_CONFIG_FILE={tmp}/other-config")
    out = run_line(child, "awsid configure get region --profile oth\t")
    assert out.strip() == "sa-east-1", out
    # Listing every candidate (TAB TAB): the names of the files now selected.
    child.send("awsid configure get region --profile \t\t")
    child.expect_exact("credsonly")
    listing = ANSI.sub("", child.before)
    assert "otherfile" in listing and "marketingadmin" not in listing, listing
    child.sendcontrol("c")
    child.expect_exact(PROMPT)


def test_sso_session_names_complete(bash):
    child, _ = bash
    out = run_line(child, "awsid configure get sso_start_url --sso-session \t")
    assert out.strip() == "https://example.awsapps.com/start", out
    child.send("awsid sso login --sso-session \t")
    child.expect_exact("corporate ")
    child.sendcontrol("c")
    child.expect_exact(PROMPT)


def test_scripts_for_zsh_and_fish_register_the_completer(awsid_bin):
    import subprocess

    for shell, needle in (("zsh", "compdef"), ("fish", "complete --keep-order")):
        out = subprocess.run([str(awsid_bin), "completion", shell], capture_output=True, text=True, check=True).stdout
        assert needle in out and "_AWSID_COMPLETE" in out, (shell, out)
    bad = subprocess.run([str(awsid_bin), "completion", "tcsh"], capture_output=True, text=True)
    assert bad.returncode == 252 and "tcsh" in bad.stderr
