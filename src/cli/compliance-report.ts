// What `cxone-scim report` gathers: the shape shared by the gatherer (report.ts) and the renderers
// (report-html.ts, print-report.ts), kept apart so that each imports it without importing the other.
import type { EntityFigures, WorkflowReport } from '../workflows/report';
import type { AuditFigures, TemporalUiTarget } from './report-figures';

export interface ReportFilter {
  tenant?: string;
  /** Workflow type, e.g. provisionUsers. */
  type?: string;
  /** ISO date-time or date: only runs started at or after it. */
  since?: string;
  /** ISO date-time (exclusive) or date (that day included): only runs started before it. */
  until?: string;
}

/** The default Temporal UI address (`temporal server start-dev`'s). */
export const DEFAULT_TEMPORAL_UI_URL = 'http://localhost:8233';

/** One workflow type's runs, aggregated. */
export interface TypeSummary {
  workflowType: string;
  runs: number;
  runsSucceeded: number;
  /** Finished with some records invalid or failed (or quarantined). */
  runsPartial: number;
  runsFailed: number;
  /** Units of work the runs attempted (users for provisionUsers, steps otherwise). */
  attempted: number;
  succeeded: number;
  failed: number;
  successRate: number;
  /** Run duration (start to completion) over completed runs. */
  durationMs: { p50: number; p95: number };
  /** `type` is the failure type (src/core/failures.ts) when the run recorded one. */
  failures: Array<{ workflowId: string; error: string; type?: string }>;
}

/**
 * An entity workflow type (e.g. userLifecycle: one never-ending workflow per user), reported by
 * what its workflows have done, not as finished runs.
 */
export interface EntitySummary {
  workflowType: string;
  /** Workflows open now (one per entity). */
  openRuns: number;
  events: EntityFigures['events'];
  idpSync: {
    succeeded: number;
    failed: number;
    /** Workflows whose last IdP sync failed for good. */
    workflowsOutOfSync: number;
    /** Over every workflow's recent syncs: median of the medians, worst p95, worst. */
    lagMs: { p50: number; p95Worst: number; max: number };
  };
}

export interface ComplianceReport {
  generatedAt: string;
  filter: ReportFilter;
  /** The namespace the runs are in and the Temporal UI that shows them (links to each run). */
  temporal: TemporalUiTarget;
  /** Workflow types whose runs finish. */
  summaries: TypeSummary[];
  entities: EntitySummary[];
  /** Per day, by failure type, deletion decisions and deactivations: what the HTML report shows. */
  audit: AuditFigures;
  runs: WorkflowReport[];
}
