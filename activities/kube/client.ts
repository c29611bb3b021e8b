// A small typed client for exactly what the activities need, over plain HTTPS (http.ts; kube-access.ts
// supplies the credentials):
//  - ClusterProfile: get; add/remove our finalizer by JSON patch guarded by `test` ops, so that a
//    concurrent writer's finalizers are never lost and a namesake is never touched;
//  - Secret and SveltosCluster: get, create-if-absent, server-side apply with one field manager (FIELD_MANAGER, force:
//    the bodies carry only fields we own), delete with uid (and resourceVersion) preconditions;
//  - core/v1 Events: create, or count up an identical one.
// Every write waits for the client-side token bucket of its resource type (--kube-api-qps/--kube-api-burst
// per resource, as controller-runtime gives each kind its own REST client and limiter; the Go controller's
// reads come from its informer cache and never reach that limiter, so ours, single GETs by name bounded by
// the worker's concurrency, are not charged either), has a timeout,
// follows an optional external abort signal (the activity's cancellation) and fails with a classified
// error (classify.ts). Bodies go out and come back as plain JSON, as the API server writes them (no
// model renaming, timestamps stay strings).
import type { CoreV1Event, V1ObjectMeta, V1Preconditions } from '@kubernetes/client-node';
import { currentCancellationSignal } from '../activity-context.js';
import { InvalidInputError, ProfileGoneError } from '../errors.js';
import { classifyKubeError, httpStatus, KubeApiError, type KubeOp, type KubeVerb } from './classify.js';
import { kubeHttp, seg, type KubeHttpSend, type KubeRequest } from './http.js';
import type { KubeAccess } from './kube-access.js';
import { DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS, TokenBucket, type Clock } from './rate-limit.js';
import {
  CLUSTER_PROFILE,
  FIELD_MANAGER,
  SVELTOS_CLUSTER,
  type ClusterProfile,
  type ManagedKind,
  type SecretApply,
  type SveltosCluster,
  type SveltosClusterApply,
  type V1Secret,
} from './types.js';

export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 30_000;

export interface KubeClientOptions {
  /** `--kube-api-qps` (default 20); 0 or less disables client-side limiting. */
  qps?: number;
  /** `--kube-api-burst` (default 30). */
  burst?: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** For the rate limiter; tests inject a fake. */
  clock?: Clock;
  /**
   * An extra abort signal for each request, looked up per call. Default: the cancellation signal of the
   * Temporal activity the request runs in, if any.
   */
  signal?: () => AbortSignal | undefined;
  /** The HTTP round trip; tests inject a fake. Default: http.ts over the KubeAccess. */
  send?: KubeHttpSend;
}

/** Preconditions for deletes: the uid we checked (always) and the resourceVersion we saw (optional). */
export interface DeletePreconditions {
  uid: string;
  resourceVersion?: string;
}

/** Outcome of a delete request. `pending`: accepted, but the object still exists (finalizers). */
export type DeleteOutcome = 'deleted' | 'pending' | 'absent';

export interface KubeClient {
  getClusterProfile(namespace: string, name: string): Promise<ClusterProfile | undefined>;
  /**
   * Adds `finalizer` to the profile as observed in `observed` (its uid and finalizer list are tested).
   * Throws a KubeApiError with reason PatchGuardFailed when the object changed meanwhile (or is being
   * deleted); the caller reads it again and decides anew.
   */
  addFinalizer(observed: ClusterProfile, finalizer: string): Promise<ClusterProfile>;
  /** Removes `finalizer` (must be present in `observed`); same guard. undefined when the object is then gone. */
  removeFinalizer(observed: ClusterProfile, finalizer: string): Promise<ClusterProfile | undefined>;

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Server-side apply. `resourceVersion` makes it conditional on the object not having changed since. */
  applySecret(body: SecretApply, opts?: { resourceVersion?: string }): Promise<V1Secret>;
  /**
   * Creates the Secret by server-side apply when no object of that name exists; undefined (nothing written)
   * when one does, whoever owns it. Lets a first sync write without reading first.
   */
  createSecretIfAbsent(body: SecretApply): Promise<V1Secret | undefined>;
  deleteSecret(namespace: string, name: string, preconditions: DeletePreconditions): Promise<DeleteOutcome>;

