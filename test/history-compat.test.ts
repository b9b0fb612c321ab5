import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HISTORY_SHIMS, type HistoryShim } from '../src/workflows/history-compat';
import { HISTORIES_DIR, PINNED, readHistoryFiles } from './helpers/history-files';

// The register of history compatibility (src/workflows/history-compat.ts) against the tree: the
// pinned histories and the shims' code. No Temporal server: test/replay.test.ts replays them.

const ROOT = path.resolve(HISTORIES_DIR, '..', '..');
const SHIMS: Array<[string, HistoryShim]> = Object.entries(HISTORY_SHIMS);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

/** The patch ids a history's markers record (`patched()` writes them as core_patch markers). */
function patchIdsOf(history: ReturnType<typeof readHistoryFiles>[number]['history']): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    return (marker.details?.['patch-data']?.payloads ?? []).flatMap((p) => {
      const data = p.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined;
      return typeof data?.id === 'string' ? [data.id] : [];
    });
  });
}

describe('the register of history compatibility', () => {
  const pinned = readHistoryFiles()
    .filter((r) => r.file.startsWith(`${PINNED}/`))
    .map((r) => ({ ...r, name: r.file.slice(PINNED.length + 1) }));

  it('has a pinned history for every shim, and every shim names only pinned histories that exist', () => {
    const names = new Set(pinned.map((p) => p.name));
    for (const [id, shim] of SHIMS) {
      assert.ok(shim.pinned.length > 0, `shim ${id} names no pinned history: record one into test/histories/pinned`);
      const missing = shim.pinned.filter((file) => !names.has(file));
      assert.deepEqual(missing, [], `shim ${id} names pinned histories that test/histories/pinned does not hold`);
    }
  });

  it('claims every pinned history by a shim (a pinned history no shim needs goes with its shim)', () => {
    const claimed = new Set(SHIMS.flatMap(([, shim]) => shim.pinned));
    assert.ok(pinned.length > 0, 'test/histories/pinned holds histories');
    assert.deepEqual(
      pinned.map((p) => p.name).filter((name) => !claimed.has(name)),
      [],
      'pinned histories that no shim of src/workflows/history-compat.ts claims',
    );
  });

  it('says for every shim what it belongs to and when it may go, and its code is where it says', () => {
    for (const [id, shim] of SHIMS) {
      assert.ok(
        'patch' in shim.since ? shim.since.patch : /^[0-9a-f]{7,40}$/.test(shim.since.commit),
        `shim ${id}: a patch id or a commit`,
      );
      assert.ok(shim.removeWhen.length > 20, `shim ${id}: when it may be removed`);
      assert.ok(shim.code.length > 0, `shim ${id}: where its code lives`);
      for (const { file, symbol } of shim.code) {
        const full = path.join(ROOT, file);
        assert.ok(fs.existsSync(full), `shim ${id}: ${file} exists`);
        assert.ok(fs.readFileSync(full, 'utf8').includes(symbol), `shim ${id}: ${file} holds ${symbol}`);
      }
    }
  });

  it('recorded the histories of a patch shim before the patch: they hold no marker of it', () => {
    for (const [id, shim] of SHIMS) {
      if (!('patch' in shim.since)) continue;
      const { patch } = shim.since;
      for (const name of shim.pinned) {
        const history = pinned.find((p) => p.name === name);
        assert.ok(history, `${name} is pinned`);
        assert.ok(!patchIdsOf(history.history).includes(patch), `${name} (shim ${id}) was recorded with ${patch}`);
      }
      // …and the current histories of that workflow show the marker (so the check above can see one).
      const current = readHistoryFiles().filter(
        (r) => !r.file.startsWith(`${PINNED}/`) && patchIdsOf(r.history).includes(patch),
      );
      assert.ok(current.length > 0, `a current history records the marker of ${patch}`);
    }
  });

  it('is the only place that calls patched() or deprecatePatch(), and every history-compat mark names a shim', () => {
    const files = sourceFiles(path.join(ROOT, 'src'));
    const register = 'src/workflows/history-compat.ts';
    const callers = files.filter(
      (f) => relative(f) !== register && /\b(?:patched|deprecatePatch)\(/.test(fs.readFileSync(f, 'utf8')),
    );
    assert.deepEqual(callers.map(relative), [], `patch ids go through ${register} (patchedSince)`);
    const marks = files.flatMap((f) =>
      [...fs.readFileSync(f, 'utf8').matchAll(/history-compat: ([a-z0-9-]+)/g)].map((m) => ({
        file: relative(f),
        id: m[1],
      })),
    );
    assert.ok(marks.length > 0, 'the shims outside the register are marked in place');
    assert.deepEqual(
      marks.filter((m) => !(m.id in HISTORY_SHIMS)),
      [],
      'history-compat marks naming no registered shim (a shim removed, its code left?)',
    );
    const legacyReads = files.filter(
      (f) => relative(f).startsWith('src/workflows/') && /as \{ planFile/.test(fs.readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      legacyReads.map(relative).filter((f) => f !== register),
      [],
      'planFile reads go through legacyPlanFile',
    );
  });
});
