"""boto3/botocore (1.43.11) create and use a role through `awsid serve`'s IAM, EC2 and STS APIs
(issue 12): the default world's administrator creates a role trusting EC2 and `user1`, gives it
an inline and a customer managed policy, puts it in an instance profile and launches an
instance with that profile through boto3's ec2 client; then the role is used — `user1`
assumes it with STS, and botocore's own `InstanceMetadataProvider` and a plain boto3 Session on
the instance (its metadata address from the `awsid:imds-endpoint` tag) get the role's
credentials — and refused where it should be (IAM's AccessDenied naming the action, EC2's
UnauthorizedOperation); finally every delete path, after which the role is gone."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import InstanceMetadataProvider
from botocore.exceptions import ClientError
from botocore.utils import InstanceMetadataFetcher

from serve_fixtures import ACCOUNT, USER1_KEY, isolated_env, start_server, stop_server  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_env")

ADMIN_KEY = ("AKIAAWSIDADMIN000001", "awsidAdminSecretKeyEXAMPLEEXAMPLEKEY0001")
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
ROLE = "boto3-app-role"
PROFILE = "boto3-app-profile"
INLINE = "boto3-s3-read"
MANAGED = "boto3-list-buckets"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
USER1_ARN = f"arn:aws:iam::{ACCOUNT}:user/user1"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": USER1_ARN}, "Action": "sts:AssumeRole"},
    ],
}
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::examplebucket/*"]}],
}
LIST_BUCKETS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def plane(awsid_bin: Path, tmp_path_factory):
    """`awsid serve` on the default world (its own state directory) for the module."""
    s = start_server(awsid_bin, tmp_path_factory.mktemp("world-boto3"))
    yield s
    stop_server(s)


def client(plane, service: str, key_id: str, secret: str, token: str | None = None,
           region: str = "us-west-2"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=plane.sts_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRY,
    )


def admin(plane, service: str):
    return client(plane, service, *ADMIN_KEY, region="us-east-1" if service == "iam" else "us-west-2")


def error_of(excinfo) -> tuple[int, str, str]:
    e = excinfo.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]


@contextlib.contextmanager
def user_allowed(plane, name: str, statement: dict, service: str):
    """An IAM user whose one inline policy holds `statement`; yields a `service` client signed
    with a new key of it, and deletes the key, the policy and the user afterwards."""
    iam = admin(plane, "iam")
    iam.create_user(UserName=name)
    key = None
    try:
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [statement]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        yield client(plane, service, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        if key:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        try:
            iam.delete_user_policy(UserName=name, PolicyName="only")
        except ClientError:
            pass
        iam.delete_user(UserName=name)


def test_boto3_creates_a_role_launches_an_instance_with_it_and_uses_it(plane, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    iam = admin(plane, "iam")
    ec2 = admin(plane, "ec2")

    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST),
                           Description="made by boto3")["Role"]
    assert role["Arn"] == ROLE_ARN and role["RoleId"].startswith("AROA")
    # botocore decodes IAM's URL-encoded policy documents into dicts.
    assert role["AssumeRolePolicyDocument"] == TRUST
    iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE, PolicyDocument=json.dumps(S3_READ))
    assert iam.get_role_policy(RoleName=ROLE, PolicyName=INLINE)["PolicyDocument"] == S3_READ
    policy_arn = iam.create_policy(PolicyName=MANAGED, PolicyDocument=json.dumps(LIST_BUCKETS))["Policy"]["Arn"]
    assert policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/{MANAGED}"
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy_arn)
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [policy_arn]

    profile = iam.create_instance_profile(InstanceProfileName=PROFILE)["InstanceProfile"]
    assert profile["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/{PROFILE}" and profile["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    for_role = iam.list_instance_profiles_for_role(RoleName=ROLE)["InstanceProfiles"]
    assert [(p["InstanceProfileName"], [r["RoleName"] for r in p["Roles"]]) for p in for_role] == [(PROFILE, [ROLE])]

    # The instance, launched with the profile through boto3's ec2 client.
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1,
                            IamInstanceProfile={"Name": PROFILE})
    instance = run["Instances"][0]["InstanceId"]
    assert run["Instances"][0]["IamInstanceProfile"]["Arn"] == profile["Arn"]
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["State"]["Name"] == "running"
    imds = {t["Key"]: t["Value"] for t in described["Tags"]}["awsid:imds-endpoint"]
    assert imds.startswith("http://127.0.0.1:") and imds.endswith("/")
    assoc = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance]}])["IamInstanceProfileAssociations"]
    assert [(a["State"], a["IamInstanceProfile"]["Arn"]) for a in assoc] == [("associated", profile["Arn"])]

    # Use 1: user1 assumes the role with STS; the assumed credentials are the role's session.
    out = client(plane, "sts", *USER1_KEY).assume_role(RoleArn=ROLE_ARN, RoleSessionName="boto3-session")
    assumed_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/boto3-session"
    assert out["AssumedRoleUser"]["Arn"] == assumed_arn
    c = out["Credentials"]
    as_role = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert client(plane, "sts", *as_role).get_caller_identity()["Arn"] == assumed_arn

    # Use 2: botocore's own InstanceMetadataProvider on the instance's metadata address.
    fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=imds, env={})
    creds = InstanceMetadataProvider(iam_role_fetcher=fetcher).load()
    assert creds is not None and creds.method == "iam-role"
    frozen = creds.get_frozen_credentials()
    on_instance_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{instance}"
    assert client(plane, "sts", frozen.access_key, frozen.secret_key,
                  frozen.token).get_caller_identity()["Arn"] == on_instance_arn

    # Use 3: a plain boto3 Session on the instance (no keys, no profile): the default chain
    # reaches IMDS at the endpoint the tag names.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", plane.sts_url)
    session = boto3.Session(region_name="us-west-2")
    assert session.get_credentials().method == "iam-role"
    assert session.client("sts", config=NO_RETRY).get_caller_identity()["Arn"] == on_instance_arn

    # Refusals: neither of the role's policies allows IAM or EC2 calls.
    role_iam = client(plane, "iam", frozen.access_key, frozen.secret_key, frozen.token, region="us-east-1")
    with pytest.raises(ClientError) as e:
        role_iam.list_roles()
    status, code, message = error_of(e)
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: {on_instance_arn} is not authorized to perform: iam:ListRoles on resource: ")
    assert message.endswith(" because no identity-based policy allows the iam:ListRoles action")
    with pytest.raises(ClientError) as e:
        client(plane, "ec2", *as_role).terminate_instances(InstanceIds=[instance])
    status, code, message = error_of(e)
    assert (status, code) == (403, "UnauthorizedOperation")
    assert f"User: {assumed_arn} is not authorized to perform: ec2:TerminateInstances" in message
    # A caller the trust policy does not name.
    with pytest.raises(ClientError) as e:
        client(plane, "sts", "AKIAIOSFODNN7EXAMPLE",
               "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").assume_role(RoleArn=ROLE_ARN, RoleSessionName="not-trusted")
    assert error_of(e)[:2] == (403, "AccessDenied")

    # Delete paths. A role in an instance profile cannot be deleted (IAM's DeleteConflict).
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=ROLE)
    assert error_of(e)[:2] == (409, "DeleteConflict")
    iam.remove_role_from_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    # awsid refuses to delete a profile a running instance holds (COMPATIBILITY.md).
    with pytest.raises(ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName=PROFILE)
    assert error_of(e) == (409, "DeleteConflict",
                           "Cannot delete entity, a running instance is associated with this instance profile.")
    ec2.terminate_instances(InstanceIds=[instance])
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["State"]["Name"] == "terminated"
    # The terminated instance's metadata service is gone with it.
    gone = InstanceMetadataProvider(
        iam_role_fetcher=InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=imds, env={})).load()
    assert gone is None
    # Once it is terminated, the profile it held can go (it once failed: the terminated
    # instance's reference made the world invalid).
    iam.delete_instance_profile(InstanceProfileName=PROFILE)
    assert ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance]}])["IamInstanceProfileAssociations"] == []
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=policy_arn)
    iam.delete_policy(PolicyArn=policy_arn)
    iam.delete_role_policy(RoleName=ROLE, PolicyName=INLINE)
    iam.delete_role(RoleName=ROLE)
    for call in (lambda: iam.get_role(RoleName=ROLE),
                 lambda: iam.get_instance_profile(InstanceProfileName=PROFILE),
                 lambda: iam.get_policy(PolicyArn=policy_arn)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[:2] == (404, "NoSuchEntity")
    with pytest.raises(ClientError) as e:
        client(plane, "sts", *USER1_KEY).assume_role(RoleArn=ROLE_ARN, RoleSessionName="after-delete")
    assert error_of(e)[:2] == (403, "AccessDenied")


def test_boto3_iam_refuses_a_user_without_permission(plane):
    """user1 may only assume roles: CreateRole is refused with IAM's text, nothing is created."""
    with pytest.raises(ClientError) as e:
        client(plane, "iam", *USER1_KEY, region="us-east-1").create_role(
            RoleName="not-allowed", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert error_of(e) == (
        403, "AccessDenied",
        f"User: {USER1_ARN} is not authorized to perform: iam:CreateRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/not-allowed because no identity-based policy allows the iam:CreateRole action")
    with pytest.raises(ClientError) as e:
        admin(plane, "iam").get_role(RoleName="not-allowed")
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    # An existing role or user is printed `role NAME` / `user NAME`, as IAM's refusals do
    # (`iam:GetRole on resource: role helloworld-dev`, aws/chalice#591).
    user1_iam = client(plane, "iam", *USER1_KEY, region="us-east-1")
    for call, action, shown in [
        (lambda: user1_iam.get_role(RoleName="marketingadminrole"), "iam:GetRole", "role marketingadminrole"),
        (lambda: user1_iam.get_user(UserName="user1"), "iam:GetUser", "user user1"),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == (
            403, "AccessDenied",
            f"User: {USER1_ARN} is not authorized to perform: {action} on resource: {shown} "
            f"because no identity-based policy allows the {action} action")


def test_boto3_run_instances_needs_pass_role(plane):
    """A caller allowed ec2:RunInstances but not iam:PassRole cannot launch with a profile."""
    iam = admin(plane, "iam")
    iam.create_user(UserName="launcher")
    iam.put_user_policy(UserName="launcher", PolicyName="run", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="launcher")["AccessKey"]
    ec2 = client(plane, "ec2", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1,
                          IamInstanceProfile={"Name": "my-instance-profile"})
    status, code, message = error_of(e)
    assert (status, code) == (403, "UnauthorizedOperation")
    assert f"User: arn:aws:iam::{ACCOUNT}:user/launcher is not authorized to perform: iam:PassRole" in message
    # The encoded message decodes with STS DecodeAuthorizationMessage, as on AWS: for a caller
    # of the account allowed sts:DecodeAuthorizationMessage (the administrator), not for the
    # launcher (no such permission), and a changed or foreign message is refused.
    encoded = message.split("Encoded authorization failure message: ", 1)[1]
    assert "PassRole" not in encoded
    decoded = json.loads(admin(plane, "sts").decode_authorization_message(
        EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["action"] == "iam:PassRole"
    assert decoded["context"]["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/launcher"
    assert decoded["context"]["principal"]["name"] == "launcher"
    assert decoded["context"]["resource"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    keys = {c["key"].lower() for c in decoded["context"]["conditions"]["items"]}
    assert "aws:username" in keys
    with pytest.raises(ClientError) as e:
        client(plane, "sts", key["AccessKeyId"], key["SecretAccessKey"]).decode_authorization_message(
            EncodedMessage=encoded)
    assert error_of(e)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        admin(plane, "sts").decode_authorization_message(EncodedMessage=encoded[:-4] + "AAAA")
    assert error_of(e)[:2] == (400, "InvalidAuthorizationMessageException")
    # Without a profile the same caller may launch.
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1)
    instance = run["Instances"][0]["InstanceId"]
    assert "IamInstanceProfile" not in run["Instances"][0]
    admin(plane, "ec2").terminate_instances(InstanceIds=[instance])
    iam.delete_access_key(UserName="launcher", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="launcher", PolicyName="run")
    iam.delete_user(UserName="launcher")


def test_boto3_dry_run_changes_nothing(plane):
    """EC2's DryRun checks permission only: 412 DryRunOperation and no change, on every action
    that has the flag (it used to terminate the instance and apply metadata options)."""
    ec2 = admin(plane, "ec2")
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1)
    instance = run["Instances"][0]["InstanceId"]
    before = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert before["State"]["Name"] == "running"
    tokens = before["MetadataOptions"]["HttpTokens"]
    wanted = "optional" if tokens == "required" else "required"
    calls = {
        "RunInstances": lambda: ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small",
                                                  MinCount=1, MaxCount=1, DryRun=True),
        "DescribeInstances": lambda: ec2.describe_instances(InstanceIds=[instance], DryRun=True),
        "TerminateInstances": lambda: ec2.terminate_instances(InstanceIds=[instance], DryRun=True),
        "ModifyInstanceMetadataOptions": lambda: ec2.modify_instance_metadata_options(
            InstanceId=instance, HttpTokens=wanted, DryRun=True),
        "CreateLaunchTemplate": lambda: ec2.create_launch_template(
            LaunchTemplateName="dry-run-template", DryRun=True,
            LaunchTemplateData={"ImageId": "ami-baba68d3"}),
        "DescribeLaunchTemplates": lambda: ec2.describe_launch_templates(DryRun=True),
        "DeleteLaunchTemplate": lambda: ec2.delete_launch_template(
            LaunchTemplateName="dry-run-template", DryRun=True),
    }
    count = len(ec2.describe_instances()["Reservations"])
    for action, call in calls.items():
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == (412, "DryRunOperation",
                               "Request would have succeeded, but DryRun flag is set."), action
    after = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert after["State"]["Name"] == "running"
    assert after["MetadataOptions"]["HttpTokens"] == tokens
    assert len(ec2.describe_instances()["Reservations"]) == count
    assert all(t["LaunchTemplateName"] != "dry-run-template"
               for t in ec2.describe_launch_templates()["LaunchTemplates"])
    # Without permission the dry run is the refusal itself.
    with pytest.raises(ClientError) as e:
        client(plane, "ec2", *USER1_KEY).terminate_instances(InstanceIds=[instance], DryRun=True)
    assert error_of(e)[:2] == (403, "UnauthorizedOperation")
    ec2.terminate_instances(InstanceIds=[instance])


def test_boto3_tag_keys_imds_cannot_serve(plane):
    """EC2 tag keys may hold spaces; IMDS serves only its own alphabet, so turning on instance
    metadata tags is refused while such a key exists (it used to be a 500 ServiceFailure)."""
    ec2 = admin(plane, "ec2")
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "Cost Center", "Value": "a/b"}]}])
    instance = run["Instances"][0]["InstanceId"]
    tags = {t["Key"]: t["Value"] for t in run["Instances"][0]["Tags"]}
    assert tags["Cost Center"] == "a/b"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_metadata_options(InstanceId=instance, InstanceMetadataTags="enabled")
    status, code, message = error_of(e)
    assert (status, code) == (400, "InvalidParameterValue")
    assert '"Cost Center"' in message
    got = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert got["MetadataOptions"]["InstanceMetadataTags"] == "disabled"
    ec2.terminate_instances(InstanceIds=[instance])


