"""The unmodified aws CLI (awscli 1.45.11) against `awsid serve`'s default world: every seed
configuration example that uses STS, IMDS or container credentials, verbatim, and the
service's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serve_fixtures import (
    ACCOUNT,
    DEFAULT_KEY,
    ECS_TOKEN,
    FCZIB_TOKEN,
    IQOJ_TOKEN,
    OPTIONAL_INSTANCE,
    USER1_KEY,
    caller_identity,
    run_aws,
    served,  # noqa: F401  (fixture)
    served_expired,  # noqa: F401  (fixture)
    stop_server,
    start_server,
    write_aws_files,
)

USER1_ARN = f"arn:aws:iam::{ACCOUNT}:user/user1"
DEFAULT_USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/defaultuser"
# The reference here is awscli v1, which exits 255 on a service error (v2 exits 254).
SERVICE_ERROR_EXIT = 255


def assumed(role: str, session: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


# ---------------------------------------------------------------- seed 004, files verbatim


def test_seed004_long_term_credentials_files(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config="[default]\nregion=us-west-2\noutput=json\n\n[profile user1]\nregion=us-east-1\noutput=text\n",
        credentials=(
            "[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n"
            "[user1]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\n"
            "aws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"
        ),
    )
    env = served.client_env(home)
    doc = caller_identity(aws_bin, env)
    assert doc == {"UserId": "AIDADEFAULTEXAMPLE001", "Account": ACCOUNT, "Arn": DEFAULT_USER_ARN}
    assert caller_identity(aws_bin, env, "--profile", "user1")["Arn"] == USER1_ARN
    # The profile's own output format (text) is honoured.
    r = run_aws(aws_bin, env, "sts", "get-caller-identity", "--profile", "user1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [ACCOUNT, USER1_ARN, "AIDAUSER1EXAMPLE00001"]


def test_seed004_short_term_credentials_files(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config="[default]\nregion=us-west-2\noutput=json\n\n[profile user1]\nregion=us-east-1\noutput=text\n",
        credentials=(
            "[default]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
            f"aws_session_token = {IQOJ_TOKEN}\n\n"
            "[user1]\naws_access_key_id=ASIAI44QH8DHBEXAMPLE\n"
            "aws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"
            f"aws_session_token = {FCZIB_TOKEN}\n"
        ),
    )
    env = served.client_env(home)
    assert caller_identity(aws_bin, env)["Arn"] == DEFAULT_USER_ARN
    assert caller_identity(aws_bin, env, "--profile", "user1")["Arn"] == USER1_ARN


def test_seed004_iam_role_files(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config=(
            "[default]\nregion=us-west-2\noutput=json\n\n"
            "[profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n"
            "source_profile=default\nrole_session_name=session_user1\nregion=us-east-1\noutput=text\n"
        ),
        credentials=(
            "[default]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
            f"aws_session_token = {IQOJ_TOKEN}\n"
        ),
    )
    doc = caller_identity(aws_bin, served.client_env(home), "--profile", "user1")
    assert doc["Arn"] == assumed("user1role", "session_user1", "777788889999")
    assert doc["UserId"] == "AROAUSER1ROLEEXAMPLE1:session_user1"
    assert doc["Account"] == "777788889999"


def test_seed004_instance_metadata_files(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config=(
            "[default]\nrole_arn=arn:aws:iam::123456789012:role/defaultrole\n"
            "credential_source=Ec2InstanceMetadata\nregion=us-west-2\noutput=json\n\n"
            "[profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n"
            "credential_source=Ec2InstanceMetadata\nregion=us-east-1\noutput=text\n"
        ),
    )
    env = served.imds_env(home)
    assert caller_identity(aws_bin, env)["Arn"].startswith(assumed("defaultrole", "botocore-session-"))
    assert caller_identity(aws_bin, env, "--profile", "user1")["Arn"].startswith(
        assumed("user1role", "botocore-session-", "777788889999")
    )


def configure_set(aws_bin: Path, env: dict, *pairs: tuple[str, str]) -> None:
    for key, value in pairs:
        r = run_aws(aws_bin, env, "configure", "set", key, value)
        assert r.returncode == 0, r.stderr


def test_seed004_wizard_short_term(served, aws_bin: Path, home: Path):
    # `aws configure` (keys, region, output) then `aws configure set aws_session_token fcZib…`.
    env = served.client_env(home)
    r = run_aws(
        aws_bin,
        env,
        "configure",
        stdin=f"{DEFAULT_KEY[0]}\n{DEFAULT_KEY[1]}\nus-west-2\njson\n",
    )
    assert r.returncode == 0, r.stderr
    configure_set(aws_bin, env, ("aws_session_token", FCZIB_TOKEN))
    assert caller_identity(aws_bin, env)["Arn"] == DEFAULT_USER_ARN


def test_seed004_wizard_long_term_then_role(served, aws_bin: Path, home: Path):
    env = served.client_env(home)
    r = run_aws(aws_bin, env, "configure", stdin=f"{DEFAULT_KEY[0]}\n{DEFAULT_KEY[1]}\nus-west-2\njson\n")
    assert r.returncode == 0, r.stderr
    assert caller_identity(aws_bin, env)["Arn"] == DEFAULT_USER_ARN
    configure_set(
        aws_bin,
        env,
        ("role_arn", "arn:aws:iam::123456789012:role/defaultrole"),
        ("source_profile", "default"),
        ("role_session_name", "session_user1"),
        ("region", "us-west-2"),
        ("output", "json"),
    )
    assert caller_identity(aws_bin, env)["Arn"] == assumed("defaultrole", "session_user1")


def test_seed004_wizard_instance_metadata(served, aws_bin: Path, home: Path):
    env = served.imds_env(home)
    configure_set(
        aws_bin,
        env,
        ("role_arn", "arn:aws:iam::123456789012:role/defaultrole"),
        ("credential_source", "Ec2InstanceMetadata"),
        ("region", "us-west-2"),
        ("output", "json"),
    )
    assert caller_identity(aws_bin, env)["Arn"].startswith(assumed("defaultrole", "botocore-session-"))


# ---------------------------------------------------------------- seeds 000, 001, 002


def test_seed001_marketingadmin_from_user1(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config="[default]\nregion = us-west-2\n",
        credentials=(
            f"[user1]\naws_access_key_id = {USER1_KEY[0]}\naws_secret_access_key = {USER1_KEY[1]}\n\n"
            "[marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n"
            "source_profile = user1\n"
        ),
    )
    # The seed sets no region for these profiles.
    env = served.client_env(home, AWS_DEFAULT_REGION="us-west-2")
    doc = caller_identity(aws_bin, env, "--profile", "marketingadmin")
    assert doc["Arn"].startswith(assumed("marketingadminrole", "botocore-session-"))
    assert doc["UserId"].startswith("AROAMARKETINGADMIN001:botocore-session-")
    # AWS_PROFILE works the same way.
    env2 = dict(env, AWS_PROFILE="marketingadmin")
    assert caller_identity(aws_bin, env2)["Arn"].startswith(assumed("marketingadminrole", ""))


def test_seed000_marketingadmin_from_instance_metadata(served, aws_bin: Path, home: Path):
    write_aws_files(
        home,
        config=(
            "[profile marketingadmin]\n"
            "role_arn = arn:aws:iam::123456789012:role/marketingadminrole\n"
            "credential_source = Ec2InstanceMetadata\n"
            "region = us-west-2\n"
        ),
    )
    doc = caller_identity(aws_bin, served.imds_env(home), "--profile", "marketingadmin")
    assert doc["Arn"].startswith(assumed("marketingadminrole", "botocore-session-"))


def test_seed002_instance_role_is_the_default_credential(served, aws_bin: Path, home: Path):
    # No profile, no keys: the CLI falls through to instance metadata.
    env = served.imds_env(home, AWS_DEFAULT_REGION="us-west-2")
    doc = caller_identity(aws_bin, env)
    assert doc["Arn"] == assumed("my-instance-profile", OPTIONAL_INSTANCE)
    assert doc["UserId"] == f"AROAINSTANCEEXAMPLE01:{OPTIONAL_INSTANCE}"


def test_ecs_container_credentials(served, aws_bin: Path, home: Path):
    env = served.client_env(
        home,
        AWS_DEFAULT_REGION="us-west-2",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=served.ecs_url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN=ECS_TOKEN,
    )
    doc = caller_identity(aws_bin, env)
    assert doc["Arn"] == assumed("ecs-task-role", "0f3c5e7a9b1d4c2e8a6f4b2d0c9e7a51")
    # A wrong token: the container provider fails and the chain stops with an error.
    bad = dict(env, AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
    r = run_aws(aws_bin, bad, "sts", "get-caller-identity")
    assert r.returncode != 0


def test_web_identity_with_minted_token(served, aws_bin: Path, awsid_bin: Path, home: Path):
    import subprocess

    token = subprocess.run(
        [str(awsid_bin), "mint-web-identity-token", "--sub", "system:serviceaccount:default:app"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token_file = home / "token"
    token_file.write_text(token)  # with the trailing newline, as token files may have
    env = served.client_env(
        home,
        AWS_DEFAULT_REGION="us-west-2",
        AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/web-identity-role",
        AWS_ROLE_SESSION_NAME="web-session",
    )
    assert caller_identity(aws_bin, env)["Arn"] == assumed("web-identity-role", "web-session")


# ---------------------------------------------------------------- assume-role command and refusals


def long_term_env(served, home: Path, key=USER1_KEY, **extra) -> dict:
    return served.client_env(
        home,
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION="us-west-2",
        **extra,
    )


def assume_role(aws_bin, env, role: str, *extra: str) -> tuple[int, dict | None, str]:
    r = run_aws(
        aws_bin,
        env,
        "sts",
        "assume-role",
        "--output",
        "json",
        "--role-arn",
        f"arn:aws:iam::123456789012:role/{role}" if not role.startswith("arn:") else role,
        "--role-session-name",
        "cli-session",
        *extra,
    )
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


def test_assume_role_command(served, aws_bin: Path, home: Path):
    code, doc, err = assume_role(aws_bin, long_term_env(served, home), "marketingadminrole")
    assert code == 0, err
    assert doc["AssumedRoleUser"]["Arn"] == assumed("marketingadminrole", "cli-session")
    creds = doc["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    # The returned credentials work.
    env = served.client_env(
        home,
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
        AWS_DEFAULT_REGION="us-west-2",
    )
    assert caller_identity(aws_bin, env)["Arn"] == assumed("marketingadminrole", "cli-session")


@pytest.mark.parametrize(
    "role, extra, code, message",
    [
        # trust mismatch: the instance role trusts only ec2.amazonaws.com
        (
            "my-instance-profile",
            (),
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/user1 is not authorized to perform: "
            "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/my-instance-profile",
        ),
        ("mfarole", (), "AccessDenied", "is not authorized to perform: sts:AssumeRole"),
        ("thirdpartyrole", ("--external-id", "wrong-id"), "AccessDenied", "is not authorized"),
        ("thirdpartyrole", (), "AccessDenied", "is not authorized"),
        (
            "defaultrole",
            ("--duration-seconds", "7200"),
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ),
    ],
)
def test_assume_role_refusals(served, aws_bin: Path, home: Path, role, extra, code, message):
    rc, _, err = assume_role(aws_bin, long_term_env(served, home), role, *extra)
    assert rc == SERVICE_ERROR_EXIT, err
    assert f"({code})" in err, err
    assert message in err, err


def test_external_id_accepted(served, aws_bin: Path, home: Path):
    rc, doc, err = assume_role(
        aws_bin, long_term_env(served, home), "thirdpartyrole", "--external-id", "awsid-example-external-id"
    )
    assert rc == 0, err


def test_chained_role_over_one_hour(served, aws_bin: Path, home: Path):
    env = served.client_env(
        home,
        AWS_ACCESS_KEY_ID="ASIAI44QH8DHBEXAMPLE",
        AWS_SECRET_ACCESS_KEY=USER1_KEY[1],
        AWS_SESSION_TOKEN=FCZIB_TOKEN,
        AWS_DEFAULT_REGION="us-west-2",
    )
    rc, _, err = assume_role(aws_bin, env, "marketingadminrole", "--duration-seconds", "7200")
    assert rc == SERVICE_ERROR_EXIT
    assert "(ValidationError)" in err
    assert "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." in err
    rc, _, err = assume_role(aws_bin, env, "marketingadminrole", "--duration-seconds", "3600")
    assert rc == 0, err


def test_unknown_key_and_wrong_secret(served, aws_bin: Path, home: Path):
    env = long_term_env(served, home, key=("AKIAUNKNOWNEXAMPLE01", "x" * 40))
    r = run_aws(aws_bin, env, "sts", "get-caller-identity")
    assert r.returncode == SERVICE_ERROR_EXIT
    assert "(InvalidClientTokenId)" in r.stderr
    assert "The security token included in the request is invalid." in r.stderr
    env = long_term_env(served, home, key=(USER1_KEY[0], "y" * 40))
    r = run_aws(aws_bin, env, "sts", "get-caller-identity")
    assert r.returncode == SERVICE_ERROR_EXIT
    assert "(SignatureDoesNotMatch)" in r.stderr


def test_expired_session(served_expired, aws_bin: Path, home: Path):
    env = served_expired.client_env(
        home,
        AWS_ACCESS_KEY_ID="ASIAEXPIREDEXAMPLE01",
        AWS_SECRET_ACCESS_KEY="expiredSecretExampleKeyEXAMPLEKEYEXAMPLE",
        AWS_SESSION_TOKEN="expiredSessionTokenExample",
        AWS_DEFAULT_REGION="us-west-2",
    )
    r = run_aws(aws_bin, env, "sts", "get-caller-identity")
    assert r.returncode == SERVICE_ERROR_EXIT
    assert "(ExpiredToken)" in r.stderr
    assert "The security token included in the request is expired" in r.stderr


def test_serve_prints_endpoints_and_stops_on_sigterm(awsid_bin: Path, tmp_path: Path):
    s = start_server(awsid_bin, tmp_path / "own")
    assert f"export AWS_ENDPOINT_URL_STS=http://{s.api}/" in s.stdout_text
    assert f"export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{s.imds[OPTIONAL_INSTANCE]}/" in s.stdout_text
    assert f"export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{s.ecs}/credentials" in s.stdout_text
    assert "[profile marketingadmin]" in s.stdout_text
    assert stop_server(s) == 0
    assert not (tmp_path / "own" / "ready.json").exists()
