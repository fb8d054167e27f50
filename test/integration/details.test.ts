// Every refusal detail (errors.ts REFUSAL_DETAILS) is reachable through the Worker, answers the
// catalogue entry it names, is in the log line and never in the body; and docs/pipeline.md lists
// each one with its code and reason.

import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import pipelineDoc from "../../docs/pipeline.md?raw";
import { detailRows } from "../../scripts/lib/details-table.ts";
import { ERROR_CATALOGUE, REFUSAL_DETAILS, type RefusalDetail } from "../../src/errors.ts";
import worker from "../../src/index.ts";
import {
  admin,
  captureLogs,
  claimsFor,
  enforcingRecord,
  gateway,
  gatewayWith,
  KEY_BYTES,
  mintHmacToken,
  mintToken,
  newApp,
  nowSeconds,
  ORIGIN_BASE,
  OTHER_KEY_BYTES,
  originCalls,
  setOriginResponder,
  signRaw,
  toBase64,
  useOriginRecorder,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

/** A fresh enforcing app with `extra` record fields, and a valid token for it with `claims` changed. */
async function appAnd(claims: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const appId = await newApp(enforcingRecord(extra));
  return { appId, token: await mintToken(claimsFor(appId, claims)) };
}

/** The request for a token (`Bearer …`) at `/app/{appId}/x`, with `init` added. */
function send(appId: string, token: string, init: RequestInit = {}, query = ""): Promise<Response> {
  return gateway(`/app/${appId}/x${query}`, withToken(token, init));
}

/** A token with the app's key over raw header and payload JSON (signature valid). */
function raw(header: string, payload: Record<string, unknown>): Promise<string> {
  return signRaw(header, JSON.stringify(payload), KEY_BYTES);
}

const json = (body: string): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body });
const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();

