// What a person sees of one ClusterProfile workflow in Temporal: search attributes (visibility, the
// `status` table), the status memo and the Web UI's current details. Pure: the workflow feeds in its status
// and performs the upserts these functions ask for, each only when a value changed (every upsert is a
// history event and a billable action).
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { MEMO_ERROR_MESSAGE_MAX, SearchAttr, type ProfileRef, type StatusMemo, type WorkflowStatus } from './api.js';
import type { WaitPurpose } from './phase.js';
import { formatDuration } from './schedule.js';

/** Search attribute values as last upserted, by attribute name (null: unset). */
export type SearchAttributeValues = Map<string, string | number | null>;

/** The attributes to upsert so that visibility shows `status`; updates `current` to match. Empty: nothing changed. */
export function changedSearchAttributes(ref: ProfileRef, s: WorkflowStatus, current: SearchAttributeValues): SearchAttributeUpdatePair[] {
  const expiry = s.credentialExpiresAtMs;
  const desired: Array<[SearchAttributeUpdatePair, string | number | null]> = [
    [{ key: SearchAttr.namespace, value: ref.namespace }, ref.namespace],
    [{ key: SearchAttr.name, value: ref.name }, ref.name],
    [{ key: SearchAttr.phase, value: s.phase }, s.phase],
    [{ key: SearchAttr.provider, value: s.provider ?? null }, s.provider ?? null],
    [{ key: SearchAttr.credentialExpiry, value: expiry !== undefined ? new Date(expiry) : null }, expiry ?? null],
    [{ key: SearchAttr.observedHash, value: s.observedHash ?? null }, s.observedHash ?? null],
  ];
  const updates: SearchAttributeUpdatePair[] = [];
  for (const [pair, comparable] of desired) {
    if ((current.get(pair.key.name) ?? null) !== comparable) {
      updates.push(pair);
      current.set(pair.key.name, comparable);
    }
  }
  return updates;
}

/**
 * The memo keys that differ from `current`. The memo holds what changes rarely: when management started,
 * and while syncs fail the last error and the next retry. A healthy profile's last and next sync are in
 * the status query only, so that a routine refresh upserts nothing.
 */
export function changedMemo(s: WorkflowStatus, managedSinceMs: number, current: StatusMemo): Partial<StatusMemo> {
  const desired: StatusMemo = {
    managedSinceMs,
    // The first release's code kept the last sync too; cleared here (the status query has it).
    lastSyncAtMs: undefined,
    nextRefreshAtMs: s.lastError ? s.nextRefreshAtMs : undefined,
    lastError: s.lastError && {
      reason: s.lastError.reason,
      message: shorten(s.lastError.message, MEMO_ERROR_MESSAGE_MAX),
      atMs: s.lastError.atMs,
    },
  };
  const changes: Partial<StatusMemo> = {};
  for (const key of Object.keys(desired) as Array<keyof StatusMemo>) {
    if (!sameMemoValue(current[key], desired[key])) (changes as Record<string, unknown>)[key] = desired[key];
  }
  return changes;
}

/** The error in the Web UI's current details: the frame is small; `status` and the memo have more. */
const CURRENT_DETAILS_ERROR_MAX = 80;

/**
 * The workflow page's "current details" in the Web UI (served by a query; no history event). UI 2.42 shows
 * them in a frame about four lines high: the phase, then two short items (the error first when there is
 * one). The ClusterProfile's name is in the static summary already.
 */
export function currentDetails(profile: string, s: WorkflowStatus): string {
  const at = (ms: number | undefined): string => (ms === undefined ? '—' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const expiry = s.credentialExpiresAtMs !== undefined ? at(s.credentialExpiresAtMs) : s.lastSyncAtMs === undefined ? '—' : 'no expiry stated';
  const lines = [`**${s.phase}**${s.provider ? ` · provider \`${s.provider}\`` : ''}`, ''];
  if (s.lastError) {
    // Messages name the profile first ("ClusterProfile ns/name: field: reason"); the summary does already.
    const own = `ClusterProfile ${profile}: `;
    const message = s.lastError.message.startsWith(own) ? s.lastError.message.slice(own.length) : s.lastError.message;
    lines.push(`- last error: \`${s.lastError.reason}\`: ${shorten(message, CURRENT_DETAILS_ERROR_MAX)}`);
    lines.push(`- next retry: ${at(s.nextRefreshAtMs)} · credential expires: ${expiry}`);
  } else {
    lines.push(`- credential expires: ${expiry}`);
    lines.push(`- next refresh: ${at(s.nextRefreshAtMs)} · last sync: ${at(s.lastSyncAtMs)}`);
  }
  return lines.join('\n');
}

/** The summary of the timer the workflow sleeps on, as the Web UI's history shows it. */
export function waitSummary(profile: string, s: WorkflowStatus, purpose: WaitPurpose, ms: number): string {
  if (purpose === 'degraded-retry') {
    return `${profile} is ${s.phase} (${s.lastError?.reason ?? 'error'}): retry in ${formatDuration(ms)}`;
  }
  const expiry = s.credentialExpiresAtMs;
  if (expiry !== undefined) {
    return `sleep until 80% of credential lifetime for ${profile} (expires ${new Date(expiry).toISOString()}; ${formatDuration(ms)})`;
  }
  return `wait for the sync period for ${profile} (${formatDuration(ms)})`;
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function sameMemoValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}
