/**
 * Keys in the browser: a new HMAC secret from Web Crypto's random source (never sent anywhere but
 * to the admin API, once), its fingerprint computed as the API computes `secretFingerprint`
 * (`sha256:` and the first 16 hex digits of SHA-256 over the key bytes), and the fields of one key
 * (an HMAC secret, or a public key as PEM or JWK) as the New app and Add key forms show them.
 */

import type { FieldError } from "./api.ts";
import { copyText, field, h, localDateTimeIso, select, show } from "./dom.ts";

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const PUBLIC_KEY_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;

/** The key size each HMAC algorithm needs at least (RFC 7518 §3.2: the hash's output size). */
const HMAC_KEY_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

export function isHmac(alg: string): boolean {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** `bytes` random bytes from Web Crypto, as standard base64 (what `openssl rand -base64` prints). */
export function generateSecret(bytes: number): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Standard or URL-safe base64, padding optional; `null` when it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(standard) || standard.replace(/=+$/, "").length % 4 === 1) return null;
  const unpadded = standard.replace(/=+$/, "");
  try {
    const binary = atob(unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, "="));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

/** `sha256:` and the first 16 hex digits of SHA-256 over `bytes`: the admin API's fingerprint. */
export async function fingerprint(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return `sha256:${[...digest.slice(0, 8)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** The key bytes of a secret as `secretEncoding` reads them; `null` when base64 does not decode. */
export function secretBytes(secret: string, encoding: string): Uint8Array | null {
  return encoding === "utf8" ? new TextEncoder().encode(secret) : decodeBase64(secret);
}

/** The algorithm a public JWK names or implies (`null`: nothing to go by). */
function algorithmOfJwk(jwk: Record<string, unknown>): string | null {
  if (typeof jwk.alg === "string" && (PUBLIC_KEY_ALGORITHMS as readonly string[]).includes(jwk.alg)) return jwk.alg;
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC") return jwk.crv === "P-384" ? "ES384" : jwk.crv === "P-256" ? "ES256" : null;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  return null;
}

/** A key as `POST …/keys` and the record's `keys` take it. */
export type KeyInput = Record<string, unknown> & { alg: string };

export interface KeyFields {
  readonly element: HTMLElement;
  /** The key entered, `null` when nothing was (no secret, no public key), or what is wrong with it. */
  read(): { key: KeyInput } | { errors: FieldError[] } | null;
  /** The HMAC secret entered and its fingerprint, to show once more after the key is saved. */
  secret(): { text: string; fingerprint: string } | null;
  /** Puts the focus on the first field. */
  focus(): void;
}

/**
 * The fields of one key. `pathPrefix` is where the key sits in the request body (`keys.0.` in a
 * new app's record, `` in `POST …/keys`), so an API error's path finds its field. `windowFields`
 * adds the key's validity window (for a key added during a rotation).
 */
export function keyFields(options: { pathPrefix: string; windowFields: boolean }): KeyFields {
  const path = (name: string) => `${options.pathPrefix}${name}`;
  const kid = h("input", { type: "text", autocomplete: "off", spellcheck: "false", maxlength: 128 });
  const alg = h("select");
  alg.append(
    h(
      "optgroup",
      { label: "HMAC (shared secret)" },
      ...HMAC_ALGORITHMS.map((name) => h("option", { value: name }, name)),
    ),
    h("optgroup", { label: "Public key" }, ...PUBLIC_KEY_ALGORITHMS.map((name) => h("option", { value: name }, name))),
  );
  const secret = h("input", {
    type: "text",
    class: "mono",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
  });
  const encoding = select(
    [
      ["base64", "base64 (the key is the decoded bytes)"],
      ["utf8", "utf8 (the key is the text as typed)"],
    ],
    "base64",
  );
  const print = h("output", { class: "mono" }, "—");
  const copyStatus = h("span", { class: "hint", role: "status" });
  const generate = h("button", { type: "button" }, "Generate secret");
  const copy = h("button", { type: "button" }, "Copy secret");
  const publicKey = h("textarea", { class: "mono", rows: 6, spellcheck: "false", autocomplete: "off" });
  const notBefore = h("input", { type: "datetime-local", step: 1 });
  const notAfter = h("input", { type: "datetime-local", step: 1 });
  let printed = "";

  async function updateFingerprint(): Promise<void> {
    const text = secret.value;
    const bytes = text === "" ? null : secretBytes(text, encoding.value);
    printed = bytes === null ? "" : await fingerprint(bytes);
    if (secret.value !== text) return;
    print.value = text === "" ? "—" : bytes === null ? "— (not base64: the gateway would refuse it)" : printed;
  }

  const hmacPart = h(
    "div",
    { class: "key-part" },
    field("Secret", secret, {
      path: path("secret"),
      hint: "Generated in this browser (Web Crypto), or pasted. The gateway never shows it again: copy it into your backend's secret store before you leave this page.",
    }),
    h("div", { class: "actions" }, generate, copy, copyStatus),
    field("Secret encoding", encoding, { path: path("secretEncoding") }),
    h("p", { class: "fingerprint" }, "Fingerprint: ", print),
  );
  const publicPart = h(
    "div",
    { class: "key-part" },
    field("Public key (PEM or JWK)", publicKey, {
      path: path("publicKey"),
      hint: "A PEM SPKI block (-----BEGIN PUBLIC KEY-----) or a public JWK object. Never the private key.",
    }),
  );
  const windowPart = options.windowFields
    ? h(
        "div",
        { class: "row" },
        field("Valid from (optional)", notBefore, { path: path("notBefore"), hint: "Your local time; kept in UTC." }),
        field("Valid until (optional)", notAfter, { path: path("notAfter"), hint: "Your local time; kept in UTC." }),
      )
    : null;
  const element = h(
    "div",
    { class: "key-fields" },
    h(
      "div",
      { class: "row" },
      field("Algorithm", alg, { path: path("alg") }),
      field("Key ID (kid), optional", kid, {
        path: path("kid"),
        hint: "Tokens that name it in their header are checked with this key only.",
      }),
    ),
    hmacPart,
    publicPart,
    windowPart,
  );

  function showKind(): void {
    const hmac = isHmac(alg.value);
    show(hmacPart, hmac);
    show(publicPart, !hmac);
  }
  showKind();
  alg.addEventListener("change", showKind);
  generate.addEventListener("click", () => {
    secret.value = generateSecret(HMAC_KEY_BYTES[alg.value] ?? 32);
    encoding.value = "base64";
    copyStatus.textContent = "";
    void updateFingerprint();
  });
  copy.addEventListener("click", async () => {
    if (secret.value === "") return;
    copyStatus.textContent = (await copyText(secret.value, secret)) ? "Copied." : "Selected: press Ctrl+C to copy.";
  });
  secret.addEventListener("input", () => void updateFingerprint());
  encoding.addEventListener("change", () => void updateFingerprint());
  publicKey.addEventListener("input", () => {
    const text = publicKey.value.trim();
    if (!text.startsWith("{")) return;
    try {
      const guess = algorithmOfJwk(JSON.parse(text) as Record<string, unknown>);
      if (guess !== null) alg.value = guess;
    } catch {
      // Not JSON yet (still typing): `read` says so if it stays that way.
    }
  });

  return {
    element,
    read() {
      const window: Record<string, string> = {};
      const from = localDateTimeIso(notBefore);
      const until = localDateTimeIso(notAfter);
      if (from !== undefined) window.notBefore = from;
      if (until !== undefined) window.notAfter = until;
      const head: KeyInput = { alg: alg.value, ...(kid.value === "" ? {} : { kid: kid.value }) };
      if (isHmac(alg.value)) {
        if (secret.value === "") return null;
        return { key: { ...head, secret: secret.value, secretEncoding: encoding.value, ...window } };
      }
      const text = publicKey.value.trim();
      if (text === "") return null;
      if (!text.startsWith("{")) return { key: { ...head, publicKey: text, ...window } };
      try {
        return { key: { ...head, publicKey: JSON.parse(text) as unknown, ...window } };
      } catch {
        return { errors: [{ path: path("publicKey"), message: "starts like a JWK but is not valid JSON" }] };
      }
    },
    secret() {
      return isHmac(alg.value) && secret.value !== "" ? { text: secret.value, fingerprint: printed } : null;
    },
    focus() {
      alg.focus();
    },
  };
}

/** The secret once more after it was saved, with a copy button: the last time the console shows it. */
export function savedSecretPanel(label: string, saved: { text: string; fingerprint: string }): HTMLElement {
  const output = h("input", {
    type: "text",
    class: "mono",
    readonly: true,
    value: saved.text,
    spellcheck: "false",
  });
  const status = h("span", { class: "hint", role: "status" });
  const copy = h("button", { type: "button" }, "Copy secret");
  copy.addEventListener("click", async () => {
    status.textContent = (await copyText(saved.text, output)) ? "Copied." : "Selected: press Ctrl+C to copy.";
  });
  return h(
    "div",
    { class: "secret-once" },
    h(
      "p",
      {},
      h("strong", {}, "Copy the secret now. "),
      "The gateway stores it but never shows it, and this page will not show it again.",
    ),
    field(label, output),
    h("div", { class: "actions" }, copy, status),
    h("p", { class: "fingerprint" }, "Fingerprint: ", h("span", { class: "mono" }, saved.fingerprint)),
  );
}

function base64url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * A test token signed in the browser with an HMAC secret the operator pastes (as a backend would
 * mint it: `{appId, userId, iat, exp}`), so the quickstart can be walked through in the console
 * alone. The secret never leaves the page.
 */
export async function mintTestToken(options: {
  alg: string;
  secret: string;
  encoding: string;
  appId: string;
  userId: string;
  expiresInSeconds: number;
}): Promise<string> {
  const bytes = secretBytes(options.secret, options.encoding);
  if (bytes === null) throw new Error("the secret is not base64");
  const hash = `SHA-${options.alg.slice(2)}`;
  const key = await crypto.subtle.importKey("raw", bytes as Uint8Array<ArrayBuffer>, { name: "HMAC", hash }, false, [
    "sign",
  ]);
  const iat = Math.floor(Date.now() / 1000);
  const json = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  const signingInput = `${json({ alg: options.alg, typ: "JWT" })}.${json({
    appId: options.appId,
    userId: options.userId,
    iat,
    exp: iat + options.expiresInSeconds,
  })}`;
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}
