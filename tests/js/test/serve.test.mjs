// The unmodified AWS SDK for JavaScript v3 against `awsid serve` (default world): STS calls
// with the seed credentials, the seed roles, error parsing, and the credential providers
// (fromInstanceMetadata over IMDSv2, fromContainerMetadata with a full URI and token, fromIni
// with source_profile and credential_source, fromIni with credential_process = awsid
// credential-process, fromTokenFile), and fromIni with credential_process = awsid
// credential-process for MFA-protected roles: the code typed into the pseudo-terminal the SDK
// runs in (util-linux script(1)), and one MFA session serving two roles with one code.
//
// The server is the built binary (AWSID_BIN, default ../../target/debug/awsid), started on
// 127.0.0.1 ephemeral ports with --ready-file, waited for by watching the file appear, and
// stopped (SIGTERM) at the end. No traffic leaves loopback.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  fromContainerMetadata,
  fromHttp,
  fromIni,
  fromInstanceMetadata,
  fromNodeProviderChain,
  fromTemporaryCredentials,
  fromTokenFile,
} from "@aws-sdk/credential-providers";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const AWSID_BIN = process.env.AWSID_BIN || path.resolve(here, "../../../target/debug/awsid");
if (!fs.existsSync(AWSID_BIN)) {
  throw new Error(
    `THE awsid BINARY WAS NOT FOUND at ${AWSID_BIN}: build it first (cargo build -p awsid) ` +
      "or set AWSID_BIN to its path.",
  );
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => fs.existsSync(p));
if (!SCRIPT) {
  throw new Error("script(1) (util-linux, Debian package bsdutils) is required for the MFA terminal tests");
}

