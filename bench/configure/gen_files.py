#!/usr/bin/env python3
"""Writes a benchmark HOME: ~/.aws/config with N profiles (p0 … pN-1) and ~/.aws/credentials
with a key pair for each, deterministic for a given N. Usage: gen_files.py N HOME"""

import random
import sys
from pathlib import Path


def main() -> None:
    n, home = int(sys.argv[1]), Path(sys.argv[2])
    rng = random.Random(n)
    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
    config = ["# benchmark config: %d profiles\n" % n, "[default]\n", "region = us-east-1\n", "output = json\n"]
    creds = []
    for i in range(n):
        config.append(f"\n[profile p{i}]\n")
        config.append(f"region = {rng.choice(regions)}\n")
        config.append("output = json\n")
        if i % 7 == 0:
            config.append("# nested settings\ns3 =\n    max_concurrent_requests = 20\n    addressing_style = path\n")
        if i % 5 == 0:
            config.append(f"role_session_name = session-{i}\n")
        key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+") for _ in range(40))
        creds.append(f"[p{i}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "config").write_text("".join(config))
    (aws / "credentials").write_text("".join(creds))
    (aws / "credentials").chmod(0o600)


if __name__ == "__main__":
    main()
