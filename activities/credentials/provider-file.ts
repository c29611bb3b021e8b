// The exec-plugin provider file (`--clusterprofile-provider-file`, docs/configuration.md "Provider file"), validated in full at
// start-up. Unlike the upstream Go loader (encoding/json: case-insensitive keys, unknown keys ignored,
// policy values checked only when a profile happens to use them), a typo here is an error naming the
// file and the field, so a misconfiguration shows at start-up instead of on some later ClusterProfile.
// The result is deeply frozen: upstream mutates the loaded config per call and leaks one cluster's
// args/env into the next (research §2.6); freezing makes any such mutation throw.
import { readFile as fsReadFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors.js';
import { EXEC_CREDENTIAL_API_VERSIONS, SECRET_READER_PROVIDER, type ExecCredentialApiVersion } from '../kube/types.js';

export const ARGS_POLICIES = ['Ignore', 'Append'] as const;
export const ENV_POLICIES = ['Ignore', 'AppendIfNotExists', 'Replace'] as const;
/** `Always` is refused: the plugin never gets a terminal. `IfAvailable` therefore behaves like `Never`. */
export const INTERACTIVE_MODES = ['Never', 'IfAvailable'] as const;

export type ArgsPolicy = (typeof ARGS_POLICIES)[number];
export type EnvPolicy = (typeof ENV_POLICIES)[number];
export type InteractiveMode = (typeof INTERACTIVE_MODES)[number];

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

export interface ExecConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly EnvVar[];
  readonly apiVersion: ExecCredentialApiVersion;
  readonly provideClusterInfo: boolean;
  readonly interactiveMode: InteractiveMode;
  readonly installHint?: string;
}

export interface ProviderConfig {
  readonly name: string;
  readonly execConfig: ExecConfig;
  /** Unset or "" in the file is recorded as Ignore. */
  readonly profileSourcedCLIArgsPolicy: ArgsPolicy;
  readonly profileSourcedEnvVarsPolicy: EnvPolicy;
  /**
   * The only variable names a ClusterProfile's additional-envs may set for this provider (an allowlist:
   * interpreters and SDKs read too many variables for a denylist to keep up). Empty by default.
   */
  readonly profileSourcedEnvVarNames: readonly string[];
  /**
   * Plugin runs of this provider at once per worker (DEFAULT_MAX_CONCURRENT_RUNS when unset): a provider
   * that hangs holds at most this many plugin processes, plus as many syncs queued for them.
   */
  readonly maxConcurrentRuns: number;
}

/** Plugins are processes (often an SDK or a CLI of a few hundred MiB): a handful at once per worker. */
export const DEFAULT_MAX_CONCURRENT_RUNS = 4;
/** The most a provider file may allow: beyond it a worker's activity slots (50) would not bound anything. */
export const MAX_CONCURRENT_RUNS_LIMIT = 20;

/** The concurrency limit of a provider by name (the default for names the file does not list). */
export function maxConcurrentRunsOf(file: ProviderFile, name: string): number {
  return file.providers.find((p) => p.name === name)?.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
}

export interface ProviderFile {
  /** Where it was loaded from, for error messages; "" when there is no file. */
  readonly path: string;
  /** In file order: the order decides which provider a ClusterProfile uses (the profile's order never does). */
  readonly providers: readonly ProviderConfig[];
}

/** No `--clusterprofile-provider-file`: only the built-in Secret reader is available. */
export const NO_PROVIDER_FILE: ProviderFile = deepFreeze({ path: '', providers: [] });

/** Environment variable names the plugin's contract reserves; the file may not set them either. */
const FILE_ENV_RESERVED = new Set(['KUBERNETES_EXEC_INFO']);
const ENV_NAME_RE = /^[^=\0]+$/;
/** A portable variable name (POSIX): what profileSourcedEnvVarNames may list. */
const PORTABLE_ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * A floor under the allowlist: names no provider file may hand to ClusterProfile authors, because they
 * choose which binary runs (PATH), where it reads its configuration (HOME), what the dynamic loader
 * injects (LD_*, DYLD_*) or the plugin's own input (KUBERNETES_EXEC_INFO).
 */
export function isNeverProfileSourced(name: string): boolean {
  return ['PATH', 'HOME', 'KUBERNETES_EXEC_INFO'].includes(name) || name.startsWith('LD_') || name.startsWith('DYLD_');
}
/** Kubernetes-style `$(VAR)` references: nothing substitutes them, so they would reach the plugin verbatim. */
const SUBSTITUTION_RE = /\$\([A-Za-z_][A-Za-z0-9_]*\)/;

