import type { IssuedToken } from './endpoint';

const MAX_REFRESH_MARGIN_MS = 60_000;

export interface CachedToken {
  value: string;
  apiBase?: string;
  /** Epoch ms; undefined for a token that never expires. */
  expiresAt?: number;
  refreshAt: number;
}

/**
 * Tokens by key until shortly before expiry. Concurrent callers of one key share one request;
 * a failed request is not cached.
 */
export class TokenCache {
  readonly #cache = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<CachedToken>>();

  constructor(private readonly now: () => number) {}

  get(key: string, request: () => Promise<IssuedToken>): Promise<CachedToken> {
    const cached = this.#cache.get(key);
    if (cached && this.now() < cached.refreshAt) return Promise.resolve(cached);
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = request()
        .then((issued) => {
          const token = toCached(issued);
          this.#cache.set(key, token);
          return token;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Forgets the key's token after a 401 — only if it is still the rejected one, so a burst of
   * 401s on one old token causes one refresh, not many.
   */
  invalidate(key: string, rejectedToken: string): void {
    if (this.#cache.get(key)?.value === rejectedToken) this.#cache.delete(key);
  }
}

function toCached(issued: IssuedToken): CachedToken {
  if (issued.lifetimeMs === undefined) return { value: issued.value, apiBase: issued.apiBase, refreshAt: Infinity };
  const expiresAt = issued.requestedAt + issued.lifetimeMs;
  // Refresh early enough that a token never expires in flight: 60 s or 10% of its life, whichever is less.
  const refreshAt = expiresAt - Math.min(MAX_REFRESH_MARGIN_MS, issued.lifetimeMs / 10);
  return { value: issued.value, apiBase: issued.apiBase, expiresAt, refreshAt };
}
