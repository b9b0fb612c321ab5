// Retrying a provider call until the run's deadline, on a fake clock: which failures retry, how
// long each wait is (doubling, capped at 5 s, Retry-After winning), and what happens at the deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlinePassedError, untilDeadline, type RetryClock } from '../src/activities/provider/until-deadline';
import { ScimHttpError, ScimNetworkError } from '../src/http';

function fakeClock(): RetryClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return { waits, now: () => now, sleep: async (ms) => void (waits.push(ms), (now += ms)) };
}

const http = (status: number, retryAfterMs?: number) =>
  new ScimHttpError({
    method: 'POST',
    path: '/Users',
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
const refused = () =>
  new ScimNetworkError('POST', '/Users', { timedOut: false, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });

/** Fails with the given errors in turn, then answers 'ok'. */
function failing(errors: Error[]): () => Promise<string> {
  let calls = 0;
  return async () => {
    const err = errors[calls++];
    if (err) throw err;
    return 'ok';
  };
}

describe('untilDeadline', () => {
  it('retries 429, 5xx and refused connections with a backoff doubling up to 5 s; Retry-After wins', async () => {
    const clock = fakeClock();
    const errors = [http(503), refused(), http(500), http(502), http(504), http(503), http(429, 9000), http(503)];
    assert.equal(await untilDeadline(3_600_000, failing(errors), clock), 'ok');
    assert.deepEqual(clock.waits, [250, 500, 1000, 2000, 4000, 5000, 9000, 5000]);
  });

  it('does not retry a non-retryable answer', async () => {
    const clock = fakeClock();
    for (const status of [400, 403, 404, 409, 412, 501]) {
      await assert.rejects(
        untilDeadline(3_600_000, failing([http(status)]), clock),
        (err: unknown) => err instanceof ScimHttpError && err.status === status,
      );
    }
    assert.deepEqual(clock.waits, []);
  });

  it('gives up only when the next wait would pass the deadline, naming the last failure', async () => {
    const clock = fakeClock();
    const outage = Array.from({ length: 100 }, () => http(503));
    await assert.rejects(untilDeadline(20_000, failing(outage), clock), (err: unknown) => {
      assert.ok(err instanceof DeadlinePassedError);
      assert.match(
        err.message,
        /still failing at the run's retry deadline after 8 attempts: SCIM POST \/Users failed: HTTP 503/,
      );
      return true;
    });
    assert.deepEqual(clock.waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});