export type ReadFile = (path: string, encoding: 'utf8') => Promise<string>;

export async function loadProviderFile(path: string, readFile: ReadFile = fsReadFile): Promise<ProviderFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    throw new InvalidInputError(`provider file ${path}`, undefined, `cannot be read${code ? ` (${code})` : ''}`);
  }
  return parseProviderFile(text, path);
}

export function parseProviderFile(text: string, path: string): ProviderFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the surrounding text, which may include an env value (often a secret).
    const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    throw new InvalidInputError(`provider file ${path}`, undefined, `is not valid JSON${position ? ` (at offset ${position})` : ''}`);
  }
  return validateProviderFile(doc, path);
}

export function validateProviderFile(doc: unknown, path: string): ProviderFile {
  const v = new Validator(`provider file ${path}`);
  const root = v.object(doc, '(document root)');
  v.onlyKeys(root, '', ['providers']);
  if (!('providers' in root)) v.fail('providers', 'is required (an empty list is allowed)');
  const list = v.array(root.providers, 'providers');
  const seen = new Map<string, number>();
  const providers = list.map((item, i) => {
    const provider = validateProvider(v, item, `providers[${i}]`);
    const previous = seen.get(provider.name);
    if (previous !== undefined) v.fail(`providers[${i}].name`, `duplicates providers[${previous}].name "${provider.name}"`);
    seen.set(provider.name, i);
    return provider;
  });
  return deepFreeze({ path, providers });
}

function validateProvider(v: Validator, item: unknown, at: string): ProviderConfig {
  const obj = v.object(item, at);
  v.onlyKeys(obj, at, ['name', 'execConfig', 'profileSourcedCLIArgsPolicy', 'profileSourcedEnvVarsPolicy', 'profileSourcedEnvVarNames', 'maxConcurrentRuns']);
  const name = v.nonEmptyString(obj.name, `${at}.name`);
  if (name === SECRET_READER_PROVIDER) {
    v.fail(`${at}.name`, `"${SECRET_READER_PROVIDER}" is served by the built-in Secret reader and cannot be configured as an exec plugin`);
  }
  const envPolicy = v.policy(obj.profileSourcedEnvVarsPolicy, `${at}.profileSourcedEnvVarsPolicy`, ENV_POLICIES);
  return {
    name,
    execConfig: validateExecConfig(v, obj.execConfig, `${at}.execConfig`),
    profileSourcedCLIArgsPolicy: v.policy(obj.profileSourcedCLIArgsPolicy, `${at}.profileSourcedCLIArgsPolicy`, ARGS_POLICIES),
    profileSourcedEnvVarsPolicy: envPolicy,
    profileSourcedEnvVarNames: validateEnvVarNames(v, obj.profileSourcedEnvVarNames, `${at}.profileSourcedEnvVarNames`, envPolicy),
    maxConcurrentRuns: validateMaxConcurrentRuns(v, obj.maxConcurrentRuns, `${at}.maxConcurrentRuns`),
  };
}

function validateMaxConcurrentRuns(v: Validator, value: unknown, at: string): number {
  if (value === undefined || value === null) return DEFAULT_MAX_CONCURRENT_RUNS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENT_RUNS_LIMIT) {
    v.fail(at, `must be a whole number from 1 to ${MAX_CONCURRENT_RUNS_LIMIT}, not ${typeof value === 'number' ? value : kindOf(value)}`);
  }
  return value;
}

function validateEnvVarNames(v: Validator, value: unknown, at: string, policy: EnvPolicy): string[] {
  if (value === undefined || value === null) return [];
  const names = v.array(value, at);
  if (names.length > 0 && policy === 'Ignore') {
    v.fail(at, 'lists variables, but profileSourcedEnvVarsPolicy is Ignore, so none would ever be used');
  }
  const seen = new Set<string>();
  return names.map((item, i) => {
    const field = `${at}[${i}]`;
    const name = v.nonEmptyString(item, field);
    if (!PORTABLE_ENV_NAME_RE.test(name)) v.fail(field, 'is not a valid environment variable name (letters, digits and "_", not starting with a digit)');
    if (isNeverProfileSourced(name)) v.fail(field, `${name} may never be set by a ClusterProfile`);
    if (seen.has(name)) v.fail(field, `lists ${name} twice`);
    seen.add(name);
    return name;
  });
}

