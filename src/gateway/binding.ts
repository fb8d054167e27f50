/**
 * Binding the verified token to the request (CONTRACT section 3, step 10): every `userId`,
 * `appUserId` or `customerId` the request names, in the query or the body, must be the token's
 * own claim. Without this, a valid token for user A could act on user B by naming B in the
 * request. Names match case-insensitively because some origins bind that way, and anything
 * ambiguous (a name twice, bracket forms, two content types) is refused rather than guessed.
 */

import { badRequest, GatewayError, invalidTokenError } from "../errors.ts";
import { decodeUtf8Strict, ownMember, parseJson, scanJson } from "../token/json.ts";
import { readBodyCapped } from "./body.ts";

/** A request field an app binds (its `requestBindings`), and the claim it must equal. */
interface Binding {
  readonly field: string;
  readonly claim: string;
}

/** Bindings by folded field name. */
type Bindings = ReadonlyMap<string, Binding>;

/** A value the request gives for one bound field. */
interface NamedIdentity extends Binding {
  readonly value: string;
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
  source: string,
  bindings: Bindings,
  out: NamedIdentity[],
): void {
  const seen = new Set<Binding>();
  for (const [name, value] of pairs) {
    const folded = foldName(name);
    if (isBracketForm(folded, bindings)) throw badRequest(`Identity field in bracket form in the ${source}`);
    const binding = bindings.get(folded);
    if (binding === undefined) continue;
    if (seen.has(binding)) throw badRequest(`${binding.field} given more than once in the ${source}`);
    seen.add(binding);
    if (typeof value !== "string") throw badRequest(`${binding.field} in the ${source} is not a text field`);
    out.push({ ...binding, value });
  }
}

function decodeFormComponent(text: string, source: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    throw badRequest(`Invalid percent-encoding in the ${source}`);
  }
}

/**
 * Pair separators. WHATWG and most servers split on `&` only, but some (Python before 3.10,
 * several older frameworks) also split on `;`, so `?x=1;userId=B` names user B to them. Splitting
 * on both here means that no reading of the text can find an identity the gateway did not check.
 */
const PAIR_SEPARATOR = /[&;]/;

/**
 * `application/x-www-form-urlencoded` pairs (the query uses the same syntax). Only names are
 * decoded for every pair; a value is decoded only when its name is an identity field, so a
 * stray `%` in an unrelated value is the origin's business.
 */
function* formPairs(text: string, source: string, bindings: Bindings): Generator<readonly [string, string]> {
  if (text === "") return;
  for (const part of text.split(PAIR_SEPARATOR)) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const rawName = equals < 0 ? part : part.slice(0, equals);
    const name = decodeFormComponent(rawName, source);
    const folded = foldName(name);
    if (!bindings.has(folded) && !isBracketForm(folded, bindings)) {
      yield [name, ""];
      continue;
    }
    yield [name, equals < 0 ? "" : decodeFormComponent(part.slice(equals + 1), source)];
  }
}

function collectJson(bytes: Uint8Array, bindings: Bindings, out: NamedIdentity[]): void {
  const text = decodeUtf8Strict(bytes);
  if (text === null || parseJson(text) === undefined) throw badRequest("Request body is not valid JSON");
  const members = scanJson(text).members;
  if (members === null) return;
  const seen = new Set<Binding>();
  for (const member of members) {
    const binding = bindings.get(foldName(member.name));
    if (binding === undefined) continue;
    if (seen.has(binding)) throw badRequest(`${binding.field} given more than once in the body`);
    seen.add(binding);
    if (member.kind === "string") out.push({ ...binding, value: JSON.parse(member.raw) as string });
    // A number matches by its text as written: `123` names "123", `1.23e2` does not.
    else if (member.kind === "number") out.push({ ...binding, value: member.raw });
    else throw badRequest(`${binding.field} in the body must be a string or a number`);
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
    throw badRequest("Request body is not valid multipart/form-data");
  }
  collectPairs(form.entries(), "body", bindings, out);
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

/**
 * Checks that every identity the request names equals the token's claim of the same name, and
 * returns the body to forward (a read body is forwarded byte for byte). Throws `400` for an
 * ambiguous request, `413`/`415` for a body that cannot be inspected, and
 * `38 IDENTIFIER_MISMATCH` for a name the token does not back.
 */
export async function bindRequestIdentity(
  request: Request,
  query: string,
  claims: Record<string, unknown>,
  options: BindingOptions,
): Promise<BindingResult> {
  const named = await readRequestIdentities(request, query, options);
  checkRequestIdentities(named, claims);
  return named;
}

/** The identities a request names, and the body to forward. Throws `400`, `413` or `415`. */
export interface NamedIdentities extends BindingResult {
  readonly named: readonly NamedIdentity[];
}

export interface BindingOptions {
  readonly maxBodyBytes: number;
  /** The app's `requestBindings`: request field → claim. */
  readonly requestBindings: Readonly<Record<string, string>>;
}

export async function readRequestIdentities(
  request: Request,
  query: string,
  { maxBodyBytes, requestBindings }: BindingOptions,
): Promise<NamedIdentities> {
  const bindings = bindingsOf(requestBindings);
  // An app that binds no field has nothing to look for: its bodies stream through unread.
  if (bindings.size === 0) return { named: [], body: request.body };
  const named: NamedIdentity[] = [];
  collectPairs(formPairs(query, "query", bindings), "query", bindings, named);
  const { body } = await collectBody(request, maxBodyBytes, bindings, named);
  return { named, body };
}

/** Every named field must equal the token's claim it is bound to: else `38 IDENTIFIER_MISMATCH`. */
export function checkRequestIdentities({ named }: NamedIdentities, claims: Record<string, unknown>): void {
  for (const { claim, value } of named) {
    if (ownMember(claims, claim) !== value) throw invalidTokenError("IDENTIFIER_MISMATCH");
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
  if (hasListSeparator(contentType)) throw badRequest("More than one Content-Type");
  const kind = inspectedKind((contentType.split(";")[0] as string).trim().toLowerCase());
  if (kind === null) return { body: request.body };
  const encoding = request.headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") {
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE");
  }
  const bytes = await readBodyCapped(request, maxBodyBytes);
  if (bytes.byteLength === 0) return { body: bytes };
  if (kind === "json") collectJson(bytes, bindings, named);
  else if (kind === "form") {
    const text = decodeUtf8Strict(bytes);
    if (text === null) throw badRequest("Request body is not valid UTF-8");
    collectPairs(formPairs(text, "body", bindings), "body", bindings, named);
  } else await collectMultipart(bytes, contentType, bindings, named);
  return { body: bytes };
}
