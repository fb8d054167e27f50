/**
 * `AppRegistry`: the write side of the app records, used by the admin API. Each record's view
 * (CONTRACT section 5) is kept in its key's KV metadata, so listing a page costs one KV `list`.
 * KV has no compare-and-swap: two writes to one app at once end with one of them whole.
 */

import { GatewayError } from "../errors.ts";
import {
  APP_KEY_PREFIX,
  type AppRecord,
  appKey,
  checkRecord,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_SECRET_ENCODING,
  type Enforcement,
  enforcementOf,
  parseRecordText,
  RecordError,
  secretFingerprint,
} from "./record.ts";

/** What the admin API shows of an app: never the secret. */
export interface AppView {
  readonly appId: string;
  readonly jwtEnabled: boolean;
  /** `null` only for a stored record whose two fields disagree (the gateway answers 503 for it). */
  readonly enforcement: Enforcement | null;
  readonly secretEncoding: string;
  readonly secretFingerprint: string | null;
  readonly clockToleranceSeconds: number;
  // The token policy (issue 6), shown only when the record sets it: a v1 record's view is v1's.
  readonly issuer?: string | readonly string[];
  readonly audience?: string | readonly string[];
  readonly requireExp?: boolean;
  readonly maxTokenLifetimeSeconds?: number;
  readonly tokensNotBefore?: string;
  readonly appIdClaim?: string | null;
  readonly userClaims?: readonly string[];
  readonly requestBindings?: Readonly<Record<string, string>>;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

/** Workers KV refuses metadata over 1,024 bytes of JSON. */
export const MAX_METADATA_BYTES = 1024;

/** The view of a record whose key bytes (`null` without a secret) are known. */
export async function appView(appId: string, record: AppRecord, keyBytes: Uint8Array | null): Promise<AppView> {
  const enforcement = enforcementOf(record) ?? null;
  return {
    appId,
    jwtEnabled: enforcement === null ? (record.jwtEnabled ?? false) : enforcement !== "off",
    enforcement,
    secretEncoding: record.secretEncoding ?? DEFAULT_SECRET_ENCODING,
    secretFingerprint: keyBytes ? await secretFingerprint(keyBytes) : null,
    clockToleranceSeconds: record.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    ...(record.issuer !== undefined ? { issuer: record.issuer } : {}),
    ...(record.audience !== undefined ? { audience: record.audience } : {}),
    ...(record.requireExp !== undefined ? { requireExp: record.requireExp } : {}),
    ...(record.maxTokenLifetimeSeconds !== undefined
      ? { maxTokenLifetimeSeconds: record.maxTokenLifetimeSeconds }
      : {}),
    ...(record.tokensNotBefore !== undefined ? { tokensNotBefore: record.tokensNotBefore } : {}),
    ...(record.appIdClaim !== undefined ? { appIdClaim: record.appIdClaim } : {}),
    ...(record.userClaims !== undefined ? { userClaims: record.userClaims } : {}),
    ...(record.requestBindings !== undefined ? { requestBindings: record.requestBindings } : {}),
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
    const keyBytes = "record" in checked ? checked.record.keyBytes : null;
    return appView(appId, record, keyBytes);
  }
}

const cursorError = { errors: [{ path: "cursor", message: "is not a cursor from this list" }] };
