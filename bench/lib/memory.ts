/**
 * `npm run bench -- --memory`: does the gateway's memory stay bounded under many distinct tokens?
 * Sends 200,000 distinct valid tokens (pre-minted in Node) through one gateway isolate, and reads
 * that isolate's JS heap after a full garbage collection, through workerd's inspector
 * (`HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`), at 10,000 tokens and at the end.
 * The growth between the two must stay under 8 MiB: by 10,000 tokens the verified-token cache
 * (src/gateway/token-cache.ts, MAX_CACHED_TOKENS) is full, so a bounded cache grows no further.
 */

import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../scripts/lib/processes.ts";
import { Inspector } from "./inspector.ts";
import { sendEach } from "./load.ts";
import { environmentLine } from "./report.ts";
import { uniqueRequests } from "./scenarios.ts";
import { buildVariants, ROOT, startVariant } from "./variants.ts";

/** The target: heap growth from the checkpoint to the end. */
const MAX_GROWTH_MIB = 8;
const CHECKPOINT = 10_000;
const CONCURRENCY = 32;

export interface MemoryOptions {
  readonly tokens: number;
  readonly features: boolean;
  readonly direct: boolean;
}

interface HeapUsage {
  readonly usedSize: number;
  readonly totalSize: number;
  readonly embedderHeapUsedSize?: number;
  readonly backingStorageSize?: number;
}

/** MAX_CACHED_TOKENS as the source states it, or `null` when it is no longer there. */
function tokenCacheBound(): number | null {
  try {
    const source = readFileSync(`${ROOT}src/gateway/token-cache.ts`, "utf8");
    const value = /MAX_CACHED_TOKENS\s*=\s*([\d_]+)/.exec(source)?.[1];
    return value === undefined ? null : Number(value.replaceAll("_", ""));
  } catch {
    return null;
  }
}

/**
 * The heap after two full collections. workerd runs the inspector's collection as a task the
 * next time the isolate is entered, so the isolate is poked with `/healthz` until it is done.
 */
async function heapAfterGc(inspector: Inspector, url: string): Promise<HeapUsage> {
  for (let pass = 0; pass < 2; pass++) {
    let done = false;
    const collected = inspector.send("HeapProfiler.collectGarbage").then(() => {
      done = true;
    });
    while (!done) {
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      await Promise.race([collected, sleep(50)]);
    }
  }
  return inspector.send<HeapUsage>("Runtime.getHeapUsage");
}

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(2);

export async function runMemory(options: MemoryOptions): Promise<void> {
  const started = Date.now();
  const { tokens, features } = options;
  if (tokens <= CHECKPOINT) throw new Error(`--tokens must be over ${CHECKPOINT}`);
  const secret = randomBytes(30).toString("base64url");
  const bundles = await buildVariants(secret);
  console.log(`Minting ${tokens.toLocaleString("en")} distinct tokens…`);
  const requests = uniqueRequests(secret, tokens, { features });
  const port = await freePort();
  const instance = await startVariant("gateway", {
    secret,
    features,
    direct: options.direct,
    inspectorPort: port,
  });
  const inspector = await Inspector.connect(port, "gateway");
  try {
    await inspector.send("HeapProfiler.enable");
    const bad: number[] = [];
    const sendRange = async (offset: number, count: number) => {
      const t = Date.now();
      const statuses = await sendEach(instance.url, requests, { offset, count, concurrency: CONCURRENCY });
      bad.push(...statuses.filter((s) => s !== 200));
      return count / ((Date.now() - t) / 1000);
    };
    await sendRange(0, 1);
    const initial = await heapAfterGc(inspector, instance.url);
    console.log(`after 1 token: ${mib(initial.usedSize)} MiB used`);
    await sendRange(1, CHECKPOINT - 1);
    const atCheckpoint = await heapAfterGc(inspector, instance.url);
    console.log(`after ${CHECKPOINT.toLocaleString("en")} tokens: ${mib(atCheckpoint.usedSize)} MiB used`);
    const rate = await sendRange(CHECKPOINT, tokens - CHECKPOINT);
    const atEnd = await heapAfterGc(inspector, instance.url);
    console.log(`after ${tokens.toLocaleString("en")} tokens: ${mib(atEnd.usedSize)} MiB used`);

    const growth = atEnd.usedSize - atCheckpoint.usedSize;
    const met = growth < MAX_GROWTH_MIB * 1_048_576 && bad.length === 0;
    const bound = tokenCacheBound();
    const row = (label: string, heap: HeapUsage) =>
      `| ${label} | ${mib(heap.usedSize)} | ${mib(heap.totalSize)} | ${mib(heap.backingStorageSize ?? Number.NaN)} |`;
    const seconds = (Date.now() - started) / 1000;
    const text = [
      "# Benchmark results: memory",
      "",
      environmentLine(),
      "",
      `${tokens.toLocaleString("en")} distinct valid tokens (each sent once, ${CONCURRENCY} at a time, ${rate.toFixed(0)} requests/s) through one gateway isolate${features ? " (the --features record)" : ""}${options.direct ? " (--direct)" : ""}; its JS heap read through workerd's inspector after two full collections (\`HeapProfiler.collectGarbage\`, \`Runtime.getHeapUsage\`). Command: \`npm run bench -- --memory${features ? " --features" : ""}${options.direct ? " --direct" : ""}\`; the run took ${seconds.toFixed(0)} s.`,
      "",
      "| after | JS heap used MiB | heap total MiB | backing stores MiB |",
      "|---|---:|---:|---:|",
      row("1 token", initial),
      row(`${CHECKPOINT.toLocaleString("en")} tokens`, atCheckpoint),
      row(`${tokens.toLocaleString("en")} tokens`, atEnd),
      "",
      "Target:",
      "",
      `- ${met ? "met" : "NOT met"}: growth from ${CHECKPOINT.toLocaleString("en")} to ${tokens.toLocaleString("en")} tokens ${mib(growth)} MiB (target < ${MAX_GROWTH_MIB} MiB)${bad.length > 0 ? `; ${bad.length} answers were not 200` : ""}`,
      "",
      `The verified-token cache holds at most MAX_CACHED_TOKENS = ${bound === null ? "(not found in src/gateway/token-cache.ts)" : bound.toLocaleString("en")} tokens (src/gateway/token-cache.ts), oldest out first; the heap at ${CHECKPOINT.toLocaleString("en")} tokens includes a full cache.`,
      "",
      `Bundle (\`wrangler deploy --dry-run\`): ${bundles.wranglerSummary}`,
    ].join("\n");
    console.log(`\n${text}`);
    const file = `bench/RESULTS-memory${options.direct ? "-direct" : ""}${features ? "-features" : ""}.md`;
    if (tokens === 200_000) {
      writeFileSync(`${ROOT}${file}`, `${text}\n`);
      console.log(`\nWritten to ${file} in ${seconds.toFixed(0)} s.`);
    } else console.log(`\n--tokens ${tokens}: ${file} left as it was (${seconds.toFixed(0)} s).`);
  } finally {
    inspector.close();
    await instance.mf.dispose();
  }
}
