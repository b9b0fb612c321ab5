// Fault-injection switches. Everything is deterministic so that tests can count on it:
// rate limits count requests, random faults come from a seeded generator.

export type RateLimit =
  /** Every Nth request (N, 2N, …) gets 429. */
  | { mode: 'everyNth'; n: number }
  /** The first N requests after the switch is set get 429, then all pass. */
  | { mode: 'firstN'; n: number }
  /** Token bucket: `capacity` requests in a burst, refilled at `refillPerSecond`. */
  | { mode: 'tokenBucket'; capacity: number; refillPerSecond: number };

export interface Switches {
  rateLimit: RateLimit | null;
  /** Retry-After (seconds) sent with 429 and 503. Token-bucket 429s compute their own. */
  retryAfterSeconds: number;
  /** Probability (0..1) that a request fails with `failStatus`. */
  failRate: number;
  /** The next N requests fail with `failStatus` (decremented as they happen). */
  failNext: number;
  failStatus: number;
  /** Added to every request before it is handled. */
  latencyMs: number;
  /** Bulk requests are processed asynchronously (202 + job) even without `Prefer: respond-async`. */
  asyncBulk: boolean;
  /** How long an async bulk job stays `running` before its operations are applied. */
  asyncJobDurationMs: number;
  /** PUT /ServiceProviderConfig answers 405, as an RFC 7644 §4 read-only provider would. */
  readOnlySpc: boolean;
  /**
   * How list filters behave, to imitate servers clients meet: `rfc` (caseExact=false attributes
   * such as userName compare ignoring case), `caseExact` (every `eq` compares exactly), `ignored`
   * (the filter is dropped: every resource is listed), `eqOnly` (only one `attribute eq value`
   * comparison; `and`, `or` and other operators answer 400 invalidFilter).
   */
  filterMode: FilterMode;
  /** Mimics a non-compliant server: PATCH /Groups answers 200 to a filtered member removal and does nothing. */
  groupPatchNoop: boolean;
  /** /ResourceTypes lists no Group (as CXone documents none). */
  hideGroups: boolean;
}

export type FilterMode = 'rfc' | 'caseExact' | 'ignored' | 'eqOnly';

export const DEFAULT_SWITCHES: Switches = {
  rateLimit: null,
  retryAfterSeconds: 1,
  failRate: 0,
  failNext: 0,
  failStatus: 503,
  latencyMs: 0,
  asyncBulk: false,
  asyncJobDurationMs: 250,
  readOnlySpc: false,
  filterMode: 'rfc',
  groupPatchNoop: false,
  hideGroups: false,
};

export interface Verdict {
  status: number;
  retryAfterSeconds?: number;
  detail: string;
}

const isNonNegative = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

function checkRateLimit(r: unknown): string | undefined {
  if (r === null) return undefined;
  const v = r as Record<string, unknown>;
  if (v?.mode === 'everyNth' || v?.mode === 'firstN')
    return isPositiveInt(v.n) ? undefined : `rateLimit.n must be a positive integer`;
  if (v?.mode === 'tokenBucket') {
    return isPositiveInt(v.capacity) && isNonNegative(v.refillPerSecond) && (v.refillPerSecond as number) > 0
      ? undefined
      : 'rateLimit needs a positive integer capacity and a positive refillPerSecond';
  }
  return 'rateLimit.mode must be everyNth, firstN or tokenBucket (or rateLimit null)';
}

