// One rate limit per tenant, shared by every request this worker process sends to it (every
// activity, every client instance): after a 429 or 503 with Retry-After no request goes to the
// tenant before that time, and optional limits cap requests per second and requests in flight.
//
// Worker-side rather than Temporal's maxTaskQueueActivitiesPerSecond on a per-tenant task queue:
// the limit must hold per HTTP request (a slice activity sends hundreds, a Bulk 409 settlement
// dozens), and a Retry-After must hold back requests already inside running activities.
//
// Alone, each worker process has its own gate, so with N workers the configured rate would be per
// worker. Given a FleetBudget (the tenant's limiter, shared by every worker: see
// src/activities/rate-limit.ts and docs/fleet.md) the gate instead spends, slice by slice, the share
// of the tenant's limits the fleet granted this process, and a Retry-After it gets is passed on
// to the fleet; the gate stays the one place where a request waits.
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

/** This process's share of the tenant's limits for one slice of time (see FleetBudget). */
export interface FleetGrant {
  slice: number;
  /** Requests may start at `requestsPerSecond` from `from` until `until` (epoch ms). */
  from: number;
  until: number;
  /** Absent: no rate limit. */
  requestsPerSecond?: number;
  /** Absent: no concurrency limit. */
  concurrency?: number;
  /** A Retry-After another worker got: no request before this (0: none). */
  pausedUntil: number;
}

/** The tenant's limits shared by a fleet of worker processes, handed out slice by slice. */
export interface FleetBudget {
  /** Length of a slice: slice n is [n × sliceMs, (n + 1) × sliceMs) in epoch ms. */
  readonly sliceMs: number;
  /**
   * This process's grant for `slice`. `wantRate` is the rate this process could use (undefined: as
   * much as its share). Never rejects: when the fleet cannot be asked it answers a cautious share.
   */
  grant(slice: number, now: number, wantRate: number | undefined): Promise<FleetGrant>;
  /** Tells the other workers about a Retry-After (best effort). */
  pause(until: number): void;
}

/** The longest a Retry-After holds every request of the worker back (see above). */
export const MAX_SHARED_PAUSE_MS = 20_000;

/** In a fleet, a worker bursts at most this many seconds of its share, so that the fleet's bursts stay small. */
const FLEET_BURST_SECONDS = 0.25;

export class RequestGate {
  #pausedUntil = 0;
  #inFlight = 0;
  /** Requests inside run() that have not started sending yet. */
  #queued = 0;
  readonly #waiting: Array<() => void> = [];
  #tokens: number;
  #refilledAt = Date.now();
  readonly #fleet?: FleetBudget;
  /** Fleet grants by slice: the running slice's and, once asked, the next one's. */
  readonly #grants = new Map<number, Promise<FleetGrant>>();
  #grant?: FleetGrant;
  #startedInSlice = 0;
  #refreshTimer?: NodeJS.Timeout;

  constructor(
    readonly limits: GateLimits = {},
    fleet?: FleetBudget,
  ) {
    this.#fleet = fleet;
    this.#tokens = fleet ? 1 : (limits.requestsPerSecond ?? 0);
  }

  /** No request before `epochMs` (a Retry-After, at most 20 s ahead); an earlier pause never shortens a later one. */
  pauseUntil(epochMs: number): void {
    this.#hold(epochMs);
    this.#fleet?.pause(this.#pausedUntil);
  }

  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** Runs `send` once the pause is over, a slot is free and the rate allows. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    this.#queued++;
    let queued = true;
    try {
      // In a fleet the concurrency share comes with the grant.
      if (this.#fleet) await this.#grantAt(Date.now());
      await this.#slot();
      try {
        await this.#clear();
        this.#queued--;
        queued = false;
        this.#startedInSlice++;
        return await send();
      } finally {
        this.#release();
      }
    } finally {
      if (queued) this.#queued--;
    }
  }

