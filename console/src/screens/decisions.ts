/**
 * The app page's Decisions: what the gateway decided for this app's SDK requests over the last
 * hour, day or week (`GET …/apps/{appId}/stats?window=…`, docs/metrics.md), as a chart of allowed
 * against refused by reason, a summary that names the chart and gives its exact numbers, a legend,
 * the series as a table, and the top details. A gateway without the METRICS binding answers 503:
 * then a note says so.
 */

import { ApiError, type Stats, type StatsWindow } from "../api.ts";
import { decisionsChart, type Layer, layersOf, sortedCounts } from "../chart.ts";
import { dataTable, formatUtc, h, uid } from "../dom.ts";
import { clearError, errorBox, showError } from "../errors.ts";
import { count, decisionCount, loadStats, minuteUtc, percent, refusalCount, spanText, WINDOWS } from "../metrics.ts";

const WINDOW_NAMES: Readonly<Record<StatsWindow, string>> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
};

/** How many details the table lists; the rest are summed in a line under it. */
const TOP_DETAILS = 10;

/** `Last hour (2026-11-30 11:31 to 12:31 UTC): 7 decisions: 3 allowed, 4 refused; 57.1% refused or throttled. By reason: …` */
export function summaryText(stats: Stats): string {
  const { totals } = stats;
  const all = decisionCount(totals);
  const head = `${WINDOW_NAMES[stats.window]} (${spanText(stats.from, stats.to)})`;
  if (all === 0) return `${head}: no decisions.`;
  const parts = [`${count(totals.allowed)} allowed`, `${count(totals.refused)} refused`];
  for (const outcome of ["throttled", "reported", "unchecked"] as const) {
    if (totals[outcome] > 0) parts.push(`${count(totals[outcome])} ${outcome}`);
  }
  const reasons = sortedCounts(stats.byReason);
  return [
    `${head}: ${count(all)} ${all === 1 ? "decision" : "decisions"}: ${parts.join(", ")}; ${percent(refusalCount(totals), all)} refused or throttled.`,
    reasons.length === 0 ? "" : ` By reason: ${reasons.map(([reason, n]) => `${reason} ${count(n)}`).join(", ")}.`,
  ].join("");
}

function legend(layers: readonly Layer[]): HTMLElement {
  return h(
    "ul",
    { class: "legend" },
    ...layers.map((layer) =>
      h(
        "li",
        {},
        h("span", { class: `swatch ${layer.colour}`, "aria-hidden": "true" }),
        h("span", { class: /^[A-Z0-9_]+$/.test(layer.label) ? "mono" : "" }, layer.label),
        " ",
        h("span", { class: "legend-count" }, count(layer.total)),
      ),
    ),
  );
}

/** The points with decisions, one row each: the chart's numbers for a screen reader or a copy. */
function seriesTable(stats: Stats): HTMLElement {
  const hourly = stats.window !== "1h";
  const rows = stats.series.filter((point) => decisionCount(point) > 0);
  const number = (value: number) => h("td", { class: "num" }, count(value));
  return h(
    "details",
    { class: "series" },
    h("summary", {}, hourly ? "Decisions per hour, as a table" : "Decisions per minute, as a table"),
    h(
      "div",
      { class: "table-wrap" },
      dataTable(
        { caption: h("caption", {}, hourly ? "Decisions per hour" : "Decisions per minute") },
        [
          hourly ? "Hour (UTC)" : "Minute (UTC)",
          ...["Allowed", "Refused", "Throttled", "Reported", "Unchecked"].map((name) => ({
            label: name,
            class: "num",
          })),
          "By reason",
        ],
        h(
          "tbody",
          {},
          ...rows.map((point) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, h("time", { datetime: point.t }, minuteUtc(new Date(point.t)))),
              number(point.allowed),
              number(point.refused),
              number(point.throttled),
              number(point.reported),
              number(point.unchecked),
              h(
                "td",
                { class: "mono" },
                sortedCounts(point.reasons)
                  .map(([reason, n]) => `${reason} ${count(n)}`)
                  .join(", "),
              ),
            ),
          ),
          rows.length === 0 ? h("tr", {}, h("td", { colspan: 7 }, "No decisions in this window.")) : null,
        ),
      ),
    ),
  );
}

