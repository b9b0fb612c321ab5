// userLifecycle's figures for the `report` query: IdP sync totals, and the entity figures
// (events applied / ignored / failed, IdP sync outcomes and lag) it is reported by.
import { latencyStats } from '../../core/tally';
import { reportTotals, type EntityFigures, type ReportTotals } from '../report';

/** What a userLifecycle run counts (part of its `state` query). */
export interface LifecycleCounts {
  received: number;
  applied: number;
  duplicates: number;
  outOfOrder: number;
  rejected: number;
  synced: number;
  syncFailed: number;
}

/** `failed` after an IdP call that failed for good: the next event re-syncs the full snapshot. */
export type IdpSyncState = 'disabled' | 'pending' | 'in-sync' | 'failed';

/** The part of the workflow's state the report reads. */
interface LifecycleFigures {
  counts: LifecycleCounts;
  idpSync: IdpSyncState;
}

export function syncTotals(state: LifecycleFigures, latencies: number[]): ReportTotals {
  return reportTotals(state.counts.synced, state.counts.syncFailed, latencies);
}

export function entityFigures(state: LifecycleFigures, lags: number[]): EntityFigures {
  const lag = latencyStats(lags);
  const { received, applied, duplicates, outOfOrder, rejected, synced, syncFailed } = state.counts;
  return {
    events: { received, applied, ignored: duplicates + outOfOrder, failed: rejected },
    idpSync: {
      state: state.idpSync,
      succeeded: synced,
      failed: syncFailed,
      lagMs: { p50: lag.p50, p95: lag.p95, max: lag.max, samples: lags.length },
    },
  };
}
