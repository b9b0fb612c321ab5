// The load generator's side of the webhook bench: deliveries signed before the clock starts and
// sent over keep-alive node:http sockets. On a 2-core machine the sender shares the CPU with the
// receiver, the worker and the Temporal server, and fetch costs several times the CPU per request
// of node:http; whatever the sender spends is taken from the receiver's budget, which the
// baseline (a bare Temporal client) never pays. CXone signs and sends on its own machines.
import http from 'node:http';
import type { LifecycleEvent } from '../src/scim/lifecycle-events';
import { DEFAULT_SCHEME, signedHeaders } from '../src/http/webhook-signature';

export interface SignedRequest {
  event: LifecycleEvent;
  body: Buffer;
  headers: Record<string, string>;
}

/** Serialises and signs (default scheme) now: the timestamp stays within the receiver's tolerance for minutes. */
export function signDeliveries(events: LifecycleEvent[], secret: string): SignedRequest[] {
  const timestamp = Math.floor(Date.now() / 1000);
  return events.map((event) => {
    const body = Buffer.from(JSON.stringify(event));
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...signedHeaders(DEFAULT_SCHEME, secret, body, timestamp, event.eventId),
    };
    return { event, body, headers };
  });
}

/** POSTs signed deliveries to one URL over at most `sockets` keep-alive connections; resolves to the status. */
export class KeepAliveSender {
  private readonly agent: http.Agent;

  constructor(
    private readonly url: string,
    sockets: number,
    private readonly timeoutMs = 60_000,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  send(request: SignedRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      const outgoing = http.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: request.headers, timeout: this.timeoutMs },
        (response) => {
          response.resume(); // the body is not needed, only that it was read to the end
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
