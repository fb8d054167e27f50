import { base64url, compactVerify, importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { GatewayError } from "../../src/errors.ts";
import { decodeBase64url } from "../../src/lib/base64url.ts";
import { parseStrictJsonObject, scanJson } from "../../src/lib/json.ts";
import { checkAppClaims, checkTimeClaims } from "../../src/token/claims.ts";
import { MAX_TOKEN_CHARS, parseCompactJws } from "../../src/token/jws.ts";
import { importVerificationKey, type KeyMaterial, keyring } from "../../src/token/keys.ts";
import { V1_POLICY } from "../../src/token/policy.ts";
import { verifyAppToken, verifyJws } from "../../src/token/verify.ts";
import {
  checkHs256Header,
  KEY_BYTES,
  mintHmacToken,
  mintSignedToken,
  mintToken,
  OTHER_KEY_BYTES,
  rejectionOf,
  signRaw,
  signSegments,
  testKeyBytes,
  testKeyPair,
  verifyHs256Jws,
} from "../helpers.ts";

/** The imported key, for material the test knows is valid. */
async function importKey(material: KeyMaterial): Promise<CryptoKey> {
  const imported = await importVerificationKey(material);
  if ("error" in imported) throw new Error(imported.error);
  return imported.key;
}

const importHs256Key = (bytes: Uint8Array) => importKey({ kind: "hmac", alg: "HS256", bytes });

const RFC7515_A1_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const RFC7515_A1_JWS =
  "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7520_KEY = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";
const RFC7520_JWS =
  "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
const RFC7797_CONTROL = "eyJhbGciOiJIUzI1NiJ9.JC4wMg.5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ";
const RFC7797_B64_FALSE =
  "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY";

describe("decodeBase64url", () => {
  it("agrees with jose on every length from 0 to 64 bytes", () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      const text = base64url.encode(bytes);
      expect(decodeBase64url(text)).toEqual(bytes);
      expect(decodeBase64url(text)).toEqual(base64url.decode(text));
    }
  });

  it.each([
    ["padding", "QQ=="],
    ["standard alphabet +", "+w"],
    ["standard alphabet /", "/w"],
    ["whitespace", "QU JD"],
    ["a newline", "QUJD\n"],
    ["an impossible length", "QUJDR"],
    ["non-zero trailing bits", "QR"],
    ["non-ASCII", "QÜ"],
  ])("rejects %s", (_, text) => {
    expect(decodeBase64url(text)).toBeNull();
  });
});

describe("scanJson and parseStrictJsonObject", () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it("finds a name given twice at any depth, also when escaped", () => {
    expect(scanJson('{"a":1,"a":2}').duplicateName).toBe(true);
    expect(scanJson('{"a":1,"\\u0061":2}').duplicateName).toBe(true);
    expect(scanJson('{"x":{"b":[{"c":1,"c":2}]}}').duplicateName).toBe(true);
    expect(scanJson('{"a":{"a":1},"b":"a"}').duplicateName).toBe(false);
    expect(scanJson('[{"a":1},{"a":1}]').duplicateName).toBe(false);
  });

  it("gives top-level members with their raw text", () => {
    const scan = scanJson('{ "userId" : 1.50e2 , "s":"a\\"}b", "o":{"userId":"x"}, "n":null ,"t":true}');
    expect(scan.members).toEqual([
      { name: "userId", kind: "number", raw: "1.50e2" },
      { name: "s", kind: "string", raw: '"a\\"}b"' },
      { name: "o", kind: "object", raw: '{"userId":"x"}' },
      { name: "n", kind: "null", raw: "null" },
      { name: "t", kind: "boolean", raw: "true" },
    ]);
    expect(scanJson("[1,2]").members).toBeNull();
    expect(scanJson("{}").members).toEqual([]);
  });

  it("accepts only strict UTF-8 JSON objects", () => {
    expect(parseStrictJsonObject(utf8('{"a":1}'))).toEqual({ a: 1 });
    for (const text of ["[]", "null", '"s"', "1", "{"]) {
      expect(parseStrictJsonObject(utf8(text))).toBe("not_json_object");
    }
    expect(parseStrictJsonObject(utf8('{"a":1,"a":1}'))).toBe("duplicate_member");
    expect(parseStrictJsonObject(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d))).toBe("not_json_object"); // BOM
    expect(parseStrictJsonObject(Uint8Array.of(0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d))).toBe(
      "not_json_object",
    ); // overlong
  });

  it("keeps __proto__ as an own member, not a prototype", () => {
    const object = parseStrictJsonObject(utf8('{"__proto__":{"userId":"x"}}'));
    expect(object && Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect((object as Record<string, unknown>).userId).toBeUndefined();
  });
});

