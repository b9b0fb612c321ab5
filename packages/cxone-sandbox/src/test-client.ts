// A small HTTP client for driving the sandbox from tests and benchmarks (black-box, over fetch).
import type { Sandbox } from './sandbox';
import type { LoginAuthenticator, Role, Skill, Status, Team } from './tenant-state';

export interface ClientResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** An explicit token, or null for none; default: a token with every scope. */
  token?: string | null;
}

export class SandboxClient {
  private cachedToken: string | undefined;

  constructor(
    readonly sandbox: Pick<Sandbox, 'url' | 'tokenUrl' | 'scimBaseUrl' | 'clientId' | 'clientSecret'> &
      Partial<Pick<Sandbox, 'profile' | 'accessKeyId' | 'accessKeySecret'>>,
  ) {}

  /**
   * A fresh token, optionally restricted to `scope`: client credentials in the form, or under the
   * cxone profile (which offers no client credentials grant) the password grant with the access key.
   */
  async newToken(scope?: string): Promise<string> {
    const { clientId, clientSecret, accessKeyId, accessKeySecret } = this.sandbox;
    const form =
      this.sandbox.profile === 'cxone' && accessKeyId && accessKeySecret
        ? new URLSearchParams({
            grant_type: 'password',
            username: accessKeyId,
            password: accessKeySecret,
            client_id: clientId,
            client_secret: clientSecret,
          })
        : new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    if (scope !== undefined) form.set('scope', scope);
    const res = await this.request('POST', this.sandbox.tokenUrl, {
      rawBody: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      token: null,
    });
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
    return res.body.access_token as string;
  }

  async token(): Promise<string> {
    this.cachedToken ??= await this.newToken();
    return this.cachedToken;
  }

  forgetToken(): void {
    this.cachedToken = undefined;
  }

  async request(method: string, url: string, options: RequestOptions = {}): Promise<ClientResponse> {
    const token = options.token === undefined ? await this.token() : options.token;
    const hasBody = options.rawBody !== undefined || options.body !== undefined;
    const response = await fetch(url, {
      method,
      headers: {
        ...(hasBody ? { 'content-type': 'application/scim+json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
      },
      body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  /** `path` is relative to the SCIM base URL, e.g. `/Users?count=5`. */
  scim(method: string, path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request(method, `${this.sandbox.scimBaseUrl}${path}`, options);
  }

  /** `path` is relative to the sandbox root, e.g. `/api/v2/webhooks`. */
  root(method: string, path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request(method, `${this.sandbox.url}${path}`, options);
  }

  /** `path` is relative to the sandbox's `/admin` (which takes no token), e.g. `/switches`. */
  admin(method: string, path: string, body?: unknown): Promise<ClientResponse> {
    return this.request(method, `${this.sandbox.url}/admin${path}`, { body, token: null });
  }

  // cxone profile: what an administrator does in the CXone console, through /admin.

  /** A Pending employee becomes Active; resolves to the employee. */
  async activateUser(id: string): Promise<Record<string, unknown>> {
    return expectStatus(await this.admin('POST', `/users/${encodeURIComponent(id)}/activate`), 200);
  }

  async addRole(name: string, status?: Status): Promise<Role> {
    return expectStatus(await this.admin('POST', '/roles', { name, status }), 201);
  }

  async removeRole(id: string): Promise<void> {
    expectStatus(await this.admin('DELETE', `/roles/${encodeURIComponent(id)}`), 204);
  }

  async addTeam(name: string, status?: Status): Promise<Team> {
    return expectStatus(await this.admin('POST', '/teams', { name, status }), 201);
  }

  async addSkill(skillName: string, isActive?: boolean): Promise<Skill> {
    return expectStatus(await this.admin('POST', '/skills', { skillName, isActive }), 201);
  }

  async addLoginAuthenticator(name: string, authenticationType: string): Promise<LoginAuthenticator> {
    return expectStatus(await this.admin('POST', '/login-authenticators', { name, authenticationType }), 201);
  }
}

/** The body of a response with the expected status (its type is the caller's to state); throws otherwise. */
function expectStatus(res: ClientResponse, status: number): any {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text}`);
  return res.body;
}
