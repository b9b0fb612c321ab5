// Writing one source record to the provider without Bulk (RFC 7644 §3.3, §3.5): verified lookup,
// then POST when absent, else PATCH (or PUT of the full resource) only when attributes differ,
// with If-Match when the provider gives ETags. A 409 — or a 400 with scimType uniqueness — is
// resolved through the same verified lookup. Retryable failures are retried until the run's
// deadline; only non-retryable answers fail the record.
import { ScimHttpError, type ScimClient, type TenantDialect } from '../../http';
import { forUpdate, mergedForPut, patchRequest, removedBy, updateOperations } from '../../scim/patch';
import { createdEntry, updatedEntry, type JournalEntry } from '../../scim/undo';
import type { MatchKeys, MatchResult, WriteCapabilities } from '../../scim/user-match';
import type { Entry, RecordFailure } from '../records';
import { DeadlinePassedError, untilDeadline } from './until-deadline';
import { lookupUser } from './user-lookup';
import { patchOrPut } from './patch-or-put';

export interface WriteContext {
  client: ScimClient;
  /** The User endpoint from /ResourceTypes. */
  endpoint: string;
  capabilities: WriteCapabilities;
  /** Epoch ms: retryable failures are retried until then. */
  deadline: number;
  /** What the worker has learnt of the tenant: `or` lookups while it takes them, PATCH until it refuses it. */
  dialect?: TenantDialect;
}

/** A record's outcome; a write carries its journal entry (what it created, or overwrote and wrote). */
export type RecordOutcome =
  | { kind: 'created' | 'updated'; journal: JournalEntry }
  | { kind: 'unchanged' }
  | { kind: 'failed'; failure: RecordFailure };

/** A resource changed or vanished between our lookup and our write: look again. */
const STALE = new Set([404, 412]);
/** How often a record may find its user changed under it before that is its failure. */
const MAX_STALE_ROUNDS = 5;

const isUniqueness = (err: unknown) =>
  err instanceof ScimHttpError && (err.status === 409 || (err.status === 400 && err.scimType === 'uniqueness'));

function keysOf(entry: Entry): MatchKeys {
  const externalId = entry.user.externalId;
  return { userName: entry.userName, ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}) };
}

function failed(entry: Entry, err: unknown): RecordOutcome {
  const http =
    err instanceof ScimHttpError
      ? err
      : err instanceof DeadlinePassedError && err.last instanceof ScimHttpError
        ? err.last
        : undefined;
  return {
    kind: 'failed',
    failure: {
      record: entry.index + 1,
      userName: entry.userName,
      ...(http ? { status: http.status } : {}),
      ...(http?.scimType ? { scimType: http.scimType } : {}),
      detail: err instanceof Error ? err.message : String(err),
    },
  };
}

function ambiguous(entry: Entry, match: Extract<MatchResult, { kind: 'ambiguous' }>): RecordOutcome {
  return {
    kind: 'failed',
    failure: {
      record: entry.index + 1,
      userName: entry.userName,
      detail: `ambiguous: ${match.ids.length} provider users match userName "${entry.userName}"${entry.user.externalId ? ' or its externalId' : ''} (ids ${match.ids.join(', ')}); nothing written`,
    },
  };
}

/** Updates `current` to the record's values if they differ. */
async function update(
  ctx: WriteContext,
  entry: Entry,
  current: Record<string, unknown> & { id: string },
): Promise<RecordOutcome> {
  const changes = updateOperations(entry.user, current, entry.writes);
  if (changes.length === 0) return { kind: 'unchanged' };
  const version = (current.meta as { version?: unknown } | undefined)?.version;
  const ifMatch = ctx.capabilities.etag && typeof version === 'string' ? version : undefined;
  const path = `${ctx.endpoint}/${encodeURIComponent(current.id)}`;
  await patchOrPut(
    ctx.dialect,
    ctx.capabilities.patch,
    () => untilDeadline(ctx.deadline, () => ctx.client.patch(path, patchRequest(changes), { ifMatch })),
    () =>
      untilDeadline(ctx.deadline, () =>
        ctx.client.put(path, mergedForPut(forUpdate(entry.user, entry.writes), current, removedBy(changes)), {
          ifMatch,
        }),
      ),
  );
  return {
    kind: 'updated',
    journal: updatedEntry(entry.userName, current, changes, forUpdate(entry.user, entry.writes)),
  };
}

async function create(ctx: WriteContext, entry: Entry): Promise<RecordOutcome> {
  const created = await untilDeadline(ctx.deadline, () =>
    ctx.client.post<{ id?: unknown }>(ctx.endpoint, entry.user, { expect: [200, 201] }),
  );
  const id = typeof created.body?.id === 'string' ? created.body.id : undefined;
  return { kind: 'created', journal: createdEntry(entry.userName, id, entry.user) };
}

/**
 * Without filter support a lookup is a scan of every user, so the record is POSTed first and
 * only a uniqueness conflict pays for the scan.
 */
export async function writeRecord(ctx: WriteContext, entry: Entry): Promise<RecordOutcome> {
  const keys = keysOf(entry);
  const lookup = (scanOnMiss: boolean) =>
    lookupUser(ctx.client, keys, {
      endpoint: ctx.endpoint,
      filter: ctx.capabilities.filter,
      scanOnMiss,
      dialect: ctx.dialect,
      call: (r) => untilDeadline(ctx.deadline, r),
      ...(entry.match ? { matchOn: entry.match } : {}),
    });
  try {
    for (let round = 1; ; round++) {
      let match: MatchResult = ctx.capabilities.filter ? await lookup(false) : { kind: 'none' };
      if (match.kind === 'none') {
        try {
          return await create(ctx, entry);
        } catch (err) {
          if (!isUniqueness(err)) throw err;
          match = await lookup(true);
          if (match.kind === 'none')
            return failed(
              entry,
              new Error(
                `${(err as Error).message}; no user found that matches userName "${entry.userName}"${keys.externalId ? ` or externalId "${keys.externalId}"` : ''}`,
              ),
            );
        }
      }
      if (match.kind === 'ambiguous') return ambiguous(entry, match);
      try {
        return await update(ctx, entry, match.resource);
      } catch (err) {
        if (!(err instanceof ScimHttpError && STALE.has(err.status)) || round >= MAX_STALE_ROUNDS) throw err;
        // Changed (412) or deleted (404) since the lookup: decide again from a fresh one.
      }
    }
  } catch (err) {
    if (err instanceof ScimHttpError || err instanceof DeadlinePassedError) return failed(entry, err);
    throw err;
  }
}
