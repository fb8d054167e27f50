/**
 * npm run bench:profile [-- --scenario unique --seconds 4 --variant gateway --features --top 30]
 *
 * CPU profile of one variant (the gateway by default) under one benchmark scenario's load,
 * through workerd's inspector. Prints the functions with the most self time, then where each
 * request's JavaScript time goes: every sample is charged to the source module (and for a few,
 * the function) of the innermost frame of the variant's own bundle on its stack, so the time of a
 * native call (crypto.subtle.verify, new Headers, JSON.parse, console.log) counts for the code that
 * made it. The bundle's `// src/…` module comments (esbuild keeps them) map lines to modules.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { freePort } from "../scripts/lib/processes.ts";
import { Inspector } from "./lib/inspector.ts";
import { hasWrk, runAutocannon, runWrk } from "./lib/load.ts";
import { buildScenarios, SCENARIO_NAMES } from "./lib/scenarios.ts";
import { buildVariants, startVariant, VARIANTS, type VariantName } from "./lib/variants.ts";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "unique" },
    seconds: { type: "string", default: "4" },
    variant: { type: "string", default: "gateway" },
    features: { type: "boolean", default: false },
    top: { type: "string", default: "30" },
  },
});

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/**
 * Categories of the gateway's code, by source file name (wherever `src/` puts it) and for a few by
 * function, for the per-request breakdown. Anything else is reported under its module path.
 */
const CATEGORIES: readonly [(file: string, fn: string) => boolean, string][] = [
  [
    (f, fn) => f === "forward.ts" && (fn === "forwardedHeaders" || fn === "encodeHeaderValue"),
    "header copying (forwardedHeaders: new Headers, x-auth-* scan, sets)",
  ],
  [(f) => f === "forward.ts", "forwarding (forwardToOrigin: the subrequest, timeout race)"],
  [(f) => f === "json.ts", "strict JSON (json.ts: UTF-8 decode, JSON.parse, duplicate names)"],
  [(f) => f === "base64url.ts", "base64url decode (base64url.ts)"],
  [(f) => f === "keys.ts", "HMAC (keys.ts: crypto.subtle.verify)"],
  [(f) => f === "jws.ts", "JWS split, signing-input bytes, header rules (jws.ts)"],
  [(f) => f === "claims.ts" || f === "policy.ts", "claim and policy checks (claims.ts, policy.ts)"],
  [(f) => f === "verify.ts", "verify pipeline (verify.ts)"],
  [(f) => f === "token-cache.ts", "verified-token cache get/set (token-cache.ts)"],
  [(f, fn) => f === "log.ts" || fn === "logRefusal" || fn === "logEvent", "log line (JSON.stringify, console.log)"],
  [(f) => f === "errors.ts", "error construction and answer (errors.ts)"],
  [(f) => f === "binding.ts" || f === "body.ts", "request binding (binding.ts, body.ts)"],
  [(f) => f === "paths.ts" || f === "raw-target.ts" || f === "routes.ts", "path split, route, hygiene"],
  [(f) => f === "credentials.ts", "bearer token (credentials.ts)"],
  [(f) => f === "store.ts", "app record cache (store.ts)"],
  [(f) => f === "authenticate.ts" || f === "verdict.ts" || f === "sdk.ts", "pipeline (verdict.ts, sdk.ts)"],
  [(f) => f === "app.ts" || f === "index.ts" || f === "config.ts", "entry, config (app.ts, index.ts, config.ts)"],
];

/** The bundle's module of each line (esbuild writes `// path` before each module's code). */
function moduleMap(file: string): (line: number) => string {
  const starts: [number, string][] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, index) => {
      const match = /^\/\/ ((?:src|node_modules|bench)\/\S+\.(?:ts|js|mjs))$/.exec(text);
      if (match) starts.push([index + 1, match[1] as string]);
    });
  return (line) => {
    let module = "(bundle preamble)";
    for (const [start, name] of starts) {
      if (start > line) break;
      module = name;
    }
    return module;
  };
}

function category(module: string, fn: string): string {
  if (!module.startsWith("src/")) return module;
  const file = module.split("/").pop() as string;
  return CATEGORIES.find(([test]) => test(file, fn))?.[1] ?? module;
}

