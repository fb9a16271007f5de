/**
 * @module A job's detail (CONTRACT §5): its summary, one page of its history and of its files, and
 * its links. Pages seek on the history order and the file key, never offsets: an event inserted
 * before the cursor cannot shift the entries after it.
 */
import { encodeFilesCursor, encodeHistoryCursor } from "../core/cursor";
import { historyPage } from "./history";
import { type JobRecord, summaryOf } from "./job-record";
import { briefOf, filesPage, type LinkedLedger, linkedKeys } from "./links";
import { HISTORY_WHOLE, jsonBytes } from "./pages";
import type { DetailPage, LedgerDetail } from "./types";

/**
 * The detail of the job `current()` answers, or null when it has none. Links are read first, as
 * they may wait on another ledger; the summary and the history are then read together.
 */
export async function readDetail(
  sql: SqlStorage,
  current: () => JobRecord | null,
  ledgerOf: (jobKey: string) => LinkedLedger,
  page: DetailPage,
): Promise<LedgerDetail | null> {
  const role = current()?.role;
  if (role === undefined) return null;
  const linked: Pick<LedgerDetail, "files" | "filesNextCursor" | "job"> = {};
  if (role === "file") {
    const [jobKey] = linkedKeys(sql, "job");
    linked.job = jobKey === undefined ? null : await briefOf(sql, ledgerOf, "job", jobKey);
  } else {
    const files = await filesPage(sql, ledgerOf, page.filesAfter);
    linked.files = files.items;
    if (files.next !== null) linked.filesNextCursor = encodeFilesCursor({ f: files.next });
  }
  const job = current();
  if (job === null) return null;
  const summary = summaryOf(job);
  const history = historyPage(sql, job.event_count, {
    after: page.historyAfter,
    limit: page.historyLimit,
    otherBytes: job.event_count <= HISTORY_WHOLE ? 0 : jsonBytes({ ...summary, history: [], ...linked }),
  });
  const detail: LedgerDetail = { ...summary, history: history.entries };
  if (history.next !== null) detail.historyNextCursor = encodeHistoryCursor({ h: history.next });
  return { ...detail, ...linked };
}
