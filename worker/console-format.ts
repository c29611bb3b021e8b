// Log records for people: one plain line per event (time, profile, what happened, how long), used when
// stdout is a terminal or with --log-format text. JSON lines stay the default for machines.
// Both formats drop the Temporal SDK's task tokens: opaque base64 blobs that say nothing to a reader
// and, for activities, are enough to complete or fail the activity from outside.

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const TASK_TOKEN_KEY = /^task_?token$/i;
const MAX_DEPTH = 5;

/** A copy without task-token fields at any depth (bounded); the input is returned when there are none. */
export function withoutTaskTokens<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v: unknown) => {
      const w = withoutTaskTokens(v, depth + 1);
      if (w !== v) changed = true;
      return w;
    });
    return (changed ? out : value) as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const drop = TASK_TOKEN_KEY.test(k);
    const w = drop ? undefined : withoutTaskTokens(v, depth + 1);
    if (drop || w !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      if (drop) delete out[k];
      else out[k] = w;
    }
  }
  return (out ?? value) as T;
}

/** kubectl-style short durations: 45s, 3m20s, 47m, 5h12m, 20h, 3d4h, 40d, 2y10d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  return d % 365 ? `${y}y${d % 365}d` : `${y}y`;
}

const LEVEL_WORDS: Record<number, string> = { 10: 'trace', 20: 'debug', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Shown in their own place on the line, or noise for a person reading a terminal. */
const NOT_DETAILS = new Set([
  'level',
  'time',
  'msg',
  'app',
  'pid',
  'hostname',
  'profile',
  'workflowId',
  'workflowRunId',
  'runId',
  'workflowType',
  'taskQueue',
  'namespace',
  'activityId',
  'activityType',
  'isLocal',
  'attempt',
  'sdkComponent',
  'durationMs',
  'err',
  'error',
]);

const MAX_VALUE_CHARS = 200;
const WORKFLOW_ID = /^clusterprofile\/([^/]+)\/([^/]+)\//;

/**
 * Control characters (newlines, terminal escapes, bidirectional overrides) come out escaped, so a
 * value from a ClusterProfile or an error message can neither split the line nor drive the terminal.
 */
export function printable(s: string, max = MAX_VALUE_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const escaped = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/** Sub-second precision where it matters (activities, requests); kubectl's style beyond a minute. */
export function logDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return humanDuration(ms);
}

function clock(time: unknown): string {
  const d = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function profileOf(rec: Record<string, unknown>): string | undefined {
  if (typeof rec.profile === 'string' && rec.profile) return rec.profile;
  if (typeof rec.workflowId === 'string') {
    const m = WORKFLOW_ID.exec(rec.workflowId);
    if (m) return `${m[1]}/${m[2]}`;
  }
  return undefined;
}

function errorOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') return (value as { message: string }).message;
  return JSON.stringify(value);
}

function detail(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && key.endsWith('Ms') && key.length > 2) return `${key.slice(0, -2)}=${logDuration(value)}`;
  if (typeof value === 'string') return `${key}=${printable(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${key}=${value}`;
  return `${key}=${printable(JSON.stringify(value))}`;
}

/** One line, without the newline: `12:04:05  demo/spoke-1  sync: Activity completed in 85 ms  (trigger=created)`. */
export function formatRecord(rec: Record<string, unknown>): string {
  const parts = [clock(rec.time)];
  const level = typeof rec.level === 'number' ? LEVEL_WORDS[rec.level] : undefined;
  if (level) parts.push(level);
  const profile = profileOf(rec);
  if (profile) parts.push(printable(profile, 80));
  let what = printable(typeof rec.msg === 'string' ? rec.msg : '');
  if (typeof rec.activityType === 'string') what = `${printable(rec.activityType, 60)}: ${what}`;
  if (typeof rec.durationMs === 'number') what += ` in ${logDuration(rec.durationMs)}`;
  if (typeof rec.attempt === 'number' && rec.attempt > 1) what += ` (attempt ${rec.attempt})`;
  const err = errorOf(rec.err ?? rec.error);
  if (err) what += `: ${printable(err.split('\n')[0] ?? '')}`;
  parts.push(what);
  const details = Object.entries(rec)
    .filter(([k]) => !NOT_DETAILS.has(k))
    .map(([k, v]) => detail(k, v))
    .filter((d): d is string => d !== undefined);
  if (details.length) parts.push(`(${details.join(', ')})`);
  return parts.join('  ');
}

/**
 * A pino destination that turns each JSON line into a text line on `out`. Lines that are not JSON
 * objects (they should not happen) pass through escaped, so nothing is lost.
 */
export function textDestination(out: NodeJS.WritableStream): { write(line: string): boolean } {
  return {
    write(line: string): boolean {
      let text: string;
      try {
        const rec: unknown = JSON.parse(line);
        text = rec && typeof rec === 'object' && !Array.isArray(rec) ? formatRecord(rec as Record<string, unknown>) : printable(line.trimEnd(), 10_000);
      } catch {
        text = printable(line.trimEnd(), 10_000);
      }
      return out.write(`${text}\n`);
    },
  };
}
