/**
 * The table of refusal details in docs/pipeline.md, made from the catalogue (`REFUSAL_DETAILS`),
 * so the docs cannot drift from the code: `npm run -s details-table` prints it, and a test checks
 * that docs/pipeline.md holds every row exactly.
 */

import { ERROR_CATALOGUE, REFUSAL_DETAILS } from "../../src/errors.ts";

/** One Markdown row per detail: the slug, the answer (status, code, reason), the usual cause. */
export function detailRows(): string[] {
  return Object.entries(REFUSAL_DETAILS).map(([detail, [kind, cause]]) => {
    const { httpStatus, code, reason } = ERROR_CATALOGUE[kind];
    const answer = `${httpStatus} \`${code}\`${reason ? ` \`${reason}\`` : ""}`;
    return `| \`${detail}\` | ${answer} | ${cause.replaceAll("|", "\\|")} |`;
  });
}

export function detailsTable(): string {
  return ["| detail | answer | usual cause |", "|---|---|---|", ...detailRows()].join("\n");
}
