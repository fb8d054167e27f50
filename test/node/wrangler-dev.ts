/**
 * The gateway under a plain `wrangler dev` (what a newcomer runs first), with the committed
 * wrangler.toml: no origin is configured, so a valid request must answer `503
 * CONFIG_UNAVAILABLE` at once instead of being forwarded to the gateway's own URL (before the hop
 * marker, that loop opened connections until workerd ran out of file descriptors). And with an
 * `ORIGIN_URL` that points back at the gateway, the request must come back as `508
 * LOOP_DETECTED` after one hop. Run by `npm test` (`node --test test/node/wrangler-dev.ts`).
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { mintToken } from "../../src/issuer/index.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const ADMIN_TOKEN = "wrangler-dev-test-admin-token-0123456789";
const SECRET = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 5) & 0xff)).toString("base64");
const persistTo = mkdtempSync(join(tmpdir(), "wrangler-dev-test-"));
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
  }
  rmSync(persistTo, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `wrangler dev` with `vars` on `port` (a free one by default); resolves once `/healthz` answers at all. */
async function wranglerDev(vars: Record<string, string>, port?: number): Promise<string> {
  port ??= await freePort();
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  for (const [name, value] of Object.entries({ ADMIN_TOKEN, ...vars })) args.push("--var", `${name}:${value}`);
  args.push("--show-interactive-dev-session=false");
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 240; attempt++) {
    if (child.exitCode !== null) throw new Error("wrangler dev exited");
    try {
      await fetch(`${base}/healthz`);
      return base;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error("wrangler dev did not start within 60 s");
}

async function createApp(base: string, appId: string): Promise<string> {
  const res = await fetch(`${base}/admin/apps/${appId}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ jwtEnabled: true, secret: SECRET }),
  });
  assert.ok(res.status === 201 || res.status === 200, `creating ${appId}: ${res.status}`);
  return mintToken({ appId, userId: "u-1", key: SECRET, expiresIn: "10m" });
}

describe("plain wrangler dev, no origin configured", () => {
  it("answers a valid request 503 CONFIG_UNAVAILABLE within a second, and /healthz names ORIGIN_URL", async () => {
    const base = await wranglerDev({});
    const token = await createApp(base, "NO-ORIGIN");
    const started = performance.now();
    const res = await fetch(`${base}/api/v1/app/NO-ORIGIN/x`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { code: "CONFIG_UNAVAILABLE", status: "App configuration unavailable" });
    assert.ok(elapsed < 1000, `answered in ${Math.round(elapsed)} ms`);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { problems: { setting: string }[] };
    assert.deepEqual(
      body.problems.map((problem) => problem.setting),
      ["ORIGIN_URL"],
    );
    const looped = await fetch(`${base}/api/v1/app/NO-ORIGIN/x`, {
      headers: { authorization: `Bearer ${token}`, "cdn-loop": "edge-authenticator" },
    });
    assert.equal(looped.status, 508);
    assert.equal(((await looped.json()) as { code: string }).code, "LOOP_DETECTED");
  });

  it("ends a loop through ORIGIN_URL pointing at the gateway itself with 508 after one hop", async () => {
    const port = await freePort();
    // ORIGIN_URL is the gateway's own address: the first hop forwards to itself once.
    const base = await wranglerDev({ ORIGIN_URL: `http://127.0.0.1:${port}` }, port);
    const token = await createApp(base, "SELF-LOOP");
    const res = await fetch(`${base}/api/v1/app/SELF-LOOP/x`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 508);
    assert.equal(((await res.json()) as { code: string }).code, "LOOP_DETECTED");
    // The gateway still answers: nothing is left spinning.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
