// The userNames a planner has seen, to find duplicates (case-insensitively, the first one wins),
// kept off the JS heap: a 128-bit digest and the record index per name in typed arrays (about 40
// bytes a name), instead of a Map of strings that grows the heap with the source.
import { createHash } from 'node:crypto';

export class UserNameIndex {
  /** Four 32-bit words of digest per slot; a slot whose words are all 0 is empty. */
  private keys = new Uint32Array(4 * 1024);
  /** Record index per slot. */
  private values = new Int32Array(1024);
  private size = 0;

  /** The index first recorded for this userName (any case), or records `index` and returns undefined. */
  firstOrAdd(userName: string, index: number): number | undefined {
    if ((this.size + 1) * 2 > this.values.length) this.grow();
    const digest = createHash('sha256').update(userName.toLowerCase()).digest();
    const key = [digest.readUInt32LE(0) || 1, digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
    const found = this.slotOf(key);
    if (this.keys[4 * found] !== 0) return this.values[found];
    this.keys.set(key, 4 * found);
    this.values[found] = index;
    this.size++;
    return undefined;
  }

  /** The slot holding `key`, or the empty slot where it goes (linear probing). */
  private slotOf(key: number[]): number {
    const mask = this.values.length - 1;
    for (let slot = key[1] & mask; ; slot = (slot + 1) & mask) {
      const at = 4 * slot;
      if (this.keys[at] === 0) return slot;
      if (
        this.keys[at] === key[0] &&
        this.keys[at + 1] === key[1] &&
        this.keys[at + 2] === key[2] &&
        this.keys[at + 3] === key[3]
      )
        return slot;
    }
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Int32Array(values.length * 2);
    for (let slot = 0; slot < values.length; slot++) {
      if (keys[4 * slot] === 0) continue;
      const key = Array.from(keys.subarray(4 * slot, 4 * slot + 4));
      const to = this.slotOf(key);
      this.keys.set(key, 4 * to);
      this.values[to] = values[slot];
    }
  }
}
