// The plans of syncUsers and syncGroups as claims: the planner stores each phase of a plan in
// slices of the size one apply activity takes, each slice an object of the claim store named by
// its SHA-256. History carries only the references (location, hash, size); an apply activity on
// any worker reads its slice alone, so its memory is bounded by the slice, not by the plan.
import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import { parseUntrustedJson } from '../../core/json';
import { getClaim, putClaim, type ClaimRef } from './claim-store';

/** One slice of one phase of a plan, as stored. */
interface StoredSlice<T> {
  planHash: string;
  phase: string;
  /** Position of the slice's first change within the phase. */
  from: number;
  changes: T[];
}

/** Slices stored at once: enough to hide the store's latency, few enough to stay gentle with it. */
const PARALLEL_PUTS = 8;

/**
 * Stores each phase's changes in slices of `sliceSize`, in order; returns the references per phase
 * (slice i holds the phase's changes [i × sliceSize, (i + 1) × sliceSize)). `stored` is told the
 * count after each object (the planner heartbeats with it).
 */
export async function storePlanSlices<P extends string, T>(
  base: string,
  planHash: string,
  phases: Record<P, readonly T[]>,
  sliceSize: number,
  stored: (count: number) => void = () => undefined,
): Promise<Record<P, ClaimRef[]>> {
  const jobs: Array<{ phase: P; index: number; slice: StoredSlice<T> }> = [];
  for (const phase of Object.keys(phases) as P[]) {
    const changes = phases[phase];
    for (let from = 0, index = 0; from < changes.length; from += sliceSize, index++) {
      jobs.push({ phase, index, slice: { planHash, phase, from, changes: changes.slice(from, from + sliceSize) } });
    }
  }
  const refs = Object.fromEntries(Object.keys(phases).map((phase) => [phase, [] as ClaimRef[]])) as Record<
    P,
    ClaimRef[]
  >;
  let next = 0;
  let done = 0;
  const putter = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      refs[job.phase][job.index] = await putClaim(base, 'plans', Buffer.from(JSON.stringify(job.slice)), 'json');
      stored(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PUTS, jobs.length) }, putter));
  return refs;
}

/** Reads one stored slice and checks it is the part of plan `planHash` the activity was given. */
export async function readPlanSlice<T>(
  ref: ClaimRef,
  expected: { planHash: string; phase: string; from: number },
  what: string,
): Promise<T[]> {
  const content = await getClaim(ref, what);
  let slice: StoredSlice<T>;
  try {
    // The store is shared (a bucket, a directory): what comes back is read like any outside JSON.
    slice = parseUntrustedJson(content.toString('utf8')) as StoredSlice<T>;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `${what} at ${ref.location} cannot be used: ${(err as Error).message}`,
      FailureType.PlanUnavailable,
    );
  }
  if (slice.planHash !== expected.planHash || slice.phase !== expected.phase || slice.from !== expected.from) {
    throw ApplicationFailure.nonRetryable(
      `${what} at ${ref.location} is changes ${slice.from}… of the ${slice.phase} of plan ${slice.planHash}, not changes ${expected.from}… of the ${expected.phase} of plan ${expected.planHash}`,
      FailureType.PlanUnavailable,
    );
  }
  return slice.changes;
}

/**
 * The whole plan of a run planned by a build from before the claim store, in the file that build
 * wrote on the planning worker (readable there only): such runs finish as they would have
 * (history-compat: sync-plan-file).
 */
export function readPlanFile<T>(file: string, planHash: string, what: string): T[] {
  let plan: { planHash?: string; changes?: T[] };
  try {
    plan = parseUntrustedJson(fs.readFileSync(file, 'utf8')) as typeof plan;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `cannot read ${what} ${file}: ${(err as Error).message} (the run was planned by an earlier build, which kept plans on the worker that made them)`,
      FailureType.PlanUnavailable,
    );
  }
  if (plan.planHash !== planHash || !Array.isArray(plan.changes))
    throw ApplicationFailure.nonRetryable(`${what} ${file} is not plan ${planHash}`, FailureType.PlanUnavailable);
  return plan.changes;
}
