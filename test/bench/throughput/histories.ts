// Histories of a sample of workflows, reduced to what they cost: events and billable actions per
// workflow, by type, and the same per unchanged refresh cycle.
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { pool } from '../support.js';
import { billableActions, countEventTypes, eventTimeMs, meanRecord, refreshCycles, sumValues } from './history-costs.js';

export interface HistoryCosts {
  workflows: number;
  events: { mean: number; min: number; max: number; byType: Record<string, number> };
  billableActions: { mean: number; byKind: Record<string, number> };
}

export async function fetchHistories(client: Client, workflowIds: readonly string[]): Promise<History[]> {
  const out: History[] = [];
  await pool(workflowIds, 8, async (id) => void out.push(await client.workflow.getHandle(id).fetchHistory()));
  return out;
}

export function historyCosts(histories: readonly History[]): HistoryCosts {
  const events = histories.map((h) => h.events ?? []);
  const counts = events.map((e) => e.length);
  const actions = events.map((e) => billableActions(e));
  return {
    workflows: histories.length,
    events: { mean: mean(counts), min: Math.min(...counts), max: Math.max(...counts), byType: meanRecord(events.map((e) => countEventTypes(e))) },
    billableActions: { mean: mean(actions.map(sumValues)), byKind: meanRecord(actions) },
  };
}

export interface RefreshCosts {
  /** Complete refresh cycles found (the last one of each history). */
  cycles: number;
  events: { mean: number; byType: Record<string, number> };
  billableActions: { mean: number; byKind: Record<string, number> };
}

/** Costs of the last complete refresh cycle of each history that has one. */
export function refreshCosts(histories: readonly History[]): RefreshCosts {
  const last = histories.flatMap((h) => refreshCycles(h.events ?? []).slice(-1));
  const actions = last.map((c) => billableActions(c));
  return {
    cycles: last.length,
    events: { mean: mean(last.map((c) => c.length)), byType: meanRecord(last.map((c) => countEventTypes(c))) },
    billableActions: { mean: mean(actions.map(sumValues)), byKind: meanRecord(actions) },
  };
}

/** TimerFired events (refreshes) with an event time in [fromMs, toMs] (Date.now() scale). */
export function timersFiredBetween(histories: readonly History[], fromMs: number, toMs: number): number {
  let n = 0;
  for (const h of histories) {
    for (const e of h.events ?? []) {
      if (!e.timerFiredEventAttributes) continue;
      const t = eventTimeMs(e);
      if (t >= fromMs && t <= toMs) n++;
    }
  }
  return n;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
