// What syncUsers shows a person reviewing a run: the whole plan written out (CSV or JSON), and the
// step-by-step trace of one user synced on demand (record, match, action, HTTP requests).
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { ScimHttpError, type ScimClient } from '../http';
import { FailureType } from '../core/failures';
import {
  countActions,
  type PlannedChange,
  type ProviderUser,
  type SourceUser,
  type SyncAction,
} from '../scim/reconcile';

export interface PlanOut {
  path: string;
  /** Default: from the extension (.csv, else JSON). */
  format?: 'json' | 'csv';
}

/** What one user's sync did, step by step (provision on demand, `user` set). */
export interface UserTrace {
  record?: number;
  line?: number;
  /** The source record after mapping (without a password). */
  mapped?: Record<string, unknown>;
  match?: { id: string; userName?: string; externalId?: string; active?: boolean };
  action: SyncAction | 'none';
  changedAttributes?: string[];
  http?: HttpCall[];
}

export interface HttpCall {
  method: string;
  path: string;
  status?: number;
  error?: string;
}

const operationsText = (c: PlannedChange) =>
  (c.changes ?? []).map((op) => `${op.op} ${op.path ?? '(whole resource)'}`).join('; ');

/** Writes the whole plan for review (JSON or CSV), without the users' bodies; returns the absolute path. */
export function writePlanOut(
  out: PlanOut,
  tenant: string,
  planHash: string,
  changes: readonly PlannedChange[],
): string {
  const file = path.resolve(out.path);
  const format = out.format ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'json');
  const rows = changes.map((c) => ({
    action: c.action,
    record: c.record !== undefined ? c.record + 1 : undefined,
    userName: c.userName,
    id: c.id,
    operations: c.changes,
  }));
  let text: string;
  if (format === 'csv') {
    const cell = (v: unknown) =>
      v === undefined ? '' : /[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
    text = `${[
      'action,record,userName,id,operations',
      ...changes.map((c, i) => [c.action, rows[i].record, c.userName, c.id, operationsText(c)].map(cell).join(',')),
    ].join('\n')}\n`;
  } else {
    text = `${JSON.stringify({ tenant, planHash, counts: countActions(changes), changes: rows }, null, 1)}\n`;
  }
  return writeWorkerFile('planOut', file, text);
}

/**
 * Writes a file a person asked for on the worker (a plan, a report), whole or not at all (a
 * `.partial` renamed into place); a path the worker cannot write is that input's mistake.
 */
export function writeWorkerFile(option: string, file: string, text: string): string {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.partial`, text);
    fs.renameSync(`${file}.partial`, file);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `${option}: cannot write ${file} on the worker: ${(err as Error).message}`,
      FailureType.InvalidSyncInput,
    );
  }
  return file;
}

export function traceOf(
  source: SourceUser & { line?: number },
  changes: readonly PlannedChange[],
  provider: readonly ProviderUser[],
): UserTrace {
  const change = changes.find((c) => c.record === source.index) ?? changes[0];
  const matched = change?.id !== undefined ? provider.find((u) => u.id === change.id) : undefined;
  const { password: _secret, ...mapped } = source.user as Record<string, unknown>;
  return {
    record: source.index + 1,
    ...(source.line !== undefined ? { line: source.line } : {}),
    mapped,
    ...(matched
      ? {
          match: { id: matched.id, userName: matched.userName, externalId: matched.externalId, active: matched.active },
        }
      : {}),
    action: change?.action ?? 'none',
    ...(change?.changes ? { changedAttributes: change.changes.map((c) => c.path ?? '(whole resource)') } : {}),
  };
}

const TRACED_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** The client, noting each request's method, path and status in `log`. */
export function tracing(client: ScimClient, log: HttpCall[]): ScimClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !TRACED_METHODS.has(String(property))) return value;
      const method = String(property).toUpperCase();
      return async (requestPath: string, ...rest: unknown[]) => {
        try {
          const answer = await (value as (...a: unknown[]) => Promise<{ status: number }>).call(
            target,
            requestPath,
            ...rest,
          );
          log.push({ method, path: requestPath, status: answer.status });
          return answer;
        } catch (err) {
          log.push({
            method,
            path: requestPath,
            ...(err instanceof ScimHttpError ? { status: err.status } : {}),
            error: (err as Error).message,
          });
          throw err;
        }
      };
    },
  });
}
