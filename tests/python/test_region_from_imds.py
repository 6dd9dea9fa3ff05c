"""v2's last region source, instance metadata, against `awsid serve`: a role profile with no
region configured gets its region from the IMDS of the served instance
(`placement/availability-zone`, `us-west-2a` in the default world), in awsid and in the real
v2 binary (Debian's 2.9.19, which has the same lookup: `awscli/utils.py`
`IMDSRegionProvider`), while v1 (which has no such source) fails.

Seed 001's files are used verbatim: they set no region, so under v2 they work only because of
this lookup. 2.9.19 ignores `AWS_ENDPOINT_URL_STS` (2.13.0), so its STS calls reach `awsid
serve` through `tls_intercept.ForwardingProxy` (its own endpoint logic picks
`sts.us-west-2.amazonaws.com` from the IMDS region: the proxy shows it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tls_intercept import ForwardingProxy
from serve_fixtures import (
    ACCOUNT,
    USER1_KEY,
    served,  # noqa: F401  (fixture)
    write_aws_files,
)

SEED001_CREDENTIALS = (
    f"[user1]\naws_access_key_id = {USER1_KEY[0]}\naws_secret_access_key = {USER1_KEY[1]}\n\n"
    "[marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n"
    "source_profile = user1\n"
)
ROLE_ARN_PREFIX = f"arn:aws:sts::{ACCOUNT}:assumed-role/marketingadminrole/botocore-session-"


def run(program: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(program), *args], env=env, capture_output=True, text=True, timeout=120)


def test_role_profile_takes_its_region_from_serves_imds(served, awsid_bin: Path, aws_v2_bin: Path,
                                                        aws_bin: Path, home: Path):
    write_aws_files(home, config="", credentials=SEED001_CREDENTIALS)
    env = served.imds_env(home)  # STS and IMDS of awsid serve, no region anywhere
    with ForwardingProxy(served.api) as proxy:
        v2_env = {**env, **proxy.client_env()}
        for program, penv in ((awsid_bin, env), (aws_v2_bin, v2_env)):
            r = run(program, penv, "sts", "get-caller-identity", "--profile", "marketingadmin", "--output", "json")
            assert r.returncode == 0, (program, r.stderr)
            assert json.loads(r.stdout)["Arn"].startswith(ROLE_ARN_PREFIX), (program, r.stdout)
            r = run(program, penv, "configure", "export-credentials", "--profile", "marketingadmin")
            assert r.returncode == 0, (program, r.stderr)
            assert json.loads(r.stdout)["AccessKeyId"].startswith("ASIA")
        # configure list shows where the region came from (type `imds`, empty location).
        r = run(awsid_bin, env, "configure", "list", "--profile", "marketingadmin")
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith(f"{'region':<10} : {'us-west-2':<24} : {'imds':<16} : \n"), r.stdout
        r = run(aws_v2_bin, v2_env, "configure", "list", "--profile", "marketingadmin")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[-1].split() == ["region", "us-west-2", "imds"], r.stdout
    assert proxy.refused == []
    hosts = {host for host, _, _ in proxy.forwarded}
    assert hosts == {"sts.us-west-2.amazonaws.com"}, proxy.forwarded
    # v1 never asks IMDS for a region: with a custom STS endpoint it cannot sign.
    r = run(aws_bin, env, "sts", "get-caller-identity", "--profile", "marketingadmin")
    assert r.returncode == 255 and "You must specify a region." in r.stderr, r.stderr


def test_without_imds_there_is_no_region(served, awsid_bin: Path, home: Path):
    write_aws_files(home, config="", credentials=SEED001_CREDENTIALS)
    env = served.client_env(home)  # AWS_EC2_METADATA_DISABLED=true
    # The command client of `sts get-caller-identity` has no region: NoRegionError (253).
    r = run(awsid_bin, env, "sts", "get-caller-identity", "--profile", "marketingadmin")
    assert (r.returncode, r.stderr) == (
        253,
        "\nawsid: [ERROR]: An error occurred (NoRegion): You must specify a region. "
        "You can also configure your region by running \"aws configure\".\n",
    )
    # export-credentials: the deferred AssumeRole fails to sign, unwrapped like v2 (253).
    r = run(awsid_bin, env, "configure", "export-credentials", "--profile", "marketingadmin")
    assert r.returncode == 253, r.stderr
    assert r.stderr.startswith("\nawsid: [ERROR]: An error occurred (NoRegion): You must specify a region."), r.stderr
    # (2.9.19 cannot be compared here: without AWS_ENDPOINT_URL_STS, added in 2.13.0, it uses
    # the global endpoint, which needs no region.)


def test_unreachable_imds_means_no_region(served, awsid_bin: Path, home: Path):
    write_aws_files(home, config="", credentials=SEED001_CREDENTIALS)
    env = served.client_env(home, AWS_EC2_METADATA_DISABLED="false",
                            AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:1/")
    r = run(awsid_bin, env, "sts", "get-caller-identity", "--profile", "marketingadmin")
    assert r.returncode == 253 and "(NoRegion)" in r.stderr, r.stderr
    # With IMDSv1 disabled, a failed token request is an error of the lookup itself (v2.15.1+).
    env["AWS_EC2_METADATA_V1_DISABLED"] = "true"
    r = run(awsid_bin, env, "sts", "get-caller-identity", "--profile", "marketingadmin")
    assert (r.returncode, r.stderr) == (
        255,
        "\nawsid: [ERROR]: Error retrieving metadata: Unable to retrieve token for use in IMDSv2 call "
        "and IMDSv1 has been disabled\n",
    )
