// /Bulk: RFC 7644 §3.7 processing (bulkId references, failOnErrors, limits), run either in the
// request (200 + BulkResponse) or, as CXone does, as a background job (202 + job id).
import { randomUUID } from 'node:crypto';
import { badRequest, errorBody, ScimHttpError } from './errors';
import type { Resources } from './resources';
import { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, type ResourceKind } from './schemas';
import type { SpcLimits } from './spc';
import type { Attrs } from './validate';

export interface BulkOperation {
  method: string;
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

export interface BulkOperationResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

export interface BulkRequest {
  operations: BulkOperation[];
  failOnErrors?: number;
}

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface BulkJob {
  id: string;
  status: JobStatus;
  createdAt: string;
  completedAt?: string;
  request: BulkRequest;
  results?: BulkOperationResult[];
}

const BULK_ID_REF = /^bulkId:(.+)$/;

/** Checks the envelope and the limits of the current ServiceProviderConfig (413 when over). */
export function parseBulkRequest(body: unknown, payloadBytes: number, limits: SpcLimits): BulkRequest {
  if (payloadBytes > limits.bulkMaxPayloadSize) {
    throw new ScimHttpError(
      413,
      `The size of the bulk request (${payloadBytes} bytes) exceeds maxPayloadSize (${limits.bulkMaxPayloadSize})`,
    );
  }
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (!Array.isArray(input.schemas) || !input.schemas.includes(BULK_REQUEST_SCHEMA)) {
    throw badRequest('invalidSyntax', `"schemas" must contain ${BULK_REQUEST_SCHEMA}`);
  }
  if (!Array.isArray(input.Operations)) throw badRequest('invalidSyntax', '"Operations" must be an array');
  if (input.Operations.length > limits.bulkMaxOperations) {
    throw new ScimHttpError(
      413,
      `The number of operations (${input.Operations.length}) exceeds maxOperations (${limits.bulkMaxOperations})`,
    );
  }
  const failOnErrors = input.failOnErrors;
  if (failOnErrors !== undefined && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1)) {
    throw badRequest('invalidValue', '"failOnErrors" must be a positive integer');
  }
  return { operations: input.Operations as BulkOperation[], failOnErrors: failOnErrors as number | undefined };
}

/** Every `bulkId:xyz` string in the operation's path and data. */
function references(op: BulkOperation): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = BULK_ID_REF.exec(v);
      if (m) found.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit);
  };
  visit(typeof op?.path === 'string' ? op.path.split('/') : undefined);
  visit(op?.data);
  return found;
}

function substitute(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === 'string') {
    const m = BULK_ID_REF.exec(v);
    if (!m) return v;
    const id = ids.get(m[1]);
    if (id === undefined)
      throw new ScimHttpError(
        409,
        `bulkId "${m[1]}" could not be resolved (no successful POST declares it)`,
        'invalidValue',
      );
    return id;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids));
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]));
  return v;
}

const ENDPOINTS: Record<string, ResourceKind> = { Users: 'User', Groups: 'Group' };

