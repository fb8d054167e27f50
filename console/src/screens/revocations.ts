/**
 * The app page's Revoked users: the users whose tokens issued before a time are refused
 * (`38 TIME_CONSTRAINT_FAILURE`, detail `user_revoked`), by user id a page at a time with the
 * API's cursor (`GET …/revocations`), searched by user-id prefix; **Revoke user** (`PUT
 * …/revocations/{userId}`, after a confirmation) and **Lift** (`DELETE`, after one too).
 */

import { api, apiAnswer, type RevocationAnswer, type RevocationList } from "../api.ts";
import type { Console } from "../console.ts";
import { confirmDialog, dataTable, field, formatUtc, h, localDateTimeIso, time, uid } from "../dom.ts";
import { clearError, errorBox, showError, showMessages } from "../errors.ts";
import { count } from "../metrics.ts";
import { wirePaging } from "../paging.ts";

const PAGE_SIZE = 25;
/** The API's bound: a revocation past it is `409 CONFLICT`. */
const MAX_REVOKED_USERS = 10_000;

export interface RevocationsSection {
  readonly element: HTMLElement;
  /** Shows the app's count of revoked users (its view's `revokedUsers`). */
  setCount(revoked: number): void;
  /** Loads the first page. */
  start(): void;
}

/**
 * The path of one user's revocation, or `null` for `.` and `..`: a browser resolves those (and
 * their percent-encoded forms) as folders before sending, so no URL can name them.
 */
function userPath(path: string, userId: string): string | null {
  if (/^(\.|%2e){1,2}$/i.test(userId)) return null;
  return `${path}/revocations/${encodeURIComponent(userId)}`;
}

const DOT_USER_ERROR = "cannot be sent in a URL path (a browser reads . and .. as folders)";

function usersText(n: number): string {
  return n === 1 ? "1 user" : `${count(n)} users`;
}

