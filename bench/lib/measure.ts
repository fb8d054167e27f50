/**
 * Measuring the cells of a run: requests/s under load (wrk, else autocannon), or instructions
 * per request under callgrind. Either way every answer's status is checked against the scenario.
 */

import { readFileSync } from "node:fs";
import { countInstructions, warmupCount } from "./instructions.ts";
import { runAutocannon, runWrk, sendEach } from "./load.ts";
import { type Cell, findCell } from "./report.ts";
import type { Scenario } from "./scenarios.ts";
import { type Instance, VARIANTS, type VariantName } from "./variants.ts";

/** CPU time (user + system, every thread) a process has used, in microseconds, from /proc. */
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

/** The gateway counts the KV reads it makes at this path (bench/workers/count-kv.mjs). */
export async function kvReads(url: string): Promise<number> {
  return ((await (await fetch(`${url}/__bench/kv-reads`)).json()) as { reads: number }).reads;
}

function cellOf(cells: readonly Cell[], scenario: Scenario, variant: VariantName): Cell {
  return findCell(cells, scenario.name, VARIANTS[variant].reportedAs) as Cell;
}

function instanceOf(instances: ReadonlyMap<VariantName, Instance>, variant: VariantName): Instance {
  const instance = instances.get(variant);
  if (instance === undefined) throw new Error(`${variant} was not started`);
  return instance;
}

export interface ThroughputOptions {
  readonly useWrk: boolean;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly runs: number;
  readonly warmupSeconds: number;
  /** Run the load generator on CPU 1 (with --pin, workerd is on CPU 0). */
  readonly pin: boolean;
}

/**
 * Each cell `runs` times, interleaved across variants in alternating order (so no variant always
 * runs first after another), after a warm-up of every cell.
 */
export async function measureThroughput(
  scenarios: readonly Scenario[],
  instances: ReadonlyMap<VariantName, Instance>,
  cells: readonly Cell[],
  options: ThroughputOptions,
): Promise<void> {
  const load = options.useWrk ? runWrk : runAutocannon;
  const { connections } = options;
  console.log(
    `Measuring with ${options.useWrk ? "wrk" : "autocannon"}: ${connections} connections, ${options.durationSeconds}s × ${options.runs} runs a cell, ${options.warmupSeconds}s warm-up.`,
  );
  for (const s of options.warmupSeconds > 0 ? scenarios : []) {
    for (const variant of s.variants) {
      const { url } = instanceOf(instances, variant);
      await load({ url, requests: s.requests, connections, durationSeconds: options.warmupSeconds });
    }
  }
  for (let round = 0; round < options.runs; round++) {
    for (const s of scenarios) {
      for (const variant of round % 2 === 0 ? s.variants : [...s.variants].reverse()) {
        const { url, pid } = instanceOf(instances, variant);
        const cell = cellOf(cells, s, variant);
        const before = s.distinctAppIds ? await kvReads(url) : 0;
        const cpuBefore = cpuMicros(pid);
        const result = await load({
          url,
          requests: s.requests,
          connections,
          durationSeconds: options.durationSeconds,
          ...(options.pin ? { loadCpu: "1" } : {}),
        });
        cell.runs.push({ ...result, cpuMicrosPerRequest: (cpuMicros(pid) - cpuBefore) / result.requests });
        if (s.distinctAppIds) {
          cell.kvReadsPerRun = [...(cell.kvReadsPerRun ?? []), (await kvReads(url)) - before];
          cell.distinctAppIds = s.distinctAppIds;
        }
        // wrk counts answers outside 2xx/3xx; a scenario that expects 4xx expects all of them.
        const expectedBad = s.expectedStatus >= 400 ? result.requests : 0;
        if (result.errors > 0) cell.problems.push(`${result.errors} socket errors`);
        if (Math.abs(result.non2xx - expectedBad) > connections) {
          cell.problems.push(`${result.non2xx} non-2xx of ${result.requests}, expected ${expectedBad}`);
        }
      }
    }
  }
}

export interface InstructionOptions {
  /** Where callgrind writes its dumps (bench/lib/instructions.ts). */
  readonly dir: string;
  /** Requests counted a cell (in `windows` windows), after as many to warm up. */
  readonly count: number;
  readonly windows: number;
}

/** Requests each cell is sent again right before it is counted (caches, the app record's TTL). */
const REWARM = 50;

/**
 * First every cell's warm-up (`warmupCount(count)` requests each, uncounted), so that no isolate is counted
 * while the optimising compiler still works through paths it meets for the first time; then,
 * cell by cell, a short re-warm and the count.
 */
export async function measureInstructions(
  scenarios: readonly Scenario[],
  instances: ReadonlyMap<VariantName, Instance>,
  cells: readonly Cell[],
  { dir, count, windows }: InstructionOptions,
): Promise<void> {
  console.log(
    `Counting instructions under callgrind: every cell warmed up with ${warmupCount(count)} requests, then ${count} counted a cell in ${windows} windows.`,
  );
  for (const s of scenarios) {
    for (const variant of s.variants) {
      await sendEach(instanceOf(instances, variant).url, s.requests, { count: warmupCount(count) });
    }
  }
  for (const s of scenarios) {
    for (const variant of s.variants) {
      const { url, pid } = instanceOf(instances, variant);
      if (pid === undefined) throw new Error(`no workerd process found for ${variant}`);
      const cell = cellOf(cells, s, variant);
      const before = s.distinctAppIds ? await kvReads(url) : 0;
      const counted = await countInstructions({ url, pid, dir, requests: s.requests, warmup: REWARM, count, windows });
      cell.runs.push({
        requestsPerSecond: Number.NaN,
        p50Ms: Number.NaN,
        p99Ms: Number.NaN,
        requests: count,
        non2xx: 0,
        errors: 0,
        instructions: counted.instructionsPerRequest,
        instructionsMedian: counted.medianWindow,
        instructionWindows: counted.windows,
      });
      if (s.distinctAppIds) {
        cell.kvReadsPerRun = [(await kvReads(url)) - before];
        cell.distinctAppIds = Math.min(REWARM + count, s.distinctAppIds);
      }
      const wrong = counted.statuses.filter((status) => status !== s.expectedStatus).length;
      if (wrong > 0) cell.problems.push(`${wrong} of ${counted.statuses.length} answers were not ${s.expectedStatus}`);
      const spread = counted.windows.map((n) => (n / 1000).toFixed(0)).join(" ");
      console.log(
        `${s.name} ${VARIANTS[variant].reportedAs}: ${counted.instructionsPerRequest.toFixed(0)} instructions/request, median window ${counted.medianWindow.toFixed(0)} (windows, thousands: ${spread})`,
      );
    }
  }
}
