import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers healthz", async () => {
    const res = await exports.default.fetch("http://gw.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(typeof env.APPS.get).toBe("function");
  });
});
