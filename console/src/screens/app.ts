/**
 * One app: its decisions (the gateway's counts as a chart, screens/decisions.ts), its enforcement,
 * its keys (Add key, Retire: the API's 409 rules shown as text), its token policy (with the keys
 * its `jwksUri` gave, screens/jwks.ts), its revoked users (screens/revocations.ts), "sign everyone
 * out now" (`tokensNotBefore`) and delete with a typed confirmation.
 * Every change is a `PATCH` of the fields it changes (or a key route), and the page shows the
 * view the API answers.
 */

import { type AppView, api, appPath, type Enforcement, type FieldError, type KeyView } from "../api.ts";
import type { Console } from "../console.ts";
import { confirmDialog, dataTable, field, formatUtc, h, region, select, time, uid } from "../dom.ts";
import { clearError, errorBox, showError, showMessages } from "../errors.ts";
import { keyFields, savedSecretPanel } from "../keys.ts";
import { enforcementBadge } from "./apps.ts";
import { decisionsSection } from "./decisions.ts";
import { jwksPanel } from "./jwks.ts";
import { ENFORCEMENT_OPTIONS } from "./new-app.ts";
import { revocationsSection } from "./revocations.ts";

/** The values the gateway uses for a policy field the record does not set (docs/pipeline.md). */
const DEFAULT_USER_CLAIMS = ["userId", "appUserId", "customerId"];
const DEFAULTS: Readonly<Record<string, unknown>> = {
  clockToleranceSeconds: 60,
  requireExp: false,
  requireNonce: false,
  acceptMillisecondTimestamps: false,
  appIdClaim: "appId",
  userClaims: DEFAULT_USER_CLAIMS,
  requestBindings: Object.fromEntries(DEFAULT_USER_CLAIMS.map((name) => [name, name])),
};

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** One value, or a list: what `issuer` and `audience` take. */
function oneOrList(text: string): string | string[] | undefined {
  const values = lines(text);
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}

