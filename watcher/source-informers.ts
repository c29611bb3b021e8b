// Source Secrets (read by the built-in kubeconfig-secretreader): one metadata-only informer per namespace
// that holds a referenced Secret, started when the first profile references one there and stopped when
// the last stops. A change of such a Secret asks each profile reading it for a resync.
import type { ResyncRequest } from '../workflows/api.js';
import type { DecisionCounters, InformerCounters } from './counters.js';
import type { Pending } from './decide.js';
import { Reflector, objectKey, projectSourceSecret, secretPath, type KubeObject, type ReflectorEvent } from './informers.js';
import type { InformerCommon } from './options.js';
import type { SourceSecretRef } from './snapshot.js';
import { SourceSecretIndex } from './source-index.js';

export interface SourceInformerDeps {
  common: InformerCommon;
  counters: InformerCounters;
  relistPeriodMs: number;
  touch(uid: string, pending: Pending): void;
  decisions: Pick<DecisionCounters, 'sourceSecretChanges'>;
  isStopped(): boolean;
}

export class SourceSecretInformers {
  private readonly index = new SourceSecretIndex();
  private readonly byNamespace = new Map<string, Reflector<KubeObject>>();
  private started = false;

  constructor(private readonly d: SourceInformerDeps) {}

  get reflectors(): Array<Reflector<KubeObject>> {
    return [...this.byNamespace.values()];
  }

  /** Starts the informers, and those of namespaces referenced from now on. */
  start(): void {
    this.started = true;
    for (const r of this.byNamespace.values()) r.start();
  }

  /** Records the source Secrets profile `uid` reads (replacing what it had); informers follow. */
  setRefs(uid: string, refs: SourceSecretRef[]): void {
    const change = this.index.set(uid, refs);
    for (const ns of change.addedNamespaces) this.startInformer(ns);
    for (const ns of change.removedNamespaces) {
      const r = this.byNamespace.get(ns);
      this.byNamespace.delete(ns);
      if (r) {
        this.d.common.logger.info({ informer: 'source-secrets', scope: ns }, 'no source Secret referenced in this namespace any more; stopping its informer');
        void r.stop();
      }
    }
  }

  secretsOf(uid: string): string[] {
    return this.index.secretsOf(uid);
  }

  namespaces(): string[] {
    return this.index.namespaces();
  }

  private startInformer(ns: string): void {
    if (this.byNamespace.has(ns) || this.d.isStopped()) return;
    const r = new Reflector<KubeObject>({
      ...this.d.common,
      informer: 'source-secrets',
      scope: ns,
      path: secretPath(ns),
      metadataOnly: true,
      counters: this.d.counters,
      relistPeriodMs: this.d.relistPeriodMs,
      project: projectSourceSecret,
      onEvent: (ev) => this.onEvent(ev),
    });
    this.byNamespace.set(ns, r);
    if (this.started) r.start();
  }

  private onEvent(ev: ReflectorEvent<KubeObject>): void {
    if (ev.initial) return;
    if (ev.type === 'MODIFIED' && ev.old?.metadata.resourceVersion === ev.object.metadata.resourceVersion) return;
    const key = objectKey(ev.object);
    const users = this.index.profilesUsing(key);
    if (users.length === 0) return;
    const request: ResyncRequest = { reason: 'source-secret-changed', object: key };
    this.d.common.logger.info({ secret: key, type: ev.type, profiles: users.length }, 'source Secret changed');
    for (const uid of users) {
      this.d.decisions.sourceSecretChanges++;
      this.d.touch(uid, { profile: false, resync: request });
    }
  }
}
