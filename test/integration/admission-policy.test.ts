// The chart's ValidatingAdmissionPolicy on the real local kube-apiserver: rendered with helm, applied for
// real together with the chart's RBAC, then requests are made as the controller's ServiceAccount
// (impersonated). The controller's own writes (syncProfile and cleanupProfile: create, update, delete of
// <name>-sveltos-kubeconfig) pass; a Secret write outside the policy is denied even though RBAC allows it;
// nobody else is affected.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AuthorizationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseAllDocuments } from 'yaml';
import { NO_PROVIDER_FILE } from '../../activities/credentials/provider-file.js';
import { createKubeClient } from '../../activities/kube/client.js';
import { EXEC_EXTENSION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SECRET_READER_PROVIDER, secretNameFor } from '../../activities/kube/types.js';
import { createReconcileActivities } from '../../activities/reconcile.js';
import { ensureHelm } from '../../tools/helm/ensure.js';
import { NAMESPACE, helmTemplate } from '../../tools/helm/render.js';
import type { ProfileRef, SyncRequest } from '../../workflows/api.js';
import type { ReconcileActivities } from '../../workflows/registered-activities.js';
import { spokeKubeconfig } from '../support/e2e.js';
import { eventually, kubeConfig, uniqueName } from '../support/stack.js';

const NS = 'default';
const CP = { group: 'multicluster.x-k8s.io', version: 'v1alpha1', plural: 'clusterprofiles' } as const;
const SC = { group: 'lib.projectsveltos.io', version: 'v1beta1', plural: 'sveltosclusters' } as const;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const MANAGED = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
const DENIED = /ValidatingAdmissionPolicy .*secret-writes.* denied request: the clusterinventory controller may only/;

interface Obj extends KubernetesObject {
  metadata: { name: string; namespace?: string };
}

/** A KubeConfig that acts as `user` (Impersonate-User), with the admin's credentials. */
function impersonating(admin: KubeConfig, user: string): KubeConfig {
  const kc = new KubeConfig();
  const cluster = admin.getCurrentCluster()!;
  const adminUser = admin.getCurrentUser()!;
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ ...adminUser, name: 'impersonated', impersonateUser: user }],
    contexts: [{ name: 'impersonated', cluster: cluster.name, user: 'impersonated' }],
    currentContext: 'impersonated',
  });
  return kc;
}

/** The status code and message of a failed client-node call. */
function apiError(e: unknown): { code: number; message: string } {
  const err = e as { code?: number; body?: unknown };
  const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
  let message = body;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // not JSON
  }
  return { code: err.code ?? 0, message };
}

