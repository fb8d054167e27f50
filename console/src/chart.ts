/**
 * The decisions chart: one stacked bar per point of a stats series (a minute, or an hour), allowed
 * at the bottom, then unchecked, then the refused, reported and throttled decisions by reason.
 * Plain SVG made with `createElementNS` (no library, no markup from strings); colours come from
 * classes in console.css (the CSP allows no inline style), and each bar's numbers are in its
 * `<title>`. The chart is an image labelled by its summary: the numbers are also text next to it.
 */

import type { Stats, StatsPoint, StatsWindow } from "./api.ts";
import { count, minuteUtc } from "./metrics.ts";

const SVG = "http://www.w3.org/2000/svg";

type SvgChild = Node | string;

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  ...children: SvgChild[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** One layer of the stacked bars: its values at each point, and the class that colours it. */
export interface Layer {
  readonly label: string;
  /** `s-allowed`, `s-unchecked`, `s-r0` … `s-r7`: a colour of console.css. */
  readonly colour: string;
  readonly values: readonly number[];
  readonly total: number;
}

/** Reasons with a colour each; past this many, the smallest share the last colour as "Other reasons". */
const REASON_COLOURS = 8;

/** The layers of `stats`, bottom first: allowed, unchecked (when any), then each reason, the largest first. */
export function layersOf(stats: Stats): Layer[] {
  const layer = (label: string, colour: string, pick: (point: StatsPoint) => number): Layer => {
    const values = stats.series.map(pick);
    return { label, colour, values, total: values.reduce((sum, value) => sum + value, 0) };
  };
  const layers = [layer("Allowed", "s-allowed", (point) => point.allowed)];
  if (stats.totals.unchecked > 0) layers.push(layer("Unchecked", "s-unchecked", (point) => point.unchecked));
  const reasons = sortedCounts(stats.byReason).map(([reason]) => reason);
  const own = reasons.length > REASON_COLOURS ? reasons.slice(0, REASON_COLOURS - 1) : reasons;
  own.forEach((reason, i) => {
    layers.push(layer(reason, `s-r${i}`, (point) => point.reasons[reason] ?? 0));
  });
  if (own.length < reasons.length) {
    const rest = reasons.slice(own.length);
    layers.push(
      layer(`Other reasons (${rest.length})`, `s-r${REASON_COLOURS - 1}`, (point) =>
        rest.reduce((sum, reason) => sum + (point.reasons[reason] ?? 0), 0),
      ),
    );
  }
  return layers;
}

/** `[name, n]` pairs, the largest first (then by name). */
export function sortedCounts(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0));
}

/** A scale with round steps (1, 2 or 5 × 10ⁿ, whole numbers) whose top is at least `max`. */
function scale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 4, step: 1 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power);
  return { top: Math.ceil(max / step) * step, step };
}

/** Where a time label goes (every 10 minutes, 4 hours, or day) and what it says. */
function tickLabel(window: StatsWindow, t: Date): string | null {
  const [minute, hour] = [t.getUTCMinutes(), t.getUTCHours()];
  if (window === "1h") return minute % 10 === 0 ? minuteUtc(t).slice(11) : null;
  if (window === "24h") return minute === 0 && hour % 4 === 0 ? minuteUtc(t).slice(11) : null;
  return minute === 0 && hour === 0 ? minuteUtc(t).slice(5, 10) : null;
}

/** A point's numbers, for its tooltip: `2026-11-30 12:31 UTC: 25 allowed, 1 INVALID_SIGNATURE`. */
function pointText(window: StatsWindow, point: StatsPoint, layers: readonly Layer[], i: number): string {
  const start = new Date(point.t);
  const when =
    window === "1h"
      ? `${minuteUtc(start)} UTC`
      : `${minuteUtc(start)} to ${minuteUtc(new Date(start.getTime() + 3_600_000)).slice(11)} UTC`;
  const parts = layers
    .filter((layer) => (layer.values[i] ?? 0) > 0)
    .map((l) => `${count(l.values[i] ?? 0)} ${l.label}`);
  return `${when}: ${parts.length === 0 ? "no decisions" : parts.join(", ")}`;
}

const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 48;
const RIGHT = 10;
const TOP = 10;
const BOTTOM = 24;

/** The chart of `stats`, an image named by the element `labelledBy` (the summary of its numbers). */
export function decisionsChart(stats: Stats, layers: readonly Layer[], labelledBy: string): SVGSVGElement {
  const points = stats.series;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const base = TOP + plotHeight;
  const heights = points.map((_, i) => layers.reduce((sum, layer) => sum + (layer.values[i] ?? 0), 0));
  const { top, step } = scale(Math.max(0, ...heights));
  const y = (value: number) => base - (value / top) * plotHeight;
  const slot = plotWidth / Math.max(1, points.length);
  const gap = slot >= 6 ? slot * 0.2 : 0;

  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": labelledBy,
  });
  const grid = svg("g", { class: "grid" });
  for (let value = 0; value <= top; value += step) {
    grid.append(
      svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value) }),
      svg("text", { x: LEFT - 6, y: y(value), "text-anchor": "end", "dominant-baseline": "middle" }, count(value)),
    );
  }
  const bars = svg("g", { "shape-rendering": "crispEdges" });
  const hits = svg("g");
  const ticks = svg("g", { class: "grid" });
  points.forEach((point, i) => {
    const x = LEFT + i * slot;
    let bottom = base;
    for (const layer of layers) {
      const value = layer.values[i] ?? 0;
      if (value === 0) continue;
      // At least a pixel, so that one refusal among thousands still shows.
      const height = Math.max(1, (value / top) * plotHeight);
      bars.append(svg("rect", { class: layer.colour, x: x + gap / 2, y: bottom - height, width: slot - gap, height }));
      bottom -= height;
    }
    hits.append(
      svg(
        "rect",
        { class: "hit", x, y: TOP, width: slot, height: plotHeight },
        svg("title", {}, pointText(stats.window, point, layers, i)),
      ),
    );
    const label = tickLabel(stats.window, new Date(point.t));
    if (label !== null) {
      ticks.append(
        svg("line", { x1: x, x2: x, y1: base, y2: base + 4 }),
        svg("text", { x, y: HEIGHT - 6, "text-anchor": "middle" }, label),
      );
    }
  });
  chart.append(grid, ticks, bars, svg("line", { class: "axis", x1: LEFT, x2: WIDTH - RIGHT, y1: base, y2: base }));
  if (heights.every((height) => height === 0)) {
    chart.append(
      svg(
        "text",
        { class: "empty", x: LEFT + plotWidth / 2, y: TOP + plotHeight / 2, "text-anchor": "middle" },
        "No decisions in this window",
      ),
    );
  }
  chart.append(hits);
  return chart;
}
