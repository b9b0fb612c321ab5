// The receiver's back-pressure: a fixed number of slots to Temporal, the rest wait in FIFO order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Slots, type Slot } from '../src/webhooks/slots';

describe('webhook receiver slots', () => {
  it('grants up to its size at once, then hands each released slot to the longest waiter', async () => {
    const gauge = { inFlight: 0, waiting: 0 };
    const slots = new Slots(2, 60_000, gauge);
    const first = (await slots.acquire()) as Slot;
    const second = (await slots.acquire()) as Slot;
    assert.deepEqual(gauge, { inFlight: 2, waiting: 0 });

    const granted: string[] = [];
    const third = slots.acquire().then((slot) => (granted.push('third'), slot as Slot));
    const fourth = slots.acquire().then((slot) => (granted.push('fourth'), slot as Slot));
    assert.deepEqual(gauge, { inFlight: 2, waiting: 2 });

    first.release();
    first.release(); // a second release of the same slot frees nothing more
    const thirdSlot = await third;
    assert.deepEqual(granted, ['third']);
    assert.deepEqual(gauge, { inFlight: 2, waiting: 1 });

    second.release();
    const fourthSlot = await fourth;
    assert.deepEqual(granted, ['third', 'fourth']);
    thirdSlot.release();
    fourthSlot.release();
    assert.deepEqual(gauge, { inFlight: 0, waiting: 0 });
  });

  it('answers undefined to a waiter that got no slot within maxWaitMs, and forgets it', async () => {
    const gauge = { inFlight: 0, waiting: 0 };
    const slots = new Slots(1, 20, gauge);
    const held = (await slots.acquire()) as Slot;
    assert.equal(await slots.acquire(), undefined);
    assert.deepEqual(gauge, { inFlight: 1, waiting: 0 });
    held.release();
    assert.deepEqual(gauge, { inFlight: 0, waiting: 0 });
    const again = await slots.acquire();
    assert.ok(again, 'the released slot is free again');
    again.release();
  });
});
