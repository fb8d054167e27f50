/**
 * The benchmark's report decides issue 13's targets from the cells a run measured: these tests
 * hold its arithmetic (cost = work − the no-check path's work; ratio to the reference cost) and
 * its refusals to decide (a requests/s run, a reference cost that is not above zero).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BOUNDS, type Cell, type Mode, scenarioTable, targetLine, targets } from "../../bench/lib/report.ts";
import type { Scenario } from "../../bench/lib/scenarios.ts";

const BUNDLES = { gatewayGzipBytes: 40 * 1024, wranglerSummary: "" };

const WARM: Scenario = { name: "warm", description: "", variants: [], requests: [], expectedStatus: 200 };

/** One measured cell: `work` instructions (or CPU µs) a request, as the mean and the median window. */
function cell(scenario: Cell["scenario"], variant: string, work: number): Cell {
  return {
    scenario,
    variant,
    problems: [],
    runs: [
      {
        requestsPerSecond: 1000,
        p50Ms: 1,
        p99Ms: 2,
        requests: 1000,
        non2xx: 0,
        errors: 0,
        instructions: work,
        instructionsMedian: work,
        cpuMicrosPerRequest: work,
      },
    ],
  };
}

/**
 * A run where floor's unique cost is 50,000 (bare-id 1,000,000), and the gateway's costs are
 * `gateway` over its jwt-off cell (1,000,000) and over deny-contract (900,000) when rejected.
 */
function run(gateway: { warm: number; unique: number; rejected: number }, floorUnique = 50_000): Cell[] {
  return [
    cell("warm", "bare-id", 1_000_000),
    cell("warm", "floor", 1_050_000),
    cell("warm", "gateway", 1_000_000 + gateway.warm),
    cell("unique", "bare", 1_100_000),
    cell("unique", "bare-id", 1_000_000),
    cell("unique", "floor", 1_000_000 + floorUnique),
    cell("unique", "jose", 1_100_000),
    cell("unique", "hono-jwt", 1_310_000),
    cell("unique", "gateway", 1_000_000 + gateway.unique),
    cell("rejected", "deny", 800_000),
    cell("rejected", "deny-contract", 900_000),
    cell("rejected", "floor", 850_000),
    cell("rejected", "gateway", 900_000 + gateway.rejected),
    cell("jwt-off", "bare", 1_100_000),
    cell("jwt-off", "gateway", 1_000_000),
  ];
}

function verdicts(cells: Cell[], mode: Mode): Record<string, (boolean | undefined)[]> {
  const result: Record<string, (boolean | undefined)[]> = {};
  for (const target of targets(cells, mode, BUNDLES)) {
    result[target.scenario] = [...(result[target.scenario] ?? []), target.met];
  }
  return result;
}

describe("the benchmark report's targets", () => {
  it("measures each cost against its no-check path and meets a bound exactly at the limit", () => {
    const atLimit = run({ warm: BOUNDS.warm * 50_000, unique: BOUNDS.unique * 50_000, rejected: 6.5 * 50_000 });
    const met = verdicts(atLimit, "instructions");
    // unique: 210k is 4.2 × floor's 50k, 1.0 × hono-jwt's 210k and 2.1 × jose's 100k.
    assert.deepEqual(met, {
      warm: [true],
      unique: [true, true, true],
      rejected: [true],
      "jwt-off": [true],
      "unknown-apps": [undefined],
      bundle: [true],
    });
  });

  it("says NOT met one instruction over a bound", () => {
    const over = run({ warm: BOUNDS.warm * 50_000 + 1, unique: 100_000, rejected: BOUNDS.rejected * 50_000 + 1 });
    const met = verdicts(over, "instructions");
    assert.deepEqual(met.warm, [false]);
    assert.deepEqual(met.rejected, [false]);
    assert.deepEqual(met.unique, [true, true, true]);
    assert.match(targetLine(targets(over, "instructions", BUNDLES)[0]), /^- NOT met: warm: gateway warm cost 125,001/);
  });

  it("decides nothing from CPU time, and prints no ratio to a reference cost that is not above zero", () => {
    const drifted = run({ warm: 10_000, unique: 20_000, rejected: 30_000 }, -5_000);
    for (const target of targets(drifted, "throughput", BUNDLES).filter((t) => t.undecided !== undefined)) {
      assert.equal(target.met, undefined);
    }
    const warm = targets(drifted, "instructions", BUNDLES)[0];
    assert.equal(warm.met, undefined);
    assert.match(warm.text, /cost 10,000 = — × floor's unique cost -5,000 instructions/);
    const table = scenarioTable(drifted, WARM, "instructions");
    assert.match(table, /\| gateway \| 1,010,000 \|.*\| 10,000 \| 10,000 \| — \|$/m);
  });
});
