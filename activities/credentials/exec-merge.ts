// KEP-5339: a ClusterProfile may add CLI args and env vars to its provider's exec plugin, as far as the
// provider file's policies allow. Everything here builds new values: the provider config is shared by
// all profiles (and frozen), so profile A's additions can never reach profile B's call.
import { InvalidInputError } from '../errors.js';
import { ADDITIONAL_ARGS_EXTENSION, ADDITIONAL_ENVS_EXTENSION, type KubeconfigCluster } from '../kube/types.js';
import { PROFILE_STRING_MAX, quoted, safeText } from '../../workflows/text.js';
import { extensionField, findExtension } from './extensions.js';
import type { ArgsPolicy, EnvPolicy, EnvVar, ProviderConfig } from './provider-file.js';

/** The controller's own environment, from which only PATH and HOME are passed on. */
export type BaseEnv = Readonly<Record<string, string | undefined>>;

export interface ExecInvocation {
  readonly command: string;
  readonly args: readonly string[];
  /** The plugin's complete environment (before KUBERNETES_EXEC_INFO), keys sorted. */
  readonly env: Readonly<Record<string, string>>;
}

/** Inherited from the controller; everything else the plugin sees comes from the file or the profile. */
export const INHERITED_ENV = ['PATH', 'HOME'] as const;

/** The profile's additional args, or undefined when it carries none. */
export function readAdditionalArgs(cluster: KubeconfigCluster | undefined, object: string, providerField: string): string[] | undefined {
  const found = findExtension(cluster, ADDITIONAL_ARGS_EXTENSION, object, providerField);
  if (!found) return undefined;
  const field = extensionField(providerField, ADDITIONAL_ARGS_EXTENSION);
  if (!Array.isArray(found.value)) {
    throw new InvalidInputError(object, field, `must be a list of strings, not ${describeKind(found.value)}`);
  }
  return found.value.map((arg, i) => {
    if (typeof arg !== 'string') throw new InvalidInputError(object, `${field}[${i}]`, `must be a string, not ${describeKind(arg)}`);
    if (arg.includes('\0')) throw new InvalidInputError(object, `${field}[${i}]`, 'must not contain NUL characters');
    return arg;
  });
}

/**
 * The profile's additional env vars, or undefined when it carries none. A name the provider's
 * profileSourcedEnvVarNames does not list is an error: nothing is allowed unless the file says so.
 */
export function readAdditionalEnvs(
  cluster: KubeconfigCluster | undefined,
  object: string,
  providerField: string,
  provider: Pick<ProviderConfig, 'name' | 'profileSourcedEnvVarNames'>,
): Record<string, string> | undefined {
  const found = findExtension(cluster, ADDITIONAL_ENVS_EXTENSION, object, providerField);
  if (!found) return undefined;
  const field = extensionField(providerField, ADDITIONAL_ENVS_EXTENSION);
  const value = found.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError(object, field, `must be a map of strings to strings, not ${describeKind(value)}`);
  }
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const at = `${field}.${safeText(name, PROFILE_STRING_MAX)}`;
    if (!provider.profileSourcedEnvVarNames.includes(name)) {
      const allowed = provider.profileSourcedEnvVarNames;
      throw new InvalidInputError(
        object,
        at,
        `environment variable ${quoted(name)} is not allowed for provider ${quoted(provider.name)}: ` +
          (allowed.length ? `its profileSourcedEnvVarNames lists only ${allowed.join(', ')}` : 'its profileSourcedEnvVarNames lists none'),
      );
    }
    // Values are never echoed: they may be secrets.
    if (typeof v !== 'string') throw new InvalidInputError(object, at, `must be a string, not ${describeKind(v)}`);
    if (v.includes('\0')) throw new InvalidInputError(object, at, 'must not contain NUL characters');
    env[name] = v;
  }
  return env;
}

export function mergeArgs(fileArgs: readonly string[], profileArgs: readonly string[] | undefined, policy: ArgsPolicy): string[] {
  return policy === 'Append' && profileArgs ? [...fileArgs, ...profileArgs] : [...fileArgs];
}

/**
 * base (PATH, HOME) < file env < profile env, except that under AppendIfNotExists the file wins a
 * clash with the profile. Returned with sorted keys, so equal inputs give byte-equal results.
 */
export function mergeEnv(
  base: BaseEnv,
  fileEnv: readonly EnvVar[],
  profileEnv: Readonly<Record<string, string>> | undefined,
  policy: EnvPolicy,
): Record<string, string> {
  const env = new Map<string, string>();
  for (const name of INHERITED_ENV) {
    const value = base[name];
    if (value !== undefined) env.set(name, value);
  }
  const fileNames = new Set<string>();
  for (const { name, value } of fileEnv) {
    env.set(name, value);
    fileNames.add(name);
  }
  if (profileEnv && policy !== 'Ignore') {
    for (const [name, value] of Object.entries(profileEnv)) {
      if (policy === 'AppendIfNotExists' && fileNames.has(name)) continue;
      env.set(name, value);
    }
  }
  return Object.fromEntries([...env.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The command line and environment for one profile's plugin run. Extensions a policy ignores are
 * not even parsed: a profile is not failed for something this controller would not use.
 */
export function buildExecInvocation(
  config: ProviderConfig,
  cluster: KubeconfigCluster | undefined,
  object: string,
  providerField: string,
  baseEnv: BaseEnv,
): ExecInvocation {
  const profileArgs =
    config.profileSourcedCLIArgsPolicy === 'Ignore' ? undefined : readAdditionalArgs(cluster, object, providerField);
  const profileEnv =
    config.profileSourcedEnvVarsPolicy === 'Ignore' ? undefined : readAdditionalEnvs(cluster, object, providerField, config);
  return {
    command: config.execConfig.command,
    args: mergeArgs(config.execConfig.args, profileArgs, config.profileSourcedCLIArgsPolicy),
    env: mergeEnv(baseEnv, config.execConfig.env, profileEnv, config.profileSourcedEnvVarsPolicy),
  };
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
