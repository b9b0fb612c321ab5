// SelectUniqueValue where records are planned: a record's candidates (left in it by the mapping,
// Planning.deferUnique) are tried in order against this run's own records (values planned earlier)
// and against the provider (one verified lookup per candidate), and the first free one goes into
// the user. The planner stores the user with that value in its chunk's claim, so every write of
// the record, retried or resumed, sends what was chosen here. Compared ignoring letter case. A
// record's own provider user (found by another match value) never takes a value from it; with
// `keepHeld` (syncUsers) it also keeps the candidate it holds when an earlier one has become free,
// so that a re-sync renames nobody.
import { matchValuesOf, placeResolved, type UniqueChoice } from '../mapping/mapping';
import { parseTargetPath, readPath, type TargetPath } from '../scim/attribute-path';
import type { AttributeFinder } from './provider/attribute-finder';

const str = (value: unknown) =>
  (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;

export class UniqueValueChooser {
  /** Per target: the values (lower case) records planned so far in this run have there. */
  readonly #taken = new Map<string, { path: TargetPath; values: Set<string> }>();

  /**
   * @param matchOn the mapping's pairs, which say when a provider user holding a candidate is this
   *   record's own user (its value is then free for it); default userName and externalId.
   * @param keepHeld before a free candidate is chosen, the record's own user is looked up (by its
   *   first other match value): when it holds a later candidate, it keeps that one.
   */
  constructor(
    private readonly find: AttributeFinder,
    private readonly matchOn: ReadonlyArray<readonly [string, string]> = [
      ['userName', 'userName'],
      ['externalId', 'externalId'],
    ],
    private readonly keepHeld = false,
  ) {}

  /**
   * Places a free candidate of each choice in `user`; returns the record's problems (a target whose
   * candidates are all taken), empty when every choice was made.
   */
  async choose(user: Record<string, unknown>, choices: readonly UniqueChoice[]): Promise<string[]> {
    const problems: string[] = [];
    for (const { target, candidates } of choices) {
      const taken = this.#takenAt(target);
      // Its own user, found by another of its match pairs, holds the value for it (a rerun keeps it).
      const own = matchValuesOf(
        this.matchOn.filter(([ours]) => ours.trim() !== target.trim()),
        user,
      );
      let chosen: string | undefined;
      for (const [i, candidate] of candidates.entries()) {
        if (taken?.values.has(candidate.toLowerCase())) continue;
        const found = await this.find(target, candidate, true);
        if (found.kind === 'one' && isOwn(found.resource, own)) chosen = candidate;
        // A free candidate; with keepHeld, unless its own user holds a later one (chosen when this was taken).
        else if (found.kind === 'none')
          chosen = (await this.#heldByOwn(target, own, candidates.slice(i + 1), taken?.values)) ?? candidate;
        if (chosen !== undefined) break;
      }
      if (chosen === undefined)
        problems.push(
          `${target}: SelectUniqueValue: every candidate is taken, at the provider or by an earlier record of this run (${candidates.map((c) => JSON.stringify(c)).join(', ')})`,
        );
      else placeResolved(user, target, chosen);
    }
    return problems;
  }

  /** The record is planned: its values at the targets chosen in this run are taken for the records after it. */
  take(user: Record<string, unknown>, choices: readonly UniqueChoice[]): void {
    for (const { target } of choices) {
      const taken = this.#takenAt(target) ?? this.#track(target);
      const value = taken ? str(readPath(user, taken.path)) : undefined;
      if (taken && value !== undefined) taken.values.add(value.toLowerCase());
    }
  }

  /**
   * The candidate among `later` that the record's own provider user (found by its first other match
   * value) has at `target`, if any and not taken by an earlier record of the run.
   */
  async #heldByOwn(
    target: string,
    own: ReadonlyArray<readonly [string, string]>,
    later: readonly string[],
    taken: ReadonlySet<string> | undefined,
  ): Promise<string | undefined> {
    if (!this.keepHeld || own.length === 0 || later.length === 0) return undefined;
    const [theirs, value] = own[0];
    const found = await this.find(theirs, value, theirs.trim().toLowerCase() === 'username');
    const path = parseTargetPath(target);
    if (found.kind !== 'one' || !path) return undefined;
    const held = str(readPath(found.resource, path))?.toLowerCase();
    return later.find((c) => c.toLowerCase() === held && !taken?.has(held));
  }

  #takenAt(target: string) {
    return this.#taken.get(target);
  }

  #track(target: string) {
    const path = parseTargetPath(target);
    if (!path) return undefined;
    const entry = { path, values: new Set<string>() };
    this.#taken.set(target, entry);
    return entry;
  }
}

/** Whether a provider user is the record's own: one of the record's other match values is its. */
function isOwn(resource: Record<string, unknown>, own: ReadonlyArray<readonly [string, string]>): boolean {
  return own.some(([theirs, value]) => {
    const path = parseTargetPath(theirs);
    const found = path ? str(readPath(resource, path)) : undefined;
    if (found === undefined) return false;
    return theirs.trim().toLowerCase() === 'username' ? found.toLowerCase() === value.toLowerCase() : found === value;
  });
}