/** One request per detail that the gateway refuses with exactly that detail. */
const SCENARIOS: Record<RefusalDetail, () => Promise<Response>> = {
  route_not_found: () => gateway("/not-an-sdk-route"),
  app_id_invalid: () => gateway("/app/bad~id/x"),
  path_empty_segment: () => gateway("/app/A//x"),
  path_bad_percent: () => gateway("/app/A/%zz"),
  path_dot_segment: () => gateway("/app/A/a%2Fb"),
  path_control_character: () => gateway("/app/A/%00"),
  loop_detected: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, { headers: { "cdn-loop": "edge-authenticator" } });
  },
  origin_missing: async () => {
    const { appId, token } = await appAnd();
    const request = new Request(`http://localhost:8787/app/${appId}/x`, withToken(token));
    return worker.fetch(request as never, { ...env, ORIGIN_URL: undefined } as never, createExecutionContext());
  },
  app_unknown: () => gateway("/app/NO-SUCH-APP-anywhere/x"),
  kv_unavailable: async () => {
    const get = vi.spyOn(env.APPS, "get").mockRejectedValue(new Error("KV down"));
    try {
      return await gateway("/app/KV-DOWN-app/x");
    } finally {
      get.mockRestore();
    }
  },
  record_invalid: async () => gateway(`/app/${await newApp({ jwtEnabled: true })}/x`),
  jwks_unavailable: async () => {
    // The provider answers no JWKS (its URL is unique, so no set is cached from before).
    setOriginResponder(() => new Response("not a key set", { status: 500 }));
    const appId = await newApp({ jwtEnabled: true, jwksUri: `https://idp.test/${Date.now()}/jwks.json` });
    return send(appId, await mintToken(claimsFor(appId)));
  },
  authorization_missing: async () => gateway(`/app/${await newApp()}/x`),
  scheme_not_bearer: async () => gateway(`/app/${await newApp()}/x`, { headers: { authorization: "Basic dTpw" } }),
  credential_list: async () =>
    gateway(`/app/${await newApp()}/x`, { headers: { authorization: "Bearer a.b.c, Bearer d.e.f" } }),
  text_after_token: async () => gateway(`/app/${await newApp()}/x`, { headers: { authorization: "Bearer a.b.c d" } }),
  token_too_long: async () => send(await newApp(), "a".repeat(8193)),
  segment_count: async () => send(await newApp(), "a.b"),
  bad_base64url: async () => send(await newApp(), "a=.b.c"),
  not_json_object: async () => send(await newApp(), `${btoa("[]").replace(/=+$/, "")}.e30.AA`),
  duplicate_member: async () => {
    const appId = await newApp();
    return send(appId, await signRaw('{"alg":"HS256","alg":"HS256"}', JSON.stringify(claimsFor(appId))));
  },
  timestamp_in_milliseconds: async () => {
    const { appId, token } = await appAnd({ iat: Date.now() });
    return send(appId, token);
  },
  user_revoked: async () => {
    const { appId, token } = await appAnd({ iat: nowSeconds() - 60 });
    await admin(`/apps/${appId}/revocations/user-1`, { method: "PUT" });
    return send(appId, token);
  },
  nonce_missing: async () => {
    const { appId, token } = await appAnd({}, { requireNonce: true });
    return send(appId, token);
  },
  nonce_invalid: async () => {
    const { appId, token } = await appAnd({ nonce: "not-one-of-ours" }, { requireNonce: true });
    return send(appId, token);
  },
  nonce_expired: async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonce = (
      (await (await gateway(`/.well-known/edge-authenticator/apps/${appId}/nonce`, { method: "POST" })).json()) as {
        nonce: string;
      }
    ).nonce;
    return send(appId, await mintToken(claimsFor(appId, { nonce, iat: undefined })));
  },
  nonce_reused: async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonce = (
      (await (await gateway(`/.well-known/edge-authenticator/apps/${appId}/nonce`, { method: "POST" })).json()) as {
        nonce: string;
      }
    ).nonce;
    const logs = captureLogs();
    try {
      await send(appId, await mintToken(claimsFor(appId, { nonce })));
    } finally {
      logs.restore();
    }
    originCalls.length = 0;
    return send(appId, await mintToken(claimsFor(appId, { nonce, userId: "user-2" })));
  },
  nonce_unconfigured: async () => {
    const { appId, token } = await appAnd({ nonce: "x" }, { requireNonce: true });
    return gatewayWith({ NONCE_SECRET: undefined }, `/app/${appId}/x`, withToken(token));
  },
  nonce_store_unavailable: async () => {
    const appId = await newApp(enforcingRecord({ requireNonce: true }));
    const nonce = (
      (await (await gateway(`/.well-known/edge-authenticator/apps/${appId}/nonce`, { method: "POST" })).json()) as {
        nonce: string;
      }
    ).nonce;
    const broken = {
      idFromName: (name: string) => name,
      get: () => ({
        bind: async () => {
          throw new Error("Durable Object down");
        },
      }),
    };
    return gatewayWith({ NONCES: broken }, `/app/${appId}/x`, withToken(await mintToken(claimsFor(appId, { nonce }))));
  },
  time_claim_not_number: async () => {
    const appId = await newApp();
    return send(appId, await raw('{"alg":"HS256"}', claimsFor(appId, { exp: "soon" })));
  },
  alg_not_in_keys: async () => {
    const appId = await newApp();
    return send(appId, await raw('{"alg":"HS512"}', claimsFor(appId)));
  },
  typ_not_jwt: async () => {
    const appId = await newApp();
    return send(appId, await raw('{"alg":"HS256","typ":"at+jwt"}', claimsFor(appId)));
  },
  crit_unsupported: async () => {
    const appId = await newApp();
    return send(appId, await raw('{"alg":"HS256","crit":["exp"]}', claimsFor(appId)));
  },
  b64_unsupported: async () => {
    const appId = await newApp();
    return send(appId, await raw('{"alg":"HS256","b64":true}', claimsFor(appId)));
  },
  kid_unknown: async () => {
    const appId = await newApp({ jwtEnabled: true, keys: [{ kid: "k1", alg: "HS256", secret: toBase64(KEY_BYTES) }] });
    return send(appId, await mintHmacToken(claimsFor(appId), KEY_BYTES, "HS256", "k-unknown"));
  },
  kid_alg_mismatch: async () => {
    const appId = await newApp({
      jwtEnabled: true,
      keys: [
        { kid: "h256", alg: "HS256", secret: toBase64(KEY_BYTES) },
        { kid: "h512", alg: "HS512", secret: toBase64(new Uint8Array(64).map((_, i) => i + 1)) },
      ],
    });
    return send(appId, await mintHmacToken(claimsFor(appId), KEY_BYTES, "HS256", "h512"));
  },
  key_outside_window: async () => {
    const key = { kid: "old", alg: "HS256", secret: toBase64(KEY_BYTES), notAfter: HOUR_AGO };
    const appId = await newApp({ jwtEnabled: true, keys: [key] });
    return send(appId, await mintHmacToken(claimsFor(appId), KEY_BYTES, "HS256", "old"));
  },
  signature_mismatch: async () => {
    const appId = await newApp();
    return send(appId, await mintToken(claimsFor(appId), OTHER_KEY_BYTES));
  },
  exp_passed: async () => {
    const { appId, token } = await appAnd({ exp: nowSeconds() - 3600 });
    return send(appId, token);
  },
  nbf_future: async () => {
    const { appId, token } = await appAnd({ nbf: nowSeconds() + 3600 });
    return send(appId, token);
  },
  iat_future: async () => {
    const { appId, token } = await appAnd({ iat: nowSeconds() + 3600 });
    return send(appId, token);
  },
  exp_missing: async () => {
    const { appId, token } = await appAnd({ exp: undefined }, { requireExp: true });
    return send(appId, token);
  },
  iat_missing: async () => {
    const { appId, token } = await appAnd({ iat: undefined }, { maxTokenLifetimeSeconds: 7200 });
    return send(appId, token);
  },
  iss_missing: async () => {
    const { appId, token } = await appAnd({}, { issuer: "https://issuer.test/" });
    return send(appId, token);
  },
  aud_missing: async () => {
    const { appId, token } = await appAnd({}, { audience: "api" });
    return send(appId, token);
  },
  lifetime_too_long: async () => {
    const { appId, token } = await appAnd({ exp: nowSeconds() + 7200 }, { maxTokenLifetimeSeconds: 3600 });
    return send(appId, token);
  },
  issued_before_revocation: async () => {
    const { appId, token } = await appAnd({ iat: nowSeconds() - 3600 }, { tokensNotBefore: new Date().toISOString() });
    return send(appId, token);
  },
  app_id_claim_missing: async () => {
    const { appId, token } = await appAnd({ appId: undefined });
    return send(appId, token);
  },
  user_claim_missing: async () => {
    const { appId, token } = await appAnd({ userId: undefined });
    return send(appId, token);
  },
  user_claim_invalid: async () => {
    const { appId, token } = await appAnd({ userId: "" });
    return send(appId, token);
  },
  app_id_mismatch: async () => {
    const appId = await newApp();
    return send(appId, await mintToken(claimsFor("ANOTHER-APP")));
  },
  iss_mismatch: async () => {
    const { appId, token } = await appAnd({ iss: "https://other.test/" }, { issuer: "https://issuer.test/" });
    return send(appId, token);
  },
  aud_mismatch: async () => {
    const { appId, token } = await appAnd({ aud: "other" }, { audience: "api" });
    return send(appId, token);
  },
  user_mismatch_query: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, {}, "?userId=user-2");
  },
  user_mismatch_json: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, json('{"userId":"user-2"}'));
  },
  user_mismatch_form: async () => {
    const { appId, token } = await appAnd();
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    return send(appId, token, { method: "POST", headers, body: "userId=user-2" });
  },
  user_mismatch_multipart: async () => {
    const { appId, token } = await appAnd();
    const body = new FormData();
    body.set("userId", "user-2");
    return send(appId, token, { method: "POST", body });
  },
  binding_field_repeated: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, {}, "?userId=user-1&userid=user-1");
  },
  binding_bracket_form: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, {}, "?userId[]=user-1");
  },
  binding_value_type: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, json('{"userId":true}'));
  },
  query_not_parsable: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, {}, "?userId=%zz");
  },
  body_not_parsable: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, json("{"));
  },
  content_type_list: async () => {
    const { appId, token } = await appAnd();
    return send(appId, token, {
      method: "POST",
      headers: { "content-type": "application/json, text/plain" },
      body: "{}",
    });
  },
  body_too_large: async () => {
    const { appId, token } = await appAnd();
    return gatewayWith({ MAX_BODY_BYTES: "8" }, `/app/${appId}/x`, withToken(token, json('{"text":"too long"}')));
  },
  content_encoding: async () => {
    const { appId, token } = await appAnd();
    const headers = { "content-type": "application/json", "content-encoding": "gzip" };
    return send(appId, token, { method: "POST", headers, body: "{}" });
  },
  origin_unreachable: async () => {
    const { appId, token } = await appAnd();
    setOriginResponder(() => {
      throw new TypeError("connection refused");
    });
    return send(appId, token);
  },
  origin_timeout: async () => {
    const { appId, token } = await appAnd();
    setOriginResponder(() => new Promise(() => {}));
    return gatewayWith({ ORIGIN_TIMEOUT_MS: "20" }, `/app/${appId}/x`, withToken(token));
  },
};

