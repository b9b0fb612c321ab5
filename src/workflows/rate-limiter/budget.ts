// The arithmetic of the fleet-wide rate limit (pure, deterministic: the tenantRateLimiter workflow
// runs it). Time is cut into slices of SLICE_MS on the workers' clock; for each slice the limiter
// hands every worker that asks a share of the tenant's requests per second and of its requests in
// flight, so that the shares granted for one slice never add up to more than the limit.
import { type BudgetGrant, type BudgetRequest, SLICE_MS } from '../../temporal/rate-limit-protocol';

/** What the limiter remembers of one slice. */
export interface SliceBook {
  /** Per worker: the rate it asked for (UNBOUNDED: as much as it may have). */
  wants: Record<string, number>;
  /** Requests per second and requests in flight granted so far. */
  rate: number;
  concurrency: number;
  /** Per worker: what it was granted (asking again for the slice gets the same answer). */
  granted: Record<string, { rate?: number; concurrency?: number }>;
}

export interface LimiterBook {
  slices: Record<number, SliceBook>;
  pausedUntil: number;
}

/** "As much as my share": a number, since the book crosses continue-as-new as JSON. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

export function emptyBook(): LimiterBook {
  return { slices: {}, pausedUntil: 0 };
}

/**
 * Max-min fair share of `total` for `me` among `wants` (a worker that wants less than an even
 * split gets what it wants, the rest is split among the others).
 */
export function fairShare(total: number, wants: Record<string, number>, me: string): number {
  const sorted = Object.entries(wants).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  let left = total;
  for (let i = 0; i < sorted.length; i++) {
    const [worker, want] = sorted[i];
    const share = Math.min(want, left / (sorted.length - i));
    if (worker === me) return share;
    left -= share;
  }
  return 0;
}

/**
 * Grants `request` its share of its slice and books it. The workers sharing a slice are those that
 * asked for it or for the one before (a worker that goes quiet leaves after one slice); each gets
 * its fair share of what is left, so a late-comer waits at most a slice for an even split.
 */
export function grantBudget(book: LimiterBook, request: BudgetRequest): BudgetGrant {
  const { slice, worker, limits } = request;
  const sliceStart = slice * SLICE_MS;
  const until = sliceStart + SLICE_MS;
  const from = Math.min(until, Math.max(sliceStart, request.now, book.pausedUntil));
  const current = (book.slices[slice] ??= { wants: {}, rate: 0, concurrency: 0, granted: {} });
  const again = current.granted[worker];
  if (!again) current.wants[worker] = request.wantRate ?? UNBOUNDED;
  // Sharing workers: this slice's askers plus the previous slice's (with their last wants).
  const wants: Record<string, number> = { ...book.slices[slice - 1]?.wants, ...current.wants };
  const workers = Object.keys(wants).length;
  const grant: BudgetGrant = { slice, from, until, pausedUntil: book.pausedUntil, workers };
  if (again) {
    // A worker that asks twice (its first answer was lost) gets the same share, not a second one.
    if (again.rate !== undefined) grant.requestsPerSecond = again.rate;
    if (again.concurrency !== undefined) grant.concurrency = again.concurrency;
    return grant;
  }
  if (limits.requestsPerSecond !== undefined) {
    const share = fairShare(limits.requestsPerSecond, wants, worker);
    grant.requestsPerSecond = Math.max(0, Math.min(share, limits.requestsPerSecond - current.rate));
    current.rate += grant.requestsPerSecond;
  }
  if (limits.concurrency !== undefined) {
    const even = Object.fromEntries(Object.keys(wants).map((w) => [w, UNBOUNDED]));
    const share = Math.max(1, Math.floor(fairShare(limits.concurrency, even, worker)));
    grant.concurrency = Math.max(0, Math.min(share, limits.concurrency - current.concurrency));
    current.concurrency += grant.concurrency;
  }
  current.granted[worker] = { rate: grant.requestsPerSecond, concurrency: grant.concurrency };
  // A worker asks for the running slice or the next one, which reads the one before.
  for (const key of Object.keys(book.slices)) if (Number(key) < slice - 2) delete book.slices[Number(key)];
  return grant;
}

/** A Retry-After some worker got: every later grant carries it (an earlier pause never shortens a later one). */
export function bookPause(book: LimiterBook, until: number): void {
  book.pausedUntil = Math.max(book.pausedUntil, until);
}
