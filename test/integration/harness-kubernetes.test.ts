// Proves the local Kubernetes side of the stack: a real kube-apiserver v1.36 with the upstream CRDs,
// status subresources, CRD defaulting and ownerReference garbage collection.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { eventually, kubeConfig, uniqueName } from '../support/stack.js';

const CP = { group: 'multicluster.x-k8s.io', version: 'v1alpha1', plural: 'clusterprofiles' };
const SC = { group: 'lib.projectsveltos.io', version: 'v1beta1', plural: 'sveltosclusters' };

interface Obj {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  [k: string]: unknown;
}

describe('local Kubernetes API server', () => {
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  const namespace = 'default';

  before(() => {
    kc = kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
  });

  test('serves Kubernetes v1.36', async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(v.major, '1');
    assert.equal(v.minor, '36');
    assert.match(v.gitVersion, /^v1\.36\./);
  });

  test('ClusterProfile status with two access providers survives a round trip through the status subresource', async () => {
    const name = uniqueName('harness-cp');
    await custom.createNamespacedCustomObject({
      ...CP,
      namespace,
      body: {
        apiVersion: `${CP.group}/${CP.version}`,
        kind: 'ClusterProfile',
        metadata: { name, labels: { env: 'test' } },
        spec: { displayName: 'Harness cluster', clusterManager: { name: 'harness' } },
      },
    });
    const accessProviders = [
      {
        name: 'kubeconfig-secretreader',
        cluster: {
          server: 'https://10.1.2.3:6443',
          'certificate-authority-data': Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64'),
          extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: 'src-secret', key: 'value', namespace } }],
        },
      },
      {
        name: 'token-plugin',
        cluster: {
          server: 'https://spoke.example:443',
          'tls-server-name': 'spoke.internal',
          extensions: [
            { name: 'client.authentication.k8s.io/exec', extension: { clusterName: 'spoke', nested: { region: 'eu-1', zones: ['a', 'b'] } } },
            { name: 'clusterprofiles.multicluster.x-k8s.io/exec/additional-args', extension: { args: ['--region', 'eu-1'] } },
          ],
        },
      },
    ];
    await custom.patchNamespacedCustomObjectStatus(
      { ...CP, namespace, name, body: { status: { accessProviders } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const got = (await custom.getNamespacedCustomObject({ ...CP, namespace, name })) as Obj & {
      status: { accessProviders: typeof accessProviders };
      spec: { displayName: string };
    };
    assert.equal(got.spec.displayName, 'Harness cluster');
    assert.deepEqual(got.status.accessProviders, accessProviders);
    await custom.deleteNamespacedCustomObject({ ...CP, namespace, name });
  });

  test('a status update through the main resource is ignored (status subresource is enabled)', async () => {
    const name = uniqueName('harness-cp');
    const created = (await custom.createNamespacedCustomObject({
      ...CP,
      namespace,
      body: {
        apiVersion: `${CP.group}/${CP.version}`,
        kind: 'ClusterProfile',
        metadata: { name },
        spec: { clusterManager: { name: 'harness' } },
        status: { accessProviders: [{ name: 'ignored', cluster: { server: 'https://x' } }] },
      },
    })) as Obj & { status?: unknown };
    assert.equal((created.status as { accessProviders?: unknown } | undefined)?.accessProviders, undefined);
    await custom.deleteNamespacedCustomObject({ ...CP, namespace, name });
  });

  test('SveltosCluster gets its CRD defaults', async () => {
    const name = uniqueName('harness-sc');
    await custom.createNamespacedCustomObject({
      ...SC,
      namespace,
      body: {
        apiVersion: `${SC.group}/${SC.version}`,
        kind: 'SveltosCluster',
        metadata: { name },
        spec: { kubeconfigName: `${name}-sveltos-kubeconfig`, kubeconfigKeyName: 'kubeconfig' },
      },
    });
    const got = (await custom.getNamespacedCustomObject({ ...SC, namespace, name })) as Obj & {
      spec: { kubeconfigName: string; kubeconfigKeyName: string; consecutiveFailureThreshold: number; pullMode: boolean };
    };
    assert.equal(got.spec.kubeconfigName, `${name}-sveltos-kubeconfig`);
    assert.equal(got.spec.kubeconfigKeyName, 'kubeconfig');
    assert.equal(got.spec.consecutiveFailureThreshold, 3);
    assert.equal(got.spec.pullMode, false);
    await custom.deleteNamespacedCustomObject({ ...SC, namespace, name });
  });

  test('the garbage collector deletes objects whose owner is gone', async () => {
    const name = uniqueName('harness-owner');
    const owner = (await custom.createNamespacedCustomObject({
      ...CP,
      namespace,
      body: { apiVersion: `${CP.group}/${CP.version}`, kind: 'ClusterProfile', metadata: { name }, spec: { clusterManager: { name: 'harness' } } },
    })) as Obj;
    const child: V1ConfigMap = {
      metadata: {
        name: `${name}-child`,
        ownerReferences: [{ apiVersion: `${CP.group}/${CP.version}`, kind: 'ClusterProfile', name, uid: owner.metadata.uid! }],
      },
      data: { a: 'b' },
    };
    await core.createNamespacedConfigMap({ namespace, body: child });
    const before = await core.readNamespacedConfigMap({ namespace, name: `${name}-child` });
    assert.equal(before.metadata?.ownerReferences?.[0]?.uid, owner.metadata.uid);
    await custom.deleteNamespacedCustomObject({ ...CP, namespace, name });
    await eventually(
      'garbage collection of the owned ConfigMap',
      async () => {
        try {
          await core.readNamespacedConfigMap({ namespace, name: `${name}-child` });
          return undefined;
        } catch (e) {
          return (e as { code?: number }).code === 404 ? true : undefined;
        }
      },
      60_000,
    );
  });
});
