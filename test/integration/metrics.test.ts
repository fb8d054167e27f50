// Counting every decision (a Durable Object per app, batched by each isolate, Analytics Engine
// beside it), reading the counts back, and throttling clients that keep failing.
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import type { AppMetrics } from "../../src/metrics/app-metrics.ts";
import { type CountRow, MINUTE_MS, NO_APP, type Stats } from "../../src/metrics/counts.ts";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  GATEWAY,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  seedApp,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

/** An env of its own (one gateway, one recorder), flushing 30 ms after a batch's first decision. */
function testEnv(vars: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...env, METRICS_FLUSH_MS: "30", ...vars };
}

/** Calls the Worker with `workerEnv`, and waits for what it left in `ctx.waitUntil` (the flush). */
async function call(workerEnv: Record<string, unknown>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${GATEWAY}${path}`, init) as Request<unknown, IncomingRequestCfProperties>;
  const res = await worker.fetch(request, workerEnv as never, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response([101, 204, 205, 304].includes(res.status) ? null : body, {
    status: res.status,
    headers: res.headers,
  });
}

async function statsOf(appId: string, window = "1h"): Promise<Record<string, unknown>> {
  const res = await admin(`/apps/${appId}/stats?window=${window}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** What an app's `AppMetrics` object holds (read directly: `stats` answers only for apps with a record). */
function storedStats(app: string, window: "1h" | "24h" | "7d" = "1h", nowMs = Date.now()): Promise<Stats> {
  const namespace = env.METRICS as DurableObjectNamespace<AppMetrics>;
  return namespace.get(namespace.idFromName(app)).stats(window, nowMs) as Promise<Stats>;
}

const NO_COUNTS = { allowed: 0, refused: 0, reported: 0, unchecked: 0, throttled: 0 };

describe("counting decisions", () => {
  it("counts allowed and refused requests by reason and detail, exactly, once flushed", async () => {
    const appId = await newApp();
    const workerEnv = testEnv();
    const good = await mintToken(claimsFor(appId));
    const forged = await mintToken(claimsFor(appId), OTHER_KEY_BYTES);
    const expired = await mintToken(claimsFor(appId, { exp: nowSeconds() - 3600 }));
    const sent = [
      ...Array.from({ length: 4 }, () => withToken(good)),
      ...Array.from({ length: 2 }, () => withToken(forged)),
      withToken(expired),
      {},
      {},
      {},
    ];
    // Sent together, so one isolate batches them.
    const answers = await Promise.all(sent.map((init) => call(workerEnv, `/app/${appId}/x`, init)));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 401, 401, 401, 401, 401, 401]);
    const stats = await statsOf(appId);
    expect(stats).toMatchObject({
      appId,
      window: "1h",
      totals: { allowed: 4, refused: 6, reported: 0, unchecked: 0, throttled: 0 },
      byReason: { INVALID_SIGNATURE: 2, TOKEN_EXPIRED: 1, TOKEN_NOT_AVAILABLE: 3 },
      byDetail: { signature_mismatch: 2, exp_passed: 1, authorization_missing: 3 },
    });
    const series = stats.series as { allowed: number; refused: number }[];
    expect(series).toHaveLength(60);
    expect(series.reduce((sum, point) => sum + point.allowed + point.refused, 0)).toBe(10);
  });

  it("counts report mode's forwarded failures as reported, and an app with checks off as unchecked", async () => {
    const reporting = await newApp(enforcingRecord({ jwtEnabled: undefined, enforcement: "report" }));
    const off = await newApp({ jwtEnabled: false });
    const workerEnv = testEnv();
    expect((await call(workerEnv, `/app/${reporting}/x`)).status).toBe(200);
    expect((await call(workerEnv, `/app/${off}/x`)).status).toBe(200);
    expect(await statsOf(reporting)).toMatchObject({
      totals: { reported: 1, refused: 0 },
      byReason: { TOKEN_NOT_AVAILABLE: 1 },
    });
    expect(await statsOf(off)).toMatchObject({ totals: { unchecked: 1, allowed: 0 } });
  });

  it("writes one Analytics Engine data point per decision, when the dataset is bound", async () => {
    const appId = await newApp();
    const points: AnalyticsEngineDataPoint[] = [];
    const workerEnv = testEnv({
      DECISIONS: { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) },
    });
    await call(workerEnv, `/app/${appId}/x`, withToken(await mintToken(claimsFor(appId))));
    await call(workerEnv, `/app/${appId}/x`);
    expect(points).toEqual([
      { indexes: [appId], blobs: [appId, "allowed", "", "", ""], doubles: [1] },
      {
        indexes: [appId],
        blobs: [appId, "refused", "39", "TOKEN_NOT_AVAILABLE", "authorization_missing"],
        doubles: [1],
      },
    ]);
  });

  it("never changes or fails a decision when counting fails (the store throws, or is not bound)", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const broken = {
      idFromName: (name: string) => name,
      get: () => ({
        add: async () => {
          throw new Error("DO unavailable");
        },
      }),
    };
    for (const workerEnv of [testEnv({ METRICS: broken }), testEnv({ METRICS: undefined })]) {
      expect((await call(workerEnv, `/app/${appId}/x`, withToken(token))).status).toBe(200);
      expect((await call(workerEnv, `/app/${appId}/x`)).status).toBe(401);
    }
    expect(originCalls).toHaveLength(2);
  });

  it("indexes an appId over 96 bytes by a shortened form, and keeps the whole appId in blob1", async () => {
    const appId = `${uniqueAppId("LONG")}${"x".repeat(100)}`;
    await seedApp(appId);
    const points: AnalyticsEngineDataPoint[] = [];
    const workerEnv = testEnv({
      DECISIONS: { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) },
    });
    await call(workerEnv, `/app/${appId}/x`);
    await call(workerEnv, `/app/${appId}/x`);
    const [first, second] = points as [AnalyticsEngineDataPoint, AnalyticsEngineDataPoint];
    const index = first.indexes?.[0] as string;
    expect(new TextEncoder().encode(index).length).toBeLessThanOrEqual(96);
    expect(index.startsWith(appId.slice(0, 80))).toBe(true);
    expect(second.indexes).toEqual([index]);
    expect(first.blobs?.[0]).toBe(appId);
  });

  it("counts a refusal decided before the app's record is read under (no app), never under the path's appId", async () => {
    const unknown = uniqueAppId("LOOP");
    const known = await newApp();
    const workerEnv = testEnv();
    const loopsBefore = (await storedStats(NO_APP)).byDetail.loop_detected ?? 0;
    for (const appId of [unknown, known]) {
      const res = await call(workerEnv, `/app/${appId}/x`, { headers: { "cdn-loop": "edge-authenticator" } });
      expect(res.status).toBe(508);
    }
    expect((await storedStats(unknown)).totals).toEqual(NO_COUNTS);
    expect((await storedStats(known)).totals).toEqual(NO_COUNTS);
    expect((await storedStats(NO_APP)).byDetail.loop_detected).toBeGreaterThanOrEqual(loopsBefore + 2);
  });

  it("answers as usual when the store throws at once, sends the batch's other apps, and logs the failure once", async () => {
    const appId = await newApp();
    const token = await mintToken(claimsFor(appId));
    const throwing = {
      idFromName: (name: string) => name,
      get: () => {
        throw new Error("DO unavailable");
      },
    };
    const workerEnv = testEnv({ METRICS: throwing });
    const logs = captureLogs();
    let statuses: number[];
    try {
      // Sent together, so one batch holds two apps (the app and `(no app)`); `call` fails if the
      // flush it waits for rejects.
      const answers = await Promise.all([
        call(workerEnv, `/app/${appId}/x`, withToken(token)),
        call(workerEnv, `/app/${appId}/x`),
        call(workerEnv, `/app/${uniqueAppId("NOAPP")}/x`),
      ]);
      statuses = answers.map((res) => res.status);
    } finally {
      logs.restore();
    }
    expect(statuses).toEqual([200, 401, 404]);
    expect(logs.lines().filter((line) => line.event === "metrics_flush_failed")).toEqual([
      { level: "warn", event: "metrics_flush_failed", error: "Error" },
    ]);
    expect(logs.text()).not.toContain(token);
  });

  it("does not count the token debugger's verdicts", async () => {
    const appId = await newApp();
    await admin(`/apps/${appId}/verify`, { method: "POST", body: JSON.stringify({ token: "a.b.c" }) });
    expect((await statsOf(appId)).totals).toEqual({ allowed: 0, refused: 0, reported: 0, unchecked: 0, throttled: 0 });
  });
});

