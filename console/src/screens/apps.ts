/**
 * Apps: a table of apps (appId, enforcement, key count, refusal rate over the last hour, updated),
 * searched by appId prefix, a page at a time with the API's cursor (kept on a stack for Previous
 * page). The rates come from each app's `stats`, loaded after the table shows, a few at a time.
 */

import { ApiError, type AppList, type AppView, api } from "../api.ts";
import type { Console } from "../console.ts";
import { dataTable, field, h, time } from "../dom.ts";
import { clearError, errorBox, showError } from "../errors.ts";
import { count, decisionCount, eachLimited, loadStats, percent, refusalCount } from "../metrics.ts";
import { wirePaging } from "../paging.ts";

const PAGE_SIZE = 25;
/** Stats requests in flight at once while the Refusals column fills. */
const RATE_REQUESTS = 6;

export function keyCount(view: AppView): number {
  return (view.secretFingerprint === null ? 0 : 1) + (view.keys?.length ?? 0);
}

export function enforcementBadge(enforcement: string | null): HTMLElement {
  const text = enforcement ?? "invalid";
  return h("span", { class: `badge badge-${text}` }, text);
}

export function appsScreen(app: Console): HTMLElement {
  const search = h("input", {
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: 128,
  });
  const box = errorBox();
  const searchForm = h(
    "form",
    { role: "search", class: "search" },
    field("Search apps", search, { path: "prefix", hint: "The start of an App ID." }),
  );
  const body = h("tbody");
  const table = dataTable(
    { caption: h("caption", {}, "Apps"), class: "apps" },
    ["App ID", "Enforcement", { label: "Keys", class: "num" }, { label: "Refusals (1h)", class: "num" }, "Updated"],
    body,
  );
  const status = h("p", { class: "hint", role: "status" });
  const ratesNote = h(
    "p",
    { class: "hint" },
    "Refusals (1h): the app's refused and throttled requests over all its requests in the last hour; — when it had none.",
  );
  const previous = h("button", { type: "button" }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");
  const newApp = h("button", { type: "button", class: "primary" }, "New app");
  newApp.addEventListener("click", () => app.navigate("#/new"));

  /** The cursors of the pages before this one (`null`: the first page). */
  const before: (string | null)[] = [];
  let current: string | null = null;
  let generation = 0;

  async function load(cursor: string | null): Promise<void> {
    const mine = ++generation;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (search.value !== "") query.set("prefix", search.value);
    if (cursor !== null) query.set("cursor", cursor);
    status.textContent = "Loading…";
    try {
      const page = await api<AppList>("GET", `apps?${query}`);
      if (mine !== generation) return;
      clearError(box, searchForm);
      current = cursor;
      const rates: [string, HTMLTableCellElement][] = [];
      body.replaceChildren(
        ...page.apps.map((view) => {
          const rate = h("td", { class: "num rate", "aria-busy": "true" }, h("span", { class: "hint" }, "…"));
          rates.push([view.appId, rate]);
          return h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: `#/apps/${encodeURIComponent(view.appId)}` }, view.appId)),
            h("td", {}, enforcementBadge(view.enforcement)),
            h("td", { class: "num" }, keyCount(view)),
            rate,
            h("td", {}, time(view.updatedAt)),
          );
        }),
      );
      if (page.apps.length === 0) {
        const text = search.value === "" ? "No apps yet: create one with New app." : "No App ID starts with that.";
        body.append(h("tr", {}, h("td", { colspan: 5 }, text)));
      }
      const shown = page.apps.length === 1 ? "1 app" : `${page.apps.length} apps`;
      status.textContent = `${shown} on page ${before.length + 1}${page.cursor === null ? "" : "; more on the next page"}.`;
      next.disabled = page.cursor === null;
      next.dataset.cursor = page.cursor ?? "";
      previous.disabled = before.length === 0;
      void loadRates(mine, rates);
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = "";
      showError(box, error, searchForm);
    }
  }

  /** Fills the Refusals column: each row's last hour, after the table shows, a few requests at a time. */
  async function loadRates(mine: number, rates: readonly [string, HTMLTableCellElement][]): Promise<void> {
    let unavailable: string | null = null;
    await eachLimited(
      rates,
      RATE_REQUESTS,
      async ([appId, cell]) => {
        let text: Node[] = [];
        if (unavailable === null) {
          try {
            const { totals } = await loadStats(appId, "1h");
            const all = decisionCount(totals);
            text =
              all === 0
                ? [document.createTextNode("—")]
                : [
                    document.createTextNode(percent(refusalCount(totals), all)),
                    h(
                      "span",
                      { class: "sub" },
                      `${count(refusalCount(totals))} of ${count(all)}`,
                      // Report mode forwards what it would refuse: those are the numbers to watch there.
                      totals.reported > 0 ? `; ${count(totals.reported)} reported` : null,
                    ),
                  ];
          } catch (error) {
            // No METRICS binding: every app would answer the same, so ask no more.
            if (error instanceof ApiError && error.status === 503 && /METRICS/.test(error.message)) {
              unavailable = "Refusals (1h): not counted, since this gateway has no METRICS binding (docs/metrics.md).";
            }
          }
        }
        if (mine !== generation) return;
        cell.replaceChildren(...(text.length > 0 ? text : [document.createTextNode("n/a")]));
        cell.removeAttribute("aria-busy");
        if (unavailable !== null) ratesNote.textContent = unavailable;
      },
      () => mine === generation && table.isConnected,
    );
  }

  wirePaging({ next, previous, search, searchForm, earlier: before, current: () => current, load });

  const flash = app.takeFlash();
  void load(null);
  return h(
    "section",
    { class: "screen" },
    h("div", { class: "title-row" }, h("h1", {}, "Apps"), newApp),
    flash === null ? null : h("p", { class: "notice" }, flash),
    searchForm,
    box,
    h("div", { class: "table-wrap" }, table),
    ratesNote,
    h("div", { class: "actions pager" }, previous, next, status),
  );
}
