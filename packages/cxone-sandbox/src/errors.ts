// RFC 7644 §3.12 error responses.

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export interface ScimErrorBody {
  schemas: string[];
  status: string;
  scimType?: string;
  detail: string;
}

/** Thrown anywhere in the sandbox; the HTTP layer turns it into a response. */
export class ScimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType | string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  body(): ScimErrorBody {
    return errorBody(this.status, this.detail, this.scimType);
  }
}

export function errorBody(status: number, detail: string, scimType?: string): ScimErrorBody {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  };
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimHttpError(400, detail, scimType);
export const notFound = (detail: string) => new ScimHttpError(404, detail);
