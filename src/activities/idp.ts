// Syncing one user's lifecycle to an external identity provider that speaks SCIM 2.0. The IdP is
// just another tenant in the TenantRegistry (its SCIM base, token URL and credentials stay
// worker-side); workflows name it by tenant id.
import { ApplicationFailure } from '@temporalio/activity';
import { ScimHttpError, type ScimClient } from '../http';
import { FailureType } from '../core/failures';
import { filterString } from '../scim/filter';
import { idpPatchOperations, toIdpUser, type ScimUser } from '../scim/idp-user';
import { patchRequest, type PatchOperation } from '../scim/patch';
import { matchBy, resourcesOf } from '../scim/user-match';
import { scanFor } from './provider/user-lookup';
import type { ActivityDeps } from './deps';
import { activityLog, asActivity, scimClientFor } from './deps';
import { payloadSha256 } from './hash';

export type IdpOperation =
  /** POST /Users → 201. */
  | 'created'
  /** POST /Users → 409 (a user with that userName exists, e.g. a retried POST): found and PATCHed. */
  | 'linked-existing'
  | 'patched'
  /** No attribute differed: no request was made. */
  | 'unchanged'
  /** PATCH → 404 (deleted at the IdP meanwhile): created again. */
  | 'recreated'
  | 'deactivated'
  /** Deactivation of a user the IdP does not have: nothing to do. */
  | 'not-found';

export interface IdpSyncOutcome {
  operation: IdpOperation;
  idpUserId?: string;
  /** Status of the last request made (absent when none was needed). */
  httpStatus?: number;
  /** The requests made, e.g. `POST /Users 409`, `GET /Users 200`, `PATCH /Users/{id} 200`. */
  requests: string[];
  payloadSha256?: string;
  durationMs: number;
}

export interface IdpUserChange {
  /** The CXone user id: becomes the IdP user's `externalId`. */
  cxoneUserId: string;
  /** CXone's snapshot of the user after the change. */
  user: ScimUser;
}

class Calls {
  readonly requests: string[] = [];
  durationMs = 0;
  lastStatus?: number;

  constructor(readonly client: ScimClient) {}

  async run<T>(
    label: string,
    fn: () => Promise<{ status: number; durationMs: number; body: T }>,
  ): Promise<{ status: number; body: T }> {
    try {
      const response = await fn();
      this.note(label, response.status, response.durationMs);
      return response;
    } catch (err) {
      if (err instanceof ScimHttpError) this.note(label, err.status, 0);
      throw err;
    }
  }

  private note(label: string, status: number, durationMs: number): void {
    this.requests.push(`${label} ${status}`);
    this.durationMs += durationMs;
    this.lastStatus = status;
  }

  outcome(operation: IdpOperation, idpUserId: string | undefined, payload?: unknown): IdpSyncOutcome {
    return {
      operation,
      ...(idpUserId !== undefined ? { idpUserId } : {}),
      ...(this.lastStatus !== undefined ? { httpStatus: this.lastStatus } : {}),
      requests: this.requests,
      ...(payload !== undefined ? { payloadSha256: payloadSha256(payload) } : {}),
      durationMs: this.durationMs,
    };
  }
}

const isStatus = (err: unknown, status: number) => err instanceof ScimHttpError && err.status === status;

/**
 * The IdP user with this externalId (exact) or userName (ignoring case), verified: a server that
 * ignores `filter` (and lists everyone) or compares differently never makes us act on another
 * user. Two verified matches are an error, never a guess. When the answer held users but none
 * verified, the server did not apply the filter as asked: the user is looked for page by page.
 */
async function findUser(
  calls: Calls,
  attribute: 'externalId' | 'userName',
  value: string,
): Promise<string | undefined> {
  const response = await calls.run('GET /Users', () =>
    calls.client.get('/Users', {
      query: { filter: `${attribute} eq ${filterString(value)}`, attributes: 'id,userName,externalId' },
    }),
  );
  const candidates = resourcesOf(response.body);
  let match = matchBy(attribute, value, candidates);
  if (match.kind === 'none' && candidates.length > 0) {
    match = await scanFor(calls.client, (page) => matchBy(attribute, value, page), {
      endpoint: '/Users',
      call: (request) => calls.run('GET /Users (scan)', request),
    });
  }
  if (match.kind === 'ambiguous') {
    throw ApplicationFailure.nonRetryable(
      `${match.ids.length} IdP users have ${attribute} "${value}" (ids ${match.ids.join(', ')}): not guessing which one`,
      FailureType.AmbiguousIdpUser,
    );
  }
  return match.kind === 'one' ? match.resource.id : undefined;
}