describe("refusal details", () => {
  it("has one scenario per detail in the catalogue", () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(REFUSAL_DETAILS).sort());
  });

  it.each(Object.keys(REFUSAL_DETAILS) as RefusalDetail[])(
    "%s: answers its catalogue entry, logs the detail, never sends it",
    async (detail) => {
      const logs = captureLogs();
      let res: Response;
      try {
        res = await (SCENARIOS[detail] as () => Promise<Response>)();
      } finally {
        logs.restore();
      }
      const entry = ERROR_CATALOGUE[REFUSAL_DETAILS[detail][0]];
      expect(res.status).toBe(entry.httpStatus);
      // CONTRACT section 6: every answer the gateway makes itself is JSON, never cached.
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ code: entry.code, ...(entry.reason ? { reason: entry.reason } : {}) });
      expect(text).not.toContain(detail);
      expect(logs.lines().filter((line) => line.event === "rejected")).toEqual([
        expect.objectContaining({ httpStatus: entry.httpStatus, code: entry.code, detail }),
      ]);
      // Forwarding failures happen after the origin was called; every other refusal reaches nothing
      // of the origin (a JWKS is fetched from its provider).
      if (detail !== "origin_unreachable" && detail !== "origin_timeout") {
        expect(originCalls.filter((call) => call.url.startsWith(ORIGIN_BASE))).toHaveLength(0);
      }
    },
  );
});

