// Planning Bulk requests (RFC 7644 §3.7): which source records go into which request, so that
// every request respects the provider's maxOperations and maxPayloadSize. Pure and
// deterministic: the planning activity packs, the workflow splits (after a 413) and re-plans
// retries, the chunk activities rebuild the identical request body.
import type { ClaimRef } from '../core/claim-ref';
import { URN } from './urns';

/** Half-open range [from, to) of source record indices. */
export type Range = [number, number];

/**
 * One Bulk request, described without its data: the records it carries (as index ranges into the
 * source, invalid records left out), how many operations and how many bytes it has.
 */
export interface ChunkDescriptor {
  /** `c12`; a split adds `a`/`b` (`c12a`), a retry of some operations adds `rN` (`c12r1`). */
  id: string;
  ranges: Range[];
  operations: number;
  /** Size of the serialized request body (UTF-8 bytes); an estimate after a split. */
  bytes: number;
  /**
   * Where the planner stored the chunk's normalized users (a file or s3:// source). A split or a
   * resend keeps its parent's claim and reads only the records of its own ranges from it.
   */
  claim?: ClaimRef;
}

export interface BulkOperationBody {
  method: 'POST';
  path: string;
  bulkId: string;
  data: Record<string, unknown>;
}

/** The one way a POST operation is written, so that planned and sent sizes agree. */
export function bulkPostOperation(endpoint: string, bulkId: string, user: Record<string, unknown>): BulkOperationBody {
  return { method: 'POST', path: endpoint, bulkId, data: user };
}

/** The one way a BulkRequest body is written (see {@link bulkRequestBytes}). */
export function bulkRequestBody(operations: BulkOperationBody[]): {
  schemas: string[];
  Operations: BulkOperationBody[];
} {
  return { schemas: [URN.BulkRequest], Operations: operations };
}

/** Bytes of the request body with no operation in it. */
export const BULK_ENVELOPE_BYTES = utf8Length(JSON.stringify(bulkRequestBody([])));

/** Bytes of a BulkRequest body holding operations of these serialized sizes. */
export function bulkRequestBytes(operationBytes: readonly number[]): number {
  const sum = operationBytes.reduce((total, n) => total + n, 0);
  return BULK_ENVELOPE_BYTES + sum + Math.max(0, operationBytes.length - 1); // commas
}

/** UTF-8 length of a string without Buffer (workflow-safe). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // surrogate pair
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export interface ChunkLimits {
  maxOperations: number;
  maxPayloadSize: number;
}

/**
 * Greedy packing in source order, one operation at a time: a request is closed when one more
 * operation would pass maxOperations or maxPayloadSize. The planner streams its source through
 * this, so it learns that a chunk is complete (and can store it) as soon as the next operation
 * does not fit.
 */
export class ChunkPacker {
  private indices: number[] = [];
  private bytes = BULK_ENVELOPE_BYTES;
  private closed = 0;

  constructor(private readonly limits: ChunkLimits) {}

  /**
   * Adds an operation. `tooLarge`: it cannot fit even alone (the caller reports it as invalid);
   * `closed`: the chunk it did not fit into, now complete (the operation starts the next one).
   */
  add(op: { index: number; bytes: number }): { tooLarge: true } | { tooLarge: false; closed?: ChunkDescriptor } {
    if (BULK_ENVELOPE_BYTES + op.bytes > this.limits.maxPayloadSize) return { tooLarge: true };
    const comma = this.indices.length > 0 ? 1 : 0;
    const full =
      this.indices.length >= this.limits.maxOperations || this.bytes + op.bytes + comma > this.limits.maxPayloadSize;
    const closed = full ? this.finish() : undefined;
    this.bytes += op.bytes + (this.indices.length > 0 ? 1 : 0);
    this.indices.push(op.index);
    return closed ? { tooLarge: false, closed } : { tooLarge: false };
  }

  /** Closes the chunk being filled, if it has any operation. */
  finish(): ChunkDescriptor | undefined {
    if (this.indices.length === 0) return undefined;
    const chunk: ChunkDescriptor = {
      id: `c${this.closed++}`,
      ranges: rangesOf(this.indices),
      operations: this.indices.length,
      bytes: this.bytes,
    };
    this.indices = [];
    this.bytes = BULK_ENVELOPE_BYTES;
    return chunk;
  }
}

/** Packs a whole list of operations (see {@link ChunkPacker}); too large ones are returned in `tooLarge`. */
export function packChunks(
  operations: Iterable<{ index: number; bytes: number }>,
  limits: ChunkLimits,
): { chunks: ChunkDescriptor[]; tooLarge: Array<{ index: number; bytes: number }> } {
  const packer = new ChunkPacker(limits);
  const chunks: ChunkDescriptor[] = [];
  const tooLarge: Array<{ index: number; bytes: number }> = [];
  for (const op of operations) {
    const added = packer.add(op);
    if (added.tooLarge) tooLarge.push(op);
    else if (added.closed) chunks.push(added.closed);
  }
  const last = packer.finish();
  if (last) chunks.push(last);
  return { chunks, tooLarge };
}

/** Sorted indices → the fewest half-open ranges. */
export function rangesOf(indices: readonly number[]): Range[] {
  const sorted = [...indices].sort((a, b) => a - b);
  const ranges: Range[] = [];
  for (const index of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === index) last[1] = index + 1;
    else if (!last || last[1] < index) ranges.push([index, index + 1]);
  }
  return ranges;
}

export function indicesOf(ranges: readonly Range[]): number[] {
  const out: number[] = [];
  for (const [from, to] of ranges) for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** Halves a chunk (after a 413). A single-operation chunk cannot be split: returns undefined. */
export function splitChunk(chunk: ChunkDescriptor): [ChunkDescriptor, ChunkDescriptor] | undefined {
  const indices = indicesOf(chunk.ranges);
  if (indices.length < 2) return undefined;
  const half = Math.ceil(indices.length / 2);
  const part = (suffix: string, slice: number[]): ChunkDescriptor => ({
    ...(chunk.claim ? { claim: chunk.claim } : {}),
    id: `${chunk.id}${suffix}`,
    ranges: rangesOf(slice),
    operations: slice.length,
    bytes: BULK_ENVELOPE_BYTES + Math.ceil(((chunk.bytes - BULK_ENVELOPE_BYTES) * slice.length) / indices.length),
  });
  return [part('a', indices.slice(0, half)), part('b', indices.slice(half))];
}

/** Records of `chunk` that must be sent again (per-operation 429/5xx), as a chunk of their own. */
export function retryChunk(chunk: ChunkDescriptor, indices: readonly number[], attempt: number): ChunkDescriptor {
  const base = chunk.id.replace(/r\d+$/, '');
  return {
    ...(chunk.claim ? { claim: chunk.claim } : {}),
    id: `${base}r${attempt}`,
    ranges: rangesOf(indices),
    operations: indices.length,
    bytes:
      BULK_ENVELOPE_BYTES +
      Math.ceil(((chunk.bytes - BULK_ENVELOPE_BYTES) * indices.length) / Math.max(1, chunk.operations)),
  };
}
