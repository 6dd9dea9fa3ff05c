#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the conformance
vectors and the repository's own fixtures, so that a clone stands alone.

Provenance of each seed family:
* profile_round_trip: the config texts of `profile-parser-tests.json` (conformance) and of
  crates/profile/tests/fixtures/parser-vectors-botocore.json, each behind an edit line;
* sigv4: the signed requests of the SigV4 suite (`conformance/sigv4/v4/*/*-signed-request.txt`,
  header and query forms) and botocore's signed STS requests
  (crates/sigv4/tests/data/botocore_sts.json);
* sts_request: botocore's signed STS requests, plus SSO portal/OIDC and malformed requests;
* imds_request, ecs_request: the requests the SDKs send (docs/spec/imds-client.md §2,
  docs/spec/container-client.md), plus the paths and headers a client should not send;
* signed_query: IAM, EC2, Auto Scaling and STS Query bodies in the shapes botocore serializes
  (the calls of tests/python/test_world_boto3.py and the seeds' flows), valid and broken;
* world_file: the default world and the WORLD.md example;
* jwt: claim sets (signed by the target with the default world's dev key) and token shapes;
* cache_entry: entries in the CLI's shapes and broken variants.
* client_response: what IMDS, a container endpoint and STS answer the credential clients and
  what a credential process prints, and broken variants.

Usage: python3 fuzz/seed.py [--conformance DIR]   (default $AWSID_CONFORMANCE_DIR, else the
repository's tests/conformance). Rewrites fuzz/corpus/ (file names are content hashes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "fuzz" / "corpus"


def add(target: str, data: bytes | str) -> None:
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def raw_request(method: str, path: str, query: str, headers: list, body: str) -> str:
    target = path + (f"?{query}" if query else "")
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    if body and not any(k.lower() == "content-length" for k, _ in headers):
        head += f"Content-Length: {len(body.encode())}\r\n"
    return head + "\r\n" + body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conformance", type=Path, default=Path(
        os.environ.get("AWSID_CONFORMANCE_DIR", REPO / "tests" / "conformance")))
    args = ap.parse_args()
    conf = args.conformance
    shutil.rmtree(OUT, ignore_errors=True)

    # profile_round_trip
    edits = ["default\taws_access_key_id\tAKIAEXAMPLE", "profile x\tregion\tus-west-2",
             "new\tkey\tvalue with spaces", "default\ts3\t", " a \t b \t c "]
    texts = [t["input"].get("configFile", "") for t in
             json.loads((conf / "profile-parser-tests.json").read_text())["tests"]]
    vectors = REPO / "crates" / "profile" / "tests" / "fixtures" / "parser-vectors-botocore.json"
    for case in json.loads(vectors.read_text()):
        texts += [t for t in (case.get("config"), case.get("credentials")) if t]
    for i, text in enumerate(texts):
        add("profile_round_trip", edits[i % len(edits)] + "\n" + text)

    # sigv4 and sts_request
    for f in sorted((conf / "sigv4" / "v4").glob("*/*signed-request.txt")):
        add("sigv4", crlf(f.read_text()) + ("" if f.read_text().endswith("\n\n") else "\r\n"))
    sts = json.loads((REPO / "crates" / "sigv4" / "tests" / "data" / "botocore_sts.json").read_text())
    for case in sts["cases"]:
        req = raw_request(case["method"], case["path"], case.get("query", ""), case["headers"],
                          case.get("body", ""))
        add("sigv4", req)
        add("sts_request", req)
    host = [("Host", "127.0.0.1:4590")]
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    for body in ["Action=GetCallerIdentity&Version=2011-06-15",
                 "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fweb&RoleSessionName=s&WebIdentityToken=a.b.c",
                 "Action=AssumeRole&PolicyArns.member.1.arn=x&Tags.member.1.Key=k"]:
        add("sts_request", raw_request("POST", "/", "", host + form, body))
    add("sts_request", raw_request("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAI44QH8DHBEXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", host, ""))
    add("sts_request", raw_request("POST", "/client/register", "", host + [("Content-Type", "application/json")], json.dumps({"clientName": "c", "clientType": "public", "scopes": ["sso:account:access"]})))
    add("sts_request", raw_request("POST", "/device_authorization", "", host, json.dumps({"clientId": "x", "clientSecret": "y", "startUrl": "https://my-sso-portal.awsapps.com/start"})))
    add("sts_request", raw_request("POST", "/token", "", host, json.dumps({"clientId": "x", "clientSecret": "y", "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": "z"})))
    add("sts_request", raw_request("GET", "/federation/credentials", "account_id=123456789012&role_name=readOnly", host + [("x-amz-sso_bearer_token", "t")], ""))
    add("sts_request", raw_request("GET", "/assignment/accounts", "max_result=1", host + [("x-amz-sso_bearer_token", "t")], ""))
    add("sts_request", raw_request("GET", "/device", "user_code=ABCD-EFGH", host, ""))

    # imds_request
    imds_host = [("Host", "169.254.169.254")]
    tok = [("X-aws-ec2-metadata-token", "AQAEAtoken")]
    add("imds_request", raw_request("PUT", "/latest/api/token", "", imds_host + [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], ""))
    add("imds_request", raw_request("PUT", "/latest/api/token", "", imds_host + [("X-aws-ec2-metadata-token-ttl-seconds", "21600"), ("X-Forwarded-For", "1.2.3.4")], ""))
    for path in ["/", "/latest", "/latest/meta-data/", "/latest/meta-data/iam/security-credentials/",
                 "/latest/meta-data/iam/security-credentials/my-instance-profile",
                 "/latest/meta-data/iam/security-credentials-extended/my-instance-profile",
                 "/latest/meta-data/iam/info", "/latest/meta-data/placement/availability-zone/",
                 "/latest/dynamic/instance-identity/document", "/latest/user-data",
                 "/latest/meta-data/tags/instance/Name", "/latest/meta-data/../meta-data/",
                 "/2009-04-04/meta-data/instance-id", "/latest/meta-data/network/interfaces/macs/"]:
        add("imds_request", raw_request("GET", path, "", imds_host + tok, ""))
        add("imds_request", raw_request("GET", path, "", imds_host, ""))

    # ecs_request
    ecs_host = [("Host", "169.254.170.2")]
    cid = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d"
    for path, headers in [(f"/v2/credentials/{cid}", []), ("/v2/credentials/", []),
                          ("/v1/credentials", []), (f"/v1/credentials?id={cid}", []),
                          ("/credentials", [("Authorization", "awsid-dev-container-token")]),
                          ("/credentials", [("Authorization", "Bearer x.y.z")]),
                          ("/credentials", []), ("/v2/metadata", [])]:
        add("ecs_request", raw_request("GET", path, "", ecs_host + headers, ""))

    # world_file
    add("world_file", (REPO / "crates" / "server" / "src" / "world" / "default_world.toml").read_text())
    doc = (REPO / "crates" / "server" / "WORLD.md").read_text()
    start = doc.index("```toml\n") + 8
    add("world_file", doc[start:doc.index("```", start)])
    add("world_file", "[[instances]]\nid = \"i-0123456789\"\naccount = \"123456789012\"\ncredential_lifetime_seconds = 9223372036854775807\n")

    # signed_query: first byte 0 IAM, 1 EC2, 2 Auto Scaling, 3 STS; then the form body.
    from urllib.parse import urlencode
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                                 "Action": "s3:*", "Resource": "*"}]})
    iam = [
        {"Action": "CreateRole", "RoleName": "r1", "Path": "/app/", "AssumeRolePolicyDocument": trust,
         "Tags.member.1.Key": "k", "Tags.member.1.Value": "v", "MaxSessionDuration": "7200"},
        {"Action": "GetRole", "RoleName": "marketingadminrole"},
        {"Action": "ListRoles", "PathPrefix": "/", "MaxItems": "2", "Marker": "x"},
        {"Action": "PutRolePolicy", "RoleName": "marketingadminrole", "PolicyName": "p",
         "PolicyDocument": policy},
        {"Action": "CreatePolicy", "PolicyName": "p", "PolicyDocument": policy},
        {"Action": "AttachRolePolicy", "RoleName": "marketingadminrole",
         "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        {"Action": "CreateInstanceProfile", "InstanceProfileName": "ip1"},
        {"Action": "AddRoleToInstanceProfile", "InstanceProfileName": "my-instance-profile",
         "RoleName": "marketingadminrole"},
        {"Action": "DeleteRole", "RoleName": "marketingadminrole"},
        {"Action": "CreateUser", "UserName": "u1"},
        {"Action": "CreateAccessKey", "UserName": "user1"},
        {"Action": "DeleteAccessKey", "UserName": "user1", "AccessKeyId": "AKIAEXAMPLE"},
        {"Action": "CreateVirtualMFADevice", "VirtualMFADeviceName": "m"},
        {"Action": "SimulatePrincipalPolicy", "PolicySourceArn": "arn:aws:iam::123456789012:user/user1",
         "ActionNames.member.1": "sts:AssumeRole", "ResourceArns.member.1": "*",
         "ContextEntries.member.1.ContextKeyName": "aws:MultiFactorAuthPresent",
         "ContextEntries.member.1.ContextKeyType": "boolean",
         "ContextEntries.member.1.ContextKeyValues.member.1": "true"},
        {"Action": "UpdateAssumeRolePolicy", "RoleName": "marketingadminrole", "PolicyDocument": "{"},
    ]
    ec2 = [
        {"Action": "RunInstances", "ImageId": "ami-baba68d3", "InstanceType": "m1.small", "MinCount": "1",
         "MaxCount": "2", "IamInstanceProfile.Name": "my-instance-profile",
         "MetadataOptions.HttpTokens": "required", "MetadataOptions.HttpPutResponseHopLimit": "2",
         "TagSpecification.1.ResourceType": "instance", "TagSpecification.1.Tag.1.Key": "Name",
         "TagSpecification.1.Tag.1.Value": "x"},
        {"Action": "DescribeInstances", "Filter.1.Name": "instance-state-name", "Filter.1.Value.1": "running"},
        {"Action": "TerminateInstances", "InstanceId.1": "i-1234567890abcdef0"},
        {"Action": "ModifyInstanceMetadataOptions", "InstanceId": "i-1234567890abcdef0",
         "HttpTokens": "required", "HttpEndpoint": "disabled", "InstanceMetadataTags": "enabled"},
        {"Action": "AssociateIamInstanceProfile", "InstanceId": "i-1234567890abcdef0",
         "IamInstanceProfile.Name": "my-instance-profile"},
        {"Action": "DescribeIamInstanceProfileAssociations", "Filter.1.Name": "instance-id",
         "Filter.1.Value.1": "i-1234567890abcdef0"},
        {"Action": "CreateLaunchTemplate", "LaunchTemplateName": "lt",
         "LaunchTemplateData.ImageId": "ami-baba68d3",
         "LaunchTemplateData.IamInstanceProfile.Name": "my-instance-profile",
         "LaunchTemplateData.MetadataOptions.HttpTokens": "required"},
        {"Action": "RunInstances", "MinCount": "1", "MaxCount": "1",
         "LaunchTemplate.LaunchTemplateName": "lt", "LaunchTemplate.Version": "$Latest", "DryRun": "true"},
    ]
    asg = [
        {"Action": "CreateLaunchConfiguration", "LaunchConfigurationName": "lc", "ImageId": "ami-baba68d3",
         "InstanceType": "m1.small", "IamInstanceProfile": "my-instance-profile"},
        {"Action": "CreateAutoScalingGroup", "AutoScalingGroupName": "g", "LaunchConfigurationName": "lc",
         "MinSize": "1", "MaxSize": "3", "DesiredCapacity": "2", "AvailabilityZones.member.1": "us-west-2a"},
        {"Action": "SetDesiredCapacity", "AutoScalingGroupName": "g", "DesiredCapacity": "3"},
        {"Action": "DescribeAutoScalingGroups", "AutoScalingGroupNames.member.1": "g"},
        {"Action": "DeleteAutoScalingGroup", "AutoScalingGroupName": "g", "ForceDelete": "true"},
    ]
    sts = [
        {"Action": "AssumeRole", "RoleArn": "arn:aws:iam::123456789012:role/marketingadminrole",
         "RoleSessionName": "s", "DurationSeconds": "900", "ExternalId": "e",
         "PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Policy": policy,
         "Tags.member.1.Key": "k", "Tags.member.1.Value": "v", "TransitiveTagKeys.member.1": "k"},
        {"Action": "GetSessionToken", "DurationSeconds": "900"},
        {"Action": "GetCallerIdentity"},
        {"Action": "GetFederationToken", "Name": "f", "Policy": policy},
        {"Action": "DecodeAuthorizationMessage", "EncodedMessage": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
    ]
    versions = {0: "2010-05-08", 1: "2016-11-15", 2: "2011-01-01", 3: "2011-06-15"}
    for which, calls in ((0, iam), (1, ec2), (2, asg), (3, sts)):
        for params in calls:
            add("signed_query", bytes([which]) + urlencode(dict(params, Version=versions[which])).encode())
    add("signed_query", bytes([0]) + b"Action=CreateRole&RoleName=%FF%00&AssumeRolePolicyDocument=%7B")
    add("signed_query", bytes([1]) + b"Action=RunInstances&MinCount=99999999999999999999&MaxCount=-1")

    # jwt
    for claims in [{"iss": "https://oidc.awsid.example", "sub": "system:serviceaccount:default:app",
                    "aud": "sts.amazonaws.com", "exp": 4102444800, "iat": 1700000000},
                   {"iss": "https://oidc.awsid.example", "sub": "x", "aud": ["a", "b"], "azp": "a",
                    "amr": ["authenticated"], "exp": 1, "nbf": 99999999999},
                   {}]:
        add("jwt", json.dumps(claims))
    add("jwt", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImRldiJ9.eyJzdWIiOiJ4In0.c2ln")
    add("jwt", "eyJhbGciOiJub25lIn0.e30.")
    add("jwt", "a.b.c.d")

    # cache_entry
    creds = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s", "SessionToken": "t",
             "Expiration": "2099-01-01T00:00:00+00:00"}
    add("cache_entry", json.dumps({"Credentials": creds, "AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::1:assumed-role/r/x"}, "ResponseMetadata": {"RequestId": "r"}}))
    add("cache_entry", json.dumps({"Credentials": dict(creds, AccountId="123456789012", Expiration="2099-01-01T00:00:00Z")}))
    add("cache_entry", json.dumps({"Credentials": dict(creds, Expiration="2099-01-01T00:00:00.123456+00:00")}))
    add("cache_entry", json.dumps({"ProviderType": "sso", "Credentials": dict(creds, Expiration="2099-01-01T00:00:00UTC")}))
    add("cache_entry", '{"Credentials": {"AccessKeyId": 1}}')
    add("cache_entry", "not json")
    # client_response: one byte (0 IMDS, 1 container endpoint, 2 STS AssumeRole, 3 a credential
    # process), then the endpoint's answers separated by `--` lines, each a status line and a
    # body (for a process: its output)
    imds_creds = {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                  "AccessKeyId": "ASIAEXAMPLEEXAMPLE01", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                  "Token": "IQoJb3JpZ2luX2VjEXAMPLETOKENEXAMPLETOKEN", "Expiration": "2099-01-01T00:00:00Z"}
    responses = lambda *parts: "\n--\n".join(parts)  # noqa: E731
    add("client_response", bytes([0]) + responses("200\nAQAEAEXAMPLETOKEN==", "200\nmy-role", "200\n" + json.dumps(imds_creds, indent=2)).encode())
    add("client_response", bytes([0]) + responses("200\nt", "200\nmy-role", "200\n" + json.dumps(dict(imds_creds, Expiration="2020-01-01T00:00:00Z"))).encode())
    add("client_response", bytes([0]) + responses("404\n", "200\nmy-role\nother", "200\n" + json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "Message": "x"})).encode())
    add("client_response", bytes([0]) + responses("401\n<html></html>").encode())
    add("client_response", bytes([1]) + ("200\n" + json.dumps({"AccessKeyId": "ASIAEXAMPLEEXAMPLE01", "SecretAccessKey": imds_creds["SecretAccessKey"], "Token": imds_creds["Token"], "Expiration": "2099-01-01T00:00:00Z", "AccountId": "123456789012"})).encode())
    add("client_response", bytes([1]) + ("400\n" + json.dumps({"code": "InvalidToken", "message": "x"})).encode())
    add("client_response", bytes([1]) + b"200\n{\"AccessKeyId\": \"A\", \"SecretAccessKey\": 1}")
    ns = "https://sts.amazonaws.com/doc/2011-06-15/"
    add("client_response", bytes([2]) + (
        f'200\n<AssumeRoleResponse xmlns="{ns}"><AssumeRoleResult><Credentials>'
        f'<AccessKeyId>ASIAEXAMPLEEXAMPLE01</AccessKeyId><SecretAccessKey>{imds_creds["SecretAccessKey"]}</SecretAccessKey>'
        f'<SessionToken>{imds_creds["Token"]}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>'
        '<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>'
        '</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>').encode())
    add("client_response", bytes([2]) + (
        f'403\n<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        '<Message>User: x is not authorized</Message></Error><RequestId>r</RequestId></ErrorResponse>').encode())
    add("client_response", bytes([2]) + b"500\n<![CDATA[x]]><a>&bogus;</a>")
    add("client_response", bytes([3]) + json.dumps({"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": imds_creds["SecretAccessKey"], "SessionToken": imds_creds["Token"], "Expiration": "2099-01-01T00:00:00Z", "AccountId": "123456789012"}).encode())
    add("client_response", bytes([3]) + json.dumps({"Version": 2, "AccessKeyId": "A"}).encode())
    add("client_response", bytes([3]) + b'{"Version": true, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "soon"}')
    total = sum(1 for _ in OUT.rglob("*") if _.is_file())
    print(f"wrote {total} seeds under {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
