"""Seed 003 end to end with the unmodified aws CLI (awscli 1.45.11) against `awsid serve`: a
role with an EC2 trust policy, an instance profile holding it, the seed's launch configuration
verbatim, an Auto Scaling group whose instance gets its own IMDS, credentials on that
instance with `credential_source = Ec2InstanceMetadata` and with no profile at all, a
replaced association carried by the next fetch, and a restart that keeps everything.

Also: SimulatePrincipalPolicy's three answers for seed 002's policy, RunInstances refused
without iam:PassRole, IAM's AccessDenied naming the action, access keys made through IAM
surviving a restart, and Debian's aws v2 binary on the same APIs where it runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from serve_fixtures import ACCOUNT, USER1_KEY, run_aws, start_server, stop_server, write_aws_files

ADMIN_KEY = ("AKIAAWSIDADMIN000001", "awsidAdminSecretKeyEXAMPLEEXAMPLEKEY0001")
EC2_TRUST = (
    '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Principal": '
    '{ "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole" } ] }'
)
# Seed 002's permission policy, verbatim.
S3_READ = (
    '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": ["s3:GetObject"], '
    '"Resource": ["arn:aws:s3:::examplebucket/*"] } ] }'
)
SERVICE_ERROR_EXIT = 255  # awscli v1


def aws_json(aws_bin: Path, env: dict, *args: str) -> dict:
    r = run_aws(aws_bin, env, *args, "--output", "json")
    assert r.returncode == 0, f"aws {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout) if r.stdout.strip() else {}


def admin_env(served, home: Path, **extra: str) -> dict:
    """The administrator's profile from `serve`'s sample files, every service at the server."""
    write_aws_files(
        home,
        config="[profile admin]\nregion = us-west-2\n",
        credentials=f"[admin]\naws_access_key_id = {ADMIN_KEY[0]}\naws_secret_access_key = {ADMIN_KEY[1]}\n",
    )
    return served.client_env(home, AWS_PROFILE="admin", AWS_ENDPOINT_URL=served.sts_url, **extra)


def ready(served) -> dict:
    return json.loads((served.workdir / "ready.json").read_text())


def on_instance(served, home: Path, instance: str, config: str | None = None) -> dict:
    """An environment on `instance`: IMDS at its endpoint from the ready file, STS at the server."""
    write_aws_files(home, config=config if config is not None else "")
    imds = ready(served)["imds"][instance]
    return served.client_env(
        home,
        AWS_EC2_METADATA_DISABLED="false",
        AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://{imds}/",
        AWS_DEFAULT_REGION="us-west-2",
    )


@pytest.fixture(scope="module")
def plane(awsid_bin: Path, tmp_path_factory):
    """`awsid serve` on the default world, with its own state directory, for the module."""
    s = start_server(awsid_bin, tmp_path_factory.mktemp("world-apis"))
    yield s
    stop_server(s)


def test_seed003_end_to_end_and_restart(awsid_bin: Path, aws_bin: Path, tmp_path: Path):
    world_dir = tmp_path / "serve"
    served = start_server(awsid_bin, world_dir)
    try:
        env = admin_env(served, tmp_path / "admin")
        (tmp_path / "trust.json").write_text(EC2_TRUST)
        role = aws_json(aws_bin, env, "iam", "create-role", "--role-name", "seed003-app",
                        "--assume-role-policy-document", f"file://{tmp_path / 'trust.json'}")["Role"]
        assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/seed003-app"
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
        aws_json(aws_bin, env, "iam", "put-role-policy", "--role-name", "seed003-app",
                 "--policy-name", "s3-read", "--policy-document", S3_READ)
        aws_json(aws_bin, env, "iam", "create-instance-profile", "--instance-profile-name", "seed003-profile")
        aws_json(aws_bin, env, "iam", "add-role-to-instance-profile",
                 "--instance-profile-name", "seed003-profile", "--role-name", "seed003-app")
        # IAM allows one role per instance profile.
        r = run_aws(aws_bin, env, "iam", "add-role-to-instance-profile",
                    "--instance-profile-name", "seed003-profile", "--role-name", "seed003-app")
        assert r.returncode == SERVICE_ERROR_EXIT
        assert "(LimitExceeded)" in r.stderr and "InstanceSessionsPerInstanceProfile: 1" in r.stderr
        profile = aws_json(aws_bin, env, "iam", "get-instance-profile",
                           "--instance-profile-name", "seed003-profile")["InstanceProfile"]
        assert [x["RoleName"] for x in profile["Roles"]] == ["seed003-app"]

        # Seed 003's command, verbatim (the default world's my-instance-profile).
        r = run_aws(aws_bin, env, "autoscaling", "create-launch-configuration",
                    "--launch-configuration-name", "my-lc-with-instance-profile",
                    "--image-id", "ami-baba68d3", "--instance-type", "m1.small",
                    "--iam-instance-profile", "my-instance-profile")
        assert r.returncode == 0, r.stderr
        aws_json(aws_bin, env, "autoscaling", "create-launch-configuration",
                 "--launch-configuration-name", "seed003-lc", "--image-id", "ami-baba68d3",
                 "--instance-type", "m1.small", "--iam-instance-profile", "seed003-profile")
        lcs = aws_json(aws_bin, env, "autoscaling", "describe-launch-configurations")["LaunchConfigurations"]
        verbatim = next(lc for lc in lcs if lc["LaunchConfigurationName"] == "my-lc-with-instance-profile")
        assert (verbatim["ImageId"], verbatim["InstanceType"], verbatim["IamInstanceProfile"]) == (
            "ami-baba68d3", "m1.small", "my-instance-profile")
        aws_json(aws_bin, env, "autoscaling", "create-auto-scaling-group",
                 "--auto-scaling-group-name", "seed003-asg", "--launch-configuration-name", "seed003-lc",
                 "--min-size", "1", "--max-size", "3", "--desired-capacity", "1",
                 "--availability-zones", "us-west-2a")
        group = aws_json(aws_bin, env, "autoscaling", "describe-auto-scaling-groups",
                         "--auto-scaling-group-names", "seed003-asg")["AutoScalingGroups"][0]
        assert len(group["Instances"]) == 1
        instance = group["Instances"][0]["InstanceId"]
        # Its metadata address: the DescribeInstances tag and the ready file agree.
        desc = aws_json(aws_bin, env, "ec2", "describe-instances", "--instance-ids", instance)
        inst = desc["Reservations"][0]["Instances"][0]
        tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
        assert tags["aws:autoscaling:groupName"] == "seed003-asg"
        assert tags["awsid:imds-endpoint"] == f"http://{ready(served)['imds'][instance]}/"
        assert inst["IamInstanceProfile"]["Arn"] == profile["Arn"]
        assert inst["State"]["Name"] == "running"

        # On the instance: no profile at all, and credential_source = Ec2InstanceMetadata.
        aws_json(aws_bin, env, "iam", "create-role", "--role-name", "seed003-target",
                 "--assume-role-policy-document",
                 json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Principal": {"AWS": role["Arn"]}}]}))
        box = tmp_path / "instance"
        plain = on_instance(served, box, instance)
        who = aws_json(aws_bin, plain, "sts", "get-caller-identity")
        assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/seed003-app/{instance}"
        chained = on_instance(served, box, instance, config=(
            f"[profile target]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/seed003-target\n"
            "credential_source = Ec2InstanceMetadata\nregion = us-west-2\n"))
        who = aws_json(aws_bin, chained, "sts", "get-caller-identity", "--profile", "target")
        assert who["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/seed003-target/botocore-session-")

        # Replace the association: the next credential fetch carries the new role.
        assoc = aws_json(aws_bin, env, "ec2", "describe-iam-instance-profile-associations",
                         "--filters", f"Name=instance-id,Values={instance}")["IamInstanceProfileAssociations"]
        assert len(assoc) == 1 and assoc[0]["State"] == "associated"
        replaced = aws_json(aws_bin, env, "ec2", "replace-iam-instance-profile-association",
                            "--association-id", assoc[0]["AssociationId"],
                            "--iam-instance-profile", "Name=my-instance-profile")["IamInstanceProfileAssociation"]
        assert replaced["AssociationId"] != assoc[0]["AssociationId"]
        who = aws_json(aws_bin, on_instance(served, box, instance), "sts", "get-caller-identity")
        assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/my-instance-profile/{instance}"

        # Metadata options apply at once: IMDSv1 is refused after HttpTokens=required (the CLI
        # uses v2 and still works).
        modified = aws_json(aws_bin, env, "ec2", "modify-instance-metadata-options", "--instance-id",
                            instance, "--http-tokens", "required", "--http-put-response-hop-limit", "2")
        # The answer says `pending` as EC2's does for a running instance; describing shows
        # `applied` (awsid applies the change at once).
        assert modified["InstanceMetadataOptions"]["State"] == "pending"
        assert modified["InstanceMetadataOptions"]["HttpTokens"] == "required"
        described = aws_json(aws_bin, env, "ec2", "describe-instances", "--instance-ids", instance)
        options = described["Reservations"][0]["Instances"][0]["MetadataOptions"]
        assert (options["State"], options["HttpPutResponseHopLimit"]) == ("applied", 2)
        import urllib.error
        import urllib.request
        imds = ready(served)["imds"][instance]
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://{imds}/latest/meta-data/instance-id", timeout=10)
        assert e.value.code == 401
        who = aws_json(aws_bin, on_instance(served, box, instance), "sts", "get-caller-identity")
        assert who["Arn"].endswith(f"/my-instance-profile/{instance}")

        # An access key made through IAM, used now and after the restart.
        key = aws_json(aws_bin, env, "iam", "create-access-key", "--user-name", "user1")["AccessKey"]
        assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
        keyed = served.client_env(tmp_path / "k", AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                                  AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], AWS_DEFAULT_REGION="us-east-1")
        assert aws_json(aws_bin, keyed, "sts", "get-caller-identity")["Arn"].endswith(":user/user1")

        # Restart: everything is still there, the instance answers on the same address.
        old_imds = ready(served)["imds"][instance]
    finally:
        if served.process.poll() is None:
            stop_server(served)
    again = start_server(awsid_bin, world_dir)
    try:
        assert "(resumed)" in again.stdout_text
        assert again.imds[instance] == old_imds
        env2 = admin_env(again, tmp_path / "admin2")
        assert aws_json(aws_bin, env2, "iam", "get-role", "--role-name", "seed003-app")["Role"]["Arn"] == role["Arn"]
        group = aws_json(aws_bin, env2, "autoscaling", "describe-auto-scaling-groups",
                         "--auto-scaling-group-names", "seed003-asg")["AutoScalingGroups"][0]
        assert [i["InstanceId"] for i in group["Instances"]] == [instance]
        who = aws_json(aws_bin, on_instance(again, box, instance), "sts", "get-caller-identity")
        assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/my-instance-profile/{instance}"
        keys = aws_json(aws_bin, env2, "iam", "list-access-keys", "--user-name", "user1")["AccessKeyMetadata"]
        assert key["AccessKeyId"] in [k["AccessKeyId"] for k in keys]
        keyed = again.client_env(tmp_path / "k2", AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                                 AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], AWS_DEFAULT_REGION="us-east-1")
        assert aws_json(aws_bin, keyed, "sts", "get-caller-identity")["Arn"].endswith(":user/user1")
        # Scaling to zero terminates the instance and stops its IMDS.
        aws_json(aws_bin, env2, "autoscaling", "update-auto-scaling-group",
                 "--auto-scaling-group-name", "seed003-asg", "--min-size", "0", "--desired-capacity", "0")
        desc = aws_json(aws_bin, env2, "ec2", "describe-instances", "--instance-ids", instance)
        assert desc["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
        assert instance not in ready(again)["imds"]
    finally:
        stop_server(again)


def test_simulate_principal_policy_answers_like_iam(plane, aws_bin: Path, tmp_path: Path):
    env = admin_env(plane, tmp_path)
    role = f"arn:aws:iam::{ACCOUNT}:role/my-instance-profile"

    def decide(source: str, action: str, resource: str) -> tuple[str, list]:
        out = aws_json(aws_bin, env, "iam", "simulate-principal-policy", "--policy-source-arn", source,
                       "--action-names", action, "--resource-arns", resource)
        r = out["EvaluationResults"][0]
        return r["EvalDecision"], [m["SourcePolicyId"] for m in r.get("MatchedStatements", [])]

    assert decide(role, "s3:GetObject", "arn:aws:s3:::examplebucket/key.txt") == ("allowed", ["policy-1"])
    assert decide(role, "s3:GetObject", "arn:aws:s3:::otherbucket/key.txt") == ("implicitDeny", [])
    assert decide(role, "s3:PutObject", "arn:aws:s3:::examplebucket/key.txt") == ("implicitDeny", [])
    aws_json(aws_bin, env, "iam", "put-role-policy", "--role-name", "my-instance-profile",
             "--policy-name", "no-secrets", "--policy-document",
             '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject",'
             '"Resource":"arn:aws:s3:::examplebucket/secret/*"}}')
    assert decide(role, "s3:GetObject", "arn:aws:s3:::examplebucket/secret/k") == ("explicitDeny", ["no-secrets"])
    assert decide(role, "s3:GetObject", "arn:aws:s3:::examplebucket/public/k") == ("allowed", ["policy-1"])
    aws_json(aws_bin, env, "iam", "delete-role-policy", "--role-name", "my-instance-profile",
             "--policy-name", "no-secrets")
    # A user with the AWS managed AdministratorAccess policy.
    admin = f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert decide(admin, "ec2:RunInstances", "*") == ("allowed", ["AdministratorAccess"])


def test_run_instances_needs_pass_role(plane, aws_bin: Path, tmp_path: Path):
    env = admin_env(plane, tmp_path / "admin")
    aws_json(aws_bin, env, "iam", "create-user", "--user-name", "launcher")
    aws_json(aws_bin, env, "iam", "put-user-policy", "--user-name", "launcher", "--policy-name", "ec2",
             "--policy-document", '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}')
    key = aws_json(aws_bin, env, "iam", "create-access-key", "--user-name", "launcher")["AccessKey"]
    launcher = plane.client_env(tmp_path / "l", AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                                AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], AWS_DEFAULT_REGION="us-west-2",
                                AWS_ENDPOINT_URL=plane.sts_url)
    args = ("ec2", "run-instances", "--image-id", "ami-baba68d3", "--count", "1",
            "--instance-type", "t3.micro", "--iam-instance-profile", "Name=my-instance-profile")
    r = run_aws(aws_bin, launcher, *args)
    assert r.returncode == SERVICE_ERROR_EXIT, r.stdout
    assert "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: " \
           "You are not authorized to perform this operation. User: " \
           f"arn:aws:iam::{ACCOUNT}:user/launcher is not authorized to perform: iam:PassRole on resource: " \
           f"arn:aws:iam::{ACCOUNT}:role/my-instance-profile because no identity-based policy allows the " \
           "iam:PassRole action. Encoded authorization failure message: " in r.stderr, r.stderr
    # Without a role to pass, the same user may launch.
    plain = run_aws(aws_bin, launcher, *args[:-2], "--output", "json")
    assert plain.returncode == 0, plain.stderr
    bare = json.loads(plain.stdout)["Instances"][0]["InstanceId"]
    aws_json(aws_bin, env, "iam", "put-user-policy", "--user-name", "launcher", "--policy-name", "pass",
             "--policy-document",
             '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole",'
             '"Resource":"arn:aws:iam::123456789012:role/my-instance-profile",'
             '"Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}}')
    out = aws_json(aws_bin, launcher, *args)
    launched = out["Instances"][0]["InstanceId"]
    assert out["Instances"][0]["IamInstanceProfile"]["Arn"].endswith(":instance-profile/my-instance-profile")
    done = aws_json(aws_bin, launcher, "ec2", "terminate-instances", "--instance-ids", launched, bare)
    assert {i["CurrentState"]["Name"] for i in done["TerminatingInstances"]} == {"terminated"}


def test_iam_access_denied_names_the_action(plane, aws_bin: Path, tmp_path: Path):
    env = plane.client_env(tmp_path, AWS_ACCESS_KEY_ID=USER1_KEY[0], AWS_SECRET_ACCESS_KEY=USER1_KEY[1],
                           AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=plane.sts_url)
    r = run_aws(aws_bin, env, "iam", "create-role", "--role-name", "nope",
                "--assume-role-policy-document", EC2_TRUST)
    assert r.returncode == SERVICE_ERROR_EXIT
    assert ("An error occurred (AccessDenied) when calling the CreateRole operation: User: "
            f"arn:aws:iam::{ACCOUNT}:user/user1 is not authorized to perform: iam:CreateRole on resource: "
            f"arn:aws:iam::{ACCOUNT}:role/nope because no identity-based policy allows the iam:CreateRole action"
            ) in r.stderr, r.stderr
    r = run_aws(aws_bin, env, "autoscaling", "describe-auto-scaling-groups")
    assert r.returncode == SERVICE_ERROR_EXIT
    assert "(AccessDenied)" in r.stderr and "autoscaling:DescribeAutoScalingGroups" in r.stderr
    # The console's feed explains both.
    import urllib.request
    feed = json.loads(urllib.request.urlopen(f"http://{plane.api}/console/decisions?after=0", timeout=10).read())
    denied = [d for d in feed["decisions"] if d["outcome"] == "denied" and d["caller"].endswith(":user/user1")]
    assert any(d["action"] == "iam:CreateRole" and "no statement of user/user1 inline policy policy-1" in d["reason"]
               for d in denied), denied


def test_debian_aws_v2_on_the_same_apis(plane, tmp_path: Path):
    """/usr/bin/aws 2.9.19 predates AWS_ENDPOINT_URL: --endpoint-url per call."""
    v2 = shutil.which("aws", path="/usr/bin")
    if v2 is None:
        pytest.fail("/usr/bin/aws (Debian's awscli v2) is missing: apt-get install awscli", pytrace=False)
    env = admin_env(plane, tmp_path)
    env.pop("AWS_ENDPOINT_URL", None)

    def v2json(*args: str) -> dict:
        r = subprocess.run([v2, *args, "--endpoint-url", plane.sts_url, "--output", "json"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return json.loads(r.stdout) if r.stdout.strip() else {}

    version = subprocess.run([v2, "--version"], capture_output=True, text=True, env=env).stdout
    assert version.startswith("aws-cli/2."), version
    v2json("iam", "create-role", "--role-name", "v2-role", "--assume-role-policy-document", EC2_TRUST)
    got = v2json("iam", "get-role", "--role-name", "v2-role")["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com"
    names = [p["InstanceProfileName"] for p in v2json("iam", "list-instance-profiles")["InstanceProfiles"]]
    assert "my-instance-profile" in names
    groups = v2json("autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"]
    assert isinstance(groups, list)
    reservations = v2json("ec2", "describe-instances")["Reservations"]
    assert any(i["InstanceId"] == "i-1234567890abcdef0" for r in reservations for i in r["Instances"])