const CHECKS: { [K in keyof Switches]: (v: unknown) => string | undefined } = {
  rateLimit: checkRateLimit,
  retryAfterSeconds: (v) => (isNonNegative(v) ? undefined : 'retryAfterSeconds must be a number >= 0'),
  failRate: (v) => (isNonNegative(v) && (v as number) <= 1 ? undefined : 'failRate must be between 0 and 1'),
  failNext: (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'failNext must be an integer >= 0'),
  failStatus: (v) =>
    Number.isInteger(v) && (v as number) >= 500 && (v as number) <= 599 ? undefined : 'failStatus must be a 5xx status',
  latencyMs: (v) => (isNonNegative(v) ? undefined : 'latencyMs must be a number >= 0'),
  asyncBulk: (v) => (typeof v === 'boolean' ? undefined : 'asyncBulk must be a boolean'),
  asyncJobDurationMs: (v) => (isNonNegative(v) ? undefined : 'asyncJobDurationMs must be a number >= 0'),
  readOnlySpc: (v) => (typeof v === 'boolean' ? undefined : 'readOnlySpc must be a boolean'),
  filterMode: (v) =>
    v === 'rfc' || v === 'caseExact' || v === 'ignored' || v === 'eqOnly'
      ? undefined
      : 'filterMode must be rfc, caseExact, ignored or eqOnly',
  groupPatchNoop: (v) => (typeof v === 'boolean' ? undefined : 'groupPatchNoop must be a boolean'),
  hideGroups: (v) => (typeof v === 'boolean' ? undefined : 'hideGroups must be a boolean'),
};

/** Throws an Error listing every invalid or unknown switch. */
export function validateSwitches(partial: Record<string, unknown>): Partial<Switches> {
  const problems = Object.entries(partial).map(([key, value]) =>
    key in CHECKS ? CHECKS[key as keyof Switches](value) : `unknown switch "${key}"`,
  );
  const errors = problems.filter((p): p is string => p !== undefined);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return partial as Partial<Switches>;
}

/** mulberry32: a tiny seeded PRNG, so that a failRate run can be replayed exactly. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SwitchBoard {
  readonly switches: Switches;
  private readonly random: () => number;
  /** Rate-limit state belongs to one rateLimit object; replacing the object resets it. */
  private limitState: { of: RateLimit | null; count: number; tokens: number; refilledAt: number } = {
    of: null,
    count: 0,
    tokens: 0,
    refilledAt: 0,
  };

  constructor(initial: Partial<Switches>, seed: number) {
    this.switches = { ...DEFAULT_SWITCHES, ...validateSwitches(initial) };
    this.random = seededRandom(seed);
  }

  set(partial: Record<string, unknown>): Switches {
    Object.assign(this.switches, validateSwitches(partial));
    return this.switches;
  }

  /** Latency, then rate limit, then injected faults. Returns the refusal, if any. */
  async judge(): Promise<Verdict | undefined> {
    const s = this.switches;
    if (s.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, s.latencyMs).unref());
    const limited = this.rateLimited();
    if (limited !== undefined)
      return { status: 429, retryAfterSeconds: limited, detail: 'Too many requests (sandbox rate limit)' };
    if (s.failNext > 0) {
      s.failNext -= 1;
      return this.fault();
    }
    if (s.failRate > 0 && this.random() < s.failRate) return this.fault();
    return undefined;
  }

  private fault(): Verdict {
    const status = this.switches.failStatus;
    return {
      status,
      retryAfterSeconds: status === 503 ? this.switches.retryAfterSeconds : undefined,
      detail: `Injected fault (sandbox switch): ${status}`,
    };
  }

  /** Retry-After seconds when this request is over the limit, else undefined. */
  private rateLimited(): number | undefined {
    const limit = this.switches.rateLimit;
    if (!limit) return undefined;
    const state = this.limitState;
    const now = Date.now();
    if (state.of !== limit) {
      this.limitState = {
        of: limit,
        count: 0,
        tokens: limit.mode === 'tokenBucket' ? limit.capacity : 0,
        refilledAt: now,
      };
      return this.rateLimited();
    }
    state.count += 1;
    switch (limit.mode) {
      case 'everyNth':
        return state.count % limit.n === 0 ? this.switches.retryAfterSeconds : undefined;
      case 'firstN':
        return state.count <= limit.n ? this.switches.retryAfterSeconds : undefined;
      case 'tokenBucket': {
        state.tokens = Math.min(
          limit.capacity,
          state.tokens + ((now - state.refilledAt) / 1000) * limit.refillPerSecond,
        );
        state.refilledAt = now;
        if (state.tokens >= 1) {
          state.tokens -= 1;
          return undefined;
        }
        return Math.max(1, Math.ceil((1 - state.tokens) / limit.refillPerSecond));
      }
    }
  }
}
