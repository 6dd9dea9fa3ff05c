"""Shared fixtures for the Python suites: the awsid binary, the reference aws CLI, clean
environments and throw-away homes.

`./scripts/test` sets AWSID_BIN and puts the pinned aws CLI (awscli 1.45.11) first on PATH;
run directly, the defaults below find the debug build and whatever `aws` is on PATH, and the
suites fail (never skip) when a piece is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_AWS_VERSION = "aws-cli/1.45.11"
# The second runnable reference: Debian's `awscli` package (v2), installed by scripts/test.
AWS_V2_BIN = Path(os.environ.get("AWSID_AWS_V2", "/usr/bin/aws"))
REFERENCE_AWS_V2_VERSION = "aws-cli/2.9.19"

# Variables that change what the aws CLI or awsid do; removed from every child environment so
# that the developer's own settings never leak into a comparison.
_SCRUBBED_PREFIXES = ("AWS_", "BOTO_", "_AWS_")


def awsid_bin_path() -> Path:
    """The awsid binary under test (AWSID_BIN, default target/debug/awsid); fails if absent."""
    path = Path(os.environ.get("AWSID_BIN", REPO / "target" / "debug" / "awsid"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"awsid binary not found at {path}: build it (cargo build -p awsid) or set AWSID_BIN",
            pytrace=False,
        )
    return path


def aws_bin_path() -> Path:
    """The reference aws CLI on PATH; fails unless it is the pinned awscli 1.45.11."""
    found = shutil.which("aws")
    if found is None:
        pytest.fail("the reference 'aws' CLI is not on PATH (run ./scripts/test)", pytrace=False)
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, env=clean_env(Path("/nonexistent"))
    )
    text = (version.stdout + version.stderr).strip()
    if not text.startswith(REFERENCE_AWS_VERSION):
        pytest.fail(
            f"'aws' on PATH ({found}) is {text!r}, expected {REFERENCE_AWS_VERSION}",
            pytrace=False,
        )
    return Path(found)


def aws_v2_bin_path() -> Path:
    """Debian's aws CLI v2 (AWSID_AWS_V2, default /usr/bin/aws); fails unless it is 2.9.19."""
    path = AWS_V2_BIN
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"the v2 reference {path} is missing: apt-get install awscli (./scripts/test does)",
                    pytrace=False)
    version = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             env=clean_env(Path("/nonexistent")))
    text = (version.stdout + version.stderr).strip()
    if not text.startswith(REFERENCE_AWS_V2_VERSION):
        pytest.fail(f"{path} is {text!r}, expected {REFERENCE_AWS_V2_VERSION}", pytrace=False)
    return path


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A child environment with HOME=home, no AWS_* settings from the caller, no metadata service
    (AWS_EC2_METADATA_DISABLED=true), no pager, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env["HOME"] = str(home)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_PAGER"] = ""
    env["LC_ALL"] = "C.UTF-8"
    env.update(extra)
    return env


def conformance_dir_path() -> Path:
    """The conformance vectors (tests/conformance, or AWSID_CONFORMANCE_DIR); fails if absent."""
    path = Path(os.environ.get("AWSID_CONFORMANCE_DIR", REPO / "tests" / "conformance"))
    if not path.is_dir():
        pytest.fail(
            f"CONFORMANCE VECTORS NOT FOUND at {path}: set AWSID_CONFORMANCE_DIR", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def awsid_bin() -> Path:
    """Path of the awsid binary under test."""
    return awsid_bin_path()


@pytest.fixture(scope="session")
def aws_bin() -> Path:
    """Path of the pinned reference aws CLI."""
    return aws_bin_path()


@pytest.fixture(scope="session")
def aws_v2_bin() -> Path:
    """Path of the v2 reference (Debian's aws CLI 2.9.19)."""
    return aws_v2_bin_path()


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Directory of the shared conformance vectors."""
    return conformance_dir_path()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A throw-away HOME directory (empty, with no ~/.aws)."""
    h = tmp_path / "home"
    h.mkdir()
    return h
