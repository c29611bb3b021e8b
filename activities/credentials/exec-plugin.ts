// Runs one client-go exec credential plugin (docs/behaviour.md, Exec plugins) the way client-go would, with the limits
// client-go lacks: a timeout that kills the whole process group and a cap on stdout. stdout carries
// the credential: it is never logged or quoted in an error. stderr never reaches an error either (it
// would go to workflow history, Events and the status query): errors say only how the plugin ended.
// The worker log gets how it ended and how many bytes it wrote to stderr, never their content; a
// redacted tail is logged at debug level only (docs/adr/0004-plugin-stderr.md, docs/security.md).
// Process spawning, killing and the clock are parameters, so every path is testable with fakes.
import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MESSAGE_MAX, safeText } from '../../workflows/text.js';
import { currentActivityContext } from '../activity-context.js';
import { BoundedRetryError, InvalidInputError } from '../errors.js';
import {
  EXEC_EXTENSION,
  type ExecCredential,
  type ExecCredentialApiVersion,
  type ExecCredentialCluster,
  type KubeconfigCluster,
} from '../kube/types.js';
import type { ExecInvocation } from './exec-merge.js';
import { findExtension } from './extensions.js';
import { staticCluster } from './kubeconfig.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
export const MAX_STDOUT_BYTES = 1024 * 1024;
export const STDERR_TAIL_CHARS = 4096;
/**
 * Attempts of one activity execution for a plugin that times out, is killed or cannot be started for
 * lack of resources; then the profile turns Degraded (see BoundedRetryError).
 */
export const EXEC_PLUGIN_MAX_ATTEMPTS = 3;
/**
 * A killed plugin is awaited (up to this long) before its run ends: the provider's concurrency limit is
 * released only when the process is gone, or the next run would overlap the dying one as the provider sees it.
 */
export const REAP_WAIT_MS = 2_000;
/** Kept before redaction, so that a secret cut at the tail's edge is still recognised whole. */
const STDERR_BUFFER_BYTES = 64 * 1024;

/** The part of a ChildProcess we use; node:child_process's ChildProcess satisfies it. */
export interface PluginProcess {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => PluginProcess;

export interface ExecPluginDeps {
  spawn?: SpawnFn;
  /** ms since epoch; decides whether a returned credential is already expired, and measures duration. */
  now?: () => number;
  timeoutMs?: number;
  maxStdoutBytes?: number;
  /** Kills the plugin's process group (it is spawned as a group leader), so helpers it started die too. */
  killProcessGroup?: (pid: number, signal: NodeJS.Signals) => void;
  /** Activity cancellation: kills the plugin, like the timeout does. */
  signal?: AbortSignal;
  /** Where a failed run is logged; the activity's log by default (see logToActivity). */
  logStderr?: (entry: StderrLogEntry) => void;
  /** How long a killed plugin is awaited before the run ends anyway (REAP_WAIT_MS). */
  reapWaitMs?: number;
}

export interface StderrLogEntry {
  object: string;
  provider: string;
  /** How the plugin ended, as the error says it. */
  outcome: string;
  /** Bytes the plugin wrote to stderr in all. */
  stderrBytes: number;
  /**
   * The redacted tail (control characters escaped, at most STDERR_TAIL_CHARS plus escapes): for the debug
   * level only. Redaction is a heuristic and cannot recognise every secret a plugin may print.
   */
  debugTail: () => string;
}

/** What an error says instead of the plugin's stderr. */
export const STDERR_WITHHELD = '; its stderr is not shown here (it may hold credentials): the worker log has its size';

/** The default level gets the outcome and the byte count; the tail only at debug (off by default). */
export const STDERR_LOG_MESSAGE = 'exec plugin failed; stderr withheld (byte count only)';
export const STDERR_DEBUG_LOG_MESSAGE = 'exec plugin failed; redacted stderr tail (debug level only: may still hold secrets)';

function logToActivity(entry: StderrLogEntry): void {
  const log = currentActivityContext()?.log;
  if (!log) return;
  const { debugTail, ...fields } = entry;
  log.warn(STDERR_LOG_MESSAGE, { ...fields });
  if (entry.stderrBytes > 0) log.debug(STDERR_DEBUG_LOG_MESSAGE, { ...fields, stderrTail: debugTail() });
}

export interface ExecPluginRequest {
  /** "ClusterProfile fleet/spoke-1". */
  object: string;
  /** "status.accessProviders[0]". */
  providerField: string;
  /** Provider name, as in the provider file. */
  provider: string;
  invocation: ExecInvocation;
  apiVersion: ExecCredentialApiVersion;
  /** Present exactly when the provider has provideClusterInfo. */
  cluster?: ExecCredentialCluster;
  installHint?: string;
}

export interface ExecPluginCredential {
  token?: string;
  /** PEM. */
  clientCertificateData?: string;
  /** PEM. */
  clientKeyData?: string;
  /** As returned by the plugin (RFC 3339). */
  expirationTimestamp?: string;
  expiresAtMs?: number;
  durationMs: number;
}

/**
 * A failure that may heal by itself (resource exhaustion, a slow identity provider): retried, but only
 * EXEC_PLUGIN_MAX_ATTEMPTS times per activity execution, so that a plugin that always hangs shows up as
 * Degraded instead of retrying out of sight.
 */
export class ExecPluginTransientError extends BoundedRetryError {
  override readonly name = 'ExecPluginTransientError';

