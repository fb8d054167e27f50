/**
 * The issuer's rules on their own: durations, the claims a token gets, what it refuses before
 * signing (and that no refusal quotes a secret), the key material `generateAppKey` makes, and that
 * its tables agree with the gateway's.
 */

import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { HMAC_KEY_BYTES } from "../../src/issuer/algorithms.ts";
import {
  generateAppKey,
  HMAC_ALGORITHMS,
  IssuerError,
  JWS_ALGORITHMS,
  type MintTokenOptions,
  mintToken,
  PUBLIC_KEY_ALGORITHMS,
  parseDuration,
} from "../../src/issuer/index.ts";
import { MIN_SECRET_KEY_BYTES } from "../../src/lib/secret-key.ts";
import * as gatewayAlgorithms from "../../src/token/algorithms.ts";
import { KEY_BASE64, testKeyBytes, toBase64 } from "../helpers.ts";

const NOW = new Date("2026-11-30T12:00:00Z");
const NOW_SECONDS = NOW.getTime() / 1000;

describe("issuer tables", () => {
  it("name the gateway's algorithms and HMAC key sizes (token/algorithms.ts), and lib's minimum is HS256's", () => {
    expect(HMAC_ALGORITHMS).toEqual(gatewayAlgorithms.HMAC_ALGORITHMS);
    expect(PUBLIC_KEY_ALGORITHMS).toEqual(gatewayAlgorithms.PUBLIC_KEY_ALGORITHMS);
    expect(JWS_ALGORITHMS).toEqual([...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS]);
    expect(HMAC_KEY_BYTES).toEqual(gatewayAlgorithms.HMAC_MIN_KEY_BYTES);
    expect(MIN_SECRET_KEY_BYTES).toBe(gatewayAlgorithms.HMAC_MIN_KEY_BYTES.HS256);
  });
});

describe("parseDuration", () => {
  it("reads 90s, 15m, 1h, 7d, bare seconds, numbers, and a leading - as already expired", () => {
    const cases: [string | number, number][] = [
      ["90s", 90],
      ["15m", 900],
      ["1h", 3600],
      ["7d", 604_800],
      ["90", 90],
      ["-5m", -300],
      [" 2h ", 7200],
      [60, 60],
      [-30, -30],
    ];
    for (const [text, seconds] of cases) expect(parseDuration(text)).toBe(seconds);
  });

  it("refuses anything else with an IssuerError naming the option", () => {
    for (const bad of ["1w", "", "1.5h", "h", "--5m", "5 m", 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => parseDuration(bad)).toThrow(IssuerError);
    }
    expect(() => parseDuration("soon", "ttl")).toThrow(expect.objectContaining({ option: "ttl" }));
  });
});

