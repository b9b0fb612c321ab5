// syncUsers' classification on local disk, so that planning stays flat in memory whatever the
// source's size (a grace hash join). The source's valid records and the provider's listed users are
// spooled into K partition files by their normalized match value; each partition is then classified
// alone with reconcile.ts's steps, and the outcomes are merged back into the order classify() gives
// in memory (source order, then provider-only users in id order) — the same plan, the same hash.
//
// What crosses partitions:
// - Duplicates of a key share its value, so they share a partition.
// - matchOn with several pairs: a record is first partitioned by its first pair's value; one that
//   finds no provider user there is routed on to the partition of its next pair's value (its first
//   value kept: the key it is known by when nothing matches), pass after pass.
// - Records that matched nothing are decided last, partitioned by the key they are known by (so
//   their duplicates meet), with the keyless ones (a problem each).
// - Provider users no record matched: the ids matched are spooled by id, and each partition of the
//   provider's users by id is compared with them (scope, protection, `deprovision`).
import {
  byId,
  type ClassifyProblem,
  decideRecords,
  type Found,
  foundKey,
  indexBy,
  isManaged,
  matchPlanOf,
  type MatchPlan,
  orphanChange,
  type PlannedChange,
  protectedSetOf,
  type ProviderUser,
  providerUserOf,
  type SourceUser,
  sourceInScopeOf,
  type SyncRules,
} from '../scim/reconcile';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { canonicalJson } from '../scim/canonical';
import path from 'node:path';
import { LineWriter, linesOf, PartitionSpool } from './claims/local-spool';

/** Partitions per spool: at 1 000 000 users, about 4 000 records and 4 000 provider users per partition. */
export const DEFAULT_PARTITIONS = 256;

/** One outcome of the plan, in plan order: a change (with what storing it needs), or a record's problem. */
export type PlanItem =
  | {
      change: PlannedChange;
      /** Creates, updates, reactivations: the source's record. */
      source?: SourceUser;
      /** Updates, reactivations, provider-only users: the provider's user as listed (provider-only: its `active` only). */
      resource?: Record<string, unknown>;
    }
  | { problem: ClassifyProblem };

/** A record on its way through the passes: the first value it had (the key it is known by if nothing matches). */
type RoutedRecord = SourceUser & { first?: [number, string] };

/** Outcome lines as spooled: `k` the sort key (record index, or provider id). */
type OutcomeLine =
  | { k: number | string; c: PlannedChange; s?: SourceUser; r?: Record<string, unknown> }
  | { k: number; p: ClassifyProblem };

/**
 * The plan's hash, as its changes come: SHA-256 of canonicalJson({ tenant, source, rules, changes })
 * (canonical keys sorted: `changes` comes first), without holding the changes.
 */
export class StreamedPlanHash {
  readonly #hash = createHash('sha256').update('{"changes":[');
  #count = 0;

  add(change: PlannedChange): void {
    this.#hash.update(`${this.#count++ > 0 ? ',' : ''}${canonicalJson(change)}`);
  }

  digest(named: { tenant: string; source: string | undefined; rules: SyncRules }): string {
    const { tenant, source, rules } = named;
    this.#hash.update(
      `],"rules":${canonicalJson(rules)},"source":${canonicalJson(source ?? null)},"tenant":${canonicalJson(tenant)}}`,
    );
    return this.#hash.digest('hex');
  }
}

/** FNV-1a: which of `count` partitions a value falls in (deterministic across runs and workers). */
export function partitionOf(value: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % count;
}

const CARRIES_SOURCE = new Set(['create', 'update', 'reactivate', 'deactivate']);
const CARRIES_RESOURCE = new Set(['update', 'reactivate', 'deactivate']);

export class PartitionedClassifier {
  readonly #dir: string;
  readonly #rules: SyncRules;
  readonly #count: number;
  readonly #plan: MatchPlan;
  readonly #protected: ReadonlySet<string>;
  /** Per match step: records to look up by that step, and provider users by their value under it. */
  readonly #records: PartitionSpool[];
  readonly #providerBy: PartitionSpool[];
  /** Records that matched nothing (or have no key), by the key they are known by. */
  readonly #unmatched: PartitionSpool;
  readonly #providerById: PartitionSpool;
  readonly #matched: PartitionSpool;
  sourceInScope = 0;
  /** Known once `items` has run: provider users listed (each id once), and how many the sync manages. */
  providerUsers = 0;
  managed = 0;

  /** `spoolBudgetChars`: what each spool keeps in memory before it spills to disk. */
  constructor(dir: string, rules: SyncRules, partitions = DEFAULT_PARTITIONS, spoolBudgetChars?: number) {
    this.#dir = dir;
    this.#rules = rules;
    this.#count = partitions;
    this.#plan = matchPlanOf(rules);
    this.#protected = protectedSetOf(rules);
    const files = (name: string) => new PartitionSpool(dir, name, partitions, spoolBudgetChars);
    this.#records = this.#plan.steps.map((_, i) => files(`records-${i}`));
    this.#providerBy = this.#plan.steps.map((_, i) => files(`provider-${i}`));
    this.#unmatched = files('unmatched');
    this.#providerById = files('provider-ids');
    this.#matched = files('matched');
  }

