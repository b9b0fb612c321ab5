import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  OAuthError,
  parseRetryAfter,
  SCIM_ERROR_SCHEMA,
  ScimForeignUrlError,
  ScimHttpError,
  ScimNetworkError,
} from '../src/http';
import { toActivityFailure } from '../src/activities/provider/failure-mapping';

const NOW = Date.parse('2025-01-01T00:00:00Z');

function httpError(status: number, init: { body?: unknown; headers?: Record<string, string> } = {}): ScimHttpError {
  return ScimHttpError.fromResponse('PUT', '/scim/v2/Users/1', status, new Headers(init.headers), init.body, NOW);
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('2', NOW), 2000);
    assert.equal(parseRetryAfter(' 0 ', NOW), 0);
    assert.equal(parseRetryAfter('120', NOW), 120_000);
  });

  it('clamps negative values to 0', () => {
    assert.equal(parseRetryAfter('-5', NOW), 0);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', NOW), 0);
  });

  it('reads HTTP-dates in all three RFC 9110 formats', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', NOW), 30_000);
    assert.equal(parseRetryAfter('Wednesday, 01-Jan-25 00:00:30 GMT', NOW), 30_000);
    assert.equal(parseRetryAfter('Wed Jan  1 00:00:30 2025', NOW), 30_000);
  });

  it('rejects anything else', () => {
    for (const value of [
      undefined,
      null,
      '',
      '  ',
      'soon',
      '1.5',
      '2s',
      '1e3',
      'Wed, 99 Foo 2025 nonsense',
      '2025-01-01',
    ]) {
      assert.equal(parseRetryAfter(value, NOW), undefined, String(value));
    }
  });
});

