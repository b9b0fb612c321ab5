// CXone user lifecycle events: the body of a webhook delivery and the payload of the
// `lifecycleEvent` signal. Pure io-ts (no Node built-ins, no clock): the receiver decodes with it
// before signalling, and the userLifecycle workflow decodes again, because the Temporal CLI can
// signal it with anything.
import * as t from 'io-ts';
import { User } from './codecs';
import { decode, type DecodeIssue } from '../core/decode';
import { NonEmptyString, refine } from './primitives';

export const LIFECYCLE_EVENT_TYPES = ['USER_CREATED', 'USER_UPDATED', 'USER_DEACTIVATED'] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

export function isLifecycleEventType(value: string): value is LifecycleEventType {
  return (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(value);
}

// RFC 3339 date-time (what CXone sends: `2025-01-31T12:00:00.000Z`).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

export const IsoTimestamp = refine(
  t.string,
  'RFC 3339 date-time string',
  (s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
);

/**
 * The envelope every delivery must have. `eventType` is any non-empty string here: an unknown
 * type is a different failure (422 at the receiver) than a malformed body (400).
 */
export const LifecycleEventEnvelope = t.intersection(
  [
    t.type({
      eventId: NonEmptyString,
      eventType: NonEmptyString,
      userId: NonEmptyString,
      timestamp: IsoTimestamp,
    }),
    t.partial({
      tenantId: t.string,
      /** The user as CXone holds it after the change (RFC 7643 §4.1). */
      user: User,
    }),
  ],
  'LifecycleEvent',
);

/** A validated lifecycle event: what `lifecycleEvent` carries. */
export interface LifecycleEvent {
  eventId: string;
  eventType: LifecycleEventType;
  userId: string;
  /** RFC 3339; when CXone made the change. */
  timestamp: string;
  tenantId?: string;
  user?: Record<string, unknown>;
}

export type ParsedLifecycleEvent =
  | { ok: true; event: LifecycleEvent }
  /** 400: a field is missing or has the wrong type; each issue names its JSON path. */
  | { ok: false; kind: 'malformed'; issues: DecodeIssue[] }
  /** 422: well-formed, but not an event type this product knows. */
  | { ok: false; kind: 'unknown-type'; eventType: string; issues: DecodeIssue[] };

/**
 * Decodes a lifecycle event. USER_CREATED and USER_UPDATED must carry the `user` (the IdP is
 * synced from it, and its `id` must be the event's `userId`); USER_DEACTIVATED may omit it.
 */
export function parseLifecycleEvent(value: unknown): ParsedLifecycleEvent {
  const decoded = decode(LifecycleEventEnvelope, value);
  if (!decoded.ok) return { ok: false, kind: 'malformed', issues: decoded.errors };
  const { eventId, eventType, userId, timestamp, tenantId, user } = decoded.value;
  if (!isLifecycleEventType(eventType)) {
    return {
      ok: false,
      kind: 'unknown-type',
      eventType,
      issues: [
        {
          path: '$.eventType',
          message: `unknown event type ${JSON.stringify(eventType)}; expected one of ${LIFECYCLE_EVENT_TYPES.join(', ')}`,
        },
      ],
    };
  }
  const issues: DecodeIssue[] = [];
  if (eventType !== 'USER_DEACTIVATED' && user === undefined) {
    issues.push({ path: '$.user', message: `required for ${eventType}` });
  }
  if (user?.id !== undefined && user.id !== userId) {
    issues.push({ path: '$.user.id', message: `must equal $.userId (${JSON.stringify(userId)})` });
  }
  if (issues.length > 0) return { ok: false, kind: 'malformed', issues };
  // Only the known members go on: the signal payload is what the workflow history keeps.
  const event: LifecycleEvent = { eventId, eventType, userId, timestamp };
  if (tenantId !== undefined) event.tenantId = tenantId;
  if (user !== undefined) event.user = user as Record<string, unknown>;
  return { ok: true, event };
}
