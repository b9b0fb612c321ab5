// Manager references where records are planned (docs/mappings.md "Manager references"): a record's
// manager is named by a key, the value the manager's own record has at the mapping's `referenceBy`
// (externalId, userName, …). The planner resolves it to the provider's id: a manager the provider
// already has (one verified lookup per key) goes into the user as `manager.value` before the user is
// stored; a manager that is one of this run's own records, and new, is linked by a second pass once
// the run has created it (a pending link); a manager found nowhere, or ambiguous, is a warning for
// the record, which is provisioned without one. Used by provisionUsers' and syncUsers' planners
// (resolve, noteRecord, then managerPlanOf once every record is read).
import type { ClaimRef } from '../core/claim-ref';
import { putClaim } from './claims/claim-store';
import { type ManagerReference, placeResolved } from '../mapping/mapping';
import { parseTargetPath, readPath, type TargetPath } from '../scim/attribute-path';
import type { AttributeFinder } from './provider/attribute-finder';

/** A record provisioned without its manager, and why. */
export interface ManagerWarning {
  /** 1-based position of the record in the source. */
  record: number;
  userName?: string;
  detail: string;
}

/** A record whose manager is one of the run's own new records: linked once the run has written them. */
export interface PendingManagerLink {
  /** 0-based index of the record in the source. */
  index: number;
  userName: string;
  key: string;
  /** The provider attribute to find the manager by, as ManagerReference.providerAttribute. */
  providerAttribute: string;
  /**
   * The record's externalId, when it has one: the user found by userName after the run must carry it
   * (a user renamed onto someone else's userName, whose write failed, must not get the link).
   */
  externalId?: string;
}

/** What a plan says of its records' managers. */
export interface ManagerPlan {
  /** Records whose manager the provider already had: its id is in the user as planned. */
  resolved: number;
  /** Records whose manager is a new record of this run (in the claim). */
  pending: number;
  /** The pending links, one JSON line each (PendingManagerLink); absent when there are none. */
  claim?: ClaimRef;
  /** Records left without a manager (all counted, the first `maxReported` described). */
  warned: number;
  warnings: ManagerWarning[];
}

const str = (value: unknown) =>
  (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;

const ignoresCase = (attribute: string) => attribute.trim().toLowerCase() === 'username';

export class ManagerReferences {
  /** The keys this run's planned records have at each `by` attribute (lower case where it compares so). */
  readonly #runKeys = new Map<string, { path: TargetPath; keys: Set<string> }>();
  /** Records whose manager the provider does not have: pending if one of the run's records is it. */
  readonly #unresolved: Array<PendingManagerLink & { by: string }> = [];
  resolved = 0;
  warned = 0;
  readonly warnings: ManagerWarning[] = [];

  constructor(
    private readonly find: AttributeFinder,
    private readonly maxReported: number,
  ) {}

  /**
   * Resolves a record's manager at the provider: sets `manager.value` in `user` when found (true),
   * records a warning when ambiguous, and otherwise keeps the record for finish().
   */
  async resolve(index: number, userName: string, user: Record<string, unknown>, ref: ManagerReference): Promise<void> {
    const found = await this.find(ref.providerAttribute, ref.key, ignoresCase(ref.providerAttribute));
    if (found.kind === 'one') {
      placeResolved(user, ref.target, found.resource.id);
      this.resolved++;
    } else if (found.kind === 'ambiguous')
      this.#warn(
        index,
        userName,
        `manager: ${found.ids.length} provider users have ${ref.providerAttribute} "${ref.key}" (ids ${found.ids.join(', ')}); provisioned without a manager`,
      );
    else {
      const externalId = str(user.externalId);
      this.#unresolved.push({
        index,
        userName,
        key: ref.key,
        providerAttribute: ref.providerAttribute,
        by: ref.by,
        ...(externalId !== undefined ? { externalId } : {}),
      });
    }
  }

  /** A record resolved above that the plan then refused: it is not written, so it is never linked. */
  forget(index: number): void {
    const last = this.#unresolved.at(-1);
    if (last?.index === index) this.#unresolved.pop();
  }

  /** A record of the run is planned: its key at `by` may name the manager of a record resolved later. */
  noteRecord(user: Record<string, unknown>, by: string): void {
    let known = this.#runKeys.get(by);
    if (!known) {
      const path = parseTargetPath(by);
      if (!path) return;
      known = { path, keys: new Set() };
      this.#runKeys.set(by, known);
    }
    const key = str(readPath(user, known.path));
    if (key !== undefined) known.keys.add(ignoresCase(by) ? key.toLowerCase() : key);
  }

  /**
   * The pending links (managers among the run's records); the others are warnings. `written` says
   * whether the plan writes a record's user (a protected account, or a record not matched safely, is
   * never linked). Call once, after every record.
   */
  finish(written: (index: number) => boolean = () => true): PendingManagerLink[] {
    const pending: PendingManagerLink[] = [];
    for (const { by, ...link } of this.#unresolved.splice(0)) {
      const keys = this.#runKeys.get(by)?.keys;
      if (!written(link.index))
        this.#warn(
          link.index,
          link.userName,
          'manager: this run does not write the user (protected, or its record could not be matched safely); not linked',
        );
      else if (keys?.has(ignoresCase(by) ? link.key.toLowerCase() : link.key)) pending.push(link);
      else
        this.#warn(
          link.index,
          link.userName,
          `manager: no user has ${link.providerAttribute} "${link.key}", at the provider or among this run's records; provisioned without a manager`,
        );
    }
    this.warnings.sort((a, b) => a.record - b.record);
    return pending;
  }

  #warn(index: number, userName: string, detail: string): void {
    this.warned++;
    if (this.warnings.length < this.maxReported) this.warnings.push({ record: index + 1, userName, detail });
  }
}

/** A plan's managers: the links pending until the run has created the managers, stored as a claim in `store`. */
export async function managerPlanOf(
  managers: ManagerReferences,
  store: string,
  written?: (index: number) => boolean,
): Promise<ManagerPlan> {
  const pending = managers.finish(written);
  const claim =
    pending.length > 0
      ? await putClaim(store, 'plans', Buffer.from(pending.map((link) => `${JSON.stringify(link)}\n`).join('')))
      : undefined;
  return {
    resolved: managers.resolved,
    pending: pending.length,
    ...(claim ? { claim } : {}),
    warned: managers.warned,
    warnings: managers.warnings,
  };
}
