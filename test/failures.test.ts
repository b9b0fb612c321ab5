import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { toActivityFailure } from '../src/activities/provider/failure-mapping';
import { explainFailure, printReport } from '../src/cli/print-report';
import { OAuthError, ScimForeignUrlError, ScimHttpError, ScimNetworkError } from '../src/http';
import {
  FAILURE_CLASSES,
  FAILURES,
  failureClassOf,
  FailureType,
  failureTypeForStatus,
  failureTypesOf,
  isFatal,
  isRetryable,
} from '../src/core/failures';
import type { WorkflowReport } from '../src/workflows/report';

const ROOT = path.join(__dirname, '..', '..');
const NOW = Date.parse('2025-01-01T00:00:00Z');

function httpError(status: number, retryAfter?: string): ScimHttpError {
  const headers = new Headers(retryAfter ? { 'retry-after': retryAfter } : {});
  return ScimHttpError.fromResponse(
    'POST',
    '/scim/v2/Bulk',
    status,
    headers,
    { status: String(status), detail: 'said no' },
    NOW,
  );
}

describe('the failure list', () => {
  it('lists each type once, with a class, a one-sentence meaning and a one-sentence fix', () => {
    const types = FAILURES.map((f) => f.type);
    assert.equal(new Set(types).size, types.length, 'no type twice');
    for (const f of FAILURES) {
      assert.ok(FAILURE_CLASSES.includes(f.class), `${f.type}: class ${f.class}`);
      for (const text of [f.meaning, f.fix]) {
        assert.match(text, /^\S.*[.]$/, `${f.type}: "${text}" is a sentence`);
        assert.doesNotMatch(text, /[.!?] [A-Z]/, `${f.type}: "${text}" is one sentence`);
        assert.doesNotMatch(text, /\|/, `${f.type}: no table separator in "${text}"`);
      }
    }
  });

  it('names every type through FailureType, and nothing else', () => {
    assert.deepEqual(Object.values(FailureType).sort(), FAILURES.map((f) => f.type).sort());
    assert.equal(FailureType.PayloadTooLarge, 'ScimPayloadTooLarge');
    assert.equal(FailureType.SourceChanged, 'SourceChanged');
  });

  it('gives each HTTP status at most one type', () => {
    const statuses = FAILURES.flatMap((f) => f.httpStatuses ?? []);
    assert.equal(new Set(statuses).size, statuses.length);
  });

  // The SPEC's rules: 400/409/412 not retried, 401 after one refresh and 403 stop, 429/503 and other
  // 5xx are retried, 413 splits the chunk.
  const documented: Array<[number, string, string]> = [
    [400, 'ScimBadRequest', 'per-record'],
    [401, 'ScimUnauthorized', 'fatal'],
    [403, 'ScimForbidden', 'fatal'],
    [404, 'ScimNotFound', 'per-record'],
    [405, 'ScimReadOnly', 'per-record'],
    [409, 'ScimConflict', 'per-record'],
    [410, 'ScimUnexpectedStatus', 'per-record'],
    [412, 'ScimPreconditionFailed', 'per-record'],
    [413, 'ScimPayloadTooLarge', 'per-record'],
    [429, 'ScimThrottled', 'retryable'],
    [500, 'ScimServerError', 'retryable'],
    [501, 'ScimReadOnly', 'per-record'],
    [502, 'ScimServerError', 'retryable'],
    [503, 'ScimUnavailable', 'retryable'],
    [504, 'ScimServerError', 'retryable'],
    [302, 'ScimUnexpectedStatus', 'per-record'],
  ];
  for (const [status, type, cls] of documented) {
    it(`HTTP ${status} is ${type} (${cls})`, () => {
      assert.equal(failureTypeForStatus(status), type);
      assert.equal(failureClassOf(type), cls);
    });
  }

  it('maps every status it lists to that type', () => {
    for (const f of FAILURES)
      for (const status of f.httpStatuses ?? []) assert.equal(failureTypeForStatus(status), f.type, `HTTP ${status}`);
  });

  it('keeps the provisioning batch behaviour: which types stop the run, which split or fail one chunk', () => {
    const fatal = failureTypesOf('fatal');
    for (const type of [
      'SourceChanged',
      'SourceUnreadable',
      'InvalidSource',
      'InvalidMapping',
      'OAuthFailed',
      'ScimUnauthorized',
      'ScimForbidden',
      'ScimForeignUrl',
    ]) {
      assert.ok(fatal.includes(type as FailureType), `${type} stops the run`);
    }
    for (const type of [
      'ScimPayloadTooLarge',
      'InvalidBulkResponse',
      'ScimBadRequest',
      'ScimConflict',
      'ScimThrottled',
      'ScimNetworkError',
    ]) {
      assert.equal(isFatal(type), false, `${type} fails only its chunk`);
    }
    assert.equal(isRetryable('Error'), false, 'a type the list does not know has no class');
    assert.equal(failureClassOf(undefined), undefined);
  });
});

