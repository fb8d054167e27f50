/**
 * New app: an App ID, its enforcement and a first key (an HMAC secret generated in the browser, or
 * pasted, or a public key). Created with `PUT …/apps/{appId}` after a read that makes sure no app
 * of that ID exists (a PUT would replace it). The secret is shown once more after the app exists.
 */

import { ApiError, type AppView, api, appPath } from "../api.ts";
import type { Console } from "../console.ts";
import { field, h, select } from "../dom.ts";
import { clearError, errorBox, showError, showMessages } from "../errors.ts";
import { keyFields, savedSecretPanel } from "../keys.ts";

/** The appId rule of the admin API (`APP_ID_PATTERN`), checked here first for a quicker answer. */
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const ENFORCEMENT_OPTIONS = [
  ["enforce", "enforce: refuse requests without a valid token"],
  ["report", "report: check tokens, forward every request, log failures"],
  ["off", "off: forward without checking tokens"],
] as const;

export function newAppScreen(app: Console): HTMLElement {
  const appId = h("input", {
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    required: true,
    maxlength: 128,
  });
  const enforcement = select(ENFORCEMENT_OPTIONS, "enforce");
  const key = keyFields({ pathPrefix: "keys.0.", windowFields: false });
  const box = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Create app");
  const form = h(
    "form",
    { class: "card" },
    field("App ID", appId, {
      path: "appId",
      hint: "The appId in your SDK routes: letters, digits, . _ - (up to 128), starting with a letter or digit.",
    }),
    field("Enforcement", enforcement, { path: "enforcement" }),
    h(
      "fieldset",
      {},
      h("legend", {}, "First key"),
      h("p", { class: "hint" }, "Required unless Enforcement is off. Add more keys later, on the app's page."),
      key.element,
    ),
    h("div", { class: "actions" }, submit, h("a", { href: "#/apps" }, "Cancel")),
  );
  const result = h("div");
  const screen = h("section", { class: "screen" }, h("h1", {}, "New app"), box, form, result);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(box, form);
    const id = appId.value.trim();
    if (!APP_ID.test(id)) {
      showMessages(
        box,
        "Check the App ID.",
        [{ path: "appId", message: "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" }],
        form,
      );
      appId.focus();
      return;
    }
    const entered = key.read();
    if (entered !== null && "errors" in entered) {
      showMessages(box, "Check the key.", entered.errors, form);
      return;
    }
    const record: Record<string, unknown> = { enforcement: enforcement.value };
    if (entered !== null) record.keys = [entered.key];
    const secret = key.secret();
    submit.disabled = true;
    try {
      // PUT replaces an app that exists: make sure this one does not.
      const exists = await api<AppView>("GET", appPath(id)).then(
        () => true,
        (error: unknown) => {
          if (error instanceof ApiError && error.code === "APP_NOT_FOUND") return false;
          throw error;
        },
      );
      if (exists) {
        showMessages(
          box,
          "This App ID is taken.",
          [{ path: "appId", message: "an app with this App ID exists already" }],
          form,
        );
        return;
      }
      const view = await api<AppView>("PUT", appPath(id), record);
      form.hidden = true;
      const href = `#/apps/${encodeURIComponent(id)}`;
      result.replaceChildren(
        h(
          "div",
          { class: "card" },
          h("h2", {}, `Created ${id}`),
          view.warnings?.length
            ? h(
                "ul",
                { class: "warnings" },
                ...view.warnings.map((w) => h("li", {}, h("code", {}, w.path), `: ${w.message}`)),
              )
            : null,
          secret === null ? null : savedSecretPanel(`Secret of ${id}`, secret),
          h(
            "p",
            { class: "actions" },
            h("a", { href, class: "button primary" }, `Open ${id}`),
            h("a", { href: `${href}/verify`, class: "button" }, "Token debugger"),
          ),
        ),
      );
      app.announce(`Created app ${id}.`);
      (result.querySelector("h2") as HTMLElement).tabIndex = -1;
      (result.querySelector("h2") as HTMLElement).focus();
    } catch (error) {
      showError(box, error, form);
    } finally {
      submit.disabled = false;
    }
  });
  return screen;
}