function listText(value: string | readonly string[] | undefined): string {
  return value === undefined ? "" : typeof value === "string" ? value : value.join("\n");
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A key's validity window as text. */
function windowText(key: KeyView): string {
  if (!key.notBefore && !key.notAfter) return "always";
  const from = key.notBefore ? `from ${formatUtc(new Date(key.notBefore))}` : "";
  const until = key.notAfter ? `until ${formatUtc(new Date(key.notAfter))}` : "";
  return [from, until].filter(Boolean).join(" ");
}

interface PolicyForm {
  readonly element: HTMLFormElement;
  fill(view: AppView): void;
  /** The fields that differ from `view`, or what is wrong. */
  changes(view: AppView): { patch: Record<string, unknown> } | { errors: FieldError[] };
}

function policyForm(): PolicyForm {
  const issuer = h("textarea", { rows: 2, spellcheck: "false" });
  const audience = h("textarea", { rows: 2, spellcheck: "false" });
  const requireExp = h("input", { type: "checkbox" });
  const acceptMilliseconds = h("input", { type: "checkbox" });
  const requireNonce = h("input", { type: "checkbox" });
  const jwksUri = h("input", { type: "url", spellcheck: "false", placeholder: "https://" });
  const maxLifetime = h("input", { type: "number", min: 1, max: 31536000, step: 1, inputmode: "numeric" });
  const tolerance = h("input", { type: "number", min: 0, max: 300, step: 1, inputmode: "numeric" });
  const appIdClaim = h("input", { type: "text", spellcheck: "false", placeholder: "appId" });
  const noAppClaim = h("input", { type: "checkbox" });
  const userClaims = h("textarea", { rows: 3, spellcheck: "false", placeholder: DEFAULT_USER_CLAIMS.join("\n") });
  const bindings = h("textarea", {
    rows: 3,
    spellcheck: "false",
    placeholder: DEFAULT_USER_CLAIMS.map((name) => `${name}=${name}`).join("\n"),
  });
  const bindNothing = h("input", { type: "checkbox" });
  noAppClaim.addEventListener("change", () => {
    appIdClaim.disabled = noAppClaim.checked;
  });
  bindNothing.addEventListener("change", () => {
    bindings.disabled = bindNothing.checked;
  });
  const checkbox = (control: HTMLInputElement, label: string, path: string, hint?: string) => {
    control.dataset.path = path;
    const wrapper = h("div", { class: "field check" }, h("label", {}, control, ` ${label}`));
    if (hint !== undefined) {
      const text = h("p", { class: "hint", id: uid("hint") }, hint);
      control.setAttribute("aria-describedby", text.id);
      wrapper.append(text);
    }
    return wrapper;
  };
  const element = h(
    "form",
    { class: "card" },
    h(
      "div",
      { class: "row" },
      field("Issuer (iss)", issuer, { path: "issuer", hint: "One per line, up to 3; empty: not checked." }),
      field("Audience (aud)", audience, { path: "audience", hint: "One per line, up to 3; empty: not checked." }),
    ),
    h(
      "div",
      { class: "row" },
      field("Max token lifetime (seconds)", maxLifetime, {
        path: "maxTokenLifetimeSeconds",
        hint: "exp − iat at most this; empty: no limit.",
      }),
      field("Clock tolerance (seconds)", tolerance, {
        path: "clockToleranceSeconds",
        hint: "Leeway for exp, nbf and iat: 0 to 300.",
      }),
    ),
    checkbox(requireExp, "Require an exp claim", "requireExp"),
    checkbox(
      acceptMilliseconds,
      "Accept timestamps in milliseconds",
      "acceptMillisecondTimestamps",
      "An exp, nbf or iat of 10^11 or more is read as milliseconds (Android's System.currentTimeMillis()); unticked, such a token is refused (detail timestamp_in_milliseconds).",
    ),
    checkbox(
      requireNonce,
      "Require a nonce (challenge)",
      "requireNonce",
      "A token must carry a nonce claim that this gateway issued for the app (POST /.well-known/edge-authenticator/apps/{appId}/nonce), used by one token only. The gateway needs NONCE_SECRET.",
    ),
    h(
      "div",
      { class: "row" },
      h(
        "div",
        {},
        field("App claim", appIdClaim, {
          path: "appIdClaim",
          hint: "The claim that must equal the path's appId; empty: appId.",
        }),
        checkbox(noAppClaim, "No app claim (an issuer or audience binds tokens to the app)", "appIdClaim"),
      ),
      field("User claims", userClaims, {
        path: "userClaims",
        hint: "One per line, up to 5; the first present is X-Auth-User-Id. Empty: userId, appUserId, customerId.",
      }),
    ),
    field("Request bindings", bindings, {
      path: "requestBindings",
      hint: "field=claim, one per line, up to 5: a request naming the field must carry the claim's value. Empty: userId, appUserId, customerId.",
    }),
    checkbox(bindNothing, "Bind no request fields (bodies stream through unread)", "requestBindings"),
    field("JWKS URL", jwksUri, {
      path: "jwksUri",
      hint: "Your identity provider's published keys (https): a token whose kid they hold is verified with them. Once set, it can be changed here but not removed (PUT the whole record).",
    }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save policy")),
  );

  return {
    element,
    fill(view) {
      issuer.value = listText(view.issuer);
      audience.value = listText(view.audience);
      requireExp.checked = view.requireExp === true;
      acceptMilliseconds.checked = view.acceptMillisecondTimestamps === true;
      requireNonce.checked = view.requireNonce === true;
      jwksUri.value = view.jwksUri ?? "";
      maxLifetime.value = view.maxTokenLifetimeSeconds === undefined ? "" : String(view.maxTokenLifetimeSeconds);
      tolerance.value = String(view.clockToleranceSeconds);
      noAppClaim.checked = view.appIdClaim === null;
      appIdClaim.disabled = noAppClaim.checked;
      appIdClaim.value = typeof view.appIdClaim === "string" ? view.appIdClaim : "";
      userClaims.value = view.userClaims?.join("\n") ?? "";
      const bound = view.requestBindings;
      bindNothing.checked = bound !== undefined && Object.keys(bound).length === 0;
      bindings.disabled = bindNothing.checked;
      bindings.value =
        bound === undefined
          ? ""
          : Object.entries(bound)
              .map(([name, claim]) => `${name}=${claim}`)
              .join("\n");
    },
    changes(view) {
      const errors: FieldError[] = [];
      const wanted: Record<string, unknown> = {
        issuer: oneOrList(issuer.value),
        audience: oneOrList(audience.value),
        requireExp: requireExp.checked,
        acceptMillisecondTimestamps: acceptMilliseconds.checked,
        requireNonce: requireNonce.checked,
        maxTokenLifetimeSeconds: maxLifetime.value === "" ? undefined : Number(maxLifetime.value),
        clockToleranceSeconds: tolerance.value === "" ? undefined : Number(tolerance.value),
        appIdClaim: noAppClaim.checked ? null : appIdClaim.value.trim() === "" ? undefined : appIdClaim.value.trim(),
        userClaims: lines(userClaims.value).length === 0 ? undefined : lines(userClaims.value),
        jwksUri: jwksUri.value.trim() === "" ? undefined : jwksUri.value.trim(),
      };
      if (bindNothing.checked) wanted.requestBindings = {};
      else if (lines(bindings.value).length > 0) {
        const map: Record<string, string> = {};
        for (const line of lines(bindings.value)) {
          const [name, claim] = line.split("=").map((part) => part.trim());
          if (!name || !claim || line.split("=").length !== 2) {
            errors.push({ path: "requestBindings", message: `"${line}" is not field=claim` });
          } else map[name] = claim;
        }
        wanted.requestBindings = map;
      }
      const patch: Record<string, unknown> = {};
      const current = view as unknown as Record<string, unknown>;
      for (const [name, value] of Object.entries(wanted)) {
        const target = value === undefined ? DEFAULTS[name] : value;
        if (same(target, current[name] ?? DEFAULTS[name])) continue;
        if (target === undefined) {
          // PATCH sets fields; it cannot remove one (null is refused), and these have no default.
          errors.push({ path: name, message: "cannot be emptied here: the admin API's PATCH cannot remove a field" });
        } else patch[name] = target;
      }
      return errors.length > 0 ? { errors } : { patch };
    },
  };
}

export function appScreen(app: Console, appId: string): HTMLElement {
  const path = appPath(appId);
  const meta = h("div", { class: "meta" });
  const problems = h("div");
  const pageBox = errorBox();

  // Enforcement.
  const enforcement = select(ENFORCEMENT_OPTIONS);
  const enforcementBox = errorBox();
  const enforcementForm = h(
    "form",
    { class: "inline" },
    field("Enforcement", enforcement, { path: "enforcement" }),
    h("button", { type: "submit", class: "primary" }, "Save enforcement"),
  );

  // Keys.
  const keysHeading = h("h2", { id: `keys-${appId}` }, "Keys");
  const keysBody = h("tbody");
  const keysTable = dataTable(
    { labelledBy: keysHeading.id },
    ["Key ID (kid)", "Algorithm", "Window", "Fingerprint", h("span", { class: "visually-hidden" }, "Action")],
    keysBody,
  );
  const keysBox = errorBox();
  const keysSaved = h("div");
  const addKey = h("button", { type: "button" }, "Add key");
  const addKeyForm = h("form", { class: "card", hidden: true });

  // Token policy, sign-out, delete.
  const policy = policyForm();
  const policyBox = errorBox();
  const jwks = jwksPanel(app, path);
  const revocations = revocationsSection(app, path);
  const signOutText = h("p");
  const signOutBox = errorBox();
  const signOut = h("button", { type: "button" }, "Sign everyone out now");
  const deleteBox = errorBox();
  const deleteApp = h("button", { type: "button", class: "danger" }, "Delete app");

  let view: AppView | null = null;

  function showWarnings(box: HTMLElement, answer: AppView): void {
    if (answer.warnings?.length) showMessages(box, "Saved, with warnings:", answer.warnings);
  }

  function refresh(next: AppView): void {
    view = next;
    meta.replaceChildren(
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Enforcement"),
        h("dd", {}, enforcementBadge(next.enforcement)),
        h("dt", {}, "Created"),
        h("dd", {}, time(next.createdAt)),
        h("dt", {}, "Updated"),
        h("dd", {}, time(next.updatedAt)),
      ),
    );
    problems.replaceChildren();
    if (next.problems?.length) {
      problems.append(
        h(
          "div",
          { class: "error-box shown" },
          h(
            "p",
            { class: "error-heading" },
            "The stored record breaks these rules; the gateway answers 503 CONFIG_UNAVAILABLE for this app until they are fixed:",
          ),
          h("ul", {}, ...next.problems.map((p) => h("li", {}, h("code", {}, p.path), `: ${p.message}`))),
        ),
      );
    }
    if (next.enforcement !== null) enforcement.value = next.enforcement;
    renderKeys(next);
    policy.fill(next);
    jwks.show(next);
    revocations.setCount(next.revokedUsers ?? 0);
    signOutText.replaceChildren(
      next.tokensNotBefore === undefined
        ? "Every token that passes the other checks is accepted, however old."
        : h("span", {}, "Tokens issued before ", time(next.tokensNotBefore), " are refused."),
    );
  }

  function renderKeys(next: AppView): void {
    const rows: { name: string | null; kid: string; alg: string; window: string; fingerprint: string | null }[] = [];
    if (next.secretFingerprint !== null) {
      rows.push({
        name: next.secretFingerprint,
        kid: "(none: the app's secret)",
        alg: "HS256",
        window: "always",
        fingerprint: next.secretFingerprint,
      });
    }
    for (const key of next.keys ?? []) {
      rows.push({
        name: key.kid ?? key.fingerprint,
        kid: key.kid ?? "(none)",
        alg: key.alg,
        window: windowText(key),
        fingerprint: key.fingerprint,
      });
    }
    keysBody.replaceChildren(
      ...rows.map((row) => {
        const retire = h("button", { type: "button", disabled: row.name === null }, "Retire");
        retire.addEventListener("click", () => void retireKey(row.name as string, row.kid === row.name));
        return h(
          "tr",
          {},
          h("td", {}, row.kid),
          h("td", {}, row.alg),
          h("td", {}, row.window),
          h("td", { class: "mono" }, row.fingerprint ?? "(does not import)"),
          h("td", {}, retire),
        );
      }),
    );
    if (rows.length === 0) {
      const text =
        next.jwksUri === undefined
          ? "No keys: tokens cannot be checked."
          : "No keys of its own: tokens are checked with the keys of its JWKS URL (Token policy).";
      keysBody.append(h("tr", {}, h("td", { colspan: 5 }, text)));
    }
  }

  async function retireKey(name: string, byKid: boolean): Promise<void> {
    clearError(keysBox);
    const confirmed = await confirmDialog({
      title: "Retire this key?",
      body: [
        `Key ${byKid ? `with kid ${name}` : name} of ${appId}: tokens signed with it are refused from now on (here at once, everywhere within about two minutes).`,
      ],
      confirm: "Retire key",
      danger: true,
    });
    if (!confirmed) return;
    try {
      const next = await api<AppView>("DELETE", `${path}/keys/${encodeURIComponent(name)}`);
      keysSaved.replaceChildren();
      refresh(next);
      app.announce(`Retired key ${name}.`);
      showWarnings(keysBox, next);
    } catch (error) {
      showError(keysBox, error);
    }
  }

  addKey.addEventListener("click", () => {
    clearError(keysBox);
    keysSaved.replaceChildren();
    const key = keyFields({ pathPrefix: "", windowFields: true });
    const save = h("button", { type: "submit", class: "primary" }, "Save key");
    const cancel = h("button", { type: "button" }, "Cancel");
    addKeyForm.replaceChildren(h("h3", {}, "Add key"), key.element, h("div", { class: "actions" }, save, cancel));
    addKeyForm.hidden = false;
    addKey.hidden = true;
    key.focus();
    const close = () => {
      addKeyForm.hidden = true;
      addKeyForm.replaceChildren();
      addKey.hidden = false;
    };
    cancel.addEventListener("click", () => {
      close();
      clearError(keysBox);
      addKey.focus();
    });
    addKeyForm.onsubmit = async (event) => {
      event.preventDefault();
      clearError(keysBox, addKeyForm);
      const entered = key.read();
      if (entered === null) {
        showMessages(keysBox, "Enter the key: generate or paste a secret, or paste a public key.", [], addKeyForm);
        return;
      }
      if ("errors" in entered) {
        showMessages(keysBox, "Check the key.", entered.errors, addKeyForm);
        return;
      }
      const secret = key.secret();
      save.disabled = true;
      try {
        const next = await api<AppView>("POST", `${path}/keys`, entered.key);
        close();
        refresh(next);
        if (secret !== null) keysSaved.replaceChildren(savedSecretPanel("New secret", secret));
        app.announce("Key saved.");
        showWarnings(keysBox, next);
      } catch (error) {
        showError(keysBox, error, addKeyForm);
      } finally {
        save.disabled = false;
      }
    };
  });

  enforcementForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(enforcementBox, enforcementForm);
    try {
      const next = await api<AppView>("PATCH", path, { enforcement: enforcement.value as Enforcement });
      refresh(next);
      app.announce(`Enforcement is ${next.enforcement}.`);
      showWarnings(enforcementBox, next);
    } catch (error) {
      showError(enforcementBox, error, enforcementForm);
    }
  });

  policy.element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(policyBox, policy.element);
    if (view === null) return;
    const changes = policy.changes(view);
    if ("errors" in changes) {
      showMessages(policyBox, "Check the token policy.", changes.errors, policy.element);
      return;
    }
    if (Object.keys(changes.patch).length === 0) {
      app.announce("Nothing to save: the policy is as stored.");
      return;
    }
    try {
      const next = await api<AppView>("PATCH", path, changes.patch);
      refresh(next);
      app.announce("Token policy saved.");
      showWarnings(policyBox, next);
    } catch (error) {
      showError(policyBox, error, policy.element);
    }
  });

  signOut.addEventListener("click", async () => {
    clearError(signOutBox);
    const confirmed = await confirmDialog({
      title: `Sign everyone out of ${appId}?`,
      body: [
        "Every token issued before now is refused (38 TIME_CONSTRAINT_FAILURE), so every user must get a new token from your backend.",
        "The gateway that answers this applies it at once; every other location within the cache time (60 s by default) plus KV's propagation delay.",
      ],
      confirm: "Sign everyone out",
      danger: true,
    });
    if (!confirmed) return;
    try {
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const next = await api<AppView>("PATCH", path, { tokensNotBefore: now });
      refresh(next);
      app.announce("Everyone is signed out: tokens issued before now are refused.");
    } catch (error) {
      showError(signOutBox, error);
    }
  });

  deleteApp.addEventListener("click", async () => {
    clearError(deleteBox);
    const confirmed = await confirmDialog({
      title: `Delete ${appId}?`,
      body: [
        "Its record and keys are deleted; every request for this app is answered 404 APP_NOT_FOUND (elsewhere within about two minutes). This cannot be undone.",
      ],
      confirm: "Delete app",
      typed: { label: `Type ${appId} to confirm`, value: appId },
      danger: true,
    });
    if (!confirmed) return;
    try {
      await api<void>("DELETE", path);
      app.announce(`Deleted app ${appId}.`, { flash: true });
      app.navigate("#/apps");
    } catch (error) {
      showError(deleteBox, error);
    }
  });

  const sections = h(
    "div",
    { hidden: true },
    decisionsSection(appId),
    // Not a region named Enforcement: that name is the select's.
    h("section", {}, h("h2", {}, "Enforcement"), enforcementBox, enforcementForm),
    h(
      "section",
      {},
      keysHeading,
      h(
        "p",
        { class: "hint" },
        "Up to 3 keys, the app's secret counted. To rotate: add the new key, move your backend to it, then retire the old one.",
      ),
      keysBox,
      keysSaved,
      h("div", { class: "table-wrap" }, keysTable),
      h("div", { class: "actions" }, addKey),
      addKeyForm,
    ),
    region("Token policy", policyBox, policy.element, jwks.element),
    revocations.element,
    region("Sign everyone out", signOutText, signOutBox, signOut),
    region("Delete app", h("p", {}, "Deletes the record and its keys."), deleteBox, deleteApp),
  );

  void api<AppView>("GET", path).then(
    (loaded) => {
      refresh(loaded);
      sections.hidden = false;
      revocations.start();
    },
    (error: unknown) => showError(pageBox, error),
  );

  return h(
    "section",
    { class: "screen" },
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / "),
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, appId),
      h("a", { href: `#/apps/${encodeURIComponent(appId)}/verify`, class: "button" }, "Token debugger"),
    ),
    pageBox,
    meta,
    problems,
    sections,
  );
}
