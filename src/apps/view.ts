/**
 * What the admin API shows of an app (CONTRACT section 5): the record without its secret, each
 * key named by its fingerprint. The same view is kept in the record's KV metadata, so listing a
 * page costs one KV `list`.
 */

import { importVerificationKey, type KeyMaterial, keyFingerprint } from "../token/keys.ts";
import { enforcementOf, keyMaterial, type StoredRecord, secretMaterial } from "./checks.ts";
import type { JwksSet } from "./jwks.ts";
import {
  type AppRecord,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_SECRET_ENCODING,
  type FieldError,
  POLICY_FIELD_NAMES,
} from "./schema.ts";
import type { AppView, JwksView } from "./view-types.ts";

/** The fingerprints of a record's keys: the v1 `secret`'s, and one per entry of `keys` (`null`: does not import). */
export interface KeyFingerprints {
  readonly secret: string | null;
  readonly keys: readonly (string | null)[];
}

/** Imports one key's material (extractable, for its SPKI) and fingerprints it, or says why it cannot. */
async function fingerprintOf(material: KeyMaterial, path: string): Promise<string | FieldError> {
  const imported = await importVerificationKey(material, true);
  if ("error" in imported) {
    return { path: material.kind === "public" ? `${path}.publicKey` : path, message: imported.error };
  }
  return keyFingerprint(material, imported.key);
}

/**
 * Imports each key of a record (so a public key is checked in full: a real public key of its
 * algorithm, RSA ≥ 2048 bits) and fingerprints it. A key that does not derive or import has a
 * `null` fingerprint and a problem naming its field.
 */
export async function fingerprintKeys(record: AppRecord): Promise<{ prints: KeyFingerprints; problems: FieldError[] }> {
  const problems: FieldError[] = [];
  const printOf = async (material: KeyMaterial | FieldError | null, path: string): Promise<string | null> => {
    if (material === null) return null;
    const print = "path" in material ? material : await fingerprintOf(material, path);
    if (typeof print === "string") return print;
    problems.push(print);
    return null;
  };
  const secret = await printOf(secretMaterial(record), "secret");
  const keys: (string | null)[] = [];
  for (const [index, key] of (record.keys ?? []).entries()) {
    keys.push(await printOf(keyMaterial(key, `keys.${index}`), `keys.${index}`));
  }
  return { prints: { secret, keys }, problems };
}

/**
 * The first key that repeats an earlier one (same fingerprint: one HMAC key under two kids, or a
 * public key given twice as PEM and JWK), as a field error on the later one; `null` when all
 * differ. One key twice adds nothing to rotation and would fill one of the three places.
 */
export function repeatedKey(prints: KeyFingerprints): FieldError | null {
  const seen = new Map<string, string>();
  if (prints.secret !== null) seen.set(prints.secret, "secret");
  for (const [index, print] of prints.keys.entries()) {
    if (print === null) continue;
    const earlier = seen.get(print);
    if (earlier !== undefined) return { path: `keys.${index}`, message: `is the same key as ${earlier}` };
    seen.set(print, `keys.${index}`);
  }
  return null;
}

/** The token-policy fields the record sets (a v1 record sets none, and its view is v1's). */
function policyView(record: AppRecord): Partial<AppView> {
  const view: Record<string, unknown> = {};
  for (const name of POLICY_FIELD_NAMES) {
    if (record[name] !== undefined) view[name] = record[name];
  }
  return view;
}

/** The view of a record whose keys' fingerprints are known. */
export function appView(appId: string, record: AppRecord, prints: KeyFingerprints): AppView {
  const enforcement = enforcementOf(record) ?? null;
  return {
    appId,
    jwtEnabled: enforcement === null ? (record.jwtEnabled ?? false) : enforcement !== "off",
    enforcement,
    secretEncoding: record.secretEncoding ?? DEFAULT_SECRET_ENCODING,
    secretFingerprint: prints.secret,
    clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    ...policyView(record),
    ...(record.keys !== undefined
      ? {
          keys: record.keys.map((key, index) => ({
            kid: key.kid ?? null,
            alg: key.alg,
            ...(key.notBefore !== undefined ? { notBefore: key.notBefore } : {}),
            ...(key.notAfter !== undefined ? { notAfter: key.notAfter } : {}),
            fingerprint: prints.keys[index] ?? null,
          })),
        }
      : {}),
    ...(record.jwksUri !== undefined ? { jwksUri: record.jwksUri } : {}),
    ...(record.revocations !== undefined ? { revokedUsers: Object.keys(record.revocations).length } : {}),
    createdAt: record.createdAt ?? null,
    updatedAt: record.updatedAt ?? null,
  };
}

export function jwksView(set: JwksSet, nowMs: number): JwksView {
  return {
    keys: set.views,
    fetchedAt: new Date(set.fetchedAt).toISOString(),
    expiresAt: new Date(set.expiresAt).toISOString(),
    stale: set.expiresAt <= nowMs,
    skipped: set.skipped,
  };
}

/** Each problem once, in order. */
function distinct(problems: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return problems.filter(({ path, message }) => {
    const key = `${path}\n${message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The view of a stored record as read, with its `problems` when it breaks the rules (a field
 * that breaks its schema shows its default; the problem names it), so an operator can see and fix
 * it while the gateway answers 503 for the app.
 */
export async function storedView(appId: string, stored: StoredRecord): Promise<AppView> {
  const { prints, problems } = await fingerprintKeys(stored.record);
  const repeated = repeatedKey(prints);
  const all = distinct([...stored.problems, ...problems, ...(repeated === null ? [] : [repeated])]);
  const view = appView(appId, stored.record, prints);
  return all.length > 0 ? { ...view, problems: all } : view;
}
