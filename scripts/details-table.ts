/** npm run -s details-table: prints the refusal-details table for docs/pipeline.md. */

import { detailsTable } from "./lib/details-table.ts";

console.log(detailsTable());
