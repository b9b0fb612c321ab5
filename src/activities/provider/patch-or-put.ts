// PATCH where the provider takes it, else the whole resource with PUT (RFC 7644 §3.5.1/§3.5.2).
// PATCH is assumed when nothing says otherwise (NICE publishes PATCH for CXone users); a provider
// that refuses PATCH itself — 405, 501, or a 400 that names no attribute problem — gets the PUT
// instead, and if the PUT is accepted the tenant's dialect learns it: every later write of this
// worker to the tenant goes straight to GET + PUT, as a refused `or` filter does for lookups.
import { ScimHttpError, type TenantDialect } from '../../http';

/** 400s that are about this request's content (the same content would fail a PUT too). */
const CONTENT_PROBLEMS = new Set(['invalidValue', 'mutability', 'uniqueness', 'noTarget', 'invalidPath', 'tooMany']);

/** The provider refuses PATCH as such, not this PATCH's operations. */
export function refusedPatch(err: unknown): err is ScimHttpError {
  if (!(err instanceof ScimHttpError)) return false;
  if (err.status === 405 || err.status === 501) return true;
  return err.status === 400 && !(err.scimType && CONTENT_PROBLEMS.has(err.scimType));
}

/** Whether to PATCH: the provider announces it (or it is assumed) and this worker has not seen it refused. */
export function patchAllowed(patchSupported: boolean, dialect: TenantDialect | undefined): boolean {
  return patchSupported && (dialect?.allows('patch') ?? true);
}

/**
 * `patch()` when allowed, else `put()`. A refused PATCH is followed by `put()`; when that is
 * accepted, the refusal is learnt. When it is not, its error is the outcome (PATCH was not the only problem).
 */
export async function patchOrPut(
  dialect: TenantDialect | undefined,
  patchSupported: boolean,
  patch: () => Promise<unknown>,
  put: () => Promise<unknown>,
): Promise<'patch' | 'put'> {
  if (!patchAllowed(patchSupported, dialect)) {
    await put();
    return 'put';
  }
  try {
    await patch();
    return 'patch';
  } catch (err) {
    if (!refusedPatch(err)) throw err;
    await put();
    dialect?.learn(
      'patch',
      `PATCH ${err.path} answered HTTP ${err.status}${err.detail ? ` (${err.detail})` : ''}; PUT accepted`,
    );
    return 'put';
  }
}