def test_boto3_ec2_filters_are_served_or_refused(plane):
    """Served filters narrow the answer; a filter name awsid does not serve is refused with
    EC2's InvalidParameterValue instead of matching every instance -- in AWS's words when AWS
    does not know the name either ("The filter 'public-ip' is invalid", boto3 issue #1299),
    saying awsid does not serve it when AWS does."""
    ec2 = admin(plane, "ec2")
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "team", "Value": "filters-test"}]}])
    instance = run["Instances"][0]["InstanceId"]
    try:
        def ids(filters):
            return [i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"]
                    for i in r["Instances"]]

        assert ids([{"Name": "tag:team", "Values": ["filters-*"]}]) == [instance]
        assert ids([{"Name": "tag:team", "Values": ["other"]}]) == []
        assert instance in ids([{"Name": "instance-state-name", "Values": ["running"]}])
        for name, words in [
            ("public-ip", "The filter 'public-ip' is invalid"),
            ("vpc-id", "The filter 'vpc-id' is not supported by awsid serve (it serves instance-id,"),
        ]:
            with pytest.raises(ClientError) as e:
                ec2.describe_instances(Filters=[{"Name": name, "Values": ["x"]}])
            status, code, message = error_of(e)
            assert (status, code) == (400, "InvalidParameterValue")
            assert message.startswith(words), message
        with pytest.raises(ClientError) as e:
            ec2.describe_iam_instance_profile_associations(Filters=[{"Name": "instance", "Values": ["x"]}])
        assert error_of(e) == (400, "InvalidParameterValue", "The filter 'instance' is invalid")
        with pytest.raises(ClientError) as e:
            ec2.describe_launch_templates(Filters=[{"Name": "tag-key", "Values": ["x"]}])
        assert error_of(e)[2].startswith(
            "The filter 'tag-key' is not supported by awsid serve (it serves launch-template-name)")
        assert ec2.describe_launch_templates(
            Filters=[{"Name": "launch-template-name", "Values": ["no-such-*"]}])["LaunchTemplates"] == []
    finally:
        ec2.terminate_instances(InstanceIds=[instance])


