// The journal of a run's writes, kept where the run's plan claims are (never in history: it holds
// personal data): one object per applied slice, written when the slice's attempt ends, so a retried
// slice's last attempt wins. History carries only the objects' references (the run's result).
//
// A journal may name the journals written before it in the run (`previous`): a provisionUsers run
// chains them (each batch hands its latest journal to the next activity, the parent hands finished
// batches' heads to the next batch), so its result holds a few heads, not a reference per slice,
// and readRunJournals walks back from them.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import type { RunJournalEntry } from '../../scim/undo';
import { getClaimJson, putClaim, type ClaimRef } from './claim-store';

/** One slice's journal, as stored. */
export interface StoredJournal {
  journal: 1;
  /** The run that wrote it. */
  workflowId: string;
  runId: string;
  tenant: string;
  /** The SCIM endpoint written (e.g. `/Users`). */
  endpoint: string;
  planHash: string;
  phase: string;
  from: number;
  entries: RunJournalEntry[];
  /** Journals of the same run written before this one (a chain: see the top of this file). */
  previous?: ClaimRef[];
}

/** Where a run's journal goes, as the workflow hands it to an activity (history holds references only). */
export interface JournalLink {
  /** The run the journal belongs to (a provisionUsers batch names its parent). */
  workflowId: string;
  runId: string;
  /** The journals written before in the run: the new journal names them. */
  previous: ClaimRef[];
}

/** The store a claim was put in: its location without `/plans/<name>` (or `/chunks/<name>`). */
export function storeOfClaim(ref: ClaimRef): string {
  const location = ref.location.replace(/\\/g, '/');
  const at = Math.max(location.lastIndexOf('/plans/'), location.lastIndexOf('/chunks/'));
  if (at < 0)
    throw ApplicationFailure.nonRetryable(
      `the claim ${ref.location} is not in a claim store`,
      FailureType.PlanUnavailable,
    );
  return ref.location.slice(0, at);
}

/** Stores a slice's journal next to the run's plan; returns its reference. */
export function storeJournal(base: string, journal: StoredJournal): Promise<ClaimRef> {
  return putClaim(base, 'plans', Buffer.from(JSON.stringify(journal)), 'json');
}

/** Stores the journal of a slice of this activity's workflow run (its id and run named in the journal) next to the slice's plan. */
export function storeSliceJournal(
  slice: ClaimRef,
  journal: Omit<StoredJournal, 'journal' | 'workflowId' | 'runId'>,
): Promise<ClaimRef> {
  const { workflowId, runId } = Context.current().info.workflowExecution ?? { workflowId: '', runId: '' };
  return storeJournal(storeOfClaim(slice), { journal: 1, workflowId, runId, ...journal });
}

/** Reads a journal back, checked to be one (the store is shared: what comes back is read as untrusted). */
export async function readJournal(ref: ClaimRef): Promise<StoredJournal> {
  const journal = (await getClaimJson(ref, 'the journal of a run')) as StoredJournal;
  if (journal?.journal !== 1 || !Array.isArray(journal.entries))
    throw ApplicationFailure.nonRetryable(`${ref.location} is not a run's journal`, FailureType.PlanUnavailable);
  return journal;
}

/**
 * Every journal of a run, from the references its result holds, following `previous` (each read
 * once); `visit` is called for each as it is read.
 */
export async function readRunJournals(
  heads: readonly ClaimRef[],
  visit: (journal: StoredJournal, ref: ClaimRef) => void | Promise<void>,
): Promise<number> {
  const seen = new Set<string>();
  const pending = [...heads];
  let read = 0;
  while (pending.length > 0) {
    const ref = pending.pop() as ClaimRef;
    if (seen.has(ref.sha256)) continue;
    seen.add(ref.sha256);
    const journal = await readJournal(ref);
    read++;
    await visit(journal, ref);
    if (Array.isArray(journal.previous)) pending.push(...journal.previous);
  }
  return read;
}
