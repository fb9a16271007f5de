/**
 * @module What a token is shown of a job's detail (CONTRACT §5): its ledger answers each link with
 * the linked job's company; a token sees a job's `files` and a file's `job` only where it may read
 * the key they name (`canSee`), as `{ jobKey, status }`. Used by the detail and by a stream's
 * snapshot, which must be "exactly as `GET /v1/jobs/:jobKey` answers it" (CONTRACT §7).
 */
import type { JobDetail, LinkedJob } from "../core/summary";
import type { Source } from "../core/vocabulary";
import type { KnownLink, LedgerDetail } from "../ledger/types";
import { canSee, type TokenScope } from "./tokens";

/** Whether `scope` may read the job `link` names: its source is its key's first part. */
function mayRead(scope: TokenScope, link: KnownLink): boolean {
  const source = link.jobKey.slice(0, link.jobKey.indexOf(":")) as Source;
  return canSee(scope, { source, companyId: link.companyId });
}

function shown({ jobKey, status }: KnownLink): LinkedJob {
  return { jobKey, status };
}

/**
 * The detail as `scope` may see it: links it may not read are left out (a file's `job` is then
 * null). A page of files may so hold fewer than the page size; `filesNextCursor` still goes on from
 * the last file of the page the ledger read, so a walk skips none the token may read.
 */
export function detailFor(scope: TokenScope, detail: LedgerDetail): JobDetail {
  const { files, job } = detail;
  // Spread first, so the fields keep their order in the answer.
  return {
    ...detail,
    ...(files === undefined ? {} : { files: files.filter((link) => mayRead(scope, link)).map(shown) }),
    ...(job === undefined ? {} : { job: job !== null && mayRead(scope, job) ? shown(job) : null }),
  };
}
