// Classification of Kubernetes API failures into the activity error model (activities/errors.ts):
//  - the ClusterProfile is gone (404 on it)                      → ProfileGoneError (non-retryable)
//  - our own write is rejected as invalid (400/422)              → InvalidInputError naming object and field
//  - conflicts (409), throttling (429), 5xx, network, timeouts   → KubeApiError (retryable)
//  - forbidden (403), unauthorized (401)                         → KubeApiError (retryable: an operator fixes
//    RBAC or credentials, and Temporal's backoff keeps retries cheap meanwhile); the message names verb,
//    resource and namespace so that the fix is obvious.
// Messages are built from the API server's Status message only, passed through redaction and capped.
// They never include a request body, Secret data, or the client library's own error text (which embeds
// the whole response and its headers).
import { redactSecrets } from '../credentials/exec-plugin.js';
import { ConflictError, InvalidInputError, ProfileGoneError } from '../errors.js';

export type KubeVerb = 'get' | 'create' | 'patch' | 'apply' | 'delete';

/** What a request was doing: enough to name it in an error. */
export interface KubeOp {
  verb: KubeVerb;
  /** Resource as RBAC names it: "secrets", "sveltosclusters.lib.projectsveltos.io". */
  resource: string;
  /** Kind, for "Secret ns/name". */
  kind: string;
  namespace: string;
  name?: string;
  /** The object is the ClusterProfile itself: a 404 means it is gone. */
  profile?: boolean;
  /** A rate-limit lane of its own within the resource (e.g. Warning Events of failing syncs). */
  lane?: string;
}

/** A retryable Kubernetes API failure. Temporal retries it (its type is not in NON_RETRYABLE_ERROR_TYPES). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** Status.reason ("Conflict", "Forbidden", …) or the network error code ("ECONNREFUSED", "Timeout"). */
  readonly reason: string | undefined;

  constructor(message: string, status?: number, reason?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

const MAX_MESSAGE_CHARS = 600;

interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

export interface ParsedStatus {
  message?: string;
  reason?: string;
  causes: StatusCause[];
}

/** The HTTP status of a client-node ApiException (or a KubeApiError), else undefined. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

/** The metav1.Status carried in an ApiException body (a JSON string or an already parsed object). */
export function parseStatus(err: unknown): ParsedStatus {
  if (typeof err !== 'object' || err === null) return { causes: [] };
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return { causes: [] };
    }
  }
  if (typeof body !== 'object' || body === null) return { causes: [] };
  const status = body as { message?: unknown; reason?: unknown; details?: { causes?: unknown } };
  const causes = Array.isArray(status.details?.causes)
    ? (status.details.causes as unknown[]).filter((c): c is StatusCause => typeof c === 'object' && c !== null)
    : [];
  const out: ParsedStatus = { causes };
  if (typeof status.message === 'string') out.message = status.message;
  if (typeof status.reason === 'string') out.reason = status.reason;
  return out;
}

export function describeOp(op: KubeOp): string {
  const name = op.name ?? '<unnamed>';
  return op.namespace ? `${op.kind} ${op.namespace}/${name}` : `${op.kind} ${name}`;
}

/** A server-provided message made safe for history, Events and logs. */
export function safeServerMessage(message: string | undefined): string {
  if (!message) return '';
  const oneLine = message.replace(/\s+/g, ' ').trim();
  const redacted = redactSecrets(oneLine);
  return redacted.length > MAX_MESSAGE_CHARS ? `${redacted.slice(0, MAX_MESSAGE_CHARS)}…` : redacted;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
]);

/** A network-level failure code (no HTTP response), or undefined. */
function networkCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; code?: unknown; errno?: unknown; type?: unknown; cause?: unknown };
  if (e.name === 'AbortError' || e.type === 'aborted') return 'Aborted';
  if (e.name === 'TimeoutError') return 'Timeout';
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || /^E[A-Z]+$/.test(e.code))) return e.code;
  if (typeof e.errno === 'string' && /^E[A-Z]+$/.test(e.errno)) return e.errno;
  if (e.name === 'FetchError' || e.type === 'system') return 'FetchError';
  if (e.cause && e.cause !== err) return networkCode(e.cause);
  return undefined;
}

const WRITE_VERBS: ReadonlySet<KubeVerb> = new Set(['create', 'patch', 'apply']);

/**
 * Turns any failure of `op` into one of our error classes. Errors that are already ours pass through.
 * `timeoutMs` is only used to word a timeout.
 */
export function classifyKubeError(err: unknown, op: KubeOp, timeoutMs?: number): Error {
  if (
    err instanceof KubeApiError ||
    err instanceof InvalidInputError ||
    err instanceof ConflictError ||
    err instanceof ProfileGoneError
  ) {
    return err;
  }
  const object = describeOp(op);
  const status = httpStatus(err);
  if (status === undefined) {
    const code = networkCode(err);
    if (code === 'Timeout') {
      return new KubeApiError(`${op.verb} ${object}: request timed out${timeoutMs ? ` after ${timeoutMs} ms` : ''}`, undefined, code);
    }
    if (code === 'Aborted') return new KubeApiError(`${op.verb} ${object}: request aborted`, undefined, code);
    if (code) return new KubeApiError(`${op.verb} ${object}: cannot reach the Kubernetes API server (${code})`, undefined, code);
    const what = err instanceof Error ? `${err.name}: ${safeServerMessage(err.message)}` : 'unknown error';
    return new KubeApiError(`${op.verb} ${object} failed: ${what}`);
  }

  const parsed = parseStatus(err);
  const reason = parsed.reason;
  const detail = safeServerMessage(parsed.message);
  const suffix = detail ? `: ${detail}` : '';

  if (status === 404 && op.profile) return new ProfileGoneError(object);
  if ((status === 422 || status === 400) && WRITE_VERBS.has(op.verb)) {
    const fields = [...new Set(parsed.causes.map((c) => c.field).filter((f): f is string => typeof f === 'string' && f !== ''))];
    return new InvalidInputError(
      object,
      fields.length ? fields.join(', ') : undefined,
      `the API server rejected the ${op.verb} (${status} ${reason ?? 'Invalid'})${suffix}`,
    );
  }
  if (status === 403) {
    return new KubeApiError(
      `forbidden: the controller may not ${op.verb} ${op.resource} in namespace "${op.namespace}" (${object}); ` +
        `grant it in the controller's RBAC${suffix}`,
      status,
      reason ?? 'Forbidden',
    );
  }
  if (status === 401) {
    return new KubeApiError(`unauthorized: the API server rejected the controller's credentials (${op.verb} ${object})${suffix}`, status, reason ?? 'Unauthorized');
  }
  if (status === 409) return new KubeApiError(`conflict on ${op.verb} ${object}, will retry${suffix}`, status, reason ?? 'Conflict');
  if (status === 429) return new KubeApiError(`throttled by the API server on ${op.verb} ${object}, will retry${suffix}`, status, reason ?? 'TooManyRequests');
  if (status >= 500) return new KubeApiError(`API server error ${status} on ${op.verb} ${object}, will retry${suffix}`, status, reason);
  return new KubeApiError(`${op.verb} ${object} failed with HTTP ${status}${suffix}`, status, reason);
}

/** True for failures worth retrying (everything except our non-retryable classes). */
export function isTransient(err: unknown): boolean {
  return !(err instanceof InvalidInputError || err instanceof ConflictError || err instanceof ProfileGoneError);
}