  getSveltosCluster(namespace: string, name: string): Promise<SveltosCluster | undefined>;
  applySveltosCluster(body: SveltosClusterApply, opts?: { resourceVersion?: string }): Promise<SveltosCluster>;
  /** Like createSecretIfAbsent. */
  createSveltosClusterIfAbsent(body: SveltosClusterApply): Promise<SveltosCluster | undefined>;
  deleteSveltosCluster(namespace: string, name: string, preconditions: DeletePreconditions): Promise<DeleteOutcome>;

  /**
   * Removes the ownerReferences at `indexes` from the Secret or SveltosCluster observed as `observed`
   * (JSON patch guarded by its resourceVersion and the references themselves). Throws a KubeApiError
   * with reason PatchGuardFailed when the object changed meanwhile.
   */
  removeOwnerReferences(kind: ManagedKind, observed: V1ObjectMeta, indexes: number[]): Promise<void>;

  /**
   * Creates the Event, or counts up the existing Event of the same name. `lane`: a token bucket of its own,
   * so that a burst of failure Events (a provider's outage across a fleet) never delays other Events.
   */
  recordEvent(event: CoreV1Event, opts?: { lane?: string }): Promise<void>;
}

/**
 * A resourceVersion no stored object can have (etcd revisions are positive int64s). An apply that carries it
 * creates the object when the name is free (the API server ignores a resourceVersion on create) and fails
 * with 409 Conflict when any object of that name exists: create-if-absent in one request, with the apply's
 * field ownership, so that a foreign object is never written to without its ownership being checked first.
 */
export const NO_STORED_RESOURCE_VERSION = '18446744073709551615';

/** Runs a create-if-absent apply: undefined when the name is taken. */
async function unlessTaken<T>(apply: () => Promise<T>): Promise<T | undefined> {
  try {
    return await apply();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return undefined;
    throw err;
  }
}

/** Reason of the KubeApiError thrown when a guarded JSON patch's `test` op fails. */
export const PATCH_GUARD_FAILED = 'PatchGuardFailed';

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

const profilePath = (namespace: string, name: string): string =>
  `/apis/${CLUSTER_PROFILE.group}/${CLUSTER_PROFILE.version}/namespaces/${seg(namespace)}/${CLUSTER_PROFILE.plural}/${seg(name)}`;
const sveltosClusterPath = (namespace: string, name: string): string =>
  `/apis/${SVELTOS_CLUSTER.group}/${SVELTOS_CLUSTER.version}/namespaces/${seg(namespace)}/${SVELTOS_CLUSTER.plural}/${seg(name)}`;
const corePath = (resource: 'secrets' | 'events', namespace: string, name?: string): string =>
  `/api/v1/namespaces/${seg(namespace)}/${resource}${name === undefined ? '' : `/${seg(name)}`}`;
/** Query of every write: our field manager; applies take ownership of what they send and validate strictly. */
const WRITE_QUERY = { fieldManager: FIELD_MANAGER };
const APPLY_QUERY = { fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' };
const CP_RESOURCE = `${CLUSTER_PROFILE.plural}.${CLUSTER_PROFILE.group}`;
const SC_RESOURCE = `${SVELTOS_CLUSTER.plural}.${SVELTOS_CLUSTER.group}`;

type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** The guarded JSON patch that appends `finalizer` to the list observed in `observed`. Exported for tests. */
export function addFinalizerPatch(observed: ClusterProfile, finalizer: string): JsonPatchOp[] {
  const uid = observed.metadata.uid;
  if (!uid) throw new Error('addFinalizerPatch: the observed ClusterProfile has no uid');
  const list = observed.metadata.finalizers;
  const guard: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/uid', value: uid },
    // Absent and null both test as null (the server's JSON patch treats a missing path as null).
    { op: 'test', path: '/metadata/finalizers', value: list ?? null },
  ];
  return list && list.length > 0
    ? [...guard, { op: 'add', path: '/metadata/finalizers/-', value: finalizer }]
    : [...guard, { op: 'add', path: '/metadata/finalizers', value: [finalizer] }];
}

