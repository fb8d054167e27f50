import { describe, expect, it } from "vitest";
import { type CountRow, type Decision, MINUTE_MS, NO_APP, summarize } from "../../src/metrics/counts.ts";
import { DecisionRecorder } from "../../src/metrics/recorder.ts";

const T0 = Date.UTC(2026, 10, 30, 12, 30, 15);
const minute = (ms: number) => Math.floor(ms / MINUTE_MS);
const row = (
  at: number,
  outcome: CountRow["outcome"],
  count: number,
  reason = "",
  detail = "",
  code = "",
): CountRow => ({
  minute: minute(at),
  outcome,
  code: code || (reason ? "38" : ""),
  reason,
  detail,
  count,
});

describe("summarize", () => {
  it("sums the last hour by outcome, reason and detail, with a point a minute", () => {
    const stats = summarize(
      [
        row(T0, "allowed", 5),
        row(T0 - 10 * MINUTE_MS, "refused", 2, "INVALID_SIGNATURE", "kid_unknown"),
        row(T0 - 10 * MINUTE_MS, "refused", 1, "INVALID_SIGNATURE", "signature_mismatch"),
        row(T0 - 59 * MINUTE_MS, "throttled", 4, "", "signature_mismatch", "38"),
        row(T0 - 60 * MINUTE_MS, "allowed", 100),
        row(T0, "refused", 3, "", "app_unknown", "APP_NOT_FOUND"),
      ],
      "1h",
      T0,
    );
    expect(stats.totals).toEqual({ allowed: 5, refused: 6, reported: 0, unchecked: 0, throttled: 4 });
    expect(stats.byReason).toEqual({ INVALID_SIGNATURE: 3, "38": 4, APP_NOT_FOUND: 3 });
    expect(stats.byDetail).toEqual({ kid_unknown: 2, signature_mismatch: 5, app_unknown: 3 });
    expect(stats.series).toHaveLength(60);
    expect(stats.series.at(-1)).toMatchObject({ t: "2026-11-30T12:30:00.000Z", allowed: 5, refused: 3 });
    expect(stats.series.at(-11)).toMatchObject({ refused: 3, reasons: { INVALID_SIGNATURE: 3 } });
    expect(stats.from).toBe("2026-11-30T11:31:00.000Z");
    expect(stats.to).toBe("2026-11-30T12:31:00.000Z");
  });

  it("sums 24 hours in whole hours", () => {
    const stats = summarize([row(T0 - 23 * 3_600_000, "allowed", 2), row(T0, "allowed", 1)], "24h", T0);
    expect(stats.series[0]?.t).toMatch(/:00:00.000Z$/);
    expect(stats.series.at(-1)?.t).toBe("2026-11-30T12:00:00.000Z");
    expect(stats.totals.allowed).toBe(3);
  });
});

describe("DecisionRecorder", () => {
  const decision = (appId: string | null, outcome: Decision["outcome"] = "allowed"): Decision => ({
    appId,
    outcome,
    code: "",
    reason: "",
    detail: "",
  });

  function recorder(options: { maxEvents?: number; fail?: boolean } = {}) {
    const sent: { app: string; rows: CountRow[] }[] = [];
    const pending: Promise<unknown>[] = [];
    const clock = { now: T0 };
    const instance = new DecisionRecorder({
      sink: async (app, rows) => {
        if (options.fail) throw new Error("DO unavailable");
        sent.push({ app, rows });
      },
      now: () => clock.now,
      flushMs: 20,
      ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }),
    });
    const record = (d: Decision) => instance.record(d, (promise) => pending.push(promise));
    return { instance, sent, pending, clock, record };
  }

  it("sends one batch per app within the flush delay, with exact counts per minute", async () => {
    const { sent, pending, clock, record } = recorder();
    for (let i = 0; i < 3; i++) record(decision("A"));
    record(decision("B", "refused"));
    clock.now += MINUTE_MS;
    record(decision("A"));
    record(decision(null, "refused"));
    expect(sent).toEqual([]);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(sent.map((batch) => batch.app).sort()).toEqual([NO_APP, "A", "B"]);
    expect(sent.find((batch) => batch.app === "A")?.rows.map((r) => [r.minute, r.count])).toEqual([
      [minute(T0), 3],
      [minute(T0) + 1, 1],
    ]);
  });

  it("sends a full batch at once, and nothing twice", async () => {
    const { sent, pending, record } = recorder({ maxEvents: 5 });
    for (let i = 0; i < 12; i++) record(decision("A"));
    await Promise.all(pending);
    expect(sent.reduce((total, batch) => total + batch.rows.reduce((n, r) => n + r.count, 0), 0)).toBe(12);
  });

  it("never throws when the store fails", async () => {
    const { pending, record } = recorder({ fail: true });
    expect(() => record(decision("A"))).not.toThrow();
    await expect(Promise.all(pending)).resolves.toBeDefined();
  });
});