def test_boto3_launch_templates_name_their_creator_and_missing_ones(plane):
    """`CreatedBy` is the creator's ARN whoever describes the template (it used to be the
    describing caller's); a template asked for by name or id that does not exist is EC2's
    NotFound error (Karpenter creates its templates on that code), not an empty list."""
    ec2, iam = admin(plane, "ec2"), admin(plane, "iam")
    creator = admin(plane, "sts").get_caller_identity()["Arn"]
    name = "created-by-test"
    made = ec2.create_launch_template(LaunchTemplateName=name,
                                      LaunchTemplateData={"ImageId": "ami-baba68d3"})["LaunchTemplate"]
    assert made["CreatedBy"] == creator
    iam.create_user(UserName="lt-reader")
    try:
        iam.put_user_policy(UserName="lt-reader", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeLaunchTemplates", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="lt-reader")["AccessKey"]
        reader = client(plane, "ec2", key["AccessKeyId"], key["SecretAccessKey"])
        seen = reader.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
        assert [(t["LaunchTemplateId"], t["CreatedBy"]) for t in seen] == [(made["LaunchTemplateId"], creator)]
        with pytest.raises(ClientError) as e:
            reader.describe_launch_templates(LaunchTemplateNames=[name, "no-such-template"])
        assert error_of(e) == (400, "InvalidLaunchTemplateName.NotFoundException",
                               "At least one of the launch templates specified in the request does not exist.")
        with pytest.raises(ClientError) as e:
            reader.describe_launch_templates(LaunchTemplateIds=["lt-0123456789abcdef0"])
        assert error_of(e)[:2] == (400, "InvalidLaunchTemplateId.NotFound")
        iam.delete_access_key(UserName="lt-reader", AccessKeyId=key["AccessKeyId"])
        iam.delete_user_policy(UserName="lt-reader", PolicyName="read")
    finally:
        iam.delete_user(UserName="lt-reader")
        ec2.delete_launch_template(LaunchTemplateName=name)


def test_boto3_delete_launch_template_is_authorized_on_the_template(plane):
    """DeleteLaunchTemplate is evaluated on the template's ARN (resource type
    `launch-template`), so a policy naming one template deletes that one only (it was
    evaluated on `*`: such a policy allowed nothing)."""
    ec2 = admin(plane, "ec2")
    mine = ec2.create_launch_template(LaunchTemplateName="scoped-delete-mine",
                                      LaunchTemplateData={"ImageId": "ami-baba68d3"})["LaunchTemplate"]
    other = ec2.create_launch_template(LaunchTemplateName="scoped-delete-other",
                                       LaunchTemplateData={"ImageId": "ami-baba68d3"})["LaunchTemplate"]
    account = admin(plane, "sts").get_caller_identity()["Account"]
    allow = {"Effect": "Allow", "Action": "ec2:DeleteLaunchTemplate",
             "Resource": f"arn:aws:ec2:*:{account}:launch-template/{mine['LaunchTemplateId']}"}
    try:
        with user_allowed(plane, "lt-deleter", allow, "ec2") as deleter:
            with pytest.raises(ClientError) as e:
                deleter.delete_launch_template(LaunchTemplateId=other["LaunchTemplateId"])
            assert error_of(e)[:2] == (403, "UnauthorizedOperation")
            # By name too: the template it names is what is authorized.
            gone = deleter.delete_launch_template(LaunchTemplateName="scoped-delete-mine")["LaunchTemplate"]
            assert gone["LaunchTemplateId"] == mine["LaunchTemplateId"]
    finally:
        ec2.delete_launch_template(LaunchTemplateId=other["LaunchTemplateId"])
        try:
            ec2.delete_launch_template(LaunchTemplateId=mine["LaunchTemplateId"])
        except ClientError:
            pass


def test_boto3_delete_launch_configuration_is_authorized_on_the_configuration(plane):
    """DeleteLaunchConfiguration is evaluated on the configuration's ARN (resource type
    `launchConfiguration`), so a policy naming one configuration deletes that one only (it was
    evaluated on `*`)."""
    asg = client(plane, "autoscaling", *ADMIN_KEY)
    for name in ("scoped-lc-mine", "scoped-lc-other"):
        asg.create_launch_configuration(LaunchConfigurationName=name, ImageId="ami-baba68d3",
                                        InstanceType="m1.small")
    allow = {"Effect": "Allow", "Action": "autoscaling:DeleteLaunchConfiguration",
             "Resource": f"arn:aws:autoscaling:*:{ACCOUNT}:launchConfiguration:*"
                         ":launchConfigurationName/scoped-lc-mine"}
    try:
        with user_allowed(plane, "lc-deleter", allow, "autoscaling") as deleter:
            with pytest.raises(ClientError) as e:
                deleter.delete_launch_configuration(LaunchConfigurationName="scoped-lc-other")
            assert error_of(e)[:2] == (403, "AccessDenied")
            assert "launchConfigurationName/scoped-lc-other" in error_of(e)[2]
            deleter.delete_launch_configuration(LaunchConfigurationName="scoped-lc-mine")
        left = asg.describe_launch_configurations(
            LaunchConfigurationNames=["scoped-lc-mine", "scoped-lc-other"])["LaunchConfigurations"]
        assert [c["LaunchConfigurationName"] for c in left] == ["scoped-lc-other"]
    finally:
        for name in ("scoped-lc-mine", "scoped-lc-other"):
            try:
                asg.delete_launch_configuration(LaunchConfigurationName=name)
            except ClientError:
                pass


def test_boto3_paginates_ec2_and_auto_scaling_lists(plane):
    """DescribeInstances, DescribeLaunchTemplates and DescribeAutoScalingGroups cut pages at
    MaxResults / MaxRecords with a NextToken (they used to answer everything at once), boto3's
    paginators walk them, and the sizes and combinations EC2 refuses are refused."""
    ec2, asg = admin(plane, "ec2"), client(plane, "autoscaling", *ADMIN_KEY)
    run = ec2.run_instances(ImageId="ami-baba68d3", InstanceType="m1.small", MinCount=6, MaxCount=6,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "paging", "Value": "yes"}]}])
    launched = sorted(i["InstanceId"] for i in run["Instances"])
    lt = ec2.create_launch_template(LaunchTemplateName="paging-template",
                                    LaunchTemplateData={"ImageId": "ami-baba68d3"})["LaunchTemplate"]
    groups = [f"paging-group-{n}" for n in range(3)]
    try:
        mine = [{"Name": "tag:paging", "Values": ["yes"]}]
        first = ec2.describe_instances(Filters=mine, MaxResults=5)
        assert sum(len(r["Instances"]) for r in first["Reservations"]) == 5 and first["NextToken"]
        seen = [i["InstanceId"]
                for page in ec2.get_paginator("describe_instances").paginate(
                    Filters=mine, PaginationConfig={"PageSize": 5})
                for r in page["Reservations"] for i in r["Instances"]]
        assert sorted(seen) == launched
        for kwargs, want in [
            ({"MaxResults": 4}, (400, "InvalidParameterValue",
                                 "Value ( 4 ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.")),
            ({"MaxResults": 5, "InstanceIds": launched[:1]}, (400, "InvalidParameterCombination",
                                                              "The parameter instancesSet cannot be used with the parameter maxResults")),
            ({"NextToken": "not-a-token"}, (400, "InvalidPaginationToken",
                                            "The specified pagination token is not valid or is expired.")),
        ]:
            with pytest.raises(ClientError) as e:
                ec2.describe_instances(**kwargs)
            assert error_of(e) == want
        page = ec2.describe_launch_templates(MaxResults=1)
        assert len(page["LaunchTemplates"]) == 1
        versions = ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"], MaxResults=1)
        assert [v["VersionNumber"] for v in versions["LaunchTemplateVersions"]] == [1]
        assert "NextToken" not in versions
        with pytest.raises(ClientError) as e:
            ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"], MaxResults=201)
        assert error_of(e)[:2] == (400, "InvalidParameterValue")
        with pytest.raises(ClientError) as e:
            asg.describe_auto_scaling_instances(MaxRecords=51)
        assert error_of(e)[:2] == (400, "ValidationError")
        assert asg.describe_launch_configurations(MaxRecords=1)["LaunchConfigurations"] is not None
        for g in groups:
            asg.create_auto_scaling_group(
                AutoScalingGroupName=g, MinSize=0, MaxSize=1,
                LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Latest"},
                AvailabilityZones=["us-west-2a"])
        page = asg.describe_auto_scaling_groups(AutoScalingGroupNames=groups, MaxRecords=2)
        assert [g["AutoScalingGroupName"] for g in page["AutoScalingGroups"]] == groups[:2]
        rest = asg.describe_auto_scaling_groups(AutoScalingGroupNames=groups, NextToken=page["NextToken"])
        assert [g["AutoScalingGroupName"] for g in rest["AutoScalingGroups"]] == groups[2:]
        assert "NextToken" not in rest
        with pytest.raises(ClientError) as e:
            asg.describe_auto_scaling_groups(MaxRecords=101)
        assert error_of(e)[:2] == (400, "ValidationError")
    finally:
        for g in groups:
            try:
                asg.delete_auto_scaling_group(AutoScalingGroupName=g, ForceDelete=True)
            except ClientError:
                pass
        ec2.delete_launch_template(LaunchTemplateId=lt["LaunchTemplateId"])
        ec2.terminate_instances(InstanceIds=launched)


