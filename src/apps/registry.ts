/**
 * `AppRegistry`: the write side of the app records, used by the admin API. Each record's view
 * (CONTRACT section 5) is kept in its key's KV metadata, so listing a page costs one KV `list`.
 * KV has no compare-and-swap: two writes to one app at once end with one of them whole.
 */

import { GatewayError } from "../errors.ts";
import type { JwsAlgorithm } from "../token/algorithms.ts";
import { importVerificationKey, KeyError, keyFingerprint } from "../token/keys.ts";
import {
  APP_KEY_PREFIX,
  type AppRecord,
  appKey,
  type CheckedAppRecord,
  checkRecord,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_SECRET_ENCODING,
  type Enforcement,
  enforcementOf,
  type FieldError,
  POLICY_FIELDS,
  parseRecordText,
  RecordError,
} from "./record.ts";

/** What the view shows of one key of `keys`: never its secret. */
export interface KeyView {
  readonly kid: string | null;
  readonly alg: JwsAlgorithm;
  readonly notBefore?: string;
  readonly notAfter?: string;
  /**
   * `sha256:` and 16 hex digits, over the HMAC key bytes or the public key's SPKI DER; `null`
   * for a stored key that does not import (the gateway answers 503 for its app).
   */
  readonly fingerprint: string | null;
}

/** The fingerprints of a record's keys: the v1 `secret`'s, and one per entry of `keys`. */
export interface KeyFingerprints {
  readonly secret: string | null;
  readonly keys: readonly string[];
}

export const NO_FINGERPRINTS: KeyFingerprints = { secret: null, keys: [] };

/**
 * Imports each key of a checked record (so a public key is checked in full: a real public key
 * of its algorithm, RSA ≥ 2048 bits) and fingerprints it. Throws `KeyFieldError` naming the key.
 */
export async function fingerprintKeys(checked: CheckedAppRecord): Promise<KeyFingerprints> {
  let secret: string | null = null;
  const keys: string[] = [];
  for (const key of checked.keys) {
    let cryptoKey: CryptoKey;
    try {
      cryptoKey = await importVerificationKey(key.material, true);
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      const field = key.material.kind === "public" ? "publicKey" : "secret";
      throw new KeyFieldError({
        path: key.path === "secret" ? "secret" : `${key.path}.${field}`,
        message: error.message,
      });
    }
    const print = await keyFingerprint(key.material, cryptoKey);
    if (key.path === "secret") secret = print;
    else keys.push(print);
  }
  return { secret, keys };
}

/**
 * The first key that repeats an earlier one (same fingerprint: one HMAC key under two kids, or a
 * public key given twice as PEM and JWK), as a field error on the later one; `null` when all differ.
 * One key twice adds nothing to rotation and would fill one of the three places.
 */
export function repeatedKey(prints: KeyFingerprints): FieldError | null {
  const seen = new Map<string, string>();
  if (prints.secret !== null) seen.set(prints.secret, "secret");
  for (const [index, print] of prints.keys.entries()) {
    const earlier = seen.get(print);
    if (earlier !== undefined) return { path: `keys.${index}`, message: `is the same key as ${earlier}` };
    seen.set(print, `keys.${index}`);
  }
  return null;
}

/** A key that does not import, with the field it came from. */
export class KeyFieldError extends Error {
  readonly field: FieldError;

  constructor(field: FieldError) {
    super(`${field.path} ${field.message}`);
    this.name = "KeyFieldError";
    this.field = field;
  }
}

/** What the admin API shows of an app: never the secret. */
export interface AppView {
  readonly appId: string;
  readonly jwtEnabled: boolean;
  /** `null` only for a stored record whose two fields disagree (the gateway answers 503 for it). */
  readonly enforcement: Enforcement | null;
  readonly secretEncoding: string;
  readonly secretFingerprint: string | null;
  readonly clockToleranceSeconds: number;
  // The token policy, shown only when the record sets it: a v1 record's view is v1's.
  readonly issuer?: string | readonly string[];
  readonly audience?: string | readonly string[];
  readonly requireExp?: boolean;
  readonly maxTokenLifetimeSeconds?: number;
  readonly tokensNotBefore?: string;
  readonly appIdClaim?: string | null;
  readonly userClaims?: readonly string[];
  readonly requestBindings?: Readonly<Record<string, string>>;
  readonly keys?: readonly KeyView[];
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
  /** Only in a write's answer: what the record may still have wrong (`recordWarnings`). */
  readonly warnings?: readonly FieldError[];
}