// ------------------------------------------------------------------ seed values

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "777788889999";
const USER1_KEY = { accessKeyId: "AKIAI44QH8DHBEXAMPLE", secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY" };
const DEFAULT_KEY = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const IQOJ_TOKEN = "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
const FCZIB_TOKEN = "fcZib3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
const SHORT_DEFAULT = { accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: DEFAULT_KEY.secretAccessKey, sessionToken: IQOJ_TOKEN };
const SHORT_USER1 = { accessKeyId: "ASIAI44QH8DHBEXAMPLE", secretAccessKey: USER1_KEY.secretAccessKey, sessionToken: FCZIB_TOKEN };
const USER1_ARN = `arn:aws:iam::${ACCOUNT}:user/user1`;
const DEFAULT_USER_ARN = `arn:aws:iam::${ACCOUNT}:user/defaultuser`;
const OPTIONAL_INSTANCE = "i-1234567890abcdef0";
const REQUIRED_INSTANCE = "i-0fedcba9876543210";
const ECS_TASK = "0f3c5e7a9b1d4c2e8a6f4b2d0c9e7a51";
const ECS_TOKEN = "awsid-dev-container-token";
// A fixed master key, so the server never creates a key file in a real home.
const MASTER_KEY = Buffer.from([...Array(32).keys()]).toString("base64");

const roleArn = (name, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;
const assumed = (role, session, account = ACCOUNT) => `arn:aws:sts::${account}:assumed-role/${role}/${session}`;

// ------------------------------------------------------------------ environment

// Nothing of the caller's AWS configuration may reach the SDK: a throw-away HOME and files,
// no AWS_* variables (scripts/test sets AWS_EC2_METADATA_DISABLED=true for its own reasons),
// and a loopback safety net for any endpoint a test forgets to set.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "awsid-js-"));
for (const k of Object.keys(process.env)) {
  if (k.startsWith("AWS_")) delete process.env[k];
}
process.env.HOME = scratch;
process.env.AWS_CONFIG_FILE = path.join(scratch, "config");
process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(scratch, "credentials");
process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:9/";

/** Runs `fn` with the given environment variables set (undefined = unset), then restores. */
async function withEnv(vars, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ------------------------------------------------------------------ the server

/**
 * Starts `awsid serve` on ephemeral ports and resolves with its ready-file document once the
 * file appears (fs.watch on its directory; the server writes it atomically by rename).
 */
async function startServer(dir, worldFile) {
  fs.mkdirSync(dir, { recursive: true });
  const ready = path.join(dir, "ready.json");
  const args = ["serve", "--ready-file", ready, "--api", "127.0.0.1:0", "--imds", "127.0.0.1:0", "--ecs", "127.0.0.1:0", "--quiet"];
  if (worldFile) args.push("--world", worldFile);
  const env = { PATH: process.env.PATH, HOME: dir, AWSID_MASTER_KEY: MASTER_KEY };
  // Should the test process die before its after() hooks, the server must not outlive it:
  // util-linux `setpriv --pdeathsig` (an exec, so the pid and exit status stay the server's)
  // where it exists, and an exit hook for ordinary exits.
  const [cmd, argv] = SETPRIV ? [SETPRIV, ["--pdeathsig", "TERM", AWSID_BIN, ...args]] : [AWSID_BIN, args];
  const child = spawn(cmd, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const doc = await new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      watcher.close();
      clearTimeout(timer);
      child.off("exit", onExit);
      if (err) {
        child.kill("SIGKILL");
        reject(err);
      } else resolve(value);
    };
    const check = () => {
      if (fs.existsSync(ready)) finish(null, JSON.parse(fs.readFileSync(ready, "utf8")));
    };
    const onExit = (code) => finish(new Error(`awsid serve exited with ${code} before it was ready: ${stderr}`));
    const watcher = fs.watch(dir, check);
    const timer = setTimeout(() => finish(new Error(`awsid serve wrote no ready file within 30 s: ${stderr}`)), 30_000);
    child.on("exit", onExit);
    check(); // it may already be there
  });
  return {
    child,
    sts: `http://${doc.api}/`,
    ecs: `http://${doc.ecs}/credentials`,
    imds: (instance = OPTIONAL_INSTANCE) => `http://${doc.imds[instance]}/`,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

function sts(server, credentials) {
  return new STSClient({ region: "us-west-2", endpoint: server.sts, credentials, maxAttempts: 1 });
}

async function arnOf(server, credentials) {
  const out = await sts(server, credentials).send(new GetCallerIdentityCommand({}));
  return out.Arn;
}

/** `arn` is `…assumed-role/<role>/<prefix><digits>`: a session name the SDK generated. */
function assertGeneratedSession(arn, role, prefix, account = ACCOUNT) {
  const head = assumed(role, prefix, account);
  assert.ok(arn.startsWith(head) && /^\d+$/.test(arn.slice(head.length)), `${arn} is not ${head}<digits>`);
}

function mintToken(...args) {
  return execFileSync(AWSID_BIN, ["mint-web-identity-token", ...args], { encoding: "utf8" }).trim();
}

/** How many calls of `service`/`action` the server has answered (its Prometheus metrics). */
async function callCount(server, service, action) {
  const text = await (await fetch(`${server.sts}metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`awsid_requests_total{service="${service}",action="${action}"`))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

/**
 * Runs the shell command line `command` in a pseudo-terminal of its own (script(1) makes it
 * the controlling terminal, so /dev/tty is that terminal for every process below it), types
 * `answer()` and Enter once `prompt` appears in what the terminal shows, and resolves with the
 * exit status, the terminal output and whether the prompt appeared.
 */
function inTerminal(command, prompt, answer) {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ["-qefc", command, "/dev/null"], {
      cwd: path.resolve(here, ".."),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let prompted = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no exit within 120 s; the terminal showed: ${output}`));
    }, 120_000);
    child.stdout.on("data", (d) => {
      output += d;
      if (!prompted && output.includes(prompt)) {
        prompted = true;
        child.stdin.write(`${answer()}\r`);
      }
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output, prompted });
    });
  });
}

/** The last `{"Arn": …}` line a terminal showed. */
function arnShown(output) {
  const lines = output.split(/\r?\n/).filter((l) => l.startsWith('{"Arn"'));
  assert.ok(lines.length > 0, `no identity in: ${output}`);
  return JSON.parse(lines.at(-1)).Arn;
}

// ------------------------------------------------------------------ tests

