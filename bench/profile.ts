/**
 * npm run bench:profile [-- --scenario unique --seconds 4]
 *
 * CPU profile of the gateway under load: runs the bundle on workerd with its inspector open,
 * drives one benchmark scenario with wrk, and prints the functions with the most self time.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { mintHs256 } from "./lib/mint.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: { scenario: { type: "string", default: "unique" }, seconds: { type: "string", default: "4" } },
});

const secret = randomBytes(30).toString("base64url");

await run(`${ROOT}node_modules/.bin/wrangler`, ["deploy", "--dry-run", "--outdir", `${ROOT}bench/out/gateway`], {
  cwd: ROOT,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    inspectorPort: 9239,
    handleStructuredLogs() {},
    workers: [
      {
        name: "gateway",
        modules: true,
        scriptPath: `${ROOT}bench/out/gateway/index.js`,
        compatibilityDate: "2026-11-01",
        serviceBindings: { ORIGIN: "origin" },
        kvNamespaces: { APPS: "apps" },
      },
      { name: "origin", modules: true, scriptPath: `${ROOT}bench/workers/origin.js`, compatibilityDate: "2026-11-01" },
    ],
  }),
);
const url = (await mf.ready).toString().replace(/\/$/, "");
const kv = await mf.getKVNamespace("APPS", "gateway");
await kv.put("app:bench-app", JSON.stringify({ jwtEnabled: true, secret, secretEncoding: "utf8" }));
await kv.put("app:bench-open", JSON.stringify({ jwtEnabled: false }));

const now = Math.floor(Date.now() / 1000);
const claims = (i: number) => ({ appId: "bench-app", userId: "bench-user", iat: now, exp: now + 3600, jti: i });
const path = "/api/v1/app/bench-app/threads?userId=bench-user";
const lines: string[] = [];
if (values.scenario === "warm") lines.push(`${path}\tBearer ${mintHs256(secret, claims(0))}`);
else if (values.scenario === "jwt-off") lines.push("/api/v1/app/bench-open/threads?userId=bench-user\t");
else if (values.scenario === "rejected")
  for (let i = 0; i < 20000; i++) lines.push(`${path}\tBearer ${mintHs256("x".repeat(40), claims(i))}`);
else for (let i = 0; i < 60000; i++) lines.push(`${path}\tBearer ${mintHs256(secret, claims(i))}`);
const file = join(tmpdir(), "edge-auth-profile.txt");
writeFileSync(file, `${lines.join("\n")}\n`);

const targets = (await (await fetch("http://127.0.0.1:9239/json/list")).json()) as {
  webSocketDebuggerUrl: string;
  title?: string;
  id?: string;
}[];
const target = targets.find((t) => JSON.stringify(t).includes("gateway")) ?? targets[0];
const socket = new WebSocket(target?.webSocketDebuggerUrl as string);
await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
let id = 0;
const pending = new Map<number, (value: unknown) => void>();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
  if (message.id !== undefined) pending.get(message.id)?.(message.result);
});
const send = (method: string, params: Record<string, unknown> = {}) =>
  new Promise<unknown>((resolve) => {
    id += 1;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });

const wrkArgs = ["-t1", "-c32", `-d${values.seconds}s`, "-s", `${ROOT}bench/lib/requests.lua`, url];
await run("wrk", ["-t1", "-c32", "-d1s", "-s", `${ROOT}bench/lib/requests.lua`, url], {
  env: { ...process.env, BENCH_REQUESTS: file },
});
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const { stdout } = await run("wrk", wrkArgs, { env: { ...process.env, BENCH_REQUESTS: file } });
const { profile } = (await send("Profiler.stop")) as {
  profile: {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
};
console.log(/Requests\/sec:.*/.exec(stdout)?.[0]);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
for (const sample of profile.samples) {
  const frame = byId.get(sample)?.callFrame;
  const name = `${frame?.functionName || "(anonymous)"} ${frame?.url.split("/").pop() ?? ""}:${(frame?.lineNumber ?? 0) + 1}`;
  self.set(name, (self.get(name) ?? 0) + 1);
}
const total = profile.samples.length;
for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${name}`);
}
socket.close();
await mf.dispose();
