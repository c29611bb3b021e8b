// The controller's Kubernetes access without client-node (activities/kube/kube-access.ts) against the
// stack's real kube-apiserver: it resolves the stack's kubeconfig exactly as client-node's KubeConfig does
// (server, CA, credentials), and GET /version and a Lease's create/get/update go through it, from the
// kubeconfig, from a token file that rotates, and from a pod's ServiceAccount files. Last, the watcher
// process (startApp) on the default kubeconfig: informers, Lease and readiness probe through the loader.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { PassThrough } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { startApp } from '../../cli/app.js';
import { parseConfig, type AppConfig } from '../../cli/config.js';
import { createLogger } from '../../worker/logger.js';
import { KubeHttpStatusError, kubeHttp, type KubeHttpSend } from '../../activities/kube/http.js';
import { loadKubeAccess, type KubeAccess } from '../../activities/kube/kube-access.js';
import { FILE_MAX_AGE_MS, StaticKubeAccess } from '../../activities/kube/static-access.js';
import { LeaseConflictError } from '../../watcher/leader-election.js';
import { kubeLeaseApi } from '../../watcher/lease-api.js';
import { eventually, kubeConfig, stackEnv, uniqueName } from '../support/stack.js';
import { selfSignedClientCertificate } from '../support/selfsigned.js';

interface StackKubeconfig {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: unknown[];
  'current-context': string;
}

const stackFile = (): string => stackEnv().KUBECONFIG;
const readStack = (): StackKubeconfig => parse(readFileSync(stackFile(), 'utf8')) as StackKubeconfig;
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'kube-access-it-'));

/** The stack's kubeconfig with its only cluster and user changed, written to a new file. */
function variant(change: (k: StackKubeconfig, dir: string) => void): string {
  const k = readStack();
  const dir = tempDir();
  change(k, dir);
  const path = join(dir, 'config');
  writeFileSync(path, stringify(k));
  return path;
}

async function optionsOf(access: KubeAccess): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await access.applyToHTTPSOptions(opts);
  return opts;
}

/** What a request carries: server, TLS settings and credentials, comparable between the two loaders. */
async function resolved(access: KubeAccess): Promise<Record<string, unknown>> {
  const o = await optionsOf(access);
  const text = (v: unknown): string | undefined => (v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v));
  return {
    server: access.getCurrentCluster()?.server,
    namespace: access.getContextObject(access.getCurrentContext())?.namespace,
    ca: text(o.ca),
    cert: text(o.cert),
    key: text(o.key),
    authorization: text((o.headers as Record<string, unknown> | undefined)?.Authorization)?.trim(),
    auth: o.auth,
    rejectUnauthorized: o.rejectUnauthorized,
    servername: o.servername,
  };
}

async function version(send: KubeHttpSend): Promise<string> {
  return (await send<{ gitVersion: string }>({ method: 'GET', path: '/version', timeoutMs: 10_000 })).gitVersion;
}

