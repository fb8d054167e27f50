/**
 * The token debugger: a token, and optionally the request an SDK would send with it (path, query,
 * JSON body), judged by `POST …/apps/{appId}/verify`, the gateway's own pipeline without
 * forwarding. Shows the verdict (`Allowed`, or the code and reason with the internal detail and
 * its cause), what the origin would receive, the decoded header and claims (untrusted: shown as
 * text), the key that verified, and the time claims against the gateway's clock.
 */

import { api, appPath, type VerifyAnswer } from "../api.ts";
import type { Console } from "../console.ts";
import { dataTable, field, formatUtc, h, select, uid } from "../dom.ts";
import { clearError, errorBox, showError, showMessages } from "../errors.ts";
import { HMAC_ALGORITHMS, mintTestToken, secretBytes } from "../keys.ts";

/** The verdict in one line; it starts with `Allowed`, or with the code and reason (`38 INVALID_SIGNATURE`). */
export function verdictLine(answer: VerifyAnswer): string {
  switch (answer.verdict) {
    case "allowed": {
      const user = answer.headers?.["x-auth-user-id"];
      return `Allowed: forwarded to the origin${user === undefined ? "" : ` as user ${decodeURIComponentSafe(user)}`}.`;
    }
    case "unchecked":
      return `Unchecked: forwarded without a token check${answer.why ? ` (${answer.why})` : ""}.`;
    case "refused": {
      const head = [answer.code, answer.reason].filter(Boolean).join(" ");
      const report = answer.forwarded ? " Report mode: forwarded anyway, with X-Auth-Status." : "";
      return `${head}: ${answer.cause ?? "refused"} (detail ${answer.detail}).${report}`;
    }
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `in 14 min`, `3 s ago`: how far `seconds` lies from now. */
function relative(seconds: number): string {
  const size = Math.abs(seconds);
  if (size < 2) return "now";
  const amount =
    size < 120
      ? `${size} s`
      : size < 7200
        ? `${Math.round(size / 60)} min`
        : size < 172800
          ? `${Math.round(size / 3600)} h`
          : `${Math.round(size / 86400)} days`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}

/**
 * The refusals the pipeline makes after a key verified the signature (docs/pipeline.md, steps 10
 * to 12: time claims, the token policy, the binding to the request). The debugger names the key
 * only for an allowed token, so for these the console can say only that one did.
 */
/**
 * Why the answer names no key: not checked, none verified, or refused before its signature was
 * checked (a token refused after its signature verified names its key).
 */
function noKeyText(answer: VerifyAnswer): string {
  if (answer.verdict === "unchecked") return "Not checked: enforcement is off.";
  if (answer.reason === "INVALID_SIGNATURE") return `No key verified this token: ${answer.cause ?? "see the verdict"}.`;
  return "No key was tried: the token was refused before its signature was checked.";
}

function json(value: unknown): HTMLElement {
  return value === null
    ? h("p", {}, "Not a JSON object (the token is malformed here).")
    : h("pre", {}, JSON.stringify(value, null, 2));
}

function timeRows(answer: VerifyAnswer): HTMLElement[] {
  const { time } = answer;
  const now = time.serverTime;
  const tolerance = time.clockToleranceSeconds;
  const row = (name: string, value: number | null, judge: (value: number) => string) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, name),
      h("td", { class: "mono" }, value === null ? "—" : String(value)),
      h("td", {}, value === null ? "absent" : `${formatUtc(new Date(value * 1000))}, ${relative(value - now)}`),
      h("td", {}, value === null ? "" : judge(value)),
    );
  return [
    row("exp", time.exp, (exp) =>
      now >= exp + tolerance
        ? "expired, past the tolerance"
        : now >= exp
          ? "past exp, within the tolerance"
          : "not expired",
    ),
    row("nbf", time.nbf, (nbf) => (nbf > now + tolerance ? "not valid yet, beyond the tolerance" : "valid")),
    row("iat", time.iat, (iat) =>
      iat > now + tolerance ? "in the future, beyond the tolerance" : "not in the future",
    ),
  ];
}

