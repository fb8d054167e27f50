/**
 * Instruction counts: workerd under Valgrind's callgrind, counting only while measured requests
 * are in flight. Unlike requests/s, the count does not depend on what else the machine is doing
 * (the same cell gives the same figure to within a fraction of a percent), so it decides the
 * small differences that throughput on a shared 2-core machine cannot.
 */

import { execFile } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import type { BenchRequest } from "./load.ts";

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
  const wrapper = `${dir}.sh`;
  writeFileSync(
    wrapper,
    `#!/bin/sh\nmkdir -p '${dir}'\nexec valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file` +
      ` --callgrind-out-file='${dir}/cg.%p' '${workerd}' "$@" 2>>'${dir}.log'\n`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Sends `count` requests from the cycle starting at `offset`, four at a time; returns the statuses. */
async function send(url: string, requests: readonly BenchRequest[], offset: number, count: number) {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const request = requests[(offset + next++) % requests.length] as BenchRequest;
        const res = await fetch(`${url}${request.path}`, {
          headers: request.authorization ? { authorization: request.authorization } : {},
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }),
  );
  return statuses;
}

export interface CountResult {
  readonly instructionsPerRequest: number;
  readonly statuses: readonly number[];
}

/**
 * Warms the Worker up with `warmup` requests, then counts the instructions workerd executes
 * (every thread, both isolates and the runtime) for the next `count`.
 */
export async function countInstructions(options: {
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly requests: readonly BenchRequest[];
  readonly warmup: number;
  readonly count: number;
}): Promise<CountResult> {
  const { url, pid, dir, requests, warmup, count } = options;
  await send(url, requests, 0, warmup);
  await run("callgrind_control", ["--zero", String(pid)]);
  await run("callgrind_control", ["--instr=on", String(pid)]);
  const statuses = await send(url, requests, warmup, count);
  await run("callgrind_control", ["--instr=off", String(pid)]);
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  await run("callgrind_control", ["--dump", String(pid)]);
  const dumps = readdirSync(dir).filter((file) => file.startsWith(`cg.${pid}`) && !before.has(file));
  let total = 0;
  for (const file of dumps) {
    const match = /^totals:\s*(\d+)/m.exec(readFileSync(`${dir}/${file}`, "utf8"));
    total += Number(match?.[1] ?? Number.NaN);
  }
  if (dumps.length === 0 || !Number.isFinite(total)) throw new Error(`no callgrind dump for workerd ${pid}`);
  return { instructionsPerRequest: total / count, statuses };
}
