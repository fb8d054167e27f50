/**
 * Decision counts (docs/metrics.md) as the console reads them: `GET …/apps/{appId}/stats`, the
 * refusal rate (refused and throttled over every decision), and how numbers are written.
 */

import { api, appPath, type Outcomes, type Stats, type StatsWindow } from "./api.ts";

export const WINDOWS: readonly StatsWindow[] = ["1h", "24h", "7d"];

export function loadStats(appId: string, window: StatsWindow): Promise<Stats> {
  return api<Stats>("GET", `${appPath(appId)}/stats?window=${window}`);
}

/** Every decision of the window, whatever its outcome. */
export function decisionCount(totals: Outcomes): number {
  return totals.allowed + totals.refused + totals.reported + totals.unchecked + totals.throttled;
}

/** Requests the gateway answered with an error: refused, and throttled (`429 TOO_MANY_FAILURES`). */
export function refusalCount(totals: Outcomes): number {
  return totals.refused + totals.throttled;
}

const COUNT = new Intl.NumberFormat("en-US");
const PERCENT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** `1,520`. */
export function count(value: number): string {
  return COUNT.format(value);
}

/** `57.1%` (never `0%` or `100%` for a share that is neither); `—` when `whole` is 0. */
export function percent(part: number, whole: number): string {
  if (whole === 0) return "—";
  const value = (part / whole) * 100;
  if (value > 0 && value < 0.1) return "<0.1%";
  if (value < 100 && value > 99.9) return ">99.9%";
  return `${PERCENT.format(value)}%`;
}

/** `2026-11-30 12:31`, in UTC as everywhere in the console. */
export function minuteUtc(date: Date): string {
  return date.toISOString().slice(0, 16).replace("T", " ");
}

/** A window's span: `2026-11-30 11:31 to 12:31 UTC`, or two dates when it spans days. */
export function spanText(from: string, to: string): string {
  const [start, end] = [minuteUtc(new Date(from)), minuteUtc(new Date(to))];
  return `${start} to ${start.slice(0, 10) === end.slice(0, 10) ? end.slice(11) : end} UTC`;
}

/**
 * Runs `work` on each item, at most `limit` at a time, in order, and stops starting new ones
 * once `alive()` is false (the screen was left). `work` handles its own errors.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  alive: () => boolean = () => true,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && alive()) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