export function revocationsSection(app: Console, path: string): RevocationsSection {
  const heading = h("h2", { id: uid("section") }, "Revoked users");
  const countLine = h("p");
  const done = h("p", { class: "hint", role: "status" });

  // Revoke user.
  const userInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const beforeInput = h("input", { type: "datetime-local", step: 1 });
  const revokeBox = errorBox();
  const revoke = h("button", { type: "submit", class: "danger" }, "Revoke user");
  const revokeForm = h(
    "form",
    { class: "card" },
    h("h3", {}, "Revoke user"),
    h(
      "div",
      { class: "row" },
      field("User ID", userInput, {
        path: "userId",
        hint: "As the token's user claim carries it (userId, appUserId, customerId, or the app's user claims).",
      }),
      field("Revoke tokens issued before", beforeInput, {
        path: "before",
        hint: "Optional, your local time (kept in UTC); empty: now.",
      }),
    ),
    revokeBox,
    h("div", { class: "actions" }, revoke),
  );

  // The list.
  const search = h("input", { type: "search", autocomplete: "off", spellcheck: "false", maxlength: 256 });
  const searchForm = h(
    "form",
    { role: "search", class: "search" },
    field("Search revoked users", search, { path: "prefix", hint: "The start of a user ID." }),
  );
  const listBox = errorBox();
  const body = h("tbody");
  const table = dataTable(
    { labelledBy: heading.id },
    ["User ID", "Tokens issued before", h("span", { class: "visually-hidden" }, "Action")],
    body,
  );
  const status = h("p", { class: "hint", role: "status" });
  const previous = h("button", { type: "button" }, "Previous page");
  const next = h("button", { type: "button" }, "Next page");

  let revoked = 0;
  function setCount(n: number): void {
    revoked = Math.max(0, n);
    countLine.textContent =
      revoked === 0
        ? "No user is revoked."
        : `${usersText(revoked)} revoked, of at most ${count(MAX_REVOKED_USERS)} an app.`;
  }

  /** The cursors of the pages before this one (`null`: the first page). */
  const earlier: (string | null)[] = [];
  let current: string | null = null;
  let generation = 0;

  async function load(cursor: string | null): Promise<void> {
    const mine = ++generation;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (search.value !== "") query.set("prefix", search.value);
    if (cursor !== null) query.set("cursor", cursor);
    status.textContent = "Loading…";
    try {
      const page = await api<RevocationList>("GET", `${path}/revocations?${query}`);
      if (mine !== generation) return;
      clearError(listBox, searchForm);
      current = cursor;
      body.replaceChildren(...page.revocations.map(({ userId, before }) => row(userId, before)));
      if (page.revocations.length === 0) {
        const text = search.value === "" ? "No user is revoked." : "No revoked user ID starts with that.";
        body.append(h("tr", {}, h("td", { colspan: 3 }, text)));
      }
      status.textContent = `${usersText(page.revocations.length)} on page ${earlier.length + 1}${page.cursor === null ? "" : "; more on the next page"}.`;
      next.disabled = page.cursor === null;
      next.dataset.cursor = page.cursor ?? "";
      previous.disabled = earlier.length === 0;
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = "";
      showError(listBox, error, searchForm);
    }
  }

  function row(userId: string, before: string): HTMLTableRowElement {
    const lift = h(
      "button",
      { type: "button" },
      "Lift",
      h("span", { class: "visually-hidden" }, ` the revocation of ${userId}`),
    );
    lift.addEventListener("click", () => void liftRevocation(userId, before));
    return h(
      "tr",
      {},
      h("th", { scope: "row", class: "mono wrap" }, userId),
      h("td", { class: "nowrap" }, time(before)),
      h("td", {}, lift),
    );
  }

  async function liftRevocation(userId: string, before: string): Promise<void> {
    clearError(listBox, searchForm);
    done.textContent = "";
    const target = userPath(path, userId);
    if (target === null) {
      showMessages(listBox, `This user ID ${DOT_USER_ERROR}.`, []);
      return;
    }
    const confirmed = await confirmDialog({
      title: `Lift the revocation of ${userId}?`,
      body: [
        `Tokens of ${userId} issued before ${formatUtc(new Date(before))} are accepted again until they expire: here at once, everywhere within about two minutes.`,
      ],
      confirm: "Lift revocation",
    });
    if (!confirmed) return;
    try {
      await api<void>("DELETE", target);
    } catch (error) {
      // A 404: lifted meanwhile, elsewhere. The list shows what is, and the error why.
      await load(current);
      showError(listBox, error);
      return;
    }
    setCount(revoked - 1);
    done.textContent = `Lifted the revocation of ${userId}.`;
    app.announce(done.textContent);
    await load(current);
    // The last row of a later page: show the page before it.
    if (body.querySelector("button") === null && earlier.length > 0) await load(earlier.pop() ?? null);
  }

  revokeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(revokeBox, revokeForm);
    done.textContent = "";
    const userId = userInput.value.trim();
    const before = localDateTimeIso(beforeInput);
    if (userId === "") {
      showMessages(revokeBox, "Enter the user ID to revoke.", [{ path: "userId", message: "is required" }], revokeForm);
      return;
    }
    const target = userPath(path, userId);
    if (target === null) {
      showMessages(revokeBox, "Check the user ID.", [{ path: "userId", message: DOT_USER_ERROR }], revokeForm);
      return;
    }
    const when = before === undefined || Number.isNaN(Date.parse(before)) ? null : formatUtc(new Date(before));
    const confirmed = await confirmDialog({
      title: `Revoke ${userId}?`,
      body: [
        `Every token of ${userId} issued before ${when ?? "now"} is refused (38 TIME_CONSTRAINT_FAILURE, detail user_revoked), whichever of the app's user claims names them; tokens issued later pass. If ${userId} is revoked already, this time replaces the earlier one.`,
        "The gateway that answers this applies it at once; every other location within the cache time (60 s by default) plus KV's propagation delay.",
      ],
      confirm: "Revoke user",
      danger: true,
    });
    if (!confirmed) return;
    revoke.disabled = true;
    try {
      const answer = await apiAnswer<RevocationAnswer>("PUT", target, before === undefined ? undefined : { before });
      if (answer.status === 201) setCount(revoked + 1);
      const since = formatUtc(new Date(answer.body.before));
      done.textContent = `${answer.status === 201 ? "Revoked" : "Replaced the revocation of"} ${answer.body.userId}: tokens issued before ${since} are refused.`;
      app.announce(done.textContent);
      userInput.value = "";
      beforeInput.value = "";
      await load(current);
    } catch (error) {
      showError(revokeBox, error, revokeForm);
    } finally {
      revoke.disabled = false;
    }
  });

  wirePaging({ next, previous, search, searchForm, earlier, current: () => current, load });

  const element = h(
    "section",
    { "aria-labelledby": heading.id },
    heading,
    h(
      "p",
      { class: "hint" },
      "A revoked user's tokens issued before the time given are refused, the other users' are not: to sign out one user everywhere. When the app has a max token lifetime, an entry older than it is dropped, since every token it refused has expired.",
    ),
    countLine,
    revokeForm,
    done,
    searchForm,
    listBox,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "actions pager" }, previous, next, status),
  );
  setCount(0);
  return { element, setCount, start: () => void load(null) };
}
