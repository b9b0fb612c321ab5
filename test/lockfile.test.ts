// The committed lockfile installs on every platform with `npm ci`: each package has an integrity
// hash, and every platform's optional native binary (e.g. @swc/core-darwin-arm64) has an entry.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  optionalDependencies?: Record<string, string>;
}

const root = path.resolve(__dirname, '..', '..');
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const installed = Object.entries(lock.packages).filter(
  ([key, entry]) => key.startsWith('node_modules/') && !entry.link,
);

describe('package-lock.json', () => {
  it('gives every installed package an integrity hash', () => {
    const missing = installed.filter(([, entry]) => !entry.integrity).map(([key]) => key);
    assert.deepEqual(missing, [], 'run `node scripts/complete-lockfile.js`');
  });

  it('lists the optional platform packages of every package that has them', () => {
    const missing: string[] = [];
    for (const [key, entry] of installed) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        const nested = `${key}/node_modules/${name}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`]) missing.push(`${key} → ${name}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(lock.packages['node_modules/@swc/core-darwin-arm64'], 'the macOS binary of @swc/core is locked');
    assert.ok(lock.packages['node_modules/@swc/core-win32-x64-msvc'], 'the Windows binary of @swc/core is locked');
  });

  it('links the sandbox workspace package', () => {
    assert.equal(lock.packages['node_modules/cxone-sandbox']?.link, true);
  });
});
