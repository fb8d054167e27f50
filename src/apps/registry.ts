/**
 * `AppRegistry`: the write side of the app records, used by the admin API. Each record's view
 * (CONTRACT section 5) is kept in its key's KV metadata, so listing a page costs one KV `list`.
 * KV has no compare-and-swap: two writes to one app at once end with one of them whole.
 */

import { refusal } from "../errors.ts";
import { readStoredRecord, type StoredRecord } from "./checks.ts";
import { APP_KEY_PREFIX, appKey } from "./kv-keys.ts";
import type { AppRecord } from "./schema.ts";
import { storedView } from "./view.ts";
import type { AppView } from "./view-types.ts";

/** Workers KV refuses metadata over 1,024 bytes of JSON. */
export const MAX_METADATA_BYTES = 1024;

export interface AppPage {
  readonly apps: AppView[];
  /** KV's own cursor (the admin API seals it before it leaves). */
  readonly cursor: string | null;
}

export class AppRegistry {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  /** The stored record as read (with its problems, if it breaks the rules), or `null`. */
  async get(appId: string): Promise<StoredRecord | null> {
    let text: string | null;
    try {
      text = await this.#kv.get(appKey(appId), "text");
    } catch {
      throw refusal("kv_unavailable");
    }
    return text === null ? null : readStoredRecord(text);
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
      throw refusal("kv_unavailable");
    }
  }

  async delete(appId: string): Promise<void> {
    try {
      await this.#kv.delete(appKey(appId));
    } catch {
      throw refusal("kv_unavailable");
    }
  }

  /**
   * One page of views in appId order (those starting with `appIdPrefix`), from one KV `list`.
   * The cursor is one the admin API issued
   * (it is sealed), so a failure here is KV's: `503`.
   */
  async list(limit: number, cursor: string | undefined, appIdPrefix = ""): Promise<AppPage> {
    let page: KVNamespaceListResult<AppView, string>;
    try {
      const prefix = `${APP_KEY_PREFIX}${appIdPrefix}`;
      page = await this.#kv.list<AppView>({ prefix, limit, ...(cursor ? { cursor } : {}) });
    } catch {
      throw refusal("kv_unavailable");
    }
    const apps = await Promise.all(
      page.keys.map((key) => key.metadata ?? this.#viewFromRecord(key.name.slice(APP_KEY_PREFIX.length))),
    );
    return { apps: apps.filter((view) => view !== null), cursor: page.list_complete ? null : page.cursor };
  }

  /**
   * A record written without metadata (by hand, outside the admin API) costs one read to list;
   * the view of a record that breaks the rules shows its `problems`, as its GET does.
   */
  async #viewFromRecord(appId: string): Promise<AppView | null> {
    const stored = await this.get(appId);
    return stored === null ? null : storedView(appId, stored);
  }
}
