// userLifecycle's figures for the `report` query: IdP sync totals, and the entity figures
// (events applied / ignored / failed, IdP sync outcomes and lag) it is reported by.
import { latencyStats } from '../../core/tally';
import { reportTotals, type EntityFigures, type ReportTotals } from '../report';
import type { IdpSyncState, LifecycleCounts } from './machine';

export type { IdpSyncState, LifecycleCounts } from './machine';

/** The part of the workflow's state the report reads. */
interface LifecycleFigures {
  counts: LifecycleCounts;
  idpSync: IdpSyncState;
}

export function syncTotals(state: LifecycleFigures, latencies: readonly number[]): ReportTotals {
  return reportTotals(state.counts.synced, state.counts.syncFailed, latencies);
}

export function entityFigures(state: LifecycleFigures, lags: readonly number[]): EntityFigures {
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
