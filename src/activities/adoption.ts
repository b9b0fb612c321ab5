// Activities of adoptUsers: plan an adoption (read and validate the source, list every provider
// user page by page, classify with src/scim/adoption.ts, store the links in the claim store one
// slice per apply activity, write the report for review), apply one slice of links once approved
// (each provider user re-read and compared with the plan before its link is written), and record
// that the tenant was adopted — the marker a first sync reads to decide what orphans are.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ScimHttpError, type ScimClient } from '../http';
import {
  adoptionPlanText,
  classifyAdoption,
  fragmentAt,
  valueAt,
  type AdoptionCounts,
  type AdoptionEntry,
  type AdoptionRules,
  type PlannedLink,
} from '../scim/adoption';
import { mergedForPut, patchRequest } from '../scim/patch';
import type { ClassifyProblem } from '../scim/reconcile';
import type { UserSchemaModel } from '../scim/user-validation';
import { claimStoreFor, type ClaimRef } from './claims/claim-store';
import { readPlanSlice, storePlanSlices } from './claims/plan-claims';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { isTransientFailure } from './provider/existing-user';
import type { PlanSource } from './provisioning';
import { sourceLocationOf } from './sources/user-source';
import { listProviderUsers, sourceUsers } from './sync';
import { type AdoptionRecord, recordAdoption } from './claims/adoption-record';

export { type AdoptionRecord, adoptionRecordLocation, readAdoption, recordAdoption } from './claims/adoption-record';
import { type PlanOut, writeWorkerFile } from './sync-review';

export interface AdoptionPlanInput {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  rules: AdoptionRules;
  /** Users per page when listing the provider (at most its filter.maxResults). */
  pageSize: number;
  /** Report lines and invalid records carried in the summary (all are counted, and all go to `reportOut`). */
  maxReported: number;
  /** Links per apply activity: the links are stored in slices of this size. */
  sliceSize: number;
  /** Also write the whole report (CSV or JSON) to this path on the worker's file system. */
  reportOut?: PlanOut;
}

export interface AdoptionPlanSummary {
  /** SHA-256 of the report and its links: what approveLinks names. */
  planHash: string;
  /** The links, one claim per apply slice, in plan order. */
  slices: ClaimRef[];
  sourceSha256?: string;
  records: number;
  invalid: number;
  invalidRecords: ClassifyProblem[];
  providerUsers: number;
  /** GET requests made to list the provider's users. */
  pages: number;
  counts: AdoptionCounts;
  /** Report lines other than exact pairs first (what needs a person's eyes), up to maxReported. */
  sample: AdoptionEntry[];
  /** Where `reportOut` wrote the report (on the worker). */
  reportOut?: string;
}

export interface ApplyLinksInput {
  tenant: string;
  planHash: string;
  slice: ClaimRef;
  /** Position of the slice's first link. */
  from: number;
  endpoint: string;
  patchSupported: boolean;
  linkAttribute: string;
  maxReported: number;
}

export interface LinkFailure {
  id: string;
  record: number;
  status?: number;
  detail: string;
}

export interface LinkTally {
  linked: number;
  /** Links found already written (an earlier attempt, or someone else): not written again. */
  alreadyLinked: number;
  failed: number;
  failures: LinkFailure[];
  requests: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const REPORT_COLUMNS = [
  'class',
  'record',
  'userName',
  'id',
  'providerUserName',
  'active',
  'matchedBy',
  'sourceKey',
  'linkValue',
  'link',
  'candidates',
  'reason',
] as const;

function csvCell(value: unknown): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes the whole report for review (CSV, one line per record or provider user, or JSON with counts); returns its absolute path. */
export function writeReportOut(
  out: PlanOut,
  header: { tenant: string; planHash: string; linkAttribute: string; counts: AdoptionCounts },
  entries: readonly AdoptionEntry[],
  links: readonly PlannedLink[],
): string {
  const file = path.resolve(out.path);
  const format = out.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'json');
  let text: string;
  if (format === 'csv') {
    const row = (e: AdoptionEntry) =>
      [
        e.class,
        e.record,
        e.userName,
        e.id,
        e.providerUserName,
        e.active,
        e.matchedBy?.join(' '),
        e.sourceKey,
        e.linkValue,
        e.link,
        (e.candidateIds ?? e.candidateRecords?.map((r) => `record ${r}`))?.join(' '),
        e.reason,
      ]
        .map(csvCell)
        .join(',');
    text = `${[REPORT_COLUMNS.join(','), ...entries.map(row)].join('\n')}\n`;
  } else {
    text = `${JSON.stringify({ ...header, entries, links }, null, 1)}\n`;
  }
  return writeWorkerFile('reportOut', file, text);
}

