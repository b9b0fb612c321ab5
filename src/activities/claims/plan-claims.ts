// The plans of syncUsers and syncGroups as claims: the planner stores each phase of a plan in
// slices of the size one apply activity takes, each slice an object of the claim store named by
// its SHA-256. History carries only the references (location, hash, size); an apply activity on
// any worker reads its slice alone, so its memory is bounded by the slice, not by the plan.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import { parseUntrustedJson } from '../../core/json';
import { getClaimJson, putClaim, type ClaimRef } from './claim-store';
import { LineWriter, linesOf } from './local-spool';

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

/** A stored slice's bytes: a StoredSlice whose changes are given already serialized (JSON.stringify's layout). */
const sliceJson = (planHash: string, phase: string, from: number, changes: readonly string[]) =>
  `{"planHash":${JSON.stringify(planHash)},"phase":${JSON.stringify(phase)},"from":${from},"changes":[${changes.join(',')}]}`;

interface SliceJob<P> {
  phase: P;
  index: number;
  content: string;
}

/** Puts the slices `jobs` yields, PARALLEL_PUTS at a time (never more in memory); the references per phase. */
async function putSlices<P extends string>(
  base: string,
  phases: readonly P[],
  jobs: Iterable<SliceJob<P>>,
  stored: (count: number) => void,
): Promise<Record<P, ClaimRef[]>> {
  const refs = Object.fromEntries(phases.map((phase) => [phase, [] as ClaimRef[]])) as Record<P, ClaimRef[]>;
  const iterator = jobs[Symbol.iterator]();
  let done = 0;
  const putter = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const job = next.value;
      refs[job.phase][job.index] = await putClaim(base, 'plans', Buffer.from(job.content), 'json');
      stored(++done);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_PUTS }, putter));
  return refs;
}

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
  const names = Object.keys(phases) as P[];
  function* jobs(): Generator<SliceJob<P>> {
    for (const phase of names) {
      const changes = phases[phase];
      for (let from = 0, index = 0; from < changes.length; from += sliceSize, index++) {
        const slice = changes.slice(from, from + sliceSize).map((c) => JSON.stringify(c));
        yield { phase, index, content: sliceJson(planHash, phase, from, slice) };
      }
    }
  }
  return putSlices(base, names, jobs(), stored);
}

/**
 * A plan's phases spooled on the worker's local disk as its planner finds the changes (the plan's
 * hash, which each slice names, is known only once all are found); `store` then puts them in
 * slices as storePlanSlices does, reading one slice at a time, so the planner never holds the plan.
 */
export class PlanSliceSpool<P extends string, T> {
  readonly #writers: Record<P, LineWriter>;
  readonly #phases: readonly P[];

  constructor(dir: string, phases: readonly P[]) {
    this.#phases = phases;
    this.#writers = Object.fromEntries(
      phases.map((phase) => [phase, new LineWriter(path.join(dir, `plan-${phase}.ndjson`))]),
    ) as Record<P, LineWriter>;
  }

  add(phase: P, change: T): void {
    this.#writers[phase].write(JSON.stringify(change));
  }

  async store(
    base: string,
    planHash: string,
    sliceSize: number,
    stored: (count: number) => void = () => undefined,
  ): Promise<Record<P, ClaimRef[]>> {
    const writers = this.#writers;
    for (const phase of this.#phases) writers[phase].close();
    function* jobs(phases: readonly P[]): Generator<SliceJob<P>> {
      for (const phase of phases) {
        let slice: string[] = [];
        let index = 0;
        const close = () => {
          const job = { phase, index, content: sliceJson(planHash, phase, index * sliceSize, slice) };
          slice = [];
          index++;
          return job;
        };
        for (const line of linesOf(writers[phase].file)) {
          slice.push(line);
          if (slice.length === sliceSize) yield close();
        }
        if (slice.length > 0) yield close();
      }
    }
    return putSlices(base, this.#phases, jobs(this.#phases), stored);
  }
}

/** Reads one stored slice and checks it is the part of plan `planHash` the activity was given. */
export async function readPlanSlice<T>(
  ref: ClaimRef,
  expected: { planHash: string; phase: string; from: number },
  what: string,
): Promise<T[]> {
  const slice = (await getClaimJson(ref, what)) as StoredSlice<T>;
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

/**
 * A phase with more slices than this keeps their references in an index claim: the plan's result
 * (workflow history) then carries one reference per phase, not one per slice (a sync of a whole
 * tenant's first load has thousands).
 */
export const INLINE_SLICE_REFS = 100;

/** A phase's slices kept in an index claim: the index's reference and how many slices it lists. */
export interface SliceIndex {
  index: ClaimRef;
  count: number;
}

/** Stores a phase's slice references as an index claim. */
export async function storeSliceIndex(base: string, refs: readonly ClaimRef[]): Promise<SliceIndex> {
  const index = await putClaim(base, 'plans', Buffer.from(JSON.stringify({ slices: refs })), 'json');
  return { index, count: refs.length };
}

/** The indexes this worker read last (each is read by every slice of its phase). */
const readIndexes = new Map<string, ClaimRef[]>();

/** The reference of the slice at `position` of an index claim (read once per worker, checked by its hash). */
export async function sliceRefAt(index: ClaimRef, position: number): Promise<ClaimRef> {
  let refs = readIndexes.get(index.sha256);
  if (!refs) {
    const parsed = (await getClaimJson(index, "the index of a plan's slices")) as { slices?: unknown };
    if (!Array.isArray(parsed?.slices))
      throw ApplicationFailure.nonRetryable(
        `${index.location} is not an index of plan slices`,
        FailureType.PlanUnavailable,
      );
    refs = parsed.slices as ClaimRef[];
    if (readIndexes.size >= 8) readIndexes.delete(readIndexes.keys().next().value as string);
    readIndexes.set(index.sha256, refs);
  }
  const ref = refs[position];
  if (!ref)
    throw ApplicationFailure.nonRetryable(
      `${index.location} lists ${refs.length} slices, not one at position ${position}`,
      FailureType.PlanUnavailable,
    );
  return ref;
}