  constructor(
    message: string,
    /** How the run ended, for the provider's breaker and metrics. */
    readonly outcome: ExecFailureOutcome = 'error',
  ) {
    super(message, EXEC_PLUGIN_MAX_ATTEMPTS);
  }
}

export type ExecFailureOutcome = 'timeout' | 'cancelled' | 'killed' | 'exit' | 'spawn' | 'error';

const TRANSIENT_SPAWN_CODES = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM', 'EBUSY', 'ETXTBSY', 'EINTR']);

/**
 * `spec.cluster` of KUBERNETES_EXEC_INFO, from the access provider's cluster (client-go's
 * ConfigToExecCluster): the plugin sees the same validated, normalised values we write.
 */
export function execClusterInfo(
  cluster: KubeconfigCluster | undefined,
  object: string,
  providerField: string,
): ExecCredentialCluster {
  const valid = staticCluster(cluster, object, `${providerField}.cluster`);
  const info: ExecCredentialCluster = { server: valid.server };
  if (valid['tls-server-name']) info['tls-server-name'] = valid['tls-server-name'];
  if (valid['insecure-skip-tls-verify']) info['insecure-skip-tls-verify'] = true;
  if (valid['certificate-authority-data']) info['certificate-authority-data'] = valid['certificate-authority-data'];
  if (valid['proxy-url']) info['proxy-url'] = valid['proxy-url'];
  if (valid['disable-compression']) info['disable-compression'] = true;
  const ext = findExtension(cluster, EXEC_EXTENSION, object, providerField);
  if (ext) info.config = structuredClone(ext.value);
  return info;
}

/** The ExecCredential passed in KUBERNETES_EXEC_INFO: never interactive, cluster info only when configured. */
export function execCredentialInput(apiVersion: ExecCredentialApiVersion, cluster?: ExecCredentialCluster): ExecCredential {
  return { apiVersion, kind: 'ExecCredential', spec: cluster ? { cluster, interactive: false } : { interactive: false } };
}

export async function runExecPlugin(req: ExecPluginRequest, deps: ExecPluginDeps = {}): Promise<ExecPluginCredential> {
  const now = deps.now ?? Date.now;
  const failures = new PluginFailures(req, deps.logStderr ?? logToActivity);
  if (deps.signal?.aborted) throw failures.transient('was not started: the activity was cancelled', 'cancelled');
  const env = { ...req.invocation.env, KUBERNETES_EXEC_INFO: JSON.stringify(execCredentialInput(req.apiVersion, req.cluster)) };
  const started = now();
  const { stdout, stderr, exit } = await new PluginRun(req, deps, failures).run(env);
  const durationMs = now() - started;
  if (exit.code !== 0) {
    if (exit.code === null) throw failures.transient(failures.ended(`was killed by signal ${exit.signal ?? 'unknown'}`, stderr), 'killed');
    // An identity provider blip or a network error looks the same as a broken setup from here: retried a
    // few times, then the workflow retries before the held credential expires.
    throw failures.transient(failures.ended(`exited with code ${exit.code}`, stderr), 'exit');
  }
  try {
    return { ...parseExecCredential(stdout.toString('utf8'), req.apiVersion, now()), durationMs };
  } catch (err) {
    if (err instanceof ExecOutputError) throw failures.invalid(failures.ended(err.message, stderr));
    throw err;
  }
}

/** How a run's failures are worded: the object, the provider field and the command; never stdout or stderr. */
class PluginFailures {
  private readonly what: string;

