import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  claimsFor,
  gateway,
  gatewayWith,
  mintToken,
  originCalls,
  seedApp,
  uniqueAppId,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

describe("GET /healthz", () => {
  it("answers 200 ok, never forwarded, no auth", async () => {
    const res = await gateway("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ status: "ok" });
    expect(originCalls).toHaveLength(0);
  });

  it("answers 405 to another method", async () => {
    const res = await gateway("/healthz", { method: "POST" });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ code: "METHOD_NOT_ALLOWED", status: "Method not allowed" });
    expect(originCalls).toHaveLength(0);
  });
});

describe("paths that are no SDK route", () => {
  it.each(["/", "/api/v1/users", "/apps/X", "/App/X", "/app/", "/healthz/x", "/%61pp/X"])(
    "%s is 404 NOT_FOUND and not forwarded",
    async (path) => {
      const res = await gateway(path, { headers: { authorization: "Bearer x" } });
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({ code: "NOT_FOUND", status: "Not found" });
      expect(originCalls).toHaveLength(0);
    },
  );

  it.each(["/admin", "/admin/apps/X", "/admin/app/X/y"])("%s (admin prefix) is never forwarded", async (path) => {
    const res = await gateway(path, { redirect: "manual" });
    expect(res.status).not.toBe(200);
    expect(originCalls).toHaveLength(0);
  });

  it("/admin/ (admin prefix) is the console's page, never forwarded", async () => {
    const res = await gateway("/admin/");
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    expect(originCalls).toHaveLength(0);
  });
});

describe("SDK routes", () => {
  it.each([
    ["/rtmsAPI/api/v1/app/{id}/setuserid", "/rtmsAPI/api/v1/app/{id}/setuserid"],
    ["/api/v1/app/{id}/threads/7", "/api/v1/app/{id}/threads/7"],
    ["/app/{id}", "/app/{id}"],
    ["/app/{id}/", "/app/{id}/"],
  ])("%s takes its appId from the segment after `app`", async (template) => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const path = template.replace("{id}", appId);
    const res = await gateway(path, withToken(await mintToken(claimsFor(appId))));
    expect(res.status).toBe(200);
    expect(originCalls).toHaveLength(1);
    expect(originCalls[0]?.url).toBe(`https://origin.test/base${path}`);
    expect(originCalls[0]?.headers["x-auth-app-id"]).toBe(appId);
  });

  it.each([["-leading-dash"], [".dot"], ["a".repeat(129)], ["bad%20id"], ["bad~id"], ["%E2%80%8Bzw"]])(
    "answers 400 to the appId %j without reading KV",
    async (appId) => {
      const get = vi.spyOn(env.APPS, "get");
      const res = await gateway(`/api/app/${appId}/x`, { headers: { authorization: "Bearer x" } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ code: "BAD_REQUEST", status: "Invalid appId in path" });
      expect(get).not.toHaveBeenCalled();
      expect(originCalls).toHaveLength(0);
      get.mockRestore();
    },
  );

  it("accepts the longest appId, 128 characters", async () => {
    const appId = `Z${uniqueAppId()}`.padEnd(128, "9");
    await seedApp(appId);
    const res = await gateway(`/app/${appId}`, withToken(await mintToken(claimsFor(appId))));
    expect(res.status).toBe(200);
  });

  it.each([
    ["an empty segment", "/api//app/{id}/x"],
    ["an empty segment after the appId", "/app/{id}//x"],
    ["an encoded slash", "/app/{id}/a%2Fb"],
    ["an encoded backslash", "/app/{id}/a%5Cb"],
    ["invalid percent-encoding", "/app/{id}/%zz"],
    ["percent-encoding that is not UTF-8", "/app/{id}/%C0%AF"],
  ])("answers 400 to a path with %s, not forwarded", async (_, template) => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const res = await gateway(template.replace("{id}", appId), withToken(await mintToken(claimsFor(appId))));
    expect(res.status).toBe(400);
    expect((await res.json()) as object).toMatchObject({ code: "BAD_REQUEST" });
    expect(originCalls).toHaveLength(0);
  });

  it("takes SDK routes from APP_ROUTES patterns when set, and only from them", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    const token = await mintToken(claimsFor(appId));
    const routes = { APP_ROUTES: "/v2/tenants/:appId/*" };
    const res = await gatewayWith(routes, `/v2/tenants/${appId}/messages`, withToken(token));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.headers["x-auth-app-id"]).toBe(appId);
    originCalls.length = 0;
    const other = await gatewayWith(routes, `/api/v1/app/${appId}/x`, withToken(token));
    expect(other.status).toBe(404);
    expect(originCalls).toHaveLength(0);
  });

  it("forwards a path whose dot segments the runtime already resolved, as resolved", async () => {
    const appId = uniqueAppId();
    await seedApp(appId);
    // The Request constructor resolves `..` before the Worker runs, as wrangler dev does.
    const res = await gateway(`/app/${appId}/a/../b`, withToken(await mintToken(claimsFor(appId))));
    expect(res.status).toBe(200);
    expect(originCalls[0]?.url).toBe(`https://origin.test/base/app/${appId}/b`);
  });
});