function detailsTable(stats: Stats): HTMLElement {
  const heading = h("h3", { id: uid("details") }, "Top details");
  const details = sortedCounts(stats.byDetail);
  const all = details.reduce((sum, [, n]) => sum + n, 0);
  const shown = details.slice(0, TOP_DETAILS);
  const rest = details.slice(TOP_DETAILS);
  return h(
    "div",
    {},
    heading,
    h(
      "p",
      { class: "hint" },
      "The precise cause of each refused, reported or throttled request (docs/pipeline.md lists every detail).",
    ),
    h(
      "div",
      { class: "table-wrap" },
      dataTable(
        { labelledBy: heading.id, class: "details" },
        ["Detail", { label: "Requests", class: "num" }, { label: "Share", class: "num" }],
        h(
          "tbody",
          {},
          ...shown.map(([detail, n]) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, h("code", {}, detail)),
              h("td", { class: "num" }, count(n)),
              h("td", { class: "num" }, percent(n, all)),
            ),
          ),
          shown.length === 0 ? h("tr", {}, h("td", { colspan: 3 }, "No refusals in this window.")) : null,
          rest.length === 0
            ? null
            : h(
                "tr",
                {},
                h("th", { scope: "row" }, `${rest.length} more ${rest.length === 1 ? "detail" : "details"}`),
                h("td", { class: "num" }, count(rest.reduce((sum, [, n]) => sum + n, 0))),
                h(
                  "td",
                  { class: "num" },
                  percent(
                    rest.reduce((sum, [, n]) => sum + n, 0),
                    all,
                  ),
                ),
              ),
        ),
      ),
    ),
  );
}

/** The Decisions region of `appId`'s page; it loads the last hour at once. */
export function decisionsSection(appId: string): HTMLElement {
  const heading = h("h2", { id: uid("section") }, "Decisions");
  const name = `window-${uid("decisions")}`;
  let current: StatsWindow = "1h";
  const switchGroup = h(
    "fieldset",
    { class: "switch" },
    h("legend", { class: "visually-hidden" }, "Window"),
    ...WINDOWS.map((window) => {
      const radio = h("input", { type: "radio", name, value: window, checked: window === current });
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        current = window;
        void load();
      });
      return h("label", { class: "switch-option" }, radio, h("span", {}, window));
    }),
  );
  const refresh = h("button", { type: "button" }, "Refresh");
  refresh.addEventListener("click", () => void load());
  const controls = h("div", { class: "chart-controls" }, switchGroup, refresh);
  const box = errorBox();
  const note = h("p", { class: "notice", hidden: true });
  const body = h("div", { class: "decisions" });
  const status = h("p", { class: "hint", role: "status" });
  let generation = 0;

  async function load(): Promise<void> {
    const mine = ++generation;
    const window = current;
    status.textContent = "Loading decisions…";
    body.setAttribute("aria-busy", "true");
    try {
      const stats = await loadStats(appId, window);
      if (mine !== generation) return;
      clearError(box);
      note.hidden = true;
      controls.hidden = false;
      const summaryId = uid("decisions-summary");
      const layers = layersOf(stats);
      body.replaceChildren(
        h(
          "figure",
          { class: "chart-figure" },
          h("figcaption", { id: summaryId }, summaryText(stats)),
          decisionsChart(stats, layers, summaryId),
          legend(layers),
        ),
        seriesTable(stats),
        detailsTable(stats),
      );
      status.textContent = `Loaded ${formatUtc(new Date())}; a request is counted within 10 seconds.`;
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = "";
      body.replaceChildren();
      if (error instanceof ApiError && error.status === 503) {
        const unconfigured = /METRICS/.test(error.message);
        note.textContent = unconfigured
          ? `No decision counts: this gateway has no METRICS binding, so it counts nothing (503 ${error.code}). docs/metrics.md says how to add it.`
          : `Decision counts are unavailable right now (503 ${error.code}: ${error.message}). Try Refresh.`;
        note.hidden = false;
        controls.hidden = unconfigured;
      } else showError(box, error);
    } finally {
      if (mine === generation) body.removeAttribute("aria-busy");
    }
  }

  void load();
  return h(
    "section",
    { "aria-labelledby": heading.id, class: "decisions-section" },
    h("div", { class: "title-row" }, heading, controls),
    h(
      "p",
      { class: "hint" },
      "Each request to this app's SDK routes, by what the gateway did: allowed, or refused and why.",
    ),
    box,
    note,
    body,
    status,
  );
}
