// One HTTP request to the API server, straight over node:https with the KubeConfig's credentials. Measured
// in the throughput benchmark (docs/performance.md), client-node's generated API layer (its rxjs-style
// middleware chain, node-fetch, model (de)serialization and an https.Agent per request) cost a quarter of
// the controller's main-thread CPU for five small requests per profile. The activities need only JSON in,
// JSON out; the watcher's informers (watcher/kube-transport.ts) already read the API server this way.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KeepAliveAgents } from './agent-pool.js';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** e.g. /api/v1/namespaces/fleet/secrets/x (segments already encoded). */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  /** Aborts the request (the activity's cancellation). */
  signal?: AbortSignal;
  timeoutMs: number;
}

/**
 * A non-2xx answer, in the shape classify.ts reads (as client-node's ApiException): the status in `code`,
 * the raw body in `body`. The message holds neither body nor headers: they may echo what was sent.
 */
export class KubeHttpStatusError extends Error {
  override name = 'KubeHttpStatusError';
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
  }
}

export type KubeHttpSend = <T>(r: KubeRequest) => Promise<T>;

/** A path segment as the API server expects it (names are DNS labels; encoding is defence in depth). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

export function kubeHttp(kc: KubeConfig): KubeHttpSend {
  const agents = new KeepAliveAgents();

  return async function send<T>(r: KubeRequest): Promise<T> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    // Fresh per request, as client-node does: exec, OIDC and token-file credentials are refreshed here.
    const options: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    const url = new URL(cluster.server.replace(/\/+$/, '') + r.path);
    if (r.query) for (const [k, v] of Object.entries(r.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    if (payload) {
      headers['Content-Type'] = r.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const plain = url.protocol === 'http:';
    const request = plain ? http.request : https.request;
    const agent = plain ? undefined : agents.reuse(options.agent);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        {
          ...options,
          method: r.method,
          headers,
          ...(agent ? { agent } : {}),
          ...(r.signal ? { signal: r.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) return reject(new KubeHttpStatusError(code, text));
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new DOMException(`no answer within ${r.timeoutMs} ms`, 'TimeoutError')), r.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  };
}
