"""boto3/botocore (1.43.11) against `awsid serve`: the seed credentials, role assumption with MFA
and external ids, web identity, IMDS and container credential providers, and the refusals
(each with the real service's HTTP status and error code)."""

from __future__ import annotations

import datetime
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import boto3
import botocore.auth
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from serve_fixtures import (
    ACCOUNT,
    DEFAULT_KEY,
    DEFAULT_MFA_SECRET,
    DEFAULT_MFA_SERIAL,
    ECS_CREDENTIALS_ID,
    ECS_TOKEN,
    OPTIONAL_INSTANCE,
    REQUIRED_INSTANCE,
    SHORT_DEFAULT,
    SHORT_USER1,
    USER1_KEY,
    USER1_MFA_SECRET,
    USER1_MFA_SERIAL,
    isolated_env,  # noqa: F401  (fixture, used by every test below)
    served,  # noqa: F401  (fixture)
    served_expired,  # noqa: F401  (fixture)
    totp,
)

pytestmark = pytest.mark.usefixtures("isolated_env")
ROLE = "arn:aws:iam::123456789012:role/{}"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def sts(served, key_id: str, secret: str, token: str | None = None):
    return boto3.client(
        "sts",
        region_name="us-west-2",
        endpoint_url=served.sts_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRY,
    )


def error_of(excinfo) -> tuple[int, str, str]:
    e = excinfo.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]


@pytest.mark.parametrize(
    "creds, arn",
    [
        (USER1_KEY, "arn:aws:iam::123456789012:user/user1"),
        (DEFAULT_KEY, "arn:aws:iam::123456789012:user/defaultuser"),
        (SHORT_DEFAULT, "arn:aws:iam::123456789012:user/defaultuser"),
        (SHORT_USER1, "arn:aws:iam::123456789012:user/user1"),
    ],
)
def test_get_caller_identity_with_seed_credentials(served, creds, arn):
    doc = sts(served, *creds).get_caller_identity()
    assert doc["Arn"] == arn
    assert doc["Account"] == ACCOUNT


def test_assume_role_and_use_the_session(served):
    out = sts(served, *USER1_KEY).assume_role(RoleArn=ROLE.format("marketingadminrole"), RoleSessionName="boto")
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["AssumedRoleId"] == "AROAMARKETINGADMIN001:boto"
    # Chained: the marketing session may assume defaultrole (which trusts that role).
    chained = sts(served, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).assume_role(
        RoleArn=ROLE.format("defaultrole"), RoleSessionName="chained"
    )
    who = sts(served, chained["Credentials"]["AccessKeyId"], chained["Credentials"]["SecretAccessKey"],
              chained["Credentials"]["SessionToken"]).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/defaultrole/chained"


def test_cross_account_role(served):
    out = sts(served, *SHORT_DEFAULT).assume_role(
        RoleArn="arn:aws:iam::777788889999:role/user1role", RoleSessionName="session_user1"
    )
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::777788889999:assumed-role/user1role/session_user1"


def test_mfa_role(served):
    client = sts(served, *USER1_KEY)
    with pytest.raises(ClientError) as e:
        client.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="mm")
    assert error_of(e)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        wrong = "000000" if totp(USER1_MFA_SECRET) != "000000" else "111111"
        client.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="mm",
                           SerialNumber=USER1_MFA_SERIAL, TokenCode=wrong)
    assert error_of(e) == (403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
    code = totp(USER1_MFA_SECRET, step_offset=1)
    ok = client.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="mm",
                            SerialNumber=USER1_MFA_SERIAL, TokenCode=code)
    assert ok["AssumedRoleUser"]["Arn"].endswith(":assumed-role/mfarole/mm")
    with pytest.raises(ClientError) as e:
        client.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="mm",
                           SerialNumber=USER1_MFA_SERIAL, TokenCode=code)
    assert error_of(e)[:2] == (403, "AccessDenied"), "a one-time code cannot be replayed"


