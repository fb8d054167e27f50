/**
 * The admin console: a single page served by the Worker at `{ADMIN_PREFIX}/`, talking to the
 * admin API under the same prefix. Screens are chosen by the URL's fragment (`#/apps/my-app`),
 * so every link is relative and the page works under any prefix:
 *
 *   #/apps               the apps, searched by appId prefix, a page at a time
 *   #/new                a new app with its first key
 *   #/apps/{appId}       one app: enforcement, keys, token policy, sign-out, delete
 *   #/apps/{appId}/verify  the token debugger
 */

import { type ApiError, checkToken, forgetToken, storedToken, storeToken, whenUnauthorized } from "./api.ts";
import { field, h } from "./dom.ts";
import { errorBox, showError, showMessages } from "./errors.ts";
import { appScreen } from "./screens/app.ts";
import { appsScreen } from "./screens/apps.ts";
import { newAppScreen } from "./screens/new-app.ts";
import { verifyScreen } from "./screens/verify.ts";

export interface Console {
  /** Goes to a screen: `#/apps/my-app`. */
  navigate(hash: string): void;
  /** Says something to screen readers (and shows it on the next screen when `flash`). */
  announce(text: string, options?: { flash?: boolean }): void;
  /** A message left by the previous screen (`Deleted my-app`), shown once. */
  takeFlash(): string | null;
}

type Route =
  | { readonly name: "apps" }
  | { readonly name: "new" }
  | { readonly name: "app"; readonly appId: string }
  | { readonly name: "verify"; readonly appId: string };

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "new") return { name: "new" };
  if (parts[0] === "apps" && parts[1]) {
    return parts[2] === "verify" ? { name: "verify", appId: parts[1] } : { name: "app", appId: parts[1] };
  }
  return { name: "apps" };
}

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const announcer = document.getElementById("announce") as HTMLElement;
let flash: string | null = null;

const consoleApi: Console = {
  navigate(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  announce(text, options = {}) {
    if (options.flash) flash = text;
    announcer.textContent = "";
    // A change of text is what a live region announces: set it on the next frame.
    requestAnimationFrame(() => {
      announcer.textContent = text;
    });
  },
  takeFlash() {
    const text = flash;
    flash = null;
    return text;
  },
};

/** Puts a screen in place and the focus on its heading, so a screen reader starts there. */
function mount(screen: HTMLElement, title: string): void {
  main.replaceChildren(screen);
  document.title = `${title} · edge-authenticator admin`;
  const heading = screen.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function signInScreen(message: string | null): HTMLElement {
  const token = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const box = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow" },
    field("Admin token", token, {
      path: "token",
      hint: "The ADMIN_TOKEN secret of this gateway (locally, the one npm start wrote to .dev.vars). It is kept in this tab only, and sent as Authorization: Bearer.",
    }),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (value === "") {
      showMessages(box, "Enter the admin token.", [{ path: "token", message: "is required" }], form);
      return;
    }
    submit.disabled = true;
    try {
      await checkToken(value);
      storeToken(value);
      consoleApi.announce("Signed in.");
      render();
    } catch (error) {
      const { status, code } = error as ApiError;
      if (status === 401) {
        showMessages(
          box,
          "Wrong admin token: the gateway answered 401 UNAUTHORIZED. Check the value of ADMIN_TOKEN (locally, in .dev.vars).",
          [],
          form,
        );
      } else if (code === "ADMIN_DISABLED") {
        showMessages(
          box,
          "The admin API is disabled (503 ADMIN_DISABLED): the gateway has no ADMIN_TOKEN secret of at least 32 characters.",
          [],
          form,
        );
      } else showError(box, error, form);
      token.select();
    } finally {
      submit.disabled = false;
    }
  });
  const screen = h(
    "section",
    { class: "screen" },
    h("h1", {}, "Sign in"),
    h("p", {}, "The console manages this gateway's apps through its admin API."),
    message === null ? null : h("p", { class: "notice" }, message),
    box,
    form,
  );
  return screen;
}

function render(message: string | null = null): void {
  if (storedToken() === null) {
    nav.hidden = true;
    mount(signInScreen(message), "Sign in");
    return;
  }
  nav.hidden = false;
  const route = routeOf(location.hash);
  switch (route.name) {
    case "apps":
      mount(appsScreen(consoleApi), "Apps");
      break;
    case "new":
      mount(newAppScreen(consoleApi), "New app");
      break;
    case "app":
      mount(appScreen(consoleApi, route.appId), route.appId);
      break;
    case "verify":
      mount(verifyScreen(consoleApi, route.appId), `Token debugger · ${route.appId}`);
      break;
  }
}

whenUnauthorized(() => {
  forgetToken();
  render("The gateway refused the stored admin token (401 UNAUTHORIZED); it may have been rotated. Sign in again.");
});

(document.getElementById("sign-out") as HTMLButtonElement).addEventListener("click", () => {
  forgetToken();
  consoleApi.announce("Signed out.");
  render();
});
window.addEventListener("hashchange", () => render());
render();
