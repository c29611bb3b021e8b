// From a ClusterProfile to the kubeconfig bytes we write for Sveltos. The caller (the sync activity)
// writes the bytes and returns only the metadata; the kubeconfig itself must never leave the activity.
import type { ExecMode } from '../../workflows/api.js';
import { InvalidInputError } from '../errors.js';
import type { ProviderBulkheads } from '../providers/bulkhead.js';
import type { ClusterProfile } from '../kube/types.js';
import { chooseProvider, type ProviderChoice } from '../profile/model.js';
import { buildExecInvocation, type BaseEnv } from './exec-merge.js';
import { execClusterInfo, runExecPlugin, type SpawnFn } from './exec-plugin.js';
import { buildKubeconfig, fingerprint, staticCluster } from './kubeconfig.js';
import { describeProfile, validateSecretName } from './names.js';
import type { ProviderFile } from './provider-file.js';
import { readSecretReaderKubeconfig, type SecretGetter } from './secret-reader.js';

export interface ResolveDeps {
  /** The loaded provider file (NO_PROVIDER_FILE without `--clusterprofile-provider-file`). */
  providers: ProviderFile;
  /** `--secret-reader-namespaces`: [] = the profile's own namespace only, ['*'] = any. */
  secretReaderNamespaces: readonly string[];
  execTimeoutMs: number;
  getSecret: SecretGetter;
  /** Defaults to node:child_process.spawn. */
  spawn?: SpawnFn;
  now: () => number;
  /** Where PATH and HOME for plugins come from (normally process.env). */
  baseEnv: BaseEnv;
  killProcessGroup?: (pid: number, signal: NodeJS.Signals) => void;
  /** Activity cancellation (Context.current().cancellationSignal): stops a running plugin. */
  signal?: AbortSignal;
  /** Per-provider concurrency limits and breakers of this worker; without them plugins run ungated. */
  bulkheads?: ProviderBulkheads;
  /** Where the sync runs (workflows/api.ts SyncRequest.execMode). */
  execMode?: ExecMode;
}

export interface ResolvedKubeconfig {
  /** Credential material: write it, hash it, never log or return it from the activity. */
  kubeconfig: string;
  fingerprint: string;
  provider: string;
  server: string;
  expiresAtMs?: number;
  /** The Secret the built-in reader copied from, for the watcher to follow. */
  sourceSecret?: { namespace: string; name: string; key: string };
  /** How long the exec plugin ran, for metrics. */
  execDurationMs?: number;
}

export async function resolveKubeconfig(profile: ClusterProfile, deps: ResolveDeps): Promise<ResolvedKubeconfig> {
  const object = describeProfile(profile);
  const namespace = profile.metadata?.namespace;
  if (!namespace) throw new InvalidInputError(object, 'metadata.namespace', 'is required (ClusterProfile is namespaced)');
  // Before any work: a profile whose Secret could never be written is not worth a plugin run.
  validateSecretName(profile);
  const choice = chooseProvider(profile, deps.providers);
  if (choice.kind === 'secret-reader') return resolveFromSecret(choice, namespace, object, deps);
  return resolveFromPlugin(profile, choice, object, deps);
}

/** The built-in kubeconfig-secretreader: the kubeconfig from a Secret the profile names. */
async function resolveFromSecret(choice: ProviderChoice, namespace: string, object: string, deps: ResolveDeps): Promise<ResolvedKubeconfig> {
  const read = await readSecretReaderKubeconfig({
    profileNamespace: namespace,
    cluster: choice.provider.cluster,
    object,
    providerField: choice.field,
    allowedNamespaces: deps.secretReaderNamespaces,
    getSecret: deps.getSecret,
  });
  return {
    kubeconfig: read.kubeconfig,
    fingerprint: fingerprint(read.kubeconfig),
    provider: choice.provider.name,
    server: read.server,
    sourceSecret: read.source,
  };
}

/** An exec credential plugin, run under the provider's bulkhead when the worker has one. */
async function resolveFromPlugin(
  profile: ClusterProfile,
  choice: Extract<ProviderChoice, { kind: 'exec' }>,
  object: string,
  deps: ResolveDeps,
): Promise<ResolvedKubeconfig> {
  const { config } = choice;
  const cluster = choice.provider.cluster;
  // Validated before the plugin runs, so a profile without a usable server fails fast and cheaply.
  const target = staticCluster(cluster, object, `${choice.field}.cluster`);
  const invocation = buildExecInvocation(config, cluster, object, choice.field, deps.baseEnv);
  const run = (timeoutMs: number) =>
    runExecPlugin(
      {
        object,
        providerField: choice.field,
        provider: config.name,
        invocation,
        apiVersion: config.execConfig.apiVersion,
        ...(config.execConfig.provideClusterInfo ? { cluster: execClusterInfo(cluster, object, choice.field) } : {}),
        ...(config.execConfig.installHint ? { installHint: config.execConfig.installHint } : {}),
      },
      {
        now: deps.now,
        timeoutMs,
        ...(deps.spawn ? { spawn: deps.spawn } : {}),
        ...(deps.killProcessGroup ? { killProcessGroup: deps.killProcessGroup } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
    );
  const gate = { provider: config.name, object, field: choice.field, mode: deps.execMode, execTimeoutMs: deps.execTimeoutMs, ...(deps.signal ? { signal: deps.signal } : {}) };
  const credential = deps.bulkheads ? await deps.bulkheads.run(gate, run) : await run(deps.execTimeoutMs);
  const kubeconfig = buildKubeconfig({ name: profile.metadata.name ?? 'cluster', cluster, credentials: credential, object, providerField: choice.field });
  const result: ResolvedKubeconfig = {
    kubeconfig,
    fingerprint: fingerprint(kubeconfig),
    provider: config.name,
    server: target.server,
    execDurationMs: credential.durationMs,
  };
  if (credential.expiresAtMs !== undefined) result.expiresAtMs = credential.expiresAtMs;
  return result;
}
