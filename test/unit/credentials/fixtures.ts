// Shared test material: profiles, a provider file, credentials planted to check they never leak,
// and a fake child process. The certificate and key are a throwaway self-signed test pair.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { SpawnOptions } from 'node:child_process';
import type { PluginProcess, SpawnFn } from '../../../activities/credentials/exec-plugin.js';
import { parseProviderFile, type ProviderFile } from '../../../activities/credentials/provider-file.js';
import type { AccessProvider, ClusterProfile } from '../../../activities/kube/types.js';

/** JWT-shaped, like a service-account token. */
export const JWT_TOKEN =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZmxlZXQ6dGVzdCJ9.c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2VuLTAxMjM0NQ';
/** Opaque, like an OpenShift or cloud token. */
export const OPAQUE_TOKEN = 'sha256~Q2xvdWRUb2tlbjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9w';

export const CLIENT_CERT = `-----BEGIN CERTIFICATE-----
MIIBhDCCASmgAwIBAgIUDjvYz2ovpRljsv4ZsjDzL3Eq0wgwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLdGVzdC1jbGllbnQwIBcNMjYxMTIzMjExMzQzWhgPMjEyNjEw
MzAyMTEzNDNaMBYxFDASBgNVBAMMC3Rlc3QtY2xpZW50MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEF0lfunAfl+po4jK4dZMEiorhw1paGhENkhHQ9zDFiXwZcYZ7
DJcgDdH2KXoPvEB5E+obGQRLTeST+yi6kHzi16NTMFEwHQYDVR0OBBYEFHS2UmQU
gGNQF607/H3gfN7toBthMB8GA1UdIwQYMBaAFHS2UmQUgGNQF607/H3gfN7toBth
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAPCZ2AatfiIihVEO
ziyyD9lEYJ4hKyAvI4QoA0n15UKrAiEAgcg72h8AA4/kKMPDpUYyqH0RjZ8JVB6l
5M9+nOQzQYY=
-----END CERTIFICATE-----
`;

export const CLIENT_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl9BOMjCnYfJkht0O
pTmxb13rBIvamuEweiJStpiVPLahRANCAAQXSV+6cB+X6mjiMrh1kwSKiuHDWloa
EQ2SEdD3MMWJfBlxhnsMlyAN0fYpeg+8QHkT6hsZBEtN5JP7KLqQfOLX
-----END PRIVATE KEY-----
`;

/** The body of the key: what must never show up, however the key is encoded. */
export const KEY_BODY = 'pTmxb13rBIvamuEweiJStpiVPLahRANCAAQXSV';

export const CA_DATA = Buffer.from(CLIENT_CERT).toString('base64');

/** Every planted secret, in each encoding it could leak in. */
export const SECRETS: readonly string[] = [
  JWT_TOKEN,
  OPAQUE_TOKEN,
  KEY_BODY,
  Buffer.from(CLIENT_KEY).toString('base64').slice(40, 90),
  Buffer.from(JWT_TOKEN).toString('base64').slice(10, 60),
];

export function assertNoSecret(text: string, context = ''): void {
  for (const secret of SECRETS) {
    if (text.includes(secret)) throw new Error(`secret leaked${context ? ` (${context})` : ''}: ${text.slice(0, 200)}…`);
  }
}

export function profile(opts: {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  accessProviders?: AccessProvider[];
  credentialProviders?: AccessProvider[];
}): ClusterProfile {
  const p: ClusterProfile = {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: { name: opts.name ?? 'spoke-1', namespace: opts.namespace ?? 'fleet', uid: 'uid-1' },
    spec: { clusterManager: { name: 'test' } },
    status: {},
  };
  if (opts.labels) p.metadata.labels = opts.labels;
  if (opts.accessProviders && p.status) p.status.accessProviders = opts.accessProviders;
  if (opts.credentialProviders && p.status) p.status.credentialProviders = opts.credentialProviders;
  return p;
}

export function execProvider(
  name: string,
  execConfig: Record<string, unknown> = {},
  policies: { args?: string; env?: string; envNames?: string[] } = {},
): Record<string, unknown> {
  const p: Record<string, unknown> = {
    name,
    execConfig: { command: `/opt/plugins/${name}`, apiVersion: 'client.authentication.k8s.io/v1', ...execConfig },
  };
  if (policies.args !== undefined) p.profileSourcedCLIArgsPolicy = policies.args;
  if (policies.env !== undefined) p.profileSourcedEnvVarsPolicy = policies.env;
  if (policies.envNames !== undefined) p.profileSourcedEnvVarNames = policies.envNames;
  return p;
}

export function providerFile(...providers: Record<string, unknown>[]): ProviderFile {
  return parseProviderFile(JSON.stringify({ providers }), '/etc/clusterinventory/providers.json');
}

export function execCredentialJson(status: Record<string, unknown> | undefined, apiVersion = 'client.authentication.k8s.io/v1'): string {
  const doc: Record<string, unknown> = { apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
  if (status !== undefined) doc.status = status;
  return JSON.stringify(doc);
}

export interface SpawnCall {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
}

export class FakeProcess extends EventEmitter implements PluginProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly kills: (NodeJS.Signals | undefined)[] = [];

  constructor(readonly pid: number | undefined = undefined) {
    super();
  }

  kill(signal?: NodeJS.Signals): boolean {
    this.kills.push(signal);
    setImmediate(() => this.emit('close', null, signal ?? 'SIGTERM'));
    return true;
  }

  /** Writes the given output, then exits. */
  finish(out: { stdout?: string | Buffer; stderr?: string; code?: number | null; signal?: NodeJS.Signals | null }): void {
    if (out.stdout !== undefined) this.stdout.write(out.stdout);
    if (out.stderr !== undefined) this.stderr.write(out.stderr);
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.emit('close', out.code === undefined ? 0 : out.code, out.signal ?? null));
  }
}

/** A spawn that records its calls and lets `behave` drive the fake process. */
export function fakeSpawn(behave: (proc: FakeProcess, call: SpawnCall) => void, pid?: number): {
  spawn: SpawnFn;
  calls: SpawnCall[];
  processes: FakeProcess[];
} {
  const calls: SpawnCall[] = [];
  const processes: FakeProcess[] = [];
  const spawn: SpawnFn = (command, args, options) => {
    const call = { command, args: [...args], options };
    calls.push(call);
    const proc = new FakeProcess(pid);
    processes.push(proc);
    setImmediate(() => behave(proc, call));
    return proc;
  };
  return { spawn, calls, processes };
}

/** The ExecCredential a fake plugin received. */
export function execInfoOf(call: SpawnCall | undefined): Record<string, unknown> {
  const raw = (call?.options.env as Record<string, string> | undefined)?.KUBERNETES_EXEC_INFO;
  if (raw === undefined) throw new Error('KUBERNETES_EXEC_INFO not set');
  return JSON.parse(raw) as Record<string, unknown>;
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error('rejected with a non-Error');
  }
  throw new Error('expected a rejection');
}

export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error('threw a non-Error');
  }
  throw new Error('expected an exception');
}