describe("the AppMetrics object", () => {
  it("sums batches into minute buckets and deletes buckets older than 7 days", async () => {
    const appId = uniqueAppId();
    const namespace = env.METRICS as DurableObjectNamespace<AppMetrics>;
    const stub = namespace.get(namespace.idFromName(appId));
    const now = Date.now();
    const row = (ageMinutes: number, count: number): CountRow => ({
      minute: Math.floor(now / MINUTE_MS) - ageMinutes,
      outcome: "allowed",
      code: "",
      reason: "",
      detail: "",
      count,
    });
    await stub.add([row(0, 2), row(8 * 24 * 60, 5)]);
    await stub.add([row(0, 3)]);
    expect((await stub.stats("1h", now)).totals.allowed).toBe(5);
    await runInDurableObject(stub, async (instance: AppMetrics) => {
      expect(instance.prune(now)).toBe(1);
    });
    expect((await stub.stats("7d", now)).totals.allowed).toBe(5);
  });
});

describe("hourly windows", () => {
  it("read from the start of their first hour: a count 10 minutes after `from` is in the first point", async () => {
    const stub = (env.METRICS as DurableObjectNamespace<AppMetrics>).get(
      (env.METRICS as DurableObjectNamespace<AppMetrics>).idFromName(uniqueAppId()),
    );
    // Half past an hour: each window's `from` is 30 minutes before "now minus the window".
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const now = hour + 30 * MINUTE_MS + 15_000;
    const dayFrom = hour - 24 * 3_600_000;
    const weekFrom = hour - 7 * 24 * 3_600_000;
    const at = (ms: number, count: number): CountRow => ({
      minute: ms / MINUTE_MS,
      outcome: "allowed",
      code: "",
      reason: "",
      detail: "",
      count,
    });
    await stub.add([at(dayFrom + 10 * MINUTE_MS, 3), at(weekFrom + 10 * MINUTE_MS, 5), at(now - 15_000, 1)]);
    const day = await stub.stats("24h", now);
    expect(day.from).toBe(new Date(dayFrom).toISOString());
    expect(day.series[0]).toMatchObject({ t: day.from, allowed: 3 });
    expect(day.totals.allowed).toBe(4);
    // The alarm's pruning keeps the first hour of the 7d window.
    await runInDurableObject(stub, async (instance: AppMetrics) => {
      expect(instance.prune(now)).toBe(3);
    });
    const week = await stub.stats("7d", now);
    expect(week.from).toBe(new Date(weekFrom).toISOString());
    expect(week.series[0]).toMatchObject({ t: week.from, allowed: 5 });
    expect(week.totals.allowed).toBe(9);
  });
});

