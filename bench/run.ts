/**
 * npm run bench [-- --duration 2 --connections 32 --runs 6 --scenarios warm,jwt-off --pin --smoke]
 * npm run bench -- --instructions [--count 500] [--direct] [--features]
 *
 * Measures the gateway's cost per request next to the limit and a peer, in one run, on workerd
 * through Miniflare's API (not `wrangler dev`, whose proxy caps throughput):
 *   bare      a Worker that forwards without checking anything (the limit)
 *   hono-jwt  hono's own jwt middleware, HS256 with one fixed secret, then the same forwarding
 *   gateway   this project's bundle (what `wrangler deploy` uploads), app records in KV
 * Every variant forwards to the same trivial origin Worker through a service binding.
 *
 * Each cell is measured `--runs` times, interleaved across variants, and the median run is kept.
 * `--instructions` counts workerd's instructions per request under callgrind instead (stable on a
 * noisy machine); `--direct` skips Miniflare's entry Worker; `--features` gives the gateway's app
 * a full-featured record (two keys with kids and windows, issuer, audience, lifetime and revocation
 * rules, its own claim names) and its tokens the claims and `kid` that record asks for. A full run prints one table and
 * writes it to bench/RESULTS.md (RESULTS-instructions.md, -direct.md, -features.md for the other modes). `--smoke` sends a few requests
 * per cell, checks every status and the KV read count, and exits non-zero on a mismatch (no
 * timing is asserted): `npm test` runs it.
 */

import { execFile } from "node:child_process";
import { generateKeyPair, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { CALLGRIND_V8_FLAGS, callgrindWorkerd, countInstructions, hasValgrind } from "./lib/instructions.ts";
import { type BenchRequest, hasWrk, type LoadResult, runAutocannon, runWrk } from "./lib/load.ts";
import { mintHs256 as mintToken } from "./lib/mint.ts";

const run = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = `${ROOT}bench/out`;
const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(`${ROOT}wrangler.toml`, "utf8"))?.[1];
/** The benchmark target: the bundle `wrangler deploy` uploads must stay small. */
const MAX_BUNDLE_GZIP_KIB = 60;

const { values: flags } = parseArgs({
  options: {
    // Many short runs, interleaved, make the medians robust to this shared machine's drift.
    duration: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    runs: { type: "string", default: "6" },
    warmup: { type: "string", default: "1" },
    smoke: { type: "boolean", default: false },
    loader: { type: "string" },
    scenarios: { type: "string" },
    pin: { type: "boolean", default: false },
    // Instruction counts under callgrind instead of requests/s (see bench/lib/instructions.ts).
    instructions: { type: "boolean", default: false },
    count: { type: "string", default: "500" },
    // Straight to the variant's socket, without Miniflare's entry Worker in front.
    direct: { type: "boolean", default: false },
    // The gateway's app as a full-featured record: keys, windows, issuer, audience, claim names.
    features: { type: "boolean", default: false },
  },
});
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const RUNS = Number(flags.runs);
const WARMUP = Number(flags.warmup);
const COUNT = Number(flags.count);
for (const [name, value] of Object.entries({ DURATION, CONNECTIONS, RUNS, WARMUP })) {
  if (!Number.isFinite(value) || value < 0 || value > 600) throw new Error(`bad --${name.toLowerCase()}`);
}
if (!Number.isInteger(COUNT) || COUNT < 1 || COUNT > 100_000) throw new Error("bad --count");
const CALLGRIND_DIR = `${OUT}/callgrind`;

// ---------------------------------------------------------------------------------------------
// Bundles

interface Bundles {
  readonly gatewayGzipBytes: number;
  readonly wranglerSummary: string;
}

