// A helper of serve.test.mjs (not a test file): run inside a pseudo-terminal, it resolves
// profile PROFILE of the config file CONFIG with the SDK's fromIni (so its credential_process)
// and prints {"Arn": …} of GetCallerIdentity at STS_URL on one line.
//
// Usage: node test/ini_identity.mjs PROFILE CONFIG STS_URL

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromIni } from "@aws-sdk/credential-providers";

const [profile, config, stsUrl] = process.argv.slice(2);
const credentials = fromIni({ profile, configFilepath: config, filepath: `${config}.credentials` });
const client = new STSClient({ region: "us-east-1", endpoint: stsUrl, credentials, maxAttempts: 1 });
const out = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ Arn: out.Arn }));
