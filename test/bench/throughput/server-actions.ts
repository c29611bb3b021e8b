// Billable actions as the Temporal server counts them: the dev server's own `action` counter
// (`action{action_type=…,namespace=…}` on its Prometheus port, TEMPORAL_METRICS_URL in .stack/env),
// read before and after a phase. The history-derived count (history-costs.ts) is reported next to it;
// docs/performance.md explains where they differ.
import { parsePrometheus } from '../../support/prometheus.js';

/** Counts by action_type. */
export type ActionCounts = Record<string, number>;

export interface ServerActions {
  total: number;
  byType: ActionCounts;
}

/** The `action` counter of `namespace`, by action_type; undefined when the URL is not known. */
export async function scrapeActions(url: string | undefined, namespace: string): Promise<ActionCounts | undefined> {
  if (!url) return undefined;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const out: ActionCounts = {};
  for (const s of parsePrometheus(await res.text())) {
    if (s.name !== 'action' && s.name !== 'action_total') continue;
    if (s.labels.namespace !== undefined && s.labels.namespace !== namespace) continue;
    const type = s.labels.action_type ?? 'unknown';
    out[type] = (out[type] ?? 0) + s.value;
  }
  return out;
}

/** What the server counted between two scrapes, divided by `per` (profiles, cycles, signals). */
export function actionsBetween(before: ActionCounts | undefined, after: ActionCounts | undefined, per: number): ServerActions | undefined {
  if (!before || !after || per <= 0) return undefined;
  const byType: ActionCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) byType[k] = d / per;
  }
  return { total: Object.values(byType).reduce((a, b) => a + b, 0), byType };
}
