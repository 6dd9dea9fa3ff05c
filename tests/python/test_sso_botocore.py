"""The SSO portal and SSO-OIDC of `awsid serve` through botocore's own `sso` and `sso-oidc`
clients (botocore 1.43.11, unmodified): every error must reach botocore as the modeled
exception (the `x-amzn-ErrorType` header is the only place the OIDC errors carry their code),
pagination must work with botocore's paginators, and the shapes must parse.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
import urllib.parse
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

from serve_fixtures import served, start_server, stop_server, world_with  # noqa: F401

START_URL = "https://my-sso-portal.awsapps.com/start"
SSO_USER = "sso-user@example.com"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def clients(served):
    session = boto3.Session(aws_access_key_id="unused", aws_secret_access_key="unused", region_name="us-east-1")
    cfg = botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1})
    oidc = session.client("sso-oidc", endpoint_url=served.sts_url, config=cfg)
    portal = session.client("sso", endpoint_url=served.sts_url, config=cfg)
    return oidc, portal


def form(served, target: str, fields: dict) -> http.client.HTTPResponse:
    host, port = served.api.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", target, body=urllib.parse.urlencode(fields),
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    return r


def device_login(served, oidc, scopes=True):
    kwargs = {"clientName": "botocore-client-test", "clientType": "public"}
    if scopes:
        kwargs["scopes"] = ["sso:account:access"]
    reg = oidc.register_client(**kwargs)
    auth = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )
    return reg, auth


def poll(oidc, reg, auth):
    return oidc.create_token(
        grantType=DEVICE_GRANT, clientId=reg["clientId"], clientSecret=reg["clientSecret"],
        deviceCode=auth["deviceCode"],
    )


def test_device_flow_errors_are_modeled_exceptions(served):
    oidc, _ = clients(served)
    reg, auth = device_login(served, oidc)
    assert isinstance(reg["clientSecretExpiresAt"], int)
    assert auth["interval"] == 1 and auth["expiresIn"] == 600
    for _ in range(2):
        with pytest.raises(oidc.exceptions.AuthorizationPendingException) as e:
            poll(oidc, reg, auth)
        assert e.value.response["error"] == "authorization_pending"
        assert e.value.response["Error"]["Code"] == "AuthorizationPendingException"
    with pytest.raises(oidc.exceptions.SlowDownException):
        poll(oidc, reg, auth)
    r = form(served, "/device", {"user_code": auth["userCode"], "action": "approve", "user": SSO_USER})
    assert r.status == 200
    token = poll(oidc, reg, auth)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 28800
    assert token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        poll(oidc, reg, auth)
    # Wrong secret: InvalidClientException (401).
    with pytest.raises(oidc.exceptions.InvalidClientException) as e:
        oidc.create_token(grantType=DEVICE_GRANT, clientId=reg["clientId"], clientSecret="nope",
                          deviceCode=auth["deviceCode"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    # Denial.
    reg, auth = device_login(served, oidc)
    assert form(served, "/device", {"user_code": auth["userCode"], "action": "deny"}).status == 200
    with pytest.raises(oidc.exceptions.AccessDeniedException):
        poll(oidc, reg, auth)
    # Refresh with rotation.
    reg, auth = device_login(served, oidc)
    form(served, "/device", {"user_code": auth["userCode"], "action": "approve", "user": SSO_USER})
    first = poll(oidc, reg, auth)
    second = oidc.create_token(grantType="refresh_token", clientId=reg["clientId"],
                               clientSecret=reg["clientSecret"], refreshToken=first["refreshToken"])
    assert second["accessToken"] != first["accessToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(grantType="refresh_token", clientId=reg["clientId"],
                          clientSecret=reg["clientSecret"], refreshToken=first["refreshToken"])


def test_expired_device_code(awsid_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("sso-expiry")
    world = world_with(
        """
