// The credential phase: resolve the cluster's kubeconfig (built-in Secret reader or exec plugin) and write
// the managed kubeconfig Secret when its content differs. Only metadata leaves: the kubeconfig never does.
import type { CredentialSyncResult, ProfileRef, SyncRequest } from '../../workflows/api.js';
import { currentCancellationSignal } from '../activity-context.js';
import { validateSecretName } from '../credentials/names.js';
import { resolveKubeconfig, type ResolvedKubeconfig } from '../credentials/resolve.js';
import { ConflictError } from '../errors.js';
import { KubeApiError } from '../kube/classify.js';
import { desiredSecret, secretDifferences } from '../kube/desired.js';
import { KUBECONFIG_SECRET_TYPE, type ClusterProfile } from '../kube/types.js';
import { readForWrite } from './guard.js';
import { describe, profileName, type ReconcileScope } from './scope.js';

export interface WriteCredentialsOptions {
  /** Read the Secret and write it when its content differs (otherwise see lastFingerprint). */
  compare: boolean;
  lastFingerprint?: string;
  /** A first sync: the name is believed free, so the Secret is created without reading first. */
  expectAbsent?: boolean;
  execMode?: SyncRequest['execMode'];
}

type ManagedSecret = Awaited<ReturnType<ReconcileScope['kube']['getSecret']>>;

interface SecretTarget {
  ref: ProfileRef;
  name: string;
  /** "Secret namespace/name", for errors. */
  object: string;
}

/**
 * Resolves the credential and writes the Secret when its content differs. `compare: false` with the
 * fingerprint last written: a credential with that same fingerprint is taken as written (drift of the
 * Secret is reported by the watcher and then synced with `compare: true`), so an unchanged refresh
 * neither reads nor writes the managed Secret.
 */
export async function writeCredentials(scope: ReconcileScope, ref: ProfileRef, profile: ClusterProfile, opts: WriteCredentialsOptions): Promise<CredentialSyncResult> {
  return storeCredential(scope, profile, await resolveCredential(scope, ref, profile, opts), opts);
}

/** A credential in hand, not yet written: what storeCredential needs. */
export interface ResolvedCredential {
  target: SecretTarget;
  resolved: ResolvedKubeconfig;
  /** The managed Secret as read before the plugin ran (a later sync that compares), if it was. */
  readBefore: { secret: ManagedSecret } | undefined;
}

/** The credential for `profile`, resolved without writing anything (refusing a foreign Secret first). */
export async function resolveCredential(scope: ReconcileScope, ref: ProfileRef, profile: ClusterProfile, opts: WriteCredentialsOptions): Promise<ResolvedCredential> {
  // Only the Secret name is checked here: a bad label fails the SveltosCluster step, while the credential
  // behind an existing SveltosCluster keeps being refreshed.
  const name = validateSecretName(profile);
  const target: SecretTarget = { ref, name, object: describe('Secret', ref.namespace, name) };
  // Refuse a foreign Secret before running any plugin: it will not be overwritten anyway. A first sync
  // skips this read; should the name be taken after all, one plugin run is wasted, and its retry reads first.
  const readBefore = opts.compare && !opts.expectAbsent ? { secret: await readManagedSecret(scope, target) } : undefined;
  const resolved = await resolveKubeconfig(profile, {
    ...scope.resolveDeps,
    ...abortSignalOf(scope),
    ...(opts.execMode ? { execMode: opts.execMode } : {}),
  });
  return { target, resolved, readBefore };
}