async function patch(calls: Calls, idpUserId: string, operations: PatchOperation[]): Promise<void> {
  await calls.run('PATCH /Users/{id}', () =>
    calls.client.patch(`/Users/${encodeURIComponent(idpUserId)}`, patchRequest(operations)),
  );
}

/** POST; a 409 means the user is there already (a retried POST, or pre-existing): link and update it. */
async function create(
  calls: Calls,
  change: IdpUserChange,
): Promise<{ id: string; linked: boolean; payload: ScimUser }> {
  const payload = toIdpUser(change.cxoneUserId, change.user);
  try {
    const response = await calls.run('POST /Users', () =>
      calls.client.post<{ id?: unknown }>('/Users', payload, { expect: [201] }),
    );
    if (typeof response.body?.id !== 'string') throw new Error('IdP answered POST /Users with 201 but no user id');
    return { id: response.body.id, linked: false, payload };
  } catch (err) {
    if (!isStatus(err, 409) || typeof payload.userName !== 'string') throw err;
    const existing =
      (await findUser(calls, 'userName', payload.userName)) ??
      (await findUser(calls, 'externalId', change.cxoneUserId));
    if (!existing) throw err;
    // What the IdP holds is unknown here: set every attribute.
    await patch(calls, existing, idpPatchOperations(change.cxoneUserId, undefined, change.user));
    return { id: existing, linked: true, payload };
  }
}

export function createIdpActivities(deps: ActivityDeps) {
  return {
    /** Creates the user at the IdP (POST {idp}/Users), or links the one that is already there. */
    async idpCreateUser(idpTenant: string, change: IdpUserChange): Promise<IdpSyncOutcome> {
      return asActivity(async () => {
        const calls = new Calls(scimClientFor(deps, idpTenant));
        const created = await create(calls, change);
        activityLog('IdP user created', {
          idpTenant,
          cxoneUserId: change.cxoneUserId,
          idpUserId: created.id,
          linked: created.linked,
        });
        return calls.outcome(created.linked ? 'linked-existing' : 'created', created.id, created.payload);
      });
    },

    /** PATCH {idp}/Users/{id} with the given operations; a 404 (gone at the IdP) creates it again. */
    async idpPatchUser(
      idpTenant: string,
      idpUserId: string,
      change: IdpUserChange,
      operations: PatchOperation[],
    ): Promise<IdpSyncOutcome> {
      return asActivity(async () => {
        const calls = new Calls(scimClientFor(deps, idpTenant));
        if (operations.length === 0) return calls.outcome('unchanged', idpUserId);
        try {
          await patch(calls, idpUserId, operations);
          return calls.outcome('patched', idpUserId, operations);
        } catch (err) {
          if (!isStatus(err, 404)) throw err;
          const created = await create(calls, change);
          return calls.outcome('recreated', created.id, created.payload);
        }
      });
    },

    /**
     * Deactivates the user at the IdP: PATCH `active` = false (SCIM's soft delete). Without a known
     * IdP id the user is looked up by externalId (= CXone id), then by userName.
     */
    async idpDeactivateUser(
      idpTenant: string,
      target: { cxoneUserId: string; idpUserId?: string; userName?: string },
    ): Promise<IdpSyncOutcome> {
      return asActivity(async () => {
        const calls = new Calls(scimClientFor(deps, idpTenant));
        const id =
          target.idpUserId ??
          (await findUser(calls, 'externalId', target.cxoneUserId)) ??
          (target.userName ? await findUser(calls, 'userName', target.userName) : undefined);
        if (!id) return calls.outcome('not-found', undefined);
        const operations: PatchOperation[] = [{ op: 'replace', path: 'active', value: false }];
        try {
          await patch(calls, id, operations);
        } catch (err) {
          if (isStatus(err, 404)) return calls.outcome('not-found', undefined);
          throw err;
        }
        return calls.outcome('deactivated', id, operations);
      });
    },
  };
}