/** Reads the source and every provider user, classifies them, stores the links; returns the summary. */
export async function planAdoption(deps: ActivityDeps, input: AdoptionPlanInput): Promise<AdoptionPlanSummary> {
  const source = await sourceUsers(deps, input);
  const client = scimClientFor(deps, input.tenant);
  // The attributes matching needs: the keys, and what weak keys and the link read.
  const attributes = ['id', 'userName', 'externalId', 'active', 'name', 'emails', input.rules.linkAttribute];
  const listed = await listProviderUsers(client, input.model.endpoint, input.pageSize, attributes);
  const adoption = classifyAdoption(source.valid, listed.users, input.rules);
  const planHash = sha256(adoptionPlanText(input.tenant, source.sha256, input.rules, adoption));
  const store = claimStoreFor(input.source.kind === 'file' ? sourceLocationOf(input.source) : undefined);
  const { links: slices } = await storePlanSlices(store, planHash, { links: adoption.links }, input.sliceSize, (n) =>
    Context.current().heartbeat({ storedSlices: n }),
  );
  const written = input.reportOut
    ? writeReportOut(
        input.reportOut,
        { tenant: input.tenant, planHash, linkAttribute: input.rules.linkAttribute, counts: adoption.counts },
        adoption.entries,
        adoption.links,
      )
    : undefined;
  // What needs a person first: ambiguous, weak, then orphans and source-only, then the exact pairs.
  const order = ['ambiguous', 'weak', 'provider-only', 'source-only', 'exact'];
  const sample = [...adoption.entries]
    .sort((a, b) => order.indexOf(a.class) - order.indexOf(b.class))
    .slice(0, input.maxReported);
  return {
    planHash,
    slices,
    ...(source.sha256 ? { sourceSha256: source.sha256 } : {}),
    records: source.records,
    invalid: source.invalid,
    invalidRecords: source.invalidRecords,
    providerUsers: listed.users.length,
    pages: listed.pages,
    counts: adoption.counts,
    sample,
    ...(written ? { reportOut: written } : {}),
  };
}

/** A resource that changed between our read and our write (412), or between plan and write: read again. */
const MAX_STALE_ROUNDS = 5;

type LinkOutcome = 'linked' | 'already' | { failed: string; status?: number };

/**
 * One link, never written to a provider user that is not the one planned: the user is read, and
 * its userName must still be the planned one and its link attribute still empty (or already the
 * value: done before). Then PATCH (or PUT of the current resource with the value), with If-Match
 * when the provider gave an ETag.
 */
