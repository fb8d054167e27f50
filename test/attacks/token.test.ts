// Attacks on the token itself: every case goes through the Worker and asserts the
// status, the exact error body, and that the origin received nothing (`expectRejected`).
import { base64url } from "jose";
import { describe, expect, it, vi } from "vitest";
import {
  claimsFor,
  enforcingRecord,
  expectRejected,
  gateway,
  invalid,
  KEY_BYTES,
  mintToken,
  newApp,
  newSession,
  nowSeconds,
  OTHER_KEY_BYTES,
  originCalls,
  signRaw,
  signSegments,
  useOriginRecorder,
  verifyHs256Jws,
  withToken,
} from "../helpers.ts";

useOriginRecorder();

const utf8 = new TextEncoder();
const HS256 = '{"alg":"HS256","typ":"JWT"}';
/** HMAC pads a short key with zeros to 64 bytes, so this key MACs exactly as the empty key. */
const EMPTY_KEY_EQUIVALENT = new Uint8Array(64);
/** What an attacker would sign with in an RS256→HS256 confusion: the public key's PEM text. */
const PUBLIC_KEY_PEM = utf8.encode(
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n-----END PUBLIC KEY-----\n",
);

async function rejects(path: string, token: string, status: number, body: Record<string, unknown>) {
  await expectRejected(await gateway(path, withToken(token)), status, body);
}

/** A valid token's three segments for a fresh app. */
async function session(claims: Record<string, unknown> = {}) {
  const { appId, token } = await newSession(claims);
  const [header = "", payload = "", signature = ""] = token.split(".");
  return { appId, token, header, payload, signature, path: `/app/${appId}/x` };
}