describe("GET /admin/apps/{appId}/stats", () => {
  it("answers 400 to another window, 404 for an unknown app, 503 without the METRICS binding", async () => {
    const appId = await newApp();
    expect((await admin(`/apps/${appId}/stats?window=2h`)).status).toBe(400);
    expect((await admin(`/apps/${uniqueAppId()}/stats`)).status).toBe(404);
    const res = await call(testEnv({ METRICS: undefined }), `/admin/apps/${appId}/stats`, {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(503);
  });
});

describe("throttling failing clients", () => {
  /**
   * The Rate Limiting binding counts in windows aligned to the wall clock (a minute): start a
   * burst early in one, so it is not cut in two by the boundary.
   */
  async function startOfAWindow(): Promise<void> {
    const left = MINUTE_MS - (Date.now() % MINUTE_MS);
    if (left < 12_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
  }

  const from = (ip: string, init: RequestInit = {}): RequestInit => {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", ip);
    return { ...init, headers };
  };

  it("answers 429 with Retry-After past 60 refusals a minute from one IP for one app; its valid requests pass", {
    timeout: 30_000,
  }, async () => {
    const appId = await newApp();
    const workerEnv = testEnv();
    const ip = `198.51.100.${(Date.now() % 200) + 1}`;
    const forged = await mintToken(claimsFor(appId), OTHER_KEY_BYTES);
    await startOfAWindow();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 62; i++) {
      last = await call(workerEnv, `/app/${appId}/x`, from(ip, withToken(forged)));
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 60).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    expect(last?.headers.get("retry-after")).toBe("60");
    // CONTRACT sections 6 and 8: the catalogue's JSON, never cached, and no token challenge.
    expect(last?.headers.get("content-type")).toBe("application/json");
    expect(last?.headers.get("cache-control")).toBe("no-store");
    expect(last?.headers.get("www-authenticate")).toBeNull();
    expect(await last?.json()).toEqual({
      code: "TOO_MANY_FAILURES",
      status: "Too many refused requests from this client; retry later",
    });
    const good = await call(workerEnv, `/app/${appId}/x`, from(ip, withToken(await mintToken(claimsFor(appId)))));
    expect(good.status).toBe(200);
    expect((await call(workerEnv, `/app/${appId}/x`, from("203.0.113.9", withToken(forged)))).status).toBe(401);
    expect(await statsOf(appId)).toMatchObject({
      totals: { allowed: 1 },
      byReason: { INVALID_SIGNATURE: expect.any(Number) },
    });
    expect(((await statsOf(appId)).totals as { throttled: number }).throttled).toBeGreaterThanOrEqual(1);
  });

  it("answers a refusal as usual, at once, when the binding never answers", async () => {
    const appId = await newApp();
    const workerEnv = testEnv({ FAILURE_LIMITER: { limit: () => new Promise(() => {}) } });
    const forged = await mintToken(claimsFor(appId), OTHER_KEY_BYTES);
    const answer = call(workerEnv, `/app/${appId}/x`, from("198.51.100.250", withToken(forged)));
    const hung = new Promise((resolve) => setTimeout(resolve, 1000, "no answer within 1 s"));
    expect(await Promise.race([answer.then((res) => res.status), hung])).toBe(401);
  });

  it("counts an IPv6 client by its /64, however it spells or rotates its address", { timeout: 30_000 }, async () => {
    const appId = await newApp();
    const workerEnv = testEnv();
    const block = `2001:db8:${(Date.now() % 0xffff).toString(16)}:a`;
    await startOfAWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 62; i++) {
      // Each request from another address of the block, in another spelling.
      const ip = i % 2 === 0 ? `${block}::${(i + 1).toString(16)}` : `${block.toUpperCase()}:0:0:${i}:1`;
      statuses.push((await call(workerEnv, `/app/${appId}/x`, from(ip))).status);
    }
    expect(statuses.slice(0, 60).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });

  it("counts requests for unknown appIds under one key per IP, whatever appId they name", {
    timeout: 30_000,
  }, async () => {
    const workerEnv = testEnv();
    const ip = `192.0.2.${(Date.now() % 200) + 1}`;
    await startOfAWindow();
    let status = 0;
    for (let i = 0; i < 62; i++) status = (await call(workerEnv, `/app/${uniqueAppId("NOAPP")}/x`, from(ip))).status;
    expect(status).toBe(429);
  });
});
