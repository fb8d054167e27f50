/**
 * The keys an app's `jwksUri` gave the gateway (docs/keys.md): a table named JWKS keys (kid,
 * algorithm, fingerprint, the set's expiry, whether it is stale), when it was fetched and which
 * keys were skipped, and **Refresh JWKS** (`POST …/apps/{appId}/jwks/refresh`). Shown in the token
 * policy section only while the app has a `jwksUri`.
 */

import { type AppView, api, type JwksRefresh, type JwksView } from "../api.ts";
import type { Console } from "../console.ts";
import { dataTable, formatUtc, h, time, uid } from "../dom.ts";
import { clearError, errorBox, showError } from "../errors.ts";
import { count } from "../metrics.ts";

export interface JwksPanel {
  readonly element: HTMLElement;
  /** Shows the app's JWKS (hidden without a `jwksUri`), reading it when `view` is a write's answer. */
  show(view: AppView): void;
}

export function jwksPanel(app: Console, path: string): JwksPanel {
  const heading = h("h3", { id: uid("jwks") }, "JWKS keys");
  const source = h("p", { class: "hint wrap" });
  const facts = h("p", { role: "status" });
  const body = h("tbody");
  const table = dataTable(
    { labelledBy: heading.id },
    ["Key ID (kid)", "Algorithm", "Fingerprint", "Expires", "Stale"],
    body,
  );
  const box = errorBox();
  const refresh = h("button", { type: "button" }, "Refresh JWKS");
  const element = h(
    "div",
    { class: "jwks", hidden: true },
    heading,
    source,
    facts,
    box,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "actions" }, refresh),
  );
  let uri: string | undefined;
  let generation = 0;

  function render(jwks: JwksView): void {
    if ("error" in jwks) {
      facts.textContent =
        "The gateway could not load this JWKS: until it can, requests of this app that need it are answered 503 CONFIG_UNAVAILABLE (detail jwks_unavailable). Check the URL and the provider, then Refresh JWKS.";
      body.replaceChildren(h("tr", {}, h("td", { colspan: 5 }, "No keys loaded.")));
      return;
    }
    const skipped = Object.entries(jwks.skipped);
    facts.replaceChildren(
      `${jwks.keys.length === 1 ? "1 key" : `${count(jwks.keys.length)} keys`}, fetched `,
      time(jwks.fetchedAt),
      jwks.stale
        ? "; stale: the provider has not answered since the set expired, and the gateway serves it up to 24 hours past its expiry."
        : ".",
      skipped.length === 0
        ? ""
        : ` Skipped: ${skipped.map(([why, n]) => `${why} ${count(n)}`).join(", ")} (keys the gateway does not use).`,
    );
    body.replaceChildren(
      ...jwks.keys.map((key) =>
        h(
          "tr",
          {},
          h("td", { class: "mono wrap" }, key.kid),
          h("td", {}, key.alg),
          h("td", { class: "mono" }, key.fingerprint),
          h("td", { class: "nowrap" }, time(jwks.expiresAt)),
          h("td", {}, jwks.stale ? "yes" : "no"),
        ),
      ),
    );
    if (jwks.keys.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: 5 }, "The set holds no key the gateway can use.")));
    }
  }

  /** A write answers the view without `jwks`: read the app for it. */
  async function read(): Promise<void> {
    const mine = ++generation;
    facts.textContent = "Loading the JWKS…";
    body.replaceChildren();
    try {
      const loaded = await api<AppView>("GET", path);
      if (mine !== generation) return;
      render(loaded.jwks ?? { error: "unavailable" });
    } catch (error) {
      if (mine !== generation) return;
      facts.textContent = "";
      showError(box, error);
    }
  }

  refresh.addEventListener("click", async () => {
    clearError(box);
    const mine = ++generation;
    refresh.disabled = true;
    try {
      const answer = await api<JwksRefresh>("POST", `${path}/jwks/refresh`);
      if (mine !== generation) return;
      render(answer);
      app.announce(
        answer.refreshed
          ? `JWKS refreshed: ${answer.keys.length === 1 ? "1 key" : `${answer.keys.length} keys`}.`
          : `The provider gave no usable set; the gateway keeps the one fetched ${formatUtc(new Date(answer.fetchedAt))}.`,
      );
      if (!answer.refreshed) {
        facts.prepend("Not refreshed: the provider gave no usable set. ");
      }
    } catch (error) {
      if (mine === generation) showError(box, error);
    } finally {
      refresh.disabled = false;
    }
  });

  return {
    element,
    show(view) {
      element.hidden = view.jwksUri === undefined;
      if (view.jwksUri === undefined) {
        uri = undefined;
        generation += 1;
        return;
      }
      clearError(box);
      source.textContent = `From ${view.jwksUri}`;
      if (view.jwks !== undefined) {
        generation += 1;
        render(view.jwks);
      } else if (view.jwksUri !== uri || body.childElementCount === 0) void read();
      uri = view.jwksUri;
    },
  };
}
