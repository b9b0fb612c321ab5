// Temporal's own dedupe for signals: the server keeps the request id of every signal a run has
// recorded, and answers a later signal-with-start with the same request id as done, writing
// nothing. The receiver derives the request id from the event, so a replayed delivery leaves no
// trace in history (and costs no workflow task). The SDK draws a random request id and has no
// option for it, so the receiver's client sets it on the way out, only where a scope provides one.
// A run started by continue-as-new starts with no request ids: a replay of an event from an earlier
// run is recorded once more, and the workflow's own eventId check ignores it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Client, type ConnectionLike } from '@temporalio/client';

const scope = new AsyncLocalStorage<string>();

/** A UUID-shaped id, the same for the same workflow and event. */
export function eventRequestId(workflowId: string, eventId: string): string {
  const hex = createHash('sha256').update(`${workflowId}\n${eventId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Runs `fn` with signal-with-start requests carrying `requestId`. */
export function withRequestId<T>(requestId: string, fn: () => Promise<T>): Promise<T> {
  return scope.run(requestId, fn);
}

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

/** The connection, with signal-with-start taking its request id from the scope. */
export function withScopedRequestIds(connection: ConnectionLike): ConnectionLike {
  const service = connection.workflowService;
  const signalWithStart = (request: Parameters<typeof service.signalWithStartWorkflowExecution>[0]) =>
    service.signalWithStartWorkflowExecution({ ...request, requestId: scope.getStore() ?? request.requestId });
  const workflowService = boundView(service, (key) =>
    key === 'signalWithStartWorkflowExecution' ? signalWithStart : undefined,
  );
  return boundView(connection, (key) => (key === 'workflowService' ? workflowService : undefined));
}

/** A client like `client` (same connection, namespace, data converter) whose signal-with-start honours the scope. */
export function clientWithScopedRequestIds(client: Client): Client {
  return new Client({
    connection: withScopedRequestIds(client.connection),
    namespace: client.options.namespace,
    dataConverter: client.options.dataConverter,
    interceptors: client.options.interceptors,
  });
}
