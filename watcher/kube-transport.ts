// List and watch over HTTP(S) with the kubeconfig's credentials (activities/kube/kube-access.ts).
// client-node's Watch cannot set the Accept header, and metadata-only reads need it:
//   lists:   Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1
//   watches: Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1
// so that Secret data never reaches this process through the watcher's Secret informers.
import http from 'node:http';
import https from 'node:https';
import type { KubeAccess } from '../activities/kube/kube-access.js';

export const ACCEPT_JSON = 'application/json';
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface ListRequest {
  /** e.g. /api/v1/namespaces/fleet/secrets */
  path: string;
  labelSelector?: string;
  metadataOnly: boolean;
  limit?: number;
  continueToken?: string;
  /** Aborts the request (the informer stops). */
  signal?: AbortSignal;
}

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken?: string;
}

export interface WatchRequest {
  path: string;
  labelSelector?: string;
  metadataOnly: boolean;
  resourceVersion: string;
  /** Server-side end of the stream. */
  timeoutSeconds: number;
}

export interface RawWatchEvent {
  type: string;
  object: unknown;
}

export interface WatchHandlers {
  /** The server answered 200: the stream is established. */
  onOpen(): void;
  onEvent(event: RawWatchEvent): void;
}

/** The I/O the informers need; tests substitute a scripted one. */
export interface ListWatchTransport {
  list(req: ListRequest): Promise<ListPage>;
  /** Resolves when the stream ends normally or `signal` aborts it; rejects on failure. */
  watch(req: WatchRequest, handlers: WatchHandlers, signal: AbortSignal): Promise<void>;
}

/** A non-2xx answer; `code` is the HTTP status (410 = resourceVersion too old). */
export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function statusFromBody(code: number, body: string, what: string): KubeHttpError {
  let reason: string | undefined;
  let message = `${what}: HTTP ${code}`;
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    reason = s.reason;
    if (s.message) message += `: ${s.message}`;
  } catch {
    // not a Status object
  }
  return new KubeHttpError(code, reason, message);
}

export interface KubeTransportOptions {
  /** Abort a request that receives nothing for this long (a watch: its timeoutSeconds plus this margin). */
  requestTimeoutMs?: number;
  watchIdleMarginMs?: number;
}

/**
 * `access` may still be loading (watcher/options.ts loads it when the watcher is built, which is
 * synchronous): each request waits for it, and a failed load fails each request, as the informers report.
 */
export function kubeTransport(access: KubeAccess | Promise<KubeAccess>, opts: KubeTransportOptions = {}): ListWatchTransport {
  const requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
  const watchIdleMarginMs = opts.watchIdleMarginMs ?? 60_000;
  const loaded = Promise.resolve(access);
  // Handled here so that a failed load is not an unhandled rejection before the first request awaits it.
  loaded.catch(() => undefined);
  return {
    list: async (r) => listPage(await loaded, r, requestTimeoutMs),
    watch: async (r, handlers, signal) => watchUntilClosed(await loaded, r, handlers, signal, watchIdleMarginMs),
  };
}

async function listPage(kc: KubeAccess, r: ListRequest, requestTimeoutMs: number): Promise<ListPage> {
  const { res } = await open(
    kc,
    r.path,
    {
      labelSelector: r.labelSelector,
      limit: r.limit !== undefined ? String(r.limit) : undefined,
      continue: r.continueToken,
    },
    r.metadataOnly ? ACCEPT_METADATA_LIST : ACCEPT_JSON,
    requestTimeoutMs,
    r.signal,
  );
  const body = await readBody(res);
  const code = res.statusCode ?? 0;
  if (code < 200 || code >= 300) throw statusFromBody(code, body, `list ${r.path}`);
  const list = JSON.parse(body) as { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
  const page: ListPage = { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  if (list.metadata?.continue) page.continueToken = list.metadata.continue;
  return page;
}

/** One watch request, its events delivered until the server closes it; an abort ends it quietly. */
async function watchUntilClosed(kc: KubeAccess, r: WatchRequest, handlers: WatchHandlers, signal: AbortSignal, watchIdleMarginMs: number): Promise<void> {
  if (signal.aborted) return;
  let opened;
  try {
    opened = await open(
      kc,
      r.path,
      {
        watch: 'true',
        labelSelector: r.labelSelector,
        resourceVersion: r.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(r.timeoutSeconds),
      },
      r.metadataOnly ? ACCEPT_METADATA : ACCEPT_JSON,
      r.timeoutSeconds * 1000 + watchIdleMarginMs,
      signal,
    );
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  const { res } = opened;
  const code = res.statusCode ?? 0;
  if (code !== 200) {
    const body = await readBody(res).catch(() => '');
    throw statusFromBody(code, body, `watch ${r.path}`);
  }
  handlers.onOpen();
  try {
    await readEventLines(res, (event) => handlers.onEvent(event));
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}

/** A watch stream: one JSON event per line. */
async function readEventLines(res: http.IncomingMessage, onEvent: (event: RawWatchEvent) => void): Promise<void> {
  res.setEncoding('utf8');
  let buffer = '';
  for await (const chunk of res) {
    buffer += chunk as string;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onEvent(JSON.parse(line) as RawWatchEvent);
    }
  }
}

async function open(kc: KubeAccess, path: string, query: Record<string, string | undefined>, accept: string, idleMs: number, signal?: AbortSignal) {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const options: https.RequestOptions = {};
  // Fresh per request: exec/OIDC tokens are refreshed here.
  await kc.applyToHTTPSOptions(options);
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  headers.Accept = accept;
  const request = url.protocol === 'http:' ? http.request : https.request;
  return new Promise<{ res: http.IncomingMessage; req: http.ClientRequest }>((resolve, reject) => {
    const req = request(url, { ...options, method: 'GET', headers, ...(signal ? { signal } : {}) }, (res) => resolve({ res, req }));
    req.setTimeout(idleMs, () => req.destroy(new Error(`no data from ${url.pathname} for ${idleMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let body = '';
  for await (const chunk of res) body += chunk as string;
  return body;
}
