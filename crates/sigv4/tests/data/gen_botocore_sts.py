#!/usr/bin/env python3
"""Generate botocore-signed STS requests as fixtures for crates/sigv4/tests/botocore.rs.

Run from this directory with the installed botocore (no network is used: the STS client's
requests are intercepted on 'before-send' and answered with a canned response):

    python3 gen_botocore_sts.py > botocore_sts.json

Credentials are the AWS documentation examples and the clock is frozen, so every signed
value is reproducible with the same botocore version. The client cases also carry what the
client adds after signing and does not sign: a random amz-sdk-invocation-id, a User-Agent
naming the generating host, Content-Length.
"""

import datetime
import json
import sys
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# A made-up token shaped like a real one (base64 with '/', '+', '=').
TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token+with"
    "/slashes+and+pluses=="
)
FROZEN = datetime.datetime(2024, 5, 17, 8, 30, 45, tzinfo=datetime.timezone.utc)

# Every SigV4 signature botocore computes is recorded here (canonical request, string to
# sign), by wrapping SigV4Auth.string_to_sign, which all its SigV4 signers call.
RECORDED = []
_original_sts = botocore.auth.SigV4Auth.string_to_sign


def _recording_sts(self, request, canonical_request):
    sts = _original_sts(self, request, canonical_request)
    RECORDED.append({
        "canonical_request": canonical_request,
        "string_to_sign": sts,
        # The headers botocore held while signing (it signs all but a few of them); the
        # client adds more after signing (amz-sdk-*, Content-Length), which are unsigned.
        "headers_at_signing": [
            [k, v.decode("utf-8") if isinstance(v, bytes) else v]
            for k, v in request.headers.items()
        ],
    })
    return sts


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


CANNED = {
    "GetCallerIdentity": (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn>"
        b"<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>"
        b"</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId>"
        b"</ResponseMetadata></GetCallerIdentityResponse>"
    ),
}


def _wire_host(url):
    """The Host header an HTTP client sends for `url` (port only when not the default)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}[parts.scheme]
    if parts.port and parts.port != default:
        return f"{parts.hostname}:{parts.port}"
    return parts.hostname


def _case(name, method, url, headers, body, region, token, recorded):
    parts = urlsplit(url)
    # Prepared requests may hold header values as bytes; they go on the wire as such.
    hdrs = [["Host", _wire_host(url)]] + [
        [k, v.decode("utf-8") if isinstance(v, bytes) else v] for k, v in headers
    ]
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return {
        "name": name,
        "method": method,
        "path": parts.path or "/",
        "query": parts.query,
        "headers": hdrs,
        "body": body or "",
        "region": region,
        "service": "sts",
        "amz_date": FROZEN.strftime("%Y%m%dT%H%M%SZ"),
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "session_token": token,
        "headers_at_signing": recorded["headers_at_signing"],
        "canonical_request": recorded["canonical_request"],
        "string_to_sign": recorded["string_to_sign"],
    }


def sign_direct(name, token):
    """SigV4Auth on a hand-built AWSRequest: POST form body to the regional endpoint."""
    body = (
        "Action=AssumeRole&Version=2011-06-15"
        "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo"
        "&RoleSessionName=fixture-session&DurationSeconds=900"
    )
    req = AWSRequest(
        method="POST",
        url="https://sts.us-east-1.amazonaws.com/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    creds = Credentials(ACCESS_KEY, SECRET_KEY, token)
    RECORDED.clear()
    botocore.auth.SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
    return _case(
        name, "POST", req.url, list(req.headers.items()), body, "us-east-1", token, RECORDED[-1]
    )


def client_call(name, endpoint_url, region, token):
    """A real STS client call (GetCallerIdentity), captured just before it is sent."""
    captured = {}

    def before_send(request, **kwargs):
        captured["request"] = request
        return AWSResponse(request.url, 200, {}, _Raw(CANNED["GetCallerIdentity"]))

    client = boto3.session.Session().client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
    )
    client.meta.events.register("before-send", before_send)
    RECORDED.clear()
    client.get_caller_identity()
    r = captured["request"]
    return _case(
        name, r.method, r.url, list(r.headers.items()), r.body, region, token, RECORDED[-1]
    )


def presigned(name, token):
    """A presigned GET GetCallerIdentity URL, as EKS token generators make it."""
    client = boto3.session.Session().client(
        "sts",
        region_name="us-west-2",
        endpoint_url="https://sts.us-west-2.amazonaws.com",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
    )
    RECORDED.clear()
    url = client.generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET"
    )
    return _case(name, "GET", url, [], "", "us-west-2", token, RECORDED[-1])


def main():
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=FROZEN), \
            mock.patch.object(botocore.auth.SigV4Auth, "string_to_sign", _recording_sts):
        cases = [
            sign_direct("sigv4auth-assume-role", None),
            sign_direct("sigv4auth-assume-role-session-token", TOKEN),
            client_call("client-get-caller-identity", "https://sts.us-east-1.amazonaws.com", "us-east-1", None),
            client_call("client-get-caller-identity-local-port-token", "http://127.0.0.1:4566", "eu-west-1", TOKEN),
            presigned("presigned-get-caller-identity", None),
            presigned("presigned-get-caller-identity-session-token", TOKEN),
        ]
    out = {
        "generator": "gen_botocore_sts.py",
        "botocore_version": botocore.__version__,
        "boto3_version": boto3.__version__,
        "cases": cases,
    }
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