async function linkOne(client: ScimClient, input: ApplyLinksInput, link: PlannedLink, tally: LinkTally) {
  const resourcePath = `${input.endpoint}/${encodeURIComponent(link.id)}`;
  for (let round = 1; ; round++) {
    tally.requests++;
    let current: { body: Record<string, unknown>; etag?: string };
    try {
      current = await client.get<Record<string, unknown>>(resourcePath);
    } catch (err) {
      if (err instanceof ScimHttpError && err.status === 404)
        return { failed: 'the provider user no longer exists', status: 404 } satisfies LinkOutcome;
      throw err;
    }
    const body = current.body ?? {};
    const userName = typeof body.userName === 'string' ? body.userName : undefined;
    if ((userName ?? '').toLowerCase() !== (link.expected.userName ?? '').toLowerCase())
      return {
        failed: `the provider user's userName is now "${userName ?? ''}", not "${link.expected.userName ?? ''}" as planned: nothing written; plan again`,
      } satisfies LinkOutcome;
    const value = valueAt(body, input.linkAttribute);
    if (value === link.value) return 'already' satisfies LinkOutcome;
    if (value !== undefined && value !== null && value !== '')
      return {
        failed: `the provider user now has ${input.linkAttribute} "${String(value)}" (empty when planned): nothing written; plan again`,
      } satisfies LinkOutcome;
    const ifMatch = current.etag ? { ifMatch: current.etag } : {};
    tally.requests++;
    try {
      if (input.patchSupported)
        await client.patch(
          resourcePath,
          patchRequest([{ op: 'replace', path: input.linkAttribute, value: link.value }]),
          ifMatch,
        );
      else await client.put(resourcePath, mergedForPut(fragmentAt(input.linkAttribute, link.value), body), ifMatch);
      return 'linked' satisfies LinkOutcome;
    } catch (err) {
      // Changed since we read it: read and compare again.
      if (err instanceof ScimHttpError && err.status === 412 && round < MAX_STALE_ROUNDS) continue;
      throw err;
    }
  }
}

/**
 * Writes one slice of approved links. Heartbeats its position: a retry (a 429 or 5xx, a crash)
 * resumes there, and every link re-reads its user first, so a write an earlier attempt made is
 * found (`alreadyLinked`), never repeated. Transient failures fail the activity, which is retried
 * until the run's deadline; any other refusal fails that link only.
 */
export async function applyAdoptionLinks(deps: ActivityDeps, input: ApplyLinksInput): Promise<LinkTally> {
  const context = Context.current();
  const links = await readPlanSlice<PlannedLink>(
    input.slice,
    { planHash: input.planHash, phase: 'links', from: input.from },
    `links ${input.from}… of adoption plan ${input.planHash.slice(0, 12)}`,
  );
  const resumed = context.info.heartbeatDetails as { next: number; tally: LinkTally } | undefined;
  const tally: LinkTally = resumed?.tally ?? { linked: 0, alreadyLinked: 0, failed: 0, failures: [], requests: 0 };
  const client = scimClientFor(deps, input.tenant);
  for (let i = resumed?.next ?? 0; i < links.length; i++) {
    const link = links[i];
    let outcome: LinkOutcome;
    try {
      outcome = await linkOne(client, input, link, tally);
    } catch (err) {
      if (!(err instanceof ScimHttpError) || isTransientFailure(err)) throw err;
      outcome = { failed: err.message, status: err.status };
    }
    if (outcome === 'linked') tally.linked++;
    else if (outcome === 'already') tally.alreadyLinked++;
    else {
      tally.failed++;
      if (tally.failures.length < input.maxReported)
        tally.failures.push({
          id: link.id,
          record: link.record,
          ...(outcome.status ? { status: outcome.status } : {}),
          detail: outcome.failed,
        });
    }
    context.heartbeat({ next: i + 1, tally: structuredClone(tally) });
  }
  return tally;
}

export function createAdoptionActivities(deps: ActivityDeps) {
  return {
    /** Reads the source and every provider user, classifies them for adoption, stores the links, writes the report. */
    planAdoption: (input: AdoptionPlanInput) => asActivity(() => planAdoption(deps, input)),
    /** Writes one slice of approved links, each provider user verified first. */
    applyAdoptionLinks: (input: ApplyLinksInput) => asActivity(() => applyAdoptionLinks(deps, input)),
    /** Records that a tenant was adopted (what a first sync reads). */
    recordAdoption: (record: AdoptionRecord) => asActivity(() => recordAdoption(record)),
  };
}