describe("parseCompactJws", () => {
  it("keeps the signing input byte for byte (RFC 7515 A.1 has CR LF in its JSON)", () => {
    const jws = parseCompactJws(RFC7515_A1_JWS);
    expect(new TextDecoder().decode(jws.signingInput)).toBe(RFC7515_A1_JWS.slice(0, RFC7515_A1_JWS.lastIndexOf(".")));
    expect(jws.header).toEqual({ typ: "JWT", alg: "HS256" });
    expect(jws.payloadSegment).toBe(RFC7515_A1_JWS.split(".")[1]);
  });

  it.each([
    ["two segments", "a.b"],
    ["four segments", "e30.e30.e30.e30"],
    ["five segments", "e30.e30.e30.e30.e30"],
    ["a padded segment", "e30=.e30.AA"],
    ["an empty header", ".e30.AA"],
    ["a non-JSON payload", `e30.${base64url.encode("hello")}.AA`],
    ["an array payload", `e30.${base64url.encode("[]")}.AA`],
    ["a header naming alg twice", `${base64url.encode('{"alg":"HS256","alg":"none"}')}.e30.AA`],
  ])("refuses %s as MALFORMED", async (_, token) => {
    expect(await rejectionOf(() => parseCompactJws(token))).toBe("MALFORMED");
  });

  it("refuses a token over MAX_TOKEN_CHARS before decoding it", async () => {
    const token = `e30.${"A".repeat(MAX_TOKEN_CHARS)}.AA`;
    expect(await rejectionOf(() => parseCompactJws(token))).toBe("MALFORMED");
  });
});

describe("checkHeader with HS256 alone (v1)", () => {
  it.each([
    [{ alg: "HS256" }, "passed"],
    [{ alg: "HS256", typ: "jwt" }, "passed"],
    [{ alg: "HS256", typ: "JWT", kid: "../../etc/passwd", jwk: { kty: "oct", k: "AA" } }, "passed"],
    [{ alg: "none" }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "hs256" }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "HS512" }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: ["HS256"] }, "HEADER_TYPE_INCOMPATIBLE"],
    [{}, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "HS256", typ: "at+jwt" }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "HS256", typ: 1 }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "HS256", crit: [] }, "HEADER_TYPE_INCOMPATIBLE"],
    [{ alg: "HS256", b64: true }, "HEADER_TYPE_INCOMPATIBLE"],
  ])("%j → %s", async (header, expected) => {
    expect(await rejectionOf(() => checkHs256Header(header))).toBe(expected);
  });
});

