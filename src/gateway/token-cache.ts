/**
 * Verified tokens, kept so that an SDK repeating its token (it sends the same one on every call)
 * costs no parsing and no HMAC after the first request. An entry is keyed by the exact token
 * text and belongs to one resolved app record: a reloaded or changed record is a new object, so
 * its tokens are verified again under the new key. Time claims and request binding are still
 * checked on every request, so an entry never outlives the token's `exp`.
 */

import type { ResolvedApp } from "../apps/store.ts";
import type { VerifiedToken } from "../token/verify.ts";

/** Bounds memory: at most this many entries of at most `MAX_CACHED_TOKEN_CHARS` each (~10 MB). */
export const MAX_CACHED_TOKENS = 5_000;
/** SDK tokens are a few hundred characters; longer ones are verified every time, not kept. */
export const MAX_CACHED_TOKEN_CHARS = 2_048;

interface Entry {
  readonly app: ResolvedApp;
  readonly verified: VerifiedToken;
}

export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = MAX_CACHED_TOKENS) {
    this.#maxEntries = maxEntries;
  }

  /** The verified token, if `token` was verified under this very record. */
  get(token: string, app: ResolvedApp): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    return entry?.app === app ? entry.verified : undefined;
  }

  set(token: string, app: ResolvedApp, verified: VerifiedToken): void {
    if (token.length > MAX_CACHED_TOKEN_CHARS) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Oldest first: a token still in use is simply verified and kept again.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, { app, verified });
  }

  get size(): number {
    return this.#entries.size;
  }
}
