// Planning Bulk requests (RFC 7644 §3.7): which source records go into which request, so that
// every request respects the provider's maxOperations and maxPayloadSize. Pure and
// deterministic: the planning activity packs, the workflow splits (after a 413) and re-plans
// retries, the chunk activities rebuild the identical request body.
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
export function bulkRequestBody(operations: BulkOperationBody[]): { schemas: string[]; Operations: BulkOperationBody[] } {
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
 * Greedy packing in source order: a request is closed when one more operation would pass
 * maxOperations or maxPayloadSize. An operation that cannot fit even alone is returned in
 * `tooLarge` (the caller reports it as invalid).
 */
export function packChunks(
  operations: Iterable<{ index: number; bytes: number }>,
  limits: ChunkLimits,
): { chunks: ChunkDescriptor[]; tooLarge: Array<{ index: number; bytes: number }> } {
  const chunks: ChunkDescriptor[] = [];
  const tooLarge: Array<{ index: number; bytes: number }> = [];
  let current: { indices: number[]; bytes: number } = { indices: [], bytes: BULK_ENVELOPE_BYTES };
  const close = () => {
    if (current.indices.length === 0) return;
    chunks.push({ id: `c${chunks.length}`, ranges: rangesOf(current.indices), operations: current.indices.length, bytes: current.bytes });
    current = { indices: [], bytes: BULK_ENVELOPE_BYTES };
  };
  for (const op of operations) {
    if (BULK_ENVELOPE_BYTES + op.bytes > limits.maxPayloadSize) {
      tooLarge.push(op);
      continue;
    }
    const added = op.bytes + (current.indices.length > 0 ? 1 : 0);
    if (current.indices.length >= limits.maxOperations || current.bytes + added > limits.maxPayloadSize) close();
    current.bytes += op.bytes + (current.indices.length > 0 ? 1 : 0);
    current.indices.push(op.index);
  }
  close();
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
    id: `${base}r${attempt}`,
    ranges: rangesOf(indices),
    operations: indices.length,
    bytes: BULK_ENVELOPE_BYTES + Math.ceil(((chunk.bytes - BULK_ENVELOPE_BYTES) * indices.length) / Math.max(1, chunk.operations)),
  };
}
