/**
 * Instruction counts: workerd under Valgrind's callgrind, counting only while measured requests
 * are in flight. Unlike requests/s, the count does not depend on what else the machine is doing
 * (the same cell gives the same figure to within a fraction of a percent), so it decides the
 * small differences that throughput on a shared 2-core machine cannot.
 */

import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { type BenchRequest, sendEach } from "./load.ts";

const run = promisify(execFile);

export async function hasValgrind(): Promise<boolean> {
  try {
    await run("valgrind", ["--version"]);
    await run("callgrind_control", ["--version"]).catch((error: { stdout?: string }) => {
      if (!error.stdout?.includes("callgrind_control")) throw error;
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * V8 flags for workerd under callgrind. Valgrind runs one thread at a time and V8's background
 * compile jobs never finish there, so without this every function stays in the bytecode
 * interpreter (a base64 loop measured 20× its JIT cost). Compiling on the main thread changes
 * when code is optimised, not the code; the warm-up absorbs the compile time.
 */
export const CALLGRIND_V8_FLAGS = "--no-concurrent-recompilation";

/**
 * Writes a wrapper that runs workerd under callgrind with instrumentation off, and returns its
 * path, for `MINIFLARE_WORKERD_PATH`. Dumps go to `dir`.
 */
export function callgrindWorkerd(dir: string): string {
  const workerd = (createRequire(import.meta.url)("workerd") as { default: string }).default;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const wrapper = `${dir}.sh`;
  writeFileSync(
    wrapper,
    `#!/bin/sh\nmkdir -p '${dir}'\nexec valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file` +
      ` --callgrind-out-file='${dir}/cg.%p' '${workerd}' "$@" 2>>'${dir}.log'\n`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Makes every Miniflare started from now on run workerd under callgrind (see above). */
export async function runUnderCallgrind(dir: string): Promise<void> {
  if (!(await hasValgrind())) throw new Error("--instructions needs Valgrind (Debian package valgrind)");
  process.env.MINIFLARE_WORKERD_PATH = callgrindWorkerd(dir);
  process.env.MINIFLARE_WORKERD_V8_FLAGS = CALLGRIND_V8_FLAGS;
}

/** The uncounted warm-up of every cell: as many requests as are counted, at most 1,000. */
export function warmupCount(count: number): number {
  return Math.min(count, 1000);
}

export interface CountResult {
  /** Instructions per request over every counted request: the amortised cost, GC included. */
  readonly instructionsPerRequest: number;
  /** The median window's instructions per request: a typical stretch, most GC pauses left out. */
  readonly medianWindow: number;
  /** Each window's instructions per request, in order. */
  readonly windows: readonly number[];
  readonly statuses: readonly number[];
}

/** Dumps callgrind's counters (which zeroes them) and returns the instructions counted since. */
async function dumpTotal(pid: number, dir: string): Promise<number> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  await run("callgrind_control", ["--dump", String(pid)]);
  const dumps = readdirSync(dir).filter((file) => file.startsWith(`cg.${pid}`) && !before.has(file));
  let total = 0;
  for (const file of dumps) {
    const match = /^totals:\s*(\d+)/m.exec(readFileSync(`${dir}/${file}`, "utf8"));
    total += Number(match?.[1] ?? Number.NaN);
    rmSync(`${dir}/${file}`);
  }
  if (dumps.length === 0 || !Number.isFinite(total)) throw new Error(`no callgrind dump for workerd ${pid}`);
  return total;
}

/**
 * Sends `warmup` requests, then counts the instructions workerd executes (every thread, every
 * isolate and the runtime) for the next `count`, dumped in `windows` equal windows. V8's
 * scavenges come every few hundred requests and cost 10–20 million instructions each (the
 * collection and the deferred destruction of the requests' native objects), so a window that
 * holds one stands out; the mean over all windows is the amortised cost, the median window the
 * typical stretch between collections, and the spread of the windows tells how far to trust each.
 */
export async function countInstructions(options: {
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly requests: readonly BenchRequest[];
  readonly warmup: number;
  readonly count: number;
  readonly windows?: number;
}): Promise<CountResult> {
  const { url, pid, dir, requests, warmup, count } = options;
  const windows = Math.max(1, Math.min(options.windows ?? 10, count));
  const perWindow = Math.floor(count / windows);
  if (warmup > 0) await sendEach(url, requests, { count: warmup });
  await run("callgrind_control", ["--zero", String(pid)]);
  await run("callgrind_control", ["--instr=on", String(pid)]);
  const statuses: number[] = [];
  const values: number[] = [];
  try {
    for (let w = 0; w < windows; w++) {
      statuses.push(...(await sendEach(url, requests, { offset: warmup + w * perWindow, count: perWindow })));
      values.push((await dumpTotal(pid, dir)) / perWindow);
    }
  } finally {
    await run("callgrind_control", ["--instr=off", String(pid)]);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  return {
    instructionsPerRequest: values.reduce((sum, n) => sum + n, 0) / values.length,
    medianWindow:
      sorted.length % 2 === 1
        ? (sorted[half] as number)
        : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2,
    windows: values,
    statuses,
  };
}