  constructor(
    private readonly req: ExecPluginRequest,
    private readonly logStderr: (entry: StderrLogEntry) => void,
  ) {
    this.what = `exec plugin "${req.provider}" (command "${req.invocation.command}")`;
  }

  invalid(reason: string): InvalidInputError {
    return new InvalidInputError(this.req.object, this.req.providerField, `${this.what} ${reason}`);
  }

  transient(reason: string, outcome: ExecFailureOutcome = 'spawn'): ExecPluginTransientError {
    return new ExecPluginTransientError(`${this.req.object}: ${this.req.providerField}: ${this.what} ${reason}`, outcome);
  }

  /** How the plugin ended, logged with its stderr byte count; the error says stderr is withheld when there was any. */
  ended(outcome: string, tail: StderrTail): string {
    this.logStderr({ object: this.req.object, provider: this.req.provider, outcome, stderrBytes: tail.totalBytes, debugTail: () => tail.text() });
    return tail.totalBytes > 0 ? `${outcome}${STDERR_WITHHELD}` : outcome;
  }

  spawn(err: unknown): Error {
    return spawnFailure(
      err,
      this.req,
      (reason) => this.invalid(reason),
      (reason) => this.transient(reason),
    );
  }
}

interface PluginExit {
  stdout: Buffer;
  stderr: StderrTail;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/**
 * One process of a plugin: spawned as a process-group leader, killed with its group on timeout,
 * cancellation or an oversized stdout. A failed run settles once the process is gone (or REAP_WAIT_MS
 * passed), so that the provider's concurrency slot frees only when the plugin really ended.
 */
class PluginRun {
  private readonly stdoutChunks: Buffer[] = [];
  private stdoutBytes = 0;
  private readonly stderrTail = new StderrTail(STDERR_BUFFER_BYTES);
  private settled = false;
  private exited = false;
  private child: PluginProcess | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  /** Set once a failed run waits for its process to exit. */
  private reaped: (() => void) | undefined;
  private resolve: (exit: PluginExit) => void = () => undefined;
  private reject: (err: Error) => void = () => undefined;
  private readonly onAbort = () => this.fail(this.failures.transient(this.failures.ended('was killed: the activity was cancelled', this.stderrTail), 'cancelled'));

  constructor(
    private readonly req: ExecPluginRequest,
    private readonly deps: ExecPluginDeps,
    private readonly failures: PluginFailures,
  ) {}

  run(env: NodeJS.ProcessEnv): Promise<PluginExit> {
    return new Promise<PluginExit>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.start(env);
    });
  }

  private start(env: NodeJS.ProcessEnv): void {
    const { command, args } = this.req.invocation;
    let child: PluginProcess;
    try {
      child = (this.deps.spawn ?? nodeSpawn)(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true, windowsHide: true });
    } catch (err) {
      this.reject(this.failures.spawn(err));
      return;
    }
    this.child = child;
    const timeoutMs = this.deps.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.killTimer = setTimeout(
      () => this.fail(this.failures.transient(this.failures.ended(`did not finish within ${timeoutMs} ms and was killed`, this.stderrTail), 'timeout')),
      timeoutMs,
    );
    this.deps.signal?.addEventListener('abort', this.onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer | string) => this.onStdout(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    child.stderr?.on('data', (chunk: Buffer | string) => this.stderrTail.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    // Stream errors surface as 'close'/'error' on the child; unhandled they would crash the worker.
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);
    child.on('error', (err) => this.fail(this.failures.spawn(err)));
    child.on('close', (code, signal) => this.onClose(code, signal));
  }