describe("alg", () => {
  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %j without a signature", async (alg) => {
    const { appId, path } = await session();
    const token = `${base64url.encode(JSON.stringify({ alg, typ: "JWT" }))}.${base64url.encode(JSON.stringify(claimsFor(appId)))}.`;
    await rejects(path, token, 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });

  it.each(["none", "NONE"])("refuses alg %j even with a valid MAC under the app's key", async (alg) => {
    const { appId, path } = await session();
    const token = await signRaw(JSON.stringify({ alg }), JSON.stringify(claimsFor(appId)));
    await rejects(path, token, 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });

  it.each(["HS384", "HS512", "RS256", "ES256", "PS256", "hs256", "HS256 ", ""])(
    "refuses alg %j, whatever the MAC",
    async (alg) => {
      const { appId, path } = await session();
      const token = await signRaw(JSON.stringify({ alg, typ: "JWT" }), JSON.stringify(claimsFor(appId)));
      await rejects(path, token, 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
    },
  );

  it.each([
    ["missing", '{"typ":"JWT"}'],
    ["an array", '{"alg":["HS256"]}'],
    ["an object", '{"alg":{"HS256":true}}'],
    ["null", '{"alg":null}'],
    ["named in another case", '{"ALG":"HS256"}'],
  ])("refuses alg %s", async (_, header) => {
    const { appId, path } = await session();
    await rejects(
      path,
      await signRaw(header, JSON.stringify(claimsFor(appId))),
      401,
      invalid("HEADER_TYPE_INCOMPATIBLE"),
    );
  });

  it.each([
    ["none, then HS256", '{"alg":"none","alg":"HS256"}'],
    ["HS256, then none", '{"alg":"HS256","alg":"none"}'],
    ["HS256 twice", '{"alg":"HS256","alg":"HS256"}'],
    ["one escaped", '{"alg":"HS256","\\u0061lg":"none"}'],
  ])("refuses duplicate alg members (%s) as MALFORMED", async (_, header) => {
    const { appId, path } = await session();
    await rejects(path, await signRaw(header, JSON.stringify(claimsFor(appId))), 401, invalid("MALFORMED"));
  });

  it("refuses RS256→HS256 key confusion: HS256 MACed with the public key's PEM", async () => {
    const { appId, path } = await session();
    const claims = JSON.stringify(claimsFor(appId));
    await rejects(path, await signRaw(HS256, claims, PUBLIC_KEY_PEM), 401, invalid("INVALID_SIGNATURE"));
    await rejects(
      path,
      await signRaw('{"alg":"RS256"}', claims, PUBLIC_KEY_PEM),
      401,
      invalid("HEADER_TYPE_INCOMPATIBLE"),
    );
  });
});

describe("header parameters that carry keys or extensions", () => {
  const attackerJwk = { kty: "oct", k: base64url.encode(OTHER_KEY_BYTES) };

  it.each([
    ["an embedded jwk", { jwk: attackerJwk }, OTHER_KEY_BYTES],
    ["a jku", { jku: "https://attacker.example/jwks.json" }, OTHER_KEY_BYTES],
    ["an x5u", { x5u: "https://attacker.example/cert.pem" }, OTHER_KEY_BYTES],
    ["an x5c", { x5c: ["MIIBIjANBgkq"] }, OTHER_KEY_BYTES],
    ["kid path traversal, empty key", { kid: "../../../../../../dev/null" }, EMPTY_KEY_EQUIVALENT],
    ["kid path traversal to another record", { kid: "../app:OTHER" }, OTHER_KEY_BYTES],
    ["kid SQL injection, key 'secret'", { kid: "x' UNION SELECT 'secret' --" }, utf8.encode("secret")],
    ["kid command injection", { kid: "k; cat /etc/passwd" }, EMPTY_KEY_EQUIVALENT],
    ["kid naming the app", { kid: "app" }, EMPTY_KEY_EQUIVALENT],
  ])("ignores %s: the MAC is checked with the app's key", async (_, extra, key) => {
    const { appId, path } = await session();
    const token = await signRaw(JSON.stringify({ alg: "HS256", ...extra }), JSON.stringify(claimsFor(appId)), key);
    await rejects(path, token, 401, invalid("INVALID_SIGNATURE"));
  });

  it.each([
    ["crit naming exp", { crit: ["exp"] }],
    ["an empty crit", { crit: [] }],
    ["crit as text", { crit: "b64" }],
    ["crit null", { crit: null }],
    ["b64 false", { b64: false }],
    ["b64 true", { b64: true }],
    ["b64 with crit", { b64: false, crit: ["b64"] }],
  ])("refuses %s, even under the app's key", async (_, extra) => {
    const { appId, path } = await session();
    const token = await signRaw(JSON.stringify({ alg: "HS256", ...extra }), JSON.stringify(claimsFor(appId)));
    await rejects(path, token, 401, invalid("HEADER_TYPE_INCOMPATIBLE"));
  });

  it("refuses the RFC 7797 vectors: a detached b64:false payload and a non-JSON one", async () => {
    const { path } = await session();
    const detached =
      "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY";
    await rejects(path, detached, 401, invalid("MALFORMED"));
    await rejects(
      path,
      "eyJhbGciOiJIUzI1NiJ9.JC4wMg.5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ",
      401,
      invalid("MALFORMED"),
    );
  });
});

/** The reason a decoder that insists on canonical base64url gives a mangled signature. */
function reasonFor(signature: string): string {
  const rest = signature.length % 4;
  if (rest === 1 || /[^A-Za-z0-9_-]/.test(signature)) return "MALFORMED";
  const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(signature.at(-1) ?? "A");
  const unusedBits = rest === 2 ? 0b1111 : rest === 3 ? 0b11 : 0;
  return (last & unusedBits) === 0 ? "INVALID_SIGNATURE" : "MALFORMED";
}

describe("signature", () => {
  it("refuses an empty signature", async () => {
    const { header, payload, path } = await session();
    await rejects(path, `${header}.${payload}.`, 401, invalid("INVALID_SIGNATURE"));
  });

  it.each([1, 2, 3, 4, 11, 42])("refuses a signature truncated by %i characters", async (cut) => {
    const { header, payload, signature, path } = await session();
    const truncated = signature.slice(0, -cut);
    await rejects(path, `${header}.${payload}.${truncated}`, 401, invalid(reasonFor(truncated)));
  });

  it("refuses a signature copied from another token of the same app", async () => {
    const { appId, header, payload, path } = await session();
    const other = (await mintToken(claimsFor(appId, { userId: "someone-else" }))).split(".")[2];
    await rejects(path, `${header}.${payload}.${other}`, 401, invalid("INVALID_SIGNATURE"));
  });

  it.each(["=", "==", "%3D"])("refuses a signature padded with %j", async (pad) => {
    const { header, payload, signature, path } = await session();
    await rejects(path, `${header}.${payload}.${signature}${pad}`, 401, invalid("MALFORMED"));
  });

  it("refuses the standard base64 alphabet in any segment", async () => {
    // Mint until a signature holds a URL-safe character, so the standard form differs.
    let token = "";
    let appId = "";
    for (let i = 0; !/[-_]/.test(token.split(".")[2] ?? ""); i++) {
      ({ appId, token } = await newSession({ jti: i }));
    }
    const standard = token.replaceAll("-", "+").replaceAll("_", "/");
    await rejects(`/app/${appId}/x`, standard, 401, invalid("MALFORMED"));
  });

  it("refuses the trailing-bit variant of a valid signature (same bytes to a lenient decoder)", async () => {
    const { header, payload, signature, path } = await session();
    // 32 bytes are 43 characters; the last one carries 2 unused bits.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1) as string);
    const variant = `${signature.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(base64url.decode(variant)).toEqual(base64url.decode(signature));
    await rejects(path, `${header}.${payload}.${variant}`, 401, invalid("MALFORMED"));
  });

  it.each([
    ["a space inside", (s: string) => `${s.slice(0, 10)} ${s.slice(10)}`],
    ["a tab inside", (s: string) => `${s.slice(0, 10)}\t${s.slice(10)}`],
    ["a space before the dot", (s: string) => s.replace(".", " .")],
  ])("refuses whitespace: %s", async (_, mangle) => {
    const { token, path } = await session();
    await rejects(path, mangle(token), 401, invalid("MALFORMED"));
  });

  it.each([
    ["2 segments", (t: string) => t.split(".").slice(0, 2).join(".")],
    ["4 segments", (t: string) => `${t}.${t.split(".")[2]}`],
    ["5 segments (a JWE shape)", (t: string) => `${t}..x.y`],
    ["a leading dot", (t: string) => `.${t}`],
    ["a trailing dot", (t: string) => `${t}.`],
  ])("refuses %s", async (_, mangle) => {
    const { token, path } = await session();
    await rejects(path, mangle(token), 401, invalid("MALFORMED"));
  });
});

describe("payload", () => {
  it.each([
    ["an array", "[1,2]"],
    ["a string", '"user-1"'],
    ["a number", "42"],
    ["null", "null"],
    ["true", "true"],
    ["empty", ""],
    ["two objects", "{}{}"],
    ["trailing garbage", '{"a":1}x'],
  ])("refuses %s as MALFORMED, under the app's key", async (_, payload) => {
    const { path } = await session();
    await rejects(path, await signRaw(HS256, payload), 401, invalid("MALFORMED"));
  });

  it("refuses {} for lack of claims", async () => {
    const { path } = await session();
    await rejects(path, await signRaw(HS256, "{}"), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it.each([
    ["an overlong /", [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]],
    ["a byte order mark", [0xef, 0xbb, 0xbf, 0x7b, 0x7d]],
    ["an encoded surrogate", [0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]],
    ["a lone continuation byte", [0x7b, 0x22, 0x80, 0x22, 0x3a, 0x31, 0x7d]],
    ["Latin-1 text", [0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]],
  ])("refuses invalid UTF-8 in the payload: %s", async (_, bytes) => {
    const { path } = await session();
    const token = await signSegments(base64url.encode(HS256), base64url.encode(Uint8Array.from(bytes)));
    await rejects(path, token, 401, invalid("MALFORMED"));
  });

  it("refuses invalid UTF-8 in the header", async () => {
    const { appId, path } = await session();
    const header = Uint8Array.from([...utf8.encode('{"alg":"HS256","x":"'), 0xc0, 0xaf, ...utf8.encode('"}')]);
    const token = await signSegments(base64url.encode(header), base64url.encode(JSON.stringify(claimsFor(appId))));
    await rejects(path, token, 401, invalid("MALFORMED"));
  });

  it("survives deeply nested JSON: claims are still required, and a duplicate deep down is found", async () => {
    const { appId, path } = await session();
    const depth = 2000;
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    await rejects(path, await signRaw(HS256, `{"x":${nested}}`), 401, invalid("PAYLOAD_CONTENT_MISSING"));
    const claims = JSON.stringify(claimsFor(appId)).slice(0, -1);
    const deepDuplicate = `${claims},"x":${'{"a":'.repeat(500)}{"b":1,"b":2}${"}".repeat(500)}}`;
    await rejects(path, await signRaw(HS256, deepDuplicate), 401, invalid("MALFORMED"));
  });

  it.each([
    ["claims only under __proto__", (appId: string) => JSON.stringify({ ["__proto__"]: claimsFor(appId) })],
    [
      "userId only under __proto__",
      (appId: string) => `{"appId":${JSON.stringify(appId)},"__proto__":{"userId":"admin"}}`,
    ],
    [
      "claims under constructor.prototype",
      (appId: string) => JSON.stringify({ constructor: { prototype: claimsFor(appId) } }),
    ],
  ])("never reads inherited claims: %s", async (_, payload) => {
    const { appId, path } = await session();
    await rejects(path, await signRaw(HS256, payload(appId)), 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it.each([8193, 64 * 1024, 1024 * 1024])(
    "refuses a token of %i characters before decoding any of it",
    async (length) => {
      const { token, path } = await session();
      await gateway(path, withToken(token)); // the app record is cached now
      originCalls.length = 0;
      const decode = vi.spyOn(TextDecoder.prototype, "decode");
      const verify = vi.spyOn(crypto.subtle, "verify");
      const [header, payload] = token.split(".");
      const padding = "A".repeat(length - token.length);
      const huge = `${header}.${payload}${padding}.${token.split(".")[2]}`;
      expect(huge).toHaveLength(length);
      const res = await gateway(path, withToken(huge));
      const calls = { decode: decode.mock.calls.length, verify: verify.mock.calls.length };
      decode.mockRestore();
      verify.mockRestore();
      await expectRejected(res, 401, invalid("MALFORMED"));
      expect(calls).toEqual({ decode: 0, verify: 0 });
    },
  );
});

describe("time", () => {
  it.each([
    ["exp as a string", { exp: String(nowSeconds() + 3600) }],
    ["exp null", { exp: null }],
    ["exp true", { exp: true }],
    ["exp an array", { exp: [nowSeconds() + 3600] }],
    ["nbf as a string", { nbf: "0" }],
    ["nbf null", { nbf: null }],
    ["iat as a string", { iat: String(nowSeconds()) }],
    ["iat false", { iat: false }],
  ])("refuses %s as MALFORMED", async (_, claims) => {
    const { appId, path } = await session();
    const token = await signRaw(HS256, JSON.stringify(claimsFor(appId, claims)));
    await rejects(path, token, 401, invalid("MALFORMED"));
  });

  it.each([
    ["exp", "1e999"],
    ["exp", "-1e999"],
    ["nbf", "1e999"],
    ["iat", "-1e999"],
  ])("refuses %s = %s (not finite) as MALFORMED", async (name, text) => {
    const { appId, path } = await session();
    const claims = JSON.stringify(claimsFor(appId, { exp: undefined, iat: undefined, nbf: undefined }));
    await rejects(path, await signRaw(HS256, `${claims.slice(0, -1)},"${name}":${text}}`), 401, invalid("MALFORMED"));
  });

  it.each([
    ["exp 0", 0],
    ["exp -1", -1],
    ["exp a fraction of a second ago, beyond the tolerance", () => nowSeconds() - 60 - 0.5],
    ["exp 2^31 - 2^32 (a wrapped 32-bit future)", 2 ** 31 - 2 ** 32],
  ])("answers 40 to %s", async (_, exp) => {
    const { appId, path } = await session();
    const token = await signRaw(
      HS256,
      JSON.stringify(claimsFor(appId, { exp: typeof exp === "function" ? exp() : exp })),
    );
    const res = await gateway(path, withToken(token));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "40", status: "Token expired", reason: "TOKEN_EXPIRED" });
    expect(originCalls).toHaveLength(0);
  });

  it("answers 40 to exp at exactly now with no tolerance", async () => {
    const appId = await newApp(enforcingRecord({ clockToleranceSeconds: 0 }));
    const token = await mintToken(claimsFor(appId, { exp: nowSeconds() }));
    const res = await gateway(`/app/${appId}/x`, withToken(token));
    expect({ status: res.status, reason: ((await res.json()) as { reason: string }).reason }).toEqual({
      status: 401,
      reason: "TOKEN_EXPIRED",
    });
    expect(originCalls).toHaveLength(0);
  });

  it.each([
    ["2^31 (2038-01-19)", 2 ** 31],
    ["2^31 + 1", 2 ** 31 + 1],
    ["2^32", 2 ** 32],
    ["a fraction", () => nowSeconds() + 100.25],
  ])("accepts exp at %s: no 32-bit overflow", async (_, exp) => {
    const { appId, path } = await session();
    const token = await signRaw(
      HS256,
      JSON.stringify(claimsFor(appId, { exp: typeof exp === "function" ? exp() : exp })),
    );
    expect((await gateway(path, withToken(token))).status).toBe(200);
    expect(originCalls).toHaveLength(1);
  });

  it.each([
    ["expired", { exp: 1 }],
    ["not yet valid", { nbf: 4_000_000_000 }],
    ["issued in the future", { iat: 4_000_000_000 }],
    ["exp not a number", { exp: "soon" }],
  ])("answers 38 INVALID_SIGNATURE, never a time reason, to a token %s and badly signed", async (_, claims) => {
    const { appId, path } = await session();
    const token = await signRaw(HS256, JSON.stringify(claimsFor(appId, claims)), OTHER_KEY_BYTES);
    await rejects(path, token, 401, invalid("INVALID_SIGNATURE"));
  });

  it.each([
    ["nbf", 4_000_000_000],
    ["iat", 4_000_000_000],
    ["nbf", 2 ** 31 + 1],
  ])("answers 38 TIME_CONSTRAINT_FAILURE to %s = %i", async (name, value) => {
    const { appId, path } = await session();
    const token = await signRaw(HS256, JSON.stringify(claimsFor(appId, { [name]: value })));
    await rejects(path, token, 401, invalid("TIME_CONSTRAINT_FAILURE"));
  });
});

describe("claims", () => {
  it.each([
    ["a Cyrillic look-alike letter", (id: string) => id.replace("T", "\u0422")],
    ["another case", (id: string) => id.toLowerCase()],
    ["a trailing space", (id: string) => `${id} `],
    ["a leading space", (id: string) => ` ${id}`],
    ["a trailing NUL", (id: string) => `${id}\u0000`],
    ["a zero-width space", (id: string) => `${id.slice(0, 2)}\u200b${id.slice(2)}`],
    ["a fullwidth form", (id: string) => id.replace("T", "\uff34")],
    ["a prefix of it", (id: string) => id.slice(0, -1)],
  ])("refuses an appId claim with %s as IDENTIFIER_MISMATCH", async (_, mangle) => {
    const { appId, path } = await session();
    const token = await mintToken(claimsFor(appId, { appId: mangle(appId) }));
    await rejects(path, token, 401, invalid("IDENTIFIER_MISMATCH"));
  });

  it.each([
    ["appId as an array", (id: string) => ({ appId: [id] })],
    ["appId as an object", (id: string) => ({ appId: { id } })],
    ["appId null", () => ({ appId: null })],
    ["userId as a number", () => ({ userId: 42 })],
    ["userId as an array", () => ({ userId: ["user-1"] })],
    ["userId empty", () => ({ userId: "" })],
    ["userId null", () => ({ userId: null })],
    ["userId true", () => ({ userId: true })],
    ["appUserId empty beside a good userId", () => ({ appUserId: "" })],
    ["customerId as a number beside a good userId", () => ({ customerId: 7 })],
    ["no identity at all", () => ({ userId: undefined })],
  ])("refuses %s as PAYLOAD_CONTENT_MISSING", async (_, claims) => {
    const { appId, path } = await session();
    const token = await mintToken(claimsFor(appId, claims(appId)));
    await rejects(path, token, 401, invalid("PAYLOAD_CONTENT_MISSING"));
  });

  it("refuses a valid token of one app on another app's path", async () => {
    const a = await session();
    const b = await session();
    await rejects(b.path, a.token, 401, invalid("IDENTIFIER_MISMATCH"));
  });
});

describe("public vectors", () => {
  const A1 =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const A1_KEY = base64url.decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
  );

  it("RFC 7515 A.1 verifies with its key, over the received text (CR LF kept)", async () => {
    const key = await crypto.subtle.importKey("raw", A1_KEY, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const jws = await verifyHs256Jws(A1, key);
    expect(jws.payload).toEqual({ iss: "joe", exp: 1300819380, "http://example.com/is_root": true });
    const wrongKey = await crypto.subtle.importKey("raw", KEY_BYTES, { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    await expect(verifyHs256Jws(A1, wrongKey)).rejects.toMatchObject({ kind: "INVALID_SIGNATURE" });
  });

  it("RFC 7520 section 4.4 (a valid MAC over prose) answers 38, whatever its kid", async () => {
    const appId = await newApp(enforcingRecord({ secret: "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG+Onbc6mxCcYg=" }));
    const token =
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
    await rejects(`/app/${appId}/x`, token, 401, invalid("MALFORMED"));
  });
});
