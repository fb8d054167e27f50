// Property-based attacks, with fast-check: random mutations and random requests, each
// sent through the Worker. A failing case is shrunk and printed with its seed.
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  captureLogs,
  claimsFor,
  gateway,
  KEY_BASE64,
  KEY_BYTES,
  mintToken,
  newApp,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  signRaw,
  useOriginRecorder,
} from "../helpers.ts";

useOriginRecorder();

/** Characters a mutation may write: the token alphabet, its separators, and what decoders skip. */
const MUTATION_CHARS = [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  ...".=+/% \t\u0000\u007f",
];

describe("any single-character change to a valid token", () => {
  let appId = "";
  let token = "";
  beforeAll(async () => {
    appId = await newApp();
    token = await mintToken(claimsFor(appId, { jti: "mutation" }));
  });

  it("is rejected, and nothing reaches the origin", async () => {
    // The unchanged token is let in: the property is about the change, not the token.
    expect((await gateway(`/app/${appId}/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...MUTATION_CHARS),
        fc.constantFrom("replace", "insert", "delete"),
        async (index, char, how) => {
          const mutated =
            how === "delete"
              ? token.slice(0, index) + token.slice(index + 1)
              : token.slice(0, index) + char + token.slice(index + (how === "replace" ? 1 : 0));
          // Spaces or tabs before the token widen the separator after `Bearer` (RFC 7235: 1*SP):
          // the same token, not a change to it.
          fc.pre(mutated.replace(/^[ \t]+/, "") !== token);
          originCalls.length = 0;
          let res: Response;
          try {
            res = await gateway(`/app/${appId}/x`, { headers: { authorization: `Bearer ${mutated}` } });
          } catch {
            fc.pre(false); // a header value the Request constructor refuses never leaves a client
            return;
          }
          const body = (await res.json()) as { code: string };
          expect(res.status).toBe(401);
          expect(["38", "39"]).toContain(body.code);
          expect(originCalls).toHaveLength(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const PATH_CHARS = fc.constantFrom(..."abcXYZ019-._~%/\\?#&;=:@!$'()*+,".split(""), "%2e", "%2F", "%00", "..", "//");
const HEADER_NAMES = [
  "authorization",
  "cookie",
  "x-auth-user-id",
  "x_auth_user_id",
  "x-access-token",
  "content-type",
  "content-encoding",
  "origin",
  "x-http-method-override",
  "forwarded",
  "x-forwarded-for",
];

describe("random requests to an enforcing app without a valid token", () => {
  it("never reach the origin", async () => {
    const appId = await newApp();
    const now = nowSeconds();
    // Credentials that must never let a request in: wrong key, expired, another app, garbage.
    const bad = [
      await mintToken(claimsFor(appId), OTHER_KEY_BYTES),
      await mintToken(claimsFor(appId, { exp: now - 3600 })),
      await mintToken(claimsFor("SOME-OTHER-APP")),
      await signRaw('{"alg":"none"}', JSON.stringify(claimsFor(appId))),
    ];
    const headerValue = fc.oneof(
      fc.constantFrom(...bad.map((t) => `Bearer ${t}`), ...bad, "Bearer", "Basic dXNlcjpwYXNz", "application/json"),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(PATH_CHARS, { maxLength: 12 }).map((parts) => parts.join("")),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
        fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), headerValue), { maxLength: 5 }),
        fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
        async (suffix, method, headerPairs, body) => {
          const headers = new Headers();
          let request: Request;
          try {
            for (const [name, value] of headerPairs) headers.append(name, value);
            // A real CORS preflight is let through without a token by contract; leave it out.
            fc.pre(!(method === "OPTIONS" && headers.has("origin")));
            request = new Request(`http://gw.test/app/${appId}/${suffix}`, {
              method,
              headers,
              body: method === "GET" || method === "HEAD" ? undefined : body,
            });
          } catch {
            fc.pre(false); // what the Request constructor refuses never reaches the Worker
            return;
          }
          originCalls.length = 0;
          const res = await exports.default.fetch(request);
          await res.arrayBuffer();
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(originCalls).toHaveLength(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("error bodies and log lines", () => {
  it("never hold the token, the secret or a claim value", async () => {
    const appId = await newApp();
    const secretTexts = [KEY_BASE64, btoa(String.fromCharCode(...KEY_BYTES)).replace(/=+$/, "")];
    const identity = fc.stringMatching(/^[A-Za-z0-9]{10,24}$/);
    await fc.assert(
      fc.asyncProperty(
        identity,
        identity,
        fc.constantFrom("wrong-key", "expired", "future", "other-app", "binding", "no-user", "trailing", "two"),
        async (userId, extra, how) => {
          const now = nowSeconds();
          const claims = claimsFor(appId, { userId, note: extra });
          if (how === "expired") claims.exp = now - 3600;
          if (how === "future") claims.nbf = now + 3600;
          if (how === "other-app") claims.appId = `${appId}-other`;
          if (how === "no-user") delete claims.userId;
          const token = await mintToken(claims, how === "wrong-key" ? OTHER_KEY_BYTES : KEY_BYTES);
          const authorization =
            how === "trailing"
              ? `Bearer ${token} ${extra}`
              : how === "two"
                ? `Bearer ${token}, Bearer ${token}`
                : `Bearer ${token}`;
          const query = how === "binding" ? `?userId=${extra}` : "";
          const logs = captureLogs();
          let text: string;
          let status: number;
          try {
            const res = await gateway(`/app/${appId}/x${query}`, { headers: { authorization } });
            status = res.status;
            text = await res.text();
          } finally {
            logs.restore();
          }
          expect(status).toBe(401);
          const seen = `${text}\n${logs.text()}`;
          const [, payloadSegment] = token.split(".");
          for (const secret of [token, payloadSegment as string, userId, extra, ...secretTexts]) {
            expect(seen).not.toContain(secret);
          }
          expect(originCalls).toHaveLength(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