  private onStdout(buf: Buffer): void {
    const maxStdout = this.deps.maxStdoutBytes ?? MAX_STDOUT_BYTES;
    this.stdoutBytes += buf.length;
    if (this.stdoutBytes > maxStdout) {
      this.fail(this.failures.invalid(this.failures.ended(`wrote more than ${maxStdout} bytes to stdout and was killed`, this.stderrTail)));
      return;
    }
    this.stdoutChunks.push(buf);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.reaped?.();
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.killTimer);
    this.deps.signal?.removeEventListener('abort', this.onAbort);
    this.resolve({ stdout: Buffer.concat(this.stdoutChunks), stderr: this.stderrTail, exit: { code, signal } });
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.killTimer);
    this.deps.signal?.removeEventListener('abort', this.onAbort);
    this.kill();
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    if (!this.child || this.exited) {
      this.reject(err);
      return;
    }
    const cap = setTimeout(() => this.reaped?.(), this.deps.reapWaitMs ?? REAP_WAIT_MS);
    this.reaped = () => {
      this.reaped = undefined;
      clearTimeout(cap);
      this.reject(err);
    };
  }

  private kill(): void {
    const child = this.child;
    if (!child) return;
    if (child.pid !== undefined && child.pid > 0) {
      try {
        (this.deps.killProcessGroup ?? ((pid, signal) => process.kill(-pid, signal)))(child.pid, 'SIGKILL');
        return;
      } catch {
        // The group is gone or was never formed; fall through to the process itself.
      }
    }
    try {
      child.kill('SIGKILL');
    } catch {
      // Already exited.
    }
  }
}

/** What is wrong with a plugin's stdout. Never quotes it. */
export class ExecOutputError extends Error {
  override readonly name = 'ExecOutputError';
}

/** Validates a plugin's stdout as client-go does, plus PEM parsing and an expiry in the future. */
export function parseExecCredential(
  stdout: string,
  apiVersion: ExecCredentialApiVersion,
  nowMs: number,
): Omit<ExecPluginCredential, 'durationMs'> {
  if (stdout.trim() === '') throw new ExecOutputError('printed nothing on stdout');
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new ExecOutputError('did not print valid JSON on stdout');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ExecOutputError('did not print a JSON object');
  const cred = doc as Record<string, unknown>;
  if (cred.kind !== 'ExecCredential') throw new ExecOutputError(`returned kind ${quoteIfTame(cred.kind)}, expected "ExecCredential"`);
  if (cred.apiVersion !== apiVersion) {
    throw new ExecOutputError(`returned apiVersion ${quoteIfTame(cred.apiVersion)}, but is configured for "${apiVersion}"`);
  }
  const status = cred.status;
  if (typeof status !== 'object' || status === null || Array.isArray(status)) throw new ExecOutputError('returned no status');
  const s = status as Record<string, unknown>;

  const token = optionalString(s.token, 'status.token');
  const cert = optionalString(s.clientCertificateData, 'status.clientCertificateData');
  const key = optionalString(s.clientKeyData, 'status.clientKeyData');
  if (cert && !key) throw new ExecOutputError('returned a client certificate without its key (status.clientKeyData)');
  if (key && !cert) throw new ExecOutputError('returned a client key without its certificate (status.clientCertificateData)');
  if (!token && !cert) throw new ExecOutputError('returned neither a token nor a client certificate and key');

  const out: Omit<ExecPluginCredential, 'durationMs'> = {};
  if (token) out.token = token;
  if (cert && key) {
    checkKeyPair(cert, key);
    out.clientCertificateData = cert;
    out.clientKeyData = key;
  }

  const expiry = s.expirationTimestamp;
  if (expiry !== undefined && expiry !== null) {
    const ms = typeof expiry === 'string' ? parseRfc3339(expiry) : undefined;
    if (ms === undefined) throw new ExecOutputError('returned a status.expirationTimestamp that is not an RFC 3339 time');
    if (ms <= nowMs) throw new ExecOutputError(`returned a credential that expired at ${new Date(ms).toISOString()}`);
    out.expirationTimestamp = expiry as string;
    out.expiresAtMs = ms;
  }
  return out;
}

