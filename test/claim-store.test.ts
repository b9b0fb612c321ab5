import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { claimStoreFor, getClaim, getClaimJson, getClaimLines, putClaim } from '../src/activities/claims/claim-store';
import { resetSourceStore } from '../src/activities/sources/source-store';
import { FailureType } from '../src/core/failures';
import { startObjectStore, type ObjectStore } from './helpers/object-store';

// Claim checks: objects a run stores for its later activities, referenced from history by
// location and SHA-256, in a directory (one host) or an S3-compatible store (a real one on loopback).

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${String(err)}`);
    return err;
  }
  assert.fail('it succeeded');
}

describe('claim store', () => {
  it('chooses CXONE_SCIM_CLAIM_STORE, else the bucket of an s3:// source, else the data dir', () => {
    assert.equal(claimStoreFor('s3://hr/x.csv', { CXONE_SCIM_CLAIM_STORE: 's3://claims/run' }), 's3://claims/run');
    assert.equal(claimStoreFor('s3://hr/exports/x.csv', {}), 's3://hr/cxone-scim-claims');
    assert.equal(claimStoreFor('/data/x.csv', { CXONE_SCIM_DATA_DIR: '/var/lib/cxone-scim' }), '/var/lib/cxone-scim');
    assert.equal(claimStoreFor('https://example.com/x.csv', {}), path.join(os.tmpdir(), 'cxone-scim'));
  });

  it('reads JSON and JSON-lines claims as untrusted JSON: a prototype key is PlanUnavailable naming the claim', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claims-'));
    try {
      const lines = await putClaim(dir, 'plans', Buffer.from('{"userName":"a"}\n\n{"userName":"b"}\n'));
      assert.deepEqual(await getClaimLines(lines, 'the links'), [{ userName: 'a' }, { userName: 'b' }]);
      const bad = await putClaim(dir, 'plans', Buffer.from('{"userName":"a"}\n{"__proto__":{"admin":true}}\n'));
      const refused = await failureOf(getClaimLines(bad, 'the links'));
      assert.equal(refused.type, FailureType.PlanUnavailable);
      assert.match(refused.message, /the links at .* cannot be used: .*__proto__/);
      const doc = await putClaim(dir, 'plans', Buffer.from('{"slices":[]}'), 'json');
      assert.deepEqual(await getClaimJson(doc, 'the index'), { slices: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores in a directory under the SHA-256, reads it back, and refuses a changed or missing object', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claims-'));
    try {
      const content = Buffer.from('{"userName":"a"}\n{"userName":"b"}\n');
      const ref = await putClaim(dir, 'chunks', content);
      assert.equal(ref.bytes, content.byteLength);
      assert.equal(path.basename(ref.location), `${ref.sha256}.ndjson`);
      assert.deepEqual(
        await putClaim(dir, 'chunks', content),
        ref,
        'storing the same content again gives the same reference',
      );
      assert.deepEqual(await getClaim(ref, 'chunk 1'), content);

      fs.writeFileSync(ref.location, '{"userName":"mallory"}\n');
      const changed = await failureOf(getClaim(ref, 'chunk 1'));
      assert.equal(changed.type, FailureType.PlanUnavailable);
      assert.match(changed.message, /chunk 1 at .* is not the object the run stored/);

      fs.rmSync(ref.location);
      const missing = await failureOf(getClaim(ref, 'chunk 1'));
      assert.equal(missing.type, FailureType.PlanUnavailable);
      assert.match(missing.message, /ENOENT.*CXONE_SCIM_CLAIM_STORE/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('in an S3-compatible store', () => {
    let store: ObjectStore;
    const saved = { ...process.env };
    before(async () => {
      store = await startObjectStore();
      await store.createBucket('claims');
      Object.assign(process.env, store.env, { AWS_MAX_ATTEMPTS: '2' });
      resetSourceStore();
    });
    after(async () => {
      for (const key of Object.keys(store?.env ?? {})) if (saved[key] === undefined) delete process.env[key];
      Object.assign(process.env, saved);
      resetSourceStore();
      await store?.stop();
    });

    it('stores, reads back, and names a lost object as a lost plan, not a missing source', async () => {
      const content = Buffer.from('{"userName":"s3"}\n');
      const ref = await putClaim('s3://claims/runs/', 'plans', content, 'json');
      assert.match(ref.location, /^s3:\/\/claims\/runs\/plans\/[0-9a-f]{64}\.json$/);
      assert.deepEqual(await getClaim(ref, 'the sync plan'), content);

      await store.remove('claims', ref.location.slice('s3://claims/'.length));
      const lost = await failureOf(getClaim(ref, 'the sync plan'));
      assert.equal(lost.type, FailureType.PlanUnavailable);
      assert.match(lost.message, /the sync plan at s3:\/\/claims\/runs\/plans\/.* does not exist/);

      const noBucket = await failureOf(putClaim('s3://no-such-bucket/x', 'chunks', content));
      assert.match(noBucket.message, /the claim store s3:\/\/no-such-bucket\/x\/chunks\/.* does not exist/);
    });
  });
});
