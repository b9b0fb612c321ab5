// What a worker learns about one tenant from its answers, for the worker's life (memory only: a
// restarted worker learns again, at the cost of one refused request per fact). Nothing optional is
// ever required: a refused `or` filter, PATCH, or optional query parameter (`attributes`,
// `excludedAttributes`, `count`, `sortBy`) is remembered here and the plainer shape used from then
// on. And one request that keeps failing the same way while the tenant answers others is not an
// outage: after enough identical failures over a long enough span it is reported as persistent, so
// that the record or group fails with the answer instead of being retried until the run's deadline.
import type { CapabilityName, CapabilitySettings, LearntCapabilities } from '../scim/capabilities';

/** Optional query parameters, and the capability that allows each. */
export const OPTIONAL_PARAMETERS: Readonly<Record<string, CapabilityName>> = {
  attributes: 'attributes',
  excludedAttributes: 'excludedAttributes',
  count: 'count',
  sortBy: 'sort',
  sortOrder: 'sort',
};

export interface IdenticalFailureRule {
  /** Consecutive identical failures of one request before it can be called persistent. Default 5. */
  attempts: number;
  /** ...spanning at least this long (so that a burst of random 5xx is still retried). Default 30 s. */
  spanMs: number;
}

export const DEFAULT_IDENTICAL_FAILURES: IdenticalFailureRule = { attempts: 5, spanMs: 30_000 };

interface FailureStreak {
  signature: string;
  count: number;
  firstAt: number;
}

export class TenantDialect {
  readonly #configured: CapabilitySettings;
  readonly #learnt = new Map<string, string>();
  readonly #streaks = new Map<string, FailureStreak>();
  readonly identicalFailures: IdenticalFailureRule;

  constructor(configured: CapabilitySettings = {}, identicalFailures: Partial<IdenticalFailureRule> = {}) {
    this.#configured = configured;
    this.identicalFailures = { ...DEFAULT_IDENTICAL_FAILURES, ...identicalFailures };
  }

  /**
   * Whether to use an optional shape. `method` narrows a query parameter's refusal to the method
   * it was refused for (a server may take `attributes` on GET but not on PATCH).
   */
  allows(capability: CapabilityName, method?: string): boolean {
    if (this.#configured[capability] === false) return false;
    return !this.#learnt.has(capability) && !(method && this.#learnt.has(`${method} ${capability}`));
  }

  /** Remembers a refusal, with what the provider answered. */
  learn(capability: CapabilityName, reason: string, method?: string): void {
    const key = method && method !== 'GET' ? `${method} ${capability}` : capability;
    if (!this.#learnt.has(key)) this.#learnt.set(key, reason);
  }

  /** Capabilities learnt off for every request (query parameters refused on GET, PATCH, `or`). */
  learnt(): LearntCapabilities {
    return Object.fromEntries([...this.#learnt].filter(([key]) => !key.includes(' '))) as LearntCapabilities;
  }

  /** Every refusal, including those for one method only (`PATCH attributes`), for reports. */
  refusals(): Record<string, string> {
    return Object.fromEntries(this.#learnt);
  }

  /** `userName eq … or externalId eq …` in one lookup, until the provider refuses it. */
  get or(): boolean {
    return this.allows('filterOr');
  }

  set or(value: boolean) {
    if (!value) this.learn('filterOr', 'the provider refused a filter with `or` and answered it without');
  }

  /**
   * Counts a failure of one request shape; true when it has now failed identically often enough,
   * for long enough, to be a candidate for "persistent" (the caller then checks the tenant answers).
   */
  noteFailure(shape: string, signature: string, now = Date.now()): boolean {
    const streak = this.#streaks.get(shape);
    const next =
      streak && streak.signature === signature
        ? { ...streak, count: streak.count + 1 }
        : { signature, count: 1, firstAt: now };
    this.#streaks.set(shape, next);
    if (this.#streaks.size > 10_000) this.#streaks.delete(this.#streaks.keys().next().value as string);
    return next.count >= this.identicalFailures.attempts && now - next.firstAt >= this.identicalFailures.spanMs;
  }

  /** How many times in a row this shape has failed identically. */
  failuresOf(shape: string): number {
    return this.#streaks.get(shape)?.count ?? 0;
  }

  noteSuccess(shape: string): void {
    this.#streaks.delete(shape);
  }
}

/** One TenantDialect per tenant, for the worker's life. */
export class TenantDialects {
  readonly #byTenant = new Map<string, TenantDialect>();

  for(
    tenantId: string,
    configured: CapabilitySettings = {},
    identicalFailures: Partial<IdenticalFailureRule> = {},
  ): TenantDialect {
    let dialect = this.#byTenant.get(tenantId);
    if (!dialect) this.#byTenant.set(tenantId, (dialect = new TenantDialect(configured, identicalFailures)));
    return dialect;
  }
}