/** The guarded JSON patch that removes every occurrence of `finalizer` observed in `observed`. Exported for tests. */
export function removeFinalizerPatch(observed: ClusterProfile, finalizer: string): JsonPatchOp[] {
  const uid = observed.metadata.uid;
  if (!uid) throw new Error('removeFinalizerPatch: the observed ClusterProfile has no uid');
  const list = observed.metadata.finalizers ?? [];
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'test', path: '/metadata/finalizers', value: list },
  ];
  // From the end, so that earlier indexes stay valid.
  for (let i = list.length - 1; i >= 0; i--) if (list[i] === finalizer) ops.push({ op: 'remove', path: `/metadata/finalizers/${i}` });
  return ops;
}

/** The guarded JSON patch that removes the ownerReferences at `indexes`. Exported for tests. */
export function removeOwnerReferencesPatch(observed: V1ObjectMeta, indexes: number[]): JsonPatchOp[] {
  const refs = observed.ownerReferences ?? [];
  if (!observed.resourceVersion) throw new Error('removeOwnerReferencesPatch: the observed object has no resourceVersion');
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/resourceVersion', value: observed.resourceVersion }];
  for (const i of [...new Set(indexes)].sort((a, b) => b - a)) {
    if (!refs[i]) throw new Error(`removeOwnerReferencesPatch: no ownerReference at index ${i}`);
    ops.push({ op: 'test', path: `/metadata/ownerReferences/${i}/uid`, value: refs[i].uid }, { op: 'remove', path: `/metadata/ownerReferences/${i}` });
  }
  return ops;
}

function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The token bucket a request is charged to: one per resource type for writes (controller-runtime's one
 * limiter per kind); none for reads, which the Go controller serves from its cache.
 */
export function rateLimitBucket(op: Pick<KubeOp, 'verb' | 'resource' | 'lane'>): string | undefined {
  if (op.verb === 'get') return undefined;
  return op.lane ? `${op.resource}/${op.lane}` : op.resource;
}

class HttpKubeClient implements KubeClient {
  private readonly send: KubeHttpSend;
  /** One token bucket per resource type (clusterprofiles, secrets, sveltosclusters, events). */
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly limits: ConstructorParameters<typeof TokenBucket>[0];
  private readonly timeoutMs: number;
  private readonly externalSignal: () => AbortSignal | undefined;

