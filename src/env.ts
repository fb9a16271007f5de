/**
 * @module The Worker's bindings and settings (CONTRACT §2). The shared settings are listed here;
 * each vendor's own variables (`EXTEND_SIGNING_SECRETS`, …) come from its adapter, through the
 * registry's {@link VendorVariables}.
 */
import type { ChangeHub } from "./changes/hub";
import type { JobLedger } from "./ledger/job-ledger";
import type { ProjectionMessage } from "./projection/jobs";
import type { KeyRegistry } from "./registry/key-registry";
import type { VendorVariables } from "./vendors/registry";

export interface Env extends VendorVariables {
  /** Summaries for the list API, read-API token hashes, quarantine. */
  DB: D1Database;
  /** One SQLite-backed object per job key. */
  JOBS: DurableObjectNamespace<JobLedger>;
  /** Every job key with a ledger, sharded, for reprojection (README, "Operating"); independent of D1. */
  REGISTRY: DurableObjectNamespace<KeyRegistry>;
  /** The one object long-polling change-feed clients wait in (CONTRACT §6). */
  CHANGES: DurableObjectNamespace<ChangeHub>;
  /** The console's static files (public/). */
  ASSETS: Fetcher;
  /** Job summaries on their way to D1: the Worker sends, the same Worker's consumer writes. */
  PROJECTION: Queue<ProjectionMessage>;
  /** How old a signature timestamp may be, in seconds (default 300; Extend, Standard Webhooks). */
  SIGNATURE_TOLERANCE_SECONDS?: string;
  /** Largest accepted webhook body in bytes (default 5 MiB). */
  MAX_BODY_BYTES?: string;
  /** `true`: one log line per accepted delivery (default: only refusals, quarantines, failures). */
  LOG_DELIVERIES?: string;
  /** Seconds after receipt beyond which an event's own time is capped for ordering (default: never). */
  FUTURE_HORIZON_SECONDS?: string;
}