describe("mintToken: the token", () => {
  const base = { appId: "AP1", key: KEY_BASE64, now: NOW } as const;

  it("holds appId, the user, iss, aud, the extra claims, iat and exp, in that order", async () => {
    const token = await mintToken({
      ...base,
      userId: "u-1",
      customerId: "c-1",
      issuer: "https://backend.example",
      audience: ["edge"],
      claims: { sub: "u-1", nonce: "n" },
    });
    expect(Object.entries(decodeJwt(token))).toEqual([
      ["appId", "AP1"],
      ["userId", "u-1"],
      ["customerId", "c-1"],
      ["iss", "https://backend.example"],
      ["aud", ["edge"]],
      ["sub", "u-1"],
      ["nonce", "n"],
      ["iat", NOW_SECONDS],
      ["exp", NOW_SECONDS + 900],
    ]);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  it("expiresIn: null mints no exp; a negative one a token that expired then, issued 15 minutes earlier", async () => {
    expect(decodeJwt(await mintToken({ ...base, userId: "u", expiresIn: null }))).toEqual({
      appId: "AP1",
      userId: "u",
      iat: NOW_SECONDS,
    });
    expect(decodeJwt(await mintToken({ ...base, userId: "u", expiresIn: "-5m" }))).toMatchObject({
      iat: NOW_SECONDS - 300 - 900,
      exp: NOW_SECONDS - 300,
    });
  });
});

describe("mintToken: what it refuses before signing", () => {
  const secret = toBase64(testKeyBytes(32, 7));
  const cases: [string, Record<string, unknown>, string, string][] = [
    ["no user", { appId: "AP1", key: secret }, "INVALID_OPTION", "userId"],
    ["an empty userId", { appId: "AP1", userId: "", key: secret }, "INVALID_OPTION", "userId"],
    ["an appId the gateway never routes", { appId: "../AP1", userId: "u", key: secret }, "INVALID_OPTION", "appId"],
    ["alg none", { appId: "AP1", userId: "u", key: secret, alg: "none" }, "INVALID_OPTION", "alg"],
    ["a kid with a line break", { appId: "AP1", userId: "u", key: secret, kid: "a\nb" }, "INVALID_OPTION", "kid"],
    ["claims.exp", { appId: "AP1", userId: "u", key: secret, claims: { exp: 1 } }, "INVALID_OPTION", "claims"],
    [
      "claims.userId beside userId",
      { appId: "AP1", userId: "u", key: secret, claims: { userId: "v" } },
      "INVALID_OPTION",
      "claims",
    ],
    [
      "an unknown secretEncoding",
      { appId: "AP1", userId: "u", key: secret, secretEncoding: "hex" },
      "INVALID_OPTION",
      "secretEncoding",
    ],
    ["a bad expiresIn", { appId: "AP1", userId: "u", key: secret, expiresIn: "1 week" }, "INVALID_OPTION", "expiresIn"],
    ["a 31-byte secret", { appId: "AP1", userId: "u", key: toBase64(testKeyBytes(31)) }, "INVALID_KEY", "key"],
    ["a 32-byte secret for HS384", { appId: "AP1", userId: "u", key: secret, alg: "HS384" }, "INVALID_KEY", "key"],
    [
      "a secret with a line break",
      { appId: "AP1", userId: "u", key: `${secret.slice(0, 20)}\n${secret.slice(20)}` },
      "INVALID_KEY",
      "key",
    ],
    ["one byte repeated", { appId: "AP1", userId: "u", key: new Uint8Array(32).fill(7) }, "INVALID_KEY", "key"],
    ["a secret for ES256", { appId: "AP1", userId: "u", key: secret, alg: "ES256" }, "INVALID_KEY", "key"],
    [
      "a private JWK without d",
      { appId: "AP1", userId: "u", key: { kty: "EC", crv: "P-256", x: "x", y: "y" }, alg: "ES256" },
      "INVALID_KEY",
      "key",
    ],
    ["no key", { appId: "AP1", userId: "u" }, "INVALID_KEY", "key"],
  ];
  for (const [name, options, code, option] of cases) {
    it(`${name}: ${code} on ${option}`, async () => {
      const error = await mintToken(options as unknown as MintTokenOptions).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IssuerError);
      expect(error).toMatchObject({ code, option });
      expect((error as Error).message).not.toContain(secret.slice(0, 12));
    });
  }

  it("a private key given for HMAC, or the public key for ES256, is named as such", async () => {
    const pair = await generateAppKey("ES256");
    await expect(mintToken({ appId: "AP1", userId: "u", key: pair.signingKey })).rejects.toThrow(/not a PEM block/);
    await expect(
      mintToken({ appId: "AP1", userId: "u", alg: "ES256", key: pair.registration.publicKey }),
    ).rejects.toThrow(/this is the public key/);
    const rsaStyle = pair.signingKey.replaceAll("PRIVATE KEY", "EC PRIVATE KEY");
    await expect(mintToken({ appId: "AP1", userId: "u", alg: "ES256", key: rsaStyle })).rejects.toThrow(
      /openssl pkcs8/,
    );
  });
});

describe("generateAppKey", () => {
  for (const alg of HMAC_ALGORITHMS) {
    it(`${alg}: random bytes of the hash's size as a standard base64 secret, the same text to sign with`, async () => {
      const [a, b] = await Promise.all([generateAppKey(alg, { kid: "k" }), generateAppKey(alg)]);
      expect(a.registration).toEqual({ kid: "k", alg, secret: a.signingKey, secretEncoding: "base64" });
      expect(atob(a.registration.secret)).toHaveLength(HMAC_KEY_BYTES[alg]);
      expect(a.registration.secret).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      expect(b.registration.secret).not.toBe(a.registration.secret);
      expect(b).not.toHaveProperty("kid");
    });
  }

  it("public keys: an SPKI PEM to register and a PKCS#8 PEM to sign with", async () => {
    const generated = await generateAppKey("ES384", { kid: "2026-11" });
    expect(generated.registration).toEqual({ kid: "2026-11", alg: "ES384", publicKey: expect.any(String) });
    expect(generated.registration.publicKey).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n?$/,
    );
    expect(generated.signingKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("refuses an algorithm the gateway does not verify, and a bad kid", async () => {
    await expect(generateAppKey("ES512" as "ES256")).rejects.toMatchObject({ code: "INVALID_OPTION", option: "alg" });
    await expect(generateAppKey("HS256", { kid: "" })).rejects.toMatchObject({ code: "INVALID_OPTION", option: "kid" });
  });
});
