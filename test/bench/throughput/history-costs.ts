// What a workflow history costs: events by type, and Temporal Cloud billable actions counted from the
// events, for a whole history or for one refresh cycle of it.
//
// Billable actions follow https://docs.temporal.io/cloud/actions (read 2026-05): workflow started
// (client start, signal-with-start, continue-as-new), signal, update, timer started, search attribute
// upsert, activity started or retried (per attempt), local activities (all of one workflow task = 1),
// child workflow (2), signal of an external workflow, workflow options updated. Memo upserts, timers
// firing and workflow completion are not actions. Queries, activity heartbeats and rejected updates are
// actions too but leave no event, so a count from a history is a lower bound that excludes them.
import proto from '@temporalio/proto'; // CommonJS: its namespaces come through the default import
import type { History } from '@temporalio/common/lib/proto-utils.js';

type HistoryEvent = NonNullable<History['events']>[number];

const EventType = proto.temporal.api.enums.v1.EventType;

/** "EVENT_TYPE_TIMER_FIRED" → "TimerFired". */
export function eventTypeName(e: HistoryEvent): string {
  const raw = typeof e.eventType === 'number' ? EventType[e.eventType] : String(e.eventType);
  return (raw ?? 'Unknown')
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

export function countEventTypes(events: readonly HistoryEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const t = eventTypeName(e);
    out[t] = (out[t] ?? 0) + 1;
  }
  return out;
}

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
/** Search attribute the SDK upserts for patches; the docs exclude it from billing. */
const CHANGE_VERSION = 'TemporalChangeVersion';

/**
 * Billable actions by kind in a history or a slice of one. A signal-with-start is one action: its
 * WorkflowExecutionStarted and the WorkflowExecutionSignaled right after it count once together.
 */
export function billableActions(events: readonly HistoryEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (kind: string, n = 1): void => void (out[kind] = (out[kind] ?? 0) + n);
  const localActivityTasks = new Set<string>();
  for (const [i, e] of events.entries()) {
    if (e.workflowExecutionStartedEventAttributes) add('workflow started');
    else if (e.workflowExecutionSignaledEventAttributes) {
      // Signal-with-start: the signal recorded right after the start is part of the one start action.
      if (i > 0 && events[i - 1]!.workflowExecutionStartedEventAttributes) continue;
      add('signal');
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) add('update');
    else if (e.timerStartedEventAttributes) add('timer started');
    else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {});
      if (fields.some((f) => f !== CHANGE_VERSION)) add('search attribute upsert');
    } else if (e.activityTaskScheduledEventAttributes) {
      // Each attempt is an action; the attempt count is on ActivityTaskStarted (written when the try ends).
      const started = events.find((s) => s.activityTaskStartedEventAttributes && String(s.activityTaskStartedEventAttributes.scheduledEventId) === String(e.eventId));
      add('activity attempt', Math.max(1, started?.activityTaskStartedEventAttributes?.attempt ?? 1));
    } else if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) {
      localActivityTasks.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId));
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) add('child workflow', 2);
    else if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) add('signal external');
    else if (e.workflowExecutionOptionsUpdatedEventAttributes) add('workflow options updated');
  }
  if (localActivityTasks.size) add('local activities (per workflow task)', localActivityTasks.size);
  return out;
}

export const sumValues = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export function eventTimeMs(e: HistoryEvent): number {
  const t = e.eventTime;
  if (!t) return NaN;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/**
 * The unchanged refresh cycles of a history: the events after one TimerFired up to and including the
 * next TimerFired (wake-up, the sync, the next timer). The slice before the first TimerFired is the
 * initial sync, not a refresh, and is left out.
 */
export function refreshCycles(events: readonly HistoryEvent[]): HistoryEvent[][] {
  const fired = events.flatMap((e, i) => (e.timerFiredEventAttributes ? [i] : []));
  const cycles: HistoryEvent[][] = [];
  for (let k = 0; k + 1 < fired.length; k++) cycles.push(events.slice(fired[k]! + 1, fired[k + 1]! + 1));
  return cycles;
}

/** Means of several records (keys missing in one count as 0 there). */
export function meanRecord(rs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v / rs.length;
  return out;
}