async function main(): Promise<void> {
  const scenarioName = values.scenario as (typeof SCENARIO_NAMES)[number];
  if (!SCENARIO_NAMES.includes(scenarioName) || scenarioName === "unknown-apps") {
    throw new Error(`--scenario: one of ${SCENARIO_NAMES.filter((s) => s !== "unknown-apps").join(", ")}`);
  }
  const variantName = values.variant as VariantName;
  if (!(variantName in VARIANTS)) throw new Error(`--variant: one of ${Object.keys(VARIANTS).join(", ")}`);
  const seconds = Number(values.seconds);

  const secret = randomBytes(30).toString("base64url");
  await buildVariants(secret, { minify: false });
  const scenario = buildScenarios({ secret, tokenCount: 60_000, features: values.features }).find(
    (s) => s.name === scenarioName,
  );
  if (!scenario) throw new Error(`no scenario ${scenarioName}`);
  const port = await freePort();
  const instance = await startVariant(variantName, {
    secret,
    features: values.features,
    inspectorPort: port,
  });
  const inspector = await Inspector.connect(port, variantName);
  try {
    const load = (await hasWrk()) ? runWrk : runAutocannon;
    const options = { url: instance.url, requests: scenario.requests, connections: 32 };
    await load({ ...options, durationSeconds: 1 });
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
    await inspector.send("Profiler.start");
    const result = await load({ ...options, durationSeconds: seconds });
    const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
    analyse(profile, result.requests, instance.variant.script, variantName);
    console.log(
      `\n${variantName}, scenario ${scenarioName}${values.features ? " (--features)" : ""}: ${result.requestsPerSecond.toFixed(0)} requests/s under the profiler, ${result.non2xx} of ${result.requests} answers outside 2xx.`,
    );
  } finally {
    inspector.close();
    await instance.mf.dispose();
  }
}

function analyse(profile: Profile, requests: number, script: string, variant: string): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const moduleOf = moduleMap(script);
  const scriptName = script.split("/").pop() as string;
  const total = profile.samples.length;
  const microsPerSample = (profile.endTime - profile.startTime) / total;
  const perRequest = (count: number) => ((count * microsPerSample) / requests).toFixed(1).padStart(6);
  const percent = (count: number, of: number) => ((100 * count) / of).toFixed(1).padStart(5);

  // Self time by function, as V8 reports it (native calls are frames of their own).
  const self = new Map<string, number>();
  // Each sample charged to the innermost frame of the variant's bundle on its stack.
  const charged = new Map<string, number>();
  let inBundle = 0;
  for (const sample of profile.samples) {
    const frame = byId.get(sample)?.callFrame;
    const name = `${frame?.functionName || "(anonymous)"} ${frame?.url.split("/").pop() ?? ""}:${(frame?.lineNumber ?? 0) + 1}`;
    self.set(name, (self.get(name) ?? 0) + 1);
    let id: number | undefined = sample;
    let owner: string | undefined;
    while (id !== undefined) {
      const callFrame = byId.get(id)?.callFrame;
      if (callFrame?.url.endsWith(scriptName)) {
        owner = category(moduleOf(callFrame.lineNumber + 1), callFrame.functionName);
        break;
      }
      id = parent.get(id);
    }
    if (owner === undefined) owner = frame?.functionName.startsWith("(") ? frame.functionName : "(outside the bundle)";
    else inBundle += 1;
    charged.set(owner, (charged.get(owner) ?? 0) + 1);
  }

  console.log(`Top ${values.top} functions by self time (% of all samples):`);
  for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${percent(count, total)}%  ${name}`);
  }
  console.log(
    `\nWhere ${variant}'s JavaScript time goes, native calls charged to their caller: µs a request (under the profiler), % of the bundle's samples. ${inBundle} of ${total} samples ran the bundle.`,
  );
  console.log("    µs/req  % bundle");
  const rows = [...charged].sort((a, b) => b[1] - a[1]);
  for (const [name, count] of rows.filter(([name]) => !name.startsWith("("))) {
    console.log(`${perRequest(count)}    ${percent(count, inBundle)}%  ${name}`);
  }
  for (const [name, count] of rows.filter(([name]) => name.startsWith("("))) {
    console.log(`${perRequest(count)}         —  ${name}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
