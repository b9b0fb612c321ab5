// Signed delivery of user lifecycle events to webhook subscribers, in order per subscriber, with
// bounded retries and exponential backoff. Every attempt of one event carries the same eventId (receivers dedupe on
// it) and a fresh timestamp + signature, in the scheme the sandbox is configured with (so a late retry is not rejected as stale).
import { randomUUID } from 'node:crypto';
import { signWith, type SigningScheme } from './signing';
import type { UserEventType } from './resources';
import type { Store, Subscription } from './store';
import type { Attrs } from './validate';

export interface DeliveryRetry {
  /** Total attempts per event and subscriber, the first included. */
  attempts: number;
  /** Delay before the second attempt; doubles for each further one. */
  initialDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
}

export interface WebhookEvent {
  eventId: string;
  eventType: UserEventType;
  userId: string;
  timestamp: string;
  tenantId: string;
  user: Attrs;
}

export interface DeliveryRecord {
  eventId: string;
  eventType: UserEventType;
  subscriptionId: string;
  url: string;
  attempt: number;
  /** HTTP status of the subscriber's answer; absent on a network error or timeout. */
  status?: number;
  ok: boolean;
  error?: string;
  at: string;
}

interface DeliveryJob {
  event: WebhookEvent;
  rawBody: string;
  subscription: Subscription;
}

const LOG_LIMIT = 10_000;

/**
 * Each subscriber gets its events in order: one event at a time, the next one only after the
 * previous one was delivered or given up on (so a retry delays what follows, as on CXone).
 */
export class Deliveries {
  readonly log: DeliveryRecord[] = [];
  /** subscription id → the end of its delivery queue */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<AbortController>();
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly options: {
      secret: string;
      scheme: SigningScheme;
      tenantId: string;
      retry: Required<DeliveryRetry>;
    },
  ) {}

  /** Queues the event for every subscriber of its type; returns the event. */
  publish(eventType: UserEventType, user: Attrs): WebhookEvent {
    const event: WebhookEvent = {
      eventId: randomUUID(),
      eventType,
      userId: String(user.id),
      timestamp: new Date().toISOString(),
      tenantId: this.options.tenantId,
      user,
    };
    if (this.closed) return event;
    const rawBody = JSON.stringify(event);
    for (const subscription of this.store.subscriptions.values()) {
      if (!subscription.events.includes(eventType)) continue;
      this.pending += 1;
      const previous = this.queues.get(subscription.id) ?? Promise.resolve();
      const next = previous.then(() => this.deliver({ event, rawBody, subscription }));
      this.queues.set(subscription.id, next);
      void next.then(() => {
        if (this.queues.get(subscription.id) === next) this.queues.delete(subscription.id);
        this.pending -= 1;
        this.settle();
      });
    }
    return event;
  }

  /** Resolves once no delivery is in flight or waiting for a retry. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort();
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
  }

  /** Attempts until a 2xx, up to retry.attempts, waiting initialDelayMs × 2^(n-1) in between. */
  private async deliver(job: DeliveryJob): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      const record = await this.attempt(job, attempt);
      if (this.closed) return;
      this.log.push(record);
      if (this.log.length > LOG_LIMIT) this.log.shift();
      if (record.ok || attempt >= this.options.retry.attempts) return;
      await this.sleep(this.options.retry.initialDelayMs * 2 ** (attempt - 1));
    }
  }

  private async attempt(job: DeliveryJob, attempt: number): Promise<DeliveryRecord> {
    const { event, rawBody, subscription } = job;
    const timestamp = Math.floor(Date.now() / 1000);
    const { scheme } = this.options;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.options.retry.timeoutMs).unref();
    this.inFlight.add(controller);
    const record: DeliveryRecord = {
      eventId: event.eventId,
      eventType: event.eventType,
      subscriptionId: subscription.id,
      url: subscription.url,
      attempt,
      ok: false,
      at: new Date().toISOString(),
    };
    try {
      const response = await fetch(subscription.url, {
        method: 'POST',
        body: rawBody,
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'cxone-scim-sandbox',
          [scheme.timestampHeader]: String(timestamp),
          [scheme.signatureHeader]: signWith(scheme, this.options.secret, timestamp, rawBody),
          ...(scheme.deliveryIdHeader ? { [scheme.deliveryIdHeader]: event.eventId } : {}),
        },
      });
      await response.arrayBuffer(); // drain, so that the connection can be reused
      record.status = response.status;
      record.ok = response.status >= 200 && response.status < 300;
    } catch (err) {
      record.error = controller.signal.aborted ? 'timeout or shutdown' : String((err as Error).cause ?? err);
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }
    return record;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.sleepers.set(timer, resolve);
    });
  }

  private settle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
}
