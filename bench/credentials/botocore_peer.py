"""`python botocore_peer.py [--profile NAME]`: resolves credentials exactly as the aws CLI does
(the CLI's own session: `create_clidriver()`, global options through the CLI's parser,
`session-initialized`, so assume-role hops use the CLI's `~/.aws/cli/cache`) and prints them
the way v2's `aws configure export-credentials` does (`--format process`). The botocore peer of
bench/credentials/run.sh; the same steps as tests/python/chain/driver.py."""

import json
import sys

from awscli.clidriver import create_clidriver


def main() -> int:
    driver = create_clidriver()
    parser = driver._create_parser(driver._get_command_table())
    parsed, remaining = parser.parse_known_args([*sys.argv[1:], "sts", "get-caller-identity"])
    driver._handle_top_level_args(parsed, remaining)
    driver._emit_session_event(parsed)
    creds = driver.session.get_credentials()
    if creds is None:
        print("Unable to retrieve credentials: no credentials found", file=sys.stderr)
        return 253
    frozen = creds.get_frozen_credentials()
    out = {"Version": 1, "AccessKeyId": frozen.access_key, "SecretAccessKey": frozen.secret_key}
    if frozen.token is not None:
        out["SessionToken"] = frozen.token
    expiry = getattr(creds, "_expiry_time", None)
    if expiry is not None:
        out["Expiration"] = expiry.isoformat()
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