  #hold(epochMs: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Math.min(epochMs, Date.now() + MAX_SHARED_PAUSE_MS));
  }

  async #clear(): Promise<void> {
    for (;;) {
      const now = Date.now();
      let wait: number;
      if (this.#pausedUntil > now) {
        wait = this.#pausedUntil - now; // a token is taken only once the pause is over
      } else if (this.#fleet) {
        const grant = await this.#grantAt(now);
        const at = Date.now();
        if (at < grant.from) wait = grant.from - at;
        else if (grant.requestsPerSecond === 0) wait = grant.until - at;
        else wait = this.#rateWait(at, grant.requestsPerSecond, FLEET_BURST_SECONDS);
        if (wait > 0) wait = Math.min(wait, Math.max(1, grant.until - at));
      } else {
        wait = this.#rateWait(now, this.limits.requestsPerSecond, 1);
      }
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** 0 and a token taken when the rate allows a request now, else how long until it does. */
  #rateWait(now: number, rate: number | undefined, burstSeconds: number): number {
    if (!rate) return 0;
    const capacity = Math.max(1, rate * burstSeconds);
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / rate) * 1000);
  }

  /** The fleet grant for the slice holding `now`; past half the slice, the next one is asked for ahead. */
  async #grantAt(now: number): Promise<FleetGrant> {
    const fleet = this.#fleet as FleetBudget;
    const slice = Math.floor(now / fleet.sliceMs);
    const grant = await this.#ask(slice, now);
    if (this.#grant !== grant) {
      if (!this.#grant || grant.slice >= this.#grant.slice) this.#startedInSlice = 0;
      this.#grant = grant;
      this.#hold(grant.pausedUntil);
      this.#pump();
      for (const key of this.#grants.keys()) if (key < slice) this.#grants.delete(key);
    }
    if (now - slice * fleet.sliceMs >= fleet.sliceMs / 2) void this.#ask(slice + 1, now);
    return grant;
  }

  #ask(slice: number, now: number): Promise<FleetGrant> {
    let asked = this.#grants.get(slice);
    if (!asked) {
      asked = (this.#fleet as FleetBudget).grant(slice, now, this.#wantRate(now));
      this.#grants.set(slice, asked);
    }
    return asked;
  }

  /** The rate this process could use: its share when requests are waiting, else twice what it sends. */
  #wantRate(now: number): number | undefined {
    if (this.#queued > 0 || !this.#grant) return undefined;
    const elapsed = Math.max(100, now - this.#grant.from);
    return Math.max(1, (2 * this.#startedInSlice * 1000) / elapsed);
  }

  #maxInFlight(): number {
    const fleetShare = this.#fleet ? this.#grant?.concurrency : undefined;
    return Math.min(fleetShare ?? Number.POSITIVE_INFINITY, this.limits.concurrency ?? Number.POSITIVE_INFINITY);
  }

  async #slot(): Promise<void> {
    if (this.#waiting.length === 0 && this.#inFlight < this.#maxInFlight()) {
      this.#inFlight++;
      return;
    }
    const slot = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#refreshAtSliceEnd();
    await slot;
  }

  #release(): void {
    this.#inFlight--;
    this.#pump();
  }

  /** Lets waiting requests in while slots are free (a new grant may have more). */
  #pump(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight()) {
      this.#inFlight++;
      (this.#waiting.shift() as () => void)();
    }
    if (this.#waiting.length > 0) this.#refreshAtSliceEnd();
  }

  /** Requests waiting for a slot the fleet did not grant: ask for the next slice's grant when this one ends. */
  #refreshAtSliceEnd(): void {
    if (!this.#fleet || !this.#grant || this.#refreshTimer) return;
    const wait = Math.max(1, this.#grant.until - Date.now());
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#grantAt(Date.now()).then(() => this.#pump());
    }, wait);
    this.#refreshTimer.unref();
  }
}

/** The gates of one worker process, one per tenant. */
export class RequestGates {
  readonly #gates = new Map<string, RequestGate>();

  /** `fleet` is called once, when the tenant's gate is made: the tenant's limits then hold for the whole fleet. */
  for(tenantId: string, limits: GateLimits = {}, fleet?: () => FleetBudget | undefined): RequestGate {
    let gate = this.#gates.get(tenantId);
    if (!gate) {
      gate = new RequestGate(limits, fleet?.());
      this.#gates.set(tenantId, gate);
    }
    return gate;
  }
}