def test_get_session_token_with_mfa_then_assume(served):
    # defaultuser's own device, so the codes user1's tests consume do not interfere.
    client = sts(served, *DEFAULT_KEY)
    with pytest.raises(ClientError) as e:
        client.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="no-mfa")
    assert error_of(e)[:2] == (403, "AccessDenied")
    out = client.get_session_token(
        SerialNumber=DEFAULT_MFA_SERIAL, TokenCode=totp(DEFAULT_MFA_SECRET), DurationSeconds=900
    )
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    session = sts(served, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert session.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/defaultuser"
    session.assume_role(RoleArn=ROLE.format("mfarole"), RoleSessionName="via-gst")
    with pytest.raises(ClientError) as e:
        session.get_session_token()
    assert error_of(e) == (403, "AccessDenied", "Cannot call GetSessionToken with session credentials")


@pytest.mark.parametrize(
    "kwargs, status, code, message",
    [
        ({"RoleArn": ROLE.format("my-instance-profile")}, 403, "AccessDenied",
         "User: arn:aws:iam::123456789012:user/user1 is not authorized to perform: sts:AssumeRole on resource: "
         "arn:aws:iam::123456789012:role/my-instance-profile"),
        ({"RoleArn": ROLE.format("thirdpartyrole"), "ExternalId": "bad-external-id"}, 403, "AccessDenied", None),
        ({"RoleArn": ROLE.format("defaultrole"), "DurationSeconds": 7200}, 400, "ValidationError",
         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
        ({"RoleArn": ROLE.format("marketingadminrole"), "RoleSessionName": "a/b"}, 400, "ValidationError",
         "1 validation error detected: Value 'a/b' at 'roleSessionName' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        ({"RoleArn": ROLE.format("does-not-exist")}, 403, "AccessDenied", None),
    ],
)
def test_assume_role_refusals(served, kwargs, status, code, message):
    args = {"RoleSessionName": "s1", **kwargs}
    with pytest.raises(ClientError) as e:
        sts(served, *USER1_KEY).assume_role(**args)
    got = error_of(e)
    assert got[:2] == (status, code)
    if message is not None:
        assert got[2] == message


def test_chained_over_one_hour(served):
    with pytest.raises(ClientError) as e:
        sts(served, *SHORT_USER1).assume_role(
            RoleArn=ROLE.format("marketingadminrole"), RoleSessionName="s1", DurationSeconds=7200
        )
    assert error_of(e) == (
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )


def test_signature_and_key_refusals(served):
    with pytest.raises(ClientError) as e:
        sts(served, USER1_KEY[0], "not-the-secret").get_caller_identity()
    assert error_of(e)[:2] == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as e:
        sts(served, "AKIAUNKNOWNEXAMPLE01", "x").get_caller_identity()
    assert error_of(e) == (403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    with pytest.raises(ClientError) as e:
        sts(served, SHORT_USER1[0], SHORT_USER1[1], "not-the-token").get_caller_identity()
    assert error_of(e)[:2] == (403, "InvalidClientTokenId")


def test_stale_request_date(served):
    stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)

    def clock(remove_tzinfo: bool = True) -> datetime.datetime:
        return stale.replace(tzinfo=None) if remove_tzinfo else stale

    # botocore signs with the CRT signer (botocore.crt.auth) when awscrt is installed, as it is
    # for the login provider; both signers read the time through their own get_current_datetime.
    import botocore.crt.auth

    with mock.patch.object(botocore.auth, "get_current_datetime", clock), \
            mock.patch.object(botocore.crt.auth, "get_current_datetime", clock):
        with pytest.raises(ClientError) as e:
            sts(served, *USER1_KEY).get_caller_identity()
    status, code, message = error_of(e)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message.startswith("Signature expired: ") and message.endswith(" - 15 min.)")


def test_expired_session(served_expired):
    with pytest.raises(ClientError) as e:
        sts(served_expired, "ASIAEXPIREDEXAMPLE01", "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE",
            "expiredSessionTokenExample").get_caller_identity()
    assert error_of(e) == (403, "ExpiredToken", "The security token included in the request is expired")


def test_web_identity(served, awsid_bin: Path):
    def mint(*args: str) -> str:
        return subprocess.run([str(awsid_bin), "mint-web-identity-token", *args],
                              capture_output=True, text=True, check=True).stdout.strip()

    client = boto3.client("sts", region_name="us-west-2", endpoint_url=served.sts_url, config=NO_RETRY)
    out = client.assume_role_with_web_identity(
        RoleArn=ROLE.format("web-identity-role"), RoleSessionName="web", WebIdentityToken=mint("--sub", "alice")
    )
    assert out["SubjectFromWebIdentityToken"] == "alice"
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/web-identity-role/web"
    with pytest.raises(ClientError) as e:
        client.assume_role_with_web_identity(RoleArn=ROLE.format("web-identity-role"), RoleSessionName="web",
                                             WebIdentityToken=mint("--aud", "someone-else"))
    assert error_of(e)[:2] == (400, "InvalidIdentityToken")
    with pytest.raises(ClientError) as e:
        client.assume_role_with_web_identity(RoleArn=ROLE.format("web-identity-role"), RoleSessionName="web",
                                             WebIdentityToken=mint("--expires-in", "-60"))
    assert error_of(e)[:2] == (400, "ExpiredTokenException")
    with pytest.raises(ClientError) as e:
        client.assume_role_with_web_identity(RoleArn=ROLE.format("marketingadminrole"), RoleSessionName="web",
                                             WebIdentityToken=mint())
    assert error_of(e)[:2] == (403, "AccessDenied")


def test_imds_credential_provider(served, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", served.imds_url())
    session = botocore.session.Session()
    creds = session.get_credentials()
    assert creds is not None and creds.method == "iam-role"
    frozen = creds.get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA")
    who = sts(served, frozen.access_key, frozen.secret_key, frozen.token).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::123456789012:assumed-role/my-instance-profile/{OPTIONAL_INSTANCE}"
    # The IMDSv2-only instance works for botocore too (it always asks for a token first).
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", served.imds_url(REQUIRED_INSTANCE))
    creds = botocore.session.Session().get_credentials()
    assert creds is not None and creds.method == "iam-role"


def test_container_credential_provider(served, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", served.ecs_url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN)
    creds = botocore.session.Session().get_credentials()
    assert creds is not None and creds.method == "container-role"
    f = creds.get_frozen_credentials()
    who = sts(served, f.access_key, f.secret_key, f.token).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/ecs-task-role/0f3c5e7a9b1d4c2e8a6f4b2d0c9e7a51"


# ---------------------------------------------------------------- raw IMDS / ECS status codes


def http(method: str, url: str, headers: dict | None = None) -> tuple[int, object, str]:
    """One request; returns status, headers (case-insensitive) and body."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def test_imdsv2_required_without_token(served):
    base = served.imds_url(REQUIRED_INSTANCE)
    status, headers, body = http("GET", base + "latest/meta-data/instance-id")
    assert status == 401
    assert "<title>401 - Unauthorized</title>" in body
    status, headers, token = http("PUT", base + "latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    assert status == 200 and headers["X-aws-ec2-metadata-token-ttl-seconds"] == "300"
    status, _, body = http("GET", base + "latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": token})
    assert (status, body) == (200, REQUIRED_INSTANCE)


@pytest.mark.parametrize("ttl", ["0", "21601", "abc", "-1"])
def test_bad_token_ttl(served, ttl):
    status, _, body = http("PUT", served.imds_url() + "latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
    assert status == 400
    assert "400 - Bad Request" in body


def test_token_put_refusals(served):
    url = served.imds_url() + "latest/api/token"
    assert http("PUT", url, {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "1.2.3.4"})[0] == 403
    assert http("PUT", served.imds_url() + "2021-03-23/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})[0] == 403
    assert http("GET", url)[0] == 405


def test_ecs_relative_uri_errors(served):
    base = f"http://{served.ecs}"
    status, _, body = http("GET", base + "/v2/credentials/")
    # The ECS agent marshals its whole ErrorMessage struct (docs/spec/container-client.md §5).
    assert (status, body) == (400, '{"code":"NoIdInRequest","message":"CredentialsV2Request: '
                                   'No Credential ID in the request","HTTPErrorCode":400}')
    status, _, body = http("GET", base + "/v2/credentials/unknown")
    assert (status, body) == (400, '{"code":"InvalidIdInRequest","message":"CredentialsV2Request: '
                                   'Credentials not found","HTTPErrorCode":400}')
    status, _, body = http("GET", base + f"/v2/credentials/{ECS_CREDENTIALS_ID}")
    assert status == 200 and json.loads(body)["AccessKeyId"].startswith("ASIA")


# ---------------------------------------------------------------- seed profiles through boto3 sessions


def test_seed_profiles_with_boto3_sessions(served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "credentials").write_text(
        f"[user1]\naws_access_key_id = {USER1_KEY[0]}\naws_secret_access_key = {USER1_KEY[1]}\n"
    )
    (tmp_path / "config").write_text(
        "[profile marketingadmin]\n"
        "role_arn = arn:aws:iam::123456789012:role/marketingadminrole\n"
        "source_profile = user1\n"
        "region = us-west-2\n\n"
        "[profile marketingadmin-ec2]\n"
        "role_arn = arn:aws:iam::123456789012:role/marketingadminrole\n"
        "credential_source = Ec2InstanceMetadata\n"
        "region = us-west-2\n"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", served.sts_url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", served.imds_url())
    for profile in ("marketingadmin", "marketingadmin-ec2"):
        who = boto3.Session(profile_name=profile).client("sts", config=NO_RETRY).get_caller_identity()
        assert who["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/marketingadminrole/botocore-session-"), profile
