/**
 * npm start: the gateway on localhost, offline, with local KV under .wrangler/state, in front of
 * a demo origin that answers with JSON of what it received. The first run makes a local
 * ADMIN_TOKEN in .dev.vars (git-ignored) and creates a demo app with a generated secret through
 * the admin API; every run prints ready-to-paste curls: an SDK call with a freshly minted token,
 * and the admin listing.
 *
 * Settings (environment): PORT (gateway, 8787), ORIGIN_PORT (demo origin, 8788),
 * DEMO_APP_ID (demo-app). The top-level wrangler.toml is not changed: the demo origin is passed
 * to `wrangler dev` as the ORIGIN_URL variable.
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { mintToken } from "../src/issuer/index.ts";
import { PERSIST_TO, PROJECT_ROOT, readLocalRecord } from "./lib/local-kv.ts";

const PORT = Number(process.env.PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.ORIGIN_PORT ?? 8788);
const DEMO_APP_ID = process.env.DEMO_APP_ID ?? "demo-app";
const DEMO_USER_ID = "demo-user";
const WRANGLER = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));

/** What the demo origin answers: the request as it arrived from the gateway. */
async function echo(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const target = request.url ?? "/";
  const queryStart = target.indexOf("?");
  return JSON.stringify(
    {
      method: request.method,
      path: queryStart < 0 ? target : target.slice(0, queryStart),
      query: queryStart < 0 ? "" : target.slice(queryStart + 1),
      headers: request.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    },
    null,
    2,
  );
}

function startDemoOrigin(): Promise<void> {
  const server = createServer((request, response) => {
    echo(request).then(
      (body) => response.writeHead(200, { "content-type": "application/json" }).end(`${body}\n`),
      () => response.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(ORIGIN_PORT, "127.0.0.1", () => resolve());
  });
}

/** The local admin credential: ADMIN_TOKEN from .dev.vars, written there the first time. */
function ensureAdminToken(): string {
  const path = fileURLToPath(new URL("../.dev.vars", import.meta.url));
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const existing = /^ADMIN_TOKEN\s*=\s*"?([^"\r\n]+)"?\s*$/m.exec(text)?.[1];
  if (existing && existing.length >= 32) return existing;
  const token = randomBytes(32).toString("base64url");
  const kept = text.replace(/^ADMIN_TOKEN\s*=.*$/m, "").trimEnd();
  writeFileSync(path, `${kept ? `${kept}\n` : ""}ADMIN_TOKEN="${token}"\n`, { mode: 0o600 });
  console.log("Wrote a local ADMIN_TOKEN to .dev.vars (git-ignored).");
  return token;
}

/**
 * The demo app's secret. The first time, the app is created through the admin API (the only
 * writer of app records) with a fresh random secret; later runs read it back from local KV.
 */
async function ensureDemoApp(
  base: string,
  adminToken: string,
): Promise<{ secret: string; encoding: "base64" | "utf8" }> {
  const url = `${base}/admin/apps/${DEMO_APP_ID}`;
  const headers = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const found = await fetch(url, { headers });
  if (found.status === 200) {
    const record = await readLocalRecord(DEMO_APP_ID);
    if (typeof record?.secret === "string") {
      return { secret: record.secret, encoding: record.secretEncoding === "utf8" ? "utf8" : "base64" };
    }
  } else if (found.status !== 404) {
    throw new Error(`the admin API answered ${found.status} for the demo app`);
  }
  const secret = randomBytes(32).toString("base64");
  const created = await fetch(url, {
    method: "PUT",
    headers,
    body: JSON.stringify({ jwtEnabled: true, secret, secretEncoding: "base64", clockToleranceSeconds: 60 }),
  });
  if (!created.ok) throw new Error(`creating the demo app failed: ${created.status} ${await created.text()}`);
  console.log(`Created demo app ${DEMO_APP_ID} in local KV (${PERSIST_TO}) through the admin API.`);
  return { secret, encoding: "base64" };
}

async function waitForGateway(url: string, child: ReturnType<typeof spawn>): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error("wrangler dev exited before the gateway was ready");
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the gateway did not become ready within 150 s");
}

async function main(): Promise<void> {
  const adminToken = ensureAdminToken();
  await startDemoOrigin();
  const child = spawn(
    WRANGLER,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(PORT),
      "--persist-to",
      PERSIST_TO,
      "--var",
      `ORIGIN_URL:http://127.0.0.1:${ORIGIN_PORT}`,
      "--show-interactive-dev-session=false",
    ],
    { cwd: PROJECT_ROOT, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      child.kill(signal);
    });
  }
  child.on("exit", (code) => process.exit(code ?? 0));

  const base = `http://127.0.0.1:${PORT}`;
  await waitForGateway(`${base}/healthz`, child);
  const demo = await ensureDemoApp(base, adminToken);
  const token = await mintToken({
    appId: DEMO_APP_ID,
    userId: DEMO_USER_ID,
    key: demo.secret,
    secretEncoding: demo.encoding,
    expiresIn: "1h",
  });
  console.log(`
edge-authenticator is running on ${base}, in front of the demo origin on http://127.0.0.1:${ORIGIN_PORT}.

An authenticated request (the token is valid for one hour; the origin echoes what it received):

  curl -s '${base}/api/v1/app/${DEMO_APP_ID}/hello?userId=${DEMO_USER_ID}' -H 'Authorization: Bearer ${token}'

The same request without a token is refused with code 39:

  curl -s '${base}/api/v1/app/${DEMO_APP_ID}/hello'

The apps, through the admin API (ADMIN_TOKEN is in .dev.vars):

  curl -s '${base}/admin/apps' -H 'Authorization: Bearer ${adminToken}'

A new token: npm run -s token -- --app ${DEMO_APP_ID} --user ${DEMO_USER_ID} --exp 1h
`);
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
