// The journal of a run's writes, kept where the run's plan claims are (never in history: it holds
// personal data): one object per applied slice, written when the slice's attempt ends, so a retried
// slice's last attempt wins. History carries only the objects' references (the run's result).
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import { parseUntrustedJson } from '../../core/json';
import type { JournalEntry } from '../../scim/undo';
import { getClaim, putClaim, type ClaimRef } from './claim-store';

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
  entries: JournalEntry[];
}

/** The store a claim was put in: its location without `/plans/<name>`. */
export function storeOfClaim(ref: ClaimRef): string {
  const at = ref.location.replace(/\\/g, '/').lastIndexOf('/plans/');
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

/** Reads a journal back, checked to be one (the store is shared: what comes back is read as untrusted). */
export async function readJournal(ref: ClaimRef): Promise<StoredJournal> {
  const content = await getClaim(ref, 'the journal of a run');
  let journal: StoredJournal;
  try {
    journal = parseUntrustedJson(content.toString('utf8')) as StoredJournal;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `the journal at ${ref.location} cannot be used: ${(err as Error).message}`,
      FailureType.PlanUnavailable,
    );
  }
  if (journal?.journal !== 1 || !Array.isArray(journal.entries))
    throw ApplicationFailure.nonRetryable(`${ref.location} is not a run's journal`, FailureType.PlanUnavailable);
  return journal;
}