  constructor(kc: KubeAccess, opts: KubeClientOptions) {
    this.send = opts.send ?? kubeHttp(kc);
    this.limits = {
      qps: opts.qps ?? DEFAULT_KUBE_API_QPS,
      burst: opts.burst ?? DEFAULT_KUBE_API_BURST,
      ...(opts.clock ? { clock: opts.clock } : {}),
    };
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS;
    this.externalSignal = opts.signal ?? currentCancellationSignal;
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private bucketFor(resource: string): TokenBucket {
    let bucket = this.buckets.get(resource);
    if (!bucket) {
      bucket = new TokenBucket(this.limits);
      this.buckets.set(resource, bucket);
    }
    return bucket;
  }

  /**
   * Runs one request: rate limit, timeout, abort, classification. With `allow404`, a 404 resolves to
   * undefined instead of failing.
   */
  private async request<T>(op: KubeOp, r: Omit<KubeRequest, 'signal' | 'timeoutMs'>, allow404 = false): Promise<T | undefined> {
    const external = this.externalSignal();
    try {
      const limitedBy = rateLimitBucket(op);
      if (limitedBy !== undefined) await this.bucketFor(limitedBy).take(external);
    } catch (err) {
      throw cancellation(external) ?? classifyKubeError(err, op, this.timeoutMs);
    }
    try {
      return await this.send<T>({ ...r, timeoutMs: this.timeoutMs, ...(external ? { signal: external } : {}) });
    } catch (err) {
      if (allow404 && httpStatus(err) === 404) return undefined;
      // The activity was cancelled: let its own reason (Temporal's CancelledFailure) through.
      const cancelled = cancellation(external);
      if (cancelled) throw cancelled;
      throw classifyKubeError(err, op, this.timeoutMs);
    }
  }

  private op(verb: KubeVerb, kind: string, resource: string, namespace: string, name?: string, profile = false): KubeOp {
    const op: KubeOp = { verb, kind, resource, namespace };
    if (name !== undefined) op.name = name;
    if (profile) op.profile = true;
    return op;
  }

  // ---- ClusterProfile --------------------------------------------------------------------------

  async getClusterProfile(namespace: string, name: string): Promise<ClusterProfile | undefined> {
    return this.request<ClusterProfile>(this.op('get', CLUSTER_PROFILE.kind, CP_RESOURCE, namespace, name), { method: 'GET', path: profilePath(namespace, name) }, true);
  }

  async addFinalizer(observed: ClusterProfile, finalizer: string): Promise<ClusterProfile> {
    return this.patchFinalizers(observed, addFinalizerPatch(observed, finalizer));
  }

  async removeFinalizer(observed: ClusterProfile, finalizer: string): Promise<ClusterProfile | undefined> {
    const patch = removeFinalizerPatch(observed, finalizer);
    if (!patch.some((p) => p.op === 'remove')) return observed;
    try {
      return await this.patchFinalizers(observed, patch);
    } catch (err) {
      // Gone already (e.g. a concurrent removal of the last finalizer let the deletion finish).
      if (err instanceof ProfileGoneError) return undefined;
      throw err;
    }
  }

  private async patchFinalizers(observed: ClusterProfile, body: JsonPatchOp[]): Promise<ClusterProfile> {
    const namespace = observed.metadata.namespace ?? '';
    const name = observed.metadata.name ?? '';
    const op = this.op('patch', CLUSTER_PROFILE.kind, CP_RESOURCE, namespace, name, true);
    try {
      return (await this.request<ClusterProfile>(op, { method: 'PATCH', path: profilePath(namespace, name), query: WRITE_QUERY, body, contentType: JSON_PATCH }))!;
    } catch (err) {
      // A failed `test` op is a 422 without details; so is "no new finalizers can be added if the object
      // is being deleted". Both mean: read again and decide again.
      if (err instanceof InvalidInputError) {
        throw new KubeApiError(
          `ClusterProfile ${namespace}/${name} changed while updating its finalizers; will read it again`,
          422,
          PATCH_GUARD_FAILED,
        );
      }
      throw err;
    }
  }

  // ---- Secret ----------------------------------------------------------------------------------

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.request<V1Secret>(this.op('get', 'Secret', 'secrets', namespace, name), { method: 'GET', path: corePath('secrets', namespace, name) }, true);
  }

  async applySecret(body: SecretApply, opts: { resourceVersion?: string } = {}): Promise<V1Secret> {
    const { namespace, name } = body.metadata;
    const sent = opts.resourceVersion ? { ...body, metadata: { ...body.metadata, resourceVersion: opts.resourceVersion } } : body;
    return (await this.request<V1Secret>(this.op('apply', 'Secret', 'secrets', namespace, name), {
      method: 'PATCH',
      path: corePath('secrets', namespace, name),
      query: APPLY_QUERY,
      body: sent,
      contentType: APPLY_PATCH,
    }))!;
  }

  async createSecretIfAbsent(body: SecretApply): Promise<V1Secret | undefined> {
    return unlessTaken(() => this.applySecret(body, { resourceVersion: NO_STORED_RESOURCE_VERSION }));
  }

  async deleteSecret(namespace: string, name: string, preconditions: DeletePreconditions): Promise<DeleteOutcome> {
    const op = this.op('delete', 'Secret', 'secrets', namespace, name);
    const sent = await this.request<unknown>(
      op,
      { method: 'DELETE', path: corePath('secrets', namespace, name), body: { preconditions: toPreconditions(preconditions) } },
      true,
    );
    if (sent === undefined) return 'absent';
    const after = await this.getSecret(namespace, name);
    return after && after.metadata?.uid === preconditions.uid ? 'pending' : 'deleted';
  }

  // ---- SveltosCluster --------------------------------------------------------------------------

  async getSveltosCluster(namespace: string, name: string): Promise<SveltosCluster | undefined> {
    return this.request<SveltosCluster>(this.op('get', SVELTOS_CLUSTER.kind, SC_RESOURCE, namespace, name), { method: 'GET', path: sveltosClusterPath(namespace, name) }, true);
  }

