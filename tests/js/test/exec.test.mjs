// The unmodified AWS SDK for JavaScript v3 inside `awsid exec --server ecs` and
// `--server imds`: with STS sessions that live 6 seconds (the world's
// `sts_session_lifetime_seconds`), a program using the SDK's default chain (bin/sts-loop.mjs)
// keeps calling `sts get-caller-identity` for 21 seconds — past three expiries — without an
// error, while the exec's server refreshes the role through awsid's chain. The same through
// the standing server, `awsid serve-credentials`, over IMDSv2 and over the container protocol
// with the token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
//
// `awsid serve` (the built binary, AWSID_BIN) runs on 127.0.0.1 ephemeral ports, is waited for
// by its ready file and stopped with SIGTERM. No traffic leaves loopback.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const AWSID_BIN = process.env.AWSID_BIN || path.join(repo, "target/debug/awsid");
if (!fs.existsSync(AWSID_BIN)) {
  throw new Error(`THE awsid BINARY WAS NOT FOUND at ${AWSID_BIN}: build it first (cargo build -p awsid) or set AWSID_BIN.`);
}
const MASTER_KEY = Buffer.from([...Array(32).keys()]).toString("base64");
const LIFETIME = 6;
const RUN_SECS = 3 * LIFETIME + 3;
const USER1 = ["AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"];
const ROLE = "arn:aws:iam::123456789012:role/defaultrole";

/** Runs `cmd args` to completion: { code, signal, stdout, stderr }. */
function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** `awsid serve --world world` on ephemeral ports; resolves once its ready file appears. */
async function startServer(dir, world) {
  const ready = path.join(dir, "ready.json");
  const child = spawn(
    AWSID_BIN,
    ["serve", "--ready-file", ready, "--api", "127.0.0.1:0", "--imds", "127.0.0.1:0", "--ecs", "127.0.0.1:0", "--quiet", "--world", world],
    { env: { PATH: process.env.PATH, HOME: dir, AWSID_MASTER_KEY: MASTER_KEY }, stdio: ["ignore", "ignore", "pipe"] },
  );
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const doc = await new Promise((resolve, reject) => {
    const check = () => {
      if (fs.existsSync(ready)) {
        watcher.close();
        clearTimeout(timer);
        resolve(JSON.parse(fs.readFileSync(ready, "utf8")));
      }
    };
    const watcher = fs.watch(dir, check);
    const timer = setTimeout(() => {
      watcher.close();
      child.kill("SIGKILL");
      reject(new Error(`awsid serve wrote no ready file within 30 s: ${stderr}`));
    }, 30_000);
    child.once("exit", (code) => reject(new Error(`awsid serve exited with ${code}: ${stderr}`)));
    check();
  });
  return {
    sts: `http://${doc.api}/`,
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** `awsid serve-credentials args…`: resolves with the variables of its first listener. */
function startStanding(args, env) {
  const child = spawn(AWSID_BIN, ["serve-credentials", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      stdout += d;
      if (!/^AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=.*\n/m.test(stdout)) return;
      const vars = {};
      for (const line of stdout.split("\n")) {
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (m && !(m[1] in vars)) vars[m[1]] = m[2];
      }
      resolve({
        vars,
        stop() {
          if (child.exitCode !== null) return Promise.resolve(child.exitCode);
          const exited = new Promise((res) => child.once("exit", (code, signal) => res(code ?? signal)));
          child.kill("SIGTERM");
          return exited;
        },
      });
    });
    child.once("exit", (code) => reject(new Error(`serve-credentials exited with ${code}: ${stderr}`)));
  });
}

function fieldsOf(stdout) {
  return Object.fromEntries(stdout.trim().split(" ").map((f) => f.split(/=(.*)/s).slice(0, 2)));
}

