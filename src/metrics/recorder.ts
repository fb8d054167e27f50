/**
 * `DecisionRecorder`: counts every SDK decision without a call on the hot path. Each isolate adds
 * decisions to an in-memory batch (one count per app, minute, outcome, code, reason and detail)
 * and sends the batch to each app's Durable Object off the answer's path, in `ctx.waitUntil`: when
 * it reaches `maxEvents`, and at the latest `flushMs` after its first decision, so counts arrive
 * within the documented delay even when traffic stops. An isolate that dies loses at most the
 * batch it held. A counting failure is logged and never changes or delays an answer. Each
 * decision is also one Analytics Engine data point, when the dataset is bound.
 */

import { logEvent } from "../log.ts";
import { type CountRow, type Decision, MINUTE_MS, NO_APP } from "./counts.ts";

/** Where a batch goes: the counts of one app (or `NO_APP`). */
export type CountSink = (app: string, rows: CountRow[]) => Promise<void>;

export interface RecorderOptions {
  readonly sink: CountSink;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** The longest a decision waits in the batch. */
  readonly flushMs: number;
  /** A batch this large is sent at once. */
  readonly maxEvents?: number;
  readonly analytics?: AnalyticsEngineDataset | undefined;
}

/** Enough to send a burst in a few calls, small enough that a lost batch is a small loss. */
export const DEFAULT_MAX_EVENTS = 1000;
/** A failed flush is logged at most this often per isolate. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

type Batch = Map<string, Map<string, { -readonly [K in keyof CountRow]: CountRow[K] }>>;

export class DecisionRecorder {
  readonly #options: RecorderOptions;
  readonly #maxEvents: number;
  #batch: Batch = new Map();
  #events = 0;
  #timer = false;
  #lastFailureLog = Number.NEGATIVE_INFINITY;

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  /** Counts one decision; `waitUntil` keeps the flush alive past the answer. Never throws. */
  record(decision: Decision, waitUntil: (promise: Promise<unknown>) => void): void {
    const app = decision.appId ?? NO_APP;
    try {
      this.#options.analytics?.writeDataPoint({
        indexes: [app],
        blobs: [app, decision.outcome, decision.code, decision.reason, decision.detail],
        doubles: [1],
      });
    } catch {
      // Analytics is best effort: a decision stands whatever it does.
    }
    const minute = Math.floor(this.#options.now() / MINUTE_MS);
    let rows = this.#batch.get(app);
    if (rows === undefined) {
      rows = new Map();
      this.#batch.set(app, rows);
    }
    const key = `${minute}\n${decision.outcome}\n${decision.code}\n${decision.reason}\n${decision.detail}`;
    const row = rows.get(key);
    if (row === undefined) rows.set(key, { minute, ...decision, count: 1 });
    else row.count += 1;
    this.#events += 1;
    if (this.#events >= this.#maxEvents) waitUntil(this.flush());
    else if (!this.#timer) {
      this.#timer = true;
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, this.#options.flushMs)).then(() => {
          this.#timer = false;
          return this.flush();
        }),
      );
    }
  }

  /** Sends what the batch holds, one call per app. Never throws: a failure is logged. */
  async flush(): Promise<void> {
    if (this.#events === 0) return;
    const batch = this.#batch;
    this.#batch = new Map();
    this.#events = 0;
    await Promise.all(
      [...batch].map(([app, rows]) =>
        this.#options
          .sink(
            app,
            [...rows.values()].map(({ minute, outcome, code, reason, detail, count }) => ({
              minute,
              outcome,
              code,
              reason,
              detail,
              count,
            })),
          )
          .catch((error: unknown) => this.#failed(error)),
      ),
    );
  }

  #failed(error: unknown): void {
    const now = this.#options.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#lastFailureLog = now;
    logEvent("warn", "metrics_flush_failed", { error: error instanceof Error ? error.name : typeof error });
  }
}
