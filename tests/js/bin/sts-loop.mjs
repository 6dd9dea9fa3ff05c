// `node bin/sts-loop.mjs SECONDS`: the unmodified AWS SDK for JavaScript v3 configured from the
// environment alone (its default credential chain, so the container endpoint or IMDS that
// `awsid exec --server ecs|imds` advertises), calling `sts get-caller-identity` every 100 ms
// for SECONDS seconds with one client. Prints `calls=N keys=K arn=ARN` (K: distinct access key
// ids the client's credentials had) and exits 0, or prints the first error and exits 1. Run by
// test/exec.test.mjs.

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const seconds = Number(process.argv[2]);
if (!(seconds > 0)) throw new Error("usage: sts-loop.mjs SECONDS");
const sts = new STSClient({});
const deadline = Date.now() + seconds * 1000;
const keys = new Set();
let calls = 0;
let arn = "";
try {
  while (Date.now() < deadline) {
    arn = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    calls += 1;
    keys.add((await sts.config.credentials()).accessKeyId);
    await new Promise((r) => setTimeout(r, 100));
  }
} catch (e) {
  console.log(`error after ${calls} calls: ${e.name}: ${e.message}`);
  process.exit(1);
}
console.log(`calls=${calls} keys=${keys.size} arn=${arn}`);
