// The HTTP list/watch transport against a local stand-in API server: metadata-only Accept headers,
// query parameters, credentials from the kubeconfig, stream framing, error mapping.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ACCEPT_METADATA,
  ACCEPT_METADATA_LIST,
  KubeHttpError,
  kubeTransport,
  type ListWatchTransport,
  type RawWatchEvent,
} from '../../../watcher/kube-transport.js';

interface Seen {
  url: URL;
  headers: http.IncomingHttpHeaders;
}

describe('kubeTransport', () => {
  let server: http.Server;
  let transport: ListWatchTransport;
  let kc: KubeConfig;
  const seen: Seen[] = [];
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: new URL(req.url ?? '/', 'http://x'), headers: req.headers });
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'test-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    transport = kubeTransport(kc);
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('metadata-only list: Accept PartialObjectMetadataList, selector, paging, bearer token', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PartialObjectMetadataList', metadata: { resourceVersion: '42', continue: 'next' }, items: [{ metadata: { name: 'a' } }] }));
    };
    const page = await transport.list({ path: '/api/v1/namespaces/fleet/secrets', labelSelector: 'a=b', metadataOnly: true, limit: 500, continueToken: 'tok' });
    assert.deepEqual(page, { items: [{ metadata: { name: 'a' } }], resourceVersion: '42', continueToken: 'next' });
    const req = seen.at(-1)!;
    assert.equal(req.url.pathname, '/api/v1/namespaces/fleet/secrets');
    assert.equal(req.headers.accept, ACCEPT_METADATA_LIST);
    assert.equal(req.headers.accept, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
    assert.equal(req.headers.authorization, 'Bearer test-token');
    assert.equal(req.url.searchParams.get('labelSelector'), 'a=b');
    assert.equal(req.url.searchParams.get('limit'), '500');
    assert.equal(req.url.searchParams.get('continue'), 'tok');
    assert.equal(req.url.searchParams.get('watch'), null);
  });

  test('full-object list asks for plain JSON', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
    };
    await transport.list({ path: '/apis/multicluster.x-k8s.io/v1alpha1/clusterprofiles', metadataOnly: false });
    assert.equal(seen.at(-1)!.headers.accept, 'application/json');
  });

  test('metadata-only watch: Accept PartialObjectMetadata, watch parameters, events split across chunks', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const lines = [
        JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '43' } } }),
        JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '44' } } }),
      ].join('\n');
      // Cut in the middle of the first event.
      res.write(lines.slice(0, 17));
      setImmediate(() => {
        res.write(lines.slice(17) + '\n');
        res.end();
      });
    };
    const events: RawWatchEvent[] = [];
    let opened = 0;
    await transport.watch(
      { path: '/api/v1/secrets', labelSelector: 'm=v', metadataOnly: true, resourceVersion: '42', timeoutSeconds: 300 },
      { onOpen: () => opened++, onEvent: (e) => events.push(e) },
      new AbortController().signal,
    );
    assert.equal(opened, 1);
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
    const req = seen.at(-1)!;
    assert.equal(req.headers.accept, ACCEPT_METADATA);
    assert.equal(req.headers.accept, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    assert.equal(req.url.searchParams.get('watch'), 'true');
    assert.equal(req.url.searchParams.get('resourceVersion'), '42');
    assert.equal(req.url.searchParams.get('allowWatchBookmarks'), 'true');
    assert.equal(req.url.searchParams.get('timeoutSeconds'), '300');
    assert.equal(req.url.searchParams.get('labelSelector'), 'm=v');
  });

  test('HTTP errors become KubeHttpError with the status code and message', async () => {
    handler = (_req, res) => {
      res.writeHead(410);
      res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (42)' }));
    };
    await assert.rejects(
      transport.watch({ path: '/api/v1/secrets', metadataOnly: true, resourceVersion: '1', timeoutSeconds: 5 }, { onOpen: () => {}, onEvent: () => {} }, new AbortController().signal),
      (err: unknown) => err instanceof KubeHttpError && err.code === 410 && err.reason === 'Expired' && /too old/.test(err.message),
    );
    handler = (_req, res) => {
      res.writeHead(403);
      res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'secrets is forbidden' }));
    };
    await assert.rejects(transport.list({ path: '/api/v1/secrets', metadataOnly: true }), (err: unknown) => err instanceof KubeHttpError && err.code === 403);
  });

  test('aborting a watch resolves it', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
      // keep the stream open
    };
    const abort = new AbortController();
    const events: RawWatchEvent[] = [];
    const done = transport.watch(
      { path: '/api/v1/secrets', metadataOnly: true, resourceVersion: '1', timeoutSeconds: 300 },
      {
        onOpen: () => {},
        onEvent: (e) => {
          events.push(e);
          abort.abort();
        },
      },
      abort.signal,
    );
    await done;
    assert.equal(events.length, 1);
  });

  test('access still loading: requests wait for it; a failed load fails each request with its error', async () => {
    handler = (_req, res) => res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [] }));
    let resolveAccess: (kc: KubeConfig) => void = () => {};
    const pending = kubeTransport(new Promise<KubeConfig>((r) => (resolveAccess = r)));
    const page = pending.list({ path: '/api/v1/secrets', metadataOnly: true });
    resolveAccess(kc);
    assert.equal((await page).resourceVersion, '5');
    assert.equal(seen.at(-1)!.headers.authorization, 'Bearer test-token');

    const failed = kubeTransport(Promise.reject(new Error('kubeconfig /x: users[0].user.client-key: cannot read /x/key (ENOENT)')));
    // Nothing is unhandled before the first request: the informers make it when they start.
    await new Promise((r) => setImmediate(r));
    await assert.rejects(failed.list({ path: '/api/v1/secrets', metadataOnly: true }), /client-key: cannot read/);
    await assert.rejects(failed.watch({ path: '/api/v1/secrets', metadataOnly: true, resourceVersion: '1', timeoutSeconds: 5 }, { onOpen: () => {}, onEvent: () => {} }, new AbortController().signal), /client-key/);
  });
});
