// One rate limit per tenant, shared by every request this worker process sends to it (every
// activity, every client instance): after a 429 or 503 with Retry-After no request goes to the
// tenant before that time, and optional limits cap requests per second and requests in flight.
//
// Worker-side rather than Temporal's maxTaskQueueActivitiesPerSecond on a per-tenant task queue:
// the limit must hold per HTTP request (a slice activity sends hundreds, a Bulk 409 settlement
// dozens), and a Retry-After must hold back requests already inside running activities. Each
// worker process has its own gate, so with N workers the configured rate is per worker.
//
// The shared pause holds requests for at most MAX_SHARED_PAUSE_MS: a longer Retry-After (CXone's
// are seconds) is honoured by the activity that got it through Temporal's durable retry delay
// (nextRetryDelay), which a worker's wall clock must not outlast — under a time-skipping test
// server that delay passes in virtual time, and a worker-side hour would stall the retry.

export interface GateLimits {
  /** Requests started per second at most (token bucket, burst of one second). */
  requestsPerSecond?: number;
  /** Requests in flight at once at most. */
  concurrency?: number;
}

/** The longest a Retry-After holds every request of the worker back (see above). */
export const MAX_SHARED_PAUSE_MS = 20_000;

export class RequestGate {
  #pausedUntil = 0;
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];
  #tokens: number;
  #refilledAt = Date.now();

  constructor(readonly limits: GateLimits = {}) {
    this.#tokens = limits.requestsPerSecond ?? 0;
  }

  /** No request before `epochMs` (a Retry-After, at most 20 s ahead); an earlier pause never shortens a later one. */
  pauseUntil(epochMs: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Math.min(epochMs, Date.now() + MAX_SHARED_PAUSE_MS));
  }

  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** Runs `send` once the pause is over, a slot is free and the rate allows. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    await this.#slot();
    try {
      await this.#clear();
      return await send();
    } finally {
      this.#release();
    }
  }

  async #clear(): Promise<void> {
    for (;;) {
      const now = Date.now();
      // A token is taken only once the pause is over.
      const wait = this.#pausedUntil > now ? this.#pausedUntil - now : this.#rateWait(now);
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** 0 and a token taken when the rate allows a request now, else how long until it does. */
  #rateWait(now: number): number {
    const rate = this.limits.requestsPerSecond;
    if (!rate) return 0;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / rate) * 1000);
  }

  async #slot(): Promise<void> {
    const max = this.limits.concurrency;
    if (max === undefined || this.#inFlight < max) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next)
      next(); // the slot passes straight on
    else this.#inFlight--;
  }
}

/** The gates of one worker process, one per tenant. */
export class RequestGates {
  readonly #gates = new Map<string, RequestGate>();

  for(tenantId: string, limits: GateLimits = {}): RequestGate {
    let gate = this.#gates.get(tenantId);
    if (!gate) {
      gate = new RequestGate(limits);
      this.#gates.set(tenantId, gate);
    }
    return gate;
  }
}