describe("verifyJws with one HS256 key (v1)", () => {
  it("verifies the RFC 7515 Appendix A.1 example JWS with its key, as jose does", async () => {
    const keyBytes = base64url.decode(RFC7515_A1_KEY);
    const jws = await verifyHs256Jws(RFC7515_A1_JWS, await importHs256Key(keyBytes));
    expect(jws.payload).toEqual({ iss: "joe", exp: 1300819380, "http://example.com/is_root": true });
    await expect(compactVerify(RFC7515_A1_JWS, keyBytes)).resolves.toBeDefined();
  });

  it("refuses RFC 7520 section 4.4: a valid MAC over a payload that is not JSON", async () => {
    const key = await importHs256Key(base64url.decode(RFC7520_KEY));
    await expect(compactVerify(RFC7520_JWS, base64url.decode(RFC7520_KEY))).resolves.toBeDefined();
    expect(await rejectionOf(() => verifyHs256Jws(RFC7520_JWS, key))).toBe("MALFORMED");
  });

  it("refuses RFC 7797 tokens: the control's payload is not JSON, b64:false is detached", async () => {
    const key = await importHs256Key(base64url.decode(RFC7515_A1_KEY));
    expect(await rejectionOf(() => verifyHs256Jws(RFC7797_CONTROL, key))).toBe("MALFORMED");
    expect(await rejectionOf(() => verifyHs256Jws(RFC7797_B64_FALSE, key))).toBe("MALFORMED");
  });

  it("verifies tokens minted by jose and refuses them under another key", async () => {
    const token = await mintToken({ appId: "A", userId: "u" });
    await expect(jwtVerify(token, KEY_BYTES)).resolves.toBeDefined();
    expect(await rejectionOf(async () => verifyHs256Jws(token, await importHs256Key(KEY_BYTES)))).toBe("passed");
    expect(await rejectionOf(async () => verifyHs256Jws(token, await importHs256Key(OTHER_KEY_BYTES)))).toBe(
      "INVALID_SIGNATURE",
    );
  });

  it("refuses every single-character change to the signature", async () => {
    const key = await importHs256Key(KEY_BYTES);
    const token = await mintToken({ appId: "A", userId: "u" });
    const signatureStart = token.lastIndexOf(".") + 1;
    for (let i = signatureStart; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
      expect(["INVALID_SIGNATURE", "MALFORMED"]).toContain(await rejectionOf(() => verifyHs256Jws(changed, key)));
    }
  });

  it("checks the header before the signature and the signature before claims", async () => {
    const key = await importHs256Key(KEY_BYTES);
    const noneHeader = await signRaw('{"alg":"none"}', '{"appId":"A","userId":"u"}', OTHER_KEY_BYTES);
    expect(await rejectionOf(() => verifyHs256Jws(noneHeader, key))).toBe("HEADER_TYPE_INCOMPATIBLE");
    const expiredForged = await signRaw('{"alg":"HS256"}', '{"appId":"A","userId":"u","exp":1}', OTHER_KEY_BYTES);
    const ring = keyring([{ kid: null, alg: "HS256", cryptoKey: key, notBefore: null, notAfter: null }]);
    const options = { keyring: ring, appId: "A", clockToleranceSeconds: 0, now: 2_000_000_000, policy: V1_POLICY };
    expect(await rejectionOf(() => verifyAppToken(expiredForged, options))).toBe("INVALID_SIGNATURE");
    const expired = await signSegments(base64url.encode('{"alg":"HS256"}'), base64url.encode('{"exp":1}'));
    expect(await rejectionOf(() => verifyAppToken(expired, options))).toBe("TOKEN_EXPIRED");
  });
});

describe("checkTimeClaims", () => {
  const now = 1_800_000_000;
  const check = (payload: Record<string, unknown>, tolerance = 0) =>
    rejectionOf(() => checkTimeClaims(payload, { now, clockToleranceSeconds: tolerance }));

  it("treats exp as the first instant the token is invalid", async () => {
    expect(await check({ exp: now })).toBe("TOKEN_EXPIRED");
    expect(await check({ exp: now + 0.5 })).toBe("passed");
    expect(await check({ exp: now - 59 }, 60)).toBe("passed");
    expect(await check({ exp: now - 60 }, 60)).toBe("TOKEN_EXPIRED");
    expect(await check({})).toBe("passed");
  });

  it("reports the server time with an expired token", () => {
    try {
      checkTimeClaims({ exp: 1 }, { now: now + 0.7, clockToleranceSeconds: 0 });
      expect.unreachable();
    } catch (error) {
      expect((error as GatewayError).options.extra).toEqual({ serverTime: now });
    }
  });

  it("refuses nbf and iat in the future beyond the tolerance", async () => {
    expect(await check({ nbf: now + 1 })).toBe("TIME_CONSTRAINT_FAILURE");
    expect(await check({ iat: now + 1 })).toBe("TIME_CONSTRAINT_FAILURE");
    expect(await check({ nbf: now + 60, iat: now + 60 }, 60)).toBe("passed");
    expect(await check({ nbf: now + 61 }, 60)).toBe("TIME_CONSTRAINT_FAILURE");
  });

  it.each([["1"], [null], [true], [Number.POSITIVE_INFINITY], [Number.NEGATIVE_INFINITY], [Number.NaN], [[1]]])(
    "refuses %j as a date (MALFORMED)",
    async (value) => {
      for (const name of ["exp", "nbf", "iat"]) expect(await check({ [name]: value })).toBe("MALFORMED");
    },
  );
});