/** Workers KV refuses metadata over 1,024 bytes of JSON. */
export const MAX_METADATA_BYTES = 1024;

/** The token-policy fields the record sets (a v1 record sets none, and its view is v1's). */
function policyView(record: AppRecord): Partial<AppView> {
  const view: Record<string, unknown> = {};
  for (const name of Object.keys(POLICY_FIELDS) as (keyof typeof POLICY_FIELDS)[]) {
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
    createdAt: record.createdAt ?? null,
    updatedAt: record.updatedAt ?? null,
  };
}

export interface AppPage {
  readonly apps: AppView[];
  readonly cursor: string | null;
}

function configUnavailable(detail: string): GatewayError {
  return new GatewayError("CONFIG_UNAVAILABLE", { detail });
}

export class AppRegistry {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  /** The stored record, or `null`. A stored value that does not parse is `503`. */
  async get(appId: string): Promise<AppRecord | null> {
    let text: string | null;
    try {
      text = await this.#kv.get(appKey(appId), "text");
    } catch {
      throw configUnavailable("KV read failed");
    }
    if (text === null) return null;
    try {
      return parseRecordText(text);
    } catch (error) {
      if (error instanceof RecordError) throw configUnavailable(error.message);
      throw error;
    }
  }

  /**
   * Writes the whole record, with its view as the key's metadata when the view fits KV's limit
   * (long issuer and audience lists may not); without it, listing reads that one record.
   */
  async put(appId: string, record: AppRecord, view: AppView): Promise<void> {
    const fits = new TextEncoder().encode(JSON.stringify(view)).byteLength <= MAX_METADATA_BYTES;
    try {
      await this.#kv.put(appKey(appId), JSON.stringify(record), fits ? { metadata: view } : {});
    } catch {
      throw configUnavailable("KV write failed");
    }
  }

  async delete(appId: string): Promise<void> {
    try {
      await this.#kv.delete(appKey(appId));
    } catch {
      throw configUnavailable("KV delete failed");
    }
  }

  /** One page of views in appId order, from one KV `list`. */
  async list(limit: number, cursor: string | undefined): Promise<AppPage> {
    let page: KVNamespaceListResult<AppView, string>;
    try {
      page = await this.#kv.list<AppView>({ prefix: APP_KEY_PREFIX, limit, ...(cursor ? { cursor } : {}) });
    } catch {
      if (cursor) throw new GatewayError("BAD_REQUEST", { status: "Invalid list request", extra: cursorError });
      throw configUnavailable("KV list failed");
    }
    const apps = await Promise.all(
      page.keys.map((key) => key.metadata ?? this.#viewFromRecord(key.name.slice(APP_KEY_PREFIX.length))),
    );
    return { apps: apps.filter((view) => view !== null), cursor: page.list_complete ? null : page.cursor };
  }

  /**
   * A record written without metadata (by hand, outside the admin API) costs one read to list;
   * a record that breaks the rules shows no fingerprint (the gateway answers 503 for it).
   */
  async #viewFromRecord(appId: string): Promise<AppView | null> {
    const record = await this.get(appId);
    if (record === null) return null;
    const checked = checkRecord(record);
    let prints = NO_FINGERPRINTS;
    if ("record" in checked) {
      try {
        prints = await fingerprintKeys(checked.record);
      } catch (error) {
        if (!(error instanceof KeyFieldError)) throw error;
      }
    }
    return appView(appId, record, prints);
  }
}

const cursorError = { errors: [{ path: "cursor", message: "is not a cursor from this list" }] };