  /** A valid source record, in source order. */
  addSource(record: SourceUser): void {
    if (sourceInScopeOf(record.user, this.#rules.scope)) this.sourceInScope++;
    this.#route(record, 0);
  }

  /** A provider resource as listed (with only the attributes compared). */
  addProvider(resource: Record<string, unknown>): void {
    const user = providerUserOf(resource);
    if (!user) return;
    const line = JSON.stringify(resource);
    for (const [i, step] of this.#plan.steps.entries()) {
      const value = step.theirs(user);
      if (value !== undefined) this.#providerBy[i].add(partitionOf(value, this.#count), line);
    }
    // For provider-only users, what scope, protection and `deprovision` read.
    const { id, userName, externalId, active } = user;
    this.#providerById.add(partitionOf(id, this.#count), JSON.stringify({ id, userName, externalId, active }));
  }

  /** To the partition of its value under the first step from `from` on that gives one, or to the unmatched. */
  #route(record: RoutedRecord, from: number): void {
    const { steps } = this.#plan;
    for (let i = from; i < steps.length; i++) {
      const value = steps[i].ours(record.user);
      if (value !== undefined) {
        this.#records[i].add(partitionOf(value, this.#count), JSON.stringify(record));
        return;
      }
    }
    const known = record.first ? foundKey(...record.first) : '';
    this.#unmatched.add(partitionOf(known, this.#count), JSON.stringify(record));
  }

  /**
   * Classifies partition by partition, then yields every outcome in plan order. `progress` is
   * called after each partition (the planner heartbeats).
   */
  *items(progress: (done: string) => void = () => undefined): Generator<PlanItem> {
    const { steps, keyName } = this.#plan;
    const recordRuns = new SortedRuns(path.join(this.#dir, 'outcomes'));
    const orphanRuns = new SortedRuns(path.join(this.#dir, 'orphans'));
    try {
      for (const [i, step] of steps.entries()) {
        for (let k = 0; k < this.#count; k++) {
          const records = this.#records[i].take(k).map((l) => JSON.parse(l) as RoutedRecord);
          if (records.length === 0) continue;
          records.sort((a, b) => a.index - b.index);
          const index = indexBy(uniqueById(this.#providerBy[i].take(k)), step.theirs);
          const entries: Array<{ source: SourceUser; found: Found }> = [];
          for (const record of records) {
            const value = step.ours(record.user) as string;
            const candidates = index.get(value);
            if (candidates) {
              const { first: _first, ...source } = record;
              entries.push({
                source,
                found: { key: foundKey(i, value), label: step.label(record.user, value), candidates },
              });
            } else this.#route({ ...record, first: record.first ?? [i, value] }, i + 1);
          }
          this.#decide(entries, keyName, recordRuns);
          progress(`step ${i + 1}, partition ${k + 1} of ${this.#count}`);
        }
      }
      for (let k = 0; k < this.#count; k++) {
        const records = this.#unmatched.take(k).map((l) => JSON.parse(l) as RoutedRecord);
        if (records.length === 0) continue;
        records.sort((a, b) => a.index - b.index);
        const entries = records.map(({ first, ...source }) => ({
          source,
          found: first && {
            key: foundKey(...first),
            label: steps[first[0]].label(source.user, first[1]),
            candidates: [],
          },
        }));
        this.#decide(entries, keyName, recordRuns);
        progress(`unmatched records, partition ${k + 1} of ${this.#count}`);
      }
      for (let k = 0; k < this.#count; k++) {
        const matched = new Set(this.#matched.take(k));
        const users = uniqueById(this.#providerById.take(k), (l) => JSON.parse(l) as ProviderUser);
        this.providerUsers += users.length;
        const lines: OutcomeLine[] = [];
        for (const user of users) {
          if (isManaged(user, this.#rules.scope, this.#protected)) this.managed++;
          if (matched.has(user.id)) continue;
          const change = orphanChange(user, this.#rules, this.#protected);
          // A deactivation's journal records the `active` it overwrites (held back by the orphan policy or not).
          const listed = user.active === undefined ? {} : { active: user.active };
          lines.push({ k: user.id, c: change, ...(change.action === 'deactivate' ? { r: listed } : {}) });
        }
        lines.sort((a, b) => byId({ id: a.k as string }, { id: b.k as string }));
        orphanRuns.add(lines);
        progress(`provider users, partition ${k + 1} of ${this.#count}`);
      }
      for (const line of recordRuns.merged((a, b) => (a.k as number) - (b.k as number))) yield itemOf(line);
      for (const line of orphanRuns.merged((a, b) => byId({ id: a.k as string }, { id: b.k as string })))
        yield itemOf(line);
    } finally {
      recordRuns.close();
      orphanRuns.close();
    }
  }

  /** Decides one partition's records; spools their outcomes in record order and the ids they matched. */
  #decide(entries: Array<{ source: SourceUser; found: Found | undefined }>, keyName: string, runs: SortedRuns): void {
    if (entries.length === 0) return;
    const decided = decideRecords(entries, keyName, this.#protected);
    for (const id of decided.matched) this.#matched.add(partitionOf(id, this.#count), id);
    const byRecord = new Map(entries.map((e) => [e.source.index, e]));
    const lines: OutcomeLine[] = [];
    for (const change of decided.changes) {
      const index = change.record as number;
      const entry = byRecord.get(index);
      const source = CARRIES_SOURCE.has(change.action) ? entry?.source : undefined;
      const resource = CARRIES_RESOURCE.has(change.action) ? entry?.found?.candidates[0]?.resource : undefined;
      lines.push({ k: index, c: change, ...(source ? { s: source } : {}), ...(resource ? { r: resource } : {}) });
    }
    for (const problem of decided.problems) lines.push({ k: problem.record - 1, p: problem });
    lines.sort((a, b) => (a.k as number) - (b.k as number));
    runs.add(lines);
  }

  /** Closes the spools' files (the folder is the caller's to remove). */
  close(): void {
    for (const files of [...this.#records, ...this.#providerBy, this.#unmatched, this.#providerById, this.#matched])
      files.close();
  }
}

function itemOf(line: OutcomeLine): PlanItem {
  if ('p' in line) return { problem: line.p };
  return { change: line.c, ...(line.s ? { source: line.s } : {}), ...(line.r ? { resource: line.r } : {}) };
}

/** Provider users of one partition, each id once (the first listed: a listing can repeat a user across pages). */
function uniqueById(
  lines: readonly string[],
  parse: (line: string) => ProviderUser | undefined = (l) => providerUserOf(JSON.parse(l)),
): ProviderUser[] {
  const seen = new Set<string>();
  const users: ProviderUser[] = [];
  for (const line of lines) {
    const user = parse(line);
    if (!user || seen.has(user.id)) continue;
    seen.add(user.id);
    users.push(user);
  }
  return users;
}

/** Sorted runs of outcome lines in one file, merged back into one sorted sequence (a heap over the runs). */
class SortedRuns {
  readonly #writer: LineWriter;
  readonly #runs: Array<{ start: number; end: number }> = [];
  #fd: number | undefined;

  constructor(file: string) {
    this.#writer = new LineWriter(file);
  }

  add(lines: readonly OutcomeLine[]): void {
    if (lines.length === 0) return;
    const start = this.#writer.flush();
    for (const line of lines) this.#writer.write(JSON.stringify(line));
    this.#runs.push({ start, end: this.#writer.flush() });
  }

  *merged(compare: (a: OutcomeLine, b: OutcomeLine) => number): Generator<OutcomeLine> {
    this.#writer.close();
    if (this.#runs.length === 0) return;
    this.#fd = fs.openSync(this.#writer.file, 'r');
    const fd = this.#fd;
    // Small reads: every run has one chunk in memory while the merge goes.
    const heads: Array<{ line: OutcomeLine; rest: Generator<string> }> = [];
    for (const { start, end } of this.#runs) {
      const rest = linesOf({ fd }, start, end, 1 << 13);
      const first = rest.next();
      if (!first.done) heads.push({ line: JSON.parse(first.value) as OutcomeLine, rest });
    }
    const heap = new Heap(heads, (a, b) => compare(a.line, b.line));
    for (let top = heap.peek(); top; top = heap.peek()) {
      yield top.line;
      const next = top.rest.next();
      if (next.done) heap.pop();
      else {
        top.line = JSON.parse(next.value) as OutcomeLine;
        heap.siftDown(0);
      }
    }
  }

  close(): void {
    this.#writer.close();
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** A binary min-heap whose top may be changed in place (then `siftDown(0)`). */
class Heap<T> {
  readonly #items: T[];
  readonly #compare: (a: T, b: T) => number;

  constructor(items: T[], compare: (a: T, b: T) => number) {
    this.#items = items;
    this.#compare = compare;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  pop(): void {
    const last = this.#items.pop();
    if (this.#items.length > 0 && last !== undefined) {
      this.#items[0] = last;
      this.siftDown(0);
    }
  }

  siftDown(from: number): void {
    const items = this.#items;
    for (let i = from; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.#compare(items[left], items[least]) < 0) least = left;
      if (right < items.length && this.#compare(items[right], items[least]) < 0) least = right;
      if (least === i) return;
      [items[i], items[least]] = [items[least], items[i]];
      i = least;
    }
  }
}