function validateExecConfig(v: Validator, item: unknown, at: string): ExecConfig {
  if (item === undefined || item === null) v.fail(at, 'is required');
  const obj = v.object(item, at);
  v.onlyKeys(obj, at, ['command', 'args', 'env', 'apiVersion', 'provideClusterInfo', 'interactiveMode', 'installHint']);

  const command = v.nonEmptyString(obj.command, `${at}.command`);
  v.noNul(command, `${at}.command`);

  const args = obj.args === undefined || obj.args === null ? [] : v.array(obj.args, `${at}.args`);
  const argv = args.map((arg, i) => {
    const field = `${at}.args[${i}]`;
    const s = v.string(arg, field);
    v.noNul(s, field);
    const ref = SUBSTITUTION_RE.exec(s)?.[0];
    if (ref) v.fail(field, `contains "${ref}", but no variable substitution is performed: the plugin would receive it literally`);
    return s;
  });

  const envList = obj.env === undefined || obj.env === null ? [] : v.array(obj.env, `${at}.env`);
  const envSeen = new Map<string, number>();
  const env = envList.map((entry, i) => {
    const field = `${at}.env[${i}]`;
    const e = v.object(entry, field);
    v.onlyKeys(e, field, ['name', 'value']);
    const name = v.nonEmptyString(e.name, `${field}.name`);
    if (!ENV_NAME_RE.test(name)) v.fail(`${field}.name`, 'must not contain "=" or NUL');
    if (FILE_ENV_RESERVED.has(name)) v.fail(`${field}.name`, `${name} is set by the controller and cannot be overridden`);
    const previous = envSeen.get(name);
    if (previous !== undefined) v.fail(`${field}.name`, `duplicates ${at}.env[${previous}].name "${name}"`);
    envSeen.set(name, i);
    // The value is never echoed: provider files do carry secrets in env.
    if (typeof e.value !== 'string') v.fail(`${field}.value`, 'must be a string');
    v.noNul(e.value, `${field}.value`);
    return { name, value: e.value };
  });

  const apiVersion = v.oneOf(obj.apiVersion, `${at}.apiVersion`, EXEC_CREDENTIAL_API_VERSIONS, { required: true });

  if (obj.provideClusterInfo !== undefined && obj.provideClusterInfo !== null && typeof obj.provideClusterInfo !== 'boolean') {
    v.fail(`${at}.provideClusterInfo`, 'must be a boolean');
  }
  const provideClusterInfo = obj.provideClusterInfo === true;

  const interactiveMode =
    obj.interactiveMode === undefined || obj.interactiveMode === null || obj.interactiveMode === ''
      ? 'Never'
      : obj.interactiveMode === 'Always'
        ? v.fail(`${at}.interactiveMode`, '"Always" is not supported: plugins run without a terminal (use "Never" or "IfAvailable")')
        : v.oneOf(obj.interactiveMode, `${at}.interactiveMode`, INTERACTIVE_MODES, { required: true });

  const config: ExecConfig = { command, args: argv, env, apiVersion, provideClusterInfo, interactiveMode };
  if (obj.installHint !== undefined && obj.installHint !== null) {
    return { ...config, installHint: v.string(obj.installHint, `${at}.installHint`) };
  }
  return config;
}

/** Collects nothing: the first problem throws, naming the file and the field. */
class Validator {
  constructor(private readonly subject: string) {}

  fail(field: string, reason: string): never {
    throw new InvalidInputError(this.subject, field, reason);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, `must be an object, not ${kindOf(value)}`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, `must be a list, not ${kindOf(value)}`);
    return value as unknown[];
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') this.fail(field, `must be a string, not ${kindOf(value)}`);
    return value;
  }

  nonEmptyString(value: unknown, field: string): string {
    if (value === undefined || value === null) this.fail(field, 'is required');
    const s = this.string(value, field);
    if (s.trim() === '') this.fail(field, 'must not be empty');
    return s;
  }

  noNul(value: string, field: string): void {
    if (value.includes('\0')) this.fail(field, 'must not contain NUL characters');
  }

  onlyKeys(obj: Record<string, unknown>, at: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const field = at ? `${at}.${key}` : key;
      const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
      this.fail(field, near ? `is not a known field (names are case-sensitive: did you mean "${near}"?)` : `is not a known field (expected one of ${allowed.join(', ')})`);
    }
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], opts: { required: boolean }): T {
    if ((value === undefined || value === null || value === '') && opts.required) {
      this.fail(field, `is required (one of ${allowed.map((a) => `"${a}"`).join(', ')})`);
    }
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(field, `${typeof value === 'string' ? `"${value}"` : kindOf(value)} is not supported (one of ${allowed.map((a) => `"${a}"`).join(', ')})`);
    }
    return value as T;
  }

  /** Unset and "" mean Ignore, as upstream. */
  policy<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (value === undefined || value === null || value === '') return 'Ignore' as T;
    return this.oneOf(value, field, allowed, { required: false });
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
