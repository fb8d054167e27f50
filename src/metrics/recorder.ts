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

/** Analytics Engine takes an index of at most this many bytes (UTF-8), and drops a point with a longer one. */
export const MAX_INDEX_BYTES = 96;
/** How much of a long appId its index keeps, leaving room for `~` and the hash. */
const INDEX_PREFIX_BYTES = 80;

/** The longest start of `text` that is at most `maxBytes` in UTF-8, cut between code points. */
function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/** cyrb53: a 53-bit non-cryptographic hash of the UTF-16 code units, in base 36 (at most 11 characters). */
function shortHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * The Analytics Engine index of an app's data points: the appId itself when it fits in
 * `MAX_INDEX_BYTES`; else its first 80 bytes, `~` and a hash of the whole appId (at most 92
 * bytes), the same for every point of the app. `blob1` keeps the whole appId.
 */
export function analyticsIndex(appId: string): string {
  if (utf8Prefix(appId, MAX_INDEX_BYTES).length === appId.length) return appId;
  return `${utf8Prefix(appId, INDEX_PREFIX_BYTES)}~${shortHash(appId)}`;
}

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
        // An appId is ASCII (`APP_ID_PATTERN`): its length is its size, and only a long one is shortened.
        indexes: [app.length <= MAX_INDEX_BYTES ? app : analyticsIndex(app)],
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
    if (row === undefined) {
      const { outcome, code, reason, detail } = decision;
      rows.set(key, { minute, outcome, code, reason, detail, count: 1 });
    } else row.count += 1;
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
    await Promise.all([...batch].map(([app, rows]) => this.#send(app, [...rows.values()])));
  }

  /** One app's batch to its sink; a sink that throws at once is a failure like one that rejects. */
  async #send(app: string, rows: CountRow[]): Promise<void> {
    try {
      await this.#options.sink(app, rows);
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    const now = this.#options.now();
    if (now - this.#lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.#lastFailureLog = now;
    logEvent("warn", "metrics_flush_failed", { error: error instanceof Error ? error.name : typeof error });
  }
}