function checkKeyPair(certPem: string, keyPem: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new ExecOutputError('returned a status.clientCertificateData that is not a PEM certificate');
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ExecOutputError('returned a status.clientKeyData that is not a PEM private key');
  }
  if (!cert.checkPrivateKey(key)) throw new ExecOutputError('returned a client key that does not match its certificate');
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(value: string): number | undefined {
  const upper = value.toUpperCase();
  if (!RFC3339_RE.test(upper)) return undefined;
  const ms = Date.parse(upper);
  return Number.isFinite(ms) ? ms : undefined;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ExecOutputError(`returned a ${field} that is not a string`);
  return value;
}

/**
 * Echo the plugin's apiVersion/kind only when it is shaped like one (group/version, or a bare
 * version; a kind of letters only); anything else might be a credential printed in the wrong place.
 */
function quoteIfTame(value: unknown): string {
  if (value === undefined || value === null) return 'none';
  const tame =
    typeof value === 'string' &&
    value.length <= 100 &&
    (/^([a-z0-9-]+(\.[a-z0-9-]+)+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(value) || /^[A-Za-z]{1,63}$/.test(value));
  return tame ? `"${value}"` : 'an unexpected value';
}

function spawnFailure(
  err: unknown,
  req: ExecPluginRequest,
  invalid: (reason: string) => Error,
  transient: (reason: string) => Error,
): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && TRANSIENT_SPAWN_CODES.has(code)) return transient(`could not be started (${code})`);
  if (code === 'ENOENT') return invalid(`could not be started: command not found${req.installHint ? ` (${req.installHint})` : ''}`);
  if (code === 'EACCES') return invalid('could not be started: permission denied (is it executable?)');
  return invalid(`could not be started${code ? ` (${code})` : ''}`);
}

/** Keeps the last bytes of stderr, and renders them redacted, escaped and trimmed to STDERR_TAIL_CHARS. */
class StderrTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = false;
  /** Everything the plugin wrote, not only what is kept. */
  totalBytes = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.bytes - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
      this.dropped = true;
    }
  }

  text(): string {
    let text = redactSecrets(Buffer.concat(this.chunks).toString('utf8')).trim();
    if (this.dropped) {
      // The first line may be a fragment of something longer: too short to be recognised as a secret.
      text = text.slice(text.indexOf('\n') + 1);
    }
    if (text.length > STDERR_TAIL_CHARS) {
      text = text.slice(text.length - STDERR_TAIL_CHARS);
      this.dropped = true;
    }
    return safeText(this.dropped ? `…${text}` : text, MESSAGE_MAX * 4);
  }
}

const REDACTED = '[REDACTED]';

/** Heuristic, so it over-redacts: a long run of token characters that mixes letters and digits. */
function looksSecret(run: string): boolean {
  return run.length >= 40 || (run.length >= 20 && /[0-9]/.test(run) && /[A-Za-z]/.test(run));
}

/**
 * Removes from free text anything that looks like a credential: PEM blocks, JWTs, and long
 * base64/hex-like runs anywhere; and on a line that names a credential (token, password, secret,
 * key, …), everything after that word, because a short value (`password hunter2`) has no shape to
 * recognise. It over-redacts on purpose; its output goes to the worker log only. Every pattern runs
 * in linear time: stderr is the plugin's to choose.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, '[REDACTED PEM]')
    .replace(/eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,2}/g, REDACTED)
    .replace(CREDENTIAL_WORD_RE, (_match, word: string, rest: string) => (rest.trim() ? `${word} ${REDACTED}` : word))
    .replace(/[A-Za-z0-9+/_~=-]{20,}/g, (run) => (looksSecret(run) ? REDACTED : run));
}

/** A credential-naming word (and the rest of its word), then the rest of the line. */
const CREDENTIAL_WORD_RE =
  /((?:token|passw(?:or)?d|passphrase|pwd|secret|key|credential|authorization|cookie|session|bearer|basic|apikey|api_key)[A-Za-z0-9_-]*)([^\n]*)/gi;
