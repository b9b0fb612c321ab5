// Counting per-record outcomes and summarising latencies: one counts type and one statistics
// function for every workflow, activity, report and benchmark. Pure and workflow-safe.

/** What happened to records: the same five counts from a single request up to a whole run. */
export interface RecordCounts {
  created: number;
  /** Existed and were updated to the source's values. */
  updated: number;
  /** Existed and already carried the source's values. */
  unchanged: number;
  /** Finally failed (non-retryable answers, or retryable ones past the deadline): reported with reasons. */
  failed: number;
  /** Sent again after a transient failure (counted once per resend). */
  retried: number;
}

export function emptyCounts(): RecordCounts {
  return { created: 0, updated: 0, unchanged: 0, failed: 0, retried: 0 };
}

/** Adds `more`'s counts into `into` (other fields of either are left alone). */
export function addCounts(into: RecordCounts, more: RecordCounts): void {
  into.created += more.created;
  into.updated += more.updated;
  into.unchanged += more.unchanged;
  into.failed += more.failed;
  into.retried += more.retried;
}

/** Records the provider holds as the source says: created, updated or already unchanged. */
export function succeededOf(counts: RecordCounts): number {
  return counts.created + counts.updated + counts.unchanged;
}

export interface LatencyStats {
  total: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending list. */
function nearestRank(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sortedAscending.length) - 1;
  return sortedAscending[Math.min(sortedAscending.length - 1, Math.max(0, rank))];
}

/** Sum, nearest-rank p50/p95/p99 and maximum of durations in any order (all 0 for none). */
export function latencyStats(durations: readonly number[]): LatencyStats {
  const sorted = [...durations].sort((a, b) => a - b);
  return {
    total: sorted.reduce((sum, d) => sum + d, 0),
    p50: nearestRank(sorted, 50),
    p95: nearestRank(sorted, 95),
    p99: nearestRank(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}
