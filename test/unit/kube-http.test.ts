// The activities' Kubernetes client over plain HTTP (activities/kube/http.ts) against a local stand-in API
// server: what goes on the wire (method, path, query, content type, credentials, JSON body), and how the
// answers come back (JSON, 404 as absent, a Status as a classified error without the body, a timeout).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClient, NO_STORED_RESOURCE_VERSION, type KubeClient } from '../../activities/kube/client.js';
import { KubeApiError } from '../../activities/kube/classify.js';
import { InvalidInputError } from '../../activities/errors.js';
import { FIELD_MANAGER } from '../../activities/kube/types.js';
import { CREDENTIALS_TTL_MS, kubeHttp } from '../../activities/kube/http.js';

interface Seen {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('Kubernetes client over HTTP', () => {
  let server: http.Server;
  let kube: KubeClient;
  let kc: KubeConfig;
  const seen: Seen[] = [];
  let answer: (req: Seen, res: http.ServerResponse) => void = (_req, res) => res.end('{}');

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const s = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, body };
        seen.push(s);
        answer(s, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'test-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    kube = createKubeClient(kc, { qps: 0, requestTimeoutMs: 300 });
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const json = (status: number, body: unknown) => (_req: Seen, res: http.ServerResponse) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  test('a server-side apply: PATCH with the apply content type, field manager, force, strict validation, JSON body and bearer token', async () => {
    seen.length = 0;
    answer = json(201, { metadata: { name: 's', namespace: 'fleet', resourceVersion: '7', creationTimestamp: '2026-12-07T00:00:00Z' } });
    const body = { apiVersion: 'v1' as const, kind: 'Secret' as const, metadata: { name: 's', namespace: 'fleet' }, type: 'Opaque', data: { k: 'dg==' } };
    const created = await kube.createSecretIfAbsent(body as never);
    assert.equal(created?.metadata?.resourceVersion, '7');
    assert.equal(created?.metadata?.creationTimestamp, '2026-12-07T00:00:00Z', 'timestamps stay as the API server wrote them');
    const [req] = seen;
    assert.equal(req?.method, 'PATCH');
    assert.equal(req?.url.pathname, '/api/v1/namespaces/fleet/secrets/s');
    assert.deepEqual(Object.fromEntries(req.url.searchParams), { fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' });
    assert.equal(req?.headers['content-type'], 'application/apply-patch+yaml');
    assert.equal(req?.headers.authorization, 'Bearer test-token');
    assert.deepEqual(JSON.parse(req.body), { ...body, metadata: { ...body.metadata, resourceVersion: NO_STORED_RESOURCE_VERSION } });
  });

  test('a 404 on a read is absent; a 409 on create-if-absent is "taken"', async () => {
    answer = json(404, { kind: 'Status', reason: 'NotFound', code: 404 });
    assert.equal(await kube.getSveltosCluster('fleet', 'gone'), undefined);
    assert.equal(seen.at(-1)?.url.pathname, '/apis/lib.projectsveltos.io/v1beta1/namespaces/fleet/sveltosclusters/gone');
    answer = json(409, { kind: 'Status', reason: 'Conflict', code: 409 });
    assert.equal(await kube.createSveltosClusterIfAbsent({ metadata: { name: 'x', namespace: 'fleet' } } as never), undefined);
  });

  test('a rejected write names the object and the field, from the Status only (never the body sent back)', async () => {
    answer = json(422, {
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      message: 'Secret "s" is invalid',
      details: { causes: [{ field: 'metadata.labels' }] },
      echoed: 'hunter2-credential',
    });
    await assert.rejects(kube.applySecret({ metadata: { name: 's', namespace: 'fleet' } } as never), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.match(e.message, /Secret fleet\/s/);
      assert.match(e.message, /metadata\.labels/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
  });

  test('a server that does not answer is a retryable timeout', async () => {
    answer = () => undefined;
    await assert.rejects(kube.getClusterProfile('fleet', 'slow'), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.reason, 'Timeout');
      assert.match(e.message, /^get ClusterProfile fleet\/slow: request timed out after 300 ms/);
      return true;
    });
  });

  test('credentials are read from the KubeConfig again after CREDENTIALS_TTL_MS (a rotated token is used)', async () => {
    answer = json(200, {});
    let nowMs = 0;
    const send = kubeHttp(kc, () => nowMs);
    const user = kc.getCurrentUser() as { token?: string };
    const sentToken = async (): Promise<string | undefined> => {
      await send({ method: 'GET', path: '/api/v1/namespaces/fleet/secrets/x', timeoutMs: 1000 });
      return seen.at(-1)?.headers.authorization;
    };
    try {
      assert.equal(await sentToken(), 'Bearer test-token');
      user.token = 'rotated-token';
      nowMs += CREDENTIALS_TTL_MS - 1;
      assert.equal(await sentToken(), 'Bearer test-token', 'within the TTL');
      nowMs += 1;
      assert.equal(await sentToken(), 'Bearer rotated-token');
    } finally {
      user.token = 'test-token';
    }
  });

  test('a cancelled caller stops a request in flight with its own reason', async () => {
    answer = () => undefined;
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const cancellable = createKubeClient(kc, { qps: 0, signal: () => controller.signal });
    const pending = cancellable.getSecret('fleet', 'x');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(pending, (e: unknown) => e === reason);
  });
});
