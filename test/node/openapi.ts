/**
 * The admin API's OpenAPI 3.1 document (scripts/lib/openapi.ts): valid against the OpenAPI 3.1
 * schema, every admin route of src/admin/routes.ts in it (and nothing that is not a route), and
 * its request schemas the valibot schemas that validate the requests. Run by `npm test`.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Hono } from "hono";
import { openApiDocument } from "../../scripts/lib/openapi.ts";
import { registerAdminRoutes } from "../../src/admin/routes.ts";

const PREFIX = "/admin";
/** The console's files: served to a browser, not operations of the API. */
const CONSOLE_FILES = new Set([`GET ${PREFIX}`, `GET ${PREFIX}/console.js`, `GET ${PREFIX}/console.css`]);

/** `METHOD /path` of every admin operation registered on Hono, paths in OpenAPI's `{param}` form. */
function registeredOperations(): Set<string> {
  const app = new Hono();
  // The handlers never run here: only the routes they register are read.
  registerAdminRoutes(app, { prefix: PREFIX, now: Date.now } as unknown as Parameters<typeof registerAdminRoutes>[1]);
  const operations = new Set<string>();
  for (const { method, path } of app.routes) {
    if (method === "ALL" || path.includes("*")) continue;
    const operation = `${method} ${path.replace(/:(\w+)/g, "{$1}")}`;
    if (!CONSOLE_FILES.has(operation)) operations.add(operation);
  }
  return operations;
}

function documentedOperations(document: Record<string, unknown>): Set<string> {
  const operations = new Set<string>();
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) {
      if (method !== "parameters") operations.add(`${method.toUpperCase()} ${PREFIX}${path}`);
    }
  }
  return operations;
}

describe("the admin API's OpenAPI document", () => {
  const document = openApiDocument(PREFIX);

  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
    assert.equal(validator.version, "3.1");
  });

  it("documents every admin route, and no route that does not exist", () => {
    assert.deepEqual([...documentedOperations(document)].sort(), [...registeredOperations()].sort());
  });

  it("describes requests by the schemas that validate them", () => {
    const schemas = (document.components as { schemas: Record<string, { properties?: object }> }).schemas;
    assert.deepEqual(Object.keys(schemas.AppRecord?.properties ?? {}).sort(), [
      "acceptMillisecondTimestamps",
      "appIdClaim",
      "audience",
      "clockToleranceSeconds",
      "enforcement",
      "issuer",
      "jwksUri",
      "jwtEnabled",
      "keys",
      "maxTokenLifetimeSeconds",
      "requestBindings",
      "requireExp",
      "requireNonce",
      "secret",
      "secretEncoding",
      "tokensNotBefore",
      "userClaims",
    ]);
    assert.ok(!JSON.stringify(document).includes("#/$defs/"));
  });
});
