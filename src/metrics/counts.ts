/**
 * Decisions and their counts: what the gateway counts for every SDK request (by app, outcome,
 * code, reason and detail, in minute buckets), and how a window of counts is summed for
 * `GET {ADMIN_PREFIX}/apps/{appId}/stats`. Pure: the batcher and the Durable Object use it.
 */

/** What became of one SDK request. */
export type Outcome = "allowed" | "refused" | "reported" | "unchecked" | "throttled";

export const OUTCOMES: readonly Outcome[] = ["allowed", "refused", "reported", "unchecked", "throttled"];

/** One decision: `code`, `reason` and `detail` are `""` when there is none (allowed, unchecked). */
export interface Decision {
  /** The path's appId; `null` when the request named none (it is counted under `NO_APP`). */
  readonly appId: string | null;
  readonly outcome: Outcome;
  readonly code: string;
  readonly reason: string;
  readonly detail: string;
}

/** Counts of one kind of decision in one minute. */
export interface CountRow {
  /** Minutes since the epoch. */
  readonly minute: number;
  readonly outcome: Outcome;
  readonly code: string;
  readonly reason: string;
  readonly detail: string;
  readonly count: number;
}

export const MINUTE_MS = 60_000;

/**
 * Where decisions for no known app are counted: requests naming no appId, and appIds no record
 * names. One place for all of them, so random appIds cannot create a store each.
 */
export const NO_APP = "(no app)";

export type StatsWindow = "1h" | "24h" | "7d";

/** Each window: its length in minutes and the minutes of one point of its series. */
export const WINDOWS: Readonly<Record<StatsWindow, { readonly minutes: number; readonly step: number }>> = {
  "1h": { minutes: 60, step: 1 },
  "24h": { minutes: 1440, step: 60 },
  "7d": { minutes: 10_080, step: 60 },
};

export interface SeriesPoint {
  /** The start of the point's minute or hour, ISO 8601. */
  readonly t: string;
  readonly allowed: number;
  readonly refused: number;
  readonly reported: number;
  readonly unchecked: number;
  readonly throttled: number;
  /** Refused, reported and throttled decisions by reason (or code, for answers without one). */
  readonly reasons: Readonly<Record<string, number>>;
}

export interface Stats {
  readonly window: StatsWindow;
  readonly from: string;
  readonly to: string;
  readonly totals: Readonly<Record<Outcome, number>>;
  readonly byReason: Readonly<Record<string, number>>;
  readonly byDetail: Readonly<Record<string, number>>;
  readonly series: readonly SeriesPoint[];
}

function zeroTotals(): Record<Outcome, number> {
  return { allowed: 0, refused: 0, reported: 0, unchecked: 0, throttled: 0 };
}

/** The name a refusal is counted under in `byReason`: its reason, or its code (`BAD_REQUEST`, `APP_NOT_FOUND`). */
function reasonOf(row: Pick<CountRow, "code" | "reason">): string {
  return row.reason === "" ? row.code : row.reason;
}

/**
 * The first minute of the window that ends with the minute of `nowMs`: `minutes` back, moved down
 * to a step boundary so hourly points are whole hours (a `24h` or `7d` window starts up to 59
 * minutes earlier). What the store reads and what `summarize` sums both start here.
 */
export function windowStart(window: StatsWindow, nowMs: number): number {
  const { minutes, step } = WINDOWS[window];
  return Math.floor((Math.floor(nowMs / MINUTE_MS) - minutes + 1) / step) * step;
}

/**
 * Sums `rows` into the window that ends with the minute of `nowMs` (from `windowStart`): totals by
 * outcome, refusals by reason and by detail, and a series of `WINDOWS[window].step`-minute points,
 * empty ones included.
 */
export function summarize(rows: readonly CountRow[], window: StatsWindow, nowMs: number): Stats {
  const { step } = WINDOWS[window];
  const last = Math.floor(nowMs / MINUTE_MS);
  const first = windowStart(window, nowMs);
  const points = Math.floor((last - first) / step) + 1;
  const series = Array.from({ length: points }, (_, i) => ({
    ...zeroTotals(),
    reasons: {} as Record<string, number>,
    t: first + i * step,
  }));
  const totals = zeroTotals();
  const byReason: Record<string, number> = {};
  const byDetail: Record<string, number> = {};
  for (const row of rows) {
    if (row.minute < first || row.minute > last) continue;
    totals[row.outcome] += row.count;
    const point = series[Math.floor((row.minute - first) / step)] as (typeof series)[number];
    point[row.outcome] += row.count;
    if (row.outcome === "allowed" || row.outcome === "unchecked") continue;
    const reason = reasonOf(row);
    byReason[reason] = (byReason[reason] ?? 0) + row.count;
    point.reasons[reason] = (point.reasons[reason] ?? 0) + row.count;
    if (row.detail !== "") byDetail[row.detail] = (byDetail[row.detail] ?? 0) + row.count;
  }
  return {
    window,
    from: new Date(first * MINUTE_MS).toISOString(),
    to: new Date((last + 1) * MINUTE_MS).toISOString(),
    totals,
    byReason,
    byDetail,
    series: series.map(({ t, ...counts }) => ({ t: new Date(t * MINUTE_MS).toISOString(), ...counts })),
  };
}