async function buildBundles(secret: string): Promise<Bundles> {
  mkdirSync(OUT, { recursive: true });
  const { stdout, stderr } = await run(
    `${ROOT}node_modules/.bin/wrangler`,
    ["deploy", "--dry-run", "--outdir", `${OUT}/gateway`],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const wranglerSummary = /Total Upload: .*/.exec(`${stdout}${stderr}`)?.[0] ?? "";
  await build({
    entryPoints: [`${ROOT}bench/workers/hono-jwt.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    define: { BENCH_SECRET: JSON.stringify(secret) },
    outfile: `${OUT}/hono-jwt.mjs`,
    logLevel: "error",
  });
  // The counting wrapper and the very same gateway bundle, as one module.
  copyFileSync(`${OUT}/gateway/index.js`, `${OUT}/gateway.mjs`);
  copyFileSync(`${ROOT}bench/workers/count-kv.mjs`, `${OUT}/count-kv-entry.mjs`);
  await build({
    entryPoints: [`${OUT}/count-kv-entry.mjs`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: `${OUT}/count-kv.mjs`,
    logLevel: "error",
  });
  return { gatewayGzipBytes: gzipSync(readFileSync(`${OUT}/gateway/index.js`)).length, wranglerSummary };
}

// ---------------------------------------------------------------------------------------------
// Variants

type VariantName = "bare" | "hono-jwt" | "gateway" | "gateway-counted";

const SCRIPTS: Record<VariantName, string> = {
  bare: `${ROOT}bench/workers/bare.js`,
  "hono-jwt": `${OUT}/hono-jwt.mjs`,
  gateway: `${OUT}/gateway.mjs`,
  "gateway-counted": `${OUT}/count-kv.mjs`,
};

const APP_ID = "bench-app";
const OPEN_APP_ID = "bench-open";
const USER_ID = "bench-user";

/** The workerd processes this process has started (Miniflare runs one per instance). */
async function workerdPids(): Promise<Set<number>> {
  const { stdout } = await run("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)]).catch(() => ({ stdout: "" }));
  return new Set(
    stdout
      .split("\n")
      .filter((line) => line.includes("workerd"))
      .map((line) => Number.parseInt(line.trim(), 10)),
  );
}

/** CPU time (user + system) a process has used, in microseconds, from /proc. */
function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 a second).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

interface Instance {
  readonly mf: Miniflare;
  readonly url: string;
  readonly pid: number | undefined;
}

async function startVariant(name: VariantName, secret: string): Promise<Instance> {
  const before = await workerdPids();
  const isGateway = name === "gateway" || name === "gateway-counted";
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      // The gateway logs a line per rejection (workerd still writes it); keep it out of our output.
      handleStructuredLogs() {},
      workers: [
        {
          name,
          modules: true,
          scriptPath: SCRIPTS[name],
          ...(flags.direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
          compatibilityDate: COMPATIBILITY_DATE,
          serviceBindings: { ORIGIN: "origin" },
          ...(isGateway ? { kvNamespaces: { APPS: "apps" } } : {}),
        },
        {
          name: "origin",
          modules: true,
          scriptPath: `${ROOT}bench/workers/origin.js`,
          compatibilityDate: COMPATIBILITY_DATE,
        },
      ],
    }),
  );
  const url = (flags.direct ? await mf.unsafeGetDirectURL(name) : await mf.ready).toString().replace(/\/$/, "");
  const pid = [...(await workerdPids())].find((candidate) => !before.has(candidate));
  // With --pin, every workerd thread runs on CPU 0 and the load generator on CPU 1.
  if (flags.pin && pid !== undefined) await run("taskset", ["-a", "-p", "-c", "0", String(pid)]);
  if (isGateway) {
    const kv = await mf.getKVNamespace("APPS", name);
    const now = new Date().toISOString();
    // utf8 encoding: the key is the secret's bytes, exactly what hono's jwt middleware uses.
    const record = flags.features ? await featuresRecord(secret) : { jwtEnabled: true, secret, secretEncoding: "utf8" };
    await kv.put(`app:${APP_ID}`, JSON.stringify({ ...record, createdAt: now, updatedAt: now }));
    await kv.put(`app:${OPEN_APP_ID}`, JSON.stringify({ jwtEnabled: false, createdAt: now, updatedAt: now }));
  }
  return { mf, url, pid };
}

/**
 * `--features`: the bench secret as the HS256 key `bench` of `keys`, inside a window, beside an
 * ES256 key `next` (a rotation in progress), with every token rule switched on.
 */
async function featuresRecord(secret: string): Promise<Record<string, unknown>> {
  const { publicKey } = await generateKeyPairAsync("ec", { namedCurve: "P-256" });
  const day = 86_400_000;
  const at = (offset: number) => new Date(Date.now() + offset).toISOString();
  return {
    enforcement: "enforce",
    keys: [
      { kid: "next", alg: "ES256", publicKey: publicKey.export({ type: "spki", format: "pem" }), notBefore: at(-day) },
      { kid: FEATURES_KID, alg: "HS256", secret, secretEncoding: "utf8", notBefore: at(-day), notAfter: at(day) },
    ],
    issuer: FEATURES_ISSUER,
    audience: ["web", FEATURES_AUDIENCE],
    requireExp: true,
    maxTokenLifetimeSeconds: 86_400,
    tokensNotBefore: at(-day),
    userClaims: ["userId", "sub"],
    requestBindings: { userId: "userId" },
  };
}

const FEATURES_KID = "bench";
const FEATURES_ISSUER = "https://backend.bench.example";
const FEATURES_AUDIENCE = "sdk";

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  readonly name: string;
  readonly variants: readonly VariantName[];
  readonly requests: readonly BenchRequest[];
  readonly expectedStatus: number;
  /** Distinct appIds, for the KV read check. */
  readonly distinctAppIds?: number;
}

function scenarios(secret: string, tokenCount: number): Scenario[] {
  const now = Math.floor(Date.now() / 1000);
  const features = flags.features ? { iss: FEATURES_ISSUER, aud: FEATURES_AUDIENCE } : {};
  const claims = (i: number) => ({ appId: APP_ID, userId: USER_ID, ...features, iat: now, exp: now + 3600, jti: i });
  const kid = flags.features ? FEATURES_KID : undefined;
  const mintHs256 = (key: string, payload: Record<string, unknown>) => mintToken(key, payload, kid);
  const path = `/api/v1/app/${APP_ID}/threads?userId=${USER_ID}`;
  const warmToken = mintHs256(secret, claims(0));
  const otherSecret = randomBytes(24).toString("base64url");
  const unknownIds = Array.from({ length: 1000 }, () => `unknown-${randomBytes(6).toString("hex")}`);
  return [
    {
      name: "warm",
      variants: ["bare", "hono-jwt", "gateway"],
      requests: [{ path, authorization: `Bearer ${warmToken}` }],
      expectedStatus: 200,
    },
    {
      name: "unique",
      variants: ["bare", "hono-jwt", "gateway"],
      requests: Array.from({ length: tokenCount }, (_, i) => ({
        path,
        authorization: `Bearer ${mintHs256(secret, claims(i + 1))}`,
      })),
      expectedStatus: 200,
    },
    {
      name: "rejected",
      variants: ["hono-jwt", "gateway"],
      requests: Array.from({ length: Math.min(tokenCount, 20_000) }, (_, i) => ({
        path,
        authorization: `Bearer ${mintHs256(otherSecret, claims(i + 1))}`,
      })),
      expectedStatus: 401,
    },
    {
      name: "unknown-apps",
      variants: ["gateway-counted"],
      requests: unknownIds.map((appId) => ({
        path: `/api/v1/app/${appId}/threads`,
        authorization: `Bearer ${warmToken}`,
      })),
      expectedStatus: 404,
      distinctAppIds: unknownIds.length,
    },
    {
      name: "jwt-off",
      variants: ["bare", "gateway"],
      requests: [{ path: `/api/v1/app/${OPEN_APP_ID}/threads?userId=${USER_ID}` }],
      expectedStatus: 200,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Running

async function kvReads(url: string): Promise<number> {
  return ((await (await fetch(`${url}/__bench/kv-reads`)).json()) as { reads: number }).reads;
}

/** Sends every distinct request (up to `limit`) once and checks the status of each. */
async function smokeCell(url: string, scenario: Scenario, limit: number): Promise<string[]> {
  const problems: string[] = [];
  for (const request of scenario.requests.slice(0, limit)) {
    const res = await fetch(`${url}${request.path}`, {
      headers: request.authorization ? { authorization: request.authorization } : {},
    });
    await res.arrayBuffer();
    if (res.status !== scenario.expectedStatus) {
      problems.push(`${scenario.name}: ${request.path} answered ${res.status}, expected ${scenario.expectedStatus}`);
    }
  }
  return problems;
}

interface Measured extends LoadResult {
  readonly cpuMicrosPerRequest?: number;
  /** --instructions: workerd's instructions per request. */
  readonly instructions?: number;
}

interface Cell {
  readonly scenario: string;
  readonly variant: string;
  readonly runs: Measured[];
  kvReadsPerRun?: number[];
  distinctAppIds?: number;
  problems: string[];
}

function median(cell: Cell): Measured {
  const sorted = [...cell.runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as Measured;
}

/**
 * What the ratios compare: requests/s, or with --instructions the inverse of instructions per
 * request (so a ratio reads the same way: above 1 is cheaper than the other variant).
 */
function score(cell: Cell): number {
  const m = median(cell);
  return flags.instructions ? 1 / (m.instructions ?? Number.NaN) : m.requestsPerSecond;
}

/** The median CPU time per request of the cell's runs (workerd: the variant and the origin). */
function medianCpu(cell: Cell): number {
  const values = cell.runs.map((r) => r.cpuMicrosPerRequest ?? Number.NaN).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? Number.NaN;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")) as { version: string })
      .version;
  } catch {
    return "?";
  }
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "—";
}

function table(cells: Cell[]): string {
  const rows = flags.instructions
    ? ["| scenario | variant | instructions/req | × bare | × hono-jwt |", "|---|---|---:|---:|---:|"]
    : [
        "| scenario | variant | req/s | p50 ms | p99 ms | × bare | × hono-jwt | workerd CPU µs/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
      ];
  for (const cell of cells) {
    const m = median(cell);
    const peer = (variant: string) => cells.find((c) => c.scenario === cell.scenario && c.variant === variant);
    const ratio = (other: Cell | undefined) => (other && other !== cell ? fixed(score(cell) / score(other), 2) : "—");
    const name = `| ${cell.scenario} | ${cell.variant}${cell.problems.length > 0 ? " (!)" : ""} |`;
    const ratios = `${ratio(peer("bare"))} | ${ratio(peer("hono-jwt"))} |`;
    rows.push(
      flags.instructions
        ? `${name} ${fixed(m.instructions ?? Number.NaN, 0)} | ${ratios}`
        : `${name} ${fixed(m.requestsPerSecond, 0)} | ${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ${ratios} ${fixed(medianCpu(cell), 0)} |`,
    );
  }
  return rows.join("\n");
}

interface Target {
  readonly text: string;
  readonly met: boolean;
}

function targets(cells: Cell[], bundles: Bundles): Target[] {
  const scoreOf = (scenario: string, variant: string) => {
    const cell = cells.find((c) => c.scenario === scenario && c.variant === variant);
    return cell ? score(cell) : Number.NaN;
  };
  const ratio = (scenario: string, base: string, want: number) => {
    const value = scoreOf(scenario, "gateway") / scoreOf(scenario, base);
    return { text: `${scenario}: gateway ${fixed(value, 2)} × ${base} (target ≥ ${want})`, met: value >= want };
  };
  const unknown = cells.find((c) => c.scenario === "unknown-apps");
  const maxReads = Math.max(...(unknown?.kvReadsPerRun ?? [Number.NaN]));
  const kib = bundles.gatewayGzipBytes / 1024;
  return [
    ratio("warm", "bare", 0.95),
    ratio("unique", "hono-jwt", 1.15),
    ratio("rejected", "hono-jwt", 1.0),
    {
      text: `unknown-apps: at most ${maxReads} KV reads in a run for ${unknown?.distinctAppIds} distinct appIds (target ≤ 1 each per cache period)`,
      met: maxReads <= (unknown?.distinctAppIds ?? 0),
    },
    ratio("jwt-off", "bare", 0.95),
    { text: `bundle: ${fixed(kib, 1)} KiB gzip (target ≤ ${MAX_BUNDLE_GZIP_KIB})`, met: kib <= MAX_BUNDLE_GZIP_KIB },
  ];
}

type CellOf = (s: Scenario, variant: VariantName) => Cell;

async function measureThroughput(
  all: Scenario[],
  instances: Map<VariantName, Instance>,
  cellOf: CellOf,
  useWrk: boolean,
): Promise<void> {
  const load = useWrk ? runWrk : runAutocannon;
  console.log(
    `Measuring with ${useWrk ? "wrk" : "autocannon"}: ${CONNECTIONS} connections, ${DURATION}s × ${RUNS} runs a cell, ${WARMUP}s warm-up.`,
  );
  for (const s of all) {
    for (const variant of s.variants) {
      const { url } = instances.get(variant) as Instance;
      await load({ url, requests: s.requests, connections: CONNECTIONS, durationSeconds: WARMUP });
    }
  }
  for (let round = 0; round < RUNS; round++) {
    for (const s of all) {
      // Alternate the order each round, so no variant always runs first after another.
      for (const variant of round % 2 === 0 ? s.variants : [...s.variants].reverse()) {
        const { url, pid } = instances.get(variant) as Instance;
        const cell = cellOf(s, variant);
        const before = s.distinctAppIds ? await kvReads(url) : 0;
        const cpuBefore = cpuMicros(pid);
        const result = await load({
          url,
          requests: s.requests,
          connections: CONNECTIONS,
          durationSeconds: DURATION,
          ...(flags.pin ? { loadCpu: "1" } : {}),
        });
        cell.runs.push({ ...result, cpuMicrosPerRequest: (cpuMicros(pid) - cpuBefore) / result.requests });
        if (s.distinctAppIds) {
          cell.kvReadsPerRun = [...(cell.kvReadsPerRun ?? []), (await kvReads(url)) - before];
          cell.distinctAppIds = s.distinctAppIds;
        }
        const expectedBad = s.expectedStatus >= 400 ? result.requests : 0;
        if (result.errors > 0) cell.problems.push(`${result.errors} socket errors`);
        if (Math.abs(result.non2xx - expectedBad) > CONNECTIONS) {
          cell.problems.push(`${result.non2xx} non-2xx of ${result.requests}, expected ${expectedBad}`);
        }
      }
    }
  }
}

/** --instructions: one count a cell, after a warm-up of as many requests. */
async function measureInstructions(all: Scenario[], instances: Map<VariantName, Instance>, cellOf: CellOf) {
  console.log(`Counting instructions under callgrind: ${COUNT} requests a cell after ${COUNT} to warm up.`);
  for (const s of all) {
    for (const variant of s.variants) {
      const { url, pid } = instances.get(variant) as Instance;
      if (pid === undefined) throw new Error(`no workerd process found for ${variant}`);
      const cell = cellOf(s, variant);
      const before = s.distinctAppIds ? await kvReads(url) : 0;
      const counted = await countInstructions({
        url,
        pid,
        dir: CALLGRIND_DIR,
        requests: s.requests,
        warmup: COUNT,
        count: COUNT,
      });
      cell.runs.push({
        requestsPerSecond: Number.NaN,
        p50Ms: Number.NaN,
        p99Ms: Number.NaN,
        requests: COUNT,
        non2xx: 0,
        errors: 0,
        instructions: counted.instructionsPerRequest,
      });
      if (s.distinctAppIds) {
        cell.kvReadsPerRun = [(await kvReads(url)) - before];
        cell.distinctAppIds = Math.min(2 * COUNT, s.distinctAppIds);
      }
      const wrong = counted.statuses.filter((status) => status !== s.expectedStatus).length;
      if (wrong > 0) cell.problems.push(`${wrong} of ${COUNT} answers were not ${s.expectedStatus}`);
      console.log(`${s.name} ${variant}: ${counted.instructionsPerRequest.toFixed(0)} instructions/request`);
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const secret = randomBytes(30).toString("base64url");
  const bundles = await buildBundles(secret);
  const useWrk = flags.loader ? flags.loader === "wrk" : await hasWrk();
  const only = flags.scenarios?.split(",");
  const all = scenarios(secret, flags.smoke ? 50 : 60_000).filter((s) => !only || only.includes(s.name));
  const names = [...new Set(all.flatMap((s) => s.variants))];
  const instances = new Map<VariantName, Instance>();
  if (flags.instructions) {
    if (!(await hasValgrind())) throw new Error("--instructions needs Valgrind (Debian package valgrind)");
    process.env.MINIFLARE_WORKERD_PATH = callgrindWorkerd(CALLGRIND_DIR);
    process.env.MINIFLARE_WORKERD_V8_FLAGS = CALLGRIND_V8_FLAGS;
  }
  try {
    for (const name of names) instances.set(name, await startVariant(name, secret));
    const cells: Cell[] = all.flatMap((s) =>
      s.variants.map((variant) => ({
        scenario: s.name,
        variant: variant === "gateway-counted" ? "gateway" : variant,
        runs: [],
        problems: [],
      })),
    );
    const cellOf = (s: Scenario, variant: VariantName) =>
      cells.find(
        (c) => c.scenario === s.name && c.variant === (variant === "gateway-counted" ? "gateway" : variant),
      ) as Cell;

    if (flags.smoke) {
      const problems: string[] = [];
      for (const s of all) {
        for (const variant of s.variants) {
          const { url } = instances.get(variant) as Instance;
          const before = s.distinctAppIds ? await kvReads(url) : 0;
          problems.push(...(await smokeCell(url, s, 50)).map((p) => `${variant} ${p}`));
          if (s.distinctAppIds) {
            problems.push(...(await smokeCell(url, s, 50)).map((p) => `${variant} ${p}`));
            const reads = (await kvReads(url)) - before;
            if (reads !== 50)
              problems.push(`${variant} unknown-apps: ${reads} KV reads for 50 distinct appIds sent twice`);
          }
        }
      }
      const kib = bundles.gatewayGzipBytes / 1024;
      if (kib > MAX_BUNDLE_GZIP_KIB) problems.push(`bundle is ${kib.toFixed(1)} KiB gzip, over ${MAX_BUNDLE_GZIP_KIB}`);
      if (problems.length > 0) {
        console.error(`bench smoke: ${problems.length} problems\n${problems.join("\n")}`);
        process.exitCode = 1;
        return;
      }
      console.log(`bench smoke: every variant answered every scenario as expected; bundle ${kib.toFixed(1)} KiB gzip`);
      return;
    }

    if (flags.instructions) await measureInstructions(all, instances, cellOf);
    else await measureThroughput(all, instances, cellOf, useWrk);

    const results = table(cells);
    const goals = targets(cells, bundles);
    const lines = [
      `# Benchmark results`,
      "",
      `${new Date().toISOString()} · ${cpus()[0]?.model ?? "?"} × ${cpus().length} · Node ${process.version} · workerd ${packageVersion("workerd")} · miniflare ${packageVersion("miniflare")} · wrangler ${packageVersion("wrangler")} · hono ${packageVersion("hono")} · jose ${packageVersion("jose")}`,
      "",
      flags.instructions
        ? `Instructions workerd executed (callgrind: every thread, the variant, the origin and Miniflare's entry Worker${flags.direct ? " — here bypassed, --direct" : ""}) per request, over ${COUNT} requests after ${COUNT} to warm up; a ratio is the other variant's count over this one's, so above 1 is cheaper. Command: \`npm run bench -- --instructions${flags.direct ? " --direct" : ""}${flags.features ? " --features" : ""}\`.`
        : `Load: ${useWrk ? "wrk" : "autocannon"}, ${CONNECTIONS} connections, ${DURATION} s a run, median of ${RUNS} runs, after a ${WARMUP} s warm-up${flags.direct ? ", straight to each Worker's socket (--direct, no Miniflare entry Worker)" : ""}; every variant forwards to the same origin Worker through a service binding. Command: \`npm run bench${flags.features ? " -- --features" : ""}\`.`,
      ...(flags.features
        ? [
            "",
            "With `--features`: the gateway's app has two keys with kids and windows (HS256 `bench`, ES256 `next`), issuer, audience, requireExp, maxTokenLifetimeSeconds, tokensNotBefore, userClaims and requestBindings; its tokens carry `kid`, `iss` and `aud` (hono-jwt ignores them).",
          ]
        : []),
      "",
      results,
      "",
      "Targets:",
      "",
      ...goals.map((goal) => `- ${goal.met ? "met" : "NOT met"}: ${goal.text}`),
      "",
      `Bundle (\`wrangler deploy --dry-run\`): ${bundles.wranglerSummary}`,
      "",
      ...cells.flatMap((cell) => cell.problems.map((p) => `- (!) ${cell.scenario}/${cell.variant}: ${p}`)),
    ];
    const text = `${lines.join("\n").trimEnd()}\n`;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    // Only a full run replaces the recorded results; a --scenarios run just prints.
    const file = `bench/RESULTS${flags.instructions ? "-instructions" : ""}${flags.direct ? "-direct" : ""}${flags.features ? "-features" : ""}.md`;
    if (only) console.log(`\n${text}\nPartial run (--scenarios) in ${seconds} s; ${file} left as it was.`);
    else {
      writeFileSync(`${ROOT}${file}`, text);
      console.log(`\n${text}\nWritten to ${file} in ${seconds} s.`);
    }
  } finally {
    await Promise.all([...instances.values()].map(({ mf }) => mf.dispose()));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
