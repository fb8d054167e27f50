// The console's files at {ADMIN_PREFIX}/: served from the ASSETS binding (console/dist) without the
// admin credential, each with the strict security headers; {ADMIN_PREFIX} redirects to the
// directory form; every other admin route still needs the credential; a changed ADMIN_PREFIX
// moves the console with it. (The browser tests, test/browser/console.ts, drive the page itself.)
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, gateway, gatewayWith } from "../helpers.ts";

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
  "require-trusted-types-for 'script'; trusted-types 'none'";

const FILES = [
  { path: "/admin/", type: /^text\/html/, text: '<script type="module" src="./console.js"></script>' },
  { path: "/admin/console.js", type: /^(text|application)\/javascript/, text: "sessionStorage" },
  { path: "/admin/console.css", type: /^text\/css/, text: "--accent" },
];

function expectConsoleHeaders(res: Response): void {
  expect(res.headers.get("content-security-policy")).toBe(CSP);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("set-cookie")).toBeNull();
}

describe("the console's files", () => {
  it("come from the ASSETS binding of wrangler.toml (console/dist)", () => {
    expect((env as { ASSETS?: Fetcher }).ASSETS).toBeDefined();
  });

  for (const file of FILES) {
    it(`GET ${file.path} answers without a credential, with the security headers`, async () => {
      const res = await gateway(file.path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(file.type);
      expectConsoleHeaders(res);
      expect(await res.text()).toContain(file.text);
    });
  }

  it("GET /admin/ ignores a credential: a wrong one is no reason to refuse the page", async () => {
    const res = await gateway("/admin/", { headers: { authorization: "Bearer wrong" } });
    expect(res.status).toBe(200);
    expectConsoleHeaders(res);
  });

  it("the page loads its script and style by relative URLs only, with no inline code", async () => {
    const html = await (await gateway("/admin/")).text();
    expect(html).toContain('href="./console.css"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    expect(html).not.toContain("/admin");
  });

  it("GET /admin redirects 308 to /admin/ (the page's relative URLs need the directory)", async () => {
    // `redirect: "manual"`: the test's fetch would otherwise follow it to the page.
    const res = await gateway("/admin", { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/admin/");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("every other admin route still needs the credential", () => {
  for (const [method, path] of [
    ["GET", "/admin/apps"],
    ["GET", "/admin/index.html"],
    ["GET", "/admin/console.js.map"],
    ["GET", "/admin/apps/console/verify"],
    ["POST", "/admin/"],
    ["PUT", "/admin/console.js"],
  ] as const) {
    it(`${method} ${path} without it is 401`, async () => {
      const res = await gateway(path, { method });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="edge-authenticator-admin"');
      expect(res.headers.get("content-security-policy")).toBeNull();
    });
  }

  it("only the console's three files are served: another file of the assets is 404 with it", async () => {
    expect((await admin("/index.html")).status).toBe(404);
  });
});

describe("with ADMIN_PREFIX changed", () => {
  it("the console moves with it, and the old prefix is no longer the console", async () => {
    const page = await gatewayWith({ ADMIN_PREFIX: "/ops/console" }, "/ops/console/");
    expect(page.status).toBe(200);
    expectConsoleHeaders(page);
    const script = await gatewayWith({ ADMIN_PREFIX: "/ops/console" }, "/ops/console/console.js");
    expect(script.status).toBe(200);
    const redirect = await gatewayWith({ ADMIN_PREFIX: "/ops/console" }, "/ops/console");
    expect(redirect.headers.get("location")).toBe("/ops/console/");
    const old = await gatewayWith({ ADMIN_PREFIX: "/ops/console" }, "/admin/");
    expect(old.status).toBe(404);
    expect(old.headers.get("content-security-policy")).toBeNull();
  });
});

describe("GET /admin/openapi.json", () => {
  it("answers the OpenAPI document with the admin credential only, its server the deployment's prefix", async () => {
    expect((await gateway("/admin/openapi.json")).status).toBe(401);
    const res = await admin("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const document = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: object };
    expect(document.openapi).toBe("3.1.0");
    expect(document.servers).toEqual([{ url: "/admin" }]);
    expect(Object.keys(document.paths)).toContain("/apps/{appId}/verify");
    const moved = await gatewayWith({ ADMIN_PREFIX: "/ops/api" }, "/ops/api/openapi.json", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(((await moved.json()) as { servers: unknown }).servers).toEqual([{ url: "/ops/api" }]);
  });
});