function runOperation(resources: Resources, op: BulkOperation, ids: Map<string, string>): BulkOperationResult {
  const method = typeof op?.method === 'string' ? op.method.toUpperCase() : String(op?.method);
  const result: BulkOperationResult = {
    method,
    ...(op?.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
    status: '',
  };
  try {
    const segments = (typeof op?.path === 'string' ? op.path : '').split('/').filter(Boolean);
    const kind = ENDPOINTS[segments[0]];
    if (!kind || segments.length > 2)
      throw badRequest('invalidPath', `Unsupported bulk path ${JSON.stringify(op?.path)}`);
    const id = segments[1] === undefined ? undefined : (substitute(segments[1], ids) as string);
    const data = substitute(op.data, ids);
    let resource: Attrs | undefined;
    if (method === 'POST') {
      if (id !== undefined) throw badRequest('invalidPath', 'POST must target a collection (/Users or /Groups)');
      if (typeof op.bulkId !== 'string' || op.bulkId === '')
        throw badRequest('invalidSyntax', 'POST operations require a bulkId');
      resource = resources.create(kind, data);
      ids.set(op.bulkId, resource.id as string);
      result.status = '201';
    } else if (id === undefined) {
      throw badRequest('invalidPath', `${method} must target a resource (/${segments[0]}/{id})`);
    } else if (method === 'PUT') {
      resource = resources.replace(kind, id, data, op.version);
      result.status = '200';
    } else if (method === 'PATCH') {
      resource = resources.patch(kind, id, data, op.version);
      result.status = '200';
    } else if (method === 'DELETE') {
      resources.remove(kind, id, op.version);
      result.status = '204';
    } else {
      throw badRequest('invalidSyntax', `Unsupported bulk method ${JSON.stringify(op?.method)}`);
    }
    if (resource) {
      const meta = resource.meta as { location: string; version: string };
      result.location = meta.location;
      result.version = meta.version;
    }
  } catch (err) {
    const e = err instanceof ScimHttpError ? err : new ScimHttpError(500, `Internal error: ${(err as Error).message}`);
    result.status = String(e.status);
    result.response = e.body();
  }
  return result;
}

/**
 * Runs the operations in request order. An operation that references the bulkId of a POST later
 * in the request runs that POST first (RFC 7644 §3.7.2); a cycle of references fails with 409.
 * After `failOnErrors` errors the rest is skipped. Results are in request order.
 */
export function processBulk(
  resources: Resources,
  request: BulkRequest,
): { results: BulkOperationResult[]; stoppedEarly: boolean } {
  const ops = request.operations;
  const ids = new Map<string, string>();
  const results = new Map<number, BulkOperationResult>();
  const declaredBy = new Map<string, number>();
  ops.forEach((op, i) => {
    if (String(op?.method).toUpperCase() === 'POST' && typeof op.bulkId === 'string') declaredBy.set(op.bulkId, i);
  });
  const visiting = new Set<number>();
  let errors = 0;
  const stop = () => request.failOnErrors !== undefined && errors >= request.failOnErrors;

  const run = (i: number): void => {
    if (results.has(i) || stop()) return;
    if (visiting.has(i)) {
      const op = ops[i];
      results.set(i, {
        method: String(op.method).toUpperCase(),
        ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
        status: '409',
        response: errorBody(409, 'Circular bulkId references could not be resolved'),
      });
      errors += 1;
      return;
    }
    visiting.add(i);
    for (const ref of references(ops[i])) {
      const declaring = declaredBy.get(ref);
      if (declaring !== undefined && !ids.has(ref)) run(declaring);
    }
    visiting.delete(i);
    if (results.has(i) || stop()) return; // failed as part of a cycle, or stopped meanwhile
    const result = runOperation(resources, ops[i], ids);
    results.set(i, result);
    if (Number(result.status) >= 400) errors += 1;
  };
  ops.forEach((_, i) => run(i));

  const ordered = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  return { results: ordered, stoppedEarly: ordered.length < ops.length };
}

export function bulkResponse(results: BulkOperationResult[]): Attrs {
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: results };
}

const JOB_LIMIT = 1000;

/** CXone-style asynchronous bulk: jobs run one at a time, in submission order. */
export class BulkJobs {
  private readonly jobs = new Map<string, BulkJob>();
  private readonly queue: BulkJob[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly resources: Resources,
    private readonly durationMs: () => number,
  ) {}

  submit(request: BulkRequest): BulkJob {
    const job: BulkJob = { id: randomUUID(), status: 'queued', createdAt: new Date().toISOString(), request };
    this.jobs.set(job.id, job);
    this.forgetOldJobs();
    this.queue.push(job);
    this.next();
    return job;
  }

  get(id: string): BulkJob | undefined {
    return this.jobs.get(id);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }

  /** queued → (next tick) running → (after durationMs) operations applied → completed | failed */
  private next(): void {
    if (this.busy || this.queue.length === 0) return;
    const job = this.queue.shift() as BulkJob;
    this.busy = true;
    this.timer = setTimeout(() => {
      job.status = 'running';
      this.timer = setTimeout(() => {
        const { results, stoppedEarly } = processBulk(this.resources, job.request);
        job.results = results;
        job.status = stoppedEarly ? 'failed' : 'completed';
        job.completedAt = new Date().toISOString();
        this.busy = false;
        this.next();
      }, this.durationMs()).unref();
    }, 0).unref();
  }

  private forgetOldJobs(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= JOB_LIMIT) break;
      if (job.status === 'completed' || job.status === 'failed') this.jobs.delete(id);
    }
  }
}