  async applySveltosCluster(body: SveltosClusterApply, opts: { resourceVersion?: string } = {}): Promise<SveltosCluster> {
    const { namespace, name } = body.metadata;
    const sent = opts.resourceVersion ? { ...body, metadata: { ...body.metadata, resourceVersion: opts.resourceVersion } } : body;
    return (await this.request<SveltosCluster>(this.op('apply', SVELTOS_CLUSTER.kind, SC_RESOURCE, namespace, name), {
      method: 'PATCH',
      path: sveltosClusterPath(namespace, name),
      query: APPLY_QUERY,
      body: sent,
      contentType: APPLY_PATCH,
    }))!;
  }

  async createSveltosClusterIfAbsent(body: SveltosClusterApply): Promise<SveltosCluster | undefined> {
    return unlessTaken(() => this.applySveltosCluster(body, { resourceVersion: NO_STORED_RESOURCE_VERSION }));
  }

  async deleteSveltosCluster(namespace: string, name: string, preconditions: DeletePreconditions): Promise<DeleteOutcome> {
    const op = this.op('delete', SVELTOS_CLUSTER.kind, SC_RESOURCE, namespace, name);
    const sent = await this.request<unknown>(
      op,
      { method: 'DELETE', path: sveltosClusterPath(namespace, name), body: { preconditions: toPreconditions(preconditions) } },
      true,
    );
    if (sent === undefined) return 'absent';
    const after = await this.getSveltosCluster(namespace, name);
    return after && after.metadata?.uid === preconditions.uid ? 'pending' : 'deleted';
  }

  async removeOwnerReferences(kind: ManagedKind, observed: V1ObjectMeta, indexes: number[]): Promise<void> {
    if (indexes.length === 0) return;
    const namespace = observed.namespace ?? '';
    const name = observed.name ?? '';
    const body = removeOwnerReferencesPatch(observed, indexes);
    const secret = kind === 'Secret';
    const op = this.op('patch', kind, secret ? 'secrets' : SC_RESOURCE, namespace, name);
    try {
      await this.request<unknown>(op, {
        method: 'PATCH',
        path: secret ? corePath('secrets', namespace, name) : sveltosClusterPath(namespace, name),
        query: WRITE_QUERY,
        body,
        contentType: JSON_PATCH,
      });
    } catch (err) {
      if (err instanceof InvalidInputError || (err instanceof KubeApiError && err.status === 404)) {
        throw new KubeApiError(`${kind} ${namespace}/${name} changed while removing a stale ownerReference; will read it again`, 422, PATCH_GUARD_FAILED);
      }
      throw err;
    }
  }

  // ---- Events ----------------------------------------------------------------------------------

  async recordEvent(event: CoreV1Event, opts: { lane?: string } = {}): Promise<void> {
    const namespace = event.metadata.namespace ?? '';
    const name = event.metadata.name ?? '';
    const inLane = (op: KubeOp): KubeOp => (opts.lane ? { ...op, lane: opts.lane } : op);
    const create = inLane(this.op('create', 'Event', 'events', namespace, name));
    try {
      await this.request<unknown>(create, { method: 'POST', path: corePath('events', namespace), body: event });
      return;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
    // The same event happened before: count it up, like client-go's event correlator does.
    const existing = await this.request<CoreV1Event>(this.op('get', 'Event', 'events', namespace, name), { method: 'GET', path: corePath('events', namespace, name) }, true);
    if (!existing) {
      // Expired between create and read: create it afresh.
      await this.request<unknown>(create, { method: 'POST', path: corePath('events', namespace), body: event });
      return;
    }
    const lastTimestamp = event.lastTimestamp ?? new Date();
    await this.request<unknown>(inLane(this.op('patch', 'Event', 'events', namespace, name)), {
      method: 'PATCH',
      path: corePath('events', namespace, name),
      body: { count: (existing.count ?? 1) + 1, lastTimestamp: formatTime(lastTimestamp) },
      contentType: MERGE_PATCH,
    });
  }
}

/** The abort reason of an aborted external signal, if it is an Error (Temporal's CancelledFailure is). */
function cancellation(signal: AbortSignal | undefined): Error | undefined {
  if (!signal?.aborted) return undefined;
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : undefined;
}

function toPreconditions(p: DeletePreconditions): V1Preconditions {
  return p.resourceVersion ? { uid: p.uid, resourceVersion: p.resourceVersion } : { uid: p.uid };
}

export function createKubeClient(kc: KubeAccess, opts: KubeClientOptions = {}): KubeClient {
  return new HttpKubeClient(kc, opts);
}
