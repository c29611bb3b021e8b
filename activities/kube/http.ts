// One HTTP request to the API server, straight over node:https with the kubeconfig's credentials
// (kube-access.ts). Measured in the throughput benchmark (docs/performance.md), client-node's generated API
// layer (its rxjs-style middleware chain, node-fetch, model (de)serialization and an https.Agent per request)
// cost a quarter of the controller's main-thread CPU for five small requests per profile. The activities
// need only JSON in, JSON out; the watcher's informers (watcher/kube-transport.ts) already read the API
// server this way, and so does the leader election's Lease (watcher/lease-api.ts).
import http from 'node:http';
import https from 'node:https';
import { KeepAliveAgents } from './agent-pool.js';
import type { KubeAccess } from './kube-access.js';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
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

/**
 * How long the credentials and TLS settings read from the KubeConfig serve requests. client-node derives
 * them afresh for every request (decoding certificates, building an agent, asking exec, OIDC or token-file
 * authenticators); a second keeps rotation prompt at a fraction of the cost.
 */
export const CREDENTIALS_TTL_MS = 1_000;

interface Credentials {
  atMs: number;
  server: string;
  options: https.RequestOptions;
  headers: Record<string, string>;
  agent: http.Agent | undefined;
}

export function kubeHttp(kc: KubeAccess, now: () => number = () => performance.now()): KubeHttpSend {
  const agents = new KeepAliveAgents();
  let cached: Credentials | undefined;

  async function credentials(): Promise<Credentials> {
    if (cached && now() - cached.atMs < CREDENTIALS_TTL_MS) return cached;
    const atMs = now();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const options: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    const server = cluster.server.replace(/\/+$/, '');
    const agent = server.startsWith('http:') ? undefined : (agents.reuse(options.agent) as http.Agent | undefined);
    cached = { atMs, server, options, headers, agent };
    return cached;
  }

  return async function send<T>(r: KubeRequest): Promise<T> {
    const { server, options, headers: auth, agent } = await credentials();
    const url = new URL(server + r.path);
    if (r.query) for (const [k, v] of Object.entries(r.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...auth };
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    if (payload) {
      headers['Content-Type'] = r.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const request = url.protocol === 'http:' ? http.request : https.request;
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
