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
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../../scripts/lib/processes.ts";
import { createClient } from "../../src/client/index.ts";
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

describe("keys from a JWKS on a real local HTTP server (wrangler dev --var ALLOW_HTTP_JWKS:true)", () => {
  it("verifies the provider's tokens, and its rotation after one refresh", async () => {
    const keys: { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> }[] = [];
    const addKey = (kid: string) => {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      keys.push({ kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" } });
    };
    addKey("2026-11");
    let fetches = 0;
    const idp = createHttpServer((_, response) => {
      fetches += 1;
      response.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=3600" });
      response.end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    try {
      const jwksUri = `http://127.0.0.1:${(idp.address() as { port: number }).port}/.well-known/jwks.json`;
      const origin = createHttpServer((_, response) => response.end("from origin"));
      await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
      const originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
      try {
        const base = await wranglerDev({ ALLOW_HTTP_JWKS: "true", ORIGIN_URL: originUrl });
        const created = await fetch(`${base}/admin/apps/IDP-APP`, {
          method: "PUT",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ jwtEnabled: true, jwksUri }),
        });
        assert.equal(created.status, 201);
        const call = async (kid: string) => {
          const key = keys.find((candidate) => candidate.kid === kid) as (typeof keys)[number];
          const token = await mintToken({ appId: "IDP-APP", userId: "u-1", key: key.privateKey, alg: "ES256", kid });
          return (await fetch(`${base}/api/v1/app/IDP-APP/x`, { headers: { authorization: `Bearer ${token}` } }))
            .status;
        };
        assert.equal(await call("2026-11"), 200);
        assert.equal(await call("2026-11"), 200);
        assert.equal(fetches, 1);
        addKey("2026-12");
        assert.equal(await call("2026-12"), 200);
        assert.equal(fetches, 2);
      } finally {
        origin.close();
      }
    } finally {
      idp.close();
    }
  });
});

describe("the challenge through wrangler dev, with the client package", () => {
  it("fetches a nonce, puts it in the token (getToken({ nonce })), passes; a reused or foreign nonce is refused", async () => {
    const origin = createHttpServer((_, response) => response.end("from origin"));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    try {
      const originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
      const base = await wranglerDev({
        ORIGIN_URL: originUrl,
        NONCE_SECRET: "wrangler-dev-nonce-secret-0123456789abcdef",
      });
      for (const appId of ["CHALLENGED", "OTHER-APP"]) {
        const created = await fetch(`${base}/admin/apps/${appId}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ jwtEnabled: true, secret: SECRET, requireNonce: true }),
        });
        assert.equal(created.status, 201);
      }
      const nonces: string[] = [];
      const client = createClient({
        baseUrl: base,
        appId: "CHALLENGED",
        getToken: async ({ nonce }) => {
          assert.equal(typeof nonce, "string");
          nonces.push(nonce as string);
          return mintToken({ appId: "CHALLENGED", userId: "u-1", key: SECRET, claims: { nonce } });
        },
      });
      assert.equal((await client.fetch("/api/v1/x")).status, 200);
      assert.equal((await client.fetch("/api/v1/y")).status, 200);
      assert.equal(nonces.length, 1);
      const send = async (nonce: string, userId: string) => {
        const token = await mintToken({ appId: "CHALLENGED", userId, key: SECRET, claims: { nonce } });
        const res = await fetch(`${base}/app/CHALLENGED/x`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as { reason?: string } };
      };
      assert.deepEqual(await send(nonces[0] as string, "u-2"), {
        status: 401,
        body: { code: "38", status: "Invalid token", reason: "IDENTIFIER_MISMATCH" },
      });
      const foreign = (await (
        await fetch(`${base}/.well-known/edge-authenticator/apps/OTHER-APP/nonce`, { method: "POST" })
      ).json()) as {
        nonce: string;
      };
      assert.equal((await send(foreign.nonce, "u-1")).status, 401);
    } finally {
      origin.close();
    }
  });
});