describe('ScimHttpError.fromResponse', () => {
  it('parses an RFC 7644 §3.12 error body', () => {
    const err = httpError(409, {
      body: {
        schemas: [SCIM_ERROR_SCHEMA],
        status: '409',
        scimType: 'uniqueness',
        detail: 'userName taken',
        extra: 'x',
      },
    });
    assert.equal(err.scimType, 'uniqueness');
    assert.equal(err.detail, 'userName taken');
    assert.deepEqual(err.scimError, {
      schemas: [SCIM_ERROR_SCHEMA],
      status: '409',
      scimType: 'uniqueness',
      detail: 'userName taken',
    });
    assert.equal(err.message, 'SCIM PUT /scim/v2/Users/1 failed: HTTP 409 (uniqueness): userName taken');
  });

  it('accepts the §3.12 shape without schemas, and a plain message otherwise', () => {
    assert.equal(httpError(400, { body: { status: 400, scimType: 'invalidFilter' } }).scimType, 'invalidFilter');
    const plain = httpError(500, { body: { message: 'boom' } });
    assert.equal(plain.scimError, undefined);
    assert.equal(plain.detail, 'boom');
    assert.equal(httpError(502, { body: '<html>bad gateway</html>' }).detail, undefined);
  });

  it('finds the missing permission of a 403 wherever the server puts it', () => {
    const cases: Array<[Parameters<typeof httpError>[1], string]> = [
      [{ body: { status: '403', detail: 'Missing required scope: scim:write.' } }, 'scim:write'],
      [
        { body: { status: '403', detail: "The token lacks permission 'cxone.scim.user.manage'" } },
        'cxone.scim.user.manage',
      ],
      [{ body: { status: '403', detail: '"scim:write" scope is required' } }, 'scim:write'],
      [{ body: { error: 'forbidden', requiredScope: 'cxone.webhook.manage' } }, 'cxone.webhook.manage'],
      [{ headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="scim:write"' } }, 'scim:write'],
    ];
    for (const [init, expected] of cases) assert.equal(httpError(403, init).missingPermission, expected);
    assert.equal(httpError(403, { body: { detail: 'no permission to create users' } }).missingPermission, undefined);
    assert.equal(httpError(400, { body: { detail: 'required scope: scim:write' } }).missingPermission, undefined);
  });
});

describe('toActivityFailure', () => {
  const nonRetryable: Array<[number, string]> = [
    [400, 'ScimBadRequest'],
    [401, 'ScimUnauthorized'],
    [403, 'ScimForbidden'],
    [404, 'ScimNotFound'],
    [405, 'ScimReadOnly'],
    [409, 'ScimConflict'],
    [410, 'ScimUnexpectedStatus'],
    [412, 'ScimPreconditionFailed'],
    [413, 'ScimPayloadTooLarge'],
    [501, 'ScimReadOnly'],
  ];
  for (const [status, type] of nonRetryable) {
    it(`${status} → non-retryable ${type}`, () => {
      const failure = toActivityFailure(
        httpError(status, {
          body: { status: String(status), scimType: 'mutability', detail: 'no' },
          headers: { 'retry-after': '5' },
        }),
      );
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.nextRetryDelay, undefined);
      assert.match(failure.message, new RegExp(`HTTP ${status} \\(mutability\\): no`));
      assert.deepEqual(failure.details, [
        { status, scimType: 'mutability', detail: 'no', method: 'PUT', path: '/scim/v2/Users/1', retryAfterMs: 5000 },
      ]);
    });
  }

  it('403 names the missing permission in message and details', () => {
    const failure = toActivityFailure(httpError(403, { body: { detail: 'required scope: scim:write' } }));
    assert.match(failure.message, /missing permission: scim:write/);
    assert.equal((failure.details?.[0] as { missingPermission?: string } | undefined)?.missingPermission, 'scim:write');
  });

  const retryable: Array<[number, string, string | undefined, number | undefined]> = [
    [429, 'ScimThrottled', '2', 2000],
    // A zero delay is left to the retry policy: Temporal would read nextRetryDelay 0 as "no retry".
    [429, 'ScimThrottled', '0', undefined],
    [503, 'ScimUnavailable', 'Wed, 01 Jan 2025 00:00:07 GMT', 7000],
    [503, 'ScimUnavailable', undefined, undefined],
    [500, 'ScimServerError', undefined, undefined],
    [502, 'ScimServerError', undefined, undefined],
  ];
  for (const [status, type, retryAfter, delay] of retryable) {
    it(`${status} (Retry-After ${retryAfter ?? 'none'}) → retryable ${type}`, () => {
      const failure = toActivityFailure(
        httpError(status, { headers: retryAfter ? { 'retry-after': retryAfter } : {} }),
      );
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, false);
      assert.equal(failure.nextRetryDelay ?? undefined, delay);
    });
  }

  it('network errors are retryable with default backoff', () => {
    const failure = toActivityFailure(
      new ScimNetworkError('GET', '/scim/v2/Users', {
        timedOut: false,
        code: 'ECONNREFUSED',
        message: 'connect ECONNREFUSED 127.0.0.1:9',
      }),
    );
    assert.equal(failure.type, 'ScimNetworkError');
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay ?? undefined, undefined);
    assert.deepEqual(failure.details, [
      { method: 'GET', path: '/scim/v2/Users', timedOut: false, code: 'ECONNREFUSED' },
    ]);
  });

  it('OAuth errors are final unless the token endpoint is throttled, down or unreachable', () => {
    const oauth = (status?: number) =>
      toActivityFailure(
        new OAuthError('t1', 'https://idp/token', { status, error: 'invalid_client', reason: 'x', retryAfterMs: 3000 }),
      );
    assert.deepEqual([oauth(400).type, oauth(400).nonRetryable], ['OAuthFailed', true]);
    assert.deepEqual([oauth(401).type, oauth(401).nonRetryable], ['OAuthFailed', true]);
    for (const status of [429, 500, 503, undefined]) {
      const failure = oauth(status);
      assert.deepEqual([failure.type, failure.nonRetryable, failure.nextRetryDelay], ['OAuthUnavailable', false, 3000]);
    }
  });

  it('a foreign URL is final', () => {
    const failure = toActivityFailure(new ScimForeignUrlError('https://evil.example', 'https://tenant.example'));
    assert.deepEqual([failure.type, failure.nonRetryable], ['ScimForeignUrl', true]);
  });

  it('passes an ApplicationFailure through and wraps anything else', () => {
    const original = ApplicationFailure.nonRetryable('mine', 'Mine');
    assert.equal(toActivityFailure(original), original);
    const wrapped = toActivityFailure(new TypeError('bug'));
    assert.ok(wrapped instanceof ApplicationFailure);
    assert.equal(wrapped.message, 'bug');
  });
});
