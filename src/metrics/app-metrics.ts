/**
 * `AppMetrics`: one Durable Object per app (SQLite storage) holding its decision counts in minute
 * buckets, fed by each isolate's batches (`DecisionRecorder`) and read by the admin API's
 * `stats`. Buckets older than the retention (7 days and an hour) are deleted by the object's alarm.
 */

import { DurableObject } from "cloudflare:workers";
import { type CountRow, MINUTE_MS, type Stats, type StatsWindow, summarize, WINDOWS, windowStart } from "./counts.ts";

/**
 * How long counts are kept: the longest window the API answers, plus the hour its start is moved
 * down by (`windowStart`), so the first hour of a `7d` window is still whole.
 */
export const RETENTION_MINUTES = WINDOWS["7d"].minutes + WINDOWS["7d"].step;
/** How often the alarm prunes old buckets while the object holds any. */
const PRUNE_INTERVAL_MS = 3_600_000;

export class AppMetrics extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as Cloudflare.Env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS counts (
        minute INTEGER NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
        detail TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (minute, outcome, code, reason, detail)
      )`,
    );
  }

  /** Adds a batch of counts, and makes sure the alarm will prune them in time. */
  async add(rows: readonly CountRow[]): Promise<void> {
    const { sql } = this.ctx.storage;
    for (const { minute, outcome, code, reason, detail, count } of rows) {
      sql.exec(
        `INSERT INTO counts (minute, outcome, code, reason, detail, count) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (minute, outcome, code, reason, detail) DO UPDATE SET count = count + excluded.count`,
        minute,
        outcome,
        code,
        reason,
        detail,
        count,
      );
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }

  /** The counts of the window that ends now (`nowMs`, a parameter so tests drive time). */
  stats(window: StatsWindow, nowMs: number): Stats {
    const rows = this.ctx.storage.sql
      .exec<Record<keyof CountRow, string | number>>(
        "SELECT minute, outcome, code, reason, detail, count FROM counts WHERE minute >= ?",
        windowStart(window, nowMs),
      )
      .toArray() as unknown as CountRow[];
    return summarize(rows, window, nowMs);
  }

  /** Deletes buckets older than the retention at `nowMs`; answers how many rows are left. */
  prune(nowMs: number): number {
    const oldest = Math.floor(nowMs / MINUTE_MS) - RETENTION_MINUTES;
    this.ctx.storage.sql.exec("DELETE FROM counts WHERE minute < ?", oldest);
    return (this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM counts").one().n as number) ?? 0;
  }

  override async alarm(): Promise<void> {
    if (this.prune(Date.now()) > 0) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }
}
