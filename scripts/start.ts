/**
 * npm start: the gateway on localhost, offline, with local KV under .wrangler/state, in front of
 * a demo origin that answers with JSON of what it received. The first run seeds a demo app with
 * a generated secret; every run prints a ready-to-paste curl with a freshly minted token.
 *
 * Settings (environment): PORT (gateway, 8787), ORIGIN_PORT (demo origin, 8788),
 * DEMO_APP_ID (demo-app). The top-level wrangler.toml is not changed: the demo origin is passed
 * to `wrangler dev` as the ORIGIN_URL variable.
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { PERSIST_TO, PROJECT_ROOT, readLocalRecord, writeLocalRecord } from "./lib/local-kv.ts";
import { mintAppToken } from "./lib/mint.ts";

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

/** The demo app's record, created with a fresh random secret the first time. */
async function ensureDemoApp(): Promise<Record<string, unknown>> {
  const existing = await readLocalRecord(DEMO_APP_ID);
  if (existing) return existing;
  const now = new Date().toISOString();
  const record = {
    jwtEnabled: true,
    secret: randomBytes(32).toString("base64"),
    secretEncoding: "base64",
    clockToleranceSeconds: 60,
    createdAt: now,
    updatedAt: now,
  };
  await writeLocalRecord(DEMO_APP_ID, record);
  console.log(`Seeded demo app ${DEMO_APP_ID} in local KV (${PERSIST_TO}).`);
  return record;
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
  await startDemoOrigin();
  const record = await ensureDemoApp();
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

  await waitForGateway(`http://127.0.0.1:${PORT}/healthz`, child);
  const token = await mintAppToken({
    appId: DEMO_APP_ID,
    claims: { userId: DEMO_USER_ID },
    secret: record.secret as string,
    encoding: record.secretEncoding === "utf8" ? "utf8" : "base64",
    lifetimeSeconds: 3600,
  });
  const base = `http://127.0.0.1:${PORT}`;
  console.log(`
edge-authenticator is running on ${base}, in front of the demo origin on http://127.0.0.1:${ORIGIN_PORT}.

An authenticated request (the token is valid for one hour; the origin echoes what it received):

  curl -s '${base}/api/v1/app/${DEMO_APP_ID}/hello?userId=${DEMO_USER_ID}' -H 'Authorization: Bearer ${token}'

The same request without a token is refused with code 39:

  curl -s '${base}/api/v1/app/${DEMO_APP_ID}/hello'

A new token: npm run token -- --app ${DEMO_APP_ID} --user ${DEMO_USER_ID} --exp 1h
`);
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
