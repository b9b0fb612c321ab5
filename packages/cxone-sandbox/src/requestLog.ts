// The request log tests read: what was called and how it went. Never headers (so never the
// Authorization header) and never bodies.
import type { FastifyInstance } from 'fastify';

export interface RequestLogEntry {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  status: number;
  /** When the request arrived (ISO 8601). */
  at: string;
  durationMs: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    receivedAt: string;
  }
}

/** Logs every request except /admin ones (the harness's own calls would only be noise). */
export function recordRequests(app: FastifyInstance, log: RequestLogEntry[], limit: number): void {
  app.decorateRequest('receivedAt', '');
  app.addHook('onRequest', async (request) => {
    request.receivedAt = new Date().toISOString();
  });
  app.addHook('onResponse', async (request, reply) => {
    const [path, query = ''] = request.url.split('?', 2);
    if (path.startsWith('/admin')) return;
    log.push({
      method: request.method,
      path,
      query,
      status: reply.statusCode,
      at: request.receivedAt,
      durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
    });
    if (log.length > limit) log.splice(0, log.length - limit);
  });
}
