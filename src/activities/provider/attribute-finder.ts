// The provider lookups a planner makes while it maps records (SelectUniqueValue's candidates, a
// manager's key): one verified `attribute eq value` each (lookupByAttribute), transient faults
// retried within the activity's attempt, answers kept for the attempt so that a key many records
// share (a manager of a whole team) is asked once.
import { Context } from '@temporalio/activity';
import type { ScimClient } from '../../http';
import type { MatchResult } from '../../scim/user-match';
import { untilDeadline } from './until-deadline';
import { lookupByAttribute } from './user-lookup';

/** The provider's users whose `attribute` is `value` (userName, and `ignoreCase` lookups, in any letter case). */
export type AttributeFinder = (attribute: string, value: string, ignoreCase?: boolean) => Promise<MatchResult>;

/**
 * How long an attempt retries 429, 5xx and outages itself before it fails and Temporal retries the
 * activity (until the run's deadline, its scheduleToClose timeout).
 */
export function attemptDeadline(): number {
  try {
    return Date.now() + Math.max(5_000, Context.current().info.startToCloseTimeoutMs - 30_000);
  } catch {
    return Date.now() + 60_000; // called outside an activity (tests, benchmark baseline)
  }
}

/** A finder against the provider's User endpoint; `onRequest` counts the lookups made. */
export function providerFinder(client: ScimClient, endpoint: string, onRequest?: () => void): AttributeFinder {
  const until = attemptDeadline();
  const answers = new Map<string, Promise<MatchResult>>();
  return (attribute, value, ignoreCase = false) => {
    const key = `${attribute}\u0000${ignoreCase ? value.toLowerCase() : value}\u0000${ignoreCase}`;
    let answer = answers.get(key);
    if (!answer) {
      onRequest?.();
      answer = lookupByAttribute(client, attribute, value, {
        endpoint,
        filter: true,
        ignoreCase,
        call: (request) => untilDeadline(until, request),
      });
      answers.set(key, answer);
      answer.catch(() => answers.delete(key)); // a failed lookup fails the attempt; nothing kept
      if (answers.size > 50_000) answers.delete(answers.keys().next().value as string);
    }
    return answer;
  };
}
