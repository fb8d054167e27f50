/**
 * `AppNonces`: one Durable Object per app (SQLite storage) that binds each nonce to the first
 * token seen with it, for as long as that token can pass (its `exp` and the clock tolerance; for
 * ever without `exp`). Another token with the same nonce is refused (`nonce_reused`); the same
 * token again (an SDK sends it on every call) stays valid. A nonce no token has claimed cannot be
 * claimed after its claim window (`nonce_expired`), so a pruned binding can never be claimed
 * again. It stores a SHA-256 of the token, never the token.
 */

import { DurableObject } from "cloudflare:workers";

/** How often the alarm looks for expired bindings. */
const PRUNE_INTERVAL_MS = 600_000;
/** A binding is deleted a day after the last moment its token could pass (room for clock skew). */
const KEEP_AFTER_SECONDS = 86_400;

/** What binding a nonce to a token found: the nonce is this token's, another's, or past its claim window. */
export type NonceBinding = "bound" | "reused" | "expired";

/** When to bind, and how long to keep the binding (Unix seconds). */
export interface BindTimes {
  /** The last moment a token carrying the nonce can pass: the binding is kept until then. */
  readonly keepUntil: number;
  /** The last moment a first token may claim the nonce. */
  readonly claimableUntil: number;
  readonly now: number;
}

export class AppNonces extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as Cloudflare.Env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS bindings (nonce TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL)",
    );
  }

  /**
   * Binds `nonce` to `tokenHash` if no token has it and it is still claimable, keeping the binding
   * until `times.keepUntil` (the column `expires`). The read and the write run with no await
   * between them, and the object is single-threaded per app, so two tokens racing for one nonce
   * cannot both win.
   */
  async bind(nonce: string, tokenHash: string, times: BindTimes): Promise<NonceBinding> {
    const { sql } = this.ctx.storage;
    const [bound] = sql.exec<{ token: string }>("SELECT token FROM bindings WHERE nonce = ?", nonce).toArray();
    if (bound !== undefined) return bound.token === tokenHash ? "bound" : "reused";
    if (times.now > times.claimableUntil) return "expired";
    sql.exec("INSERT INTO bindings (nonce, token, expires) VALUES (?, ?, ?)", nonce, tokenHash, times.keepUntil);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
    return "bound";
  }

  /** Deletes the bindings whose tokens passed their end a day before `nowSeconds`; answers how many are left. */
  prune(nowSeconds: number): number {
    this.ctx.storage.sql.exec("DELETE FROM bindings WHERE expires < ?", Math.floor(nowSeconds) - KEEP_AFTER_SECONDS);
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM bindings").one().n;
  }

  override async alarm(): Promise<void> {
    if (this.prune(Date.now() / 1000) > 0) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }
}
