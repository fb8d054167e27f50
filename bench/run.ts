/**
 * npm run bench [-- --duration 2 --connections 32 --runs 6 --warmup 1 --scenarios warm,jwt-off --pin --loader wrk]
 * npm run bench -- --instructions [--count 1000 --windows 10]
 * npm run bench -- --memory [--tokens 200000]
 * Any mode: --direct (no Miniflare entry Worker), --features (the gateway's app as a full record),
 * --no-metrics (without the metrics, analytics and nonce bindings), --limiter (with the refusal throttle's).
 * `--smoke` runs bench/smoke.ts (`node bench/smoke.ts`).
 *
 * Measures the verification cost of the gateway next to the floor (the least a correct HS256
 * gateway can do), jose, hono-jwt and bare, on workerd, and holds it to the targets; see
 * bench/README.md. A full run (no --scenarios) writes bench/RESULTS[-instructions][-direct][-features].md.
 */

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { runUnderCallgrind } from "./lib/instructions.ts";
import { hasWrk } from "./lib/load.ts";
import { measureInstructions, measureThroughput } from "./lib/measure.ts";
import { runMemory } from "./lib/memory.ts";
import { emptyCells, publish, type RunDescription, report, resultsFile } from "./lib/report.ts";
import { buildScenarios, SCENARIO_NAMES } from "./lib/scenarios.ts";
import { buildVariants, disposeAll, OUT, startVariants } from "./lib/variants.ts";
import { runSmoke } from "./smoke.ts";

const { values: flags } = parseArgs({
  options: {
    // Many short runs, interleaved, make the medians robust to this shared machine's drift.
    duration: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    runs: { type: "string", default: "6" },
    warmup: { type: "string", default: "1" },
    loader: { type: "string" },
    scenarios: { type: "string" },
    pin: { type: "boolean", default: false },
    // Instruction counts under callgrind instead of requests/s (see bench/lib/instructions.ts).
    instructions: { type: "boolean", default: false },
    count: { type: "string", default: "1000" },
    windows: { type: "string", default: "10" },
    // Straight to the variant's socket, without Miniflare's entry Worker in front.
    direct: { type: "boolean", default: false },
    // The gateway's app as a full-featured record: keys, windows, issuer, audience, claim names.
    features: { type: "boolean", default: false },
    // Without the gateway's metrics, analytics and nonce bindings (to compare).
    "no-metrics": { type: "boolean", default: false },
    // Bind the refusal throttle too (Miniflare emulates it with a Durable Object subrequest a call).
    limiter: { type: "boolean", default: false },
    // The gateway isolate's heap after many distinct tokens (bench/lib/memory.ts).
    memory: { type: "boolean", default: false },
    tokens: { type: "string", default: "200000" },
    smoke: { type: "boolean", default: false },
  },
});
/** This run's callgrind dumps: a directory of its own, so two runs at once do not clear each other's. */
const CALLGRIND_DIR = `${OUT}/callgrind/${process.pid}`;

function numberFlag(name: keyof typeof flags, max: number, integer = false): number {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n < 0 || n > max || (integer && !Number.isInteger(n))) throw new Error(`bad --${name}`);
  return n;
}

/** The scenarios `--scenarios` names (all when absent). */
function chosenScenarios(): readonly string[] | undefined {
  const only = flags.scenarios?.split(",");
  const unknown = only?.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown --scenarios ${unknown.join(",")}: ${SCENARIO_NAMES.join(", ")}`);
  return only;
}

/** Requests/s or instruction counts: build, start, measure every cell, report. */
async function measure(): Promise<void> {
  const started = Date.now();
  const run: RunDescription = {
    mode: flags.instructions ? "instructions" : "throughput",
    direct: flags.direct,
    features: flags.features,
    metrics: !flags["no-metrics"],
    limiter: flags.limiter,
    load: {
      tool: flags.loader ?? ((await hasWrk()) ? "wrk" : "autocannon"),
      connections: numberFlag("connections", 600),
      duration: numberFlag("duration", 600),
      runs: numberFlag("runs", 600),
      warmup: numberFlag("warmup", 600),
    },
    count: numberFlag("count", 100_000, true),
    windows: numberFlag("windows", 100, true),
  };
  const only = chosenScenarios();
  const secret = randomBytes(30).toString("base64url");
  const bundles = await buildVariants(secret);
  const scenarios = buildScenarios({ secret, tokenCount: 60_000, features: run.features }).filter(
    (s) => !only || only.includes(s.name),
  );
  if (run.mode === "instructions") await runUnderCallgrind(CALLGRIND_DIR);
  const names = [...new Set(scenarios.flatMap((s) => s.variants))];
  const instances = await startVariants(names, {
    secret,
    features: run.features,
    direct: run.direct,
    pin: flags.pin,
    metrics: run.metrics,
    limiter: run.limiter,
  });
  console.log(`Built and started ${names.join(", ")} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  try {
    const cells = emptyCells(scenarios);
    if (run.mode === "instructions") {
      await measureInstructions(scenarios, instances, cells, {
        dir: CALLGRIND_DIR,
        count: run.count as number,
        windows: run.windows as number,
      });
    } else {
      const load = run.load as NonNullable<RunDescription["load"]>;
      await measureThroughput(scenarios, instances, cells, {
        useWrk: load.tool === "wrk",
        connections: load.connections,
        durationSeconds: load.duration,
        runs: load.runs,
        warmupSeconds: load.warmup,
        pin: flags.pin,
      });
    }
    const seconds = (Date.now() - started) / 1000;
    // Only a full run replaces the recorded results; a --scenarios run just prints.
    const otherBindings = !run.metrics || run.limiter ? "with other bindings (--no-metrics, --limiter)" : null;
    publish(
      report(cells, scenarios, run, bundles, seconds),
      resultsFile(run),
      otherBindings ?? only === undefined,
      seconds,
    );
  } finally {
    await disposeAll(instances);
    rmSync(CALLGRIND_DIR, { recursive: true, force: true });
    for (const file of [`${CALLGRIND_DIR}.sh`, `${CALLGRIND_DIR}.log`]) rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  if (flags.smoke) {
    if ((await runSmoke({ features: flags.features, direct: flags.direct })).length > 0) process.exitCode = 1;
  } else if (flags.memory) {
    await runMemory({ tokens: numberFlag("tokens", 10_000_000, true), features: flags.features, direct: flags.direct });
  } else await measure();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
