// Temporal's own dedupe for signals: the server keeps the request id of every signal a run has
// recorded, and answers a later signal-with-start with the same request id as done, writing
// nothing. The receiver derives the request id from the event, so a replayed delivery leaves no
// trace in history (and costs no workflow task). The SDK draws a random request id and has no
// option for it, so the receiver's client carries it on the way out: the caller tags the signal's
// argument with it (`withRequestId`), a client interceptor moves the tag into a header of the
// request, and the connection takes it out of the header into `requestId`. No AsyncLocalStorage:
// once used, it makes every promise of the process slower (async_hooks), which on a busy
// receiver cost more than the rest of the delivery's own work.
// A run started by continue-as-new starts with no request ids: a replay of an event from an earlier
// run is recorded once more, and the workflow's own eventId check ignores it.
import { createHash } from 'node:crypto';
import { Client, type ConnectionLike, type WorkflowClientInterceptor } from '@temporalio/client';

/** The header that carries the request id from the interceptor to the connection (never sent). */
const REQUEST_ID_HEADER = 'cxone-scim-request-id';

const tagged = new WeakMap<object, string>();

/** A UUID-shaped id, the same for the same workflow and event. */
export function eventRequestId(workflowId: string, eventId: string): string {
  const hex = createHash('sha256').update(`${workflowId}\n${eventId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `signalArg` (an object), tagged: a signal-with-start through a client of this module whose first
 * signal argument it is carries `requestId`.
 */
export function withRequestId<T extends object>(requestId: string, signalArg: T): T {
  tagged.set(signalArg, requestId);
  return signalArg;
}

/** Moves the tag of the first signal argument into a header. */
const requestIdInterceptor: WorkflowClientInterceptor = {
  signalWithStart(input, next) {
    const arg = input.signalArgs[0];
    const requestId = typeof arg === 'object' && arg !== null ? tagged.get(arg) : undefined;
    if (requestId === undefined) return next(input);
    return next({
      ...input,
      headers: { ...input.headers, [REQUEST_ID_HEADER]: { data: Buffer.from(requestId) } },
    });
  },
};

/** A read-through view of `target` whose methods stay bound to it (bound once per name, not per call). */
function boundView<T extends object>(target: T, override: (key: string | symbol) => unknown): T {
  const methods = new Map<string | symbol, { method: unknown; bound: unknown }>();
  return new Proxy(target, {
    get(object, key) {
      const replaced = override(key);
      if (replaced !== undefined) return replaced;
      const value = Reflect.get(object, key, object) as unknown;
      if (typeof value !== 'function') return value;
      let cached = methods.get(key);
      if (cached?.method !== value) methods.set(key, (cached = { method: value, bound: value.bind(object) }));
      return cached.bound;
    },
  });
}

/** The connection, with signal-with-start taking its request id out of the header. */
export function withRequestIdsFromHeader(connection: ConnectionLike): ConnectionLike {
  const service = connection.workflowService;
  const signalWithStart = (request: Parameters<typeof service.signalWithStartWorkflowExecution>[0]) => {
    const { [REQUEST_ID_HEADER]: carried, ...fields } = request.header?.fields ?? {};
    if (!carried?.data) return service.signalWithStartWorkflowExecution(request);
    return service.signalWithStartWorkflowExecution({
      ...request,
      requestId: Buffer.from(carried.data).toString(),
      header: { ...request.header, fields },
    });
  };
  const workflowService = boundView(service, (key) =>
    key === 'signalWithStartWorkflowExecution' ? signalWithStart : undefined,
  );
  return boundView(connection, (key) => (key === 'workflowService' ? workflowService : undefined));
}

/** Client options that make a signal-with-start honour `withRequestId`. */
export function requestIdClientOptions(connection: ConnectionLike) {
  return {
    connection: withRequestIdsFromHeader(connection),
    interceptors: { workflow: [requestIdInterceptor] },
  };
}

/** A client like `client` (same connection, namespace, data converter) whose signal-with-start honours `withRequestId`. */
export function clientWithRequestIds(client: Client): Client {
  const { interceptors } = client.options;
  if (interceptors?.workflow !== undefined && !Array.isArray(interceptors.workflow))
    throw new Error('clientWithRequestIds: only a list of workflow client interceptors can be combined');
  return new Client({
    connection: withRequestIdsFromHeader(client.connection),
    namespace: client.options.namespace,
    dataConverter: client.options.dataConverter,
    interceptors: { ...interceptors, workflow: [...(interceptors?.workflow ?? []), requestIdInterceptor] },
  });
}