describe("awsid serve (default world)", () => {
  let server;
  before(async () => {
    server = await startServer(path.join(scratch, "serve"));
  });
  after(async () => {
    assert.equal(await server.stop(), 0, "awsid serve exits 0 on SIGTERM");
  });

  test("GetCallerIdentity with the seed long-term keys and pre-issued sessions", async () => {
    const cases = [
      [USER1_KEY, USER1_ARN, "AIDAUSER1EXAMPLE00001"],
      [DEFAULT_KEY, DEFAULT_USER_ARN, "AIDADEFAULTEXAMPLE001"],
      [SHORT_DEFAULT, DEFAULT_USER_ARN, "AIDADEFAULTEXAMPLE001"],
      [SHORT_USER1, USER1_ARN, "AIDAUSER1EXAMPLE00001"],
      [{ ...DEFAULT_KEY, sessionToken: FCZIB_TOKEN }, DEFAULT_USER_ARN, "AIDADEFAULTEXAMPLE001"],
    ];
    for (const [creds, arn, userId] of cases) {
      const out = await sts(server, creds).send(new GetCallerIdentityCommand({}));
      assert.equal(out.Arn, arn, creds.accessKeyId);
      assert.equal(out.Account, ACCOUNT);
      assert.equal(out.UserId, userId);
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(out.$metadata.requestId, "request id parsed from ResponseMetadata");
    }
  });

  test("AssumeRole: marketingadminrole, defaultrole, cross-account user1role", async () => {
    const cases = [
      [USER1_KEY, "marketingadminrole", ACCOUNT, "js-marketing"],
      [DEFAULT_KEY, "defaultrole", ACCOUNT, "session_user1"],
      [SHORT_DEFAULT, "user1role", OTHER_ACCOUNT, "session_user1"],
    ];
    for (const [creds, role, account, session] of cases) {
      const before = Date.now();
      const out = await sts(server, creds).send(
        new AssumeRoleCommand({ RoleArn: roleArn(role, account), RoleSessionName: session }),
      );
      assert.equal(out.AssumedRoleUser.Arn, assumed(role, session, account));
      assert.match(out.AssumedRoleUser.AssumedRoleId, new RegExp(`^AROA[A-Z0-9]+:${session}$`));
      const c = out.Credentials;
      assert.match(c.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
      assert.ok(c.Expiration instanceof Date, "Expiration parsed as a Date");
      const left = (c.Expiration.getTime() - before) / 1000;
      assert.ok(left > 3500 && left < 3700, `expires in ${left} s`);
      const arn = await arnOf(server, {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
      });
      assert.equal(arn, assumed(role, session, account));
    }
  });

  test("errors parse with their code, message and status", async () => {
    await assert.rejects(
      sts(server, USER1_KEY).send(new AssumeRoleCommand({ RoleArn: roleArn("my-instance-profile"), RoleSessionName: "s1" })),
      (e) => {
        assert.equal(e.name, "AccessDenied");
        assert.equal(e.Code ?? e.name, "AccessDenied");
        assert.equal(
          e.message,
          "User: arn:aws:iam::123456789012:user/user1 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/my-instance-profile",
        );
        assert.equal(e.$metadata.httpStatusCode, 403);
        assert.equal(e.$fault, "client");
        assert.ok(e.$metadata.requestId);
        return true;
      },
    );
    await assert.rejects(sts(server, { ...USER1_KEY, secretAccessKey: "not-the-secret" }).send(new GetCallerIdentityCommand({})), {
      name: "SignatureDoesNotMatch",
    });
    await assert.rejects(
      sts(server, { accessKeyId: "AKIAUNKNOWNEXAMPLE01", secretAccessKey: "x" }).send(new GetCallerIdentityCommand({})),
      { name: "InvalidClientTokenId", message: "The security token included in the request is invalid." },
    );
    await assert.rejects(
      sts(server, USER1_KEY).send(
        new AssumeRoleCommand({ RoleArn: roleArn("defaultrole"), RoleSessionName: "s1", DurationSeconds: 7200 }),
      ),
      (e) => e.name === "ValidationError" && e.$metadata.httpStatusCode === 400,
    );
  });

  test("AssumeRoleWithWebIdentity and its modeled errors", async () => {
    // Unsigned: a client without credentials.
    const client = new STSClient({ region: "us-west-2", endpoint: server.sts, maxAttempts: 1, credentials: async () => ({ accessKeyId: "unused", secretAccessKey: "unused" }) });
    const call = (token) =>
      client.send(
        new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn("web-identity-role"), RoleSessionName: "web", WebIdentityToken: token }),
      );
    const out = await call(mintToken("--sub", "alice"));
    assert.equal(out.SubjectFromWebIdentityToken, "alice");
    assert.equal(out.AssumedRoleUser.Arn, assumed("web-identity-role", "web"));
    await assert.rejects(call(mintToken("--expires-in", "-60")), (e) => {
      assert.equal(e.name, "ExpiredTokenException");
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
    await assert.rejects(call(mintToken("--aud", "someone-else")), { name: "InvalidIdentityTokenException" });
  });

  test("fromInstanceMetadata over IMDSv2 (v1 fallback disabled), both instances", async () => {
    for (const instance of [OPTIONAL_INSTANCE, REQUIRED_INSTANCE]) {
      await withEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: server.imds(instance), AWS_EC2_METADATA_V1_DISABLED: "true" }, async () => {
        const creds = await fromInstanceMetadata({ maxRetries: 0, timeout: 5000 })();
        assert.match(creds.accessKeyId, /^ASIA/);
        assert.ok(creds.expiration instanceof Date && creds.expiration > new Date());
        assert.equal(await arnOf(server, creds), assumed("my-instance-profile", instance));
      });
    }
  });

  test("fromContainerMetadata with the full URI and token", async () => {
    await withEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: server.ecs, AWS_CONTAINER_AUTHORIZATION_TOKEN: ECS_TOKEN }, async () => {
      const creds = await fromContainerMetadata({ maxRetries: 0, timeout: 5000 })();
      assert.ok(creds.expiration instanceof Date);
      assert.equal(await arnOf(server, creds), assumed("ecs-task-role", ECS_TASK));
    });
    await withEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: server.ecs, AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong-token" }, async () => {
      await assert.rejects(fromContainerMetadata({ maxRetries: 0, timeout: 5000 })());
    });
  });

  test("fromHttp: full URI with a token and with a token file", async () => {
    const creds = await fromHttp({ awsContainerCredentialsFullUri: server.ecs, awsContainerAuthorizationToken: ECS_TOKEN })();
    assert.equal(await arnOf(server, creds), assumed("ecs-task-role", ECS_TASK));
    const tokenFile = path.join(scratch, "ecs-token");
    fs.writeFileSync(tokenFile, ECS_TOKEN); // verbatim: a trailing newline is no legal header value
    await withEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: server.ecs, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }, async () => {
      const creds = await fromHttp({})();
      assert.equal(await arnOf(server, creds), assumed("ecs-task-role", ECS_TASK));
    });
  });

  test("fromNodeProviderChain: container credentials, then IMDSv2 when there is no container", async () => {
    await withEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: server.ecs, AWS_CONTAINER_AUTHORIZATION_TOKEN: ECS_TOKEN }, async () => {
      const creds = await fromNodeProviderChain()();
      assert.equal(await arnOf(server, creds), assumed("ecs-task-role", ECS_TASK));
    });
    await withEnv(
      { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.imds(REQUIRED_INSTANCE), AWS_EC2_METADATA_V1_DISABLED: "true" },
      async () => {
        const creds = await fromNodeProviderChain()();
        assert.equal(await arnOf(server, creds), assumed("my-instance-profile", REQUIRED_INSTANCE));
      },
    );
  });

  test("fromTemporaryCredentials: marketingadminrole from user1's keys, then defaultrole from that", async () => {
    const marketing = fromTemporaryCredentials({
      masterCredentials: USER1_KEY,
      params: { RoleArn: roleArn("marketingadminrole"), RoleSessionName: "js-temp" },
      clientConfig: { region: "us-west-2", endpoint: server.sts },
    });
    assert.equal(await arnOf(server, await marketing()), assumed("marketingadminrole", "js-temp"));
    const chained = fromTemporaryCredentials({
      masterCredentials: marketing,
      params: { RoleArn: roleArn("defaultrole"), RoleSessionName: "js-chained" },
      clientConfig: { region: "us-west-2", endpoint: server.sts },
    });
    assert.equal(await arnOf(server, await chained()), assumed("defaultrole", "js-chained"));
  });

  test("fromIni: seed 001 marketingadmin with source_profile = user1", async () => {
    const dir = fs.mkdtempSync(path.join(scratch, "ini-"));
    const credentials = path.join(dir, "credentials");
    fs.writeFileSync(
      credentials,
      `[user1]\naws_access_key_id = ${USER1_KEY.accessKeyId}\naws_secret_access_key = ${USER1_KEY.secretAccessKey}\n\n` +
        "[marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\nsource_profile = user1\n",
    );
    await withEnv({ AWS_ENDPOINT_URL_STS: server.sts }, async () => {
      const creds = await fromIni({
        profile: "marketingadmin",
        filepath: credentials,
        configFilepath: path.join(dir, "config"),
        clientConfig: { region: "us-west-2" },
      })();
      assert.match(creds.accessKeyId, /^ASIA/);
      assertGeneratedSession(await arnOf(server, creds), "marketingadminrole", "aws-sdk-js-");
    });
  });

  test("fromIni: seed 004 IAM role files verbatim (short-term default → cross-account user1role)", async () => {
    const dir = fs.mkdtempSync(path.join(scratch, "ini-"));
    fs.writeFileSync(
      path.join(dir, "credentials"),
      `[default]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\naws_secret_access_key=${DEFAULT_KEY.secretAccessKey}\naws_session_token = ${IQOJ_TOKEN}\n`,
    );
    fs.writeFileSync(
      path.join(dir, "config"),
      "[default]\nregion=us-west-2\noutput=json\n\n[profile user1]\nrole_arn=arn:aws:iam::777788889999:role/user1role\n" +
        "source_profile=default\nrole_session_name=session_user1\nregion=us-east-1\noutput=text\n",
    );
    await withEnv({ AWS_ENDPOINT_URL_STS: server.sts }, async () => {
      const creds = await fromIni({
        profile: "user1",
        filepath: path.join(dir, "credentials"),
        configFilepath: path.join(dir, "config"),
      })();
      assert.equal(await arnOf(server, creds), assumed("user1role", "session_user1", OTHER_ACCOUNT));
    });
  });

  test("fromIni: seed 000 marketingadmin with credential_source = Ec2InstanceMetadata", async () => {
    const dir = fs.mkdtempSync(path.join(scratch, "ini-"));
    fs.writeFileSync(
      path.join(dir, "config"),
      "[profile marketingadmin]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n" +
        "credential_source = Ec2InstanceMetadata\nregion = us-west-2\n",
    );
    await withEnv({ AWS_ENDPOINT_URL_STS: server.sts, AWS_EC2_METADATA_SERVICE_ENDPOINT: server.imds() }, async () => {
      const creds = await fromIni({
        profile: "marketingadmin",
        filepath: path.join(dir, "credentials"),
        configFilepath: path.join(dir, "config"),
      })();
      assertGeneratedSession(await arnOf(server, creds), "marketingadminrole", "aws-sdk-js-");
    });
  });

  test("fromIni: credential_process = awsid credential-process (two-hop role, cached by awsid)", async () => {
    // awsid's own files: user1's keys and a two-hop role profile.
    const home = fs.mkdtempSync(path.join(scratch, "awsid-home-"));
    fs.mkdirSync(path.join(home, ".aws"));
    fs.writeFileSync(
      path.join(home, ".aws", "config"),
      "[profile user1]\nregion = us-east-1\n\n" +
        "[profile hop1]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\nsource_profile = user1\nregion = us-east-1\n\n" +
        "[profile hop2]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\nsource_profile = hop1\n" +
        "role_session_name = via-awsid\nregion = us-east-1\n",
    );
    fs.writeFileSync(
      path.join(home, ".aws", "credentials"),
      `[user1]\naws_access_key_id = ${USER1_KEY.accessKeyId}\naws_secret_access_key = ${USER1_KEY.secretAccessKey}\n`,
    );
    // The SDK's files: one profile whose credentials come from awsid. The SDK runs the command
    // in its own environment, so the command names awsid's home and endpoint.
    const dir = fs.mkdtempSync(path.join(scratch, "ini-"));
    const command =
      `env -i PATH=/usr/bin:/bin HOME=${home} AWS_ENDPOINT_URL_STS=${server.sts} ` +
      `${AWSID_BIN} credential-process --profile hop2`;
    fs.writeFileSync(path.join(dir, "config"), `[profile cp]\ncredential_process = ${command}\nregion = us-east-1\n`);
    const assumeRoleCalls = async () => {
      const text = await (await fetch(`${server.sts}metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith('awsid_requests_total{service="sts",action="AssumeRole"'))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    };
    const before = await assumeRoleCalls();
    const resolve = () =>
      fromIni({ profile: "cp", filepath: path.join(dir, "credentials"), configFilepath: path.join(dir, "config") })();
    const creds = await resolve();
    assert.match(creds.accessKeyId, /^ASIA/);
    assert.ok(creds.expiration instanceof Date && creds.expiration > new Date(), "Expiration read");
    assert.equal(await arnOf(server, creds), assumed("defaultrole", "via-awsid"));
    assert.equal((await assumeRoleCalls()) - before, 2, "one AssumeRole per hop");
    // Resolved again: awsid answers from its cache.
    const again = await resolve();
    assert.equal(again.accessKeyId, creds.accessKeyId);
    assert.equal((await assumeRoleCalls()) - before, 2);
  });

  test("fromTokenFile with a token minted by awsid mint-web-identity-token", async () => {
    const file = path.join(scratch, "web-identity-token");
    fs.writeFileSync(file, mintToken("--sub", "system:serviceaccount:default:app") + "\n");
    await withEnv(
      {
        AWS_ENDPOINT_URL_STS: server.sts,
        AWS_WEB_IDENTITY_TOKEN_FILE: file,
        AWS_ROLE_ARN: roleArn("web-identity-role"),
        AWS_ROLE_SESSION_NAME: "web-session",
      },
      async () => {
        const creds = await fromTokenFile({ clientConfig: { region: "us-west-2" } })();
        assert.equal(await arnOf(server, creds), assumed("web-identity-role", "web-session"));
      },
    );
  });
});

// A role whose trust allows session tags and source identities (no default-world role does).
const TAGGABLE_ROLE_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: USER1_ARN }, Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"] }],
});

describe("awsid serve (default world + an expired session and a taggable role)", () => {
  let server;
  before(async () => {
    const dir = path.join(scratch, "serve-extended");
    fs.mkdirSync(dir, { recursive: true });
    const world = path.join(dir, "world.toml");
    fs.writeFileSync(
      world,
      [
        fs.readFileSync(path.join(repo, "crates/server/src/world/default_world.toml"), "utf8"),
        "[[sessions]]",
        'access_key_id = "ASIAEXPIREDEXAMPLE01"',
        'secret_access_key = "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE"',
        'session_token = "expiredSessionTokenExample"',
        'principal = "arn:aws:iam::123456789012:user/user1"',
        'expires = "2020-01-01T00:00:00Z"',
        "",
        "[[roles]]",
        'account = "123456789012"',
        'name = "taggable-role"',
        'id = "AROATAGGABLEROLE00001"',
        `trust_policy = '''${TAGGABLE_ROLE_TRUST}'''`,
        "",
      ].join("\n"),
    );
    server = await startServer(dir, world);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test("AssumeRole with Policy, PolicyArns, Tags, TransitiveTagKeys, SourceIdentity", async () => {
    const params = {
      RoleSessionName: "everything",
      DurationSeconds: 900,
      Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] }),
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" }],
      Tags: [
        { Key: "team", Value: "interop" },
        { Key: "project", Value: "awsid" },
      ],
      TransitiveTagKeys: ["team"],
      SourceIdentity: "alice",
    };
    const out = await sts(server, USER1_KEY).send(new AssumeRoleCommand({ RoleArn: roleArn("taggable-role"), ...params }));
    assert.equal(out.SourceIdentity, "alice");
    assert.ok(out.PackedPolicySize > 0, `PackedPolicySize ${out.PackedPolicySize}`);
    const left = (out.Credentials.Expiration.getTime() - Date.now()) / 1000;
    assert.ok(left > 850 && left <= 900, `DurationSeconds 900: ${left}`);
    // defaultrole's trust has no sts:TagSession / sts:SetSourceIdentity.
    await assert.rejects(sts(server, USER1_KEY).send(new AssumeRoleCommand({ RoleArn: roleArn("defaultrole"), ...params })), {
      name: "AccessDenied",
    });
  });

  test("ExpiredToken parses with its code", async () => {
    const creds = {
      accessKeyId: "ASIAEXPIREDEXAMPLE01",
      secretAccessKey: "expiredSecretExampleKeyEXAMPLEKEYEXAMPLE",
      sessionToken: "expiredSessionTokenExample",
    };
    await assert.rejects(sts(server, creds).send(new GetCallerIdentityCommand({})), (e) => {
      assert.equal(e.name, "ExpiredToken");
      assert.equal(e.message, "The security token included in the request is expired");
      assert.equal(e.$metadata.httpStatusCode, 403);
      return true;
    });
  });
});

const USER1_MFA_SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/user1`;
const USER1_MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const MFA_PROMPT = `Enter MFA code for ${USER1_MFA_SERIAL}: `;

describe("fromIni: credential_process = awsid credential-process with MFA (a terminal through script(1))", () => {
  // A server of its own: it accepts each one-time code of a device once.
  let server;
  let home;
  let sdkConfig;
  let codeState;
  const nextCode = () =>
    execFileSync("python3", [path.join(repo, "tests/python/totp_code.py"), USER1_MFA_SECRET, codeState], {
      encoding: "utf8",
    }).trim();
  const identity = (profile) =>
    `${process.execPath} test/ini_identity.mjs ${profile} ${sdkConfig} ${server.sts}`;
  before(async () => {
    const dir = fs.mkdtempSync(path.join(scratch, "mfa-"));
    server = await startServer(path.join(dir, "serve"));
    codeState = path.join(dir, "codes.state");
    // awsid's own files: user1's keys, a role that needs a code, two roles sharing one session.
    home = path.join(dir, "awsid-home");
    fs.mkdirSync(path.join(home, ".aws"), { recursive: true });
    const role = (name, arn, extra = "") =>
      `[profile ${name}]\nrole_arn = ${arn}\nsource_profile = user1\nmfa_serial = ${USER1_MFA_SERIAL}\n${extra}region = us-east-1\n\n`;
    fs.writeFileSync(
      path.join(home, ".aws", "config"),
      "[profile user1]\nregion = us-east-1\n\n" +
        role("mfa", roleArn("mfarole")) +
        // (a session name of their own: a cache entry apart from profile mfa's)
        role("mfas1", roleArn("mfarole"), "mfa_session = true\nrole_session_name = via-session\n") +
        role("mfas2", roleArn("marketingadminrole"), "mfa_session = true\nrole_session_name = via-session\n"),
    );
    fs.writeFileSync(
      path.join(home, ".aws", "credentials"),
      `[user1]\naws_access_key_id = ${USER1_KEY.accessKeyId}\naws_secret_access_key = ${USER1_KEY.secretAccessKey}\n`,
    );
    // The SDK's files: one credential_process profile per awsid profile.
    sdkConfig = path.join(dir, "sdk-config");
    fs.writeFileSync(
      sdkConfig,
      ["mfa", "mfas1", "mfas2"]
        .map(
          (p) =>
            `[profile cp-${p}]\ncredential_process = env -i PATH=/usr/bin:/bin HOME=${home} ` +
            `AWS_ENDPOINT_URL_STS=${server.sts} ${AWSID_BIN} credential-process --profile ${p}\nregion = us-east-1\n`,
        )
        .join("\n"),
    );
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test("an MFA role: awsid asks on the SDK's terminal, the typed code assumes the role", async () => {
    const first = await inTerminal(identity("cp-mfa"), MFA_PROMPT, nextCode);
    assert.equal(first.code, 0, first.output);
    assert.ok(first.prompted, first.output);
    assert.match(arnShown(first.output), new RegExp(`^${assumed("mfarole", "")}[\\w+=,.@-]+$`));
    // Cached by awsid: the next resolution asks nothing.
    const again = await inTerminal(identity("cp-mfa"), MFA_PROMPT, nextCode);
    assert.equal(again.code, 0, again.output);
    assert.ok(!again.prompted && !again.output.includes("Enter MFA code"), again.output);
    assert.equal(arnShown(again.output), arnShown(first.output));
  });

  test("an MFA session: one code typed, two roles assumed with it", async () => {
    const before = {
      session: await callCount(server, "sts", "GetSessionToken"),
      assume: await callCount(server, "sts", "AssumeRole"),
    };
    const first = await inTerminal(identity("cp-mfas1"), MFA_PROMPT, nextCode);
    assert.equal(first.code, 0, first.output);
    assert.ok(first.prompted, first.output);
    assert.equal(arnShown(first.output), assumed("mfarole", "via-session"));
    const second = await inTerminal(identity("cp-mfas2"), MFA_PROMPT, nextCode);
    assert.equal(second.code, 0, second.output);
    assert.ok(!second.prompted && !second.output.includes("Enter MFA code"), second.output);
    assert.equal(arnShown(second.output), assumed("marketingadminrole", "via-session"));
    assert.equal((await callCount(server, "sts", "GetSessionToken")) - before.session, 1, "one session");
    assert.equal((await callCount(server, "sts", "AssumeRole")) - before.assume, 2, "one AssumeRole per role");
  });
});

after(() => fs.rmSync(scratch, { recursive: true, force: true }));