function result(answer: VerifyAnswer): HTMLElement {
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Enforcement"),
    h("dd", {}, answer.enforcement),
    h("dt", {}, "The SDK gets"),
    h("dd", {}, `HTTP ${answer.httpStatus}`),
    h("dt", {}, "Forwarded"),
    h("dd", {}, answer.forwarded ? "yes" : "no, answered by the gateway"),
  );
  if (answer.detail !== undefined) facts.append(h("dt", {}, "Detail"), h("dd", { class: "mono" }, answer.detail));
  if (answer.cause !== undefined) facts.append(h("dt", {}, "Cause"), h("dd", {}, answer.cause));
  if (answer.why !== undefined) facts.append(h("dt", {}, "Why"), h("dd", {}, answer.why));
  const key = answer.token.key;
  const skew = answer.time.serverTime - Math.floor(Date.now() / 1000);
  return h(
    "div",
    { class: "verdict-details" },
    facts,
    answer.headers === undefined
      ? null
      : h(
          "section",
          {},
          h("h3", {}, "What the origin receives"),
          dataTable(
            { caption: h("caption", { class: "visually-hidden" }, "Headers added for the origin") },
            ["Header", "Value"],
            h(
              "tbody",
              {},
              ...Object.entries(answer.headers).map(([name, value]) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row", class: "mono nowrap" }, name),
                  h("td", { class: "mono wrap" }, value),
                ),
              ),
            ),
          ),
        ),
    h(
      "section",
      {},
      h("h3", {}, "Key"),
      key === null
        ? h("p", {}, noKeyText(answer))
        : h(
            "p",
            {},
            "Verified with ",
            h("span", { class: "mono" }, key.kid === null ? "the key without a kid" : `kid ${key.kid}`),
            `, ${key.alg}, fingerprint `,
            h("span", { class: "mono" }, key.fingerprint ?? "unknown"),
            ".",
          ),
    ),
    h(
      "section",
      {},
      h("h3", {}, "Time claims"),
      h(
        "p",
        {},
        `Gateway clock: ${formatUtc(new Date(answer.time.serverTime * 1000))} (${answer.time.serverTime}); clock tolerance ${answer.time.clockToleranceSeconds} s.`,
        Math.abs(skew) > 5
          ? ` This browser's clock is ${Math.abs(skew)} s ${skew > 0 ? "behind" : "ahead of"} it.`
          : "",
      ),
      dataTable(
        { caption: h("caption", { class: "visually-hidden" }, "Time claims against the gateway's clock") },
        ["Claim", "Value", "When", "Judged"],
        h("tbody", {}, ...timeRows(answer)),
      ),
    ),
    h(
      "section",
      { class: "row" },
      h("div", {}, h("h3", {}, "Header"), json(answer.token.header)),
      h("div", {}, h("h3", {}, "Claims"), json(answer.token.claims)),
    ),
  );
}

/**
 * "Mint a test token": signs `{appId, userId, iat, exp}` with a pasted HMAC secret in the browser
 * and puts the token in the Token field, as `npm run token` would on the command line.
 */
function mintSection(appId: string, token: HTMLTextAreaElement, box: HTMLElement): HTMLElement {
  const secret = h("input", { type: "text", class: "mono", autocomplete: "off", spellcheck: "false" });
  const encoding = select(["base64", "utf8"], "base64");
  const alg = select(HMAC_ALGORITHMS, "HS256");
  const user = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: "alice" });
  const minutes = h("input", { type: "number", step: 1, value: 15, inputmode: "numeric" });
  const status = h("p", { class: "hint", role: "status" });
  const button = h("button", { type: "button" }, "Mint test token");
  const section = h(
    "details",
    {},
    h("summary", {}, "Mint a test token with the app's HMAC secret (optional)"),
    field("Signing secret", secret, {
      path: "mint.secret",
      hint: "The secret you copied when the key was made. It stays in this page: the token is signed here.",
    }),
    h(
      "div",
      { class: "row" },
      field("Signing secret encoding", encoding, { path: "mint.encoding" }),
      field("Signing algorithm", alg, { path: "mint.alg" }),
    ),
    h(
      "div",
      { class: "row" },
      field("User ID", user, { path: "mint.userId", hint: "The token's userId claim." }),
      field("Expires in (minutes)", minutes, {
        path: "mint.exp",
        hint: "Negative for a token that has already expired.",
      }),
    ),
    h("div", { class: "actions" }, button, status),
  );
  button.addEventListener("click", async () => {
    clearError(box, section);
    status.textContent = "";
    const errors = [];
    if (secret.value === "") errors.push({ path: "mint.secret", message: "is required" });
    else if (secretBytes(secret.value, encoding.value) === null) {
      errors.push({ path: "mint.secret", message: "is not base64 (or choose the utf8 encoding)" });
    }
    if (user.value.trim() === "") errors.push({ path: "mint.userId", message: "is required" });
    if (!Number.isInteger(Number(minutes.value)) || minutes.value === "") {
      errors.push({ path: "mint.exp", message: "must be a whole number of minutes" });
    }
    if (errors.length > 0) {
      showMessages(box, "Check the test token's fields.", errors, section);
      return;
    }
    token.value = await mintTestToken({
      alg: alg.value,
      secret: secret.value,
      encoding: encoding.value,
      appId,
      userId: user.value.trim(),
      expiresInSeconds: Number(minutes.value) * 60,
    });
    status.textContent = `Minted a token for ${user.value.trim()} into the Token field: check it.`;
  });
  return section;
}

