// userLifecycle's figures for the `report` query: IdP sync totals, and the entity figures
// (events applied / ignored / failed, IdP sync outcomes and lag) it is reported by.
import { percentile, type EntityFigures, type ReportTotals } from './report';
import type { UserLifecycleState } from './user-lifecycle';

export function syncTotals(state: UserLifecycleState, latencies: number[]): ReportTotals {
  const attempted = state.counts.synced + state.counts.syncFailed;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    attempted,
    succeeded: state.counts.synced,
    failed: state.counts.syncFailed,
    successRate: attempted === 0 ? 1 : state.counts.synced / attempted,
    latencyMs: {
      total: sorted.reduce((s, d) => s + d, 0),
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      max: sorted[sorted.length - 1] ?? 0,
    },
  };
}

export function entityFigures(state: UserLifecycleState, lags: number[]): EntityFigures {
  const sorted = [...lags].sort((a, b) => a - b);
  const { received, applied, duplicates, outOfOrder, rejected, synced, syncFailed } = state.counts;
  return {
    events: { received, applied, ignored: duplicates + outOfOrder, failed: rejected },
    idpSync: {
      state: state.idpSync,
      succeeded: synced,
      failed: syncFailed,
      lagMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? 0, samples: sorted.length },
    },
  };
}
