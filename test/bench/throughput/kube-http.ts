// A plain HTTP client for the stack's kube-apiserver: keep-alive connections, the admin token, JSON in
// and out, and watches as newline-delimited JSON. It is what the Kubernetes write floor measures (no
// client library between the benchmark and the server), and it keeps the benchmark's own CPU small on a
// machine it shares with the controller it measures.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { CLUSTER_PROFILE, SVELTOS_CLUSTER } from '../../../activities/kube/types.js';
import { kubeConfig } from '../../support/stack.js';

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${detail.slice(0, 300)}`);
  }
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: T };

export interface Watch {
  /** Resolves once the server answered the watch request (events from then on are seen). */
  ready: Promise<void>;
  stop(): void;
}

export class KubeHttp {
  readonly server: URL;
  private readonly agent: Agent;
  private readonly token: string;

  /** The stack's admin credentials; `sockets` bounds the connections (and so the requests in flight). */
  constructor(sockets = 16) {
    const kc = kubeConfig();
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (!cluster?.caData || !user?.token) throw new Error('the stack kubeconfig has no certificate-authority-data or token');
    this.server = new URL(cluster.server);
    this.token = user.token;
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: Buffer.from(cluster.caData, 'base64') });
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, body: string | undefined, contentType: string, onResponse: (res: IncomingMessage) => void, onError: (e: Error) => void) {
    const req = httpsRequest(
      {
        host: this.server.hostname,
        port: this.server.port,
        method,
        path,
        agent: this.agent,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      onResponse,
    );
    req.on('error', onError);
    req.end(body);
    return req;
  }

  /** One request; non-2xx is a KubeHttpError unless `allow` lists the status. */
  request<T = unknown>(method: string, path: string, body?: unknown, opts: { contentType?: string; allow?: number[] } = {}): Promise<KubeResponse<T>> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      this.open(method, path, text, opts.contentType ?? 'application/json', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if ((status < 200 || status > 299) && !(opts.allow ?? []).includes(status)) {
            reject(new KubeHttpError(method, path, status, raw));
            return;
          }
          const json = (res.headers['content-type'] ?? '').includes('json');
          resolve({ status, body: (json && raw ? JSON.parse(raw) : raw) as T });
        });
      }, reject);
    });
  }

  /** A raw GET (e.g. /metrics in the Prometheus text format). */
  async text(path: string): Promise<string> {
    return (await this.request<string>('GET', path)).body;
  }

  /**
   * Watches a collection from "now" (resourceVersion of a fresh list) and calls onEvent for each event.
   * A watch that ends early is reported through onEnd; the caller decides whether that matters.
   */
  watch<T>(collectionPath: string, onEvent: (e: WatchEvent<T>) => void, onEnd: (why: string) => void = () => undefined): Watch {
    let stopped = false;
    let req: ReturnType<KubeHttp['open']> | undefined;
    const sep = collectionPath.includes('?') ? '&' : '?';
    const ready = (async () => {
      const list = await this.request<{ metadata: { resourceVersion: string } }>('GET', `${collectionPath}${sep}limit=1`);
      const rv = list.body.metadata.resourceVersion;
      await new Promise<void>((resolve, reject) => {
        req = this.open(
          'GET',
          `${collectionPath}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=3600`,
          undefined,
          '',
          (res) => {
            if (res.statusCode !== 200) {
              reject(new KubeHttpError('WATCH', collectionPath, res.statusCode ?? 0, ''));
              return;
            }
            resolve();
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buf += chunk;
              let nl;
              while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>);
              }
            });
            res.on('end', () => stopped || onEnd('the server closed the watch'));
            res.on('error', (e) => stopped || onEnd(e.message));
          },
          (e) => (stopped ? undefined : reject(e)),
        );
      });
    })();
    return {
      ready,
      stop: () => {
        stopped = true;
        req?.destroy();
      },
    };
  }
}

export const paths = {
  namespaces: '/api/v1/namespaces',
  namespace: (ns: string) => `/api/v1/namespaces/${ns}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  clusterProfiles: (ns: string) => `/apis/${CLUSTER_PROFILE.apiVersion}/namespaces/${ns}/${CLUSTER_PROFILE.plural}`,
  sveltosClusters: (ns: string) => `/apis/${SVELTOS_CLUSTER.apiVersion}/namespaces/${ns}/${SVELTOS_CLUSTER.plural}`,
};
