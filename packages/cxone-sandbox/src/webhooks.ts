// /api/v2/webhooks: CXone-style subscription management.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from './errors';
import { USER_EVENT_TYPES } from './resources';
import type { Store, Subscription } from './store';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parseSubscription(body: unknown, allowRemote: boolean): Omit<Subscription, 'id' | 'createdAt'> {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(String(input.url));
  } catch {
    problems.push('"url" must be an absolute http(s) URL');
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('"url" must use http or https');
  // The sandbox is a local tool: it only calls back to this machine unless told otherwise.
  if (url && !allowRemote && !LOOPBACK_HOSTS.has(url.hostname))
    problems.push('"url" must be a loopback address (127.0.0.1, localhost, [::1])');
  const events = input.events;
  if (!Array.isArray(events) || events.length === 0)
    problems.push(`"events" must be a non-empty array of ${USER_EVENT_TYPES.join(', ')}`);
  else {
    for (const e of events) if (!USER_EVENT_TYPES.includes(e)) problems.push(`unknown event type ${JSON.stringify(e)}`);
  }
  if (input.description !== undefined && typeof input.description !== 'string')
    problems.push('"description" must be a string');
  if (problems.length > 0) throw badRequest('invalidValue', problems.join('; '));
  return {
    url: String(url),
    events: [...new Set(events as string[])],
    description: (input.description as string | undefined) ?? '',
  };
}

export function registerWebhookRoutes(app: FastifyInstance, store: Store, allowRemote: boolean): void {
  app.post('/webhooks', async (request, reply) => {
    const subscription: Subscription = {
      id: randomUUID(),
      ...parseSubscription(request.body, allowRemote),
      createdAt: new Date().toISOString(),
    };
    store.subscriptions.set(subscription.id, subscription);
    store.changed();
    return reply.code(201).header('location', `/api/v2/webhooks/${subscription.id}`).send(subscription);
  });

  app.get('/webhooks', async () => ({ webhooks: [...store.subscriptions.values()] }));

  app.get<{ Params: { id: string } }>('/webhooks/:id', async (request) => {
    const found = store.subscriptions.get(request.params.id);
    if (!found) throw notFound(`Webhook ${request.params.id} not found`);
    return found;
  });

  app.delete<{ Params: { id: string } }>('/webhooks/:id', async (request, reply) => {
    if (!store.subscriptions.delete(request.params.id)) throw notFound(`Webhook ${request.params.id} not found`);
    store.changed();
    return reply.code(204).send();
  });
}
