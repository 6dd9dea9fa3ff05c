"""The world console (`/console/world` of `awsid serve`, issue 12) in headless Chromium (Debian's,
driven over the DevTools pipe by chromium_cdp.py).

The administrator first changes the world through the APIs with the unmodified aws CLI (a role
with an EC2 trust policy and an inline policy, an instance profile, an instance launched with
it whose metadata options are then changed); on that instance an IMDSv1 request is refused
and IMDSv2 hands out the role; `user1` makes one allowed call (AssumeRole of
marketingadminrole) and one denied call (iam:CreateRole). The page then shows the world —
users, roles with their trust and permission policies (Identity Center's reserved roles with
their permission set's policy), instance profiles, the instance with its IMDS address and
options, Identity Center assignments — and the decision log answers "why?": caller, action,
resource, decision and the deciding statement (or that no statement allowed it). A call made
while the page is open appears in the log without a reload. No secret is on the page.
Screenshots of the world (whole page) and of the decision log are kept under
target/test-screenshots/ (paths printed)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from chromium_cdp import Chromium, png_size
from serve_fixtures import ACCOUNT, DEFAULT_KEY, USER1_KEY, run_aws, start_server, stop_server, write_aws_files

ADMIN_KEY = ("AKIAAWSIDADMIN000001", "awsidAdminSecretKeyEXAMPLEEXAMPLEKEY0001")
USER1_ARN = f"arn:aws:iam::{ACCOUNT}:user/user1"
MARKETING = f"arn:aws:iam::{ACCOUNT}:role/marketingadminrole"
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
APP_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::console-reports/*"}]})
# Rows of every table on the page, each a list of its cells' rendered text.
ROWS_JS = "[...document.querySelectorAll('tr')].map(tr => [...tr.cells].map(c => c.innerText.trim()))"


@pytest.fixture(scope="module")
def plane(awsid_bin: Path, tmp_path_factory):
    s = start_server(awsid_bin, tmp_path_factory.mktemp("console-world"))
    yield s
    stop_server(s)


def env_for(plane, home: Path, key: tuple[str, str]) -> dict:
    write_aws_files(home, config="[default]\nregion = us-west-2\n",
                    credentials=f"[default]\naws_access_key_id = {key[0]}\naws_secret_access_key = {key[1]}\n")
    return plane.client_env(home, AWS_ENDPOINT_URL=plane.sts_url)


def aws_ok(aws_bin: Path, env: dict, *args: str) -> dict:
    r = run_aws(aws_bin, env, *args, "--output", "json")
    assert r.returncode == 0, f"aws {' '.join(args)}: {r.stderr}"
    return json.loads(r.stdout) if r.stdout.strip() else {}


def row(rows: list[list[str]], first: str) -> list[str]:
    """The table row whose first cell is `first` (exactly one)."""
    found = [r for r in rows if r and r[0] == first]
    assert len(found) == 1, f"{first!r}: {found}"
    return found[0]


def log_row(rows: list[list[str]], action: str, resource: str) -> list[str]:
    """The decision-log row (#, time, action, caller, resource, outcome, why) of `action` on
    `resource` (the newest)."""
    found = [r for r in rows if len(r) == 7 and r[2] == action and r[4] == resource]
    assert found, f"no log row {action} on {resource}: {[r for r in rows if len(r) == 7]}"
    return found[0]


def test_console_world_and_decision_log_in_chromium(plane, aws_bin: Path, tmp_path: Path):
    admin = env_for(plane, tmp_path / "admin", ADMIN_KEY)
    aws_ok(aws_bin, admin, "iam", "create-role", "--role-name", "console-app",
           "--assume-role-policy-document", EC2_TRUST)
    aws_ok(aws_bin, admin, "iam", "put-role-policy", "--role-name", "console-app",
           "--policy-name", "reports", "--policy-document", APP_POLICY)
    aws_ok(aws_bin, admin, "iam", "create-instance-profile", "--instance-profile-name", "console-profile")
    aws_ok(aws_bin, admin, "iam", "add-role-to-instance-profile", "--instance-profile-name", "console-profile",
           "--role-name", "console-app")
    inst = aws_ok(aws_bin, admin, "ec2", "run-instances", "--image-id", "ami-baba68d3", "--instance-type",
                  "m1.small", "--count", "1", "--iam-instance-profile", "Name=console-profile")["Instances"][0]
    instance = inst["InstanceId"]
    aws_ok(aws_bin, admin, "ec2", "modify-instance-metadata-options", "--instance-id", instance,
           "--http-tokens", "required", "--http-put-response-hop-limit", "3")
    tags = aws_ok(aws_bin, admin, "ec2", "describe-instances", "--instance-ids", instance)
    tags = {t["Key"]: t["Value"] for t in tags["Reservations"][0]["Instances"][0]["Tags"]}
    imds = tags["awsid:imds-endpoint"]

    # On the instance: an IMDSv1 request refused (HttpTokens=required), then IMDSv2 credentials.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{imds}latest/meta-data/instance-id", timeout=10)
    assert refused.value.code == 401
    token = urllib.request.urlopen(urllib.request.Request(
        f"{imds}latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=10).read().decode()
    creds = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{imds}latest/meta-data/iam/security-credentials/console-app",
        headers={"X-aws-ec2-metadata-token": token}), timeout=10).read())
    assert creds["Code"] == "Success"

    user1 = env_for(plane, tmp_path / "user1", USER1_KEY)
    allowed = run_aws(aws_bin, user1, "sts", "assume-role", "--role-arn", MARKETING,
                      "--role-session-name", "console-allowed")
    assert allowed.returncode == 0, allowed.stderr
    denied = run_aws(aws_bin, user1, "iam", "create-role", "--role-name", "console-denied",
                     "--assume-role-policy-document", EC2_TRUST)
    assert denied.returncode == 255 and "AccessDenied" in denied.stderr, denied.stderr

    with Chromium(tmp_path) as b:
        b.goto(f"{plane.sts_url}console/world")
        html = b.js("document.documentElement.outerHTML")
        rows = b.js(ROWS_JS)

        # The decision log: who, what, on what, the decision and why.
        ok = log_row(rows, "sts:AssumeRole", MARKETING)
        assert ok[3] == USER1_ARN and ok[5] == "allowed", ok
        assert ok[6] == "allowed by trust policy of marketingadminrole Statement[0]", ok
        no = log_row(rows, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/console-denied")
        assert no[3] == USER1_ARN and no[5] == "denied", no
        assert no[6] == "implicit deny: no statement of user/user1 inline policy policy-1 allows it", no
        # The administrator's calls are there too, allowed by AdministratorAccess.
        run = log_row(rows, "ec2:RunInstances", f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/*")
        assert run[3] == f"arn:aws:iam::{ACCOUNT}:user/admin" and run[5] == "allowed", run
        assert "AdministratorAccess" in run[6], run

        # The instance's metadata service: the refused IMDSv1 request and the role issued.
        v1 = log_row(rows, "imds:Request", "/latest/meta-data/instance-id")
        assert v1[3] == f"instance {instance}" and v1[5] == "denied", v1
        assert "HttpTokens is required" in v1[6], v1
        issued = log_row(rows, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/console-app")
        assert issued[3] == f"ec2.amazonaws.com for instance {instance}" and issued[5] == "allowed", issued
        assert issued[6].startswith("trust policy of console-app: "), issued
        for secret in (creds["SecretAccessKey"], creds["Token"]):
            assert secret not in html

        # Users: ARN, access key ids (never secrets), MFA devices, policies.
        u = row(rows, USER1_ARN)
        assert u[1:] == [USER1_KEY[0], f"arn:aws:iam::{ACCOUNT}:mfa/user1", "inline policy policy-1"], u
        assert row(rows, f"arn:aws:iam::{ACCOUNT}:user/admin")[3] == \
            "managed policy arn:aws:iam::aws:policy/AdministratorAccess"
        for secret in (USER1_KEY[1], DEFAULT_KEY[1], ADMIN_KEY[1]):
            assert secret not in html

        # Roles with their trust and permission policies, shown (not folded away).
        r = row(rows, MARKETING)
        assert "trust" in r[1] and USER1_ARN in r[1] and f"arn:aws:iam::{ACCOUNT}:role/my-instance-profile" in r[1], r
        assert "inline policy policy-1" in r[2] and '"sts:AssumeRole"' in r[2], r
        r = row(rows, f"arn:aws:iam::{ACCOUNT}:role/console-app")
        assert '"Service": "ec2.amazonaws.com"' in r[1], r
        assert "inline policy reports" in r[2] and '"Sid": "ReadReports"' in r[2] \
            and "arn:aws:s3:::console-reports/*" in r[2], r
        sso_role = [x for x in rows if x and x[0].startswith(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_readOnly_")]
        assert len(sso_role) == 1, sso_role
        assert "Identity Center" in sso_role[0][0] and '"sts:GetCallerIdentity"' in sso_role[0][2], sso_role
        assert "(not shown)" not in b.text()

        # Instance profiles and the instance: IMDS address (as the tag says) and options.
        assert row(rows, f"arn:aws:iam::{ACCOUNT}:instance-profile/console-profile")[1] == "console-app"
        i = row(rows, instance)
        assert i == [instance, "running", "console-profile → console-app", imds, "required", "3", "enabled",
                     "RunInstances"], i
        w = row(rows, "i-1234567890abcdef0")
        assert w[1:3] == ["running", "my-instance-profile → my-instance-profile"] and w[4:7] == ["optional", "2", "enabled"], w

        # Identity Center assignments: user, account, permission set → role.
        assert ["sso-user@example.com", "444455556666"] in [x[:2] for x in rows]
        assert any(x[:2] == ["sso-user@example.com", "111122223333"] and
                   x[2].startswith("readOnly → AWSReservedSSO_readOnly_") for x in rows)

        world_png = b.screenshot("console-world", full_page=True)
        b.screenshot("console-roles", selector="#roles")
        log_png = b.screenshot("console-decisions", selector="#decisions")
        assert png_size(world_png)[1] > png_size(log_png)[1] > 100
        # Nothing is cut off: the log's section needs no horizontal scrolling at 1100 px.
        assert b.js("(() => { const s = document.querySelector('#decisions');"
                    " return s.scrollWidth <= s.clientWidth; })()")

        # Live: a call made now appears without a reload (the page polls the log).
        late = run_aws(aws_bin, user1, "sts", "assume-role", "--role-arn",
                       f"arn:aws:iam::{ACCOUNT}:role/console-app", "--role-session-name", "console-late")
        assert late.returncode == 255 and "AccessDenied" in late.stderr, late.stderr
        app = f"arn:aws:iam::{ACCOUNT}:role/console-app"
        deadline = time.monotonic() + 30
        def late_rows() -> list[list[str]]:
            return [r for r in b.js(ROWS_JS)
                    if len(r) == 7 and r[2] == "sts:AssumeRole" and r[4] == app and r[3] == USER1_ARN]
        while not late_rows():
            assert time.monotonic() < deadline, "the late call never reached the page's log"
            time.sleep(0.2)
        late_row = late_rows()[0]
        assert late_row[5] == "denied", late_row
        assert late_row[6], late_row
        b.screenshot("console-decisions-live", selector="#decisions")
