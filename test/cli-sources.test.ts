// The users file `provision`, `sync` and `adopt` hand the worker: one builder (usersFileSource), so a
// path is made absolute, a URL passes as it is, a bad URL and a bad --mapping fail before any run starts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { adoptInputFrom } from '../src/cli/adopt';
import { UsageError } from '../src/cli/exit-codes';
import { syncInputFrom } from '../src/cli/sync-options';

describe('the users file a CLI job names', () => {
  it('keeps an s3:// or https:// source as it is and makes a path absolute, for sync and adopt alike', () => {
    const url = 's3://hr-exports/people.csv';
    assert.equal(syncInputFrom(url, { tenant: 't' }).source?.path, url);
    assert.equal(adoptInputFrom(url, { tenant: 't', wait: false }).source?.path, url);
    assert.equal(
      syncInputFrom('https://files.example.com/p.csv', { tenant: 't' }).source?.path,
      'https://files.example.com/p.csv',
    );
    assert.equal(syncInputFrom('people.csv', { tenant: 't' }).source?.path, path.resolve('people.csv'));
  });

  it('refuses a URL with credentials, and a mapping that does not compile, naming the reason', () => {
    assert.throws(
      () => adoptInputFrom('https://user:secret@files.example.com/p.csv', { tenant: 't', wait: false }),
      (err: unknown) => err instanceof UsageError && !String((err as Error).message).includes('secret'),
    );
    const mapping = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-sources-')), 'm.json');
    fs.writeFileSync(mapping, JSON.stringify({ attributes: { userName: { expression: 'Join(' } } }));
    assert.throws(
      () => syncInputFrom('people.csv', { tenant: 't', mapping }),
      /--mapping .*m\.json: the attribute mapping is invalid/,
    );
    fs.rmSync(path.dirname(mapping), { recursive: true, force: true });
  });
});
