// Kubernetes requests by verb and resource, from the API server's own counter
// (`apiserver_request_total` on /metrics): a snapshot before and after a phase, and their difference.
// The counter has no client label, so a phase must be a window in which the measured process is the
// only client making requests (the benchmark's own watches are long-running and excluded: WATCH counts
// when a watch ends). Requests to resources the controller does not touch are the API server's own
// background (its identity leases every 10 s, the service IP repair loop, …): they are counted apart.
import { parsePrometheus } from '../../support/prometheus.js';
import type { KubeHttp } from './kube-http.js';

/** "VERB resource[/subresource]" → count. */
export type RequestCounts = Record<string, number>;

const READ_VERBS = new Set(['GET', 'LIST', 'WATCH', 'WATCHLIST']);

/** What the controller reads and writes (its objects and their Events). Everything else is somebody else's traffic. */
export const CONTROLLER_RESOURCES = new Set(['clusterprofiles', 'secrets', 'sveltosclusters', 'events']);

export function requestCounts(metricsText: string): RequestCounts {
  const out: RequestCounts = {};
  for (const s of parsePrometheus(metricsText)) {
    if (s.name !== 'apiserver_request_total') continue;
    const { verb = '?', resource = '', subresource = '' } = s.labels;
    if (!resource) continue; // /healthz, /metrics, discovery: not the controller's work
    const key = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export function diffCounts(before: RequestCounts, after: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export interface RequestSummary {
  /** Requests to the controller's resources, except WATCH (a watch is counted when it ends, not when the work happens). */
  total: number;
  writes: number;
  reads: number;
  byVerb: Record<string, number>;
  byKey: RequestCounts;
  /** Requests to other resources in the same window (the API server's own background). */
  background: RequestCounts;
}

export function summarize(counts: RequestCounts): RequestSummary {
  const byVerb: Record<string, number> = {};
  const byKey: RequestCounts = {};
  const background: RequestCounts = {};
  let writes = 0;
  let reads = 0;
  for (const [k, v] of Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))) {
    const [verb = '', resource = ''] = k.split(' ');
    if (verb === 'WATCH' || verb === 'WATCHLIST') continue;
    if (!CONTROLLER_RESOURCES.has(resource.split('/')[0]!)) {
      background[k] = v;
      continue;
    }
    byKey[k] = v;
    byVerb[verb] = (byVerb[verb] ?? 0) + v;
    if (READ_VERBS.has(verb)) reads += v;
    else writes += v;
  }
  return { total: reads + writes, writes, reads, byVerb, byKey, background };
}

/** Divides every figure by n (requests per profile, per refresh cycle). */
export function perUnit(s: RequestSummary, n: number): RequestSummary {
  const div = (r: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v / n]));
  return { total: s.total / n, writes: s.writes / n, reads: s.reads / n, byVerb: div(s.byVerb), byKey: div(s.byKey), background: div(s.background) };
}

export async function scrapeRequests(kube: KubeHttp): Promise<RequestCounts> {
  return requestCounts(await kube.text('/metrics'));
}

/**
 * Waits until nobody touches the controller's resources any more (no request counted for `quietMs`), up
 * to `maxMs`; returns how long that took. After a phase's cleanup the API server's garbage collector
 * still reads the deleted profiles' Secrets and SveltosClusters for a while: without this wait, those
 * reads would be counted as the next phase's controller's.
 */
export async function waitQuiet(kube: KubeHttp, o: { quietMs?: number; maxMs?: number; pollMs?: number } = {}): Promise<number> {
  const { quietMs = 4_000, maxMs = 120_000, pollMs = 1_000 } = o;
  const started = Date.now();
  const traffic = async (): Promise<number> => summarize(await scrapeRequests(kube)).total;
  let last = await traffic();
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs && Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, pollMs));
    const now = await traffic();
    if (now !== last) quietSince = Date.now();
    last = now;
  }
  return Date.now() - started;
}