describe('the mapping at the activity boundary follows the list', () => {
  it('every HTTP status 300–599: the type for the status, non-retryable exactly when the class is not retryable', () => {
    for (let status = 300; status <= 599; status++) {
      const failure = toActivityFailure(httpError(status));
      assert.equal(failure.type, failureTypeForStatus(status), `HTTP ${status}`);
      assert.equal(failure.nonRetryable, !isRetryable(failure.type), `HTTP ${status}: ${failure.type}`);
      assert.deepEqual(failure.details, [{ status, detail: 'said no', method: 'POST', path: '/scim/v2/Bulk' }]);
    }
  });

  it('keeps Retry-After as the next retry delay of a retryable failure, and only there', () => {
    assert.equal(toActivityFailure(httpError(429, '7')).nextRetryDelay, 7000);
    assert.equal(toActivityFailure(httpError(503, 'Wed, 01 Jan 2025 00:00:30 GMT')).nextRetryDelay, 30_000);
    for (const status of [400, 413, 409])
      assert.equal(toActivityFailure(httpError(status, '7')).nextRetryDelay, undefined, `HTTP ${status}`);
  });

  it('network, OAuth and foreign-URL outcomes get listed types with their class', () => {
    const outcomes = [
      new ScimNetworkError('GET', '/scim/v2/Users', { timedOut: true, message: 'timed out after 10 ms' }),
      new OAuthError('t1', 'https://idp/token', { status: 401, error: 'invalid_client', reason: 'refused' }),
      new OAuthError('t1', 'https://idp/token', { status: 503, reason: 'down', retryAfterMs: 2000 }),
      new OAuthError('t1', 'https://idp/token', { reason: 'unreachable' }),
      new ScimForeignUrlError('https://elsewhere.example', 'https://tenant.example'),
    ];
    const mapped = outcomes.map((err) => toActivityFailure(err));
    assert.deepEqual(
      mapped.map((f) => [f.type, f.nonRetryable]),
      [
        ['ScimNetworkError', false],
        ['OAuthFailed', true],
        ['OAuthUnavailable', false],
        ['OAuthUnavailable', false],
        ['ScimForeignUrl', true],
      ],
    );
    for (const f of mapped) assert.equal(f.nonRetryable, !isRetryable(f.type ?? undefined), String(f.type));
    assert.equal(mapped[2].nextRetryDelay, 2000);
    assert.deepEqual(mapped[1].details, [
      { tenantId: 't1', tokenUrl: 'https://idp/token', status: 401, error: 'invalid_client' },
    ]);
  });
});

describe('docs/troubleshooting.md and the list agree', () => {
  const section = fs.readFileSync(path.join(ROOT, 'docs', 'troubleshooting.md'), 'utf8');

  it('has one row per failure type, saying what the list says', () => {
    const rows = section.split('\n').filter((line) => /^\| `[A-Za-z]+` \| (retryable|fatal|per-record) \|/.test(line));
    const expected = FAILURES.map(
      (f) => `| \`${f.type}\` | ${f.class} | ${(f.httpStatuses ?? []).join(', ')} | ${f.meaning} | ${f.fix} |`,
    );
    const normalise = (row: string) => row.replace(/\s+\|/g, ' |');
    assert.deepEqual(
      rows.map(normalise),
      expected.map(normalise),
      'the docs/troubleshooting.md table is the list (src/core/failures.ts), row for row',
    );
  });

  it('names no failure type the list does not have', () => {
    const known = new Set(FAILURES.map((f) => f.type));
    // Backticked CamelCase words are failure types (env names, paths and options are not CamelCase).
    const named = [...section.matchAll(/`([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)`/g)].map((m) => m[1]);
    assert.ok(named.length >= FAILURES.length);
    assert.deepEqual(
      named.filter((name) => !known.has(name)),
      [],
    );
  });
});

describe('one list in the code', () => {
  function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
    });
  }

  it('no failure type is written as a string literal outside the list', () => {
    const quoted = new RegExp(`['"\`](${FAILURES.map((f) => f.type).join('|')})['"\`]`);
    const offenders = ['activities', 'workflows', 'cli', 'config', 'webhooks', 'scim']
      .flatMap((dir) => sources(path.join(ROOT, 'src', dir)))
      .filter((file) => !file.endsWith(path.join('scim', 'failures.ts')))
      .flatMap((file) =>
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => (quoted.test(line) ? `${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}` : undefined))
          .filter((hit): hit is string => hit !== undefined),
      );
    assert.deepEqual(offenders, []);
  });

  it('nothing under src/http imports Temporal', () => {
    const importing = sources(path.join(ROOT, 'src', 'http')).filter((file) =>
      /from '@temporalio\//.test(fs.readFileSync(file, 'utf8')),
    );
    assert.deepEqual(
      importing.map((file) => path.relative(ROOT, file)),
      [],
    );
  });
});

describe('the CLI explains a failed run with the list', () => {
  it('prints the meaning and the fix of a listed type, nothing for an unlisted one', () => {
    const entry = FAILURES.find((f) => f.type === FailureType.Forbidden);
    assert.ok(entry);
    assert.equal(explainFailure(FailureType.Forbidden), `ScimForbidden (fatal): ${entry.meaning} Fix: ${entry.fix}`);
    assert.equal(explainFailure('TypeError'), undefined);
    assert.equal(explainFailure(undefined), undefined);
  });

  it('adds that line under the error of a text report', () => {
    const report: WorkflowReport = {
      workflowType: 'provisionUsers',
      workflowId: 'w1',
      runId: 'r1',
      tenant: 't1',
      request: {},
      status: 'failed',
      startedAt: '2025-01-01T00:00:00.000Z',
      steps: [],
      totals: {
        attempted: 0,
        succeeded: 0,
        failed: 0,
        successRate: 1,
        latencyMs: { total: 0, p50: 0, p95: 0, p99: 0, max: 0 },
      },
      error: 'the source file changed during the run',
      errorType: FailureType.SourceChanged,
    };
    let text = '';
    const out = { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream;
    printReport(report, 'text', out);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[lines.length - 2], '  error: the source file changed during the run');
    assert.equal(lines[lines.length - 1], `  ${explainFailure(FailureType.SourceChanged)}`);
  });
});
