// One Temporal dev server, one CXone sandbox, one worker and one scripted proxy for every row of
// the bad-input table; the CLI runs in-process (runCli) against them.
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from 'cxone-sandbox';
import { sandboxTenant } from '../../src/cli/dev';
import { runCli } from '../../src/cli/program';
import type { TenantConfig } from '../../src/config/tenants';
import type { TemporalEnvironment } from '../../src/temporal/server';
import { Capture, cliContext } from '../helpers/cli';
import { sendJson, startScriptedServer } from '../helpers/http';
import { startScim2Server, type Scim2Server } from '../helpers/scim2-server';
import { startTestTemporal, startTestWorker, type TestWorker } from '../helpers/temporal';

type Attrs = Record<string, unknown>;

/**
 * What the proxy in front of the sandbox does for a tenant, by the first segment of the path:
 * refuse the ServiceProviderConfig PUT like servers that keep it read-only, or publish discovery
 * documents the way lenient-minded servers do.
 */
export const BEHAVIOURS = ['ro403', 'ro404', 'ro405', 'ro501', 'lenient', 'dropping', 'scim2'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive']);

function capitalizeTypes(attributes: unknown): unknown {
  if (!Array.isArray(attributes)) return attributes;
  return attributes.map((a: Attrs) => ({
    ...a,
    type: typeof a.type === 'string' ? a.type.charAt(0).toUpperCase() + a.type.slice(1) : a.type,
    ...(a.subAttributes ? { subAttributes: capitalizeTypes(a.subAttributes) } : {}),
  }));
}

function rewrite(behaviour: Behaviour, route: string, body: Attrs): Attrs {
  const resources = (body.Resources as Attrs[] | undefined) ?? [];
  if (behaviour === 'lenient' && route.endsWith('/ResourceTypes')) {
    // Many servers leave `schemas` off their ResourceTypes.
    return { ...body, Resources: resources.map(({ schemas: _omitted, ...rest }) => rest) };
  }
  if (behaviour === 'lenient' && route.endsWith('/Schemas')) {
    return { ...body, Resources: resources.map((s) => ({ ...s, attributes: capitalizeTypes(s.attributes) })) };
  }
  if (behaviour === 'dropping' && route.endsWith('/Schemas')) {
    const furlong = (s: Attrs) => ({ ...s, attributes: (s.attributes as Attrs[]).map((a) => (a.name === 'nickName' ? { ...a, type: 'furlong' } : a)) });
    return { ...body, Resources: resources.map(furlong) };
  }
  return body;
}

/**
 * `scim2` is not the sandbox: it is the independent SCIM server (python scim2-server), reached
 * with its static bearer token in place of the sandbox token the client fetched.
 */
async function startBehaviourProxy(upstream: string, scim2: Scim2Server): Promise<{ url: string; close(): Promise<void> }> {
  return startScriptedServer(async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
    const [, first, ...rest] = (req.url ?? '/').split('/');
    const behaviour = (BEHAVIOURS as readonly string[]).includes(first) ? (first as Behaviour) : undefined;
    const route = behaviour ? `/${rest.join('/')}` : req.url ?? '/';
    const status = behaviour?.startsWith('ro') ? Number(behaviour.slice(2)) : undefined;
    if (status && req.method === 'PUT' && route.endsWith('/ServiceProviderConfig')) {
      sendJson(res, status, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail: `PUT is not supported here (${status})` });
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
    if (behaviour === 'scim2') headers.authorization = `Bearer ${scim2.bearerToken}`;
    const response = await fetch(`${behaviour === 'scim2' ? scim2.origin : upstream}${route}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    let text = await response.text();
    if (behaviour && req.method === 'GET' && response.ok && /\/(ResourceTypes|Schemas)$/.test(route)) {
      text = JSON.stringify(rewrite(behaviour, route, JSON.parse(text) as Attrs));
    }
    res.writeHead(response.status, Object.fromEntries([...response.headers].filter(([k]) => !HOP_HEADERS.has(k))));
    res.end(text);
  });
}


export interface Harness {
  temporal: TemporalEnvironment;
  sandbox: Sandbox;
  worker: TestWorker;
  dir: string;
  /** Runs `cxone-scim <args>` in-process; the default tenant is the sandbox unless `env` says otherwise. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }>;
  /** Users in the sandbox whose userName starts with `prefix.` */
  provisioned(prefix: string): number;
  /** The same, in the independent SCIM server. */
  provisionedInScim2(prefix: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));
  const [sandbox, scim2, temporal] = await Promise.all([startSandbox({ port: 0 }), startScim2Server(), startTestTemporal()]);
  const proxy = await startBehaviourProxy(sandbox.url, scim2);
  const scimPath = (b: Behaviour) => (b === 'scim2' ? `/${b}${scim2.scimPath}` : `/${b}/scim/v2`);
  const tenants: TenantConfig[] = [
    sandboxTenant(sandbox),
    ...BEHAVIOURS.map((b) => ({ ...sandboxTenant(sandbox, b), baseUrl: proxy.url, scimPath: scimPath(b), tokenUrl: `${proxy.url}/oauth/token` })),
  ];
  const worker = await startTestWorker(temporal, tenants);
  return {
    temporal,
    sandbox,
    worker,
    dir,
    async cli(args, env) {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runCli(args, cliContext(temporal.testEnv.client, worker.settings.taskQueue, { stdout, stderr }, env));
      return { code, output: `${stdout.text}\n${stderr.text}` };
    },
    provisioned: (prefix) => sandbox.listUsers().filter((u) => String(u.userName).startsWith(`${prefix}.`)).length,
    async provisionedInScim2(prefix) {
      const filter = encodeURIComponent(`userName sw "${prefix}."`);
      const response = await fetch(`${scim2.origin}${scim2.scimPath}/Users?filter=${filter}&count=1000`, { headers: { authorization: `Bearer ${scim2.bearerToken}` } });
      return ((await response.json()) as { totalResults: number }).totalResults;
    },
    async stop() {
      await worker.stop();
      await temporal.stop();
      await proxy.close();
      await sandbox.close();
      await scim2.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
