// A user the provider already has (POST answered 409 uniqueness): look it up by userName and
// update it only where it differs from the source.
import { ScimHttpError, ScimNetworkError, type ScimClient } from '../../http';
import { forUpdate, mergedForPut, patchRequest, removedBy, updateOperations } from '../../scim/patch';
import { updatedEntry, type JournalEntry } from '../../scim/undo';
import type { Entry, RecordFailure } from '../records';
import { lookupUser } from './user-lookup';

/** 429 and 5xx except 501 (not implemented: retrying will not help). */
export const isTransient = (status: number) => status === 429 || (status >= 500 && status !== 501);

/**
 * A failure to retry (the activity fails and Temporal retries it until the run's deadline): no answer
 * at all, 429, or a 5xx — but not one this request got identically while the tenant answered others
 * (`persistent`: a request shape the provider refuses, reported for its record instead).
 */
export const isTransientFailure = (err: unknown): boolean =>
  !(err instanceof ScimHttpError) || err.status === 429 || (err.status >= 500 && !err.persistent);

export type Resolution =
  | { kind: 'unchanged' }
  /** `journal`: what the update overwrote and wrote, for the run's journal. */
  | { kind: 'updated'; journal: JournalEntry }
  | { kind: 'retry'; reason: string }
  | { kind: 'failed'; failure: RecordFailure };

/** POST said 409 uniqueness: find the user by userName and update it only if it differs. */
export async function resolveExisting(
  client: ScimClient,
  endpoint: string,
  entry: Entry,
  patchSupported: boolean,
): Promise<Resolution> {
  try {
    // Verified, and scanned for when the filter finds nothing (a case-sensitive `eq`).
    const match = await lookupUser(
      client,
      { userName: entry.userName },
      {
        endpoint,
        filter: true,
        scanOnMiss: true,
        call: (request) => request(),
        ...(entry.match ? { matchOn: entry.match } : {}),
      },
    );
    if (match.kind === 'ambiguous') {
      return {
        kind: 'failed',
        failure: {
          record: entry.index + 1,
          userName: entry.userName,
          detail: `ambiguous: ${match.ids.length} provider users match userName "${entry.userName}" (ids ${match.ids.join(', ')}); nothing written`,
        },
      };
    }
    if (match.kind === 'none')
      return { kind: 'retry', reason: `409 on POST but no user "${entry.userName}" found by filter or scan` };
    const current = match.resource;
    const changes = updateOperations(entry.user, current, entry.writes);
    if (changes.length === 0) return { kind: 'unchanged' };
    const ifMatch =
      typeof (current.meta as { version?: unknown } | undefined)?.version === 'string'
        ? (current.meta as { version: string }).version
        : undefined;
    const path = `${endpoint}/${encodeURIComponent(current.id)}`;
    if (patchSupported) await client.patch(path, patchRequest(changes), { ifMatch });
    else
      await client.put(path, mergedForPut(forUpdate(entry.user, entry.writes), current, removedBy(changes)), {
        ifMatch,
      });
    return {
      kind: 'updated',
      journal: updatedEntry(entry.userName, current, changes, forUpdate(entry.user, entry.writes)),
    };
  } catch (err) {
    if (err instanceof ScimNetworkError) return { kind: 'retry', reason: err.message };
    if (err instanceof ScimHttpError) {
      // 412/404: changed or deleted since the lookup; 429/5xx: transient. A later attempt decides again.
      if (err.status === 412 || err.status === 404 || isTransient(err.status))
        return { kind: 'retry', reason: err.message };
      return {
        kind: 'failed',
        failure: {
          record: entry.index + 1,
          userName: entry.userName,
          status: err.status,
          ...(err.scimType ? { scimType: err.scimType } : {}),
          detail: err.message,
        },
      };
    }
    throw err;
  }
}
