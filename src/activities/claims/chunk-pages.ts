// The chunk descriptors of a provisionUsers plan, in pages: so that what the workflow keeps in its
// state and history stays the same size whatever the source's size, the planner returns the first
// page of descriptors itself and stores every later page as a claim, plus an index of those pages
// (itself a claim). History carries the index's reference and counts; the workflow reads one page
// at a time, through readChunkPage, when its chunks in hand run short.
//
//   plan result:  chunks (page 0, ≤ chunksPerPage) + pages { index: ClaimRef, count, chunks }
//   index claim:  { pages: [ClaimRef of page 1, page 2, …] }
//   page claim:   { page: n, chunks: ChunkDescriptor[] }
import { ApplicationFailure } from '@temporalio/activity';
import type { ClaimRef } from '../../core/claim-ref';
import { FailureType } from '../../core/failures';
import type { ChunkDescriptor } from '../../scim/bulk-plan';
import { getClaimJson, putClaim } from './claim-store';

/** The stored pages of a plan, as history carries them. */
export interface ChunkPages {
  /** The claim listing the stored pages' claims, in order (page 1 first). */
  index: ClaimRef;
  /** Stored pages (the plan's first page is not among them: it comes with the plan). */
  count: number;
  /** Chunk descriptors in the stored pages together. */
  chunks: number;
}

/**
 * A page closes at this many bytes of descriptors even before chunksPerPage: a chunk of a source
 * with many invalid records has many index ranges, and a page is read into workflow history.
 */
export const MAX_PAGE_BYTES = 64 * 1024;

/** Collects a plan's descriptors into pages as the planner closes them; only the page being filled is in memory. */
export class ChunkPager {
  /** The plan's first page, returned with the plan. */
  readonly first: ChunkDescriptor[] = [];
  /** The page being filled: the first page until it is full. */
  private filling: ChunkDescriptor[] = this.first;
  private fillingBytes = 0;
  private readonly stored: ClaimRef[] = [];
  private storedChunks = 0;

  constructor(
    /** The claim store's base location. */
    private readonly store: string,
    private readonly chunksPerPage: number,
  ) {}

  async add(chunk: ChunkDescriptor): Promise<void> {
    const bytes = Buffer.byteLength(JSON.stringify(chunk)) + 1;
    const full = this.filling.length >= this.chunksPerPage || this.fillingBytes + bytes > MAX_PAGE_BYTES;
    if (this.filling.length > 0 && full) await this.close();
    this.filling.push(chunk);
    this.fillingBytes += bytes;
  }

  /** Stores the page being filled (the first page stays in memory, for the plan). */
  private async close(): Promise<void> {
    if (this.filling !== this.first) {
      const page = this.stored.length + 1;
      const content = Buffer.from(JSON.stringify({ page, chunks: this.filling }));
      this.stored.push(await putClaim(this.store, 'plans', content, 'json'));
      this.storedChunks += this.filling.length;
    }
    this.filling = [];
    this.fillingBytes = 0;
  }

  /** The stored pages (and the index of them), or undefined when every descriptor fit in the first page. */
  async finish(): Promise<ChunkPages | undefined> {
    if (this.filling !== this.first && this.filling.length > 0) await this.close();
    if (this.stored.length === 0) return undefined;
    const index = await putClaim(this.store, 'plans', Buffer.from(JSON.stringify({ pages: this.stored })), 'json');
    return { index, count: this.stored.length, chunks: this.storedChunks };
  }
}

/** Page `page` (1-based, as stored) of a plan's stored descriptors, checked against the index that lists it. */
export async function readChunkPage(index: ClaimRef, page: number): Promise<ChunkDescriptor[]> {
  const listing = await getClaimJson(index, 'the index of the plan pages');
  const pages = (listing as { pages?: ClaimRef[] }).pages;
  const ref = Array.isArray(pages) ? pages[page - 1] : undefined;
  if (!ref) {
    throw ApplicationFailure.nonRetryable(
      `the index of the plan pages at ${index.location} lists ${Array.isArray(pages) ? pages.length : 0} pages, not page ${page}`,
      FailureType.PlanUnavailable,
    );
  }
  const what = `page ${page} of the plan`;
  const stored = (await getClaimJson(ref, what)) as { page?: number; chunks?: ChunkDescriptor[] };
  if (stored.page !== page || !Array.isArray(stored.chunks)) {
    throw ApplicationFailure.nonRetryable(
      `${what} at ${ref.location} is page ${String(stored.page)} of a plan, not page ${page}`,
      FailureType.PlanUnavailable,
    );
  }
  return stored.chunks;
}
