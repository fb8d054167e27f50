import { describe, expect, it } from "vitest";
import { addKey, liftRevocation, mergePatch, removeKey, replaceRecord, revokeUser } from "../../src/apps/key-ops.ts";
import { type AppRecord, type KeyRecord, MAX_CLOCK_TOLERANCE_SECONDS } from "../../src/apps/schema.ts";
import type { KeyFingerprints } from "../../src/apps/view.ts";
import { KEY_BASE64 } from "../helpers.ts";

const NOW = "2026-11-30T12:00:00.000Z";
const CREATED = "2026-01-01T00:00:00.000Z";
const hmac = (kid: string | undefined, secret = KEY_BASE64): KeyRecord =>
  kid === undefined ? { alg: "HS256", secret } : { kid, alg: "HS256", secret };
const prints = (secret: string | null, keys: (string | null)[]): KeyFingerprints => ({ secret, keys });

describe("replaceRecord", () => {
  it("keeps the creation time of the app it replaces, and sets both times for a new one", () => {
    expect(replaceRecord({ jwtEnabled: false, createdAt: CREATED }, { jwtEnabled: true, secret: "s" }, NOW)).toEqual({
      jwtEnabled: true,
      secret: "s",
      createdAt: CREATED,
      updatedAt: NOW,
    });
    expect(replaceRecord(null, { jwtEnabled: false }, NOW)).toEqual({
      jwtEnabled: false,
      createdAt: NOW,
      updatedAt: NOW,
    });
  });
});

describe("mergePatch", () => {
  const stored: AppRecord = { jwtEnabled: true, enforcement: "enforce", secret: "s", createdAt: CREATED };

  it("puts the given fields over the stored ones", () => {
    expect(mergePatch(stored, { clockToleranceSeconds: 5 }, NOW)).toEqual({
      ...stored,
      clockToleranceSeconds: 5,
      updatedAt: NOW,
    });
  });

  it("lets a v1 jwtEnabled replace a stored enforcement", () => {
    expect(mergePatch(stored, { jwtEnabled: false }, NOW)).toEqual({
      jwtEnabled: false,
      secret: "s",
      createdAt: CREATED,
      updatedAt: NOW,
    });
  });

  it("sets a stored jwtEnabled to match a new enforcement", () => {
    expect(mergePatch(stored, { enforcement: "off" }, NOW)).toMatchObject({ jwtEnabled: false, enforcement: "off" });
    expect(mergePatch(stored, { enforcement: "report" }, NOW)).toMatchObject({
      jwtEnabled: true,
      enforcement: "report",
    });
    expect(mergePatch({ enforcement: "off" }, { enforcement: "report" }, NOW)).not.toHaveProperty("jwtEnabled");
  });

  it("leaves the stored record unchanged", () => {
    const before = structuredClone(stored);
    mergePatch(stored, { jwtEnabled: false }, NOW);
    expect(stored).toEqual(before);
  });
});

describe("addKey", () => {
  it("appends the key", () => {
    expect(addKey({ jwtEnabled: true, keys: [hmac("a")] }, hmac("b"), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac("a"), hmac("b")], updatedAt: NOW },
    });
  });

  it("refuses a fourth key, the v1 secret counted", () => {
    expect(addKey({ jwtEnabled: true, secret: "s", keys: [hmac("a"), hmac("b")] }, hmac("c"), NOW)).toEqual({
      conflict: "The app has 3 keys; remove one first",
    });
    expect(addKey({ jwtEnabled: true, keys: [hmac("a"), hmac("b")] }, hmac("c"), NOW)).toHaveProperty("record");
  });

  it("refuses a kid the app has", () => {
    expect(addKey({ jwtEnabled: true, keys: [hmac("a")] }, hmac("a"), NOW)).toEqual({
      conflict: "The app has a key with this kid",
    });
  });
});

