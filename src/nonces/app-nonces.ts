/**
 * `AppNonces`: one Durable Object per app (SQLite storage) that binds each nonce to the first
 * token seen with it, until the nonce expires. Another token with the same nonce is refused
 * (`nonce_reused`); the same token again (an SDK sends it on every call) stays valid. It stores a
 * SHA-256 of the token, never the token.
 */

import { DurableObject } from "cloudflare:workers";

/** How often the alarm looks for expired bindings. */
const PRUNE_INTERVAL_MS = 600_000;
/**
 * A binding outlives its nonce by a day: a token must have been issued while its nonce was valid,
 * so after that only a token minted with a back-dated `iat` could claim the nonce again.
 */
const KEEP_AFTER_EXPIRY_SECONDS = 86_400;

export class AppNonces extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as Cloudflare.Env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS bindings (nonce TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL)",
    );
  }

  /**
   * Binds `nonce` (until `expiresAt`, Unix seconds) to `tokenHash` if it is free; answers whether
   * the nonce is bound to this token. Single-threaded per app, so two tokens racing for one
   * nonce cannot both win.
   */
  async bind(nonce: string, tokenHash: string, expiresAt: number): Promise<boolean> {
    const { sql } = this.ctx.storage;
    sql.exec("INSERT OR IGNORE INTO bindings (nonce, token, expires) VALUES (?, ?, ?)", nonce, tokenHash, expiresAt);
    const bound = sql.exec<{ token: string }>("SELECT token FROM bindings WHERE nonce = ?", nonce).one().token;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
    return bound === tokenHash;
  }

  /** Deletes the bindings of nonces expired a day before `nowSeconds`; answers how many are left. */
  prune(nowSeconds: number): number {
    this.ctx.storage.sql.exec(
      "DELETE FROM bindings WHERE expires < ?",
      Math.floor(nowSeconds) - KEEP_AFTER_EXPIRY_SECONDS,
    );
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM bindings").one().n;
  }

  override async alarm(): Promise<void> {
    if (this.prune(Date.now() / 1000) > 0) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }
}