[[sso_instances]]
start_url = "https://short.awsapps.com/start"
region = "us-east-1"
device_code_lifetime_seconds = 1
[[sso_instances.users]]
name = "bob"
""",
        d / "world.toml",
    )
    s = start_server(awsid_bin, d, world)
    try:
        oidc, _ = clients(s)
        reg = oidc.register_client(clientName="c", clientType="public")
        auth = oidc.start_device_authorization(
            clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl="https://short.awsapps.com/start"
        )
        assert auth["expiresIn"] == 1
        time.sleep(2.1)
        with pytest.raises(oidc.exceptions.ExpiredTokenException):
            poll(oidc, reg, auth)
    finally:
        stop_server(s)


def test_portal_through_botocore(served):
    oidc, portal = clients(served)
    reg, auth = device_login(served, oidc)
    form(served, "/device", {"user_code": auth["userCode"], "action": "approve", "user": SSO_USER})
    token = poll(oidc, reg, auth)["accessToken"]
    pages = list(portal.get_paginator("list_accounts").paginate(
        accessToken=token, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2
    accounts = [a for p in pages for a in p["accountList"]]
    assert accounts == [
        {"accountId": "111122223333", "accountName": "DeveloperAccount",
         "emailAddress": "developer-account-admin@example.com"},
        {"accountId": "444455556666", "accountName": "ProductionAccount",
         "emailAddress": "production-account-admin@example.com"},
    ]
    roles = [r["roleName"] for p in portal.get_paginator("list_account_roles").paginate(
        accessToken=token, accountId="444455556666", PaginationConfig={"PageSize": 1}) for r in p["roleList"]]
    assert roles == ["readOnly", "ReadOnly", "FullAccess"]
    creds = portal.get_role_credentials(roleName="ReadOnly", accountId="444455556666", accessToken=token)
    rc = creds["roleCredentials"]
    assert rc["accessKeyId"].startswith("ASIA")
    assert abs(rc["expiration"] / 1000 - time.time() - 3600) < 60, "epoch milliseconds"
    # The credentials are a session of the reserved role in the account.
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=served.sts_url,
                       aws_access_key_id=rc["accessKeyId"], aws_secret_access_key=rc["secretAccessKey"],
                       aws_session_token=rc["sessionToken"])
    arn = sts.get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_ReadOnly_")
    assert arn.endswith(f"/{SSO_USER}")
    # A role the user is not assigned: 403 ForbiddenException "No access" (not in the model).
    with pytest.raises(botocore.exceptions.ClientError) as e:
        portal.get_role_credentials(roleName="Admin", accountId="444455556666", accessToken=token)
    assert e.value.response["Error"] == {"Code": "ForbiddenException", "Message": "No access"}
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Logout, then the token is unauthorized.
    portal.logout(accessToken=token)
    with pytest.raises(portal.exceptions.UnauthorizedException) as e:
        portal.list_accounts(accessToken=token)
    assert e.value.response["Error"]["Message"] == "Session token not found or invalid"
    # Role credentials already issued stay valid.
    assert sts.get_caller_identity()["Arn"] == arn


def test_pkce_code_exchange_through_botocore(served):
    oidc, _ = clients(served)
    reg = oidc.register_client(
        clientName="botocore-client-my-sso", clientType="public", scopes=["sso:account:access"],
        grantTypes=["authorization_code", "refresh_token"], redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=START_URL,
    )
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = "http://127.0.0.1:40001/oauth/callback"
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": reg["clientId"], "redirect_uri": redirect, "state": "s-1",
        "code_challenge_method": "S256", "scopes": "sso:account:access", "code_challenge": challenge,
    })
    r = form(served, "/authorize", dict(urllib.parse.parse_qsl(query)) | {"action": "approve", "user": SSO_USER})
    assert r.status == 302
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    q = urllib.parse.parse_qs(loc.query)
    assert q["state"] == ["s-1"]
    code = q["code"][0]
    args = dict(grantType="authorization_code", clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                redirectUri=redirect, code=code)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(codeVerifier="w" * 64, **args)
    token = oidc.create_token(codeVerifier=verifier, **args)
    assert token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(codeVerifier=verifier, **args)