describe('kube-access against the real API server', () => {
  const leases: Array<{ send: KubeHttpSend; name: string }> = [];
  after(async () => {
    for (const { send, name } of leases) {
      await send({ method: 'DELETE', path: `/apis/coordination.k8s.io/v1/namespaces/default/leases/${name}`, timeoutMs: 10_000 }).catch(() => undefined);
    }
  });

  test('the stack kubeconfig: read without client-node, resolved exactly as client-node resolves it', async () => {
    const access = await loadKubeAccess({ path: stackFile(), onClientNode: (r) => assert.fail(`fell back to client-node: ${r}`) });
    assert.ok(access instanceof StaticKubeAccess);
    const mine = await resolved(access);
    assert.ok(mine.ca && mine.authorization, 'the stack has a CA and a token');
    assert.deepEqual(mine, await resolved(kubeConfig()));
  });

  test('variants (CA file, client certificate, tls-server-name) resolve as client-node resolves them', async () => {
    const client = selfSignedClientCertificate('someone');
    const paths = [
      variant((k, dir) => {
        const c = k.clusters[0]!.cluster;
        writeFileSync(join(dir, 'ca.crt'), Buffer.from(String(c['certificate-authority-data']), 'base64'));
        delete c['certificate-authority-data'];
        c['certificate-authority'] = 'ca.crt';
        c['tls-server-name'] = 'localhost';
      }),
      variant((k, dir) => {
        writeFileSync(join(dir, 'client.key'), client.keyPem);
        k.users[0]!.user = { 'client-certificate-data': Buffer.from(client.certPem).toString('base64'), 'client-key': join(dir, 'client.key') };
      }),
    ];
    for (const path of paths) {
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      const access = await loadKubeAccess({ path });
      assert.ok(access instanceof StaticKubeAccess, path);
      assert.deepEqual(await resolved(access), await resolved(kc), path);
    }
  });

  test('GET /version through the loaded access, as client-node gets it', async () => {
    const mine = await version(kubeHttp(await loadKubeAccess({ path: stackFile() })));
    assert.match(mine, /^v1\.\d+/);
    assert.equal(mine, await version(kubeHttp(kubeConfig())));
  });

  test('a Lease: create, get, update with the resourceVersion read; stale writes are conflicts', async () => {
    const send = kubeHttp(await loadKubeAccess({ path: stackFile() }));
    const name = uniqueName('kube-access');
    leases.push({ send, name });
    const api = kubeLeaseApi(send, 'default', name, 5_000);
    assert.equal(await api.get(), undefined);
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 };
    const created = await api.create(spec);
    assert.ok(created.resourceVersion);
    assert.deepEqual(await api.get(), created);
    const updated = await api.update({ ...spec, holderIdentity: 'b', leaseTransitions: 1 }, created.resourceVersion);
    assert.notEqual(updated.resourceVersion, created.resourceVersion);
    assert.equal((await api.get())?.spec.holderIdentity, 'b');
    await assert.rejects(api.update(spec, created.resourceVersion), LeaseConflictError);
    await assert.rejects(api.create(spec), LeaseConflictError);
  });

  test('a tokenFile that rotates from a rejected token to the right one', async () => {
    const stackToken = String(readStack().users[0]!.user.token);
    let tokenFile = '';
    const path = variant((k, dir) => {
      tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'not-a-valid-token\n');
      k.users[0]!.user = { tokenFile: 'token' };
    });
    let now = 0;
    const send = kubeHttp(await loadKubeAccess({ path, now: () => now }), () => now);
    await assert.rejects(version(send), (err: unknown) => err instanceof KubeHttpStatusError && err.code === 401);
    writeFileSync(tokenFile, `${stackToken}\n`);
    now += FILE_MAX_AGE_MS + 1;
    assert.match(await version(send), /^v1\./);
  });

  test("a pod's ServiceAccount files and environment", async () => {
    const k = readStack();
    const server = new URL(String(k.clusters[0]!.cluster.server));
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), String(k.users[0]!.user.token));
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(String(k.clusters[0]!.cluster['certificate-authority-data']), 'base64'));
    writeFileSync(join(dir, 'namespace'), 'default');
    const access = await loadKubeAccess({ env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port }, serviceAccountDir: dir });
    assert.match(await version(kubeHttp(access)), /^v1\./);
  });

  test('startApp on the default kubeconfig (KUBECONFIG): the loader, the Lease held, /readyz, the informers', async () => {
    const lease = uniqueName('kube-access-app');
    const config = parseConfig([
      'watcher',
      ...['--namespaces', 'default', '--task-queue', uniqueName('kube-access-tq')],
      ...['--health-addr', '127.0.0.1:0', '--metrics-addr', '0', '--log-level', 'info'],
      ...['--leader-elect-namespace', 'default', '--leader-elect-id', lease],
    ]) as AppConfig;
    const logs: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean)));
    const app = await startApp(config, { env: { ...process.env, KUBECONFIG: stackFile() }, logger: createLogger('info', sink) });
    const send = kubeHttp(kubeConfig());
    leases.push({ send, name: lease });
    try {
      await app.watcher!.ready;
      const identity = app.election!.status().identity;
      await eventually('the Lease held by this process', async () => {
        const held = await kubeLeaseApi(send, 'default', lease, 5_000).get();
        return held?.spec.holderIdentity === identity ? held : undefined;
      });
      await eventually('/readyz 200', async () => ((await fetch(`http://127.0.0.1:${app.health!.port}/readyz`)).status === 200 ? true : undefined));
      assert.deepEqual(
        logs.filter((l) => l.includes('client-node')),
        [],
        'the stack kubeconfig is read without client-node',
      );
    } finally {
      await app.stop();
    }
  });
});