describe("checkAppClaims", () => {
  const check = (payload: Record<string, unknown>) => rejectionOf(() => checkAppClaims(payload, "AP1", V1_POLICY));

  it("returns the first present user claim", () => {
    expect(checkAppClaims({ appId: "AP1", customerId: "c", appUserId: "a" }, "AP1", V1_POLICY)).toBe("a");
    expect(checkAppClaims({ appId: "AP1", userId: "u", customerId: "c" }, "AP1", V1_POLICY)).toBe("u");
  });

  it.each([
    [{ userId: "u" }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: ["AP1"], userId: "u" }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "AP1" }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "AP1", userId: "" }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "AP1", userId: 7 }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "AP1", userId: "u", customerId: null }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "AP1", userId: "\ud800" }, "PAYLOAD_CONTENT_MISSING"],
    [{ appId: "ap1", userId: "u" }, "IDENTIFIER_MISMATCH"],
    [{ appId: "AP1 ", userId: "u" }, "IDENTIFIER_MISMATCH"],
    [{ appId: "AР1", userId: "u" }, "IDENTIFIER_MISMATCH"],
    [{ appId: "AP1\u0000", userId: "u" }, "IDENTIFIER_MISMATCH"],
    [{ appId: "AP1\u200b", userId: "u" }, "IDENTIFIER_MISMATCH"],
  ])("%j → %s", async (payload, expected) => {
    expect(await check(payload)).toBe(expected);
  });
});

describe("verifyJws agrees with jose's compactVerify", () => {
  const ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;

  /** Tokens to judge: valid, each signature byte region changed, truncated, padded, another key's. */
  function variants(token: string, otherToken: string): string[] {
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const bytes = base64url.decode(signature);
    const flipped = (index: number) => {
      const copy = bytes.slice();
      copy[index] = (copy[index] as number) ^ 1;
      return `${header}.${payload}.${base64url.encode(copy)}`;
    };
    return [
      token,
      flipped(0),
      flipped(bytes.length >> 1),
      flipped(bytes.length - 1),
      `${header}.${payload}.${base64url.encode(bytes.subarray(1))}`,
      `${header}.${payload}.${base64url.encode(new Uint8Array([...bytes, 0]))}`,
      `${header}.${payload}.`,
      `${header}.${otherToken.split(".")[1]}.${signature}`,
      otherToken,
    ];
  }

  it.each(ALGS)("%s: the same verdict on valid, altered and foreign tokens", async (alg) => {
    const claims = { appId: "A", userId: "u" };
    let verifyKey: CryptoKey | Uint8Array;
    let material: KeyMaterial;
    let token: string;
    let otherToken: string;
    if (alg.startsWith("HS")) {
      const bytes = testKeyBytes(Number(alg.slice(2)) / 8);
      verifyKey = bytes;
      material = { kind: "hmac", alg: alg as "HS256", bytes };
      token = await mintHmacToken(claims, bytes, alg);
      otherToken = await mintHmacToken({ ...claims, userId: "v" }, testKeyBytes(bytes.length, 9), alg);
    } else {
      const pair = await testKeyPair(alg);
      verifyKey = await importSPKI(pair.spki, alg);
      material = { kind: "public", alg: alg as "RS256", publicKey: pair.spki };
      token = await mintSignedToken(claims, pair);
      otherToken = await mintSignedToken({ ...claims, userId: "v" }, await testKeyPair(alg, "other"));
    }
    const cryptoKey = await importKey(material);
    const ring = keyring([{ kid: null, alg, cryptoKey, notBefore: null, notAfter: null }]);
    for (const candidate of variants(token, otherToken)) {
      const ours = await rejectionOf(() => verifyJws(candidate, ring, 0));
      const theirs = await compactVerify(candidate, verifyKey, { algorithms: [alg] }).then(
        () => "passed",
        () => "failed",
      );
      expect({ candidate, ours: ours === "passed" ? "passed" : "failed" }).toEqual({ candidate, ours: theirs });
    }
  });
});