describe("awsid exec (STS sessions of 6 seconds)", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "awsid-js-exec-"));
  let server;
  before(async () => {
    const world = fs
      .readFileSync(path.join(repo, "crates/server/src/world/default_world.toml"), "utf8")
      .replace("sts_clock_skew_seconds = 900\n", `sts_clock_skew_seconds = 900\nsts_session_lifetime_seconds = ${LIFETIME}\n`);
    assert.ok(world.includes("sts_session_lifetime_seconds"));
    fs.writeFileSync(path.join(scratch, "world.toml"), world);
    server = await startServer(scratch, path.join(scratch, "world.toml"));
    fs.mkdirSync(path.join(scratch, ".aws"));
    let config = "[profile user1]\nregion = us-east-1\n";
    for (const mode of ["ecs", "imds", "standing"]) {
      config += `\n[profile js-${mode}]\nrole_arn = ${ROLE}\nsource_profile = user1\nrole_session_name = js-${mode}\nregion = us-east-1\n`;
    }
    fs.writeFileSync(path.join(scratch, ".aws/config"), config);
    fs.writeFileSync(
      path.join(scratch, ".aws/credentials"),
      `[user1]\naws_access_key_id = ${USER1[0]}\naws_secret_access_key = ${USER1[1]}\n`,
    );
  });
  after(async () => {
    assert.equal(await server.stop(), 0, "awsid serve exits 0 on SIGTERM");
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test("the SDK's default chain keeps working across three expiries (--server ecs and imds)", async () => {
    // Only what the exec needs: no AWS_* setting of the test process reaches the child.
    const env = { PATH: process.env.PATH, HOME: scratch, AWS_ENDPOINT_URL_STS: server.sts };
    const loop = path.join(here, "../bin/sts-loop.mjs");
    const runs = ["ecs", "imds"].map((mode) =>
      run(AWSID_BIN, ["exec", "--profile", `js-${mode}`, "--server", mode, "--", process.execPath, loop, String(RUN_SECS)], env).then(
        (r) => [mode, r],
      ),
    );
    for (const [mode, r] of await Promise.all(runs)) {
      assert.equal(r.code, 0, `--server ${mode}: exit ${r.code} ${r.signal ?? ""}\n${r.stdout}\n${r.stderr}`);
      const fields = fieldsOf(r.stdout);
      assert.equal(fields.arn, `arn:aws:sts::123456789012:assumed-role/defaultrole/js-${mode}`, r.stdout);
      assert.ok(Number(fields.calls) >= 40, `--server ${mode}: too few calls: ${r.stdout}`);
      // A new session at each half-life: at least one per expiry.
      assert.ok(Number(fields.keys) >= 4, `--server ${mode}: fewer than 4 sessions in ${RUN_SECS} s: ${r.stdout}`);
    }
  });
  test("the same through the standing server (serve-credentials: IMDSv2, container protocol + token file)", async () => {
    const tokenFile = path.join(scratch, "run/token");
    const standing = await startStanding(
      ["--profile", "js-standing", "--listen", "127.0.0.1:0", "--token-file", tokenFile],
      { PATH: process.env.PATH, HOME: scratch, AWS_ENDPOINT_URL_STS: server.sts },
    );
    const v = standing.vars;
    assert.equal(v.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, tokenFile);
    assert.ok(!fs.readFileSync(tokenFile, "utf8").endsWith("\n"), "the token file has no newline");
    // Clients with no profile files: the default chain reaches the server.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "awsid-js-client-"));
    const base = { PATH: process.env.PATH, HOME: home, AWS_ENDPOINT_URL_STS: server.sts, AWS_REGION: "us-east-1" };
    const envs = {
      imds: { ...base, AWS_EC2_METADATA_SERVICE_ENDPOINT: v.AWS_EC2_METADATA_SERVICE_ENDPOINT },
      container: {
        ...base,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: v.AWS_CONTAINER_CREDENTIALS_FULL_URI,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: v.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
      },
    };
    const loop = path.join(here, "../bin/sts-loop.mjs");
    try {
      const runs = Object.entries(envs).map(([name, env]) =>
        run(process.execPath, [loop, String(RUN_SECS)], env).then((r) => [name, r]),
      );
      for (const [name, r] of await Promise.all(runs)) {
        assert.equal(r.code, 0, `${name}: exit ${r.code} ${r.signal ?? ""}\n${r.stdout}\n${r.stderr}`);
        const fields = fieldsOf(r.stdout);
        assert.equal(fields.arn, "arn:aws:sts::123456789012:assumed-role/defaultrole/js-standing", r.stdout);
        assert.ok(Number(fields.calls) >= 40, `${name}: too few calls: ${r.stdout}`);
        assert.ok(Number(fields.keys) >= 4, `${name}: fewer than 4 sessions in ${RUN_SECS} s: ${r.stdout}`);
      }
    } finally {
      assert.equal(await standing.stop(), 0, "serve-credentials exits 0 on SIGTERM");
      fs.rmSync(home, { recursive: true, force: true });
    }
    assert.ok(!fs.existsSync(tokenFile), "the token file goes with its server");
  });
});
