// Reading the source for planning (syncUsers' and adoptUsers' planners): each record mapped,
// fitted to the tenant, validated, and its SelectUniqueValue choices, manager and dates resolved.
import path from 'node:path';
import type { ClassifyProblem, SourceUser } from '../scim/reconcile';
import {
  checkDatesSettings,
  datedDisposition,
  datedFacts,
  type DatedDispositionKind,
  type DatesSettings,
} from '../scim/dated-actions';
import { userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import type { ActivityDeps } from './deps';
import type { DatedClaimLine } from './dated';
import { TenantFitter } from './cxone-directory';
import { checkMappingTargets, compiledOrUndefined, planningOfRun, type PlanSource } from './provisioning';
import { mapRecords, readFileSource, sourceLocationOf, type MappedRecord } from './sources/user-source';
import { resolveLocation } from './sources/source-store';
import { ManagerReferences } from './manager-refs';
import type { AttributeFinder } from './provider/attribute-finder';
import { UniqueValueChooser } from './unique-values';

/** What reading a source for planning needs: the tenant (its CXone lists), the source and the discovered model. */
export interface SourceRead {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  /** Invalid records described (all are counted). */
  maxReported: number;
}

/** A valid source record as the planners take it (with its line, for a trace). */
export type ValidSourceUser = SourceUser & { line?: number };

/** What reading a source found besides its valid records. */
export interface SourceTotals {
  records: number;
  invalid: number;
  /** Described up to maxReported. */
  invalidRecords: ClassifyProblem[];
  sha256?: string;
  /** With a mapping's `dates`: the valid records per disposition. */
  dated?: { counts: Partial<Record<DatedDispositionKind, number>> };
  /** With `references` and a mapping with a manager reference: the records' managers (managerPlanOf). */
  managers?: ManagerReferences;
}

/**
 * What a planner reading the source with `references` resolves as it reads (syncUsers): each
 * record's SelectUniqueValue choices and its manager, against the provider (`find`) and the
 * records read before it (docs/mappings.md).
 */
export interface SourceReferences {
  find: AttributeFinder;
  /** Only the records this accepts (as mapped, before any choice) are resolved; the others are refused if they need it. */
  only?: (user: Record<string, unknown>) => boolean;
}

/** Where readSourceUsers hands each valid record and, with `dates`, each user's dated plan line. */
export interface SourceUserSink {
  valid(user: ValidSourceUser): void | Promise<void>;
  dated?(line: DatedClaimLine): void | Promise<void>;
}

/**
 * The source's records, mapped, fitted to the tenant and validated, streamed (syncUsers' and
 * adoptUsers' planners): each valid one handed to `sink` in source order as it is read; the
 * others counted and described.
 */
export async function readSourceUsers(
  deps: ActivityDeps,
  input: SourceRead,
  sink: SourceUserSink,
  planning = planningOfRun(),
  references?: SourceReferences,
): Promise<SourceTotals> {
  const { source, model, maxReported } = input;
  if (source.kind === 'file') checkMappingTargets(source.mapping, model);
  const dates = source.kind === 'file' ? datesOf(source.mapping) : undefined;
  // SelectUniqueValue's choices and the managers' ids, from the provider and the records read before.
  const mapping = references && source.kind === 'file' ? compiledOrUndefined(source.mapping) : undefined;
  // A user the provider has keeps the value it holds: a re-sync renames nobody.
  const chooser = references && new UniqueValueChooser(references.find, mapping?.matchOn, true);
  const managerBy = mapping?.rules.find((rule) => rule.reference)?.reference?.by;
  const managers = references && managerBy ? new ManagerReferences(references.find, maxReported) : undefined;
  /** A valid record's manager resolved (`manager.value` placed); its chosen values and key taken for the records after it. */
  const resolve = async (index: number, user: Record<string, unknown>, mapped: MappedRecord, created: boolean) => {
    if (mapped.choices) chooser?.take(user, mapped.choices);
    if (!managers || references?.only?.(user) === false) return;
    if (mapped.manager) await managers.resolve(index, String(user.userName), user, mapped.manager);
    // A record created later (dated) is no manager this run creates.
    if (managerBy && created) managers.noteRecord(user, managerBy);
  };
  // CXone's role, team and login authenticator by name → ids; attribute names as /Schemas spells them.
  const fitter = new TenantFitter(deps, input.tenant, model);
  const invalidRecords: ClassifyProblem[] = [];
  let invalid = 0;
  let records = 0;
  const plannedAt = planning.now;
  const datedCounts = dates ? ({} as Partial<Record<DatedDispositionKind, number>>) : undefined;
  let sourceName = 'inline';
  const refuse = async (index: number, userName: string | undefined, reasons: string[]) => {
    invalid++;
    // Its dates could not be read this time: its pending actions stay as they are.
    if (datedCounts && userName) await sink.dated?.({ userName, keep: true });
    if (invalidRecords.length < maxReported)
      invalidRecords.push({ record: index + 1, userName, reason: reasons.join('; ') });
  };
  const take = async (mapped: MappedRecord, index: number) => {
    records++;
    if ('user' in mapped && mapped.choices) {
      const unchosen =
        chooser && references?.only?.(mapped.user) !== false
          ? await chooser.choose(mapped.user, mapped.choices)
          : ['SelectUniqueValue: chosen only where the provider can be asked'];
      if (unchosen.length > 0) return refuse(index, userNameOf(mapped.user), unchosen);
    }
    const record = await fitter.fit(mapped);
    const reasons = 'problems' in record ? record.problems : validateUser(model, record.user);
    const line = record.line !== undefined ? { line: record.line } : {};
    if (reasons.length === 0 && 'user' in record && dates && datedCounts) {
      // Future-dated joiners and leavers: what the sync does today, and what the user's schedule does later.
      const where = record.line !== undefined ? `line ${record.line}` : `record ${index + 1}`;
      const facts = datedFacts(mapped.dated ?? {}, dates, where, record.user);
      if (!facts.ok) reasons.push(...facts.problems);
      else {
        const disposition = datedDisposition(facts.value, plannedAt, dates.leadDays);
        datedCounts[disposition.kind] = (datedCounts[disposition.kind] ?? 0) + 1;
        const creates = disposition.actions.some((a) => a.kind === 'create');
        const noCreate = disposition.kind === 'defer' || disposition.kind === 'deactivate-now';
        if (mapped.choices || managers) await resolve(index, record.user, mapped, !noCreate);
        await sink.dated?.({
          userName: String(record.user.userName),
          plan: {
            plannedAt: new Date(plannedAt).toISOString(),
            source: `${sourceName} ${where}`,
            actions: disposition.actions,
            ...(creates ? { user: record.user } : {}),
          },
        });
        // Created now only when due: inactive until the start; a past last day is never created.
        const startsLater = disposition.kind === 'defer' || disposition.kind === 'create-inactive-and-schedule';
        const user =
          startsLater || disposition.kind === 'deactivate-now' ? { ...record.user, active: false } : record.user;
        const { writes } = mapped;
        await sink.valid({
          index,
          user,
          ...(writes ? { writes } : {}),
          ...(noCreate ? { noCreate } : {}),
          ...(startsLater ? { activeLater: true } : {}),
          ...line,
        });
        return;
      }
    }
    if (reasons.length === 0 && 'user' in record) {
      const { writes } = mapped;
      if (mapped.choices || managers) await resolve(index, record.user, mapped, true);
      await sink.valid({ index, user: record.user, ...line, ...(writes ? { writes } : {}) });
      return;
    }
    await refuse(index, 'user' in record ? userNameOf(record.user) : record.userName, reasons);
  };
  let sha256: string | undefined;
  if (source.kind === 'file') {
    // As the read's snapshot names it (its path, s3:// key or URL): known before the first record.
    const location = resolveLocation(sourceLocationOf(source));
    sourceName = path.basename(
      location.kind === 'file' ? location.file : location.kind === 's3' ? location.display : location.url,
    );
    // SelectUniqueValue's candidates left in the records for the chooser.
    const deferUnique = mapping?.rules.some((rule) => rule.compiled?.selectsUnique) === true;
    sha256 = (await readFileSource(source, take, deferUnique ? { ...planning, deferUnique } : planning)).sha256;
  } else {
    const mapped = mapRecords(source.kind === 'inline' ? source.users : [], undefined);
    for (const [index, record] of mapped.entries()) await take(record, index);
  }
  return {
    records,
    invalid,
    invalidRecords,
    ...(sha256 ? { sha256 } : {}),
    ...(datedCounts ? { dated: { counts: datedCounts } } : {}),
    ...(managers ? { managers } : {}),
  };
}

/** The source's valid records in memory (adoptUsers' planner, syncUsers' planner of one user). */
export async function sourceUsers(deps: ActivityDeps, input: SourceRead, planning = planningOfRun()) {
  const valid: ValidSourceUser[] = [];
  const lines: DatedClaimLine[] = [];
  const totals = await readSourceUsers(
    deps,
    input,
    { valid: (u) => void valid.push(u), dated: (l) => void lines.push(l) },
    planning,
  );
  return { ...totals, valid, dated: totals.dated && { ...totals.dated, lines } };
}

/** The dated-actions settings of a file source's mapping, checked (a mapping that does not compile is reported by the reader). */
function datesOf(mapping: unknown): (DatesSettings & { leadDays: number | null }) | undefined {
  const dates = compiledOrUndefined(mapping)?.dates;
  if (!dates) return undefined;
  const checked = checkDatesSettings(dates);
  return checked.ok ? checked.value : undefined;
}
