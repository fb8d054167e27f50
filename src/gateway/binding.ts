/**
 * Binding the verified token to the request (CONTRACT section 3, step 10): every `userId`,
 * `appUserId` or `customerId` the request names, in the query or the body, must be the token's
 * own claim. Without this, a valid token for user A could act on user B by naming B in the
 * request. Names match case-insensitively because some origins bind that way, and anything
 * ambiguous (a name twice, bracket forms, two content types) is refused rather than guessed.
 */

import { badRequest, type RefusalDetail, refusal } from "../errors.ts";
import { readBodyCapped } from "../lib/body.ts";
import { decodeUtf8Strict, ownMember, parseJson, scanJson } from "../lib/json.ts";

/** A request field an app binds (its `requestBindings`), and the claim it must equal. */
interface Binding {
  readonly field: string;
  readonly claim: string;
}

/** Bindings by folded field name. */
type Bindings = ReadonlyMap<string, Binding>;

/** Where a request names an identity: the detail of a mismatch says which. */
type Source = "query" | "json" | "form" | "multipart";

const MISMATCH: Readonly<Record<Source, RefusalDetail>> = {
  query: "user_mismatch_query",
  json: "user_mismatch_json",
  form: "user_mismatch_form",
  multipart: "user_mismatch_multipart",
};

/** A value the request gives for one bound field. */
interface NamedIdentity extends Binding {
  readonly value: string;
  readonly source: Source;
}

const compiled = new WeakMap<object, Bindings>();

/** An app's `requestBindings` (field → claim), compiled once per record object. */
function bindingsOf(requestBindings: Readonly<Record<string, string>>): Bindings {
  let bindings = compiled.get(requestBindings);
  if (bindings === undefined) {
    bindings = new Map(Object.entries(requestBindings).map(([field, claim]) => [foldName(field), { field, claim }]));
    compiled.set(requestBindings, bindings);
  }
  return bindings;
}

/**
 * A field name as some origin may read it: without surrounding whitespace (PHP drops leading
 * spaces from names) and case-folded both ways, so that every name a case-insensitive server
 * could take for `userId` is caught: Java's `equalsIgnoreCase` takes `uſerId` (long s) and
 * `userıd` (dotless i) for it, and `toLowerCase` alone does not.
 */
export function foldName(name: string): string {
  return name.trim().toUpperCase().toLowerCase();
}

/** `userId[]`, `userId[0]`, `UserID [x]`: forms some origins turn into arrays or objects. */
function isBracketForm(folded: string, bindings: Bindings): boolean {
  const bracket = folded.indexOf("[");
  return bracket > 0 && bindings.has(folded.slice(0, bracket).trimEnd());
}

/**
 * Collects identity names from name/value pairs of one source (query, form body), refusing a
 * name given twice in any case and bracket forms.
 */
function collectPairs(
  pairs: Iterable<readonly [string, unknown]>,
  source: Source,
  bindings: Bindings,
  out: NamedIdentity[],
): void {
  const where = source === "query" ? "query" : "body";
  const seen = new Set<Binding>();
  for (const [name, value] of pairs) {
    const folded = foldName(name);
    if (isBracketForm(folded, bindings)) {
      throw badRequest("binding_bracket_form", `Identity field in bracket form in the ${where}`);
    }
    const binding = bindings.get(folded);
    if (binding === undefined) continue;
    if (seen.has(binding)) {
      throw badRequest("binding_field_repeated", `${binding.field} given more than once in the ${where}`);
    }
    seen.add(binding);
    if (typeof value !== "string") {
      throw badRequest("binding_value_type", `${binding.field} in the ${where} is not a text field`);
    }
    out.push({ field: binding.field, claim: binding.claim, value, source });
  }
}

function decodeFormComponent(text: string, source: Source): string {
  // Most names and values hold neither: the text is its own decoding.
  if (!text.includes("%") && !text.includes("+")) return text;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    throw source === "query"
      ? badRequest("query_not_parsable", "Invalid percent-encoding in the query")
      : badRequest("body_not_parsable", "Invalid percent-encoding in the body");
  }
}

/**
 * Pair separators. WHATWG and most servers split on `&` only, but some (Python before 3.10,
 * several older frameworks) also split on `;`, so `?x=1;userId=B` names user B to them. Splitting
 * on both here means that no reading of the text can find an identity the gateway did not check.
 */
const PAIR_SEPARATOR = /[&;]/;

/**
 * The identities named in `application/x-www-form-urlencoded` text (the query uses the same
 * syntax), in one pass: every name is decoded and folded, a value only when its name is bound
 * (a stray `%` in an unrelated value is the origin's business). A bound name given twice in any
 * case, or in bracket form, is `400`.
 */
function collectFormText(text: string, source: "query" | "form", bindings: Bindings, out: NamedIdentity[]): void {
  const where = source === "query" ? "query" : "body";
  let seen: Binding[] | undefined;
  for (const part of text.split(PAIR_SEPARATOR)) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const folded = foldName(decodeFormComponent(equals < 0 ? part : part.slice(0, equals), source));
    const binding = bindings.get(folded);
    if (binding === undefined) {
      if (isBracketForm(folded, bindings)) {
        throw badRequest("binding_bracket_form", `Identity field in bracket form in the ${where}`);
      }
      continue;
    }
    if (seen?.includes(binding)) {
      throw badRequest("binding_field_repeated", `${binding.field} given more than once in the ${where}`);
    }
    if (seen === undefined) seen = [binding];
    else seen.push(binding);
    const value = equals < 0 ? "" : decodeFormComponent(part.slice(equals + 1), source);
    out.push({ field: binding.field, claim: binding.claim, value, source });
  }
}