export function verifyScreen(_app: Console, appId: string): HTMLElement {
  const token = h("textarea", { rows: 4, class: "mono", spellcheck: "false", autocomplete: "off", required: true });
  const path = h("input", {
    type: "text",
    class: "mono",
    spellcheck: "false",
    placeholder: `/api/v1/app/${appId}/…`,
  });
  const query = h("input", { type: "text", class: "mono", spellcheck: "false", placeholder: "userId=alice" });
  const contentType = h("input", { type: "text", class: "mono", spellcheck: "false", value: "application/json" });
  const body = h("textarea", { rows: 3, class: "mono", spellcheck: "false", placeholder: '{"userId":"alice"}' });
  const box = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Check token");
  const mint = mintSection(appId, token, box);
  const form = h(
    "form",
    { class: "card" },
    field("Token", token, {
      path: "token",
      hint: "The JWT as the SDK sends it after Bearer. It is judged, never forwarded and never logged.",
    }),
    mint,
    h(
      "details",
      {},
      h("summary", {}, "The request (optional): path, query, JSON body"),
      h(
        "div",
        { class: "row" },
        field("Path", path, { path: "path", hint: "An SDK route that names this app." }),
        field("Query", query, { path: "query", hint: "Without the ?, percent-encoded." }),
      ),
      field("JSON body", body, { path: "body" }),
      field("Content type", contentType, { path: "contentType", hint: "Sent only with a body." }),
    ),
    h("div", { class: "actions" }, submit),
  );
  const headingId = uid("verdict");
  const verdict = h("div", { role: "status", "aria-labelledby": headingId, class: "verdict" }, "No token checked yet.");
  const details = h("div");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(box, form);
    const request: Record<string, string> = { token: token.value.trim() };
    if (path.value.trim() !== "") request.path = path.value.trim();
    if (query.value.trim() !== "") request.query = query.value.trim().replace(/^\?/, "");
    if (body.value !== "") {
      request.body = body.value;
      if (contentType.value.trim() !== "") request.contentType = contentType.value.trim();
    }
    submit.disabled = true;
    try {
      const answer = await api<VerifyAnswer>("POST", `${appPath(appId)}/verify`, request);
      verdict.textContent = verdictLine(answer);
      verdict.className = `verdict verdict-${answer.verdict}`;
      details.replaceChildren(result(answer));
    } catch (error) {
      verdict.textContent = "No verdict: the request was refused (see above).";
      verdict.className = "verdict";
      details.replaceChildren();
      showError(box, error, form);
    } finally {
      submit.disabled = false;
    }
  });

  return h(
    "section",
    { class: "screen" },
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/apps" }, "Apps"),
      " / ",
      h("a", { href: `#/apps/${encodeURIComponent(appId)}` }, appId),
      " / ",
    ),
    h("h1", {}, "Token debugger"),
    h("p", {}, `The gateway's verdict for a token of ${appId}, as an SDK route would judge it.`),
    box,
    form,
    h("h2", { id: headingId }, "Verdict"),
    verdict,
    details,
  );
}
