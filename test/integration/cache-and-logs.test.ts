import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  captureLogs,
  claimsFor,
  gateway,
  KEY_BASE64,
  mintToken,
  OTHER_KEY_BYTES,
  seedApp,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

describe("the isolate's app cache", () => {
  it("costs one KV read for 100 requests for one app", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const token = await mintToken(claimsFor(appId));
    const get = vi.spyOn(env.APPS, "get");
    const statuses = [];
    for (let i = 0; i < 100; i++) statuses.push((await gateway(`/app/${appId}/x`, withToken(token))).status);
    expect(get).toHaveBeenCalledTimes(1);
    expect(new Set(statuses)).toEqual(new Set([200]));
    get.mockRestore();
  });

  it("costs one KV read for 100 requests for one unknown app, also when they arrive at once", async () => {
    const appId = uniqueAppId("GONE");
    const get = vi.spyOn(env.APPS, "get");
    const responses = await Promise.all(Array.from({ length: 100 }, () => gateway(`/app/${appId}/x`)));
    expect(get).toHaveBeenCalledTimes(1);
    expect(new Set(responses.map((res) => res.status))).toEqual(new Set([404]));
    get.mockRestore();
  });

  it("does not cache a KV fault: the next request reads again", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const token = await mintToken(claimsFor(appId));
    const get = vi.spyOn(env.APPS, "get").mockRejectedValueOnce(new Error("KV down"));
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(503);
    expect((await gateway(`/app/${appId}/x`, withToken(token))).status).toBe(200);
    expect(get).toHaveBeenCalledTimes(2);
    get.mockRestore();
  });
});

describe("logs", () => {
  it("writes one JSON line per rejected request with appId, code, reason and detail", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const logs = captureLogs();
    try {
      await gateway(`/app/${appId}/x`);
      await gateway(`/app/${appId}/x`, withToken(await mintToken(claimsFor(appId), OTHER_KEY_BYTES)));
      await gateway(`/app/bad~id/x`);
    } finally {
      logs.restore();
    }
    expect(logs.lines()).toEqual([
      {
        level: "info",
        event: "rejected",
        appId,
        method: "GET",
        httpStatus: 401,
        code: "39",
        reason: "TOKEN_NOT_AVAILABLE",
        detail: "authorization_missing",
      },
      {
        level: "info",
        event: "rejected",
        appId,
        method: "GET",
        httpStatus: 401,
        code: "38",
        reason: "INVALID_SIGNATURE",
        detail: "signature_mismatch",
        alg: "HS256",
      },
      {
        level: "info",
        event: "rejected",
        method: "GET",
        httpStatus: 400,
        code: "BAD_REQUEST",
        detail: "app_id_invalid",
      },
    ]);
  });

  it("never logs or answers with a token, a secret or a claim value", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const secretUser = "claim-value-7f3a9c";
    const logs = captureLogs();
    const bodies: string[] = [];
    const tokens: string[] = [];
    try {
      const cases: [Record<string, unknown>, string][] = [
        [{ userId: secretUser, exp: 1 }, ""],
        [{ userId: secretUser }, `?userId=${secretUser}-other`],
        [{ userId: secretUser, appId: `${appId}-other` }, ""],
        [{ userId: secretUser, nbf: 4_000_000_000 }, ""],
      ];
      for (const [claims, query] of cases) {
        const token = await mintToken(claimsFor(appId, claims));
        tokens.push(token);
        const res = await gateway(`/app/${appId}/x${query}`, withToken(token));
        bodies.push(await res.text());
      }
      const malformed = `${tokens[0]}x`;
      bodies.push(await (await gateway(`/app/${appId}/x`, withToken(malformed))).text());
      const broken = uniqueAppId();
      await seedApp(broken, { jwtEnabled: true, secret: ` ${KEY_BASE64}`, secretEncoding: "utf8" });
      const fault = await gateway(`/app/${broken}/x`, withToken(malformed));
      expect(fault.status).toBe(503);
      bodies.push(await fault.text());
    } finally {
      logs.restore();
    }
    const everything = `${logs.text()}\n${bodies.join("\n")}`;
    expect(logs.lines().length).toBeGreaterThanOrEqual(6);
    expect(everything).not.toContain(secretUser);
    expect(everything).not.toContain(KEY_BASE64);
    for (const token of tokens) {
      for (const segment of token.split(".")) expect(everything).not.toContain(segment);
    }
  });
});