function collectJson(bytes: Uint8Array, bindings: Bindings, out: NamedIdentity[]): void {
  const text = decodeUtf8Strict(bytes);
  if (text === null || parseJson(text) === undefined) {
    throw badRequest("body_not_parsable", "Request body is not valid JSON");
  }
  const members = scanJson(text).members;
  if (members === null) return;
  const seen = new Set<Binding>();
  for (const member of members) {
    const binding = bindings.get(foldName(member.name));
    if (binding === undefined) continue;
    if (seen.has(binding)) {
      throw badRequest("binding_field_repeated", `${binding.field} given more than once in the body`);
    }
    seen.add(binding);
    if (member.kind === "string") {
      out.push({ ...binding, value: JSON.parse(member.raw) as string, source: "json" });
    }
    // A number matches by its text as written: `123` names "123", `1.23e2` does not.
    else if (member.kind === "number") out.push({ ...binding, value: member.raw, source: "json" });
    else throw badRequest("binding_value_type", `${binding.field} in the body must be a string or a number`);
  }
}

async function collectMultipart(
  bytes: Uint8Array,
  contentType: string,
  bindings: Bindings,
  out: NamedIdentity[],
): Promise<void> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw badRequest("body_not_parsable", "Request body is not valid multipart/form-data");
  }
  collectPairs(form.entries(), "multipart", bindings, out);
}

type InspectedKind = "json" | "form" | "multipart";

/** The media types whose bodies can name an identity (CONTRACT section 3, step 10). */
function inspectedKind(mediaType: string): InspectedKind | null {
  if (mediaType === "application/json" || /^[^/]+\/[^/]+\+json$/.test(mediaType)) return "json";
  if (mediaType === "application/x-www-form-urlencoded") return "form";
  if (mediaType === "multipart/form-data") return "multipart";
  return null;
}

/** True when a header value holds a `,` outside quoted strings: two values joined into one. */
function hasListSeparator(value: string): boolean {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value.charAt(i);
    if (quoted && char === "\\") i++;
    else if (char === '"') quoted = !quoted;
    else if (char === "," && !quoted) return true;
  }
  return false;
}

export interface BindingResult {
  /** What to forward as the body: the buffered bytes when the body was read, else the stream. */
  readonly body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/** The identities a request names, and the body to forward. */
export interface NamedIdentities extends BindingResult {
  readonly named: readonly NamedIdentity[];
}

export interface BindingOptions {
  readonly maxBodyBytes: number;
  /** The app's `requestBindings`: request field → claim. */
  readonly requestBindings: Readonly<Record<string, string>>;
}

/**
 * The identities a request names in its query and inspected body, and the body to forward (a
 * read body is forwarded byte for byte). Throws `400` for an ambiguous request and `413`/`415`
 * for a body that cannot be inspected; `checkRequestIdentities` then holds them to the token.
 */
export async function readRequestIdentities(
  request: Request,
  query: string,
  { maxBodyBytes, requestBindings }: BindingOptions,
): Promise<NamedIdentities> {
  const bindings = bindingsOf(requestBindings);
  // An app that binds no field has nothing to look for: its bodies stream through unread.
  if (bindings.size === 0) return { named: [], body: request.body };
  const named: NamedIdentity[] = [];
  if (query !== "") collectFormText(query, "query", bindings, named);
  const { body } = await collectBody(request, maxBodyBytes, bindings, named);
  return { named, body };
}

/**
 * Every named field must equal the token's claim it is bound to: else `38 IDENTIFIER_MISMATCH`,
 * its detail naming where the request named another user (`user_mismatch_query`, …).
 */
export function checkRequestIdentities({ named }: NamedIdentities, claims: Record<string, unknown>): void {
  for (const { claim, value, source } of named) {
    if (ownMember(claims, claim) !== value) throw refusal(MISMATCH[source]);
  }
}

async function collectBody(
  request: Request,
  maxBodyBytes: number,
  bindings: Bindings,
  named: NamedIdentity[],
): Promise<BindingResult> {
  const contentType = request.headers.get("content-type");
  if (contentType === null || request.body === null) return { body: request.body };
  if (hasListSeparator(contentType)) throw badRequest("content_type_list", "More than one Content-Type");
  const kind = inspectedKind((contentType.split(";")[0] as string).trim().toLowerCase());
  if (kind === null) return { body: request.body };
  const encoding = request.headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") throw refusal("content_encoding");
  const bytes = await readBodyCapped(request, maxBodyBytes);
  if (bytes === null) throw refusal("body_too_large");
  if (bytes.byteLength === 0) return { body: bytes };
  if (kind === "json") collectJson(bytes, bindings, named);
  else if (kind === "form") {
    const text = decodeUtf8Strict(bytes);
    if (text === null) throw badRequest("body_not_parsable", "Request body is not valid UTF-8");
    collectFormText(text, "form", bindings, named);
  } else await collectMultipart(bytes, contentType, bindings, named);
  return { body: bytes };
}