describe('ValidatingAdmissionPolicy of the Helm chart, on the local API server', () => {
  const admin = kubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const objects = new KubernetesObjectApi(
    createConfiguration({ baseServer: new ServerConfiguration(admin.getCurrentCluster()!.server, {}), authMethods: { default: admin } }),
  );
  const release = uniqueName('cit-vap');
  const serviceAccount = `system:serviceaccount:${NAMESPACE}:${release}-clusterinventory-temporal`;
  const sa = impersonating(admin, serviceAccount);
  const saCore = sa.makeApiClient(CoreV1Api);
  let applied: Obj[] = [];
  const secrets = new Set<string>();
  const profiles = new Set<string>();
  const sveltosClusters = new Set<string>();

  const secret = (name: string, extra: Partial<V1Secret> & { labels?: Record<string, string> } = {}): V1Secret => {
    const { labels, ...rest } = extra;
    return { metadata: { name, ...(labels ? { labels } : {}) }, data: { kubeconfig: Buffer.from('x').toString('base64') }, ...rest };
  };

  async function denied(what: string, call: () => Promise<unknown>): Promise<void> {
    await assert.rejects(call(), (e: unknown) => {
      const { code, message } = apiError(e);
      assert.equal(code, 403, `${what}: ${message}`);
      assert.match(message, DENIED, what);
      return true;
    });
  }

  before(async () => {
    const helm = await ensureHelm();
    const rendered = await helmTemplate(helm, { release });
    applied = parseAllDocuments(rendered)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null && /^(ClusterRole|ClusterRoleBinding|ValidatingAdmissionPolicy|ValidatingAdmissionPolicyBinding)$/.test(o.kind ?? ''));
    assert.deepEqual(applied.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    for (const o of applied) await objects.patch(o, undefined, undefined, 'clusterinventory-vap-test', true, PatchStrategy.ServerSideApply);
    // The API server picks a new policy up asynchronously: wait until a (dry-run) write outside it is refused.
    await eventually(
      'the policy to take effect',
      async () => {
        try {
          await saCore.createNamespacedSecret({ namespace: NS, body: secret(uniqueName('vap-probe')), dryRun: 'All' });
          return undefined;
        } catch (e) {
          return DENIED.test(apiError(e).message) ? true : undefined;
        }
      },
      60_000,
    );
  });

  after(async () => {
    for (const name of profiles) {
      await custom.patchNamespacedCustomObject({ ...CP, namespace: NS, name, body: { metadata: { finalizers: null } } }, merge).catch(() => undefined);
      await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name }).catch(() => undefined);
    }
    for (const name of sveltosClusters) await custom.deleteNamespacedCustomObject({ ...SC, namespace: NS, name }).catch(() => undefined);
    for (const name of secrets) await core.deleteNamespacedSecret({ namespace: NS, name }).catch(() => undefined);
    for (const o of [...applied].reverse()) await objects.delete(o).catch(() => undefined);
  });

  test("the controller's own writes pass: syncProfile and cleanupProfile create, update and delete its Secret as the ServiceAccount", async () => {
    const acts: ReconcileActivities = createReconcileActivities({
      kube: createKubeClient(sa),
      providers: NO_PROVIDER_FILE,
      secretReaderNamespaces: [],
      execTimeoutMs: 10_000,
      now: () => Date.now(),
      baseEnv: process.env,
      eventInstance: 'vap-test',
    });
    const env = new MockActivityEnvironment();
    const name = uniqueName('vap-cp');
    const source = `${name}-src`;
    secrets.add(source);
    secrets.add(secretNameFor(name));
    profiles.add(name);
    sveltosClusters.add(name);
    const put = async (token: string) => {
      const data = { kubeconfig: Buffer.from(spokeKubeconfig(token)).toString('base64') };
      try {
        await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: source }, data } });
      } catch {
        await core.patchNamespacedSecret({ namespace: NS, name: source, body: { data } }, merge);
      }
    };
    await put('tok-vap-one-0123456789abcdef');
    const created = (await custom.createNamespacedCustomObject({
      ...CP,
      namespace: NS,
      body: { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ClusterProfile', metadata: { name }, spec: { clusterManager: { name: 'vap-test' } } },
    })) as { metadata: { uid: string } };
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...CP,
        namespace: NS,
        name,
        body: { status: { accessProviders: [{ name: SECRET_READER_PROVIDER, cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: { name: source, key: 'kubeconfig' } }] } }] } },
      },
      merge,
    );
    const ref: ProfileRef = { namespace: NS, name, uid: created.metadata.uid };

    // In a mock activity context, as the worker runs them.
    const inActivity = <T>(fn: () => Promise<T>): Promise<T> => env.run(fn);
    // The requests the workflow sends (workflows/decide-sync.ts syncRequestFor): the first sync, then the
    // scheduled refresh of the Ready profile, which writes the Secret because the credential's fingerprint moved.
    const first: SyncRequest = { finalizerPresent: false, full: true, previousPhase: 'Pending', syncedBefore: false, scheduled: false, attemptsPerSync: 4, execMode: 'local' };
    const written = await inActivity(() => acts.syncProfile(ref, first));
    assert.equal(written.secretChanged, true, 'create');
    assert.equal(written.sveltosClusterChanged, true);
    await put('tok-vap-two-0123456789abcdef');
    const refresh: SyncRequest = {
      finalizerPresent: true,
      full: false,
      lastFingerprint: written.fingerprint,
      previousPhase: 'Ready',
      syncedBefore: true,
      scheduled: true,
      attemptsPerSync: 4,
      execMode: 'local',
    };
    const updated = await inActivity(() => acts.syncProfile(ref, refresh));
    assert.equal(updated.secretChanged, true, 'update');
    assert.notEqual(updated.fingerprint, written.fingerprint);
    await custom.deleteNamespacedCustomObject({ ...CP, namespace: NS, name });
    const cleaned = await inActivity(() => acts.cleanupProfile(ref, { recordDeletingEvent: true }));
    assert.equal(cleaned.secretDeleted, true, 'delete');
    assert.equal(cleaned.sveltosClusterDeleted, true);
    assert.equal(cleaned.finalizerRemoved, true);
  });

  test('writes outside the policy are denied to the ServiceAccount although RBAC allows them', async () => {
    const name = (prefix: string) => {
      const n = uniqueName(prefix);
      secrets.add(n);
      return n;
    };
    // Create: wrong name; no label; a ServiceAccount token Secret with the right name and label.
    await denied('wrong name', () => saCore.createNamespacedSecret({ namespace: NS, body: secret(name('vap-other'), { labels: MANAGED }) }));
    await denied('no label', () => saCore.createNamespacedSecret({ namespace: NS, body: secret(`${name('vap-nolabel')}-sveltos-kubeconfig`) }));
    await denied('service-account-token type', () =>
      saCore.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: `${name('vap-token')}-sveltos-kubeconfig`, labels: MANAGED, annotations: { 'kubernetes.io/service-account.name': 'default' } },
          type: 'kubernetes.io/service-account-token',
        },
      }),
    );

    // Somebody else's Secret with our name pattern (made by the admin: the policy only binds the controller).
    const theirs = `${name('vap-theirs')}-sveltos-kubeconfig`;
    await core.createNamespacedSecret({ namespace: NS, body: secret(theirs) });
    await denied('labelling it ours (update)', () =>
      saCore.patchNamespacedSecret({ namespace: NS, name: theirs, body: { metadata: { labels: MANAGED } } }, merge),
    );
    await denied('deleting it', () => saCore.deleteNamespacedSecret({ namespace: NS, name: theirs }));
    const other = name('vap-plain');
    await core.createNamespacedSecret({ namespace: NS, body: secret(other) });
    await denied('changing any other Secret', () => saCore.patchNamespacedSecret({ namespace: NS, name: other, body: { data: { extra: 'eA==' } } }, merge));
    assert.ok(await core.readNamespacedSecret({ namespace: NS, name: theirs }), 'still there');

    // Control: RBAC alone allows each of these to the ServiceAccount (so the policy is what denied them),
    // and the admin, whom the policy does not match, may still write.
    const authz = admin.makeApiClient(AuthorizationV1Api);
    for (const verb of ['create', 'patch', 'delete']) {
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user: serviceAccount, resourceAttributes: { verb, resource: 'secrets', namespace: NS } } },
      });
      assert.equal(review.status?.allowed, true, `RBAC allows ${verb} secrets`);
    }
    await core.patchNamespacedSecret({ namespace: NS, name: theirs, body: { metadata: { labels: { touched: 'by-admin' } } } }, merge);
  });
});
