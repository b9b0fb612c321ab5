// The per-tenant request gate: a Retry-After pauses every request, concurrency is capped, and a
// request rate is kept. Ordering is asserted, never speed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestGate, RequestGates } from '../src/http';
import { MAX_SHARED_PAUSE_MS } from '../src/http/request-gate';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => undefined as void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RequestGate (one rate limit per tenant, worker-side)', () => {
  it('holds every request back until a Retry-After pause is over; a shorter pause never shortens it', async () => {
    const gate = new RequestGate();
    const until = Date.now() + 150;
    gate.pauseUntil(until);
    gate.pauseUntil(until - 100);
    assert.equal(gate.pausedUntil, until);
    const started = await Promise.all([1, 2, 3].map(() => gate.run(async () => Date.now())));
    for (const at of started) assert.ok(at >= until, `a request went ${until - at} ms before the pause ended`);
  });

  it('never has more than `concurrency` requests in flight, and serves them all', async () => {
    const gate = new RequestGate({ concurrency: 2 });
    let inFlight = 0;
    let peak = 0;
    const releases = Array.from({ length: 6 }, deferred);
    const runs = releases.map((d, i) =>
      gate.run(async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await d.promise;
        inFlight--;
        return i;
      }),
    );
    for (const d of releases) {
      await new Promise((r) => setImmediate(r));
      d.resolve();
    }
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5]);
    assert.equal(peak, 2);
  });

  it("keeps a request rate: the requests after the first second's burst wait for tokens", async () => {
    const gate = new RequestGate({ requestsPerSecond: 20 });
    const first = Date.now();
    const started = await Promise.all(Array.from({ length: 25 }, () => gate.run(async () => Date.now())));
    // 20 tokens at once, then one per 50 ms: the 25th cannot start before 5 more tokens exist.
    const last = Math.max(...started);
    assert.ok(last - first >= 5 * 50 - 5, `25 requests started within ${last - first} ms at 20/s`);
  });

  it('a long Retry-After holds the others back for at most 20 s (the failing activity waits it out through Temporal)', () => {
    const gate = new RequestGate();
    const before = Date.now();
    gate.pauseUntil(before + 3_600_000);
    assert.ok(gate.pausedUntil <= Date.now() + MAX_SHARED_PAUSE_MS && gate.pausedUntil >= before + MAX_SHARED_PAUSE_MS);
  });

  it('one gate per tenant for the whole process', () => {
    const gates = new RequestGates();
    assert.equal(gates.for('a'), gates.for('a', { concurrency: 3 }));
    assert.notEqual(gates.for('a'), gates.for('b'));
  });
});