def test_boto3_paginates_iam_lists(plane):
    """IAM's Marker/MaxItems pages, followed by boto3's own paginators, give every item once."""
    iam = admin(plane, "iam")
    for op, key, name in [("list_roles", "Roles", "RoleName"), ("list_users", "Users", "UserName"),
                          ("list_instance_profiles", "InstanceProfiles", "InstanceProfileName"),
                          ("list_policies", "Policies", "PolicyName")]:
        whole = getattr(iam, op)(MaxItems=1000)
        assert whole["IsTruncated"] is False and "Marker" not in whole, op
        everything = [x[name] for x in whole[key]]
        assert len(everything) >= 1, op
        first = getattr(iam, op)(MaxItems=1)
        assert [x[name] for x in first[key]] == everything[:1], op
        assert first["IsTruncated"] is (len(everything) > 1), op
        pages = list(iam.get_paginator(op).paginate(PaginationConfig={"PageSize": 2}))
        assert [x[name] for p in pages for x in p[key]] == everything, op
        assert len(pages) == (len(everything) + 1) // 2, op
    with pytest.raises(ClientError) as e:
        iam.list_roles(MaxItems=1001)
    assert error_of(e)[:2] == (400, "ValidationError")


def test_boto3_launch_template_with_a_profile_feeds_an_auto_scaling_group(plane):
    """Issue 12 item 3: a launch template carrying an instance profile (EC2's
    CreateLaunchTemplate / DescribeLaunchTemplateVersions / DeleteLaunchTemplate) and an Auto
    Scaling group launched from it; each of the group's instances serves the role over IMDS."""
    iam, ec2, asg = admin(plane, "iam"), admin(plane, "ec2"), admin(plane, "autoscaling")
    role, profile = "boto3-lt-role", "boto3-lt-profile"
    ec2_trust = {"Version": "2012-10-17", "Statement": [TRUST["Statement"][0]]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(ec2_trust))
    profile_arn = iam.create_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)

    lt = ec2.create_launch_template(
        LaunchTemplateName="boto3-lt",
        LaunchTemplateData={"ImageId": "ami-baba68d3", "InstanceType": "m1.small",
                            "IamInstanceProfile": {"Name": profile}})["LaunchTemplate"]
    assert lt["LaunchTemplateName"] == "boto3-lt" and lt["LaunchTemplateId"].startswith("lt-")
    assert (lt["DefaultVersionNumber"], lt["LatestVersionNumber"]) == (1, 1)
    versions = ec2.describe_launch_template_versions(LaunchTemplateName="boto3-lt")["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["LaunchTemplateData"]["IamInstanceProfile"].get("Name")) for v in versions] \
        == [(1, profile)]
    with pytest.raises(ClientError) as e:
        ec2.create_launch_template(LaunchTemplateName="boto3-lt", LaunchTemplateData={"ImageId": "ami-baba68d3"})
    assert error_of(e)[:2] == (400, "InvalidLaunchTemplateName.AlreadyExistsException")
    with pytest.raises(ClientError) as e:
        ec2.describe_launch_template_versions(LaunchTemplateId="lt-0000000000000000")
    assert error_of(e) == (400, "InvalidLaunchTemplateId.NotFound",
                           "The specified launch template, with template ID lt-0000000000000000, does not exist.")

    asg.create_auto_scaling_group(
        AutoScalingGroupName="boto3-lt-group", MinSize=2, MaxSize=2,
        LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Latest"},
        AvailabilityZones=["us-west-2a"])
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["boto3-lt-group"])["AutoScalingGroups"][0]
    assert group["LaunchTemplate"]["LaunchTemplateId"] == lt["LaunchTemplateId"]
    ids = [i["InstanceId"] for i in group["Instances"]]
    assert len(ids) == 2
    described = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert {i["IamInstanceProfile"]["Arn"] for i in described} == {profile_arn}
    for i in described:
        imds = {t["Key"]: t["Value"] for t in i["Tags"]}["awsid:imds-endpoint"]
        fetcher = InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=imds, env={})
        creds = InstanceMetadataProvider(iam_role_fetcher=fetcher).load().get_frozen_credentials()
        assert client(plane, "sts", creds.access_key, creds.secret_key, creds.token).get_caller_identity()["Arn"] \
            == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{i['InstanceId']}"

    for desired, side, bound in ((3, "above", "max"), (1, "below", "min")):
        with pytest.raises(ClientError) as e:
            asg.set_desired_capacity(AutoScalingGroupName="boto3-lt-group", DesiredCapacity=desired)
        assert error_of(e) == (400, "ValidationError",
                               f"New SetDesiredCapacity value {desired} is {side} {bound} value 2.")

    asg.delete_auto_scaling_group(AutoScalingGroupName="boto3-lt-group", ForceDelete=True)
    ec2.delete_launch_template(LaunchTemplateName="boto3-lt")
    with pytest.raises(ClientError) as e:
        ec2.describe_launch_template_versions(LaunchTemplateName="boto3-lt")
    assert error_of(e)[:2] == (400, "InvalidLaunchTemplateId.NotFound")
