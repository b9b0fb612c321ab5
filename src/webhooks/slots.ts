// A fixed number of slots to Temporal with a FIFO of waiters: a burst waits its turn (the senders
// see a slower answer, not an error) instead of piling every call onto the connection at once.

export interface Slot {
  release(): void;
}

export class Slots {
  private free: number;
  private readonly waiters: Array<{ grant: (slot: Slot | undefined) => void; timer: NodeJS.Timeout }> = [];

  constructor(
    readonly size: number,
    readonly maxWaitMs: number,
    private readonly gauge: { inFlight: number; waiting: number },
  ) {
    this.free = Math.max(1, size);
  }

  /** A slot, or undefined after `maxWaitMs` without one. */
  acquire(): Promise<Slot | undefined> {
    if (this.free > 0) {
      this.free--;
      this.gauge.inFlight++;
      return Promise.resolve(this.slot());
    }
    return new Promise((resolve) => {
      const waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          this.gauge.waiting--;
          resolve(undefined);
        }, this.maxWaitMs),
      };
      this.waiters.push(waiter);
      this.gauge.waiting++;
    });
  }

  private slot(): Slot {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiters.shift();
        if (next) {
          // The slot passes straight to the next waiter.
          clearTimeout(next.timer);
          this.gauge.waiting--;
          next.grant(this.slot());
        } else {
          this.free++;
          this.gauge.inFlight--;
        }
      },
    };
  }
}
