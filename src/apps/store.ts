/**
 * `AppStore`: app records by appId, from an in-isolate cache first and KV second (CONTRACT
 * section 3, step 1). Each cached entry holds the imported `CryptoKey`s, so a warm request does
 * no JSON parsing, no base64 and no key import. Unknown apps are cached too, so a flood of
 * requests for one missing app costs one KV read per period. Concurrent misses for one app
 * share a single read.
 */

import { GatewayError } from "../errors.ts";
import { importVerificationKey, KeyError, type Keyring, keyring } from "../token/keys.ts";
import {
  appKey,
  type CheckedAppRecord,
  type Enforcement,
  parseStoredRecord,
  RecordError,
  type TokenPolicy,
} from "./record.ts";

/** The one KV call the store makes: a tiny seam so tests can count or fail reads. */
export interface AppRecordSource {
  get(key: string): Promise<string | null>;
}

/** An app record resolved for the gateway. */
export interface ResolvedApp {
  readonly appId: string;
  readonly jwtEnabled: boolean;
  readonly enforcement: Enforcement;
  /** The imported keys; `null` only when the record has none (JWT off). */
  readonly keyring: Keyring | null;
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
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(source: AppRecordSource, options: AppStoreOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? MAX_CACHED_APPS;
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * The app, or `null` when no record exists. Throws `503 CONFIG_UNAVAILABLE` when KV fails or
   * the record is unusable; a fault is never cached, so the next request tries again.
   */
  get(appId: string): Promise<ResolvedApp | null> {
    const now = this.#now();
    const cached = this.#cache.get(appId);
    if (cached && cached.expiresAt > now) {
      // Least recently used goes first when the cache is full: refresh this entry's place.
      this.#cache.delete(appId);
      this.#cache.set(appId, cached);
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
      throw new GatewayError("CONFIG_UNAVAILABLE", { detail: "KV read failed" });
    }
    if (text === null) return null;
    try {
      const record = parseStoredRecord(text);
      return {
        appId,
        jwtEnabled: record.jwtEnabled,
        enforcement: record.enforcement,
        keyring: await importKeys(record),
        clockToleranceSeconds: record.clockToleranceSeconds,
        policy: record.policy,
      };
    } catch (error) {
      if (error instanceof RecordError) throw new GatewayError("CONFIG_UNAVAILABLE", { detail: error.message });
      throw error;
    }
  }
}

/** Imports every key of a record once; a stored key that does not import is a fault. */
async function importKeys(record: CheckedAppRecord): Promise<Keyring | null> {
  if (record.keys.length === 0) return null;
  const keys = await Promise.all(
    record.keys.map(async ({ path, kid, material, notBefore, notAfter }) => {
      try {
        return { kid, alg: material.alg, cryptoKey: await importVerificationKey(material), notBefore, notAfter };
      } catch (error) {
        if (error instanceof KeyError) throw new RecordError(`stored record field ${path} ${error.message}`);
        throw error;
      }
    }),
  );
  return keyring(keys);
}
