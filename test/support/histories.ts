// Workflow histories as JSON files: the proto3 JSON that `temporal workflow show -o json` and the Web UI
// download produce (enum names, int64 as strings, payload bytes base64), for replay tests.
//
// Why not just the SDK's historyToJSON / historyFromJSON: in this install they throw "type must be a
// Type". @temporalio/common and @temporalio/proto each get their own nested copy of protobufjs 8 (the
// top-level protobufjs is 7.x), and protobufjs' protojson checks `type instanceof Type` against its own
// copy, while the History type comes from @temporalio/proto's copy. That is a node_modules layout issue,
// not a tsx one (plain node fails the same way). So we use the protojson extension of the protobufjs copy
// that @temporalio/proto itself loads: same classes, no instanceof mismatch. The SDK functions are still
// tried first, so a deduplicated install (where they work) takes the official path.
import { createRequire } from 'node:module';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';

export type { History };

interface ProtoType {
  fromObject(obj: unknown): unknown;
}
interface ProtoJson {
  toJson(type: ProtoType, message: unknown, options?: Record<string, unknown>): unknown;
  fromJson(type: ProtoType, json: unknown, options?: Record<string, unknown>): History | null;
}

let loaded: { historyType: ProtoType; protojson: ProtoJson } | undefined;

/** The History type and the protojson extension, both from @temporalio/proto's protobufjs. */
function protoHistory(): { historyType: ProtoType; protojson: ProtoJson } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const protoEntry = require.resolve('@temporalio/proto');
  const fromProto = createRequire(protoEntry);
  const root: unknown = require('@temporalio/proto');
  const patch = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (r: unknown) => { lookupType: (name: string) => ProtoType } };
  const historyType = patch.patchProtobufRoot(root).lookupType('temporal.api.history.v1.History');
  const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
  loaded = { historyType, protojson };
  return loaded;
}

function isTypeMismatch(err: unknown): boolean {
  return err instanceof Error && /type must be a Type/.test(err.message);
}

/** A History (as fetchHistory returns it) as proto3 JSON text, two-space indented, newline-terminated. */
export function historyToJSONText(history: History): string {
  try {
    return `${historyToJSON(history)}\n`;
  } catch (err) {
    if (!isTypeMismatch(err)) throw err;
  }
  const { historyType, protojson } = protoHistory();
  return `${JSON.stringify(protojson.toJson(historyType, historyType.fromObject(history)), null, 2)}\n`;
}

// Older tools (and some UI versions) write enum values in a short form ("WorkflowExecutionStarted"
// instead of "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"); the SDK's historyFromJSON accepts both. So do we.
function constantCase(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
function fixEnum(obj: Record<string, unknown>, key: string, prefix: string): void {
  const v = obj[key];
  if (typeof v === 'string' && !v.startsWith(prefix)) obj[key] = `${prefix}_${constantCase(v)}`;
}
function fixShortEnums(json: { events: Array<Record<string, unknown>> }): { events: Array<Record<string, unknown>> } {
  return {
    events: json.events.map((raw) => {
      const e: Record<string, unknown> = { ...raw };
      fixEnum(e, 'eventType', 'EVENT_TYPE');
      const attrKey = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
      if (!attrKey) throw new TypeError(`history event without attributes: ${JSON.stringify(raw).slice(0, 200)}`);
      const attrs = { ...(e[attrKey] as Record<string, unknown>) };
      if (attrs.taskQueue && typeof attrs.taskQueue === 'object') {
        const tq = { ...(attrs.taskQueue as Record<string, unknown>) };
        fixEnum(tq, 'kind', 'TASK_QUEUE_KIND');
        attrs.taskQueue = tq;
      }
      fixEnum(attrs, 'parentClosePolicy', 'PARENT_CLOSE_POLICY');
      fixEnum(attrs, 'workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY');
      fixEnum(attrs, 'initiator', 'CONTINUE_AS_NEW_INITIATOR');
      fixEnum(attrs, 'retryState', 'RETRY_STATE');
      e[attrKey] = attrs;
      return e;
    }),
  };
}

/**
 * A History from parsed proto3 JSON (a file written by historyToJSONText, `temporal workflow show -o json`
 * or the UI). Throws a TypeError naming the problem for anything that is not a history.
 */
export function historyFromJSONValue(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an "events" array');
  }
  const events = (json as { events: unknown[] }).events;
  if (events.length === 0) throw new TypeError('not a workflow history: "events" is empty');
  try {
    return historyFromJSON(json);
  } catch (err) {
    if (!isTypeMismatch(err)) throw err;
  }
  const { historyType, protojson } = protoHistory();
  const history = protojson.fromJson(historyType, fixShortEnums(json as { events: Array<Record<string, unknown>> }), { ignoreUnknownFields: true });
  if (history === null || history === undefined) throw new TypeError('not a workflow history');
  return history;
}

/** Parses JSON text into a History; errors name `source`. */
export function historyFromJSONText(text: string, source = 'history'): History {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`${source}: not JSON: ${(err as Error).message}`);
  }
  try {
    return historyFromJSONValue(json);
  } catch (err) {
    throw new TypeError(`${source}: ${(err as Error).message}`);
  }
}

/**
 * Every string a history carries, with payload bytes decoded (base64 → UTF-8), for scans such as "no
 * credential appears in it". Walks the proto3 JSON form.
 */
export function historyStrings(json: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string | undefined): void => {
    if (typeof v === 'string') {
      out.push(v);
      if (key === 'data' || key === 'encoding' || key === 'type') out.push(Buffer.from(v, 'base64').toString('utf8'));
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) walk(x, key);
      return;
    }
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(json, undefined);
  return out;
}

/** Credential material the recorder's scenarios use (record-histories.ts): none may appear in a history. */
export const TEST_SECRETS = [
  'rec-token-ready',
  'rec-token-ready-rotated',
  'rec-token-degraded',
  'rec-token-deleted',
  'rec-token-can',
  'rec-exec-token-expiring',
  'rec-exec-token-slow',
  'rec-exec-token-failing',
] as const;

/** Generic credential shapes, in case a future scenario uses other material. */
const CREDENTIAL_PATTERNS = [/PRIVATE KEY/, /client-key-data/, /\btoken:\s*\S/, /"token"\s*:/, /kind:\s*Config/];

export function credentialLeaks(json: unknown): string[] {
  const hits: string[] = [];
  for (const s of historyStrings(json)) {
    for (const secret of TEST_SECRETS) if (s.includes(secret)) hits.push(`contains the test credential "${secret}"`);
    for (const re of CREDENTIAL_PATTERNS) if (re.test(s)) hits.push(`matches ${String(re)}: ${s.slice(0, 80)}`);
  }
  return [...new Set(hits)];
}

