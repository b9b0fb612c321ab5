// Webhook bodies with a key __proto__, constructor or prototype: signed correctly, otherwise valid
// events, each refused with 400 and a detail naming the path. Each row is sent to a real receiver
// in front of the table's Temporal server and worker, followed by a valid event that must be accepted.
import { randomUUID } from 'node:crypto';
import { REFUSED_KEYS, type RefusedKey, withMember } from './refused-key-cases';

export interface WebhookCase {
  name: string;
  /** The raw body, signed as sent. */
  body: () => string;
  status: number;
  /** Must match the answer's `detail`. */
  detail: RegExp;
}

const event = (eventType: string, extra: Record<string, unknown> = {}) => {
  const userId = `wh-${randomUUID()}`;
  return { eventId: randomUUID(), eventType, userId, timestamp: new Date().toISOString(), ...extra };
};

/** A valid event for one user, the kind the receiver accepts. */
export const validEvent = () => JSON.stringify(event('USER_DEACTIVATED'));

const detail = (path: string, key: RefusedKey) =>
  new RegExp(`^${path.replace(/[.[\]$]/g, '\\$&')}: "${key}" is refused as a name \\(__proto__, constructor and prototype`);

export const WEBHOOK_CASES: WebhookCase[] = REFUSED_KEYS.flatMap((key): WebhookCase[] => [
  {
    name: `webhook: a "${key}" member at the top of the event`,
    body: () => withMember(event('USER_DEACTIVATED'), key, { eventType: 'USER_CREATED' }),
    status: 400,
    detail: detail(`$.${key}`, key),
  },
  {
    name: `webhook: a "${key}" member inside the event's user`,
    body: () => {
      const e = event('USER_UPDATED');
      const user = withMember({ id: e.userId, userName: `${e.userId}@example.com`, schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] }, key, { active: false });
      return `${JSON.stringify(e).slice(0, -1)},"user":${user}}`;
    },
    status: 400,
    detail: detail(`$.user.${key}`, key),
  },
]);
