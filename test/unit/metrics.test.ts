import { describe, expect, it } from "vitest";
import { failureLimitClient } from "../../src/gateway/sdk.ts";
import { type CountRow, type Decision, MINUTE_MS, NO_APP, summarize, windowStart } from "../../src/metrics/counts.ts";
import { analyticsIndex, DecisionRecorder } from "../../src/metrics/recorder.ts";
import { captureLogs } from "../helpers.ts";

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

  it("starts each window where windowStart says, the store's reads included", () => {
    expect(new Date(windowStart("1h", T0) * MINUTE_MS).toISOString()).toBe("2026-11-30T11:31:00.000Z");
    expect(new Date(windowStart("24h", T0) * MINUTE_MS).toISOString()).toBe("2026-11-29T12:00:00.000Z");
    expect(new Date(windowStart("7d", T0) * MINUTE_MS).toISOString()).toBe("2026-11-23T12:00:00.000Z");
    const stats = summarize([row(Date.UTC(2026, 10, 29, 12, 10), "allowed", 2)], "24h", T0);
    expect(stats.from).toBe("2026-11-29T12:00:00.000Z");
    expect(stats.series[0]).toMatchObject({ t: stats.from, allowed: 2 });
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

  function recorder(options: { maxEvents?: number; fail?: boolean; throwsFor?: string } = {}) {
    const sent: { app: string; rows: CountRow[] }[] = [];
    const pending: Promise<unknown>[] = [];
    const clock = { now: T0 };
    const instance = new DecisionRecorder({
      sink: (app, rows) => {
        // A sink that throws before it returns a promise (`namespace.get` throwing).
        if (app === options.throwsFor) throw new Error("no such object");
        if (options.fail) return Promise.reject(new Error("DO unavailable"));
        sent.push({ app, rows });
        return Promise.resolve();
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

  it("logs a sink that throws at once like one that rejects, once, and still sends the other apps", async () => {
    const { instance, sent, record } = recorder({ throwsFor: "A" });
    record(decision("A"));
    record(decision("B"));
    record(decision(null));
    const logs = captureLogs();
    try {
      await expect(instance.flush()).resolves.toBeUndefined();
    } finally {
      logs.restore();
    }
    expect(sent.map((batch) => batch.app).sort()).toEqual([NO_APP, "B"]);
    expect(logs.lines()).toEqual([{ level: "warn", event: "metrics_flush_failed", error: "Error" }]);
  });
});

describe("analyticsIndex", () => {
  const bytes = (text: string) => new TextEncoder().encode(text).length;

  it("is the appId itself up to 96 bytes", () => {
    for (const appId of ["AP09092338", NO_APP, "a".repeat(96)]) expect(analyticsIndex(appId)).toBe(appId);
  });

  it("shortens a longer appId to at most 96 bytes: stable, and distinct for appIds that share a long start", () => {
    const start = "A".repeat(100);
    const one = `${start}-one`;
    const two = `${start}-two`;
    for (const appId of [one, two, "a".repeat(97), "Z".repeat(128)]) {
      const index = analyticsIndex(appId);
      expect(bytes(index)).toBeLessThanOrEqual(96);
      expect(index.startsWith(appId.slice(0, 80))).toBe(true);
      expect(analyticsIndex(appId)).toBe(index);
    }
    expect(analyticsIndex(one)).toMatch(/^A{80}~[0-9a-z]{1,11}$/);
    expect(analyticsIndex(one)).not.toBe(analyticsIndex(two));
    expect(analyticsIndex("a".repeat(97))).not.toBe(analyticsIndex("a".repeat(98)));
  });

  it("counts bytes, not characters, and never cuts a character in two", () => {
    const index = analyticsIndex("é".repeat(60));
    expect(bytes(index)).toBeLessThanOrEqual(96);
    expect(index).toMatch(/^é{40}~/);
    expect(analyticsIndex("😀".repeat(30))).toMatch(/^(😀){20}~/);
  });
});

describe("failureLimitClient", () => {
  it("keys an IPv6 address by its /64, however the address is written", () => {
    const key = "2001:db8:0:1::/64";
    for (const ip of [
      "2001:db8:0:1::1",
      "2001:DB8:0:1::ABCD",
      "2001:0db8:0000:0001:0000:0000:0000:0001",
      "2001:db8::1:1:2:3:4",
      "2001:db8:0:1:ffff:ffff:ffff:ffff",
      "2001:db8:0:1::",
      "2001:db8:0:1:0:0:192.0.2.1",
    ]) {
      expect(failureLimitClient(ip)).toBe(key);
    }
    expect(failureLimitClient("2001:db8:0:2::1")).toBe("2001:db8:0:2::/64");
    expect(failureLimitClient("::1")).toBe("0:0:0:0::/64");
    expect(failureLimitClient("fe80::")).toBe("fe80:0:0:0::/64");
  });

  it("keeps IPv4, and reads an IPv4-mapped address as its IPv4 address", () => {
    expect(failureLimitClient("192.0.2.1")).toBe("192.0.2.1");
    expect(failureLimitClient("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(failureLimitClient("::FFFF:c000:0201")).toBe("192.0.2.1");
    expect(failureLimitClient("0:0:0:0:0:ffff:192.0.2.1")).toBe("192.0.2.1");
  });

  it("uses anything else as it is (never a shared key, never dropped)", () => {
    for (const ip of [
      "",
      "garbage",
      ":",
      ":::",
      "1::2::3",
      "2001:db8:0:1:2:3:4:5:6",
      "2001:db8:0:1:2:3:4",
      "1:2:3:4:5:6:7::8",
      "2001:db8::12345",
      "2001:db8::g",
      "::ffff:1.2.3.256",
      "::ffff:1.2.3",
      "1.2.3.4::",
      "fe80::1%eth0",
    ]) {
      expect(failureLimitClient(ip)).toBe(ip);
    }
  });
});