/** Writes the resolved credential's Secret when its content differs (see writeCredentials). */
export async function storeCredential(scope: ReconcileScope, profile: ClusterProfile, credential: ResolvedCredential, opts: WriteCredentialsOptions): Promise<CredentialSyncResult> {
  const { target, resolved, readBefore } = credential;
  let written: { changed: boolean; fields: string[] } = { changed: false, fields: [] };
  if (opts.compare || resolved.fingerprint !== opts.lastFingerprint) {
    // After a plugin ran (seconds) the Secret is read again right before writing; the secret reader resolves
    // in milliseconds, so the read before it is as fresh.
    const known = opts.expectAbsent ? { secret: undefined } : readBefore && resolved.execDurationMs === undefined ? readBefore : undefined;
    written = await writeSecret(scope, target, desiredSecret(profile, resolved.kubeconfig), known);
  }
  logCredentialSync(scope, target, resolved, written);
  const result: CredentialSyncResult = {
    provider: resolved.provider,
    fingerprint: resolved.fingerprint,
    secretChanged: written.changed,
    server: resolved.server,
  };
  if (resolved.expiresAtMs !== undefined) result.expiresAtMs = resolved.expiresAtMs;
  return result;
}

/** The activity's cancellation and the worker's shutdown, as one signal for the resolver. */
function abortSignalOf(scope: ReconcileScope): { signal?: AbortSignal } {
  const signals = [currentCancellationSignal(), scope.shutdownSignal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  return signal ? { signal } : {};
}

/** The managed Secret as it is (undefined: absent); ConflictError when it is not ours or not of our type. */
async function readManagedSecret(scope: ReconcileScope, target: SecretTarget): Promise<ManagedSecret> {
  const { ref, name, object } = target;
  const found = await readForWrite(scope, { kind: 'Secret', object, ref }, () => scope.kube.getSecret(ref.namespace, name));
  if (found && (found.type ?? KUBECONFIG_SECRET_TYPE) !== KUBECONFIG_SECRET_TYPE) {
    throw new ConflictError(
      object,
      `has type "${found.type}" but the managed kubeconfig Secret must be ${KUBECONFIG_SECRET_TYPE} (type is immutable); ` +
        'delete it to let the controller recreate it',
    );
  }
  return found;
}

/**
 * Creates the Secret or applies its differences. `known`: the Secret as already read (or known absent).
 * A name believed free is taken only if it still is; a taken one is read (ownership) and, like any
 * existing Secret, written only under the resourceVersion read (a change in between fails with 409, retried).
 */
async function writeSecret(
  scope: ReconcileScope,
  target: SecretTarget,
  desired: ReturnType<typeof desiredSecret>,
  known: { secret: ManagedSecret } | undefined,
): Promise<{ changed: boolean; fields: string[] }> {
  let existing = known ? known.secret : await readManagedSecret(scope, target);
  if (!existing && (await scope.kube.createSecretIfAbsent(desired))) return { changed: true, fields: ['created'] };
  existing ??= await readManagedSecret(scope, target);
  if (!existing) throw new KubeApiError(`${target.object} was deleted while being written; will retry`);
  const fields = secretDifferences(existing, desired);
  if (fields.length === 0) return { changed: false, fields };
  const before = existing.metadata?.resourceVersion;
  const after = await scope.kube.applySecret(desired, before ? { resourceVersion: before } : {});
  return { changed: after.metadata?.resourceVersion !== before, fields };
}

function logCredentialSync(scope: ReconcileScope, target: SecretTarget, resolved: ResolvedKubeconfig, written: { changed: boolean; fields: string[] }): void {
  const meta: Record<string, unknown> = {
    profile: profileName(target.ref),
    secret: target.name,
    provider: resolved.provider,
    fingerprint: resolved.fingerprint,
    secretChanged: written.changed,
  };
  if (written.changed) meta.changed = written.fields;
  if (resolved.expiresAtMs !== undefined) meta.expiresAt = new Date(resolved.expiresAtMs).toISOString();
  if (resolved.execDurationMs !== undefined) meta.execDurationMs = resolved.execDurationMs;
  scope.log(written.changed ? 'info' : 'debug', written.changed ? 'kubeconfig Secret written' : 'kubeconfig Secret up to date', meta);
}
