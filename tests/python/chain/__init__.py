"""The credential-chain differential suite's helpers: local fake STS / IMDS / ECS endpoints
(`fakes`), the generated profile setups (`cases`), the named differences (`differences`) and the
botocore side of the comparison (`driver`, run as a script in a subprocess per case)."""
