/**
 * Binding the verified token to the request (CONTRACT section 3, step 10): every `userId`,
 * `appUserId` or `customerId` the request names, in the query or the body, must be the token's
 * own claim. Without this, a valid token for user A could act on user B by naming B in the
 * request. Names match case-insensitively because some origins bind that way, and anything
 * ambiguous (a name twice, bracket forms, two content types) is refused rather than guessed.
 */

import { badRequest, GatewayError, invalidTokenError } from "../errors.ts";
import { USER_CLAIMS, type UserClaim } from "../token/claims.ts";
import { decodeUtf8Strict, ownMember, parseJson, scanJson } from "../token/json.ts";
import { readBodyCapped } from "./body.ts";

/** A value the request gives for one of the identity claims. */
interface NamedIdentity {
  readonly claim: UserClaim;
  readonly value: string;
}

const CLAIM_BY_LOWER_NAME: ReadonlyMap<string, UserClaim> = new Map(
  USER_CLAIMS.map((claim) => [claim.toLowerCase(), claim]),
);

/**
 * A field name as some origin may read it: without surrounding whitespace (PHP drops leading
 * spaces from names) and case-folded both ways, so that every name a case-insensitive server
 * could take for `userId` is caught: Java's `equalsIgnoreCase` takes `uſerId` (long s) and
 * `userıd` (dotless i) for it, and `toLowerCase` alone does not.
 */
function foldName(name: string): string {
  return name.trim().toUpperCase().toLowerCase();
}

/** `userId[]`, `userId[0]`, `UserID[x]`: forms some origins turn into arrays or objects. */
const BRACKET_FORM = /^(userid|appuserid|customerid)\s*\[/;

/**
 * Collects identity names from name/value pairs of one source (query, form body), refusing a
 * name given twice in any case and bracket forms.
 */
function collectPairs(pairs: Iterable<readonly [string, unknown]>, source: string, out: NamedIdentity[]): void {
  const seen = new Set<UserClaim>();
  for (const [name, value] of pairs) {
    const lower = foldName(name);
    if (BRACKET_FORM.test(lower)) throw badRequest(`Identity field in bracket form in the ${source}`);
    const claim = CLAIM_BY_LOWER_NAME.get(lower);
    if (claim === undefined) continue;
    if (seen.has(claim)) throw badRequest(`${claim} given more than once in the ${source}`);
    seen.add(claim);
    if (typeof value !== "string") throw badRequest(`${claim} in the ${source} is not a text field`);
    out.push({ claim, value });
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
function* formPairs(text: string, source: string): Generator<readonly [string, string]> {
  if (text === "") return;
  for (const part of text.split(PAIR_SEPARATOR)) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const rawName = equals < 0 ? part : part.slice(0, equals);
    const name = decodeFormComponent(rawName, source);
    const folded = foldName(name);
    if (!CLAIM_BY_LOWER_NAME.has(folded) && !BRACKET_FORM.test(folded)) {
      yield [name, ""];
      continue;
    }
    yield [name, equals < 0 ? "" : decodeFormComponent(part.slice(equals + 1), source)];
  }
}

function collectJson(bytes: Uint8Array, out: NamedIdentity[]): void {
  const text = decodeUtf8Strict(bytes);
  if (text === null || parseJson(text) === undefined) throw badRequest("Request body is not valid JSON");
  const members = scanJson(text).members;
  if (members === null) return;
  const seen = new Set<UserClaim>();
  for (const member of members) {
    const claim = CLAIM_BY_LOWER_NAME.get(foldName(member.name));
    if (claim === undefined) continue;
    if (seen.has(claim)) throw badRequest(`${claim} given more than once in the body`);
    seen.add(claim);
    if (member.kind === "string") out.push({ claim, value: JSON.parse(member.raw) as string });
    // A number matches by its text as written: `123` names "123", `1.23e2` does not.
    else if (member.kind === "number") out.push({ claim, value: member.raw });
    else throw badRequest(`${claim} in the body must be a string or a number`);
  }
}

async function collectMultipart(bytes: Uint8Array, contentType: string, out: NamedIdentity[]): Promise<void> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw badRequest("Request body is not valid multipart/form-data");
  }
  collectPairs(form.entries(), "body", out);
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
  maxBodyBytes: number,
): Promise<BindingResult> {
  const named = await readRequestIdentities(request, query, maxBodyBytes);
  checkRequestIdentities(named, claims);
  return named;
}

/** The identities a request names, and the body to forward. Throws `400`, `413` or `415`. */
export interface NamedIdentities extends BindingResult {
  readonly named: readonly NamedIdentity[];
}

export async function readRequestIdentities(
  request: Request,
  query: string,
  maxBodyBytes: number,
): Promise<NamedIdentities> {
  const named: NamedIdentity[] = [];
  collectPairs(formPairs(query, "query"), "query", named);
  const { body } = await collectBody(request, maxBodyBytes, named);
  return { named, body };
}

/** Every named identity must be the token's claim of that name: else `38 IDENTIFIER_MISMATCH`. */
export function checkRequestIdentities({ named }: NamedIdentities, claims: Record<string, unknown>): void {
  for (const { claim, value } of named) {
    if (ownMember(claims, claim) !== value) throw invalidTokenError("IDENTIFIER_MISMATCH");
  }
}

async function collectBody(request: Request, maxBodyBytes: number, named: NamedIdentity[]): Promise<BindingResult> {
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
  if (kind === "json") collectJson(bytes, named);
  else if (kind === "form") {
    const text = decodeUtf8Strict(bytes);
    if (text === null) throw badRequest("Request body is not valid UTF-8");
    collectPairs(formPairs(text, "body"), "body", named);
  } else await collectMultipart(bytes, contentType, named);
  return { body: bytes };
}