describe("removeKey", () => {
  const A = "sha256:aaaaaaaaaaaaaaaa";
  const S = "sha256:5555555555555555";

  it("removes a key by its kid, and drops keys when it was the last of them", () => {
    expect(removeKey({ jwtEnabled: true, keys: [hmac("a"), hmac("b")] }, "b", prints(null, [A, A]), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac("a")], updatedAt: NOW },
    });
    expect(removeKey({ jwtEnabled: true, secret: "s", keys: [hmac("a")] }, "a", prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, secret: "s", updatedAt: NOW },
    });
  });

  it("removes a key without a kid, or the v1 secret with its encoding, by fingerprint", () => {
    const record: AppRecord = { jwtEnabled: true, secret: "s", secretEncoding: "utf8", keys: [hmac(undefined)] };
    expect(removeKey(record, A, prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, secret: "s", secretEncoding: "utf8", updatedAt: NOW },
    });
    expect(removeKey(record, S, prints(S, [A]), NOW)).toEqual({
      record: { jwtEnabled: true, keys: [hmac(undefined)], updatedAt: NOW },
    });
  });

  it("answers not found for an unknown kid or fingerprint", () => {
    const record: AppRecord = { jwtEnabled: true, keys: [hmac("a"), hmac("b")] };
    expect(removeKey(record, "c", prints(null, [A, A]), NOW)).toEqual({ notFound: true });
    expect(removeKey(record, "sha256:0000000000000000", prints(null, [A, A]), NOW)).toEqual({ notFound: true });
  });

  it("keeps the last key of an app that checks tokens, and lets an app with enforcement off lose it", () => {
    expect(removeKey({ jwtEnabled: true, keys: [hmac("a")] }, "a", prints(null, [A]), NOW)).toEqual({
      conflict: "The app checks tokens and this is its last key; add another first, or turn enforcement off",
    });
    expect(removeKey({ enforcement: "report", secret: "s" }, S, prints(S, []), NOW)).toHaveProperty("conflict");
    expect(removeKey({ jwtEnabled: false, keys: [hmac("a")] }, "a", prints(null, [A]), NOW)).toEqual({
      record: { jwtEnabled: false, updatedAt: NOW },
    });
  });
});

describe("revokeUser and liftRevocation", () => {
  const T = Date.parse(NOW) / 1000;

  it("adds a user in user order, replaces one, and PUT keeps the list", () => {
    const first = revokeUser({ jwtEnabled: true, revocations: { b: 1 } }, "a", T, NOW);
    expect(first).toEqual({ record: { jwtEnabled: true, revocations: { a: T, b: 1 }, updatedAt: NOW } });
    const again = revokeUser((first as { record: AppRecord }).record, "a", T + 5, NOW);
    expect((again as { record: AppRecord }).record.revocations).toEqual({ a: T + 5, b: 1 });
    expect(replaceRecord({ jwtEnabled: true, revocations: { a: T } }, { jwtEnabled: false }, NOW)).toMatchObject({
      revocations: { a: T },
    });
  });

  it("drops revocations older than the longest token lifetime and clock tolerance, and refuses a 10,001st user", () => {
    const aged = revokeUser(
      {
        jwtEnabled: true,
        maxTokenLifetimeSeconds: 60,
        revocations: { old: T - 60 - MAX_CLOCK_TOLERANCE_SECONDS, tolerated: T - 61, recent: T - 10 },
      },
      "new",
      T,
      NOW,
    );
    expect((aged as { record: AppRecord }).record.revocations).toEqual({ new: T, tolerated: T - 61, recent: T - 10 });
    const full = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`u${i}`, T]));
    expect(revokeUser({ jwtEnabled: true, revocations: full }, "x", T, NOW)).toEqual({
      conflict: "The app has 10000 revoked users; lift some first",
    });
    expect(revokeUser({ jwtEnabled: true, revocations: full }, "u1", T, NOW)).toHaveProperty("record");
  });

  it("lifts one, drops the empty list, and answers not found for a user not revoked", () => {
    expect(liftRevocation({ jwtEnabled: true, revocations: { a: T } }, "a", NOW)).toEqual({
      record: { jwtEnabled: true, updatedAt: NOW },
    });
    expect(liftRevocation({ jwtEnabled: true, revocations: { a: T } }, "b", NOW)).toEqual({ notFound: true });
    expect(liftRevocation({ jwtEnabled: true }, "a", NOW)).toEqual({ notFound: true });
  });
});
