/**
 * `AppStore`: app records by appId, from an in-isolate cache first and KV second (CONTRACT
 * section 3, step 1). Each cached entry holds the imported `CryptoKey`s, so a warm request does
 * no JSON parsing, no base64 and no key import. Unknown apps are cached too, so a flood of
 * requests for one missing app costs one KV read per period. Concurrent misses for one app
 * share a single read.
 */

import { refusal } from "../errors.ts";
import { logEvent } from "../log.ts";
import { importVerificationKey, type Keyring, keyring, type VerificationKey } from "../token/keys.ts";
import type { TokenPolicy } from "../token/policy.ts";
import { type CheckedAppRecord, readStoredRecord } from "./checks.ts";
import { appKey } from "./kv-keys.ts";
import type { FieldError } from "./schema.ts";
import type { Enforcement } from "./view-types.ts";

/** The one KV call the store makes: a tiny seam so tests can count or fail reads. */
export interface AppRecordSource {
  get(key: string): Promise<string | null>;
}

/** An app record resolved for the gateway. */
export interface ResolvedApp {
  readonly appId: string;
  readonly enforcement: Enforcement;
  /** The imported keys of `secret` and `keys`; `null` when the record has none (JWT off, or JWKS only). */
  readonly keyring: Keyring | null;
  /** The provider's JWKS the app also verifies with (`JwksCache`), or `null`. */
  readonly jwksUri: string | null;
  /** Revoked users: user id → Unix seconds before which their tokens are refused; `null`: none. */
  readonly revocations: ReadonlyMap<string, number> | null;
  readonly clockToleranceSeconds: number;
  readonly policy: TokenPolicy;
}

/** Bounds isolate memory (128 MB per isolate): about 1 KB an entry, so at most ~10 MB. */
export const MAX_CACHED_APPS = 10_000;

export interface AppStoreOptions {
  readonly ttlMs: number;
  readonly maxEntries?: number;
  /** Milliseconds since the epoch; a parameter so tests control time. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly expiresAt: number;
  readonly app: Promise<ResolvedApp | null>;
}

export class AppStore {
  readonly #source: AppRecordSource;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  /** From this many entries on, a hit moves its entry to the end (least recently used first out). */
  readonly #lruFrom: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(source: AppRecordSource, options: AppStoreOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? MAX_CACHED_APPS;
    this.#lruFrom = Math.floor(this.#maxEntries * 0.75);
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * The app, or `null` when no record exists. Throws `503 CONFIG_UNAVAILABLE` when KV fails
   * (`kv_unavailable`) or the record is unusable (`record_invalid`, with one log line naming the
   * broken rule); a fault is never cached, so the next request tries again.
   */
  get(appId: string): Promise<ResolvedApp | null> {
    const now = this.#now();
    const cached = this.#cache.get(appId);
    if (cached && cached.expiresAt > now) {
      // Least recently used goes first when the cache is full: refresh this entry's place, once
      // eviction is near (before, the order decides nothing, and the hot path skips two map writes).
      if (this.#cache.size >= this.#lruFrom) {
        this.#cache.delete(appId);
        this.#cache.set(appId, cached);
      }
      return cached.app;
    }
    const entry: CacheEntry = { expiresAt: now + this.#ttlMs, app: this.#load(appId) };
    this.#cache.delete(appId);
    this.#cache.set(appId, entry);
    if (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    entry.app.catch(() => {
      if (this.#cache.get(appId) === entry) this.#cache.delete(appId);
    });
    return entry.app;
  }

  /** Forgets one app, so the next request reads KV again (after an admin write). */
  invalidate(appId: string): void {
    this.#cache.delete(appId);
  }

  /** How many apps are cached (for tests and metrics). */
  get size(): number {
    return this.#cache.size;
  }

  async #load(appId: string): Promise<ResolvedApp | null> {
    let text: string | null;
    try {
      text = await this.#source.get(appKey(appId));
    } catch {
      throw refusal("kv_unavailable");
    }
    if (text === null) return null;
    const { checked, problems } = readStoredRecord(text);
    const imported = checked === null ? { problem: problems[0] } : await importKeys(checked);
    if (checked === null || "problem" in imported) {
      const { problem } = imported as { problem: FieldError | undefined };
      // Names the field and the rule, never a value: the operator reads the rest in the admin view.
      logEvent("error", "record_invalid", { appId, field: problem?.path, rule: problem?.message });
      throw refusal("record_invalid");
    }
    return {
      appId,
      enforcement: checked.enforcement,
      keyring: imported.keyring,
      jwksUri: checked.jwksUri,
      revocations: checked.revocations,
      clockToleranceSeconds: checked.clockToleranceSeconds,
      policy: checked.policy,
    };
  }
}

/** Imports every key of a record once; a stored key that does not import is a problem of the record. */
async function importKeys(record: CheckedAppRecord): Promise<{ keyring: Keyring | null } | { problem: FieldError }> {
  if (record.keys.length === 0) return { keyring: null };
  const keys: VerificationKey[] = [];
  for (const { path, kid, material, notBefore, notAfter } of record.keys) {
    const imported = await importVerificationKey(material);
    if ("error" in imported) return { problem: { path, message: imported.error } };
    keys.push({ kid, alg: material.alg, cryptoKey: imported.key, notBefore, notAfter });
  }
  return { keyring: keyring(keys) };
}