/** A Markdown table row's cells, trimmed (the formatter pads columns). */
const cells = (row: string) => row.split(/(?<!\\)\|/).map((cell) => cell.trim());

describe("what a refusal's log line says of the token", () => {
  async function lineOf(detail: RefusalDetail): Promise<{ line: Record<string, unknown>; text: string }> {
    const logs = captureLogs();
    try {
      await (SCENARIOS[detail] as () => Promise<Response>)();
    } finally {
      logs.restore();
    }
    return { line: logs.lines().find((line) => line.event === "rejected") ?? {}, text: logs.text() };
  }

  it("never logs a kid the app does not have (the client's text)", async () => {
    const { line, text } = await lineOf("kid_unknown");
    expect(line).toMatchObject({ detail: "kid_unknown", alg: "HS256" });
    expect(line).not.toHaveProperty("kid");
    expect(text).not.toContain("k-unknown");
  });

  it("logs a kid once it names one of the app's keys", async () => {
    expect((await lineOf("key_outside_window")).line).toMatchObject({ alg: "HS256", kid: "old" });
    expect((await lineOf("kid_alg_mismatch")).line).toMatchObject({ alg: "HS256", kid: "h512" });
  });

  it("never logs an alg the app has no key for", async () => {
    const { line } = await lineOf("alg_not_in_keys");
    expect(line).not.toHaveProperty("alg");
  });
});

describe("docs/pipeline.md", () => {
  const rows = pipelineDoc.split("\n").filter((line) => line.startsWith("| `"));

  it.each(detailRows().map((row) => [cells(row)[1], row]))(
    "has the row for %s, as npm run -s details-table prints it",
    (_, row) => {
      expect(rows.map(cells)).toContainEqual(cells(row));
    },
  );
});
